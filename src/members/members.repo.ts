import type { Db, Trx } from '../db/knex';

export type AllianceRole = 'lead' | 'member';
export type MemberStatus = 'active' | 'suspended' | 'exited';

/** A member enterprise as stored (migrations 20261121000100, 20261122000100). */
export interface MemberRow {
  id: string;
  fund_id: string;
  name: string;
  name_en: string | null;
  /** Unified social credit code (GB 32100-2015); null only on rows older than the members feature. */
  credit_code: string | null;
  legal_representative: string | null;
  contact_name: string | null;
  contact_phone: string | null;
  contact_email: string | null;
  industry: string | null;
  alliance_role: AllianceRole;
  status: MemberStatus;
  status_reason: string | null;
  status_changed_at: Date | null;
  related_group: string | null;
  joined_on: string;
  /** Subscribed capital (认缴), NUMERIC as a string. */
  subscribed_amount: string;
  created_at: Date;
  updated_at: Date;
  version: number;
}

/** The columns a member's editable details live in. */
export type MemberDetailsColumns = Pick<
  MemberRow,
  | 'name'
  | 'name_en'
  | 'credit_code'
  | 'legal_representative'
  | 'contact_name'
  | 'contact_phone'
  | 'contact_email'
  | 'industry'
  | 'alliance_role'
  | 'related_group'
  | 'subscribed_amount'
>;

export type NewMemberRow = Pick<MemberRow, 'fund_id' | 'name' | 'joined_on'> &
  Partial<Omit<MemberDetailsColumns, 'name'>> &
  Partial<Pick<MemberRow, 'created_at' | 'updated_at'>>;

/** The unique indexes of members whose violations callers turn into refusals. */
export const MEMBER_CREDIT_CODE_KEY = 'members_credit_code_key';
export const MEMBER_ONE_LEAD_KEY = 'members_one_lead_key';

/** The unique index a PostgreSQL error says was violated, if it is a unique violation. */
export function violatedUniqueIndex(error: unknown): string | undefined {
  const pgError = error as { code?: unknown; constraint?: unknown };
  return pgError.code === '23505' && typeof pgError.constraint === 'string' ? pgError.constraint : undefined;
}

export async function insertMember(trx: Trx, member: NewMemberRow): Promise<MemberRow> {
  const rows = (await trx('members').insert(member).returning('*')) as MemberRow[];
  return rows[0]!;
}

export async function findMember(db: Db, fundId: string, memberId: string): Promise<MemberRow | undefined> {
  return (await db('members').where({ fund_id: fundId, id: memberId }).first()) as MemberRow | undefined;
}

/** The member's row, locked until the transaction ends: status changes, exits and contributions queue on it. */
export async function lockMember(trx: Trx, fundId: string, memberId: string): Promise<MemberRow | undefined> {
  return (await trx('members').where({ fund_id: fundId, id: memberId }).forUpdate().first()) as MemberRow | undefined;
}

/**
 * Locks member rows in id order, in one statement, until the transaction ends: several members
 * that must change together without deadlock (a loan's borrower and guarantors at disbursement,
 * ADR 0015). Returns the ids locked.
 */
export async function lockMembersInOrder(trx: Trx, fundId: string, memberIds: readonly string[]): Promise<string[]> {
  const ids = [...new Set(memberIds)].sort();
  if (ids.length === 0) return [];
  const result = await trx.raw<{ rows: { id: string }[] }>(
    `SELECT id FROM members WHERE fund_id = ? AND id = ANY(?::uuid[]) ORDER BY id FOR UPDATE`,
    [fundId, ids],
  );
  return result.rows.map((row) => row.id);
}

/**
 * Writes changes to a member the caller holds locked, and bumps its version: every change to the
 * row, details or status, is a new version that optimistic writers compare against.
 */
export async function updateMember(
  trx: Trx,
  fundId: string,
  memberId: string,
  changes: Partial<MemberDetailsColumns & Pick<MemberRow, 'status' | 'status_reason' | 'status_changed_at'>>,
  now: Date,
): Promise<MemberRow> {
  const rows = (await trx('members')
    .where({ fund_id: fundId, id: memberId })
    .update({ ...changes, updated_at: now, version: trx.raw('version + 1') })
    .returning('*')) as MemberRow[];
  return rows[0]!;
}

export interface MemberRef {
  id: string;
  name: string;
}

export async function findMemberByCreditCode(
  db: Db,
  fundId: string,
  creditCode: string,
): Promise<MemberRef | undefined> {
  return (await db('members').where({ fund_id: fundId, credit_code: creditCode }).first('id', 'name')) as
    MemberRef | undefined;
}

export async function findLeadMember(db: Db, fundId: string): Promise<MemberRef | undefined> {
  return (await db('members').where({ fund_id: fundId, alliance_role: 'lead' }).first('id', 'name')) as
    MemberRef | undefined;
}

export interface ListMembersFilter {
  /** Only this member (member users see their own enterprise only). */
  onlyId?: string | undefined;
  status?: MemberStatus | undefined;
  allianceRole?: AllianceRole | undefined;
  relatedGroup?: string | undefined;
  /** Part of the Chinese or English name, matched literally and without regard to case. */
  nameContains?: string | undefined;
  /** The last row of the previous page, in (name, id) order. */
  after?: { name: string; id: string } | undefined;
  limit: number;
}

/** Escapes LIKE's wildcards (backslash is PostgreSQL's default escape character). */
function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}

/** Members by name, then id: the register as people read it, with a stable order for paging. */
export async function listMembers(db: Db, fundId: string, filter: ListMembersFilter): Promise<MemberRow[]> {
  const query = db('members as m')
    .where('m.fund_id', fundId)
    .orderBy([
      { column: 'm.name', order: 'asc' },
      { column: 'm.id', order: 'asc' },
    ])
    .limit(filter.limit)
    .select('m.*');
  if (filter.onlyId !== undefined) query.andWhere('m.id', filter.onlyId);
  if (filter.status !== undefined) query.andWhere('m.status', filter.status);
  if (filter.allianceRole !== undefined) query.andWhere('m.alliance_role', filter.allianceRole);
  if (filter.relatedGroup !== undefined) query.andWhere('m.related_group', filter.relatedGroup);
  if (filter.nameContains !== undefined) {
    const pattern = `%${likeLiteral(filter.nameContains)}%`;
    query.andWhere((where) => where.whereILike('m.name', pattern).orWhereILike('m.name_en', pattern));
  }
  if (filter.after !== undefined) query.andWhereRaw('(m.name, m.id) > (?, ?)', [filter.after.name, filter.after.id]);
  return (await query) as MemberRow[];
}

/**
 * Paid-in capital per member: the balance of its capital account 3001:<member> (credit-normal).
 * Members without the account yet are absent from the map.
 */
export async function paidInAmounts(
  db: Db,
  fundId: string,
  memberIds: readonly string[],
): Promise<Map<string, string>> {
  if (memberIds.length === 0) return new Map();
  const rows = (await db({ a: 'accounts' })
    .join({ b: 'account_balances' }, 'b.account_id', 'a.id')
    .where('a.fund_id', fundId)
    .andWhere('a.base_code', '3001')
    .whereIn('a.member_id', [...memberIds])
    .select('a.member_id', 'b.balance')) as { member_id: string; balance: string }[];
  return new Map(rows.map((row) => [row.member_id, row.balance]));
}

export interface OverdueCapital {
  memberId: string;
  /** Σ (due − allocated) over the member's calls due before `today` and not fully paid; > 0. */
  outstanding: string;
  /** The earliest due date among those calls. */
  oldestDueOn: string;
  calls: number;
}

/**
 * Members with capital calls overdue on `today`: a call item is overdue when its due date is before
 * `today` and the contributions allocated to it add up to less than its due amount. Only such
 * members are returned; `memberIds` narrows the search (an empty list finds nothing).
 */
export async function membersWithOverdueCalls(
  db: Db,
  fundId: string,
  today: string,
  memberIds?: readonly string[],
): Promise<OverdueCapital[]> {
  if (memberIds !== undefined && memberIds.length === 0) return [];
  const query = db({ i: 'capital_call_items' })
    .join({ c: 'capital_calls' }, (join) => join.on('c.fund_id', 'i.fund_id').andOn('c.id', 'i.call_id'))
    .joinRaw(
      `CROSS JOIN LATERAL (
         SELECT coalesce(sum(ca.amount), 0) AS paid
           FROM contribution_allocations_in_force ca
          WHERE ca.call_id = i.call_id AND ca.member_id = i.member_id
       ) p`,
    )
    .where('i.fund_id', fundId)
    .andWhere('c.due_on', '<', today)
    .andWhereRaw('i.due_amount > p.paid')
    .groupBy('i.member_id')
    .orderBy('i.member_id')
    .select(
      'i.member_id',
      db.raw('sum(i.due_amount - p.paid)::text AS outstanding'),
      db.raw('min(c.due_on) AS oldest_due_on'),
      db.raw('count(*)::int AS calls'),
    );
  if (memberIds !== undefined) query.whereIn('i.member_id', [...memberIds]);
  const rows = (await query) as { member_id: string; outstanding: string; oldest_due_on: string; calls: number }[];
  return rows.map((row) => ({
    memberId: row.member_id,
    outstanding: row.outstanding,
    oldestDueOn: row.oldest_due_on,
    calls: row.calls,
  }));
}

/** A user of a fund, without its password hash. */
export interface FundUserRow {
  id: string;
  username: string;
  role: 'admin' | 'committee' | 'member' | 'auditor';
  fund_id: string | null;
  member_id: string | null;
  disabled: boolean;
  created_at: Date;
}

/** The users bound to a fund, by username. Never selects the password hash. */
export async function listFundUsers(
  db: Db,
  fundId: string,
  page: { afterUsername?: string | undefined; limit: number },
): Promise<FundUserRow[]> {
  const query = db('users')
    .where({ fund_id: fundId })
    .orderBy('username')
    .limit(page.limit)
    .select('id', 'username', 'role', 'fund_id', 'member_id', 'disabled', 'created_at');
  if (page.afterUsername !== undefined) query.andWhere('username', '>', page.afterUsername);
  return (await query) as FundUserRow[];
}

/**
 * Subscribed capital (认缴) of the members in the fund on `date`: joined on or before it and not
 * exited on or before it (an exit's date is the day it was requested for). Subscriptions keep no
 * history, so each counts at its amount now.
 */
export async function subscribedOn(
  db: Db,
  fundId: string,
  date: string,
): Promise<{ members: number; subscribed: string }> {
  const result = await db.raw<{ rows: { members: number; subscribed: string }[] }>(
    `SELECT count(*)::int AS members, coalesce(sum(m.subscribed_amount), 0)::text AS subscribed
       FROM members m
      WHERE m.fund_id = ? AND m.joined_on <= ?
        AND NOT EXISTS (SELECT 1 FROM member_exits x
                         WHERE x.fund_id = m.fund_id AND x.member_id = m.id AND x.requested_on <= ?)`,
    [fundId, date, date],
  );
  return result.rows[0]!;
}
