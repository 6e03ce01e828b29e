import type { Knex } from 'knex';
// knex treats every "?" in raw SQL as a binding, even with no bindings: the SQL below avoids "?".

/**
 * Bank loans guaranteed by members (docs/adr/0017-bank-loans.md): a loan whose lender is a bank,
 * registered by the fund because members guarantee it. The loan row carries the bank's contract
 * (bank, contract number, the bank's annual rate, the contract's start and maturity); the fund
 * pays nothing out, so a bank loan never has a service fee. A bank loan's interest is the bank's:
 * like a peer loan's it is tracked on the schedule only, so unpaid scheduled interest of an ended
 * period makes an instalment overdue without any interest receivable (`loan_interest_past_due`).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE loans
      DROP CONSTRAINT loans_lender_check,
      ADD CONSTRAINT loans_lender_check CHECK (lender IN ('pool', 'peer', 'bank')),
      ADD COLUMN bank_name            text CHECK (length(bank_name) BETWEEN 1 AND 200),
      ADD COLUMN bank_contract_number text CHECK (length(bank_contract_number) BETWEEN 1 AND 100),
      -- The bank's contract rate per year as a fraction ("0.0435" is 4.35 %), as the policy's rates.
      ADD COLUMN bank_rate_annual     numeric(10, 6) CHECK (bank_rate_annual >= 0 AND bank_rate_annual <= 1),
      ADD COLUMN bank_start_on        date,
      ADD COLUMN bank_maturity_on     date,
      -- A bank loan has its whole contract; no other loan has any of it.
      ADD CONSTRAINT loans_bank_terms_iff_bank CHECK (
        (lender = 'bank') = (bank_name IS NOT NULL)
        AND (lender = 'bank') = (bank_contract_number IS NOT NULL)
        AND (lender = 'bank') = (bank_rate_annual IS NOT NULL)
        AND (lender = 'bank') = (bank_start_on IS NOT NULL)
        AND (lender = 'bank') = (bank_maturity_on IS NOT NULL)
        AND (bank_maturity_on IS NULL OR bank_maturity_on > bank_start_on)
      ),
      -- The bank lends its own money: the fund charges no service fee and its schedule runs on the
      -- bank's rate, from a drawdown on or after the contract's start.
      ADD CONSTRAINT loans_bank_drawdown CHECK (
        lender <> 'bank' OR disbursed_on IS NULL
        OR (service_fee = 0 AND rate_annual = bank_rate_annual AND disbursed_on >= bank_start_on)
      );
    -- A bank contract is registered once per fund while its application or loan stands.
    CREATE UNIQUE INDEX loans_bank_contract_key ON loans (fund_id, bank_name, bank_contract_number)
      WHERE lender = 'bank' AND status NOT IN ('withdrawn', 'rejected', 'cancelled');
    -- The loan list's lender filter.
    CREATE INDEX loans_lender_idx ON loans (fund_id, lender, number DESC) WHERE lender <> 'pool';

    CREATE OR REPLACE FUNCTION loan_interest_past_due(fund uuid, loan uuid, lender text, d date)
      RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE
      AS $$
        SELECT lender IN ('peer', 'bank')
            OR coalesce((SELECT b.balance FROM accounts a JOIN account_balances b ON b.account_id = a.id
                          WHERE a.fund_id = fund AND a.code = '1202:' || loan::text), 0)
             > coalesce((SELECT st.interest_period_accrued FROM loan_accrual_state st
                          WHERE st.fund_id = fund AND st.loan_id = loan AND st.interest_period_due_on >= d), 0)
      $$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION loan_interest_past_due(fund uuid, loan uuid, lender text, d date)
      RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE
      AS $$
        SELECT lender = 'peer'
            OR coalesce((SELECT b.balance FROM accounts a JOIN account_balances b ON b.account_id = a.id
                          WHERE a.fund_id = fund AND a.code = '1202:' || loan::text), 0)
             > coalesce((SELECT st.interest_period_accrued FROM loan_accrual_state st
                          WHERE st.fund_id = fund AND st.loan_id = loan AND st.interest_period_due_on >= d), 0)
      $$;
    DROP INDEX IF EXISTS loans_lender_idx;
    DROP INDEX IF EXISTS loans_bank_contract_key;
    ALTER TABLE loans
      DROP CONSTRAINT IF EXISTS loans_bank_drawdown,
      DROP CONSTRAINT IF EXISTS loans_bank_terms_iff_bank,
      DROP COLUMN IF EXISTS bank_maturity_on,
      DROP COLUMN IF EXISTS bank_start_on,
      DROP COLUMN IF EXISTS bank_rate_annual,
      DROP COLUMN IF EXISTS bank_contract_number,
      DROP COLUMN IF EXISTS bank_name,
      DROP CONSTRAINT loans_lender_check,
      ADD CONSTRAINT loans_lender_check CHECK (lender IN ('pool', 'peer'));
  `);
}
