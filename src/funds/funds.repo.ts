import type { Db, Trx } from '../db/knex';
import type { PolicyOrigins } from './policy';

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
  /** The decision that opens the version: the last recorded of those dated on its effective date. */
  decision: number | null;
  /** The decision whose recording wrote the version: `decision`, or an earlier-dated one carried in. */
  recorded_with: number | null;
  /** Field path → the decision that set it. NULL (like the two above) on versions written before decisions were kept. */
  set_by: PolicyOrigins | null;
  created_by: string | null;
  created_at: Date;
}

/** A version as written: every version written since decisions are kept names them. */
export type NewPolicyVersionRow = Omit<PolicyVersionRow, 'created_at' | 'decision' | 'recorded_with' | 'set_by'> & {
  decision: number;
  recorded_with: number;
  set_by: PolicyOrigins;
};

/** A version as read: with the later version of the same date that replaces it, if any. */
export interface PolicyVersionReadRow extends PolicyVersionRow {
  superseded_by: number | null;
}

export interface PolicyDecisionRow {
  fund_id: string;
  decision: number;
  effective_date: string;
  changes: Record<string, unknown>;
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

export async function insertPolicyVersion(trx: Trx, row: NewPolicyVersionRow): Promise<PolicyVersionReadRow> {
  const rows = (await trx('fund_policy_versions')
    .insert({ ...row, policy: JSON.stringify(row.policy), set_by: JSON.stringify(row.set_by) })
    .returning('*')) as PolicyVersionRow[];
  // A version is written as the newest of its date: nothing supersedes it yet.
  return { ...rows[0]!, superseded_by: null };
}

/** Versions with the version that supersedes each: the next one written for the same effective date. */
function policyVersionsRead(db: Db, fundId: string) {
  return db('fund_policy_versions as v')
    .where('v.fund_id', fundId)
    .select(
      'v.*',
      db.raw(
        `(SELECT min(w.version) FROM fund_policy_versions w
           WHERE w.fund_id = v.fund_id AND w.effective_date = v.effective_date AND w.version > v.version)
         AS superseded_by`,
      ),
    );
}

/** The version in force on a day: latest effective date on or before it, then highest version. */
export async function policyVersionInForce(
  db: Db,
  fundId: string,
  date: string,
): Promise<PolicyVersionReadRow | undefined> {
  return (await policyVersionsRead(db, fundId)
    .andWhere('v.effective_date', '<=', date)
    .orderBy([
      { column: 'v.effective_date', order: 'desc' },
      { column: 'v.version', order: 'desc' },
    ])
    .first()) as PolicyVersionReadRow | undefined;
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
): Promise<PolicyVersionReadRow[]> {
  const query = policyVersionsRead(db, fundId).orderBy('v.version', 'desc').limit(page.limit);
  if (page.beforeVersion !== undefined) query.where('v.version', '<', page.beforeVersion);
  return (await query) as PolicyVersionReadRow[];
}

export async function insertPolicyDecision(
  trx: Trx,
  row: Omit<PolicyDecisionRow, 'created_at'>,
): Promise<PolicyDecisionRow> {
  const rows = (await trx('fund_policy_decisions')
    .insert({ ...row, changes: JSON.stringify(row.changes) })
    .returning('*')) as PolicyDecisionRow[];
  return rows[0]!;
}

/** Every decision of the fund in the order they apply: effective date, then the order recorded. */
export async function policyDecisions(trx: Trx, fundId: string): Promise<PolicyDecisionRow[]> {
  return (await trx('fund_policy_decisions')
    .where({ fund_id: fundId })
    .orderBy([
      { column: 'effective_date', order: 'asc' },
      { column: 'decision', order: 'asc' },
    ])
    .select('*')) as PolicyDecisionRow[];
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
