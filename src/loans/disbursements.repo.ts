import type { Knex } from 'knex';
import { assert } from '../assert';
import type { Db, Trx } from '../db/knex';
import { lockMember } from '../members/members.repo';
import { policySchema, type FundPolicy } from '../funds/policy';
import type { DayCount } from './interest';
import { instalmentOverdueSql } from './daily-job.repo';
import { loanHoldReference, type Lender, type LoanRow, type LoanStatus } from './loans.repo';

/**
 * SQL of disbursements and loan servicing: disbursement requests, the repayment schedule, the
 * columns a loan gains at disbursement, and the figures the loan views read. Every function takes
 * the connection or transaction first. Postings are written only by the ledger; this file reads
 * balances and locks the pool cash balance row the way the ledger itself locks it.
 */

// knex treats every "?" in raw SQL as a binding: the SQL below contains no other "?".

/** A loan row with the columns disbursement adds (migration 20261124000200). */
export interface ServicedLoanRow extends LoanRow {
  disbursed_on: string | null;
  maturity_date: string | null;
  rate_annual: string | null;
  day_count: DayCount | null;
  penalty_uplift_pct: string | null;
  service_fee: string | null;
  schedule_version: number | null;
  cancelled_at: Date | null;
  cancellation_reason: string | null;
}

/** States a loan is in from approval on: what `/loans` lists. Earlier ones are applications. */
export const LOAN_STATES: readonly LoanStatus[] = [
  'approved',
  'active',
  'overdue',
  'repaid',
  'defaulted',
  'written_off',
  'cancelled',
];

/** States in which the loan's money is out and its schedule runs. */
export const SERVICED_STATES: readonly LoanStatus[] = ['active', 'overdue', 'defaulted'];

export type RequestStatus = 'awaiting_confirmation' | 'executed' | 'cancelled';
export type RatificationStatus = 'pending' | 'ratified' | 'failed';

export interface DisbursementRequestRow {
  id: string;
  fund_id: string;
  loan_id: string;
  amount: string;
  disbursed_on: string;
  bank_reference: string;
  requires_confirmation: boolean;
  status: RequestStatus;
  requested_by: string;
  requested_at: Date;
  confirmed_by: string | null;
  confirmed_at: Date | null;
  cancelled_at: Date | null;
  cancellation_reason: string | null;
  entry_id: string | null;
}

export interface InstalmentRow {
  fund_id: string;
  loan_id: string;
  schedule_version: number;
  number: number;
  period_start: string;
  due_on: string;
  days: number;
  principal: string;
  interest: string;
  principal_paid: string;
  interest_paid: string;
  /** Interest accrued before an extension, carried into the first instalment of the new schedule. */
  interest_carried: string;
  /** What the period accrued (with what it carries), written when it ended; from then on its interest due. */
  interest_accrued: string | null;
}

// ---------------------------------------------------------------------------------------------
// Loans

export async function findServicedLoan(db: Db, fundId: string, loanId: string): Promise<ServicedLoanRow | undefined> {
  return (await db('loans').where({ fund_id: fundId, id: loanId }).first()) as ServicedLoanRow | undefined;
}

export async function lockServicedLoan(trx: Trx, fundId: string, loanId: string): Promise<ServicedLoanRow | undefined> {
  return (await trx('loans').where({ fund_id: fundId, id: loanId }).forUpdate().first()) as ServicedLoanRow | undefined;
}

/**
 * Locks a loan found unlocked the way every command on a disbursed loan does: its borrower's member
 * row first, then the loan's row, so that commands on one borrower queue rather than deadlock.
 */
export async function lockBorrowerThenLoan(
  trx: Trx,
  fundId: string,
  found: Pick<LoanRow, 'id' | 'borrower_member_id'>,
): Promise<ServicedLoanRow> {
  assert(await lockMember(trx, fundId, found.borrower_member_id), `borrower of loan ${found.id} vanished`);
  const loan = await lockServicedLoan(trx, fundId, found.id);
  assert(loan, `loan ${found.id} vanished under its lock`);
  return loan;
}

export type DisbursementColumns = Pick<
  ServicedLoanRow,
  | 'status'
  | 'disbursed_on'
  | 'maturity_date'
  | 'rate_annual'
  | 'day_count'
  | 'penalty_uplift_pct'
  | 'service_fee'
  | 'schedule_version'
>;

/** Writes the disbursement columns of a loan the caller holds locked and bumps its version. */
export async function markDisbursed(
  trx: Trx,
  fundId: string,
  loanId: string,
  columns: DisbursementColumns,
  now: Date,
): Promise<ServicedLoanRow> {
  const rows = (await trx('loans')
    .where({ fund_id: fundId, id: loanId, status: 'approved' })
    // A loan is 正常 (normal) from the day it is paid out, until the daily job finds something past due.
    .update({
      ...columns,
      classification: 'normal',
      days_past_due: 0,
      updated_at: now,
      version: trx.raw('version + 1'),
    })
    .returning('*')) as ServicedLoanRow[];
  return rows[0]!;
}

/** The policy a loan keeps: the version it was approved under. */
export async function policyOfVersion(db: Db, fundId: string, version: number): Promise<FundPolicy | undefined> {
  const row = (await db('fund_policy_versions').where({ fund_id: fundId, version }).first('policy')) as
    { policy: unknown } | undefined;
  // Stored versions were validated when written; parsing again fills defaults added since.
  return row && policySchema.parse(row.policy);
}

// ---------------------------------------------------------------------------------------------
// Pool cash and the loan's hold

/**
 * Locks the pool cash balance row (1001) until the transaction ends and returns the account id.
 * Taken before the eligibility rules read available pool cash, so that two approvals or
 * disbursements check and take pool cash one after the other. The ledger locks the same row when
 * it posts, so this adds no new lock order.
 */
export async function lockPoolCash(trx: Trx, fundId: string): Promise<string> {
  const result = await trx.raw<{ rows: { account_id: string }[] }>(
    `SELECT b.account_id FROM account_balances b JOIN accounts a ON a.id = b.account_id
      WHERE a.fund_id = ? AND a.code = '1001'
        FOR UPDATE OF b`,
    [fundId],
  );
  const row = result.rows[0];
  if (!row) throw new Error(`fund ${fundId} has no pool cash account`);
  return row.account_id;
}

export interface LoanHoldRow {
  id: string;
  amount: string;
  status: 'pending' | 'posted' | 'released' | 'expired';
  expires_at: Date;
  created_at: Date;
  resolved_at: Date | null;
  entry_id: string | null;
}

/** Every hold placed for the loan (reference `loan:<id>`), newest first. */
export async function holdsOfLoan(db: Db, fundId: string, loanId: string): Promise<LoanHoldRow[]> {
  return (await db('holds')
    .where({ fund_id: fundId, reference: loanHoldReference(loanId) })
    .orderBy('seq', 'desc')
    .select('id', 'amount', 'status', 'expires_at', 'created_at', 'resolved_at', 'entry_id')) as LoanHoldRow[];
}

/** The id of a fund-level account by chart code. */
export async function fundAccountId(db: Db, fundId: string, code: string): Promise<string> {
  const row = (await db('accounts').where({ fund_id: fundId, code }).first('id')) as { id: string } | undefined;
  if (!row) throw new Error(`fund ${fundId} has no account ${code}`);
  return row.id;
}

// ---------------------------------------------------------------------------------------------
// Disbursement requests

export async function insertRequest(
  trx: Trx,
  row: Omit<DisbursementRequestRow, 'cancelled_at' | 'cancellation_reason'>,
) {
  const rows = (await trx('disbursement_requests').insert(row).returning('*')) as DisbursementRequestRow[];
  return rows[0]!;
}

export async function lockRequest(
  trx: Trx,
  fundId: string,
  loanId: string,
  requestId: string,
): Promise<DisbursementRequestRow | undefined> {
  return (await trx('disbursement_requests')
    .where({ fund_id: fundId, loan_id: loanId, id: requestId })
    .forUpdate()
    .first()) as DisbursementRequestRow | undefined;
}

export async function findRequest(
  db: Db,
  fundId: string,
  loanId: string,
  requestId: string,
): Promise<DisbursementRequestRow | undefined> {
  return (await db('disbursement_requests').where({ fund_id: fundId, loan_id: loanId, id: requestId }).first()) as
    DisbursementRequestRow | undefined;
}

export async function waitingRequestOf(
  db: Db,
  fundId: string,
  loanId: string,
): Promise<DisbursementRequestRow | undefined> {
  return (await db('disbursement_requests')
    .where({ fund_id: fundId, loan_id: loanId, status: 'awaiting_confirmation' })
    .first()) as DisbursementRequestRow | undefined;
}

/** The loan's requests, newest first. */
export async function requestsOf(db: Db, fundId: string, loanId: string): Promise<DisbursementRequestRow[]> {
  return (await db('disbursement_requests')
    .where({ fund_id: fundId, loan_id: loanId })
    .orderBy([
      { column: 'requested_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])) as DisbursementRequestRow[];
}

export async function markExecuted(
  trx: Trx,
  fundId: string,
  requestId: string,
  changes: { entry_id: string; confirmed_by?: string; confirmed_at?: Date },
): Promise<DisbursementRequestRow> {
  const rows = (await trx('disbursement_requests')
    .where({ fund_id: fundId, id: requestId, status: 'awaiting_confirmation' })
    .update({ ...changes, status: 'executed' })
    .returning('*')) as DisbursementRequestRow[];
  return rows[0]!;
}

// ---------------------------------------------------------------------------------------------
// Schedule

export async function insertInstalments(
  trx: Trx,
  rows: readonly (Omit<InstalmentRow, 'principal_paid' | 'interest_paid' | 'interest_accrued' | 'interest_carried'> & {
    interest_carried?: string;
  })[],
) {
  if (rows.length > 0) await trx('loan_instalments').insert([...rows]);
}

export interface ScheduleRow extends InstalmentRow {
  /** By the one overdue rule (instalmentOverdueSql), as of the day asked. */
  overdue: boolean;
}

/** The instalments of a schedule version with whether each is overdue on `today`. */
export async function scheduleOf(
  db: Db,
  fundId: string,
  loanId: string,
  scheduleVersion: number,
  today: string,
): Promise<ScheduleRow[]> {
  const result = await db.raw<{ rows: ScheduleRow[] }>(
    `SELECT i.*, ${instalmentOverdueSql('t.today')} AS overdue
       FROM loan_instalments i
       JOIN loans l ON l.fund_id = i.fund_id AND l.id = i.loan_id
      CROSS JOIN (SELECT ?::date AS today) t
      WHERE i.fund_id = ? AND i.loan_id = ? AND i.schedule_version = ?
      ORDER BY i.number`,
    [today, fundId, loanId, scheduleVersion],
  );
  return result.rows;
}

export async function instalmentsOf(
  db: Db,
  fundId: string,
  loanId: string,
  scheduleVersion: number,
): Promise<InstalmentRow[]> {
  return (await db('loan_instalments')
    .where({ fund_id: fundId, loan_id: loanId, schedule_version: scheduleVersion })
    .orderBy('number', 'asc')) as InstalmentRow[];
}

// ---------------------------------------------------------------------------------------------
// Hold expiry

/**
 * Approved pool loans of the fund whose approval hold is gone without being posted — it expired —
 * and none is pending: they become `cancelled`, their waiting disbursement requests are cancelled
 * and the guarantees that stood for them are withdrawn. One statement each, set-based.
 */
export async function cancelExpiredApprovals(
  trx: Trx,
  fundId: string,
  now: Date,
): Promise<{ id: string; number: number; amount: string }[]> {
  const reason = 'The approval hold on pool cash expired before the loan was disbursed.';
  const cancelled = await trx.raw<{ rows: { id: string; number: number; amount: string }[] }>(
    `UPDATE loans l
        SET status = 'cancelled', cancelled_at = ?, cancellation_reason = ?, updated_at = ?, version = l.version + 1
      WHERE l.fund_id = ? AND l.status = 'approved' AND l.lender = 'pool'
        AND EXISTS (SELECT 1 FROM holds h
                     WHERE h.fund_id = l.fund_id AND h.reference = 'loan:' || l.id::text AND h.status = 'expired')
        AND NOT EXISTS (SELECT 1 FROM holds h
                         WHERE h.fund_id = l.fund_id AND h.reference = 'loan:' || l.id::text
                           AND h.status IN ('pending', 'posted'))
      RETURNING l.id, l.number, l.amount::text AS amount`,
    [now, reason, now, fundId],
  );
  const ids = cancelled.rows.map((row) => row.id);
  if (ids.length === 0) return [];
  await trx('disbursement_requests')
    .where({ fund_id: fundId, status: 'awaiting_confirmation' })
    .whereIn('loan_id', ids)
    .update({ status: 'cancelled', cancelled_at: now, cancellation_reason: reason });
  await trx('loan_guarantees')
    .where({ fund_id: fundId })
    .whereIn('loan_id', ids)
    .whereIn('status', ['proposed', 'accepted'])
    .update({ status: 'withdrawn', updated_at: now });
  return cancelled.rows;
}

// ---------------------------------------------------------------------------------------------
// Reads

export interface LoanFigures {
  principal_outstanding: string;
  interest_receivable: string;
  penalty_receivable: string;
  fee_receivable: string;
  overdue: boolean;
}

/**
 * Overdue as of `t.today`: a loan still serviced with an instalment of the schedule in force that
 * fell due before today and is not paid.
 */
const OVERDUE_SQL = `l.status IN ('active', 'overdue', 'defaulted') AND EXISTS (
  SELECT 1 FROM loan_instalments i
   WHERE i.fund_id = l.fund_id AND i.loan_id = l.id AND i.schedule_version = l.schedule_version
     AND ${instalmentOverdueSql('t.today')})`;

/**
 * The balances of the loan's own accounts: principal (1201, or the memo accounts 7101 of a peer
 * loan and 7201 of a bank loan), interest, penalty.
 */
const FIGURES_SQL = `
  coalesce((SELECT sum(b.balance) FROM accounts a JOIN account_balances b ON b.account_id = a.id
             WHERE a.fund_id = l.fund_id AND a.loan_id = l.id AND a.base_code IN ('1201', '7101', '7201')), 0)::text
    AS principal_outstanding,
  coalesce((SELECT sum(b.balance) FROM accounts a JOIN account_balances b ON b.account_id = a.id
             WHERE a.fund_id = l.fund_id AND a.loan_id = l.id AND a.base_code = '1202'), 0)::text
    AS interest_receivable,
  coalesce((SELECT sum(b.balance) FROM accounts a JOIN account_balances b ON b.account_id = a.id
             WHERE a.fund_id = l.fund_id AND a.loan_id = l.id AND a.base_code = '1203'), 0)::text
    AS penalty_receivable,
  coalesce((SELECT sum(b.balance) FROM accounts a JOIN account_balances b ON b.account_id = a.id
             WHERE a.fund_id = l.fund_id AND a.loan_id = l.id AND a.base_code = '1204'), 0)::text
    AS fee_receivable`;

export type LoanWithFigures = ServicedLoanRow & LoanFigures;

export interface ListServicedFilter {
  statuses: readonly LoanStatus[];
  /** Loans the member takes part in: borrower, peer lender or guarantor. */
  involving?: string | undefined;
  /** With `involving`: only in this part. */
  memberRole?: MemberRole | undefined;
  /** Member users: the same rule, as a visibility limit. */
  visibleTo?: string | undefined;
  overdue?: boolean | undefined;
  lender?: Lender | undefined;
  /** Fast-tracked loans in this ratification state (loans_ratification_idx). */
  ratification?: RatificationStatus | undefined;
  today: string;
  beforeNumber?: number | undefined;
  limit: number;
}

const INVOLVES_SQL = `(l.borrower_member_id = ? OR l.peer_lender_member_id = ?
  OR EXISTS (SELECT 1 FROM loan_guarantees g
              WHERE g.fund_id = l.fund_id AND g.loan_id = l.id AND g.guarantor_member_id = ?))`;

export type MemberRole = 'borrower' | 'guarantor' | 'lender';

/**
 * A member's part in a loan, each as a WHERE clause on `l` with one binding, the member. As
 * guarantor: a guarantee it gave, or was asked for; one it declined, or that was withdrawn, is none.
 */
const MEMBER_ROLE_SQL: Record<MemberRole, string> = {
  borrower: 'l.borrower_member_id = ?',
  lender: 'l.peer_lender_member_id = ?',
  guarantor: `EXISTS (SELECT 1 FROM loan_guarantees g
    WHERE g.fund_id = l.fund_id AND g.loan_id = l.id AND g.guarantor_member_id = ?
      AND g.status NOT IN ('declined', 'withdrawn'))`,
};

/** Loans newest first (by number), with their balances, in one statement. */
export async function listServicedLoans(
  db: Db,
  fundId: string,
  filter: ListServicedFilter,
): Promise<LoanWithFigures[]> {
  const where: string[] = ['l.fund_id = ?', 'l.status = ANY(?::text[])'];
  const bindings: Knex.RawBinding[] = [filter.today, fundId, [...filter.statuses]];
  if (filter.involving !== undefined && filter.memberRole !== undefined) {
    where.push(MEMBER_ROLE_SQL[filter.memberRole]);
    bindings.push(filter.involving);
  } else if (filter.involving !== undefined) {
    where.push(INVOLVES_SQL);
    bindings.push(filter.involving, filter.involving, filter.involving);
  }
  if (filter.visibleTo !== undefined) {
    where.push(INVOLVES_SQL);
    bindings.push(filter.visibleTo, filter.visibleTo, filter.visibleTo);
  }
  if (filter.overdue !== undefined) where.push(filter.overdue ? `(${OVERDUE_SQL})` : `NOT (${OVERDUE_SQL})`);
  if (filter.lender !== undefined) {
    where.push('l.lender = ?');
    bindings.push(filter.lender);
  }
  if (filter.ratification !== undefined) {
    where.push('l.ratification_status = ?');
    bindings.push(filter.ratification);
  }
  if (filter.beforeNumber !== undefined) {
    where.push('l.number < ?');
    bindings.push(filter.beforeNumber);
  }
  bindings.push(filter.limit);
  const result = await db.raw<{ rows: LoanWithFigures[] }>(
    `SELECT l.*, ${FIGURES_SQL}, ${OVERDUE_SQL} AS overdue
       FROM loans l CROSS JOIN (SELECT ?::date AS today) t
      WHERE ${where.join(' AND ')}
      ORDER BY l.number DESC
      LIMIT ?`,
    bindings,
  );
  return result.rows;
}

export async function loanWithFigures(
  db: Db,
  fundId: string,
  loanId: string,
  today: string,
): Promise<LoanWithFigures | undefined> {
  const result = await db.raw<{ rows: LoanWithFigures[] }>(
    `SELECT l.*, ${FIGURES_SQL}, ${OVERDUE_SQL} AS overdue
       FROM loans l CROSS JOIN (SELECT ?::date AS today) t
      WHERE l.fund_id = ? AND l.id = ?`,
    [today, fundId, loanId],
  );
  return result.rows[0];
}
