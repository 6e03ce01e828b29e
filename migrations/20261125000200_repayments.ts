import type { Knex } from 'knex';
// knex treats every "?" in raw SQL as a binding, even with no bindings: the SQL below avoids "?".

/**
 * Repayments of disbursed loans: the money received (one row per bank transfer), how it was
 * allocated (fees → penalty interest → interest → principal, oldest instalment first), the
 * guarantees it released, and its reversal. The column added to `loans` is the repayment column
 * only (the day a loan was fully repaid); the daily job's migration adds its own.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE loans
      ADD COLUMN repaid_on date,
      ADD CONSTRAINT loans_repaid_on CHECK ((status = 'repaid') = (repaid_on IS NOT NULL));

    CREATE TABLE repayments (
      id                           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      fund_id                      uuid NOT NULL,
      loan_id                      uuid NOT NULL,
      -- 1, 2, 3 … per loan in the order recorded: "the latest repayment" is the highest number.
      number                       integer NOT NULL CHECK (number >= 1),
      amount                       numeric(20, 2) NOT NULL CHECK (amount > 0),
      received_on                  date NOT NULL,
      reference                    text NOT NULL CHECK (length(reference) BETWEEN 1 AND 200),
      -- The loan's status before this repayment, restored when a repayment that closed it is reversed.
      loan_status_before           text NOT NULL CHECK (loan_status_before IN ('active', 'overdue', 'defaulted')),
      closed_loan                  boolean NOT NULL,
      -- The repayment entry; null only for a peer loan's repayment of interest alone (nothing in the books).
      entry_id                     uuid,
      -- The memo entry releasing guarantees (Dr 7002 / Cr 7001:<guarantor>); null when nothing was released.
      guarantee_entry_id           uuid,
      recorded_by                  uuid NOT NULL REFERENCES users (id),
      recorded_at                  timestamptz NOT NULL,
      reversed_at                  timestamptz,
      reversed_on                  date,
      reversed_by                  uuid REFERENCES users (id),
      reversal_reason              text CHECK (length(reversal_reason) BETWEEN 1 AND 500),
      reversal_entry_id            uuid,
      guarantee_reversal_entry_id  uuid,
      CONSTRAINT repayments_fund_id_id_key UNIQUE (fund_id, id),
      CONSTRAINT repayments_number_key UNIQUE (fund_id, loan_id, number),
      CONSTRAINT repayments_loan_fk FOREIGN KEY (fund_id, loan_id) REFERENCES loans (fund_id, id),
      CONSTRAINT repayments_entry_fk FOREIGN KEY (fund_id, entry_id) REFERENCES journal_entries (fund_id, id),
      CONSTRAINT repayments_guarantee_entry_fk
        FOREIGN KEY (fund_id, guarantee_entry_id) REFERENCES journal_entries (fund_id, id),
      CONSTRAINT repayments_reversal_entry_fk
        FOREIGN KEY (fund_id, reversal_entry_id) REFERENCES journal_entries (fund_id, id),
      CONSTRAINT repayments_guarantee_reversal_entry_fk
        FOREIGN KEY (fund_id, guarantee_reversal_entry_id) REFERENCES journal_entries (fund_id, id),
      -- A reversal names when, by whom and why, and mirrors exactly the entries the repayment posted.
      CONSTRAINT repayments_reversed CHECK (
        (reversed_at IS NULL) = (reversed_on IS NULL)
        AND (reversed_at IS NULL) = (reversed_by IS NULL)
        AND (reversed_at IS NULL) = (reversal_reason IS NULL)
        AND (reversed_at IS NULL OR reversed_on >= received_on)
        AND (reversed_at IS NULL OR (reversal_entry_id IS NULL) = (entry_id IS NULL))
        AND (reversed_at IS NULL OR (guarantee_reversal_entry_id IS NULL) = (guarantee_entry_id IS NULL))
        AND (reversed_at IS NOT NULL OR (reversal_entry_id IS NULL AND guarantee_reversal_entry_id IS NULL))
      )
    );
    -- A bank reference is recorded once per fund; a reversed repayment gives its reference back so
    -- the transfer can be recorded again correctly.
    CREATE UNIQUE INDEX repayments_reference_key ON repayments (fund_id, reference) WHERE reversed_at IS NULL;

    -- How a repayment was allocated. Fees and penalty interest belong to no instalment; interest
    -- accrued beyond the instalments' scheduled interest neither (instalment null).
    CREATE TABLE repayment_allocations (
      fund_id             uuid NOT NULL,
      repayment_id        uuid NOT NULL,
      line_no             integer NOT NULL CHECK (line_no >= 1),
      component           text NOT NULL CHECK (component IN ('fee', 'penalty', 'interest', 'principal')),
      schedule_version    integer CHECK (schedule_version >= 1),
      instalment_number   integer CHECK (instalment_number >= 1),
      amount              numeric(20, 2) NOT NULL CHECK (amount > 0),
      -- Principal of an instalment not yet due on the day received: a prepayment.
      prepayment          boolean NOT NULL DEFAULT false,
      CONSTRAINT repayment_allocations_pkey PRIMARY KEY (fund_id, repayment_id, line_no),
      CONSTRAINT repayment_allocations_repayment_fk FOREIGN KEY (fund_id, repayment_id) REFERENCES repayments (fund_id, id),
      CONSTRAINT repayment_allocations_instalment CHECK (
        (schedule_version IS NULL) = (instalment_number IS NULL)
        AND (component NOT IN ('fee', 'penalty') OR instalment_number IS NULL)
        AND (component <> 'principal' OR instalment_number IS NOT NULL)
        AND (NOT prepayment OR component = 'principal')
      )
    );

    -- The part of each guarantee a repayment released (the memo entry's lines), with the guarantee's
    -- cumulative release after it: ROUND_HALF_UP(guarantee × principal repaid / loan amount).
    CREATE TABLE repayment_guarantee_releases (
      fund_id         uuid NOT NULL,
      repayment_id    uuid NOT NULL,
      guarantee_id    uuid NOT NULL,
      amount          numeric(20, 2) NOT NULL CHECK (amount > 0),
      released_total  numeric(20, 2) NOT NULL CHECK (released_total >= amount),
      CONSTRAINT repayment_guarantee_releases_pkey PRIMARY KEY (fund_id, repayment_id, guarantee_id),
      CONSTRAINT repayment_guarantee_releases_repayment_fk
        FOREIGN KEY (fund_id, repayment_id) REFERENCES repayments (fund_id, id),
      CONSTRAINT repayment_guarantee_releases_guarantee_fk
        FOREIGN KEY (fund_id, guarantee_id) REFERENCES loan_guarantees (fund_id, id)
    );
    CREATE INDEX repayment_guarantee_releases_guarantee_idx ON repayment_guarantee_releases (fund_id, guarantee_id);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE IF EXISTS repayment_guarantee_releases, repayment_allocations, repayments;
    ALTER TABLE loans
      DROP CONSTRAINT IF EXISTS loans_repaid_on,
      DROP COLUMN IF EXISTS repaid_on;
  `);
}
