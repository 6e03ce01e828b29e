import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { EmbeddedPostgres } from '../src/db/embedded';
import { createDb } from '../src/db/knex';
import { migrateLatest } from '../src/db/migrate';

/**
 * Starts one PostgreSQL for the run (embedded unless TEST_DATABASE_URL is set), migrates a template
 * database once, and tells the workers where it is. Each test file then copies the template.
 */
export default async function globalSetup(): Promise<void> {
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (adminUrl === undefined || adminUrl === '') {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'huzhu-test-'));
    // The server may run as the postgres user (when we are root): let it through the directory.
    fs.chmodSync(dataDir, 0o755);
    const server = await EmbeddedPostgres.start({ dataDir, durable: false });
    Object.assign(globalThis, { __HUZHU_TEST_PG__: { server, dataDir } });
    adminUrl = server.connectionString('postgres');
  }
  const template = `huzhu_template_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${template}`);
    await admin.query(`CREATE DATABASE ${template}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${template}`;
  const db = createDb({ connectionString: url.toString(), poolMax: 1 });
  try {
    await migrateLatest(db);
  } finally {
    await db.destroy();
  }
  process.env.HUZHU_TEST_ADMIN_URL = adminUrl;
  process.env.HUZHU_TEST_TEMPLATE = template;
}
