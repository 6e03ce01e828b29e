import type { Knex } from 'knex';
// knex treats every "?" in raw SQL as a binding, even with no bindings: the SQL below avoids "?".

/**
 * Policy decisions (ADR 0008). What a fund records is a decision: some fields, from an effective
 * date, for a reason. A policy version is the whole policy in force from a date, derived from the
 * decisions: the defaults, then every decision dated on or before it, field by field, in order of
 * effective date (ties: the order recorded). A decision dated before versions already scheduled
 * writes each of them again as a new version (both tables stay append-only), so a change holds
 * until a decision changes that field again, whichever was recorded first.
 *
 * Each version now names the decision that opens it (`decision`: the last recorded among those
 * dated on its effective date), the decision whose recording wrote it (`recorded_with`) and, per
 * field, the decision that set the field (`set_by`: path → decision number).
 *
 * Versions written before this migration keep their rows as written: the three columns stay NULL
 * on them (the check below is NOT VALID, so it binds every row written from now on only). Each of
 * them was one decision, recorded here under the same number, with the fields it changed against
 * the version it amended (the one in force on its date among those written before it).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE fund_policy_decisions (
      fund_id        uuid NOT NULL REFERENCES funds (id),
      decision       integer NOT NULL CHECK (decision >= 1),
      effective_date date NOT NULL,
      -- The fields the decision sets, nested as the policy is ({"committee": {"quorum": "2/3"}}).
      changes        jsonb NOT NULL CHECK (jsonb_typeof(changes) = 'object'),
      reason         text CHECK (length(reason) <= 500),
      created_by     uuid,
      created_at     timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (fund_id, decision)
    );
    CREATE INDEX fund_policy_decisions_in_order_idx ON fund_policy_decisions (fund_id, effective_date, decision);
    CREATE TRIGGER fund_policy_decisions_append_only BEFORE UPDATE OR DELETE ON fund_policy_decisions
      FOR EACH ROW EXECUTE FUNCTION huzhu_refuse_change();

    -- The fields of "next" that differ from "base", groups (one level of nesting) field by field.
    CREATE FUNCTION huzhu_policy_changes_20261203(base jsonb, next jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
      SELECT coalesce(jsonb_object_agg(field.key,
               CASE WHEN jsonb_typeof(field.value) = 'object' AND jsonb_typeof(base -> field.key) = 'object'
                    THEN (SELECT coalesce(jsonb_object_agg(inner_field.key, inner_field.value), '{}'::jsonb)
                            FROM jsonb_each(field.value) AS inner_field
                           WHERE inner_field.value IS DISTINCT FROM base -> field.key -> inner_field.key)
                    ELSE field.value END), '{}'::jsonb)
        FROM jsonb_each(next) AS field
       WHERE field.value IS DISTINCT FROM base -> field.key
    $$;

    INSERT INTO fund_policy_decisions (fund_id, decision, effective_date, changes, reason, created_by, created_at)
    SELECT v.fund_id, v.version, v.effective_date,
           CASE WHEN base.policy IS NULL THEN v.policy
                ELSE huzhu_policy_changes_20261203(base.policy, v.policy) END,
           v.reason, v.created_by, v.created_at
      FROM fund_policy_versions v
      LEFT JOIN LATERAL (
        SELECT b.policy
          FROM fund_policy_versions b
         WHERE b.fund_id = v.fund_id AND b.version < v.version AND b.effective_date <= v.effective_date
         ORDER BY b.effective_date DESC, b.version DESC
         LIMIT 1
      ) AS base ON true;

    DROP FUNCTION huzhu_policy_changes_20261203(jsonb, jsonb);

    ALTER TABLE fund_policy_versions
      ADD COLUMN decision      integer,
      ADD COLUMN recorded_with integer,
      ADD COLUMN set_by        jsonb,
      ADD CONSTRAINT fund_policy_versions_decision_fk FOREIGN KEY (fund_id, decision)
        REFERENCES fund_policy_decisions (fund_id, decision),
      ADD CONSTRAINT fund_policy_versions_recorded_with_fk FOREIGN KEY (fund_id, recorded_with)
        REFERENCES fund_policy_decisions (fund_id, decision),
      -- A version is written when a decision is recorded: that one, or a later one carried into it.
      ADD CONSTRAINT fund_policy_versions_provenance CHECK (
        decision IS NOT NULL AND recorded_with IS NOT NULL AND recorded_with >= decision
        AND set_by IS NOT NULL AND jsonb_typeof(set_by) = 'object'
      ) NOT VALID;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE fund_policy_versions
      DROP CONSTRAINT fund_policy_versions_provenance,
      DROP CONSTRAINT fund_policy_versions_recorded_with_fk,
      DROP CONSTRAINT fund_policy_versions_decision_fk,
      DROP COLUMN set_by,
      DROP COLUMN recorded_with,
      DROP COLUMN decision;
    DROP TABLE fund_policy_decisions;
  `);
}
