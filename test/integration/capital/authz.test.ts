import { createFund, type TestFund } from '../../helpers/factories';
import { makeUser, startHarness, type Harness, type TestUser } from '../../helpers/harness';
import { expectFundConsistent } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';
import {
  api,
  called,
  capitalSnapshot,
  contribute,
  contributed,
  contributionBody,
  createCall,
  memberWith,
  type CallBody,
} from './capital.helpers';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

describe('who sees and does what with capital', () => {
  let fund: TestFund;
  let mine: string;
  let theirs: string;
  let outsider: string;
  let me: TestUser;
  let committee: TestUser;
  let auditor: TestUser;
  let sharedCall: CallBody;
  let theirCall: CallBody;
  beforeAll(async () => {
    fund = await createFund(h);
    mine = await memberWith(h, fund.id, '10000.00');
    theirs = await memberWith(h, fund.id, '10000.00');
    outsider = await memberWith(h, fund.id, '10000.00');
    sharedCall = await called(h, fund.admin, fund.id, { percent: '10', dueOn: '2026-07-31' });
    // Only the other member has room for a second call.
    await contributed(h, fund.admin, fund.id, mine, '10000.00');
    theirCall = await called(h, fund.admin, fund.id, { percent: '50', dueOn: '2026-08-31' });
    await contributed(h, fund.admin, fund.id, theirs, '1500.00');
    me = await makeUser(h, 'member', { fundId: fund.id, memberId: mine });
    committee = await makeUser(h, 'committee', { fundId: fund.id });
    auditor = await makeUser(h, 'auditor', { fundId: fund.id });
    expect(theirCall.items.map((item) => item.memberId).sort()).toEqual([outsider, theirs].sort());
    await expectFundConsistent(h, fund.id);
  });

  const get = (user: TestUser, path: string) => h.http.get(api(`/funds/${fund.id}${path}`)).set(user.auth);

  test('when a member user reads its own statement and contributions, then it gets them; another member’s are a 404', async () => {
    const own = await get(me, `/members/${mine}/statement`);
    expect(own.status).toBe(200);
    expect(own.body.member.id).toBe(mine);
    expectProblem(await get(me, `/members/${theirs}/statement`), 404, 'member_not_found');

    const ownContributions = await get(me, `/members/${mine}/contributions`);
    expect(ownContributions.status).toBe(200);
    expect(ownContributions.body.items).toHaveLength(1);
    expectProblem(await get(me, `/members/${theirs}/contributions`), 404, 'member_not_found');
  });

  test('when a member user lists the fund’s contributions, then it sees only its own, whatever it filters by', async () => {
    const all = await get(me, '/contributions');
    expect((all.body.items as { memberId: string }[]).map((item) => item.memberId)).toEqual([mine]);
    const asked = await h.http
      .get(api(`/funds/${fund.id}/contributions`))
      .query({ memberId: theirs })
      .set(me.auth);
    expect(asked.status).toBe(200);
    expect(asked.body.items).toEqual([]);
  });

  test('when a member user reads a call, then it sees only its own item, and calls without one are a 404', async () => {
    const call = await get(me, `/capital-calls/${sharedCall.id}`);
    expect(call.status).toBe(200);
    expect((call.body as CallBody).items.map((item) => item.memberId)).toEqual([mine]);
    expect((call.body as CallBody).totals).toEqual({ due: '1000.00', paid: '1000.00', outstanding: '0.00' });
    expect((call.body as CallBody).status).toBe('settled');
    expectProblem(await get(me, `/capital-calls/${theirCall.id}`), 404, 'capital_call_not_found');

    const list = await get(me, '/capital-calls');
    expect(list.body.items).toEqual([
      expect.objectContaining({
        id: sharedCall.id,
        itemCount: 1,
        totals: { due: '1000.00', paid: '1000.00', outstanding: '0.00' },
      }),
    ]);
  });

  test('when committee, auditor and administrator read, then they see every member', async () => {
    for (const user of [committee, auditor, fund.admin]) {
      expect((await get(user, `/members/${theirs}/statement`)).status).toBe(200);
      expect((await get(user, `/members/${theirs}/contributions`)).status).toBe(200);
      const call = await get(user, `/capital-calls/${sharedCall.id}`);
      expect((call.body as CallBody).items).toHaveLength(3);
      expect((await get(user, '/capital-calls')).body.items).toHaveLength(2);
    }
  });

  test('when a committee, auditor or member user records a contribution or makes a call, then it is a 403 and nothing changes', async () => {
    const before = await capitalSnapshot(h, fund.id);
    for (const user of [committee, auditor, me]) {
      expectProblem(await contribute(h, user, fund.id, mine, contributionBody('1.00')), 403, 'forbidden');
      expectProblem(await createCall(h, user, fund.id, { percent: '1', dueOn: '2026-07-31' }), 403, 'forbidden');
    }
    expect(await capitalSnapshot(h, fund.id)).toEqual(before);
  });

  test('when a user of another fund asks, then the fund is not found', async () => {
    const other = await createFund(h);
    const stranger = await makeUser(h, 'admin', { fundId: other.id });
    expectProblem(await get(stranger, `/members/${mine}/statement`), 404, 'fund_not_found');
    expectProblem(await contribute(h, stranger, fund.id, mine, contributionBody('1.00')), 404, 'fund_not_found');
  });
});

describe('API documentation of the capital routes', () => {
  test('when the OpenAPI document is fetched, then every capital route is described with its schemas', async () => {
    const response = await h.http.get('/api/v1/openapi.json');
    expect(response.status).toBe(200);
    const paths = response.body.paths as Record<string, Record<string, { operationId: string }>>;
    const expected: [string, string, string][] = [
      ['/funds/{fundId}/members/{memberId}/contributions', 'post', 'recordContribution'],
      ['/funds/{fundId}/members/{memberId}/contributions', 'get', 'listMemberContributions'],
      ['/funds/{fundId}/contributions', 'get', 'listContributions'],
      ['/funds/{fundId}/capital-calls', 'post', 'createCapitalCall'],
      ['/funds/{fundId}/capital-calls', 'get', 'listCapitalCalls'],
      ['/funds/{fundId}/capital-calls/{callId}', 'get', 'getCapitalCall'],
      ['/funds/{fundId}/members/{memberId}/statement', 'get', 'getMemberStatement'],
    ];
    for (const [path, method, operationId] of expected) {
      expect({ path, method, operationId: paths[path]?.[method]?.operationId }).toEqual({ path, method, operationId });
    }
    expect(response.body.components.schemas.MemberStatement).toBeDefined();
    expect(response.body.components.schemas.CapitalCall).toBeDefined();
  });
});
