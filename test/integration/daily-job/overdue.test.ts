import type request from 'supertest';
import { cumulativeInterestRounded, penaltyRate } from '../../../src/loans/interest';
import { addDays } from '../../../src/clock';
import { classificationHistory } from '../../../src/loans/daily-job.repo';
import { formatAmount, Money } from '../../../src/money/money';
import { startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { balanceOf } from '../disbursements/disbursements.helpers';
import { disbursedLoan, lendingWorld, ranJob, reducePrincipal, setToday } from './daily-job.helpers';

let h: Harness;
let client: ReturnType<typeof request>;
beforeAll(async () => {
  h = await startHarness();
  client = h.http;
});
afterEach(() => {
  setToday(h, TEST_TODAY);
});
afterAll(async () => {
  await h.close();
});

/** Short bands so that a week walks a loan through every tier. */
const POLICY = {
  rateAnnual: '0.0435',
  dayCount: 'ACT/360',
  penaltyUpliftPct: '50',
  defaultAfterDaysOverdue: 5,
  classification: { specialMentionDaysMax: 2, substandardDaysMax: 4, doubtfulDaysMax: 6 },
};

describe('overdue loans', () => {
  test('when a bullet loan is not repaid at maturity, then it turns overdue, bears penalty interest, defaults after N days and every tier change is recorded', async () => {
    const w = await lendingWorld(h, POLICY);
    const loanId = await disbursedLoan(h, w, { amount: '90000.00', termDays: 30, repaymentMethod: 'bullet' });
    const due = addDays(TEST_TODAY, 30);
    setToday(h, addDays(due, 7));

    const atDue = await ranJob(h, client, w.fund.admin, w.fund.id, due);
    // On the due date itself nothing is overdue yet, and contract interest has ended.
    expect(atDue.days.at(-1)).toMatchObject({
      date: due,
      interestTotal: '0.00',
      penaltyTotal: '0.00',
      newlyOverdue: 0,
    });
    expect(await h.db('loans').where({ id: loanId }).first()).toMatchObject({
      status: 'active',
      classification: 'normal',
      days_past_due: 0,
    });

    const week = await ranJob(h, client, w.fund.admin, w.fund.id, addDays(due, 7));

    expect(week.days.map((day) => [day.date, day.newlyOverdue, day.newlyDefaulted, day.classificationChanges])).toEqual(
      [
        [addDays(due, 1), 1, 0, 1],
        [addDays(due, 2), 0, 0, 0],
        [addDays(due, 3), 0, 0, 1],
        [addDays(due, 4), 0, 0, 0],
        [addDays(due, 5), 0, 1, 1],
        [addDays(due, 6), 0, 0, 0],
        [addDays(due, 7), 0, 0, 1],
      ],
    );
    expect(await h.db('loans').where({ id: loanId }).first()).toMatchObject({
      status: 'defaulted',
      classification: 'loss',
      days_past_due: 7,
    });
    expect(await classificationHistory(h.db, w.fund.id, loanId)).toEqual([
      row(addDays(due, 1), 'normal', 'special_mention', 'active', 'overdue', 1),
      row(addDays(due, 3), 'special_mention', 'substandard', 'overdue', 'overdue', 3),
      row(addDays(due, 5), 'substandard', 'doubtful', 'overdue', 'defaulted', 5),
      row(addDays(due, 7), 'doubtful', 'loss', 'defaulted', 'defaulted', 7),
    ]);
    // Penalty interest on the overdue 90,000.00 at 4.35 % × 1.5, from the day after the due date,
    // rounded once over the stretch (R-interest); nothing more on the contract rate.
    const rate = penaltyRate('0.043500', '50');
    const penalty = cumulativeInterestRounded(new Money('90000.00'), rate, 7, 'ACT/360');
    expect(await balanceOf(h, w.fund.id, `1203:${loanId}`)).toBe(formatAmount(penalty));
    expect(await balanceOf(h, w.fund.id, '4003')).toBe(formatAmount(penalty));
    expect(await balanceOf(h, w.fund.id, `1202:${loanId}`)).toBe(
      formatAmount(cumulativeInterestRounded(new Money('90000.00'), '0.0435', 30, 'ACT/360')),
    );
  });

  test('when part of the overdue principal is repaid, then the penalty continues on the rest from that day', async () => {
    const w = await lendingWorld(h, POLICY);
    const loanId = await disbursedLoan(h, w, { amount: '90000.00', termDays: 30, repaymentMethod: 'bullet' });
    const due = addDays(TEST_TODAY, 30);
    setToday(h, addDays(due, 6));
    await ranJob(h, client, w.fund.admin, w.fund.id, addDays(due, 3));

    await reducePrincipal(h, w, loanId, '40000.00', addDays(due, 4));
    await ranJob(h, client, w.fund.admin, w.fund.id, addDays(due, 6));

    const rate = penaltyRate('0.043500', '50');
    const before = cumulativeInterestRounded(new Money('90000.00'), rate, 3, 'ACT/360');
    const after = cumulativeInterestRounded(new Money('50000.00'), rate, 3, 'ACT/360');
    expect(await balanceOf(h, w.fund.id, `1203:${loanId}`)).toBe(formatAmount(before.plus(after)));
  });

  test('when the overdue instalment is paid in full, then the loan is active and 正常 again, and the change is recorded', async () => {
    const w = await lendingWorld(h, POLICY);
    const loanId = await disbursedLoan(h, w, { amount: '90000.00', termDays: 30, repaymentMethod: 'bullet' });
    const due = addDays(TEST_TODAY, 30);
    setToday(h, addDays(due, 3));
    await ranJob(h, client, w.fund.admin, w.fund.id, addDays(due, 2));

    // What the repayments feature records for a full repayment, simulated: principal and interest
    // allocated to the instalment, principal credited to 1201.
    await reducePrincipal(h, w, loanId, '90000.00', addDays(due, 3));
    await h
      .db('loan_instalments')
      .where({ fund_id: w.fund.id, loan_id: loanId })
      .update({ principal_paid: h.db.raw('principal'), interest_paid: h.db.raw('interest') });
    const body = await ranJob(h, client, w.fund.admin, w.fund.id, addDays(due, 3));

    expect(body.days.at(-1)).toMatchObject({ cured: 1, classificationChanges: 1, penaltyTotal: '0.00' });
    expect(await h.db('loans').where({ id: loanId }).first()).toMatchObject({
      status: 'active',
      classification: 'normal',
      days_past_due: 0,
    });
    expect((await classificationHistory(h.db, w.fund.id, loanId)).at(-1)).toEqual(
      row(addDays(due, 3), 'special_mention', 'normal', 'overdue', 'active', 0),
    );
  });
});

function row(
  changedOn: string,
  from: string | null,
  to: string,
  fromStatus: string,
  toStatus: string,
  daysPastDue: number,
) {
  return {
    loan_id: expect.any(String),
    changed_on: changedOn,
    from_classification: from,
    to_classification: to,
    from_status: fromStatus,
    to_status: toStatus,
    days_past_due: daysPastDue,
  };
}
