import fc from 'fast-check';
import { InvariantError } from '../../src/assert';
import { formatAmount, Money, sumAmounts } from '../../src/money/money';
import {
  addMonthsClamped,
  cumulativeInterestRounded,
  dailyAccrual,
  type DayCount,
  dueDates,
  generateSchedule,
  interestFor,
  levelPayment,
  penaltyRate,
  RateError,
  REPAYMENT_METHODS,
  type RepaymentMethod,
  type Schedule,
  type ScheduleInput,
  ScheduleInputError,
} from '../../src/loans/schedule';

/** Each instalment as [dueOn, days, principal, interest, total, balanceAfter]. */
const rows = (schedule: Schedule) =>
  schedule.instalments.map((entry) => [
    entry.dueOn,
    entry.days,
    formatAmount(entry.principal),
    formatAmount(entry.interest),
    formatAmount(entry.total),
    formatAmount(entry.balanceAfter),
  ]);

const totals = (schedule: Schedule) => ({
  principal: formatAmount(schedule.totals.principal),
  interest: formatAmount(schedule.totals.interest),
  total: formatAmount(schedule.totals.total),
});

const m = (text: string) => new Money(text);

// The running example: ¥500,000 at 4.35 % a year for 90 days from 2026-06-15. Maturity
// 2026-06-15 + 90 = 2026-09-13. Monthly dates 07-15, 08-15 (09-15 is after maturity, dropped), so
// the periods are 06-15→07-15 (30 days), 07-15→08-15 (31), 08-15→09-13 (29): 90 days in all.
// P × rate = 500000 × 0.0435 = 21750 a year.
const loan = (method: RepaymentMethod, dayCount: DayCount, extra: Partial<ScheduleInput> = {}): ScheduleInput => ({
  principal: '500000.00',
  rateAnnual: '0.0435',
  dayCount,
  method,
  startDate: '2026-06-15',
  termDays: 90,
  ...extra,
});

describe('interest: exact and rounded (R-interest)', () => {
  test('when interest is computed, then it is balance × rate × days / basis, unrounded until R-interest rounds it half-up', () => {
    // 21750 × 90 / 360 = 5437.5 exactly.
    expect(interestFor(m('500000'), '0.0435', 90, 'ACT/360').toFixed()).toBe('5437.5');
    // 21750 × 90 / 365 = 1957500 / 365 = 5363.0136986…
    expect(interestFor(m('500000'), '0.0435', 90, 'ACT/365').toFixed(7)).toBe('5363.0136986');
    expect(formatAmount(cumulativeInterestRounded(m('500000'), '0.0435', 90, 'ACT/365'))).toBe('5363.01');
    // 21750 / 360 = 60.41666… → 60.42; 21750 / 365 = 59.5890… → 59.59.
    expect(formatAmount(cumulativeInterestRounded(m('500000'), m('0.0435'), 1, 'ACT/360'))).toBe('60.42');
    expect(formatAmount(cumulativeInterestRounded(m('500000'), m('0.0435'), 1, 'ACT/365'))).toBe('59.59');
  });

  test('when the exact interest is on a half fen, then it rounds up', () => {
    // 100 × 0.0018 × 10 / 360 = 1.8 / 360 = 0.005 exactly → 0.01 (half-even would give 0.00).
    expect(interestFor(m('100'), '0.0018', 10, 'ACT/360').toFixed()).toBe('0.005');
    expect(formatAmount(cumulativeInterestRounded(m('100'), '0.0018', 10, 'ACT/360'))).toBe('0.01');
  });

  test('when there are no days or no rate, then there is no interest', () => {
    expect(formatAmount(cumulativeInterestRounded(m('500000'), '0.0435', 0, 'ACT/360'))).toBe('0.00');
    expect(formatAmount(cumulativeInterestRounded(m('500000'), '0', 90, 'ACT/365'))).toBe('0.00');
  });

  test('when a rate is not a plain non-negative decimal within bounds, then it is refused, never rounded', () => {
    for (const rate of ['-0.01', '1e-2', ' 0.04', '0.04%', '', '11.000000000000001', '0.123456789012345']) {
      expect(() => interestFor(m('100'), rate, 1, 'ACT/360')).toThrow(RateError);
    }
    expect(() => interestFor(m('100'), m('-0.01'), 1, 'ACT/360')).toThrow(RateError);
    expect(interestFor(m('100'), '11', 360, 'ACT/360').toFixed()).toBe('1100');
  });

  test('when a balance has more than 2 decimals or is negative, or days are out of range, then it is a bug', () => {
    expect(() => interestFor(m('100.001'), '0.04', 1, 'ACT/360')).toThrow(InvariantError);
    expect(() => interestFor(m('-100'), '0.04', 1, 'ACT/360')).toThrow(InvariantError);
    expect(() => interestFor(m('100'), '0.04', -1, 'ACT/360')).toThrow(InvariantError);
    expect(() => interestFor(m('100'), '0.04', 1.5, 'ACT/360')).toThrow(InvariantError);
    expect(() => interestFor(m('100'), '0.04', 3651, 'ACT/360')).toThrow(InvariantError);
  });
});

describe('dailyAccrual: the cumulative difference', () => {
  test('when a 90-day period on 500000 at 4.35 % ACT/360 accrues, then each day posts the step of the rounded cumulative interest', () => {
    // Exact per day 60.41666…; cumulative rounded: d1 60.42, d2 120.83 (120.8333), d3 181.25,
    // d4 241.67 (241.6667), d5 302.08 (302.0833), d6 362.50. Differences: 60.42, 60.41, 60.42,
    // 60.42, 60.41, 60.42 — never the naive 60.42 every day, which would sum to 5437.80.
    const accruals = [1, 2, 3, 4, 5, 6].map((day) => formatAmount(dailyAccrual(m('500000'), '0.0435', 'ACT/360', day)));
    expect(accruals).toEqual(['60.42', '60.41', '60.42', '60.42', '60.41', '60.42']);
    const all = Array.from({ length: 90 }, (_, index) => dailyAccrual(m('500000'), '0.0435', 'ACT/360', index + 1));
    expect(formatAmount(sumAmounts(all))).toBe('5437.50');
  });

  test('when a small balance accrues less than half a fen a day, then most days post 0.00 and the total is still exact', () => {
    // 10 × 0.0435 / 365 = 0.00119… a day; cumulative rounded reaches 0.01 on day 5 (0.00596),
    // 0.02 on day 13 (0.01549), …; 30 days: 0.03575… → 0.04.
    const all = Array.from({ length: 30 }, (_, index) => dailyAccrual(m('10'), '0.0435', 'ACT/365', index + 1));
    expect(all.findIndex((accrual) => !accrual.isZero())).toBe(4);
    expect(formatAmount(sumAmounts(all))).toBe('0.04');
    expect(formatAmount(cumulativeInterestRounded(m('10'), '0.0435', 30, 'ACT/365'))).toBe('0.04');
  });

  test('when the day index is not 1 or later, then it is a bug', () => {
    expect(() => dailyAccrual(m('100'), '0.04', 'ACT/360', 0)).toThrow(InvariantError);
  });
});

describe('penaltyRate', () => {
  test('when the contract rate is raised by the uplift, then the result is exact', () => {
    // 0.0435 × 1.5 = 0.06525; 0.0435 × (1 + 0.33333333) = 0.0435 × 1.33333333 = 0.057999999855.
    expect(penaltyRate('0.0435', '50').toFixed()).toBe('0.06525');
    expect(penaltyRate(m('0.0435'), m('33.333333')).toFixed()).toBe('0.057999999855');
    expect(penaltyRate('0.0435', '0').toFixed()).toBe('0.0435');
    expect(penaltyRate('1', '1000').toFixed()).toBe('11');
  });

  test('when the loan is interest-free, then the penalty rate is zero', () => {
    expect(penaltyRate('0', '50').isZero()).toBe(true);
  });

  test('when the inputs exceed the policy bounds, then they are refused', () => {
    expect(() => penaltyRate('1.01', '50')).toThrow(RateError);
    expect(() => penaltyRate('0.0435', '1000.5')).toThrow(InvariantError);
    expect(() => penaltyRate('0.0435', '-1')).toThrow(InvariantError);
    expect(() => penaltyRate('0.04351234', '50')).toThrow(InvariantError);
  });
});

describe('due dates', () => {
  test('when a month is shorter than the start day, then the date is clamped to its end without carrying on', () => {
    expect(addMonthsClamped('2026-01-31', 1)).toBe('2026-02-28');
    expect(addMonthsClamped('2026-01-31', 2)).toBe('2026-03-31');
    expect(addMonthsClamped('2026-01-31', 3)).toBe('2026-04-30');
    expect(addMonthsClamped('2028-01-31', 1)).toBe('2028-02-29');
    expect(addMonthsClamped('2028-01-31', 13)).toBe('2029-02-28');
    expect(addMonthsClamped('2026-11-30', 3)).toBe('2027-02-28');
    expect(addMonthsClamped('2026-06-15', 0)).toBe('2026-06-15');
  });

  test('when monthly dates reach maturity, then they are dropped and maturity is the last date', () => {
    expect(dueDates('2026-06-15', 90, 'equal_principal')).toEqual(['2026-07-15', '2026-08-15', '2026-09-13']);
    expect(dueDates('2026-06-15', 90, 'bullet')).toEqual(['2026-09-13']);
    // 2026-06-15 + 92 = 2026-09-15: the third monthly date is maturity itself, kept once.
    expect(dueDates('2026-06-15', 92, 'equal_installment')).toEqual(['2026-07-15', '2026-08-15', '2026-09-15']);
    expect(dueDates('2026-06-15', 29, 'equal_installment')).toEqual(['2026-07-14']);
    expect(dueDates('2026-06-15', 1, 'equal_principal')).toEqual(['2026-06-16']);
  });
});

describe('generateSchedule: ¥500,000 at 4.35 % for 90 days from 2026-06-15', () => {
  test('when it is a bullet loan on ACT/360, then one instalment carries all principal and 90 days of interest', () => {
    // 21750 × 90 / 360 = 5437.50.
    const schedule = generateSchedule(loan('bullet', 'ACT/360'));
    expect(schedule.maturityDate).toBe('2026-09-13');
    expect(rows(schedule)).toEqual([['2026-09-13', 90, '500000.00', '5437.50', '505437.50', '0.00']]);
    expect(schedule.instalments[0]!.periodStart).toBe('2026-06-15');
    expect(schedule.levelPayment).toBeNull();
    expect(formatAmount(schedule.serviceFee)).toBe('0.00');
  });

  test('when it is a bullet loan on ACT/365, then the interest is 90/365 of a year', () => {
    // 21750 × 90 / 365 = 5363.0137 → 5363.01.
    expect(rows(generateSchedule(loan('bullet', 'ACT/365')))).toEqual([
      ['2026-09-13', 90, '500000.00', '5363.01', '505363.01', '0.00'],
    ]);
  });

  test('when it is equal principal on ACT/360, then P/3 is rounded and the last instalment takes the remainder', () => {
    // P / 3 = 166666.666… → 166666.67, 166666.67; last 500000 − 333333.34 = 166666.66.
    // I1 = 500000 × 0.0435 × 30 / 360 = 652500 / 360 = 1812.50
    // I2 = 333333.33 × 0.0435 = 14499.999855; × 31 = 449499.995505; / 360 = 1248.6111 → 1248.61
    // I3 = 166666.66 × 0.0435 = 7249.99971; × 29 = 210249.99159; / 360 = 584.0278 → 584.03
    const schedule = generateSchedule(loan('equal_principal', 'ACT/360'));
    expect(rows(schedule)).toEqual([
      ['2026-07-15', 30, '166666.67', '1812.50', '168479.17', '333333.33'],
      ['2026-08-15', 31, '166666.67', '1248.61', '167915.28', '166666.66'],
      ['2026-09-13', 29, '166666.66', '584.03', '167250.69', '0.00'],
    ]);
    expect(schedule.instalments.map((entry) => entry.periodStart)).toEqual(['2026-06-15', '2026-07-15', '2026-08-15']);
    expect(totals(schedule)).toEqual({ principal: '500000.00', interest: '3645.14', total: '503645.14' });
  });

  test('when it is equal principal on ACT/365, then the same products are divided by 365', () => {
    // I1 = 652500 / 365 = 1787.6712 → 1787.67
    // I2 = 449499.995505 / 365 = 1231.5068 → 1231.51
    // I3 = 210249.99159 / 365 = 576.0274 → 576.03
    const schedule = generateSchedule(loan('equal_principal', 'ACT/365'));
    expect(rows(schedule)).toEqual([
      ['2026-07-15', 30, '166666.67', '1787.67', '168454.34', '333333.33'],
      ['2026-08-15', 31, '166666.67', '1231.51', '167898.18', '166666.66'],
      ['2026-09-13', 29, '166666.66', '576.03', '167242.69', '0.00'],
    ]);
    expect(totals(schedule)).toEqual({ principal: '500000.00', interest: '3595.21', total: '503595.21' });
  });

  test('when it is equal instalments on ACT/360, then the level payment amortises under actual-day interest and the last absorbs the fen drift', () => {
    // g_k = 1 + 0.0435 × days_k / 360: g1 = 1.003625, g2 = 1.0037458333…, g3 = 1.0035041666…
    // A = P × g1 g2 g3 / (g2 g3 + g3 + 1) = 500000 × 1.0109144548561… / (1.0072631260243… +
    //     1.0035041666… + 1) = 505457.2274280718 / 3.0107672926910 = 167883.1933 → 167883.19
    // I1 = 1812.50 (as above); principal 167883.19 − 1812.50 = 166070.69; balance 333929.31
    // I2 = 333929.31 × 0.0435 = 14525.924985; × 31 = 450303.674535; / 360 = 1250.8435 → 1250.84;
    //      principal 166632.35; balance 167296.96
    // I3 = 167296.96 × 0.0435 = 7277.41776; × 29 = 211045.11504; / 360 = 586.2364 → 586.24;
    //      principal = the remainder 167296.96; total 167883.20, one fen above A.
    const schedule = generateSchedule(loan('equal_installment', 'ACT/360'));
    expect(formatAmount(schedule.levelPayment!)).toBe('167883.19');
    expect(rows(schedule)).toEqual([
      ['2026-07-15', 30, '166070.69', '1812.50', '167883.19', '333929.31'],
      ['2026-08-15', 31, '166632.35', '1250.84', '167883.19', '167296.96'],
      ['2026-09-13', 29, '167296.96', '586.24', '167883.20', '0.00'],
    ]);
    expect(totals(schedule)).toEqual({ principal: '500000.00', interest: '3649.58', total: '503649.58' });
  });

  test('when it is equal instalments on ACT/365, then the level payment uses the 365 basis throughout', () => {
    // g1 = 1 + 1.305/365 = 1.0035753425, g2 = 1 + 1.3485/365 = 1.0036945205, g3 = 1 + 1.2615/365
    //    = 1.0034561644; A = 500000 × 1.0107644081 / (1.0071634538 + 1.0034561644 + 1)
    //    = 505382.2040341 / 3.0106196182 = 167866.5086 → 167866.51
    // I1 = 652500 / 365 = 1787.67; principal 166078.84; balance 333921.16
    // I2 = 333921.16 × 0.0435 = 14525.57046; × 31 = 450292.68426; / 365 = 1233.6786 → 1233.68;
    //      principal 166632.83; balance 167288.33
    // I3 = 167288.33 × 0.0435 = 7277.042355; × 29 = 211034.228295; / 365 = 578.1760 → 578.18;
    //      principal 167288.33; total 167866.51, equal to A this time.
    const schedule = generateSchedule(loan('equal_installment', 'ACT/365'));
    expect(formatAmount(schedule.levelPayment!)).toBe('167866.51');
    expect(rows(schedule)).toEqual([
      ['2026-07-15', 30, '166078.84', '1787.67', '167866.51', '333921.16'],
      ['2026-08-15', 31, '166632.83', '1233.68', '167866.51', '167288.33'],
      ['2026-09-13', 29, '167288.33', '578.18', '167866.51', '0.00'],
    ]);
  });
});

describe('generateSchedule: edge cases', () => {
  test.each(['ACT/360', 'ACT/365'] as const)(
    'when the rate is zero (%s), then there is no interest and equal instalments pay P/n with the remainder last',
    (dayCount) => {
      // 100000 / 3 = 33333.333… → 33333.33 twice; last 100000 − 66666.66 = 33333.34.
      const expected = [
        ['2026-07-15', 30, '33333.33', '0.00', '33333.33', '66666.67'],
        ['2026-08-15', 31, '33333.33', '0.00', '33333.33', '33333.34'],
        ['2026-09-13', 29, '33333.34', '0.00', '33333.34', '0.00'],
      ];
      for (const method of ['equal_installment', 'equal_principal'] as const) {
        const schedule = generateSchedule(loan(method, dayCount, { principal: '100000', rateAnnual: '0' }));
        expect(rows(schedule)).toEqual(expected);
      }
      expect(formatAmount(levelPayment(m('100000'), '0', dayCount, [30, 31, 29]))).toBe('33333.33');
      const bullet = generateSchedule(loan('bullet', dayCount, { principal: '100000', rateAnnual: '0' }));
      expect(rows(bullet)).toEqual([['2026-09-13', 90, '100000.00', '0.00', '100000.00', '0.00']]);
    },
  );

  test('when the term is one day, then every method has a single instalment on the next day', () => {
    // 21750 / 360 = 60.4167 → 60.42; 21750 / 365 = 59.5890 → 59.59.
    for (const method of REPAYMENT_METHODS) {
      expect(rows(generateSchedule(loan(method, 'ACT/360', { termDays: 1 })))).toEqual([
        ['2026-06-16', 1, '500000.00', '60.42', '500060.42', '0.00'],
      ]);
      expect(rows(generateSchedule(loan(method, 'ACT/365', { termDays: 1 })))).toEqual([
        ['2026-06-16', 1, '500000.00', '59.59', '500059.59', '0.00'],
      ]);
    }
  });

  test('when the term is under a month, then an amortising loan has one instalment on maturity', () => {
    // 29 days: 21750 × 29 / 360 = 1752.0833 → 1752.08.
    expect(rows(generateSchedule(loan('equal_installment', 'ACT/360', { termDays: 29 })))).toEqual([
      ['2026-07-14', 29, '500000.00', '1752.08', '501752.08', '0.00'],
    ]);
  });

  test('when the last monthly date falls just before maturity, then a short final period follows it', () => {
    // 32 days: 07-15 (30 days) then maturity 07-17 (2 days). P/2 = 250000.
    // I1 = 1812.50; I2 = 250000 × 0.0435 × 2 / 360 = 21750 / 360 = 60.4167 → 60.42.
    expect(rows(generateSchedule(loan('equal_principal', 'ACT/360', { termDays: 32 })))).toEqual([
      ['2026-07-15', 30, '250000.00', '1812.50', '251812.50', '250000.00'],
      ['2026-07-17', 2, '250000.00', '60.42', '250060.42', '0.00'],
    ]);
  });

  describe('month-end clamping: ¥120,000 at 6 % for 120 days from 2026-01-31 (maturity 2026-05-31)', () => {
    // Due 02-28 (28 days), 03-31 (31), 04-30 (30), 05-31 (31; the monthly date is maturity).
    const clamped = (method: RepaymentMethod, dayCount: DayCount) =>
      generateSchedule({
        principal: '120000',
        rateAnnual: '0.06',
        dayCount,
        method,
        startDate: '2026-01-31',
        termDays: 120,
      });

    test('when it is equal principal on ACT/360, then 30000 a month with interest on the declining balance', () => {
      // B × 0.06 × days / 360: 120000 × 28 → 560.00; 90000 × 31 → 465.00; 60000 × 30 → 300.00;
      // 30000 × 31 → 155.00 (7200 × 28 / 360, 5400 × 31 / 360, 3600 × 30 / 360, 1800 × 31 / 360).
      expect(rows(clamped('equal_principal', 'ACT/360'))).toEqual([
        ['2026-02-28', 28, '30000.00', '560.00', '30560.00', '90000.00'],
        ['2026-03-31', 31, '30000.00', '465.00', '30465.00', '60000.00'],
        ['2026-04-30', 30, '30000.00', '300.00', '30300.00', '30000.00'],
        ['2026-05-31', 31, '30000.00', '155.00', '30155.00', '0.00'],
      ]);
    });

    test('when it is equal principal on ACT/365, then the same balances divide by 365', () => {
      // 201600 / 365 = 552.3288 → 552.33; 167400 / 365 = 458.6301 → 458.63;
      // 108000 / 365 = 295.8904 → 295.89; 55800 / 365 = 152.8767 → 152.88.
      expect(rows(clamped('equal_principal', 'ACT/365'))).toEqual([
        ['2026-02-28', 28, '30000.00', '552.33', '30552.33', '90000.00'],
        ['2026-03-31', 31, '30000.00', '458.63', '30458.63', '60000.00'],
        ['2026-04-30', 30, '30000.00', '295.89', '30295.89', '30000.00'],
        ['2026-05-31', 31, '30000.00', '152.88', '30152.88', '0.00'],
      ]);
    });

    test('when it is equal instalments on ACT/360, then the last total is one fen under the level payment', () => {
      // g = 1 + 0.06 × days / 360: 1.0046667 (28), 1.0051667 (31), 1.005 (30), 1.0051667 (31).
      // A = 120000 g1 g2 g3 g4 / (g2 g3 g4 + g3 g4 + g4 + 1) = 122418.0499736 / 4.0307709946
      //   = 30370.8770 → 30370.88
      // I1 = 560.00, principal 29810.88, balance 90189.12
      // I2 = 90189.12 × 0.06 × 31 / 360 = 465.97712 → 465.98, principal 29904.90, balance 60284.22
      // I3 = 60284.22 × 0.06 × 30 / 360 = 301.4211 → 301.42, principal 30069.46, balance 30214.76
      // I4 = 30214.76 × 0.06 × 31 / 360 = 156.10959 → 156.11, principal 30214.76, total 30370.87
      const schedule = clamped('equal_installment', 'ACT/360');
      expect(formatAmount(schedule.levelPayment!)).toBe('30370.88');
      expect(rows(schedule)).toEqual([
        ['2026-02-28', 28, '29810.88', '560.00', '30370.88', '90189.12'],
        ['2026-03-31', 31, '29904.90', '465.98', '30370.88', '60284.22'],
        ['2026-04-30', 30, '30069.46', '301.42', '30370.88', '30214.76'],
        ['2026-05-31', 31, '30214.76', '156.11', '30370.87', '0.00'],
      ]);
    });
  });

  test('when the service fee is a fraction of a fen, then it is rounded half-up once on the whole principal', () => {
    // 333333.33 × 0.003 = 999.99999 → 1000.00
    const fee = (principal: string, serviceFeeRate: string) =>
      formatAmount(generateSchedule(loan('bullet', 'ACT/360', { principal, serviceFeeRate })).serviceFee);
    expect(fee('333333.33', '0.003')).toBe('1000.00');
    // 4445 × 0.001 = 4.445 exactly → 4.45 (half-even would give 4.44).
    expect(fee('4445', '0.001')).toBe('4.45');
    // 500000 × 0.003 = 1500.00; no rate, no fee.
    expect(fee('500000', '0.003')).toBe('1500.00');
    expect(fee('500000', '0')).toBe('0.00');
    // The fee is not part of any instalment or of the totals.
    const schedule = generateSchedule(loan('bullet', 'ACT/360', { serviceFeeRate: '0.003' }));
    expect(totals(schedule).total).toBe('505437.50');
  });

  test('when the principal is a few fen over many months, then no instalment goes negative and the sum is still exact', () => {
    // 0.02 / 4 = 0.005 → 0.01: 0.01, 0.01, then the balance is 0 and the rest take 0.00.
    const schedule = generateSchedule({
      principal: '0.02',
      rateAnnual: '0',
      dayCount: 'ACT/360',
      method: 'equal_principal',
      startDate: '2026-01-31',
      termDays: 120,
    });
    expect(rows(schedule).map((row) => row[2])).toEqual(['0.01', '0.01', '0.00', '0.00']);
  });

  test("when a month's interest exceeds the level payment, then that instalment is interest only", () => {
    // 100000 at 100 % for 3650 days, ACT/360: A = 8460.52 (annuity at ≈ 8.45 % a month over 120
    // months). A 31-day month costs 100000 × 31 / 360 = 8611.11 > A on the first balance: the
    // second instalment (07-15 → 08-15) is 99872.81 × 31 / 360 = 8600.1586 → 8600.16, all interest.
    const schedule = generateSchedule({
      principal: '100000',
      rateAnnual: '1',
      dayCount: 'ACT/360',
      method: 'equal_installment',
      startDate: '2026-06-15',
      termDays: 3650,
    });
    expect(formatAmount(schedule.levelPayment!)).toBe('8460.52');
    expect(rows(schedule).slice(0, 2)).toEqual([
      ['2026-07-15', 30, '127.19', '8333.33', '8460.52', '99872.81'],
      ['2026-08-15', 31, '0.00', '8600.16', '8600.16', '99872.81'],
    ]);
    expect(formatAmount(schedule.totals.principal)).toBe('100000.00');
  });

  test('when the input is invalid, then the field at fault is named and nothing is rounded', () => {
    const refused = (extra: Partial<ScheduleInput>) => {
      try {
        generateSchedule({ ...loan('bullet', 'ACT/360'), ...extra });
      } catch (error) {
        if (error instanceof ScheduleInputError) return error.field;
        throw error;
      }
      return 'accepted';
    };
    expect(refused({ principal: '0' })).toBe('principal');
    expect(refused({ principal: '-1' })).toBe('principal');
    expect(refused({ principal: '100.005' })).toBe('principal');
    expect(refused({ principal: m('100.005') })).toBe('principal');
    expect(refused({ principal: '1e5' })).toBe('principal');
    expect(refused({ rateAnnual: '1.5' })).toBe('rateAnnual');
    expect(refused({ rateAnnual: '-0.01' })).toBe('rateAnnual');
    expect(refused({ serviceFeeRate: '0.0.1' })).toBe('serviceFeeRate');
    expect(refused({ termDays: 0 })).toBe('termDays');
    expect(refused({ termDays: 3651 })).toBe('termDays');
    expect(refused({ termDays: 1.5 })).toBe('termDays');
    expect(refused({ startDate: '2026-02-30' })).toBe('startDate');
    expect(refused({ startDate: '2999-12-31', termDays: 1 })).toBe('termDays');
    expect(refused({ dayCount: '30/360' as DayCount })).toBe('dayCount');
    expect(refused({ method: 'balloon' as RepaymentMethod })).toBe('method');
    expect(refused({ principal: '0.01', termDays: 3650, method: 'equal_principal' })).toBe('accepted');
  });
});

describe('generateSchedule: properties', () => {
  const principalArb = fc
    .bigInt({ min: 1n, max: 100_000_000_000_00n })
    .map((fen) => new Money(fen.toString()).div(100));
  // Policy rates: at most 6 decimals, 0 … 1; a third of the runs interest-free.
  const rateArb = fc.oneof(
    fc.constant('0'),
    fc.integer({ min: 0, max: 1_000_000 }).map((micro) => new Money(micro).div(1_000_000).toFixed()),
  );
  const dateArb = fc
    .integer({ min: 0, max: 36_500 })
    .map((days) => new Date(Date.UTC(2000, 0, 1) + days * 86_400_000).toISOString().slice(0, 10));
  const inputArb = (termDaysMax: number) =>
    fc.record({
      principal: principalArb,
      rateAnnual: rateArb,
      dayCount: fc.constantFrom<DayCount>('ACT/360', 'ACT/365'),
      method: fc.constantFrom(...REPAYMENT_METHODS),
      startDate: dateArb,
      termDays: fc.integer({ min: 1, max: termDaysMax }),
      serviceFeeRate: rateArb,
    });

  test('when any valid loan is scheduled, then principal sums exactly, nothing is negative and dates increase to maturity', () => {
    fc.assert(
      fc.property(inputArb(3650), (input) => {
        const schedule = generateSchedule(input);
        const { instalments } = schedule;
        expect(sumAmounts(instalments.map((entry) => entry.principal)).eq(input.principal)).toBe(true);
        expect(instalments.at(-1)!.balanceAfter.isZero()).toBe(true);
        expect(instalments.at(-1)!.dueOn).toBe(schedule.maturityDate);
        expect(instalments.reduce((days, entry) => days + entry.days, 0)).toBe(input.termDays);
        for (const [index, entry] of instalments.entries()) {
          expect(entry.interest.gte(0) && entry.principal.gte(0) && entry.balanceAfter.gte(0)).toBe(true);
          expect(entry.total.eq(entry.principal.plus(entry.interest))).toBe(true);
          expect(entry.days).toBeGreaterThanOrEqual(1);
          if (index > 0) expect(entry.dueOn > instalments[index - 1]!.dueOn).toBe(true);
        }
        if (input.method === 'bullet') expect(instalments).toHaveLength(1);
        expect(schedule.serviceFee.gte(0) && schedule.serviceFee.decimalPlaces() <= 2).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  test('when a loan is scheduled twice, then the schedules are identical', () => {
    fc.assert(
      fc.property(inputArb(3650), (input) => {
        expect(JSON.stringify(generateSchedule(input))).toBe(JSON.stringify(generateSchedule({ ...input })));
      }),
      { numRuns: 100 },
    );
  });

  test("when every day of every period accrues, then the accruals add up to each instalment's interest", () => {
    fc.assert(
      fc.property(inputArb(400), (input) => {
        let balance = new Money(input.principal);
        for (const entry of generateSchedule(input).instalments) {
          const accruals = Array.from({ length: entry.days }, (_, index) =>
            dailyAccrual(balance, input.rateAnnual, input.dayCount, index + 1),
          );
          expect(accruals.every((accrual) => accrual.gte(0))).toBe(true);
          expect(sumAmounts(accruals).eq(entry.interest)).toBe(true);
          balance = entry.balanceAfter;
        }
      }),
      { numRuns: 100 },
    );
  });

  test('when a balance accrues for any number of days, then the accruals add up to the rounded cumulative interest', () => {
    fc.assert(
      fc.property(
        principalArb,
        rateArb,
        fc.constantFrom<DayCount>('ACT/360', 'ACT/365'),
        fc.integer({ min: 1, max: 3650 }),
        (balance, rate, dayCount, days) => {
          let total = new Money(0);
          for (let day = 1; day <= days; day += 1) total = total.plus(dailyAccrual(balance, rate, dayCount, day));
          expect(total.eq(cumulativeInterestRounded(balance, rate, days, dayCount))).toBe(true);
        },
      ),
      { numRuns: 30 },
    );
  });

  test('when equal instalments run at a rate up to 24 %, then every total but the last is the level payment and the last is close to it', () => {
    // Error bound: the payment is off the exact annuity by ≤ 0.005 and each interest by ≤ 0.005, and
    // a balance error grows by (1 + i_k) a period, so the last total is within
    // 0.01 × n × (1 + rate × 31 / basis)^n of the payment.
    const amortising = fc.record({
      principal: fc
        .bigInt({ min: 100_000n, max: 100_000_000_000_00n })
        .map((fen) => new Money(fen.toString()).div(100)),
      rateAnnual: fc.integer({ min: 0, max: 240_000 }).map((micro) => new Money(micro).div(1_000_000).toFixed()),
      dayCount: fc.constantFrom<DayCount>('ACT/360', 'ACT/365'),
      method: fc.constant('equal_installment' as const),
      startDate: dateArb,
      termDays: fc.integer({ min: 1, max: 3650 }),
    });
    fc.assert(
      fc.property(amortising, (input) => {
        const schedule = generateSchedule(input);
        const payment = schedule.levelPayment!;
        const n = schedule.instalments.length;
        for (const entry of schedule.instalments.slice(0, -1)) expect(entry.total.eq(payment)).toBe(true);
        const growth = new Money(1).plus(new Money(input.rateAnnual).times(31).div(360)).pow(n);
        const bound = new Money('0.01').times(n).times(growth);
        expect(schedule.instalments.at(-1)!.total.minus(payment).abs().lte(bound)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
