import type { Knex } from 'knex';
import type { Db, Trx } from '../db/knex';
import { liveEdgesRelation, type StoredCircle } from '../guarantees/guarantees.repo';

/**
 * SQL of loan applications: loans, their guarantees and collateral, and the figures the
 * eligibility rules read. Every function takes the connection or transaction first; the rules live
 * in loans.service.ts and eligibility.ts. Postings are written only by the ledger; this file reads
 * balances.
 */

// knex treats every "?" in raw SQL as a binding: the SQL below contains no other "?".

export type Lender = 'pool' | 'peer' | 'bank';
export type RepaymentMethod = 'bullet' | 'equal_installment' | 'equal_principal';
export type LoanStatus =
  | 'draft'
  | 'submitted'
  | 'under_review'
  | 'approved'
  | 'rejected'
  | 'active'
  | 'overdue'
  | 'repaid'
  | 'defaulted'
  | 'written_off'
  | 'withdrawn'
  | 'cancelled';
export type ConsentStatus = 'pending' | 'accepted' | 'declined';
export type GuaranteeType = 'joint_and_several' | 'general';
export type GuaranteeStatus = 'proposed' | 'accepted' | 'declined' | 'active' | 'released' | 'withdrawn';
export type CollateralKind =
  'real_estate' | 'equipment' | 'vehicle' | 'inventory' | 'receivables' | 'deposit' | 'equity' | 'other';

/** States before a decision: the applicant may still withdraw. */
export const UNDECIDED_STATUSES: readonly LoanStatus[] = ['draft', 'submitted', 'under_review'];
/** States in which a loan is over and binds nobody any more. */
export const CLOSED_STATUSES: readonly LoanStatus[] = ['rejected', 'repaid', 'written_off', 'withdrawn', 'cancelled'];

export interface LoanRow {
  id: string;
  fund_id: string;
  number: number;
  borrower_member_id: string;
  lender: Lender;
  peer_lender_member_id: string | null;
  peer_lender_consent: ConsentStatus | null;
  peer_lender_decided_by: string | null;
  peer_lender_decided_at: Date | null;
  peer_lender_decline_reason: string | null;
  /** A bank loan's contract (migration 20261128000300); null for pool and peer loans. */
  bank_name: string | null;
  bank_contract_number: string | null;
  bank_rate_annual: string | null;
  bank_start_on: string | null;
  bank_maturity_on: string | null;
  amount: string;
  purpose: string;
  term_days: number;
  repayment_method: RepaymentMethod;
  emergency: boolean;
  wanted_on: string;
  status: LoanStatus;
  restructured: boolean;
  /** The joint guarantee group backing the loan (ADR 0016); null for other loans. */
  joint_group_id: string | null;
  policy_version: number | null;
  submitted_at: Date | null;
  withdrawn_at: Date | null;
  withdrawn_by: string | null;
  withdrawal_reason: string | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  version: number;
}

export type LoanTermsColumns = Pick<
  LoanRow,
  | 'lender'
  | 'peer_lender_member_id'
  | 'peer_lender_consent'
  | 'bank_name'
  | 'bank_contract_number'
  | 'bank_rate_annual'
  | 'bank_start_on'
  | 'bank_maturity_on'
  | 'amount'
  | 'purpose'
  | 'term_days'
  | 'repayment_method'
  | 'emergency'
  | 'wanted_on'
>;

export type NewLoanRow = LoanTermsColumns &
  Pick<LoanRow, 'fund_id' | 'number' | 'borrower_member_id' | 'created_by' | 'created_at' | 'updated_at'> &
  Partial<Pick<LoanRow, 'joint_group_id'>>;

export interface GuaranteeRow {
  id: string;
  fund_id: string;
  loan_id: string;
  borrower_member_id: string;
  guarantor_member_id: string;
  amount: string;
  type: GuaranteeType;
  status: GuaranteeStatus;
  decided_by: string | null;
  decided_at: Date | null;
  decline_reason: string | null;
  created_at: Date;
  updated_at: Date;
  /** The guarantee circle a check found it closes, under the policy's `flag` mode (ADR 0015). */
  circle: StoredCircle | null;
  circle_flagged_at: Date | null;
  /** Given as a member of this joint guarantee group (ADR 0016): accepted by its consent to the group. */
  joint_group_id: string | null;
}

export type NewGuaranteeRow = Pick<
  GuaranteeRow,
  'fund_id' | 'loan_id' | 'borrower_member_id' | 'guarantor_member_id' | 'amount' | 'type' | 'created_at' | 'updated_at'
>;

export interface CollateralRow {
  id: string;
  fund_id: string;
  loan_id: string;
  position: number;
  description: string;
  kind: CollateralKind;
  valuation: string;
  valued_on: string;
  haircut_pct: string;
  created_at: Date;
}

export type NewCollateralRow = Omit<CollateralRow, 'id' | 'created_at'>;

// ---------------------------------------------------------------------------------------------
// Loans

/**
 * The next number of the fund's loans. A transaction-scoped advisory lock per fund makes two
 * drafts in flight take numbers one after the other without locking the fund's row, which other
 * features (period close, back-dated entries) take.
 */
export async function nextLoanNumber(trx: Trx, fundId: string): Promise<number> {
  await trx.raw(`SELECT pg_advisory_xact_lock(hashtextextended('huzhu.loans.number:' || ?::text, 0))`, [fundId]);
  const row = (await trx('loans').where({ fund_id: fundId }).max({ max: 'number' }).first()) as
    { max: number | null } | undefined;
  return (row?.max ?? 0) + 1;
}

export async function insertLoan(trx: Trx, loan: NewLoanRow): Promise<LoanRow> {
  const rows = (await trx('loans').insert(loan).returning('*')) as LoanRow[];
  return rows[0]!;
}

export async function findLoan(db: Db, fundId: string, loanId: string): Promise<LoanRow | undefined> {
  return (await db('loans').where({ fund_id: fundId, id: loanId }).first()) as LoanRow | undefined;
}

/** The loan's row, locked until the transaction ends: every change to an application queues on it. */
export async function lockLoan(trx: Trx, fundId: string, loanId: string): Promise<LoanRow | undefined> {
  return (await trx('loans').where({ fund_id: fundId, id: loanId }).forUpdate().first()) as LoanRow | undefined;
}

/** Writes changes to a loan the caller holds locked and bumps its version. */
export async function updateLoan(
  trx: Trx,
  fundId: string,
  loanId: string,
  changes: Partial<Omit<LoanRow, 'id' | 'fund_id' | 'number' | 'borrower_member_id' | 'created_at' | 'version'>>,
  now: Date,
): Promise<LoanRow> {
  const rows = (await trx('loans')
    .where({ fund_id: fundId, id: loanId })
    .update({ ...changes, updated_at: now, version: trx.raw('version + 1') })
    .returning('*')) as LoanRow[];
  return rows[0]!;
}

export interface ListLoansFilter {
  status?: LoanStatus | undefined;
  /** Loans the member takes part in: as borrower, guarantor or peer lender. */
  involving?: string | undefined;
  /** Member users: the same rule, as a visibility limit. */
  visibleTo?: string | undefined;
  /** Keyset position: the number of the last loan of the previous page (newest first). */
  beforeNumber?: number | undefined;
  limit: number;
}

/** Loans the member is borrower, peer lender or (any) guarantor of, as a WHERE clause on `l`. */
function whereInvolves(query: Knex.QueryBuilder, memberId: string): void {
  query.andWhere((where) =>
    where
      .where('l.borrower_member_id', memberId)
      .orWhere('l.peer_lender_member_id', memberId)
      .orWhereExists((exists) =>
        exists
          .select('g.id')
          .from('loan_guarantees as g')
          .whereRaw('g.fund_id = l.fund_id AND g.loan_id = l.id')
          .andWhere('g.guarantor_member_id', memberId),
      ),
  );
}

/** Newest first: by number. */
export async function listLoans(db: Db, fundId: string, filter: ListLoansFilter): Promise<LoanRow[]> {
  const query = db('loans as l')
    .where('l.fund_id', fundId)
    .orderBy('l.number', 'desc')
    .limit(filter.limit)
    .select('l.*');
  if (filter.status !== undefined) query.andWhere('l.status', filter.status);
  if (filter.involving !== undefined) whereInvolves(query, filter.involving);
  if (filter.visibleTo !== undefined) whereInvolves(query, filter.visibleTo);
  if (filter.beforeNumber !== undefined) query.andWhere('l.number', '<', filter.beforeNumber);
  return (await query) as LoanRow[];
}

/** Whether the member takes part in the loan (borrower, peer lender or guarantor). */
export async function involves(db: Db, loan: LoanRow, memberId: string): Promise<boolean> {
  if (loan.borrower_member_id === memberId || loan.peer_lender_member_id === memberId) return true;
  const row = (await db('loan_guarantees')
    .where({ fund_id: loan.fund_id, loan_id: loan.id, guarantor_member_id: memberId })
    .first('id')) as { id: string } | undefined;
  return row !== undefined;
}

// ---------------------------------------------------------------------------------------------
// Guarantees and collateral

export async function guaranteesOf(db: Db, fundId: string, loanIds: readonly string[]): Promise<GuaranteeRow[]> {
  if (loanIds.length === 0) return [];
  return (await db('loan_guarantees')
    .where({ fund_id: fundId })
    .whereIn('loan_id', [...loanIds])
    .orderBy([
      { column: 'loan_id', order: 'asc' },
      { column: 'created_at', order: 'asc' },
      { column: 'id', order: 'asc' },
    ])) as GuaranteeRow[];
}

export async function collateralOf(db: Db, fundId: string, loanIds: readonly string[]): Promise<CollateralRow[]> {
  if (loanIds.length === 0) return [];
  return (await db('loan_collateral')
    .where({ fund_id: fundId })
    .whereIn('loan_id', [...loanIds])
    .orderBy([
      { column: 'loan_id', order: 'asc' },
      { column: 'position', order: 'asc' },
    ])) as CollateralRow[];
}

export async function insertGuarantees(trx: Trx, rows: readonly NewGuaranteeRow[]): Promise<void> {
  if (rows.length > 0) await trx('loan_guarantees').insert([...rows]);
}

export async function updateGuarantee(
  trx: Trx,
  fundId: string,
  guaranteeId: string,
  changes: Partial<
    Pick<GuaranteeRow, 'amount' | 'type' | 'status' | 'decided_by' | 'decided_at' | 'decline_reason' | 'updated_at'>
  >,
): Promise<GuaranteeRow> {
  const rows = (await trx('loan_guarantees')
    .where({ fund_id: fundId, id: guaranteeId })
    .update(changes)
    .returning('*')) as GuaranteeRow[];
  return rows[0]!;
}

/** Sets the status of the loan's guarantees that are in one of `from`. */
export async function setGuaranteeStatuses(
  trx: Trx,
  fundId: string,
  loanId: string,
  from: readonly GuaranteeStatus[],
  to: GuaranteeStatus,
  now: Date,
): Promise<number> {
  return trx('loan_guarantees')
    .where({ fund_id: fundId, loan_id: loanId })
    .whereIn('status', [...from])
    .update({ status: to, updated_at: now });
}

/** Accepted guarantees go back to proposed: the terms the guarantor agreed to have changed. */
export async function reopenAcceptedGuarantees(trx: Trx, fundId: string, loanId: string, now: Date): Promise<number> {
  return trx('loan_guarantees')
    .where({ fund_id: fundId, loan_id: loanId, status: 'accepted' })
    .update({ status: 'proposed', decided_by: null, decided_at: null, updated_at: now });
}

export async function lockGuarantee(
  trx: Trx,
  fundId: string,
  loanId: string,
  guaranteeId: string,
): Promise<GuaranteeRow | undefined> {
  return (await trx('loan_guarantees')
    .where({ fund_id: fundId, loan_id: loanId, id: guaranteeId })
    .forUpdate()
    .first()) as GuaranteeRow | undefined;
}

/** Collateral of a draft is replaced as a whole: it carries no decisions of anybody. */
export async function replaceCollateral(
  trx: Trx,
  fundId: string,
  loanId: string,
  rows: readonly NewCollateralRow[],
): Promise<void> {
  await trx('loan_collateral').where({ fund_id: fundId, loan_id: loanId }).delete();
  if (rows.length > 0) await trx('loan_collateral').insert([...rows]);
}

/** The ids among `memberIds` that are members of the fund. */
export async function existingMembers(db: Db, fundId: string, memberIds: readonly string[]): Promise<Set<string>> {
  if (memberIds.length === 0) return new Set();
  const rows = (await db('members')
    .where({ fund_id: fundId })
    .whereIn('id', [...memberIds])
    .select('id')) as { id: string }[];
  return new Set(rows.map((row) => row.id));
}

// ---------------------------------------------------------------------------------------------
// Figures for the eligibility rules

export interface BorrowerFigures {
  status: string;
  related_group: string | null;
  /** Balance of 3001:<member>; 0 without the account. */
  paid_in: string;
  defaulted_loans: number;
}

export async function borrowerFigures(db: Db, fundId: string, memberId: string): Promise<BorrowerFigures> {
  const result = await db.raw<{ rows: BorrowerFigures[] }>(
    `SELECT m.status, m.related_group,
            coalesce((SELECT b.balance FROM accounts a JOIN account_balances b ON b.account_id = a.id
                       WHERE a.fund_id = m.fund_id AND a.member_id = m.id AND a.base_code = '3001'), 0)::text AS paid_in,
            (SELECT count(*) FROM loans d
              WHERE d.fund_id = m.fund_id AND d.borrower_member_id = m.id AND d.status = 'defaulted')::int AS defaulted_loans
       FROM members m
      WHERE m.fund_id = ? AND m.id = ?`,
    [fundId, memberId],
  );
  return result.rows[0]!;
}

export interface PoolFigures {
  cash: string;
  held: string;
  /** Σ member capital (3001:<member>) balances. */
  capital: string;
}

export async function poolFigures(db: Db, fundId: string): Promise<PoolFigures> {
  const result = await db.raw<{ rows: PoolFigures[] }>(
    `SELECT b.balance::text AS cash, b.held::text AS held,
            (SELECT coalesce(sum(cb.balance), 0) FROM accounts ca JOIN account_balances cb ON cb.account_id = ca.id
              WHERE ca.fund_id = a.fund_id AND ca.base_code = '3001')::text AS capital
       FROM accounts a JOIN account_balances b ON b.account_id = a.id
      WHERE a.fund_id = ? AND a.code = '1001'`,
    [fundId],
  );
  return result.rows[0]!;
}

/**
 * What the pool has outstanding or promised to the borrowers in `memberIds`, other than `loanId`:
 * the amounts of approved pool loans not yet disbursed, plus the principal receivable balances
 * (1201:<loan>) of its pool loans. A closed loan's receivable is zero, so every loan can be summed
 * without a status filter; an approved loan has no receivable yet, so nothing counts twice.
 */
export async function poolExposure(
  db: Db,
  fundId: string,
  memberIds: readonly string[],
  loanId: string,
): Promise<string> {
  if (memberIds.length === 0) return '0';
  const result = await db.raw<{ rows: { total: string }[] }>(
    `SELECT (coalesce(sum(l.amount) FILTER (WHERE l.status = 'approved'), 0)
             + coalesce(sum(r.balance), 0))::text AS total
       FROM loans l
       LEFT JOIN LATERAL (
         SELECT sum(b.balance) AS balance
           FROM accounts a JOIN account_balances b ON b.account_id = a.id
          WHERE a.fund_id = l.fund_id AND a.loan_id = l.id AND a.base_code = '1201'
       ) r ON true
      WHERE l.fund_id = ? AND l.lender = 'pool' AND l.id <> ? AND l.borrower_member_id = ANY(?::uuid[])`,
    [fundId, loanId, [...memberIds]],
  );
  return result.rows[0]!.total;
}

export async function relatedGroupMembers(db: Db, fundId: string, relatedGroup: string): Promise<string[]> {
  const rows = (await db('members').where({ fund_id: fundId, related_group: relatedGroup }).select('id')) as {
    id: string;
  }[];
  return rows.map((row) => row.id);
}

export interface GuarantorFigures {
  guarantee_id: string;
  guarantor_member_id: string;
  guarantee_status: GuaranteeStatus;
  amount: string;
  /**
   * What this guarantee commits: its amount, or once active the amount less what was released; a
   * joint group's guarantee its equal share of that (ADR 0016, rule S1).
   */
  own_outstanding: string;
  member_status: string;
  paid_in: string;
  /** Σ outstanding of the guarantor's OTHER active guarantees on live loans (ADR 0015), group ones at their share. */
  active_other: string;
  /** Σ amounts of the guarantor's OTHER accepted, not yet active, guarantees on live loans. */
  accepted_other: string;
  defaulted_loans: number;
}

/**
 * Each guarantor of the loan whose guarantee stands (proposed, accepted or active), with its status,
 * paid-in capital, what it stands behind on other live loans (from the live guarantee graph, so
 * every edge source counts towards capacity) and its loans in default — in one statement for all
 * guarantors.
 */
export async function guarantorFigures(db: Db, fundId: string, loanId: string): Promise<GuarantorFigures[]> {
  const edges = liveEdgesRelation(fundId);
  const result = await db.raw<{ rows: GuarantorFigures[] }>(
    `WITH e AS (${edges.sql})
     SELECT g.id AS guarantee_id, g.guarantor_member_id, g.status AS guarantee_status, g.amount::text AS amount,
            coalesce((SELECT e.capacity_share FROM e WHERE e.kind = 'loan_guarantee' AND e.guarantee_id = g.id),
                     g.amount::text) AS own_outstanding,
            m.status AS member_status,
            coalesce(p.balance, 0)::text AS paid_in,
            coalesce((SELECT sum(e.capacity_share::numeric) FROM e
                       WHERE e.guarantor_member_id = g.guarantor_member_id AND e.guarantee_id <> g.id
                         AND e.guarantee_status = 'active'), 0)::text AS active_other,
            coalesce((SELECT sum(e.capacity_share::numeric) FROM e
                       WHERE e.guarantor_member_id = g.guarantor_member_id AND e.guarantee_id <> g.id
                         AND e.guarantee_status = 'accepted'), 0)::text AS accepted_other,
            coalesce(d.n, 0)::int AS defaulted_loans
       FROM loan_guarantees g
       JOIN members m ON m.fund_id = g.fund_id AND m.id = g.guarantor_member_id
       LEFT JOIN LATERAL (
         SELECT b.balance FROM accounts a JOIN account_balances b ON b.account_id = a.id
          WHERE a.fund_id = g.fund_id AND a.member_id = g.guarantor_member_id AND a.base_code = '3001'
       ) p ON true
       LEFT JOIN LATERAL (
         SELECT count(*) AS n FROM loans dl
          WHERE dl.fund_id = g.fund_id AND dl.borrower_member_id = g.guarantor_member_id AND dl.status = 'defaulted'
       ) d ON true
      WHERE g.fund_id = ? AND g.loan_id = ? AND g.status IN ('proposed', 'accepted', 'active')
      ORDER BY g.created_at, g.id`,
    [...edges.bindings, fundId, loanId],
  );
  return result.rows;
}

/** Reference a pool loan's approval hold carries, so its own hold is not counted against it. */
export function loanHoldReference(loanId: string): string {
  return `loan:${loanId}`;
}

/** What pending holds on pool cash reserve for this loan (its approval hold, once approvals exist). */
export async function heldForLoan(db: Db, fundId: string, loanId: string): Promise<string> {
  const result = await db.raw<{ rows: { held: string }[] }>(
    `SELECT coalesce(sum(h.amount), 0)::text AS held
       FROM holds h JOIN accounts a ON a.id = h.account_id
      WHERE h.fund_id = ? AND a.code = '1001' AND h.status = 'pending' AND h.reference = ?`,
    [fundId, loanHoldReference(loanId)],
  );
  return result.rows[0]!.held;
}
