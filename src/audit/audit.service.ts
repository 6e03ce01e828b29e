import { createHash } from 'node:crypto';
import { assert } from '../assert';
import type { Actor } from '../auth/principal';
import type { Clock } from '../clock';
import type { Db, Trx } from '../db/knex';
import * as repo from './audit.repo';
import { canonicalJson, isStorableJson } from './canonical-json';

export const SYSTEM_CHAIN = 'system';
/** Rows read per page while verifying a chain: memory stays flat however long the chain is. */
export const VERIFY_PAGE_ROWS = 1000;

export interface AuditEvent {
  fundId: string | null;
  actor: Actor;
  /** `<feature>.<object>.<verb>`, e.g. `ledger.entry.post`. */
  action: string;
  targetType: string;
  targetId: string | null;
  payload: Record<string, unknown>;
  requestId: string | null;
}

export interface AuditRecord {
  id: string;
  seq: string;
  fundId: string | null;
  actor: { id: string | null; name: string; role: string };
  action: string;
  target: { type: string; id: string | null };
  payload: unknown;
  requestId: string | null;
  createdAt: Date;
  prevHash: string;
  hash: string;
}

export interface VerifyResult {
  ok: boolean;
  /** Rows examined, the broken one included. */
  checked: number;
  firstBrokenId: string | null;
  firstBrokenSeq: string | null;
  reason: 'sequence_gap' | 'prev_hash_mismatch' | 'hash_mismatch' | 'head_mismatch' | 'unlinked_row' | null;
  headSeq: string;
  headHash: string;
}

export function chainOf(fundId: string | null): string {
  return fundId ?? SYSTEM_CHAIN;
}

/**
 * The text a row's link hashes, built by the service when it writes the row (and stored with it
 * for the commit-time link) and rebuilt from the row's fields when the chain is verified.
 * Timestamps are ISO 8601 with milliseconds, which PostgreSQL's timestamptz stores exactly.
 */
export function canonicalRecord(row: repo.NewAuditRow): string {
  return canonicalJson({
    chain: row.chain,
    fundId: row.fundId,
    actor: { id: row.actorId, name: row.actorName, role: row.actorRole },
    action: row.action,
    target: { type: row.targetType, id: row.targetId },
    payload: row.payload,
    requestId: row.requestId,
    createdAt: row.createdAt.toISOString(),
  });
}

/** The canonical text of a stored row: what its hash must cover. */
export function canonicalOfStored(row: repo.AuditRow): string {
  return canonicalRecord({
    chain: row.chain,
    fundId: row.fund_id,
    actorId: row.actor_id,
    actorName: row.actor_name,
    actorRole: row.actor_role,
    action: row.action,
    targetType: row.target_type,
    targetId: row.target_id,
    payload: row.payload,
    requestId: row.request_id,
    createdAt: row.created_at,
  });
}

/** SHA-256 over `prev_hash|seq|canonical`, hex: the same formula the database applies on insert. */
export function chainHash(prevHash: string, seq: string, canonical: string): string {
  return createHash('sha256').update(`${prevHash}|${seq}|${canonical}`, 'utf8').digest('hex');
}

export class AuditService {
  constructor(private readonly clock: Clock) {}

  /**
   * Appends the event to its fund's chain inside the caller's transaction. A companion statement,
   * if given, runs in the same round trip; with `commit` the append is the transaction's last
   * statement and commits it, also in that round trip.
   */
  async record(
    trx: Trx,
    event: AuditEvent,
    options: { companion?: repo.Companion; commit?: boolean } = {},
  ): Promise<{ id: string }> {
    assert(isStorableJson(event.payload), `audit payload of ${event.action} is not storable JSON`);
    const row: repo.NewAuditRow = {
      chain: chainOf(event.fundId),
      fundId: event.fundId,
      actorId: event.actor.userId,
      actorName: event.actor.username,
      actorRole: event.actor.role,
      action: event.action,
      targetType: event.targetType,
      targetId: event.targetId,
      payload: event.payload,
      requestId: event.requestId,
      // Millisecond precision, so the timestamp reads back exactly as it was hashed.
      createdAt: new Date(Math.floor(this.clock.now().getTime())),
    };
    return repo.insertAuditRow(trx, row, canonicalRecord(row), options);
  }

  async list(db: Db, fundId: string | null, filter: repo.AuditFilter): Promise<AuditRecord[]> {
    return (await repo.listAuditRows(db, chainOf(fundId), filter)).map(toRecord);
  }

  /**
   * Walks a chain from the first row, recomputing every hash and link, and compares the end with
   * the chain head. Stops at the first broken row and names it.
   */
  async verify(db: Db, fundId: string | null): Promise<VerifyResult> {
    const chain = chainOf(fundId);
    const head = await repo.chainHead(db, chain);
    assert(head, `audit chain ${chain} has no head`);
    let prevHash = repo.GENESIS_HASH;
    let expectedSeq = 1n;
    let checked = 0;
    const broken = (row: repo.AuditRow, reason: VerifyResult['reason']): VerifyResult => ({
      ok: false,
      checked,
      firstBrokenId: row.id,
      firstBrokenSeq: row.seq,
      reason,
      headSeq: head.last_seq,
      headHash: head.last_hash,
    });
    for (;;) {
      const page = await repo.chainPage(db, chain, (expectedSeq - 1n).toString(), VERIFY_PAGE_ROWS);
      for (const row of page) {
        checked += 1;
        if (BigInt(row.seq) !== expectedSeq) return broken(row, 'sequence_gap');
        if (row.prev_hash !== prevHash) return broken(row, 'prev_hash_mismatch');
        const canonical = canonicalOfStored(row);
        if (chainHash(prevHash, row.seq, canonical) !== row.hash) return broken(row, 'hash_mismatch');
        prevHash = row.hash;
        expectedSeq += 1n;
      }
      if (page.length < VERIFY_PAGE_ROWS) break;
    }
    const headIntact = head.last_seq === (expectedSeq - 1n).toString() && head.last_hash === prevHash;
    // A row written with the link trigger disabled has no link: it is outside the chain.
    const [unlinked] = headIntact ? await repo.unlinkedRows(db, chain) : [];
    return {
      ok: headIntact && unlinked === undefined,
      checked,
      firstBrokenId: unlinked?.id ?? null,
      firstBrokenSeq: null,
      reason: !headIntact ? 'head_mismatch' : unlinked ? 'unlinked_row' : null,
      headSeq: head.last_seq,
      headHash: head.last_hash,
    };
  }
}

function toRecord(row: repo.AuditRow): AuditRecord {
  return {
    id: row.id,
    seq: row.seq,
    fundId: row.fund_id,
    actor: { id: row.actor_id, name: row.actor_name, role: row.actor_role },
    action: row.action,
    target: { type: row.target_type, id: row.target_id },
    payload: row.payload,
    requestId: row.request_id,
    createdAt: row.created_at,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
