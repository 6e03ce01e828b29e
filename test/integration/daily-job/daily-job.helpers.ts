import request from 'supertest';
import { SYSTEM_ACTOR } from '../../../src/auth/principal';
import { inTransaction } from '../../../src/db/transaction';
import { formatAmount, Money } from '../../../src/money/money';
import { authNow, type Harness, type TestUser } from '../../helpers/harness';
import { api, changePolicy, loanWorld, type LoanWorld } from '../loans/loans.helpers';
import { approvedLoan, disburse, randomUUID } from '../disbursements/disbursements.helpers';

/** Shared pieces of the daily job tests (not a test file itself). */

export function runJob(
  h: Harness,
  client: ReturnType<typeof request>,
  user: TestUser,
  fundId: string,
  date: string,
  key: string | null = null,
) {
  const call = client.post(api(`/funds/${fundId}/jobs/daily`)).set(authNow(h, user));
  if (key !== null) call.set('Idempotency-Key', key);
  return call.send({ date });
}

/** Runs the job and fails the test unless it answered 200. */
export async function ranJob(
  h: Harness,
  client: ReturnType<typeof request>,
  user: TestUser,
  fundId: string,
  date: string,
): Promise<JobBody> {
  const response = await runJob(h, client, user, fundId, date);
  if (response.status !== 200) throw new Error(`daily job failed: ${response.status} ${response.text}`);
  return response.body as JobBody;
}

export interface JobDay {
  date: string;
  ranNow: boolean;
  policyVersion: number;
  loansAccrued: number;
  interestTotal: string;
  loansPenalized: number;
  penaltyTotal: string;
  newlyOverdue: number;
  newlyDefaulted: number;
  cured: number;
  classificationChanges: number;
  entryIds: string[];
}

export interface JobBody {
  fundId: string;
  date: string;
  days: JobDay[];
  holdsReleased: number;
}

/** A lending fund (policy version 2 from TEST_TODAY) with the given changes to the default policy. */
export async function lendingWorld(h: Harness, changes: Record<string, unknown>): Promise<LoanWorld> {
  const w = await loanWorld(h);
  const changed = await changePolicy(h, w.fund, changes);
  if (changed.status !== 201) throw new Error(`policy change failed: ${changed.status} ${changed.text}`);
  return w;
}

/** An approved pool loan of the world, disbursed today (TEST_TODAY) through the API; its id. */
export async function disbursedLoan(h: Harness, w: LoanWorld, overrides: Record<string, unknown>): Promise<string> {
  const loan = await approvedLoan(h, w, overrides);
  const response = await disburse(h, w.fund.admin, w.fund.id, loan.id, { bankReference: 'ICBC-DAILY-JOB' });
  if (response.status !== 201 || response.body.status !== 'executed') {
    throw new Error(`disbursement failed: ${response.status} ${response.text}`);
  }
  return loan.id;
}

/** Debit postings of an account per value date (the daily accruals of a receivable). */
export async function debitsByDate(h: Harness, fundId: string, code: string): Promise<Map<string, string>> {
  const rows = (await h
    .db('postings as p')
    .join('accounts as a', 'a.id', 'p.account_id')
    .where({ 'a.fund_id': fundId, 'a.code': code, 'p.side': 'debit' })
    .groupBy('p.effective_date')
    .select('p.effective_date', h.db.raw('sum(p.amount)::text AS amount'))) as {
    effective_date: string;
    amount: string;
  }[];
  return new Map(rows.map((row) => [row.effective_date, formatAmount(new Money(row.amount))]));
}

export interface Instalment {
  number: number;
  period_start: string;
  due_on: string;
  days: number;
  principal: string;
  interest: string;
}

export async function instalmentsOf(h: Harness, fundId: string, loanId: string): Promise<Instalment[]> {
  return (await h
    .db('loan_instalments')
    .where({ fund_id: fundId, loan_id: loanId })
    .orderBy('number')
    .select('number', 'period_start', 'due_on', 'days', 'principal', 'interest')) as Instalment[];
}

/**
 * A repayment of principal as the repayments feature would book it, simulated: Cr 1201:<loan> /
 * Dr pool cash, dated `date` (the instalments' paid columns are left alone).
 */
export async function reducePrincipal(
  h: Harness,
  w: LoanWorld,
  loanId: string,
  amount: string,
  date: string,
): Promise<void> {
  await inTransaction(h.db, async (trx) => {
    const receivable = await h.services.ledger.ensureSubAccount(trx, w.fund.id, '1201', { loanId });
    await h.services.ledger.postEntry(trx, {
      fundId: w.fund.id,
      effectiveDate: date,
      kind: 'test.principal_repayment',
      memo: 'principal repaid (simulated)',
      idempotencyKey: `test:${randomUUID()}`,
      actor: SYSTEM_ACTOR,
      lines: [
        { accountId: w.fund.accounts['1001']!, side: 'debit', amount },
        { accountId: receivable.id, side: 'credit', amount },
      ],
    });
  });
}

/** The clock set to noon of a day in Asia/Shanghai, so that `date` is "today" for the fund. */
export function setToday(h: Harness, date: string): void {
  h.clock.set(`${date}T04:00:00.000Z`);
}

export { randomUUID };
