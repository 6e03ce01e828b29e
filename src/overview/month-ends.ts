import { assert } from '../assert';
import { isIsoDate } from '../clock';

/**
 * The days of a month-end series, pure: the last day of each of the `months` months ending with
 * the month of `asOf`, oldest first, the last one being `asOf` itself (the month so far) — so the
 * last point of a series is the overview of `asOf`. Days before `notBefore` (the fund's
 * establishment) are left out: there was nothing to show.
 */
export function monthEnds(asOf: string, months: number, notBefore: string): string[] {
  assert(isIsoDate(asOf) && isIsoDate(notBefore), `month ends of ${asOf} from ${notBefore}`);
  assert(Number.isInteger(months) && months >= 1, `month ends of ${months} months`);
  const [year, month] = asOf.split('-').map(Number) as [number, number];
  const days: string[] = [];
  for (let back = months - 1; back >= 1; back -= 1) {
    // Day 0 of the next month is the last day of this one (UTC, so no time zone shifts it).
    days.push(new Date(Date.UTC(year, month - back, 0)).toISOString().slice(0, 10));
  }
  days.push(asOf);
  return days.filter((day) => day >= notBefore);
}

/** Whether `date` is the last day of its month. */
export function isMonthEnd(date: string): boolean {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(year, month, 0)).getUTCDate() === day;
}
