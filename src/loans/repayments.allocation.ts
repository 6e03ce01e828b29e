import { assert } from '../assert';
import { Money, roundHalfUp, sumAmounts, ZERO } from '../money/money';

/**
 * How a repayment is split, pure: no database, no clock. The order is that of PRC Civil Code
 * art. 561 (costs, then interest, then principal): the service fee, penalty interest, interest,
 * then principal; within interest and principal the oldest instalment first. All amounts are
 * fen-exact and nothing is rounded here except the guarantee release (rule written below).
 */

export const COMPONENTS = ['fee', 'penalty', 'interest', 'principal'] as const;
export type Component = (typeof COMPONENTS)[number];

/** What the borrower owes, by component. */
export interface Owed {
  fee: Money;
  penalty: Money;
  interest: Money;
  principal: Money;
}

export interface InstalmentState {
  scheduleVersion: number;
  number: number;
  dueOn: string;
  principal: Money;
  interest: Money;
  principalPaid: Money;
  interestPaid: Money;
}

export interface AllocationLine {
  component: Component;
  scheduleVersion: number | null;
  instalmentNumber: number | null;
  amount: Money;
  /** Principal of an instalment not yet due on the day received. */
  prepayment: boolean;
}

export function payoffOf(owed: Owed): Money {
  return owed.fee.plus(owed.penalty).plus(owed.interest).plus(owed.principal);
}

/**
 * Interest a peer loan owes on `date`: the scheduled interest of the instalments due on or before
 * it, less what was paid. The fund keeps no interest account for peer loans (the interest is the
 * lender's); the schedule is the contract between the two members.
 */
export function peerInterestDue(instalments: readonly InstalmentState[], date: string): Money {
  const due = instalments.filter((i) => i.dueOn <= date).map((i) => i.interest.minus(i.interestPaid));
  return due.length === 0 ? ZERO : sumAmounts(due);
}

/**
 * Splits `amount` (0 < amount ≤ payoff) over what is owed. Interest is taken up to `owed.interest`
 * (what has accrued: interest not yet accrued cannot be paid) and labelled with the oldest
 * instalments whose scheduled interest is unpaid; interest accrued beyond the schedule (a loan
 * past maturity) belongs to no instalment. Principal goes to the oldest instalments with unpaid
 * principal, due or not: what reaches an instalment not yet due is a prepayment.
 */
export function allocate(
  amount: Money,
  owed: Owed,
  instalments: readonly InstalmentState[],
  receivedOn: string,
): AllocationLine[] {
  assert(amount.gt(0) && amount.lte(payoffOf(owed)), `repayment ${amount.toFixed(2)} outside (0, payoff]`);
  const ordered = [...instalments].sort((a, b) => a.dueOn.localeCompare(b.dueOn) || a.number - b.number);
  const lines: AllocationLine[] = [];
  let left = amount;
  const take = (limit: Money): Money => {
    const part = Money.min(left, limit);
    left = left.minus(part);
    return part;
  };
  const push = (component: Component, part: Money, instalment?: InstalmentState, prepayment = false): void => {
    if (part.lte(0)) return;
    lines.push({
      component,
      scheduleVersion: instalment?.scheduleVersion ?? null,
      instalmentNumber: instalment?.number ?? null,
      amount: part,
      prepayment,
    });
  };
  push('fee', take(owed.fee));
  push('penalty', take(owed.penalty));

  let interest = take(owed.interest);
  for (const instalment of ordered) {
    const part = Money.min(interest, instalment.interest.minus(instalment.interestPaid));
    push('interest', part, instalment);
    interest = interest.minus(part);
  }
  push('interest', interest);

  const principal = take(owed.principal);
  let principalLeft = principal;
  for (const instalment of ordered) {
    const part = Money.min(principalLeft, instalment.principal.minus(instalment.principalPaid));
    push('principal', part, instalment, instalment.dueOn > receivedOn);
    principalLeft = principalLeft.minus(part);
  }
  assert(principalLeft.isZero(), `principal ${principal.toFixed(2)} exceeds the schedule's unpaid principal`);
  assert(left.isZero(), `repayment ${amount.toFixed(2)} not fully allocated`);
  return lines;
}

/** The sum of the lines of one component. */
export function componentTotal(lines: readonly AllocationLine[], component: Component): Money {
  const parts = lines.filter((line) => line.component === component).map((line) => line.amount);
  return parts.length === 0 ? ZERO : sumAmounts(parts);
}

/**
 * Rounding rule R-release: a guarantee's cumulative release after a repayment is
 * ROUND_HALF_UP(guarantee × principal repaid / loan amount), to the fen. It is computed from the
 * cumulative principal repaid each time (never by adding rounded increments), so the rounding
 * never drifts, and it reaches the whole guarantee exactly when the whole principal is repaid.
 * Each repayment books the increment over the previous cumulative release.
 */
export function releasedTotal(guarantee: Money, principalRepaid: Money, loanAmount: Money): Money {
  assert(loanAmount.gt(0), 'a loan amount is positive');
  assert(principalRepaid.gte(0) && principalRepaid.lte(loanAmount), 'principal repaid within the loan amount');
  return roundHalfUp(guarantee.times(principalRepaid).div(loanAmount));
}
