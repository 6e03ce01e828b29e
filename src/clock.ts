/** Time comes from a clock the app is given, so tests can set it and jobs can run "as of" a moment. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar date written `YYYY-MM-DD` (no 2026-02-30), years 1900–2999. */
export function isIsoDate(text: string): boolean {
  const match = ISO_DATE.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (year < 1900 || year > 2999) return false;
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

interface ZoneDay {
  formatter: Intl.DateTimeFormat;
  /** The last UTC second asked for (epoch seconds) and the date it fell on, or NaN. */
  second: number;
  date: string;
}

const zoneDays = new Map<string, ZoneDay>();

/** The calendar date at `instant` in an IANA time zone, as `YYYY-MM-DD`. */
export function dateIn(timeZone: string, instant: Date): string {
  // Building a formatter costs ten times formatting with one; there are few time zones.
  let zone = zoneDays.get(timeZone);
  if (!zone) {
    const formatter = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    zone = { formatter, second: Number.NaN, date: '' };
    zoneDays.set(timeZone, zone);
  }
  // Every UTC offset is a whole number of seconds, so a date never changes within a UTC second:
  // a posting asks for today once per entry, and formatting a date takes some 20 µs.
  const second = Math.floor(instant.getTime() / 1000);
  if (second !== zone.second) {
    const parts = zone.formatter.formatToParts(instant);
    const part = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
    zone.date = `${part('year')}-${part('month')}-${part('day')}`;
    zone.second = second;
  }
  return zone.date;
}

// Calendar arithmetic on `YYYY-MM-DD` value dates, in UTC so no time zone or DST can shift a day.
const DAY_MS = 86_400_000;

function utcOf(date: string): number {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  return Date.UTC(year, month - 1, day);
}

/** `date` moved by whole days (negative: back). */
export function addDays(date: string, days: number): string {
  return new Date(utcOf(date) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Days from `from` (inclusive) to `to` (exclusive): 0 on the same day. */
export function daysBetween(from: string, to: string): number {
  return Math.round((utcOf(to) - utcOf(from)) / DAY_MS);
}

/** Days from `from` to `to`, both included: 1 when they are the same day. */
export function daysInclusive(from: string, to: string): number {
  return daysBetween(from, to) + 1;
}
