import type { Db } from '../db/knex';
import { detailNamingEach } from '../errors';
import type { Fund } from '../funds/funds.service';
import type { FundPolicy } from '../funds/policy';
import { findCircles, type CircleCandidate, type CircleView } from '../guarantees/circles';
import { jointGroupRules } from '../guarantees/joint-groups.loans';
import { membersWithOverdueCalls } from '../members/members.repo';
import {
  guarantorCapacity,
  liquidityReserve,
  paidInBorrowingLimit,
  relatedGroupLimit,
  singleBorrowerLimit,
} from '../funds/limits';
import { formatAmount, Money, ZERO } from '../money/money';
import { loanError } from './loans.errors';
import * as repo from './loans.repo';
import { coverageOf } from './loans.views';

/**
 * The lending rules ("checks at submission, again at approval and again at
 * disbursement"): one function, called at each of the three stages, that returns every rule the
 * loan fails with the limit and the actual figure, as decimal strings.
 *
 * Decisions written down here:
 * - Coverage counts accepted (and, from disbursement, active) guarantees only, plus collateral
 *   after haircut. Proposed guarantees count for nothing, so the guarantors consent BEFORE the
 *   application is submitted; a guarantee still waiting is shown as `coverage.proposed`.
 * - Peer loans lend a member's money, not the pool's: "no pool hold, no pool limit". They skip the
 *   rules that protect the pool — the paid-in multiple, the single-borrower and related-group
 *   shares of pool capital, and the available pool cash — and instead need the lender's agreement.
 *   Borrower standing, term, coverage and the guarantor rules apply to both kinds of loan.
 * - Bank loans lend a bank's money (docs/adr/0017-bank-loans.md): like peer loans they skip the
 *   rules that protect the pool (paid-in multiple, single-borrower and related-group shares, pool
 *   cash), and also the term maximum — the bank's contract sets the term, and the guarantors
 *   consent to that contract. No member lends, so there is no lender rule. Borrower standing,
 *   coverage, the guarantor rules, capacity and circles apply as to every loan.
 * - Pool exposure of a borrower = the amounts of its approved pool loans not yet disbursed + the
 *   principal receivable balances (1201:<loan>) of its pool loans; the loan checked is never in it.
 * - A guarantor's capacity (ADR 0015) counts what it stands behind on live loans: its active
 *   guarantees at their outstanding amount (pledged less released, what 7001:<guarantor> holds),
 *   plus this loan's guarantee (a proposed one as if accepted: what it would commit). At submission
 *   and approval its accepted guarantees on OTHER loans not yet disbursed count too, as a forecast;
 *   at disbursement they do not: a pledge binds from its own activation, and that activation checks
 *   it, under the guarantor's member-row lock, in the transaction that makes it active.
 * - Guarantee circles (ADR 0015): under `guaranteeCircleMode: 'refuse'` a standing guarantee of the
 *   loan that closes a cycle of live guarantees fails rule `guarantee_circle`, with the cycle; under
 *   `flag` the rules pass and the caller records the cycle on the guarantee.
 * - Joint guarantee groups (ADR 0016): a loan backed by a group passes `joint_group_member` (the
 *   group approved, the borrower a current member) and `joint_group_limit` (the group's other
 *   loans plus this one within its limit); the group's guarantees cover the loan once, capped by the
 *   group's free limit, and count towards each guarantor's capacity at its equal share only.
 * - Limits that are a share or a multiple are rounded DOWN to the fen (rounding point E1): every
 *   figure compared against them has 2 decimals, so "≤ exact limit" and "≤ rounded-down limit" are
 *   the same test. The liquidity reserve is rounded half-up (R1), as exits compute it.
 */

export type EligibilityStage = 'submission' | 'approval' | 'disbursement';

export type EligibilityRule =
  | 'borrower_active'
  | 'borrower_no_overdue_capital_call'
  | 'borrower_not_in_default'
  | 'term_days_max'
  | 'peer_lender_agreed'
  | 'peer_lender_active'
  | 'loan_limit_paid_in_multiple'
  | 'single_borrower_limit'
  | 'related_group_limit'
  | 'guarantee_coverage'
  | 'guarantor_not_borrower'
  | 'guarantor_active'
  | 'guarantor_not_in_default'
  | 'guarantor_capacity'
  | 'guarantee_circle'
  | 'pool_cash_available'
  | 'joint_group_member'
  | 'joint_group_limit';

export interface EligibilityFailure {
  rule: EligibilityRule;
  /** The figure the rule allows (a maximum, a minimum or the state required), as a string. */
  limit: string;
  /** The loan's figure for the rule, as a string. */
  actual: string;
  detail: string;
  memberId?: string;
  guaranteeId?: string;
  /** Rule guarantee_circle: the cycle, members and loans in order. */
  cycle?: CircleView;
}

export interface EligibilityInput {
  fund: Pick<Fund, 'id'>;
  loan: repo.LoanRow;
  stage: EligibilityStage;
  policy: FundPolicy;
  /** Today in the fund's time zone (from the injected clock): capital calls due before are overdue. */
  today: string;
}

const fen = (value: Money): string => formatAmount(value);

export async function checkEligibility(db: Db, input: EligibilityInput): Promise<EligibilityFailure[]> {
  const { loan } = input;
  const failures: EligibilityFailure[] = [];
  failures.push(...(await borrowerRules(db, input)));
  if (loan.lender !== 'bank' && loan.term_days > input.policy.termDaysMax) {
    failures.push({
      rule: 'term_days_max',
      limit: String(input.policy.termDaysMax),
      actual: String(loan.term_days),
      detail: `A term of ${loan.term_days} days is longer than the ${input.policy.termDaysMax} days the policy allows.`,
    });
  }
  if (loan.lender === 'peer') failures.push(...(await peerLenderRules(db, input)));
  if (loan.lender === 'pool') failures.push(...(await poolLimitRules(db, input)));
  // A loan backed by a joint guarantee group (ADR 0016): the group's rules, and what the group can
  // cover of the loan (its free limit), for the coverage rule.
  const group = loan.joint_group_id === null ? null : await jointGroupRules(db, loan);
  if (group) failures.push(...group.failures);
  failures.push(...(await coverageRules(db, input, group?.free)));
  if (input.policy.guaranteeCircleMode === 'refuse') failures.push(...(await circleRule(db, input)));
  if (loan.lender === 'pool') {
    const cash = await poolCashRule(db, input);
    if (cash) failures.push(cash);
  }
  return failures;
}

/**
 * Throws one 422 problem for all the failures: `rule`, `limit` and `actual` of the first, every one
 * in `failures`, and a `detail` sentence that names every rule failed with its figures.
 */
export function assertEligible(failures: readonly EligibilityFailure[], stage: EligibilityStage): void {
  const first = failures[0];
  if (first === undefined) return;
  const opening = `The loan fails ${failures.length} rules at ${stage}`;
  const detail = detailNamingEach(
    opening,
    failures.map((failure) => ({ name: failure.rule, detail: failure.detail })),
  );
  throw loanError('loan_ineligible', detail, {
    stage,
    rule: first.rule,
    limit: first.limit,
    actual: first.actual,
    ...(first.memberId === undefined ? {} : { memberId: first.memberId }),
    ...(first.guaranteeId === undefined ? {} : { guaranteeId: first.guaranteeId }),
    ...(first.cycle === undefined ? {} : { cycle: first.cycle }),
    failures: failures.map((failure) => ({ ...failure })),
  });
}

async function borrowerRules(db: Db, { fund, loan, today }: EligibilityInput): Promise<EligibilityFailure[]> {
  const failures: EligibilityFailure[] = [];
  const memberId = loan.borrower_member_id;
  const borrower = await repo.borrowerFigures(db, fund.id, memberId);
  if (borrower.status !== 'active') {
    failures.push({
      rule: 'borrower_active',
      limit: 'active',
      actual: borrower.status,
      detail: `The borrower is ${borrower.status}; only an active member may borrow.`,
      memberId,
    });
  }
  const [overdue] = await membersWithOverdueCalls(db, fund.id, today, [memberId]);
  if (overdue) {
    failures.push({
      rule: 'borrower_no_overdue_capital_call',
      limit: '0.00',
      actual: fen(new Money(overdue.outstanding)),
      detail: `The borrower owes ${fen(new Money(overdue.outstanding))} on capital calls overdue since ${overdue.oldestDueOn}.`,
      memberId,
    });
  }
  if (borrower.defaulted_loans > 0) {
    failures.push({
      rule: 'borrower_not_in_default',
      limit: '0',
      actual: String(borrower.defaulted_loans),
      detail: `The borrower has ${borrower.defaulted_loans} loan(s) in default.`,
      memberId,
    });
  }
  return failures;
}

async function peerLenderRules(db: Db, { fund, loan }: EligibilityInput): Promise<EligibilityFailure[]> {
  const failures: EligibilityFailure[] = [];
  const lenderId = loan.peer_lender_member_id!;
  if (loan.peer_lender_consent !== 'accepted') {
    failures.push({
      rule: 'peer_lender_agreed',
      limit: 'accepted',
      actual: loan.peer_lender_consent ?? 'pending',
      detail: `The peer lender has ${loan.peer_lender_consent === 'declined' ? 'declined' : 'not yet agreed'} to lend.`,
      memberId: lenderId,
    });
  }
  const lender = await repo.borrowerFigures(db, fund.id, lenderId);
  if (lender.status !== 'active') {
    failures.push({
      rule: 'peer_lender_active',
      limit: 'active',
      actual: lender.status,
      detail: `The peer lender is ${lender.status}; only an active member may lend.`,
      memberId: lenderId,
    });
  }
  return failures;
}

/** The borrower's share of the pool: paid-in multiple, single-borrower and related-group limits. */
async function poolLimitRules(db: Db, { fund, loan, policy }: EligibilityInput): Promise<EligibilityFailure[]> {
  const failures: EligibilityFailure[] = [];
  const memberId = loan.borrower_member_id;
  const amount = new Money(loan.amount);
  const borrower = await repo.borrowerFigures(db, fund.id, memberId);
  const pool = await repo.poolFigures(db, fund.id);
  const poolCapital = new Money(pool.capital);
  const exposure = amount.plus(await repo.poolExposure(db, fund.id, [memberId], loan.id));

  const multipleLimit = paidInBorrowingLimit(policy, new Money(borrower.paid_in));
  if (exposure.gt(multipleLimit)) {
    failures.push({
      rule: 'loan_limit_paid_in_multiple',
      limit: fen(multipleLimit),
      actual: fen(exposure),
      detail: `With this loan the borrower would owe the pool ${fen(exposure)}, above ${policy.loanLimitPaidInMultiple} × its paid-in capital of ${fen(new Money(borrower.paid_in))} (${fen(multipleLimit)}).`,
      memberId,
    });
  }
  const singleLimit = singleBorrowerLimit(policy, poolCapital);
  if (exposure.gt(singleLimit)) {
    failures.push({
      rule: 'single_borrower_limit',
      limit: fen(singleLimit),
      actual: fen(exposure),
      detail: `With this loan the borrower would owe the pool ${fen(exposure)}, above ${policy.singleBorrowerLimitPct} % of pool capital of ${fen(poolCapital)} (${fen(singleLimit)}).`,
      memberId,
    });
  }
  if (borrower.related_group !== null) {
    const group = await repo.relatedGroupMembers(db, fund.id, borrower.related_group);
    const groupExposure = amount.plus(await repo.poolExposure(db, fund.id, group, loan.id));
    const groupLimit = relatedGroupLimit(policy, poolCapital);
    if (groupExposure.gt(groupLimit)) {
      failures.push({
        rule: 'related_group_limit',
        limit: fen(groupLimit),
        actual: fen(groupExposure),
        detail: `With this loan the related group ${JSON.stringify(borrower.related_group)} would owe the pool ${fen(groupExposure)}, above ${policy.relatedGroupLimitPct} % of pool capital (${fen(groupLimit)}).`,
        memberId,
      });
    }
  }
  return failures;
}

async function coverageRules(
  db: Db,
  { fund, loan, policy, stage }: EligibilityInput,
  groupFree: Money | undefined,
): Promise<EligibilityFailure[]> {
  const failures: EligibilityFailure[] = [];
  // Sequential: `db` is often the caller's transaction, one connection, one query at a time.
  const guarantees = await repo.guaranteesOf(db, fund.id, [loan.id]);
  const collateral = await repo.collateralOf(db, fund.id, [loan.id]);
  const coverage = coverageOf(loan, guarantees, collateral, policy.guaranteeCoveragePct, groupFree);
  if (coverage.total.lt(coverage.required)) {
    const waiting = coverage.proposed.gt(0) ? `; ${fen(coverage.proposed)} of guarantees still await consent` : '';
    failures.push({
      rule: 'guarantee_coverage',
      limit: fen(coverage.required),
      actual: fen(coverage.total),
      detail: `Accepted guarantees and collateral after haircut cover ${fen(coverage.total)}, less than the ${coverage.requiredPct} % of the amount required (${fen(coverage.required)})${waiting}.`,
    });
  }
  for (const g of await repo.guarantorFigures(db, fund.id, loan.id)) {
    const who = { memberId: g.guarantor_member_id, guaranteeId: g.guarantee_id };
    if (g.guarantor_member_id === loan.borrower_member_id) {
      // The database refuses such a row (loan_guarantees_not_borrower); kept so the rule is whole.
      failures.push({
        rule: 'guarantor_not_borrower',
        limit: 'another member',
        actual: 'the borrower',
        detail: 'The borrower cannot guarantee its own loan.',
        ...who,
      });
    }
    if (g.member_status !== 'active') {
      failures.push({
        rule: 'guarantor_active',
        limit: 'active',
        actual: g.member_status,
        detail: `Guarantor ${g.guarantor_member_id} is ${g.member_status}; only an active member may guarantee.`,
        ...who,
      });
    }
    if (g.defaulted_loans > 0) {
      failures.push({
        rule: 'guarantor_not_in_default',
        limit: '0',
        actual: String(g.defaulted_loans),
        detail: `Guarantor ${g.guarantor_member_id} has ${g.defaulted_loans} loan(s) in default.`,
        ...who,
      });
    }
    const forecast = stage === 'disbursement' ? ZERO : new Money(g.accepted_other);
    const committed = new Money(g.active_other).plus(forecast).plus(g.own_outstanding);
    const capacity = guarantorCapacity(policy, new Money(g.paid_in));
    if (committed.gt(capacity)) {
      failures.push({
        rule: 'guarantor_capacity',
        limit: fen(capacity),
        actual: fen(committed),
        detail: `Guarantor ${g.guarantor_member_id} would stand behind ${fen(committed)} of loans, above ${policy.guarantorCapacityPaidInMultiple} × its paid-in capital of ${fen(new Money(g.paid_in))} (${fen(capacity)}).`,
        ...who,
      });
    }
  }
  return failures;
}

/**
 * The loan's standing guarantees as circle candidates (proposed ones as if accepted). At
 * disbursement only the accepted ones: those become active, a proposal never consented binds nobody.
 */
export async function circleCandidatesOf(
  db: Db,
  fundId: string,
  loan: repo.LoanRow,
  stage?: EligibilityStage,
): Promise<CircleCandidate[]> {
  const standing: readonly repo.GuaranteeStatus[] =
    stage === 'disbursement' ? ['accepted'] : ['proposed', 'accepted', 'active'];
  const guarantees = await repo.guaranteesOf(db, fundId, [loan.id]);
  return guarantees
    .filter((g) => standing.includes(g.status))
    .map((g) => ({
      guaranteeId: g.id,
      guarantorId: g.guarantor_member_id,
      borrowerId: g.borrower_member_id,
      loan: { id: loan.id, number: loan.number },
      jointGroupId: g.joint_group_id,
    }));
}

async function circleRule(db: Db, { fund, loan, stage }: EligibilityInput): Promise<EligibilityFailure[]> {
  const findings = await findCircles(db, fund.id, await circleCandidatesOf(db, fund.id, loan, stage));
  return findings.map((finding) => ({
    rule: 'guarantee_circle',
    limit: 'no circle',
    actual: finding.description,
    detail: `The guarantee of member ${finding.candidate.guarantorId} closes a guarantee circle (互保圈): ${finding.description}; the fund's policy refuses guarantee circles.`,
    memberId: finding.candidate.guarantorId,
    guaranteeId: finding.candidate.guaranteeId,
    cycle: finding.view,
  }));
}

/**
 * Available to lend = pool cash − held − reserve, where reserve = liquidityReservePct % of pool
 * capital (rounded half-up, R1). The loan's own approval hold (from approval on) is added back: it
 * is what was set aside for this very loan.
 */
async function poolCashRule(db: Db, { fund, loan, policy }: EligibilityInput): Promise<EligibilityFailure | null> {
  const pool = await repo.poolFigures(db, fund.id);
  const own = await repo.heldForLoan(db, fund.id, loan.id);
  const reserve = liquidityReserve(policy, new Money(pool.capital));
  const available = new Money(pool.cash).minus(pool.held).plus(own).minus(reserve);
  const amount = new Money(loan.amount);
  if (amount.lte(available)) return null;
  return {
    rule: 'pool_cash_available',
    limit: fen(available),
    actual: fen(amount),
    detail: `The pool has ${fen(available)} available to lend (cash ${fen(new Money(pool.cash))} − held ${fen(new Money(pool.held).minus(own))} − reserve ${fen(reserve)}), less than the ${fen(amount)} asked for.`,
  };
}
