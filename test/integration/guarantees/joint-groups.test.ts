import { randomUUID } from 'node:crypto';
import { createFund, createMember, fundPool, type TestFund } from '../../helpers/factories';
import { makeUser, startHarness, TEST_TODAY, type Harness, type TestUser } from '../../helpers/harness';
import { snapshot } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';
import { attend, convene, decide, setRotation, votes, type CommitteeWorld } from '../committee/committee.helpers';
import { approveByContract, balanceOf, disburse } from '../disbursements/disbursements.helpers';
import { api, type ApplicationBody } from '../loans/loans.helpers';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

/**
 * A fund with members A–E, each with 100,000.00 paid in (guarantor capacity 2 × = 200,000.00,
 * borrowing limit 3 × = 300,000.00), a large member paying in 2,000,000.00 (pool capital
 * 2,500,000.00: single-borrower limit 500,000.00), and three committee seats bound to members of
 * their own; the first chairs June 2026. Each of A–E has a member user.
 */
type Letter = 'A' | 'B' | 'C' | 'D' | 'E';
const LETTERS: readonly Letter[] = ['A', 'B', 'C', 'D', 'E'];

interface World {
  fund: TestFund;
  ids: Record<Letter, string>;
  names: Record<Letter, string>;
  users: Record<Letter, TestUser>;
  seats: { memberId: string; user: TestUser }[];
  auditor: TestUser;
}

async function world(): Promise<World> {
  const fund = await createFund(h);
  const ids = {} as Record<Letter, string>;
  const names = {} as Record<Letter, string>;
  const users = {} as Record<Letter, TestUser>;
  for (const letter of LETTERS) {
    ids[letter] = await createMember(h, fund.id);
    await fundPool(h, fund, '100000.00', ids[letter]);
    names[letter] = ((await h.db('members').where({ id: ids[letter] }).first('name')) as { name: string }).name;
    users[letter] = await makeUser(h, 'member', { fundId: fund.id, memberId: ids[letter] });
  }
  await fundPool(h, fund, '2000000.00', await createMember(h, fund.id));
  const seats = [];
  for (let i = 0; i < 3; i += 1) {
    const memberId = await createMember(h, fund.id);
    seats.push({ memberId, user: await makeUser(h, 'committee', { fundId: fund.id, memberId }) });
  }
  const w = { fund, ids, names, users, seats, auditor: await makeUser(h, 'auditor', { fundId: fund.id }) };
  const rotation = await setRotation(h, asCommittee(w), [{ month: '2026-06', chairUserId: seats[0]!.user.id }]);
  if (rotation.status !== 200) throw new Error(`rotation not set: ${rotation.status} ${rotation.text}`);
  return w;
}

/** The committee test functions read only the fund and its administrator. */
const asCommittee = (w: World) => ({ fund: w.fund, admin: w.fund.admin }) as unknown as CommitteeWorld;

interface GroupBody {
  id: string;
  number: number;
  status: string;
  limit: string;
  proposerMemberId: string | null;
  members: {
    memberId: string;
    consent: { status: string; decidedBy: string | null; decidedAt: string | null; reason: string | null };
    joinedOn: string | null;
    leftOn: string | null;
    current: boolean;
  }[];
  decision: { itemId: string; resolution: string | null; decidedOn: string } | null;
  loans: { id: string; number: number; status: string; amount: string; outstanding: string }[];
  limitUsed: string;
  limitFree: string;
  dissolvedOn: string | null;
  version: number;
}

function propose(user: TestUser, w: World, members: readonly Letter[], limit: string, name = '联保小组') {
  return h.http
    .post(api(`/funds/${w.fund.id}/joint-groups`))
    .set(user.auth)
    .send({ name, limit, memberIds: members.map((letter) => w.ids[letter]) });
}

function consentTo(w: World, groupId: string, by: Letter, body: Record<string, unknown> = { decision: 'accept' }) {
  return h.http
    .post(api(`/funds/${w.fund.id}/joint-groups/${groupId}/consent`))
    .set(w.users[by].auth)
    .send(body);
}

function getGroup(w: World, groupId: string, user: TestUser = w.fund.admin) {
  return h.http.get(api(`/funds/${w.fund.id}/joint-groups/${groupId}`)).set(user.auth);
}

function leave(w: World, groupId: string, member: Letter, user: TestUser = w.users[member]) {
  return h.http
    .post(api(`/funds/${w.fund.id}/joint-groups/${groupId}/members/${w.ids[member]}/leave`))
    .set(user.auth)
    .send();
}

/** Proposed by the first member's user (who agrees by proposing) and agreed by every other. */
async function agreedGroup(w: World, members: readonly Letter[], limit: string): Promise<GroupBody> {
  const proposed = await propose(w.users[members[0]!], w, members, limit);
  if (proposed.status !== 201) throw new Error(`proposal failed: ${proposed.status} ${proposed.text}`);
  let group = proposed.body as GroupBody;
  for (const letter of members.slice(1)) {
    const agreed = await consentTo(w, group.id, letter);
    if (agreed.status !== 200) throw new Error(`consent failed: ${agreed.status} ${agreed.text}`);
    group = agreed.body as GroupBody;
  }
  return group;
}

interface ItemBody {
  id: string;
  kind: string;
  status: string;
  resolutionNumber: string | null;
  recusals: { userId: string; reasons: string[] }[];
  failures: Record<string, unknown>[] | null;
}

/** A meeting today on the group, the three seats present and voting as given, then decided. */
async function committeeDecides(w: World, groupId: string, choices: string[], present: TestUser[] = []) {
  const convened = await convene(h, asCommittee(w), { jointGroupIds: [groupId] });
  if (convened.status !== 201) throw new Error(`meeting not convened: ${convened.status} ${convened.text}`);
  const meeting = convened.body as { id: string; items: ItemBody[] };
  const seats = w.seats.map((s) => s.user);
  const attended = await attend(h, asCommittee(w), meeting.id, [...seats, ...present]);
  if (attended.status !== 200) throw new Error(`attendance failed: ${attended.status} ${attended.text}`);
  const item = meeting.items.find((i) => i.kind === 'joint_group')!;
  await votes(
    h,
    asCommittee(w),
    meeting.id,
    item.id,
    choices.map((choice, index) => [seats[index]!, choice]),
  );
  const decided = await decide(h, asCommittee(w), meeting.id, item.id);
  if (decided.status !== 200) throw new Error(`decision failed: ${decided.status} ${decided.text}`);
  return { meetingId: meeting.id, item: decided.body as ItemBody };
}

async function approvedGroup(w: World, members: readonly Letter[], limit: string): Promise<GroupBody> {
  const group = await agreedGroup(w, members, limit);
  const { item } = await committeeDecides(w, group.id, ['approve', 'approve', 'approve']);
  if (item.status !== 'approved') throw new Error(`group not approved: ${JSON.stringify(item)}`);
  return (await getGroup(w, group.id)).body as GroupBody;
}

/** A 60-day bullet pool loan drafted by the borrower's user; `cover` adds a deposit counted in full. */
function draftLoan(
  w: World,
  borrower: Letter,
  amount: string,
  extra: { jointGroupId?: string; guarantors?: { by: Letter; amount: string }[]; cover?: string } = {},
) {
  return h.http
    .post(api(`/funds/${w.fund.id}/loan-applications`))
    .set(w.users[borrower].auth)
    .send({
      borrowerMemberId: w.ids[borrower],
      amount,
      purpose: '周转',
      termDays: 60,
      repaymentMethod: 'bullet',
      emergency: false,
      wantedOn: TEST_TODAY,
      lender: { type: 'pool' },
      ...(extra.jointGroupId === undefined ? {} : { jointGroupId: extra.jointGroupId }),
      guarantors: (extra.guarantors ?? []).map((g) => ({
        memberId: w.ids[g.by],
        amount: g.amount,
        type: 'joint_and_several',
      })),
      collateral:
        extra.cover === undefined
          ? []
          : [
              {
                description: '定期存单',
                kind: 'deposit',
                valuation: extra.cover,
                valuedOn: TEST_TODAY,
                haircutPct: '0',
              },
            ],
    });
}

function submitLoan(w: World, loanId: string) {
  return h.http
    .post(api(`/funds/${w.fund.id}/loan-applications/${loanId}/submit`))
    .set(w.fund.admin.auth)
    .send();
}

async function drafted(w: World, ...args: Parameters<typeof draftLoan> extends [World, ...infer R] ? R : never) {
  const response = await draftLoan(w, ...args);
  if (response.status !== 201) throw new Error(`draft failed: ${response.status} ${response.text}`);
  return response.body as ApplicationBody;
}

async function groupTables(fundId: string) {
  return {
    fund: await snapshot(h, fundId),
    groups: await h.db('joint_guarantee_groups').where({ fund_id: fundId }).orderBy('id'),
    members: await h.db('joint_guarantee_group_members').where({ fund_id: fundId }).orderBy(['group_id', 'member_id']),
    loans: await h.db('loans').where({ fund_id: fundId }).orderBy('id'),
    guarantees: await h.db('loan_guarantees').where({ fund_id: fundId }).orderBy('id'),
  };
}

async function auditActions(fundId: string, targetId: string): Promise<string[]> {
  const rows = (await h
    .db('audit_log as a')
    .join('audit_links as l', 'l.audit_id', 'a.id')
    .where({ 'a.fund_id': fundId, 'a.target_id': targetId })
    .orderBy('l.seq')
    .select('a.action')) as { action: string }[];
  return rows.map((row) => row.action);
}

describe('forming a group', () => {
  test('when a member proposes a group and the others agree, then the committee approves it through a meeting at which the members and their related group are recused', async () => {
    const w = await world();
    // R shares a related group with C: its representative is recused as well.
    const related = await createMember(h, w.fund.id);
    await h.db('members').whereIn('id', [w.ids.C, related]).update({ related_group: 'RG-C' });
    const seatB = await makeUser(h, 'committee', { fundId: w.fund.id, memberId: w.ids.B });
    const seatR = await makeUser(h, 'committee', { fundId: w.fund.id, memberId: related });

    const proposed = await propose(w.users.A, w, ['A', 'B', 'C'], '150000.00', '第一联保小组');
    expect(proposed.status).toBe(201);
    const group = proposed.body as GroupBody;
    expect(group).toMatchObject({ status: 'proposed', limit: '150000.00', proposerMemberId: w.ids.A });
    // The proposer's member agreed by proposing; the others are asked.
    expect(group.members.map((m) => [m.memberId, m.consent.status, m.joinedOn])).toEqual([
      [w.ids.A, 'accepted', null],
      [w.ids.B, 'pending', null],
      [w.ids.C, 'pending', null],
    ]);
    expect(group.members[0]!.consent.decidedBy).toBe(w.users.A.id);

    // Not on an agenda while a member has not agreed.
    const early = await convene(h, asCommittee(w), { jointGroupIds: [group.id] });
    expectProblem(early, 409, 'joint_group_consents_pending');
    expect(early.body.members).toEqual([
      { id: w.ids.B, name: w.names.B, consent: 'pending' },
      { id: w.ids.C, name: w.names.C, consent: 'pending' },
    ]);

    expect((await consentTo(w, group.id, 'B')).status).toBe(200);
    const again = await consentTo(w, group.id, 'B');
    expectProblem(again, 409, 'joint_group_consent_already_decided');
    expect((await consentTo(w, group.id, 'C')).status).toBe(200);

    const { item } = await committeeDecides(w, group.id, ['approve', 'approve', 'reject'], [seatB, seatR]);
    expect(item.status).toBe('approved');
    expect(item.resolutionNumber).toBe(`${TEST_TODAY}-1`);
    const recused = Object.fromEntries(item.recusals.map((r) => [r.userId, r.reasons]));
    expect(recused).toEqual({ [seatB.id]: ['group_member'], [seatR.id]: ['group_related'] });

    const approved = (await getGroup(w, group.id)).body as GroupBody;
    expect(approved).toMatchObject({
      status: 'approved',
      decision: { itemId: item.id, resolution: `${TEST_TODAY}-1`, decidedOn: TEST_TODAY },
      loans: [],
      limitUsed: '0.00',
      limitFree: '150000.00',
    });
    expect(approved.members.map((m) => [m.consent.status, m.joinedOn, m.current])).toEqual([
      ['accepted', TEST_TODAY, true],
      ['accepted', TEST_TODAY, true],
      ['accepted', TEST_TODAY, true],
    ]);
    expect(await auditActions(w.fund.id, group.id)).toEqual([
      'joint_groups.group.propose',
      'joint_groups.consent.accept',
      'joint_groups.consent.accept',
      'joint_groups.group.approve',
    ]);
  });

  test('when the committee votes a group down, then it is rejected with the resolution', async () => {
    const w = await world();
    const group = await agreedGroup(w, ['A', 'B', 'C'], '90000.00');
    const { item } = await committeeDecides(w, group.id, ['reject', 'reject', 'approve']);
    expect(item.status).toBe('rejected');
    const rejected = (await getGroup(w, group.id)).body as GroupBody;
    expect(rejected).toMatchObject({
      status: 'rejected',
      decision: { itemId: item.id, resolution: item.resolutionNumber, decidedOn: TEST_TODAY },
    });
    expect(rejected.members.every((m) => m.joinedOn === null)).toBe(true);
    // A rejected group backs no loan.
    const draft = await draftLoan(w, 'A', '1000.00', { jointGroupId: group.id, cover: '1000.00' });
    expectProblem(draft, 422, 'joint_group_not_usable');
  });

  test('when a member declines, then the proposal ends as declined and nobody may still decide on it', async () => {
    const w = await world();
    const proposed = await propose(w.fund.admin, w, ['C', 'D', 'E'], '50000.00');
    expect(proposed.status).toBe(201);
    const group = proposed.body as GroupBody;
    // An administrator proposed: every member is asked, none agreed yet.
    expect(group.proposerMemberId).toBeNull();
    expect(group.members.map((m) => m.consent.status)).toEqual(['pending', 'pending', 'pending']);
    expect((await consentTo(w, group.id, 'D')).status).toBe(200);
    const declined = await consentTo(w, group.id, 'E', { decision: 'decline', reason: '不愿承担连带责任' });
    expect(declined.status).toBe(200);
    expect(declined.body).toMatchObject({ status: 'declined' });
    expect((declined.body as GroupBody).members[2]!.consent).toMatchObject({
      status: 'declined',
      decidedBy: w.users.E.id,
      reason: '不愿承担连带责任',
    });
    const before = await groupTables(w.fund.id);
    expectProblem(await consentTo(w, group.id, 'C'), 409, 'joint_group_not_proposed');
    expectProblem(await convene(h, asCommittee(w), { jointGroupIds: [group.id] }), 409, 'joint_group_not_proposed');
    expect(await groupTables(w.fund.id)).toEqual(before);
  });

  test('when a group is withdrawn while on an open agenda, then only its proposer or an administrator may, and the item closes withdrawn', async () => {
    const w = await world();
    const group = await agreedGroup(w, ['A', 'B', 'C'], '90000.00');
    const convened = await convene(h, asCommittee(w), { jointGroupIds: [group.id] });
    expect(convened.status).toBe(201);
    const meeting = convened.body as { id: string; items: ItemBody[] };
    const item = meeting.items.find((i) => i.kind === 'joint_group')!;

    const before = await groupTables(w.fund.id);
    const byOther = await h.http
      .post(api(`/funds/${w.fund.id}/joint-groups/${group.id}/withdraw`))
      .set(w.users.B.auth)
      .send({ reason: '改组' });
    expectProblem(byOther, 403, 'joint_group_not_proposer');
    expect(await groupTables(w.fund.id)).toEqual(before);

    const withdrawn = await h.http
      .post(api(`/funds/${w.fund.id}/joint-groups/${group.id}/withdraw`))
      .set(w.users.A.auth)
      .send({ reason: '改组' });
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body).toMatchObject({ status: 'withdrawn', withdrawal: { by: w.users.A.id, reason: '改组' } });

    await attend(
      h,
      asCommittee(w),
      meeting.id,
      w.seats.map((s) => s.user),
    );
    const decided = await decide(h, asCommittee(w), meeting.id, item.id);
    expect(decided.status).toBe(200);
    expect(decided.body).toMatchObject({ status: 'withdrawn', resolutionNumber: null });
    expect((await getGroup(w, group.id)).body).toMatchObject({ status: 'withdrawn', decision: null });
  });

  test('when two members are of one related group, then the proposal is refused naming them and nothing changes; a relation arising before the decision makes the item ineligible', async () => {
    const w = await world();
    await h.db('members').whereIn('id', [w.ids.D, w.ids.E]).update({ related_group: 'RG-DE' });
    const before = await groupTables(w.fund.id);
    const refused = await propose(w.users.A, w, ['A', 'D', 'E'], '90000.00');
    expectProblem(refused, 422, 'joint_group_related_members');
    expect(refused.body.conflicts).toEqual([
      {
        relatedGroup: 'RG-DE',
        members: [
          { id: w.ids.D, name: w.names.D },
          { id: w.ids.E, name: w.names.E },
        ],
      },
    ]);
    expect(await groupTables(w.fund.id)).toEqual(before);

    // B and C become related after they agreed: the committee's approval is refused by the rule.
    const group = await agreedGroup(w, ['A', 'B', 'C'], '90000.00');
    await h.db('members').whereIn('id', [w.ids.B, w.ids.C]).update({ related_group: 'RG-BC' });
    const { meetingId, item } = await committeeDecides(w, group.id, ['approve', 'approve', 'approve']);
    expect(item.status).toBe('ineligible');
    // The minutes give the rule's own sentence; this rule has no limit or figure to print.
    const minutes = await h.http
      .get(api(`/funds/${w.fund.id}/meetings/${meetingId}/minutes`))
      .set(w.auditor.auth)
      .set('Accept', 'text/markdown');
    expect(minutes.status).toBe(200);
    const failureLine = `- rule joint_group_related_members: ${String(item.failures?.[0]?.detail)}`;
    expect(minutes.text.split('\n')).toContain(failureLine);
    expect(minutes.text).not.toContain('undefined');
    expect(item.failures).toEqual([
      expect.objectContaining({
        rule: 'joint_group_related_members',
        members: [
          { id: w.ids.B, name: w.names.B },
          { id: w.ids.C, name: w.names.C },
        ],
      }),
    ]);
    // The group still waits: another meeting may decide it once the cause is gone.
    expect((await getGroup(w, group.id)).body).toMatchObject({ status: 'proposed', decision: null });
  });

  test('when a proposal breaks a rule of its members, then it is refused and nothing changes', async () => {
    const w = await world();
    const before = await groupTables(w.fund.id);
    // A member user proposes only a group its own enterprise is in.
    expectProblem(await propose(w.users.A, w, ['B', 'C', 'D'], '90000.00'), 403, 'joint_group_proposer_not_member');
    expectProblem(
      await h.http
        .post(api(`/funds/${w.fund.id}/joint-groups`))
        .set(w.fund.admin.auth)
        .send({ name: 'x', limit: '1.00', memberIds: [w.ids.A, w.ids.B, randomUUID()] }),
      422,
      'joint_group_member_unknown',
    );
    await h.db('members').where({ id: w.ids.E }).update({ status: 'suspended' });
    const inactive = await propose(w.fund.admin, w, ['A', 'B', 'E'], '90000.00');
    expectProblem(inactive, 422, 'joint_group_member_inactive');
    expect(inactive.body.members).toEqual([{ id: w.ids.E, name: w.names.E, status: 'suspended' }]);
    await h.db('members').where({ id: w.ids.E }).update({ status: 'active' });
    // Two members only, six, one named twice, a limit with three decimals: the request is malformed.
    for (const body of [
      { name: 'x', limit: '1.00', memberIds: [w.ids.A, w.ids.B] },
      { name: 'x', limit: '1.00', memberIds: [...LETTERS.map((l) => w.ids[l]), randomUUID()] },
      { name: 'x', limit: '1.00', memberIds: [w.ids.A, w.ids.B, w.ids.A] },
      { name: 'x', limit: '1.001', memberIds: [w.ids.A, w.ids.B, w.ids.C] },
      { name: 'x', limit: '0.00', memberIds: [w.ids.A, w.ids.B, w.ids.C] },
    ]) {
      const response = await h.http
        .post(api(`/funds/${w.fund.id}/joint-groups`))
        .set(w.fund.admin.auth)
        .send(body);
      expect(response.status).toBe(400);
    }
    expect(await groupTables(w.fund.id)).toEqual(before);
  });
});

describe('reading groups', () => {
  test('when member users read groups, then they see only those their enterprise is or was in; others are not found', async () => {
    const w = await world();
    const abc = await agreedGroup(w, ['A', 'B', 'C'], '90000.00');
    const cde = await agreedGroup(w, ['C', 'D', 'E'], '60000.00');
    const list = async (user: TestUser, query = '') =>
      (await h.http.get(api(`/funds/${w.fund.id}/joint-groups${query}`)).set(user.auth)).body as {
        items: { id: string }[];
        nextCursor: string | null;
      };
    expect((await list(w.users.A)).items.map((g) => g.id)).toEqual([abc.id]);
    expect((await list(w.users.E)).items.map((g) => g.id)).toEqual([cde.id]);
    expect((await list(w.users.C)).items.map((g) => g.id)).toEqual([cde.id, abc.id]);
    expect((await list(w.auditor)).items.map((g) => g.id)).toEqual([cde.id, abc.id]);
    expect((await list(w.auditor, `?memberId=${w.ids.A}`)).items.map((g) => g.id)).toEqual([abc.id]);
    expect((await list(w.auditor, '?status=approved')).items).toEqual([]);
    const first = await list(w.auditor, '?limit=1');
    expect(first.items.map((g) => g.id)).toEqual([cde.id]);
    expect((await list(w.auditor, `?limit=1&cursor=${first.nextCursor}`)).items.map((g) => g.id)).toEqual([abc.id]);

    expectProblem(await getGroup(w, abc.id, w.users.E), 404, 'joint_group_not_found');
    expect((await getGroup(w, abc.id, w.users.A)).status).toBe(200);
    expectProblem(await getGroup(w, randomUUID()), 404, 'joint_group_not_found');
    // Acting on a group one cannot see is "not found" too, and changes nothing.
    const before = await groupTables(w.fund.id);
    expectProblem(await consentTo(w, abc.id, 'E'), 404, 'joint_group_not_found');
    expectProblem(await leave(w, abc.id, 'E'), 404, 'joint_group_not_found');
    expect(await groupTables(w.fund.id)).toEqual(before);
    // A group of another fund is not found in this one.
    const other = await world();
    expectProblem(await getGroup(other, abc.id), 404, 'joint_group_not_found');
  });
});

describe('loans backed by a group', () => {
  test('the whole life: automatic guarantees, coverage once, shares in capacity, the limit, leaving refused while outstanding, dissolution', async () => {
    const w = await world();
    const group = await approvedGroup(w, ['A', 'B', 'C'], '150000.00');

    // Loan 1: A borrows 90,000.01 backed by the group, with no other cover.
    const draft = await drafted(w, 'A', '90000.01', { jointGroupId: group.id });
    expect(draft).toMatchObject({ jointGroupId: group.id, guarantees: [] });
    const submitted = await submitLoan(w, draft.id);
    expect(submitted.status).toBe(200);
    const loan1 = submitted.body as {
      id: string;
      number: number;
      coverage: Record<string, unknown>;
      guarantees: {
        memberId: string;
        amount: string;
        type: string;
        status: string;
        jointGroupId?: string;
        decidedBy: string;
      }[];
    };
    const consents = ((await getGroup(w, group.id)).body as GroupBody).members;
    const consentOf = (letter: Letter) => consents.find((m) => m.memberId === w.ids[letter])!.consent;
    // B and C guarantee the whole loan each, jointly and severally, accepted by their consent to the group.
    expect(loan1.guarantees.map((g) => [g.memberId, g.amount, g.type, g.status, g.jointGroupId, g.decidedBy])).toEqual(
      expect.arrayContaining([
        [w.ids.B, '90000.01', 'joint_and_several', 'accepted', group.id, consentOf('B').decidedBy],
        [w.ids.C, '90000.01', 'joint_and_several', 'accepted', group.id, consentOf('C').decidedBy],
      ]),
    );
    expect(loan1.guarantees).toHaveLength(2);
    // Counted once: the loan's amount, not 2 × 90,000.01.
    expect(loan1.coverage).toMatchObject({ guarantees: '90000.01', total: '90000.01', required: '90000.01' });

    await approveByContract(h, w.fund.id, loan1.id);
    expect((await getGroup(w, group.id)).body).toMatchObject({ limitUsed: '90000.01', limitFree: '59999.99' });
    const paid = await disburse(h, w.fund.admin, w.fund.id, loan1.id, { bankReference: `JG-${randomUUID()}` });
    expect(paid.status).toBe(201);
    // Each guarantor's memo account holds the whole loan; the contra holds both.
    expect(await balanceOf(h, w.fund.id, `7001:${w.ids.B}`)).toBe('90000.01');
    expect(await balanceOf(h, w.fund.id, `7001:${w.ids.C}`)).toBe('90000.01');
    expect(await balanceOf(h, w.fund.id, '7002')).toBe('180000.02');
    // The exposure report counts each guarantor's share: 90,000.01 / 2 = 45,000.005 → 45,000.01.
    const exposure = await h.http.get(api(`/funds/${w.fund.id}/reports/exposure`)).set(w.fund.admin.auth);
    expect(exposure.status).toBe(200);
    const given = (letter: Letter) =>
      (exposure.body.members as { member: { memberId: string }; guaranteesGiven: unknown }[]).find(
        (row) => row.member.memberId === w.ids[letter],
      )?.guaranteesGiven;
    for (const letter of ['B', 'C'] as const) {
      expect(given(letter)).toEqual({ own: '0.00', jointGroupShare: '45000.01', total: '45000.01' });
    }
    expect(given('A')).toEqual({ own: '0.00', jointGroupShare: '0.00', total: '0.00' });
    expect((await getGroup(w, group.id)).body).toMatchObject({
      limitUsed: '90000.01',
      limitFree: '59999.99',
      loans: [{ id: loan1.id, status: 'active', amount: '90000.01', outstanding: '90000.01' }],
    });

    // Capacity counts B's share only: 90,000.01 / 2 = 45,000.005 → 45,000.01 (half-up). B's capacity
    // is 200,000.00, so another guarantee of 154,999.99 fits and one of 155,000.00 does not.
    const tooMuch = await drafted(w, 'D', '160000.00', {
      guarantors: [{ by: 'B', amount: '155000.00' }],
      cover: '160000.00',
    });
    await h.http
      .post(api(`/funds/${w.fund.id}/loan-applications/${tooMuch.id}/guarantees/${tooMuch.guarantees[0]!.id}/consent`))
      .set(w.users.B.auth)
      .send({ decision: 'accept' });
    const refused = await submitLoan(w, tooMuch.id);
    expectProblem(refused, 422, 'loan_ineligible');
    expect(refused.body).toMatchObject({
      rule: 'guarantor_capacity',
      limit: '200000.00',
      actual: '200000.01',
      memberId: w.ids.B,
    });
    // Its accepted pledge would count as a forecast against the next one: the draft goes.
    const dropped = await h.http
      .post(api(`/funds/${w.fund.id}/loan-applications/${tooMuch.id}/withdraw`))
      .set(w.users.D.auth)
      .send({ reason: '改用其他担保' });
    expect(dropped.status).toBe(200);
    const fits = await drafted(w, 'E', '160000.00', {
      guarantors: [{ by: 'B', amount: '154999.99' }],
      cover: '160000.00',
    });
    await h.http
      .post(api(`/funds/${w.fund.id}/loan-applications/${fits.id}/guarantees/${fits.guarantees[0]!.id}/consent`))
      .set(w.users.B.auth)
      .send({ decision: 'accept' });
    expect((await submitLoan(w, fits.id)).status).toBe(200);

    // Loan 2: B asks 60,000.00 backed by the group: 90,000.01 + 60,000.00 = 150,000.01 > 150,000.00.
    const over = await drafted(w, 'B', '60000.00', { jointGroupId: group.id });
    const before = await groupTables(w.fund.id);
    const limitRefused = await submitLoan(w, over.id);
    expectProblem(limitRefused, 422, 'loan_ineligible');
    expect(limitRefused.body).toMatchObject({ rule: 'joint_group_limit', limit: '150000.00', actual: '150000.01' });
    // The group covers at most its free limit, 59,999.99, short of the 60,000.00 required.
    expect(limitRefused.body.failures).toContainEqual(
      expect.objectContaining({ rule: 'guarantee_coverage', limit: '60000.00', actual: '59999.99' }),
    );
    expect(await groupTables(w.fund.id)).toEqual(before);

    // C may not leave while loan 1 is outstanding.
    const leaveRefused = await leave(w, group.id, 'C');
    expectProblem(leaveRefused, 409, 'joint_group_loans_outstanding');
    expect(leaveRefused.body.loanNumbers).toEqual([loan1.number, over.number]);
    expect(await groupTables(w.fund.id)).toEqual(before);
    // Nor for another member, nor for a member not in the group.
    expectProblem(await leave(w, group.id, 'C', w.users.A), 403, 'joint_group_not_leaver');
    expectProblem(await leave(w, group.id, 'D', w.fund.admin), 404, 'joint_group_member_not_found');

    // Loan 1 repaid in full (rate 0: the principal): guarantees released, the memo accounts empty.
    const repaid = await h.http
      .post(api(`/funds/${w.fund.id}/loans/${loan1.id}/repayments`))
      .set(w.fund.admin.auth)
      .set('Idempotency-Key', randomUUID())
      .send({ amount: '90000.01', receivedOn: TEST_TODAY, reference: `BANK-${randomUUID()}` });
    expect(repaid.status).toBe(201);
    expect(await balanceOf(h, w.fund.id, `7001:${w.ids.C}`)).toBe('0.00');
    // The draft of loan 2 still names the group: it counts as outstanding until it is withdrawn.
    expectProblem(await leave(w, group.id, 'C'), 409, 'joint_group_loans_outstanding');
    const withdrawn = await h.http
      .post(api(`/funds/${w.fund.id}/loan-applications/${over.id}/withdraw`))
      .set(w.users.B.auth)
      .send({ reason: '不再需要' });
    expect(withdrawn.status).toBe(200);
    expect((await getGroup(w, group.id)).body).toMatchObject({ limitUsed: '0.00', limitFree: '150000.00' });

    const left = await leave(w, group.id, 'C');
    expect(left.status).toBe(200);
    const dissolved = left.body as GroupBody;
    // Two members remain: fewer than three, the group is dissolved.
    expect(dissolved).toMatchObject({ status: 'dissolved', dissolvedOn: TEST_TODAY });
    expect(dissolved.members.map((m) => [m.memberId, m.leftOn, m.current])).toEqual([
      [w.ids.A, null, true],
      [w.ids.B, null, true],
      [w.ids.C, TEST_TODAY, false],
    ]);
    expectProblem(await leave(w, group.id, 'C'), 409, 'joint_group_not_approved');
    // A dissolved group backs no new loan.
    expectProblem(await draftLoan(w, 'A', '1000.00', { jointGroupId: group.id }), 422, 'joint_group_not_usable');
    expect((await auditActions(w.fund.id, group.id)).slice(-1)).toEqual(['joint_groups.member.leave']);
  });

  test('when an application names a group, then its borrower must be a current member and the group’s members are not named as guarantors too', async () => {
    const w = await world();
    const group = await approvedGroup(w, ['A', 'B', 'C'], '150000.00');
    expectProblem(await draftLoan(w, 'D', '1000.00', { jointGroupId: group.id }), 422, 'joint_group_not_usable');
    const twice = await draftLoan(w, 'A', '1000.00', {
      jointGroupId: group.id,
      guarantors: [{ by: 'B', amount: '1000.00' }],
    });
    expectProblem(twice, 422, 'guarantor_in_joint_group');
    expect(twice.body.members).toEqual([{ id: w.ids.B, name: w.names.B }]);
    expectProblem(await draftLoan(w, 'A', '1000.00', { jointGroupId: randomUUID() }), 422, 'joint_group_not_usable');
  });

  test('when a group guarantee closes a cycle of the group’s own guarantees, then it is no circle; when the cycle mixes in another guarantee, then it is refused', async () => {
    const w = await world();
    const group = await approvedGroup(w, ['A', 'B', 'C'], '150000.00');
    // A borrows, B and C guarantee (group); then B borrows, A and C guarantee: A → B → A is the group's own.
    const first = await drafted(w, 'A', '40000.00', { jointGroupId: group.id });
    expect((await submitLoan(w, first.id)).status).toBe(200);
    const second = await drafted(w, 'B', '40000.00', { jointGroupId: group.id });
    const submitted = await submitLoan(w, second.id);
    expect(submitted.status).toBe(200);
    // The network shows the group's edges, marked with the group, and lists no circle among them.
    const net = await h.http.get(api(`/funds/${w.fund.id}/reports/guarantee-network`)).set(w.fund.admin.auth);
    expect(net.status).toBe(200);
    const netBody = net.body as {
      edges: { guarantorId: string; borrowerId: string; loans: { jointGroupId: string | null }[] }[];
      cycles: unknown[];
    };
    const letterOf = (id: string) => LETTERS.find((letter) => w.ids[letter] === id);
    const pairs = netBody.edges.map((edge) => `${letterOf(edge.guarantorId)}${letterOf(edge.borrowerId)}`).sort();
    expect(pairs).toEqual(['AB', 'BA', 'CA', 'CB']);
    expect(netBody.edges.flatMap((edge) => edge.loans.map((loan) => loan.jointGroupId))).toEqual(
      Array(4).fill(group.id),
    );
    expect(netBody.cycles).toEqual([]);

    // D borrows with C's own (not group) guarantee: C → D. Then D guarantees a loan of A: D → A.
    // A group loan of C now makes A guarantee C (A → C): A → C → D → A mixes in two other edges.
    const cd = await drafted(w, 'D', '10000.00', { guarantors: [{ by: 'C', amount: '10000.00' }], cover: '10000.00' });
    await h.http
      .post(api(`/funds/${w.fund.id}/loan-applications/${cd.id}/guarantees/${cd.guarantees[0]!.id}/consent`))
      .set(w.users.C.auth)
      .send({ decision: 'accept' });
    const da = await drafted(w, 'A', '10000.00', { guarantors: [{ by: 'D', amount: '10000.00' }], cover: '10000.00' });
    const daAccepted = await h.http
      .post(api(`/funds/${w.fund.id}/loan-applications/${da.id}/guarantees/${da.guarantees[0]!.id}/consent`))
      .set(w.users.D.auth)
      .send({ decision: 'accept' });
    expect(daAccepted.status).toBe(200);
    const third = await drafted(w, 'C', '40000.00', { jointGroupId: group.id });
    const before = await groupTables(w.fund.id);
    const refused = await submitLoan(w, third.id);
    expectProblem(refused, 422, 'loan_ineligible');
    expect(refused.body.rule).toBe('guarantee_circle');
    // Each group guarantee of the loan closes a cycle of the group's own (A → C → A; B → C → A → B),
    // which is no circle, and one through C → D → A, which is: the latter is named.
    const cycles = Object.fromEntries(
      (refused.body.failures as { rule: string; memberId: string; cycle: { members: { id: string }[] } }[])
        .filter((f) => f.rule === 'guarantee_circle')
        .map((f) => [f.memberId, f.cycle.members.map((m) => m.id)]),
    );
    expect(cycles).toEqual({
      [w.ids.A]: [w.ids.A, w.ids.C, w.ids.D],
      [w.ids.B]: [w.ids.B, w.ids.C, w.ids.D, w.ids.A],
    });
    expect(await groupTables(w.fund.id)).toEqual(before);
  });
});

/** A 60-day bullet loan of `borrower` backed by the group alone: drafted, submitted, approved, disbursed today. */
async function disbursedGroupLoan(w: World, borrower: Letter, amount: string, groupId: string): Promise<string> {
  const draft = await drafted(w, borrower, amount, { jointGroupId: groupId });
  const submitted = await submitLoan(w, draft.id);
  if (submitted.status !== 200) throw new Error(`submit failed: ${submitted.status} ${submitted.text}`);
  await approveByContract(h, w.fund.id, draft.id);
  const paid = await disburse(h, w.fund.admin, w.fund.id, draft.id, { bankReference: `JG-${randomUUID()}` });
  if (paid.status !== 201) throw new Error(`disbursement failed: ${paid.status} ${paid.text}`);
  return draft.id;
}

/** Each member's guarantees given on the exposure report of its fund today. */
async function guaranteesGiven(w: World, letters: readonly Letter[]): Promise<Partial<Record<Letter, unknown>>> {
  const exposure = await h.http.get(api(`/funds/${w.fund.id}/reports/exposure`)).set(w.auditor.auth);
  expect(exposure.status).toBe(200);
  const rows = exposure.body.members as { member: { memberId: string }; guaranteesGiven: unknown }[];
  return Object.fromEntries(
    letters.map((letter) => [letter, rows.find((row) => row.member.memberId === w.ids[letter])?.guaranteesGiven]),
  );
}

describe('joint-group shares in exposure and capacity', () => {
  test('when two loans of a group are outstanding and another fund holds group guarantees too, then each share divides a loan among its own group guarantors only, in the report and in capacity', async () => {
    // Another fund whose group of four backs two loans: six group guarantees that are none of the
    // first fund's business, and that no share of the first fund may count.
    const other = await world();
    const otherGroup = await approvedGroup(other, ['A', 'B', 'C', 'D'], '200000.00');
    await disbursedGroupLoan(other, 'A', '30000.00', otherGroup.id);
    await disbursedGroupLoan(other, 'B', '20000.00', otherGroup.id);

    // J1 = A borrows 60,000.00 and J2 = B 40,000.01, both backed by the group of A, B and J3 = C.
    const w = await world();
    const group = await approvedGroup(w, ['A', 'B', 'C'], '200000.00');
    await disbursedGroupLoan(w, 'A', '60000.00', group.id);
    await disbursedGroupLoan(w, 'B', '40000.01', group.id);

    // Loan of A: B and C guarantee it, 60,000.00 / 2 = 30,000.00 each. Loan of B: A and C,
    // 40,000.01 / 2 = 20,000.005 → 20,000.01 each (rule S1, half-up per guarantee).
    expect(await guaranteesGiven(w, ['A', 'B', 'C'])).toEqual({
      A: { own: '0.00', jointGroupShare: '20000.01', total: '20000.01' },
      B: { own: '0.00', jointGroupShare: '30000.00', total: '30000.00' },
      C: { own: '0.00', jointGroupShare: '50000.01', total: '50000.01' },
    });
    // The other fund: each loan divided among the three other members of its group.
    // 30,000.00 / 3 = 10,000.00; 20,000.00 / 3 = 6,666.666… → 6,666.67.
    expect(await guaranteesGiven(other, ['A', 'B', 'C', 'D'])).toEqual({
      A: { own: '0.00', jointGroupShare: '6666.67', total: '6666.67' },
      B: { own: '0.00', jointGroupShare: '10000.00', total: '10000.00' },
      C: { own: '0.00', jointGroupShare: '16666.67', total: '16666.67' },
      D: { own: '0.00', jointGroupShare: '16666.67', total: '16666.67' },
    });

    // Capacity counts the same share: C's capacity is 200,000.00 and its shares 50,000.01, so a
    // guarantee of 150,000.00 more is 200,000.01 — refused by one fen.
    const loan = await drafted(w, 'D', '150000.00', {
      guarantors: [{ by: 'C', amount: '150000.00' }],
      cover: '150000.00',
    });
    const consent = await h.http
      .post(api(`/funds/${w.fund.id}/loan-applications/${loan.id}/guarantees/${loan.guarantees[0]!.id}/consent`))
      .set(w.users.C.auth)
      .send({ decision: 'accept' });
    expect(consent.status).toBe(200);
    const refused = await submitLoan(w, loan.id);
    expectProblem(refused, 422, 'loan_ineligible');
    expect(refused.body).toMatchObject({
      rule: 'guarantor_capacity',
      limit: '200000.00',
      actual: '200000.01',
      memberId: w.ids.C,
    });
  });
});
