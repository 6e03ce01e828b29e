import type { Server } from 'node:http';
import pino, { type Logger } from 'pino';
import { DEMO_USERS, seedDemo } from '../seeds/demo';
import { API_PREFIX, createApp, createServices } from './app';
import { systemClock } from './clock';
import { ConfigError, loadConfig, SettingError, type Config } from './config';
import { openDatabase, resolveJwtKey } from './db/bootstrap';
import { migrateLatest } from './db/migrate';
import { answerClientErrors } from './http/client-error';
import { scheduleJobs } from './jobs/jobs';

/**
 * Start-up: configuration → database (embedded unless DATABASE_URL) → migrations → demo seed →
 * HTTP → jobs. SIGTERM or SIGINT: stop taking new requests and report not-ready, let requests in
 * flight finish (up to SHUTDOWN_GRACE_SECONDS), stop the jobs, close the pool, stop PostgreSQL.
 */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = pino({ level: config.logLevel, base: { service: 'huzhu' } });
  const database = await openDatabase(config, logger, { whenRunning: 'adopt', restart: true });
  let draining = false;
  try {
    const applied = await migrateLatest(database.db);
    if (applied.length > 0) logger.info({ migrations: applied }, 'migrations applied');
    const services = createServices(database.db, config, systemClock, resolveJwtKey(config));
    const seeded = config.demo
      ? await seedDemo({ db: database.db, config, clock: systemClock, logger })
      : { seeded: false };
    if (seeded.seeded) logger.info({ fundId: seeded.fundId }, 'demo fund seeded');
    const app = createApp({
      db: database.db,
      config,
      logger,
      clock: systemClock,
      services,
      isDraining: () => draining,
      databaseHealth: () => database.health(),
    });
    const server = await listen(app, config, logger);
    const stopJobs = scheduleJobs({ db: database.db, clock: systemClock, services, logger }, config.holdSweepSeconds);
    printBanner(server, config);
    const shutdown = async (signal: string): Promise<void> => {
      if (draining) return;
      draining = true;
      logger.info({ signal }, 'shutting down: draining requests');
      await closeServer(server, config.shutdownGraceSeconds * 1000, logger);
      await stopJobs();
      await database.close();
      logger.info('stopped');
      process.exit(0);
    };
    process.on('SIGTERM', (signal) => void shutdown(signal));
    process.on('SIGINT', (signal) => void shutdown(signal));
  } catch (error) {
    await database.close().catch(() => undefined);
    throw error;
  }
}

function listen(app: ReturnType<typeof createApp>, config: Config, logger: Logger): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(config.port, config.host, (error?: Error) => (error ? reject(error) : resolve(server)));
    server.once('error', reject);
    answerClientErrors(server, logger);
  });
}

function closeServer(server: Server, graceMs: number, logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      logger.warn({ graceMs }, 'grace period over: closing remaining connections');
      server.closeAllConnections();
    }, graceMs);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    // Keep-alive connections with no request in flight would otherwise hold the server open.
    server.closeIdleConnections();
  });
}

function printBanner(server: Server, config: Config): void {
  const address = server.address();
  const port = address && typeof address === 'object' ? address.port : config.port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const base = `http://${host}:${port}`;
  const lines = [
    '',
    `Huzhu is running at ${base}`,
    `  API        ${base}${API_PREFIX}`,
    `  API docs   ${base}/docs  (OpenAPI: ${base}${API_PREFIX}/openapi.json)`,
    `  Health     ${base}/healthz  ${base}/readyz`,
    config.databaseUrl ? '  Database   DATABASE_URL' : `  Database   embedded PostgreSQL, data in ${config.dataDir}`,
  ];
  if (config.demo) {
    lines.push('', '  Demo logins (demo mode only; POST /api/v1/auth/login):');
    for (const user of DEMO_USERS)
      lines.push(`    ${user.role.padEnd(10)} ${user.username.padEnd(10)} ${user.password}`);
  }
  lines.push('', 'Stop with Ctrl-C (SIGINT) or SIGTERM.', '');
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  // A setting that does not work: its one line says what to change, a stack would only hide it.
  if (error instanceof SettingError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(
    `huzhu failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
