import type { Trx } from '../db/knex';

/** The minimal member record the ledger and user bindings need. */
export async function insertMember(trx: Trx, fundId: string, name: string): Promise<{ id: string }> {
  const rows = (await trx('members').insert({ fund_id: fundId, name }).returning('id')) as { id: string }[];
  return rows[0]!;
}
