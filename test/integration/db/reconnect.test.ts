import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import request from 'supertest';
import { createApp, createServices } from '../../../src/app';
import { loadConfig } from '../../../src/config';
import { openDatabase, type Database } from '../../../src/db/bootstrap';
import { DatabaseUnavailable } from '../../../src/db/connection-loss';
import { EmbeddedPostgres } from '../../../src/db/embedded';
import { inTransaction } from '../../../src/db/transaction';
import { TEST_JWT_KEY, TestClock } from '../../helpers/harness';

/**
 * With DATABASE_URL the server is someone else's: when it goes away and comes back, the pool drops
 * its dead connections and opens new ones by itself; meanwhile readiness fails, liveness holds.
 * The server here is a separate embedded PostgreSQL on a fixed port, stopped and started again.
 */

let dataDir: string;
let server: EmbeddedPostgres | undefined;
let database: Database | undefined;
beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'huzhu-reconnect-'));
  fs.chmodSync(dataDir, 0o755);
});
afterEach(async () => {
  await database?.close();
  await server?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address() as net.AddressInfo;
      probe.close(() => resolve(address.port));
    });
  });
}

async function statusUntil(get: () => Promise<number>, wanted: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = await get();
  while (last !== wanted) {
    if (Date.now() > deadline) throw new Error(`still ${last}, not ${wanted}, after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    last = await get();
  }
}

test('when the DATABASE_URL server stops and starts again, then requests fail as unavailable meanwhile and the pool reconnects by itself', async () => {
  const port = await freePort();
  server = await EmbeddedPostgres.start({ dataDir, port, durable: false });
  await server.ensureDatabase('huzhu');
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: server.connectionString('huzhu'),
    JWT_SECRET: TEST_JWT_KEY.secret,
    DB_POOL_MAX: '4',
  });
  database = await openDatabase(config, pino({ level: 'silent' }), { whenRunning: 'adopt', restart: true });
  const { db } = database;
  const clock = new TestClock();
  const app = createApp({
    db,
    config,
    logger: pino({ level: 'silent' }),
    clock,
    services: createServices(db, config, clock, TEST_JWT_KEY),
    databaseHealth: () => database!.health(),
  });
  const http = request(app);
  await db.raw('CREATE TABLE probe (id int PRIMARY KEY)');
  // Every connection of the pool in use once, so that all of them die with the server.
  await Promise.all(Array.from({ length: 4 }, () => db.raw('SELECT pg_sleep(0.05)')));
  expect((await http.get('/readyz')).status).toBe(200);

  await server.stop();
  const down = await db.raw('SELECT 1').catch((error: unknown) => error);
  expect(down).toBeInstanceOf(DatabaseUnavailable);
  const notReady = await http.get('/readyz');
  expect(notReady.status).toBe(503);
  expect(notReady.body.code).toBe('database_unavailable');
  expect((await http.get('/healthz')).status).toBe(200);

  server = await EmbeddedPostgres.start({ dataDir, port, durable: false });
  await statusUntil(async () => (await http.get('/readyz')).status, 200);
  await inTransaction(db, (trx) => trx('probe').insert({ id: 1 }));
  expect(await db('probe').pluck('id')).toEqual([1]);
});
