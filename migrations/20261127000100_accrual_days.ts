import type { Knex } from 'knex';
// knex treats every "?" in raw SQL as a binding, even with no bindings: the SQL below avoids "?".

/**
 * The daily job's accrual state as each day left it (docs/adr/0012-daily-job.md, "Repayments
 * dated in days already run"). `loan_accrual_state` holds only the latest day; a repayment or a
 * reversal dated in a day the job has already run rewinds the loan to the state of the day before
 * and runs its days again, so the state of every day must be at hand. One row per serviced loan and
 * day, with what the day posted for the loan (so a rerun posts only the difference). The rows are
 * derived data, rewritten when a loan's days are run again; the ledger keeps what was posted.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE loan_accrual_days (
      fund_id                    uuid NOT NULL,
      loan_id                    uuid NOT NULL,
      accrued_on                 date NOT NULL,
      interest_period_due_on     date,
      interest_segment_start     date,
      interest_segment_balance   numeric(20, 2),
      interest_segment_accrued   numeric(20, 2),
      interest_period_accrued    numeric(20, 2),
      penalty_segment_start      date,
      penalty_segment_principal  numeric(20, 2),
      penalty_segment_accrued    numeric(20, 2),
      interest_accrued_day       numeric(20, 2) NOT NULL CHECK (interest_accrued_day >= 0),
      penalty_accrued_day        numeric(20, 2) NOT NULL CHECK (penalty_accrued_day >= 0),
      CONSTRAINT loan_accrual_days_pkey PRIMARY KEY (fund_id, loan_id, accrued_on),
      CONSTRAINT loan_accrual_days_loan_fk FOREIGN KEY (fund_id, loan_id) REFERENCES loans (fund_id, id)
    );

    -- The differences a repayment or its reversal posted when it made the job's days run again.
    CREATE TABLE loan_accrual_adjustments (
      id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      fund_id             uuid NOT NULL,
      loan_id             uuid NOT NULL,
      repayment_id        uuid NOT NULL,
      cause               text NOT NULL CHECK (cause IN ('repayment', 'reversal')),
      from_day            date NOT NULL,
      through_day         date NOT NULL CHECK (through_day >= from_day),
      -- Signed: negative when interest (or penalty) already accrued was taken back.
      interest_difference numeric(20, 2) NOT NULL,
      penalty_difference  numeric(20, 2) NOT NULL,
      entry_ids           uuid[] NOT NULL,
      created_at          timestamptz NOT NULL,
      CONSTRAINT loan_accrual_adjustments_cause_key UNIQUE (fund_id, repayment_id, cause),
      CONSTRAINT loan_accrual_adjustments_loan_fk FOREIGN KEY (fund_id, loan_id) REFERENCES loans (fund_id, id),
      CONSTRAINT loan_accrual_adjustments_repayment_fk
        FOREIGN KEY (fund_id, repayment_id) REFERENCES repayments (fund_id, id)
    );
    CREATE TRIGGER loan_accrual_adjustments_append_only
      BEFORE UPDATE OR DELETE ON loan_accrual_adjustments
      FOR EACH ROW EXECUTE FUNCTION huzhu_refuse_change();

    -- Loans the job has already serviced keep at least their latest day.
    INSERT INTO loan_accrual_days
      (fund_id, loan_id, accrued_on, interest_period_due_on, interest_segment_start, interest_segment_balance,
       interest_segment_accrued, interest_period_accrued, penalty_segment_start, penalty_segment_principal,
       penalty_segment_accrued, interest_accrued_day, penalty_accrued_day)
    SELECT fund_id, loan_id, accrued_through, interest_period_due_on, interest_segment_start,
           interest_segment_balance, interest_segment_accrued, interest_period_accrued, penalty_segment_start,
           penalty_segment_principal, penalty_segment_accrued, interest_accrued_day, penalty_accrued_day
      FROM loan_accrual_state;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS loan_accrual_adjustments; DROP TABLE IF EXISTS loan_accrual_days');
}
