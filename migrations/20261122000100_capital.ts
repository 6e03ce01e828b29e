import type { Knex } from 'knex';
// knex treats every "?" in raw SQL as a binding, even with no bindings: the SQL below avoids "?".

/**
 * Member enterprises and the capital pool: versioned fund policy, the full member record,
 * contributions (paid-in capital) matched to capital calls, exits with their refunds, and closed
 * periods, which the database itself refuses to post into.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- Funds: the alliance's name, the day the fund started, and the last day of its closed periods.
    ALTER TABLE funds
      ADD COLUMN alliance_name  text CHECK (length(alliance_name) BETWEEN 1 AND 200),
      ADD COLUMN established_on date,
      ADD COLUMN closed_through date;
    UPDATE funds SET established_on = (created_at AT TIME ZONE timezone)::date;
    ALTER TABLE funds ALTER COLUMN established_on SET NOT NULL;

    -- Policy versions: a change is a new version from its effective date; none is ever edited.
    -- The version in force on a day is the one with the latest effective date on or before it
    -- (the higher version number when two share a date).
    CREATE TABLE fund_policy_versions (
      fund_id        uuid NOT NULL REFERENCES funds (id),
      version        integer NOT NULL CHECK (version >= 1),
      effective_date date NOT NULL,
      policy         jsonb NOT NULL CHECK (jsonb_typeof(policy) = 'object'),
      reason         text CHECK (length(reason) <= 500),
      created_by     uuid,
      created_at     timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (fund_id, version)
    );
    CREATE INDEX fund_policy_versions_in_force_idx
      ON fund_policy_versions (fund_id, effective_date DESC, version DESC);
    INSERT INTO fund_policy_versions (fund_id, version, effective_date, policy, created_by, created_at)
    SELECT id, 1, established_on, policy, created_by, created_at FROM funds;
    ALTER TABLE funds DROP COLUMN policy;

    -- Members: the enterprise's identity (unified social credit code, GB 32100-2015), its place in
    -- the alliance, its status and its subscribed capital (认缴). Rows from before this migration
    -- have no credit code; the API requires one for every new member.
    ALTER TABLE members
      ADD COLUMN name_en              text CHECK (length(name_en) BETWEEN 1 AND 200),
      ADD COLUMN credit_code          text CHECK (credit_code ~ '^[0-9A-HJ-NP-RTUWXY]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}$'),
      ADD COLUMN legal_representative text CHECK (length(legal_representative) BETWEEN 1 AND 100),
      ADD COLUMN contact_name         text CHECK (length(contact_name) BETWEEN 1 AND 100),
      ADD COLUMN contact_phone        text CHECK (length(contact_phone) BETWEEN 1 AND 40),
      ADD COLUMN contact_email        text CHECK (length(contact_email) BETWEEN 3 AND 254),
      ADD COLUMN industry             text CHECK (length(industry) BETWEEN 1 AND 100),
      ADD COLUMN alliance_role        text NOT NULL DEFAULT 'member' CHECK (alliance_role IN ('lead', 'member')),
      ADD COLUMN status               text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'exited')),
      ADD COLUMN status_reason        text CHECK (length(status_reason) <= 500),
      ADD COLUMN status_changed_at    timestamptz,
      ADD COLUMN related_group        text CHECK (length(related_group) BETWEEN 1 AND 100),
      ADD COLUMN joined_on            date,
      ADD COLUMN subscribed_amount    numeric(20, 2) NOT NULL DEFAULT 0 CHECK (subscribed_amount >= 0),
      ADD COLUMN updated_at           timestamptz NOT NULL DEFAULT now(),
      ADD COLUMN version              integer NOT NULL DEFAULT 1 CHECK (version >= 1);
    UPDATE members m SET joined_on = (m.created_at AT TIME ZONE f.timezone)::date FROM funds f WHERE f.id = m.fund_id;
    ALTER TABLE members ALTER COLUMN joined_on SET NOT NULL;
    CREATE UNIQUE INDEX members_credit_code_key ON members (fund_id, credit_code);
    -- "1+X": at most one lead enterprise per fund.
    CREATE UNIQUE INDEX members_one_lead_key ON members (fund_id) WHERE alliance_role = 'lead';
    CREATE INDEX members_related_group_idx ON members (fund_id, related_group) WHERE related_group IS NOT NULL;

    -- Capital calls: a percentage of every member's subscription, due on a date. Each member's due
    -- amount is fixed when the call is made (capital_call_items); what it paid is the sum of the
    -- contributions matched to it.
    CREATE TABLE capital_calls (
      id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      fund_id     uuid NOT NULL REFERENCES funds (id),
      number      integer NOT NULL CHECK (number >= 1),
      percent     numeric(7, 4) NOT NULL CHECK (percent > 0 AND percent <= 100),
      called_on   date NOT NULL,
      due_on      date NOT NULL,
      memo        text CHECK (length(memo) <= 500),
      created_by  uuid,
      created_at  timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT capital_calls_number_key UNIQUE (fund_id, number),
      CONSTRAINT capital_calls_fund_id_id_key UNIQUE (fund_id, id),
      CONSTRAINT capital_calls_due_after_call CHECK (due_on >= called_on)
    );

    CREATE TABLE capital_call_items (
      fund_id     uuid NOT NULL,
      call_id     uuid NOT NULL,
      member_id   uuid NOT NULL,
      due_amount  numeric(20, 2) NOT NULL CHECK (due_amount > 0),
      PRIMARY KEY (call_id, member_id),
      CONSTRAINT capital_call_items_call_fk FOREIGN KEY (fund_id, call_id) REFERENCES capital_calls (fund_id, id),
      CONSTRAINT capital_call_items_member_fk FOREIGN KEY (fund_id, member_id) REFERENCES members (fund_id, id)
    );
    CREATE INDEX capital_call_items_member_idx ON capital_call_items (fund_id, member_id);

    -- Paid-in capital (实缴): money received from a member, posted Dr pool cash / Cr member capital.
    -- A bank reference is in use by one contribution at a time (contribution_bank_references).
    CREATE TABLE contributions (
      id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      fund_id         uuid NOT NULL,
      member_id       uuid NOT NULL,
      amount          numeric(20, 2) NOT NULL CHECK (amount > 0),
      received_on     date NOT NULL,
      bank_reference  text NOT NULL CHECK (length(bank_reference) BETWEEN 1 AND 100),
      memo            text CHECK (length(memo) <= 500),
      entry_id        uuid NOT NULL REFERENCES journal_entries (id),
      created_by      uuid,
      created_at      timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT contributions_member_fk FOREIGN KEY (fund_id, member_id) REFERENCES members (fund_id, id),
      CONSTRAINT contributions_entry_key UNIQUE (entry_id)
    );
    CREATE INDEX contributions_member_idx ON contributions (fund_id, member_id, received_on);
    CREATE INDEX contributions_bank_reference_idx ON contributions (fund_id, bank_reference);

    -- The bank references in use: one contribution each. A reversed contribution gives its
    -- reference back, so the same transfer can be booked again correctly (right member, amount).
    CREATE TABLE contribution_bank_references (
      fund_id          uuid NOT NULL,
      bank_reference   text NOT NULL,
      contribution_id  uuid NOT NULL UNIQUE REFERENCES contributions (id),
      CONSTRAINT contributions_bank_reference_key PRIMARY KEY (fund_id, bank_reference)
    );

    -- A contribution booked by mistake is reversed, never edited: the reversing entry and why.
    CREATE TABLE contribution_reversals (
      contribution_id  uuid PRIMARY KEY REFERENCES contributions (id),
      fund_id          uuid NOT NULL,
      entry_id         uuid NOT NULL UNIQUE REFERENCES journal_entries (id),
      reversed_on      date NOT NULL,
      reason           text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
      created_by       uuid,
      created_at       timestamptz NOT NULL DEFAULT now()
    );

    -- How each contribution was matched to open calls, oldest due first.
    CREATE TABLE contribution_allocations (
      contribution_id uuid NOT NULL REFERENCES contributions (id),
      call_id         uuid NOT NULL,
      member_id       uuid NOT NULL,
      amount          numeric(20, 2) NOT NULL CHECK (amount > 0),
      PRIMARY KEY (contribution_id, call_id),
      CONSTRAINT contribution_allocations_item_fk FOREIGN KEY (call_id, member_id)
        REFERENCES capital_call_items (call_id, member_id)
    );
    CREATE INDEX contribution_allocations_item_idx ON contribution_allocations (call_id, member_id);

    -- What counts as paid against calls: the allocations of contributions not reversed.
    CREATE VIEW contribution_allocations_in_force AS
      SELECT al.*
        FROM contribution_allocations al
       WHERE NOT EXISTS (SELECT 1 FROM contribution_reversals r WHERE r.contribution_id = al.contribution_id);

    -- Exits: one per member. The refund is the member's capital after its share of the period's
    -- result to the exit date; it is owed at once (Dr capital / Cr refunds payable) and paid when
    -- the pool can pay it without going below its liquidity reserve.
    CREATE TABLE member_exits (
      id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      fund_id             uuid NOT NULL,
      member_id           uuid NOT NULL,
      requested_on        date NOT NULL,
      reason              text CHECK (length(reason) <= 500),
      status              text NOT NULL CHECK (status IN ('awaiting_liquidity', 'paid')),
      period_share        numeric(20, 2) NOT NULL DEFAULT 0,
      period_start        date,
      refund_amount       numeric(20, 2) NOT NULL CHECK (refund_amount >= 0),
      settlement_entry_id uuid REFERENCES journal_entries (id),
      payable_entry_id    uuid REFERENCES journal_entries (id),
      payout_entry_id     uuid REFERENCES journal_entries (id),
      paid_on             date,
      requested_by        uuid,
      created_at          timestamptz NOT NULL DEFAULT now(),
      updated_at          timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT member_exits_member_fk FOREIGN KEY (fund_id, member_id) REFERENCES members (fund_id, id),
      CONSTRAINT member_exits_one_per_member UNIQUE (fund_id, member_id),
      -- Paid means paid on a day, by a payout entry unless there was nothing to refund.
      CONSTRAINT member_exits_paid_has_payout CHECK (
        (status = 'paid') = (paid_on IS NOT NULL)
        AND (status <> 'paid' OR payout_entry_id IS NOT NULL OR refund_amount = 0)
      )
    );
    CREATE INDEX member_exits_waiting_idx ON member_exits (fund_id, created_at) WHERE status = 'awaiting_liquidity';

    -- Closed periods. A close allocates the period's net income to the members and stores the trial
    -- balance it left, with its SHA-256, which also goes into the audit chain.
    CREATE TABLE fund_periods (
      fund_id           uuid NOT NULL REFERENCES funds (id),
      period            text NOT NULL CHECK (period ~ '^[0-9]{4}(-(0[1-9]|1[0-2]|Q[1-4]|H[12])){0,1}$'),
      starts_on         date NOT NULL,
      ends_on           date NOT NULL,
      net_income        numeric(20, 2) NOT NULL,
      settled_at_exits  numeric(20, 2) NOT NULL DEFAULT 0,
      entry_id          uuid REFERENCES journal_entries (id),
      allocation        jsonb NOT NULL,
      snapshot          jsonb NOT NULL,
      snapshot_sha256   char(64) NOT NULL,
      closed_by         uuid,
      closed_at         timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (fund_id, period),
      CONSTRAINT fund_periods_dates CHECK (ends_on >= starts_on),
      CONSTRAINT fund_periods_no_overlap UNIQUE (fund_id, ends_on)
    );

    CREATE TRIGGER fund_policy_versions_append_only BEFORE UPDATE OR DELETE ON fund_policy_versions
      FOR EACH ROW EXECUTE FUNCTION huzhu_refuse_change();
    CREATE TRIGGER contributions_append_only BEFORE UPDATE OR DELETE ON contributions
      FOR EACH ROW EXECUTE FUNCTION huzhu_refuse_change();
    CREATE TRIGGER contribution_allocations_append_only BEFORE UPDATE OR DELETE ON contribution_allocations
      FOR EACH ROW EXECUTE FUNCTION huzhu_refuse_change();
    CREATE TRIGGER contribution_reversals_append_only BEFORE UPDATE OR DELETE ON contribution_reversals
      FOR EACH ROW EXECUTE FUNCTION huzhu_refuse_change();
    CREATE TRIGGER fund_periods_append_only BEFORE UPDATE OR DELETE ON fund_periods
      FOR EACH ROW EXECUTE FUNCTION huzhu_refuse_change();

    -- A closed period takes no more entries. Entries dated before today take a share lock on the
    -- fund's row, so a close (which updates closed_through under FOR UPDATE) waits for back-dated
    -- entries in flight, and back-dated entries arriving during a close wait for it and are then
    -- refused. Entries dated today skip the lock: a period can only be closed once it has ended,
    -- so today is never inside it.
    CREATE FUNCTION huzhu_refuse_closed_period() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      fund record;
    BEGIN
      SELECT closed_through, timezone INTO fund FROM funds WHERE id = NEW.fund_id;
      IF fund.closed_through IS NULL AND NEW.effective_date >= (now() AT TIME ZONE fund.timezone)::date THEN
        RETURN NEW;
      END IF;
      IF NEW.effective_date < (now() AT TIME ZONE fund.timezone)::date THEN
        SELECT closed_through INTO fund FROM funds WHERE id = NEW.fund_id FOR SHARE;
      END IF;
      IF NEW.effective_date <= fund.closed_through THEN
        RAISE EXCEPTION 'the period to % is closed: no entry may be dated %', fund.closed_through, NEW.effective_date
          USING ERRCODE = 'HZ002', CONSTRAINT = 'journal_entries_period_open';
      END IF;
      RETURN NEW;
    END $$;

    CREATE TRIGGER journal_entries_period_open BEFORE INSERT ON journal_entries
      FOR EACH ROW EXECUTE FUNCTION huzhu_refuse_closed_period();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER IF EXISTS journal_entries_period_open ON journal_entries;
    DROP FUNCTION IF EXISTS huzhu_refuse_closed_period();
    DROP VIEW IF EXISTS contribution_allocations_in_force;
    DROP TABLE IF EXISTS fund_periods, member_exits, contribution_reversals, contribution_bank_references,
      contribution_allocations, contributions,
      capital_call_items, capital_calls CASCADE;
    DROP INDEX IF EXISTS members_credit_code_key, members_one_lead_key, members_related_group_idx;
    ALTER TABLE members
      DROP COLUMN name_en, DROP COLUMN credit_code, DROP COLUMN legal_representative,
      DROP COLUMN contact_name, DROP COLUMN contact_phone, DROP COLUMN contact_email, DROP COLUMN industry,
      DROP COLUMN alliance_role, DROP COLUMN status, DROP COLUMN status_reason, DROP COLUMN status_changed_at,
      DROP COLUMN related_group, DROP COLUMN joined_on, DROP COLUMN subscribed_amount, DROP COLUMN updated_at,
      DROP COLUMN version;
    ALTER TABLE funds ADD COLUMN policy jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(policy) = 'object');
    UPDATE funds f SET policy = v.policy
      FROM fund_policy_versions v
     WHERE v.fund_id = f.id
       AND v.version = (SELECT max(version) FROM fund_policy_versions w WHERE w.fund_id = f.id);
    DROP TABLE fund_policy_versions;
    ALTER TABLE funds DROP COLUMN alliance_name, DROP COLUMN established_on, DROP COLUMN closed_through;
  `);
}
