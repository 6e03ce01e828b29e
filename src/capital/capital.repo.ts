import type { Db, Trx } from '../db/knex';
import { formatAmount, Money } from '../money/money';

/**
 * SQL of the capital feature: contributions (实缴) and how they were matched to capital calls, the
 * calls and their per-member items. Every function takes the connection or transaction first; the
 * rules live in capital.service.ts. Postings are written only by the ledger; this file reads them.
 */

// knex treats every "?" in raw SQL as a binding: the SQL below contains no other "?".

export interface ContributionRow {
  id: string;
  fund_id: string;
  member_id: string;
  amount: string;
  received_on: string;
  bank_reference: string;
  memo: string | null;
  entry_id: string;
  created_by: string | null;
  created_at: Date;
  /** Set when the contribution was reversed (from contribution_reversals). */
  reversal_entry_id: string | null;
  reversed_on: string | null;
  reversal_reason: string | null;
}

export interface AllocationRow {
  contribution_id: string;
  call_id: string;
  call_number: number;
  member_id: string;
  amount: string;
}

export interface NewContribution {
  fund_id: string;
  member_id: string;
  amount: string;
  received_on: string;
  bank_reference: string;
  memo: string | null;
  entry_id: string;
  created_by: string | null;
}

/** A contribution with its reversal, if any: every read goes through this. */
const CONTRIBUTION_COLUMNS = [
  'k.*',
  'r.entry_id as reversal_entry_id',
  'r.reversed_on',
  'r.reason as reversal_reason',
] as const;

function contributions(db: Db) {
  return db('contributions as k')
    .leftJoin('contribution_reversals as r', 'r.contribution_id', 'k.id')
    .select(...CONTRIBUTION_COLUMNS);
}

/**
 * The contribution and the claim on its bank reference. A reference another contribution holds
 * fails on the claim's primary key (contributions_bank_reference_key).
 */
export async function insertContribution(trx: Trx, contribution: NewContribution): Promise<ContributionRow> {
  const rows = (await trx('contributions').insert(contribution).returning('*')) as ContributionRow[];
  const row = rows[0]!;
  await trx('contribution_bank_references').insert({
    fund_id: row.fund_id,
    bank_reference: row.bank_reference,
    contribution_id: row.id,
  });
  return { ...row, reversal_entry_id: null, reversed_on: null, reversal_reason: null };
}

/** The contribution holding a bank reference now (a reversed one has given it back). */
export async function findContributionByBankReference(
  db: Db,
  fundId: string,
  bankReference: string,
): Promise<ContributionRow | undefined> {
  return (await contributions(db)
    .join('contribution_bank_references as b', 'b.contribution_id', 'k.id')
    .where({ 'b.fund_id': fundId, 'b.bank_reference': bankReference })
    .first()) as ContributionRow | undefined;
}

export async function findContribution(
  db: Db,
  fundId: string,
  contributionId: string,
): Promise<ContributionRow | undefined> {
  return (await contributions(db).where({ 'k.fund_id': fundId, 'k.id': contributionId }).first()) as
    ContributionRow | undefined;
}

/** Records the reversal and gives the bank reference back, so the transfer can be booked again. */
export async function insertReversal(
  trx: Trx,
  reversal: {
    contribution_id: string;
    fund_id: string;
    entry_id: string;
    reversed_on: string;
    reason: string;
    created_by: string | null;
  },
): Promise<void> {
  await trx('contribution_reversals').insert(reversal);
  await trx('contribution_bank_references').where({ contribution_id: reversal.contribution_id }).delete();
}

export async function insertAllocations(
  trx: Trx,
  allocations: readonly { contribution_id: string; call_id: string; member_id: string; amount: string }[],
): Promise<void> {
  if (allocations.length > 0) await trx('contribution_allocations').insert(allocations);
}

export interface ListContributionsFilter {
  memberId?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  /** Keyset position: the last row of the previous page (newest first). */
  after?: { receivedOn: string; id: string } | undefined;
  limit: number;
}

/** Newest first: by date received, then id (a stable tie-break for the cursor). */
export async function listContributions(
  db: Db,
  fundId: string,
  filter: ListContributionsFilter,
): Promise<ContributionRow[]> {
  const query = contributions(db)
    .where('k.fund_id', fundId)
    .orderBy([
      { column: 'k.received_on', order: 'desc' },
      { column: 'k.id', order: 'desc' },
    ])
    .limit(filter.limit);
  if (filter.memberId) query.andWhere('k.member_id', filter.memberId);
  if (filter.from) query.andWhere('k.received_on', '>=', filter.from);
  if (filter.to) query.andWhere('k.received_on', '<=', filter.to);
  if (filter.after) {
    query.andWhereRaw('(k.received_on, k.id) < (?::date, ?::uuid)', [filter.after.receivedOn, filter.after.id]);
  }
  return (await query) as ContributionRow[];
}

/** Contributions of one member received in a date range, oldest first (statements). */
export async function contributionsInRange(
  db: Db,
  fundId: string,
  memberId: string,
  from: string,
  to: string,
): Promise<ContributionRow[]> {
  return (await contributions(db)
    .where({ 'k.fund_id': fundId, 'k.member_id': memberId })
    .andWhere('k.received_on', '>=', from)
    .andWhere('k.received_on', '<=', to)
    .orderBy([{ column: 'k.received_on' }, { column: 'k.created_at' }, { column: 'k.id' }])) as ContributionRow[];
}

export async function allocationsOf(db: Db, contributionIds: readonly string[]): Promise<AllocationRow[]> {
  if (contributionIds.length === 0) return [];
  const result = await db.raw<{ rows: AllocationRow[] }>(
    `SELECT al.contribution_id, al.call_id, c.number AS call_number, al.member_id, al.amount
       FROM contribution_allocations al
       JOIN capital_calls c ON c.id = al.call_id
      WHERE al.contribution_id = ANY(?::uuid[])
      ORDER BY al.contribution_id, c.due_on, c.number`,
    [[...contributionIds]],
  );
  return result.rows;
}

// ---------------------------------------------------------------------------------------------
// Capital calls

export interface CallRow {
  id: string;
  fund_id: string;
  number: number;
  percent: string;
  called_on: string;
  due_on: string;
  memo: string | null;
  created_by: string | null;
  created_at: Date;
}

/** One member's share of one call, with what it paid so far (NUMERIC strings). */
export interface CallItemRow {
  call_id: string;
  member_id: string;
  member_name: string;
  due_amount: string;
  paid: string;
}

/**
 * One call item of a member, as other features read it (statements, exits): amounts are strings
 * with exactly 2 decimals; outstanding = due − paid, never negative.
 */
export interface MemberCallItem {
  callId: string;
  callNumber: number;
  percent: string;
  calledOn: string;
  dueOn: string;
  memo: string | null;
  due: string;
  paid: string;
  outstanding: string;
}

/**
 * Every call item of a member, in the order contributions are matched to them (oldest due date
 * first, then call number). `paid` is the sum of the contributions allocated to the item.
 *
 * With `asOf` (YYYY-MM-DD): only calls made on or before that day, and only contributions
 * received on or before it count as paid, so a statement to a past date shows the calls as they
 * stood then.
 */
export async function callItemsOfMember(
  db: Db,
  fundId: string,
  memberId: string,
  asOf?: string,
): Promise<MemberCallItem[]> {
  const rows = await db.raw<{
    rows: (CallRow & { due_amount: string; paid: string })[];
  }>(
    `SELECT c.id, c.fund_id, c.number, c.percent, c.called_on, c.due_on, c.memo, c.created_by, c.created_at,
            i.due_amount, coalesce(p.paid, 0) AS paid
       FROM capital_call_items i
       JOIN capital_calls c ON c.fund_id = i.fund_id AND c.id = i.call_id
       LEFT JOIN LATERAL (
         SELECT sum(al.amount) AS paid
           FROM contribution_allocations_in_force al
           JOIN contributions k ON k.id = al.contribution_id
          WHERE al.call_id = i.call_id AND al.member_id = i.member_id
            ${asOf === undefined ? '' : 'AND k.received_on <= ?::date'}
       ) p ON true
      WHERE i.fund_id = ? AND i.member_id = ? ${asOf === undefined ? '' : 'AND c.called_on <= ?::date'}
      ORDER BY c.due_on, c.number`,
    asOf === undefined ? [fundId, memberId] : [asOf, fundId, memberId, asOf],
  );
  return rows.rows.map((row) => {
    const due = new Money(row.due_amount);
    const paid = new Money(row.paid);
    return {
      callId: row.id,
      callNumber: row.number,
      percent: new Money(row.percent).toFixed(),
      calledOn: row.called_on,
      dueOn: row.due_on,
      memo: row.memo,
      due: formatAmount(due),
      paid: formatAmount(paid),
      outstanding: formatAmount(Money.max(due.minus(paid), 0)),
    };
  });
}

/**
 * Locks the members a call can reach (not exited), in id order. Contributions lock one member row
 * each (lockMember), so a call and a contribution for the same member queue instead of computing
 * the member's uncalled room from figures the other is changing.
 */
export async function lockCallableMembers(
  trx: Trx,
  fundId: string,
): Promise<{ id: string; name: string; subscribed_amount: string }[]> {
  const result = await trx.raw<{ rows: { id: string; name: string; subscribed_amount: string }[] }>(
    `SELECT id, name, subscribed_amount FROM members
      WHERE fund_id = ? AND status <> 'exited'
      ORDER BY id
        FOR UPDATE`,
    [fundId],
  );
  return result.rows;
}

/** Locks the fund's row: call numbers are handed out one at a time. */
export async function lockFund(trx: Trx, fundId: string): Promise<boolean> {
  const result = await trx.raw<{ rows: unknown[] }>('SELECT id FROM funds WHERE id = ? FOR UPDATE', [fundId]);
  return result.rows.length === 1;
}

export async function nextCallNumber(trx: Trx, fundId: string): Promise<number> {
  const result = await trx.raw<{ rows: { next: number }[] }>(
    'SELECT coalesce(max(number), 0) + 1 AS next FROM capital_calls WHERE fund_id = ?',
    [fundId],
  );
  return result.rows[0]!.next;
}

/** Balance of every member capital account (3001:<member>) of the fund, by member. */
export async function capitalBalances(db: Db, fundId: string): Promise<Map<string, string>> {
  const result = await db.raw<{ rows: { member_id: string; balance: string }[] }>(
    `SELECT a.member_id, b.balance
       FROM accounts a JOIN account_balances b ON b.account_id = a.id
      WHERE a.fund_id = ? AND a.base_code = '3001' AND a.member_id IS NOT NULL`,
    [fundId],
  );
  return new Map(result.rows.map((row) => [row.member_id, row.balance]));
}

/** What each member still owes on its calls: Σ over its items of max(due − paid, 0). */
export async function outstandingByMember(db: Db, fundId: string): Promise<Map<string, string>> {
  const result = await db.raw<{ rows: { member_id: string; outstanding: string }[] }>(
    `SELECT i.member_id, sum(greatest(i.due_amount - coalesce(p.paid, 0), 0)) AS outstanding
       FROM capital_call_items i
       LEFT JOIN LATERAL (
         SELECT sum(al.amount) AS paid FROM contribution_allocations_in_force al
          WHERE al.call_id = i.call_id AND al.member_id = i.member_id
       ) p ON true
      WHERE i.fund_id = ?
      GROUP BY i.member_id`,
    [fundId],
  );
  return new Map(result.rows.map((row) => [row.member_id, row.outstanding]));
}

export async function insertCall(
  trx: Trx,
  call: Pick<CallRow, 'fund_id' | 'number' | 'percent' | 'called_on' | 'due_on' | 'memo' | 'created_by'>,
): Promise<CallRow> {
  const rows = (await trx('capital_calls').insert(call).returning('*')) as CallRow[];
  return rows[0]!;
}

export async function insertCallItems(
  trx: Trx,
  items: readonly { fund_id: string; call_id: string; member_id: string; due_amount: string }[],
): Promise<void> {
  if (items.length > 0) await trx('capital_call_items').insert(items);
}

export async function findCall(db: Db, fundId: string, callId: string): Promise<CallRow | undefined> {
  return (await db('capital_calls').where({ fund_id: fundId, id: callId }).first()) as CallRow | undefined;
}

/** The items of a call with member names and what each paid, by member name. */
export async function itemsOfCall(db: Db, fundId: string, callId: string): Promise<CallItemRow[]> {
  const result = await db.raw<{ rows: CallItemRow[] }>(
    `SELECT i.call_id, i.member_id, m.name AS member_name, i.due_amount, coalesce(p.paid, 0) AS paid
       FROM capital_call_items i
       JOIN members m ON m.fund_id = i.fund_id AND m.id = i.member_id
       LEFT JOIN LATERAL (
         SELECT sum(al.amount) AS paid FROM contribution_allocations_in_force al
          WHERE al.call_id = i.call_id AND al.member_id = i.member_id
       ) p ON true
      WHERE i.fund_id = ? AND i.call_id = ?
      ORDER BY m.name, i.member_id`,
    [fundId, callId],
  );
  return result.rows;
}

export interface CallSummaryRow extends CallRow {
  item_count: number;
  due_total: string;
  paid_total: string;
  outstanding_total: string;
}

/**
 * Calls newest first, with their totals. With `memberId`, only calls with an item for that member,
 * and the totals of that item alone (what a member user may see).
 */
export async function listCalls(
  db: Db,
  fundId: string,
  filter: { memberId?: string | undefined; beforeNumber?: number | undefined; limit: number },
): Promise<CallSummaryRow[]> {
  const bindings: unknown[] = [];
  const memberOnItem = filter.memberId === undefined ? '' : 'AND i.member_id = ?';
  if (filter.memberId !== undefined) bindings.push(filter.memberId);
  bindings.push(fundId);
  const before = filter.beforeNumber === undefined ? '' : 'AND c.number < ?';
  if (filter.beforeNumber !== undefined) bindings.push(filter.beforeNumber);
  bindings.push(filter.limit);
  const result = await db.raw<{ rows: CallSummaryRow[] }>(
    `SELECT c.*, count(i.member_id)::int AS item_count,
            coalesce(sum(i.due_amount), 0) AS due_total,
            coalesce(sum(coalesce(p.paid, 0)), 0) AS paid_total,
            coalesce(sum(greatest(i.due_amount - coalesce(p.paid, 0), 0)), 0) AS outstanding_total
       FROM capital_calls c
       ${filter.memberId === undefined ? 'LEFT' : ''} JOIN capital_call_items i ON i.call_id = c.id ${memberOnItem}
       LEFT JOIN LATERAL (
         SELECT sum(al.amount) AS paid FROM contribution_allocations_in_force al
          WHERE al.call_id = i.call_id AND al.member_id = i.member_id
       ) p ON true
      WHERE c.fund_id = ? ${before}
      GROUP BY c.id
      ORDER BY c.number DESC
      LIMIT ?`,
    bindings as never[],
  );
  return result.rows;
}

// ---------------------------------------------------------------------------------------------
// Statements

export interface MovementRow {
  entry_id: string;
  seq: string;
  kind: string;
  effective_date: string;
  entry_memo: string;
  posting_memo: string | null;
  line_no: number;
  side: 'debit' | 'credit';
  amount: string;
}

/**
 * The postings on one account with an effective date in [from, to], in value-date order (then the
 * order they were posted): a statement's running balance follows value dates, like as-of balances.
 */
export async function movementsOf(
  db: Db,
  fundId: string,
  accountId: string,
  from: string,
  to: string,
  limit: number,
): Promise<MovementRow[]> {
  const result = await db.raw<{ rows: MovementRow[] }>(
    `SELECT e.id AS entry_id, e.seq, e.kind, p.effective_date, e.memo AS entry_memo, p.memo AS posting_memo,
            p.line_no, p.side, p.amount
       FROM postings p
       JOIN journal_entries e ON e.fund_id = p.fund_id AND e.id = p.entry_id
      WHERE p.fund_id = ? AND p.account_id = ? AND p.effective_date >= ?::date AND p.effective_date <= ?::date
      ORDER BY p.effective_date, e.seq, p.line_no
      LIMIT ?`,
    [fundId, accountId, from, to, limit],
  );
  return result.rows;
}
