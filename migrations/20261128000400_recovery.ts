import type { Knex } from 'knex';
// knex treats every "?" in raw SQL as a binding, even with no bindings: the SQL below avoids "?".

/**
 * Recovery of defaulted pool loans (docs/adr/0018-default-waterfall.md): one case per loan, the
 * committee's motions on it, the steps taken in order, the collateral realised, the guarantor
 * calls with their payments, and the money received after a write-off. Also the fund-level contra
 * of the subrogated claims memo (7402), created for the funds that exist already.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE recovery_cases (
      id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      fund_id            uuid NOT NULL REFERENCES funds (id),
      number             integer NOT NULL CHECK (number > 0),
      loan_id            uuid NOT NULL,
      borrower_member_id uuid NOT NULL,
      status             text NOT NULL DEFAULT 'open' CONSTRAINT recovery_cases_status_check
                           CHECK (status IN ('open', 'closed')),
      opened_on          date NOT NULL,
      opened_by          text NOT NULL CONSTRAINT recovery_cases_opened_by_check
                           CHECK (opened_by IN ('daily_job', 'resolution')),
      closed_on          date,
      outcome            text CONSTRAINT recovery_cases_outcome_check
                           CHECK (outcome IN ('repaid', 'recovered', 'written_off')),
      created_at         timestamptz NOT NULL,
      updated_at         timestamptz NOT NULL,
      version            integer NOT NULL DEFAULT 1,
      CONSTRAINT recovery_cases_fund_id_id_key UNIQUE (fund_id, id),
      CONSTRAINT recovery_cases_loan_key UNIQUE (fund_id, loan_id),
      CONSTRAINT recovery_cases_number_key UNIQUE (fund_id, number),
      CONSTRAINT recovery_cases_loan_fkey FOREIGN KEY (fund_id, loan_id, borrower_member_id)
        REFERENCES loans (fund_id, id, borrower_member_id),
      CONSTRAINT recovery_cases_closed_iff CHECK ((status = 'closed') = (closed_on IS NOT NULL AND outcome IS NOT NULL))
    );

    CREATE TABLE recovery_actions (
      id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      fund_id          uuid NOT NULL REFERENCES funds (id),
      loan_id          uuid NOT NULL,
      -- Null for a declare_default not yet passed: the case is what it opens.
      case_id          uuid,
      action           text NOT NULL CONSTRAINT recovery_actions_action_check
                         CHECK (action IN ('declare_default', 'call_guarantees', 'capital_offset', 'write_off', 'close_case')),
      status           text NOT NULL DEFAULT 'proposed' CONSTRAINT recovery_actions_status_check
                         CHECK (status IN ('proposed', 'approved', 'rejected', 'ineligible', 'withdrawn')),
      reason           text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
      proposed_by      uuid REFERENCES users (id),
      proposed_at      timestamptz NOT NULL,
      decision_item_id uuid,
      resolution       text,
      decided_on       date,
      failures         jsonb,
      -- What a passed action did: figures and entry ids.
      result           jsonb,
      updated_at       timestamptz NOT NULL,
      CONSTRAINT recovery_actions_fund_id_id_key UNIQUE (fund_id, id),
      CONSTRAINT recovery_actions_loan_fkey FOREIGN KEY (fund_id, loan_id) REFERENCES loans (fund_id, id),
      CONSTRAINT recovery_actions_case_fkey FOREIGN KEY (fund_id, case_id) REFERENCES recovery_cases (fund_id, id),
      CONSTRAINT recovery_actions_item_fkey FOREIGN KEY (fund_id, decision_item_id)
        REFERENCES committee_items (fund_id, id),
      CONSTRAINT recovery_actions_case_iff CHECK (action = 'declare_default' OR case_id IS NOT NULL),
      CONSTRAINT recovery_actions_decided_iff CHECK (
        (status IN ('approved', 'rejected', 'ineligible')) = (decision_item_id IS NOT NULL AND decided_on IS NOT NULL))
    );
    -- One motion of a loan waits for the committee at a time: each step depends on the one before.
    CREATE UNIQUE INDEX recovery_actions_proposed_key ON recovery_actions (fund_id, loan_id) WHERE status = 'proposed';
    CREATE INDEX recovery_actions_case_idx ON recovery_actions (fund_id, case_id);

    CREATE TABLE recovery_steps (
      id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      fund_id     uuid NOT NULL,
      case_id     uuid NOT NULL,
      seq         integer NOT NULL CHECK (seq > 0),
      kind        text NOT NULL CONSTRAINT recovery_steps_kind_check CHECK (kind IN (
                    'opened', 'collateral_realised', 'collateral_worthless', 'guarantees_called', 'guarantor_paid',
                    'guarantor_failed', 'capital_offset', 'written_off', 'recovery_received', 'closed')),
      taken_on    date NOT NULL,
      action_id   uuid,
      entry_ids   uuid[] NOT NULL DEFAULT '{}',
      details     jsonb NOT NULL,
      recorded_by uuid REFERENCES users (id),
      recorded_at timestamptz NOT NULL,
      CONSTRAINT recovery_steps_seq_key UNIQUE (fund_id, case_id, seq),
      CONSTRAINT recovery_steps_case_fkey FOREIGN KEY (fund_id, case_id) REFERENCES recovery_cases (fund_id, id),
      CONSTRAINT recovery_steps_action_fkey FOREIGN KEY (fund_id, action_id) REFERENCES recovery_actions (fund_id, id)
    );

    CREATE TABLE recovery_collateral (
      id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      fund_id        uuid NOT NULL,
      case_id        uuid NOT NULL,
      collateral_id  uuid NOT NULL,
      outcome        text NOT NULL CONSTRAINT recovery_collateral_outcome_check
                       CHECK (outcome IN ('realised', 'worthless')),
      taken_on       date NOT NULL,
      gross_proceeds numeric(20, 2) NOT NULL CHECK (gross_proceeds >= 0),
      costs          numeric(20, 2) NOT NULL CHECK (costs >= 0),
      net_proceeds   numeric(20, 2) NOT NULL CHECK (net_proceeds >= 0),
      reference      text,
      note           text NOT NULL,
      repayment_id   uuid,
      step_id        uuid NOT NULL REFERENCES recovery_steps (id),
      CONSTRAINT recovery_collateral_item_key UNIQUE (fund_id, collateral_id),
      CONSTRAINT recovery_collateral_case_fkey FOREIGN KEY (fund_id, case_id) REFERENCES recovery_cases (fund_id, id),
      CONSTRAINT recovery_collateral_item_fkey FOREIGN KEY (fund_id, collateral_id)
        REFERENCES loan_collateral (fund_id, id),
      CONSTRAINT recovery_collateral_net CHECK (net_proceeds = gross_proceeds - costs),
      CONSTRAINT recovery_collateral_worthless CHECK (outcome = 'realised' OR gross_proceeds = 0)
    );

    CREATE TABLE recovery_calls (
      id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      fund_id             uuid NOT NULL,
      case_id             uuid NOT NULL,
      action_id           uuid NOT NULL,
      round               integer NOT NULL CHECK (round > 0),
      guarantee_id        uuid NOT NULL,
      guarantor_member_id uuid NOT NULL,
      guarantee_type      text NOT NULL CHECK (guarantee_type IN ('joint_and_several', 'general')),
      -- What the guarantee stood behind when called, and what was called of it.
      standing            numeric(20, 2) NOT NULL CHECK (standing > 0),
      amount              numeric(20, 2) NOT NULL CHECK (amount > 0 AND amount <= standing),
      paid                numeric(20, 2) NOT NULL DEFAULT 0 CHECK (paid >= 0 AND paid <= amount),
      -- What a failure gave back to the loan: the call less what was paid.
      cancelled           numeric(20, 2) NOT NULL DEFAULT 0 CHECK (cancelled >= 0),
      status              text NOT NULL DEFAULT 'called' CONSTRAINT recovery_calls_status_check
                            CHECK (status IN ('called', 'paid', 'failed')),
      called_on           date NOT NULL,
      due_on              date NOT NULL CHECK (due_on >= called_on),
      failed_on           date,
      failure_reason      text,
      -- The receivables a failure gave back, by account code (rule W-restore).
      restored            jsonb,
      call_entry_id       uuid NOT NULL,
      failure_entry_id    uuid,
      CONSTRAINT recovery_calls_fund_id_id_key UNIQUE (fund_id, id),
      CONSTRAINT recovery_calls_round_key UNIQUE (fund_id, case_id, round, guarantee_id),
      CONSTRAINT recovery_calls_case_fkey FOREIGN KEY (fund_id, case_id) REFERENCES recovery_cases (fund_id, id),
      CONSTRAINT recovery_calls_action_fkey FOREIGN KEY (fund_id, action_id) REFERENCES recovery_actions (fund_id, id),
      CONSTRAINT recovery_calls_guarantee_fkey FOREIGN KEY (fund_id, guarantee_id)
        REFERENCES loan_guarantees (fund_id, id),
      CONSTRAINT recovery_calls_settled CHECK (
        (status = 'called' AND paid < amount AND cancelled = 0 AND failed_on IS NULL)
        OR (status = 'paid' AND paid = amount AND cancelled = 0 AND failed_on IS NULL)
        OR (status = 'failed' AND cancelled = amount - paid AND cancelled > 0 AND failed_on IS NOT NULL))
    );

    CREATE TABLE recovery_call_payments (
      id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      fund_id        uuid NOT NULL,
      call_id        uuid NOT NULL,
      amount         numeric(20, 2) NOT NULL CHECK (amount > 0),
      received_on    date NOT NULL,
      reference      text NOT NULL,
      entry_id       uuid NOT NULL,
      memo_entry_id  uuid NOT NULL,
      step_id        uuid NOT NULL REFERENCES recovery_steps (id),
      CONSTRAINT recovery_call_payments_call_fkey FOREIGN KEY (fund_id, call_id) REFERENCES recovery_calls (fund_id, id),
      CONSTRAINT recovery_call_payments_reference_key UNIQUE (fund_id, reference)
    );

    CREATE TABLE recovery_receipts (
      id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      fund_id     uuid NOT NULL,
      case_id     uuid NOT NULL,
      amount      numeric(20, 2) NOT NULL CHECK (amount > 0),
      received_on date NOT NULL,
      reference   text NOT NULL,
      payer       text NOT NULL,
      entry_id    uuid NOT NULL,
      step_id     uuid NOT NULL REFERENCES recovery_steps (id),
      CONSTRAINT recovery_receipts_case_fkey FOREIGN KEY (fund_id, case_id) REFERENCES recovery_cases (fund_id, id),
      CONSTRAINT recovery_receipts_reference_key UNIQUE (fund_id, reference)
    );

    -- The fund-level contra of the subrogated claims memo, for every fund created before it.
    WITH created AS (
      INSERT INTO accounts (fund_id, code, name, type, book, normal_side, currency, member_id, loan_id, floor)
      SELECT f.id, '7402', 'Subrogated claims (contra)', 'liability', 'memo', 'credit', f.currency, NULL, NULL, 0
        FROM funds f
      ON CONFLICT (fund_id, code) DO NOTHING
      RETURNING id, fund_id, normal_side, floor
    )
    INSERT INTO account_balances (account_id, fund_id, normal_side, floor)
    SELECT id, fund_id, normal_side, floor FROM created;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE IF EXISTS recovery_receipts;
    DROP TABLE IF EXISTS recovery_call_payments;
    DROP TABLE IF EXISTS recovery_calls;
    DROP TABLE IF EXISTS recovery_collateral;
    DROP TABLE IF EXISTS recovery_steps;
    DROP TABLE IF EXISTS recovery_actions;
    DROP TABLE IF EXISTS recovery_cases;
  `);
}
