import type { Knex } from 'knex';
// knex treats every "?" in raw SQL as a binding, even with no bindings: the SQL below avoids "?".

/**
 * The audit log filtered by request id (`GET …/audit?requestId=`): how the console finds the
 * record of the request that posted a journal entry (entries carry the request id too). Per chain,
 * like the other filters' indexes; rows without a request id (jobs run in-process) are left out.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE INDEX audit_log_request_idx ON audit_log (chain, request_id) WHERE request_id IS NOT NULL;`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP INDEX IF EXISTS audit_log_request_idx;`);
}
