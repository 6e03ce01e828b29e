import { startHarness, type Harness } from '../../helpers/harness';
import { runCli } from '../../helpers/cli';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const login = (username: string, password: string) => h.http.post('/api/v1/auth/login').send({ username, password });

describe('the command line', () => {
  test('when a user is created with a password from the environment, then that user can log in', async () => {
    const created = await runCli(h, ['user', 'create', '--username', 'ops-admin', '--role', 'admin'], {
      HUZHU_PASSWORD: 'a long enough password',
    });
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout.trim())).toMatchObject({ username: 'ops-admin', role: 'admin', fundId: null });
    expect((await login('ops-admin', 'a long enough password')).status).toBe(200);
    const audit = await h.db('audit_log').where({ chain: 'system', action: 'auth.user.create' });
    expect(audit.map((row: { payload: { username: string } }) => row.payload.username)).toContain('ops-admin');
  });

  test('when no password is given, then one is generated, shown once, and works', async () => {
    const created = await runCli(h, ['user', 'create', '--username', 'ops-auditor', '--role', 'auditor']);
    expect(created.code).toBe(0);
    const password = /password: (\S+)/.exec(created.stdout)?.[1];
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect((await login('ops-auditor', password!)).status).toBe(200);
  });

  test('when a user is disabled, then it can no longer log in', async () => {
    await runCli(h, ['user', 'create', '--username', 'ops-leaver', '--role', 'admin'], {
      HUZHU_PASSWORD: 'another long password',
    });
    expect((await runCli(h, ['user', 'disable', '--username', 'ops-leaver'])).code).toBe(0);
    expect((await login('ops-leaver', 'another long password')).status).toBe(401);
  });

  test('when the input is wrong, then the command says so and exits non-zero', async () => {
    expect((await runCli(h, ['user', 'create', '--username', 'x', '--role', 'boss'])).code).toBe(2);
    expect(
      (await runCli(h, ['user', 'create', '--username', 'shortpw', '--role', 'admin'], { HUZHU_PASSWORD: 'short' }))
        .code,
    ).toBe(1);
    expect((await runCli(h, ['nonsense', 'command'])).code).toBe(2);
  });

  test('when the ledger is checked, then every fund is reported consistent', async () => {
    const checked = await runCli(h, ['ledger', 'check']);
    expect(checked.code).toBe(0);
    const lines = checked.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines[lines.length - 1]).toEqual({ funds: lines.length - 1, consistent: true });
  });
});
