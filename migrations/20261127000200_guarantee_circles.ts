import type { Knex } from 'knex';
// knex treats every "?" in raw SQL as a binding, even with no bindings: the SQL below avoids "?".

/**
 * Guarantee circles (互保圈, docs/adr/0015-guarantee-circles.md). Under the fund policy
 * `guaranteeCircleMode: 'flag'` a guarantee that closes a cycle of guarantees goes ahead, and the
 * cycle found is recorded on it: the members in order (ids and names as they were then) and the
 * loans behind each edge, with when it was found. A later check that finds a cycle again replaces
 * the record; the network report lists the cycles as they stand.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE loan_guarantees
      ADD COLUMN circle jsonb,
      ADD COLUMN circle_flagged_at timestamptz,
      ADD CONSTRAINT loan_guarantees_circle CHECK (
        (circle IS NULL) = (circle_flagged_at IS NULL)
        AND (circle IS NULL OR (jsonb_typeof(circle) = 'object' AND jsonb_typeof(circle -> 'members') = 'array'))
      );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE loan_guarantees
      DROP CONSTRAINT IF EXISTS loan_guarantees_circle,
      DROP COLUMN IF EXISTS circle_flagged_at,
      DROP COLUMN IF EXISTS circle;
  `);
}
