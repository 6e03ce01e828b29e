import { dateIn, isIsoDate } from '../../src/clock';

describe('isIsoDate', () => {
  it.each([
    '2026-01-01',
    '2026-02-28',
    '2028-02-29',
    '2000-02-29',
    '2026-04-30',
    '2026-12-31',
    '1900-01-01',
    '2999-12-31',
  ])('when the text is %p, then it is a date', (text) => {
    expect(isIsoDate(text)).toBe(true);
  });

  it.each([
    ['2026-02-29', 'not a leap year'],
    ['2100-02-29', 'a century that is not a leap year'],
    ['2026-02-30', 'no such day'],
    ['2026-04-31', 'April has 30 days'],
    ['2026-13-01', 'no month 13'],
    ['2026-00-10', 'no month 0'],
    ['2026-01-00', 'no day 0'],
    ['2026-01-32', 'no day 32'],
    ['2026-1-01', 'a one-digit month'],
    ['2026-01-1', 'a one-digit day'],
    ['26-01-01', 'a two-digit year'],
    ['1899-12-31', 'a year before 1900'],
    ['3000-01-01', 'a year after 2999'],
    ['0001-01-01', 'year 1'],
    ['2026/01/01', 'slashes'],
    ['20260101', 'no dashes'],
    ['2026-01-01T00:00:00Z', 'a timestamp'],
    [' 2026-01-01', 'a leading space'],
    ['2026-01-01\n', 'a trailing newline'],
    ['２０２６-01-01', 'full-width digits'],
    ['', 'nothing'],
  ])('when the text is %p (%s), then it is not a date', (text) => {
    expect(isIsoDate(text)).toBe(false);
  });
});

describe('dateIn', () => {
  it('when it is 16:30 UTC on 14 June, then it is already 15 June in Asia/Shanghai', () => {
    const instant = new Date('2026-06-14T16:30:00Z');
    expect(dateIn('Asia/Shanghai', instant)).toBe('2026-06-15');
    expect(dateIn('UTC', instant)).toBe('2026-06-14');
  });

  it('when it is 15:59:59.999 UTC, then it is still the same day in Asia/Shanghai', () => {
    expect(dateIn('Asia/Shanghai', new Date('2026-06-14T15:59:59.999Z'))).toBe('2026-06-14');
    expect(dateIn('Asia/Shanghai', new Date('2026-06-14T16:00:00.000Z'))).toBe('2026-06-15');
  });

  it('when New Year arrives in Shanghai before UTC, then the year rolls over there first', () => {
    const instant = new Date('2025-12-31T16:00:00Z');
    expect(dateIn('Asia/Shanghai', instant)).toBe('2026-01-01');
    expect(dateIn('UTC', instant)).toBe('2025-12-31');
  });

  it('when the zone is west of UTC, then the date can be a day earlier', () => {
    expect(dateIn('America/New_York', new Date('2026-06-15T02:00:00Z'))).toBe('2026-06-14');
  });

  it('when asked again within the same second or across midnight, then each answer is the date of its own instant', () => {
    const beforeMidnight = new Date('2026-06-14T15:59:59.000Z');
    expect(dateIn('Asia/Shanghai', beforeMidnight)).toBe('2026-06-14');
    expect(dateIn('Asia/Shanghai', new Date('2026-06-14T15:59:59.999Z'))).toBe('2026-06-14');
    expect(dateIn('Asia/Shanghai', new Date('2026-06-14T16:00:00.000Z'))).toBe('2026-06-15');
    expect(dateIn('Asia/Shanghai', beforeMidnight)).toBe('2026-06-14');
    expect(dateIn('America/New_York', beforeMidnight)).toBe('2026-06-14');
    expect(dateIn('Asia/Shanghai', new Date('2026-06-14T16:00:00.500Z'))).toBe('2026-06-15');
  });

  it('when the zone name is unknown, then it throws', () => {
    expect(() => dateIn('Mars/Olympus_Mons', new Date('2026-06-14T00:00:00Z'))).toThrow(RangeError);
  });
});
