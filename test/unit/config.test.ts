import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';

const SECRET = 'current-secret-0123456789abcdef-0123';
const OLD_SECRET = 'previous-secret-0123456789abcdef-456';
const DATABASE_URL = 'postgres://huzhu:pw@db.internal:5432/huzhu';

function configErrorOf(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError, but the configuration loaded');
}

describe('loadConfig', () => {
  it('when the environment is empty, then every setting takes its default', () => {
    expect(loadConfig({})).toEqual({
      env: 'development',
      port: 3000,
      host: '127.0.0.1',
      logLevel: 'info',
      databaseUrl: undefined,
      dbPoolMax: 10,
      embeddedRestartsMax: 8,
      dataDir: path.resolve('./var'),
      demo: true,
      jwt: { current: undefined, previous: [], issuer: 'huzhu', audience: 'huzhu-api', ttlSeconds: 3600 },
      login: {
        maxPerIp: 30,
        delayAfterFailuresPerUsernameAndIp: 5,
        delayAfterFailuresPerUsername: 50,
        delayBaseMs: 500,
        delayMaxMs: 5000,
        windowSeconds: 900,
      },
      trustProxy: false,
      holdSweepSeconds: 60,
      shutdownGraceSeconds: 20,
    });
  });

  it('when values are given, then they are parsed into their types', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      PORT: '8080',
      LOG_LEVEL: 'warn',
      DATABASE_URL,
      JWT_SECRET: SECRET,
      JWT_KID: 'k2',
      JWT_TTL_SECONDS: '900',
      TRUST_PROXY: 'yes',
      HUZHU_DATA_DIR: '/srv/huzhu',
    });
    expect(config.env).toBe('production');
    expect(config.port).toBe(8080);
    expect(config.logLevel).toBe('warn');
    expect(config.databaseUrl).toBe(DATABASE_URL);
    expect(config.jwt.current).toEqual({ kid: 'k2', secret: SECRET });
    expect(config.jwt.ttlSeconds).toBe(900);
    expect(config.trustProxy).toBe(true);
    expect(config.dataDir).toBe('/srv/huzhu');
  });

  it.each([
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '70000' }],
    ['PORT', { PORT: '-1' }],
    ['PORT', { PORT: '80.5' }],
    ['DATABASE_URL', { DATABASE_URL: 'notaurl', JWT_SECRET: SECRET }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://db.internal/huzhu', JWT_SECRET: SECRET }],
    ['JWT_SECRET', { JWT_SECRET: 'x'.repeat(31) }],
    ['JWT_PREVIOUS_KEYS', { JWT_PREVIOUS_KEYS: 'no-separator-here' }],
    ['JWT_PREVIOUS_KEYS', { JWT_PREVIOUS_KEYS: `:${OLD_SECRET}` }],
    ['JWT_PREVIOUS_KEYS', { JWT_PREVIOUS_KEYS: `bad kid:${OLD_SECRET}` }],
    ['JWT_PREVIOUS_KEYS', { JWT_PREVIOUS_KEYS: 'old:too-short' }],
    ['JWT_KID', { JWT_KID: 'has space' }],
    ['JWT_TTL_SECONDS', { JWT_TTL_SECONDS: '3601' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['HUZHU_DEMO', { HUZHU_DEMO: 'maybe' }],
    ['TRUST_PROXY', { TRUST_PROXY: 'on' }],
    ['NODE_ENV', { NODE_ENV: 'staging' }],
    ['DB_POOL_MAX', { DB_POOL_MAX: '0' }],
    ['LOGIN_DELAY_BASE_MS', { LOGIN_DELAY_BASE_MS: '0' }],
    ['LOGIN_DELAY_AFTER_FAILURES_PER_USERNAME_AND_IP', { LOGIN_DELAY_AFTER_FAILURES_PER_USERNAME_AND_IP: '0' }],
    ['LOGIN_DELAY_MAX_MS', { LOGIN_DELAY_BASE_MS: '2000', LOGIN_DELAY_MAX_MS: '1000' }],
    ['LOGIN_MAX_FAILURES_PER_USERNAME', { LOGIN_MAX_FAILURES_PER_USERNAME: '5' }],
  ])('when %s is bad (%j), then a ConfigError names the variable', (variable, env) => {
    const error = configErrorOf(env);
    expect(error.name).toBe('ConfigError');
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.startsWith(`${variable}: `)).toBe(true);
    expect(error.message).toContain(`  - ${variable}: `);
  });

  it('when the retired LOGIN_MAX_FAILURES_PER_USERNAME is set, then start-up stops and names its successors', () => {
    const [problem] = configErrorOf({ LOGIN_MAX_FAILURES_PER_USERNAME: '5' }).problems;
    expect(problem).toContain('LOGIN_DELAY_AFTER_FAILURES_PER_USERNAME_AND_IP');
    expect(problem).toContain('LOGIN_DELAY_AFTER_FAILURES_PER_USERNAME ');
  });

  it('when several variables are bad, then every one of them is named', () => {
    const error = configErrorOf({ PORT: 'abc', LOG_LEVEL: 'loud', HUZHU_DEMO: 'maybe' });
    expect(error.problems.map((problem) => problem.split(':')[0]).sort()).toEqual(['HUZHU_DEMO', 'LOG_LEVEL', 'PORT']);
  });

  it('when a secret is 32 bytes but fewer characters, then it is accepted (the limit is in bytes)', () => {
    const secret = '互助基金'.repeat(3); // 12 characters, 36 bytes of UTF-8
    expect(loadConfig({ JWT_SECRET: secret }).jwt.current).toEqual({ kid: 'k1', secret });
  });

  it('when a secret is 31 bytes, then it is refused', () => {
    expect(configErrorOf({ JWT_SECRET: 'x'.repeat(31) }).problems).toEqual([
      'JWT_SECRET: must be at least 32 bytes long',
    ]);
  });

  it('when DATABASE_URL is set without JWT_SECRET, then it is refused', () => {
    const error = configErrorOf({ DATABASE_URL });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.startsWith('JWT_SECRET: required when DATABASE_URL is set')).toBe(true);
  });

  it('when DATABASE_URL is set with an empty JWT_SECRET, then the secret counts as unset and it is refused', () => {
    const error = configErrorOf({ DATABASE_URL, JWT_SECRET: '' });
    expect(error.problems[0]?.startsWith('JWT_SECRET: required when DATABASE_URL is set')).toBe(true);
  });

  it('when variables are empty strings, then they count as unset and take their defaults', () => {
    const config = loadConfig({ PORT: '', LOG_LEVEL: '', DATABASE_URL: '', HUZHU_DEMO: '', JWT_PREVIOUS_KEYS: '' });
    expect(config.port).toBe(3000);
    expect(config.logLevel).toBe('info');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.demo).toBe(true);
    expect(config.jwt.previous).toEqual([]);
  });

  it('when DATABASE_URL uses the postgresql scheme, then it is accepted', () => {
    const url = 'postgresql://huzhu@localhost/huzhu';
    expect(loadConfig({ DATABASE_URL: url, JWT_SECRET: SECRET }).databaseUrl).toBe(url);
  });

  it('when JWT_PREVIOUS_KEYS lists old:<secret>, then it parses into a key', () => {
    const config = loadConfig({ JWT_SECRET: SECRET, JWT_PREVIOUS_KEYS: `old:${OLD_SECRET}` });
    expect(config.jwt.previous).toEqual([{ kid: 'old', secret: OLD_SECRET }]);
  });

  it('when JWT_PREVIOUS_KEYS lists several keys with spaces and a colon inside a secret, then each parses', () => {
    const withColon = `a:b:${OLD_SECRET}`;
    const config = loadConfig({ JWT_PREVIOUS_KEYS: ` k0:${OLD_SECRET} , k-1.x:${withColon}, ` });
    expect(config.jwt.previous).toEqual([
      { kid: 'k0', secret: OLD_SECRET },
      { kid: 'k-1.x', secret: withColon },
    ]);
  });

  it('when a previous kid equals JWT_KID, then it is refused', () => {
    expect(configErrorOf({ JWT_SECRET: SECRET, JWT_PREVIOUS_KEYS: `k1:${OLD_SECRET}` }).problems).toEqual([
      'JWT_PREVIOUS_KEYS: kid "k1" is already the current JWT_KID',
    ]);
    expect(
      configErrorOf({ JWT_SECRET: SECRET, JWT_KID: 'k9', JWT_PREVIOUS_KEYS: `k9:${OLD_SECRET}` }).problems,
    ).toEqual(['JWT_PREVIOUS_KEYS: kid "k9" is already the current JWT_KID']);
  });

  it('when DATABASE_URL is unset, then demo defaults to true', () => {
    expect(loadConfig({}).demo).toBe(true);
  });

  it('when DATABASE_URL is set, then demo defaults to false', () => {
    expect(loadConfig({ DATABASE_URL, JWT_SECRET: SECRET }).demo).toBe(false);
  });

  it.each([
    ['true', true],
    ['1', true],
    ['yes', true],
    ['false', false],
    ['0', false],
    ['no', false],
  ])('when HUZHU_DEMO is %p, then demo is %p whatever DATABASE_URL says', (value, demo) => {
    expect(loadConfig({ HUZHU_DEMO: value }).demo).toBe(demo);
    expect(loadConfig({ HUZHU_DEMO: value, DATABASE_URL, JWT_SECRET: SECRET }).demo).toBe(demo);
  });
});
