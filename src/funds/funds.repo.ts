import type { Db, Trx } from '../db/knex';

export interface FundRow {
  id: string;
  name: string;
  currency: string;
  timezone: string;
  policy: Record<string, unknown>;
  created_at: Date;
  created_by: string | null;
}

export async function insertFund(
  trx: Trx,
  fund: Pick<FundRow, 'name' | 'currency' | 'timezone' | 'policy' | 'created_by'>,
): Promise<FundRow> {
  const rows = (await trx('funds')
    .insert({ ...fund, policy: JSON.stringify(fund.policy) })
    .returning('*')) as FundRow[];
  return rows[0]!;
}

export async function listFunds(
  db: Db,
  filter: { onlyId?: string | undefined; afterId?: string | undefined; limit: number },
): Promise<FundRow[]> {
  const query = db<FundRow>('funds').orderBy('id').limit(filter.limit);
  if (filter.onlyId) query.where({ id: filter.onlyId });
  if (filter.afterId) query.where('id', '>', filter.afterId);
  return query;
}
