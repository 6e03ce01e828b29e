import { addDays, daysBetween } from '../../src/clock';
import { periodRange, type PeriodRange } from '../../src/periods/allocation';

/**
 * The demo's dates, all relative to the day the seed runs, so the demo is always current: loans
 * due last month are overdue now, an approval's hold has not expired, the next meeting is ahead.
 *
 * The fund closes its books by half-year, ten days after each half ends. The story closes two:
 * the last half that ended at least LAST_CLOSE_MARGIN_DAYS before today, and the half before it.
 * The fund was established HISTORY_DAYS_MAX days ago, or on the first day of the earlier half if
 * that is later: so the history is 380 to 400 days ("about a year"), exactly two halves are
 * closed, and the earlier one holds the fund's first income (a period close refuses to leave
 * income or expense before the first closed period).
 */

const HISTORY_DAYS_MAX = 400;
/** A half is closed this many days after it ends (it may be closed from its end + 2). */
export const CLOSE_AFTER_DAYS = 10;
/** The later closed half ended at least this many days ago: its close is behind us. */
const LAST_CLOSE_MARGIN_DAYS = 15;

export const DEMO_TIME_ZONE = 'Asia/Shanghai';

export interface DemoCalendar {
  /** Today in the fund's time zone: the story ends the day before, the daily job runs through it. */
  today: string;
  establishedOn: string;
  /** The two halves the story closes, earlier first. */
  closedHalves: [PeriodRange, PeriodRange];
  /** `days` after the establishment. */
  sinceStart(days: number): string;
  /** `days` before today (negative: after it). */
  daysAgo(days: number): string;
}

/** The half-year that holds `date`, as a period (`2026-H1`). */
function halfOf(date: string): PeriodRange {
  const name = `${date.slice(0, 4)}-H${Number(date.slice(5, 7)) <= 6 ? 1 : 2}`;
  const range = periodRange(name);
  if (!range) throw new Error(`demo calendar: no half-year ${name}`);
  return range;
}

export function demoCalendar(today: string): DemoCalendar {
  let later = halfOf(today);
  while (later.endsOn > addDays(today, -LAST_CLOSE_MARGIN_DAYS)) later = halfOf(addDays(later.startsOn, -1));
  const earlier = halfOf(addDays(later.startsOn, -1));
  const oldest = addDays(today, -HISTORY_DAYS_MAX);
  const establishedOn = oldest > earlier.startsOn ? oldest : earlier.startsOn;
  if (establishedOn >= earlier.endsOn || daysBetween(establishedOn, earlier.endsOn) < 17) {
    throw new Error(`demo calendar: the first closed half ${earlier.period} leaves too little history`);
  }
  return {
    today,
    establishedOn,
    closedHalves: [earlier, later],
    sinceStart: (days) => addDays(establishedOn, days),
    daysAgo: (days) => addDays(today, -days),
  };
}

/** The instant of `date` at `hour`:`minute` in the fund's time zone (Shanghai keeps UTC+8 all year). */
export function atHour(date: string, hour: number, minute = 0): Date {
  const hh = String(hour).padStart(2, '0');
  const mm = String(minute).padStart(2, '0');
  return new Date(`${date}T${hh}:${mm}:00+08:00`);
}
