import type { Role } from '../../../src/auth/principal';
import {
  capitalAccount,
  createFund,
  createMember,
  entryBody,
  fundPool,
  postEntry,
  randomUUID,
  type TestFund,
} from '../../helpers/factories';
import { makeUser, startHarness, TEST_TODAY, type Harness, type TestUser } from '../../helpers/harness';
import { expectFundConsistent, snapshot } from '../../helpers/invariants';
import { expectProblem } from './problem';

const ROLES: readonly Role[] = ['admin', 'committee', 'member', 'auditor'];
/** Routes a member user may not call in any fund: it gets 403 there before any fund is looked up. */
const OVERSIGHT_ONLY = new Set(['trial-balance', 'holds', 'audit', 'audit/verify', 'ledger/verify']);

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const api = (path: string): string => `/api/v1${path}`;

async function firstEntryId(fundId: string): Promise<string> {
  const row = (await h.db('journal_entries').where({ fund_id: fundId }).orderBy('seq').first('id')) as { id: string };
  return row.id;
}

describe('fund scoping', () => {
  let fundA: TestFund;
  let fundB: TestFund;
  let bound: Record<Role, TestUser>;
  /** Every GET under /funds/{B}, with real ids of fund B. */
  let routesOfB: { name: string; path: (fundId: string) => string }[];

  beforeAll(async () => {
    fundA = await createFund(h);
    fundB = await createFund(h, fundA.admin);
    const memberA = await createMember(h, fundA.id);
    await fundPool(h, fundA, '800.00', memberA);
    const capitalB = await fundPool(h, fundB, '600.00');
    const entryB = await firstEntryId(fundB.id);
    bound = {
      admin: await makeUser(h, 'admin', { fundId: fundA.id }),
      committee: await makeUser(h, 'committee', { fundId: fundA.id, memberId: memberA }),
      member: await makeUser(h, 'member', { fundId: fundA.id, memberId: memberA }),
      auditor: await makeUser(h, 'auditor', { fundId: fundA.id }),
    };
    routesOfB = [
      { name: '', path: (id) => `/funds/${id}` },
      { name: 'accounts', path: (id) => `/funds/${id}/accounts` },
      { name: 'accounts/{pool cash}', path: (id) => `/funds/${id}/accounts/${fundB.accounts['1001']}` },
      { name: 'accounts/{capital}', path: (id) => `/funds/${id}/accounts/${capitalB}` },
      { name: 'entries', path: (id) => `/funds/${id}/entries` },
      { name: 'entries/{entry}', path: (id) => `/funds/${id}/entries/${entryB}` },
      { name: 'trial-balance', path: (id) => `/funds/${id}/trial-balance` },
      { name: 'holds', path: (id) => `/funds/${id}/holds` },
      { name: 'audit', path: (id) => `/funds/${id}/audit` },
      { name: 'audit/verify', path: (id) => `/funds/${id}/audit/verify` },
      { name: 'ledger/verify', path: (id) => `/funds/${id}/ledger/verify` },
    ];
  });

  test.each(ROLES)(
    'when a %s user bound to fund A reads anything under fund B, then it gets what a fund that does not exist gets',
    async (role) => {
      const user = bound[role];
      const missingFund = randomUUID();
      for (const route of routesOfB) {
        const ofB = await h.http.get(api(route.path(fundB.id))).set(user.auth);
        const ofNothing = await h.http.get(api(route.path(missingFund))).set(user.auth);

        const refusedByRole = role === 'member' && OVERSIGHT_ONLY.has(route.name);
        const [status, code] = refusedByRole ? [403, 'forbidden'] : [404, 'fund_not_found'];
        expect({ route: route.name, status: ofB.status, code: ofB.body.code }).toEqual({
          route: route.name,
          status,
          code,
        });
        expectProblem(ofB, status, code);
        expect({ route: route.name, detail: (ofB.body.detail as string).replace(fundB.id, '<fund>') }).toEqual({
          route: route.name,
          detail: (ofNothing.body.detail as string).replace(missingFund, '<fund>'),
        });
        expect(ofNothing.status).toBe(status);
      }
    },
  );

  test.each(ROLES)('when a %s user bound to fund A lists funds, then only fund A is listed', async (role) => {
    const response = await h.http.get(api('/funds?limit=200')).set(bound[role].auth);

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ items: [expect.objectContaining({ id: fundA.id })], nextCursor: null });
  });

  test('when a platform administrator lists funds and reads fund B, then both funds are visible', async () => {
    const listed = await h.http.get(api('/funds?limit=200')).set(fundA.admin.auth);
    expect(listed.status).toBe(200);
    const ids = (listed.body.items as { id: string }[]).map((fund) => fund.id);
    expect(ids).toEqual(expect.arrayContaining([fundA.id, fundB.id]));

    for (const fund of [fundA, fundB]) {
      const one = await h.http.get(api(`/funds/${fund.id}`)).set(fundA.admin.auth);
      expect(one.status).toBe(200);
      expect(one.body.id).toBe(fund.id);
      const accounts = await h.http.get(api(`/funds/${fund.id}/accounts`)).set(fundA.admin.auth);
      expect(accounts.status).toBe(200);
      expect(accounts.body.items.length).toBeGreaterThan(0);
    }
  });

  test('when an administrator bound to fund A posts an entry to fund B, then it gets 404 fund_not_found and B is unchanged', async () => {
    const before = await snapshot(h, fundB.id);
    const body = entryBody([
      { accountCode: '5002', side: 'debit', amount: '5.00' },
      { accountCode: '1001', side: 'credit', amount: '5.00' },
    ]);

    const response = await postEntry(h, bound.admin, fundB.id, body);

    expectProblem(response, 404, 'fund_not_found');
    expect(await snapshot(h, fundB.id)).toEqual(before);
  });

  test('when a platform administrator names fund B’s account or entry under fund A, then it gets 404', async () => {
    const accountOfB = fundB.accounts['1001']!;
    const entryOfB = await firstEntryId(fundB.id);

    const account = await h.http.get(api(`/funds/${fundA.id}/accounts/${accountOfB}`)).set(fundA.admin.auth);
    const entry = await h.http.get(api(`/funds/${fundA.id}/entries/${entryOfB}`)).set(fundA.admin.auth);
    const filtered = await h.http.get(api(`/funds/${fundA.id}/entries?accountId=${accountOfB}`)).set(fundA.admin.auth);

    expectProblem(account, 404, 'account_not_found');
    expectProblem(entry, 404, 'entry_not_found');
    expect(filtered.status).toBe(200);
    expect(filtered.body).toEqual({ items: [], nextCursor: null });
  });

  test('when a platform administrator reverses fund B’s entry under fund A, then it gets 404 and neither fund changes', async () => {
    const entryOfB = await firstEntryId(fundB.id);
    const before = { a: await snapshot(h, fundA.id), b: await snapshot(h, fundB.id) };

    const response = await h.http
      .post(api(`/funds/${fundA.id}/entries/${entryOfB}/reverse`))
      .set(fundA.admin.auth)
      .set('Idempotency-Key', randomUUID())
      .send({ effectiveDate: TEST_TODAY, memo: 'cross-fund reversal' });

    expectProblem(response, 404, 'entry_not_found');
    expect({ a: await snapshot(h, fundA.id), b: await snapshot(h, fundB.id) }).toEqual(before);
  });

  test('when a platform administrator posts to fund A naming fund B’s account, then it is refused and neither fund changes', async () => {
    const before = { a: await snapshot(h, fundA.id), b: await snapshot(h, fundB.id) };
    const body = entryBody([
      { accountId: fundB.accounts['5002']!, side: 'debit', amount: '5.00' },
      { accountCode: '1001', side: 'credit', amount: '5.00' },
    ]);

    const response = await postEntry(h, fundA.admin, fundA.id, body);

    expectProblem(response, 422, 'account_not_in_fund');
    expect({ a: await snapshot(h, fundA.id), b: await snapshot(h, fundB.id) }).toEqual(before);
  });

  test('when fund A’s audit log is listed, then it holds only fund A’s records', async () => {
    const response = await h.http.get(api(`/funds/${fundA.id}/audit?limit=200`)).set(fundA.admin.auth);

    expect(response.status).toBe(200);
    const records = response.body.items as { fundId: string | null; target: { id: string | null } }[];
    expect(records.length).toBeGreaterThan(0);
    expect(records.filter((record) => record.fundId !== fundA.id)).toEqual([]);
    expect(records.filter((record) => record.target.id === fundB.id)).toEqual([]);
  });

  test('when an administrator bound to fund A posts an entry to fund A, then it is accepted', async () => {
    const body = entryBody([
      { accountCode: '5002', side: 'debit', amount: '5.00' },
      { accountCode: '1001', side: 'credit', amount: '5.00' },
    ]);

    const response = await postEntry(h, bound.admin, fundA.id, body);

    expect(response.status).toBe(201);
    await expectFundConsistent(h, fundA.id);
  });
});

describe('member scoping', () => {
  let fund: TestFund;
  let mine: string;
  let theirs: string;
  let myCapital: string;
  let theirCapital: string;
  let member: TestUser;
  /** My pay-in, their pay-in, a fund-only bank charge, and one entry that touches both capitals. */
  let entries: { mine: string; theirs: string; fundOnly: string; shared: string };

  beforeAll(async () => {
    fund = await createFund(h);
    mine = await createMember(h, fund.id);
    theirs = await createMember(h, fund.id);
    myCapital = await capitalAccount(h, fund.id, mine);
    theirCapital = await capitalAccount(h, fund.id, theirs);
    const post = async (lines: Parameters<typeof entryBody>[0]): Promise<string> => {
      const response = await postEntry(h, fund.admin, fund.id, entryBody(lines));
      if (response.status !== 201) throw new Error(`entry not posted: ${response.status} ${response.text}`);
      return response.body.id as string;
    };
    await fundPool(h, fund, '1000.00', mine);
    const myPayIn = await firstEntryId(fund.id);
    await fundPool(h, fund, '500.00', theirs);
    const theirPayIn = (
      (await h.db('journal_entries').where({ fund_id: fund.id }).orderBy('seq', 'desc').first('id')) as {
        id: string;
      }
    ).id;
    const fundOnly = await post([
      { accountCode: '5002', side: 'debit', amount: '10.00' },
      { accountCode: '1001', side: 'credit', amount: '10.00' },
    ]);
    const shared = await post([
      { accountCode: '1001', side: 'debit', amount: '300.00' },
      { accountId: myCapital, side: 'credit', amount: '100.00' },
      { accountId: theirCapital, side: 'credit', amount: '200.00' },
    ]);
    entries = { mine: myPayIn, theirs: theirPayIn, fundOnly, shared };
    member = await makeUser(h, 'member', { fundId: fund.id, memberId: mine });
    await expectFundConsistent(h, fund.id);
  });

  test('when a member user lists accounts, then only its own enterprise’s accounts are listed', async () => {
    const asMember = await h.http.get(api(`/funds/${fund.id}/accounts?limit=200`)).set(member.auth);
    const asAdmin = await h.http.get(api(`/funds/${fund.id}/accounts?limit=200`)).set(fund.admin.auth);

    expect(asMember.status).toBe(200);
    expect(asMember.body.items).toEqual([
      expect.objectContaining({
        id: myCapital,
        memberId: mine,
        balance: expect.objectContaining({ balance: '1100.00' }),
      }),
    ]);
    expect(asMember.body.nextCursor).toBeNull();
    const adminIds = (asAdmin.body.items as { id: string }[]).map((account) => account.id);
    expect(adminIds).toEqual(expect.arrayContaining([myCapital, theirCapital, fund.accounts['1001']]));
  });

  test.each([
    ['memberId of the other member', () => `memberId=${theirs}`],
    ['baseCode 3001', () => 'baseCode=3001'],
    ['book fund', () => 'book=fund'],
  ])('when a member user filters accounts by %s, then still only its own accounts are listed', async (_case, query) => {
    const response = await h.http.get(api(`/funds/${fund.id}/accounts?${query()}`)).set(member.auth);

    expect(response.status).toBe(200);
    expect((response.body.items as { id: string }[]).map((account) => account.id)).toEqual([myCapital]);
  });

  test('when a member user reads its own account, then it is served', async () => {
    const response = await h.http.get(api(`/funds/${fund.id}/accounts/${myCapital}`)).set(member.auth);

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: myCapital, memberId: mine, balance: { balance: '1100.00' } });
  });

  test.each([
    ['the other member’s capital account', () => theirCapital],
    ['the fund’s pool cash account', () => fund.accounts['1001']!],
  ])('when a member user reads %s, then it gets 404 account_not_found', async (_case, accountId) => {
    const response = await h.http.get(api(`/funds/${fund.id}/accounts/${accountId()}`)).set(member.auth);

    expectProblem(response, 404, 'account_not_found');
  });

  test('when a member user lists entries, then only entries touching its accounts are listed', async () => {
    const asMember = await h.http.get(api(`/funds/${fund.id}/entries`)).set(member.auth);
    const asAdmin = await h.http.get(api(`/funds/${fund.id}/entries`)).set(fund.admin.auth);

    expect(asMember.status).toBe(200);
    expect((asMember.body.items as { id: string }[]).map((entry) => entry.id)).toEqual([entries.shared, entries.mine]);
    expect((asAdmin.body.items as { id: string }[]).map((entry) => entry.id)).toEqual([
      entries.shared,
      entries.fundOnly,
      entries.theirs,
      entries.mine,
    ]);
  });

  test('when a member user filters entries by the other member’s account, then the filter shows nothing it could not already see', async () => {
    const response = await h.http.get(api(`/funds/${fund.id}/entries?accountId=${theirCapital}`)).set(member.auth);

    expect(response.status).toBe(200);
    const items = response.body.items as { id: string; postings: { accountId: string }[] }[];
    expect(items.filter((entry) => ![entries.shared, entries.mine].includes(entry.id))).toEqual([]);
    expect(items.flatMap((entry) => entry.postings).filter((posting) => posting.accountId === theirCapital)).toEqual(
      [],
    );
  });

  test.each([
    ['the other member’s pay-in', () => entries.theirs],
    ['a bank charge that touches only fund accounts', () => entries.fundOnly],
  ])('when a member user reads %s, then it gets 404 entry_not_found', async (_case, entryId) => {
    const response = await h.http.get(api(`/funds/${fund.id}/entries/${entryId()}`)).set(member.auth);

    expectProblem(response, 404, 'entry_not_found');
  });

  test('when a member user reads its own pay-in, then every posting is shown', async () => {
    const response = await h.http.get(api(`/funds/${fund.id}/entries/${entries.mine}`)).set(member.auth);

    expect(response.status).toBe(200);
    expect(response.body.hiddenPostings).toBe(0);
    expect((response.body.postings as { accountId: string }[]).map((posting) => posting.accountId).sort()).toEqual(
      [fund.accounts['1001'], myCapital].sort(),
    );
  });

  test('when a member user reads an entry shared with another member, then the other member’s posting is hidden and counted', async () => {
    const asAdmin = await h.http.get(api(`/funds/${fund.id}/entries/${entries.shared}`)).set(fund.admin.auth);
    const asMember = await h.http.get(api(`/funds/${fund.id}/entries/${entries.shared}`)).set(member.auth);
    const listed = await h.http.get(api(`/funds/${fund.id}/entries`)).set(member.auth);

    expect(asAdmin.status).toBe(200);
    expect(asAdmin.body.hiddenPostings).toBe(0);
    const allPostings = asAdmin.body.postings as { accountId: string }[];
    expect(allPostings.map((posting) => posting.accountId)).toEqual([fund.accounts['1001'], myCapital, theirCapital]);

    expect(asMember.status).toBe(200);
    expect(asMember.body).toEqual({
      ...asAdmin.body,
      postings: allPostings.filter((posting) => posting.accountId !== theirCapital),
      hiddenPostings: 1,
    });
    expect(JSON.stringify(asMember.body)).not.toContain(theirCapital);
    expect(JSON.stringify(asMember.body)).not.toContain('200.00');
    const listedShared = (listed.body.items as { id: string }[]).find((entry) => entry.id === entries.shared);
    expect(listedShared).toEqual(asMember.body);
  });

  test.each(['trial-balance', 'holds', 'audit', 'audit/verify', 'ledger/verify'])(
    'when a member user asks for %s, then it gets 403 forbidden',
    async (path) => {
      const response = await h.http.get(api(`/funds/${fund.id}/${path}`)).set(member.auth);

      expectProblem(response, 403, 'forbidden');
    },
  );

  test('when a committee user bound to the same member lists accounts, then it sees every member’s accounts', async () => {
    const committee = await makeUser(h, 'committee', { fundId: fund.id, memberId: mine });

    const response = await h.http.get(api(`/funds/${fund.id}/accounts?limit=200`)).set(committee.auth);

    expect(response.status).toBe(200);
    const ids = (response.body.items as { id: string }[]).map((account) => account.id);
    expect(ids).toEqual(expect.arrayContaining([myCapital, theirCapital, fund.accounts['1001']]));
  });
});
