import {
  authNow,
  makeUser,
  startHarness,
  TEST_TODAY,
  unique,
  type Harness,
  type TestUser,
} from '../../helpers/harness';
import { expectFundConsistent, snapshot } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';
import { committeeWorld, decide, meetingWith, votes, type CommitteeWorld } from '../committee/committee.helpers';
import {
  approveByContract,
  balanceOf,
  confirm,
  disburse,
  servicingTables,
} from '../disbursements/disbursements.helpers';
import {
  api,
  applicationBody,
  consented,
  drafted,
  loanTables,
  loanWorld,
  randomUUID,
  submit,
  type ApplicationBody,
  type LoanWorld,
} from '../loans/loans.helpers';

/**
 * Bank loans guaranteed by members (docs/adr/0017-bank-loans.md). The world (loans.helpers):
 * borrower B paid in 100,000.00, G1 100,000.00 (capacity 2 × = 200,000.00), G2 50,000.00
 * (capacity 100,000.00), X 2,000,000.00; pool capital and cash 2,250,000.00. Policy defaults:
 * ACT/360, coverage 100 %, term at most 180 days, loans at most 3 × paid-in, maker-checker from
 * 100,000.00.
 *
 * The bank loan: 480,000.00 from the bank at 4.35 % a year, equal principal, contract 2026-06-15 →
 * 2027-06-15 (365 days: longer than the pool's 180 and above B's 300,000.00 paid-in limit, neither
 * of which binds a bank's money), guaranteed 200,000.00 by G1 and 100,000.00 by G2, and collateral
 * valued 360,000.00 with a 50 % haircut (180,000.00): cover 480,000.00 = 100 %.
 *
 * Its schedule, by hand: 12 monthly instalments of 480,000 / 12 = 40,000.00 principal; interest
 * per period = balance × 0.0435 × days / 360, rounded half-up once per period:
 *  1. 06-15 → 07-15, 30 days on 480,000: 480,000 × 0.0435 = 20,880 × 30 / 360 = 1,740.00
 *  2. 07-15 → 08-15, 31 days on 440,000: 19,140 × 31 / 360 = 1,648.1666… → 1,648.17
 *  3. 08-15 → 09-15, 31 days on 400,000: 17,400 × 31 / 360 = 1,498.3333… → 1,498.33
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});
afterEach(() => {
  h.clock.set(`${TEST_TODAY}T04:00:00.000Z`);
});

const BANK_NAME = '中国工商银行苏州分行';

function bankLender(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'bank',
    bankName: BANK_NAME,
    contractNumber: unique('ICBC-SZ-'),
    rateAnnual: '0.0435',
    startOn: TEST_TODAY,
    maturityOn: '2027-06-15',
    ...overrides,
  };
}

function bankApplication(w: LoanWorld, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return applicationBody(w, {
    amount: '480000.00',
    termDays: 365,
    repaymentMethod: 'equal_principal',
    emergency: false,
    wantedOn: TEST_TODAY,
    lender: bankLender(),
    guarantors: [
      { memberId: w.g1, amount: '200000.00', type: 'joint_and_several' },
      { memberId: w.g2, amount: '100000.00', type: 'joint_and_several' },
    ],
    collateral: [
      {
        description: '厂房抵押',
        kind: 'real_estate',
        valuation: '360000.00',
        valuedOn: '2026-06-01',
        haircutPct: '50',
      },
    ],
    ...overrides,
  });
}

/** Drafted by the borrower's user, both guarantors consenting, submitted. */
async function submittedBank(w: LoanWorld, overrides: Record<string, unknown> = {}): Promise<ApplicationBody> {
  const draft = await drafted(h, w.users.borrower, w.fund.id, bankApplication(w, overrides));
  await consented(h, w.fund.id, draft, { [w.g1]: w.users.g1, [w.g2]: w.users.g2 });
  const response = await submit(h, w.users.borrower, w.fund.id, draft.id);
  if (response.status !== 200) throw new Error(`submit failed: ${response.status} ${response.text}`);
  return response.body as ApplicationBody;
}

/** Registers the drawdown: 480,000.00 is above maker-checker, so a second administrator confirms. */
async function drawDown(w: LoanWorld, loanId: string, body: Record<string, unknown> = { bankReference: 'ICBC-DD-1' }) {
  const asked = await disburse(h, w.fund.admin, w.fund.id, loanId, body);
  if (asked.status !== 201 || asked.body.status !== 'awaiting_confirmation') {
    throw new Error(`drawdown not asked: ${asked.status} ${asked.text}`);
  }
  const checker = await makeUser(h, 'admin', { fundId: w.fund.id });
  return confirm(h, checker, w.fund.id, loanId, asked.body.id as string);
}

/** A bank loan approved by the approval contract and drawn today. */
async function drawnBankLoan(w: LoanWorld, overrides: Record<string, unknown> = {}): Promise<ApplicationBody> {
  const loan = await submittedBank(w, overrides);
  await approveByContract(h, w.fund.id, loan.id);
  const drawn = await drawDown(w, loan.id);
  if (drawn.status !== 200) throw new Error(`drawdown not confirmed: ${drawn.status} ${drawn.text}`);
  return loan;
}

function report(user: TestUser, fundId: string, loanId: string, body: Record<string, unknown>, key = randomUUID()) {
  return h.http
    .post(api(`/funds/${fundId}/loans/${loanId}/bank-repayments`))
    .set(authNow(h, user))
    .set('Idempotency-Key', key)
    .send(body);
}

async function memoBalances(w: LoanWorld, loanId: string): Promise<Record<string, string>> {
  return {
    loan: await balanceOf(h, w.fund.id, `7201:${loanId}`),
    contra: await balanceOf(h, w.fund.id, '7202'),
    g1: await balanceOf(h, w.fund.id, `7001:${w.g1}`),
    g2: await balanceOf(h, w.fund.id, `7001:${w.g2}`),
    obligations: await balanceOf(h, w.fund.id, '7002'),
  };
}

/** Every table a refused request must leave as it was. */
async function everything(fundId: string): Promise<Record<string, unknown>> {
  const rows = (table: string) => h.db(table).where({ fund_id: fundId }).select('*');
  return {
    fund: await snapshot(h, fundId),
    loans: await loanTables(h, fundId),
    servicing: await servicingTables(h, fundId),
    repayments: await h.db('repayments').where({ fund_id: fundId }).orderBy('id').select('*'),
    allocations: await rows('repayment_allocations').orderBy(['repayment_id', 'line_no']),
    releases: await rows('repayment_guarantee_releases').orderBy(['repayment_id', 'guarantee_id']),
  };
}

describe('registering a bank loan', () => {
  test('when a bank loan with two guarantors is consented, approved by the committee and its drawdown registered, then only the memo book moves, the guarantees are active and the schedule follows the bank', async () => {
    const w: CommitteeWorld = await committeeWorld(h, 3);
    const cashBefore = await balanceOf(h, w.fund.id, '1001');
    const loan = await submittedBank(w);
    expect(loan).toMatchObject({
      status: 'submitted',
      lender: {
        type: 'bank',
        memberId: null,
        consent: null,
        bank: { bankName: BANK_NAME, rateAnnual: '0.0435', startOn: TEST_TODAY, maturityOn: '2027-06-15' },
      },
      coverage: { guarantees: '300000.00', collateral: '180000.00', total: '480000.00', sufficient: true },
    });

    const meeting = await meetingWith(
      h,
      w,
      [loan.id],
      w.seats.map((s) => s.user),
    );
    const item = meeting.items[0]!;
    await votes(h, w, meeting.id, item.id, [
      [w.seats[0]!.user, 'approve'],
      [w.seats[1]!.user, 'approve'],
      [w.seats[2]!.user, 'reject'],
    ]);
    const decided = await decide(h, w, meeting.id, item.id);
    expect(decided.status).toBe(200);
    expect(decided.body).toMatchObject({ status: 'approved' });
    // No pool hold for a bank's money.
    expect(await h.db('holds').where({ fund_id: w.fund.id, reference: `loan:${loan.id}` })).toEqual([]);

    const drawn = await drawDown(w, loan.id);

    expect(drawn.status).toBe(200);
    expect(drawn.body).toMatchObject({ status: 'executed', disbursedOn: TEST_TODAY, loanStatus: 'active' });
    expect(await memoBalances(w, loan.id)).toEqual({
      loan: '480000.00',
      contra: '480000.00',
      g1: '200000.00',
      g2: '100000.00',
      obligations: '300000.00',
    });
    // The exposure report shows the bank loan against its borrower and the guarantees against their givers.
    const exposure = await h.http.get(api(`/funds/${w.fund.id}/reports/exposure`)).set(authNow(h, w.fund.admin));
    expect(exposure.status).toBe(200);
    const rowOf = (memberId: string) =>
      (exposure.body.members as { member: { memberId: string } }[]).find((row) => row.member.memberId === memberId);
    expect(rowOf(w.borrower)).toMatchObject({ bankLoans: '480000.00', poolLoans: '0.00', peerLoansBorrowed: '0.00' });
    expect(rowOf(w.g1)).toMatchObject({
      guaranteesGiven: { own: '200000.00', jointGroupShare: '0.00', total: '200000.00' },
    });
    expect(rowOf(w.g2)).toMatchObject({
      guaranteesGiven: { own: '100000.00', jointGroupShare: '0.00', total: '100000.00' },
    });
    // The loan book lists it with the bank as lender and its principal from the memo book.
    const book = await h.http.get(api(`/funds/${w.fund.id}/reports/loan-book`)).set(authNow(h, w.fund.admin));
    expect(book.status).toBe(200);
    expect(book.body.loans).toEqual([
      expect.objectContaining({
        loanId: loan.id,
        lender: { type: 'bank', memberId: null, name: BANK_NAME },
        principalOutstanding: '480000.00',
        interestReceivable: '0.00',
        penaltyReceivable: null,
        daysPastDue: 0,
        classification: 'normal',
        status: 'active',
      }),
    ]);
    // The fund pays nothing and charges nothing.
    expect(await balanceOf(h, w.fund.id, '1001')).toBe(cashBefore);
    expect(await balanceOf(h, w.fund.id, '4002')).toBe('0.00');
    expect(await h.db('accounts').where({ fund_id: w.fund.id, code: `1201:${loan.id}` })).toEqual([]);
    const entry = await h.db('journal_entries').where({ fund_id: w.fund.id, kind: 'loan.bank_drawdown' });
    expect(entry).toHaveLength(1);
    expect(entry[0]).toMatchObject({ effective_date: TEST_TODAY });

    const read = await h.http.get(api(`/funds/${w.fund.id}/loans/${loan.id}`)).set(w.users.g2.auth);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      lender: { type: 'bank', bank: { bankName: BANK_NAME, maturityOn: '2027-06-15' } },
      principalOutstanding: '480000.00',
      terms: { disbursedOn: TEST_TODAY, maturityDate: '2027-06-15', rateAnnual: '0.0435', serviceFee: '0.00' },
      guarantees: [{ status: 'active' }, { status: 'active' }],
    });
    const schedule = await h.http.get(api(`/funds/${w.fund.id}/loans/${loan.id}/schedule`)).set(w.users.borrower.auth);
    expect(schedule.body.instalments).toHaveLength(12);
    expect(
      schedule.body.instalments
        .slice(0, 3)
        .map((i: { dueOn: string; principal: string; interest: string }) => [i.dueOn, i.principal, i.interest]),
    ).toEqual([
      ['2026-07-15', '40000.00', '1740.00'],
      ['2026-08-15', '40000.00', '1648.17'],
      ['2026-09-15', '40000.00', '1498.33'],
    ]);
    expect(schedule.body.instalments[11]).toMatchObject({ dueOn: '2027-06-15', principal: '40000.00' });
    expect(schedule.body.totals.principal).toBe('480000.00');

    const trial = await h.http.get(api(`/funds/${w.fund.id}/trial-balance`)).set(w.fund.admin.auth);
    expect(trial.status).toBe(200);
    expect(trial.body.balanced).toBe(true);
    await expectFundConsistent(h, w.fund.id);
  });

  test('when a bank loan is above the paid-in multiple, the single-borrower share and the term maximum, then it is submitted anyway; coverage still binds', async () => {
    const w = await loanWorld(h);
    // 480,000.00 > 3 × 100,000.00 and > 20 % of 2,250,000.00 = 450,000.00; 365 days > 180.
    const loan = await submittedBank(w);
    expect(loan.status).toBe('submitted');

    const short = await drafted(
      h,
      w.users.borrower,
      w.fund.id,
      bankApplication(w, { guarantors: [{ memberId: w.g1, amount: '200000.00', type: 'joint_and_several' }] }),
    );
    await consented(h, w.fund.id, short, { [w.g1]: w.users.g1 });
    const refused = await submit(h, w.users.borrower, w.fund.id, short.id);
    // Cover 200,000.00 + 180,000.00 = 380,000.00 < 480,000.00.
    expectProblem(refused, 422, 'loan_ineligible');
    expect(refused.body).toMatchObject({ rule: 'guarantee_coverage', limit: '480000.00', actual: '380000.00' });
    // No pool rule and no term rule: only cover, and G1's capacity, which counts its accepted
    // 200,000.00 on the first application as a forecast: 200,000 + 200,000 > 2 × 100,000.00.
    expect(
      refused.body.failures.map((f: { rule: string; limit: string; actual: string }) => [f.rule, f.limit, f.actual]),
    ).toEqual([
      ['guarantee_coverage', '480000.00', '380000.00'],
      ['guarantor_capacity', '200000.00', '400000.00'],
    ]);
  });

  test('when the term is not the contract’s days or the contract is registered twice, then the draft is refused and nothing changes', async () => {
    const w = await loanWorld(h);
    const lender = bankLender();
    await drafted(h, w.users.borrower, w.fund.id, bankApplication(w, { lender }));
    const before = await everything(w.fund.id);

    const mismatch = await h.http
      .post(api(`/funds/${w.fund.id}/loan-applications`))
      .set(w.users.borrower.auth)
      .send(bankApplication(w, { termDays: 364 }));
    const twice = await h.http
      .post(api(`/funds/${w.fund.id}/loan-applications`))
      .set(w.users.borrower.auth)
      .send(bankApplication(w, { lender }));
    const rate = await h.http
      .post(api(`/funds/${w.fund.id}/loan-applications`))
      .set(w.users.borrower.auth)
      .send(bankApplication(w, { lender: bankLender({ rateAnnual: '1.5' }) }));

    expectProblem(mismatch, 422, 'bank_term_mismatch');
    expect(mismatch.body).toMatchObject({ termDays: 364, contractDays: 365 });
    expectProblem(twice, 409, 'bank_contract_taken');
    expect(rate.status).toBe(400);
    expect(await everything(w.fund.id)).toEqual(before);
  });
});

describe('repayments the borrower reports', () => {
  test('when the borrower reports principal and interest, then the memo book and the guarantees follow the principal, interest stays on the schedule, a reversal undoes it and the last principal closes the loan', async () => {
    const w = await loanWorld(h);
    const loan = await drawnBankLoan(w);

    h.clock.set('2026-07-15T04:00:00.000Z');
    const first = await report(w.users.borrower, w.fund.id, loan.id, {
      paidOn: '2026-07-15',
      principal: '40000.00',
      interest: '1740.00',
      reference: 'ICBC-R-1',
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      number: 1,
      amount: '41740.00',
      allocated: { fee: '0.00', penaltyInterest: '0.00', interest: '1740.00', principal: '40000.00' },
      allocations: [
        { component: 'interest', instalmentNumber: 1, amount: '1740.00', prepayment: false },
        { component: 'principal', instalmentNumber: 1, amount: '40000.00', prepayment: false },
      ],
      closedLoan: false,
      loanStatus: 'active',
    });
    // Released so far: 200,000 × 40,000 / 480,000 = 16,666.666… → 16,666.67; 100,000 × … = 8,333.33.
    expect(await memoBalances(w, loan.id)).toEqual({
      loan: '440000.00',
      contra: '440000.00',
      g1: '183333.33',
      g2: '91666.67',
      obligations: '275000.00',
    });
    // Interest is the bank's: no fund account moves for it.
    expect(await balanceOf(h, w.fund.id, '4001')).toBe('0.00');
    expect(await h.db('accounts').where({ fund_id: w.fund.id, code: `1202:${loan.id}` })).toEqual([]);

    h.clock.set('2026-08-01T04:00:00.000Z');
    const prepaid = await report(w.fund.admin, w.fund.id, loan.id, {
      paidOn: '2026-08-01',
      principal: '100000.00',
      interest: '0.00',
      reference: 'ICBC-R-2',
    });
    expect(prepaid.status).toBe(201);
    expect(prepaid.body.allocations).toEqual([
      { component: 'principal', scheduleVersion: 1, instalmentNumber: 2, amount: '40000.00', prepayment: true },
      { component: 'principal', scheduleVersion: 1, instalmentNumber: 3, amount: '40000.00', prepayment: true },
      { component: 'principal', scheduleVersion: 1, instalmentNumber: 4, amount: '20000.00', prepayment: true },
    ]);
    // Cumulative 140,000 repaid: G1 200,000 × 140,000 / 480,000 = 58,333.33 (+41,666.66);
    // G2 29,166.666… → 29,166.67 (+20,833.34).
    expect(prepaid.body.guaranteeReleases).toEqual(
      expect.arrayContaining([
        {
          guaranteeId: loan.guarantees.find((g) => g.memberId === w.g1)!.id,
          amount: '41666.66',
          releasedTotal: '58333.33',
        },
        {
          guaranteeId: loan.guarantees.find((g) => g.memberId === w.g2)!.id,
          amount: '20833.34',
          releasedTotal: '29166.67',
        },
      ]),
    );
    expect(await memoBalances(w, loan.id)).toEqual({
      loan: '340000.00',
      contra: '340000.00',
      g1: '141666.67',
      g2: '70833.33',
      obligations: '212500.00',
    });

    const reversed = await h.http
      .post(api(`/funds/${w.fund.id}/loans/${loan.id}/repayments/${prepaid.body.id}/reverse`))
      .set(authNow(h, w.fund.admin))
      .set('Idempotency-Key', randomUUID())
      .send({ reason: '银行退回：款项未入账' });
    expect(reversed.status).toBe(200);
    expect(reversed.body).toMatchObject({ status: 'reversed', loanStatus: 'active' });
    expect(await memoBalances(w, loan.id)).toEqual({
      loan: '440000.00',
      contra: '440000.00',
      g1: '183333.33',
      g2: '91666.67',
      obligations: '275000.00',
    });
    const paid = await h.db('loan_instalments').where({ loan_id: loan.id }).orderBy('number').select('principal_paid');
    expect(paid.slice(0, 4).map((row: { principal_paid: string }) => row.principal_paid)).toEqual([
      '40000.00',
      '0.00',
      '0.00',
      '0.00',
    ]);

    const last = await report(w.users.borrower, w.fund.id, loan.id, {
      paidOn: '2026-08-01',
      principal: '440000.00',
      interest: '1200.00',
      reference: 'ICBC-R-3',
    });
    expect(last.status).toBe(201);
    expect(last.body).toMatchObject({ closedLoan: true, loanStatus: 'repaid' });
    expect(await memoBalances(w, loan.id)).toEqual({
      loan: '0.00',
      contra: '0.00',
      g1: '0.00',
      g2: '0.00',
      obligations: '0.00',
    });
    const guarantees = await h.db('loan_guarantees').where({ loan_id: loan.id }).pluck('status');
    expect(guarantees).toEqual(['released', 'released']);
    await expectFundConsistent(h, w.fund.id);
  });

  test('when a report breaks a rule, then it is refused with its problem and nothing changes', async () => {
    const w = await loanWorld(h);
    const loan = await drawnBankLoan(w);
    const pool = await drafted(h, w.users.borrower, w.fund.id, applicationBody(w, { guarantors: [] }));
    const outsider = await makeUser(h, 'member', { fundId: w.fund.id, memberId: w.big });
    h.clock.set('2026-07-15T04:00:00.000Z');
    const first = await report(w.users.borrower, w.fund.id, loan.id, {
      paidOn: '2026-07-10',
      principal: '40000.00',
      interest: '0.00',
      reference: 'ICBC-R-1',
    });
    expect(first.status).toBe(201);
    const good = { paidOn: '2026-07-15', principal: '1000.00', interest: '0.00', reference: 'ICBC-R-2' };
    const before = await everything(w.fund.id);

    const refusals = [
      [
        await report(w.users.borrower, w.fund.id, loan.id, { ...good, principal: '440000.01' }),
        422,
        'bank_principal_exceeds_outstanding',
      ],
      [
        await report(w.users.borrower, w.fund.id, loan.id, { ...good, paidOn: '2026-07-09' }),
        422,
        'paid_on_before_last_report',
      ],
      [await report(w.users.borrower, w.fund.id, loan.id, { ...good, paidOn: '2026-07-16' }), 422, 'paid_on_in_future'],
      [
        await report(w.users.borrower, w.fund.id, loan.id, { ...good, reference: 'ICBC-R-1' }),
        409,
        'repayment_reference_taken',
      ],
      [await report(w.users.g1, w.fund.id, loan.id, good), 403, 'not_borrower'],
      [await report(outsider, w.fund.id, loan.id, good), 404, 'loan_not_found'],
      [await report(w.users.auditor, w.fund.id, loan.id, good), 403, 'forbidden'],
      [await report(w.fund.admin, w.fund.id, pool.id, good), 404, 'loan_not_found'],
      [
        await h.http
          .post(api(`/funds/${w.fund.id}/loans/${loan.id}/repayments`))
          .set(authNow(h, w.fund.admin))
          .set('Idempotency-Key', randomUUID())
          .send({ amount: '1000.00', receivedOn: '2026-07-15', reference: 'ICBC-R-9' }),
        409,
        'bank_loan_repayment_reported',
      ],
    ] as const;
    for (const [response, status, code] of refusals) expectProblem(response, status, code);
    const malformed = [
      await report(w.users.borrower, w.fund.id, loan.id, { ...good, principal: '10.001' }),
      await report(w.users.borrower, w.fund.id, loan.id, { ...good, principal: '-1.00' }),
      await report(w.users.borrower, w.fund.id, loan.id, { ...good, principal: '0.00' }),
    ];
    for (const response of malformed) expect(response.status).toBe(400);
    const noKey = await h.http
      .post(api(`/funds/${w.fund.id}/loans/${loan.id}/bank-repayments`))
      .set(authNow(h, w.users.borrower))
      .send(good);
    expect(noKey.status).toBe(400);
    expect(await everything(w.fund.id)).toEqual(before);
  });

  test('when a pool loan is reported to a bank, then it is refused as not a bank loan', async () => {
    const w = await loanWorld(h);
    const pool = await drafted(
      h,
      w.users.borrower,
      w.fund.id,
      applicationBody(w, { amount: '1000.00', guarantors: [] }),
    );
    expect((await submit(h, w.users.borrower, w.fund.id, pool.id)).status).toBe(200);
    await approveByContract(h, w.fund.id, pool.id);
    expect((await disburse(h, w.fund.admin, w.fund.id, pool.id)).status).toBe(201);
    const before = await everything(w.fund.id);

    const response = await report(w.fund.admin, w.fund.id, pool.id, {
      paidOn: TEST_TODAY,
      principal: '100.00',
      interest: '0.00',
      reference: 'ICBC-R-1',
    });

    expectProblem(response, 409, 'not_bank_loan');
    expect(await everything(w.fund.id)).toEqual(before);
  });
});

describe('bank loans among the other loans', () => {
  test('when a member guarantees a bank loan, then that guarantee counts towards its capacity and a pool loan it would also guarantee is refused', async () => {
    const w = await loanWorld(h);
    const loan = await drawnBankLoan(w);
    const pool = await drafted(
      h,
      w.users.big,
      w.fund.id,
      applicationBody(w, {
        borrowerMemberId: w.big,
        amount: '50000.00',
        guarantors: [{ memberId: w.g2, amount: '50000.00', type: 'joint_and_several' }],
      }),
    );
    await consented(h, w.fund.id, pool, { [w.g2]: w.users.g2 });

    const refused = await submit(h, w.users.big, w.fund.id, pool.id);

    // G2: 100,000.00 on the bank loan + 50,000.00 here > 2 × 50,000.00 paid in.
    expectProblem(refused, 422, 'loan_ineligible');
    expect(refused.body).toMatchObject({
      rule: 'guarantor_capacity',
      limit: '100000.00',
      actual: '150000.00',
      memberId: w.g2,
    });

    const network = await h.http.get(api(`/funds/${w.fund.id}/reports/guarantee-network`)).set(w.fund.admin.auth);
    expect(network.status).toBe(200);
    const edge = network.body.edges.find(
      (e: { guarantorId: string; borrowerId: string }) => e.guarantorId === w.g2 && e.borrowerId === w.borrower,
    );
    expect(edge).toMatchObject({
      borrowerId: w.borrower,
      amount: '100000.00',
      loans: [{ loanId: loan.id, lender: 'bank', guaranteeStatus: 'active', amount: '100000.00' }],
    });
  });

  test('when members read loans, then they see only the bank loans they take part in, and the list filters by lender', async () => {
    const w = await loanWorld(h);
    const loan = await drawnBankLoan(w);
    const pool = await drafted(
      h,
      w.users.borrower,
      w.fund.id,
      applicationBody(w, { amount: '1000.00', guarantors: [] }),
    );
    expect((await submit(h, w.users.borrower, w.fund.id, pool.id)).status).toBe(200);
    await approveByContract(h, w.fund.id, pool.id);

    const banks = await h.http.get(api(`/funds/${w.fund.id}/loans?lender=bank`)).set(w.users.g1.auth);
    const pools = await h.http.get(api(`/funds/${w.fund.id}/loans?lender=pool`)).set(w.fund.admin.auth);
    const asOutsider = await h.http.get(api(`/funds/${w.fund.id}/loans/${loan.id}`)).set(w.users.big.auth);
    const outsiderList = await h.http.get(api(`/funds/${w.fund.id}/loans?lender=bank`)).set(w.users.big.auth);
    const statement = await h.http
      .get(api(`/funds/${w.fund.id}/members/${w.borrower}/statement?from=2026-06-01&to=${TEST_TODAY}`))
      .set(w.users.borrower.auth);

    expect(banks.body.items.map((item: { id: string }) => item.id)).toEqual([loan.id]);
    expect(banks.body.items[0]).toMatchObject({
      lender: { type: 'bank', memberId: null, bank: { bankName: BANK_NAME, contractNumber: expect.any(String) } },
      principalOutstanding: '480000.00',
    });
    expect(pools.body.items.map((item: { id: string }) => item.id)).toEqual([pool.id]);
    expectProblem(asOutsider, 404, 'loan_not_found');
    expect(outsiderList.body.items).toEqual([]);
    expect(statement.status).toBe(200);
    expect(statement.body.loans).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          loanId: loan.id,
          lender: 'bank',
          role: 'borrower',
          principalOutstanding: '480000.00',
          bank: expect.objectContaining({ bankName: BANK_NAME, maturityOn: '2027-06-15' }),
        }),
      ]),
    );
  });

  test('when an instalment of a bank loan is not reported by its due date, then the daily job marks the loan overdue and classifies it without accruing anything; unpaid interest alone keeps it overdue', async () => {
    const w = await loanWorld(h);
    const loan = await drawnBankLoan(w);
    const job = (date: string) =>
      h.http
        .post(api(`/funds/${w.fund.id}/jobs/daily`))
        .set(authNow(h, w.fund.admin))
        .send({ date });

    h.clock.set('2026-07-20T04:00:00.000Z');
    const ran = await job('2026-07-20');
    expect({ status: ran.status, body: ran.status === 200 ? null : ran.body }).toEqual({ status: 200, body: null });

    const overdue = await h.http.get(api(`/funds/${w.fund.id}/loans/${loan.id}`)).set(authNow(h, w.fund.admin));
    // Instalment 1 fell due 07-15: 5 days past due on 07-20, 关注 (1 … 90 days).
    expect(overdue.body).toMatchObject({
      status: 'overdue',
      overdue: true,
      daysPastDue: 5,
      classification: 'special_mention',
      balances: { interestReceivable: '0.00', penaltyInterestReceivable: '0.00' },
    });
    expect(await h.db('journal_entries').where({ fund_id: w.fund.id, kind: 'loan.accrual' })).toEqual([]);
    expect(await balanceOf(h, w.fund.id, '4001')).toBe('0.00');

    // Principal of instalment 1 reported, its interest not: still overdue by the schedule.
    const principalOnly = await report(w.users.borrower, w.fund.id, loan.id, {
      paidOn: '2026-07-20',
      principal: '40000.00',
      interest: '0.00',
      reference: 'ICBC-R-1',
    });
    expect(principalOnly.status).toBe(201);
    h.clock.set('2026-07-21T04:00:00.000Z');
    expect((await job('2026-07-21')).status).toBe(200);
    const stillOverdue = await h.http.get(api(`/funds/${w.fund.id}/loans/${loan.id}`)).set(authNow(h, w.fund.admin));
    expect(stillOverdue.body).toMatchObject({ status: 'overdue', daysPastDue: 6 });

    const interest = await report(w.users.borrower, w.fund.id, loan.id, {
      paidOn: '2026-07-21',
      principal: '0.00',
      interest: '1740.00',
      reference: 'ICBC-R-2',
    });
    expect(interest.status).toBe(201);
    expect(interest.body.entryId).toBeNull();
    h.clock.set('2026-07-22T04:00:00.000Z');
    expect((await job('2026-07-22')).status).toBe(200);
    const cured = await h.http.get(api(`/funds/${w.fund.id}/loans/${loan.id}`)).set(authNow(h, w.fund.admin));
    expect(cured.body).toMatchObject({ status: 'active', overdue: false, daysPastDue: 0, classification: 'normal' });
  });

  test('when a bank drawdown is dated outside its contract, then it is refused and nothing changes', async () => {
    const w = await loanWorld(h);
    const loan = await submittedBank(w, { lender: bankLender({ startOn: '2026-06-16', maturityOn: '2027-06-16' }) });
    await approveByContract(h, w.fund.id, loan.id);
    const before = await everything(w.fund.id);

    const early = await disburse(h, w.fund.admin, w.fund.id, loan.id, {
      disbursedOn: TEST_TODAY,
      bankReference: 'DD-1',
    });
    // By default the drawdown is on the contract's start, tomorrow: in the future.
    const future = await disburse(h, w.fund.admin, w.fund.id, loan.id, { bankReference: 'DD-2' });

    expectProblem(early, 422, 'drawdown_before_contract_start');
    expectProblem(future, 422, 'disbursed_on_in_future');
    expect(await everything(w.fund.id)).toEqual(before);
  });

  test('when an extension of a drawn bank loan is asked for, then it is refused: the bank extends its own loan', async () => {
    const w = await loanWorld(h);
    const loan = await drawnBankLoan(w);
    const before = await everything(w.fund.id);
    const extensions = () => h.db('loan_extensions').where({ fund_id: w.fund.id }).select('*');
    expect(await extensions()).toEqual([]);

    const asked = await h.http
      .post(api(`/funds/${w.fund.id}/loans/${loan.id}/extensions`))
      .set(authNow(h, w.users.borrower))
      .set('Idempotency-Key', randomUUID())
      .send({ newMaturityDate: '2027-12-31', reason: '银行同意展期' });

    expectProblem(asked, 409, 'bank_loan_not_extendable');
    expect(await everything(w.fund.id)).toEqual(before);
    expect(await extensions()).toEqual([]);
  });
});
