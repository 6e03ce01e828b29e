import fs from 'node:fs';
import pg from 'pg';
import type { EmbeddedPostgres } from '../src/db/embedded';

export default async function globalTeardown(): Promise<void> {
  const state = (globalThis as { __HUZHU_TEST_PG__?: { server: EmbeddedPostgres; dataDir: string } }).__HUZHU_TEST_PG__;
  if (state) {
    await state.server.stop();
    fs.rmSync(state.dataDir, { recursive: true, force: true });
    return;
  }
  // An external server: drop the template and any copy a crashed worker left behind.
  const admin = new pg.Client({ connectionString: process.env.HUZHU_TEST_ADMIN_URL });
  await admin.connect();
  try {
    const template = process.env.HUZHU_TEST_TEMPLATE ?? '';
    const leftovers = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE $2`,
      [template, `${template.replace('template', 'test')}%`],
    );
    for (const { datname } of leftovers.rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}"`);
  } finally {
    await admin.end();
  }
}
