import { daysBetween } from '../../../src/clock';
import { cumulativeInterestRounded, generateSchedule } from '../../../src/loans/schedule';
import { formatAmount, Money } from '../../../src/money/money';
import { startHarness, type Harness } from '../../helpers/harness';
import { expectProblem } from '../auth/problem';
import { attend, convene, decide, votes, type MeetingBody } from '../committee/committee.helpers';
import { ranJob } from '../daily-job/daily-job.helpers';
import { balanceOf } from '../disbursements/disbursements.helpers';
import { activeLoan, activePeerLoan, setToday, SMALL, START } from '../repayments/repayments.helpers';
import {
  consentTo,
  extensionTables,
  extensionWorld,
  requested,
  withdrawExtension,
  type ExtensionWorld,
} from './extensions.helpers';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

// Each test starts on TEST_TODAY: the one before may have moved the clock.
beforeEach(() => {
  h.clock.set(START);
});

afterAll(async () => {
  await h.close();
});

function today(w: ExtensionWorld, day: string): void {
  setToday(h, day, w, ...w.seats.map((s) => s.user), w.guarantorSeat.user);
}

/** A meeting on `day` chaired by the first seat, with the extension on its agenda and three seats present. */
async function meetingOn(w: ExtensionWorld, day: string, extensionId: string): Promise<MeetingBody> {
  const convened = await convene(h, w, { heldOn: day, chairUserId: w.seats[0]!.user.id, extensionIds: [extensionId] });
  if (convened.status !== 201) throw new Error(`meeting not convened: ${convened.status} ${convened.text}`);
  const meeting = convened.body as MeetingBody;
  const attended = await attend(
    h,
    w,
    meeting.id,
    w.seats.slice(0, 3).map((s) => s.user),
  );
  if (attended.status !== 200) throw new Error(`attendance not recorded: ${attended.status} ${attended.text}`);
  return meeting;
}

async function voted(w: ExtensionWorld, meeting: MeetingBody, choices: string[]): Promise<string> {
  const item = meeting.items.find((i) => i.kind === 'extension')!;
  await votes(
    h,
    w,
    meeting.id,
    item.id,
    choices.map((choice, index) => [w.seats[index]!.user, choice]),
  );
  return item.id;
}

test('when the committee votes for an extension a guarantor has not consented to, then it is ineligible; once consented, approval waits for the daily job', async () => {
  const w = await extensionWorld(h);
  const loanId = await activeLoan(h, w, SMALL);
  const extension = await requested(h, w.users.borrower, w.fund.id, loanId, {
    newMaturityDate: '2026-12-01',
    reason: '订单延期交付',
  });
  const first = await meetingOn(w, '2026-06-15', extension.id);
  const firstItem = await voted(w, first, ['approve', 'approve', 'approve']);
  const ineligible = await decide(h, w, first.id, firstItem);
  expect(ineligible.status).toBe(200);
  expect(ineligible.body).toMatchObject({
    status: 'ineligible',
    resolutionNumber: '2026-06-15-1',
    failures: [{ rule: 'guarantor_consent', limit: 'accepted', actual: 'pending', memberId: w.g1 }],
  });
  const pending = (await h.db('loan_extensions').where({ id: extension.id }).first('status')) as { status: string };
  expect(pending.status).toBe('under_review');
  expect((await consentTo(h, w.users.g1, w.fund.id, extension)).status).toBe(200);

  // Five days later, the daily job never run: the loan's days since disbursement are not accrued.
  today(w, '2026-06-20');
  const second = await meetingOn(w, '2026-06-20', extension.id);
  const secondItem = await voted(w, second, ['approve', 'approve', 'abstain']);
  const before = await extensionTables(h, w.fund.id);
  const refused = await decide(h, w, second.id, secondItem);
  expectProblem(refused, 409, 'extension_accrual_pending');
  expect(refused.body).toMatchObject({ effectiveOn: '2026-06-20', runThrough: '2026-06-19' });
  expect(await extensionTables(h, w.fund.id)).toEqual(before);

  await ranJob(h, h.http, w.admin, w.fund.id, '2026-06-19');
  const carried = cumulativeInterestRounded(new Money('90000.00'), '0.0435', 5, 'ACT/365');
  expect(await balanceOf(h, w.fund.id, `1202:${loanId}`)).toBe(formatAmount(carried));
  const approved = await decide(h, w, second.id, secondItem);
  expect(approved.status).toBe(200);
  expect(approved.body).toMatchObject({ status: 'approved', resolutionNumber: '2026-06-20-1' });
  const view = await h.http
    .get(`/api/v1/funds/${w.fund.id}/loans/${loanId}/extensions/${extension.id}`)
    .set(w.admin.auth);
  expect(view.body.restructuring).toMatchObject({
    effectiveOn: '2026-06-20',
    interestCarried: formatAmount(carried),
    pastDuePrincipal: '0.00',
    loanStatusBefore: 'active',
    classificationBefore: 'normal',
    classificationFloor: 'substandard',
  });
  const history = (await h
    .db('loan_classification_history')
    .where({ loan_id: loanId })
    .orderBy('id')
    .select('changed_on', 'from_classification', 'to_classification', 'from_status', 'to_status')) as unknown[];
  expect(history).toEqual([
    {
      changed_on: '2026-06-20',
      from_classification: 'normal',
      to_classification: 'substandard',
      from_status: 'active',
      to_status: 'active',
    },
  ]);
});

test('when a peer loan is extended, then its principal and the interest earned for the lender are carried into the new schedule; a rejection and a withdrawal change nothing', async () => {
  const w = await extensionWorld(h);
  const loanId = await activePeerLoan(h, w);
  today(w, '2026-07-20');
  await ranJob(h, h.http, w.admin, w.fund.id, '2026-07-19');
  const extension = await requested(h, w.users.borrower, w.fund.id, loanId, {
    newMaturityDate: '2026-12-10',
    repaymentMethod: 'equal_installment',
    reason: '出借方同意展期',
  });
  expect((await consentTo(h, w.users.g1, w.fund.id, extension)).status).toBe(200);
  const meeting = await meetingOn(w, '2026-07-20', extension.id);
  const itemId = await voted(w, meeting, ['approve', 'approve', 'reject']);
  const decided = await decide(h, w, meeting.id, itemId);
  expect(decided.body).toMatchObject({ status: 'approved' });

  // Instalment 1 (due 07-15) unpaid, and 5 days of the period from 07-15 on its scheduled balance.
  const earned = cumulativeInterestRounded(new Money('90000.00'), '0.0435', 30, 'ACT/365').plus(
    cumulativeInterestRounded(new Money('60000.00'), '0.0435', 5, 'ACT/365'),
  );
  const expected = generateSchedule({
    principal: '90000.00',
    rateAnnual: '0.0435',
    dayCount: 'ACT/365',
    method: 'equal_installment',
    startDate: '2026-07-20',
    termDays: daysBetween('2026-07-20', '2026-12-10'),
  });
  const rows = (await h
    .db('loan_instalments')
    .where({ loan_id: loanId, schedule_version: 2 })
    .orderBy('number')
    .select('due_on', 'principal', 'interest')) as Record<string, unknown>[];
  expect(rows).toEqual(
    expected.instalments.map((i, index) => ({
      due_on: i.dueOn,
      principal: formatAmount(i.principal),
      interest: formatAmount(index === 0 ? i.interest.plus(earned) : i.interest),
    })),
  );
  const loan = (await h.db('loans').where({ id: loanId }).first()) as Record<string, unknown>;
  expect(loan).toMatchObject({ status: 'active', restructured: true, repayment_method: 'equal_installment' });
  const restructuring = (
    await h.http.get(`/api/v1/funds/${w.fund.id}/loans/${loanId}/extensions/${extension.id}`).set(w.users.big.auth)
  ).body.restructuring as Record<string, unknown>;
  expect(restructuring).toMatchObject({
    principalRescheduled: '90000.00',
    interestCarried: formatAmount(earned),
    penaltyOutstanding: '0.00',
    feeOutstanding: '0.00',
    loanStatusBefore: 'overdue',
  });

  // A second extension, rejected: the loan keeps the schedule of the first.
  const second = await requested(h, w.users.borrower, w.fund.id, loanId, {
    newMaturityDate: '2026-12-12',
    reason: '再延两天',
  });
  expect((await consentTo(h, w.users.g1, w.fund.id, second)).status).toBe(200);
  const rejecting = await meetingOn(w, '2026-07-20', second.id);
  const rejectedItem = await voted(w, rejecting, ['approve', 'reject', 'reject']);
  const before = await extensionTables(h, w.fund.id);
  const rejected = await decide(h, w, rejecting.id, rejectedItem);
  expect(rejected.body).toMatchObject({ status: 'rejected', resolutionNumber: '2026-07-20-2' });
  const after = await extensionTables(h, w.fund.id);
  expect({ loans: after.loans, instalments: after.instalments }).toEqual({
    loans: before.loans,
    instalments: before.instalments,
  });
  expect((await h.db('loan_extensions').where({ id: second.id }).first('status')) as unknown).toEqual({
    status: 'rejected',
  });

  // A third, withdrawn while on the agenda: its item closes as withdrawn, with no resolution.
  const third = await requested(h, w.users.borrower, w.fund.id, loanId, {
    newMaturityDate: '2026-12-11',
    reason: '再延一天',
  });
  const withdrawing = await meetingOn(w, '2026-07-20', third.id);
  expect((await withdrawExtension(h, w.users.borrower, w.fund.id, third)).status).toBe(200);
  const withdrawnItem = withdrawing.items.find((i) => i.kind === 'extension')!.id;
  const closed = await decide(h, w, withdrawing.id, withdrawnItem);
  expect(closed.body).toMatchObject({ status: 'withdrawn', resolutionNumber: null });
  expect(
    ((await h.db('loans').where({ id: loanId }).first('schedule_version')) as { schedule_version: number })
      .schedule_version,
  ).toBe(2);
});
