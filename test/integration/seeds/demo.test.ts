import { isValidCreditCode } from '../../../src/members/credit-code';
import { DEMO_MEMBERS, DEMO_USERS, seedDemo } from '../../../seeds/demo';
import { startHarness, type Harness } from '../../helpers/harness';
import { expectFundConsistent } from '../../helpers/invariants';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

test('when the demo is seeded, then it is a ceramics-park fund of 12 members with ¥3,000,000 subscribed, mostly paid in, one open call and a user per role', async () => {
  const result = await seedDemo({ db: h.db, clock: h.clock, services: h.services });
  expect(result.seeded).toBe(true);
  const fundId = result.fundId!;

  const members = await h.db('members').where({ fund_id: fundId }).orderBy('joined_on');
  expect(members).toHaveLength(DEMO_MEMBERS.length);
  expect(members.length).toBe(12);
  expect(members.every((member: { credit_code: string }) => isValidCreditCode(member.credit_code))).toBe(true);
  expect(members.filter((member: { alliance_role: string }) => member.alliance_role === 'lead')).toHaveLength(1);
  const totals = await h.db.raw<{ rows: { subscribed: string }[] }>(
    'SELECT sum(subscribed_amount)::text AS subscribed FROM members WHERE fund_id = ?',
    [fundId],
  );
  expect(totals.rows[0]!.subscribed).toBe('3000000.00');

  const fund = fundId;
  const admin = await h.db('users').where({ username: 'admin' }).first();
  expect(admin.fund_id).toBeNull();
  const { token } = h.services.tokens.issue({ sub: admin.id, role: 'admin', tv: admin.token_version });
  const auth = { Authorization: `Bearer ${token}` };
  const cash = await h.http.get(`/api/v1/funds/${fund}/accounts?baseCode=1001`).set(auth);
  // 2,800,000.00 first payments + 30,000.00 against the call + 1,836.42 interest − 35.00 charges.
  expect(cash.body.items[0].balance.balance).toBe('2831801.42');

  const calls = await h.http.get(`/api/v1/funds/${fund}/capital-calls`).set(auth);
  expect(calls.body.items).toHaveLength(1);
  const call = await h.http.get(`/api/v1/funds/${fund}/capital-calls/${calls.body.items[0].id}`).set(auth);
  expect(call.body).toMatchObject({ status: 'open' });
  expect(call.body.totals).toMatchObject({ due: '200000.00', paid: '30000.00', outstanding: '170000.00' });

  const roles = await h
    .db('users')
    .whereIn(
      'username',
      DEMO_USERS.map((user) => user.username),
    )
    .pluck('role');
  expect(roles.sort()).toEqual(['admin', 'auditor', 'committee', 'member']);
  await expectFundConsistent(h, fundId);

  expect(await seedDemo({ db: h.db, clock: h.clock, services: h.services })).toEqual({ seeded: false });
});
