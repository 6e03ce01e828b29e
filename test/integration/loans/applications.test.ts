import { startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { expectFundConsistent, snapshot } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';
import {
  api,
  applicationBody,
  consent,
  consented,
  createApplication,
  drafted,
  loanTables,
  loanWorld,
  submit,
  WANTED_ON,
  type ApplicationBody,
  type LoanWorld,
} from './loans.helpers';

let h: Harness;
let w: LoanWorld;
beforeAll(async () => {
  h = await startHarness();
  w = await loanWorld(h);
});
afterAll(async () => {
  await h.close();
});

const patch = (loanId: string, body: Record<string, unknown>, user = w.users.borrower) =>
  h.http
    .patch(api(`/funds/${w.fund.id}/loan-applications/${loanId}`))
    .set(user.auth)
    .send(body);

describe('drafting an application', () => {
  test('when the borrower’s user drafts one, then it is a numbered draft with proposed guarantees and coverage from collateral only', async () => {
    const response = await createApplication(h, w.users.borrower, w.fund.id, applicationBody(w));

    expect(response.status).toBe(201);
    const loan = response.body as ApplicationBody;
    expect(loan).toMatchObject({
      fundId: w.fund.id,
      status: 'draft',
      borrowerMemberId: w.borrower,
      lender: { type: 'pool', memberId: null, consent: null },
      amount: '200000.00',
      purpose: '支付原材料货款',
      termDays: 90,
      repaymentMethod: 'equal_principal',
      emergency: true,
      wantedOn: WANTED_ON,
      restructured: false,
      submittedAt: null,
      withdrawal: null,
      createdBy: w.users.borrower.id,
      version: 1,
    });
    expect(loan.guarantees).toEqual([
      {
        id: expect.any(String),
        memberId: w.g1,
        amount: '150000.00',
        type: 'joint_and_several',
        status: 'proposed',
        decidedBy: null,
        decidedAt: null,
        declineReason: null,
      },
    ]);
    expect(loan.collateral).toEqual([
      {
        id: expect.any(String),
        description: '数控机床 2 台',
        kind: 'equipment',
        valuation: '1000000.00',
        valuedOn: '2026-06-01',
        haircutPct: '50',
        counted: '500000.00',
      },
    ]);
    // Proposed guarantees count for nothing until accepted.
    expect(loan.coverage).toEqual({
      guarantees: '0.00',
      collateral: '500000.00',
      total: '500000.00',
      proposed: '150000.00',
      requiredPct: '100',
      required: '200000.00',
      sufficient: true,
    });
    const audit = await h.db('audit_log').where({ fund_id: w.fund.id, target_id: loan.id }).select('action');
    expect(audit).toEqual([{ action: 'loans.application.create' }]);
  });

  test('when an administrator drafts one for a member, then drafts are numbered one after the other', async () => {
    const first = await drafted(h, w.fund.admin, w.fund.id, applicationBody(w));
    const second = await drafted(h, w.fund.admin, w.fund.id, applicationBody(w));
    expect(second.number).toBe(first.number + 1);
    expect(first.createdBy).toBe(w.fund.admin.id);
  });

  test('when a collateral haircut leaves a fraction of a fen, then the counted value is rounded down', async () => {
    const loan = await drafted(
      h,
      w.fund.admin,
      w.fund.id,
      applicationBody(w, {
        guarantors: [],
        collateral: [
          {
            description: '应收账款',
            kind: 'receivables',
            valuation: '100.01',
            valuedOn: TEST_TODAY,
            haircutPct: '33.33',
          },
        ],
      }),
    );
    // 100.01 × 66.67 % = 66.676667 → 66.67 (down).
    expect(loan.collateral[0]!.counted).toBe('66.67');
    expect(loan.coverage).toMatchObject({ collateral: '66.67', total: '66.67', sufficient: false });
  });

  test.each([
    ['an amount with 3 decimals', { amount: '100.005' }, '/amount'],
    ['a zero amount', { amount: '0.00' }, '/amount'],
    ['a term of 0 days', { termDays: 0 }, '/termDays'],
    ['a term above 3650 days', { termDays: 3651 }, '/termDays'],
    ['an unknown repayment method', { repaymentMethod: 'balloon' }, '/repaymentMethod'],
    ['a peer lender without a member', { lender: { type: 'peer' } }, '/lender/memberId'],
    [
      'a haircut above 100 %',
      {
        collateral: [
          { description: 'x', kind: 'other', valuation: '1.00', valuedOn: TEST_TODAY, haircutPct: '100.01' },
        ],
      },
      '/collateral/0/haircutPct',
    ],
  ])(
    'when the draft has %s, then the answer is 400 validation_failed and nothing changes',
    async (_name, override, pointer) => {
      const before = { fund: await snapshot(h, w.fund.id), loans: await loanTables(h, w.fund.id) };
      const response = await createApplication(h, w.users.borrower, w.fund.id, applicationBody(w, override));
      expectProblem(response, 400, 'validation_failed');
      expect(response.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ in: 'body', pointer })]));
      expect({ fund: await snapshot(h, w.fund.id), loans: await loanTables(h, w.fund.id) }).toEqual(before);
    },
  );

  test('when the same guarantor is named twice, then the answer is 400 and nothing changes', async () => {
    const before = await loanTables(h, w.fund.id);
    const guarantor = { memberId: w.g1, amount: '1.00', type: 'general' };
    const response = await createApplication(
      h,
      w.users.borrower,
      w.fund.id,
      applicationBody(w, { guarantors: [guarantor, guarantor] }),
    );
    expectProblem(response, 400, 'validation_failed');
    expect(await loanTables(h, w.fund.id)).toEqual(before);
  });

  test.each([
    [
      'the borrower as its own guarantor',
      (x: LoanWorld) => ({ guarantors: [{ memberId: x.borrower, amount: '1.00', type: 'general' }] }),
      'guarantor_is_borrower',
    ],
    [
      'the borrower as peer lender',
      (x: LoanWorld) => ({ lender: { type: 'peer', memberId: x.borrower } }),
      'peer_lender_is_borrower',
    ],
    [
      'the peer lender as guarantor',
      (x: LoanWorld) => ({ lender: { type: 'peer', memberId: x.g1 } }),
      'peer_lender_is_guarantor',
    ],
    [
      'a guarantor from no member of the fund',
      () => ({ guarantors: [{ memberId: '00000000-0000-4000-8000-000000000001', amount: '1.00', type: 'general' }] }),
      'member_not_in_fund',
    ],
    ['a wanted date in the past', () => ({ wantedOn: '2026-06-14' }), 'wanted_on_in_past'],
    [
      'a valuation dated tomorrow',
      () => ({
        collateral: [{ description: 'x', kind: 'other', valuation: '1.00', valuedOn: '2026-06-16', haircutPct: '0' }],
      }),
      'valued_on_in_future',
    ],
  ])(
    'when the draft names %s, then the answer is 422 with its code and nothing changes',
    async (_name, override, code) => {
      const before = { fund: await snapshot(h, w.fund.id), loans: await loanTables(h, w.fund.id) };
      const response = await createApplication(h, w.fund.admin, w.fund.id, applicationBody(w, override(w)));
      expectProblem(response, 422, code);
      expect({ fund: await snapshot(h, w.fund.id), loans: await loanTables(h, w.fund.id) }).toEqual(before);
    },
  );
});

describe('editing a draft', () => {
  test('when the borrower changes the purpose and the collateral, then the draft changes and its version rises', async () => {
    const loan = await drafted(h, w.users.borrower, w.fund.id, applicationBody(w));
    const response = await patch(loan.id, {
      purpose: '支付工资',
      version: 1,
      collateral: [
        {
          description: '厂房抵押',
          kind: 'real_estate',
          valuation: '800000.00',
          valuedOn: TEST_TODAY,
          haircutPct: '40',
        },
        { description: '存单', kind: 'deposit', valuation: '10000.00', valuedOn: TEST_TODAY, haircutPct: '0' },
      ],
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ purpose: '支付工资', version: 2, status: 'draft' });
    expect(response.body.collateral.map((c: { counted: string }) => c.counted)).toEqual(['480000.00', '10000.00']);
    expect(response.body.coverage).toMatchObject({ collateral: '490000.00' });
  });

  test('when the guarantor list is replaced, then a kept guarantee keeps its consent, a dropped one is withdrawn and a new one is proposed', async () => {
    const loan = await drafted(h, w.users.borrower, w.fund.id, applicationBody(w));
    await consented(h, w.fund.id, loan, { [w.g1]: w.users.g1 });
    const response = await patch(loan.id, {
      guarantors: [{ memberId: w.g2, amount: '50000.00', type: 'general' }],
    });
    expect(response.status).toBe(200);
    const byMember = Object.fromEntries(
      (response.body as ApplicationBody).guarantees.map((g) => [g.memberId, g.status]),
    );
    expect(byMember).toEqual({ [w.g1]: 'withdrawn', [w.g2]: 'proposed' });

    const again = await patch(loan.id, {
      guarantors: [
        { memberId: w.g2, amount: '50000.00', type: 'general' },
        { memberId: w.g1, amount: '150000.00', type: 'joint_and_several' },
      ],
    });
    expect(again.status).toBe(200);
    const statuses = (again.body as ApplicationBody).guarantees.map((g) => [g.memberId, g.status]);
    // G1 named again after being dropped is asked again.
    expect(Object.fromEntries(statuses)).toEqual({ [w.g1]: 'proposed', [w.g2]: 'proposed' });
  });

  test('when the amount changes after a guarantor accepted, then the acceptance goes back to proposed', async () => {
    const loan = await consented(h, w.fund.id, await drafted(h, w.users.borrower, w.fund.id, applicationBody(w)), {
      [w.g1]: w.users.g1,
    });
    expect(loan.guarantees[0]!.status).toBe('accepted');
    const kept = await patch(loan.id, { purpose: '只改用途' });
    expect(kept.body.guarantees[0].status).toBe('accepted');

    const response = await patch(loan.id, { amount: '180000.00' });
    expect(response.status).toBe(200);
    expect(response.body.guarantees[0]).toMatchObject({ status: 'proposed', decidedBy: null, decidedAt: null });
    const audit = await h
      .db('audit_log as a')
      .join('audit_links as l', 'l.audit_id', 'a.id')
      .where({ 'a.fund_id': w.fund.id, 'a.target_id': loan.id, 'a.action': 'loans.application.update' })
      .orderBy('l.seq', 'desc')
      .first('a.payload');
    expect(audit.payload).toMatchObject({ guaranteesReopened: 1 });
  });

  test('when the version given is not the current one, then the answer is 409 and nothing changes', async () => {
    const loan = await drafted(h, w.users.borrower, w.fund.id, applicationBody(w));
    await patch(loan.id, { purpose: '第一次修改' });
    const before = await loanTables(h, w.fund.id);
    const response = await patch(loan.id, { purpose: '第二次修改', version: 1 });
    expectProblem(response, 409, 'application_version_conflict');
    expect(response.body).toMatchObject({ version: 2, expected: 1 });
    expect(await loanTables(h, w.fund.id)).toEqual(before);
  });

  test('when a submitted application is edited, then the answer is 409 application_not_draft and nothing changes', async () => {
    const w = await loanWorld(h);
    const patch = (loanId: string, body: Record<string, unknown>) =>
      h.http
        .patch(api(`/funds/${w.fund.id}/loan-applications/${loanId}`))
        .set(w.users.borrower.auth)
        .send(body);
    const loan = await consented(h, w.fund.id, await drafted(h, w.users.borrower, w.fund.id, applicationBody(w)), {
      [w.g1]: w.users.g1,
    });
    expect((await submit(h, w.users.borrower, w.fund.id, loan.id)).status).toBe(200);
    const before = await loanTables(h, w.fund.id);
    const response = await patch(loan.id, { purpose: '提交后修改' });
    expectProblem(response, 409, 'application_not_draft');
    expect(response.body).toMatchObject({ applicationStatus: 'submitted' });
    expect(await loanTables(h, w.fund.id)).toEqual(before);
  });

  test('when the body changes nothing, then the answer is 400', async () => {
    const loan = await drafted(h, w.users.borrower, w.fund.id, applicationBody(w));
    expectProblem(await patch(loan.id, { version: 1 }), 400, 'validation_failed');
  });
});

// Each test here submits: it gets a fund of its own, so guarantees accepted elsewhere do not use
// up the guarantor's capacity.
describe('submitting and withdrawing', () => {
  let w: LoanWorld;
  const withdraw = (loanId: string, user = w.users.borrower, reason = '资金已另行解决') =>
    h.http
      .post(api(`/funds/${w.fund.id}/loan-applications/${loanId}/withdraw`))
      .set(user.auth)
      .send({ reason });
  beforeEach(async () => {
    w = await loanWorld(h);
  });

  test('when the guarantor has accepted and every rule is met, then the application is submitted and frozen', async () => {
    const loan = await consented(h, w.fund.id, await drafted(h, w.users.borrower, w.fund.id, applicationBody(w)), {
      [w.g1]: w.users.g1,
    });
    expect(loan.coverage).toMatchObject({ guarantees: '150000.00', total: '650000.00', sufficient: true });
    const before = await snapshot(h, w.fund.id);

    const response = await submit(h, w.users.borrower, w.fund.id, loan.id);

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'submitted', submittedAt: '2026-06-15T04:00:00.000Z' });
    const audit = await h
      .db('audit_log')
      .where({ fund_id: w.fund.id, target_id: loan.id, action: 'loans.application.submit' })
      .first('payload');
    expect(audit.payload).toMatchObject({ policyVersion: 1, amount: '200000.00' });
    // Submission moves no money.
    const after = await snapshot(h, w.fund.id);
    expect({ ...after, audit: 0, idempotencyKeys: 0 }).toEqual({ ...before, audit: 0, idempotencyKeys: 0 });
    expectProblem(await submit(h, w.users.borrower, w.fund.id, loan.id), 409, 'application_not_draft');
    await expectFundConsistent(h, w.fund.id);
  });

  test('when the borrower withdraws a submitted application, then it is withdrawn with its standing guarantees', async () => {
    const loan = await consented(h, w.fund.id, await drafted(h, w.users.borrower, w.fund.id, applicationBody(w)), {
      [w.g1]: w.users.g1,
    });
    await submit(h, w.users.borrower, w.fund.id, loan.id);

    const response = await withdraw(loan.id);

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      status: 'withdrawn',
      withdrawal: { at: '2026-06-15T04:00:00.000Z', by: w.users.borrower.id, reason: '资金已另行解决' },
    });
    expect(response.body.guarantees[0].status).toBe('withdrawn');
    const before = await loanTables(h, w.fund.id);
    expectProblem(await withdraw(loan.id), 409, 'application_not_withdrawable');
    expect(await loanTables(h, w.fund.id)).toEqual(before);
  });

  test('when an administrator withdraws a draft, then a declined guarantee stays declined', async () => {
    const loan = await drafted(
      h,
      w.fund.admin,
      w.fund.id,
      applicationBody(w, {
        guarantors: [
          { memberId: w.g1, amount: '150000.00', type: 'joint_and_several' },
          { memberId: w.g2, amount: '50000.00', type: 'general' },
        ],
      }),
    );
    expect(
      (await consent(h, w.users.g2, w.fund.id, loan, w.g2, { decision: 'decline', reason: '额度已满' })).status,
    ).toBe(200);
    const response = await withdraw(loan.id, w.fund.admin);
    expect(response.status).toBe(200);
    const statuses = Object.fromEntries(
      (response.body as ApplicationBody).guarantees.map((g) => [g.memberId, g.status]),
    );
    expect(statuses).toEqual({ [w.g1]: 'withdrawn', [w.g2]: 'declined' });
  });
});

describe('reading applications', () => {
  test('when applications are listed by status with a small page, then pages follow the cursor newest first', async () => {
    const world = await loanWorld(h);
    const made = [];
    for (let i = 0; i < 3; i += 1) made.push(await drafted(h, world.fund.admin, world.fund.id, applicationBody(world)));
    const url = api(`/funds/${world.fund.id}/loan-applications?status=draft&limit=2`);
    const first = await h.http.get(url).set(world.fund.admin.auth);
    expect(first.status).toBe(200);
    expect(first.body.items.map((item: ApplicationBody) => item.number)).toEqual([3, 2]);
    const second = await h.http
      .get(`${url}&cursor=${encodeURIComponent(first.body.nextCursor)}`)
      .set(world.fund.admin.auth);
    expect(second.body.items.map((item: ApplicationBody) => item.number)).toEqual([1]);
    expect(second.body.nextCursor).toBeNull();
    expect(second.body.items[0].guarantees).toHaveLength(1);

    const none = await h.http
      .get(api(`/funds/${world.fund.id}/loan-applications?status=submitted`))
      .set(world.fund.admin.auth);
    expect(none.body.items).toEqual([]);
    const byGuarantor = await h.http
      .get(api(`/funds/${world.fund.id}/loan-applications?memberId=${world.g1}`))
      .set(world.fund.admin.auth);
    expect(byGuarantor.body.items).toHaveLength(3);
    const byOther = await h.http
      .get(api(`/funds/${world.fund.id}/loan-applications?memberId=${world.g2}`))
      .set(world.fund.admin.auth);
    expect(byOther.body.items).toEqual([]);
  });

  test('when one application is read, then it has its guarantees, collateral and coverage', async () => {
    const loan = await drafted(h, w.users.borrower, w.fund.id, applicationBody(w));
    const response = await h.http
      .get(api(`/funds/${w.fund.id}/loan-applications/${loan.id}`))
      .set(w.users.auditor.auth);
    expect(response.status).toBe(200);
    expect(response.body).toEqual(loan);
  });

  test('when an unknown application is read, then the answer is 404 loan_application_not_found', async () => {
    const response = await h.http
      .get(api(`/funds/${w.fund.id}/loan-applications/00000000-0000-4000-8000-000000000002`))
      .set(w.fund.admin.auth);
    expectProblem(response, 404, 'loan_application_not_found');
  });
});
