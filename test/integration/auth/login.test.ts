import jwt from 'jsonwebtoken';
import type { Response } from 'supertest';
import { createFund, createMember } from '../../helpers/factories';
import { makeUser, startHarness, TEST_JWT_KEY, unique, type Harness } from '../../helpers/harness';
import { expectProblem, PASSWORD, stableProblem } from './problem';

const LOGIN = '/api/v1/auth/login';
/** The service pads every failure to 400 ms; a little slack for timer granularity. */
const FAILURE_MS_MIN = 380;
/** Far above the 400 ms floor, so a loaded machine does not fail the test. */
const FAILURE_MS_MAX = 5000;

async function timedLogin(h: Harness, body: unknown): Promise<{ response: Response; elapsedMs: number }> {
  const started = Date.now();
  const response = await h.http.post(LOGIN).send(body as object);
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

describe('login with a limit of three failures per username', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ LOGIN_MAX_FAILURES_PER_USERNAME: '3', LOGIN_MAX_PER_IP: '100000' });
  });
  afterAll(async () => {
    await h.close();
  });

  test('when a username has failed three times, then the fourth attempt is 429 with Retry-After while another username still gets 401', async () => {
    const target = await makeUser(h, 'committee');
    const other = await makeUser(h, 'auditor');
    // Case variants of one username share its budget.
    const spellings = [target.username, target.username.toUpperCase(), ` ${target.username} `];
    for (const username of spellings) {
      expectProblem(
        await h.http.post(LOGIN).send({ username, password: 'wrong password!!' }),
        401,
        'invalid_credentials',
      );
    }

    const fourth = await h.http.post(LOGIN).send({ username: target.username, password: 'wrong password!!' });

    expectProblem(fourth, 429, 'too_many_login_attempts');
    const retryAfter = Number(fourth.headers['retry-after']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(900);
    expect(fourth.body.retryAfterSeconds).toBe(retryAfter);

    const rightPassword = await h.http.post(LOGIN).send({ username: target.username, password: PASSWORD });
    expectProblem(rightPassword, 429, 'too_many_login_attempts');

    const otherUser = await h.http.post(LOGIN).send({ username: other.username, password: 'wrong password!!' });
    expectProblem(otherUser, 401, 'invalid_credentials');
    const otherLogin = await h.http.post(LOGIN).send({ username: other.username, password: PASSWORD });
    expect(otherLogin.status).toBe(200);
  });

  test('when a username logs in successfully four times, then none of them counts against the limit', async () => {
    const user = await makeUser(h, 'admin');
    for (let attempt = 1; attempt <= 4; attempt += 1) {
      const response = await h.http.post(LOGIN).send({ username: user.username, password: PASSWORD });
      expect({ attempt, status: response.status }).toEqual({ attempt, status: 200 });
    }
    const failure = await h.http.post(LOGIN).send({ username: user.username, password: 'wrong password!!' });
    expectProblem(failure, 401, 'invalid_credentials');
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
