import { randomUUID } from 'node:crypto';
import { assert } from '../assert';
import type { AuditService } from '../audit/audit.service';
import { memberScope } from '../auth/permissions';
import { actorOf, type Actor, type Principal } from '../auth/principal';
import { dateIn, type Clock } from '../clock';
import type { Db, Trx } from '../db/knex';
import type { Fund, FundService } from '../funds/funds.service';
import type { FundPolicy } from '../funds/policy';
import { findCircles, flagCircles } from '../guarantees/circles';
import type { LedgerService } from '../ledger/ledger.service';
import { lockMembersInOrder } from '../members/members.repo';
import { formatAmount, Money, sumAmounts } from '../money/money';
import { disbursementError } from './disbursements.errors';
import * as repo from './disbursements.repo';
import type {
  DisbursementInput,
  DisbursementView,
  LoanSummaryView,
  LoanView,
  ScheduleView,
} from './disbursements.schemas';
import { toDisbursementView, toLoanSummaryView, toLoanView, toScheduleView } from './disbursements.views';
import { bankDrawdownOn, bankScheduleTerms } from './bank-loans.terms';
import { assertEligible, checkEligibility, circleCandidatesOf } from './eligibility';
import * as loansRepo from './loans.repo';
import type { LoanService } from './loans.service';
import { generateSchedule, type Schedule } from './schedule';

export interface DisbursementServiceDeps {
  ledger: LedgerService;
  audit: AuditService;
  funds: FundService;
  loans: LoanService;
  clock: Clock;
}

export interface ListLoansFilter {
  status?: loansRepo.LoanStatus | undefined;
  memberId?: string | undefined;
  /** With memberId: only as borrower, guarantor or peer lender. */
  memberRole?: repo.MemberRole | undefined;
  overdue?: boolean | undefined;
  lender?: loansRepo.Lender | undefined;
  ratification?: repo.RatificationStatus | undefined;
  beforeNumber?: number | undefined;
  limit: number;
}

/** What a disbursement did, for the response and the audit row. */
export interface DisbursementOutcome {
  view: DisbursementView;
  executed: boolean;
  entries: Record<string, string>;
  policyVersion: number;
}

/**
 * Disbursement of approved loans and the reading of loans from approval on.
 *
 * Decisions written down here:
 * - Locks, in this order: the member rows of the borrower and of the guarantors about to become
 *   active (all in id order, one statement), the loan's row, then (pool loans) the pool cash
 *   balance row, and only then the eligibility rules read pool cash and the guarantors' capacity.
 *   Approvals take the borrower's row, the loan's and pool cash in the same order, so approvals and
 *   disbursements take pool cash one after the other; two activations for one guarantor — pool or
 *   peer loans — check its capacity one after the other (ADR 0015). Member rows before the loan row
 *   everywhere, and in id order among themselves, so mutual guarantors cannot deadlock.
 * - Guarantee circles: under 'refuse' the eligibility rules fail on one; under 'flag' the cycle is
 *   recorded on the guarantee as it becomes active (ADR 0015).
 * - The eligibility rules and the maker-checker threshold are those of the policy in force on the
 *   day the money moves (rules of the fund, not terms of the loan); the loan's TERMS — rate, day
 *   count, penalty uplift, service fee rate — are those of the policy version it was approved under.
 * - Maker-checker: at or above `makerCheckerAmountMin` the first POST records a request
 *   (201, status `awaiting_confirmation`, nothing posted); a different administrator confirms it.
 *   Below the threshold the request is recorded and executed at once (201, status `executed`).
 * - The service fee is charged on pool loans only (a peer loan's money is the lender's):
 *   ROUND_HALF_UP(amount × serviceFeeRate) to the fen (schedule.ts, rule R1), posted Dr 1204:<loan>
 *   fee receivable / Cr 4002 fee income with kind `loan.service_fee`.
 * - A disbursement may be dated back, but not before the application was submitted (fund's time
 *   zone) and never in the future; the schedule runs from that date.
 * - A bank loan (docs/adr/0017-bank-loans.md): the registration of the bank's drawdown. The fund
 *   pays nothing (no hold, no fee): the principal goes to the memo book, Dr 7201:<loan> / Cr 7202;
 *   the guarantees activate as for any loan, under the same locks and capacity check. The drawdown
 *   is dated within the contract (default its start) and the schedule runs on the bank's rate from
 *   it to the contract's maturity, so the fund sees what falls due. Maker-checker applies as to
 *   peer loans: the registration binds the guarantors.
 */
export class DisbursementService {
  constructor(readonly deps: DisbursementServiceDeps) {}

  /** POST …/disbursements: executes at once below the maker-checker threshold, else records a request. */
  async disburse(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    loanId: string,
    input: DisbursementInput,
    requestId: string,
  ): Promise<DisbursementOutcome> {
    const today = this.deps.funds.today(fund);
    const requestedOn = input.disbursedOn ?? today;
    assertNotFuture(requestedOn, today);
    const loan = await this.lockApproved(trx, fund, loanId);
    // A bank's drawdown is dated within its contract, by default on the contract's start.
    const disbursedOn = loan.lender === 'bank' ? bankDrawdownOn(loan, input.disbursedOn) : requestedOn;
    assertNotFuture(disbursedOn, today);
    const waiting = await repo.waitingRequestOf(trx, fund.id, loan.id);
    if (waiting) {
      throw disbursementError(
        'disbursement_request_pending',
        `Disbursement request ${waiting.id} of this loan awaits a second administrator's confirmation.`,
        { requestId: waiting.id },
      );
    }
    const submittedOn = dateIn(fund.timezone, loan.submitted_at!);
    if (disbursedOn < submittedOn) {
      throw disbursementError(
        'disbursed_on_before_submission',
        `The disbursement date ${disbursedOn} is before the application was submitted (${submittedOn}).`,
        { disbursedOn, submittedOn },
      );
    }
    const { version, policy } = await this.checkStillEligible(trx, fund, loan);
    const now = this.deps.clock.now();
    const needsChecker = new Money(loan.amount).gte(policy.makerCheckerAmountMin);
    const request: repo.DisbursementRequestRow = {
      id: randomUUID(),
      fund_id: fund.id,
      loan_id: loan.id,
      amount: formatAmount(new Money(loan.amount)),
      disbursed_on: disbursedOn,
      bank_reference: input.bankReference,
      requires_confirmation: needsChecker,
      status: 'awaiting_confirmation',
      requested_by: principal.userId,
      requested_at: now,
      confirmed_by: null,
      confirmed_at: null,
      cancelled_at: null,
      cancellation_reason: null,
      entry_id: null,
    };
    if (needsChecker) {
      const stored = await repo.insertRequest(trx, request);
      return { view: toDisbursementView(stored, loan.status), executed: false, entries: {}, policyVersion: version };
    }
    const { entries, loan: after } = await this.execute(trx, fund, loan, request, {
      actor: actorOf(principal),
      requestId,
      policy,
    });
    const stored = await repo.insertRequest(trx, { ...request, status: 'executed', entry_id: entries.principal! });
    return { view: toDisbursementView(stored, after.status), executed: true, entries, policyVersion: version };
  }

  /** POST …/disbursements/{requestId}/confirm: the second administrator executes a waiting request. */
  async confirm(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    loanId: string,
    disbursementId: string,
    requestId: string,
  ): Promise<DisbursementOutcome> {
    const found = await repo.findRequest(trx, fund.id, loanId, disbursementId);
    if (!found) {
      throw disbursementError(
        'disbursement_request_not_found',
        `Disbursement request ${disbursementId} does not exist for this loan.`,
      );
    }
    const loan = await this.lockLoanAndBorrower(trx, fund, loanId);
    const request = await repo.lockRequest(trx, fund.id, loanId, disbursementId);
    assert(request, `disbursement request ${disbursementId} vanished`);
    if (request.status !== 'awaiting_confirmation') {
      throw disbursementError(
        'disbursement_request_not_pending',
        `Disbursement request ${request.id} is ${request.status}; there is nothing to confirm.`,
        { requestStatus: request.status },
      );
    }
    if (request.requested_by === principal.userId) {
      throw disbursementError(
        'maker_checker_same_admin',
        'You asked for this disbursement: another administrator must confirm it (maker-checker).',
        { requestedBy: request.requested_by },
      );
    }
    assertApproved(loan);
    const { version, policy } = await this.checkStillEligible(trx, fund, loan);
    const { entries, loan: after } = await this.execute(trx, fund, loan, request, {
      actor: actorOf(principal),
      requestId,
      policy,
    });
    const executed = await repo.markExecuted(trx, fund.id, request.id, {
      entry_id: entries.principal!,
      confirmed_by: principal.userId,
      confirmed_at: this.deps.clock.now(),
    });
    return { view: toDisbursementView(executed, after.status), executed: true, entries, policyVersion: version };
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  async list(db: Db, fund: Fund, principal: Principal, filter: ListLoansFilter): Promise<LoanSummaryView[]> {
    const rows = await repo.listServicedLoans(db, fund.id, {
      statuses: filter.status === undefined ? repo.LOAN_STATES : [filter.status],
      involving: filter.memberId,
      memberRole: filter.memberRole,
      visibleTo: memberScope(principal),
      overdue: filter.overdue,
      lender: filter.lender,
      ratification: filter.ratification,
      today: this.deps.funds.today(fund),
      beforeNumber: filter.beforeNumber,
      limit: filter.limit,
    });
    return rows.map(toLoanSummaryView);
  }

  async get(db: Db, fund: Fund, principal: Principal, loanId: string): Promise<LoanView> {
    const loan = await this.findVisible(db, fund, principal, loanId);
    const guarantees = await loansRepo.guaranteesOf(db, fund.id, [loan.id]);
    const collateral = await loansRepo.collateralOf(db, fund.id, [loan.id]);
    const holds = await repo.holdsOfLoan(db, fund.id, loan.id);
    const requests = await repo.requestsOf(db, fund.id, loan.id);
    return toLoanView(loan, { guarantees, collateral, holds, requests });
  }

  async schedule(db: Db, fund: Fund, principal: Principal, loanId: string): Promise<ScheduleView> {
    const loan = await this.findVisible(db, fund, principal, loanId);
    const instalments =
      loan.schedule_version === null
        ? []
        : await repo.scheduleOf(db, fund.id, loan.id, loan.schedule_version, this.deps.funds.today(fund));
    return toScheduleView(loan, instalments);
  }

  // -------------------------------------------------------------------------------------------
  // Execution

  /**
   * Moves the money and fixes the loan: the principal entry (from the hold for a pool loan, in the
   * memo book for a peer loan), the service fee, the guarantees' activation with their memo
   * entries, the schedule, and the loan's disbursement columns. The caller holds the locks and has
   * run the eligibility rules under `policy`, the policy in force.
   */
  private async execute(
    trx: Trx,
    fund: Fund,
    loan: repo.ServicedLoanRow,
    request: repo.DisbursementRequestRow,
    by: { actor: Actor; requestId: string; policy: FundPolicy },
  ): Promise<{ entries: Record<string, string>; loan: repo.ServicedLoanRow }> {
    const { actor, requestId } = by;
    const terms = await repo.policyOfVersion(trx, fund.id, loan.policy_version!);
    assert(terms, `loan ${loan.id} keeps policy version ${loan.policy_version}, which does not exist`);
    // A bank loan runs on the bank's rate from its drawdown to the contract's maturity.
    const contract = loan.lender === 'bank' ? bankScheduleTerms(loan, request.disbursed_on) : null;
    const schedule = generateSchedule({
      principal: loan.amount,
      rateAnnual: contract?.rateAnnual ?? terms.rateAnnual,
      dayCount: terms.dayCount,
      method: loan.repayment_method,
      startDate: request.disbursed_on,
      termDays: contract?.termDays ?? loan.term_days,
      serviceFeeRate: loan.lender === 'pool' ? terms.serviceFeeRate : '0',
    });
    const post = { fundId: fund.id, effectiveDate: request.disbursed_on, actor, requestId };
    const key = (part: string) => `disbursement:${request.id}:${part}`;
    const entries: Record<string, string> = {};
    const amount = formatAmount(new Money(loan.amount));
    const memo = `Loan #${loan.number} disbursed, bank reference ${request.bank_reference}`;
    if (loan.lender === 'pool') {
      entries.principal = await this.postPrincipal(trx, loan, { ...post, memo, idempotencyKey: key('principal') });
      if (schedule.serviceFee.gt(0)) {
        const fee = formatAmount(schedule.serviceFee);
        const receivable = await this.deps.ledger.ensureSubAccount(trx, fund.id, '1204', { loanId: loan.id });
        const income = await repo.fundAccountId(trx, fund.id, '4002');
        const { entry } = await this.deps.ledger.postEntry(trx, {
          ...post,
          kind: 'loan.service_fee',
          memo: `Loan #${loan.number}: one-time service fee ${terms.serviceFeeRate} × ${amount} (owed by the borrower)`,
          idempotencyKey: key('service_fee'),
          lines: [
            { accountId: receivable.id, side: 'debit', amount: fee },
            { accountId: income, side: 'credit', amount: fee },
          ],
        });
        entries.serviceFee = entry.id;
      }
    } else if (loan.lender === 'bank') {
      const outstanding = await this.deps.ledger.ensureSubAccount(trx, fund.id, '7201', { loanId: loan.id });
      const contra = await repo.fundAccountId(trx, fund.id, '7202');
      const { entry } = await this.deps.ledger.postEntry(trx, {
        ...post,
        kind: 'loan.bank_drawdown',
        memo: `Bank loan #${loan.number}: drawn from ${loan.bank_name} under contract ${loan.bank_contract_number}, bank reference ${request.bank_reference}`.slice(
          0,
          500,
        ),
        idempotencyKey: key('principal'),
        lines: [
          { accountId: outstanding.id, side: 'debit', amount },
          { accountId: contra, side: 'credit', amount },
        ],
      });
      entries.principal = entry.id;
    } else {
      const outstanding = await this.deps.ledger.ensureSubAccount(trx, fund.id, '7101', { loanId: loan.id });
      const contra = await repo.fundAccountId(trx, fund.id, '7102');
      const { entry } = await this.deps.ledger.postEntry(trx, {
        ...post,
        kind: 'loan.peer_disbursement',
        memo: `Peer loan #${loan.number} paid by member ${loan.peer_lender_member_id} outside the fund, bank reference ${request.bank_reference}`,
        idempotencyKey: key('principal'),
        lines: [
          { accountId: outstanding.id, side: 'debit', amount },
          { accountId: contra, side: 'credit', amount },
        ],
      });
      entries.principal = entry.id;
    }
    if (by.policy.guaranteeCircleMode === 'flag') {
      // Under 'refuse' the eligibility rules already failed on a circle.
      const findings = await findCircles(trx, fund.id, await circleCandidatesOf(trx, fund.id, loan, 'disbursement'));
      await flagCircles(
        trx,
        { audit: this.deps.audit, now: this.deps.clock.now() },
        { fundId: fund.id, actor, requestId, stage: 'disbursement', findings },
      );
    }
    const guarantees = await this.activateGuarantees(trx, loan, { ...post, idempotencyKey: key('guarantees') });
    if (guarantees) entries.guarantees = guarantees;
    await this.storeSchedule(trx, loan, schedule);
    const updated = await repo.markDisbursed(
      trx,
      fund.id,
      loan.id,
      {
        status: 'active',
        disbursed_on: request.disbursed_on,
        maturity_date: schedule.maturityDate,
        rate_annual: contract?.rateAnnual ?? terms.rateAnnual,
        day_count: terms.dayCount,
        penalty_uplift_pct: terms.penaltyUpliftPct,
        service_fee: formatAmount(schedule.serviceFee),
        schedule_version: 1,
      },
      this.deps.clock.now(),
    );
    assert(updated, `loan ${loan.id} was not approved when marked disbursed`);
    return { entries, loan: updated };
  }

  /** Dr 1201:<loan> / Cr 1001 for the amount, consuming the loan's approval hold. */
  private async postPrincipal(
    trx: Trx,
    loan: repo.ServicedLoanRow,
    post: {
      fundId: string;
      effectiveDate: string;
      actor: Actor;
      requestId: string;
      memo: string;
      idempotencyKey: string;
    },
  ): Promise<string> {
    const hold = (await repo.holdsOfLoan(trx, loan.fund_id, loan.id)).find((row) => row.status === 'pending');
    assert(hold, `approved pool loan ${loan.id} has no pending hold after the check`);
    const receivable = await this.deps.ledger.ensureSubAccount(trx, loan.fund_id, '1201', { loanId: loan.id });
    const poolCash = await repo.fundAccountId(trx, loan.fund_id, '1001');
    const amount = formatAmount(new Money(loan.amount));
    const { entry } = await this.deps.ledger.postHold(trx, hold.id, {
      ...post,
      kind: 'loan.disbursement',
      lines: [
        { accountId: receivable.id, side: 'debit', amount },
        { accountId: poolCash, side: 'credit', amount },
      ],
    });
    return entry.id;
  }

  /**
   * Accepted guarantees become active, with one memo entry: Dr 7001:<guarantor> for each guarantee
   * amount, Cr 7002 for their sum. Guarantees still proposed (never consented) stay as they are and
   * bind nobody.
   */
  private async activateGuarantees(
    trx: Trx,
    loan: repo.ServicedLoanRow,
    post: { fundId: string; effectiveDate: string; actor: Actor; requestId: string; idempotencyKey: string },
  ): Promise<string | undefined> {
    const accepted = (await loansRepo.guaranteesOf(trx, loan.fund_id, [loan.id])).filter(
      (g) => g.status === 'accepted',
    );
    if (accepted.length === 0) return undefined;
    const lines = [];
    for (const guarantee of accepted) {
      const given = await this.deps.ledger.ensureSubAccount(trx, loan.fund_id, '7001', {
        memberId: guarantee.guarantor_member_id,
      });
      lines.push({ accountId: given.id, side: 'debit' as const, amount: formatAmount(new Money(guarantee.amount)) });
    }
    const total = formatAmount(sumAmounts(accepted.map((g) => new Money(g.amount))));
    lines.push({
      accountId: await repo.fundAccountId(trx, loan.fund_id, '7002'),
      side: 'credit' as const,
      amount: total,
    });
    const { entry } = await this.deps.ledger.postEntry(trx, {
      ...post,
      kind: 'loan.guarantee_activation',
      memo: `Loan #${loan.number}: ${accepted.length} guarantee(s) active from disbursement`,
      lines,
    });
    const activated = await loansRepo.setGuaranteeStatuses(
      trx,
      loan.fund_id,
      loan.id,
      ['accepted'],
      'active',
      this.deps.clock.now(),
    );
    assert(activated === accepted.length, `activated ${activated} of ${accepted.length} accepted guarantees`);
    return entry.id;
  }

  private async storeSchedule(trx: Trx, loan: repo.ServicedLoanRow, schedule: Schedule): Promise<void> {
    await repo.insertInstalments(
      trx,
      schedule.instalments.map((instalment) => ({
        fund_id: loan.fund_id,
        loan_id: loan.id,
        schedule_version: 1,
        number: instalment.number,
        period_start: instalment.periodStart,
        due_on: instalment.dueOn,
        days: instalment.days,
        principal: formatAmount(instalment.principal),
        interest: formatAmount(instalment.interest),
      })),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Checks

  /**
   * The member rows of the borrower and of the guarantors that activation would make active, in id
   * order, then the loan's. Guarantees of a loan past its decision no longer change (edits and
   * consents end at the decision), so the guarantors read before the loan's lock are those after.
   */
  private async lockLoanAndBorrower(trx: Trx, fund: Fund, loanId: string): Promise<repo.ServicedLoanRow> {
    const found = await repo.findServicedLoan(trx, fund.id, loanId);
    if (!found) throw disbursementError('loan_not_found', `Loan ${loanId} does not exist in this fund.`);
    const guarantors = await this.acceptedGuarantorsOf(trx, found);
    const locked = await lockMembersInOrder(trx, fund.id, [found.borrower_member_id, ...guarantors]);
    assert(locked.includes(found.borrower_member_id), `borrower of loan ${loanId} vanished`);
    const loan = await repo.lockServicedLoan(trx, fund.id, loanId);
    assert(loan, `loan ${loanId} vanished under its lock`);
    const after = await this.acceptedGuarantorsOf(trx, loan);
    assert(
      after.every((id) => locked.includes(id)),
      `guarantors of loan ${loanId} changed while its members were locked`,
    );
    return loan;
  }

  private async acceptedGuarantorsOf(trx: Trx, loan: repo.ServicedLoanRow): Promise<string[]> {
    return (await loansRepo.guaranteesOf(trx, loan.fund_id, [loan.id]))
      .filter((g) => g.status === 'accepted')
      .map((g) => g.guarantor_member_id);
  }

  private async lockApproved(trx: Trx, fund: Fund, loanId: string): Promise<repo.ServicedLoanRow> {
    const loan = await this.lockLoanAndBorrower(trx, fund, loanId);
    assertApproved(loan);
    return loan;
  }

  /**
   * A pool loan's approval hold must still be pending and unexpired (pool cash locked first); then
   * the lending rules run again at stage `disbursement` under the policy in force today.
   */
  private async checkStillEligible(
    trx: Trx,
    fund: Fund,
    loan: repo.ServicedLoanRow,
  ): Promise<{ version: number; policy: FundPolicy }> {
    if (loan.lender === 'pool') {
      await repo.lockPoolCash(trx, fund.id);
      const holds = await repo.holdsOfLoan(trx, fund.id, loan.id);
      const pending = holds.find((hold) => hold.status === 'pending');
      const now = this.deps.clock.now();
      if (!pending || pending.expires_at <= now) {
        const last = pending ?? holds[0];
        throw disbursementError(
          'loan_hold_expired',
          last
            ? `The hold on pool cash for this loan ${last.status === 'pending' ? 'expired' : `is ${last.status}`} (expiry ${last.expires_at.toISOString()}); the loan will be cancelled.`
            : 'This approved pool loan has no hold on pool cash; it cannot be disbursed.',
          last ? { holdId: last.id, expiresAt: last.expires_at.toISOString(), holdStatus: last.status } : {},
        );
      }
    }
    const { version, policy } = await this.deps.funds.policyInForce(trx, fund);
    const failures = await checkEligibility(trx, {
      fund,
      loan,
      stage: 'disbursement',
      policy,
      today: this.deps.funds.today(fund),
    });
    assertEligible(failures, 'disbursement');
    return { version, policy };
  }

  /** The loan if it is past approval and the principal may see it; a hidden loan looks missing. */
  private async findVisible(db: Db, fund: Fund, principal: Principal, loanId: string): Promise<repo.LoanWithFigures> {
    const loan = await repo.loanWithFigures(db, fund.id, loanId, this.deps.funds.today(fund));
    const member = memberScope(principal);
    const hidden =
      !loan ||
      !repo.LOAN_STATES.includes(loan.status) ||
      (member !== undefined && !(await loansRepo.involves(db, loan, member)));
    if (hidden) {
      throw disbursementError(
        'loan_not_found',
        `Loan ${loanId} does not exist in this fund (applications not yet approved are under /loan-applications).`,
      );
    }
    return loan;
  }
}

function assertNotFuture(disbursedOn: string, today: string): void {
  if (disbursedOn > today) {
    throw disbursementError(
      'disbursed_on_in_future',
      `The disbursement date ${disbursedOn} is after today (${today} in the fund's time zone).`,
      { disbursedOn, today },
    );
  }
}

function assertApproved(loan: repo.ServicedLoanRow): void {
  if (loan.status !== 'approved') {
    throw disbursementError('loan_not_approved', `The loan is ${loan.status}; only an approved loan is disbursed.`, {
      loanStatus: loan.status,
    });
  }
}

/**
 * Cancels the fund's approved pool loans whose approval hold expired (ledger expireHolds), in the
 * caller's transaction: call it right after the holds are expired. Returns the loans cancelled.
 */
export async function cancelLoansWithExpiredHolds(
  trx: Trx,
  fundId: string,
  now: Date,
): Promise<{ id: string; number: number; amount: string }[]> {
  return repo.cancelExpiredApprovals(trx, fundId, now);
}
