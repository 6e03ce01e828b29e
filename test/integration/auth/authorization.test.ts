import type { Test } from 'supertest';
import { ROUTES } from '../../../src/app';
import type { Role } from '../../../src/auth/principal';
import {
  createFund,
  createMember,
  fundPool,
  postEntry,
  randomUUID,
  type TestFund,
  bankCharge,
} from '../../helpers/factories';
import { makeUser, startHarness, TEST_TODAY, unique, type Harness, type TestUser } from '../../helpers/harness';
import { expectFundConsistent, snapshot } from '../../helpers/invariants';
import { expectProblem, PASSWORD } from './problem';

const ALL: readonly Role[] = ['admin', 'committee', 'member', 'auditor'];
const OVERSIGHT: readonly Role[] = ['admin', 'committee', 'auditor'];
const ADMIN: readonly Role[] = ['admin'];

/**
 * Who may call what, written down here independently of src/auth/permissions.ts. `public` routes
 * need no token at all. A route missing from this table fails the coverage test below.
 */
const EXPECTED: Record<string, readonly Role[] | 'public'> = {
  'post /auth/login': 'public',
  'get /auth/me': ALL,
  'post /funds': ADMIN,
  'get /funds': ALL,
  'get /funds/{fundId}': ALL,
  'get /funds/{fundId}/accounts': ALL,
  'get /funds/{fundId}/accounts/{accountId}': ALL,
  'get /funds/{fundId}/entries': ALL,
  'get /funds/{fundId}/entries/{entryId}': ALL,
  'post /funds/{fundId}/entries': ADMIN,
  'post /funds/{fundId}/entries/{entryId}/reverse': ADMIN,
  'get /funds/{fundId}/trial-balance': OVERSIGHT,
  'get /funds/{fundId}/holds': OVERSIGHT,
  'get /funds/{fundId}/audit': OVERSIGHT,
  'get /funds/{fundId}/audit/verify': OVERSIGHT,
};

const ROUTE_KEYS = ROUTES.map((route) => `${route.method} ${route.path}`);

interface World {
  fund: TestFund;
  memberId: string;
  /** The member's capital account, credited by `entryId`. */
  capitalId: string;
  /** An entry that touches the member's capital account, so the member user may read it. */
  entryId: string;
  users: Record<Role, TestUser>;
}

interface Call {
  /** State the call needs that must be fresh each time (an entry to reverse). */
  prepare?: (world: World) => Promise<Record<string, string>>;
  send: (user: TestUser, world: World, prepared: Record<string, string>) => Test;
  /** What an allowed role gets back. */
  success: 200 | 201;
  /** Whether the call may change anything: refused calls are checked to change nothing. */
  writes: boolean;
}

let h: Harness;
const api = (path: string): string => `/api/v1${path}`;
/** One well-formed request per route, with real ids from the users' own fund. */
const CALLS: Record<string, Call> = {
  'post /auth/login': {
    send: (user) => h.http.post(api('/auth/login')).send({ username: user.username, password: PASSWORD }),
    success: 200,
    writes: false,
  },
  'get /auth/me': { send: (user) => h.http.get(api('/auth/me')).set(user.auth), success: 200, writes: false },
  'post /funds': {
    send: (user) =>
      h.http
        .post(api('/funds'))
        .set(user.auth)
        .set('Idempotency-Key', randomUUID())
        .send({ name: unique('Fund ') }),
    success: 201,
    writes: true,
  },
  'get /funds': { send: (user) => h.http.get(api('/funds')).set(user.auth), success: 200, writes: false },
  'get /funds/{fundId}': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/accounts': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/accounts`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/accounts/{accountId}': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/accounts/${w.capitalId}`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/entries': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/entries`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/entries/{entryId}': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/entries/${w.entryId}`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'post /funds/{fundId}/entries': {
    send: (user, w) => postEntry(h, user, w.fund.id, bankCharge('1.00')),
    success: 201,
    writes: true,
  },
  'post /funds/{fundId}/entries/{entryId}/reverse': {
    prepare: async (w) => {
      const posted = await postEntry(h, w.fund.admin, w.fund.id, bankCharge('2.00'));
      if (posted.status !== 201) throw new Error(`entry to reverse not posted: ${posted.status} ${posted.text}`);
      return { entryId: posted.body.id as string };
    },
    send: (user, w, prepared) =>
      h.http
        .post(api(`/funds/${w.fund.id}/entries/${prepared.entryId}/reverse`))
        .set(user.auth)
        .set('Idempotency-Key', randomUUID())
        .send({ effectiveDate: TEST_TODAY, memo: 'reversed by the authorization matrix' }),
    success: 201,
    writes: true,
  },
  'get /funds/{fundId}/trial-balance': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/trial-balance`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/holds': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/holds`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/audit': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/audit`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/audit/verify': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/audit/verify`)).set(user.auth),
    success: 200,
    writes: false,
  },
};

/** Platform-wide counts: a refused POST /funds has no fund of its own to snapshot. */
async function platformCounts(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of ['funds', 'journal_entries', 'postings', 'audit_log', 'idempotency_keys', 'accounts']) {
    counts[table] = Number(((await h.db(table).count({ n: '*' }))[0] as { n: string }).n);
  }
  return counts;
}

let world: World;

beforeAll(async () => {
  h = await startHarness();
  const fund = await createFund(h);
  const memberId = await createMember(h, fund.id);
  const capitalId = await fundPool(h, fund, '1000.00', memberId);
  const entry = (await h.db('journal_entries').where({ fund_id: fund.id }).first('id')) as { id: string };
  world = {
    fund,
    memberId,
    capitalId,
    entryId: entry.id,
    users: {
      admin: fund.admin,
      committee: await makeUser(h, 'committee', { fundId: fund.id }),
      member: await makeUser(h, 'member', { fundId: fund.id, memberId }),
      auditor: await makeUser(h, 'auditor', { fundId: fund.id }),
    },
  };
});
afterAll(async () => {
  await h.close();
});

test('when the routes are listed, then the expected table and the requests cover exactly those routes', () => {
  expect(Object.keys(EXPECTED).sort()).toEqual([...ROUTE_KEYS].sort());
  expect(Object.keys(CALLS).sort()).toEqual([...ROUTE_KEYS].sort());
  expect(new Set(ROUTE_KEYS).size).toBe(ROUTE_KEYS.length);
});

test('when a route is public in the table, then the route declares no permission, and the reverse', () => {
  const publicInTable = Object.entries(EXPECTED)
    .filter(([, roles]) => roles === 'public')
    .map(([key]) => key)
    .sort();
  const publicInCode = ROUTES.filter((route) => route.permission === 'public')
    .map((route) => `${route.method} ${route.path}`)
    .sort();
  expect(publicInCode).toEqual(publicInTable);
});

const CASES = ROUTE_KEYS.flatMap((key) =>
  ALL.map((role) => {
    const expected = EXPECTED[key];
    const allowed = expected === undefined ? false : expected === 'public' || expected.includes(role);
    const outcome = allowed ? 'it is served' : 'it is refused with 403 forbidden and changes nothing';
    return { key, role, allowed, outcome };
  }),
);

describe.each(ROUTE_KEYS)('%s', (key) => {
  test.each(CASES.filter((entry) => entry.key === key))(
    'when the $role user calls it, then $outcome',
    async ({ role, allowed }) => {
      const call = CALLS[key];
      if (!call) throw new Error(`no request for ${key}: add one to CALLS`);
      const user = world.users[role];
      const prepared = call.prepare ? await call.prepare(world) : {};
      const before = call.writes ? { fund: await snapshot(h, world.fund.id), platform: await platformCounts() } : null;

      const response = await call.send(user, world, prepared);

      if (allowed) {
        expect({ role, status: response.status, body: response.status >= 400 ? response.body : undefined }).toEqual({
          role,
          status: call.success,
          body: undefined,
        });
        if (call.writes) await expectFundConsistent(h, world.fund.id);
        return;
      }
      expectProblem(response, 403, 'forbidden');
      expect(response.body).toMatchObject({ role });
      if (before) {
        expect(await snapshot(h, world.fund.id)).toEqual(before.fund);
        expect(await platformCounts()).toEqual(before.platform);
      }
    },
  );
});

test('when an administrator bound to a fund creates a fund, then the answer is 403 forbidden and nothing changes', async () => {
  const boundAdmin = await makeUser(h, 'admin', { fundId: world.fund.id });
  const before = { fund: await snapshot(h, world.fund.id), platform: await platformCounts() };

  const response = await h.http
    .post(api('/funds'))
    .set(boundAdmin.auth)
    .set('Idempotency-Key', randomUUID())
    .send({ name: unique('Fund ') });

  expectProblem(response, 403, 'forbidden');
  expect(await snapshot(h, world.fund.id)).toEqual(before.fund);
  expect(await platformCounts()).toEqual(before.platform);
});
