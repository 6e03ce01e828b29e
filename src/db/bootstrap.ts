import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KnexTimeoutError, type Knex } from 'knex';
import type { Logger } from 'pino';
import { SettingError, type Config, type JwtKey } from '../config';
import { DatabaseUnavailable, isDatabaseUnavailable } from './connection-loss';
import { EmbeddedPostgres, type EmbeddedState } from './embedded';
import { createDb } from './knex';

export const EMBEDDED_DATABASE = 'huzhu';

/**
 * `up`: the database is there, or is external (then only a query can tell; /readyz asks);
 * `recovering`: the embedded server died and is being restarted; `unrecoverable`: it could not be
 * restarted, and only a restart of the service can help.
 */
export type DatabaseHealth = 'up' | 'recovering' | 'unrecoverable';

export interface Database {
  db: Knex;
  /** Set when we started (or adopted) the embedded server. */
  embedded: EmbeddedPostgres | undefined;
  health(): DatabaseHealth;
  /** Closes the pool, then stops the embedded server if we own it. */
  close(): Promise<void>;
}

const HEALTH_OF_EMBEDDED: Record<EmbeddedState, DatabaseHealth> = {
  running: 'up',
  restarting: 'recovering',
  failed: 'unrecoverable',
  // Only while the service itself shuts down.
  stopped: 'recovering',
};

/**
 * The database the config points at: DATABASE_URL, or an embedded PostgreSQL whose data lives in
 * `<HUZHU_DATA_DIR>/postgres`, started (or, for the CLI next to a running server, attached to).
 * With `restart` (the service), an embedded server that dies is started again (ADR 0006).
 */
export async function openDatabase(
  config: Config,
  logger: Logger,
  options: { whenRunning: 'attach' | 'adopt'; restart?: boolean },
): Promise<Database> {
  let connectionString = config.databaseUrl;
  let embedded: EmbeddedPostgres | undefined;
  if (connectionString === undefined) {
    prepareDataDir(config.dataDir);
    const log = logger.child({ component: 'postgres' });
    embedded = await EmbeddedPostgres.start({
      dataDir: config.dataDir,
      durable: true,
      whenRunning: options.whenRunning,
      restarts: options.restart ? { attemptsMax: config.embeddedRestartsMax } : undefined,
      onLog: (level, line) => log[level](line),
    });
    await embedded.ensureDatabase(EMBEDDED_DATABASE);
    connectionString = embedded.connectionString(EMBEDDED_DATABASE);
    logger.info({ port: embedded.port, dataDir: config.dataDir }, 'embedded PostgreSQL ready');
  }
  const poolLog = logger.child({ component: 'pool' });
  const db = createDb({
    connectionString,
    poolMax: config.dbPoolMax,
    onLog: (level, message) => poolLog[level](message),
  });
  if (config.databaseUrl !== undefined) {
    await checkDatabaseUrl(db, config.databaseUrl).catch(async (error: unknown) => {
      await db.destroy();
      throw error;
    });
  }
  return {
    db,
    embedded,
    health: () => (embedded === undefined ? 'up' : HEALTH_OF_EMBEDDED[embedded.state]),
    close: async () => {
      await db.destroy();
      await embedded?.stop();
    },
  };
}

/**
 * The signing key: JWT_SECRET when set (required with DATABASE_URL); otherwise, for the embedded
 * demo, a random secret kept in `<HUZHU_DATA_DIR>/jwt-secret` so tokens survive a restart.
 */
export function resolveJwtKey(config: Config): JwtKey {
  if (config.jwt.current) return config.jwt.current;
  const file = path.join(config.dataDir, 'jwt-secret');
  fs.mkdirSync(config.dataDir, { recursive: true });
  if (!fs.existsSync(file)) fs.writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  return { kid: 'local', secret: fs.readFileSync(file, 'utf8').trim() };
}

/**
 * Makes sure HUZHU_DATA_DIR is a directory we can write to, creating it and its parents when
 * missing. Each level is made by itself: Node's recursive mkdir loops forever where a parent exists
 * but cannot hold a directory (`/proc/nope`), and a plain mkdir reports that at once.
 */
export function prepareDataDir(dataDir: string): void {
  const fix = 'point HUZHU_DATA_DIR at a directory you can write to';
  let found: fs.Stats | undefined;
  try {
    found = fs.statSync(dataDir);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT')
      throw new SettingError('HUZHU_DATA_DIR', `cannot use ${dataDir} (${errorCode(error)})`, fix);
  }
  if (found !== undefined && !found.isDirectory()) {
    throw new SettingError(
      'HUZHU_DATA_DIR',
      `${dataDir} is ${found.isFile() ? 'a file' : 'something other than a directory'}, not a directory`,
      'point HUZHU_DATA_DIR at a directory (it is created if missing)',
    );
  }
  if (found === undefined) {
    try {
      makeDirectories(dataDir);
    } catch (error) {
      throw new SettingError('HUZHU_DATA_DIR', `cannot create ${dataDir} (${errorCode(error)})`, fix);
    }
  }
  try {
    fs.accessSync(dataDir, fs.constants.W_OK | fs.constants.X_OK);
  } catch (error) {
    throw new SettingError('HUZHU_DATA_DIR', `cannot write to ${dataDir} (${errorCode(error)})`, fix);
  }
}

function makeDirectories(dir: string): void {
  const parent = path.dirname(dir);
  if (parent !== dir && !fs.existsSync(parent)) makeDirectories(parent);
  try {
    fs.mkdirSync(dir);
  } catch (error) {
    // Made meanwhile by someone else: as good.
    if (errorCode(error) !== 'EEXIST' || !fs.statSync(dir).isDirectory()) throw error;
  }
}

/**
 * Connects once to the DATABASE_URL server, so that a URL that does not work stops start-up with
 * one line saying why (without the password) rather than a stack from the first migration.
 */
async function checkDatabaseUrl(db: Knex, connectionString: string): Promise<void> {
  try {
    await db.raw('SELECT 1');
  } catch (error) {
    throw databaseUrlProblem(connectionString, error);
  }
}

function databaseUrlProblem(connectionString: string, error: unknown): SettingError {
  const url = new URL(connectionString);
  const where = `${url.hostname}:${url.port || '5432'}`;
  const cause = error instanceof DatabaseUnavailable ? error.cause : error;
  const code = errorCode(cause);
  const said = (cause instanceof Error ? cause.message : String(cause)).split('\n')[0]!;
  if (cause instanceof KnexTimeoutError) {
    return new SettingError(
      'DATABASE_URL',
      `no answer from ${where} in time`,
      'check the host and port in the URL and that no firewall drops the connection',
    );
  }
  if (code === '28P01' || code === '28000') {
    return new SettingError(
      'DATABASE_URL',
      `${where} refused the login (${said})`,
      'check the user and password in the URL',
    );
  }
  if (code === '3D000') {
    return new SettingError('DATABASE_URL', `${said} on ${where}`, 'create the database or fix its name in the URL');
  }
  if (isDatabaseUnavailable(error)) {
    return new SettingError(
      'DATABASE_URL',
      `cannot connect to ${where} (${code ?? said})`,
      'check that PostgreSQL is running and the URL is right',
    );
  }
  return new SettingError('DATABASE_URL', `cannot use ${where} (${said})`, 'check the URL');
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
