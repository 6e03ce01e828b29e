import { randomUUID } from 'node:crypto';
import type { Role } from '../../../src/auth/principal';
import { verifyPassword } from '../../../src/auth/password';
import { createFund, type TestFund } from '../../helpers/factories';
import { makeUser, startHarness, unique, type Harness, type TestUser } from '../../helpers/harness';
import { expectProblem } from '../auth/problem';
import { api, auditRows, memberBody, memberState, pointersOf, postMember, registerMember } from './fixtures';

let h: Harness;
let fund: TestFund;
let mine: { id: string; version: number };
let theirs: { id: string; version: number };
let users: Record<Role, TestUser>;

beforeAll(async () => {
  h = await startHarness();
  fund = await createFund(h);
  mine = await registerMember(h, fund);
  theirs = await registerMember(h, fund);
  users = {
    admin: await makeUser(h, 'admin', { fundId: fund.id }),
    committee: await makeUser(h, 'committee', { fundId: fund.id, memberId: theirs.id }),
    member: await makeUser(h, 'member', { fundId: fund.id, memberId: mine.id }),
    auditor: await makeUser(h, 'auditor', { fundId: fund.id }),
  };
});
afterAll(async () => {
  await h.close();
});

const PASSWORD = 'a long enough passphrase';

function createUser(user: TestUser, body: Record<string, unknown>, fundId = fund.id) {
  return h.http
    .post(api(`/funds/${fundId}/users`))
    .set(user.auth)
    .send(body);
}

describe('who may read and change members', () => {
  test.each(['admin', 'committee', 'auditor'] as const)(
    'when a %s user lists the register, then it sees every member',
    async (role) => {
      const response = await h.http.get(api(`/funds/${fund.id}/members`)).set(users[role].auth);
      expect(response.status).toBe(200);
      expect(response.body.items.map((item: { id: string }) => item.id).sort()).toEqual([mine.id, theirs.id].sort());
    },
  );

  test('when a member user lists the register, then it sees only its own enterprise, whatever the filters', async () => {
    const response = await h.http.get(api(`/funds/${fund.id}/members`)).set(users.member.auth);
    expect(response.status).toBe(200);
    expect(response.body.items.map((item: { id: string }) => item.id)).toEqual([mine.id]);
    const filtered = await h.http.get(api(`/funds/${fund.id}/members?status=active`)).set(users.member.auth);
    expect(filtered.body.items.map((item: { id: string }) => item.id)).toEqual([mine.id]);
  });

  test('when a member user reads another member, then it is a 404 as if it did not exist; its own is served', async () => {
    const other = await h.http.get(api(`/funds/${fund.id}/members/${theirs.id}`)).set(users.member.auth);
    expectProblem(other, 404, 'member_not_found');
    const missing = await h.http.get(api(`/funds/${fund.id}/members/${randomUUID()}`)).set(users.member.auth);
    expect(missing.body).toMatchObject({ code: 'member_not_found', status: 404 });
    const own = await h.http.get(api(`/funds/${fund.id}/members/${mine.id}`)).set(users.member.auth);
    expect(own.status).toBe(200);
    expect(own.body.id).toBe(mine.id);
  });

  test.each(['committee', 'member', 'auditor'] as const)(
    'when a %s user registers, edits or suspends a member or manages users, then it is a 403 and nothing changes',
    async (role) => {
      const user = users[role];
      const before = await memberState(h, fund.id);
      const calls = [
        postMember(h, user, fund.id, memberBody()),
        h.http
          .patch(api(`/funds/${fund.id}/members/${mine.id}`))
          .set(user.auth)
          .send({ industry: '物流' }),
        h.http
          .post(api(`/funds/${fund.id}/members/${mine.id}/status`))
          .set(user.auth)
          .send({ status: 'suspended', reason: 'x' }),
        createUser(user, { username: unique('u').toLowerCase(), password: PASSWORD, role: 'auditor' }),
        h.http.get(api(`/funds/${fund.id}/users`)).set(user.auth),
      ];
      for (const response of await Promise.all(calls)) {
        expectProblem(response, 403, 'forbidden');
        expect(response.body).toMatchObject({ role });
      }
      expect(await memberState(h, fund.id)).toEqual(before);
    },
  );

  test('when a fund-bound administrator calls another fund’s register, then the fund is not found', async () => {
    const other = await createFund(h, fund.admin);
    const response = await postMember(h, users.admin, other.id, memberBody());
    expectProblem(response, 404, 'fund_not_found');
  });
});

describe('creating users of a fund', () => {
  test('when an administrator creates a member user, then it is bound to the member, can log in and sees only its member', async () => {
    const username = unique('Chen.').toLowerCase();
    const response = await createUser(users.admin, {
      username: `  ${username.toUpperCase()} `,
      password: PASSWORD,
      role: 'member',
      memberId: theirs.id,
    });

    expect(response.status).toBe(201);
    expect(response.body).toEqual({
      id: expect.any(String),
      username,
      role: 'member',
      fundId: fund.id,
      memberId: theirs.id,
      disabled: false,
      createdAt: expect.any(String),
    });
    expect(response.text).not.toContain(PASSWORD);
    expect(response.text).not.toContain('scrypt');
    const stored = (await h.db('users').where({ id: response.body.id }).first()) as { password_hash: string };
    expect(await verifyPassword(PASSWORD, stored.password_hash)).toBe(true);

    const audit = await auditRows(h, fund.id, 'auth.user.create', response.body.id);
    expect(audit).toEqual([
      expect.objectContaining({
        target_type: 'user',
        actor_id: users.admin.id,
        payload: { username, role: 'member', fundId: fund.id, memberId: theirs.id },
      }),
    ]);
    expect(JSON.stringify(audit)).not.toContain(PASSWORD);

    const login = await h.http.post(api('/auth/login')).send({ username, password: PASSWORD });
    expect(login.status).toBe(200);
    const auth = { Authorization: `Bearer ${login.body.token as string}` };
    const list = await h.http.get(api(`/funds/${fund.id}/members`)).set(auth);
    expect(list.body.items.map((item: { id: string }) => item.id)).toEqual([theirs.id]);
    expectProblem(await h.http.get(api(`/funds/${fund.id}/members/${mine.id}`)).set(auth), 404, 'member_not_found');
  });

  test('when a committee user is created with or without an enterprise, then both are accepted', async () => {
    const bound = await createUser(users.admin, {
      username: unique('com').toLowerCase(),
      password: PASSWORD,
      role: 'committee',
      memberId: mine.id,
    });
    const unbound = await createUser(users.admin, {
      username: unique('com').toLowerCase(),
      password: PASSWORD,
      role: 'committee',
    });
    expect([bound.status, unbound.status]).toEqual([201, 201]);
    expect([bound.body.memberId, unbound.body.memberId]).toEqual([mine.id, null]);
  });

  test('when the same Idempotency-Key is sent twice, then one user is created and the response replayed', async () => {
    const body = { username: unique('aud').toLowerCase(), password: PASSWORD, role: 'auditor' };
    const key = randomUUID();
    const first = await createUser(users.admin, body).set('Idempotency-Key', key);
    const again = await createUser(users.admin, body).set('Idempotency-Key', key);
    expect([first.status, again.status]).toEqual([201, 201]);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    const stored = (await h.db('idempotency_keys').where({ fund_id: fund.id }).select('*')) as Record<
      string,
      unknown
    >[];
    expect(JSON.stringify(stored)).not.toContain(PASSWORD);
  });

  test.each([
    ['a member user without a member', { role: 'member' }, '/memberId'],
    ['an administrator bound to a member', { role: 'admin', memberId: 'MINE' }, '/memberId'],
    ['an auditor bound to a member', { role: 'auditor', memberId: 'MINE' }, '/memberId'],
    ['a password of 11 characters', { role: 'auditor', password: 'x'.repeat(11) }, '/password'],
    ['a username with spaces inside', { role: 'auditor', username: 'chen hong' }, '/username'],
    ['an unknown role', { role: 'owner' }, '/role'],
  ])(
    'when the request is for %s, then it is a 400 naming the field and nothing changes',
    async (_, overrides, pointer) => {
      const body: Record<string, unknown> = { username: unique('u').toLowerCase(), password: PASSWORD, ...overrides };
      if (body.memberId === 'MINE') body.memberId = mine.id;
      const before = await memberState(h, fund.id);
      const response = await createUser(users.admin, body);
      expectProblem(response, 400, 'validation_failed');
      expect(pointersOf(response)).toEqual([pointer]);
      expect(response.text).not.toContain(String(body.password));
      expect(await memberState(h, fund.id)).toEqual(before);
    },
  );

  test('when the member is of another fund, unknown, or has exited, then it is refused and nothing changes', async () => {
    const other = await createFund(h, fund.admin);
    const stranger = await registerMember(h, other);
    const leaver = await registerMember(h, fund);
    await h.db('members').where({ id: leaver.id }).update({ status: 'exited' });
    const before = await memberState(h, fund.id);
    const bind = (memberId: string) =>
      createUser(users.admin, { username: unique('m').toLowerCase(), password: PASSWORD, role: 'member', memberId });
    expectProblem(await bind(stranger.id), 404, 'member_not_found');
    expectProblem(await bind(randomUUID()), 404, 'member_not_found');
    expectProblem(await bind(leaver.id), 409, 'member_exited');
    expect(await memberState(h, fund.id)).toEqual(before);
  });

  test('when the username is taken, then it is a 409 username_taken and nothing changes', async () => {
    const before = await memberState(h, fund.id);
    const response = await createUser(users.admin, {
      username: users.auditor.username,
      password: PASSWORD,
      role: 'auditor',
    });
    expectProblem(response, 409, 'username_taken');
    expect(await memberState(h, fund.id)).toEqual(before);
  });

  test('when an administrator lists the fund’s users, then it gets them by username without password hashes, page by page', async () => {
    const first = await h.http.get(api(`/funds/${fund.id}/users?limit=2`)).set(users.admin.auth);
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(2);
    const all: { username: string; fundId: string }[] = [...first.body.items];
    let cursor: string | null = first.body.nextCursor;
    while (cursor !== null) {
      const page = await h.http.get(api(`/funds/${fund.id}/users?limit=2&cursor=${cursor}`)).set(users.admin.auth);
      all.push(...page.body.items);
      cursor = page.body.nextCursor;
    }
    const expected = (await h
      .db('users')
      .where({ fund_id: fund.id })
      .orderBy('username')
      .pluck('username')) as string[];
    expect(all.map((user) => user.username)).toEqual(expected);
    expect(all.every((user) => user.fundId === fund.id)).toBe(true);
    expect(JSON.stringify(all)).not.toMatch(/password|scrypt/i);
  });
});
