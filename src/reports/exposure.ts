import { guarantorCapacity, paidInBorrowingLimit, relatedGroupLimit, singleBorrowerLimit } from '../funds/limits';
import type { FundPolicy } from '../funds/policy';
import { Money, sumAmounts, ZERO } from '../money/money';

/**
 * The exposure report's arithmetic (docs/adr/0019-exposure-report.md), pure: what each member and
 * each related group owes, lends and stands behind on a day, and each figure against its limit.
 *
 * Rounding: a joint-group guarantee counts at its share, the standing amount divided equally among
 * the loan's guarantors from that group (Civil Code art. 519), rounded ROUND_HALF_UP to the fen per
 * guarantee — computed in SQL by the rule the eligibility rules use for capacity
 * (the database function guarantee_capacity_share). Limits are floored to the fen
 * (funds/limits.ts). Nothing else is rounded: every other figure is a sum of fen amounts.
 */

export const EXPOSURE_MEASURES = [
  'pool_loans_paid_in_multiple',
  'single_borrower',
  'guarantor_capacity',
  'related_group',
] as const;
export type ExposureMeasure = (typeof EXPOSURE_MEASURES)[number];

export interface LimitCheck {
  measure: ExposureMeasure;
  limit: Money;
  actual: Money;
  breached: boolean;
  /** actual − limit when breached, else 0. */
  excess: Money;
}

export interface ExposureFigures {
  poolLoans: Money;
  peerLoansBorrowed: Money;
  peerLoansLent: Money;
  bankLoans: Money;
  guaranteesOwn: Money;
  guaranteesJointShare: Money;
  collateralValuation: Money;
  collateralCounted: Money;
}

export interface LoanFigure {
  id: string;
  lender: 'pool' | 'peer' | 'bank';
  borrowerMemberId: string;
  peerLenderMemberId: string | null;
  principal: Money;
}

export interface GuaranteeFigure {
  guarantorMemberId: string;
  jointGroupId: string | null;
  /** What it counts toward its guarantor: what it stands behind, or its share of a group's (rule S1). */
  counted: Money;
}

export interface CollateralFigure {
  loanId: string;
  valuation: Money;
  counted: Money;
}

/** The figures of a set of members (one member, or a related group). */
export function figuresOf(
  memberIds: ReadonlySet<string>,
  loans: readonly LoanFigure[],
  guarantees: readonly GuaranteeFigure[],
  collateral: readonly CollateralFigure[],
): ExposureFigures {
  const borrowed = loans.filter((loan) => memberIds.has(loan.borrowerMemberId));
  const principalOf = (lender: LoanFigure['lender']) =>
    sumAmounts(borrowed.filter((loan) => loan.lender === lender).map((loan) => loan.principal));
  const lent = loans.filter(
    (loan) => loan.lender === 'peer' && loan.peerLenderMemberId !== null && memberIds.has(loan.peerLenderMemberId),
  );
  const given = guarantees.filter((g) => memberIds.has(g.guarantorMemberId));
  const borrowedIds = new Set(borrowed.map((loan) => loan.id));
  const pledged = collateral.filter((item) => borrowedIds.has(item.loanId));
  return {
    poolLoans: principalOf('pool'),
    peerLoansBorrowed: principalOf('peer'),
    peerLoansLent: sumAmounts(lent.map((loan) => loan.principal)),
    bankLoans: principalOf('bank'),
    guaranteesOwn: sumAmounts(given.filter((g) => g.jointGroupId === null).map((g) => g.counted)),
    guaranteesJointShare: sumAmounts(given.filter((g) => g.jointGroupId !== null).map((g) => g.counted)),
    collateralValuation: sumAmounts(pledged.map((item) => item.valuation)),
    collateralCounted: sumAmounts(pledged.map((item) => item.counted)),
  };
}

function check(measure: ExposureMeasure, limit: Money, actual: Money): LimitCheck {
  const breached = actual.gt(limit);
  return { measure, limit, actual, breached, excess: breached ? actual.minus(limit) : ZERO };
}

/**
 * A member's limits: what it owes the pool against its paid-in multiple and against the
 * single-borrower share of pool capital; what it stands behind against its guarantor capacity.
 */
export function memberLimits(
  policy: FundPolicy,
  figures: ExposureFigures,
  paidIn: Money,
  poolCapital: Money,
): LimitCheck[] {
  return [
    check('pool_loans_paid_in_multiple', paidInBorrowingLimit(policy, paidIn), figures.poolLoans),
    check('single_borrower', singleBorrowerLimit(policy, poolCapital), figures.poolLoans),
    check(
      'guarantor_capacity',
      guarantorCapacity(policy, paidIn),
      figures.guaranteesOwn.plus(figures.guaranteesJointShare),
    ),
  ];
}

/** A related group's limit: what its members together owe the pool against the group share. */
export function relatedGroupLimits(policy: FundPolicy, figures: ExposureFigures, poolCapital: Money): LimitCheck[] {
  return [check('related_group', relatedGroupLimit(policy, poolCapital), figures.poolLoans)];
}

/** Whether a member has anything to report: money owed, lent, guaranteed, or capital paid in. */
export function hasExposure(figures: ExposureFigures, paidIn: Money): boolean {
  return [
    figures.poolLoans,
    figures.peerLoansBorrowed,
    figures.peerLoansLent,
    figures.bankLoans,
    figures.guaranteesOwn,
    figures.guaranteesJointShare,
    paidIn,
  ].some((amount) => !amount.isZero());
}
