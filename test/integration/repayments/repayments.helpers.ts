import { randomUUID } from 'node:crypto';
import { SYSTEM_ACTOR } from '../../../src/auth/principal';
import { inTransaction } from '../../../src/db/transaction';
import { fundAccountId } from '../../../src/loans/disbursements.repo';
import { reissueTokens, type Harness, type TestUser } from '../../helpers/harness';
import { approvedLoan, disburse } from '../disbursements/disbursements.helpers';
import {
  api,
  applicationBody,
  changePolicy,
  consented,
  drafted,
  loanWorld,
  submit,
  type LoanWorld,
} from '../loans/loans.helpers';
import { approveByContract } from '../disbursements/disbursements.helpers';

/** Shared pieces of the repayment tests (not a test file itself). */

/**
 * The app with the repayment routes. Until src/app.ts lists `repaymentRoutes` in ROUTES, they are
 * added to the list here, before the app is built from it; once it does, this adds nothing.
 */

/** TEST_TODAY as the harness clock's instant (noon in Shanghai is 04:00Z). */
export const START = '2026-06-15T04:00:00.000Z';
/**
 * Sets the harness clock to noon (Shanghai) of a day, and gives the world's users tokens issued at
 * that moment (a token issued on TEST_TODAY has expired a month later).
 */
export function setToday(h: Harness, day: string, w?: LoanWorld, ...others: TestUser[]): void {
  h.clock.set(`${day}T04:00:00.000Z`);
  reissueTokens(h, w ? [w.fund.admin, ...Object.values(w.users), ...others] : others);
}

/** A fund lending at 4.35 % a year (ACT/365) with a 0.5 % service fee. */
export async function lendingWorld(h: Harness): Promise<LoanWorld> {
  const w = await loanWorld(h);
  const changed = await changePolicy(h, w.fund, { rateAnnual: '0.0435', serviceFeeRate: '0.005', dayCount: 'ACT/365' });
  if (changed.status !== 201) throw new Error(`policy change failed: ${changed.status} ${changed.text}`);
  return w;
}

/**
 * 90,000.00 from the pool over 90 days from 2026-06-15, equal principal (30,000.00 due 07-15, 08-15
 * and 09-13; scheduled interest 321.78, 221.67, 103.68), fee 450.00, guaranteed 150,000.00 by G1.
 */
export const SMALL = { amount: '90000.00' };

export async function activeLoan(
  h: Harness,
  w: LoanWorld,
  overrides: Record<string, unknown> = SMALL,
): Promise<string> {
  const loan = await approvedLoan(h, w, overrides);
  const response = await disburse(h, w.fund.admin, w.fund.id, loan.id, { bankReference: `DISB-${loan.id}` });
  if (response.status !== 201 || response.body.status !== 'executed') {
    throw new Error(`disbursement failed: ${response.status} ${response.text}`);
  }
  return loan.id;
}

/** The same loan lent by member BIG (a peer loan), disbursed: recorded in the memo book. */
export async function activePeerLoan(h: Harness, w: LoanWorld): Promise<string> {
  const draft = await drafted(
    h,
    w.users.borrower,
    w.fund.id,
    applicationBody(w, { ...SMALL, lender: { type: 'peer', memberId: w.big } }),
  );
  const agreed = await h.http
    .post(api(`/funds/${w.fund.id}/loan-applications/${draft.id}/lender-consent`))
    .set(w.users.big.auth)
    .send({ decision: 'accept' });
  if (agreed.status !== 200) throw new Error(`lender consent failed: ${agreed.status} ${agreed.text}`);
  await consented(h, w.fund.id, draft, { [w.g1]: w.users.g1 });
  const submitted = await submit(h, w.users.borrower, w.fund.id, draft.id);
  if (submitted.status !== 200) throw new Error(`submit failed: ${submitted.status} ${submitted.text}`);
  await approveByContract(h, w.fund.id, draft.id);
  const response = await disburse(h, w.fund.admin, w.fund.id, draft.id, { bankReference: `PEER-${draft.id}` });
  if (response.status !== 201) throw new Error(`disbursement failed: ${response.status} ${response.text}`);
  return draft.id;
}

/**
 * What the daily job will post, by hand (the job is built separately): interest accrued
 * Dr 1202:<loan> / Cr 4001, or penalty interest Dr 1203:<loan> / Cr 4003, dated `on`.
 */
export async function accrue(
  h: Harness,
  fundId: string,
  loanId: string,
  kind: 'interest' | 'penalty',
  amount: string,
  on: string,
): Promise<void> {
  await inTransaction(h.db, async (trx) => {
    const code = kind === 'interest' ? '1202' : '1203';
    const receivable = await h.services.ledger.ensureSubAccount(trx, fundId, code, { loanId });
    const income = await fundAccountId(trx, fundId, kind === 'interest' ? '4001' : '4003');
    await h.services.ledger.postEntry(trx, {
      fundId,
      effectiveDate: on,
      kind: kind === 'interest' ? 'loan.interest_accrual' : 'loan.penalty_accrual',
      memo: `test accrual of ${kind}`,
      lines: [
        { accountId: receivable.id, side: 'debit', amount },
        { accountId: income, side: 'credit', amount },
      ],
      actor: SYSTEM_ACTOR,
    });
  });
}

export function repay(
  h: Harness,
  user: TestUser,
  fundId: string,
  loanId: string,
  body: Record<string, unknown>,
  key: string | null = randomUUID(),
) {
  const request = h.http.post(api(`/funds/${fundId}/loans/${loanId}/repayments`)).set(user.auth);
  if (key !== null) request.set('Idempotency-Key', key);
  return request.send(body);
}

export function reverse(
  h: Harness,
  user: TestUser,
  fundId: string,
  loanId: string,
  repaymentId: string,
  body: Record<string, unknown> = { reason: '银行退票' },
  key: string | null = randomUUID(),
) {
  const request = h.http.post(api(`/funds/${fundId}/loans/${loanId}/repayments/${repaymentId}/reverse`)).set(user.auth);
  if (key !== null) request.set('Idempotency-Key', key);
  return request.send(body);
}

/** The instalments' paid columns, oldest first: `[principal_paid, interest_paid]` per instalment. */
export async function paidColumns(h: Harness, loanId: string): Promise<string[][]> {
  const rows = (await h
    .db('loan_instalments')
    .where({ loan_id: loanId })
    .orderBy('number')
    .select('principal_paid', 'interest_paid')) as { principal_paid: string; interest_paid: string }[];
  return rows.map((row) => [row.principal_paid, row.interest_paid]);
}

/** Everything a repayment touches, as a refusal (or a reversal, apart from the ledger) must leave it. */
export async function repaymentTables(h: Harness, fundId: string): Promise<Record<string, unknown[]>> {
  return {
    loans: await h.db('loans').where({ fund_id: fundId }).orderBy('id').select('id', 'status', 'repaid_on'),
    guarantees: await h.db('loan_guarantees').where({ fund_id: fundId }).orderBy('id').select('id', 'status'),
    instalments: await h
      .db('loan_instalments')
      .where({ fund_id: fundId })
      .orderBy(['loan_id', 'number'])
      .select('loan_id', 'number', 'principal_paid', 'interest_paid'),
    repayments: await h.db('repayments').where({ fund_id: fundId }).orderBy('id').select('*'),
    allocations: await h.db('repayment_allocations').where({ fund_id: fundId }).select('*'),
    releases: await h.db('repayment_guarantee_releases').where({ fund_id: fundId }).select('*'),
  };
}

export { api, randomUUID };
