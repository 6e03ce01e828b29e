import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Config, JwtKey } from '../config';
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
