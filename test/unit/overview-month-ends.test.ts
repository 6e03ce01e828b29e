import { isMonthEnd, monthEnds } from '../../src/overview/month-ends';

describe('month ends of the overview series', () => {
  test('when asked for three months to a day mid-month, then the two month ends before it and the day itself', () => {
    expect(monthEnds('2026-10-20', 3, '2020-01-01')).toEqual(['2026-08-31', '2026-09-30', '2026-10-20']);
  });

  test('when the months cross a year and a February, then each month ends on its own last day', () => {
    expect(monthEnds('2028-03-31', 5, '2020-01-01')).toEqual([
      '2027-11-30',
      '2027-12-31',
      '2028-01-31',
      '2028-02-29',
      '2028-03-31',
    ]);
  });

  test('when one month is asked, then the day alone', () => {
    expect(monthEnds('2026-07-21', 1, '2026-06-15')).toEqual(['2026-07-21']);
  });

  test('when months fall before the fund, then they are left out, the month it was established in kept', () => {
    expect(monthEnds('2026-07-21', 12, '2026-06-15')).toEqual(['2026-06-30', '2026-07-21']);
    expect(monthEnds('2026-06-15', 12, '2026-06-15')).toEqual(['2026-06-15']);
  });

  test('when a day is the last of its month, then it is a month end; otherwise not', () => {
    expect(['2026-06-30', '2028-02-29', '2027-02-28', '2026-12-31'].map(isMonthEnd)).toEqual([true, true, true, true]);
    expect(['2026-06-29', '2028-02-28', '2026-07-21'].map(isMonthEnd)).toEqual([false, false, false]);
  });
});
