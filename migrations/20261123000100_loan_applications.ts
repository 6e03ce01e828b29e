import type { Knex } from 'knex';
// knex treats every "?" in raw SQL as a binding, even with no bindings: the SQL below avoids "?".

/**
 * Loan applications: one `loans` row per loan whose status runs the whole lifecycle
 * (ARCHITECTURE.md, "Loan states"), the guarantees members pledge for it and the collateral
 * pledged against it. Committee decisions, holds, disbursement and schedules add their own tables
 * and columns later; the status CHECK already lists every state they will set.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE loans (
      id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      fund_id                  uuid NOT NULL REFERENCES funds (id),
      -- Numbered per fund in the order applications are drafted: 1, 2, 3 …
      number                   integer NOT NULL CHECK (number >= 1),
      borrower_member_id       uuid NOT NULL,
      lender                   text NOT NULL CHECK (lender IN ('pool', 'peer')),
      peer_lender_member_id    uuid,
      -- The peer lender's agreement: pending until it decides; null for pool loans.
      peer_lender_consent      text CHECK (peer_lender_consent IN ('pending', 'accepted', 'declined')),
      peer_lender_decided_by   uuid REFERENCES users (id),
      peer_lender_decided_at   timestamptz,
      peer_lender_decline_reason text CHECK (length(peer_lender_decline_reason) BETWEEN 1 AND 500),
      amount                   numeric(20, 2) NOT NULL CHECK (amount > 0),
      purpose                  text NOT NULL CHECK (length(purpose) BETWEEN 1 AND 1000),
      term_days                integer NOT NULL CHECK (term_days BETWEEN 1 AND 3650),
      repayment_method         text NOT NULL CHECK (repayment_method IN ('bullet', 'equal_installment', 'equal_principal')),
      emergency                boolean NOT NULL DEFAULT false,
      wanted_on                date NOT NULL,
      status                   text NOT NULL DEFAULT 'draft' CHECK (status IN (
                                 'draft', 'submitted', 'under_review', 'approved', 'rejected', 'active',
                                 'overdue', 'repaid', 'defaulted', 'written_off', 'withdrawn', 'cancelled')),
      -- Extended (展期): the schedule was regenerated after an approved extension.
      restructured             boolean NOT NULL DEFAULT false,
      -- The policy version the loan keeps, fixed when it is approved.
      policy_version           integer,
      submitted_at             timestamptz,
      withdrawn_at             timestamptz,
      withdrawn_by             uuid REFERENCES users (id),
      withdrawal_reason        text CHECK (length(withdrawal_reason) BETWEEN 1 AND 500),
      created_by               uuid REFERENCES users (id),
      created_at               timestamptz NOT NULL DEFAULT now(),
      updated_at               timestamptz NOT NULL DEFAULT now(),
      version                  integer NOT NULL DEFAULT 1 CHECK (version >= 1),
      CONSTRAINT loans_fund_id_id_key UNIQUE (fund_id, id),
      -- Lets guarantees carry the borrower, so that "a guarantor is not the borrower" is a CHECK.
      CONSTRAINT loans_fund_id_id_borrower_key UNIQUE (fund_id, id, borrower_member_id),
      CONSTRAINT loans_number_key UNIQUE (fund_id, number),
      CONSTRAINT loans_borrower_fk FOREIGN KEY (fund_id, borrower_member_id) REFERENCES members (fund_id, id),
      CONSTRAINT loans_peer_lender_fk FOREIGN KEY (fund_id, peer_lender_member_id) REFERENCES members (fund_id, id),
      CONSTRAINT loans_policy_version_fk FOREIGN KEY (fund_id, policy_version)
        REFERENCES fund_policy_versions (fund_id, version),
      -- A peer loan names its lender and tracks its agreement; a pool loan has neither.
      CONSTRAINT loans_peer_lender_iff_peer CHECK (
        (lender = 'peer') = (peer_lender_member_id IS NOT NULL)
        AND (lender = 'peer') = (peer_lender_consent IS NOT NULL)
      ),
      CONSTRAINT loans_peer_lender_not_borrower CHECK (peer_lender_member_id <> borrower_member_id),
      CONSTRAINT loans_peer_lender_decided CHECK (
        (peer_lender_consent IN ('accepted', 'declined')) = (peer_lender_decided_at IS NOT NULL)
        AND (peer_lender_decided_at IS NULL) = (peer_lender_decided_by IS NULL)
        AND (peer_lender_decline_reason IS NULL OR peer_lender_consent = 'declined')
      ),
      -- A draft has not been submitted; anything past submission has (a withdrawal may come before).
      CONSTRAINT loans_submitted_at CHECK (
        (status <> 'draft' OR submitted_at IS NULL)
        AND (status IN ('draft', 'withdrawn') OR submitted_at IS NOT NULL)
      ),
      CONSTRAINT loans_withdrawn CHECK (
        (status = 'withdrawn') = (withdrawn_at IS NOT NULL)
        AND (withdrawn_at IS NULL) = (withdrawn_by IS NULL)
        AND (withdrawal_reason IS NULL OR withdrawn_at IS NOT NULL)
      ),
      -- Approved loans and everything after keep the policy version they were approved under.
      CONSTRAINT loans_policy_version_when_approved CHECK (
        status IN ('draft', 'submitted', 'under_review', 'rejected', 'withdrawn') OR policy_version IS NOT NULL
      )
    );
    -- Lists newest first, by status; "loans of a member" (as borrower and as peer lender).
    CREATE INDEX loans_status_idx ON loans (fund_id, status, number DESC);
    CREATE INDEX loans_borrower_idx ON loans (fund_id, borrower_member_id, number DESC);
    CREATE INDEX loans_peer_lender_idx ON loans (fund_id, peer_lender_member_id, number DESC)
      WHERE peer_lender_member_id IS NOT NULL;

    -- Guarantees: a member pledges to cover up to an amount of a loan. Proposed by the applicant,
    -- accepted or declined by the guarantor (a decline stays on record), active from disbursement,
    -- released as the loan is repaid; withdrawn when the applicant drops it or withdraws the loan.
    CREATE TABLE loan_guarantees (
      id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      fund_id             uuid NOT NULL,
      loan_id             uuid NOT NULL,
      borrower_member_id  uuid NOT NULL,
      guarantor_member_id uuid NOT NULL,
      amount              numeric(20, 2) NOT NULL CHECK (amount > 0),
      type                text NOT NULL CHECK (type IN ('joint_and_several', 'general')),
      status              text NOT NULL DEFAULT 'proposed'
                            CHECK (status IN ('proposed', 'accepted', 'declined', 'active', 'released', 'withdrawn')),
      decided_by          uuid REFERENCES users (id),
      decided_at          timestamptz,
      decline_reason      text CHECK (length(decline_reason) BETWEEN 1 AND 500),
      created_at          timestamptz NOT NULL DEFAULT now(),
      updated_at          timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT loan_guarantees_fund_id_id_key UNIQUE (fund_id, id),
      CONSTRAINT loan_guarantees_one_per_guarantor UNIQUE (fund_id, loan_id, guarantor_member_id),
      -- ON UPDATE CASCADE: the borrower copy follows the loan's (it never changes today).
      CONSTRAINT loan_guarantees_loan_fk FOREIGN KEY (fund_id, loan_id, borrower_member_id)
        REFERENCES loans (fund_id, id, borrower_member_id) ON UPDATE CASCADE,
      CONSTRAINT loan_guarantees_guarantor_fk FOREIGN KEY (fund_id, guarantor_member_id) REFERENCES members (fund_id, id),
      CONSTRAINT loan_guarantees_not_borrower CHECK (guarantor_member_id <> borrower_member_id),
      -- A decision names who took it and when; a proposal has none; only a decline has a reason.
      CONSTRAINT loan_guarantees_decided CHECK (
        (status = 'proposed' AND decided_at IS NULL)
        OR (status IN ('accepted', 'declined', 'active', 'released') AND decided_at IS NOT NULL)
        OR status = 'withdrawn'
      ),
      CONSTRAINT loan_guarantees_decided_by CHECK ((decided_at IS NULL) = (decided_by IS NULL)),
      CONSTRAINT loan_guarantees_decline_reason CHECK (decline_reason IS NULL OR status = 'declined')
    );
    CREATE INDEX loan_guarantees_loan_idx ON loan_guarantees (fund_id, loan_id);
    -- "Guaranteed by a member": its commitments (capacity) and the loans it may see.
    CREATE INDEX loan_guarantees_guarantor_idx ON loan_guarantees (fund_id, guarantor_member_id, status);

    -- Collateral pledged or mortgaged against a loan: what counts towards coverage is its
    -- valuation less the haircut.
    CREATE TABLE loan_collateral (
      id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      fund_id      uuid NOT NULL,
      loan_id      uuid NOT NULL,
      position     integer NOT NULL CHECK (position >= 1),
      description  text NOT NULL CHECK (length(description) BETWEEN 1 AND 500),
      kind         text NOT NULL CHECK (kind IN (
                     'real_estate', 'equipment', 'vehicle', 'inventory', 'receivables', 'deposit', 'equity', 'other')),
      valuation    numeric(20, 2) NOT NULL CHECK (valuation > 0),
      valued_on    date NOT NULL,
      haircut_pct  numeric(5, 2) NOT NULL CHECK (haircut_pct >= 0 AND haircut_pct <= 100),
      created_at   timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT loan_collateral_fund_id_id_key UNIQUE (fund_id, id),
      CONSTRAINT loan_collateral_position_key UNIQUE (fund_id, loan_id, position),
      CONSTRAINT loan_collateral_loan_fk FOREIGN KEY (fund_id, loan_id) REFERENCES loans (fund_id, id)
    );

    -- Loan sub-accounts (1201:<loan> …) belong to a loan of the same fund.
    ALTER TABLE accounts
      ADD CONSTRAINT accounts_loan_fk FOREIGN KEY (fund_id, loan_id) REFERENCES loans (fund_id, id);
    CREATE INDEX accounts_loan_idx ON accounts (fund_id, loan_id) WHERE loan_id IS NOT NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX IF EXISTS accounts_loan_idx;
    ALTER TABLE accounts DROP CONSTRAINT IF EXISTS accounts_loan_fk;
    DROP TABLE IF EXISTS loan_collateral, loan_guarantees, loans;
  `);
}
