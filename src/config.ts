import path from 'node:path';
import { z } from 'zod';

/**
 * Configuration comes only from the environment and is parsed once, at start-up. A bad value stops
 * the process with a message that names the variable, so a typo never turns into a silent default.
 */

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const secretFromEnv = z
  .string()
  .refine((value) => Buffer.byteLength(value, 'utf8') >= 32, 'must be at least 32 bytes long');

/** `kid:secret` pairs separated by commas: keys that are still accepted while tokens roll over. */
const previousKeysFromEnv = z.string().transform((value, ctx) => {
  const keys: JwtKey[] = [];
  for (const pair of value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const separator = pair.indexOf(':');
    const kid = pair.slice(0, separator);
    const secret = pair.slice(separator + 1);
    if (separator <= 0 || !/^[A-Za-z0-9._-]{1,64}$/.test(kid)) {
      ctx.addIssue({ code: 'custom', message: `"${pair.slice(0, 16)}…" is not kid:secret` });
      return z.NEVER;
    }
    if (Buffer.byteLength(secret, 'utf8') < 32) {
      ctx.addIssue({ code: 'custom', message: `the secret of key "${kid}" is shorter than 32 bytes` });
      return z.NEVER;
    }
    keys.push({ kid, secret });
  }
  return keys;
});

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  EMBEDDED_RESTARTS_MAX: z.coerce.number().int().min(0).max(100).default(8),
  HUZHU_DATA_DIR: z.string().min(1).default('./var'),
  HUZHU_DEMO: booleanFromEnv.optional(),
  JWT_SECRET: secretFromEnv.optional(),
  JWT_KID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, dot, dash or underscore (1–64)')
    .default('k1'),
  JWT_PREVIOUS_KEYS: previousKeysFromEnv.optional(),
  JWT_ISSUER: z.string().min(1).default('huzhu'),
  JWT_AUDIENCE: z.string().min(1).default('huzhu-api'),
  JWT_TTL_SECONDS: z.coerce.number().int().min(60).max(3600).default(3600),
  LOGIN_MAX_PER_IP: z.coerce.number().int().min(1).max(100_000).default(30),
  LOGIN_DELAY_AFTER_FAILURES_PER_USERNAME_AND_IP: z.coerce.number().int().min(1).max(1000).default(5),
  LOGIN_DELAY_AFTER_FAILURES_PER_USERNAME: z.coerce.number().int().min(1).max(100_000).default(50),
  LOGIN_DELAY_BASE_MS: z.coerce.number().int().min(1).max(60_000).default(500),
  LOGIN_DELAY_MAX_MS: z.coerce.number().int().min(1).max(60_000).default(5000),
  LOGIN_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(900),
  TRUST_PROXY: booleanFromEnv.default(false),
  HOLD_SWEEP_SECONDS: z.coerce.number().int().min(0).max(86_400).default(60),
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(1).max(300).default(20),
});

export interface JwtKey {
  kid: string;
  secret: string;
}

export interface Config {
  env: 'development' | 'test' | 'production';
  port: number;
  host: string;
  logLevel: string;
  /** External PostgreSQL; when absent an embedded server is started under `dataDir`. */
  databaseUrl: string | undefined;
  dbPoolMax: number;
  /** Attempts in a row to restart the embedded server after it died; then the service is unhealthy. */
  embeddedRestartsMax: number;
  dataDir: string;
  demo: boolean;
  jwt: {
    /** Absent only when the embedded server provides one kept in `dataDir`. */
    current: JwtKey | undefined;
    previous: JwtKey[];
    issuer: string;
    audience: string;
    ttlSeconds: number;
  };
  login: LoginLimits;
  trustProxy: boolean;
  holdSweepSeconds: number;
  shutdownGraceSeconds: number;
}

/**
 * Login throttling (docs/adr/0005-auth.md): attempts per address are refused past `maxPerIp`;
 * failures slow later attempts down, never lock a username out.
 */
export interface LoginLimits {
  /** Attempts per client address in a window; more are refused (429). */
  maxPerIp: number;
  /** Failures of one username from one address answered at once; later attempts from there wait. */
  delayAfterFailuresPerUsernameAndIp: number;
  /** Failures of one username from all addresses answered at once; later attempts from anywhere wait. */
  delayAfterFailuresPerUsername: number;
  /** The first wait; each further failure doubles it, up to `delayMaxMs`. */
  delayBaseMs: number;
  delayMaxMs: number;
  windowSeconds: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * A setting that parses but does not work where it points (a server that does not answer, a
 * directory that cannot be made): one line that names the variable, what is wrong and the fix.
 */
export class SettingError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
    fix: string,
  ) {
    super(`${variable}: ${problem}; ${fix}`);
    this.name = 'SettingError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty (or blank) variables count as unset: `PORT= npm start` means "default", and a blank
  // value never coerces to 0.
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const e = parsed.data;
  if (e.DATABASE_URL !== undefined && e.JWT_SECRET === undefined) {
    throw new ConfigError([
      'JWT_SECRET: required when DATABASE_URL is set (at least 32 bytes, e.g. `openssl rand -hex 32`)',
    ]);
  }
  if (present.LOGIN_MAX_FAILURES_PER_USERNAME !== undefined) {
    // It locked a username out for everyone; its successor only slows one address down.
    throw new ConfigError([
      'LOGIN_MAX_FAILURES_PER_USERNAME: no longer used; failed logins now slow answers down instead of locking the username out. Set LOGIN_DELAY_AFTER_FAILURES_PER_USERNAME_AND_IP (one address) and LOGIN_DELAY_AFTER_FAILURES_PER_USERNAME (all addresses) instead',
    ]);
  }
  if (e.LOGIN_DELAY_MAX_MS < e.LOGIN_DELAY_BASE_MS) {
    throw new ConfigError([
      `LOGIN_DELAY_MAX_MS: ${e.LOGIN_DELAY_MAX_MS} is below LOGIN_DELAY_BASE_MS (${e.LOGIN_DELAY_BASE_MS})`,
    ]);
  }
  const previous = e.JWT_PREVIOUS_KEYS ?? [];
  if (previous.some((key) => key.kid === e.JWT_KID)) {
    throw new ConfigError([`JWT_PREVIOUS_KEYS: kid "${e.JWT_KID}" is already the current JWT_KID`]);
  }
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    databaseUrl: e.DATABASE_URL,
    dbPoolMax: e.DB_POOL_MAX,
    embeddedRestartsMax: e.EMBEDDED_RESTARTS_MAX,
    dataDir: path.resolve(e.HUZHU_DATA_DIR),
    demo: e.HUZHU_DEMO ?? e.DATABASE_URL === undefined,
    jwt: {
      current: e.JWT_SECRET === undefined ? undefined : { kid: e.JWT_KID, secret: e.JWT_SECRET },
      previous,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      ttlSeconds: e.JWT_TTL_SECONDS,
    },
    login: {
      maxPerIp: e.LOGIN_MAX_PER_IP,
      delayAfterFailuresPerUsernameAndIp: e.LOGIN_DELAY_AFTER_FAILURES_PER_USERNAME_AND_IP,
      delayAfterFailuresPerUsername: e.LOGIN_DELAY_AFTER_FAILURES_PER_USERNAME,
      delayBaseMs: e.LOGIN_DELAY_BASE_MS,
      delayMaxMs: e.LOGIN_DELAY_MAX_MS,
      windowSeconds: e.LOGIN_WINDOW_SECONDS,
    },
    trustProxy: e.TRUST_PROXY,
    holdSweepSeconds: e.HOLD_SWEEP_SECONDS,
    shutdownGraceSeconds: e.SHUTDOWN_GRACE_SECONDS,
  };
}
