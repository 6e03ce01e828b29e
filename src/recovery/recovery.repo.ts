import type { Db, Trx } from '../db/knex';
import type { MotionFailure } from '../committee/motions';
import type { Waiver } from './waterfall';

/**
 * SQL of recovery cases (docs/adr/0018-default-waterfall.md). Every function takes the connection
 * or transaction first; the rules live in recovery.service.ts. Postings are written only by the
 * ledger; this file reads balances.
 */

// knex treats every "?" in raw SQL as a binding: the SQL below contains no other "?".

export type CaseStatus = 'open' | 'closed';
export type CaseOutcome = 'repaid' | 'recovered' | 'written_off';
export const ACTIONS = ['declare_default', 'call_guarantees', 'capital_offset', 'write_off', 'close_case'] as const;
export type RecoveryAction = (typeof ACTIONS)[number];
export const ACTION_STATUSES = ['proposed', 'approved', 'rejected', 'ineligible', 'withdrawn'] as const;
export type ActionStatus = (typeof ACTION_STATUSES)[number];
export const STEP_KINDS = [
  'opened',
  'collateral_realised',
  'collateral_worthless',
  'guarantees_called',
  'guarantor_paid',
  'guarantor_failed',
  'capital_offset',
  'written_off',
  'recovery_received',
  'closed',
] as const;
export type StepKind = (typeof STEP_KINDS)[number];
export type CallStatus = 'called' | 'paid' | 'failed';

export interface CaseRow {
  id: string;
  fund_id: string;
  number: number;
  loan_id: string;
  loan_number: number;
  borrower_member_id: string;
  status: CaseStatus;
  opened_on: string;
  opened_by: 'daily_job' | 'resolution';
  closed_on: string | null;
  outcome: CaseOutcome | null;
  created_at: Date;
  updated_at: Date;
}

export interface ActionRow {
  id: string;
  fund_id: string;
  loan_id: string;
  case_id: string | null;
  action: RecoveryAction;
  status: ActionStatus;
  reason: string;
  proposed_by: string | null;
  proposed_at: Date;
  decision_item_id: string | null;
  resolution: string | null;
  decided_on: string | null;
  failures: MotionFailure[] | null;
  result: Record<string, unknown> | null;
  /** A capital offset's or write-off's waiver of the guarantees standing when proposed (rule W-stand). */
  waiver: Waiver | null;
}

export interface StepRow {
  id: string;
  case_id: string;
  seq: number;
  kind: StepKind;
  taken_on: string;
  action_id: string | null;
  entry_ids: string[];
  details: Record<string, unknown>;
  recorded_by: string | null;
  recorded_at: Date;
}

export interface CollateralOutcomeRow {
  id: string;
  case_id: string;
  collateral_id: string;
  outcome: 'realised' | 'worthless';
  taken_on: string;
  gross_proceeds: string;
  costs: string;
  net_proceeds: string;
  reference: string | null;
  note: string;
  repayment_id: string | null;
  step_id: string;
}

export interface CallRow {
  id: string;
  fund_id: string;
  case_id: string;
  action_id: string;
  round: number;
  guarantee_id: string;
  guarantor_member_id: string;
  guarantee_type: 'joint_and_several' | 'general';
  standing: string;
  amount: string;
  paid: string;
  cancelled: string;
  status: CallStatus;
  called_on: string;
  due_on: string;
  failed_on: string | null;
  failure_reason: string | null;
  restored: Record<string, string> | null;
  call_entry_id: string;
  failure_entry_id: string | null;
}

export interface PaymentRow {
  id: string;
  call_id: string;
  guarantor_member_id: string;
  amount: string;
  received_on: string;
  reference: string;
  entry_id: string;
  memo_entry_id: string;
}

export interface ReceiptRow {
  id: string;
  case_id: string;
  amount: string;
  received_on: string;
  reference: string;
  payer: string;
  entry_id: string;
}

const DATE = (column: string, as = column.split('.').pop()!) => `to_char(${column}, 'YYYY-MM-DD') AS ${as}`;

const CASE_SELECT = `SELECT c.id, c.fund_id, c.number, c.loan_id, l.number AS loan_number, c.borrower_member_id,
       c.status, ${DATE('c.opened_on')}, c.opened_by, ${DATE('c.closed_on')}, c.outcome, c.created_at, c.updated_at
  FROM recovery_cases c JOIN loans l ON l.fund_id = c.fund_id AND l.id = c.loan_id`;

// ---------------------------------------------------------------------------------------------
// Cases

/** Case numbers are taken one after the other per fund (the job and resolutions both open cases). */
async function lockCaseNumbers(trx: Trx, fundId: string): Promise<void> {
  await trx.raw(`SELECT pg_advisory_xact_lock(hashtextextended('huzhu.recovery_cases.number:' || ?::text, 0))`, [
    fundId,
  ]);
}

export interface OpenedCase {
  id: string;
  number: number;
  loan_id: string;
  loan_number: number;
}

/**
 * Opens a case, in one statement, for every pool loan of the fund that is defaulted on day `date`
 * and has none, with its first step `opened`: the daily job's part of the waterfall.
 */
export async function openCasesForDay(trx: Trx, fundId: string, date: string, now: Date): Promise<OpenedCase[]> {
  await lockCaseNumbers(trx, fundId);
  const result = await trx.raw<{ rows: OpenedCase[] }>(
    `WITH params AS (SELECT ?::uuid AS fund_id, ?::date AS d, ?::timestamptz AS now),
     base AS (
       SELECT coalesce(max(number), 0) AS last FROM recovery_cases WHERE fund_id = (SELECT fund_id FROM params)
     ), defaulted AS (
       SELECT l.id, l.number, l.borrower_member_id, l.days_past_due,
              (SELECT last FROM base) + row_number() OVER (ORDER BY l.number) AS case_number
         FROM loans l CROSS JOIN params p
        WHERE l.fund_id = p.fund_id AND l.lender = 'pool' AND l.status = 'defaulted'
          AND NOT EXISTS (SELECT 1 FROM recovery_cases c WHERE c.fund_id = l.fund_id AND c.loan_id = l.id)
     ), opened AS (
       INSERT INTO recovery_cases (fund_id, number, loan_id, borrower_member_id, opened_on, opened_by, created_at, updated_at)
       SELECT p.fund_id, d.case_number, d.id, d.borrower_member_id, p.d, 'daily_job', p.now, p.now
         FROM defaulted d CROSS JOIN params p
       RETURNING id, number, loan_id
     ), steps AS (
       INSERT INTO recovery_steps (fund_id, case_id, seq, kind, taken_on, details, recorded_at)
       SELECT p.fund_id, o.id, 1, 'opened', p.d,
              jsonb_build_object('by', 'daily_job', 'daysPastDue', d.days_past_due), p.now
         FROM opened o JOIN defaulted d ON d.id = o.loan_id CROSS JOIN params p
     )
     SELECT o.id, o.number, o.loan_id, d.number AS loan_number
       FROM opened o JOIN defaulted d ON d.id = o.loan_id ORDER BY o.number`,
    [fundId, date, now],
  );
  return result.rows;
}

export async function insertCase(
  trx: Trx,
  row: { fund_id: string; loan_id: string; borrower_member_id: string; opened_on: string; now: Date },
): Promise<string> {
  await lockCaseNumbers(trx, row.fund_id);
  const result = await trx.raw<{ rows: { id: string }[] }>(
    `INSERT INTO recovery_cases (fund_id, number, loan_id, borrower_member_id, opened_on, opened_by, created_at, updated_at)
     SELECT ?, coalesce(max(number), 0) + 1, ?, ?, ?, 'resolution', ?, ?
       FROM recovery_cases WHERE fund_id = ?
     RETURNING id`,
    [row.fund_id, row.loan_id, row.borrower_member_id, row.opened_on, row.now, row.now, row.fund_id],
  );
  return result.rows[0]!.id;
}

export async function findCase(db: Db, fundId: string, caseId: string): Promise<CaseRow | undefined> {
  const result = await db.raw<{ rows: CaseRow[] }>(`${CASE_SELECT} WHERE c.fund_id = ? AND c.id = ?`, [fundId, caseId]);
  return result.rows[0];
}

export async function caseOfLoan(db: Db, fundId: string, loanId: string): Promise<CaseRow | undefined> {
  const result = await db.raw<{ rows: CaseRow[] }>(`${CASE_SELECT} WHERE c.fund_id = ? AND c.loan_id = ?`, [
    fundId,
    loanId,
  ]);
  return result.rows[0];
}

export async function lockCase(trx: Trx, fundId: string, caseId: string): Promise<void> {
  await trx.raw('SELECT id FROM recovery_cases WHERE fund_id = ? AND id = ? FOR UPDATE', [fundId, caseId]);
}

export async function closeCase(
  trx: Trx,
  fundId: string,
  caseId: string,
  closedOn: string,
  outcome: CaseOutcome,
  now: Date,
): Promise<void> {
  await trx('recovery_cases')
    .where({ fund_id: fundId, id: caseId, status: 'open' })
    .update({ status: 'closed', closed_on: closedOn, outcome, updated_at: now, version: trx.raw('version + 1') });
}

export interface ListCasesFilter {
  status?: CaseStatus | undefined;
  loanId?: string | undefined;
  /** A member user: only cases of loans it borrowed or guarantees. */
  visibleTo?: string | undefined;
  beforeNumber?: number | undefined;
  limit: number;
}

export async function listCases(db: Db, fundId: string, filter: ListCasesFilter): Promise<CaseRow[]> {
  const where: string[] = ['c.fund_id = ?'];
  const bindings: (string | number)[] = [fundId];
  if (filter.status !== undefined) {
    where.push('c.status = ?');
    bindings.push(filter.status);
  }
  if (filter.loanId !== undefined) {
    where.push('c.loan_id = ?');
    bindings.push(filter.loanId);
  }
  if (filter.visibleTo !== undefined) {
    where.push(`(c.borrower_member_id = ? OR EXISTS (
      SELECT 1 FROM loan_guarantees g WHERE g.fund_id = c.fund_id AND g.loan_id = c.loan_id AND g.guarantor_member_id = ?))`);
    bindings.push(filter.visibleTo, filter.visibleTo);
  }
  if (filter.beforeNumber !== undefined) {
    where.push('c.number < ?');
    bindings.push(filter.beforeNumber);
  }
  const result = await db.raw<{ rows: CaseRow[] }>(
    `${CASE_SELECT} WHERE ${where.join(' AND ')} ORDER BY c.number DESC LIMIT ?`,
    [...bindings, filter.limit],
  );
  return result.rows;
}

// ---------------------------------------------------------------------------------------------
// Steps

/** Appends a step to a case (whose row the caller holds locked): the next number in its order. */
export async function insertStep(
  trx: Trx,
  row: {
    fund_id: string;
    case_id: string;
    kind: StepKind;
    taken_on: string;
    action_id: string | null;
    entry_ids: string[];
    details: Record<string, unknown>;
    recorded_by: string | null;
    recorded_at: Date;
  },
): Promise<StepRow> {
  const result = await trx.raw<{ rows: StepRow[] }>(
    `INSERT INTO recovery_steps (fund_id, case_id, seq, kind, taken_on, action_id, entry_ids, details, recorded_by, recorded_at)
     SELECT ?, ?, coalesce(max(seq), 0) + 1, ?, ?, ?, ?::uuid[], ?::jsonb, ?, ?
       FROM recovery_steps WHERE fund_id = ? AND case_id = ?
     RETURNING id, case_id, seq, kind, ${DATE('taken_on')}, action_id, entry_ids, details, recorded_by, recorded_at`,
    [
      row.fund_id,
      row.case_id,
      row.kind,
      row.taken_on,
      row.action_id,
      row.entry_ids,
      JSON.stringify(row.details),
      row.recorded_by,
      row.recorded_at,
      row.fund_id,
      row.case_id,
    ],
  );
  return result.rows[0]!;
}

export async function stepsOf(db: Db, fundId: string, caseId: string): Promise<StepRow[]> {
  const result = await db.raw<{ rows: StepRow[] }>(
    `SELECT id, case_id, seq, kind, ${DATE('taken_on')}, action_id, entry_ids, details, recorded_by, recorded_at
       FROM recovery_steps WHERE fund_id = ? AND case_id = ? ORDER BY seq`,
    [fundId, caseId],
  );
  return result.rows;
}

/** The day of the case's latest step: no step may be dated before it. */
export async function latestStepDate(db: Db, fundId: string, caseId: string): Promise<string> {
  const result = await db.raw<{ rows: { taken_on: string }[] }>(
    `SELECT ${DATE('max(taken_on)', 'taken_on')} FROM recovery_steps WHERE fund_id = ? AND case_id = ?`,
    [fundId, caseId],
  );
  return result.rows[0]!.taken_on;
}

// ---------------------------------------------------------------------------------------------
// Actions (motions)

const ACTION_COLUMNS = `id, fund_id, loan_id, case_id, action, status, reason, proposed_by, proposed_at, decision_item_id,
  resolution, ${DATE('decided_on')}, failures, result, waiver`;

export async function insertAction(
  trx: Trx,
  row: Pick<
    ActionRow,
    'fund_id' | 'loan_id' | 'case_id' | 'action' | 'reason' | 'proposed_by' | 'proposed_at' | 'waiver'
  >,
): Promise<ActionRow> {
  const result = await trx.raw<{ rows: ActionRow[] }>(
    `INSERT INTO recovery_actions (fund_id, loan_id, case_id, action, reason, proposed_by, proposed_at, updated_at, waiver)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb) RETURNING ${ACTION_COLUMNS}`,
    [
      row.fund_id,
      row.loan_id,
      row.case_id,
      row.action,
      row.reason,
      row.proposed_by,
      row.proposed_at,
      row.proposed_at,
      row.waiver === null ? null : JSON.stringify(row.waiver),
    ],
  );
  return result.rows[0]!;
}

export async function findAction(db: Db, fundId: string, actionId: string): Promise<ActionRow | undefined> {
  const result = await db.raw<{ rows: ActionRow[] }>(
    `SELECT ${ACTION_COLUMNS} FROM recovery_actions WHERE fund_id = ? AND id = ?`,
    [fundId, actionId],
  );
  return result.rows[0];
}

export async function lockAction(trx: Trx, fundId: string, actionId: string): Promise<ActionRow | undefined> {
  const result = await trx.raw<{ rows: ActionRow[] }>(
    `SELECT ${ACTION_COLUMNS} FROM recovery_actions WHERE fund_id = ? AND id = ? FOR UPDATE`,
    [fundId, actionId],
  );
  return result.rows[0];
}

export async function actionsByIds(db: Db, fundId: string, ids: readonly string[]): Promise<ActionRow[]> {
  if (ids.length === 0) return [];
  const result = await db.raw<{ rows: ActionRow[] }>(
    `SELECT ${ACTION_COLUMNS} FROM recovery_actions WHERE fund_id = ? AND id = ANY(?::uuid[])`,
    [fundId, [...ids]],
  );
  return result.rows;
}

export async function actionsOfLoan(db: Db, fundId: string, loanId: string): Promise<ActionRow[]> {
  const result = await db.raw<{ rows: ActionRow[] }>(
    `SELECT ${ACTION_COLUMNS} FROM recovery_actions WHERE fund_id = ? AND loan_id = ? ORDER BY proposed_at, id`,
    [fundId, loanId],
  );
  return result.rows;
}

export async function proposedActionOfLoan(db: Db, fundId: string, loanId: string): Promise<ActionRow | undefined> {
  const result = await db.raw<{ rows: ActionRow[] }>(
    `SELECT ${ACTION_COLUMNS} FROM recovery_actions WHERE fund_id = ? AND loan_id = ? AND status = 'proposed'`,
    [fundId, loanId],
  );
  return result.rows[0];
}

export async function settleAction(
  trx: Trx,
  fundId: string,
  actionId: string,
  changes: {
    status: ActionStatus;
    case_id?: string;
    decision_item_id?: string;
    resolution?: string;
    decided_on?: string;
    failures?: MotionFailure[];
    result?: Record<string, unknown>;
  },
  now: Date,
): Promise<void> {
  const { failures, result, ...rest } = changes;
  const updated = await trx('recovery_actions')
    .where({ fund_id: fundId, id: actionId, status: 'proposed' })
    .update({
      ...rest,
      ...(failures === undefined ? {} : { failures: JSON.stringify(failures) }),
      ...(result === undefined ? {} : { result: JSON.stringify(result) }),
      updated_at: now,
    });
  if (updated !== 1) throw new Error(`recovery action ${actionId} was not proposed`);
}

// ---------------------------------------------------------------------------------------------
// Collateral

export async function collateralOutcomes(db: Db, fundId: string, caseId: string): Promise<CollateralOutcomeRow[]> {
  const result = await db.raw<{ rows: CollateralOutcomeRow[] }>(
    `SELECT id, case_id, collateral_id, outcome, ${DATE('taken_on')}, gross_proceeds, costs, net_proceeds, reference, note,
            repayment_id, step_id
       FROM recovery_collateral WHERE fund_id = ? AND case_id = ?`,
    [fundId, caseId],
  );
  return result.rows;
}

export async function insertCollateralOutcome(
  trx: Trx,
  row: Omit<CollateralOutcomeRow, 'id'> & { fund_id: string },
): Promise<void> {
  await trx('recovery_collateral').insert(row);
}

// ---------------------------------------------------------------------------------------------
// Calls, payments, receipts

const CALL_COLUMNS = `id, fund_id, case_id, action_id, round, guarantee_id, guarantor_member_id, guarantee_type, standing, amount,
  paid, cancelled, status, ${DATE('called_on')}, ${DATE('due_on')}, ${DATE('failed_on')}, failure_reason, restored,
  call_entry_id, failure_entry_id`;

export async function callsOf(db: Db, fundId: string, caseId: string): Promise<CallRow[]> {
  const result = await db.raw<{ rows: CallRow[] }>(
    `SELECT ${CALL_COLUMNS} FROM recovery_calls WHERE fund_id = ? AND case_id = ? ORDER BY round, guarantee_id`,
    [fundId, caseId],
  );
  return result.rows;
}

export async function lockCall(trx: Trx, fundId: string, caseId: string, callId: string): Promise<CallRow | undefined> {
  const result = await trx.raw<{ rows: CallRow[] }>(
    `SELECT ${CALL_COLUMNS} FROM recovery_calls WHERE fund_id = ? AND case_id = ? AND id = ? FOR UPDATE`,
    [fundId, caseId, callId],
  );
  return result.rows[0];
}

export async function insertCalls(
  trx: Trx,
  rows: readonly Omit<
    CallRow,
    'id' | 'paid' | 'cancelled' | 'status' | 'failed_on' | 'failure_reason' | 'restored' | 'failure_entry_id'
  >[],
): Promise<void> {
  if (rows.length > 0) await trx('recovery_calls').insert([...rows]);
}

export async function updateCall(
  trx: Trx,
  fundId: string,
  callId: string,
  changes: Partial<
    Pick<CallRow, 'paid' | 'status' | 'cancelled' | 'failed_on' | 'failure_reason' | 'failure_entry_id'>
  > & {
    restored?: Record<string, string>;
  },
): Promise<void> {
  const { restored, ...rest } = changes;
  await trx('recovery_calls')
    .where({ fund_id: fundId, id: callId })
    .update({ ...rest, ...(restored === undefined ? {} : { restored: JSON.stringify(restored) }) });
}

export async function insertPayment(
  trx: Trx,
  row: Omit<PaymentRow, 'id' | 'guarantor_member_id'> & { fund_id: string; step_id: string },
): Promise<void> {
  await trx('recovery_call_payments').insert(row);
}

export async function paymentsOf(db: Db, fundId: string, caseId: string): Promise<PaymentRow[]> {
  const result = await db.raw<{ rows: PaymentRow[] }>(
    `SELECT p.id, p.call_id, c.guarantor_member_id, p.amount, ${DATE('p.received_on')}, p.reference, p.entry_id,
            p.memo_entry_id
       FROM recovery_call_payments p JOIN recovery_calls c ON c.fund_id = p.fund_id AND c.id = p.call_id
      WHERE p.fund_id = ? AND c.case_id = ? ORDER BY p.received_on, p.id`,
    [fundId, caseId],
  );
  return result.rows;
}

export async function insertReceipt(
  trx: Trx,
  row: Omit<ReceiptRow, 'id'> & { fund_id: string; step_id: string },
): Promise<void> {
  await trx('recovery_receipts').insert(row);
}

export async function receiptsOf(db: Db, fundId: string, caseId: string): Promise<ReceiptRow[]> {
  const result = await db.raw<{ rows: ReceiptRow[] }>(
    `SELECT id, case_id, amount, ${DATE('received_on')}, reference, payer, entry_id
       FROM recovery_receipts WHERE fund_id = ? AND case_id = ? ORDER BY received_on, id`,
    [fundId, caseId],
  );
  return result.rows;
}

/** Whether a bank reference is already recorded by a guarantor payment or a recovery receipt. */
export async function referenceTaken(db: Db, fundId: string, reference: string): Promise<boolean> {
  const result = await db.raw<{ rows: unknown[] }>(
    `SELECT 1 FROM recovery_call_payments WHERE fund_id = ? AND reference = ?
     UNION ALL SELECT 1 FROM recovery_receipts WHERE fund_id = ? AND reference = ?`,
    [fundId, reference, fundId, reference],
  );
  return result.rows.length > 0;
}

// ---------------------------------------------------------------------------------------------
// Balances and guarantees

/** The balances of the loan's receivable accounts 1201–1204, current; missing accounts read 0. */
export async function receivables(db: Db, fundId: string, loanId: string): Promise<Record<string, string>> {
  const result = await db.raw<{ rows: { code: string; balance: string }[] }>(
    `SELECT split_part(a.code, ':', 1) AS code, b.balance::text AS balance
       FROM accounts a JOIN account_balances b ON b.account_id = a.id
      WHERE a.fund_id = ? AND a.code = ANY(?::text[])`,
    [fundId, ['1201', '1202', '1203', '1204'].map((code) => `${code}:${loanId}`)],
  );
  return Object.fromEntries(result.rows.map((row) => [row.code, row.balance]));
}

/** Locks the balance rows of the loan's receivables that exist, in id order. */
export async function lockReceivables(trx: Trx, fundId: string, loanId: string): Promise<void> {
  await trx.raw(
    `SELECT b.account_id FROM account_balances b JOIN accounts a ON a.id = b.account_id
      WHERE a.fund_id = ? AND a.code = ANY(?::text[]) ORDER BY b.account_id FOR UPDATE OF b`,
    [fundId, ['1201', '1202', '1203', '1204'].map((code) => `${code}:${loanId}`)],
  );
}

export interface StandingRow {
  guarantee_id: string;
  guarantor_member_id: string;
  guarantor_name: string;
  type: 'joint_and_several' | 'general';
  status: string;
  amount: string;
  /** Released by standing repayments (rule R-release). */
  released: string;
  /** Paid under the case's calls. */
  paid: string;
  /** amount − released − paid: what the guarantee still stands behind. */
  standing: string;
}

/** Every guarantee of the loan with what it still stands behind, in creation order. */
export async function guaranteeStanding(db: Db, fundId: string, loanId: string): Promise<StandingRow[]> {
  const result = await db.raw<{ rows: StandingRow[] }>(
    `SELECT g.id AS guarantee_id, g.guarantor_member_id, m.name AS guarantor_name, g.type, g.status,
            g.amount::text AS amount, coalesce(r.released, 0)::numeric(20, 2)::text AS released,
            coalesce(c.paid, 0)::numeric(20, 2)::text AS paid,
            (g.amount - coalesce(r.released, 0) - coalesce(c.paid, 0))::numeric(20, 2)::text AS standing
       FROM loan_guarantees g
       JOIN members m ON m.fund_id = g.fund_id AND m.id = g.guarantor_member_id
       LEFT JOIN LATERAL (
         SELECT sum(x.amount) AS released
           FROM repayment_guarantee_releases x
           JOIN repayments p ON p.fund_id = x.fund_id AND p.id = x.repayment_id
          WHERE x.fund_id = g.fund_id AND x.guarantee_id = g.id AND p.reversed_at IS NULL
       ) r ON true
       LEFT JOIN LATERAL (
         SELECT sum(k.paid) AS paid FROM recovery_calls k WHERE k.fund_id = g.fund_id AND k.guarantee_id = g.id
       ) c ON true
      WHERE g.fund_id = ? AND g.loan_id = ? AND g.status IN ('active', 'released')
      ORDER BY g.created_at, g.id`,
    [fundId, loanId],
  );
  return result.rows;
}

/**
 * Moves principal the waterfall discharged into (positive) or back out of (negative) the current
 * schedule's paid columns: in, oldest instalment first; out, newest first — so the daily job's
 * overdue principal and contract balance follow what the loan still owes.
 */
export async function shiftInstalmentPrincipal(
  trx: Trx,
  fundId: string,
  loanId: string,
  scheduleVersion: number,
  amount: string,
): Promise<void> {
  await trx.raw(
    `WITH params AS (SELECT ?::uuid AS fund_id, ?::uuid AS loan_id, ?::int AS v, ?::numeric AS amount),
     room AS (
       SELECT i.number,
              CASE WHEN p.amount > 0 THEN i.principal - i.principal_paid ELSE i.principal_paid END AS room,
              CASE WHEN p.amount > 0 THEN i.number ELSE -i.number END AS ord
         FROM loan_instalments i CROSS JOIN params p
        WHERE i.fund_id = p.fund_id AND i.loan_id = p.loan_id AND i.schedule_version = p.v
     ), taken AS (
       SELECT r.number,
              least(r.room, greatest(abs(p.amount) - coalesce(sum(r.room) OVER (
                ORDER BY r.ord ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0), 0)) AS part,
              sign(p.amount) AS direction
         FROM room r CROSS JOIN params p
     )
     UPDATE loan_instalments i SET principal_paid = i.principal_paid + t.direction * t.part
       FROM taken t CROSS JOIN params p
      WHERE i.fund_id = p.fund_id AND i.loan_id = p.loan_id AND i.schedule_version = p.v
        AND i.number = t.number AND t.part > 0`,
    [fundId, loanId, scheduleVersion, amount],
  );
}

/** The borrower's paid-in capital: its 3001 balance and what holds keep of it. */
export async function capitalOf(
  db: Db,
  fundId: string,
  memberId: string,
): Promise<{ accountId: string | null; balance: string; held: string }> {
  const result = await db.raw<{ rows: { account_id: string; balance: string; held: string }[] }>(
    `SELECT a.id AS account_id, b.balance::text AS balance, b.held::text AS held
       FROM accounts a JOIN account_balances b ON b.account_id = a.id
      WHERE a.fund_id = ? AND a.code = ?`,
    [fundId, `3001:${memberId}`],
  );
  const row = result.rows[0];
  return row
    ? { accountId: row.account_id, balance: row.balance, held: row.held }
    : { accountId: null, balance: '0', held: '0' };
}

// ---------------------------------------------------------------------------------------------
// Member statements

export interface ClaimLine {
  case_id: string;
  case_number: number;
  loan_id: string;
  loan_number: number;
  guarantor_member_id: string;
  borrower_member_id: string;
  amount: string;
}

/**
 * Subrogated claims a member holds (as guarantor) or owes (as borrower) at the end of `to`: what
 * guarantors paid under calls up to that day, per case and guarantor.
 */
export async function claimsOfMember(db: Db, fundId: string, memberId: string, to: string): Promise<ClaimLine[]> {
  const result = await db.raw<{ rows: ClaimLine[] }>(
    `SELECT c.id AS case_id, c.number AS case_number, c.loan_id, l.number AS loan_number, k.guarantor_member_id,
            c.borrower_member_id, sum(p.amount)::numeric(20, 2)::text AS amount
       FROM recovery_call_payments p
       JOIN recovery_calls k ON k.fund_id = p.fund_id AND k.id = p.call_id
       JOIN recovery_cases c ON c.fund_id = k.fund_id AND c.id = k.case_id
       JOIN loans l ON l.fund_id = c.fund_id AND l.id = c.loan_id
      WHERE p.fund_id = ? AND p.received_on <= ?::date
        AND (k.guarantor_member_id = ? OR c.borrower_member_id = ?)
      GROUP BY c.id, c.number, c.loan_id, l.number, k.guarantor_member_id, c.borrower_member_id
      ORDER BY c.number, k.guarantor_member_id`,
    [fundId, to, memberId, memberId],
  );
  return result.rows;
}

// ---------------------------------------------------------------------------------------------
// Loans

export async function setLoanStatus(
  trx: Trx,
  fundId: string,
  loanId: string,
  status: 'defaulted' | 'written_off' | 'repaid',
  repaidOn: string | null,
  now: Date,
): Promise<void> {
  await trx('loans')
    .where({ fund_id: fundId, id: loanId })
    .update({ status, repaid_on: repaidOn, updated_at: now, version: trx.raw('version + 1') });
}

/** A resolution that declares default writes the status change into the loan's history too. */
export async function recordDefaultInHistory(
  trx: Trx,
  fundId: string,
  loanId: string,
  changedOn: string,
): Promise<void> {
  await trx.raw(
    `INSERT INTO loan_classification_history
       (fund_id, loan_id, changed_on, from_classification, to_classification, from_status, to_status, days_past_due)
     SELECT fund_id, id, ?, classification, coalesce(classification, 'normal'), 'overdue', 'defaulted',
            coalesce(days_past_due, 0)
       FROM loans WHERE fund_id = ? AND id = ?`,
    [changedOn, fundId, loanId],
  );
}

/**
 * Recovery cases open at the end of `date` (opened by then, not closed by then): how many, the
 * newest `idsMax` case ids, and the loans of all of them, newest first.
 */
export async function casesOpenOn(
  db: Db,
  fundId: string,
  date: string,
  idsMax: number,
): Promise<{ count: number; case_ids: string[]; loan_ids: string[] }> {
  const result = await db.raw<{ rows: { count: number; case_ids: string[] | null; loan_ids: string[] | null }[] }>(
    `SELECT count(*)::int AS count,
            (array_agg(c.id::text ORDER BY c.number DESC))[1:?::int] AS case_ids,
            array_agg(c.loan_id::text ORDER BY c.number DESC) AS loan_ids
       FROM recovery_cases c
      WHERE c.fund_id = ? AND c.opened_on <= ? AND (c.closed_on IS NULL OR c.closed_on > ?)`,
    [idsMax, fundId, date, date],
  );
  const row = result.rows[0]!;
  return { count: row.count, case_ids: row.case_ids ?? [], loan_ids: row.loan_ids ?? [] };
}
