import { startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { expectFundConsistent } from '../../helpers/invariants';
import {
  api,
  committeeWorld,
  decide,
  fastTrack,
  meetingWith,
  submitted,
  votes,
  type CommitteeWorld,
} from '../committee/committee.helpers';
import { changePolicy } from './loans.helpers';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const NOT_APPROVED = {
  policyVersion: null,
  approvedAt: null,
  approvalRoute: null,
  fastTracked: false,
  ratificationStatus: null,
};

async function application(w: CommitteeWorld, loanId: string): Promise<Record<string, unknown>> {
  const response = await h.http.get(api(`/funds/${w.fund.id}/loan-applications/${loanId}`)).set(w.admin.auth);
  expect(response.status).toBe(200);
  return response.body as Record<string, unknown>;
}

async function loan(w: CommitteeWorld, loanId: string): Promise<Record<string, unknown>> {
  const response = await h.http.get(api(`/funds/${w.fund.id}/loans/${loanId}`)).set(w.users.auditor.auth);
  expect(response.status).toBe(200);
  return response.body as Record<string, unknown>;
}

describe('approval facts in the application and loan views', () => {
  test('when the committee approves under a policy changed since submission, then both views show the committee route, the approval instant and the new policy version', async () => {
    const w = await committeeWorld(h, 3);
    const submittedLoan = await submitted(h, w);
    expect(submittedLoan).toMatchObject(NOT_APPROVED);
    // Version 2 is in force from today: the approval takes it, not version 1 of the submission.
    const changed = await changePolicy(h, w.fund, { rateAnnual: '0.0365' });
    expect(changed.status).toBe(201);

    const meeting = await meetingWith(h, w, [submittedLoan.id], [w.seats[0]!.user, w.seats[1]!.user]);
    expect(await application(w, submittedLoan.id)).toMatchObject({ status: 'under_review', ...NOT_APPROVED });
    await votes(h, w, meeting.id, meeting.items[0]!.id, [
      [w.seats[0]!.user, 'approve'],
      [w.seats[1]!.user, 'approve'],
    ]);
    const decidedAt = '2026-06-15T04:37:12.000Z';
    h.clock.set(decidedAt);
    const decided = await decide(h, w, meeting.id, meeting.items[0]!.id);
    expect(decided.status).toBe(200);

    const approval = {
      policyVersion: 2,
      approvedAt: decidedAt,
      approvalRoute: 'committee',
      fastTracked: false,
      ratificationStatus: null,
    };
    expect(await application(w, submittedLoan.id)).toMatchObject({ status: 'approved', ...approval });
    expect(await loan(w, submittedLoan.id)).toMatchObject({
      status: 'approved',
      ...approval,
      classification: null,
      daysPastDue: null,
      repaidOn: null,
    });
    const listed = await h.http
      .get(api(`/funds/${w.fund.id}/loan-applications?status=approved`))
      .set(w.users.borrower.auth);
    expect(listed.body.items).toEqual([expect.objectContaining({ id: submittedLoan.id, ...approval })]);
    h.clock.set(`${TEST_TODAY}T04:00:00.000Z`);
    await expectFundConsistent(h, w.fund.id);
  });

  test('when a loan is fast-tracked and its ratification then fails, then the views show the fast track, pending and then failed', async () => {
    const w = await committeeWorld(h, 3);
    const submittedLoan = await submitted(h, w);
    expect((await fastTrack(h, w, w.seats[0]!.user, submittedLoan.id)).status).toBe(200);
    // One approval of two: nothing is approved yet.
    expect(await loanOrApplication(w, submittedLoan.id)).toMatchObject({ status: 'submitted', ...NOT_APPROVED });
    expect((await fastTrack(h, w, w.admin, submittedLoan.id)).status).toBe(200);
    const fastTracked = {
      policyVersion: 1,
      approvedAt: h.clock.now().toISOString(),
      approvalRoute: 'fast_track',
      fastTracked: true,
    };
    expect(await application(w, submittedLoan.id)).toMatchObject({ ...fastTracked, ratificationStatus: 'pending' });
    expect(await loan(w, submittedLoan.id)).toMatchObject({ ...fastTracked, ratificationStatus: 'pending' });

    const meeting = await meetingWith(h, w, [], [w.seats[0]!.user, w.seats[1]!.user]);
    const item = meeting.items.find((i) => i.kind === 'ratification')!;
    await votes(h, w, meeting.id, item.id, [
      [w.seats[0]!.user, 'reject'],
      [w.seats[1]!.user, 'reject'],
    ]);
    expect((await decide(h, w, meeting.id, item.id)).status).toBe(200);

    // The loan is not undone: still approved, and the failure is visible on it.
    expect(await loan(w, submittedLoan.id)).toMatchObject({
      status: 'approved',
      ...fastTracked,
      ratificationStatus: 'failed',
    });
    expect(await application(w, submittedLoan.id)).toMatchObject({ ...fastTracked, ratificationStatus: 'failed' });
    await expectFundConsistent(h, w.fund.id);
  });
});

/** The application view: before approval a loan is not listed under /loans yet. */
async function loanOrApplication(w: CommitteeWorld, loanId: string): Promise<Record<string, unknown>> {
  const asLoan = await h.http.get(api(`/funds/${w.fund.id}/loans/${loanId}`)).set(w.admin.auth);
  expect(asLoan.status).toBe(404);
  return application(w, loanId);
}
