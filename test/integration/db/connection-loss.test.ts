import pg from 'pg';
import { bankCharge, createFund, fundPool, postEntry, randomUUID, type TestFund } from '../../helpers/factories';
import { startHarness, type Harness } from '../../helpers/harness';
import { waitForLockWaiters } from '../../helpers/waits';

/**
 * A connection lost under a request (the server terminated its backend, or went away) is the
 * database being unavailable, never an internal error: the client gets 503 database_unavailable
 * with Retry-After, and a retry with the same Idempotency-Key does the work exactly once.
 */

let h: Harness;
let fund: TestFund;
beforeAll(async () => {
  h = await startHarness();
  fund = await createFund(h);
  await fundPool(h, fund, '1000.00');
});
afterAll(async () => {
  await h.close();
});

/** A session outside the service's pool, on the harness's database. */
async function outsideSession(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: h.databaseUrl });
  await client.connect();
  return client;
}

/** Ends every session of this database but the callers' own: what a crash of the server does to them. */
async function terminateOtherSessions(observer: pg.Client, where = 'true'): Promise<number> {
  const result = await observer.query<{ n: number }>(
    `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND ${where}`,
  );
  return result.rows[0]!.n;
}

async function entriesUnderKey(key: string): Promise<number> {
  const rows = (await h
    .db('journal_entries')
    .where({ fund_id: fund.id })
    .whereLike('idempotency_key', `%:${key}`)
    .count('* as n')) as { n: string }[];
  return Number(rows[0]!.n);
}

test('when the backend of a request in flight is terminated, then it gets 503 database_unavailable with Retry-After, and a retry with the same key posts once', async () => {
  const blocker = await outsideSession();
  const observer = await outsideSession();
  const key = randomUUID();
  try {
    // Hold pool cash's balance row, so the entry waits in the database when its session is ended.
    await blocker.query('BEGIN');
    await blocker.query('SELECT 1 FROM account_balances WHERE account_id = $1 FOR UPDATE', [fund.accounts['1001']]);
    const inFlight = postEntry(h, fund.admin, fund.id, bankCharge('7.00'), key).then((response) => response);
    await waitForLockWaiters(observer);
    expect(await terminateOtherSessions(observer, `wait_event_type = 'Lock'`)).toBe(1);

    const response = await inFlight;
    expect(response.status).toBe(503);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.body.code).toBe('database_unavailable');
    await blocker.query('ROLLBACK');
    expect(await entriesUnderKey(key)).toBe(0);

    const retried = await postEntry(h, fund.admin, fund.id, bankCharge('7.00'), key);
    expect(retried.status).toBe(201);
    const replayed = await postEntry(h, fund.admin, fund.id, bankCharge('7.00'), key);
    expect(replayed.status).toBe(201);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(replayed.body).toEqual(retried.body);
    expect(await entriesUnderKey(key)).toBe(1);
  } finally {
    await blocker.end();
    await observer.end();
  }
});

test('when every session of the pool is terminated while idle, then the next requests get new connections and succeed', async () => {
  // Fill the pool with idle connections, then end them all behind its back.
  await Promise.all(Array.from({ length: 5 }, () => h.http.get(`/api/v1/funds/${fund.id}`).set(fund.admin.auth)));
  const observer = await outsideSession();
  try {
    expect(await terminateOtherSessions(observer)).toBeGreaterThan(0);
  } finally {
    await observer.end();
  }
  // Let the pool's clients read the termination from their sockets.
  await new Promise((resolve) => setTimeout(resolve, 200));
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const response = await h.http.get(`/api/v1/funds/${fund.id}`).set(fund.admin.auth);
    expect(response.status).toBe(200);
  }
  const posted = await postEntry(h, fund.admin, fund.id, bankCharge('1.00'));
  expect(posted.status).toBe(201);
});
