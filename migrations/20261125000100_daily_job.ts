import type { Knex } from 'knex';
// knex treats every "?" in raw SQL as a binding, even with no bindings: the SQL below avoids "?".

/**
 * The daily loan job (docs/adr/0012-daily-job.md): which fund days have run, the per-loan accrual
 * state (the interest and penalty segments), the loans' classification and days past due, and the
 * history of classification and status changes. Repayments have their own migration; the columns
 * added to `loans` here are the job's only.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE loans
      -- The five tiers (正常, 关注, 次级, 可疑, 损失) by days past due; set by the daily job once a
      -- disbursed loan has been seen by it (null before: a loan enters at 正常).
      ADD COLUMN classification  text CHECK (classification IN ('normal', 'special_mention', 'substandard', 'doubtful', 'loss')),
      ADD COLUMN days_past_due   integer CHECK (days_past_due >= 0),
      ADD CONSTRAINT loans_classified_together CHECK ((classification IS NULL) = (days_past_due IS NULL));

    -- One row per fund and day the daily job ran, with what it did. Days run in order, without gaps.
    CREATE TABLE job_runs (
      fund_id   uuid NOT NULL REFERENCES funds (id),
      run_date  date NOT NULL,
      ran_at    timestamptz NOT NULL,
      actor_id  uuid REFERENCES users (id),
      result    jsonb NOT NULL,
      CONSTRAINT job_runs_pkey PRIMARY KEY (fund_id, run_date)
    );

    -- Where each pool loan's accrual stands after the last day run. A segment is a stretch of days
    -- on one balance (within one instalment period for interest): its accrual so far is the
    -- cumulative interest of its days rounded once, so the days of a segment telescope exactly.
    CREATE TABLE loan_accrual_state (
      fund_id                    uuid NOT NULL,
      loan_id                    uuid NOT NULL,
      accrued_through            date NOT NULL,
      -- Contract interest: the instalment period's due date, the segment's first day and balance,
      -- and the segment's cumulative rounded interest through accrued_through.
      interest_period_due_on     date,
      interest_segment_start     date,
      interest_segment_balance   numeric(20, 2) CHECK (interest_segment_balance > 0),
      interest_segment_accrued   numeric(20, 2) CHECK (interest_segment_accrued >= 0),
      -- Penalty interest on overdue principal: the same, over a stretch of constant overdue principal.
      penalty_segment_start      date,
      penalty_segment_principal  numeric(20, 2) CHECK (penalty_segment_principal > 0),
      penalty_segment_accrued    numeric(20, 2) CHECK (penalty_segment_accrued >= 0),
      -- What the last day run posted for the loan.
      interest_accrued_day       numeric(20, 2) NOT NULL CHECK (interest_accrued_day >= 0),
      penalty_accrued_day        numeric(20, 2) NOT NULL CHECK (penalty_accrued_day >= 0),
      CONSTRAINT loan_accrual_state_pkey PRIMARY KEY (fund_id, loan_id),
      CONSTRAINT loan_accrual_state_loan_fk FOREIGN KEY (fund_id, loan_id) REFERENCES loans (fund_id, id),
      CONSTRAINT loan_accrual_state_interest_segment CHECK (
        (interest_period_due_on IS NULL) = (interest_segment_start IS NULL)
        AND (interest_period_due_on IS NULL) = (interest_segment_balance IS NULL)
        AND (interest_period_due_on IS NULL) = (interest_segment_accrued IS NULL)
        AND (interest_segment_start IS NULL OR interest_segment_start <= accrued_through)
      ),
      CONSTRAINT loan_accrual_state_penalty_segment CHECK (
        (penalty_segment_start IS NULL) = (penalty_segment_principal IS NULL)
        AND (penalty_segment_start IS NULL) = (penalty_segment_accrued IS NULL)
        AND (penalty_segment_start IS NULL OR penalty_segment_start <= accrued_through)
      )
    );

    -- Every change of a loan's classification or status made by the daily job.
    CREATE TABLE loan_classification_history (
      id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      fund_id              uuid NOT NULL,
      loan_id              uuid NOT NULL,
      changed_on           date NOT NULL,
      from_classification  text CHECK (from_classification IN ('normal', 'special_mention', 'substandard', 'doubtful', 'loss')),
      to_classification    text NOT NULL CHECK (to_classification IN ('normal', 'special_mention', 'substandard', 'doubtful', 'loss')),
      from_status          text NOT NULL,
      to_status            text NOT NULL CHECK (to_status IN ('active', 'overdue', 'defaulted')),
      days_past_due        integer NOT NULL CHECK (days_past_due >= 0),
      CONSTRAINT loan_classification_history_loan_fk FOREIGN KEY (fund_id, loan_id) REFERENCES loans (fund_id, id),
      CONSTRAINT loan_classification_history_changed CHECK (
        from_classification IS DISTINCT FROM to_classification OR from_status <> to_status
      )
    );
    CREATE INDEX loan_classification_history_loan_idx ON loan_classification_history (fund_id, loan_id, changed_on);
    CREATE INDEX loan_classification_history_day_idx ON loan_classification_history (fund_id, changed_on);

    -- Rule R-interest (docs/adr/0009-loan-schedules.md): the interest of days days on balance at
    -- rate, rounded half-up to the fen once. The product is exact; it is carried to 30 decimals
    -- before the one division, so the quotient is within 10^-30 of the exact value, which is on a
    -- half fen exactly or at least 1 / (365 × 10^16) away from one: ROUND (half away from zero for
    -- numeric, so half-up on these non-negative amounts) rounds it as the exact value would be.
    CREATE FUNCTION loan_interest_fen(balance numeric, rate numeric, days integer, basis integer)
      RETURNS numeric LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
      AS $$ SELECT round(round(balance * rate * days, 30) / basis, 2) $$;

    -- The same for penalty interest at rate × (1 + uplift / 100): the rate is kept exact by
    -- multiplying by (100 + uplift) and dividing by 100 × basis in the one division.
    CREATE FUNCTION loan_penalty_fen(principal numeric, rate numeric, uplift_pct numeric, days integer, basis integer)
      RETURNS numeric LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
      AS $$ SELECT round(round(principal * rate * (100 + uplift_pct) * days, 30) / (100 * basis), 2) $$;

    -- The debit balance of a debit-normal account at the end of a value date (ADR 0003): the
    -- running totals of the last posting whose watermark is on or before the date, plus the
    -- back-dated postings made after it and dated on or before it.
    CREATE FUNCTION loan_debit_balance_as_of(account uuid, as_of date)
      RETURNS numeric LANGUAGE sql STABLE STRICT PARALLEL SAFE
      AS $$
        WITH base AS (
          SELECT p.debit_total_after - p.credit_total_after AS balance, p.version_after
            FROM postings p
           WHERE p.account_id = account AND p.watermark_after <= as_of
           ORDER BY p.watermark_after DESC, p.version_after DESC
           LIMIT 1
        )
        SELECT coalesce((SELECT balance FROM base), 0)
               + coalesce((SELECT sum(CASE p.side WHEN 'debit' THEN p.amount ELSE -p.amount END)
                             FROM postings p
                            WHERE p.account_id = account AND p.backdated AND p.effective_date <= as_of
                              AND p.version_after > coalesce((SELECT version_after FROM base), 0)), 0)
      $$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP FUNCTION IF EXISTS loan_debit_balance_as_of(uuid, date);
    DROP FUNCTION IF EXISTS loan_penalty_fen(numeric, numeric, numeric, integer, integer);
    DROP FUNCTION IF EXISTS loan_interest_fen(numeric, numeric, integer, integer);
    DROP TABLE IF EXISTS loan_classification_history, loan_accrual_state, job_runs;
    ALTER TABLE loans
      DROP CONSTRAINT IF EXISTS loans_classified_together,
      DROP COLUMN IF EXISTS days_past_due,
      DROP COLUMN IF EXISTS classification;
  `);
}
