import type { Knex } from 'knex';
// knex treats every "?" in raw SQL as a binding, even with no bindings: the SQL below avoids "?".

/**
 * The interest an instalment period actually accrued (docs/adr/0012-daily-job.md, "Interest of a
 * period"). A prepayment lowers the contract balance, so a period can accrue less than the
 * schedule's figure, which then could never be paid in full: the instalment would stay overdue.
 * The daily job now keeps the interest accrued so far in the current period and, when the period
 * ends, writes it on the instalment; from then on that is the instalment's interest due.
 * `loan_interest_past_due` tells whether a pool loan owes interest of periods already ended: the
 * interest receivable beyond what the period still running has accrued. An extension's first
 * instalment carries the interest accrued before it (`interest_carried`, ADR 0013), and a
 * repayment records the schedule version it was allocated against, so that one made before an
 * extension is not reversed onto a schedule that no longer has its instalments.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE loan_accrual_state
      ADD COLUMN interest_period_accrued numeric(20, 2) CHECK (interest_period_accrued >= 0);
    -- A period already running counts from its current segment: before this column the job kept no
    -- other total, and a segment starts anew only on a prepayment, so this is exact without one.
    UPDATE loan_accrual_state SET interest_period_accrued = interest_segment_accrued
     WHERE interest_period_due_on IS NOT NULL;
    ALTER TABLE loan_accrual_state
      ADD CONSTRAINT loan_accrual_state_period_accrued CHECK (
        (interest_period_due_on IS NULL) = (interest_period_accrued IS NULL)
      );

    -- interest_carried: interest accrued before an extension and carried into the first
    -- instalment of the new schedule (ADR 0013); the period adds it to what it accrues itself.
    ALTER TABLE loan_instalments
      ADD COLUMN interest_carried numeric(20, 2) NOT NULL DEFAULT 0 CHECK (interest_carried >= 0),
      ADD COLUMN interest_accrued numeric(20, 2) CHECK (interest_accrued >= interest_carried),
      DROP CONSTRAINT loan_instalments_check1,
      ADD CONSTRAINT loan_instalments_interest_paid CHECK (
        interest_paid >= 0 AND interest_paid <= greatest(interest, coalesce(interest_accrued, 0))
      );

    -- The schedule a repayment was allocated against: one recorded before an extension is not
    -- reversed (the new schedule was built from the balances after it).
    ALTER TABLE repayments ADD COLUMN schedule_version integer CHECK (schedule_version >= 1);
    UPDATE repayments r SET schedule_version = l.schedule_version
      FROM loans l WHERE l.fund_id = r.fund_id AND l.id = r.loan_id;

    CREATE FUNCTION loan_interest_past_due(fund uuid, loan uuid, lender text, d date)
      RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE
      AS $$
        SELECT lender = 'peer'
            OR coalesce((SELECT b.balance FROM accounts a JOIN account_balances b ON b.account_id = a.id
                          WHERE a.fund_id = fund AND a.code = '1202:' || loan::text), 0)
             > coalesce((SELECT st.interest_period_accrued FROM loan_accrual_state st
                          WHERE st.fund_id = fund AND st.loan_id = loan AND st.interest_period_due_on >= d), 0)
      $$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP FUNCTION IF EXISTS loan_interest_past_due(uuid, uuid, text, date);
    ALTER TABLE repayments DROP COLUMN IF EXISTS schedule_version;
    ALTER TABLE loan_instalments
      DROP CONSTRAINT IF EXISTS loan_instalments_interest_paid,
      DROP COLUMN IF EXISTS interest_accrued,
      DROP COLUMN IF EXISTS interest_carried,
      ADD CONSTRAINT loan_instalments_check1 CHECK (interest_paid >= 0 AND interest_paid <= interest);
    ALTER TABLE loan_accrual_state
      DROP CONSTRAINT IF EXISTS loan_accrual_state_period_accrued,
      DROP COLUMN IF EXISTS interest_period_accrued;
  `);
}
