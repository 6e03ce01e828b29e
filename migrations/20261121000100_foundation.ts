import type { Knex } from 'knex';
// knex treats every "?" in raw SQL as a binding, even with no bindings: the SQL below avoids "?".

/**
 * Funds, users, the double-entry ledger, holds, idempotency records and the hash-chained audit log.
 * Every table carries `fund_id` (NULL only for platform-level rows: unscoped users, the system audit
 * chain) and every foreign key inside a fund includes it, so a row can never point across funds.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE funds (
      id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      currency    char(3) NOT NULL CHECK (currency IN ('CNY')),
      timezone    text NOT NULL DEFAULT 'Asia/Shanghai',
      policy      jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(policy) = 'object'),
      created_at  timestamptz NOT NULL DEFAULT now(),
      created_by  uuid
    );

    -- Member enterprises: the minimum the ledger and user bindings need; the members feature
    -- extends this table.
    CREATE TABLE members (
      id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      fund_id     uuid NOT NULL REFERENCES funds (id),
      name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      created_at  timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT members_fund_id_id_key UNIQUE (fund_id, id)
    );

    CREATE TABLE users (
      id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      username       text NOT NULL CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
      password_hash  text NOT NULL,
      role           text NOT NULL CHECK (role IN ('admin', 'committee', 'member', 'auditor')),
      -- NULL: every fund (platform operators); set: this fund only.
      fund_id        uuid REFERENCES funds (id),
      member_id      uuid,
      disabled       boolean NOT NULL DEFAULT false,
      token_version  integer NOT NULL DEFAULT 1 CHECK (token_version > 0),
      created_at     timestamptz NOT NULL DEFAULT now(),
      updated_at     timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT users_username_key UNIQUE (username),
      CONSTRAINT users_member_fk FOREIGN KEY (fund_id, member_id) REFERENCES members (fund_id, id),
      CONSTRAINT users_member_role_bound CHECK (role <> 'member' OR member_id IS NOT NULL)
    );

    CREATE TABLE accounts (
      id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      fund_id      uuid NOT NULL REFERENCES funds (id),
      code         text NOT NULL CHECK (code ~ '^[0-9]{4}(:[0-9a-f-]{36}){0,1}$'),
      base_code    text GENERATED ALWAYS AS (left(code, 4)) STORED,
      name         text NOT NULL,
      type         text NOT NULL CHECK (type IN ('asset', 'liability', 'equity', 'income', 'expense')),
      book         text NOT NULL CHECK (book IN ('fund', 'memo')),
      normal_side  text NOT NULL CHECK (normal_side IN ('debit', 'credit')),
      currency     char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
      member_id    uuid,
      loan_id      uuid,
      floor        numeric CHECK (floor = round(floor, 2)),
      created_at   timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT accounts_fund_id_code_key UNIQUE (fund_id, code),
      CONSTRAINT accounts_fund_id_id_key UNIQUE (fund_id, id),
      CONSTRAINT accounts_member_fk FOREIGN KEY (fund_id, member_id) REFERENCES members (fund_id, id)
    );
    CREATE INDEX accounts_member_idx ON accounts (fund_id, member_id) WHERE member_id IS NOT NULL;

    -- The mutable side of an account: its posted totals, what is held, and its version (the number
    -- of postings so far). Every write locks the row first; the checks repeat what the code asserts.
    CREATE TABLE account_balances (
      account_id           uuid PRIMARY KEY,
      fund_id              uuid NOT NULL,
      normal_side          text NOT NULL CHECK (normal_side IN ('debit', 'credit')),
      debit_total          numeric NOT NULL DEFAULT 0 CHECK (debit_total >= 0),
      credit_total         numeric NOT NULL DEFAULT 0 CHECK (credit_total >= 0),
      balance              numeric NOT NULL DEFAULT 0,
      held                 numeric NOT NULL DEFAULT 0 CHECK (held >= 0),
      floor                numeric,
      version              bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
      effective_watermark  date,
      updated_at           timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT account_balances_account_fk FOREIGN KEY (fund_id, account_id) REFERENCES accounts (fund_id, id),
      CONSTRAINT account_balances_balance_matches_totals CHECK (
        balance = CASE normal_side WHEN 'debit' THEN debit_total - credit_total ELSE credit_total - debit_total END
      ),
      CONSTRAINT account_balances_floor CHECK (floor IS NULL OR balance - held >= floor)
    );

    CREATE TABLE journal_entries (
      id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      seq                bigint GENERATED ALWAYS AS IDENTITY,
      fund_id            uuid NOT NULL REFERENCES funds (id),
      kind               text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*$' AND length(kind) <= 64),
      effective_date     date NOT NULL,
      posted_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
      memo               text NOT NULL CHECK (length(memo) <= 500),
      idempotency_key    text CHECK (length(idempotency_key) BETWEEN 1 AND 300),
      reverses_entry_id  uuid,
      actor_id           uuid,
      request_id         text,
      CONSTRAINT journal_entries_seq_key UNIQUE (seq),
      CONSTRAINT journal_entries_fund_id_id_key UNIQUE (fund_id, id),
      CONSTRAINT journal_entries_idempotency_key UNIQUE (fund_id, idempotency_key),
      CONSTRAINT journal_entries_reverses_fk FOREIGN KEY (fund_id, reverses_entry_id) REFERENCES journal_entries (fund_id, id)
    );
    -- An entry can be reversed once.
    CREATE UNIQUE INDEX journal_entries_reversed_once ON journal_entries (fund_id, reverses_entry_id)
      WHERE reverses_entry_id IS NOT NULL;
    CREATE INDEX journal_entries_fund_seq_idx ON journal_entries (fund_id, seq);
    CREATE INDEX journal_entries_fund_kind_seq_idx ON journal_entries (fund_id, kind, seq);
    CREATE INDEX journal_entries_fund_effective_idx ON journal_entries (fund_id, effective_date, seq);

    -- One line of an entry. It carries the account's totals, balance and version after it, and the
    -- greatest effective date seen on the account so far (the watermark), so that the balance as of a
    -- value date is one index lookup plus the few back-dated postings that came later
    -- (docs/adr/0003-as-of-balances.md).
    CREATE TABLE postings (
      id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      fund_id             uuid NOT NULL,
      entry_id            uuid NOT NULL,
      line_no             smallint NOT NULL CHECK (line_no >= 1),
      account_id          uuid NOT NULL,
      side                text NOT NULL CHECK (side IN ('debit', 'credit')),
      amount              numeric NOT NULL,
      effective_date      date NOT NULL,
      memo                text CHECK (length(memo) <= 500),
      debit_total_after   numeric NOT NULL CHECK (debit_total_after >= 0),
      credit_total_after  numeric NOT NULL CHECK (credit_total_after >= 0),
      balance_after       numeric NOT NULL,
      version_after       bigint NOT NULL CHECK (version_after >= 1),
      watermark_after     date NOT NULL CHECK (watermark_after >= effective_date),
      backdated           boolean NOT NULL,
      CONSTRAINT postings_amount_positive CHECK (amount > 0),
      CONSTRAINT postings_amount_scale CHECK (amount = round(amount, 2)),
      CONSTRAINT postings_entry_fk FOREIGN KEY (fund_id, entry_id) REFERENCES journal_entries (fund_id, id),
      CONSTRAINT postings_account_fk FOREIGN KEY (fund_id, account_id) REFERENCES accounts (fund_id, id),
      CONSTRAINT postings_entry_line_key UNIQUE (entry_id, line_no),
      CONSTRAINT postings_account_version_key UNIQUE (account_id, version_after)
    );
    CREATE INDEX postings_as_of_idx ON postings (account_id, watermark_after, version_after);
    CREATE INDEX postings_backdated_idx ON postings (account_id, effective_date) WHERE backdated;

    CREATE TABLE holds (
      id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      seq              bigint GENERATED ALWAYS AS IDENTITY,
      fund_id          uuid NOT NULL,
      account_id       uuid NOT NULL,
      amount           numeric NOT NULL,
      status           text NOT NULL CHECK (status IN ('pending', 'posted', 'released', 'expired')),
      reason           text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
      reference        text CHECK (length(reference) <= 200),
      expires_at       timestamptz NOT NULL,
      idempotency_key  text CHECK (length(idempotency_key) BETWEEN 1 AND 300),
      created_at       timestamptz NOT NULL DEFAULT now(),
      created_by       uuid,
      resolved_at      timestamptz,
      entry_id         uuid,
      CONSTRAINT holds_amount_positive CHECK (amount > 0),
      CONSTRAINT holds_amount_scale CHECK (amount = round(amount, 2)),
      CONSTRAINT holds_resolved_iff_not_pending CHECK ((status = 'pending') = (resolved_at IS NULL)),
      CONSTRAINT holds_entry_iff_posted CHECK ((status = 'posted') = (entry_id IS NOT NULL)),
      CONSTRAINT holds_account_fk FOREIGN KEY (fund_id, account_id) REFERENCES accounts (fund_id, id),
      CONSTRAINT holds_entry_fk FOREIGN KEY (fund_id, entry_id) REFERENCES journal_entries (fund_id, id),
      CONSTRAINT holds_idempotency_key UNIQUE (fund_id, idempotency_key)
    );
    CREATE INDEX holds_pending_expiry_idx ON holds (expires_at) WHERE status = 'pending';
    CREATE INDEX holds_fund_seq_idx ON holds (fund_id, seq);
    CREATE INDEX holds_account_idx ON holds (fund_id, account_id, seq);

    -- A stored response per (user, Idempotency-Key), written in the transaction that did the work.
    CREATE TABLE idempotency_keys (
      user_id          uuid NOT NULL,
      key              text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
      fund_id          uuid REFERENCES funds (id),
      method           text NOT NULL,
      path             text NOT NULL,
      request_hash     char(64) NOT NULL,
      response_status  integer,
      response_body    jsonb,
      created_at       timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (user_id, key)
    );
    CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

    -- The audit log: one hash chain per fund ('system' for platform actions). A row's link holds
    -- SHA-256 over the previous hash, its sequence number and the row's canonical JSON; rows are
    -- linked at commit, in the transaction that wrote them (docs/adr/0004-audit-chain.md).
    CREATE TABLE audit_chain_heads (
      chain      text PRIMARY KEY,
      fund_id    uuid REFERENCES funds (id),
      last_seq   bigint NOT NULL CHECK (last_seq >= 0),
      prev_hash  char(64) NOT NULL,
      last_hash  char(64) NOT NULL,
      CONSTRAINT audit_chain_heads_chain_matches_fund CHECK (chain = coalesce(fund_id::text, 'system'))
    );

    CREATE TABLE audit_log (
      id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      chain         text NOT NULL REFERENCES audit_chain_heads (chain),
      fund_id       uuid REFERENCES funds (id),
      actor_id      uuid,
      actor_name    text NOT NULL,
      actor_role    text NOT NULL,
      action        text NOT NULL,
      target_type   text NOT NULL,
      target_id     text,
      payload       jsonb NOT NULL,
      request_id    text,
      created_at    timestamptz NOT NULL,
      -- The exact text the link's hash covers, as the service wrote it (RFC 8785 JSON of the row).
      canonical     text NOT NULL,
      CONSTRAINT audit_log_chain_matches_fund CHECK (chain = coalesce(fund_id::text, 'system'))
    );
    CREATE INDEX audit_log_fund_action_idx ON audit_log (chain, action);
    CREATE INDEX audit_log_target_idx ON audit_log (chain, target_type, target_id);

    CREATE TABLE audit_links (
      chain      text NOT NULL REFERENCES audit_chain_heads (chain),
      seq        bigint NOT NULL CHECK (seq >= 1),
      audit_id   uuid NOT NULL REFERENCES audit_log (id),
      prev_hash  char(64) NOT NULL,
      hash       char(64) NOT NULL,
      PRIMARY KEY (chain, seq),
      CONSTRAINT audit_links_audit_id_key UNIQUE (audit_id)
    );

    INSERT INTO audit_chain_heads (chain, fund_id, last_seq, prev_hash, last_hash)
    VALUES ('system', NULL, 0, repeat('0', 64), repeat('0', 64));
  `);

  await knex.raw(`
    -- Entries, postings and audit rows are never changed or removed: corrections are new rows.
    CREATE FUNCTION huzhu_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'HZ001';
    END $$;

    CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries
      FOR EACH ROW EXECUTE FUNCTION huzhu_refuse_change();
    CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON journal_entries
      FOR EACH STATEMENT EXECUTE FUNCTION huzhu_refuse_change();
    CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings
      FOR EACH ROW EXECUTE FUNCTION huzhu_refuse_change();
    CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON postings
      FOR EACH STATEMENT EXECUTE FUNCTION huzhu_refuse_change();
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
      FOR EACH ROW EXECUTE FUNCTION huzhu_refuse_change();
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION huzhu_refuse_change();
    CREATE TRIGGER audit_links_append_only BEFORE UPDATE OR DELETE ON audit_links
      FOR EACH ROW EXECUTE FUNCTION huzhu_refuse_change();
    CREATE TRIGGER audit_links_no_truncate BEFORE TRUNCATE ON audit_links
      FOR EACH STATEMENT EXECUTE FUNCTION huzhu_refuse_change();

    -- Links each new audit row into its chain as its transaction commits: the chain head is locked
    -- here, at the end of the commit, and held only through the WAL flush that follows.
    CREATE FUNCTION huzhu_link_audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      head record;
    BEGIN
      UPDATE audit_chain_heads
         SET last_seq = last_seq + 1,
             prev_hash = last_hash,
             last_hash = encode(sha256(convert_to(last_hash || '|' || (last_seq + 1)::text || '|' || NEW.canonical, 'UTF8')), 'hex')
       WHERE chain = NEW.chain
      RETURNING last_seq, prev_hash, last_hash INTO head;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'audit chain % has no head', NEW.chain USING ERRCODE = '23503';
      END IF;
      INSERT INTO audit_links (chain, seq, audit_id, prev_hash, hash)
      VALUES (NEW.chain, head.last_seq, NEW.id, head.prev_hash, head.last_hash);
      RETURN NULL;
    END $$;

    CREATE CONSTRAINT TRIGGER audit_log_link AFTER INSERT ON audit_log
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION huzhu_link_audit_row();

    -- Every entry must have at least two postings, debits equal to credits within each book, and
    -- its effective date on every posting. Checked twice: by a deferred constraint trigger on each
    -- new entry at commit (so an entry can never commit without its postings), and at the end of
    -- every statement that inserts postings (so no posting can be slipped into an entry later, and
    -- all postings of an entry go in with one statement).
    CREATE FUNCTION huzhu_assert_entry_balanced(target uuid) RETURNS void LANGUAGE plpgsql AS $$
    DECLARE
      facts record;
    BEGIN
      -- One pass over the entry's postings gathers every fact the rules need.
      SELECT count(*) AS line_count,
             count(*) FILTER (WHERE p.effective_date <> e.effective_date) AS wrong_dates,
             coalesce(sum(CASE p.side WHEN 'debit' THEN p.amount ELSE -p.amount END)
                        FILTER (WHERE a.book = 'fund'), 0) AS fund_net,
             coalesce(sum(CASE p.side WHEN 'debit' THEN p.amount ELSE -p.amount END)
                        FILTER (WHERE a.book = 'memo'), 0) AS memo_net
        INTO facts
        FROM postings p
        JOIN accounts a ON a.id = p.account_id
        JOIN journal_entries e ON e.id = p.entry_id
       WHERE p.entry_id = target;
      IF facts.line_count < 2 THEN
        RAISE EXCEPTION 'journal entry % has % posting(s); at least 2 are required', target, facts.line_count
          USING ERRCODE = '23514', CONSTRAINT = 'journal_entries_two_postings';
      END IF;
      IF facts.fund_net <> 0 OR facts.memo_net <> 0 THEN
        RAISE EXCEPTION 'journal entry % does not balance (fund book %, memo book %)', target, facts.fund_net, facts.memo_net
          USING ERRCODE = '23514', CONSTRAINT = 'journal_entries_balanced';
      END IF;
      IF facts.wrong_dates > 0 THEN
        RAISE EXCEPTION 'journal entry % has postings with another effective date', target
          USING ERRCODE = '23514', CONSTRAINT = 'postings_effective_date_matches_entry';
      END IF;
    END $$;

    CREATE FUNCTION huzhu_check_new_entry() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM huzhu_assert_entry_balanced(NEW.id);
      RETURN NULL;
    END $$;

    CREATE FUNCTION huzhu_check_inserted_postings() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      target uuid;
    BEGIN
      FOR target IN SELECT DISTINCT entry_id FROM inserted_postings LOOP
        PERFORM huzhu_assert_entry_balanced(target);
      END LOOP;
      RETURN NULL;
    END $$;

    CREATE CONSTRAINT TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION huzhu_check_new_entry();
    CREATE TRIGGER postings_entry_balanced AFTER INSERT ON postings
      REFERENCING NEW TABLE AS inserted_postings
      FOR EACH STATEMENT EXECUTE FUNCTION huzhu_check_inserted_postings();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE IF EXISTS audit_links, audit_log, audit_chain_heads, idempotency_keys, holds, postings,
      journal_entries, account_balances, accounts, users, members, funds CASCADE;
    DROP FUNCTION IF EXISTS huzhu_check_new_entry();
    DROP FUNCTION IF EXISTS huzhu_check_inserted_postings();
    DROP FUNCTION IF EXISTS huzhu_assert_entry_balanced(uuid);
    DROP FUNCTION IF EXISTS huzhu_link_audit_row();
    DROP FUNCTION IF EXISTS huzhu_refuse_change();
  `);
}
