import type { Db, Trx } from '../db/knex';
import type { MotionKind, MotionPartyRole } from './motions';

/**
 * SQL of the committee: rotation, meetings, attendance, agenda items, votes and fast-track
 * approvals. Every function takes the connection or transaction first; the rules live in
 * committee.service.ts.
 */

// knex treats every "?" in raw SQL as a binding: the SQL below contains no other "?".

export type Vote = 'approve' | 'reject' | 'abstain';
export type ItemKind = 'application' | 'ratification' | 'extension' | MotionKind;
export type ItemStatus =
  'open' | 'approved' | 'rejected' | 'ineligible' | 'no_quorum' | 'withdrawn' | 'ratified' | 'ratification_failed';

/** A committee user of the fund bound to the member enterprise it represents. */
export interface CommitteeMemberRow {
  user_id: string;
  username: string;
  member_id: string;
  member_name: string;
}

export interface MeetingRow {
  id: string;
  fund_id: string;
  number: number;
  held_on: string;
  chair_user_id: string;
  created_by: string | null;
  created_at: Date;
}

export interface AttendanceRow {
  meeting_id: string;
  user_id: string;
  member_id: string;
  recorded_by: string | null;
  recorded_at: Date;
}

export interface ItemRow {
  id: string;
  fund_id: string;
  meeting_id: string;
  /** The loan the item concerns; null only for a joint group's formation. */
  loan_id: string | null;
  /** The extension an `extension` item decides; null for the other kinds. */
  extension_id: string | null;
  /** The matter a motion decides (motions.ts); null for the other kinds. */
  motion_id: string | null;
  position: number;
  kind: ItemKind;
  status: ItemStatus;
  resolution_number: string | null;
  tally: unknown;
  recusals: unknown;
  failures: unknown;
  decided_by: string | null;
  decided_at: Date | null;
  created_at: Date;
}

export interface VoteRow {
  id: string;
  seq: string;
  fund_id: string;
  item_id: string;
  user_id: string;
  member_id: string;
  vote: Vote;
  comment: string | null;
  cast_at: Date;
}

export interface RotationRow {
  fund_id: string;
  month: string;
  chair_user_id: string;
  updated_by: string | null;
  updated_at: Date;
}

// ---------------------------------------------------------------------------------------------
// Committee members and the rotation

/** The fund's committee: enabled committee users of the fund bound to a member, by username. */
export async function committeeMembers(
  db: Db,
  fundId: string,
  userIds?: readonly string[],
): Promise<CommitteeMemberRow[]> {
  const query = db('users as u')
    .join('members as m', function on() {
      this.on('m.fund_id', '=', 'u.fund_id').andOn('m.id', '=', 'u.member_id');
    })
    .where({ 'u.fund_id': fundId, 'u.role': 'committee', 'u.disabled': false })
    .whereNotNull('u.member_id')
    .orderBy('u.username')
    .select('u.id as user_id', 'u.username', 'u.member_id', 'm.name as member_name');
  if (userIds !== undefined) query.whereIn('u.id', [...userIds]);
  return (await query) as CommitteeMemberRow[];
}

export async function usernames(db: Db, userIds: readonly string[]): Promise<Map<string, string>> {
  if (userIds.length === 0) return new Map();
  const rows = (await db('users')
    .whereIn('id', [...new Set(userIds)])
    .select('id', 'username')) as {
    id: string;
    username: string;
  }[];
  return new Map(rows.map((row) => [row.id, row.username]));
}

export async function memberNames(db: Db, fundId: string, memberIds: readonly string[]): Promise<Map<string, string>> {
  if (memberIds.length === 0) return new Map();
  const rows = (await db('members')
    .where({ fund_id: fundId })
    .whereIn('id', [...new Set(memberIds)])
    .select('id', 'name')) as { id: string; name: string }[];
  return new Map(rows.map((row) => [row.id, row.name]));
}

export async function rotation(db: Db, fundId: string): Promise<RotationRow[]> {
  return (await db('committee_rotation').where({ fund_id: fundId }).orderBy('month')) as RotationRow[];
}

export async function chairOf(db: Db, fundId: string, month: string): Promise<RotationRow | undefined> {
  return (await db('committee_rotation').where({ fund_id: fundId, month }).first()) as RotationRow | undefined;
}

export async function upsertRotation(
  trx: Trx,
  rows: readonly Omit<RotationRow, 'updated_at'>[],
  now: Date,
): Promise<void> {
  if (rows.length === 0) return;
  await trx('committee_rotation')
    .insert(rows.map((row) => ({ ...row, updated_at: now })))
    .onConflict(['fund_id', 'month'])
    .merge(['chair_user_id', 'updated_by', 'updated_at']);
}

// ---------------------------------------------------------------------------------------------
// Meetings and attendance

/** The next meeting number of the fund; a per-fund advisory lock orders concurrent conveners. */
export async function nextMeetingNumber(trx: Trx, fundId: string): Promise<number> {
  await trx.raw(`SELECT pg_advisory_xact_lock(hashtextextended('huzhu.committee.meeting:' || ?::text, 0))`, [fundId]);
  const row = (await trx('committee_meetings').where({ fund_id: fundId }).max({ max: 'number' }).first()) as
    { max: number | null } | undefined;
  return (row?.max ?? 0) + 1;
}

export async function insertMeeting(
  trx: Trx,
  meeting: Pick<MeetingRow, 'fund_id' | 'number' | 'held_on' | 'chair_user_id' | 'created_by' | 'created_at'>,
): Promise<MeetingRow> {
  const rows = (await trx('committee_meetings').insert(meeting).returning('*')) as MeetingRow[];
  return rows[0]!;
}

export async function findMeeting(db: Db, fundId: string, meetingId: string): Promise<MeetingRow | undefined> {
  return (await db('committee_meetings').where({ fund_id: fundId, id: meetingId }).first()) as MeetingRow | undefined;
}

export async function lockMeeting(trx: Trx, fundId: string, meetingId: string): Promise<MeetingRow | undefined> {
  return (await trx('committee_meetings').where({ fund_id: fundId, id: meetingId }).forUpdate().first()) as
    MeetingRow | undefined;
}

/** Newest first: by date, then number. */
export async function listMeetings(
  db: Db,
  fundId: string,
  page: { before?: { heldOn: string; number: number } | undefined; limit: number },
): Promise<MeetingRow[]> {
  const query = db('committee_meetings')
    .where({ fund_id: fundId })
    .orderBy([
      { column: 'held_on', order: 'desc' },
      { column: 'number', order: 'desc' },
    ])
    .limit(page.limit);
  if (page.before) query.andWhereRaw('(held_on, number) < (?::date, ?::int)', [page.before.heldOn, page.before.number]);
  return (await query) as MeetingRow[];
}

/** The earliest meeting held today or later: where a new ratification goes. */
export async function nextMeeting(db: Db, fundId: string, today: string): Promise<MeetingRow | undefined> {
  return (await db('committee_meetings')
    .where({ fund_id: fundId })
    .andWhere('held_on', '>=', today)
    .orderBy([
      { column: 'held_on', order: 'asc' },
      { column: 'number', order: 'asc' },
    ])
    .first()) as MeetingRow | undefined;
}

/** Adds who is present; somebody already recorded stays as first recorded. */
export async function addAttendance(
  trx: Trx,
  rows: readonly (Omit<AttendanceRow, 'recorded_at'> & { fund_id: string })[],
  now: Date,
): Promise<void> {
  if (rows.length === 0) return;
  await trx('committee_attendance')
    .insert(rows.map((row) => ({ ...row, recorded_at: now })))
    .onConflict(['meeting_id', 'user_id'])
    .ignore();
}

export async function attendance(db: Db, meetingId: string): Promise<AttendanceRow[]> {
  return (await db('committee_attendance')
    .where({ meeting_id: meetingId })
    .orderBy([
      { column: 'recorded_at', order: 'asc' },
      { column: 'user_id', order: 'asc' },
    ])) as AttendanceRow[];
}

// ---------------------------------------------------------------------------------------------
// Items and votes

export async function insertItems(
  trx: Trx,
  rows: readonly (Pick<ItemRow, 'fund_id' | 'meeting_id' | 'loan_id' | 'position' | 'kind' | 'created_at'> &
    Partial<Pick<ItemRow, 'extension_id' | 'motion_id'>>)[],
): Promise<ItemRow[]> {
  if (rows.length === 0) return [];
  return (await trx('committee_items')
    .insert([...rows])
    .returning('*')) as ItemRow[];
}

export async function itemsOf(db: Db, fundId: string, meetingId: string): Promise<ItemRow[]> {
  return (await db('committee_items')
    .where({ fund_id: fundId, meeting_id: meetingId })
    .orderBy('position')) as ItemRow[];
}

export async function lastPosition(trx: Trx, meetingId: string): Promise<number> {
  const row = (await trx('committee_items').where({ meeting_id: meetingId }).max({ max: 'position' }).first()) as
    { max: number | null } | undefined;
  return row?.max ?? 0;
}

export async function lockItem(
  trx: Trx,
  fundId: string,
  meetingId: string,
  itemId: string,
): Promise<ItemRow | undefined> {
  return (await trx('committee_items')
    .where({ fund_id: fundId, meeting_id: meetingId, id: itemId })
    .forUpdate()
    .first()) as ItemRow | undefined;
}

/** The loan's open application or ratification item (an extension of the loan has items of its own). */
export async function openItemOf(db: Db, fundId: string, loanId: string): Promise<ItemRow | undefined> {
  return (await db('committee_items')
    .where({ fund_id: fundId, loan_id: loanId, status: 'open' })
    .whereIn('kind', ['application', 'ratification'])
    .first()) as ItemRow | undefined;
}

export async function openItemOfMotion(
  db: Db,
  fundId: string,
  kind: MotionKind,
  motionId: string,
): Promise<ItemRow | undefined> {
  return (await db('committee_items').where({ fund_id: fundId, kind, motion_id: motionId, status: 'open' }).first()) as
    ItemRow | undefined;
}

export async function openItemOfExtension(db: Db, fundId: string, extensionId: string): Promise<ItemRow | undefined> {
  return (await db('committee_items').where({ fund_id: fundId, extension_id: extensionId, status: 'open' }).first()) as
    ItemRow | undefined;
}

export async function closeItem(
  trx: Trx,
  itemId: string,
  changes: Pick<
    ItemRow,
    'status' | 'resolution_number' | 'tally' | 'recusals' | 'failures' | 'decided_by' | 'decided_at'
  >,
): Promise<ItemRow> {
  const rows = (await trx('committee_items')
    .where({ id: itemId })
    .update({
      ...changes,
      tally: JSON.stringify(changes.tally),
      recusals: JSON.stringify(changes.recusals),
      failures: changes.failures === null ? null : JSON.stringify(changes.failures),
    })
    .returning('*')) as ItemRow[];
  return rows[0]!;
}

/**
 * The next resolution number of the fund for a date: "<date>-<n>". A per-fund-and-date advisory
 * lock makes two decisions of the same date take numbers one after the other.
 */
export async function nextResolutionNumber(trx: Trx, fundId: string, date: string): Promise<string> {
  await trx.raw(`SELECT pg_advisory_xact_lock(hashtextextended('huzhu.committee.resolution:' || ?::text, 0))`, [
    `${fundId}:${date}`,
  ]);
  const result = await trx.raw<{ rows: { n: number }[] }>(
    `SELECT count(*)::int AS n FROM committee_items WHERE fund_id = ? AND resolution_number LIKE ?`,
    [fundId, `${date}-%`],
  );
  return `${date}-${result.rows[0]!.n + 1}`;
}

export async function insertVote(trx: Trx, vote: Omit<VoteRow, 'id' | 'seq'>): Promise<VoteRow> {
  const rows = (await trx('committee_votes').insert(vote).returning('*')) as VoteRow[];
  return rows[0]!;
}

export async function votesOf(db: Db, itemIds: readonly string[]): Promise<VoteRow[]> {
  if (itemIds.length === 0) return [];
  return (await db('committee_votes')
    .whereIn('item_id', [...itemIds])
    .orderBy('seq')) as VoteRow[];
}

// ---------------------------------------------------------------------------------------------
// Loans seen by the committee

/** Loans approved by fast track whose ratification is pending and that are on no open item. */
export async function loansAwaitingRatification(db: Db, fundId: string): Promise<{ id: string }[]> {
  return (await db('loans as l')
    .where({ 'l.fund_id': fundId, 'l.ratification_status': 'pending' })
    .whereNotExists((sub) =>
      sub
        .select('i.id')
        .from('committee_items as i')
        .whereRaw('i.fund_id = l.fund_id AND i.loan_id = l.id')
        .andWhere('i.status', 'open')
        .whereIn('i.kind', ['application', 'ratification']),
    )
    .orderBy('l.number')
    .select('l.id')) as { id: string }[];
}

/** A member enterprise party to an item's matter: its representatives are recused. */
export interface PartyRow {
  member_id: string;
  member_name: string;
  role: MotionPartyRole;
}

export interface LoanPartyRow extends PartyRow {
  role: 'borrower' | 'guarantor' | 'peer_lender' | 'related_group';
}

/**
 * Everybody whose representative is recused from deciding the loan: the borrower, each guarantor
 * whose guarantee stands or stood (proposed, accepted, active, released — not declined or
 * withdrawn), the peer lender, and every other member of the borrower's related group.
 */
export async function loanParties(db: Db, fundId: string, loanId: string): Promise<LoanPartyRow[]> {
  const result = await db.raw<{ rows: LoanPartyRow[] }>(
    `SELECT p.member_id, m.name AS member_name, p.role
       FROM (
         SELECT l.borrower_member_id AS member_id, 'borrower' AS role, 1 AS ord FROM loans l
          WHERE l.fund_id = ? AND l.id = ?
         UNION ALL
         SELECT g.guarantor_member_id, 'guarantor', 2 FROM loan_guarantees g
          WHERE g.fund_id = ? AND g.loan_id = ? AND g.status IN ('proposed', 'accepted', 'active', 'released')
         UNION ALL
         SELECT l.peer_lender_member_id, 'peer_lender', 3 FROM loans l
          WHERE l.fund_id = ? AND l.id = ? AND l.peer_lender_member_id IS NOT NULL
         UNION ALL
         SELECT r.id, 'related_group', 4 FROM loans l
           JOIN members b ON b.fund_id = l.fund_id AND b.id = l.borrower_member_id
           JOIN members r ON r.fund_id = b.fund_id AND r.related_group = b.related_group AND r.id <> b.id
          WHERE l.fund_id = ? AND l.id = ?
       ) p
       JOIN members m ON m.fund_id = ? AND m.id = p.member_id
      ORDER BY p.ord, m.name`,
    [fundId, loanId, fundId, loanId, fundId, loanId, fundId, loanId, fundId],
  );
  return result.rows;
}

export interface AgendaLoanRow {
  id: string;
  number: number;
  borrower_member_id: string;
  borrower_name: string;
  amount: string;
  lender: string;
  emergency: boolean;
  status: string;
  fast_tracked: boolean;
  ratification_status: string | null;
}

export async function agendaLoans(db: Db, fundId: string, loanIds: readonly string[]): Promise<AgendaLoanRow[]> {
  if (loanIds.length === 0) return [];
  return (await db('loans as l')
    .join('members as m', function on() {
      this.on('m.fund_id', '=', 'l.fund_id').andOn('m.id', '=', 'l.borrower_member_id');
    })
    .where('l.fund_id', fundId)
    .whereIn('l.id', [...loanIds])
    .select(
      'l.id',
      'l.number',
      'l.borrower_member_id',
      'm.name as borrower_name',
      'l.amount',
      'l.lender',
      'l.emergency',
      'l.status',
      'l.fast_tracked',
      'l.ratification_status',
    )) as AgendaLoanRow[];
}

// ---------------------------------------------------------------------------------------------
// Fast track

export interface FastTrackApprovalRow {
  id: string;
  fund_id: string;
  loan_id: string;
  capacity: 'chair' | 'admin';
  user_id: string;
  approved_on: string;
  approved_at: Date;
}

export async function fastTrackApprovals(
  db: Db,
  fundId: string,
  loanId: string,
  approvedOn: string,
): Promise<FastTrackApprovalRow[]> {
  return (await db('fast_track_approvals')
    .where({ fund_id: fundId, loan_id: loanId, approved_on: approvedOn })
    .orderBy('approved_at')) as FastTrackApprovalRow[];
}

export async function insertFastTrackApproval(
  trx: Trx,
  row: Omit<FastTrackApprovalRow, 'id'>,
): Promise<FastTrackApprovalRow> {
  const rows = (await trx('fast_track_approvals').insert(row).returning('*')) as FastTrackApprovalRow[];
  return rows[0]!;
}

export interface RatificationRow {
  id: string;
  number: number;
  borrower_member_id: string;
  amount: string;
  status: string;
  approved_at: Date;
  ratification_status: 'pending' | 'ratified' | 'failed';
  ratification_item_id: string | null;
  resolution_number: string | null;
  meeting_id: string | null;
}

/** Fast-tracked loans, newest first, optionally by ratification state. */
export async function ratifications(
  db: Db,
  fundId: string,
  filter: { status?: string | undefined; beforeNumber?: number | undefined; limit: number },
): Promise<RatificationRow[]> {
  const query = db('loans as l')
    .leftJoin('committee_items as i', function on() {
      this.on('i.fund_id', '=', 'l.fund_id').andOn('i.id', '=', 'l.ratification_item_id');
    })
    .where({ 'l.fund_id': fundId, 'l.fast_tracked': true })
    .orderBy('l.number', 'desc')
    .limit(filter.limit)
    .select(
      'l.id',
      'l.number',
      'l.borrower_member_id',
      'l.amount',
      'l.status',
      'l.approved_at',
      'l.ratification_status',
      'l.ratification_item_id',
      'i.resolution_number',
      'i.meeting_id',
    );
  if (filter.status !== undefined) query.andWhere('l.ratification_status', filter.status);
  if (filter.beforeNumber !== undefined) query.andWhere('l.number', '<', filter.beforeNumber);
  return (await query) as RatificationRow[];
}

/** Fast-tracked loans waiting for ratification: how many, their amounts, the newest ids. */
export async function pendingRatifications(
  db: Db,
  fundId: string,
  idsMax: number,
): Promise<{ count: number; amount: string; loan_ids: string[] }> {
  const result = await db.raw<{ rows: { count: number; amount: string; loan_ids: string[] | null }[] }>(
    `SELECT count(*)::int AS count, coalesce(sum(l.amount), 0)::text AS amount,
            (array_agg(l.id::text ORDER BY l.number DESC))[1:?::int] AS loan_ids
       FROM loans l
      WHERE l.fund_id = ? AND l.fast_tracked AND l.ratification_status = 'pending'`,
    [idsMax, fundId],
  );
  const row = result.rows[0]!;
  return { count: row.count, amount: row.amount, loan_ids: row.loan_ids ?? [] };
}
