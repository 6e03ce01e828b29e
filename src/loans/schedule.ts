import { assert } from '../assert';
import { addDays, daysBetween, isIsoDate } from '../clock';
import { AmountError, Money, parseAmount, roundHalfUp, sumAmounts, ZERO } from '../money/money';
import {
  CONTRACT_RATE_ANNUAL_MAX,
  cumulativeInterestRounded,
  DAY_COUNT_BASIS,
  parseRate,
  RateError,
  type DayCount,
} from './interest';

export {
  CONTRACT_RATE_ANNUAL_MAX,
  cumulativeInterestRounded,
  DAY_COUNT_BASIS,
  dailyAccrual,
  interestFor,
  parseRate,
  penaltyRate,
  RATE_ANNUAL_MAX,
  RateError,
  type DayCount,
} from './interest';

/**
 * A loan's repayment schedule, pure: no database, no clock. The rules (due dates, R-interest,
 * remainders, the level payment, the service fee) are in docs/adr/0009-loan-schedules.md.
 */

export const REPAYMENT_METHODS = ['bullet', 'equal_installment', 'equal_principal'] as const;
/** bullet: all principal at maturity; equal_installment 等额本息; equal_principal 等额本金. */
export type RepaymentMethod = (typeof REPAYMENT_METHODS)[number];

export const TERM_DAYS_MIN = 1;
export const TERM_DAYS_MAX = 3650;

export interface ScheduleInput {
  /** > 0, at most 2 decimals (never rounded). */
  principal: Money | string;
  /** Contract rate per year as a fraction, 0 … 1. */
  rateAnnual: Money | string;
  dayCount: DayCount;
  method: RepaymentMethod;
  /** Disbursement date, `YYYY-MM-DD`; the first period starts on it. */
  startDate: string;
  termDays: number;
  /** One-time fee on the principal as a fraction, 0 … 1; omitted means none. */
  serviceFeeRate?: Money | string;
}

export interface Instalment {
  /** 1, 2, … in due-date order. */
  number: number;
  /** First day of interest (inclusive): the disbursement date or the previous due date. */
  periodStart: string;
  /** Due date; interest runs up to the day before (exclusive). */
  dueOn: string;
  /** dueOn − periodStart, ≥ 1. */
  days: number;
  principal: Money;
  interest: Money;
  /** principal + interest. */
  total: Money;
  /** Principal outstanding once this instalment is paid. */
  balanceAfter: Money;
}

export interface Schedule {
  instalments: Instalment[];
  /** ROUND_HALF_UP(principal × serviceFeeRate), taken at disbursement; not part of any instalment. */
  serviceFee: Money;
  /** Sums over the instalments; the service fee is not included. */
  totals: { principal: Money; interest: Money; total: Money };
  /** startDate + termDays: the last instalment's due date. */
  maturityDate: string;
  /** equal_installment: the level payment every instalment but the last totals; otherwise null. */
  levelPayment: Money | null;
}

export type ScheduleInputField = keyof ScheduleInput;

/** Input a caller should have validated first (schemas, policy); names the field at fault. */
export class ScheduleInputError extends Error {
  constructor(
    readonly field: ScheduleInputField,
    readonly reason: string,
  ) {
    super(`invalid schedule input ${field}: ${reason}`);
    this.name = 'ScheduleInputError';
  }
}

interface Terms {
  principal: Money;
  rate: Money;
  dayCount: DayCount;
  method: RepaymentMethod;
  startDate: string;
  termDays: number;
  feeRate: Money;
  maturityDate: string;
}

function parseRateField(field: 'rateAnnual' | 'serviceFeeRate', value: Money | string): Money {
  try {
    return parseRate(value, CONTRACT_RATE_ANNUAL_MAX);
  } catch (error) {
    if (error instanceof RateError) throw new ScheduleInputError(field, error.message);
    throw error;
  }
}

function parseTerms(input: ScheduleInput): Terms {
  let principal: Money;
  try {
    principal = parseAmount(input.principal);
  } catch (error) {
    if (error instanceof AmountError) throw new ScheduleInputError('principal', error.message);
    throw error;
  }
  if (!principal.gt(0)) throw new ScheduleInputError('principal', 'must be greater than 0');
  if (!(input.dayCount in DAY_COUNT_BASIS)) throw new ScheduleInputError('dayCount', 'must be ACT/360 or ACT/365');
  if (!REPAYMENT_METHODS.includes(input.method)) {
    throw new ScheduleInputError('method', `must be one of ${REPAYMENT_METHODS.join(', ')}`);
  }
  if (!isIsoDate(input.startDate)) throw new ScheduleInputError('startDate', 'must be a date YYYY-MM-DD');
  const termDays = input.termDays;
  if (!Number.isInteger(termDays) || termDays < TERM_DAYS_MIN || termDays > TERM_DAYS_MAX) {
    throw new ScheduleInputError('termDays', `must be a whole number from ${TERM_DAYS_MIN} to ${TERM_DAYS_MAX}`);
  }
  const maturityDate = addDays(input.startDate, termDays);
  if (!isIsoDate(maturityDate)) throw new ScheduleInputError('termDays', 'matures after 2999-12-31');
  return {
    principal,
    rate: parseRateField('rateAnnual', input.rateAnnual),
    dayCount: input.dayCount,
    method: input.method,
    startDate: input.startDate,
    termDays,
    feeRate: input.serviceFeeRate === undefined ? ZERO : parseRateField('serviceFeeRate', input.serviceFeeRate),
    maturityDate,
  };
}

/**
 * `date` moved by whole months, on the same day of the month, clamped to the month's last day:
 * 2026-01-31 + 1 → 2026-02-28, + 2 → 2026-03-31 (always counted from `date`, so a clamp does not
 * carry into later months).
 */
export function addMonthsClamped(date: string, months: number): string {
  assert(isIsoDate(date) && Number.isInteger(months) && months >= 0, `addMonthsClamped: ${date} + ${months}`);
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  // Day 0 of the month after the target month is the target month's last day.
  const lastDay = new Date(Date.UTC(year, month - 1 + months + 1, 0)).getUTCDate();
  const target = new Date(Date.UTC(year, month - 1 + months, Math.min(day, lastDay)));
  return target.toISOString().slice(0, 10);
}

/**
 * Due dates, strictly increasing, the last on maturity (startDate + termDays). Bullet: maturity
 * only. Otherwise every monthly anniversary of startDate before maturity, then maturity; a monthly
 * date on or after maturity is dropped, so a term under a month has a single instalment.
 */
export function dueDates(startDate: string, termDays: number, method: RepaymentMethod): string[] {
  const maturityDate = addDays(startDate, termDays);
  const dates: string[] = [];
  if (method !== 'bullet') {
    // Months are at least 28 days, so this stops within termDays / 28 + 1 steps.
    for (let months = 1; ; months += 1) {
      const date = addMonthsClamped(startDate, months);
      if (date >= maturityDate) break;
      dates.push(date);
    }
  }
  dates.push(maturityDate);
  return dates;
}

/**
 * The level payment of 等额本息 under actual-day interest: the A for which a balance growing by
 * i_k = rate × days_k / basis in period k and reduced by A at each due date ends at exactly 0,
 * A = P / Σ_k Π_{j ≤ k} 1 / (1 + i_j), rounded half-up to the fen (R1). With equal periods this is
 * the standard annuity P·i·(1+i)^n / ((1+i)^n − 1); with rate 0 it is P / n.
 */
export function levelPayment(
  principal: Money,
  rateAnnual: Money | string,
  dayCount: DayCount,
  periodDays: number[],
): Money {
  assert(periodDays.length >= 1, 'levelPayment: no periods');
  const rate = parseRate(rateAnnual);
  const basis = DAY_COUNT_BASIS[dayCount];
  let discount = new Money(1);
  let discountSum = ZERO;
  for (const days of periodDays) {
    assert(Number.isInteger(days) && days >= 1, `levelPayment: period of ${days} days`);
    discount = discount.div(new Money(1).plus(rate.times(days).div(basis)));
    discountSum = discountSum.plus(discount);
  }
  return roundHalfUp(principal.div(discountSum));
}

/**
 * The schedule of a loan. Each instalment's interest is R-interest on the principal outstanding
 * over the period; its principal is the method's target (the level payment less the interest, or
 * ROUND_HALF_UP(P / n)), held between 0 and the outstanding balance, and the last instalment takes
 * whatever is outstanding, so the principal parts add up to P exactly.
 */
export function generateSchedule(input: ScheduleInput): Schedule {
  const terms = parseTerms(input);
  const dates = dueDates(terms.startDate, terms.termDays, terms.method);
  const periods = dates.map((dueOn, index) => {
    const periodStart = index === 0 ? terms.startDate : dates[index - 1]!;
    return { periodStart, dueOn, days: daysBetween(periodStart, dueOn) };
  });
  const count = periods.length;
  const payment =
    terms.method === 'equal_installment'
      ? levelPayment(
          terms.principal,
          terms.rate,
          terms.dayCount,
          periods.map((period) => period.days),
        )
      : null;
  // Rule R1 on P / n; the remainder (at most n × half a fen) goes to the last instalment.
  const evenPrincipal = roundHalfUp(terms.principal.div(count));

  let balance = terms.principal;
  const instalments = periods.map((period, index): Instalment => {
    const interest = cumulativeInterestRounded(balance, terms.rate, period.days, terms.dayCount);
    const target = payment === null ? evenPrincipal : payment.minus(interest);
    const principal = index === count - 1 ? balance : Money.min(balance, Money.max(ZERO, target));
    balance = balance.minus(principal);
    return {
      number: index + 1,
      ...period,
      principal,
      interest,
      total: principal.plus(interest),
      balanceAfter: balance,
    };
  });

  const schedule: Schedule = {
    instalments,
    // Rule R1: the fee is rounded half-up to the fen once, on the whole principal.
    serviceFee: roundHalfUp(terms.principal.times(terms.feeRate)),
    totals: {
      principal: sumAmounts(instalments.map((entry) => entry.principal)),
      interest: sumAmounts(instalments.map((entry) => entry.interest)),
      total: sumAmounts(instalments.map((entry) => entry.total)),
    },
    maturityDate: terms.maturityDate,
    levelPayment: payment,
  };
  checkSchedule(terms, schedule);
  return schedule;
}

function checkSchedule(terms: Terms, schedule: Schedule): void {
  const { instalments, totals } = schedule;
  assert(instalments.length >= 1, 'schedule: no instalments');
  assert(totals.principal.eq(terms.principal), `schedule: principal sums to ${totals.principal.toFixed()}`);
  assert(instalments.at(-1)!.balanceAfter.isZero(), 'schedule: balance left after the last instalment');
  assert(instalments.at(-1)!.dueOn === terms.maturityDate, 'schedule: last instalment not due on maturity');
  assert(
    instalments.reduce((days, entry) => days + entry.days, 0) === terms.termDays,
    'schedule: periods do not cover the term',
  );
  let previous = terms.startDate;
  let balance = terms.principal;
  for (const entry of instalments) {
    assert(
      entry.periodStart === previous && entry.dueOn > previous,
      `schedule: due dates out of order at ${entry.number}`,
    );
    for (const amount of [entry.principal, entry.interest, entry.total, entry.balanceAfter]) {
      assert(amount.gte(0) && amount.decimalPlaces() <= 2, `schedule: amount ${amount.toFixed()} at ${entry.number}`);
    }
    balance = balance.minus(entry.principal);
    assert(entry.balanceAfter.eq(balance), `schedule: balance does not follow at ${entry.number}`);
    previous = entry.dueOn;
  }
  assert(schedule.serviceFee.gte(0), 'schedule: negative service fee');
}
