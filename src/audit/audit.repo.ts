import { prepared, type Db, type Trx } from '../db/knex';

/** An audit row with its link in the chain. */
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

const LINKED_COLUMNS = `a.id, a.chain, l.seq, a.fund_id, a.actor_id, a.actor_name, a.actor_role, a.action,
  a.target_type, a.target_id, a.payload, a.request_id, a.created_at, l.prev_hash, l.hash`;

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
 * A statement to run together with the audit insert, as a first CTE (`WITH companion AS (<cte>)`):
 * the command runner stores its idempotent response this way, in the same round trip.
 */
export interface Companion {
  /** Names the prepared statement this combination becomes. */
  name: string;
  cte: string;
  bindings: readonly unknown[];
}

const insertSql = (companion?: Companion): string =>
  `${companion ? `WITH companion AS (${companion.cte}) ` : ''}INSERT INTO audit_log
     (chain, fund_id, actor_id, actor_name, actor_role, action, target_type, target_id, payload,
      request_id, created_at, canonical)
   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?)
   RETURNING id`;

/**
 * Inserts an audit row. It is linked into its chain by the database as the transaction commits
 * (the deferred trigger `audit_log_link`): the chain head is locked there, at the very end, and
 * the row can never commit unlinked.
 */
export async function insertAuditRow(
  trx: Trx,
  row: NewAuditRow,
  canonical: string,
  { companion, commit }: { companion?: Companion | undefined; commit?: boolean | undefined },
): Promise<{ id: string }> {
  const result = await prepared<{ rows: { id: string }[] }>(
    trx,
    companion ? `audit_insert_with_${companion.name}` : 'audit_insert',
    insertSql(companion),
    [
      ...(companion?.bindings ?? []),
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
      canonical,
    ],
    { commit: commit === true },
  );
  const inserted = result.rows[0];
  if (!inserted) throw new Error(`audit row for chain ${row.chain} was not inserted`);
  return inserted;
}

export interface AuditFilter {
  action?: string | undefined;
  targetType?: string | undefined;
  targetId?: string | undefined;
  actorId?: string | undefined;
  /** The request that wrote the record (X-Request-Id): what a journal entry it posted also carries. */
  requestId?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  afterSeq?: string | undefined;
  order: 'asc' | 'desc';
  limit: number;
}

export async function listAuditRows(db: Db, chain: string, filter: AuditFilter): Promise<AuditRow[]> {
  const query = db
    .select(db.raw(LINKED_COLUMNS))
    .from({ l: 'audit_links' })
    .join({ a: 'audit_log' }, 'a.id', 'l.audit_id')
    .where('l.chain', chain)
    .orderBy('l.seq', filter.order)
    .limit(filter.limit);
  if (filter.action) query.andWhere('a.action', filter.action);
  if (filter.targetType) query.andWhere('a.target_type', filter.targetType);
  if (filter.targetId) query.andWhere('a.target_id', filter.targetId);
  if (filter.actorId) query.andWhere('a.actor_id', filter.actorId);
  if (filter.requestId) query.andWhere('a.chain', chain).andWhere('a.request_id', filter.requestId);
  if (filter.from) query.andWhere('a.created_at', '>=', filter.from);
  if (filter.to) query.andWhere('a.created_at', '<', filter.to);
  if (filter.afterSeq) query.andWhere('l.seq', filter.order === 'asc' ? '>' : '<', filter.afterSeq);
  return (await query) as AuditRow[];
}

/** Linked rows of a chain in sequence order, from `afterSeq`, at most `limit`: the verifier's pages. */
export async function chainPage(db: Db, chain: string, afterSeq: string, limit: number): Promise<AuditRow[]> {
  const result = await db.raw<{ rows: AuditRow[] }>(
    `SELECT ${LINKED_COLUMNS}
       FROM audit_links l JOIN audit_log a ON a.id = l.audit_id
      WHERE l.chain = ? AND l.seq > ?
      ORDER BY l.seq
      LIMIT ?`,
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

/** Audit rows of a chain that have no link: none can commit so, unless written behind our back. */
export async function unlinkedRows(db: Db, chain: string): Promise<{ id: string }[]> {
  const result = await db.raw<{ rows: { id: string }[] }>(
    `SELECT a.id FROM audit_log a
      WHERE a.chain = ? AND NOT EXISTS (SELECT 1 FROM audit_links l WHERE l.audit_id = a.id)
      ORDER BY a.created_at
      LIMIT 10`,
    [chain],
  );
  return result.rows;
}
