import { assert } from '../assert';
import type { AuditService } from '../audit/audit.service';
import { memberScope } from '../auth/permissions';
import { actorOf, type Principal } from '../auth/principal';
import type { Clock } from '../clock';
import type { Db, Trx } from '../db/knex';
import type { Fund, FundService } from '../funds/funds.service';
import type { FundPolicy } from '../funds/policy';
import { circleRefusal, findCircles, flagCircles, type CircleStage } from '../guarantees/circles';
import { addGroupGuarantees, checkLoanGroup } from '../guarantees/joint-groups.loans';
import type { LedgerService } from '../ledger/ledger.service';
import { lockMember } from '../members/members.repo';
import { formatAmount, Money } from '../money/money';
import { bankColumns, bankLenderOf, checkBankTerm, contractTakenOr, sameBankContract } from './bank-loans.terms';
import {
  assertEligible,
  checkEligibility,
  circleCandidatesOf,
  type EligibilityFailure,
  type EligibilityStage,
} from './eligibility';
import { loanError } from './loans.errors';
import * as repo from './loans.repo';
import type {
  ApplicationView,
  CollateralInput,
  CreateApplicationInput,
  GuarantorInput,
  LenderInput,
  UpdateApplicationInput,
} from './loans.schemas';
import { toApplicationView, toApplicationViews } from './loans.views';

export interface LoanServiceDeps {
  ledger: LedgerService;
  audit: AuditService;
  funds: FundService;
  clock: Clock;
}

export interface ListApplicationsFilter {
  status?: repo.LoanStatus | undefined;
  memberId?: string | undefined;
  beforeNumber?: number | undefined;
  limit: number;
}

export type Decision = 'accept' | 'decline';

/** The parties an application names, checked together on create and on every edit. */
interface Parties {
  borrowerId: string;
  lender: LenderInput;
  guarantorIds: readonly string[];
}

/**
 * Loan applications: drafts with their guarantees and collateral, the
 * guarantors' and the peer lender's consents, submission after the eligibility rules, withdrawal.
 * Every write runs in the caller's transaction (runCommand), which also writes the audit row, and
 * holds the loan's row lock; submission takes the borrower's member row first, the order
 * contributions and status changes take it in.
 *
 * Who may act: the borrower's member users and administrators draft, edit, submit and withdraw;
 * only users bound to a guarantor (member or committee role) decide on its guarantee, and only
 * users bound to the peer lender agree to lend. Member users see the applications their
 * enterprise borrows, guarantees or lends in; any other is "not found" to them.
 */
export class LoanService {
  constructor(readonly deps: LoanServiceDeps) {}

  async create(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    input: CreateApplicationInput,
    requestId: string | null,
  ): Promise<ApplicationView> {
    const scope = memberScope(principal);
    if (scope !== undefined && scope !== input.borrowerMemberId) {
      throw loanError(
        'borrower_not_own',
        'A member user applies for its own enterprise only; an administrator may apply on behalf of another.',
        { borrowerMemberId: input.borrowerMemberId },
      );
    }
    const today = this.deps.funds.today(fund);
    checkParties({
      borrowerId: input.borrowerMemberId,
      lender: input.lender,
      guarantorIds: input.guarantors.map((g) => g.memberId),
    });
    checkDates(today, input.wantedOn, input.collateral);
    checkBankTerm(input.lender, input.termDays);
    await this.checkMembersExist(trx, fund.id, [
      input.borrowerMemberId,
      ...(input.lender.type === 'peer' ? [input.lender.memberId] : []),
      ...input.guarantors.map((g) => g.memberId),
    ]);
    if (input.jointGroupId !== undefined) {
      await checkLoanGroup(
        trx,
        fund.id,
        input.jointGroupId,
        input.borrowerMemberId,
        input.guarantors.map((g) => g.memberId),
      );
    }
    const now = this.deps.clock.now();
    const loan = await repo
      .insertLoan(trx, {
        fund_id: fund.id,
        number: await repo.nextLoanNumber(trx, fund.id),
        borrower_member_id: input.borrowerMemberId,
        ...lenderColumns(input.lender),
        amount: formatAmount(new Money(input.amount)),
        purpose: input.purpose,
        term_days: input.termDays,
        repayment_method: input.repaymentMethod,
        emergency: input.emergency,
        wanted_on: input.wantedOn,
        joint_group_id: input.jointGroupId ?? null,
        created_by: principal.userId,
        created_at: now,
        updated_at: now,
      })
      .catch((error: unknown) => {
        throw contractTakenOr(error, input.lender);
      });
    await repo.insertGuarantees(
      trx,
      input.guarantors.map((g) => newGuarantee(loan, g, now)),
    );
    await repo.replaceCollateral(trx, fund.id, loan.id, collateralRows(loan, input.collateral));
    await this.checkCircles(trx, fund, { principal, requestId }, loan, 'proposal');
    return this.view(trx, fund, loan);
  }

  /**
   * Edits a draft. Given lists replace the old ones: a guarantor kept with the same amount and type
   * keeps its decision; one with other terms, or named again after being dropped, is asked again
   * (proposed); one left out is withdrawn, except a decline, which stays on record as it was.
   * A change of amount, term, repayment method or lender changes what the guarantors and the peer
   * lender agreed to: their acceptances go back to proposed / pending (the audit log keeps them).
   */
  async update(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    loanId: string,
    input: UpdateApplicationInput,
    requestId: string | null,
  ): Promise<{ view: ApplicationView; reopened: number }> {
    const loan = await this.lockVisible(trx, fund, principal, loanId);
    assertBorrowerSide(principal, loan);
    assertDraft(loan);
    if (input.version !== undefined && input.version !== loan.version) {
      throw loanError(
        'application_version_conflict',
        `The application is at version ${loan.version}, not ${input.version}: read it again and redo your change.`,
        { version: loan.version, expected: input.version },
      );
    }
    const today = this.deps.funds.today(fund);
    const current = await repo.guaranteesOf(trx, fund.id, [loan.id]);
    const lender = input.lender ?? lenderOf(loan);
    const guarantorIds = input.guarantors
      ? input.guarantors.map((g) => g.memberId)
      : current.filter((g) => g.status !== 'withdrawn' && g.status !== 'declined').map((g) => g.guarantor_member_id);
    checkParties({ borrowerId: loan.borrower_member_id, lender, guarantorIds });
    checkDates(today, input.wantedOn, input.collateral ?? []);
    checkBankTerm(lender, input.termDays ?? loan.term_days);
    await this.checkMembersExist(trx, fund.id, [
      ...(input.lender?.type === 'peer' ? [input.lender.memberId] : []),
      ...(input.guarantors ?? []).map((g) => g.memberId),
    ]);
    const jointGroupId = input.jointGroupId === undefined ? loan.joint_group_id : input.jointGroupId;
    if (jointGroupId !== null && (input.jointGroupId !== undefined || input.guarantors !== undefined)) {
      await checkLoanGroup(trx, fund.id, jointGroupId, loan.borrower_member_id, guarantorIds);
    }

    const now = this.deps.clock.now();
    const amount = input.amount === undefined ? loan.amount : formatAmount(new Money(input.amount));
    const lenderChanged =
      lender.type !== loan.lender ||
      (lender.type === 'peer' && lender.memberId !== loan.peer_lender_member_id) ||
      (lender.type === 'bank' && !sameBankContract(loan, lender));
    const termsChanged =
      !new Money(amount).eq(loan.amount) ||
      (input.termDays !== undefined && input.termDays !== loan.term_days) ||
      (input.repaymentMethod !== undefined && input.repaymentMethod !== loan.repayment_method) ||
      lenderChanged;
    if (input.guarantors) {
      await this.replaceGuarantees(trx, loan, current, input.guarantors, now);
      await this.checkCircles(trx, fund, { principal, requestId }, loan, 'proposal');
    }
    const reopened = termsChanged ? await repo.reopenAcceptedGuarantees(trx, fund.id, loan.id, now) : 0;
    if (input.collateral) {
      await repo.replaceCollateral(trx, fund.id, loan.id, collateralRows(loan, input.collateral));
    }
    const consent = lenderChanged || (termsChanged && loan.lender === 'peer') ? lenderColumns(lender) : {};
    const updated = await repo
      .updateLoan(
        trx,
        fund.id,
        loan.id,
        {
          ...consent,
          amount,
          ...(input.purpose === undefined ? {} : { purpose: input.purpose }),
          ...(input.termDays === undefined ? {} : { term_days: input.termDays }),
          ...(input.repaymentMethod === undefined ? {} : { repayment_method: input.repaymentMethod }),
          ...(input.emergency === undefined ? {} : { emergency: input.emergency }),
          ...(input.wantedOn === undefined ? {} : { wanted_on: input.wantedOn }),
          ...(input.jointGroupId === undefined ? {} : { joint_group_id: input.jointGroupId }),
        },
        now,
      )
      .catch((error: unknown) => {
        throw contractTakenOr(error, lender);
      });
    return { view: await this.view(trx, fund, updated), reopened };
  }

  private async replaceGuarantees(
    trx: Trx,
    loan: repo.LoanRow,
    current: readonly repo.GuaranteeRow[],
    wanted: readonly GuarantorInput[],
    now: Date,
  ): Promise<void> {
    const byMember = new Map(current.map((g) => [g.guarantor_member_id, g]));
    const fresh: repo.NewGuaranteeRow[] = [];
    for (const item of wanted) {
      const existing = byMember.get(item.memberId);
      byMember.delete(item.memberId);
      if (!existing) {
        fresh.push(newGuarantee(loan, item, now));
        continue;
      }
      const amount = formatAmount(new Money(item.amount));
      const same = new Money(existing.amount).eq(amount) && existing.type === item.type;
      if (same && existing.status !== 'withdrawn') continue;
      await repo.updateGuarantee(trx, loan.fund_id, existing.id, {
        amount,
        type: item.type,
        status: 'proposed',
        decided_by: null,
        decided_at: null,
        decline_reason: null,
        updated_at: now,
      });
    }
    for (const dropped of byMember.values()) {
      if (dropped.status === 'proposed' || dropped.status === 'accepted') {
        await repo.updateGuarantee(trx, loan.fund_id, dropped.id, { status: 'withdrawn', updated_at: now });
      }
    }
    await repo.insertGuarantees(trx, fresh);
  }

  /** Freezes a draft: status submitted, after the eligibility rules of the policy in force pass. */
  async submit(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    loanId: string,
    requestId: string | null,
  ): Promise<{ view: ApplicationView; policyVersion: number }> {
    const found = await this.findVisible(trx, fund, principal, loanId);
    // The borrower's row first, then the loan's: two submissions of one borrower check its limits
    // one after the other.
    assert(await lockMember(trx, fund.id, found.borrower_member_id), `borrower of loan ${loanId} vanished`);
    const loan = await repo.lockLoan(trx, fund.id, loanId);
    assert(loan, `loan ${loanId} vanished under its lock`);
    assertBorrowerSide(principal, loan);
    assertDraft(loan);
    // A joint guarantee group's other members guarantee the loan from now on (ADR 0016); the rules
    // below count them, and a refusal rolls them back with everything else.
    if (loan.joint_group_id !== null) await addGroupGuarantees(trx, loan, this.deps.clock.now());
    const { version, policy } = await this.deps.funds.policyInForce(trx, fund);
    const failures = await checkEligibility(trx, {
      fund,
      loan,
      stage: 'submission',
      policy,
      today: this.deps.funds.today(fund),
    });
    assertEligible(failures, 'submission');
    // Under 'refuse' a circle failed the rules above; under 'flag' it is recorded now.
    if (policy.guaranteeCircleMode === 'flag')
      await this.checkCircles(trx, fund, { principal, requestId }, loan, 'submission', policy);
    const now = this.deps.clock.now();
    const updated = await repo.updateLoan(trx, fund.id, loan.id, { status: 'submitted', submitted_at: now }, now);
    return { view: await this.view(trx, fund, updated), policyVersion: version };
  }

  /**
   * Withdraws an application before a decision. Its standing guarantees (proposed or accepted) are
   * withdrawn with it; declines stay on record.
   */
  async withdraw(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    loanId: string,
    reason: string,
  ): Promise<{ view: ApplicationView; from: repo.LoanStatus }> {
    const loan = await this.lockVisible(trx, fund, principal, loanId);
    assertBorrowerSide(principal, loan);
    if (!repo.UNDECIDED_STATUSES.includes(loan.status)) {
      throw loanError(
        'application_not_withdrawable',
        `The application is ${loan.status}; it can be withdrawn only before a decision (${repo.UNDECIDED_STATUSES.join(', ')}).`,
        { applicationStatus: loan.status },
      );
    }
    const now = this.deps.clock.now();
    await repo.setGuaranteeStatuses(trx, fund.id, loan.id, ['proposed', 'accepted'], 'withdrawn', now);
    const updated = await repo.updateLoan(
      trx,
      fund.id,
      loan.id,
      { status: 'withdrawn', withdrawn_at: now, withdrawn_by: principal.userId, withdrawal_reason: reason },
      now,
    );
    return { view: await this.view(trx, fund, updated), from: loan.status };
  }

  /** The guarantor's decision on its guarantee, by a user bound to the guarantor member. */
  async decideGuarantee(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    input: { loanId: string; guaranteeId: string; decision: Decision; reason?: string | undefined },
    requestId: string | null,
  ): Promise<{ view: ApplicationView; guarantee: repo.GuaranteeRow }> {
    const loan = await this.lockVisible(trx, fund, principal, input.loanId);
    const guarantee = await repo.lockGuarantee(trx, fund.id, loan.id, input.guaranteeId);
    if (!guarantee) {
      throw loanError('guarantee_not_found', `Guarantee ${input.guaranteeId} is not part of this application.`, {
        guaranteeId: input.guaranteeId,
      });
    }
    if (principal.memberId !== guarantee.guarantor_member_id) {
      throw loanError(
        'not_guarantor',
        'Only a user bound to the guarantor member (member or committee role) may accept or decline its guarantee.',
        { guarantorMemberId: guarantee.guarantor_member_id },
      );
    }
    assertOpenForConsent(loan);
    if (guarantee.status === 'withdrawn') {
      throw loanError('guarantee_withdrawn', 'The applicant withdrew this guarantee; there is nothing to decide.', {
        guaranteeId: guarantee.id,
      });
    }
    if (guarantee.status !== 'proposed') {
      throw loanError('guarantee_already_decided', `The guarantee was already ${guarantee.status}.`, {
        guaranteeId: guarantee.id,
        guaranteeStatus: guarantee.status,
      });
    }
    const now = this.deps.clock.now();
    const decided = await repo.updateGuarantee(trx, fund.id, guarantee.id, {
      status: input.decision === 'accept' ? 'accepted' : 'declined',
      decided_by: principal.userId,
      decided_at: now,
      decline_reason: input.decision === 'decline' ? (input.reason ?? null) : null,
      updated_at: now,
    });
    if (decided.status === 'accepted') {
      await this.checkCircles(trx, fund, { principal, requestId }, loan, 'consent', undefined, decided.id);
    }
    const updated = await repo.updateLoan(trx, fund.id, loan.id, {}, now);
    return { view: await this.view(trx, fund, updated), guarantee: decided };
  }

  /** The peer lender's agreement to lend, by a user bound to the lending member. */
  async decideAsLender(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    input: { loanId: string; decision: Decision; reason?: string | undefined },
  ): Promise<ApplicationView> {
    const loan = await this.lockVisible(trx, fund, principal, input.loanId);
    if (loan.lender !== 'peer') {
      throw loanError('not_peer_loan', 'The pool lends this loan; there is no peer lender to agree.', {
        lender: loan.lender,
      });
    }
    if (principal.memberId !== loan.peer_lender_member_id) {
      throw loanError(
        'not_peer_lender',
        'Only a user bound to the peer lender (member or committee role) may agree to lend or decline.',
        { peerLenderMemberId: loan.peer_lender_member_id },
      );
    }
    assertOpenForConsent(loan);
    if (loan.peer_lender_consent !== 'pending') {
      throw loanError('lender_consent_already_decided', `The peer lender has already ${loan.peer_lender_consent}.`, {
        consent: loan.peer_lender_consent,
      });
    }
    const now = this.deps.clock.now();
    const updated = await repo.updateLoan(
      trx,
      fund.id,
      loan.id,
      {
        peer_lender_consent: input.decision === 'accept' ? 'accepted' : 'declined',
        peer_lender_decided_by: principal.userId,
        peer_lender_decided_at: now,
        peer_lender_decline_reason: input.decision === 'decline' ? (input.reason ?? null) : null,
      },
      now,
    );
    return this.view(trx, fund, updated);
  }

  async get(db: Db, fund: Fund, principal: Principal, loanId: string): Promise<ApplicationView> {
    return this.view(db, fund, await this.findVisible(db, fund, principal, loanId));
  }

  async list(db: Db, fund: Fund, principal: Principal, filter: ListApplicationsFilter): Promise<ApplicationView[]> {
    const loans = await repo.listLoans(db, fund.id, {
      status: filter.status,
      involving: filter.memberId,
      visibleTo: memberScope(principal),
      beforeNumber: filter.beforeNumber,
      limit: filter.limit,
    });
    const ids = loans.map((loan) => loan.id);
    // Sequential: `db` may be a transaction, whose one connection runs one query at a time.
    const guarantees = await repo.guaranteesOf(db, fund.id, ids);
    const collateral = await repo.collateralOf(db, fund.id, ids);
    const { policy } = await this.deps.funds.policyInForce(db, fund);
    return toApplicationViews(loans, guarantees, collateral, policy.guaranteeCoveragePct);
  }

  /** The eligibility rules at a stage, under the policy in force today: approval and disbursement call this. */
  async eligibility(db: Db, fund: Fund, loan: repo.LoanRow, stage: EligibilityStage): Promise<EligibilityFailure[]> {
    const { policy } = await this.deps.funds.policyInForce(db, fund);
    return checkEligibility(db, { fund, loan, stage, policy, today: this.deps.funds.today(fund) });
  }

  /**
   * The guarantee-circle check of the loan's standing guarantees (or of one of them) against the
   * live graph (ADR 0015): under the policy's 'refuse' mode the first circle found is a 422
   * guarantee_circle and the transaction rolls back; under 'flag' every circle found is recorded
   * on its guarantee, with an audit row of its own.
   */
  private async checkCircles(
    trx: Trx,
    fund: Fund,
    caller: { principal: Principal; requestId: string | null },
    loan: repo.LoanRow,
    stage: CircleStage,
    inForce?: FundPolicy,
    guaranteeId?: string,
  ): Promise<void> {
    const policy = inForce ?? (await this.deps.funds.policyInForce(trx, fund)).policy;
    const candidates = (await circleCandidatesOf(trx, fund.id, loan)).filter(
      (candidate) => guaranteeId === undefined || candidate.guaranteeId === guaranteeId,
    );
    const findings = await findCircles(trx, fund.id, candidates);
    if (findings.length === 0) return;
    if (policy.guaranteeCircleMode === 'refuse') throw circleRefusal(findings[0]!, stage);
    await flagCircles(
      trx,
      { audit: this.deps.audit, now: this.deps.clock.now() },
      { fundId: fund.id, actor: actorOf(caller.principal), requestId: caller.requestId, stage, findings },
    );
  }

  /** Coverage is shown against the policy in force today. */
  private async view(db: Db, fund: Fund, loan: repo.LoanRow): Promise<ApplicationView> {
    const guarantees = await repo.guaranteesOf(db, fund.id, [loan.id]);
    const collateral = await repo.collateralOf(db, fund.id, [loan.id]);
    const { policy } = await this.deps.funds.policyInForce(db, fund);
    return toApplicationView(loan, guarantees, collateral, policy.guaranteeCoveragePct);
  }

  private async findVisible(db: Db, fund: Fund, principal: Principal, loanId: string): Promise<repo.LoanRow> {
    return this.visible(db, principal, await repo.findLoan(db, fund.id, loanId), loanId);
  }

  private async lockVisible(trx: Trx, fund: Fund, principal: Principal, loanId: string): Promise<repo.LoanRow> {
    return this.visible(trx, principal, await repo.lockLoan(trx, fund.id, loanId), loanId);
  }

  /** Member users see only applications their enterprise takes part in; others look missing. */
  private async visible(
    db: Db,
    principal: Principal,
    loan: repo.LoanRow | undefined,
    loanId: string,
  ): Promise<repo.LoanRow> {
    const scope = memberScope(principal);
    if (loan && (scope === undefined || (await repo.involves(db, loan, scope)))) return loan;
    throw loanError('loan_application_not_found', `Loan application ${loanId} does not exist in this fund.`, {
      loanId,
    });
  }

  private async checkMembersExist(db: Db, fundId: string, memberIds: readonly string[]): Promise<void> {
    const existing = await repo.existingMembers(db, fundId, memberIds);
    const missing = memberIds.find((id) => !existing.has(id));
    if (missing !== undefined) {
      throw loanError('member_not_in_fund', `Member ${missing} does not exist in this fund.`, { memberId: missing });
    }
  }
}

function assertBorrowerSide(principal: Principal, loan: repo.LoanRow): void {
  const scope = memberScope(principal);
  if (scope !== undefined && scope !== loan.borrower_member_id) {
    throw loanError(
      'not_borrower',
      'Only the borrower’s users or an administrator may change, submit or withdraw this application.',
      { borrowerMemberId: loan.borrower_member_id },
    );
  }
}

function assertDraft(loan: repo.LoanRow): void {
  if (loan.status !== 'draft') {
    throw loanError('application_not_draft', `The application is ${loan.status}; only a draft can be changed.`, {
      applicationStatus: loan.status,
    });
  }
}

function assertOpenForConsent(loan: repo.LoanRow): void {
  if (!repo.UNDECIDED_STATUSES.includes(loan.status)) {
    throw loanError('application_closed', `The application is ${loan.status}; consents are given before a decision.`, {
      applicationStatus: loan.status,
    });
  }
}

function checkParties({ borrowerId, lender, guarantorIds }: Parties): void {
  if (guarantorIds.includes(borrowerId)) {
    throw loanError('guarantor_is_borrower', 'The borrower cannot guarantee its own loan.', { memberId: borrowerId });
  }
  if (lender.type === 'peer' && lender.memberId === borrowerId) {
    throw loanError('peer_lender_is_borrower', 'The borrower cannot lend to itself.', { memberId: borrowerId });
  }
  if (lender.type === 'peer' && guarantorIds.includes(lender.memberId)) {
    throw loanError('peer_lender_is_guarantor', 'The peer lender cannot also guarantee the loan it lends.', {
      memberId: lender.memberId,
    });
  }
}

/** Dates given in this request: the money is wanted today or later; valuations are not in the future. */
function checkDates(today: string, wantedOn: string | undefined, collateral: readonly CollateralInput[]): void {
  if (wantedOn !== undefined && wantedOn < today) {
    throw loanError('wanted_on_in_past', `The money cannot be wanted on ${wantedOn}, before today (${today}).`, {
      wantedOn,
      today,
    });
  }
  const late = collateral.findIndex((item) => item.valuedOn > today);
  if (late >= 0) {
    throw loanError(
      'valued_on_in_future',
      `Collateral item ${late + 1} is valued on ${collateral[late]!.valuedOn}, after today (${today}).`,
      { index: late, valuedOn: collateral[late]!.valuedOn, today },
    );
  }
}

function lenderOf(loan: repo.LoanRow): LenderInput {
  if (loan.lender === 'bank') return bankLenderOf(loan);
  return loan.lender === 'peer' ? { type: 'peer', memberId: loan.peer_lender_member_id! } : { type: 'pool' };
}

/** The lender columns of a fresh agreement: a peer lender is asked (pending) again; a bank brings its contract. */
function lenderColumns(lender: LenderInput) {
  return {
    lender: lender.type,
    peer_lender_member_id: lender.type === 'peer' ? lender.memberId : null,
    peer_lender_consent: lender.type === 'peer' ? ('pending' as const) : null,
    peer_lender_decided_by: null,
    peer_lender_decided_at: null,
    peer_lender_decline_reason: null,
    ...bankColumns(lender),
  };
}

function newGuarantee(loan: repo.LoanRow, item: GuarantorInput, now: Date): repo.NewGuaranteeRow {
  return {
    fund_id: loan.fund_id,
    loan_id: loan.id,
    borrower_member_id: loan.borrower_member_id,
    guarantor_member_id: item.memberId,
    amount: formatAmount(new Money(item.amount)),
    type: item.type,
    created_at: now,
    updated_at: now,
  };
}

function collateralRows(loan: repo.LoanRow, items: readonly CollateralInput[]): repo.NewCollateralRow[] {
  return items.map((item, index) => ({
    fund_id: loan.fund_id,
    loan_id: loan.id,
    position: index + 1,
    description: item.description,
    kind: item.kind,
    valuation: formatAmount(new Money(item.valuation)),
    valued_on: item.valuedOn,
    haircut_pct: new Money(item.haircutPct).toFixed(),
  }));
}
