import Decimal from 'decimal.js';
import { assert } from '../assert';
import { percentAsFraction } from '../funds/policy';
import { Money, roundHalfUp } from '../money/money';

/**
 * Interest arithmetic for loans, pure: no database, no clock. Rates are fractions per year
 * ("0.0435" is 4.35 %), never JS numbers; amounts are fen-exact `Money`. The rounding rule
 * R-interest and the daily accrual are explained in docs/adr/0009-loan-schedules.md.
 */

export type DayCount = 'ACT/360' | 'ACT/365';

/** Days in the year a day count divides by. ACT/365 is "Fixed": 365 in leap years too. */
export const DAY_COUNT_BASIS: Record<DayCount, number> = { 'ACT/360': 360, 'ACT/365': 365 };

/**
 * Largest annual rate accepted: the policy caps the contract rate at 1 (100 %) and the penalty
 * uplift at 1000 %, so a penalty rate is at most 1 × (1 + 10) = 11.
 */
export const RATE_ANNUAL_MAX = '11';

/** Largest contract rate: the policy's cap (100 % a year). */
export const CONTRACT_RATE_ANNUAL_MAX = '1';

/**
 * Most decimals a rate may have: a policy rate has at most 6 and a penalty uplift percentage at
 * most 6 (8 as a fraction), so a penalty rate has at most 14.
 */
export const RATE_DECIMALS_MAX = 14;

/** Longest stretch of days interest is computed over: the longest loan term. */
export const INTEREST_DAYS_MAX = 3650;

const UPLIFT_PATTERN = /^(0|[1-9]\d*)(\.\d{1,6})?$/;
const RATE_PATTERN = /^(0|[1-9]\d*)(\.\d{1,14})?$/;

/** Thrown when a rate is not a decimal from 0 to its maximum with at most 14 decimals. */
export class RateError extends Error {
  constructor(
    readonly input: string,
    readonly max: string,
  ) {
    super(`${JSON.stringify(input.slice(0, 40))} is not a rate from 0 to ${max} with at most 14 decimals`);
    this.name = 'RateError';
  }
}

/**
 * A yearly rate as an exact decimal, from a string like "0.0435" or a Decimal: 0 ≤ rate ≤ max,
 * at most RATE_DECIMALS_MAX decimals, no exponent. Never rounds.
 */
export function parseRate(rate: Money | string, max: string = RATE_ANNUAL_MAX): Money {
  const text = Decimal.isDecimal(rate) ? rate.toFixed() : rate;
  if (typeof text !== 'string' || !RATE_PATTERN.test(text)) throw new RateError(String(text), max);
  const value = new Money(text);
  if (value.gt(max)) throw new RateError(text, max);
  return value;
}

function checkBalance(balance: Money): void {
  assert(balance.isFinite() && balance.gte(0), `interest: balance ${balance.toFixed()} is not a non-negative amount`);
  assert(balance.decimalPlaces() <= 2, `interest: balance ${balance.toFixed()} has more than 2 decimals`);
}

function checkDays(days: number, min: number): void {
  assert(Number.isInteger(days) && days >= min && days <= INTEREST_DAYS_MAX, `interest: ${days} days out of range`);
}

/**
 * Exact interest, not rounded: balance × rate × days / basis. The product is exact; only the final
 * division by 360 or 365 is carried to Money's 40 significant digits, and that cannot move the
 * rounding to the fen: the exact value is a multiple of 1 / (basis × 10^16) (2 decimals of balance,
 * at most 14 of rate), so it is either on a half fen exactly (then the division is exact too) or at
 * least 2.7 × 10^-19 away from one, while the division errs by less than 10^-22 (the value is
 * below 10^15 × 11 × 3650 / 360 ≈ 1.2 × 10^17).
 */
export function interestFor(balance: Money, rateAnnual: Money | string, days: number, dayCount: DayCount): Money {
  checkBalance(balance);
  checkDays(days, 0);
  const rate = parseRate(rateAnnual);
  return balance.times(rate).times(days).div(DAY_COUNT_BASIS[dayCount]);
}

/**
 * Rule R-interest: the interest of the first `days` days of a period on a constant balance,
 * rounded half-up to the fen (rule R1, ADR 0001) once, on the cumulative amount. With `days` the
 * whole period this is the instalment's interest.
 */
export function cumulativeInterestRounded(
  balance: Money,
  rateAnnual: Money | string,
  days: number,
  dayCount: DayCount,
): Money {
  return roundHalfUp(interestFor(balance, rateAnnual, days, dayCount));
}

/**
 * What the daily accrual posts for day `dayIndexInPeriod` of a period (1 = the period's first day,
 * its `periodStart`): the cumulative rounded interest through that day minus through the day
 * before. The sum over days 1…n telescopes to the rounded interest of n days, so the accruals of
 * a period add up exactly to the instalment's interest, and each is ≥ 0 (the cumulative amount
 * never falls).
 */
export function dailyAccrual(
  balance: Money,
  rateAnnual: Money | string,
  dayCount: DayCount,
  dayIndexInPeriod: number,
): Money {
  checkDays(dayIndexInPeriod, 1);
  const through = cumulativeInterestRounded(balance, rateAnnual, dayIndexInPeriod, dayCount);
  const before = cumulativeInterestRounded(balance, rateAnnual, dayIndexInPeriod - 1, dayCount);
  const accrual = through.minus(before);
  assert(accrual.gte(0), `dailyAccrual: negative accrual ${accrual.toFixed()}`);
  return accrual;
}

/**
 * The rate overdue principal bears: the contract rate raised by `penaltyUpliftPct` percent,
 * exactly (rate × (1 + uplift / 100), no rounding). A zero contract rate gives a zero penalty
 * rate: an interest-free loan in default bears no penalty interest (ADR 0009 says why).
 */
export function penaltyRate(rateAnnual: Money | string, penaltyUpliftPct: Money | string): Money {
  const rate = parseRate(rateAnnual, CONTRACT_RATE_ANNUAL_MAX);
  assert(rate.decimalPlaces() <= 6, `penaltyRate: contract rate ${rate.toFixed()} has more than 6 decimals`);
  const upliftText = Decimal.isDecimal(penaltyUpliftPct) ? penaltyUpliftPct.toFixed() : penaltyUpliftPct;
  assert(
    typeof upliftText === 'string' && UPLIFT_PATTERN.test(upliftText) && new Money(upliftText).lte(1000),
    `penaltyRate: uplift ${String(upliftText)} is not a percentage from 0 to 1000 with at most 6 decimals`,
  );
  // Exact: at most 6 + 8 = 14 decimals and at most 1 × 11, so the result is itself a valid rate.
  return parseRate(rate.times(new Money(1).plus(percentAsFraction(upliftText))));
}
