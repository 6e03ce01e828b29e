import jwt from 'jsonwebtoken';
import { createFund, type TestFund } from '../../helpers/factories';
import { makeUser, startHarness, TEST_JWT_KEY, type Harness, type TestUser } from '../../helpers/harness';
import { clockSeconds, expectProblem, PASSWORD, signToken } from './problem';

const WRONG_SECRET = 'a-different-secret-that-is-also-32-bytes-or-more';
const INVALID_TOKEN_CHALLENGE = 'Bearer realm="huzhu", error="invalid_token"';

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** Replaces one character in the middle of a token part, so the change is never in padding bits. */
function flipMiddle(part: string): string {
  const at = Math.floor(part.length / 2);
  const replacement = part[at] === 'A' ? 'B' : 'A';
  return `${part.slice(0, at)}${replacement}${part.slice(at + 1)}`;
}

describe('bearer tokens under one key', () => {
  let h: Harness;
  let fund: TestFund;
  let user: TestUser;
  /** The two endpoints every case is tried on: one without a fund and one inside the user's fund. */
  let endpoints: { name: string; path: string }[];

  beforeAll(async () => {
    h = await startHarness();
    fund = await createFund(h);
    user = await makeUser(h, 'auditor', { fundId: fund.id });
    endpoints = [
      { name: 'GET /auth/me', path: '/api/v1/auth/me' },
      { name: 'GET /funds/{fundId}', path: `/api/v1/funds/${fund.id}` },
    ];
  });
  afterAll(async () => {
    await h.close();
  });

  /** A token for `user` signed the way the service would sign it, with one thing changed. */
  function variant(change: Partial<Parameters<typeof signToken>[0]> = {}): string {
    const iat = clockSeconds(h);
    return signToken({
      secret: TEST_JWT_KEY.secret,
      kid: TEST_JWT_KEY.kid,
      claims: { sub: user.id, role: user.role, tv: 1 },
      iat,
      exp: iat + 3600,
      ...change,
    });
  }

  async function expectRefusedEverywhere(authorization: string | undefined, code: string): Promise<void> {
    for (const endpoint of endpoints) {
      const call = h.http.get(endpoint.path);
      const response = await (authorization === undefined ? call : call.set('Authorization', authorization));
      expect({ endpoint: endpoint.name, status: response.status }).toEqual({ endpoint: endpoint.name, status: 401 });
      expectProblem(response, 401, code);
      expect(response.headers['www-authenticate']).toBe(
        code === 'invalid_token' ? INVALID_TOKEN_CHALLENGE : 'Bearer realm="huzhu"',
      );
    }
  }

  async function expectAcceptedEverywhere(authorization: string): Promise<void> {
    for (const endpoint of endpoints) {
      const response = await h.http.get(endpoint.path).set('Authorization', authorization);
      expect({ endpoint: endpoint.name, status: response.status }).toEqual({ endpoint: endpoint.name, status: 200 });
    }
  }

  test('when the token is the one the service issued, then both endpoints serve it', async () => {
    await expectAcceptedEverywhere(user.auth.Authorization);
  });

  test('when a hand-signed token has every claim right, then both endpoints serve it', async () => {
    await expectAcceptedEverywhere(`Bearer ${variant()}`);
  });

  test('when there is no Authorization header, then the answer is 401 unauthenticated', async () => {
    await expectRefusedEverywhere(undefined, 'unauthenticated');
  });

  test('when the Authorization header uses the Basic scheme, then the answer is 401 invalid_token', async () => {
    const basic = Buffer.from(`${user.username}:${PASSWORD}`).toString('base64');
    await expectRefusedEverywhere(`Basic ${basic}`, 'invalid_token');
  });

  test('when the bearer value is not a JWT, then the answer is 401 invalid_token', async () => {
    await expectRefusedEverywhere('Bearer not-a-token', 'invalid_token');
  });

  test('when the token says alg none and has no signature, then the answer is 401 invalid_token', async () => {
    const iat = clockSeconds(h);
    const header = base64url({ alg: 'none', typ: 'JWT', kid: TEST_JWT_KEY.kid });
    const payload = base64url({
      sub: user.id,
      role: user.role,
      tv: 1,
      iss: 'huzhu',
      aud: 'huzhu-api',
      iat,
      exp: iat + 3600,
    });
    await expectRefusedEverywhere(`Bearer ${header}.${payload}.`, 'invalid_token');
  });

  test('when the payload of a valid token is changed, then the answer is 401 invalid_token', async () => {
    const [header, payload, signature] = user.token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = base64url({ ...claims, role: 'admin' });
    await expectRefusedEverywhere(`Bearer ${header}.${forged}.${signature}`, 'invalid_token');
  });

  test('when the signature of a valid token is changed, then the answer is 401 invalid_token', async () => {
    const [header, payload, signature] = user.token.split('.');
    await expectRefusedEverywhere(`Bearer ${header}.${payload}.${flipMiddle(signature!)}`, 'invalid_token');
  });

  test('when the token is signed with another secret under the right kid, then the answer is 401 invalid_token', async () => {
    await expectRefusedEverywhere(`Bearer ${variant({ secret: WRONG_SECRET })}`, 'invalid_token');
  });

  test('when the token names a kid the service does not know, then the answer is 401 invalid_token', async () => {
    await expectRefusedEverywhere(`Bearer ${variant({ kid: 'unknown-9' })}`, 'invalid_token');
  });

  test('when the token names no kid, then the answer is 401 invalid_token', async () => {
    await expectRefusedEverywhere(`Bearer ${variant({ kid: undefined })}`, 'invalid_token');
  });

  test('when the token is for another audience, then the answer is 401 invalid_token', async () => {
    await expectRefusedEverywhere(`Bearer ${variant({ audience: 'some-other-api' })}`, 'invalid_token');
  });

  test('when the token is from another issuer, then the answer is 401 invalid_token', async () => {
    await expectRefusedEverywhere(`Bearer ${variant({ issuer: 'someone-else' })}`, 'invalid_token');
  });

  test('when the token is signed with HS512 by the right secret, then the answer is 401 invalid_token', async () => {
    await expectRefusedEverywhere(`Bearer ${variant({ algorithm: 'HS512' })}`, 'invalid_token');
  });

  test('when the token claims to live longer than an hour, then the answer is 401 invalid_token', async () => {
    const iat = clockSeconds(h);
    await expectRefusedEverywhere(`Bearer ${variant({ iat, exp: iat + 7200 })}`, 'invalid_token');
  });

  test('when the token names a user that does not exist, then the answer is 401 invalid_token', async () => {
    const claims = { sub: '00000000-0000-4000-8000-000000000000', role: 'admin', tv: 1 };
    await expectRefusedEverywhere(`Bearer ${variant({ claims })}`, 'invalid_token');
  });

  test('when a correctly signed token claims a role the user does not have, then the stored role decides', async () => {
    const claims = { sub: user.id, role: 'admin', tv: 1 };
    const authorization = `Bearer ${variant({ claims })}`;

    const me = await h.http.get('/api/v1/auth/me').set('Authorization', authorization);
    const creation = await h.http
      .post('/api/v1/funds')
      .set('Authorization', authorization)
      .send({ name: 'A fund an auditor may not create' });

    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: user.id, role: 'auditor' });
    expectProblem(creation, 403, 'forbidden');
  });

  test('when more than an hour has passed since issue, then the token is 401 invalid_token', async () => {
    const issuedAt = h.clock.now();
    const { token } = h.services.tokens.issue({ sub: user.id, role: user.role, tv: 1 });
    try {
      h.clock.advance(3599 * 1000);
      await expectAcceptedEverywhere(`Bearer ${token}`);
      h.clock.advance(62 * 1000);
      await expectRefusedEverywhere(`Bearer ${token}`, 'invalid_token');
    } finally {
      h.clock.set(issuedAt);
    }
  });

  test('when the password is changed, then a token issued before is 401 invalid_token', async () => {
    const victim = await makeUser(h, 'auditor', { fundId: fund.id });
    await expectAcceptedEverywhere(victim.auth.Authorization);

    await h.users.setPassword(victim.username, 'a brand new password');

    await expectRefusedEverywhere(victim.auth.Authorization, 'invalid_token');
    const login = await h.http
      .post('/api/v1/auth/login')
      .send({ username: victim.username, password: 'a brand new password' });
    expect(login.status).toBe(200);
    await expectAcceptedEverywhere(`Bearer ${login.body.token as string}`);
  });

  test('when the user is disabled, then a token issued before is 401 invalid_token, also after re-enabling', async () => {
    const victim = await makeUser(h, 'auditor', { fundId: fund.id });
    await expectAcceptedEverywhere(victim.auth.Authorization);

    await h.users.setDisabled(victim.username, true);
    await expectRefusedEverywhere(victim.auth.Authorization, 'invalid_token');

    await h.users.setDisabled(victim.username, false);
    await expectRefusedEverywhere(victim.auth.Authorization, 'invalid_token');
  });
});

describe('bearer tokens after a key rotation', () => {
  const NEW_KEY = { kid: 'new-1', secret: 'the-new-signing-secret-with-at-least-32-bytes' };
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      JWT_KID: NEW_KEY.kid,
      JWT_SECRET: NEW_KEY.secret,
      JWT_PREVIOUS_KEYS: `${TEST_JWT_KEY.kid}:${TEST_JWT_KEY.secret}`,
    });
  });
  afterAll(async () => {
    await h.close();
  });

  function signedWith(key: { kid: string; secret: string }, user: TestUser): string {
    const iat = clockSeconds(h);
    return signToken({
      secret: key.secret,
      kid: key.kid,
      claims: { sub: user.id, role: user.role, tv: 1 },
      iat,
      exp: iat + 3600,
    });
  }

  test('when a token was signed with the previous key and its kid, then it is still accepted', async () => {
    const user = await makeUser(h, 'committee');

    const response = await h.http
      .get('/api/v1/auth/me')
      .set('Authorization', `Bearer ${signedWith(TEST_JWT_KEY, user)}`);

    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      id: user.id,
      username: user.username,
      role: 'committee',
      fundId: null,
      memberId: null,
    });
  });

  test('when a user logs in after the rotation, then the token is signed under the new kid', async () => {
    const user = await makeUser(h, 'auditor');

    const login = await h.http.post('/api/v1/auth/login').send({ username: user.username, password: PASSWORD });

    expect(login.status).toBe(200);
    const token = login.body.token as string;
    expect(jwt.decode(token, { complete: true })?.header.kid).toBe(NEW_KEY.kid);
    expect(() => jwt.verify(token, NEW_KEY.secret, { algorithms: ['HS256'], ignoreExpiration: true })).not.toThrow();
  });

  test.each([
    ['the old secret under the new kid', { kid: NEW_KEY.kid, secret: TEST_JWT_KEY.secret }],
    ['the new secret under the old kid', { kid: TEST_JWT_KEY.kid, secret: NEW_KEY.secret }],
  ])('when a token is signed with %s, then the answer is 401 invalid_token', async (_case, key) => {
    const user = await makeUser(h, 'committee');

    const response = await h.http.get('/api/v1/auth/me').set('Authorization', `Bearer ${signedWith(key, user)}`);

    expectProblem(response, 401, 'invalid_token');
    expect(response.headers['www-authenticate']).toBe(INVALID_TOKEN_CHALLENGE);
  });
});
