import type { Db, Trx } from '../db/knex';
import type { Classification } from './daily-job.repo';
import type { LoanStatus, RepaymentMethod } from './loans.repo';

/**
 * SQL of loan extensions: the requests, the guarantors' consents, and the few figures an approval
 * reads (receivable balances, the accrual state, the last day the daily job ran) and writes (the
 * loan's restructured columns, its classification history). Every function takes the connection
 * or transaction first; the rules live in extensions.service.ts.
 */

// knex treats every "?" in raw SQL as a binding: the SQL below contains no other "?".

export type ExtensionStatus = 'submitted' | 'under_review' | 'approved' | 'rejected' | 'withdrawn';
export type ConsentStatus = 'pending' | 'accepted' | 'declined';

/** Extensions still in progress: at most one per loan (a partial unique index). */
export const OPEN_STATUSES: readonly ExtensionStatus[] = ['submitted', 'under_review'];

export interface ExtensionRow {
  id: string;
  fund_id: string;
  loan_id: string;
  number: number;
  status: ExtensionStatus;
  requested_maturity_date: string;
  repayment_method: RepaymentMethod;
  reason: string;
  maturity_date_before: string;
  repayment_method_before: RepaymentMethod;
  requested_by: string;
  requested_at: Date;
  withdrawn_by: string | null;
  withdrawn_at: Date | null;
  withdrawal_reason: string | null;
  decision_item_id: string | null;
  decided_at: Date | null;
  rejected_reason: string | null;
  effective_on: string | null;
  schedule_version_before: number | null;
  schedule_version_after: number | null;
  principal_rescheduled: string | null;
  past_due_principal: string | null;
  interest_carried: string | null;
  penalty_outstanding: string | null;
  fee_outstanding: string | null;
  loan_status_before: LoanStatus | null;
  classification_before: Classification | null;
  classification_floor: Classification | null;
  observation_ends_on: string | null;
  created_at: Date;
  updated_at: Date;
}

export type NewExtensionRow = Pick<
  ExtensionRow,
  | 'fund_id'
  | 'loan_id'
  | 'number'
  | 'requested_maturity_date'
  | 'repayment_method'
  | 'reason'
  | 'maturity_date_before'
  | 'repayment_method_before'
  | 'requested_by'
  | 'requested_at'
  | 'created_at'
  | 'updated_at'
>;

export type ApprovalColumns = Pick<
  ExtensionRow,
  | 'decision_item_id'
  | 'decided_at'
  | 'effective_on'
  | 'schedule_version_before'
  | 'schedule_version_after'
  | 'principal_rescheduled'
  | 'past_due_principal'
  | 'interest_carried'
  | 'penalty_outstanding'
  | 'fee_outstanding'
  | 'loan_status_before'
  | 'classification_before'
  | 'classification_floor'
  | 'observation_ends_on'
>;

export interface ConsentRow {
  fund_id: string;
  extension_id: string;
  guarantee_id: string;
  guarantor_member_id: string;
  status: ConsentStatus;
  decided_by: string | null;
  decided_at: Date | null;
  decline_reason: string | null;
}

export const ONE_OPEN_INDEX = 'loan_extensions_one_open';

// ---------------------------------------------------------------------------------------------
// Extensions

/** The next number of the loan's extensions; the caller holds the loan's row lock. */
export async function nextNumber(trx: Trx, fundId: string, loanId: string): Promise<number> {
  const row = (await trx('loan_extensions')
    .where({ fund_id: fundId, loan_id: loanId })
    .max({ max: 'number' })
    .first()) as { max: number | null } | undefined;
  return (row?.max ?? 0) + 1;
}

export async function insertExtension(trx: Trx, row: NewExtensionRow): Promise<ExtensionRow> {
  const rows = (await trx('loan_extensions').insert(row).returning('*')) as ExtensionRow[];
  return rows[0]!;
}

export async function findExtension(db: Db, fundId: string, extensionId: string): Promise<ExtensionRow | undefined> {
  return (await db('loan_extensions').where({ fund_id: fundId, id: extensionId }).first()) as ExtensionRow | undefined;
}

export async function lockExtension(trx: Trx, fundId: string, extensionId: string): Promise<ExtensionRow | undefined> {
  return (await trx('loan_extensions').where({ fund_id: fundId, id: extensionId }).forUpdate().first()) as
    ExtensionRow | undefined;
}

export async function openExtensionOf(db: Db, fundId: string, loanId: string): Promise<ExtensionRow | undefined> {
  return (await db('loan_extensions')
    .where({ fund_id: fundId, loan_id: loanId })
    .whereIn('status', [...OPEN_STATUSES])
    .first()) as ExtensionRow | undefined;
}

export async function extensionsById(db: Db, fundId: string, ids: readonly string[]): Promise<ExtensionRow[]> {
  if (ids.length === 0) return [];
  return (await db('loan_extensions')
    .where({ fund_id: fundId })
    .whereIn('id', [...ids])) as ExtensionRow[];
}

/** The loan's extensions, newest first. */
export async function extensionsOf(
  db: Db,
  fundId: string,
  loanId: string,
  page: { beforeNumber?: number | undefined; limit: number },
): Promise<ExtensionRow[]> {
  const query = db('loan_extensions')
    .where({ fund_id: fundId, loan_id: loanId })
    .orderBy('number', 'desc')
    .limit(page.limit);
  if (page.beforeNumber !== undefined) query.andWhere('number', '<', page.beforeNumber);
  return (await query) as ExtensionRow[];
}

export async function updateExtension(
  trx: Trx,
  fundId: string,
  extensionId: string,
  changes: Partial<Omit<ExtensionRow, 'id' | 'fund_id' | 'loan_id' | 'number' | 'created_at' | 'updated_at'>>,
  now: Date,
): Promise<ExtensionRow> {
  const rows = (await trx('loan_extensions')
    .where({ fund_id: fundId, id: extensionId })
    .update({ ...changes, updated_at: now })
    .returning('*')) as ExtensionRow[];
  return rows[0]!;
}

// ---------------------------------------------------------------------------------------------
// Consents

export async function insertConsents(
  trx: Trx,
  rows: readonly Omit<ConsentRow, 'status' | 'decided_by' | 'decided_at' | 'decline_reason'>[],
) {
  if (rows.length > 0) await trx('loan_extension_consents').insert([...rows]);
}

export async function consentsOf(db: Db, fundId: string, extensionIds: readonly string[]): Promise<ConsentRow[]> {
  if (extensionIds.length === 0) return [];
  return (await db('loan_extension_consents')
    .where({ fund_id: fundId })
    .whereIn('extension_id', [...extensionIds])
    .orderBy([
      { column: 'extension_id', order: 'asc' },
      { column: 'guarantee_id', order: 'asc' },
    ])) as ConsentRow[];
}

export async function lockConsent(
  trx: Trx,
  fundId: string,
  extensionId: string,
  guaranteeId: string,
): Promise<ConsentRow | undefined> {
  return (await trx('loan_extension_consents')
    .where({ fund_id: fundId, extension_id: extensionId, guarantee_id: guaranteeId })
    .forUpdate()
    .first()) as ConsentRow | undefined;
}

export async function decideConsent(
  trx: Trx,
  key: { fundId: string; extensionId: string; guaranteeId: string },
  changes: Pick<ConsentRow, 'status' | 'decided_by' | 'decided_at' | 'decline_reason'>,
): Promise<void> {
  await trx('loan_extension_consents')
    .where({ fund_id: key.fundId, extension_id: key.extensionId, guarantee_id: key.guaranteeId, status: 'pending' })
    .update(changes);
}

// ---------------------------------------------------------------------------------------------
// What an approval reads

export interface AccrualStateRow {
  accrued_through: string;
  interest_period_due_on: string | null;
  interest_segment_start: string | null;
  interest_segment_balance: string | null;
  interest_segment_accrued: string | null;
}

/** Where the daily job's contract-interest segment of a pool loan stands (ADR 0012), if it has seen it. */
export async function accrualStateOf(db: Db, fundId: string, loanId: string): Promise<AccrualStateRow | undefined> {
  const result = await db.raw<{ rows: AccrualStateRow[] }>(
    `SELECT to_char(accrued_through, 'YYYY-MM-DD') AS accrued_through,
            to_char(interest_period_due_on, 'YYYY-MM-DD') AS interest_period_due_on,
            to_char(interest_segment_start, 'YYYY-MM-DD') AS interest_segment_start,
            interest_segment_balance::text AS interest_segment_balance,
            interest_segment_accrued::text AS interest_segment_accrued
       FROM loan_accrual_state WHERE fund_id = ? AND loan_id = ?`,
    [fundId, loanId],
  );
  return result.rows[0];
}

// ---------------------------------------------------------------------------------------------
// What an approval writes to the loan

export interface RestructuredColumns {
  schedule_version: number;
  maturity_date: string;
  repayment_method: RepaymentMethod;
  status: LoanStatus;
  classification: Classification;
  days_past_due: number;
}

/** The loan as restructured, on the row the caller holds locked; bumps its version. */
export async function markRestructured(
  trx: Trx,
  fundId: string,
  loanId: string,
  columns: RestructuredColumns,
  now: Date,
): Promise<void> {
  const updated = await trx('loans')
    .where({ fund_id: fundId, id: loanId })
    .update({ ...columns, restructured: true, updated_at: now, version: trx.raw('version + 1') });
  if (updated !== 1) throw new Error(`loan ${loanId} was not restructured`);
}

/** A change of status or classification, in the history the daily job also writes. */
export async function recordClassificationChange(
  trx: Trx,
  row: {
    fund_id: string;
    loan_id: string;
    changed_on: string;
    from_classification: Classification | null;
    to_classification: Classification;
    from_status: LoanStatus;
    to_status: LoanStatus;
    days_past_due: number;
  },
): Promise<void> {
  await trx('loan_classification_history').insert(row);
}
