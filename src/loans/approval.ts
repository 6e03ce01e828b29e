import { assert } from '../assert';
import type { AuditService } from '../audit/audit.service';
import type { Actor } from '../auth/principal';
import type { Clock } from '../clock';
import { committeeError } from '../committee/committee.errors';
import type { Trx } from '../db/knex';
import type { Fund, FundService } from '../funds/funds.service';
import { findCircles, flagCircles } from '../guarantees/circles';
import type { LedgerService } from '../ledger/ledger.service';
import { lockMember } from '../members/members.repo';
import { assertEligible, checkEligibility, circleCandidatesOf, type EligibilityFailure } from './eligibility';
import * as repo from './loans.repo';

/**
 * THE APPROVAL CONTRACT (docs: the loans issue, "Approval, disbursement"). Approving a loan is, in
 * the caller's transaction:
 *  1. lock the borrower's member row, the loan's row and, for a pool loan, the pool cash balance
 *     row — in that order, the order submission and the ledger take them. The pool cash lock makes
 *     approvals of one fund check the available cash one after the other, so two approvals can
 *     never together promise more than the pool has;
 *  2. re-run the eligibility rules at stage 'approval' under the policy in force;
 *  3. set status 'approved', the policy version, approved_at / approved_by / approval_route
 *     (and the committee item, or fast_tracked + ratification_status 'pending');
 *  4. for a POOL loan, place a hold on pool cash 1001 for the full amount with reference
 *     loanHoldReference(loan.id), expiring policy.approvalHoldDays days from now (peer loans: none).
 * Rejection sets status 'rejected' with when and why, and releases any pending hold of the loan.
 * The disbursement code only reads the state written here (status, policy_version, the hold found
 * by its reference or approval_hold_id).
 */

export interface ApprovalDeps {
  ledger: LedgerService;
  audit: AuditService;
  funds: FundService;
  clock: Clock;
}

export type ApprovalRoute = { route: 'committee'; itemId: string } | { route: 'fast_track' };

export interface ApproveLoanInput {
  fund: Fund;
  loanId: string;
  actor: Actor;
  requestId: string | null;
  by: ApprovalRoute;
  /** The states the loan may be approved from: under_review (committee), submitted (fast track). */
  from: readonly repo.LoanStatus[];
}

export type ApprovalAttempt =
  | { approved: true; loan: repo.LoanRow; policyVersion: number; holdId: string | null }
  | { approved: false; loan: repo.LoanRow; policyVersion: number; failures: EligibilityFailure[] };

const DAY_MS = 86_400_000;

/**
 * Takes the locks and checks the rules; approves when they pass. When a rule fails nothing is
 * written and the failures are returned: the committee records them on its item.
 */
export async function tryApproveLoan(trx: Trx, deps: ApprovalDeps, input: ApproveLoanInput): Promise<ApprovalAttempt> {
  const { fund } = input;
  const loan = await lockLoanForDecision(trx, fund.id, input.loanId, input.from);
  const poolCashAccountId = loan.lender === 'pool' ? await lockPoolCash(trx, fund.id) : null;
  const { version, policy } = await deps.funds.policyInForce(trx, fund);
  const failures = await checkEligibility(trx, {
    fund,
    loan,
    stage: 'approval',
    policy,
    today: deps.funds.today(fund),
  });
  if (failures.length > 0) return { approved: false, loan, policyVersion: version, failures };

  const now = deps.clock.now();
  if (policy.guaranteeCircleMode === 'flag') {
    // Under 'refuse' a circle failed the rules above; under 'flag' it is recorded (ADR 0015).
    const findings = await findCircles(trx, fund.id, await circleCandidatesOf(trx, fund.id, loan, 'approval'));
    await flagCircles(
      trx,
      { audit: deps.audit, now },
      { fundId: fund.id, actor: input.actor, requestId: input.requestId, stage: 'approval', findings },
    );
  }
  let holdId: string | null = null;
  if (poolCashAccountId !== null) {
    const { hold } = await deps.ledger.placeHold(trx, {
      fundId: fund.id,
      accountId: poolCashAccountId,
      amount: loan.amount,
      expiresAt: new Date(now.getTime() + policy.approvalHoldDays * DAY_MS),
      reason: `Approval of loan ${loan.number}`,
      reference: repo.loanHoldReference(loan.id),
      actor: input.actor,
    });
    holdId = hold.id;
  }
  const fastTracked = input.by.route === 'fast_track';
  const approved = await repo.updateLoan(
    trx,
    fund.id,
    loan.id,
    {
      status: 'approved',
      policy_version: version,
      ...approvalColumns({
        approved_at: now,
        approved_by: input.actor.userId,
        approval_route: input.by.route,
        approval_item_id: input.by.route === 'committee' ? input.by.itemId : null,
        approval_hold_id: holdId,
        fast_tracked: fastTracked,
        ratification_status: fastTracked ? 'pending' : null,
      }),
    },
    now,
  );
  return { approved: true, loan: approved, policyVersion: version, holdId };
}

/** The contract as a command: approves, or throws 422 loan_ineligible with every failure. */
export async function approveLoan(
  trx: Trx,
  deps: ApprovalDeps,
  input: ApproveLoanInput,
): Promise<{ loan: repo.LoanRow; policyVersion: number; holdId: string | null }> {
  const attempt = await tryApproveLoan(trx, deps, input);
  if (!attempt.approved) {
    assertEligible(attempt.failures, 'approval');
    assert(false, 'ineligible approval without failures');
  }
  return attempt;
}

export interface RejectLoanInput {
  fund: Fund;
  loanId: string;
  reason: string;
  /** The committee item that rejected it. */
  itemId: string | null;
  from: readonly repo.LoanStatus[];
}

/** Rejects an application: status 'rejected' with when and why; any pending hold of the loan is released. */
export async function rejectLoan(trx: Trx, deps: ApprovalDeps, input: RejectLoanInput): Promise<repo.LoanRow> {
  const loan = await lockLoanForDecision(trx, input.fund.id, input.loanId, input.from);
  for (const holdId of await pendingHoldsOf(trx, input.fund.id, loan.id)) {
    await deps.ledger.releaseHold(trx, input.fund.id, holdId);
  }
  const now = deps.clock.now();
  return repo.updateLoan(
    trx,
    input.fund.id,
    loan.id,
    {
      status: 'rejected',
      ...approvalColumns({ rejected_at: now, rejected_reason: input.reason, rejection_item_id: input.itemId }),
    },
    now,
  );
}

/** The approval columns added by the committee migration, which LoanRow (loans.repo.ts) does not list. */
export interface ApprovalColumns {
  approved_at: Date | null;
  approved_by: string | null;
  approval_route: 'committee' | 'fast_track' | null;
  approval_item_id: string | null;
  approval_hold_id: string | null;
  rejected_at: Date | null;
  rejected_reason: string | null;
  rejection_item_id: string | null;
  fast_tracked: boolean;
  ratification_status: 'pending' | 'ratified' | 'failed' | null;
  ratification_item_id: string | null;
}

export type LoanWithApproval = repo.LoanRow & ApprovalColumns;

function approvalColumns(columns: Partial<ApprovalColumns>): Partial<repo.LoanRow> {
  return columns as Partial<repo.LoanRow>;
}

/** Sets the ratification state of a fast-tracked loan the caller holds locked. */
export async function setRatification(
  trx: Trx,
  fundId: string,
  loanId: string,
  changes: Pick<Partial<ApprovalColumns>, 'ratification_status' | 'ratification_item_id'>,
  now: Date,
): Promise<void> {
  await repo.updateLoan(trx, fundId, loanId, approvalColumns(changes), now);
}

/** Borrower row, then loan row; the loan must be in one of `from`. */
async function lockLoanForDecision(
  trx: Trx,
  fundId: string,
  loanId: string,
  from: readonly repo.LoanStatus[],
): Promise<repo.LoanRow> {
  const found = await repo.findLoan(trx, fundId, loanId);
  assert(found, `loan ${loanId} to decide does not exist`);
  assert(await lockMember(trx, fundId, found.borrower_member_id), `borrower of loan ${loanId} vanished`);
  const loan = await repo.lockLoan(trx, fundId, loanId);
  assert(loan, `loan ${loanId} vanished under its lock`);
  if (!from.includes(loan.status)) {
    throw committeeError(
      'loan_not_reviewable',
      `Loan ${loan.number} is ${loan.status}; it can be decided only when ${from.join(' or ')}.`,
      { loanId: loan.id, applicationStatus: loan.status },
    );
  }
  return loan;
}

/** The pool cash balance row, locked until the transaction ends; returns the account id. */
async function lockPoolCash(trx: Trx, fundId: string): Promise<string> {
  const result = await trx.raw<{ rows: { account_id: string }[] }>(
    `SELECT b.account_id FROM account_balances b JOIN accounts a ON a.id = b.account_id
      WHERE a.fund_id = ? AND a.code = '1001' FOR UPDATE OF b`,
    [fundId],
  );
  const row = result.rows[0];
  assert(row, `fund ${fundId} has no pool cash account`);
  return row.account_id;
}

async function pendingHoldsOf(trx: Trx, fundId: string, loanId: string): Promise<string[]> {
  const rows = (await trx('holds')
    .where({ fund_id: fundId, reference: repo.loanHoldReference(loanId), status: 'pending' })
    .orderBy('id')
    .select('id')) as { id: string }[];
  return rows.map((row) => row.id);
}
