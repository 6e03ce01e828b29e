import { makeUser, startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { expectFundConsistent } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';
import { changePolicy } from '../loans/loans.helpers';
import {
  api,
  committeeWorld,
  convene,
  decide,
  everything,
  fastTrack,
  meetingWith,
  submitted,
  votes,
  type CommitteeWorld,
  type MeetingBody,
} from './committee.helpers';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

/** The chair (seat 0, June 2026) then an administrator approve: the loan is approved, ratification pending. */
async function fastTracked(w: CommitteeWorld, overrides: Record<string, unknown> = {}): Promise<string> {
  const loan = await submitted(h, w, overrides);
  const first = await fastTrack(h, w, w.seats[0]!.user, loan.id);
  expect(first.status).toBe(200);
  expect(first.body).toMatchObject({ state: 'awaiting_second_approval', loanStatus: 'submitted' });
  const second = await fastTrack(h, w, w.admin, loan.id);
  expect(second.status).toBe(200);
  expect(second.body).toMatchObject({
    state: 'approved',
    loanStatus: 'approved',
    fastTracked: true,
    ratificationStatus: 'pending',
    policyVersion: 1,
  });
  expect(second.body.approvals.map((a: { capacity: string }) => a.capacity)).toEqual(['chair', 'admin']);
  return loan.id;
}

async function ratify(w: CommitteeWorld, choices: string[]): Promise<MeetingBody> {
  const all = w.seats.map((s) => s.user);
  const meeting = await meetingWith(h, w, [], all);
  const item = meeting.items.find((i) => i.kind === 'ratification')!;
  await votes(
    h,
    w,
    meeting.id,
    item.id,
    choices.map((choice, index) => [all[index]!, choice]),
  );
  const response = await decide(h, w, meeting.id, item.id);
  expect(response.status).toBe(200);
  const read = await h.http.get(api(`/funds/${w.fund.id}/meetings/${meeting.id}/minutes`)).set(w.admin.auth);
  return read.body as MeetingBody;
}

describe('fast track', () => {
  test('when the chair and an administrator approve an emergency application the same day, then it is approved with a hold, pending ratification, and ratified at the next meeting', async () => {
    const w = await committeeWorld(h, 3);
    const loanId = await fastTracked(w);
    const row = await h.db('loans').where({ id: loanId }).first();
    expect(row).toMatchObject({
      status: 'approved',
      approval_route: 'fast_track',
      fast_tracked: true,
      ratification_status: 'pending',
    });
    expect(await h.db('holds').where({ reference: `loan:${loanId}`, status: 'pending' })).toHaveLength(1);

    const minutes = await ratify(w, ['approve', 'approve']);
    expect(minutes.items).toEqual([
      expect.objectContaining({ kind: 'ratification', status: 'ratified', resolutionNumber: `${TEST_TODAY}-1` }),
    ]);
    expect(await h.db('loans').where({ id: loanId }).first()).toMatchObject({
      status: 'approved',
      ratification_status: 'ratified',
    });
    const list = await h.http
      .get(api(`/funds/${w.fund.id}/committee/ratifications?status=ratified`))
      .set(w.users.auditor.auth);
    expect(list.body.items).toEqual([expect.objectContaining({ loanId, resolutionNumber: `${TEST_TODAY}-1` })]);
    await expectFundConsistent(h, w.fund.id);
  });

  test('when the ratification vote fails, then the loan stays approved with its hold and the failure is flagged in the list and the minutes', async () => {
    const w = await committeeWorld(h, 3);
    const loanId = await fastTracked(w);
    const minutes = await ratify(w, ['reject', 'reject']);
    expect(minutes.items[0]).toMatchObject({
      status: 'ratification_failed',
      loan: { ratificationStatus: 'failed', status: 'approved' },
    });
    expect(await h.db('loans').where({ id: loanId }).first()).toMatchObject({
      status: 'approved',
      ratification_status: 'failed',
    });
    expect(await h.db('holds').where({ reference: `loan:${loanId}`, status: 'pending' })).toHaveLength(1);
    const failed = await h.http
      .get(api(`/funds/${w.fund.id}/committee/ratifications?status=failed`))
      .set(w.seats[1]!.user.auth);
    expect(failed.body.items).toEqual([expect.objectContaining({ loanId, ratificationStatus: 'failed' })]);
    const md = await h.http
      .get(api(`/funds/${w.fund.id}/meetings/${minutes.id}/minutes`))
      .set(w.admin.auth)
      .set('Accept', 'text/markdown');
    expect(md.text).toContain('Outcome: **追认未通过 Ratification FAILED');
    await expectFundConsistent(h, w.fund.id);
  });

  test('when a meeting is already convened for a later day, then the fast-tracked loan joins its agenda for ratification', async () => {
    const w = await committeeWorld(h, 3);
    const other = await submitted(h, w, { borrowerMemberId: w.big, guarantors: [] });
    const later = await convene(h, w, { heldOn: '2026-06-20', applicationIds: [other.id] });
    expect(later.status).toBe(201);
    const loanId = await fastTracked(w);
    const read = await h.http.get(api(`/funds/${w.fund.id}/meetings/${later.body.id}`)).set(w.admin.auth);
    expect(read.body.items).toEqual([
      expect.objectContaining({ position: 1, kind: 'application' }),
      expect.objectContaining({ position: 2, kind: 'ratification', loan: expect.objectContaining({ id: loanId }) }),
    ]);
    await expectFundConsistent(h, w.fund.id);
  });

  test('when the application is not an emergency, is over the limit, the caller is not the chair, or approves twice, then each is refused and nothing changes', async () => {
    const w = await committeeWorld(h, 3);
    expect((await changePolicy(h, w.fund, { committee: { fastTrackAmountMax: '150000.00' } })).status).toBe(201);
    const plain = await submitted(h, w, { emergency: false, amount: '100000.00' });
    const large = await submitted(h, w, { borrowerMemberId: w.big, guarantors: [] });
    const small = await submitted(h, w, { borrowerMemberId: w.g2, guarantors: [], amount: '100000.00' });
    const before = await everything(h, w.fund.id);
    expectProblem(await fastTrack(h, w, w.admin, plain.id), 422, 'not_emergency');
    const over = await fastTrack(h, w, w.admin, large.id);
    expectProblem(over, 422, 'fast_track_amount_exceeded');
    expect(over.body).toMatchObject({ limit: '150000.00', actual: '200000.00' });
    expectProblem(await fastTrack(h, w, w.seats[1]!.user, small.id), 403, 'not_chair');
    expectProblem(await fastTrack(h, w, w.users.borrower, small.id), 403, 'forbidden');
    expect(await everything(h, w.fund.id)).toEqual(before);

    expect((await fastTrack(h, w, w.admin, small.id)).status).toBe(200);
    const once = await everything(h, w.fund.id);
    expectProblem(await fastTrack(h, w, w.admin, small.id), 409, 'fast_track_already_approved');
    expect(await everything(h, w.fund.id)).toEqual(once);
    await expectFundConsistent(h, w.fund.id);
  });

  test('when the first approval was given on an earlier day, then it has lapsed and the next call is a first approval again', async () => {
    const w = await committeeWorld(h, 3);
    const loan = await submitted(h, w);
    expect((await fastTrack(h, w, w.seats[0]!.user, loan.id)).status).toBe(200);
    h.clock.advance(86_400_000);
    try {
      // A token issued on the new day: the first day's tokens have expired.
      const admin = await makeUser(h, 'admin', { fundId: w.fund.id });
      const next = await fastTrack(h, w, admin, loan.id);
      expect(next.status).toBe(200);
      expect(next.body).toMatchObject({ state: 'awaiting_second_approval', loanStatus: 'submitted' });
    } finally {
      h.clock.set('2026-06-15T04:00:00.000Z');
    }
    await expectFundConsistent(h, w.fund.id);
  });

  test('when the application is on a meeting agenda already, then it cannot be fast-tracked', async () => {
    const w = await committeeWorld(h, 3);
    const loan = await submitted(h, w);
    await meetingWith(h, w, [loan.id], []);
    const before = await everything(h, w.fund.id);
    expectProblem(await fastTrack(h, w, w.admin, loan.id), 409, 'loan_not_fast_trackable');
    expect(await everything(h, w.fund.id)).toEqual(before);
  });
});
