import type { Db, Trx } from '../db/knex';

/** SQL of member exits. `trx` first; no rules here. */

export type ExitStatus = 'awaiting_liquidity' | 'paid';

export interface ExitRow {
  id: string;
  fund_id: string;
  member_id: string;
  member_name: string;
  requested_on: string;
  reason: string | null;
  status: ExitStatus;
  period_share: string;
  period_start: string | null;
  refund_amount: string;
  settlement_entry_id: string | null;
  payable_entry_id: string | null;
  payout_entry_id: string | null;
  paid_on: string | null;
  requested_by: string | null;
  created_at: Date;
  updated_at: Date;
}

const EXIT_SELECT = `SELECT x.id, x.fund_id, x.member_id, m.name AS member_name, x.requested_on, x.reason, x.status,
       x.period_share, x.period_start, x.refund_amount, x.settlement_entry_id, x.payable_entry_id,
       x.payout_entry_id, x.paid_on, x.requested_by, x.created_at, x.updated_at
  FROM member_exits x JOIN members m ON m.id = x.member_id`;

export async function findExit(db: Db, fundId: string, exitId: string, lock = false): Promise<ExitRow | undefined> {
  const result = await db.raw<{ rows: ExitRow[] }>(
    `${EXIT_SELECT} WHERE x.fund_id = ? AND x.id = ?${lock ? ' FOR UPDATE OF x' : ''}`,
    [fundId, exitId],
  );
  return result.rows[0];
}

export async function findExitOfMember(db: Db, fundId: string, memberId: string): Promise<ExitRow | undefined> {
  const result = await db.raw<{ rows: ExitRow[] }>(`${EXIT_SELECT} WHERE x.fund_id = ? AND x.member_id = ?`, [
    fundId,
    memberId,
  ]);
  return result.rows[0];
}

export async function listExits(
  db: Db,
  fundId: string,
  filter: { memberId?: string | undefined; after?: { requestedOn: string; id: string } | undefined; limit: number },
): Promise<ExitRow[]> {
  const conditions = ['x.fund_id = ?'];
  const bindings: unknown[] = [fundId];
  if (filter.memberId !== undefined) {
    conditions.push('x.member_id = ?');
    bindings.push(filter.memberId);
  }
  if (filter.after !== undefined) {
    conditions.push('(x.requested_on, x.id) > (?::date, ?::uuid)');
    bindings.push(filter.after.requestedOn, filter.after.id);
  }
  bindings.push(filter.limit);
  const result = await db.raw<{ rows: ExitRow[] }>(
    `${EXIT_SELECT} WHERE ${conditions.join(' AND ')} ORDER BY x.requested_on, x.id LIMIT ?`,
    bindings as never[],
  );
  return result.rows;
}

export interface NewExit {
  fund_id: string;
  member_id: string;
  requested_on: string;
  reason: string;
  status: ExitStatus;
  period_share: string;
  period_start: string | null;
  refund_amount: string;
  settlement_entry_id: string | null;
  payable_entry_id: string | null;
  payout_entry_id: string | null;
  paid_on: string | null;
  requested_by: string | null;
}

export async function insertExit(trx: Trx, row: NewExit): Promise<string> {
  const rows = (await trx('member_exits').insert(row).returning('id')) as { id: string }[];
  return rows[0]!.id;
}

export async function markPaid(trx: Trx, exitId: string, payoutEntryId: string, paidOn: string): Promise<void> {
  await trx('member_exits')
    .where({ id: exitId })
    .update({ status: 'paid', payout_entry_id: payoutEntryId, paid_on: paidOn, updated_at: trx.fn.now() });
}

export async function markMemberExited(
  trx: Trx,
  fundId: string,
  memberId: string,
  reason: string,
  at: Date,
): Promise<void> {
  await trx('members')
    .where({ fund_id: fundId, id: memberId })
    .update({
      status: 'exited',
      status_reason: reason,
      status_changed_at: at,
      updated_at: at,
      version: trx.raw('version + 1'),
    });
}

export interface OutstandingCallRow {
  call_id: string;
  number: number;
  due_on: string;
  due_amount: string;
  paid: string;
  outstanding: string;
}

/** The member's capital call items not paid in full: due − Σ contributions matched to them. */
export async function outstandingCalls(db: Db, fundId: string, memberId: string): Promise<OutstandingCallRow[]> {
  const result = await db.raw<{ rows: OutstandingCallRow[] }>(
    `SELECT c.id AS call_id, c.number, c.due_on, i.due_amount,
            coalesce(paid.amount, 0) AS paid, i.due_amount - coalesce(paid.amount, 0) AS outstanding
       FROM capital_call_items i
       JOIN capital_calls c ON c.id = i.call_id
       LEFT JOIN LATERAL (
         SELECT sum(a.amount) AS amount FROM contribution_allocations_in_force a
          WHERE a.call_id = i.call_id AND a.member_id = i.member_id
       ) paid ON true
      WHERE i.fund_id = ? AND i.member_id = ? AND i.due_amount - coalesce(paid.amount, 0) > 0
      ORDER BY c.due_on, c.number`,
    [fundId, memberId],
  );
  return result.rows;
}

export interface MemberAccountBalanceRow {
  account_id: string;
  code: string;
  base_code: string;
  name: string;
  balance: string;
}

/** The member's sub-accounts with these base codes and a non-zero balance. */
export async function nonZeroMemberAccounts(
  db: Db,
  fundId: string,
  memberId: string,
  baseCodes: readonly string[],
): Promise<MemberAccountBalanceRow[]> {
  const result = await db.raw<{ rows: MemberAccountBalanceRow[] }>(
    `SELECT a.id AS account_id, a.code, a.base_code, a.name, b.balance
       FROM accounts a JOIN account_balances b ON b.account_id = a.id
      WHERE a.fund_id = ? AND a.member_id = ? AND a.base_code = ANY(?::text[]) AND b.balance <> 0
      ORDER BY a.code`,
    [fundId, memberId, [...baseCodes]],
  );
  return result.rows;
}

export async function accountBalance(db: Db, accountId: string): Promise<string> {
  const row = (await db('account_balances').where({ account_id: accountId }).first('balance')) as
    { balance: string } | undefined;
  return row?.balance ?? '0';
}

/**
 * The pool cash balance row; locked when `lock`, so that the reserve check and the payout that
 * follows see the same figure and a concurrent loan disbursement waits.
 */
export async function poolCash(
  db: Db,
  fundId: string,
  lock: boolean,
): Promise<{ account_id: string; balance: string; held: string }> {
  const result = await db.raw<{ rows: { account_id: string; balance: string; held: string }[] }>(
    `SELECT b.account_id, b.balance, b.held
       FROM account_balances b JOIN accounts a ON a.id = b.account_id
      WHERE a.fund_id = ? AND a.code = '1001'${lock ? ' FOR UPDATE OF b' : ''}`,
    [fundId],
  );
  return result.rows[0]!;
}

export async function totalMemberCapital(db: Db, fundId: string): Promise<string> {
  const result = await db.raw<{ rows: { total: string }[] }>(
    `SELECT coalesce(sum(b.balance), 0) AS total
       FROM accounts a JOIN account_balances b ON b.account_id = a.id
      WHERE a.fund_id = ? AND a.base_code = '3001'`,
    [fundId],
  );
  return result.rows[0]!.total;
}

/** Loans not closed that the member borrows, lends (peer) or guarantees (accepted or active). */
export interface LoanInvolvement {
  loan_id: string;
  number: number;
  status: string;
  amount: string;
  role: 'borrower' | 'peer_lender' | 'guarantor';
}

/**
 * Open means anything between submission and the end of the loan: a pending application, an
 * approval holding pool cash, a disbursed loan (current, overdue or in default). Drafts, rejected,
 * withdrawn, cancelled, repaid and written-off loans do not hold a member back.
 */
const OPEN_LOAN_STATUSES = ['submitted', 'under_review', 'approved', 'active', 'overdue', 'defaulted'];

export async function openLoanInvolvements(db: Db, fundId: string, memberId: string): Promise<LoanInvolvement[]> {
  const result = await db.raw<{ rows: LoanInvolvement[] }>(
    `SELECT l.id AS loan_id, l.number, l.status, l.amount::text AS amount, 'borrower' AS role
       FROM loans l
      WHERE l.fund_id = ? AND l.borrower_member_id = ? AND l.status = ANY(?::text[])
     UNION ALL
     SELECT l.id, l.number, l.status, l.amount::text, 'peer_lender'
       FROM loans l
      WHERE l.fund_id = ? AND l.peer_lender_member_id = ? AND l.status = ANY(?::text[])
     UNION ALL
     SELECT l.id, l.number, l.status, g.amount::text, 'guarantor'
       FROM loan_guarantees g JOIN loans l ON l.id = g.loan_id
      WHERE g.fund_id = ? AND g.guarantor_member_id = ? AND g.status IN ('accepted', 'active')
        AND l.status = ANY(?::text[])
      ORDER BY 2, 5`,
    [fundId, memberId, OPEN_LOAN_STATUSES, fundId, memberId, OPEN_LOAN_STATUSES, fundId, memberId, OPEN_LOAN_STATUSES],
  );
  return result.rows;
}
