import { randomUUID } from 'node:crypto';
import { createMember } from '../../helpers/factories';
import { makeUser, startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { expectFundConsistent } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';
import { applicationBody, changePolicy, drafted, holdPoolCash } from '../loans/loans.helpers';
import {
  api,
  attend,
  committeeWorld,
  convene,
  decide,
  everything,
  meetingWith,
  seat,
  setRotation,
  submitted,
  vote,
  votes,
  type CommitteeWorld,
  type ItemBody,
  type MeetingBody,
} from './committee.helpers';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

async function decided(w: CommitteeWorld, meeting: MeetingBody, itemIndex = 0): Promise<ItemBody> {
  const response = await decide(h, w, meeting.id, meeting.items[itemIndex]!.id);
  if (response.status !== 200) throw new Error(`decision failed: ${response.status} ${response.text}`);
  return response.body as ItemBody;
}

async function loanRow(loanId: string): Promise<Record<string, unknown>> {
  return (await h.db('loans').where({ id: loanId }).first()) as Record<string, unknown>;
}

describe('rotation and meetings', () => {
  test('when the rotation names a chair for the month, then a meeting takes it, moves the agenda under review and records attendance', async () => {
    const w = await committeeWorld(h);
    const rotation = await h.http.get(api(`/funds/${w.fund.id}/committee/rotation`)).set(w.users.auditor.auth);
    expect(rotation.status).toBe(200);
    expect(rotation.body.months).toEqual([
      expect.objectContaining({
        month: '2026-06',
        chairUserId: w.seats[0]!.user.id,
        chairUsername: w.seats[0]!.user.username,
      }),
    ]);
    const loan = await submitted(h, w);
    const meeting = await meetingWith(h, w, [loan.id], [w.seats[1]!.user, w.seats[2]!.user]);
    expect(meeting.chair.userId).toBe(w.seats[0]!.user.id);
    expect(meeting.attendance.map((a) => a.userId).sort()).toEqual([w.seats[1]!.user.id, w.seats[2]!.user.id].sort());
    expect(meeting.items).toEqual([
      expect.objectContaining({
        kind: 'application',
        status: 'open',
        loan: expect.objectContaining({ id: loan.id, status: 'under_review' }),
      }),
    ]);
    // Recording somebody again changes nothing; adding a third keeps the first two.
    const again = await attend(h, w, meeting.id, [w.seats[1]!.user, w.seats[3]!.user]);
    expect(again.status).toBe(200);
    expect(again.body.attendance).toHaveLength(3);
    const list = await h.http.get(api(`/funds/${w.fund.id}/meetings`)).set(w.seats[3]!.user.auth);
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([expect.objectContaining({ id: meeting.id, heldOn: TEST_TODAY, number: 1 })]);
  });

  test('when no chair is named and the rotation has none for the month, then 422 no_chair and nothing changes', async () => {
    const w = await committeeWorld(h);
    const loan = await submitted(h, w);
    const before = await everything(h, w.fund.id);
    const response = await convene(h, w, { heldOn: '2026-07-02', applicationIds: [loan.id] });
    expectProblem(response, 422, 'no_chair');
    expect(response.body).toMatchObject({ month: '2026-07' });
    expect(await everything(h, w.fund.id)).toEqual(before);
    // Naming a chair overrides the rotation.
    const named = await convene(h, w, {
      heldOn: '2026-07-02',
      applicationIds: [loan.id],
      chairUserId: w.seats[2]!.user.id,
    });
    expect(named.status).toBe(201);
    expect(named.body.chair.userId).toBe(w.seats[2]!.user.id);
  });

  test('when the agenda names a draft, an application already on an open item, or the chair is not on the committee, then each is refused and nothing changes', async () => {
    const w = await committeeWorld(h);
    const loan = await submitted(h, w);
    await meetingWith(h, w, [loan.id], []);
    const draft = await drafted(
      h,
      w.fund.admin,
      w.fund.id,
      applicationBody(w, { borrowerMemberId: w.big, guarantors: [] }),
    );
    const before = await everything(h, w.fund.id);
    expectProblem(await convene(h, w, { applicationIds: [loan.id] }), 409, 'loan_already_on_agenda');
    expectProblem(await convene(h, w, { applicationIds: [draft.id] }), 409, 'loan_not_reviewable');
    expectProblem(await convene(h, w, { applicationIds: [randomUUID()] }), 422, 'agenda_loan_not_found');
    expectProblem(await convene(h, w, { applicationIds: [] }), 422, 'agenda_empty');
    expectProblem(
      await convene(h, w, { applicationIds: [draft.id], chairUserId: w.users.committee.id }),
      422,
      'not_committee_member',
    );
    expectProblem(
      await setRotation(h, w, [{ month: '2026-08', chairUserId: w.users.borrower.id }]),
      422,
      'not_committee_member',
    );
    expectProblem(
      await setRotation(h, w, [
        { month: '2026-08', chairUserId: w.seats[1]!.user.id },
        { month: '2026-08', chairUserId: w.seats[2]!.user.id },
      ]),
      422,
      'rotation_month_duplicated',
    );
    expect(await everything(h, w.fund.id)).toEqual(before);
  });
});

describe('votes and recusal', () => {
  test('when the borrower’s, a guarantor’s and a same-related-group representative vote, then each gets 403 recused saying why, and they do not count towards quorum', async () => {
    const w = await committeeWorld(h, 3);
    const related = await createMember(h, w.fund.id);
    await h.db('members').whereIn('id', [w.borrower, related]).update({ related_group: '同一控制人' });
    const borrowerRep = await seat(h, w.fund.id, w.borrower);
    const guarantorRep = await seat(h, w.fund.id, w.g1);
    const relatedRep = await seat(h, w.fund.id, related);
    const loan = await submitted(h, w);
    const everyone = [...w.seats.map((s) => s.user), borrowerRep.user, guarantorRep.user, relatedRep.user];
    const meeting = await meetingWith(h, w, [loan.id], everyone);
    const item = meeting.items[0]!;
    expect(item.recusals.map((r) => [r.userId, r.reasons])).toEqual(
      expect.arrayContaining([
        [borrowerRep.user.id, ['borrower']],
        [guarantorRep.user.id, ['guarantor']],
        [relatedRep.user.id, ['related_group']],
      ]),
    );

    const before = await everything(h, w.fund.id);
    const byBorrower = await vote(h, w, borrowerRep.user, meeting.id, item.id, 'approve');
    expectProblem(byBorrower, 403, 'recused');
    expect(byBorrower.body).toMatchObject({ reasons: ['borrower'], memberId: w.borrower });
    expect(byBorrower.body.detail).toMatch(/the borrower/);
    const byGuarantor = await vote(h, w, guarantorRep.user, meeting.id, item.id, 'approve');
    expectProblem(byGuarantor, 403, 'recused');
    expect(byGuarantor.body.detail).toMatch(/guarantor/);
    const byRelated = await vote(h, w, relatedRep.user, meeting.id, item.id, 'reject');
    expectProblem(byRelated, 403, 'recused');
    expect(byRelated.body).toMatchObject({ reasons: ['related_group'] });
    expect(byRelated.body.detail).toMatch(/related group/);
    expect(await everything(h, w.fund.id)).toEqual(before);

    // 2 of the 3 non-recused members vote: 2 × 2 > 3 × 1, a quorum of the 6 on the committee.
    await votes(h, w, meeting.id, item.id, [
      [w.seats[0]!.user, 'approve'],
      [w.seats[1]!.user, 'approve'],
    ]);
    const result = await decided(w, meeting);
    expect(result).toMatchObject({ status: 'approved', resolutionNumber: `${TEST_TODAY}-1` });
    expect(result.tally).toMatchObject({
      committee: 6,
      recused: 3,
      eligible: 3,
      present: 3,
      voting: 2,
      quorumMet: true,
    });
    await expectFundConsistent(h, w.fund.id);
  });

  test('when a member votes twice, is absent, is not bound to a member, or votes on a decided item, then each is refused and nothing changes', async () => {
    const w = await committeeWorld(h);
    const loan = await submitted(h, w);
    const meeting = await meetingWith(h, w, [loan.id], [w.seats[0]!.user, w.seats[1]!.user, w.seats[2]!.user]);
    const item = meeting.items[0]!;
    await votes(h, w, meeting.id, item.id, [[w.seats[0]!.user, 'approve']]);
    const before = await everything(h, w.fund.id);
    const twice = await vote(h, w, w.seats[0]!.user, meeting.id, item.id, 'reject');
    expectProblem(twice, 409, 'already_voted');
    expect(twice.body).toMatchObject({ vote: 'approve' });
    expectProblem(await vote(h, w, w.seats[3]!.user, meeting.id, item.id, 'approve'), 422, 'not_present');
    expectProblem(await vote(h, w, w.users.committee, meeting.id, item.id, 'approve'), 403, 'not_a_committee_voter');
    expectProblem(
      await vote(h, w, w.seats[1]!.user, meeting.id, randomUUID(), 'approve'),
      404,
      'agenda_item_not_found',
    );
    expectProblem(await vote(h, w, w.seats[1]!.user, randomUUID(), item.id, 'approve'), 404, 'meeting_not_found');
    const badVote = await vote(h, w, w.seats[1]!.user, meeting.id, item.id, 'maybe');
    expect(badVote.status).toBe(400);
    expect(await everything(h, w.fund.id)).toEqual(before);

    await votes(h, w, meeting.id, item.id, [
      [w.seats[1]!.user, 'approve'],
      [w.seats[2]!.user, 'approve'],
    ]);
    await decided(w, meeting);
    const late = await attend(h, w, meeting.id, [w.seats[3]!.user]);
    expect(late.status).toBe(200);
    const afterDecision = await everything(h, w.fund.id);
    const closed = await vote(h, w, w.seats[3]!.user, meeting.id, item.id, 'reject');
    expectProblem(closed, 409, 'item_closed');
    const again = await decide(h, w, meeting.id, item.id);
    expectProblem(again, 409, 'item_closed');
    expect(await everything(h, w.fund.id)).toEqual(afterDecision);
    const withoutKey = await h.http
      .post(api(`/funds/${w.fund.id}/meetings/${meeting.id}/items/${item.id}/decide`))
      .set(w.admin.auth)
      .send({});
    expectProblem(withoutKey, 400, 'idempotency_key_required');
    await expectFundConsistent(h, w.fund.id);
  });
});

describe('quorum and pass rules', () => {
  test('when exactly half the committee votes, then there is no quorum and the loan waits for the next meeting; a majority (an abstention counting) then decides', async () => {
    const w = await committeeWorld(h, 4);
    const loan = await submitted(h, w);
    const all = w.seats.map((s) => s.user);
    const first = await meetingWith(h, w, [loan.id], all);
    await votes(h, w, first.id, first.items[0]!.id, [
      [all[0]!, 'approve'],
      [all[1]!, 'approve'],
    ]);
    const holdsBefore = await h.db('holds').where({ fund_id: w.fund.id }).count({ n: '*' });
    const noQuorum = await decided(w, first);
    expect(noQuorum).toMatchObject({ status: 'no_quorum', resolutionNumber: null });
    expect(noQuorum.tally).toMatchObject({ eligible: 4, voting: 2, quorumMet: false, quorumRatio: '1/2' });
    expect((await loanRow(loan.id)).status).toBe('under_review');
    expect(await h.db('holds').where({ fund_id: w.fund.id }).count({ n: '*' })).toEqual(holdsBefore);

    const second = await meetingWith(h, w, [loan.id], all);
    await votes(h, w, second.id, second.items[0]!.id, [
      [all[0]!, 'approve'],
      [all[1]!, 'approve'],
      [all[2]!, 'abstain'],
    ]);
    const passed = await decided(w, second);
    expect(passed).toMatchObject({ status: 'approved', resolutionNumber: `${TEST_TODAY}-1` });
    expect(passed.tally).toMatchObject({ voting: 3, approve: 2, abstain: 1, quorumMet: true, passed: true });
    await expectFundConsistent(h, w.fund.id);
  });

  test('when approvals and rejections tie, then the application is rejected with its resolution and no hold', async () => {
    const w = await committeeWorld(h, 4);
    const loan = await submitted(h, w);
    const all = w.seats.map((s) => s.user);
    const meeting = await meetingWith(h, w, [loan.id], all);
    await votes(h, w, meeting.id, meeting.items[0]!.id, [
      [all[0]!, 'approve'],
      [all[1]!, 'reject'],
      [all[2]!, 'abstain'],
    ]);
    const result = await decided(w, meeting);
    expect(result).toMatchObject({ status: 'rejected', resolutionNumber: `${TEST_TODAY}-1` });
    const row = await loanRow(loan.id);
    expect(row).toMatchObject({ status: 'rejected', rejection_item_id: result.id, policy_version: null });
    expect(row.rejected_reason).toMatch(/resolution 2026-06-15-1/);
    expect(await h.db('holds').where({ fund_id: w.fund.id, reference: `loan:${loan.id}` })).toEqual([]);
    await expectFundConsistent(h, w.fund.id);
  });

  test('when the chair closes an item, then it is decided; another committee member is refused with 403 not_chair', async () => {
    const w = await committeeWorld(h, 4);
    const loan = await submitted(h, w);
    const all = w.seats.map((s) => s.user);
    const meeting = await meetingWith(h, w, [loan.id], all);
    const itemId = meeting.items[0]!.id;
    await votes(h, w, meeting.id, itemId, [
      [all[0]!, 'approve'],
      [all[1]!, 'approve'],
      [all[2]!, 'reject'],
    ]);
    const closeAs = (user: (typeof all)[number]) =>
      h.http
        .post(api(`/funds/${w.fund.id}/meetings/${meeting.id}/items/${itemId}/decide`))
        .set(user.auth)
        .set('Idempotency-Key', randomUUID())
        .send({});
    const before = await everything(h, w.fund.id);
    expectProblem(await closeAs(all[1]!), 403, 'not_chair');
    expect(await everything(h, w.fund.id)).toEqual(before);
    const byChair = await closeAs(all[0]!);
    expect(byChair.status).toBe(200);
    expect(byChair.body).toMatchObject({ status: 'approved' });
  });

  test('when the loan is large, then two thirds of all votes cast are needed: 2 for 1 against passes, 2 for 1 against 1 abstaining does not', async () => {
    const w = await committeeWorld(h, 4);
    // The 200,000.00 loans are large from 200,000.00 on (at least the threshold).
    expect((await changePolicy(h, w.fund, { committee: { largeLoanAmount: '200000.00' } })).status).toBe(201);
    const one = await submitted(h, w);
    const other = await submitted(h, w, { borrowerMemberId: w.big, guarantors: [] });
    const all = w.seats.map((s) => s.user);
    const meeting = await meetingWith(h, w, [one.id, other.id], all);
    await votes(h, w, meeting.id, meeting.items[0]!.id, [
      [all[0]!, 'approve'],
      [all[1]!, 'approve'],
      [all[2]!, 'reject'],
    ]);
    await votes(h, w, meeting.id, meeting.items[1]!.id, [
      [all[0]!, 'approve'],
      [all[1]!, 'approve'],
      [all[2]!, 'reject'],
      [all[3]!, 'abstain'],
    ]);
    const passed = await decided(w, meeting, 0);
    expect(passed).toMatchObject({ status: 'approved', resolutionNumber: `${TEST_TODAY}-1` });
    expect(passed.tally).toMatchObject({ largeLoan: true, largeLoanPassThreshold: '2/3', passed: true });
    const failed = await decided(w, meeting, 1);
    expect(failed).toMatchObject({ status: 'rejected', resolutionNumber: `${TEST_TODAY}-2` });
    expect(failed.tally).toMatchObject({ largeLoan: true, approve: 2, reject: 1, abstain: 1, passed: false });
    await expectFundConsistent(h, w.fund.id);
  });
});

describe('approval', () => {
  test('when the committee approves a pool loan, then a hold with reference loan:<id> and the policy version are set under the approval contract', async () => {
    const w = await committeeWorld(h, 3);
    const loan = await submitted(h, w);
    const all = w.seats.map((s) => s.user);
    const meeting = await meetingWith(h, w, [loan.id], all);
    await votes(h, w, meeting.id, meeting.items[0]!.id, [
      [all[0]!, 'approve'],
      [all[1]!, 'approve'],
    ]);
    const result = await decided(w, meeting);
    expect(result.loan.status).toBe('approved');
    const row = await loanRow(loan.id);
    expect(row).toMatchObject({
      status: 'approved',
      policy_version: 1,
      approval_route: 'committee',
      approval_item_id: result.id,
      approved_by: w.admin.id,
      fast_tracked: false,
      ratification_status: null,
    });
    const holds = await h.db('holds').where({ fund_id: w.fund.id, reference: `loan:${loan.id}` });
    expect(holds).toEqual([
      expect.objectContaining({
        id: row.approval_hold_id,
        status: 'pending',
        account_id: w.fund.accounts['1001'],
        amount: '200000.00',
        expires_at: new Date(h.clock.now().getTime() + 14 * 86_400_000),
      }),
    ]);
    await expectFundConsistent(h, w.fund.id);
  });

  test('when two approvals would together promise more than the pool has, then the second is recorded ineligible on pool_cash_available and places no hold', async () => {
    const w = await committeeWorld(h, 3);
    // 2,250,000.00 − 1,700,000.00 held − 225,000.00 reserve = 325,000.00: room for one 200,000.00 loan.
    await holdPoolCash(h, w.fund, '1700000.00');
    const one = await submitted(h, w);
    const other = await submitted(h, w, { borrowerMemberId: w.big, guarantors: [] });
    const all = w.seats.map((s) => s.user);
    const meeting = await meetingWith(h, w, [one.id, other.id], all);
    for (const item of meeting.items) {
      await votes(h, w, meeting.id, item.id, [
        [all[0]!, 'approve'],
        [all[1]!, 'approve'],
      ]);
    }
    expect((await decided(w, meeting, 0)).status).toBe('approved');
    const second = await decided(w, meeting, 1);
    expect(second).toMatchObject({ status: 'ineligible', resolutionNumber: `${TEST_TODAY}-2` });
    expect(second.failures).toEqual([
      expect.objectContaining({ rule: 'pool_cash_available', limit: '125000.00', actual: '200000.00' }),
    ]);
    expect((await loanRow(other.id)).status).toBe('under_review');
    expect(await h.db('holds').where({ fund_id: w.fund.id, reference: `loan:${other.id}` })).toEqual([]);
    await expectFundConsistent(h, w.fund.id);
  });
});

describe('minutes', () => {
  test('when the minutes are read, then JSON and Markdown carry attendance, votes with comments, recusals with reasons, outcomes and resolution numbers', async () => {
    const w = await committeeWorld(h, 3);
    const borrowerRep = await seat(h, w.fund.id, w.borrower);
    const loan = await submitted(h, w);
    const all = w.seats.map((s) => s.user);
    const meeting = await meetingWith(h, w, [loan.id], [...all, borrowerRep.user]);
    const item = meeting.items[0]!;
    expect((await vote(h, w, all[0]!, meeting.id, item.id, 'approve', '现金流紧张 | 但担保充足')).status).toBe(201);
    expect((await vote(h, w, all[1]!, meeting.id, item.id, 'reject', '期限过长')).status).toBe(201);
    expect((await vote(h, w, all[2]!, meeting.id, item.id, 'approve')).status).toBe(201);
    await decided(w, meeting);

    const json = await h.http.get(api(`/funds/${w.fund.id}/meetings/${meeting.id}/minutes`)).set(w.users.auditor.auth);
    expect(json.status).toBe(200);
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    const minutes = json.body as MeetingBody;
    expect(minutes.attendance).toHaveLength(4);
    expect(minutes.items[0]).toMatchObject({ status: 'approved', resolutionNumber: `${TEST_TODAY}-1` });
    expect(minutes.items[0]!.votes.map((v) => [v.userId, v.vote, v.comment])).toEqual([
      [all[0]!.id, 'approve', '现金流紧张 | 但担保充足'],
      [all[1]!.id, 'reject', '期限过长'],
      [all[2]!.id, 'approve', null],
    ]);
    expect(minutes.items[0]!.recusals).toEqual([
      expect.objectContaining({ userId: borrowerRep.user.id, reasons: ['borrower'] }),
    ]);
    const single = await h.http.get(api(`/funds/${w.fund.id}/meetings/${meeting.id}`)).set(all[1]!.auth);
    expect(single.body).toEqual(minutes);

    const md = await h.http
      .get(api(`/funds/${w.fund.id}/meetings/${meeting.id}/minutes`))
      .set(w.users.auditor.auth)
      .set('Accept', 'text/markdown');
    expect(md.status).toBe(200);
    expect(md.headers['content-type']).toMatch(/^text\/markdown/);
    const text = md.text;
    expect(text).toContain(`# Minutes of committee meeting 1 — ${TEST_TODAY}`);
    expect(text).toContain(`Chair: ${all[0]!.username}`);
    for (const user of [...all, borrowerRep.user]) expect(text).toContain(`- ${user.username} — `);
    // Every code with its Chinese name beside the minutes' English word for it.
    expect(text).toContain(`| ${all[0]!.username} | 同意 approve | 现金流紧张 \\| 但担保充足 |`);
    expect(text).toContain(`| ${all[1]!.username} | 反对 reject | 期限过长 |`);
    expect(text).toContain(`## Item 1: 借款申请 Loan application ${loan.number}`);
    expect(text).toMatch(/; lender: 互助金出借 pool/);
    expect(text).toMatch(new RegExp(`- ${borrowerRep.user.username}: You represent .*the borrower`));
    expect(text).toContain('Tally: 2 for, 1 against, 0 abstaining; 3 of 3 non-recused committee members voting');
    expect(text).toContain(`Outcome: **通过 Approved** — resolution ${TEST_TODAY}-1`);
    await expectFundConsistent(h, w.fund.id);
  });

  test('when a member user or another fund asks for a meeting, then it is forbidden or not found', async () => {
    const w = await committeeWorld(h, 3);
    const loan = await submitted(h, w);
    const meeting = await meetingWith(h, w, [loan.id], []);
    const asMember = await h.http.get(api(`/funds/${w.fund.id}/meetings/${meeting.id}`)).set(w.users.borrower.auth);
    expectProblem(asMember, 403, 'forbidden');
    const other = await committeeWorld(h, 1);
    const elsewhere = await h.http.get(api(`/funds/${other.fund.id}/meetings/${meeting.id}`)).set(other.admin.auth);
    expectProblem(elsewhere, 404, 'meeting_not_found');
    const stranger = await makeUser(h, 'committee', { fundId: other.fund.id });
    const hidden = await h.http.get(api(`/funds/${w.fund.id}/meetings/${meeting.id}`)).set(stranger.auth);
    expectProblem(hidden, 404, 'fund_not_found');
  });
});
