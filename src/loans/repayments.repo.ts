import type { Db, Trx } from '../db/knex';
import type { LoanStatus } from './loans.repo';

/**
 * SQL of repayments: the repayment rows, their allocations and guarantee releases, the loan's
 * receivable balances (locked while a repayment is allocated) and the instalments' paid columns.
 * Every function takes the connection or transaction first. Postings are written only by the ledger.
 */

// knex treats every "?" in raw SQL as a binding: the SQL below contains no other "?".

export interface RepaymentRow {
  id: string;
  fund_id: string;
  loan_id: string;
  number: number;
  amount: string;
  received_on: string;
  reference: string;
  loan_status_before: LoanStatus;
  closed_loan: boolean;
  entry_id: string | null;
  guarantee_entry_id: string | null;
  /** The loan's schedule version when recorded: a later extension rescheduled what it paid. */
  schedule_version: number | null;
  recorded_by: string;
  recorded_at: Date;
  reversed_at: Date | null;
  reversed_on: string | null;
  reversed_by: string | null;
  reversal_reason: string | null;
  reversal_entry_id: string | null;
  guarantee_reversal_entry_id: string | null;
}

export type NewRepaymentRow = Omit<
  RepaymentRow,
  | 'reversed_at'
  | 'reversed_on'
  | 'reversed_by'
  | 'reversal_reason'
  | 'reversal_entry_id'
  | 'guarantee_reversal_entry_id'
>;

export interface AllocationRow {
  fund_id: string;
  repayment_id: string;
  line_no: number;
  component: 'fee' | 'penalty' | 'interest' | 'principal';
  schedule_version: number | null;
  instalment_number: number | null;
  amount: string;
  prepayment: boolean;
}

export interface ReleaseRow {
  fund_id: string;
  repayment_id: string;
  guarantee_id: string;
  amount: string;
  released_total: string;
}

/** The loan's own accounts a repayment reads, by chart code (7201: a bank loan's principal, docs/adr/0017). */
export const RECEIVABLE_CODES = ['1201', '1202', '1203', '1204', '7101', '7201'] as const;
export type ReceivableCode = (typeof RECEIVABLE_CODES)[number];

/**
 * Locks the balance rows of the loan's receivable accounts (principal, interest, penalty, fee, and
 * the peer and bank memo accounts), in account id order as the ledger locks them, and returns the balances.
 * An account not yet created owes nothing. The daily job's accruals wait for the repayment.
 */
export async function lockReceivables(
  trx: Trx,
  fundId: string,
  loanId: string,
): Promise<Record<ReceivableCode, string>> {
  const result = await trx.raw<{ rows: { base_code: ReceivableCode; balance: string }[] }>(
    `SELECT a.base_code, b.balance::text AS balance
       FROM accounts a JOIN account_balances b ON b.account_id = a.id
      WHERE a.fund_id = ? AND a.loan_id = ? AND a.base_code = ANY(?::text[])
      ORDER BY a.id
        FOR UPDATE OF b`,
    [fundId, loanId, [...RECEIVABLE_CODES]],
  );
  return receivablesFrom(result.rows);
}

/** The same balances from the postings effective on or before `asOf` (the payoff on a past day). */
export async function receivablesAsOf(
  db: Db,
  fundId: string,
  loanId: string,
  asOf: string,
): Promise<Record<ReceivableCode, string>> {
  const result = await db.raw<{ rows: { base_code: ReceivableCode; balance: string }[] }>(
    `SELECT a.base_code,
            coalesce(sum(CASE WHEN p.side = a.normal_side THEN p.amount ELSE -p.amount END), 0)::text AS balance
       FROM accounts a JOIN postings p ON p.account_id = a.id AND p.fund_id = a.fund_id
      WHERE a.fund_id = ? AND a.loan_id = ? AND a.base_code = ANY(?::text[]) AND p.effective_date <= ?::date
      GROUP BY a.base_code`,
    [fundId, loanId, [...RECEIVABLE_CODES], asOf],
  );
  return receivablesFrom(result.rows);
}

function receivablesFrom(rows: readonly { base_code: ReceivableCode; balance: string }[]) {
  const figures: Record<ReceivableCode, string> = {
    '1201': '0',
    '1202': '0',
    '1203': '0',
    '1204': '0',
    '7101': '0',
    '7201': '0',
  };
  for (const row of rows) figures[row.base_code] = row.balance;
  return figures;
}

/** The loan's repayments, newest first (by number). */
export async function repaymentsOf(
  db: Db,
  fundId: string,
  loanId: string,
  page: { beforeNumber?: number | undefined; limit: number },
): Promise<RepaymentRow[]> {
  const query = db('repayments').where({ fund_id: fundId, loan_id: loanId });
  if (page.beforeNumber !== undefined) query.andWhere('number', '<', page.beforeNumber);
  return (await query.orderBy('number', 'desc').limit(page.limit)) as RepaymentRow[];
}

/** The latest repayment of the loan that is not reversed. */
export async function latestStanding(db: Db, fundId: string, loanId: string): Promise<RepaymentRow | undefined> {
  return (await db('repayments')
    .where({ fund_id: fundId, loan_id: loanId })
    .whereNull('reversed_at')
    .orderBy('number', 'desc')
    .first()) as RepaymentRow | undefined;
}

export async function nextNumber(trx: Trx, fundId: string, loanId: string): Promise<number> {
  const row = (await trx('repayments').where({ fund_id: fundId, loan_id: loanId }).max({ last: 'number' }).first()) as
    { last: number | null } | undefined;
  return (row?.last ?? 0) + 1;
}

export async function findByReference(db: Db, fundId: string, reference: string): Promise<RepaymentRow | undefined> {
  return (await db('repayments').where({ fund_id: fundId, reference }).whereNull('reversed_at').first()) as
    RepaymentRow | undefined;
}

export async function lockRepayment(
  trx: Trx,
  fundId: string,
  loanId: string,
  repaymentId: string,
): Promise<RepaymentRow | undefined> {
  return (await trx('repayments').where({ fund_id: fundId, loan_id: loanId, id: repaymentId }).forUpdate().first()) as
    RepaymentRow | undefined;
}

export async function insertRepayment(trx: Trx, row: NewRepaymentRow): Promise<RepaymentRow> {
  const rows = (await trx('repayments').insert(row).returning('*')) as RepaymentRow[];
  return rows[0]!;
}

export async function markReversed(
  trx: Trx,
  fundId: string,
  repaymentId: string,
  changes: Pick<
    RepaymentRow,
    | 'reversed_at'
    | 'reversed_on'
    | 'reversed_by'
    | 'reversal_reason'
    | 'reversal_entry_id'
    | 'guarantee_reversal_entry_id'
  >,
): Promise<RepaymentRow> {
  const rows = (await trx('repayments')
    .where({ fund_id: fundId, id: repaymentId })
    .whereNull('reversed_at')
    .update(changes)
    .returning('*')) as RepaymentRow[];
  return rows[0]!;
}

export async function insertAllocations(trx: Trx, rows: readonly AllocationRow[]): Promise<void> {
  if (rows.length > 0) await trx('repayment_allocations').insert([...rows]);
}

export async function allocationsOf(db: Db, fundId: string, repaymentIds: readonly string[]): Promise<AllocationRow[]> {
  if (repaymentIds.length === 0) return [];
  return (await db('repayment_allocations')
    .where({ fund_id: fundId })
    .whereIn('repayment_id', [...repaymentIds])
    .orderBy([
      { column: 'repayment_id', order: 'asc' },
      { column: 'line_no', order: 'asc' },
    ])) as AllocationRow[];
}

export async function insertReleases(trx: Trx, rows: readonly ReleaseRow[]): Promise<void> {
  if (rows.length > 0) await trx('repayment_guarantee_releases').insert([...rows]);
}

export async function releasesOf(db: Db, fundId: string, repaymentIds: readonly string[]): Promise<ReleaseRow[]> {
  if (repaymentIds.length === 0) return [];
  return (await db('repayment_guarantee_releases')
    .where({ fund_id: fundId })
    .whereIn('repayment_id', [...repaymentIds])
    .orderBy([
      { column: 'repayment_id', order: 'asc' },
      { column: 'guarantee_id', order: 'asc' },
    ])) as ReleaseRow[];
}

/** What standing (not reversed) repayments released of each of the loan's guarantees so far. */
export async function releasedSoFar(db: Db, fundId: string, loanId: string): Promise<Map<string, string>> {
  const result = await db.raw<{ rows: { guarantee_id: string; released: string }[] }>(
    `SELECT g.guarantee_id, sum(g.amount)::text AS released
       FROM repayment_guarantee_releases g
       JOIN repayments r ON r.fund_id = g.fund_id AND r.id = g.repayment_id
      WHERE r.fund_id = ? AND r.loan_id = ? AND r.reversed_at IS NULL
      GROUP BY g.guarantee_id`,
    [fundId, loanId],
  );
  return new Map(result.rows.map((row) => [row.guarantee_id, row.released]));
}

/**
 * Adds (sign 1) or takes back (sign −1) a repayment's allocations in the instalments' paid
 * columns, one statement. The columns' CHECKs (0 ≤ paid ≤ due) are the backstop.
 */
export async function applyToInstalments(
  trx: Trx,
  fundId: string,
  loanId: string,
  repaymentId: string,
  sign: 1 | -1,
): Promise<number> {
  const result = await trx.raw<{ rowCount: number }>(
    `UPDATE loan_instalments i
        SET principal_paid = i.principal_paid + ?::numeric * a.principal,
            interest_paid = i.interest_paid + ?::numeric * a.interest
       FROM (SELECT schedule_version, instalment_number,
                    coalesce(sum(amount) FILTER (WHERE component = 'principal'), 0) AS principal,
                    coalesce(sum(amount) FILTER (WHERE component = 'interest'), 0) AS interest
               FROM repayment_allocations
              WHERE fund_id = ? AND repayment_id = ? AND instalment_number IS NOT NULL
              GROUP BY schedule_version, instalment_number) a
      WHERE i.fund_id = ? AND i.loan_id = ?
        AND i.schedule_version = a.schedule_version AND i.number = a.instalment_number`,
    [sign, sign, fundId, repaymentId, fundId, loanId],
  );
  return result.rowCount;
}

/** Interest paid per instalment by standing repayments received on or before `asOf`. */
export async function interestPaidAsOf(
  db: Db,
  fundId: string,
  loanId: string,
  asOf: string,
): Promise<Map<string, string>> {
  const result = await db.raw<{ rows: { key: string; paid: string }[] }>(
    `SELECT a.schedule_version || ':' || a.instalment_number AS key, sum(a.amount)::text AS paid
       FROM repayment_allocations a
       JOIN repayments r ON r.fund_id = a.fund_id AND r.id = a.repayment_id
      WHERE r.fund_id = ? AND r.loan_id = ? AND r.reversed_at IS NULL AND r.received_on <= ?::date
        AND a.component = 'interest' AND a.instalment_number IS NOT NULL
      GROUP BY a.schedule_version, a.instalment_number`,
    [fundId, loanId, asOf],
  );
  return new Map(result.rows.map((row) => [row.key, row.paid]));
}

/** Sets the loan's status (and repaid_on with it) on a loan the caller holds locked. */
export async function setLoanStatus(
  trx: Trx,
  fundId: string,
  loanId: string,
  status: LoanStatus,
  repaidOn: string | null,
  now: Date,
): Promise<void> {
  // A repaid loan has nothing past due; the daily job recomputes it for a loan reopened.
  const closing = status === 'repaid' ? { days_past_due: 0 } : {};
  const updated = await trx('loans')
    .where({ fund_id: fundId, id: loanId })
    .update({ status, repaid_on: repaidOn, ...closing, updated_at: now, version: trx.raw('version + 1') });
  if (updated !== 1) throw new Error(`loan ${loanId} not updated`);
}

/** The latest date a repayment of the loan was reversed on, if any was. */
export async function latestReversalDate(db: Db, fundId: string, loanId: string): Promise<string | null> {
  const result = await db.raw<{ rows: { reversed_on: string | null }[] }>(
    `SELECT to_char(max(reversed_on), 'YYYY-MM-DD') AS reversed_on
       FROM repayments WHERE fund_id = ? AND loan_id = ? AND reversed_at IS NOT NULL`,
    [fundId, loanId],
  );
  return result.rows[0]?.reversed_on ?? null;
}

/**
 * The first step of the loan's recovery case beyond its opening (a collateral realisation, a call,
 * an offset …), if any was taken: the kind and day (docs/adr/0018-default-waterfall.md).
 */
export async function firstRecoveryStep(
  db: Db,
  fundId: string,
  loanId: string,
): Promise<{ kind: string; taken_on: string } | undefined> {
  const result = await db.raw<{ rows: { kind: string; taken_on: string }[] }>(
    `SELECT s.kind, to_char(s.taken_on, 'YYYY-MM-DD') AS taken_on
       FROM recovery_cases c
       JOIN recovery_steps s ON s.fund_id = c.fund_id AND s.case_id = c.id
      WHERE c.fund_id = ? AND c.loan_id = ? AND s.kind <> 'opened'
      ORDER BY s.seq
      LIMIT 1`,
    [fundId, loanId],
  );
  return result.rows[0];
}

/** The first day of a schedule version: the disbursement, or the day an extension's schedule starts. */
export async function scheduleStart(db: Db, fundId: string, loanId: string, version: number): Promise<string> {
  const result = await db.raw<{ rows: { start: string | null }[] }>(
    `SELECT to_char(min(period_start), 'YYYY-MM-DD') AS start
       FROM loan_instalments WHERE fund_id = ? AND loan_id = ? AND schedule_version = ?`,
    [fundId, loanId, version],
  );
  const start = result.rows[0]?.start ?? null;
  if (start === null) throw new Error(`loan ${loanId} has no instalments in schedule version ${version}`);
  return start;
}

export interface AccrualAdjustmentRow {
  id: string;
  fund_id: string;
  loan_id: string;
  repayment_id: string;
  cause: 'repayment' | 'reversal';
  from_day: string;
  through_day: string;
  interest_difference: string;
  penalty_difference: string;
  entry_ids: string[];
  created_at: Date;
}

const ADJUSTMENT_COLUMNS = `id, fund_id, loan_id, repayment_id, cause, to_char(from_day, 'YYYY-MM-DD') AS from_day,
  to_char(through_day, 'YYYY-MM-DD') AS through_day, interest_difference::text AS interest_difference,
  penalty_difference::text AS penalty_difference, entry_ids::text[] AS entry_ids, created_at`;

export async function insertAccrualAdjustment(
  trx: Trx,
  row: Omit<AccrualAdjustmentRow, 'id'>,
): Promise<AccrualAdjustmentRow> {
  const result = await trx.raw<{ rows: AccrualAdjustmentRow[] }>(
    `INSERT INTO loan_accrual_adjustments
       (fund_id, loan_id, repayment_id, cause, from_day, through_day, interest_difference, penalty_difference,
        entry_ids, created_at)
     VALUES (?, ?, ?, ?, ?::date, ?::date, ?, ?, ?::uuid[], ?)
     RETURNING ${ADJUSTMENT_COLUMNS}`,
    [
      row.fund_id,
      row.loan_id,
      row.repayment_id,
      row.cause,
      row.from_day,
      row.through_day,
      row.interest_difference,
      row.penalty_difference,
      row.entry_ids,
      row.created_at,
    ],
  );
  return result.rows[0]!;
}

export async function accrualAdjustmentsOf(
  db: Db,
  fundId: string,
  repaymentIds: readonly string[],
): Promise<AccrualAdjustmentRow[]> {
  if (repaymentIds.length === 0) return [];
  const result = await db.raw<{ rows: AccrualAdjustmentRow[] }>(
    `SELECT ${ADJUSTMENT_COLUMNS} FROM loan_accrual_adjustments
      WHERE fund_id = ? AND repayment_id = ANY(?::uuid[]) ORDER BY created_at, cause`,
    [fundId, [...repaymentIds]],
  );
  return result.rows;
}
