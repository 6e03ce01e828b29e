import type { Db, Trx } from '../db/knex';

export interface FundRow {
  id: string;
  name: string;
  currency: string;
  timezone: string;
  alliance_name: string | null;
  established_on: string;
  /** The last day of the closed periods: no entry may be dated on or before it. */
  closed_through: string | null;
  created_at: Date;
  created_by: string | null;
}

export interface PolicyVersionRow {
  fund_id: string;
  version: number;
  effective_date: string;
  policy: Record<string, unknown>;
  reason: string | null;
  created_by: string | null;
  created_at: Date;
}

export async function insertFund(
  trx: Trx,
  fund: Pick<FundRow, 'name' | 'currency' | 'timezone' | 'alliance_name' | 'established_on' | 'created_by'>,
): Promise<FundRow> {
  const rows = (await trx('funds').insert(fund).returning('*')) as FundRow[];
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

/** The fund's row, locked: policy versions are numbered and lead members swapped under it. */
export async function lockFund(trx: Trx, fundId: string): Promise<FundRow | undefined> {
  return (await trx('funds').where({ id: fundId }).forUpdate().first()) as FundRow | undefined;
}

export async function updateFund(
  trx: Trx,
  fundId: string,
  changes: Partial<Pick<FundRow, 'name' | 'alliance_name' | 'closed_through'>>,
): Promise<FundRow> {
  const rows = (await trx('funds').where({ id: fundId }).update(changes).returning('*')) as FundRow[];
  return rows[0]!;
}

export async function insertPolicyVersion(
  trx: Trx,
  row: Omit<PolicyVersionRow, 'created_at'>,
): Promise<PolicyVersionRow> {
  const rows = (await trx('fund_policy_versions')
    .insert({ ...row, policy: JSON.stringify(row.policy) })
    .returning('*')) as PolicyVersionRow[];
  return rows[0]!;
}

/** The version in force on a day: latest effective date on or before it, then highest version. */
export async function policyVersionInForce(
  db: Db,
  fundId: string,
  date: string,
): Promise<PolicyVersionRow | undefined> {
  return (await db('fund_policy_versions')
    .where({ fund_id: fundId })
    .andWhere('effective_date', '<=', date)
    .orderBy([
      { column: 'effective_date', order: 'desc' },
      { column: 'version', order: 'desc' },
    ])
    .first()) as PolicyVersionRow | undefined;
}

export async function latestPolicyVersion(trx: Trx, fundId: string): Promise<number> {
  const row = (await trx('fund_policy_versions').where({ fund_id: fundId }).max('version as version').first()) as
    { version: number | null } | undefined;
  return row?.version ?? 0;
}

export async function listPolicyVersions(
  db: Db,
  fundId: string,
  page: { beforeVersion?: number | undefined; limit: number },
): Promise<PolicyVersionRow[]> {
  const query = db<PolicyVersionRow>('fund_policy_versions')
    .where({ fund_id: fundId })
    .orderBy('version', 'desc')
    .limit(page.limit);
  if (page.beforeVersion !== undefined) query.where('version', '<', page.beforeVersion);
  return query;
}

/** Makes `memberId` the fund's lead enterprise and any other lead an ordinary member. */
export async function setLeadMember(trx: Trx, fundId: string, memberId: string): Promise<string | null> {
  const demoted = (await trx('members')
    .where({ fund_id: fundId, alliance_role: 'lead' })
    .whereNot({ id: memberId })
    .update({ alliance_role: 'member', updated_at: trx.fn.now(), version: trx.raw('version + 1') })
    .returning('id')) as { id: string }[];
  await trx('members')
    .where({ fund_id: fundId, id: memberId })
    .update({ alliance_role: 'lead', updated_at: trx.fn.now(), version: trx.raw('version + 1') });
  return demoted[0]?.id ?? null;
}

export async function leadMemberId(db: Db, fundId: string): Promise<string | null> {
  const row = (await db('members').where({ fund_id: fundId, alliance_role: 'lead' }).first('id')) as
    { id: string } | undefined;
  return row?.id ?? null;
}
