import { prepared, type Db, type Trx } from '../db/knex';

export interface AuditRow {
  id: string;
  chain: string;
  seq: string;
  fund_id: string | null;
  actor_id: string | null;
  actor_name: string;
  actor_role: string;
  action: string;
  target_type: string;
  target_id: string | null;
  payload: unknown;
  request_id: string | null;
  created_at: Date;
  prev_hash: string;
  hash: string;
}

const AUDIT_COLUMNS = `id, chain, seq, fund_id, actor_id, actor_name, actor_role, action, target_type,
  target_id, payload, request_id, created_at, prev_hash, hash`;

export interface NewAuditRow {
  chain: string;
  fundId: string | null;
  actorId: string | null;
  actorName: string;
  actorRole: string;
  action: string;
  targetType: string;
  targetId: string | null;
  payload: unknown;
  requestId: string | null;
  createdAt: Date;
}

export const GENESIS_HASH = '0'.repeat(64);

export async function createChain(trx: Trx, fundId: string): Promise<void> {
  await trx.raw(
    `INSERT INTO audit_chain_heads (chain, fund_id, last_seq, prev_hash, last_hash) VALUES (?, ?, 0, ?, ?)`,
    [fundId, fundId, GENESIS_HASH, GENESIS_HASH],
  );
}

/**
 * A statement to run together with the audit append, as a first CTE (`WITH <name> AS (<sql>)`):
 * the command runner stores its idempotent response this way, in the same round trip. It must
 * return a row; it runs before the chain head is locked, so the head is held no longer for it.
 */
export interface Companion {
  /** Names the prepared statement this combination becomes. */
  name: string;
  cte: string;
  bindings: readonly unknown[];
}

const appendSql = (companion?: Companion): string => `WITH ${companion ? `companion AS (${companion.cte}),` : ''}
     head AS (
       UPDATE audit_chain_heads
          SET last_seq = last_seq + 1,
              prev_hash = last_hash,
              last_hash = encode(sha256(convert_to(last_hash || '|' || (last_seq + 1)::text || '|' || ?, 'UTF8')), 'hex')
        WHERE chain = ?${companion ? ' AND EXISTS (SELECT 1 FROM companion)' : ''}
       RETURNING last_seq, prev_hash, last_hash
     )
     INSERT INTO audit_log (chain, seq, fund_id, actor_id, actor_name, actor_role, action, target_type,
                            target_id, payload, request_id, created_at, prev_hash, hash)
     SELECT ?, head.last_seq, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, head.prev_hash, head.last_hash FROM head
     RETURNING id, seq, hash`;

/**
 * Appends a row to its chain in one statement: the head row is locked and advanced, and the new
 * hash is SHA-256(prev_hash | seq | canonical JSON), computed by the database from the previous
 * hash it holds. The head stays locked until commit, so rows of a chain are appended one at a time.
 */
export async function appendAuditRow(
  trx: Trx,
  row: NewAuditRow,
  canonical: string,
  companion?: Companion,
): Promise<AuditReceipt> {
  const result = await prepared<{ rows: AuditReceipt[] }>(
    trx,
    companion ? `audit_append_with_${companion.name}` : 'audit_append',
    appendSql(companion),
    [
      ...(companion?.bindings ?? []),
      canonical,
      row.chain,
      row.chain,
      row.fundId,
      row.actorId,
      row.actorName,
      row.actorRole,
      row.action,
      row.targetType,
      row.targetId,
      JSON.stringify(row.payload),
      row.requestId,
      row.createdAt,
    ],
  );
  const inserted = result.rows[0];
  if (!inserted) throw new Error(`audit chain ${row.chain} has no head`);
  return inserted;
}

/** Where an appended row landed in its chain. */
export interface AuditReceipt {
  id: string;
  seq: string;
  hash: string;
}

export interface AuditFilter {
  action?: string | undefined;
  targetType?: string | undefined;
  targetId?: string | undefined;
  actorId?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  afterSeq?: string | undefined;
  order: 'asc' | 'desc';
  limit: number;
}

export async function listAuditRows(db: Db, chain: string, filter: AuditFilter): Promise<AuditRow[]> {
  const query = db
    .select(db.raw(AUDIT_COLUMNS))
    .from('audit_log')
    .where('chain', chain)
    .orderBy('seq', filter.order)
    .limit(filter.limit);
  if (filter.action) query.andWhere('action', filter.action);
  if (filter.targetType) query.andWhere('target_type', filter.targetType);
  if (filter.targetId) query.andWhere('target_id', filter.targetId);
  if (filter.actorId) query.andWhere('actor_id', filter.actorId);
  if (filter.from) query.andWhere('created_at', '>=', filter.from);
  if (filter.to) query.andWhere('created_at', '<', filter.to);
  if (filter.afterSeq) query.andWhere('seq', filter.order === 'asc' ? '>' : '<', filter.afterSeq);
  return (await query) as AuditRow[];
}

/** Rows of a chain in sequence order, from `afterSeq`, at most `limit`: the verifier's pages. */
export async function chainPage(db: Db, chain: string, afterSeq: string, limit: number): Promise<AuditRow[]> {
  const result = await db.raw<{ rows: AuditRow[] }>(
    `SELECT ${AUDIT_COLUMNS} FROM audit_log WHERE chain = ? AND seq > ? ORDER BY seq LIMIT ?`,
    [chain, afterSeq, limit],
  );
  return result.rows;
}

export async function chainHead(db: Db, chain: string): Promise<{ last_seq: string; last_hash: string } | undefined> {
  const result = await db.raw<{ rows: { last_seq: string; last_hash: string }[] }>(
    'SELECT last_seq, last_hash FROM audit_chain_heads WHERE chain = ?',
    [chain],
  );
  return result.rows[0];
}
