import { daysBetween } from '../../../src/clock';
import { cumulativeInterestRounded, generateSchedule } from '../../../src/loans/schedule';
import { formatAmount, Money, sumAmounts } from '../../../src/money/money';
import { startHarness, type Harness } from '../../helpers/harness';
import { expectFundConsistent, snapshot } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';
import { attend, convene, decide, vote, votes, type MeetingBody } from '../committee/committee.helpers';
import { ranJob } from '../daily-job/daily-job.helpers';
import { balanceOf } from '../disbursements/disbursements.helpers';
import { activeLoan, repay, setToday, SMALL, START } from '../repayments/repayments.helpers';
import { api, consentTo, extensionWorld, randomUUID, requested, type ExtensionWorld } from './extensions.helpers';

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

/** Every user of the world gets a token issued on `day`, and the clock is set to noon of it. */
function today(w: ExtensionWorld, day: string): void {
  setToday(h, day, w, ...w.seats.map((s) => s.user), w.guarantorSeat.user);
}

const RATE = '0.0435';
const DAY_COUNT = 'ACT/365' as const;

test('when the committee approves the extension of an overdue loan, then the schedule is regenerated from the outstanding balance, the loan is restructured, accrues on the new schedule and closes when repaid', async () => {
  const w = await extensionWorld(h);
  // 90,000.00 from 2026-06-15 over 90 days, equal principal: 30,000.00 due 07-15, 08-15, 09-13.
  const loanId = await activeLoan(h, w, SMALL);
  today(w, '2026-07-20');
  await ranJob(h, h.http, w.admin, w.fund.id, '2026-07-19');
  const before = await h.http.get(api(`/funds/${w.fund.id}/loans/${loanId}`)).set(w.admin.auth);
  expect(before.body.status).toBe('overdue');

  // Interest accrued by hand: the first period (30 days on 90,000.00), then from 07-15 on the
  // period's balance of 60,000.00 for 5 days (07-15 … 07-19).
  const accrued = cumulativeInterestRounded(new Money('90000.00'), RATE, 30, DAY_COUNT).plus(
    cumulativeInterestRounded(new Money('60000.00'), RATE, 5, DAY_COUNT),
  );
  expect(await balanceOf(h, w.fund.id, `1202:${loanId}`)).toBe(formatAmount(accrued));
  const penalty = await balanceOf(h, w.fund.id, `1203:${loanId}`);
  expect(new Money(penalty).gt(0)).toBe(true);

  const extension = await requested(h, w.users.borrower, w.fund.id, loanId, {
    newMaturityDate: '2026-12-10',
    reason: '下游客户回款延迟',
  });
  expect(extension.consents).toEqual([expect.objectContaining({ guarantorMemberId: w.g1, status: 'pending' })]);
  const consented = await consentTo(h, w.users.g1, w.fund.id, extension);
  expect(consented.status).toBe(200);
  expect(consented.body.consents[0].status).toBe('accepted');

  // The meeting: four seats and G1's representative present; G1's representative is recused.
  const chair = w.seats[0]!.user;
  const convened = await convene(h, w, { heldOn: '2026-07-20', chairUserId: chair.id, extensionIds: [extension.id] });
  expect(convened.status).toBe(201);
  const meeting = convened.body as MeetingBody;
  const item = meeting.items[0]!;
  expect(item).toMatchObject({ kind: 'extension', status: 'open', loan: { id: loanId } });
  expect(item.recusals).toEqual([expect.objectContaining({ userId: w.guarantorSeat.user.id, reasons: ['guarantor'] })]);
  const present = [...w.seats.map((s) => s.user), w.guarantorSeat.user];
  expect((await attend(h, w, meeting.id, present)).status).toBe(200);
  expectProblem(await vote(h, w, w.guarantorSeat.user, meeting.id, item.id, 'approve'), 403, 'recused');
  await votes(h, w, meeting.id, item.id, [
    [w.seats[0]!.user, 'approve'],
    [w.seats[1]!.user, 'approve'],
    [w.seats[2]!.user, 'reject'],
  ]);
  const decided = await decide(h, w, meeting.id, item.id);
  expect(decided.status).toBe(200);
  expect(decided.body).toMatchObject({
    kind: 'extension',
    status: 'approved',
    resolutionNumber: '2026-07-20-1',
    tally: { eligible: 4, voting: 3, approve: 2, reject: 1, quorumMet: true, passed: true },
    extension: { id: extension.id, effectiveOn: '2026-07-20', scheduleVersionBefore: 1, scheduleVersionAfter: 2 },
  });

  // The new schedule, computed independently: 90,000.00 from 07-20 to 12-10, the carried interest
  // added to the first instalment.
  const expected = generateSchedule({
    principal: '90000.00',
    rateAnnual: RATE,
    dayCount: DAY_COUNT,
    method: 'equal_principal',
    startDate: '2026-07-20',
    termDays: daysBetween('2026-07-20', '2026-12-10'),
  });
  const rows = (await h
    .db('loan_instalments')
    .where({ loan_id: loanId, schedule_version: 2 })
    .orderBy('number')
    .select('number', 'period_start', 'due_on', 'days', 'principal', 'interest')) as Record<string, unknown>[];
  expect(rows).toEqual(
    expected.instalments.map((i, index) => ({
      number: i.number,
      period_start: i.periodStart,
      due_on: i.dueOn,
      days: i.days,
      principal: formatAmount(i.principal),
      interest: formatAmount(index === 0 ? i.interest.plus(accrued) : i.interest),
    })),
  );
  const loan = (await h.db('loans').where({ id: loanId }).first()) as Record<string, unknown>;
  expect(loan).toMatchObject({
    status: 'active',
    restructured: true,
    schedule_version: 2,
    maturity_date: '2026-12-10',
    classification: 'substandard',
    days_past_due: 0,
  });
  const view = await h.http
    .get(api(`/funds/${w.fund.id}/loans/${loanId}/extensions/${extension.id}`))
    .set(w.users.borrower.auth);
  expect(view.status).toBe(200);
  expect(view.body).toMatchObject({
    status: 'approved',
    decisionItemId: item.id,
    restructuring: {
      effectiveOn: '2026-07-20',
      scheduleVersionBefore: 1,
      scheduleVersionAfter: 2,
      maturityDateBefore: '2026-09-13',
      maturityDateAfter: '2026-12-10',
      principalRescheduled: '90000.00',
      pastDuePrincipal: '30000.00',
      interestCarried: formatAmount(accrued),
      penaltyOutstanding: penalty,
      feeOutstanding: '450.00',
      loanStatusBefore: 'overdue',
      classificationBefore: 'special_mention',
      classificationFloor: 'substandard',
      // A year after the first new due date (08-20) is later than the third (10-20).
      observationEndsOn: '2027-08-20',
    },
  });
  const audit = (await h
    .db('audit_log')
    .where({ fund_id: w.fund.id, action: 'committee.item.approved', target_id: item.id })
    .select('payload')) as { payload: { extension?: { id: string } } }[];
  expect(audit.map((row) => row.payload.extension?.id)).toEqual([extension.id]);
  const minutes = await h.http
    .get(api(`/funds/${w.fund.id}/meetings/${meeting.id}/minutes`))
    .set(w.admin.auth)
    .set('Accept', 'text/markdown');
  expect(minutes.text).toContain(`展期 Extension of loan`);
  expect(minutes.text).toContain('maturity 2026-09-13 → 2026-12-10');
  expect(minutes.text).toContain('repayment 等额本金 equal_principal → 等额本金 equal_principal');
  expect(minutes.text).toContain('resolution 2026-07-20-1');

  // The daily job accrues the first new period (07-20 … 08-19) exactly; no penalty accrues any more.
  today(w, '2026-08-20');
  await ranJob(h, h.http, w.admin, w.fund.id, '2026-08-19');
  const firstPeriod = cumulativeInterestRounded(new Money('90000.00'), RATE, 31, DAY_COUNT);
  expect(await balanceOf(h, w.fund.id, `1202:${loanId}`)).toBe(formatAmount(accrued.plus(firstPeriod)));
  expect(await balanceOf(h, w.fund.id, `1203:${loanId}`)).toBe(penalty);
  const afterJob = (await h.db('loans').where({ id: loanId }).first('status', 'days_past_due')) as Record<
    string,
    unknown
  >;
  expect(afterJob).toEqual({ status: 'active', days_past_due: 0 });

  // The first new period ends on 08-20: its instalment owes what it carried plus what it accrued,
  // and the loan stays at its floor (substandard) though nothing is past due.
  await ranJob(h, h.http, w.admin, w.fund.id, '2026-08-20');
  expect(
    await h.db('loan_instalments').where({ loan_id: loanId, schedule_version: 2, number: 1 }).first('interest_accrued'),
  ).toEqual({ interest_accrued: formatAmount(accrued.plus(firstPeriod)) });
  expect(await h.db('loans').where({ id: loanId }).first('status', 'classification')).toEqual({
    status: 'active',
    classification: 'substandard',
  });

  // Paid in full the next morning: every receivable is back to zero and the loan closes.
  today(w, '2026-08-21');
  const owed = sumAmounts(
    await Promise.all(
      ['1201', '1202', '1203', '1204'].map(
        async (code) => new Money(await balanceOf(h, w.fund.id, `${code}:${loanId}`)),
      ),
    ),
  );
  const paid = await repay(h, w.admin, w.fund.id, loanId, {
    amount: formatAmount(owed),
    receivedOn: '2026-08-21',
    reference: `EXT-PAYOFF-${loanId}`,
  });
  expect(paid.status).toBe(201);
  expect(paid.body.loanStatus).toBe('repaid');
  for (const code of ['1201', '1202', '1203', '1204']) {
    expect(await balanceOf(h, w.fund.id, `${code}:${loanId}`)).toBe('0.00');
  }
  const instalments = (await h
    .db('loan_instalments')
    .where({ loan_id: loanId, schedule_version: 2, number: 1 })
    .first('principal', 'interest', 'principal_paid', 'interest_paid')) as Record<string, string>;
  expect(instalments.interest_paid).toBe(instalments.interest);
  expect(instalments.principal_paid).toBe(instalments.principal);
  await expectFundConsistent(h, w.fund.id);
});

test('when a repayment recorded before an approved extension is to be reversed, or one received before it is recorded late, then it is refused: the new schedule was built from the balances after it', async () => {
  const w = await extensionWorld(h);
  const loanId = await activeLoan(h, w, SMALL);
  today(w, '2026-07-15');
  await ranJob(h, h.http, w.admin, w.fund.id, '2026-07-14');
  const firstInterest = cumulativeInterestRounded(new Money('90000.00'), RATE, 30, DAY_COUNT);
  const paid = await repay(h, w.admin, w.fund.id, loanId, {
    amount: formatAmount(new Money('450.00').plus(firstInterest).plus('30000.00')),
    receivedOn: '2026-07-15',
    reference: `EXT-BEFORE-${loanId}`,
  });
  expect(paid.status).toBe(201);
  await ranJob(h, h.http, w.admin, w.fund.id, '2026-07-15');

  const extension = await requested(h, w.users.borrower, w.fund.id, loanId, {
    newMaturityDate: '2026-12-10',
    reason: '订单延期',
  });
  expect((await consentTo(h, w.users.g1, w.fund.id, extension)).status).toBe(200);
  today(w, '2026-07-16');
  await ranJob(h, h.http, w.admin, w.fund.id, '2026-07-15');
  const chair = w.seats[0]!.user;
  const meeting = (await convene(h, w, { heldOn: '2026-07-16', chairUserId: chair.id, extensionIds: [extension.id] }))
    .body as MeetingBody;
  const item = meeting.items[0]!;
  expect(
    (
      await attend(
        h,
        w,
        meeting.id,
        w.seats.map((s) => s.user),
      )
    ).status,
  ).toBe(200);
  await votes(h, w, meeting.id, item.id, [
    [w.seats[0]!.user, 'approve'],
    [w.seats[1]!.user, 'approve'],
    [w.seats[2]!.user, 'approve'],
  ]);
  expect((await decide(h, w, meeting.id, item.id)).body).toMatchObject({ status: 'approved' });
  const before = await snapshot(h, w.fund.id);

  const reversal = await h.http
    .post(api(`/funds/${w.fund.id}/loans/${loanId}/repayments/${paid.body.id as string}/reverse`))
    .set(w.admin.auth)
    .set('Idempotency-Key', randomUUID())
    .send({ reason: 'bounced' });

  expectProblem(reversal, 409, 'repayment_before_extension');
  expect(reversal.body).toMatchObject({ repaymentScheduleVersion: 1, loanScheduleVersion: 2 });
  expect(await snapshot(h, w.fund.id)).toEqual(before);

  // Nor can money received before the new schedule starts (07-16) be recorded now.
  const late = await repay(h, w.admin, w.fund.id, loanId, {
    amount: '1000.00',
    receivedOn: '2026-07-15',
    reference: `EXT-LATE-${loanId}`,
  });
  expectProblem(late, 422, 'received_on_before_extension');
  expect(late.body).toMatchObject({ receivedOn: '2026-07-15', scheduleStart: '2026-07-16', scheduleVersion: 2 });
  expect(await snapshot(h, w.fund.id)).toEqual(before);
});
