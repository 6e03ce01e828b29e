import type { Db, Trx } from '../db/knex';
import type { MemberStatus } from '../members/members.repo';
import { CLOSED_LOAN_STATES, liveEdgesRelation } from './guarantees.repo';

/**
 * SQL of joint guarantee groups (ADR 0016): the groups, their members with their consents, and
 * the figures of the loans a group backs. Every function takes the connection or transaction
 * first; the rules live in joint-groups.service.ts.
 */

// knex treats every "?" in raw SQL as a binding: the SQL below contains no other "?".

export type GroupStatus = 'proposed' | 'approved' | 'rejected' | 'declined' | 'withdrawn' | 'dissolved';
export type GroupConsent = 'pending' | 'accepted' | 'declined';

export interface GroupRow {
  id: string;
  fund_id: string;
  number: number;
  name: string;
  limit_amount: string;
  status: GroupStatus;
  proposed_by: string;
  proposer_member_id: string | null;
  proposed_at: Date;
  decision_item_id: string | null;
  decided_on: string | null;
  declined_at: Date | null;
  withdrawn_at: Date | null;
  withdrawn_by: string | null;
  withdrawal_reason: string | null;
  dissolved_on: string | null;
  created_at: Date;
  updated_at: Date;
  version: number;
  /** Of the committee item that decided the group (joined on every read). */
  resolution_number: string | null;
}

export type NewGroupRow = Pick<
  GroupRow,
  'fund_id' | 'number' | 'name' | 'limit_amount' | 'proposed_by' | 'proposer_member_id' | 'proposed_at'
> &
  Pick<GroupRow, 'created_at' | 'updated_at'>;

export type GroupChanges = Partial<
  Pick<
    GroupRow,
    | 'status'
    | 'decision_item_id'
    | 'decided_on'
    | 'declined_at'
    | 'withdrawn_at'
    | 'withdrawn_by'
    | 'withdrawal_reason'
    | 'dissolved_on'
  >
>;

export interface MembershipRow {
  fund_id: string;
  group_id: string;
  member_id: string;
  position: number;
  consent: GroupConsent;
  decided_by: string | null;
  decided_at: Date | null;
  decline_reason: string | null;
  joined_on: string | null;
  left_on: string | null;
  left_by: string | null;
  /** Of the member (joined on every read). */
  member_name: string;
  member_status: MemberStatus;
  related_group: string | null;
}

export type NewMembershipRow = Pick<
  MembershipRow,
  'fund_id' | 'group_id' | 'member_id' | 'position' | 'consent' | 'decided_by' | 'decided_at'
>;

export type MembershipChanges = Partial<
  Pick<MembershipRow, 'consent' | 'decided_by' | 'decided_at' | 'decline_reason' | 'joined_on' | 'left_on' | 'left_by'>
>;

const GROUP_COLUMNS = ['g.*', 'i.resolution_number'];

function groups(db: Db) {
  return db('joint_guarantee_groups as g')
    .leftJoin('committee_items as i', (join) =>
      join.on('i.fund_id', '=', 'g.fund_id').andOn('i.id', '=', 'g.decision_item_id'),
    )
    .select(GROUP_COLUMNS);
}

/**
 * The next number of the fund's groups, under a transaction-scoped advisory lock per fund, so two
 * proposals in flight take numbers one after the other without locking the fund's row.
 */
export async function nextGroupNumber(trx: Trx, fundId: string): Promise<number> {
  await trx.raw(`SELECT pg_advisory_xact_lock(hashtextextended('huzhu.joint_groups.number:' || ?::text, 0))`, [fundId]);
  const row = (await trx('joint_guarantee_groups').where({ fund_id: fundId }).max({ max: 'number' }).first()) as
    { max: number | null } | undefined;
  return (row?.max ?? 0) + 1;
}

export async function insertGroup(trx: Trx, row: NewGroupRow): Promise<string> {
  const rows = (await trx('joint_guarantee_groups').insert(row).returning('id')) as { id: string }[];
  return rows[0]!.id;
}

export async function insertMemberships(trx: Trx, rows: readonly NewMembershipRow[]): Promise<void> {
  await trx('joint_guarantee_group_members').insert([...rows]);
}

export async function findGroup(db: Db, fundId: string, groupId: string): Promise<GroupRow | undefined> {
  return (await groups(db).where({ 'g.fund_id': fundId, 'g.id': groupId }).first()) as GroupRow | undefined;
}

/** The group's row, locked until the transaction ends: every change to a group queues on it. */
export async function lockGroup(trx: Trx, fundId: string, groupId: string): Promise<GroupRow | undefined> {
  const locked = (await trx('joint_guarantee_groups')
    .where({ fund_id: fundId, id: groupId })
    .forUpdate()
    .first('id')) as { id: string } | undefined;
  return locked === undefined ? undefined : findGroup(trx, fundId, groupId);
}

/** Writes changes to a group the caller holds locked and bumps its version. */
export async function updateGroup(
  trx: Trx,
  fundId: string,
  groupId: string,
  changes: GroupChanges,
  now: Date,
): Promise<GroupRow> {
  const updated = await trx('joint_guarantee_groups')
    .where({ fund_id: fundId, id: groupId })
    .update({ ...changes, updated_at: now, version: trx.raw('version + 1') });
  if (updated !== 1) throw new Error(`joint guarantee group ${groupId} to update does not exist`);
  return (await findGroup(trx, fundId, groupId))!;
}

export async function groupsByIds(db: Db, fundId: string, groupIds: readonly string[]): Promise<GroupRow[]> {
  if (groupIds.length === 0) return [];
  return (await groups(db)
    .where('g.fund_id', fundId)
    .whereIn('g.id', [...groupIds])
    .orderBy('g.number')) as GroupRow[];
}

export interface ListGroupsFilter {
  status?: GroupStatus | undefined;
  /** Groups the member is (or was) in. */
  memberId?: string | undefined;
  /** Member users: the same rule, as a visibility limit. */
  visibleTo?: string | undefined;
  beforeNumber?: number | undefined;
  limit: number;
}

/** Newest first: by number. */
export async function listGroups(db: Db, fundId: string, filter: ListGroupsFilter): Promise<GroupRow[]> {
  const query = groups(db).where('g.fund_id', fundId).orderBy('g.number', 'desc').limit(filter.limit);
  if (filter.status !== undefined) query.andWhere('g.status', filter.status);
  for (const memberId of [filter.memberId, filter.visibleTo]) {
    if (memberId === undefined) continue;
    query.whereExists((exists) =>
      exists
        .select('gm.member_id')
        .from('joint_guarantee_group_members as gm')
        .whereRaw('gm.fund_id = g.fund_id AND gm.group_id = g.id')
        .andWhere('gm.member_id', memberId),
    );
  }
  if (filter.beforeNumber !== undefined) query.andWhere('g.number', '<', filter.beforeNumber);
  return (await query) as GroupRow[];
}

/** The memberships of the groups, in the order each proposal named its members. */
export async function membershipsOf(db: Db, fundId: string, groupIds: readonly string[]): Promise<MembershipRow[]> {
  if (groupIds.length === 0) return [];
  return (await db('joint_guarantee_group_members as gm')
    .join('members as m', (join) => join.on('m.fund_id', '=', 'gm.fund_id').andOn('m.id', '=', 'gm.member_id'))
    .where('gm.fund_id', fundId)
    .whereIn('gm.group_id', [...groupIds])
    .orderBy([
      { column: 'gm.group_id', order: 'asc' },
      { column: 'gm.position', order: 'asc' },
    ])
    .select('gm.*', 'm.name as member_name', 'm.status as member_status', 'm.related_group')) as MembershipRow[];
}

export async function updateMembership(
  trx: Trx,
  fundId: string,
  groupId: string,
  memberId: string,
  changes: MembershipChanges,
): Promise<void> {
  const updated = await trx('joint_guarantee_group_members')
    .where({ fund_id: fundId, group_id: groupId, member_id: memberId })
    .update(changes);
  if (updated !== 1) throw new Error(`membership of ${memberId} in group ${groupId} does not exist`);
}

/** Every current member of the group joins on the day of the committee's approval. */
export async function joinAll(trx: Trx, fundId: string, groupId: string, joinedOn: string): Promise<number> {
  return trx('joint_guarantee_group_members')
    .where({ fund_id: fundId, group_id: groupId, consent: 'accepted' })
    .whereNull('left_on')
    .update({ joined_on: joinedOn });
}

export interface MemberFacts {
  id: string;
  name: string;
  status: MemberStatus;
  related_group: string | null;
}

export async function memberFacts(db: Db, fundId: string, memberIds: readonly string[]): Promise<MemberFacts[]> {
  if (memberIds.length === 0) return [];
  return (await db('members')
    .where({ fund_id: fundId })
    .whereIn('id', [...new Set(memberIds)])
    .orderBy('id')
    .select('id', 'name', 'status', 'related_group')) as MemberFacts[];
}

/** The members of the given related groups, other than `exceptIds`, ordered by id. */
export async function relatedMembers(
  db: Db,
  fundId: string,
  relatedGroups: readonly string[],
  exceptIds: readonly string[],
): Promise<MemberFacts[]> {
  if (relatedGroups.length === 0) return [];
  return (await db('members')
    .where({ fund_id: fundId })
    .whereIn('related_group', [...new Set(relatedGroups)])
    .whereNotIn('id', [...exceptIds])
    .orderBy('id')
    .select('id', 'name', 'status', 'related_group')) as MemberFacts[];
}

export interface GroupLoanRow {
  id: string;
  number: number;
  borrower_member_id: string;
  lender: string;
  status: string;
  amount: string;
  /** What the group stands behind on the loan now: its guarantees' outstanding; 0 when none binds. */
  outstanding: string;
}

/**
 * The loans that name the group, newest first, each with what the group stands behind on it: the
 * outstanding of its group guarantees (each is for the whole loan, so all are equal: the largest
 * is taken), from the live guarantee graph.
 */
export async function groupLoans(db: Db, fundId: string, groupId: string): Promise<GroupLoanRow[]> {
  const edges = liveEdgesRelation(fundId);
  const result = await db.raw<{ rows: GroupLoanRow[] }>(
    `WITH e AS (${edges.sql})
     SELECT l.id, l.number, l.borrower_member_id, l.lender, l.status, l.amount::text AS amount,
            coalesce((SELECT max(e.outstanding::numeric) FROM e WHERE e.loan_id = l.id AND e.joint_group_id = l.joint_group_id),
                     0)::numeric(20, 2)::text AS outstanding
       FROM loans l
      WHERE l.fund_id = ? AND l.joint_group_id = ?
      ORDER BY l.number DESC`,
    [...edges.bindings, fundId, groupId],
  );
  return result.rows;
}

/** Loan states that commit a group's limit: approved, or disbursed and not closed. */
const NOT_YET_COMMITTED = ['draft', 'submitted', 'under_review'] as const;

/**
 * What the group's limit carries, other than `exceptLoanId`: for each of its loans approved or
 * disbursed and not closed, what the group stands behind on it (an approved loan's amount; a
 * disbursed one's principal not yet repaid, which is what its group guarantees still hold, rule
 * R-release; a written-off loan keeps it: the guarantors stay liable).
 */
export async function limitUsed(db: Db, fundId: string, groupId: string, exceptLoanId: string | null): Promise<string> {
  const edges = liveEdgesRelation(fundId);
  const result = await db.raw<{ rows: { used: string }[] }>(
    `WITH e AS (${edges.sql})
     SELECT coalesce(sum(per_loan.outstanding), 0)::numeric(20, 2)::text AS used
       FROM (SELECT max(e.outstanding::numeric) AS outstanding
               FROM e JOIN loans l ON l.fund_id = ? AND l.id = e.loan_id
              WHERE e.joint_group_id = ? AND l.joint_group_id = e.joint_group_id
                AND l.status NOT IN (${NOT_YET_COMMITTED.map((state) => `'${state}'`).join(', ')})
                AND l.id IS DISTINCT FROM ?::uuid
              GROUP BY e.loan_id) per_loan`,
    [...edges.bindings, fundId, groupId, exceptLoanId],
  );
  return result.rows[0]!.used;
}

/** The group's loans still outstanding for a member's leaving: any not in a closed state. */
export async function openLoanNumbers(db: Db, fundId: string, groupId: string): Promise<number[]> {
  const rows = (await db('loans')
    .where({ fund_id: fundId, joint_group_id: groupId })
    .whereNotIn('status', [...CLOSED_LOAN_STATES])
    .orderBy('number')
    .select('number')) as { number: number }[];
  return rows.map((row) => row.number);
}

export interface NewGroupGuaranteeRow {
  fund_id: string;
  loan_id: string;
  borrower_member_id: string;
  guarantor_member_id: string;
  joint_group_id: string;
  amount: string;
  decided_by: string;
  decided_at: Date;
  created_at: Date;
  updated_at: Date;
}

/**
 * The group's guarantees of a loan: joint and several, accepted by the member's consent to the
 * group. A member's earlier guarantee of the same loan that was dropped from the draft (withdrawn)
 * or declined is the same row (one per guarantor and loan): it becomes the group guarantee; the
 * caller has made sure no standing one exists.
 */
export async function insertGroupGuarantees(trx: Trx, rows: readonly NewGroupGuaranteeRow[]): Promise<string[]> {
  if (rows.length === 0) return [];
  const inserted = (await trx('loan_guarantees')
    .insert(rows.map((row) => ({ ...row, type: 'joint_and_several', status: 'accepted' })))
    .onConflict(['fund_id', 'loan_id', 'guarantor_member_id'])
    .merge({
      amount: trx.raw('excluded.amount'),
      type: 'joint_and_several',
      status: 'accepted',
      joint_group_id: trx.raw('excluded.joint_group_id'),
      decided_by: trx.raw('excluded.decided_by'),
      decided_at: trx.raw('excluded.decided_at'),
      decline_reason: null,
      circle: null,
      circle_flagged_at: null,
      updated_at: trx.raw('excluded.updated_at'),
    })
    .returning('id')) as { id: string }[];
  return inserted.map((row) => row.id);
}
