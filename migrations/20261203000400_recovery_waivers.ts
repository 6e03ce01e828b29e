import type { Knex } from 'knex';
// knex treats every "?" in raw SQL as a binding, even with no bindings: the SQL below avoids "?".

/**
 * A capital offset or a write-off proposed while guarantors still stand behind the loan carries
 * the committee's waiver of them (docs/adr/0018-default-waterfall.md, rule W-stand): the reason and
 * the guarantees waived with what each stood behind when it was proposed. Only those two steps
 * waive guarantees.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE recovery_actions
      ADD COLUMN waiver jsonb,
      ADD CONSTRAINT recovery_actions_waiver_check CHECK (
        waiver IS NULL OR (
          action IN ('capital_offset', 'write_off')
          -- CASE, not AND: jsonb_array_length raises on a non-array, and AND has no fixed order.
          AND CASE WHEN jsonb_typeof(waiver -> 'guarantees') = 'array'
                   THEN jsonb_array_length(waiver -> 'guarantees') > 0 ELSE false END
          AND length(waiver ->> 'reason') BETWEEN 1 AND 500
        )
      );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE recovery_actions DROP COLUMN waiver;`);
}
