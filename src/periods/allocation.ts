import { assert } from '../assert';
import { Money, roundHalfUp, sumAmounts, ZERO } from '../money/money';

/**
 * Sharing a result among members by weight, and the calendar of periods. Pure: no database, no
 * clock. The weights are time-weighted capital (ADR 0008); only their ratios matter here.
 */

export interface Weight {
  memberId: string;
  /** Time-weighted capital, ≥ 0. Any common factor (such as the number of days) cancels. */
  weight: Money;
}

export interface Share {
  memberId: string;
  weight: Money;
  share: Money;
}

/** Thrown when there is a result to share and no member holds any capital to share it by. */
export class NoCapitalToAllocate extends Error {
  constructor(readonly amount: Money) {
    super(`no capital to allocate ${amount.toFixed(2)} by`);
    this.name = 'NoCapitalToAllocate';
  }
}

/**
 * Shares `amount` by weight: share_i = ROUND_HALF_UP(amount × w_i / Σw, 2) (rule R1, ADR 0001),
 * the one rounding point. The remainder (amount − Σ shares, at most half a fen per member) goes to
 * the member with the largest share by absolute value (ties: larger weight, then lower member id),
 * so the shares add up to `amount` exactly.
 *
 * The remainder can only push a share past zero when the amount is a few fen spread over many
 * members (|amount| < 0.005 × n², e.g. 0.02 over four equal weights rounds to 0.01 each). Then the
 * holder absorbs what it can down to zero and the rest goes, in the same order, to the next
 * members, so that no share ever has the opposite sign of the amount.
 *
 * Order-independent: the result is sorted by member id whatever order the weights come in.
 */
export function allocate(amount: Money, weights: readonly Weight[]): Share[] {
  assert(amount.decimalPlaces() <= 2, `allocate: ${amount.toFixed()} has more than 2 decimals`);
  for (const entry of weights) assert(entry.weight.gte(0), `allocate: negative weight for ${entry.memberId}`);
  assert(new Set(weights.map((entry) => entry.memberId)).size === weights.length, 'allocate: duplicate member');
  const sorted = [...weights].sort((a, b) => compareIds(a.memberId, b.memberId));
  const total = sumAmounts(sorted.map((entry) => entry.weight));
  if (amount.isZero()) return sorted.map((entry) => ({ ...entry, share: ZERO }));
  if (total.isZero()) throw new NoCapitalToAllocate(amount);

  const shares = sorted.map((entry) => ({ ...entry, share: roundHalfUp(amount.times(entry.weight).div(total)) }));
  let remainder = amount.minus(sumAmounts(shares.map((entry) => entry.share)));
  const order = [...shares].sort(
    (a, b) =>
      b.share.abs().comparedTo(a.share.abs()) || b.weight.comparedTo(a.weight) || compareIds(a.memberId, b.memberId),
  );
  for (const holder of order) {
    if (remainder.isZero()) break;
    const sameSign = remainder.isNegative() === amount.isNegative();
    // With the amount's sign the holder takes it all; against it, only down to zero.
    const taken = sameSign
      ? remainder
      : remainder.isNegative()
        ? Money.max(remainder, holder.share.neg())
        : Money.min(remainder, holder.share.neg());
    holder.share = holder.share.plus(taken);
    remainder = remainder.minus(taken);
  }
  assert(remainder.isZero(), `allocate: ${remainder.toFixed(2)} left over`);
  assert(sumAmounts(shares.map((entry) => entry.share)).eq(amount), 'allocate: shares do not add up');
  return shares;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Periods and dates. Dates are `YYYY-MM-DD` strings; arithmetic goes through UTC midnight.

/** `2026`, `2026-H1`, `2026-Q3`, `2026-07` (the database checks the same shape). */
export const PERIOD_PATTERN = /^([0-9]{4})(?:-(0[1-9]|1[0-2]|Q[1-4]|H[12]))?$/;

export interface PeriodRange {
  period: string;
  startsOn: string;
  endsOn: string;
}

/** The first and last day of a period name, or undefined when it is not one. */
export function periodRange(period: string): PeriodRange | undefined {
  const match = PERIOD_PATTERN.exec(period);
  if (!match) return undefined;
  const year = Number(match[1]);
  if (year < 1900 || year > 2999) return undefined;
  const part = match[2];
  let firstMonth = 1;
  let months = 12;
  if (part === undefined) {
    // The whole year.
  } else if (part.startsWith('H')) {
    firstMonth = part === 'H1' ? 1 : 7;
    months = 6;
  } else if (part.startsWith('Q')) {
    firstMonth = (Number(part.slice(1)) - 1) * 3 + 1;
    months = 3;
  } else {
    firstMonth = Number(part);
    months = 1;
  }
  const startsOn = isoOf(Date.UTC(year, firstMonth - 1, 1));
  // Day 0 of the month after the period is its last day.
  const endsOn = isoOf(Date.UTC(year, firstMonth - 1 + months, 0));
  return { period, startsOn, endsOn };
}

function isoOf(utcMs: number): string {
  return new Date(utcMs).toISOString().slice(0, 10);
}
