import type { Companion } from '../audit/audit.repo';
import { prepared, type Db, type Trx } from '../db/knex';

export interface IdempotencyRow {
  user_id: string;
  key: string;
  fund_id: string | null;
  method: string;
  path: string;
  request_hash: string;
  response_status: number | null;
  response_body: unknown;
  created_at: Date;
}

/**
 * Claims a key for this transaction. A concurrent request holding the same key makes this wait
 * until it commits (then the claim fails and its stored response is replayed) or rolls back (then
 * the claim succeeds).
 */
export async function claimKey(
  trx: Trx,
  claim: { userId: string; key: string; fundId: string | null; method: string; path: string; requestHash: string },
): Promise<boolean> {
  const result = await prepared<{ rowCount: number }>(
    trx,
    'idempotency_claim',
    `INSERT INTO idempotency_keys (user_id, key, fund_id, method, path, request_hash)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (user_id, key) DO NOTHING`,
    [claim.userId, claim.key, claim.fundId, claim.method, claim.path, claim.requestHash],
  );
  return result.rowCount === 1;
}

export async function findKey(db: Db, userId: string, key: string): Promise<IdempotencyRow | undefined> {
  const result = await db.raw<{ rows: IdempotencyRow[] }>(
    'SELECT * FROM idempotency_keys WHERE user_id = ? AND key = ?',
    [userId, key],
  );
  return result.rows[0];
}

/**
 * Stores the response of a claimed key, as a companion of the command's audit append (one round
 * trip for both; see AuditService.record).
 */
export function storeResponseCompanion(userId: string, key: string, status: number, body: unknown): Companion {
  return {
    name: 'idempotency_response',
    cte: 'UPDATE idempotency_keys SET response_status = ?, response_body = ?::jsonb WHERE user_id = ? AND key = ? RETURNING 1',
    bindings: [status, JSON.stringify(body), userId, key],
  };
}

/**
 * Records a key with its response in one insert, as a companion of the command's audit append; a
 * key used meanwhile makes the statement fail on the primary key (see ClaimMode `ledger-entry`).
 */
export function insertResponseCompanion(
  claim: { userId: string; key: string; fundId: string | null; method: string; path: string; requestHash: string },
  status: number,
  body: unknown,
): Companion {
  return {
    name: 'idempotency_insert_response',
    cte: `INSERT INTO idempotency_keys (user_id, key, fund_id, method, path, request_hash, response_status, response_body)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?::jsonb) RETURNING 1`,
    bindings: [
      claim.userId,
      claim.key,
      claim.fundId,
      claim.method,
      claim.path,
      claim.requestHash,
      status,
      JSON.stringify(body),
    ],
  };
}

/**
 * Keys are kept long enough for any client's retries, then dropped. Their age is read on the
 * database's clock, which stamped created_at and by which the database refuses to delete a key
 * younger than its retention floor (trigger idempotency_keys_respond_once): a service clock ahead
 * of the database's would otherwise ask for keys the database still keeps.
 */
export async function purgeKeysOlderThan(db: Db, retentionDays: number): Promise<number> {
  const result = await db.raw<{ rowCount: number }>(
    'DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(days => ?)',
    [retentionDays],
  );
  return result.rowCount;
}
