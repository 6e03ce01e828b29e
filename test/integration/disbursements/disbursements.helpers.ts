import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { SYSTEM_ACTOR } from '../../../src/auth/principal';
import { inTransaction } from '../../../src/db/transaction';
import type { FundRow } from '../../../src/funds/funds.repo';
import { toFund } from '../../../src/funds/funds.service';
import { releaseExpiredHolds } from '../../../src/jobs/jobs';
import { lockPoolCash, lockServicedLoan } from '../../../src/loans/disbursements.repo';
import { assertEligible, checkEligibility } from '../../../src/loans/eligibility';
import { loanHoldReference } from '../../../src/loans/loans.repo';
import { lockMember } from '../../../src/members/members.repo';
import { formatAmount, Money } from '../../../src/money/money';
import type { Harness, TestUser } from '../../helpers/harness';
import {
  api,
  applicationBody,
  consented,
  drafted,
  submit,
  type ApplicationBody,
  type LoanWorld,
} from '../loans/loans.helpers';

/** Shared pieces of the disbursement tests (not a test file itself). */

/**
 * THE APPROVAL CONTRACT applied directly, without a committee: in one transaction, lock the
 * borrower, the loan and (pool loans) pool cash, re-run the lending rules at stage `approval`,
 * set the loan approved under the policy version in force, and for a pool loan hold pool cash for
 * the amount until now + approvalHoldDays, with reference loan:<id>. Returns the hold's id.
 */
export async function approveByContract(h: Harness, fundId: string, loanId: string): Promise<string | null> {
  return inTransaction(h.db, async (trx) => {
    const fund = toFund((await trx('funds').where({ id: fundId }).first()) as FundRow);
    const found = (await trx('loans').where({ fund_id: fundId, id: loanId }).first()) as { borrower_member_id: string };
    await lockMember(trx, fundId, found.borrower_member_id);
    const loan = await lockServicedLoan(trx, fundId, loanId);
    if (!loan || loan.status !== 'submitted') throw new Error(`loan ${loanId} is not submitted`);
    const poolCash = loan.lender === 'pool' ? await lockPoolCash(trx, fundId) : null;
    const { version, policy } = await h.services.funds.policyInForce(trx, fund);
    const today = h.services.funds.today(fund);
    assertEligible(await checkEligibility(trx, { fund, loan, stage: 'approval', policy, today }), 'approval');
    await trx('loans')
      .where({ fund_id: fundId, id: loanId })
      .update({
        status: 'approved',
        policy_version: version,
        updated_at: h.clock.now(),
        version: trx.raw('version + 1'),
      });
    if (poolCash === null) return null;
    const { hold } = await h.services.ledger.placeHold(trx, {
      fundId,
      accountId: poolCash,
      amount: loan.amount,
      expiresAt: new Date(h.clock.now().getTime() + policy.approvalHoldDays * 86_400_000),
      reason: `Loan #${loan.number} approved`,
      reference: loanHoldReference(loan.id),
      actor: SYSTEM_ACTOR,
    });
    return hold.id;
  });
}

/** A submitted application: drafted by the borrower's user, every guarantor consenting. */
export async function submittedLoan(
  h: Harness,
  w: LoanWorld,
  overrides: Record<string, unknown> = {},
): Promise<ApplicationBody> {
  const loan = await drafted(h, w.users.borrower, w.fund.id, applicationBody(w, overrides));
  const ready = await consented(h, w.fund.id, loan, { [w.g1]: w.users.g1, [w.g2]: w.users.g2 });
  const response = await submit(h, w.users.borrower, w.fund.id, ready.id);
  if (response.status !== 200) throw new Error(`submit failed: ${response.status} ${response.text}`);
  return response.body as ApplicationBody;
}

/** A submitted application approved by the contract. */
export async function approvedLoan(
  h: Harness,
  w: LoanWorld,
  overrides: Record<string, unknown> = {},
): Promise<ApplicationBody> {
  const loan = await submittedLoan(h, w, overrides);
  await approveByContract(h, w.fund.id, loan.id);
  return loan;
}

export function disburse(
  h: Harness,
  user: TestUser,
  fundId: string,
  loanId: string,
  body: Record<string, unknown> = { bankReference: 'ICBC-0001' },
  key: string | null = randomUUID(),
) {
  const request = h.http.post(api(`/funds/${fundId}/loans/${loanId}/disbursements`)).set(user.auth);
  if (key !== null) request.set('Idempotency-Key', key);
  return request.send(body);
}

export function confirm(
  h: Harness,
  user: TestUser,
  fundId: string,
  loanId: string,
  requestId: string,
  key = randomUUID(),
) {
  return h.http
    .post(api(`/funds/${fundId}/loans/${loanId}/disbursements/${requestId}/confirm`))
    .set(user.auth)
    .set('Idempotency-Key', key)
    .send();
}

/** Balance of an account by its code (`1001`, `1201:<loan id>` …); 0.00 when it does not exist yet. */
export async function balanceOf(h: Harness, fundId: string, code: string): Promise<string> {
  const row = (await h
    .db('accounts as a')
    .join('account_balances as b', 'b.account_id', 'a.id')
    .where({ 'a.fund_id': fundId, 'a.code': code })
    .first('b.balance', 'b.held')) as { balance: string; held: string } | undefined;
  return formatAmount(new Money(row?.balance ?? '0'));
}

export async function heldOn(h: Harness, fundId: string, code: string): Promise<string> {
  const row = (await h
    .db('accounts as a')
    .join('account_balances as b', 'b.account_id', 'a.id')
    .where({ 'a.fund_id': fundId, 'a.code': code })
    .first('b.held')) as { held: string };
  return formatAmount(new Money(row.held));
}

/** The disbursement tables of a fund, as a refusal must leave them. */
export async function servicingTables(h: Harness, fundId: string): Promise<Record<string, unknown[]>> {
  return {
    loans: await h.db('loans').where({ fund_id: fundId }).orderBy('id').select('*'),
    guarantees: await h.db('loan_guarantees').where({ fund_id: fundId }).orderBy('id').select('*'),
    requests: await h.db('disbursement_requests').where({ fund_id: fundId }).orderBy('id').select('*'),
    instalments: await h
      .db('loan_instalments')
      .where({ fund_id: fundId })
      .orderBy(['loan_id', 'schedule_version', 'number'])
      .select('*'),
    accounts: await h.db('accounts').where({ fund_id: fundId }).orderBy('id').select('*'),
  };
}

/** The hold sweep the server runs (src/jobs/jobs.ts), on the harness. */
export function runHoldSweep(h: Harness) {
  return releaseExpiredHolds({ db: h.db, clock: h.clock, services: h.services, logger: pino({ level: 'silent' }) });
}

export { randomUUID };
