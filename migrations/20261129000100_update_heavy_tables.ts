import type { Knex } from 'knex';

/**
 * Room on every page for the next version of each row, in the two tables whose rows are rewritten
 * every day: a balance row with each posting to its account, an accrual state with each day the
 * job runs. With that room an update stays on its page and leaves the indexes alone (a HOT
 * update); at the default fill factor of 100 the page is full, so every update moves the row to
 * another page and inserts a new entry into each index. Old versions are pruned from a page once
 * no transaction can see them, so the room comes back for the next day.
 *
 * Only pages written from now on are filled to 50 %: on a database with rows already, run
 * `VACUUM FULL account_balances, loan_accrual_state` in a quiet hour to apply it to them too.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE account_balances SET (fillfactor = 50);
    ALTER TABLE loan_accrual_state SET (fillfactor = 50);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE account_balances RESET (fillfactor);
    ALTER TABLE loan_accrual_state RESET (fillfactor);
  `);
}
