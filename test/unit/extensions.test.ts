import {
  classificationFloor,
  firstPeriodAccrual,
  observationEnd,
  peerInterestEarned,
} from '../../src/loans/extensions.service';
import type { AccrualStateRow } from '../../src/loans/extensions.repo';
import { generateSchedule } from '../../src/loans/schedule';
import { Money } from '../../src/money/money';
import type { InstalmentRow } from '../../src/loans/disbursements.repo';

function instalment(
  row: Partial<InstalmentRow> & Pick<InstalmentRow, 'number' | 'period_start' | 'due_on'>,
): InstalmentRow {
  return {
    fund_id: 'f',
    loan_id: 'l',
    schedule_version: 1,
    days: 30,
    principal: '0.00',
    interest: '0.00',
    principal_paid: '0.00',
    interest_paid: '0.00',
    interest_carried: '0.00',
    interest_accrued: null,
    ...row,
  };
}

describe('the classification floor of a restructured loan', () => {
  test.each([
    [null, 'substandard'],
    ['normal', 'substandard'],
    ['special_mention', 'substandard'],
    ['substandard', 'substandard'],
    ['doubtful', 'doubtful'],
    ['loss', 'loss'],
  ] as const)('when the loan was %s, then it is kept at least %s', (before, floor) => {
    expect(classificationFloor(before)).toBe(floor);
  });
});

describe('the end of the observation period', () => {
  test('when the third due date comes before a year after the first, then it ends a year after the first', () => {
    expect(observationEnd([{ dueOn: '2026-08-20' }, { dueOn: '2026-09-20' }, { dueOn: '2026-10-20' }])).toBe(
      '2027-08-20',
    );
  });

  test('when the third due date comes later, then it ends on the third due date', () => {
    expect(observationEnd([{ dueOn: '2026-08-20' }, { dueOn: '2027-06-01' }, { dueOn: '2028-01-01' }])).toBe(
      '2028-01-01',
    );
  });

  test('when there is one instalment, then it ends a year after it; 29 February falls back to the 28th', () => {
    expect(observationEnd([{ dueOn: '2026-12-10' }])).toBe('2027-12-10');
    expect(observationEnd([{ dueOn: '2028-02-29' }])).toBe('2029-02-28');
  });
});

describe('the interest a peer loan earned before an extension', () => {
  test('when an instalment fell due unpaid and the next period is running, then both are counted, the running one by R-interest on its balance', () => {
    const rows = [
      instalment({
        number: 1,
        period_start: '2026-06-15',
        due_on: '2026-07-15',
        principal: '50000.00',
        interest: '178.77',
        interest_paid: '78.77',
      }),
      instalment({
        number: 2,
        period_start: '2026-07-15',
        due_on: '2026-08-15',
        principal: '50000.00',
        interest: '184.73',
      }),
    ];
    // 100.00 unpaid of instalment 1; 10 days (07-15 … 07-24) on 50,000.00 at 4.35 % ACT/365:
    // 50,000 × 0.0435 × 10 / 365 = 59.589… → 59.59.
    expect(peerInterestEarned(rows, '2026-07-25', '0.0435', 'ACT/365').toFixed(2)).toBe('159.59');
  });

  test('when nothing is due and the first period has just started, then nothing was earned', () => {
    const rows = [
      instalment({
        number: 1,
        period_start: '2026-07-25',
        due_on: '2026-08-25',
        principal: '1000.00',
        interest: '3.70',
      }),
    ];
    expect(peerInterestEarned(rows, '2026-07-25', '0.0435', 'ACT/365').toFixed(2)).toBe('0.00');
  });
});

describe('the interest the job will accrue over the first period of an extended schedule', () => {
  // 10,000.00 at 4.35 % ACT/365 from 07-20, one period to 08-20 (31 days): the schedule says
  // 10,000 × 0.0435 × 31 / 365 = 36.9452… → 36.95.
  const schedule = generateSchedule({
    principal: '10000.00',
    rateAnnual: '0.0435',
    dayCount: 'ACT/365',
    method: 'bullet',
    startDate: '2026-07-20',
    termDays: 31,
  });
  const principal = new Money('10000.00');
  // The job's segment began 07-15 on the same balance, in a period due the same day, and accrued
  // 10,000 × 0.0435 × 5 / 365 = 5.9589… → 5.96 through 07-19.
  const running: AccrualStateRow = {
    accrued_through: '2026-07-19',
    interest_period_due_on: '2026-08-20',
    interest_segment_start: '2026-07-15',
    interest_segment_balance: '10000.00',
    interest_segment_accrued: '5.96',
  };
  const accrual = (state: AccrualStateRow | undefined) =>
    firstPeriodAccrual(schedule, principal, state, '2026-07-20', '0.0435', 'ACT/365').toFixed(2);

  test('when the job has not met the loan, then it is the schedule’s figure', () => {
    expect(schedule.instalments[0]!.interest.toFixed(2)).toBe('36.95');
    expect(accrual(undefined)).toBe('36.95');
  });

  test('when the job’s segment continues into the period, then it is the segment’s rounded total less what it accrued', () => {
    // 10,000 × 0.0435 × 36 / 365 = 42.9041… → 42.90; 42.90 − 5.96 = 36.94, a fen below the schedule.
    expect(accrual(running)).toBe('36.94');
  });

  test.each([
    ['the job did not run the day before', { accrued_through: '2026-07-18' }],
    ['the segment is on another balance', { interest_segment_balance: '12000.00' }],
    ['the period ends on another day', { interest_period_due_on: '2026-08-15' }],
    ['the job accrued nothing that day', { interest_period_due_on: null, interest_segment_balance: null }],
  ] as const)('when %s, then a new segment starts and it is the schedule’s figure', (_, change) => {
    expect(accrual({ ...running, ...change })).toBe('36.95');
  });
});
