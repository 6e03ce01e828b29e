import Decimal from 'decimal.js';
import { Money, roundHalfUp, ZERO } from '../money/money';
import type { FundPolicy } from './policy';

/**
 * The policy's concentration limits as amounts, for the eligibility rules (loans/eligibility.ts)
 * and the exposure report (reports/exposure.ts) alike.
 *
 * Rounding: a limit is rounded DOWN to the fen, so an amount at the limit never exceeds the
 * policy's share by a fraction of a fen; a negative base (capital gone below zero) gives a zero
 * limit.
 */

export function floorFen(value: Decimal): Money {
  return new Money(value).toDecimalPlaces(2, Decimal.ROUND_DOWN);
}

/** `pct` percent of `base`, floored to the fen, never below zero. */
export function shareOf(pct: string, base: Decimal): Money {
  return Money.max(floorFen(new Money(base).times(pct).div(100)), ZERO);
}

/** `multiple` × `base`, floored to the fen, never below zero. */
export function multipleOf(multiple: string, base: Decimal): Money {
  return Money.max(floorFen(new Money(base).times(multiple)), ZERO);
}

/** What one borrower may owe the pool: `loanLimitPaidInMultiple` × its paid-in capital. */
export function paidInBorrowingLimit(policy: FundPolicy, paidIn: Decimal): Money {
  return multipleOf(policy.loanLimitPaidInMultiple, paidIn);
}

/** What one borrower may owe the pool: `singleBorrowerLimitPct` of pool capital. */
export function singleBorrowerLimit(policy: FundPolicy, poolCapital: Decimal): Money {
  return shareOf(policy.singleBorrowerLimitPct, poolCapital);
}

/** What one related group may owe the pool: `relatedGroupLimitPct` of pool capital. */
export function relatedGroupLimit(policy: FundPolicy, poolCapital: Decimal): Money {
  return shareOf(policy.relatedGroupLimitPct, poolCapital);
}

/** What one guarantor may stand behind: `guarantorCapacityPaidInMultiple` × its paid-in capital. */
export function guarantorCapacity(policy: FundPolicy, paidIn: Decimal): Money {
  return multipleOf(policy.guarantorCapacityPaidInMultiple, paidIn);
}

/**
 * The liquidity reserve: `liquidityReservePct` of pool capital (Σ member capital, 3001:<member>),
 * kept back from lending and from exit refunds. Rounded half-up to the fen (rule R1, ADR 0001) —
 * unlike the limits above, it is a floor the pool must keep, not a ceiling — and never below zero.
 * Lending (loans/eligibility.ts), exits (exits.service.ts) and the fund overview all use this.
 */
export function liquidityReserve(policy: Pick<FundPolicy, 'liquidityReservePct'>, poolCapital: Decimal): Money {
  return Money.max(roundHalfUp(new Money(poolCapital).times(policy.liquidityReservePct).div(100)), ZERO);
}
