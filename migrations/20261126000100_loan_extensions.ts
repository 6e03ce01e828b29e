import type { Knex } from 'knex';
// knex treats every "?" in raw SQL as a binding, even with no bindings: the SQL below avoids "?".

/**
 * Loan extensions (展期, docs/adr/0013-loan-extensions.md): the borrower's request for a later
 * maturity, the written consent of each active guarantee (PRC Civil Code art. 695), and what an
 * approval did to the loan (the schedule versions, the amounts carried into the new schedule, the
 * classification floor of the observation period). The committee's agenda items gain a third
 * kind, `extension`, naming the extension they decide.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE loan_extensions (
      id                         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      fund_id                    uuid NOT NULL,
      loan_id                    uuid NOT NULL,
      -- 1, 2, 3 … per loan in the order requested.
      number                     integer NOT NULL CHECK (number >= 1),
      status                     text NOT NULL DEFAULT 'submitted'
                                   CHECK (status IN ('submitted', 'under_review', 'approved', 'rejected', 'withdrawn')),
      requested_maturity_date    date NOT NULL,
      repayment_method           text NOT NULL CHECK (repayment_method IN ('bullet', 'equal_installment', 'equal_principal')),
      reason                     text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
      -- The loan's terms when the extension was asked for.
      maturity_date_before       date NOT NULL,
      repayment_method_before    text NOT NULL
                                   CHECK (repayment_method_before IN ('bullet', 'equal_installment', 'equal_principal')),
      requested_by               uuid NOT NULL REFERENCES users (id),
      requested_at               timestamptz NOT NULL,
      withdrawn_by               uuid REFERENCES users (id),
      withdrawn_at               timestamptz,
      withdrawal_reason          text CHECK (length(withdrawal_reason) BETWEEN 1 AND 500),
      -- The committee's decision: its agenda item, when, and for a rejection why.
      decision_item_id           uuid,
      decided_at                 timestamptz,
      rejected_reason            text CHECK (length(rejected_reason) BETWEEN 1 AND 2000),
      -- What the approval did: the new schedule from effective_on, and what it carries.
      effective_on               date,
      schedule_version_before    integer CHECK (schedule_version_before >= 1),
      schedule_version_after     integer,
      principal_rescheduled      numeric(20, 2) CHECK (principal_rescheduled > 0),
      past_due_principal         numeric(20, 2) CHECK (past_due_principal >= 0),
      interest_carried           numeric(20, 2) CHECK (interest_carried >= 0),
      penalty_outstanding        numeric(20, 2) CHECK (penalty_outstanding >= 0),
      fee_outstanding            numeric(20, 2) CHECK (fee_outstanding >= 0),
      loan_status_before         text CHECK (loan_status_before IN ('active', 'overdue', 'defaulted')),
      classification_before      text
                                   CHECK (classification_before IN ('normal', 'special_mention', 'substandard', 'doubtful', 'loss')),
      -- The loan is classified at least this until observation_ends_on (restructured asset).
      classification_floor       text
                                   CHECK (classification_floor IN ('substandard', 'doubtful', 'loss')),
      observation_ends_on        date,
      created_at                 timestamptz NOT NULL DEFAULT now(),
      updated_at                 timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT loan_extensions_fund_id_id_key UNIQUE (fund_id, id),
      CONSTRAINT loan_extensions_number_key UNIQUE (fund_id, loan_id, number),
      CONSTRAINT loan_extensions_loan_fk FOREIGN KEY (fund_id, loan_id) REFERENCES loans (fund_id, id),
      CONSTRAINT loan_extensions_later CHECK (requested_maturity_date > maturity_date_before),
      CONSTRAINT loan_extensions_withdrawn CHECK (
        (status = 'withdrawn') = (withdrawn_at IS NOT NULL)
        AND (withdrawn_at IS NULL) = (withdrawn_by IS NULL)
        AND (withdrawal_reason IS NULL OR withdrawn_at IS NOT NULL)
      ),
      CONSTRAINT loan_extensions_decided CHECK (
        (status IN ('approved', 'rejected')) = (decided_at IS NOT NULL)
        AND (decided_at IS NULL) = (decision_item_id IS NULL)
        AND (rejected_reason IS NULL OR status = 'rejected')
      ),
      -- An approval records every figure of the restructuring; nothing else records any.
      CONSTRAINT loan_extensions_approved CHECK (
        (status = 'approved') = (effective_on IS NOT NULL)
        AND (effective_on IS NULL) = (schedule_version_before IS NULL)
        AND (effective_on IS NULL) = (schedule_version_after IS NULL)
        AND (effective_on IS NULL) = (principal_rescheduled IS NULL)
        AND (effective_on IS NULL) = (past_due_principal IS NULL)
        AND (effective_on IS NULL) = (interest_carried IS NULL)
        AND (effective_on IS NULL) = (penalty_outstanding IS NULL)
        AND (effective_on IS NULL) = (fee_outstanding IS NULL)
        AND (effective_on IS NULL) = (loan_status_before IS NULL)
        AND (effective_on IS NULL) = (classification_floor IS NULL)
        AND (effective_on IS NULL) = (observation_ends_on IS NULL)
        AND (schedule_version_after IS NULL OR schedule_version_after = schedule_version_before + 1)
        AND (effective_on IS NULL OR requested_maturity_date > effective_on)
        AND (observation_ends_on IS NULL OR observation_ends_on > effective_on)
      )
    );
    -- One extension in progress per loan.
    CREATE UNIQUE INDEX loan_extensions_one_open ON loan_extensions (fund_id, loan_id)
      WHERE status IN ('submitted', 'under_review');
    -- The observation periods in force on a day (the daily job's classification floor).
    CREATE INDEX loan_extensions_observation_idx ON loan_extensions (fund_id, loan_id, observation_ends_on)
      WHERE status = 'approved';

    -- Art. 695: each guarantee active when the extension is asked for must agree to it in writing.
    CREATE TABLE loan_extension_consents (
      fund_id              uuid NOT NULL,
      extension_id         uuid NOT NULL,
      guarantee_id         uuid NOT NULL,
      guarantor_member_id  uuid NOT NULL,
      status               text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'declined')),
      decided_by           uuid REFERENCES users (id),
      decided_at           timestamptz,
      decline_reason       text CHECK (length(decline_reason) BETWEEN 1 AND 500),
      CONSTRAINT loan_extension_consents_pkey PRIMARY KEY (fund_id, extension_id, guarantee_id),
      CONSTRAINT loan_extension_consents_extension_fk
        FOREIGN KEY (fund_id, extension_id) REFERENCES loan_extensions (fund_id, id),
      CONSTRAINT loan_extension_consents_guarantee_fk
        FOREIGN KEY (fund_id, guarantee_id) REFERENCES loan_guarantees (fund_id, id),
      CONSTRAINT loan_extension_consents_guarantor_fk
        FOREIGN KEY (fund_id, guarantor_member_id) REFERENCES members (fund_id, id),
      CONSTRAINT loan_extension_consents_decided CHECK (
        (status = 'pending') = (decided_at IS NULL)
        AND (decided_at IS NULL) = (decided_by IS NULL)
        AND (decline_reason IS NULL OR status = 'declined')
      )
    );

    -- The committee decides extensions as agenda items of their own kind.
    ALTER TABLE committee_items
      ADD COLUMN extension_id uuid,
      ADD CONSTRAINT committee_items_extension_fk
        FOREIGN KEY (fund_id, extension_id) REFERENCES loan_extensions (fund_id, id),
      ADD CONSTRAINT committee_items_extension_iff_kind CHECK ((kind = 'extension') = (extension_id IS NOT NULL)),
      DROP CONSTRAINT committee_items_kind_check,
      ADD CONSTRAINT committee_items_kind_check CHECK (kind IN ('application', 'ratification', 'extension')),
      DROP CONSTRAINT committee_items_kind_status,
      ADD CONSTRAINT committee_items_kind_status CHECK (
        (kind IN ('application', 'extension')
          AND status IN ('open', 'approved', 'rejected', 'ineligible', 'no_quorum', 'withdrawn'))
        OR (kind = 'ratification' AND status IN ('open', 'no_quorum', 'ratified', 'ratification_failed'))
      );
    -- A loan is on at most one open application or ratification item, and an extension on at most
    -- one open item: a loan waiting for ratification may have its extension on the same agenda.
    DROP INDEX committee_items_open_loan_key;
    CREATE UNIQUE INDEX committee_items_open_loan_key ON committee_items (fund_id, loan_id)
      WHERE status = 'open' AND kind <> 'extension';
    CREATE UNIQUE INDEX committee_items_open_extension_key ON committee_items (fund_id, extension_id)
      WHERE status = 'open';

    ALTER TABLE loan_extensions
      ADD CONSTRAINT loan_extensions_decision_item_fk
        FOREIGN KEY (fund_id, decision_item_id) REFERENCES committee_items (fund_id, id);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE loan_extensions DROP CONSTRAINT IF EXISTS loan_extensions_decision_item_fk;
    DELETE FROM committee_votes WHERE item_id IN (SELECT id FROM committee_items WHERE kind = 'extension');
    DELETE FROM committee_items WHERE kind = 'extension';
    DROP INDEX IF EXISTS committee_items_open_extension_key;
    DROP INDEX IF EXISTS committee_items_open_loan_key;
    CREATE UNIQUE INDEX committee_items_open_loan_key ON committee_items (fund_id, loan_id) WHERE status = 'open';
    ALTER TABLE committee_items
      DROP CONSTRAINT IF EXISTS committee_items_kind_status,
      ADD CONSTRAINT committee_items_kind_status CHECK (
        (kind = 'application' AND status IN ('open', 'approved', 'rejected', 'ineligible', 'no_quorum', 'withdrawn'))
        OR (kind = 'ratification' AND status IN ('open', 'no_quorum', 'ratified', 'ratification_failed'))
      ),
      DROP CONSTRAINT IF EXISTS committee_items_kind_check,
      ADD CONSTRAINT committee_items_kind_check CHECK (kind IN ('application', 'ratification')),
      DROP CONSTRAINT IF EXISTS committee_items_extension_iff_kind,
      DROP CONSTRAINT IF EXISTS committee_items_extension_fk,
      DROP COLUMN IF EXISTS extension_id;
    DROP TABLE IF EXISTS loan_extension_consents, loan_extensions;
  `);
}
