import type { Db } from '../db/knex';

/**
 * SQL of the exposure report (docs/adr/0019-exposure-report.md). Three read-only statements, each
 * as of the end of a day: members with their paid-in capital, loans with principal outstanding,
 * and the guarantees standing behind them. Amounts through `loan_debit_balance_as_of` (ADR 0003).
 */

// knex treats every "?" in raw SQL as a binding: the SQL below contains no other "?".

export interface ExposureMemberRow {
  id: string;
  name: string;
  related_group: string | null;
  status: string;
  /** Balance of 3001:<member> as of the day; 0 without the account. */
  paid_in: string;
}

/** Every member of the fund with its paid-in capital as of `asOf`, by name. */
export async function membersWithCapital(db: Db, fundId: string, asOf: string): Promise<ExposureMemberRow[]> {
  const result = await db.raw<{ rows: ExposureMemberRow[] }>(
    `SELECT m.id, m.name, m.related_group, m.status,
            coalesce(-loan_debit_balance_as_of(a.id, ?::date), 0)::text AS paid_in
       FROM members m
       LEFT JOIN accounts a ON a.fund_id = m.fund_id AND a.member_id = m.id AND a.base_code = '3001'
      WHERE m.fund_id = ?
      ORDER BY m.name, m.id`,
    [asOf, fundId],
  );
  return result.rows;
}

export interface ExposureLoanRow {
  id: string;
  lender: 'pool' | 'peer' | 'bank';
  borrower_member_id: string;
  peer_lender_member_id: string | null;
  /** Principal outstanding at the end of the day: 1201 (pool), 7101 (peer) or 7201 (bank). */
  principal: string;
}

/**
 * Every loan disbursed (drawn, for a bank loan) on or before `asOf` with principal outstanding at
 * the end of that day. At most `limit` rows.
 */
export async function outstandingLoans(
  db: Db,
  fundId: string,
  asOf: string,
  limit: number,
): Promise<ExposureLoanRow[]> {
  const result = await db.raw<{ rows: ExposureLoanRow[] }>(
    `SELECT * FROM (
       SELECT l.id, l.lender, l.borrower_member_id, l.peer_lender_member_id,
              coalesce(loan_debit_balance_as_of(a.id, ?::date), 0)::text AS principal
         FROM loans l
         JOIN accounts a
           ON a.fund_id = l.fund_id AND a.loan_id = l.id
          AND a.base_code = CASE l.lender WHEN 'pool' THEN '1201' WHEN 'peer' THEN '7101' ELSE '7201' END
        WHERE l.fund_id = ? AND l.disbursed_on IS NOT NULL AND l.disbursed_on <= ?::date
     ) o
     WHERE o.principal::numeric > 0
     ORDER BY o.id
     LIMIT ?`,
    [asOf, fundId, asOf, limit],
  );
  return result.rows;
}

export interface StandingGuaranteeRow {
  id: string;
  loan_id: string;
  guarantor_member_id: string;
  joint_group_id: string | null;
  /**
   * What the guarantee counts toward its guarantor on the day (rule S1, the database function guarantee_capacity_share): what it
   * stood behind then, or for a joint group's guarantee the guarantor's equal share of that.
   */
  counted: string;
}

/**
 * Guarantees that had become active by the end of `asOf` (their loan disbursed by then), with what
 * each still stood behind that day: the amount less the releases of repayments received by then
 * and not reversed by then (rule R-release of repayments.service.ts), less what its guarantor had
 * paid under recovery calls by then (ADR 0018); nothing once the loan's recovery case had closed
 * (the close releases what stands). Only those with something left, each at what it counts toward
 * its guarantor: the rule the eligibility rules use for capacity.
 */
export async function standingGuarantees(db: Db, fundId: string, asOf: string): Promise<StandingGuaranteeRow[]> {
  const result = await db.raw<{ rows: StandingGuaranteeRow[] }>(
    `SELECT s.id, s.loan_id, s.guarantor_member_id, s.joint_group_id,
            guarantee_capacity_share(fund_id => s.fund_id, loan_id => s.loan_id, joint_group_id => s.joint_group_id,
                                     standing => s.standing)::numeric(20, 2)::text AS counted
       FROM (
       SELECT g.id, g.fund_id, g.loan_id, g.guarantor_member_id, g.joint_group_id,
              g.amount - coalesce(rel.released, 0) - coalesce(paid_calls.paid, 0) AS standing
         FROM loan_guarantees g
         JOIN loans l ON l.fund_id = g.fund_id AND l.id = g.loan_id
         LEFT JOIN LATERAL (
           SELECT sum(x.amount) AS released
             FROM repayment_guarantee_releases x
             JOIN repayments r ON r.fund_id = x.fund_id AND r.id = x.repayment_id
            WHERE x.fund_id = g.fund_id AND x.guarantee_id = g.id
              AND r.received_on <= ?::date AND (r.reversed_on IS NULL OR r.reversed_on > ?::date)
         ) rel ON true
         LEFT JOIN LATERAL (
           SELECT sum(cp.amount) AS paid
             FROM recovery_calls k
             JOIN recovery_call_payments cp ON cp.fund_id = k.fund_id AND cp.call_id = k.id
            WHERE k.fund_id = g.fund_id AND k.guarantee_id = g.id AND cp.received_on <= ?::date
         ) paid_calls ON true
        WHERE g.fund_id = ? AND g.status IN ('active', 'released')
          AND l.disbursed_on IS NOT NULL AND l.disbursed_on <= ?::date
          AND NOT EXISTS (SELECT 1 FROM recovery_cases rc
                           WHERE rc.fund_id = g.fund_id AND rc.loan_id = g.loan_id AND rc.closed_on <= ?::date)
     ) s
     WHERE s.standing > 0
     ORDER BY s.guarantor_member_id, s.loan_id, s.id`,
    [asOf, asOf, asOf, fundId, asOf, asOf],
  );
  return result.rows;
}
