import type { Db } from '../db/knex';
import { instalmentOverdueSql, type Classification } from '../loans/daily-job.repo';
import { INTEREST_ACCRUAL_KIND } from '../loans/daily-job.service';
import { ACCRUAL_ADJUSTMENT_KIND } from '../loans/reaccrual';

/**
 * SQL of the delinquency reports (docs/adr/0014-delinquency-reports.md). One statement reads every
 * loan of the book as of a day: balances through the ledger's as-of function, the schedule in force
 * that day, what repayments had paid by then and the oldest instalment overdue. It reads only.
 */

// knex treats every "?" in raw SQL as a binding: the SQL below contains no other "?".

export interface LoanBookRow {
  id: string;
  number: number;
  borrower_member_id: string;
  borrower_name: string;
  lender: 'pool' | 'peer' | 'bank';
  peer_lender_member_id: string | null;
  /** The lending member's name (peer loan) or the bank's (bank loan); null for the pool. */
  lender_name: string | null;
  amount: string;
  disbursed_on: string;
  maturity_date: string;
  restructured: boolean;
  classification_floor: Classification | null;
  /** Principal owed on the day by anyone: `borrower_principal` + `guarantors_principal`. */
  principal: string;
  /** Pool: balance of 1201:<loan>; peer: memo 7101:<loan>; bank: memo 7201:<loan>. */
  borrower_principal: string;
  /** The principal part of what guarantors called for the loan still owe (ADR 0018); pool loans only. */
  guarantors_principal: string;
  /** Each guarantor still owing on the loan's calls, by name; empty when none. */
  guarantors_owing: GuarantorOwingRow[];
  /** Pool: balance of 1202:<loan>; peer and bank: scheduled interest due and unpaid (the lender's). */
  interest: string;
  /** Pool: balance of 1203:<loan>; peer and bank: null (the fund computes no penalty interest for them). */
  penalty: string | null;
  days_past_due: number;
  /** The status the daily job last recorded on or before the day, if it recorded any. */
  last_recorded_status: string | null;
}

export interface GuarantorOwingRow {
  member_id: string;
  name: string;
  /** What its calls on the loan put on 1301:<guarantor>, less its payments and its failure, as of the day. */
  owed: string;
}

/**
 * The overdue rule of the daily job (instalmentOverdueSql) applied as of `p.d` with paid amounts
 * as of `p.d`: the columns `principal_paid`, `interest_paid` and `interest_accrued` of `i` are those
 * of the `inst` CTE below, and whether the loan owes interest of ended periods is this statement's
 * as-of figure `q.owes`, so the rule is the job's text, not a copy.
 */
const OVERDUE_AS_OF = instalmentOverdueSql('p.d', 'q.owes');

/**
 * The loan book's reading of every loan as of a day, as common table expressions (the text of
 * `loanBook` below explains each): `outstanding` (the loans with principal on the day, with the
 * schedule version in force), `inst` (their instalments with what was paid of each by the day),
 * `oldest`, `peer_interest`, `owing`, `recorded`. Bindings, in order: the fund, the day, the
 * member a member user's book is limited to (or null), the loan limit, the accrual entry kinds
 * (BOOK_AS_OF_KINDS); a statement using it adds its own after those.
 */
const BOOK_AS_OF = `WITH params AS (
       SELECT ?::uuid AS fund_id, ?::date AS d, ?::uuid AS visible_to
     ), book AS MATERIALIZED (
       SELECT l.id, l.fund_id, l.number, l.borrower_member_id, l.lender, l.peer_lender_member_id, l.bank_name,
              l.amount, l.disbursed_on, l.schedule_version AS current_version, l.maturity_date AS current_maturity
         FROM loans l CROSS JOIN params p
        WHERE l.fund_id = p.fund_id
          AND l.disbursed_on IS NOT NULL AND l.disbursed_on <= p.d
          AND (p.visible_to IS NULL OR l.borrower_member_id = p.visible_to OR l.peer_lender_member_id = p.visible_to
               OR EXISTS (SELECT 1 FROM loan_guarantees g
                           WHERE g.fund_id = l.fund_id AND g.loan_id = l.id AND g.guarantor_member_id = p.visible_to))
     ), call_entries AS MATERIALIZED (
       -- The entries of the loan's guarantor calls: the round's call, each payment, the failure.
       SELECT DISTINCT rc.loan_id, k.round, x.entry_id
         FROM book b CROSS JOIN params p
         JOIN recovery_cases rc ON rc.fund_id = p.fund_id AND rc.loan_id = b.id
         JOIN recovery_calls k ON k.fund_id = rc.fund_id AND k.case_id = rc.id AND k.called_on <= p.d
         CROSS JOIN LATERAL (
           SELECT k.call_entry_id AS entry_id
           UNION ALL
           SELECT k.failure_entry_id WHERE k.failure_entry_id IS NOT NULL
           UNION ALL
           SELECT cp.entry_id FROM recovery_call_payments cp WHERE cp.fund_id = k.fund_id AND cp.call_id = k.id
         ) x
     ), call_postings AS MATERIALIZED (
       -- What those entries had posted by the end of the day onto guarantors' 1301 and the loan's 1201.
       SELECT ce.loan_id, ce.round, a.base_code, a.member_id,
              sum(CASE po.side WHEN 'debit' THEN po.amount ELSE -po.amount END) AS debit_net
         FROM call_entries ce CROSS JOIN params p
         JOIN postings po ON po.fund_id = p.fund_id AND po.entry_id = ce.entry_id AND po.effective_date <= p.d
         JOIN accounts a ON a.fund_id = po.fund_id AND a.id = po.account_id
        WHERE a.base_code = '1301' OR (a.base_code = '1201' AND a.loan_id = ce.loan_id)
        GROUP BY ce.loan_id, ce.round, a.base_code, a.member_id
     ), called_principal AS (
       -- Per round, what its calls leave unpaid is principal first, up to what the round took off
       -- 1201 and failures have not put back (W-restore: payments are deemed to pay the rest first).
       SELECT r.loan_id, sum(least(r.owed, r.taken)) AS principal
         FROM (SELECT c.loan_id, c.round,
                      coalesce(sum(c.debit_net) FILTER (WHERE c.base_code = '1301'), 0) AS owed,
                      coalesce(-sum(c.debit_net) FILTER (WHERE c.base_code = '1201'), 0) AS taken
                 FROM call_postings c
                GROUP BY c.loan_id, c.round) r
        GROUP BY r.loan_id
     ), balances AS MATERIALIZED (
       SELECT b.*,
              coalesce(loan_debit_balance_as_of(ap.id, p.d), 0) AS borrower_principal,
              coalesce(cpr.principal, 0) AS guarantors_principal,
              coalesce(loan_debit_balance_as_of(ap.id, p.d), 0) + coalesce(cpr.principal, 0) AS principal,
              ai.id AS interest_account_id,
              coalesce(loan_debit_balance_as_of(ai.id, p.d), 0) AS interest_booked,
              coalesce(loan_debit_balance_as_of(an.id, p.d), 0) AS penalty_booked
         FROM book b CROSS JOIN params p
         LEFT JOIN accounts ap
           ON ap.fund_id = p.fund_id
          AND ap.code = CASE b.lender WHEN 'pool' THEN '1201:' WHEN 'peer' THEN '7101:' ELSE '7201:' END || b.id::text
         LEFT JOIN accounts ai ON ai.fund_id = p.fund_id AND ai.code = '1202:' || b.id::text
         LEFT JOIN accounts an ON an.fund_id = p.fund_id AND an.code = '1203:' || b.id::text
         LEFT JOIN called_principal cpr ON cpr.loan_id = b.id
     ), outstanding AS MATERIALIZED (
       SELECT o.*,
              coalesce(later.schedule_version_before, o.current_version) AS schedule_version,
              coalesce(later.maturity_date_before, o.current_maturity) AS maturity_date,
              EXISTS (SELECT 1 FROM loan_extensions e
                       WHERE e.fund_id = o.fund_id AND e.loan_id = o.id AND e.status = 'approved'
                         AND e.effective_on <= p.d) AS restructured,
              (SELECT e.classification_floor FROM loan_extensions e
                WHERE e.fund_id = o.fund_id AND e.loan_id = o.id AND e.status = 'approved'
                  AND e.effective_on <= p.d AND e.observation_ends_on >= p.d
                ORDER BY e.number DESC LIMIT 1) AS classification_floor
         FROM balances o CROSS JOIN params p
         LEFT JOIN LATERAL (
           SELECT e.schedule_version_before, e.maturity_date_before
             FROM loan_extensions e
            WHERE e.fund_id = o.fund_id AND e.loan_id = o.id AND e.status = 'approved' AND e.effective_on > p.d
            ORDER BY e.number
            LIMIT 1
         ) later ON true
        WHERE o.principal > 0
        ORDER BY o.number
        LIMIT ?
     ), paid AS (
       SELECT r.loan_id, a.schedule_version, a.instalment_number,
              coalesce(sum(a.amount) FILTER (WHERE a.component = 'principal'), 0) AS principal_paid,
              coalesce(sum(a.amount) FILTER (WHERE a.component = 'interest'), 0) AS interest_paid
         FROM outstanding o CROSS JOIN params p
         JOIN repayments r ON r.fund_id = p.fund_id AND r.loan_id = o.id
         JOIN repayment_allocations a ON a.fund_id = r.fund_id AND a.repayment_id = r.id
        WHERE r.received_on <= p.d AND (r.reversed_on IS NULL OR r.reversed_on > p.d)
          AND a.instalment_number IS NOT NULL
        GROUP BY r.loan_id, a.schedule_version, a.instalment_number
     ), inst AS MATERIALIZED (
       SELECT o.id AS loan_id, i.number, i.period_start, i.due_on, i.principal, i.interest, i.interest_accrued,
              coalesce(pd.principal_paid, 0) AS principal_paid, coalesce(pd.interest_paid, 0) AS interest_paid
         FROM outstanding o CROSS JOIN params p
         JOIN loan_instalments i
           ON i.fund_id = p.fund_id AND i.loan_id = o.id AND i.schedule_version = o.schedule_version
         LEFT JOIN paid pd
           ON pd.loan_id = o.id AND pd.schedule_version = i.schedule_version AND pd.instalment_number = i.number
     ), running AS (
       -- The job's accruals and the differences posted when a loan's days were run again.
       SELECT o.id AS loan_id, sum(CASE WHEN po.side = 'debit' THEN po.amount ELSE -po.amount END) AS accrued
         FROM outstanding o CROSS JOIN params p
         JOIN inst i ON i.loan_id = o.id AND i.period_start <= p.d AND p.d < i.due_on
         JOIN postings po
           ON po.account_id = o.interest_account_id AND po.effective_date BETWEEN i.period_start AND p.d
         JOIN journal_entries e
           ON e.fund_id = po.fund_id AND e.id = po.entry_id AND e.kind = ANY(?::text[])
        WHERE o.lender = 'pool'
        GROUP BY o.id
     ), interest_past_due AS (
       SELECT o.id AS loan_id, o.lender <> 'pool' OR o.interest_booked > coalesce(r.accrued, 0) AS owes
         FROM outstanding o LEFT JOIN running r ON r.loan_id = o.id
     ), oldest AS (
       SELECT i.loan_id, min(i.due_on) AS due_on
         FROM inst i CROSS JOIN params p
         JOIN interest_past_due q ON q.loan_id = i.loan_id
        WHERE ${OVERDUE_AS_OF}
        GROUP BY i.loan_id
     ), peer_interest AS (
       SELECT i.loan_id, sum(i.interest - i.interest_paid) AS due
         FROM inst i CROSS JOIN params p
         JOIN outstanding o ON o.id = i.loan_id AND o.lender <> 'pool'
        WHERE i.due_on <= p.d
        GROUP BY i.loan_id
     ), owing AS (
       SELECT g.loan_id,
              json_agg(json_build_object('member_id', m.id, 'name', m.name, 'owed', g.owed::text)
                       ORDER BY m.name COLLATE "C", m.id) AS guarantors
         FROM (SELECT c.loan_id, c.member_id, sum(c.debit_net) AS owed
                 FROM call_postings c
                WHERE c.base_code = '1301'
                GROUP BY c.loan_id, c.member_id
               HAVING sum(c.debit_net) > 0) g
         CROSS JOIN params p
         JOIN members m ON m.fund_id = p.fund_id AND m.id = g.member_id
        GROUP BY g.loan_id
     ), recorded AS (
       SELECT DISTINCT ON (h.loan_id) h.loan_id, h.to_status
         FROM outstanding o CROSS JOIN params p
         JOIN loan_classification_history h ON h.fund_id = p.fund_id AND h.loan_id = o.id AND h.changed_on <= p.d
        ORDER BY h.loan_id, h.changed_on DESC, h.id DESC
     )`;

const BOOK_AS_OF_KINDS = [INTEREST_ACCRUAL_KIND, ACCRUAL_ADJUSTMENT_KIND];

/**
 * Every loan (pool, peer, bank) disbursed on or before `asOf` with principal outstanding at the end of
 * that day, for one fund; `visibleTo`, when given, keeps only the loans the member borrows, lends
 * or guarantees (the loan list's visibility rule). At most `limit` rows, by loan number.
 *
 * As of the day:
 *  - the borrower's principal: 1201:<loan> (pool) or the memo account 7101:<loan> (peer) or 7201:<loan> (bank), interest 1202
 *    and penalty 1203, by loan_debit_balance_as_of (ADR 0003: the last posting whose watermark is on
 *    or before the day, plus back-dated postings after it);
 *  - what guarantors called for a defaulted pool loan owe (ADR 0018): the postings dated on or before
 *    the day of the entries of its calls (the call, the payments, the failure) on each guarantor's
 *    1301, and of each round its principal part — what the round's calls leave unpaid, principal
 *    first (rule W-restore), up to what the round took off 1201 less what failures put back. A call
 *    moves the receivable, not the risk: the loan stays in the book while anyone owes its principal;
 *  - schedule: the version in force that day, i.e. before any extension effective after it;
 *  - paid: the allocations of repayments received on or before the day and not reversed on or
 *    before it (a reversal dated later did not undo them yet);
 *  - interest due of an ended period: what the job wrote when it ended, else the schedule's; for a
 *    pool loan unpaid interest counts only while it owes interest of ended periods at all: the
 *    balance of 1202 exceeds what the period running on the day has accrued by then (the job's
 *    accrual postings dated in that period, with any differences of days run again);
 *  - a peer or bank loan's interest: the scheduled interest of instalments due on or before the day, less
 *    what was paid (repayments.allocation.ts peerInterestDue).
 */
export async function loanBook(
  db: Db,
  fundId: string,
  asOf: string,
  visibleTo: string | null,
  limit: number,
): Promise<LoanBookRow[]> {
  const result = await db.raw<{ rows: LoanBookRow[] }>(
    `${BOOK_AS_OF}
     SELECT o.id, o.number, o.borrower_member_id, mb.name AS borrower_name, o.lender, o.peer_lender_member_id,
            CASE o.lender WHEN 'bank' THEN o.bank_name ELSE ml.name END AS lender_name, o.amount::text AS amount,
            to_char(o.disbursed_on, 'YYYY-MM-DD') AS disbursed_on,
            to_char(o.maturity_date, 'YYYY-MM-DD') AS maturity_date,
            o.restructured, o.classification_floor, o.principal::text AS principal,
            o.borrower_principal::text AS borrower_principal, o.guarantors_principal::text AS guarantors_principal,
            coalesce(ow.guarantors, '[]'::json) AS guarantors_owing,
            CASE o.lender WHEN 'pool' THEN o.interest_booked ELSE coalesce(pi.due, 0) END::text AS interest,
            CASE o.lender WHEN 'pool' THEN o.penalty_booked::text END AS penalty,
            coalesce(p.d - od.due_on, 0)::int AS days_past_due,
            rc.to_status AS last_recorded_status
       FROM outstanding o CROSS JOIN params p
       JOIN members mb ON mb.fund_id = o.fund_id AND mb.id = o.borrower_member_id
       LEFT JOIN members ml ON ml.fund_id = o.fund_id AND ml.id = o.peer_lender_member_id
       LEFT JOIN oldest od ON od.loan_id = o.id
       LEFT JOIN peer_interest pi ON pi.loan_id = o.id
       LEFT JOIN recorded rc ON rc.loan_id = o.id
       LEFT JOIN owing ow ON ow.loan_id = o.id
      ORDER BY o.number`,
    [fundId, asOf, visibleTo, limit, BOOK_AS_OF_KINDS],
  );
  return result.rows;
}

export interface ExtensionRow {
  effective_on: string;
  observation_ends_on: string;
  classification_floor: Classification;
}

/** The approved extensions of a loan: what the reasons of its classification history need. */
export async function approvedExtensions(db: Db, fundId: string, loanId: string): Promise<ExtensionRow[]> {
  const result = await db.raw<{ rows: ExtensionRow[] }>(
    `SELECT to_char(effective_on, 'YYYY-MM-DD') AS effective_on,
            to_char(observation_ends_on, 'YYYY-MM-DD') AS observation_ends_on, classification_floor
       FROM loan_extensions
      WHERE fund_id = ? AND loan_id = ? AND status = 'approved'
      ORDER BY number`,
    [fundId, loanId],
  );
  return result.rows;
}

export interface InstalmentsDueRow {
  days: number;
  lender: 'pool' | 'peer' | 'bank';
  instalments: number;
  loans: number;
  principal: string;
  interest: string;
}

/**
 * For each horizon of `horizonsDays`: the instalments of the loan book (as of `asOf`, the whole
 * fund, at most `limit` loans) falling due after `asOf` and within the horizon that were not fully
 * paid by then, per lender — how many, of how many loans, and what of their principal and
 * scheduled interest is still to pay. The schedule is the one in force on `asOf` and the paid
 * amounts those of repayments received by then (BOOK_AS_OF's `inst`); interest not yet due is the
 * schedule's (the job writes the accrued figure only once a period has ended).
 */
export async function instalmentsDue(
  db: Db,
  fundId: string,
  asOf: string,
  horizonsDays: readonly number[],
  limit: number,
): Promise<InstalmentsDueRow[]> {
  const result = await db.raw<{ rows: InstalmentsDueRow[] }>(
    `${BOOK_AS_OF}
     SELECT h.days, o.lender, count(*)::int AS instalments, count(DISTINCT i.loan_id)::int AS loans,
            sum(greatest(i.principal - i.principal_paid, 0))::text AS principal,
            sum(greatest(i.interest - i.interest_paid, 0))::text AS interest
       FROM inst i CROSS JOIN params p
       JOIN outstanding o ON o.id = i.loan_id
       CROSS JOIN unnest(?::int[]) AS h(days)
      WHERE i.due_on > p.d AND i.due_on <= p.d + h.days
        AND (i.principal_paid < i.principal OR i.interest_paid < i.interest)
      GROUP BY h.days, o.lender
      ORDER BY h.days, o.lender`,
    [fundId, asOf, null, limit, BOOK_AS_OF_KINDS, [...horizonsDays]],
  );
  return result.rows;
}
