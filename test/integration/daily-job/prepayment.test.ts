import { startHarness, type Harness } from '../../helpers/harness';
import { formatAmount, Money, roundHalfUp } from '../../../src/money/money';
import { balanceOf } from '../disbursements/disbursements.helpers';
import { activeLoan, api, lendingWorld, repay, setToday, START } from '../repayments/repayments.helpers';
import { ranJob } from './daily-job.helpers';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterEach(() => {
  h.clock.set(START);
});
afterAll(async () => {
  await h.close();
});

/** Contract interest of `balance` over `days` at 4.35 % ACT/365, rounded half-up to the fen (ADR 0009). */
function interest(balance: string, days: number): string {
  return formatAmount(roundHalfUp(new Money(balance).times('0.0435').times(days).div(365)));
}

/**
 * 90,000.00 over 90 days from 2026-06-15, equal principal: 30,000.00 due 07-15, 08-15 and 09-13.
 * On 07-15 the borrower pays the first instalment and prepays 20,000.00 of the second, so the
 * second period (07-15 to 08-15, 31 days) accrues interest on 40,000.00, not the schedule's 60,000.00.
 */
async function prepaidLoan(jobThrough = '2026-08-14') {
  const w = await lendingWorld(h);
  const loanId = await activeLoan(h, w);
  setToday(h, '2026-07-15', w);
  await ranJob(h, h.http, w.fund.admin, w.fund.id, '2026-07-14');
  const first = await repay(h, w.fund.admin, w.fund.id, loanId, {
    amount: new Money('450.00').plus(interest('90000.00', 30)).plus('50000.00').toFixed(2),
    receivedOn: '2026-07-15',
    reference: 'ICBC-PREPAY-1',
  });
  expect(first.status).toBe(201);
  expect(first.body.allocated).toMatchObject({ interest: interest('90000.00', 30), principal: '50000.00' });
  setToday(h, '2026-08-15', w);
  await ranJob(h, h.http, w.fund.admin, w.fund.id, jobThrough);
  return { w, loanId };
}

async function instalment(loanId: string, number: number) {
  return (await h.db('loan_instalments').where({ loan_id: loanId, number }).first()) as Record<string, unknown>;
}

describe('after a prepayment', () => {
  test('when the borrower pays what the shortened period accrued, then the instalment is settled and the loan stays active', async () => {
    const { w, loanId } = await prepaidLoan();
    const periodInterest = interest('40000.00', 31);
    expect(await balanceOf(h, w.fund.id, `1202:${loanId}`)).toBe(periodInterest);
    // The schedule said 221.67 for the period (on 60,000.00); 147.78 is all it accrued.
    expect(new Money(periodInterest).lt((await instalment(loanId, 2)).interest as string)).toBe(true);

    const second = await repay(h, w.fund.admin, w.fund.id, loanId, {
      amount: new Money(periodInterest).plus('10000.00').toFixed(2),
      receivedOn: '2026-08-15',
      reference: 'ICBC-PREPAY-2',
    });
    expect(second.status).toBe(201);
    setToday(h, '2026-08-20', w);
    const week = await ranJob(h, h.http, w.fund.admin, w.fund.id, '2026-08-20');

    expect(week.days.map((day) => day.newlyOverdue)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(await h.db('loans').where({ id: loanId }).first()).toMatchObject({
      status: 'active',
      classification: 'normal',
      days_past_due: 0,
    });
    // When its period ended, the instalment took the interest the period accrued as its interest due.
    expect(await instalment(loanId, 2)).toMatchObject({
      interest_accrued: periodInterest,
      interest_paid: periodInterest,
      principal_paid: '30000.00',
    });
    const schedule = await h.http.get(api(`/funds/${w.fund.id}/loans/${loanId}/schedule`)).set(w.fund.admin.auth);
    expect(schedule.status).toBe(200);
    expect(schedule.body.instalments[1]).toMatchObject({
      number: 2,
      interest: periodInterest,
      interestScheduled: (await instalment(loanId, 2)).interest,
      paid: { principal: '30000.00', interest: periodInterest },
      outstanding: { principal: '0.00', interest: '0.00', total: '0.00' },
      overdue: false,
    });
    const loan = await h.http.get(api(`/funds/${w.fund.id}/loans/${loanId}`)).set(w.fund.admin.auth);
    expect(loan.body.overdue).toBe(false);
    const overdueList = await h.http.get(api(`/funds/${w.fund.id}/loans?overdue=true`)).set(w.fund.admin.auth);
    expect(overdueList.status).toBe(200);
    expect((overdueList.body.items as { id: string }[]).map((item) => item.id)).not.toContain(loanId);
  });

  test('when the principal of the instalment is paid early but the rest of the period’s interest is not, then the loan is overdue from the day after the due date', async () => {
    const { w, loanId } = await prepaidLoan('2026-08-09');
    // On 08-10: the interest accrued so far (26 days on 40,000.00) and the instalment's principal.
    const second = await repay(h, w.fund.admin, w.fund.id, loanId, {
      amount: new Money(interest('40000.00', 26)).plus('10000.00').toFixed(2),
      receivedOn: '2026-08-10',
      reference: 'ICBC-PREPAY-3',
    });
    expect(second.status).toBe(201);
    expect(second.body.allocated).toMatchObject({ interest: interest('40000.00', 26), principal: '10000.00' });
    setToday(h, '2026-08-17', w);
    const days = await ranJob(h, h.http, w.fund.admin, w.fund.id, '2026-08-17');

    // The period's last five days accrued on 30,000.00 and were never paid.
    expect(await instalment(loanId, 2)).toMatchObject({
      interest_accrued: new Money(interest('40000.00', 26)).plus(interest('30000.00', 5)).toFixed(2),
      interest_paid: interest('40000.00', 26),
      principal_paid: '30000.00',
    });
    expect(days.days.map((day) => [day.date, day.newlyOverdue])).toEqual([
      ['2026-08-10', 0],
      ['2026-08-11', 0],
      ['2026-08-12', 0],
      ['2026-08-13', 0],
      ['2026-08-14', 0],
      ['2026-08-15', 0],
      ['2026-08-16', 1],
      ['2026-08-17', 0],
    ]);
    expect(await h.db('loans').where({ id: loanId }).first()).toMatchObject({ status: 'overdue', days_past_due: 2 });
    const loan = await h.http.get(api(`/funds/${w.fund.id}/loans/${loanId}`)).set(w.fund.admin.auth);
    expect(loan.body.overdue).toBe(true);
    const schedule = await h.http.get(api(`/funds/${w.fund.id}/loans/${loanId}/schedule`)).set(w.fund.admin.auth);
    expect(schedule.body.instalments[1]).toMatchObject({
      outstanding: { principal: '0.00', interest: interest('30000.00', 5) },
      overdue: true,
    });
  });
});
