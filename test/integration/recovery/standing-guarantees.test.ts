import { Money } from '../../../src/money/money';
import { startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { expectProblem } from '../auth/problem';
import {
  api,
  balances,
  calledThenG1PaysAndG2Fails,
  caseOf,
  decided,
  disbursedLoan,
  everything,
  jobThrough,
  onAgenda,
  post,
  proposed,
  recoveryWorld,
  resolved,
  today,
  type RecoveryWorld,
} from './recovery.helpers';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterEach(() => {
  h.clock.set(`${TEST_TODAY}T04:00:00.000Z`);
});

afterAll(async () => {
  await h.close();
});

/**
 * A guarantor that still stands behind a defaulted loan (ADR 0018, rule W-stand): the capital offset
 * waits for the joint-and-several guarantors, the write-off for the general ones, unless the
 * committee's resolution waives them.
 *
 * The world of recovery.helpers.ts: 200,000.00 disbursed 2026-07-01, due 07-31, in default on 08-05
 * owing 201,750.00 (fee 1,000.00, penalty 150.00, interest 600.00, principal 200,000.00); the
 * borrower has 20,000.00 of capital.
 */

interface Standing {
  guaranteeId: string;
  guarantorMemberId: string;
  guarantorName: string;
  type: string;
  standing: string;
}

async function guarantorName(w: RecoveryWorld, memberId: string): Promise<string> {
  const row = (await h.db('members').where({ fund_id: w.fund.id, id: memberId }).first('name')) as { name: string };
  return row.name;
}

/** The case opened on 08-05 with its collateral found worthless on 08-06: what the calls start from. */
async function defaultedCase(w: RecoveryWorld, overrides: Record<string, unknown> = {}) {
  const { loanId, collateralId } = await disbursedLoan(h, w, '2026-07-01', overrides);
  await jobThrough(h, w, '2026-08-05', '2026-08-06');
  const kase = await caseOf(h, w, loanId);
  const base = `/funds/${w.fund.id}/recovery-cases/${kase.id}`;
  const worthless = await post(h, w.admin, `${base}/collateral/${collateralId}/realisation`, {
    outcome: 'worthless',
    takenOn: '2026-08-06',
    note: '设备灭失',
  });
  expect(worthless.status).toBe(201);
  return { loanId, base };
}

/**
 * The case. Round 1 (meeting 08-10) calls both joint-and-several guarantors for the
 * 201,750.00 owed, pro rata to 140,000.00 and 90,000.00: G1 201,750 × 14/23 = 122,804.35, G2
 * 201,750 × 9/23 = 78,945.65. G1 pays on 08-20; G2 fails on 08-26 and its 78,945.65 goes back onto
 * the principal. G1 still stands behind 140,000.00 − 122,804.35 = 17,195.65 and can be called for
 * the rest.
 */
async function oneFailedOneStanding(w: RecoveryWorld) {
  const { loanId, base } = await defaultedCase(w);
  await calledThenG1PaysAndG2Fails(h, w, loanId, base);
  expect(await balances(h, w.fund.id, [`1201:${loanId}`, `7001:${w.g1}`])).toEqual({
    [`1201:${loanId}`]: '78945.65',
    [`7001:${w.g1}`]: '17195.65',
  });
  return { loanId, base };
}

test('when one joint-and-several guarantor failed and the other still stands, then the capital offset is refused naming it, and nothing changes', async () => {
  const w = await recoveryWorld(h);
  const { base } = await oneFailedOneStanding(w);
  const before = await everything(h, w);

  const refused = await post(h, w.admin, `${base}/actions`, { action: 'capital_offset', reason: '抵扣股金' });

  expectProblem(refused, 422, 'guarantor_still_stands');
  const g1 = await guarantorName(w, w.g1);
  expect(refused.body).toMatchObject({
    expected: 'call_guarantees',
    actual: '17195.65',
    limit: '0.00',
    guarantees: [
      expect.objectContaining({
        guarantorMemberId: w.g1,
        guarantorName: g1,
        type: 'joint_and_several',
        standing: '17195.65',
      }),
    ],
  });
  expect(refused.body.detail).toContain(g1);
  expect(refused.body.detail).toContain('17195.65');
  // A write-off still waits for the offset, as before.
  expectProblem(
    await post(h, w.admin, `${base}/actions`, { action: 'write_off', reason: '核销' }),
    422,
    'capital_offset_pending',
  );
  expect(await everything(h, w)).toEqual(before);
});

test('when the committee waives the guarantor still standing, then the offset proceeds, and the motion, resolution, audit row and minutes name the guarantor and the amount waived', async () => {
  const w = await recoveryWorld(h);
  const { loanId, base } = await oneFailedOneStanding(w);
  const g1 = await guarantorName(w, w.g1);

  const proposal = await post(h, w.admin, `${base}/actions`, {
    action: 'capital_offset',
    reason: '抵扣股金',
    waiveStandingGuarantees: { reason: '担保人已进入破产程序，继续追偿成本过高' },
  });
  expect(proposal.status).toBe(201);
  const waiver = {
    reason: '担保人已进入破产程序，继续追偿成本过高',
    guarantees: [
      expect.objectContaining({
        guarantorMemberId: w.g1,
        guarantorName: g1,
        type: 'joint_and_several',
        standing: '17195.65',
      }),
    ],
  };
  expect(proposal.body).toMatchObject({ action: 'capital_offset', status: 'proposed', waiver });

  // The committee sees it on the agenda: the motion's title, its clauses and its details.
  const agenda = await onAgenda(h, w, proposal.body.id as string, '2026-08-28');
  const meeting = await h.http.get(api(`/funds/${w.fund.id}/meetings/${agenda.meetingId}`)).set(w.admin.auth);
  const item = (meeting.body.items as { id: string; motion: Record<string, unknown> }[]).find(
    (i) => i.id === agenda.itemId,
  )!;
  expect(item.motion.title).toContain('waiving');
  expect(item.motion.details).toMatchObject({ waiver });
  const clause = `放弃对保证人 ${g1} 的连带责任保证，不再追偿其仍担保的 17195.65 元；理由：担保人已进入破产程序，继续追偿成本过高`;
  expect(item.motion.clauses).toEqual([clause]);

  const decision = await decided(h, w, agenda);
  expect(decision.status).toBe('approved');
  // The borrower's 20,000.00 offset: 78,945.65 − 20,000.00 = 58,945.65 still owed.
  expect(await balances(h, w.fund.id, [`1201:${loanId}`, `3001:${w.borrower}`])).toEqual({
    [`1201:${loanId}`]: '58945.65',
    [`3001:${w.borrower}`]: '0.00',
  });
  const action = await h.http
    .get(api(`/funds/${w.fund.id}/recovery-actions/${proposal.body.id as string}`))
    .set(w.admin.auth);
  expect(action.body).toMatchObject({ status: 'approved', waiver, result: { offset: '20000.00', waiver } });
  const audit = (await h
    .db('audit_log')
    .where({ fund_id: w.fund.id, action: 'recovery.action.capital_offset' })
    .select('payload')) as { payload: Record<string, unknown> }[];
  expect(audit).toEqual([{ payload: expect.objectContaining({ waiver }) }]);
  const minutes = await h.http
    .get(api(`/funds/${w.fund.id}/meetings/${agenda.meetingId}/minutes`))
    .set(w.admin.auth)
    .set('Accept', 'text/markdown');
  expect(minutes.status).toBe(200);
  expect(minutes.text.split('\n')).toContain(`- ${clause}`);

  // The write-off after it: no general guarantor stands, so no other waiver is needed.
  const writeOff = await proposed(h, w, `${base}/actions`, 'write_off');
  expect((await resolved(h, w, writeOff, '2026-08-30')).status).toBe('approved');
  expect(await balances(h, w.fund.id, [`1201:${loanId}`, '5001'])).toEqual({
    [`1201:${loanId}`]: '0.00',
    '5001': '58945.65',
  });
});

test('when the guarantor still standing is called again and fails, then the capital offset needs no waiver', async () => {
  const w = await recoveryWorld(h);
  const { loanId, base } = await oneFailedOneStanding(w);
  // Round 2 (08-28): G1 alone, for what it still stands behind: min(78,945.65, 17,195.65).
  expect((await resolved(h, w, await proposed(h, w, `${base}/actions`, 'call_guarantees'), '2026-08-28')).status).toBe(
    'approved',
  );
  const round2 = (await caseOf(h, w, loanId)).calls.filter((c) => c.round === 2);
  expect(round2).toEqual([
    expect.objectContaining({ guarantorMemberId: w.g1, amount: '17195.65', dueOn: '2026-09-12' }),
  ]);
  today(h, w, '2026-09-13');
  const failed = await post(h, w.admin, `${base}/calls/${round2[0]!.id}/failure`, {
    failedOn: '2026-09-13',
    reason: '担保人无力履行',
  });
  expect(failed.status).toBe(201);

  const offset = await post(h, w.admin, `${base}/actions`, { action: 'capital_offset', reason: '抵扣股金' });
  expect(offset.status).toBe(201);
  expect(offset.body.waiver).toBeNull();
  expect((await resolved(h, w, offset.body.id as string, '2026-09-15')).status).toBe('approved');
  expect(await balances(h, w.fund.id, [`1201:${loanId}`])).toEqual({ [`1201:${loanId}`]: '58945.65' });
});

test('when a general guarantor still stands after the offset, then the write-off is refused until it is called, and the offset never waited for it', async () => {
  const w = await recoveryWorld(h);
  const { loanId, base } = await defaultedCase(w, {
    guarantors: [
      { memberId: w.g1, amount: '140000.00', type: 'joint_and_several' },
      { memberId: w.g2, amount: '90000.00', type: 'general' },
    ],
  });
  // Round 1 (08-10) calls the joint-and-several G1 alone, for 140,000.00; it fails on 08-26.
  expect((await resolved(h, w, await proposed(h, w, `${base}/actions`, 'call_guarantees'), '2026-08-10')).status).toBe(
    'approved',
  );
  const [call] = (await caseOf(h, w, loanId)).calls;
  expect(call).toMatchObject({ guarantorMemberId: w.g1, amount: '140000.00' });
  today(h, w, '2026-08-26');
  expect(
    (await post(h, w.admin, `${base}/calls/${call!.id}/failure`, { failedOn: '2026-08-26', reason: '拒付' })).status,
  ).toBe(201);

  // A general guarantor has the benefit of discussion: the borrower's capital goes first.
  expect((await resolved(h, w, await proposed(h, w, `${base}/actions`, 'capital_offset'), '2026-08-28')).status).toBe(
    'approved',
  );
  const before = await everything(h, w);
  const refused = await post(h, w.admin, `${base}/actions`, { action: 'write_off', reason: '核销' });
  expectProblem(refused, 422, 'guarantor_still_stands');
  expect(refused.body).toMatchObject({
    expected: 'call_guarantees',
    actual: '90000.00',
    guarantees: [expect.objectContaining({ guarantorMemberId: w.g2, type: 'general', standing: '90000.00' })],
  });
  expect(await everything(h, w)).toEqual(before);

  // Called (09-01) for 90,000.00 and paid: the write-off of the rest needs no waiver.
  expect((await resolved(h, w, await proposed(h, w, `${base}/actions`, 'call_guarantees'), '2026-09-01')).status).toBe(
    'approved',
  );
  const generalCall = (await caseOf(h, w, loanId)).calls.find((c) => c.round === 2)!;
  expect(generalCall).toMatchObject({ guarantorMemberId: w.g2, amount: '90000.00' });
  today(h, w, '2026-09-10');
  const paid = await post(h, w.admin, `${base}/calls/${generalCall.id}/payments`, {
    amount: '90000.00',
    receivedOn: '2026-09-10',
    reference: `G2-${loanId}`,
  });
  expect(paid.status).toBe(201);
  // Nothing stands any more: a waiver would waive nothing, and is refused.
  expectProblem(
    await post(h, w.admin, `${base}/actions`, {
      action: 'write_off',
      reason: '核销',
      waiveStandingGuarantees: { reason: '放弃' },
    }),
    422,
    'nothing_to_waive',
  );
  expect((await resolved(h, w, await proposed(h, w, `${base}/actions`, 'write_off'), '2026-09-12')).status).toBe(
    'approved',
  );
  // 201,750.00 − 20,000.00 offset − 90,000.00 paid = 91,750.00 written off.
  expect(await balances(h, w.fund.id, ['5001'])).toEqual({ '5001': '91750.00' });
});

test('when a guarantee stands behind more at the meeting than the waiver named, then the passed offset is ineligible and nothing is posted', async () => {
  const w = await recoveryWorld(h);
  // No collateral; 41,000.00 repaid on 07-20 releases part of both guarantees (rule R-release).
  const { loanId } = await disbursedLoan(h, w, '2026-07-01', { collateral: [] });
  today(h, w, '2026-07-20');
  const repaid = await post(h, w.admin, `/funds/${w.fund.id}/loans/${loanId}/repayments`, {
    amount: '41000.00',
    receivedOn: '2026-07-20',
    reference: `PART-${loanId}`,
  });
  expect(repaid.status).toBe(201);
  await jobThrough(h, w, '2026-08-05', '2026-08-06');
  const kase = await caseOf(h, w, loanId);
  const base = `/funds/${w.fund.id}/recovery-cases/${kase.id}`;
  const proposal = await post(h, w.admin, `${base}/actions`, {
    action: 'capital_offset',
    reason: '抵扣股金',
    waiveStandingGuarantees: { reason: '放弃追偿担保人' },
  });
  expect(proposal.status).toBe(201);
  // Both guarantees, in creation order (created together: by id), each less its release.
  const waived = proposal.body.waiver.guarantees as Standing[];
  const waivedOf = (member: string) => waived.find((g) => g.guarantorMemberId === member)!;
  expect(waived.map((g) => g.guarantorMemberId).sort()).toEqual([w.g1, w.g2].sort());
  expect(new Money(waivedOf(w.g1).standing).lt('140000.00')).toBe(true);
  expect(new Money(waivedOf(w.g2).standing).lt('90000.00')).toBe(true);
  const agenda = await onAgenda(h, w, proposal.body.id as string, '2026-08-07');

  // Before the vote the repayment is reversed: both guarantees stand behind their whole amounts again.
  const reversed = await post(h, w.admin, `/funds/${w.fund.id}/loans/${loanId}/repayments/${repaid.body.id}/reverse`, {
    reason: '误录',
  });
  expect(reversed.status).toBe(200);
  const before = await balances(h, w.fund.id, [`1201:${loanId}`, `3001:${w.borrower}`]);

  const decision = await decided(h, w, agenda);

  expect(decision.status).toBe('ineligible');
  const action = await h.http
    .get(api(`/funds/${w.fund.id}/recovery-actions/${proposal.body.id as string}`))
    .set(w.admin.auth);
  expect(action.body).toMatchObject({
    status: 'ineligible',
    failures: [
      expect.objectContaining({
        rule: 'guarantor_still_stands',
        actual: '230000.00',
        guarantees: expect.arrayContaining([
          expect.objectContaining({ guarantorMemberId: w.g1, standing: '140000.00', waived: waivedOf(w.g1).standing }),
          expect.objectContaining({ guarantorMemberId: w.g2, standing: '90000.00', waived: waivedOf(w.g2).standing }),
        ]),
      }),
    ],
  });
  expect(action.body.failures[0].guarantees).toHaveLength(2);
  expect(await balances(h, w.fund.id, [`1201:${loanId}`, `3001:${w.borrower}`])).toEqual(before);
});
