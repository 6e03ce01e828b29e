import jwt from 'jsonwebtoken';
import pino from 'pino';
import request, { type Response } from 'supertest';
import { createApp } from '../../../src/app';
import { LoginThrottle } from '../../../src/auth/login-throttle';
import { createFund, createMember } from '../../helpers/factories';
import { makeUser, startHarness, TEST_JWT_KEY, unique, type Harness } from '../../helpers/harness';
import { expectProblem, PASSWORD, stableProblem } from './problem';

const LOGIN = '/api/v1/auth/login';
/** The service pads every failure to 400 ms; a little slack for timer granularity. */
const FAILURE_MS_MIN = 380;
/** Far above the 400 ms floor, so a loaded machine does not fail the test. */
const FAILURE_MS_MAX = 5000;

async function timedLogin(
  h: Harness,
  body: unknown,
  forwardedFor?: string,
): Promise<{ response: Response; elapsedMs: number }> {
  const started = Date.now();
  const request = h.http.post(LOGIN);
  if (forwardedFor !== undefined) void request.set('X-Forwarded-For', forwardedFor);
  const response = await request.send(body as object);
  return { response, elapsedMs: Date.now() - started };
}

describe('login with default limits', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  test('when the password is right, then a bearer token valid for one hour and the user are returned', async () => {
    const fund = await createFund(h);
    const memberId = await createMember(h, fund.id);
    const user = await makeUser(h, 'committee', { fundId: fund.id, memberId });

    const response = await h.http.post(LOGIN).send({ username: user.username, password: PASSWORD });

    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const now = h.clock.now().getTime();
    expect(response.body).toEqual({
      token: expect.any(String),
      tokenType: 'Bearer',
      expiresAt: new Date(now + 3600 * 1000).toISOString(),
      user: { id: user.id, username: user.username, role: 'committee', fundId: fund.id, memberId },
    });
    const expiresInMs = new Date(response.body.expiresAt as string).getTime() - now;
    expect(expiresInMs).toBeGreaterThan(0);
    expect(expiresInMs).toBeLessThanOrEqual(3600 * 1000);

    const decoded = jwt.decode(response.body.token as string, { complete: true });
    expect(decoded?.header).toMatchObject({ alg: 'HS256', kid: TEST_JWT_KEY.kid });
    expect(decoded?.payload).toMatchObject({
      sub: user.id,
      role: 'committee',
      tv: 1,
      iss: 'huzhu',
      aud: 'huzhu-api',
      iat: now / 1000,
      exp: now / 1000 + 3600,
    });
  });

  test('when the login token is used on /auth/me, then it identifies the user', async () => {
    const user = await makeUser(h, 'auditor');
    const login = await h.http.post(LOGIN).send({ username: user.username, password: PASSWORD });
    expect(login.status).toBe(200);

    const me = await h.http.get('/api/v1/auth/me').set('Authorization', `Bearer ${login.body.token as string}`);

    expect(me.status).toBe(200);
    expect(me.body).toEqual({ id: user.id, username: user.username, role: 'auditor', fundId: null, memberId: null });
  });

  test('when the username is typed in another case, then the login succeeds as the same user', async () => {
    const user = await makeUser(h, 'admin');
    const shouted = user.username.toUpperCase();
    expect(shouted).not.toBe(user.username);

    const response = await h.http.post(LOGIN).send({ username: shouted, password: PASSWORD });

    expect(response.status).toBe(200);
    expect(response.body.user).toEqual({
      id: user.id,
      username: user.username,
      role: 'admin',
      fundId: null,
      memberId: null,
    });
  });

  test('when the password is right but in another case, then the login fails', async () => {
    const user = await makeUser(h, 'admin');

    const response = await h.http.post(LOGIN).send({ username: user.username, password: PASSWORD.toUpperCase() });

    expectProblem(response, 401, 'invalid_credentials');
  });

  test('when the password is wrong, the user unknown or disabled, then each gets the same slow 401', async () => {
    const user = await makeUser(h, 'committee');
    const disabled = await makeUser(h, 'auditor');
    await h.users.setDisabled(disabled.username, true);

    const wrongPassword = await timedLogin(h, { username: user.username, password: 'not the right password' });
    const unknownUser = await timedLogin(h, { username: unique('nobody').toLowerCase(), password: PASSWORD });
    const disabledUser = await timedLogin(h, { username: disabled.username, password: PASSWORD });

    for (const attempt of [wrongPassword, unknownUser, disabledUser]) {
      expectProblem(attempt.response, 401, 'invalid_credentials');
      expect(attempt.response.headers['www-authenticate']).toBe('Bearer realm="huzhu"');
      expect(attempt.response.body.token).toBeUndefined();
      expect(attempt.elapsedMs).toBeGreaterThanOrEqual(FAILURE_MS_MIN);
      expect(attempt.elapsedMs).toBeLessThan(FAILURE_MS_MAX);
    }
    expect(stableProblem(unknownUser.response)).toEqual(stableProblem(wrongPassword.response));
    expect(stableProblem(disabledUser.response)).toEqual(stableProblem(wrongPassword.response));
    expect(Object.keys(stableProblem(wrongPassword.response)).sort()).toEqual([
      'code',
      'detail',
      'status',
      'title',
      'type',
    ]);
    expect(unknownUser.response.body.instance).toBe(wrongPassword.response.body.instance);
    expect(unknownUser.response.body.requestId).not.toBe(wrongPassword.response.body.requestId);
  });

  test('when a disabled user is enabled again, then the same password logs in', async () => {
    const user = await makeUser(h, 'auditor');
    await h.users.setDisabled(user.username, true);
    expectProblem(
      await h.http.post(LOGIN).send({ username: user.username, password: PASSWORD }),
      401,
      'invalid_credentials',
    );

    await h.users.setDisabled(user.username, false);
    const response = await h.http.post(LOGIN).send({ username: user.username, password: PASSWORD });

    expect(response.status).toBe(200);
    expect(response.body.user.id).toBe(user.id);
  });

  test.each([
    ['the password is missing', { username: 'someone' }, '/password'],
    ['the username is missing', { password: PASSWORD }, '/username'],
    ['the username is empty', { username: '', password: PASSWORD }, '/username'],
    ['the password is a number', { username: 'someone', password: 12345678901234 }, '/password'],
  ])('when %s, then the answer is 400 validation_failed naming the field', async (_case, body, pointer) => {
    const response = await h.http.post(LOGIN).send(body);

    expectProblem(response, 400, 'validation_failed');
    expect(response.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ in: 'body', pointer })]));
  });

  test('when the body has an extra field, then the answer is 400 validation_failed', async () => {
    const user = await makeUser(h, 'auditor');

    const response = await h.http.post(LOGIN).send({ username: user.username, password: PASSWORD, remember: true });

    expectProblem(response, 400, 'validation_failed');
    expect(response.body.errors).toEqual([
      expect.objectContaining({ in: 'body', message: expect.stringMatching(/remember/) }),
    ]);
  });

  test('when there is no body at all, then the answer is 400 validation_failed', async () => {
    const response = await h.http.post(LOGIN);

    expectProblem(response, 400, 'validation_failed');
  });

  test('when the body is not JSON, then the answer is 400 malformed_json', async () => {
    const response = await h.http.post(LOGIN).set('Content-Type', 'application/json').send('{"username": "a", ');

    expectProblem(response, 400, 'malformed_json');
  });

  test.each([
    ['text/plain', 'username=a&password=correct horse battery'],
    ['application/x-www-form-urlencoded', 'username=a&password=correct+horse+battery'],
  ])('when the body is sent as %s, then the answer is 415 unsupported_media_type', async (type, body) => {
    const response = await h.http.post(LOGIN).set('Content-Type', type).send(body);

    expectProblem(response, 415, 'unsupported_media_type');
  });
});

/** Two client addresses, told apart by X-Forwarded-For behind a trusted proxy. */
const ADDRESS_A = '203.0.113.10';
const ADDRESS_B = '198.51.100.20';

describe('login slowed, never locked, per username and address', () => {
  const delayBaseMs = 300;
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      TRUST_PROXY: 'true',
      LOGIN_MAX_PER_IP: '100000',
      LOGIN_DELAY_AFTER_FAILURES_PER_USERNAME_AND_IP: '3',
      LOGIN_DELAY_BASE_MS: String(delayBaseMs),
      LOGIN_DELAY_MAX_MS: String(delayBaseMs * 2),
    });
  });
  afterAll(async () => {
    await h.close();
  });

  test('when address A has guessed wrong past its budget, then A is slowed but never refused, and the user logs in from B meanwhile', async () => {
    const user = await makeUser(h, 'committee');
    const from = (address: string, body: object) => timedLogin(h, body, address);
    // Case variants of one username share its budget.
    for (const username of [user.username, user.username.toUpperCase(), ` ${user.username} `]) {
      const guess = await from(ADDRESS_A, { username, password: 'wrong password!!' });
      expectProblem(guess.response, 401, 'invalid_credentials');
    }

    const slowed = await from(ADDRESS_A, { username: user.username, password: 'wrong password!!' });
    const owner = await from(ADDRESS_B, { username: user.username, password: PASSWORD });
    const rightFromA = await from(ADDRESS_A, { username: user.username, password: PASSWORD });

    expectProblem(slowed.response, 401, 'invalid_credentials');
    expect(slowed.response.headers['retry-after']).toBeUndefined();
    expect(slowed.elapsedMs).toBeGreaterThanOrEqual(delayBaseMs + FAILURE_MS_MIN);
    expect(owner.response.status).toBe(200);
    expect(owner.response.body.user.id).toBe(user.id);
    // Slowed twice as long now, and still answered: a throttle, not a lock.
    expect(rightFromA.response.status).toBe(200);
    expect(rightFromA.elapsedMs).toBeGreaterThanOrEqual(delayBaseMs * 2 - 20);
  });
});

describe('login waits, as the throttle decides them', () => {
  const delayBaseMs = 300;
  const delayMaxMs = 1000;
  const windowSeconds = 900;
  let h: Harness;
  let http: ReturnType<typeof request>;
  /** The wait of each attempt that had to wait, in the order they began waiting. */
  let waits: number[];
  beforeAll(async () => {
    h = await startHarness({ TRUST_PROXY: 'true', LOGIN_MAX_PER_IP: '100000' });
    const limits = {
      ...h.config.login,
      delayAfterFailuresPerUsernameAndIp: 3,
      delayAfterFailuresPerUsername: 8,
      delayBaseMs,
      delayMaxMs,
      windowSeconds,
    };
    // The real throttle on the real app; only its sleeping is replaced, by a record of each wait.
    const loginThrottle = new LoginThrottle(limits, h.clock, async (ms) => {
      waits.push(ms);
    });
    const app = createApp({
      db: h.db,
      config: h.config,
      logger: pino({ level: 'silent' }),
      clock: h.clock,
      services: h.services,
      loginThrottle,
    });
    http = request(app);
  });
  beforeEach(() => {
    waits = [];
  });
  afterAll(async () => {
    await h.close();
  });

  /** One attempt from `address`; its status and the wait it had (0: none). */
  async function attempt(address: string, username: string, password: string): Promise<[number, number]> {
    const before = waits.length;
    const response = await http.post(LOGIN).set('X-Forwarded-For', address).send({ username, password });
    expect(waits.length - before).toBeLessThanOrEqual(1);
    return [response.status, waits[before] ?? 0];
  }

  test('when A fails past its budget, then each failure doubles its wait up to the maximum, while B waits for nothing', async () => {
    const user = await makeUser(h, 'auditor');
    const wrong = 'wrong password!!';
    const fromA: [number, number][] = [];
    for (let guess = 1; guess <= 6; guess += 1) fromA.push(await attempt(ADDRESS_A, user.username, wrong));

    const wrongFromB = await attempt(ADDRESS_B, user.username, wrong);
    const ownerFromB = await attempt(ADDRESS_B, user.username, PASSWORD);

    expect(fromA).toEqual([
      [401, 0],
      [401, 0],
      [401, 0],
      [401, delayBaseMs],
      [401, delayBaseMs * 2],
      // 4 × 300 ms, held at the maximum.
      [401, delayMaxMs],
    ]);
    expect(wrongFromB).toEqual([401, 0]);
    expect(ownerFromB).toEqual([200, 0]);
  });

  test('when the right password is given from a slowed address, then it waits, logs in, and that address starts afresh', async () => {
    const user = await makeUser(h, 'auditor');
    for (let guess = 1; guess <= 3; guess += 1) await attempt(ADDRESS_A, user.username, 'wrong password!!');

    const right = await attempt(ADDRESS_A, user.username, PASSWORD);
    const nextWrong = await attempt(ADDRESS_A, user.username, 'wrong password!!');

    expect(right).toEqual([200, delayBaseMs]);
    expect(nextWrong).toEqual([401, 0]);
  });

  test('when one user logs in four times from one address, then none of it counts: a later failure does not wait', async () => {
    const user = await makeUser(h, 'admin');
    for (let login = 1; login <= 4; login += 1)
      expect(await attempt(ADDRESS_A, user.username, PASSWORD)).toEqual([200, 0]);

    expect(await attempt(ADDRESS_A, user.username, 'wrong password!!')).toEqual([401, 0]);
  });

  test('when a request is refused before any password is checked, then it does not count', async () => {
    const user = await makeUser(h, 'auditor');
    for (let refused = 1; refused <= 5; refused += 1) {
      const response = await http
        .post(LOGIN)
        .set('X-Forwarded-For', ADDRESS_A)
        .send({ username: user.username, password: PASSWORD, remember: true });
      expectProblem(response, 400, 'validation_failed');
    }

    expect(await attempt(ADDRESS_A, user.username, 'wrong password!!')).toEqual([401, 0]);
    expect(waits).toEqual([]);
  });

  test('when guesses are spread over many addresses, then past the budget for the username everyone waits, the owner too, and the owner still logs in', async () => {
    const user = await makeUser(h, 'committee');
    for (let address = 1; address <= 8; address += 1) {
      expect(await attempt(`192.0.2.${address}`, user.username, 'wrong password!!')).toEqual([401, 0]);
    }

    const nextGuess = await attempt('192.0.2.9', user.username, 'wrong password!!');
    const owner = await attempt(ADDRESS_B, user.username, PASSWORD);
    const otherUser = await makeUser(h, 'committee');
    const unaffected = await attempt('192.0.2.10', otherUser.username, PASSWORD);

    expect(nextGuess).toEqual([401, delayBaseMs]);
    // The owner's success does not wipe the spread failures: it takes back only its own attempt.
    expect(owner).toEqual([200, delayBaseMs * 2]);
    expect(await attempt('192.0.2.11', user.username, 'wrong password!!')).toEqual([401, delayBaseMs * 2]);
    expect(unaffected).toEqual([200, 0]);
  });

  test('when guesses from one address are sent side by side, then they wait longer and longer as if sent one by one', async () => {
    const user = await makeUser(h, 'auditor');

    const statuses = await Promise.all(
      Array.from({ length: 5 }, () =>
        http
          .post(LOGIN)
          .set('X-Forwarded-For', ADDRESS_A)
          .send({ username: user.username, password: 'wrong password!!' })
          .then((response) => response.status),
      ),
    );

    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    expect([...waits].sort((a, b) => a - b)).toEqual([delayBaseMs, delayBaseMs * 2]);
  });

  test('when the window has passed since the first failure, then the address and the username start afresh', async () => {
    const user = await makeUser(h, 'auditor');
    for (let guess = 1; guess <= 6; guess += 1) await attempt(ADDRESS_A, user.username, 'wrong password!!');
    expect(await attempt(ADDRESS_A, user.username, 'wrong password!!')).toEqual([401, delayMaxMs]);

    h.clock.advance(windowSeconds * 1000);

    expect(await attempt(ADDRESS_A, user.username, 'wrong password!!')).toEqual([401, 0]);
  });
});

describe('login with a limit of five attempts per client', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ LOGIN_MAX_PER_IP: '5' });
  });
  afterAll(async () => {
    await h.close();
  });

  test('when one client has made five attempts, then its sixth is 429 even with the right password', async () => {
    const user = await makeUser(h, 'auditor');
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      const username = unique('stranger').toLowerCase();
      const response = await h.http.post(LOGIN).send({ username, password: 'wrong password!!' });
      expectProblem(response, 401, 'invalid_credentials');
    }

    const sixth = await h.http.post(LOGIN).send({ username: user.username, password: PASSWORD });

    expectProblem(sixth, 429, 'too_many_login_attempts');
    const retryAfter = Number(sixth.headers['retry-after']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(900);
    expect(sixth.body.token).toBeUndefined();
  });
});

describe('login limits behind no trusted proxy', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ LOGIN_MAX_PER_IP: '5' });
  });
  afterAll(async () => {
    await h.close();
  });

  test('when each attempt claims another X-Forwarded-For address, then the sixth is still 429', async () => {
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      const response = await h.http
        .post(LOGIN)
        .set('X-Forwarded-For', `203.0.113.${attempt}`)
        .send({ username: unique('stranger').toLowerCase(), password: 'wrong password!!' });
      expectProblem(response, 401, 'invalid_credentials');
    }

    const sixth = await h.http
      .post(LOGIN)
      .set('X-Forwarded-For', '203.0.113.6')
      .send({ username: unique('stranger').toLowerCase(), password: 'wrong password!!' });

    expectProblem(sixth, 429, 'too_many_login_attempts');
  });
});
