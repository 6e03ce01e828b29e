import type { Db, Trx } from '../db/knex';
import type { EdgeKind } from './graph';

/**
 * SQL of the guarantee graph. Every function takes the connection or transaction first.
 *
 * The live graph is loaded in ONE statement: the UNION ALL of every edge source below, each
 * returning the same columns. A source is a SELECT with one binding, the fund id. Guarantees of
 * other kinds become new entries of EDGE_SOURCES, nothing else. A joint guarantee group's
 * guarantees are loan guarantees marked with the group (`joint_group_id`), with the share of each
 * member that its capacity counts (`capacity_share`, ADR 0016).
 */

// knex treats every "?" in raw SQL as a binding: the SQL below contains no other "?".

export interface EdgeRow {
  kind: EdgeKind;
  guarantor_member_id: string;
  borrower_member_id: string;
  loan_id: string;
  loan_number: number;
  lender: string;
  guarantee_id: string;
  guarantee_status: string;
  /** What the guarantor still stands behind on this edge, 2 decimals. */
  outstanding: string;
  circle_flagged: boolean;
  /** The joint guarantee group the guarantee was given as a member of (ADR 0016); null otherwise. */
  joint_group_id: string | null;
  /**
   * What the edge counts towards the guarantor's capacity: `outstanding`, or for a joint group's
   * guarantee its equal share among the loan's group guarantors (rule S1 of ADR 0016), 2 decimals.
   */
  capacity_share: string;
}

/** Loan states in which guarantees no longer bind: the loan was never made or is paid back. */
export const CLOSED_LOAN_STATES = ['rejected', 'repaid', 'withdrawn', 'cancelled'] as const;

interface EdgeSource {
  kind: EdgeKind;
  /** A SELECT of the EdgeRow columns for the fund bound to its one "?". */
  sql: string;
}

/**
 * Guarantees of pool, peer and bank loans (one table; a bank loan's edges carry lender 'bank',
 * docs/adr/0017-bank-loans.md). Accepted ones count at the pledged amount; active ones at the
 * amount less what standing repayments released (rule R-release in repayments.service.ts) and
 * what the guarantor paid under recovery calls: the same figure the memo account
 * 7001:<guarantor> holds for them. A written-off loan stays in the
 * graph: a write-off does not release its guarantors.
 *
 * A joint group's guarantees (ADR 0016) are rows of this source too, marked with their group. What
 * each edge counts toward its guarantor's capacity is rule S1, the database function
 * guarantee_capacity_share (migration 20261203000100): it takes the guarantee's columns as values,
 * so no alias of this statement can change what it counts.
 */
const LOAN_GUARANTEES: EdgeSource = {
  kind: 'loan_guarantee',
  sql: `
    SELECT 'loan_guarantee'::text AS kind, g.guarantor_member_id, g.borrower_member_id, g.loan_id,
           l.number AS loan_number, l.lender, g.id AS guarantee_id, g.status AS guarantee_status,
           o.amount::text AS outstanding,
           (g.circle IS NOT NULL) AS circle_flagged,
           g.joint_group_id,
           guarantee_capacity_share(fund_id => g.fund_id, loan_id => g.loan_id, joint_group_id => g.joint_group_id,
                                    standing => o.amount)::numeric(20, 2)::text AS capacity_share
      FROM loan_guarantees g
      JOIN loans l ON l.fund_id = g.fund_id AND l.id = g.loan_id
      LEFT JOIN LATERAL (
        SELECT sum(x.amount) AS released
          FROM repayment_guarantee_releases x
          JOIN repayments p ON p.fund_id = x.fund_id AND p.id = x.repayment_id
         WHERE x.fund_id = g.fund_id AND x.guarantee_id = g.id AND p.reversed_at IS NULL
      ) r ON g.status = 'active'
      -- What the guarantor paid under recovery calls no longer stands behind the loan (ADR 0018).
      LEFT JOIN LATERAL (
        SELECT sum(k.paid) AS paid FROM recovery_calls k WHERE k.fund_id = g.fund_id AND k.guarantee_id = g.id
      ) c ON g.status = 'active'
      CROSS JOIN LATERAL (
        SELECT (g.amount - CASE WHEN g.status = 'active' THEN coalesce(r.released, 0) + coalesce(c.paid, 0) ELSE 0 END)::numeric(20, 2) AS amount
      ) o
     WHERE g.fund_id = ? AND g.status IN ('accepted', 'active')
       AND l.status NOT IN (${CLOSED_LOAN_STATES.map((state) => `'${state}'`).join(', ')})`,
};

export const EDGE_SOURCES: readonly EdgeSource[] = [LOAN_GUARANTEES];

/**
 * Every live edge of a fund as one relation, for other statements to build on (a guarantor's
 * capacity sums its edges): the SQL and its bindings.
 */
export function liveEdgesRelation(fundId: string): { sql: string; bindings: string[] } {
  return {
    sql: EDGE_SOURCES.map((source) => `(${source.sql})`).join(' UNION ALL '),
    bindings: EDGE_SOURCES.map(() => fundId),
  };
}

/** Every live edge of the fund with an amount still outstanding, in one statement. */
export async function liveEdges(db: Db, fundId: string): Promise<EdgeRow[]> {
  const edges = liveEdgesRelation(fundId);
  const result = await db.raw<{ rows: EdgeRow[] }>(
    `SELECT * FROM (${edges.sql}) e WHERE e.outstanding::numeric > 0
      ORDER BY e.guarantor_member_id, e.borrower_member_id, e.loan_number, e.guarantee_id`,
    edges.bindings,
  );
  return result.rows;
}

export interface MemberNode {
  id: string;
  name: string;
  related_group: string | null;
}

export async function membersByIds(db: Db, fundId: string, memberIds: readonly string[]): Promise<MemberNode[]> {
  if (memberIds.length === 0) return [];
  return (await db('members')
    .where({ fund_id: fundId })
    .whereIn('id', [...new Set(memberIds)])
    .orderBy('id')
    .select('id', 'name', 'related_group')) as MemberNode[];
}

/** The cycle found for a guarantee, as stored on it (migration 20261127000200). */
export interface StoredCircle {
  members: { id: string; name: string }[];
  steps: { guarantorId: string; borrowerId: string; loans: { id: string; number: number }[] }[];
  /** The stage of the check that found it. */
  foundAt: string;
}

export async function recordCircle(
  trx: Trx,
  fundId: string,
  guaranteeId: string,
  circle: StoredCircle,
  now: Date,
): Promise<void> {
  const updated = await trx('loan_guarantees')
    .where({ fund_id: fundId, id: guaranteeId })
    .update({ circle: JSON.stringify(circle), circle_flagged_at: now });
  if (updated !== 1) throw new Error(`guarantee ${guaranteeId} to flag does not exist`);
}
