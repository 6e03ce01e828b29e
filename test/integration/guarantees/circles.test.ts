import type { Response } from 'supertest';
import { startHarness, type Harness } from '../../helpers/harness';
import { expectFundConsistent, snapshot } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';
import { approveByContract, disburse } from '../disbursements/disbursements.helpers';
import { api, changePolicy, type ApplicationBody } from '../loans/loans.helpers';
import {
  accept,
  auditRows,
  circleWorld,
  disbursed,
  draft,
  drafted,
  guaranteed,
  guaranteeTables,
  network,
  repay,
  submitLoan,
  type CircleWorld,
  type Letter,
} from './guarantees.helpers';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

/** The cycle as the API names it, written by hand from letters: members in order, loans per step. */
function cycleOf(w: CircleWorld, steps: [Letter, Letter, { id: string; number: number }[]][]) {
  return {
    members: steps.map(([from]) => ({ id: w.ids[from], name: w.names[from] })),
    steps: steps.map(([from, to, loans]) => ({ guarantorId: w.ids[from], borrowerId: w.ids[to], loans })),
  };
}

const ref = (loan: ApplicationBody) => ({ id: loan.id, number: loan.number });

async function unchanged(w: CircleWorld, act: () => Promise<Response>): Promise<Response> {
  const before = { fund: await snapshot(h, w.fund.id), tables: await guaranteeTables(h, w.fund.id) };
  const response = await act();
  expect({ fund: await snapshot(h, w.fund.id), tables: await guaranteeTables(h, w.fund.id) }).toEqual(before);
  return response;
}

describe('refuse mode (the default)', () => {
  test('when A guarantees B and B guarantees C, then C proposed as guarantor of A is a 422 guarantee_circle naming C → A → B → C with the loans, and nothing changes', async () => {
    const w = await circleWorld(h);
    const loan1 = await guaranteed(h, w, {
      borrower: 'B',
      amount: '50000.00',
      guarantors: [{ by: 'A', amount: '30000.00' }],
    });
    const loan2 = await guaranteed(h, w, {
      borrower: 'C',
      amount: '40000.00',
      guarantors: [{ by: 'B', amount: '20000.00' }],
    });

    const response = await unchanged(w, () =>
      draft(h, w, { borrower: 'A', amount: '30000.00', guarantors: [{ by: 'C', amount: '10000.00' }] }),
    );

    expectProblem(response, 422, 'guarantee_circle');
    // The draft was refused whole: its number (3) is named, its id belongs to no stored loan.
    const proposed = response.body.cycle.steps[0].loans[0] as { id: string; number: number };
    expect(proposed.number).toBe(3);
    expect(response.body).toMatchObject({
      stage: 'proposal',
      guarantorMemberId: w.ids.C,
      borrowerMemberId: w.ids.A,
      cycle: cycleOf(w, [
        ['C', 'A', [proposed]],
        ['A', 'B', [ref(loan1)]],
        ['B', 'C', [ref(loan2)]],
      ]),
    });
    expect(response.body.detail).toContain(`${w.names.C} →[#3] ${w.names.A} →[#1] ${w.names.B} →[#2] ${w.names.C}`);
  });

  test('when the last link is a consent (C accepts for A after B accepted for C), then the consent is refused naming the cycle, and nothing changes', async () => {
    const w = await circleWorld(h);
    const loan1 = await guaranteed(h, w, {
      borrower: 'B',
      amount: '50000.00',
      guarantors: [{ by: 'A', amount: '30000.00' }],
    });
    const loan2 = await drafted(h, w, {
      borrower: 'C',
      amount: '40000.00',
      guarantors: [{ by: 'B', amount: '20000.00' }],
    });
    // While B → C is only proposed, C → A closes nothing.
    const loan3 = await drafted(h, w, {
      borrower: 'A',
      amount: '30000.00',
      guarantors: [{ by: 'C', amount: '10000.00' }],
    });
    expect((await accept(h, w, loan2, 'B')).status).toBe(200);

    const response = await unchanged(w, () => accept(h, w, loan3, 'C'));

    expectProblem(response, 422, 'guarantee_circle');
    expect(response.body).toMatchObject({
      stage: 'consent',
      guaranteeId: loan3.guarantees[0]!.id,
      loanId: loan3.id,
      cycle: cycleOf(w, [
        ['C', 'A', [ref(loan3)]],
        ['A', 'B', [ref(loan1)]],
        ['B', 'C', [ref(loan2)]],
      ]),
    });
  });

  test('when B proposes to guarantee A while A guarantees B, then the cycle of two is refused naming both loans', async () => {
    const w = await circleWorld(h);
    const loan1 = await guaranteed(h, w, {
      borrower: 'B',
      amount: '50000.00',
      guarantors: [{ by: 'A', amount: '30000.00' }],
    });

    const response = await unchanged(w, () =>
      draft(h, w, { borrower: 'A', amount: '20000.00', guarantors: [{ by: 'B', amount: '5000.00' }] }),
    );

    expectProblem(response, 422, 'guarantee_circle');
    const proposed = response.body.cycle.steps[0].loans[0] as { id: string; number: number };
    expect(response.body.cycle).toEqual(
      cycleOf(w, [
        ['B', 'A', [proposed]],
        ['A', 'B', [ref(loan1)]],
      ]),
    );
  });

  test('when the loan A guaranteed for B is repaid (closed), then B may guarantee A: a closed loan is no edge', async () => {
    const w = await circleWorld(h);
    const loan1 = await disbursed(h, w, {
      borrower: 'B',
      amount: '50000.00',
      guarantors: [{ by: 'A', amount: '30000.00' }],
    });
    // Before repayment the guarantee is active: B → A would close A → B → A.
    expectProblem(
      await draft(h, w, { borrower: 'A', amount: '20000.00', guarantors: [{ by: 'B', amount: '5000.00' }] }),
      422,
      'guarantee_circle',
    );
    await repay(h, w, loan1.id, '50000.00');
    expect((await h.db('loans').where({ id: loan1.id }).first('status')).status).toBe('repaid');

    const loan2 = await guaranteed(h, w, {
      borrower: 'A',
      amount: '20000.00',
      guarantors: [{ by: 'B', amount: '5000.00' }],
    });
    expect(loan2.guarantees[0]!.status).toBe('accepted');
    expect(loan2.guarantees[0]).not.toHaveProperty('circle');
    await expectFundConsistent(h, w.fund.id);
  });
});

describe('flag mode', () => {
  test('when a guarantee closes a cycle, then it goes ahead and the cycle shows on the guarantee, in the report, and in the audit log, at proposal, consent, submission and disbursement', async () => {
    const w = await circleWorld(h, 'flag');
    const loan1 = await guaranteed(h, w, {
      borrower: 'B',
      amount: '50000.00',
      guarantors: [{ by: 'A', amount: '30000.00' }],
    });
    const loan2 = await guaranteed(h, w, {
      borrower: 'C',
      amount: '40000.00',
      guarantors: [{ by: 'B', amount: '20000.00' }],
    });

    const proposed = await draft(h, w, {
      borrower: 'A',
      amount: '30000.00',
      guarantors: [{ by: 'C', amount: '10000.00' }],
    });
    expect(proposed.status).toBe(201);
    const loan3 = proposed.body as ApplicationBody;
    const expected = cycleOf(w, [
      ['C', 'A', [ref(loan3)]],
      ['A', 'B', [ref(loan1)]],
      ['B', 'C', [ref(loan2)]],
    ]);
    expect(loan3.guarantees[0]).toMatchObject({
      status: 'proposed',
      circle: { ...expected, foundAt: 'proposal', flaggedAt: expect.any(String) },
    });

    const consented = await accept(h, w, loan3, 'C');
    expect(consented.status).toBe(200);
    expect(consented.body.guarantees[0]).toMatchObject({
      status: 'accepted',
      circle: { ...expected, foundAt: 'consent' },
    });

    const submitted = await submitLoan(h, w, loan3.id);
    expect(submitted.status).toBe(200);
    expect(submitted.body.guarantees[0].circle).toMatchObject({ ...expected, foundAt: 'submission' });
    const read = await h.http.get(api(`/funds/${w.fund.id}/loan-applications/${loan3.id}`)).set(w.users.C.auth);
    expect(read.body.guarantees[0].circle).toMatchObject({ ...expected, foundAt: 'submission' });

    // Activation checks again and records it on the loan view.
    await approveByContract(h, w.fund.id, loan3.id);
    expect((await disburse(h, w.fund.admin, w.fund.id, loan3.id, { bankReference: 'CIRCLE-1' })).status).toBe(201);
    const asLoan = await h.http.get(api(`/funds/${w.fund.id}/loans/${loan3.id}`)).set(w.users.A.auth);
    expect(asLoan.body.guarantees[0]).toMatchObject({
      status: 'active',
      circle: { ...expected, foundAt: 'disbursement' },
    });

    const flags = await auditRows(h, w.fund.id, 'loans.guarantee.circle_flagged');
    expect(flags.map((row) => row.payload.stage)).toEqual(['proposal', 'consent', 'submission', 'disbursement']);
    for (const row of flags) {
      expect(row.target_id).toBe(loan3.guarantees[0]!.id);
      expect(row.payload).toMatchObject({ guarantorMemberId: w.ids.C, borrowerMemberId: w.ids.A, cycle: expected });
    }
    // Each flag carries the request id of the request that found the circle, like that request's own row.
    const chain = (await h
      .db('audit_log as a')
      .join('audit_links as l', 'l.audit_id', 'a.id')
      .where({ 'a.fund_id': w.fund.id })
      .orderBy('l.seq')
      .select('a.action', 'a.request_id')) as { action: string; request_id: string | null }[];
    const flagged = chain.filter((row) => row.action === 'loans.guarantee.circle_flagged');
    expect(flagged.every((row) => typeof row.request_id === 'string' && row.request_id.length > 0)).toBe(true);
    expect(
      flagged.map((flag) =>
        chain
          .filter((row) => row.request_id === flag.request_id && row.action !== flag.action)
          .map((row) => row.action),
      ),
    ).toEqual([
      ['loans.application.create'],
      ['loans.guarantee.accept'],
      ['loans.application.submit'],
      [expect.stringMatching(/^loans\.disbursement\./)],
    ]);

    const report = await network(h, w.fund.id, w.fund.admin);
    expect(report.status).toBe(200);
    expect(report.body.cycles).toHaveLength(1);
    const members = (report.body.cycles[0].members as { id: string }[]).map((m) => w.letterOf(m.id)).join('');
    // Each cycle starts at its smallest member id: some rotation of A → B → C.
    expect(['ABC', 'BCA', 'CAB']).toContain(members);
    const edgeCA = (
      report.body.edges as {
        guarantorId: string;
        borrowerId: string;
        inCycle: boolean;
        loans: { circleFlagged: boolean }[];
      }[]
    ).find((edge) => edge.guarantorId === w.ids.C && edge.borrowerId === w.ids.A);
    expect(edgeCA).toMatchObject({ inCycle: true, loans: [{ circleFlagged: true }] });
  });

  test('when the fund turns to refuse mode afterwards, then submission fails the guarantee_circle rule with the cycle, and nothing changes', async () => {
    const w = await circleWorld(h, 'flag');
    const loan1 = await guaranteed(h, w, {
      borrower: 'B',
      amount: '50000.00',
      guarantors: [{ by: 'A', amount: '30000.00' }],
    });
    const loan2 = await guaranteed(h, w, {
      borrower: 'A',
      amount: '20000.00',
      guarantors: [{ by: 'B', amount: '5000.00' }],
    });
    expect((await changePolicy(h, w.fund, { guaranteeCircleMode: 'refuse' })).status).toBe(201);

    const response = await unchanged(w, () => submitLoan(h, w, loan2.id));

    expectProblem(response, 422, 'loan_ineligible');
    expect(response.body).toMatchObject({
      stage: 'submission',
      rule: 'guarantee_circle',
      memberId: w.ids.B,
      guaranteeId: loan2.guarantees[0]!.id,
      cycle: cycleOf(w, [
        ['B', 'A', [ref(loan2)]],
        ['A', 'B', [ref(loan1)]],
      ]),
    });
  });
});
