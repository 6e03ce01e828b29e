import type { Knex } from 'knex';
import type pg from 'pg';

/** Runs SQL outside any open transaction: pg_stat_activity is read once per transaction. */
export type Observer = Knex | Pick<pg.Client, 'query'>;

const LOCK_WAITERS_SQL = `SELECT count(*)::int AS n FROM pg_stat_activity
  WHERE datname = current_database() AND wait_event_type = 'Lock'`;
const POLL_MS = 10;

async function lockWaiters(observer: Observer): Promise<number> {
  const result = (
    'raw' in observer ? await observer.raw(LOCK_WAITERS_SQL) : await observer.query(LOCK_WAITERS_SQL)
  ) as { rows: { n: number }[] };
  return result.rows[0]!.n;
}

/** Until at least `count` sessions of the observer's database wait for a lock; fails after `timeoutMs`. */
export async function waitForLockWaiters(observer: Observer, count = 1, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const waiting = await lockWaiters(observer);
    if (waiting >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${waiting} of ${count} sessions came to wait for a lock`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * A meeting point for `parties` concurrent tasks: each call waits until all of them have called.
 * Calls after that pass at once (a retried transaction passes again).
 */
export function barrier(parties: number): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return async () => {
    arrived += 1;
    if (arrived === parties) open();
    await opened;
  };
}
