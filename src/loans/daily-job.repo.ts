import type { Db, Trx } from '../db/knex';

/**
 * SQL of the daily loan job (docs/adr/0012-daily-job.md). Every statement works on all loans of a
 * fund at once: a fund day is a handful of statements whatever the number of loans.
 */

/** The loan states the job looks at: disbursed and not yet repaid, written off or cancelled. */
export const SERVICED_STATES = ['active', 'overdue', 'defaulted'] as const;

/** The five tiers of loan classification, best first: a tier's index is its rank. */
export const CLASSIFICATIONS = ['normal', 'special_mention', 'substandard', 'doubtful', 'loss'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];

/** The tiers as an SQL array: a tier's position is its rank. */
const TIERS_SQL = `ARRAY[${CLASSIFICATIONS.map((tier) => `'${tier}'`).join(', ')}]::text[]`;

export interface JobRunRow {
  fund_id: string;
  run_date: string;
  ran_at: Date;
  actor_id: string | null;
  result: unknown;
}

/** Serializes the daily job of one fund: concurrent runs of a fund queue here, until commit. */
export async function lockFundJob(trx: Trx, fundId: string): Promise<void> {
  await trx.raw(`SELECT pg_advisory_xact_lock(hashtextextended('huzhu.daily_job:' || ?::text, 0))`, [fundId]);
}

/**
 * The same lock, shared: repayments and their reversals hold it so that a day run never computes
 * from balances a repayment is changing, nor a repayment from a day half run. They do not queue
 * behind each other (their loan rows serialize them per loan), only behind a run.
 */
export async function lockFundJobShared(trx: Trx, fundId: string): Promise<void> {
  await trx.raw(`SELECT pg_advisory_xact_lock_shared(hashtextextended('huzhu.daily_job:' || ?::text, 0))`, [fundId]);
}

export async function findRun(db: Db, fundId: string, date: string): Promise<JobRunRow | undefined> {
  const result = await db.raw<{ rows: JobRunRow[] }>(
    `SELECT fund_id, to_char(run_date, 'YYYY-MM-DD') AS run_date, ran_at, actor_id, result
       FROM job_runs WHERE fund_id = ? AND run_date = ?`,
    [fundId, date],
  );
  return result.rows[0];
}

/** The first and last day run for a fund, or nulls before its first run. */
export async function runBounds(db: Db, fundId: string): Promise<{ first: string | null; last: string | null }> {
  const result = await db.raw<{ rows: { first: string | null; last: string | null }[] }>(
    `SELECT to_char(min(run_date), 'YYYY-MM-DD') AS first, to_char(max(run_date), 'YYYY-MM-DD') AS last
       FROM job_runs WHERE fund_id = ?`,
    [fundId],
  );
  return result.rows[0] ?? { first: null, last: null };
}

/** The earliest disbursement date of the fund's loans, if any loan was disbursed. */
export async function earliestDisbursement(db: Db, fundId: string): Promise<string | null> {
  const result = await db.raw<{ rows: { first: string | null }[] }>(
    `SELECT to_char(min(disbursed_on), 'YYYY-MM-DD') AS first FROM loans WHERE fund_id = ?`,
    [fundId],
  );
  return result.rows[0]?.first ?? null;
}

export async function insertRun(
  trx: Trx,
  run: { fundId: string; date: string; ranAt: Date; actorId: string | null; result: unknown },
): Promise<void> {
  await trx.raw(`INSERT INTO job_runs (fund_id, run_date, ran_at, actor_id, result) VALUES (?, ?, ?, ?, ?::jsonb)`, [
    run.fundId,
    run.date,
    run.ranAt,
    run.actorId,
    JSON.stringify(run.result),
  ]);
}

export interface AccrualRow {
  loan_id: string;
  /** Contract interest accrued for the day (may include a late-registered loan's backlog). */
  interest: string;
  penalty: string;
  interest_account_id: string | null;
  penalty_account_id: string | null;
}

/**
 * Computes the day's interest and penalty accrual of every serviced pool loan of the fund and
 * stores the new segment state, in one statement; returns the loans with something to post.
 *
 * For day d and each loan (all amounts as of the end of d):
 *  - outstanding = balance of 1201:<loan> as of d (effective-dated);
 *  - contract balance = outstanding − unpaid principal of instalments due on or before d: the
 *    schedule's period balance (principal fallen due no longer bears contract interest);
 *  - overdue principal = unpaid principal of instalments due before d (at most outstanding);
 *  - interest: if d lies in an instalment period [period_start, due_on) and the contract balance is
 *    > 0, the segment continues when yesterday was accrued in the same period on the same balance;
 *    otherwise a new one starts today (for a loan the job meets for the first time: at its period's
 *    start, plus the whole interest of periods already ended — a disbursement dated before the
 *    last day run). Accrual = R(balance, n days) − accrued so far in the segment.
 *  - penalty: the same over stretches of constant overdue principal, at rate × (1 + uplift / 100).
 *
 * Each loan's new state is also kept as that day's row of loan_accrual_days. With `loanId`, only
 * that loan is computed: a rerun of its days after a repayment dated in a day already run.
 */
export async function accrueDay(
  trx: Trx,
  fundId: string,
  date: string,
  loanId: string | null = null,
): Promise<AccrualRow[]> {
  const result = await trx.raw<{ rows: AccrualRow[] }>(
    `WITH params AS (
       SELECT ?::uuid AS fund_id, ?::date AS d, ?::uuid AS only_loan_id
     ), scope AS MATERIALIZED (
       SELECT l.id AS loan_id, l.rate_annual, l.penalty_uplift_pct, l.schedule_version,
              CASE l.day_count WHEN 'ACT/360' THEN 360 ELSE 365 END AS basis
         FROM loans l CROSS JOIN params p
        WHERE l.fund_id = p.fund_id AND l.lender = 'pool' AND l.status IN ('active', 'overdue', 'defaulted')
          AND l.disbursed_on <= p.d AND (p.only_loan_id IS NULL OR l.id = p.only_loan_id)
     ), inst AS (
       SELECT i.loan_id,
              sum(i.principal - i.principal_paid) FILTER (WHERE i.due_on <= p.d) AS due_unpaid,
              sum(i.principal - i.principal_paid) FILTER (WHERE i.due_on < p.d) AS overdue_unpaid,
              max(i.due_on) FILTER (WHERE i.period_start <= p.d AND p.d < i.due_on) AS period_due_on,
              max(i.period_start) FILTER (WHERE i.period_start <= p.d AND p.d < i.due_on) AS period_start,
              sum(i.interest) FILTER (WHERE i.due_on <= p.d) AS ended_interest,
              max(i.interest_accrued - i.interest_carried) FILTER (WHERE i.period_start <= p.d AND p.d < i.due_on)
                AS period_accrued_stored
         FROM scope s CROSS JOIN params p
         JOIN loan_instalments i
           ON i.fund_id = p.fund_id AND i.loan_id = s.loan_id AND i.schedule_version = s.schedule_version
        GROUP BY i.loan_id
     ), figures AS (
       SELECT s.loan_id, s.rate_annual, s.penalty_uplift_pct, s.basis, s.schedule_version, p.d,
              i.period_due_on, i.period_start, coalesce(i.ended_interest, 0) AS ended_interest,
              i.period_accrued_stored,
              greatest(coalesce(o.outstanding, 0) - coalesce(i.due_unpaid, 0), 0) AS contract_balance,
              least(greatest(coalesce(i.overdue_unpaid, 0), 0), greatest(coalesce(o.outstanding, 0), 0))
                AS overdue_principal,
              st.loan_id IS NOT NULL AS known,
              coalesce(st.accrued_through = p.d - 1, false) AS yesterday,
              st.interest_period_due_on, st.interest_segment_start, st.interest_segment_balance,
              st.interest_segment_accrued, st.interest_period_accrued, st.penalty_segment_start,
              st.penalty_segment_principal, st.penalty_segment_accrued
         FROM scope s CROSS JOIN params p
         LEFT JOIN inst i ON i.loan_id = s.loan_id
         LEFT JOIN LATERAL (
           SELECT CASE WHEN b.effective_watermark IS NULL OR b.effective_watermark <= p.d THEN b.balance
                       ELSE loan_debit_balance_as_of(b.account_id, p.d) END AS outstanding
             FROM accounts a JOIN account_balances b ON b.account_id = a.id
            WHERE a.fund_id = p.fund_id AND a.code = '1201:' || s.loan_id::text
         ) o ON true
         LEFT JOIN loan_accrual_state st ON st.fund_id = p.fund_id AND st.loan_id = s.loan_id
     ), segments AS (
       SELECT f.*,
              f.period_due_on IS NOT NULL AND f.contract_balance > 0 AS accrues,
              f.yesterday AND f.interest_period_due_on = f.period_due_on
                AND f.interest_segment_balance = f.contract_balance AS interest_continues,
              coalesce(f.yesterday AND f.interest_period_due_on = f.period_due_on, false) AS period_continues,
              f.overdue_principal > 0 AS penalized,
              f.yesterday AND f.penalty_segment_principal = f.overdue_principal AS penalty_continues
         FROM figures f
     ), starts AS (
       SELECT g.*,
              CASE WHEN NOT g.accrues THEN NULL
                   WHEN g.interest_continues THEN g.interest_segment_start
                   WHEN NOT g.known THEN g.period_start
                   ELSE g.d END AS i_start,
              CASE WHEN g.accrues AND g.interest_continues THEN g.interest_segment_accrued ELSE 0 END AS i_before,
              -- What the period accrued before today: carried from yesterday, or (a period resumed
              -- after a pause on a zero balance) what was written on its instalment.
              CASE WHEN g.period_continues THEN g.interest_period_accrued
                   ELSE coalesce(g.period_accrued_stored, 0) END AS period_before,
              CASE WHEN NOT g.known THEN g.ended_interest ELSE 0 END AS backlog,
              CASE WHEN NOT g.penalized THEN NULL
                   WHEN g.penalty_continues THEN g.penalty_segment_start
                   ELSE g.d END AS p_start,
              CASE WHEN g.penalized AND g.penalty_continues THEN g.penalty_segment_accrued ELSE 0 END AS p_before
         FROM segments g
     ), computed AS (
       SELECT t.*,
              CASE WHEN t.accrues
                   THEN loan_interest_fen(t.contract_balance, t.rate_annual, t.d - t.i_start + 1, t.basis) END AS i_cum,
              CASE WHEN t.penalized
                   THEN loan_penalty_fen(t.overdue_principal, t.rate_annual, t.penalty_uplift_pct,
                                         t.d - t.p_start + 1, t.basis) END AS p_cum
         FROM starts t
     ), ended AS (
       -- Yesterday's period is over, or paused on a zero contract balance: what it accrued is the
       -- instalment's interest due from now on.
       UPDATE loan_instalments i
          SET interest_accrued = c.interest_period_accrued + i.interest_carried
         FROM computed c CROSS JOIN params p
        WHERE c.yesterday AND c.interest_period_due_on IS NOT NULL AND NOT (c.accrues AND c.period_continues)
          AND i.fund_id = p.fund_id AND i.loan_id = c.loan_id AND i.schedule_version = c.schedule_version
          AND i.due_on = c.interest_period_due_on AND i.period_start < c.d
          AND i.interest_accrued IS DISTINCT FROM c.interest_period_accrued + i.interest_carried
     ), upserted AS (
       INSERT INTO loan_accrual_state AS st
         (fund_id, loan_id, accrued_through, interest_period_due_on, interest_segment_start,
          interest_segment_balance, interest_segment_accrued, interest_period_accrued, penalty_segment_start,
          penalty_segment_principal, penalty_segment_accrued, interest_accrued_day, penalty_accrued_day)
       SELECT (SELECT fund_id FROM params), c.loan_id, c.d,
              CASE WHEN c.accrues THEN c.period_due_on END, c.i_start,
              CASE WHEN c.accrues THEN c.contract_balance END, c.i_cum,
              CASE WHEN c.accrues THEN c.period_before + c.i_cum - c.i_before END,
              c.p_start, CASE WHEN c.penalized THEN c.overdue_principal END, c.p_cum,
              coalesce(c.i_cum - c.i_before, 0) + c.backlog, coalesce(c.p_cum - c.p_before, 0)
         FROM computed c
       ON CONFLICT (fund_id, loan_id) DO UPDATE SET
         accrued_through = EXCLUDED.accrued_through,
         interest_period_due_on = EXCLUDED.interest_period_due_on,
         interest_segment_start = EXCLUDED.interest_segment_start,
         interest_segment_balance = EXCLUDED.interest_segment_balance,
         interest_segment_accrued = EXCLUDED.interest_segment_accrued,
         interest_period_accrued = EXCLUDED.interest_period_accrued,
         penalty_segment_start = EXCLUDED.penalty_segment_start,
         penalty_segment_principal = EXCLUDED.penalty_segment_principal,
         penalty_segment_accrued = EXCLUDED.penalty_segment_accrued,
         interest_accrued_day = EXCLUDED.interest_accrued_day,
         penalty_accrued_day = EXCLUDED.penalty_accrued_day
       RETURNING st.*
     ), logged AS (
       -- The state as this day left it: a repayment dated in a day already run rewinds to it.
       INSERT INTO loan_accrual_days
         (fund_id, loan_id, accrued_on, interest_period_due_on, interest_segment_start, interest_segment_balance,
          interest_segment_accrued, interest_period_accrued, penalty_segment_start, penalty_segment_principal,
          penalty_segment_accrued, interest_accrued_day, penalty_accrued_day)
       SELECT u.fund_id, u.loan_id, u.accrued_through, u.interest_period_due_on, u.interest_segment_start,
              u.interest_segment_balance, u.interest_segment_accrued, u.interest_period_accrued,
              u.penalty_segment_start, u.penalty_segment_principal, u.penalty_segment_accrued,
              u.interest_accrued_day, u.penalty_accrued_day
         FROM upserted u
     )
     SELECT u.loan_id, u.interest_accrued_day::text AS interest, u.penalty_accrued_day::text AS penalty,
            ai.id AS interest_account_id, ap.id AS penalty_account_id
       FROM upserted u CROSS JOIN params p
       LEFT JOIN accounts ai ON ai.fund_id = p.fund_id AND ai.code = '1202:' || u.loan_id::text
       LEFT JOIN accounts ap ON ap.fund_id = p.fund_id AND ap.code = '1203:' || u.loan_id::text
      WHERE u.interest_accrued_day > 0 OR u.penalty_accrued_day > 0
      ORDER BY u.loan_id`,
    [fundId, date, loanId],
  );
  return result.rows;
}

/**
 * The one rule for an overdue instalment, as SQL over instalment `i` of loan `l` (with fund_id,
 * id and lender) on day `day` (docs/adr/0012-daily-job.md): it fell due before the day and its
 * principal is not fully paid, or its interest is not — interest due being what the period
 * accrued once it ended (a prepayment lowers it below the schedule's figure). For a pool loan,
 * interest counts as unpaid only while the loan owes interest of ended periods at all
 * (`loan_interest_past_due`), so that a fen of rounding in how payments were labelled by
 * instalment never makes a loan overdue. A report as of a past day passes its own as-of figure
 * for that condition as `interestPastDue`.
 */
export function instalmentOverdueSql(
  day: string,
  interestPastDue = `loan_interest_past_due(l.fund_id, l.id, l.lender, ${day})`,
): string {
  return `(i.due_on < ${day} AND (i.principal_paid < i.principal
      OR (i.interest_paid < coalesce(i.interest_accrued, i.interest)
          AND ${interestPastDue})))`;
}

export interface ClassificationBands {
  defaultAfterDaysOverdue: number;
  specialMentionDaysMax: number;
  substandardDaysMax: number;
  doubtfulDaysMax: number;
}

export interface ClassificationCounts {
  newly_overdue: number;
  newly_defaulted: number;
  cured: number;
  classification_changes: number;
}

/**
 * Days past due, status and classification of every serviced loan of the fund (pool and peer) as
 * of day d, in one statement: an instalment due before d and not fully paid is overdue; days past
 * due = d − the oldest such due date. A loan with none is active (正常); otherwise overdue, and
 * defaulted from `defaultAfterDaysOverdue` days (a defaulted loan stays defaulted until nothing is
 * overdue, and as long as its recovery case is open). Every change of classification or status is written to the history. With `loanId`,
 * only that loan: after a repayment dated in a day already run, as of the last day run.
 */
export async function classifyDay(
  trx: Trx,
  fundId: string,
  date: string,
  bands: ClassificationBands,
  now: Date,
  loanId: string | null = null,
): Promise<ClassificationCounts> {
  const result = await trx.raw<{ rows: Record<keyof ClassificationCounts, string>[] }>(
    `WITH params AS (
       SELECT ?::uuid AS fund_id, ?::date AS d, ?::int AS default_after, ?::int AS special_mention_max,
              ?::int AS substandard_max, ?::int AS doubtful_max, ?::timestamptz AS now, ?::uuid AS only_loan_id
     ), serviced AS MATERIALIZED (
       SELECT l.id, l.fund_id, l.lender, l.status, l.classification, l.days_past_due, l.schedule_version,
              -- A loan in an open recovery case stays defaulted whatever its days past due (ADR 0018).
              EXISTS (SELECT 1 FROM recovery_cases rc
                       WHERE rc.fund_id = l.fund_id AND rc.loan_id = l.id AND rc.status = 'open') AS in_recovery
         FROM loans l CROSS JOIN params p
        WHERE l.fund_id = p.fund_id AND l.status IN ('active', 'overdue', 'defaulted') AND l.disbursed_on <= p.d
          AND (p.only_loan_id IS NULL OR l.id = p.only_loan_id)
     ), oldest AS (
       SELECT i.loan_id, min(i.due_on) AS due_on
         FROM serviced l CROSS JOIN params p
         JOIN loan_instalments i
           ON i.fund_id = p.fund_id AND i.loan_id = l.id AND i.schedule_version = l.schedule_version
        WHERE ${instalmentOverdueSql('p.d')}
        GROUP BY i.loan_id
     ), floors AS (
       -- A restructured loan is classified at least at its floor until the observation ends (ADR 0013).
       SELECT DISTINCT ON (e.loan_id) e.loan_id, e.classification_floor
         FROM loan_extensions e CROSS JOIN params p
        WHERE e.fund_id = p.fund_id AND e.status = 'approved' AND e.observation_ends_on >= p.d
        ORDER BY e.loan_id, e.number DESC
     ), by_days AS (
       SELECT s.id, s.status AS old_status, s.classification AS old_class, s.days_past_due AS old_dpd, c.dpd,
              f.classification_floor,
              CASE WHEN s.in_recovery THEN 'defaulted'
                   WHEN c.dpd = 0 THEN 'active'
                   WHEN c.dpd >= p.default_after OR s.status = 'defaulted' THEN 'defaulted'
                   ELSE 'overdue' END AS new_status,
              CASE WHEN c.dpd = 0 THEN 'normal'
                   WHEN c.dpd <= p.special_mention_max THEN 'special_mention'
                   WHEN c.dpd <= p.substandard_max THEN 'substandard'
                   WHEN c.dpd <= p.doubtful_max THEN 'doubtful'
                   ELSE 'loss' END AS class_by_days
         FROM serviced s CROSS JOIN params p
         LEFT JOIN oldest o ON o.loan_id = s.id
         LEFT JOIN floors f ON f.loan_id = s.id
         CROSS JOIN LATERAL (SELECT coalesce(p.d - o.due_on, 0) AS dpd) c
     ), decided AS (
       SELECT b.*,
              CASE WHEN b.classification_floor IS NOT NULL
                        AND array_position(${TIERS_SQL}, b.classification_floor) > array_position(${TIERS_SQL}, b.class_by_days)
                   THEN b.classification_floor ELSE b.class_by_days END AS new_class
         FROM by_days b
     ), updated AS (
       UPDATE loans l
          SET status = d.new_status, classification = d.new_class, days_past_due = d.dpd,
              version = l.version + CASE WHEN l.status <> d.new_status THEN 1 ELSE 0 END,
              updated_at = CASE WHEN l.status <> d.new_status OR l.classification IS DISTINCT FROM d.new_class
                                THEN p.now ELSE l.updated_at END
         FROM decided d CROSS JOIN params p
        WHERE l.fund_id = p.fund_id AND l.id = d.id AND l.status IN ('active', 'overdue', 'defaulted')
          AND (l.status <> d.new_status OR l.classification IS DISTINCT FROM d.new_class
               OR l.days_past_due IS DISTINCT FROM d.dpd)
       RETURNING l.id
     ), history AS (
       INSERT INTO loan_classification_history
         (fund_id, loan_id, changed_on, from_classification, to_classification, from_status, to_status, days_past_due)
       SELECT p.fund_id, d.id, p.d, d.old_class, d.new_class, d.old_status, d.new_status, d.dpd
         FROM decided d CROSS JOIN params p
        WHERE (coalesce(d.old_class, 'normal') <> d.new_class OR d.old_status <> d.new_status)
          AND d.id IN (SELECT id FROM updated)
       RETURNING from_classification, to_classification, from_status, to_status
     )
     SELECT count(*) FILTER (WHERE from_status = 'active' AND to_status <> 'active') AS newly_overdue,
            count(*) FILTER (WHERE from_status <> 'defaulted' AND to_status = 'defaulted') AS newly_defaulted,
            count(*) FILTER (WHERE from_status <> 'active' AND to_status = 'active') AS cured,
            count(*) FILTER (WHERE coalesce(from_classification, 'normal') <> to_classification)
              AS classification_changes
       FROM history`,
    [
      fundId,
      date,
      bands.defaultAfterDaysOverdue,
      bands.specialMentionDaysMax,
      bands.substandardDaysMax,
      bands.doubtfulDaysMax,
      now,
      loanId,
    ],
  );
  const row = result.rows[0];
  return {
    newly_overdue: Number(row?.newly_overdue ?? 0),
    newly_defaulted: Number(row?.newly_defaulted ?? 0),
    cured: Number(row?.cured ?? 0),
    classification_changes: Number(row?.classification_changes ?? 0),
  };
}

export async function fundAccountIds(db: Db, fundId: string, codes: readonly string[]): Promise<Map<string, string>> {
  const result = await db.raw<{ rows: { id: string; code: string }[] }>(
    'SELECT id, code FROM accounts WHERE fund_id = ? AND code = ANY(?::text[])',
    [fundId, [...codes]],
  );
  return new Map(result.rows.map((row) => [row.code, row.id]));
}

export interface HistoryRow {
  loan_id: string;
  changed_on: string;
  from_classification: Classification | null;
  to_classification: Classification;
  from_status: string;
  to_status: string;
  days_past_due: number;
}

export async function classificationHistory(db: Db, fundId: string, loanId: string): Promise<HistoryRow[]> {
  const result = await db.raw<{ rows: HistoryRow[] }>(
    `SELECT loan_id, to_char(changed_on, 'YYYY-MM-DD') AS changed_on, from_classification, to_classification,
            from_status, to_status, days_past_due
       FROM loan_classification_history WHERE fund_id = ? AND loan_id = ? ORDER BY id`,
    [fundId, loanId],
  );
  return result.rows;
}

// ---------------------------------------------------------------------------------------------
// Running a loan's days again

/** What the job posted for a loan on one day (its accrual, and any rerun's difference). */
export interface AccrualDayRow {
  accrued_on: string;
  interest_accrued_day: string;
  penalty_accrued_day: string;
}

/** The last day the job has run for the loan, or null when it has not met it yet. */
export async function accruedThrough(db: Db, fundId: string, loanId: string): Promise<string | null> {
  const result = await db.raw<{ rows: { accrued_through: string }[] }>(
    `SELECT to_char(accrued_through, 'YYYY-MM-DD') AS accrued_through
       FROM loan_accrual_state WHERE fund_id = ? AND loan_id = ?`,
    [fundId, loanId],
  );
  return result.rows[0]?.accrued_through ?? null;
}

/** The days from `from` on that the job has run for the loan, with what each posted. */
export async function accrualDaysFrom(db: Db, fundId: string, loanId: string, from: string): Promise<AccrualDayRow[]> {
  const result = await db.raw<{ rows: AccrualDayRow[] }>(
    `SELECT to_char(accrued_on, 'YYYY-MM-DD') AS accrued_on, interest_accrued_day::text AS interest_accrued_day,
            penalty_accrued_day::text AS penalty_accrued_day
       FROM loan_accrual_days WHERE fund_id = ? AND loan_id = ? AND accrued_on >= ?::date
      ORDER BY accrued_on`,
    [fundId, loanId, from],
  );
  return result.rows;
}

/**
 * Puts a loan's accrual back where the day before `from` left it, so that its days from `from` on
 * can run again (on a caller's transaction holding the loan): the state becomes that day's row (or
 * none, when the job had not met the loan yet), the later day rows go, and the interest due that
 * later days wrote on instalments (periods that ended, or paused, from `from` on) is cleared for
 * the rerun to write again. An instalment whose period was already paused the day before keeps
 * what the pause wrote: a period resumed later starts from it.
 */
export async function rewindAccrual(
  trx: Trx,
  fundId: string,
  loanId: string,
  scheduleVersion: number,
  from: string,
): Promise<void> {
  await trx.raw(
    `WITH params AS (
       SELECT ?::uuid AS fund_id, ?::uuid AS loan_id, ?::int AS schedule_version, ?::date AS d
     ), before AS (
       SELECT b.* FROM loan_accrual_days b CROSS JOIN params p
        WHERE b.fund_id = p.fund_id AND b.loan_id = p.loan_id AND b.accrued_on < p.d
        ORDER BY b.accrued_on DESC LIMIT 1
     )
     UPDATE loan_instalments i SET interest_accrued = NULL
       FROM params p
      WHERE i.fund_id = p.fund_id AND i.loan_id = p.loan_id AND i.schedule_version = p.schedule_version
        AND i.due_on >= p.d AND i.interest_accrued IS NOT NULL
        AND NOT (i.period_start < p.d AND EXISTS (
              SELECT 1 FROM before b WHERE b.accrued_on = p.d - 1 AND b.interest_period_due_on IS NULL))`,
    [fundId, loanId, scheduleVersion, from],
  );
  await trx.raw(
    `WITH before AS (
       SELECT * FROM loan_accrual_days
        WHERE fund_id = ? AND loan_id = ? AND accrued_on < ?::date ORDER BY accrued_on DESC LIMIT 1
     ), forgotten AS (
       DELETE FROM loan_accrual_state st
        WHERE st.fund_id = ? AND st.loan_id = ? AND NOT EXISTS (SELECT 1 FROM before)
     )
     UPDATE loan_accrual_state st
        SET accrued_through = b.accrued_on, interest_period_due_on = b.interest_period_due_on,
            interest_segment_start = b.interest_segment_start, interest_segment_balance = b.interest_segment_balance,
            interest_segment_accrued = b.interest_segment_accrued, interest_period_accrued = b.interest_period_accrued,
            penalty_segment_start = b.penalty_segment_start, penalty_segment_principal = b.penalty_segment_principal,
            penalty_segment_accrued = b.penalty_segment_accrued, interest_accrued_day = b.interest_accrued_day,
            penalty_accrued_day = b.penalty_accrued_day
       FROM before b
      WHERE st.fund_id = b.fund_id AND st.loan_id = b.loan_id`,
    [fundId, loanId, from, fundId, loanId],
  );
  await trx.raw('DELETE FROM loan_accrual_days WHERE fund_id = ? AND loan_id = ? AND accrued_on >= ?::date', [
    fundId,
    loanId,
    from,
  ]);
}
