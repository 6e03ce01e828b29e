import type { Knex } from 'knex';
// knex treats every "?" in raw SQL as a binding, even with no bindings: the SQL below avoids "?".

/**
 * The two tables beside the append-only ones that still took any UPDATE and DELETE: the audit
 * chain heads and the stored idempotent responses (docs/adr/0004-audit-chain.md,
 * docs/adr/0007-idempotency.md). Each now takes only the changes the service makes:
 *
 * - A chain head only advances, one record at a time, onto the link just written for that record,
 *   whose hash must be the hash of the record's canonical text. The link is therefore written
 *   before the head moves (huzhu_link_audit_row, below). A head is never deleted.
 * - An idempotency key's response is written once, onto a claimed key that has none, and nothing
 *   else of the row changes; a key is deleted only once it is older than the retention floor
 *   (7 days by the database's clock, which stamps created_at), by the purge job.
 * TRUNCATE is refused on both.
 */

const LINK_FIRST = `
    -- Links each new audit row into its chain as its transaction commits: the chain head is locked
    -- here, at the end of the commit, and held only through the WAL flush that follows. The link
    -- goes in before the head moves, so that the head's guard can check the head against it.
    CREATE OR REPLACE FUNCTION huzhu_link_audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      head record;
      next_seq bigint;
      next_hash char(64);
    BEGIN
      -- FOR NO KEY UPDATE, the lock an UPDATE of the head takes: every uncommitted audit row holds
      -- FOR KEY SHARE on its chain's head (audit_log.chain references it), which FOR UPDATE would
      -- wait for, so two commits of one chain would deadlock, each waiting for the other's audit row.
      SELECT last_seq, last_hash INTO head FROM audit_chain_heads WHERE chain = NEW.chain FOR NO KEY UPDATE;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'audit chain % has no head', NEW.chain USING ERRCODE = '23503';
      END IF;
      next_seq := head.last_seq + 1;
      next_hash := encode(sha256(convert_to(head.last_hash || '|' || next_seq::text || '|' || NEW.canonical, 'UTF8')), 'hex');
      INSERT INTO audit_links (chain, seq, audit_id, prev_hash, hash)
      VALUES (NEW.chain, next_seq, NEW.id, head.last_hash, next_hash);
      UPDATE audit_chain_heads SET last_seq = next_seq, prev_hash = head.last_hash, last_hash = next_hash
       WHERE chain = NEW.chain;
      RETURN NULL;
    END $$;`;

const HEAD_FIRST = `
    CREATE OR REPLACE FUNCTION huzhu_link_audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
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
    END $$;`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(LINK_FIRST);
  await knex.raw(`
    CREATE FUNCTION huzhu_advance_chain_head_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit_chain_heads: the head of chain % is never deleted', OLD.chain USING ERRCODE = 'HZ001';
      END IF;
      -- The one change allowed: one record on, onto the link of that record, whose hash covers the
      -- previous hash, the sequence number and the record's canonical text.
      IF NEW.chain IS DISTINCT FROM OLD.chain OR NEW.fund_id IS DISTINCT FROM OLD.fund_id
         OR NEW.last_seq IS DISTINCT FROM OLD.last_seq + 1 OR NEW.prev_hash IS DISTINCT FROM OLD.last_hash
         OR NOT EXISTS (
              SELECT 1 FROM audit_links l JOIN audit_log a ON a.id = l.audit_id
               WHERE l.chain = NEW.chain AND l.seq = NEW.last_seq
                 AND l.prev_hash = NEW.prev_hash AND l.hash = NEW.last_hash
                 AND l.hash = encode(sha256(convert_to(l.prev_hash || '|' || l.seq::text || '|' || a.canonical, 'UTF8')), 'hex'))
      THEN
        RAISE EXCEPTION 'audit_chain_heads: the head of chain % only advances onto the link of its next record', OLD.chain
          USING ERRCODE = 'HZ001';
      END IF;
      RETURN NEW;
    END $$;

    CREATE TRIGGER audit_chain_heads_advance_only BEFORE UPDATE OR DELETE ON audit_chain_heads
      FOR EACH ROW EXECUTE FUNCTION huzhu_advance_chain_head_only();
    CREATE TRIGGER audit_chain_heads_no_truncate BEFORE TRUNCATE ON audit_chain_heads
      FOR EACH STATEMENT EXECUTE FUNCTION huzhu_refuse_change();

    CREATE FUNCTION huzhu_respond_once_purge_late() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        -- The purge job's retention (IDEMPOTENCY_RETENTION_DAYS) may be longer, never shorter.
        IF OLD.created_at < now() - interval '7 days' THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'idempotency_keys: a key is kept 7 days; DELETE of one created at % refused', OLD.created_at
          USING ERRCODE = 'HZ001';
      END IF;
      -- The one change allowed: the response, once, onto a claimed key that has none.
      IF OLD.response_status IS NULL AND OLD.response_body IS NULL
         AND NEW.response_status IS NOT NULL AND NEW.response_body IS NOT NULL
         AND (NEW.user_id, NEW.key, NEW.fund_id, NEW.method, NEW.path, NEW.request_hash, NEW.created_at)
             IS NOT DISTINCT FROM (OLD.user_id, OLD.key, OLD.fund_id, OLD.method, OLD.path, OLD.request_hash, OLD.created_at)
      THEN
        RETURN NEW;
      END IF;
      RAISE EXCEPTION 'idempotency_keys: a stored response is written once and never changed; UPDATE refused'
        USING ERRCODE = 'HZ001';
    END $$;

    CREATE TRIGGER idempotency_keys_respond_once BEFORE UPDATE OR DELETE ON idempotency_keys
      FOR EACH ROW EXECUTE FUNCTION huzhu_respond_once_purge_late();
    CREATE TRIGGER idempotency_keys_no_truncate BEFORE TRUNCATE ON idempotency_keys
      FOR EACH STATEMENT EXECUTE FUNCTION huzhu_refuse_change();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER IF EXISTS idempotency_keys_no_truncate ON idempotency_keys;
    DROP TRIGGER IF EXISTS idempotency_keys_respond_once ON idempotency_keys;
    DROP FUNCTION IF EXISTS huzhu_respond_once_purge_late();
    DROP TRIGGER IF EXISTS audit_chain_heads_no_truncate ON audit_chain_heads;
    DROP TRIGGER IF EXISTS audit_chain_heads_advance_only ON audit_chain_heads;
    DROP FUNCTION IF EXISTS huzhu_advance_chain_head_only();
  `);
  await knex.raw(HEAD_FIRST);
}
