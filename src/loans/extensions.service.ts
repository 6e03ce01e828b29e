import { assert } from '../assert';
import { memberScope } from '../auth/permissions';
import type { Principal } from '../auth/principal';
import { addDays, daysBetween, type Clock } from '../clock';
import type { Db, Trx } from '../db/knex';
import type { Fund, FundService } from '../funds/funds.service';
import { lockMember } from '../members/members.repo';
import { formatAmount, Money, sumAmounts, ZERO } from '../money/money';
import { CLASSIFICATIONS, lockFundJob, runBounds, type Classification } from './daily-job.repo';
import * as servicing from './disbursements.repo';
import { extensionError } from './extensions.errors';
import * as repo from './extensions.repo';
import type { ExtensionView, RequestExtensionInput } from './extensions.schemas';
import { toExtensionView } from './extensions.views';
import * as loansRepo from './loans.repo';
import { lockReceivables } from './repayments.repo';
import {
  addMonthsClamped,
  cumulativeInterestRounded,
  generateSchedule,
  type DayCount,
  type Schedule,
} from './schedule';

export interface ExtensionServiceDeps {
  funds: FundService;
  clock: Clock;
}

/** Why the committee's approval of an extension could not take effect; recorded on its item. */
export interface ExtensionFailure {
  rule: 'loan_status' | 'borrower_active' | 'guarantor_consent' | 'term_days_max' | 'maturity_after_effective_date';
  limit: string;
  actual: string;
  detail: string;
  guaranteeId?: string;
  memberId?: string;
}

export type ExtensionApproval =
  { approved: true; extension: repo.ExtensionRow } | { approved: false; failures: ExtensionFailure[] };

/** A serviced loan with the daily job's columns. */
type ClassifiedLoanRow = servicing.ServicedLoanRow & {
  classification: Classification | null;
  days_past_due: number | null;
};

/** A restructured loan is classified at least 次级 during its observation period (ADR 0013). */
const RESTRUCTURED_FLOOR: Classification = 'substandard';
/** The observation period lasts at least a year from the first new due date … */
const OBSERVATION_MONTHS_MIN = 12;
/** … and covers at least two whole repayment periods after it (the third new due date). */
const OBSERVATION_DUE_DATES_MIN = 3;

/**
 * Loan extensions (展期, docs/adr/0013-loan-extensions.md): the borrower (or an administrator for
 * it) asks for a later maturity; every active guarantee consents in writing (PRC Civil Code art.
 * 695); the committee decides it as an agenda item (committee.service.ts) and an approval, in the
 * decision's transaction, regenerates the schedule from the outstanding principal as a new
 * schedule version and flags the loan restructured. No money moves: nothing is posted.
 *
 * Locks, in order: the borrower's member row, the loan's row, the extension's row — the order
 * every loan command takes. An approval first takes the fund's daily-job lock, so no day of the job
 * runs between reading the accrual state and writing the new schedule.
 */
export class ExtensionService {
  constructor(readonly deps: ExtensionServiceDeps) {}

  async request(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    loanId: string,
    input: RequestExtensionInput,
  ): Promise<ExtensionView> {
    const found = await this.findVisibleLoan(trx, fund, principal, loanId);
    assertBorrowerSide(principal, found);
    const borrower = await lockMember(trx, fund.id, found.borrower_member_id);
    assert(borrower, `borrower of loan ${loanId} vanished`);
    const loan = await servicing.lockServicedLoan(trx, fund.id, loanId);
    assert(loan, `loan ${loanId} vanished under its lock`);
    assertExtendable(loan);
    if (borrower.status !== 'active') {
      throw extensionError(
        'borrower_not_active',
        `The borrower is ${borrower.status}; only an active member's loan is extended.`,
        {
          memberId: borrower.id,
          memberStatus: borrower.status,
        },
      );
    }
    const open = await repo.openExtensionOf(trx, fund.id, loan.id);
    if (open) throw alreadyOpen(open);
    const today = this.deps.funds.today(fund);
    const { policy } = await this.deps.funds.policyInForce(trx, fund);
    checkMaturity(loan, input.newMaturityDate, today, policy.termDaysMax);

    const now = this.deps.clock.now();
    const extension = await repo
      .insertExtension(trx, {
        fund_id: fund.id,
        loan_id: loan.id,
        number: await repo.nextNumber(trx, fund.id, loan.id),
        requested_maturity_date: input.newMaturityDate,
        repayment_method: input.repaymentMethod ?? loan.repayment_method,
        reason: input.reason,
        maturity_date_before: loan.maturity_date!,
        repayment_method_before: loan.repayment_method,
        requested_by: principal.userId,
        requested_at: now,
        created_at: now,
        updated_at: now,
      })
      .catch((error: unknown) => {
        const pgError = error as { code?: string; constraint?: string };
        if (pgError.code === '23505' && pgError.constraint === repo.ONE_OPEN_INDEX) throw alreadyOpen(undefined);
        throw error;
      });
    const active = (await loansRepo.guaranteesOf(trx, fund.id, [loan.id])).filter((g) => g.status === 'active');
    await repo.insertConsents(
      trx,
      active.map((g) => ({
        fund_id: fund.id,
        extension_id: extension.id,
        guarantee_id: g.id,
        guarantor_member_id: g.guarantor_member_id,
      })),
    );
    return this.view(trx, fund, extension);
  }

  /** Withdraws an extension before the committee's decision; an open agenda item then closes as withdrawn. */
  async withdraw(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    ids: { loanId: string; extensionId: string },
    reason: string,
  ): Promise<{ view: ExtensionView; from: repo.ExtensionStatus }> {
    const loan = await this.findVisibleLoan(trx, fund, principal, ids.loanId);
    assertBorrowerSide(principal, loan);
    const extension = await this.lockOfLoan(trx, fund, loan.id, ids.extensionId);
    if (!repo.OPEN_STATUSES.includes(extension.status)) {
      throw extensionError(
        'extension_not_withdrawable',
        `The extension is ${extension.status}; it can be withdrawn only before the committee decides.`,
        { extensionStatus: extension.status },
      );
    }
    const now = this.deps.clock.now();
    const updated = await repo.updateExtension(
      trx,
      fund.id,
      extension.id,
      { status: 'withdrawn', withdrawn_at: now, withdrawn_by: principal.userId, withdrawal_reason: reason },
      now,
    );
    return { view: await this.view(trx, fund, updated), from: extension.status };
  }

  /** A guarantor's written consent to (or refusal of) the extension, by a user bound to it. */
  async consent(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    input: {
      loanId: string;
      extensionId: string;
      guaranteeId: string;
      decision: 'accept' | 'decline';
      reason?: string | undefined;
    },
  ): Promise<{ view: ExtensionView; guarantorMemberId: string }> {
    const loan = await this.findVisibleLoan(trx, fund, principal, input.loanId);
    const extension = await this.lockOfLoan(trx, fund, loan.id, input.extensionId);
    const consent = await repo.lockConsent(trx, fund.id, extension.id, input.guaranteeId);
    if (!consent) {
      throw extensionError(
        'guarantee_not_found',
        `Guarantee ${input.guaranteeId} was not active when the extension was asked for; it has nothing to consent to.`,
        { guaranteeId: input.guaranteeId },
      );
    }
    if (principal.memberId !== consent.guarantor_member_id) {
      throw extensionError(
        'not_guarantor',
        'Only a user bound to the guarantor member (member or committee role) may consent to the extension.',
        { guarantorMemberId: consent.guarantor_member_id },
      );
    }
    if (!repo.OPEN_STATUSES.includes(extension.status)) {
      throw extensionError(
        'extension_closed',
        `The extension is ${extension.status}; consents are given before a decision.`,
        {
          extensionStatus: extension.status,
        },
      );
    }
    if (consent.status !== 'pending') {
      throw extensionError('consent_already_decided', `The guarantor has already ${consent.status} this extension.`, {
        guaranteeId: consent.guarantee_id,
        consentStatus: consent.status,
      });
    }
    const now = this.deps.clock.now();
    await repo.decideConsent(
      trx,
      { fundId: fund.id, extensionId: extension.id, guaranteeId: consent.guarantee_id },
      {
        status: input.decision === 'accept' ? 'accepted' : 'declined',
        decided_by: principal.userId,
        decided_at: now,
        decline_reason: input.decision === 'decline' ? (input.reason ?? null) : null,
      },
    );
    const touched = await repo.updateExtension(trx, fund.id, extension.id, {}, now);
    return { view: await this.view(trx, fund, touched), guarantorMemberId: consent.guarantor_member_id };
  }

  async get(
    db: Db,
    fund: Fund,
    principal: Principal,
    ids: { loanId: string; extensionId: string },
  ): Promise<ExtensionView> {
    const loan = await this.findVisibleLoan(db, fund, principal, ids.loanId);
    const extension = await repo.findExtension(db, fund.id, ids.extensionId);
    if (!extension || extension.loan_id !== loan.id) throw notFound(ids.extensionId);
    return this.view(db, fund, extension);
  }

  async list(
    db: Db,
    fund: Fund,
    principal: Principal,
    loanId: string,
    page: { beforeNumber?: number | undefined; limit: number },
  ): Promise<ExtensionView[]> {
    const loan = await this.findVisibleLoan(db, fund, principal, loanId);
    const rows = await repo.extensionsOf(db, fund.id, loan.id, page);
    const consents = await repo.consentsOf(
      db,
      fund.id,
      rows.map((row) => row.id),
    );
    return rows.map((row) => toExtensionView(row, consents));
  }

  // -------------------------------------------------------------------------------------------
  // The committee's side (committee.service.ts)

  /**
   * An extension the committee may put on an agenda: in progress, with no guarantor's refusal (a
   * refusal means it can never be approved). Locks its row; the caller checks its open items.
   */
  async lockForAgenda(trx: Trx, fund: Fund, extensionId: string): Promise<repo.ExtensionRow> {
    const extension = await repo.lockExtension(trx, fund.id, extensionId);
    if (!extension) {
      throw extensionError('agenda_extension_not_found', `Extension ${extensionId} does not exist in this fund.`, {
        extensionId,
      });
    }
    if (!repo.OPEN_STATUSES.includes(extension.status)) {
      throw extensionError(
        'extension_not_reviewable',
        `Extension ${extensionId} is ${extension.status}; only one in progress goes on an agenda.`,
        { extensionId, extensionStatus: extension.status },
      );
    }
    const declined = (await repo.consentsOf(trx, fund.id, [extension.id])).filter((c) => c.status === 'declined');
    if (declined.length > 0) throw consentDeclined(extension.id, declined);
    return extension;
  }

  async markUnderReview(trx: Trx, fund: Fund, extension: repo.ExtensionRow): Promise<void> {
    if (extension.status === 'submitted') {
      await repo.updateExtension(trx, fund.id, extension.id, { status: 'under_review' }, this.deps.clock.now());
    }
  }

  /** The extensions agenda items name, for the committee's item views. */
  async summaries(db: Db, fund: Fund, extensionIds: readonly string[]): Promise<repo.ExtensionRow[]> {
    return repo.extensionsById(db, fund.id, extensionIds);
  }

  async findForItem(db: Db, fund: Fund, extensionId: string): Promise<repo.ExtensionRow> {
    const extension = await repo.findExtension(db, fund.id, extensionId);
    assert(extension, `extension ${extensionId} of an agenda item vanished`);
    return extension;
  }

  async reject(trx: Trx, fund: Fund, extensionId: string, itemId: string, reason: string): Promise<repo.ExtensionRow> {
    const extension = await repo.lockExtension(trx, fund.id, extensionId);
    assert(extension?.status === 'under_review', `extension ${extensionId} rejected while not under review`);
    const now = this.deps.clock.now();
    return repo.updateExtension(
      trx,
      fund.id,
      extension.id,
      { status: 'rejected', decided_at: now, decision_item_id: itemId, rejected_reason: reason },
      now,
    );
  }

  /**
   * The committee voted for the extension: check it can still take effect, then restructure the
   * loan. The rules that fail are returned (the committee records them and nothing is written);
   * a daily job that has not caught up is refused instead, since running it makes the same
   * decision possible at once.
   */
  async approve(trx: Trx, fund: Fund, extensionId: string, itemId: string): Promise<ExtensionApproval> {
    await lockFundJob(trx, fund.id);
    const found = await repo.findExtension(trx, fund.id, extensionId);
    assert(found, `extension ${extensionId} vanished`);
    const known = await servicing.findServicedLoan(trx, fund.id, found.loan_id);
    assert(known, `loan of extension ${extensionId} vanished`);
    const borrower = await lockMember(trx, fund.id, known.borrower_member_id);
    assert(borrower, `borrower of loan ${known.id} vanished`);
    const loan = (await servicing.lockServicedLoan(trx, fund.id, known.id)) as ClassifiedLoanRow;
    const extension = await repo.lockExtension(trx, fund.id, extensionId);
    assert(extension?.status === 'under_review', `extension ${extensionId} approved while not under review`);

    const today = this.deps.funds.today(fund);
    const lastRun = (await runBounds(trx, fund.id)).last;
    // The new schedule starts on the first day the job has not run: today, or tomorrow once today ran.
    const effectiveOn = lastRun !== null && lastRun >= today ? addDays(lastRun, 1) : today;
    const { policy } = await this.deps.funds.policyInForce(trx, fund);
    const consents = await repo.consentsOf(trx, fund.id, [extension.id]);
    const failures = approvalFailures({
      loan,
      borrowerStatus: borrower.status,
      extension,
      consents,
      effectiveOn,
      termDaysMax: policy.termDaysMax,
    });
    if (failures.length > 0) return { approved: false, failures };
    await this.assertAccruedBefore(trx, loan, effectiveOn, lastRun);

    const plan = await this.plan(trx, loan, extension, effectiveOn);
    const version = loan.schedule_version! + 1;
    await servicing.insertInstalments(
      trx,
      plan.instalments.map((instalment, index) => ({
        fund_id: fund.id,
        loan_id: loan.id,
        schedule_version: version,
        number: instalment.number,
        period_start: instalment.periodStart,
        due_on: instalment.dueOn,
        days: instalment.days,
        principal: formatAmount(instalment.principal),
        interest: formatAmount(instalment.interest),
        interest_carried: formatAmount(index === 0 ? plan.interestCarried : ZERO),
      })),
    );
    const floor = classificationFloor(loan.classification);
    const now = this.deps.clock.now();
    await repo.markRestructured(
      trx,
      fund.id,
      loan.id,
      {
        schedule_version: version,
        maturity_date: extension.requested_maturity_date,
        repayment_method: extension.repayment_method,
        // Nothing of the new schedule is due yet: an overdue or defaulted loan is current again.
        status: 'active',
        classification: floor,
        days_past_due: 0,
      },
      now,
    );
    if (loan.status !== 'active' || loan.classification !== floor) {
      await repo.recordClassificationChange(trx, {
        fund_id: fund.id,
        loan_id: loan.id,
        changed_on: effectiveOn,
        from_classification: loan.classification,
        to_classification: floor,
        from_status: loan.status,
        to_status: 'active',
        days_past_due: 0,
      });
    }
    const approved = await repo.updateExtension(
      trx,
      fund.id,
      extension.id,
      {
        status: 'approved',
        decision_item_id: itemId,
        decided_at: now,
        effective_on: effectiveOn,
        schedule_version_before: loan.schedule_version,
        schedule_version_after: version,
        principal_rescheduled: formatAmount(plan.principal),
        past_due_principal: formatAmount(plan.pastDuePrincipal),
        interest_carried: formatAmount(plan.interestCarried),
        penalty_outstanding: formatAmount(plan.penalty),
        fee_outstanding: formatAmount(plan.fee),
        loan_status_before: loan.status,
        classification_before: loan.classification,
        classification_floor: floor,
        observation_ends_on: observationEnd(plan.instalments),
      },
      now,
    );
    return { approved: true, extension: approved };
  }

  /**
   * Every day of the loan before the new schedule starts must have been run by the daily job: the
   * new schedule starts from the balances in the books, and the job reads only the schedule in
   * force, so a day left behind would be accrued on the new schedule (or not at all).
   */
  private async assertAccruedBefore(
    trx: Trx,
    loan: ClassifiedLoanRow,
    effectiveOn: string,
    lastRun: string | null,
  ): Promise<void> {
    if (loan.disbursed_on! >= effectiveOn) return;
    const dayBefore = addDays(effectiveOn, -1);
    const caughtUp =
      loan.lender === 'pool'
        ? (await repo.accrualStateOf(trx, loan.fund_id, loan.id))?.accrued_through === dayBefore
        : lastRun !== null && lastRun >= dayBefore;
    if (!caughtUp) {
      throw extensionError(
        'extension_accrual_pending',
        `The new schedule would start on ${effectiveOn}, but the daily job has not run for loan #${loan.number} through ${dayBefore}: run it (jobs daily --date ${dayBefore}), then decide again.`,
        { effectiveOn, runThrough: dayBefore, lastRun },
      );
    }
  }

  /** The new schedule and what it carries (ADR 0013, "The new schedule"). */
  private async plan(trx: Trx, loan: ClassifiedLoanRow, extension: repo.ExtensionRow, effectiveOn: string) {
    const balances = await lockReceivables(trx, loan.fund_id, loan.id);
    const principal = new Money(loan.lender === 'pool' ? balances['1201'] : balances['7101']);
    assert(principal.gt(0), `serviced loan ${loan.id} has no principal outstanding`);
    const old = await servicing.instalmentsOf(trx, loan.fund_id, loan.id, loan.schedule_version!);
    const rate = loan.rate_annual!;
    const dayCount = loan.day_count!;
    const schedule = generateSchedule({
      principal,
      rateAnnual: rate,
      dayCount,
      method: extension.repayment_method,
      startDate: effectiveOn,
      termDays: daysBetween(effectiveOn, extension.requested_maturity_date),
    });
    const first = schedule.instalments[0]!;
    const interestCarried =
      loan.lender === 'pool' ? new Money(balances['1202']) : peerInterestEarned(old, effectiveOn, rate, dayCount);
    const firstInterest =
      loan.lender === 'pool'
        ? firstPeriodAccrual(
            schedule,
            principal,
            await repo.accrualStateOf(trx, loan.fund_id, loan.id),
            effectiveOn,
            rate,
            dayCount,
          )
        : first.interest;
    const instalments = schedule.instalments.map((instalment, index) =>
      index === 0 ? { ...instalment, interest: firstInterest.plus(interestCarried) } : instalment,
    );
    const pastDue = old
      .filter((row) => row.due_on < effectiveOn)
      .map((row) => new Money(row.principal).minus(row.principal_paid));
    return {
      instalments,
      principal,
      pastDuePrincipal: pastDue.length === 0 ? ZERO : sumAmounts(pastDue),
      interestCarried,
      penalty: loan.lender === 'pool' ? new Money(balances['1203']) : ZERO,
      fee: loan.lender === 'pool' ? new Money(balances['1204']) : ZERO,
    };
  }

  // -------------------------------------------------------------------------------------------

  private async view(db: Db, fund: Fund, row: repo.ExtensionRow): Promise<ExtensionView> {
    return toExtensionView(row, await repo.consentsOf(db, fund.id, [row.id]));
  }

  private async lockOfLoan(trx: Trx, fund: Fund, loanId: string, extensionId: string): Promise<repo.ExtensionRow> {
    const extension = await repo.lockExtension(trx, fund.id, extensionId);
    if (!extension || extension.loan_id !== loanId) throw notFound(extensionId);
    return extension;
  }

  /** The loan, if disbursed once and the principal may see it (member users: the loans they take part in). */
  private async findVisibleLoan(
    db: Db,
    fund: Fund,
    principal: Principal,
    loanId: string,
  ): Promise<servicing.ServicedLoanRow> {
    const loan = await servicing.findServicedLoan(db, fund.id, loanId);
    const member = memberScope(principal);
    const hidden =
      !loan ||
      !servicing.LOAN_STATES.includes(loan.status) ||
      (member !== undefined && !(await loansRepo.involves(db, loan, member)));
    if (hidden) throw extensionError('loan_not_found', `Loan ${loanId} does not exist in this fund.`, { loanId });
    return loan;
  }
}

// ---------------------------------------------------------------------------------------------
// Rules

function assertBorrowerSide(principal: Principal, loan: servicing.ServicedLoanRow): void {
  const scope = memberScope(principal);
  if (scope !== undefined && scope !== loan.borrower_member_id) {
    throw extensionError(
      'not_borrower',
      'Only the borrower’s users or an administrator may ask for or withdraw an extension.',
      {
        borrowerMemberId: loan.borrower_member_id,
      },
    );
  }
}

/**
 * Active, overdue and defaulted pool and peer loans may be extended (a bank loan's term is the
 * bank's contract, docs/adr/0017-bank-loans.md). A defaulted loan too: rescheduling is how a
 * mutual fund works out a member's default before calling the guarantees, and the restructured
 * classification keeps it non-performing (ADR 0013).
 */
function assertExtendable(loan: servicing.ServicedLoanRow): void {
  if (loan.lender === 'bank') {
    throw extensionError(
      'bank_loan_not_extendable',
      'A bank loan is extended by its bank: the fund records the bank’s contract as registered and reschedules nothing of it.',
      { lender: loan.lender },
    );
  }
  if (!servicing.SERVICED_STATES.includes(loan.status)) {
    throw extensionError(
      'loan_not_extendable',
      `The loan is ${loan.status}; only a disbursed loan not yet closed (active, overdue or defaulted) is extended.`,
      { loanStatus: loan.status },
    );
  }
  assert(loan.maturity_date !== null && loan.disbursed_on !== null, `serviced loan ${loan.id} has no dates`);
}

function checkMaturity(loan: servicing.ServicedLoanRow, maturity: string, today: string, termDaysMax: number): void {
  if (maturity <= loan.maturity_date!) {
    throw extensionError(
      'maturity_not_extended',
      `The loan matures on ${loan.maturity_date}; an extension asks for a later date than that, not ${maturity}.`,
      { maturityDate: loan.maturity_date, newMaturityDate: maturity },
    );
  }
  if (maturity <= today) {
    throw extensionError('maturity_not_after_today', `The new maturity ${maturity} is not after today (${today}).`, {
      newMaturityDate: maturity,
      today,
    });
  }
  const term = daysBetween(loan.disbursed_on!, maturity);
  if (term > termDaysMax) {
    throw extensionError(
      'extension_term_exceeds_policy',
      `From disbursement on ${loan.disbursed_on} to ${maturity} is ${term} days; the policy allows at most ${termDaysMax}.`,
      { rule: 'term_days_max', limit: String(termDaysMax), actual: String(term) },
    );
  }
}

function approvalFailures(input: {
  loan: servicing.ServicedLoanRow;
  borrowerStatus: string;
  extension: repo.ExtensionRow;
  consents: readonly repo.ConsentRow[];
  effectiveOn: string;
  termDaysMax: number;
}): ExtensionFailure[] {
  const { loan, extension, effectiveOn } = input;
  const failures: ExtensionFailure[] = [];
  if (!servicing.SERVICED_STATES.includes(loan.status)) {
    failures.push({
      rule: 'loan_status',
      limit: servicing.SERVICED_STATES.join(', '),
      actual: loan.status,
      detail: `The loan is ${loan.status}: there is nothing left to extend.`,
    });
    return failures;
  }
  if (input.borrowerStatus !== 'active') {
    failures.push({
      rule: 'borrower_active',
      limit: 'active',
      actual: input.borrowerStatus,
      detail: `The borrower is ${input.borrowerStatus}.`,
      memberId: loan.borrower_member_id,
    });
  }
  for (const consent of input.consents.filter((c) => c.status !== 'accepted')) {
    failures.push({
      rule: 'guarantor_consent',
      limit: 'accepted',
      actual: consent.status,
      detail:
        consent.status === 'declined'
          ? `Guarantor ${consent.guarantor_member_id} declined the extension: without its written consent it stays bound only to the original term (Civil Code art. 695).`
          : `Guarantor ${consent.guarantor_member_id} has not consented to the extension yet.`,
      guaranteeId: consent.guarantee_id,
      memberId: consent.guarantor_member_id,
    });
  }
  const term = daysBetween(loan.disbursed_on!, extension.requested_maturity_date);
  if (term > input.termDaysMax) {
    failures.push({
      rule: 'term_days_max',
      limit: String(input.termDaysMax),
      actual: String(term),
      detail: `The extended term of ${term} days is longer than the ${input.termDaysMax} days the policy in force allows.`,
    });
  }
  if (extension.requested_maturity_date <= effectiveOn) {
    failures.push({
      rule: 'maturity_after_effective_date',
      limit: effectiveOn,
      actual: extension.requested_maturity_date,
      detail: `The new schedule would start on ${effectiveOn}, on or after the maturity asked for.`,
    });
  }
  return failures;
}

// ---------------------------------------------------------------------------------------------
// The new schedule, pure

/**
 * The contract interest the daily job will accrue over the first new period. Normally the
 * schedule's R(P, days). When the job's current segment would simply continue into it — yesterday
 * accrued, on the same balance, in a period ending on the same date — the job accrues the segment's
 * rounded total less what it already accrued (ADR 0012), so the instalment says exactly that.
 */
export function firstPeriodAccrual(
  schedule: Schedule,
  principal: Money,
  state: repo.AccrualStateRow | undefined,
  effectiveOn: string,
  rate: string,
  dayCount: DayCount,
): Money {
  const first = schedule.instalments[0]!;
  const continues =
    state !== undefined &&
    state.accrued_through === addDays(effectiveOn, -1) &&
    state.interest_period_due_on === first.dueOn &&
    state.interest_segment_balance !== null &&
    principal.eq(state.interest_segment_balance);
  if (!continues) return first.interest;
  const start = state.interest_segment_start!;
  return cumulativeInterestRounded(principal, rate, daysBetween(start, first.dueOn), dayCount).minus(
    state.interest_segment_accrued!,
  );
}

/**
 * A peer loan's interest earned and unpaid before `effectiveOn` (the fund keeps no interest account
 * for it: the schedule is the contract): the unpaid interest of instalments due by then, and for
 * the period running on that day R-interest on its scheduled balance for the days elapsed.
 */
export function peerInterestEarned(
  instalments: readonly servicing.InstalmentRow[],
  effectiveOn: string,
  rate: string,
  dayCount: DayCount,
): Money {
  const parts: Money[] = [ZERO];
  instalments.forEach((row, index) => {
    if (row.due_on <= effectiveOn) {
      parts.push(new Money(row.interest).minus(row.interest_paid));
    } else if (row.period_start < effectiveOn) {
      const balance = sumAmounts(instalments.slice(index).map((later) => new Money(later.principal)));
      const earned = cumulativeInterestRounded(balance, rate, daysBetween(row.period_start, effectiveOn), dayCount);
      parts.push(Money.max(ZERO, earned.minus(row.interest_paid)));
    }
  });
  return sumAmounts(parts);
}

export function classificationFloor(current: Classification | null): Classification {
  const rank = Math.max(CLASSIFICATIONS.indexOf(RESTRUCTURED_FLOOR), CLASSIFICATIONS.indexOf(current ?? 'normal'));
  return CLASSIFICATIONS[rank]!;
}

/** The later of a year after the first new due date and the third new due date (or the last). */
export function observationEnd(instalments: readonly { dueOn: string }[]): string {
  const first = instalments[0]!.dueOn;
  const yearAfter = addMonthsClamped(first, OBSERVATION_MONTHS_MIN);
  const third = instalments[Math.min(OBSERVATION_DUE_DATES_MIN, instalments.length) - 1]!.dueOn;
  return yearAfter > third ? yearAfter : third;
}

function alreadyOpen(open: repo.ExtensionRow | undefined) {
  return extensionError(
    'extension_already_open',
    open
      ? `Extension ${open.number} of this loan is ${open.status}; withdraw it or wait for the committee before asking again.`
      : 'Another extension of this loan was asked for meanwhile.',
    open ? { extensionId: open.id, extensionStatus: open.status } : {},
  );
}

function consentDeclined(extensionId: string, declined: readonly repo.ConsentRow[]) {
  const names = declined.map((c) => c.guarantor_member_id);
  return extensionError(
    'extension_consent_declined',
    `Guarantor(s) ${names.join(', ')} declined extension ${extensionId}: it cannot be approved (Civil Code art. 695). The borrower may withdraw it and ask again on other terms.`,
    { extensionId, guarantorMemberIds: names, guaranteeIds: declined.map((c) => c.guarantee_id) },
  );
}

function notFound(extensionId: string) {
  return extensionError('extension_not_found', `Extension ${extensionId} does not exist for this loan.`, {
    extensionId,
  });
}
