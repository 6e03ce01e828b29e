import type { Knex } from 'knex';
// knex treats every "?" in raw SQL as a binding, even with no bindings: the SQL below avoids "?".

/**
 * Motions (src/committee/motions.ts): agenda items whose matter belongs to another part of the
 * fund — a joint guarantee group to form (no loan), a step of a recovery case (a loan). The item
 * names its matter by kind and `motion_id`; the matter's own table names the item that decided it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE committee_items
      ALTER COLUMN loan_id DROP NOT NULL,
      ADD COLUMN motion_id uuid,
      DROP CONSTRAINT committee_items_kind_check,
      ADD CONSTRAINT committee_items_kind_check CHECK (
        kind IN ('application', 'ratification', 'extension', 'joint_group', 'recovery_action')),
      ADD CONSTRAINT committee_items_motion_iff_kind CHECK (
        (kind IN ('joint_group', 'recovery_action')) = (motion_id IS NOT NULL)),
      -- Every item concerns a loan but a joint group's formation.
      ADD CONSTRAINT committee_items_loan_iff_kind CHECK ((kind = 'joint_group') = (loan_id IS NULL)),
      DROP CONSTRAINT committee_items_kind_status,
      ADD CONSTRAINT committee_items_kind_status CHECK (
        (kind IN ('application', 'extension', 'joint_group', 'recovery_action')
          AND status IN ('open', 'approved', 'rejected', 'ineligible', 'no_quorum', 'withdrawn'))
        OR (kind = 'ratification' AND status IN ('open', 'no_quorum', 'ratified', 'ratification_failed'))
      );
    -- A loan is on at most one open application or ratification item; its extensions and the
    -- steps of its recovery have items of their own.
    DROP INDEX committee_items_open_loan_key;
    CREATE UNIQUE INDEX committee_items_open_loan_key ON committee_items (fund_id, loan_id)
      WHERE status = 'open' AND kind IN ('application', 'ratification');
    CREATE UNIQUE INDEX committee_items_open_motion_key ON committee_items (fund_id, kind, motion_id)
      WHERE status = 'open' AND motion_id IS NOT NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DELETE FROM committee_votes WHERE item_id IN (
      SELECT id FROM committee_items WHERE kind IN ('joint_group', 'recovery_action'));
    DELETE FROM committee_items WHERE kind IN ('joint_group', 'recovery_action');
    DROP INDEX IF EXISTS committee_items_open_motion_key;
    DROP INDEX IF EXISTS committee_items_open_loan_key;
    CREATE UNIQUE INDEX committee_items_open_loan_key ON committee_items (fund_id, loan_id)
      WHERE status = 'open' AND kind <> 'extension';
    ALTER TABLE committee_items
      DROP CONSTRAINT IF EXISTS committee_items_kind_status,
      ADD CONSTRAINT committee_items_kind_status CHECK (
        (kind IN ('application', 'extension')
          AND status IN ('open', 'approved', 'rejected', 'ineligible', 'no_quorum', 'withdrawn'))
        OR (kind = 'ratification' AND status IN ('open', 'no_quorum', 'ratified', 'ratification_failed'))
      ),
      DROP CONSTRAINT IF EXISTS committee_items_loan_iff_kind,
      DROP CONSTRAINT IF EXISTS committee_items_motion_iff_kind,
      DROP CONSTRAINT IF EXISTS committee_items_kind_check,
      ADD CONSTRAINT committee_items_kind_check CHECK (kind IN ('application', 'ratification', 'extension')),
      DROP COLUMN IF EXISTS motion_id,
      ALTER COLUMN loan_id SET NOT NULL;
  `);
}
