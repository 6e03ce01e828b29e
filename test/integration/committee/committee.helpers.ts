import { randomUUID } from 'node:crypto';
import { createMember } from '../../helpers/factories';
import { makeUser, TEST_TODAY, type Harness, type TestUser } from '../../helpers/harness';
import { snapshot } from '../../helpers/invariants';
import {
  api,
  applicationBody,
  consented,
  drafted,
  loanTables,
  loanWorld,
  submit,
  type ApplicationBody,
  type LoanWorld,
} from '../loans/loans.helpers';

/** Shared pieces of the committee tests (not a test file itself). */

export { api, TEST_TODAY };

export interface Seat {
  memberId: string;
  user: TestUser;
}

/** The loans world plus `seats` committee users, each bound to a member of its own; the first chairs June 2026. */
export interface CommitteeWorld extends LoanWorld {
  seats: Seat[];
  admin: TestUser;
}

export async function seat(h: Harness, fundId: string, memberId?: string): Promise<Seat> {
  const bound = memberId ?? (await createMember(h, fundId));
  return { memberId: bound, user: await makeUser(h, 'committee', { fundId, memberId: bound }) };
}

export async function committeeWorld(h: Harness, seats = 4): Promise<CommitteeWorld> {
  const w = await loanWorld(h);
  const list: Seat[] = [];
  for (let i = 0; i < seats; i += 1) list.push(await seat(h, w.fund.id));
  const world = { ...w, seats: list, admin: w.fund.admin };
  const rotation = await setRotation(h, world, [{ month: '2026-06', chairUserId: list[0]!.user.id }]);
  if (rotation.status !== 200) throw new Error(`rotation not set: ${rotation.status} ${rotation.text}`);
  return world;
}

export function setRotation(h: Harness, w: CommitteeWorld, months: { month: string; chairUserId: string }[]) {
  return h.http
    .put(api(`/funds/${w.fund.id}/committee/rotation`))
    .set(w.admin.auth)
    .send({ months });
}

/** The default application (200,000.00 pool loan, emergency), consented and submitted. */
export async function submitted(
  h: Harness,
  w: LoanWorld,
  overrides: Record<string, unknown> = {},
): Promise<ApplicationBody> {
  const draft = await drafted(h, w.fund.admin, w.fund.id, applicationBody(w, overrides));
  const loan = await consented(h, w.fund.id, draft, { [w.g1]: w.users.g1, [w.g2]: w.users.g2 });
  const response = await submit(h, w.fund.admin, w.fund.id, loan.id);
  if (response.status !== 200) throw new Error(`submission failed: ${response.status} ${response.text}`);
  return response.body as ApplicationBody;
}

export function convene(h: Harness, w: CommitteeWorld, body: Record<string, unknown>) {
  return h.http
    .post(api(`/funds/${w.fund.id}/meetings`))
    .set(w.admin.auth)
    .send({ heldOn: TEST_TODAY, ...body });
}

export interface MeetingBody {
  id: string;
  number: number;
  heldOn: string;
  chair: { userId: string };
  attendance: { userId: string }[];
  items: ItemBody[];
}

export interface ItemBody {
  id: string;
  kind: string;
  status: string;
  resolutionNumber: string | null;
  loan: { id: string; status: string; ratificationStatus: string | null };
  votes: { userId: string; vote: string; comment: string | null }[];
  recusals: { userId: string; reasons: string[]; detail: string }[];
  tally: Record<string, unknown> | null;
  failures: Record<string, unknown>[] | null;
}

/** Convenes a meeting today on the given applications and records `present` as attending. */
export async function meetingWith(
  h: Harness,
  w: CommitteeWorld,
  loanIds: string[],
  present: TestUser[],
): Promise<MeetingBody> {
  const created = await convene(h, w, { applicationIds: loanIds });
  if (created.status !== 201) throw new Error(`meeting not convened: ${created.status} ${created.text}`);
  const meeting = created.body as MeetingBody;
  if (present.length > 0) {
    const attended = await attend(h, w, meeting.id, present);
    if (attended.status !== 200) throw new Error(`attendance not recorded: ${attended.status} ${attended.text}`);
    return attended.body as MeetingBody;
  }
  return meeting;
}

export function attend(h: Harness, w: CommitteeWorld, meetingId: string, users: TestUser[]) {
  return h.http
    .post(api(`/funds/${w.fund.id}/meetings/${meetingId}/attendance`))
    .set(w.admin.auth)
    .send({ userIds: users.map((u) => u.id) });
}

export function vote(
  h: Harness,
  w: CommitteeWorld,
  user: TestUser,
  meetingId: string,
  itemId: string,
  choice: string,
  comment?: string,
) {
  return h.http
    .post(api(`/funds/${w.fund.id}/meetings/${meetingId}/items/${itemId}/votes`))
    .set(user.auth)
    .send({ vote: choice, ...(comment === undefined ? {} : { comment }) });
}

/** Every user votes as given and fails the test unless each vote is taken. */
export async function votes(
  h: Harness,
  w: CommitteeWorld,
  meetingId: string,
  itemId: string,
  cast: [TestUser, string][],
): Promise<void> {
  for (const [user, choice] of cast) {
    const response = await vote(h, w, user, meetingId, itemId, choice, `${choice} by ${user.username}`);
    if (response.status !== 201) throw new Error(`vote refused: ${response.status} ${response.text}`);
  }
}

export function decide(h: Harness, w: CommitteeWorld, meetingId: string, itemId: string, key = randomUUID()) {
  return h.http
    .post(api(`/funds/${w.fund.id}/meetings/${meetingId}/items/${itemId}/decide`))
    .set(w.admin.auth)
    .set('Idempotency-Key', key)
    .send({});
}

export function fastTrack(h: Harness, w: CommitteeWorld, user: TestUser, loanId: string) {
  return h.http
    .post(api(`/funds/${w.fund.id}/loan-applications/${loanId}/fast-track`))
    .set(user.auth)
    .set('Idempotency-Key', randomUUID())
    .send();
}

/** Everything a refused committee request must leave as it was. */
export async function everything(h: Harness, fundId: string): Promise<Record<string, unknown>> {
  const rows = (table: string, order = 'fund_id') =>
    h.db(table).where({ fund_id: fundId }).orderBy([order]).select('*');
  return {
    fund: await snapshot(h, fundId),
    loans: await loanTables(h, fundId),
    rotation: await rows('committee_rotation', 'month'),
    meetings: await rows('committee_meetings', 'id'),
    attendance: await h.db('committee_attendance').where({ fund_id: fundId }).orderBy(['meeting_id', 'user_id']),
    items: await rows('committee_items', 'id'),
    votes: await rows('committee_votes', 'id'),
    fastTrack: await rows('fast_track_approvals', 'id'),
  };
}
