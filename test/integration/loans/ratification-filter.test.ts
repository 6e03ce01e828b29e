import { makeUser, startHarness, type Harness, type TestUser } from '../../helpers/harness';
import { expectFundConsistent } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';
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

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

/**
 * 50,000.00 each, guaranteed 50,000.00 by G1: four such loans stay within the borrower's limit
 * (3 × 100,000.00 paid in) and G1's capacity (2 × 100,000.00).
 */
const SMALL = (w: CommitteeWorld) => ({
  amount: '50000.00',
  guarantors: [{ memberId: w.g1, amount: '50000.00', type: 'joint_and_several' }],
});

async function fastTracked(w: CommitteeWorld): Promise<string> {
  const loan = await submitted(h, w, SMALL(w));
  expect((await fastTrack(h, w, w.seats[0]!.user, loan.id)).status).toBe(200);
  expect((await fastTrack(h, w, w.admin, loan.id)).status).toBe(200);
  return loan.id;
}

function list(w: CommitteeWorld, user: TestUser, query: string) {
  return h.http.get(api(`/funds/${w.fund.id}/loans?${query}`)).set(user.auth);
}

async function listed(w: CommitteeWorld, user: TestUser, query: string): Promise<string[]> {
  const response = await list(w, user, query);
  expect(response.status).toBe(200);
  return (response.body.items as { id: string }[]).map((item) => item.id);
}

describe('the ratification filter of the loan list', () => {
  test('when fast-tracked loans are ratified, fail ratification or wait for it, then each filter lists exactly its own, newest first, within what a member may see', async () => {
    const w = await committeeWorld(h, 3);
    const ratified = await fastTracked(w);
    const failed = await fastTracked(w);
    const byCommittee = await submitted(h, w, SMALL(w));

    const present = [w.seats[0]!.user, w.seats[1]!.user];
    const meeting = await meetingWith(h, w, [byCommittee.id], present);
    const itemOf = (loanId: string) => meeting.items.find((item) => item.loan.id === loanId)!;
    const cast: [string, string][] = [
      [ratified, 'approve'],
      [failed, 'reject'],
      [byCommittee.id, 'approve'],
    ];
    for (const [loanId, choice] of cast) {
      await votes(h, w, meeting.id, itemOf(loanId).id, [
        [present[0]!, choice],
        [present[1]!, choice],
      ]);
      expect((await decide(h, w, meeting.id, itemOf(loanId).id)).status).toBe(200);
    }
    const pending = await fastTracked(w);

    const committee = w.seats[2]!.user;
    expect(await listed(w, committee, 'ratification=failed')).toEqual([failed]);
    expect(await listed(w, committee, 'ratification=ratified')).toEqual([ratified]);
    expect(await listed(w, committee, 'ratification=pending')).toEqual([pending]);
    expect(await listed(w, committee, '')).toEqual([pending, byCommittee.id, failed, ratified]);
    // Filters combine: the failed loan is approved, not yet disbursed.
    expect(await listed(w, committee, 'ratification=failed&status=approved')).toEqual([failed]);
    expect(await listed(w, committee, 'ratification=failed&status=active')).toEqual([]);
    const failedItem = (await list(w, w.users.auditor, 'ratification=failed')).body.items[0];
    expect(failedItem).toMatchObject({
      id: failed,
      status: 'approved',
      approvalRoute: 'fast_track',
      fastTracked: true,
      ratificationStatus: 'failed',
    });

    // Members see only loans their enterprise takes part in, whatever the filter.
    expect(await listed(w, w.users.borrower, 'ratification=failed')).toEqual([failed]);
    expect(await listed(w, w.users.g1, 'ratification=pending')).toEqual([pending]);
    expect(await listed(w, w.users.big, 'ratification=failed')).toEqual([]);
    const outsider = await makeUser(h, 'member', { fundId: w.fund.id, memberId: w.seats[1]!.memberId });
    expect(await listed(w, outsider, '')).toEqual([]);

    await expectFundConsistent(h, w.fund.id);
  });

  test('when the ratification filter names no ratification state, then it is a 400 validation problem', async () => {
    const w = await committeeWorld(h, 1);
    expectProblem(await list(w, w.admin, 'ratification=rejected'), 400, 'validation_failed');
    expectProblem(await list(w, w.admin, 'ratification='), 400, 'validation_failed');
  });
});
