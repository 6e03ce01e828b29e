import { makeUser, startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { snapshot } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';
import { approvedLoan, balanceOf } from '../disbursements/disbursements.helpers';
import {
  accrue,
  activeLoan,
  activePeerLoan,
  api,
  lendingWorld,
  paidColumns,
  randomUUID,
  repay,
  repaymentTables,
  setToday,
  START,
} from './repayments.helpers';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterEach(() => {
  h.clock.set(START);
});
afterAll(async () => {
  await h.close();
});

describe('allocating a repayment', () => {
  test('when a repayment covers everything due and more, then it pays the fee, penalty, interest, the due principal and prepays the rest of the oldest instalment', async () => {
    const w = await lendingWorld(h);
    const loanId = await activeLoan(h, w);
    setToday(h, '2026-07-15', w);
    await accrue(h, w.fund.id, loanId, 'interest', '321.78', '2026-07-14');
    await accrue(h, w.fund.id, loanId, 'penalty', '10.00', '2026-07-14');
    const cashBefore = await balanceOf(h, w.fund.id, '1001');

    // 450.00 fee + 10.00 penalty + 321.78 interest + 30,000.00 due + 5,000.00 prepaid.
    const response = await repay(h, w.fund.admin, w.fund.id, loanId, {
      amount: '35781.78',
      receivedOn: '2026-07-15',
      reference: 'ICBC-R-0001',
    });

    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      loanId,
      number: 1,
      status: 'recorded',
      amount: '35781.78',
      receivedOn: '2026-07-15',
      reference: 'ICBC-R-0001',
      allocated: { fee: '450.00', penaltyInterest: '10.00', interest: '321.78', principal: '35000.00' },
      closedLoan: false,
      loanStatus: 'active',
      reversal: null,
    });
    expect(response.body.allocations).toEqual([
      { component: 'fee', scheduleVersion: null, instalmentNumber: null, amount: '450.00', prepayment: false },
      { component: 'penalty', scheduleVersion: null, instalmentNumber: null, amount: '10.00', prepayment: false },
      { component: 'interest', scheduleVersion: 1, instalmentNumber: 1, amount: '321.78', prepayment: false },
      { component: 'principal', scheduleVersion: 1, instalmentNumber: 1, amount: '30000.00', prepayment: false },
      { component: 'principal', scheduleVersion: 1, instalmentNumber: 2, amount: '5000.00', prepayment: true },
    ]);
    expect(await balanceOf(h, w.fund.id, '1001')).toBe((Number(cashBefore) + 35781.78).toFixed(2));
    expect(await balanceOf(h, w.fund.id, `1201:${loanId}`)).toBe('55000.00');
    expect(await balanceOf(h, w.fund.id, `1202:${loanId}`)).toBe('0.00');
    expect(await balanceOf(h, w.fund.id, `1203:${loanId}`)).toBe('0.00');
    expect(await balanceOf(h, w.fund.id, `1204:${loanId}`)).toBe('0.00');
    expect(await paidColumns(h, loanId)).toEqual([
      ['30000.00', '321.78'],
      ['5000.00', '0.00'],
      ['0.00', '0.00'],
    ]);
    const entry = await h.db('journal_entries').where({ id: response.body.entryId }).first();
    expect(entry).toMatchObject({ kind: 'loan.repayment', effective_date: '2026-07-15' });
    const audit = await h.db('audit_log').where({ fund_id: w.fund.id, action: 'loans.repayment.record' });
    expect(audit).toHaveLength(1);
  });

  test('when a repayment covers only part of the interest, then the oldest instalment’s interest is paid first and interest not yet accrued is not taken', async () => {
    const w = await lendingWorld(h);
    const loanId = await activeLoan(h, w);
    setToday(h, '2026-08-02', w);
    await accrue(h, w.fund.id, loanId, 'interest', '321.78', '2026-07-14');
    await accrue(h, w.fund.id, loanId, 'interest', '150.00', '2026-08-01');

    const response = await repay(h, w.fund.admin, w.fund.id, loanId, {
      amount: '850.00',
      receivedOn: '2026-08-02',
      reference: 'ICBC-R-0002',
    });

    expect(response.status).toBe(201);
    expect(response.body.allocations).toEqual([
      { component: 'fee', scheduleVersion: null, instalmentNumber: null, amount: '450.00', prepayment: false },
      { component: 'interest', scheduleVersion: 1, instalmentNumber: 1, amount: '321.78', prepayment: false },
      { component: 'interest', scheduleVersion: 1, instalmentNumber: 2, amount: '78.22', prepayment: false },
    ]);
    expect(await balanceOf(h, w.fund.id, `1202:${loanId}`)).toBe('71.78');
    expect(await balanceOf(h, w.fund.id, `1201:${loanId}`)).toBe('90000.00');

    // What is left of the accrued interest comes before any principal; the interest of August not
    // yet accrued is not owed.
    const payoff = await h.http.get(api(`/funds/${w.fund.id}/loans/${loanId}/payoff`)).set(w.fund.admin.auth);
    expect(payoff.status).toBe(200);
    expect(payoff.body).toEqual({
      loanId,
      asOf: '2026-08-02',
      lender: 'pool',
      fee: '0.00',
      penaltyInterest: '0.00',
      interest: '71.78',
      principal: '90000.00',
      total: '90071.78',
    });
    const earlier = await h.http
      .get(api(`/funds/${w.fund.id}/loans/${loanId}/payoff?asOf=2026-07-20`))
      .set(w.fund.admin.auth);
    // As of 20 July the repayment of 2 August had not come: the fee was still owed.
    expect(earlier.body).toMatchObject({ fee: '450.00', interest: '321.78', total: '90771.78' });
  });

  test('when a prepayment reduces the principal, then the receivable falls and the guarantee is released in proportion', async () => {
    const w = await lendingWorld(h);
    const loanId = await activeLoan(h, w);

    const response = await repay(h, w.fund.admin, w.fund.id, loanId, {
      amount: '10450.00',
      receivedOn: TEST_TODAY,
      reference: 'ICBC-R-0003',
    });

    expect(response.status).toBe(201);
    expect(response.body.allocated).toEqual({
      fee: '450.00',
      penaltyInterest: '0.00',
      interest: '0.00',
      principal: '10000.00',
    });
    expect(response.body.allocations.at(-1)).toEqual({
      component: 'principal',
      scheduleVersion: 1,
      instalmentNumber: 1,
      amount: '10000.00',
      prepayment: true,
    });
    expect(await balanceOf(h, w.fund.id, `1201:${loanId}`)).toBe('80000.00');
    // 150,000.00 × 10,000 / 90,000 = 16,666.666… → 16,666.67 (half-up).
    const guarantee = (await h.db('loan_guarantees').where({ loan_id: loanId }).first()) as { id: string };
    expect(response.body.guaranteeReleases).toEqual([
      { guaranteeId: guarantee.id, amount: '16666.67', releasedTotal: '16666.67' },
    ]);
    expect(await balanceOf(h, w.fund.id, `7001:${w.g1}`)).toBe('133333.33');
    expect(await balanceOf(h, w.fund.id, '7002')).toBe('133333.33');
  });
});

describe('guarantees and closing', () => {
  test('when the loan is repaid in three parts, then each release is the cumulative rounding and the last closes the loan and releases the guarantee in full', async () => {
    const w = await lendingWorld(h);
    const loanId = await activeLoan(h, w);
    const body = (amount: string, reference: string) => ({ amount, receivedOn: TEST_TODAY, reference });

    const first = await repay(h, w.fund.admin, w.fund.id, loanId, body('10450.00', 'CMB-1'));
    const second = await repay(h, w.fund.admin, w.fund.id, loanId, body('10000.00', 'CMB-2'));

    expect(first.body.guaranteeReleases[0]).toMatchObject({ amount: '16666.67', releasedTotal: '16666.67' });
    // 150,000.00 × 20,000 / 90,000 = 33,333.33: the increment is 16,666.66, not a second 16,666.67.
    expect(second.body.guaranteeReleases[0]).toMatchObject({ amount: '16666.66', releasedTotal: '33333.33' });

    const payoff = await h.http.get(api(`/funds/${w.fund.id}/loans/${loanId}/payoff`)).set(w.fund.admin.auth);
    expect(payoff.body.total).toBe('70000.00');
    const last = await repay(h, w.fund.admin, w.fund.id, loanId, body('70000.00', 'CMB-3'));

    expect(last.status).toBe(201);
    expect(last.body).toMatchObject({ closedLoan: true, loanStatus: 'repaid' });
    expect(last.body.guaranteeReleases[0]).toMatchObject({ amount: '116666.67', releasedTotal: '150000.00' });
    expect(await balanceOf(h, w.fund.id, `1201:${loanId}`)).toBe('0.00');
    expect(await balanceOf(h, w.fund.id, `7001:${w.g1}`)).toBe('0.00');
    expect(await balanceOf(h, w.fund.id, '7002')).toBe('0.00');
    const loan = await h.db('loans').where({ id: loanId }).first();
    expect(loan).toMatchObject({ status: 'repaid', repaid_on: TEST_TODAY });
    const guarantees = await h.db('loan_guarantees').where({ loan_id: loanId });
    expect(guarantees.map((g: { status: string }) => g.status)).toEqual(['released']);
    expect(await paidColumns(h, loanId)).toEqual([
      ['30000.00', '0.00'],
      ['30000.00', '0.00'],
      ['30000.00', '0.00'],
    ]);

    // A closed loan owes nothing and takes no more money.
    const after = await h.http.get(api(`/funds/${w.fund.id}/loans/${loanId}/payoff`)).set(w.fund.admin.auth);
    expect(after.body).toMatchObject({ total: '0.00', principal: '0.00' });
    const more = await repay(h, w.fund.admin, w.fund.id, loanId, body('1.00', 'CMB-4'));
    expectProblem(more, 409, 'loan_not_repayable');
    expect(more.body.loanStatus).toBe('repaid');
  });

  test('when the payoff with accrued interest and penalty is paid, then every receivable is zero and the loan closes', async () => {
    const w = await lendingWorld(h);
    const loanId = await activeLoan(h, w);
    setToday(h, '2026-07-21', w);
    await accrue(h, w.fund.id, loanId, 'interest', '400.00', '2026-07-20');
    await accrue(h, w.fund.id, loanId, 'penalty', '3.21', '2026-07-20');
    const payoff = await h.http.get(api(`/funds/${w.fund.id}/loans/${loanId}/payoff`)).set(w.fund.admin.auth);
    expect(payoff.body).toMatchObject({
      fee: '450.00',
      penaltyInterest: '3.21',
      interest: '400.00',
      principal: '90000.00',
      total: '90853.21',
    });

    const response = await repay(h, w.fund.admin, w.fund.id, loanId, {
      amount: payoff.body.total,
      receivedOn: '2026-07-21',
      reference: 'PAYOFF-1',
    });

    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ closedLoan: true, loanStatus: 'repaid' });
    // Interest beyond the first instalment's 321.78 goes to the second.
    expect(response.body.allocations.filter((a: { component: string }) => a.component === 'interest')).toEqual([
      { component: 'interest', scheduleVersion: 1, instalmentNumber: 1, amount: '321.78', prepayment: false },
      { component: 'interest', scheduleVersion: 1, instalmentNumber: 2, amount: '78.22', prepayment: false },
    ]);
    for (const code of ['1201', '1202', '1203', '1204']) {
      expect(await balanceOf(h, w.fund.id, `${code}:${loanId}`)).toBe('0.00');
    }
  });
});

describe('refusals', () => {
  test('when the amount is above the payoff, then it is refused with the payoff and its parts and nothing changes', async () => {
    const w = await lendingWorld(h);
    const loanId = await activeLoan(h, w);
    const before = { fund: await snapshot(h, w.fund.id), tables: await repaymentTables(h, w.fund.id) };

    const response = await repay(h, w.fund.admin, w.fund.id, loanId, {
      amount: '90450.01',
      receivedOn: TEST_TODAY,
      reference: 'TOO-MUCH',
    });

    expectProblem(response, 422, 'repayment_exceeds_payoff');
    expect(response.body).toMatchObject({
      amount: '90450.01',
      payoff: { fee: '450.00', penaltyInterest: '0.00', interest: '0.00', principal: '90000.00', total: '90450.00' },
    });
    expect({ fund: await snapshot(h, w.fund.id), tables: await repaymentTables(h, w.fund.id) }).toEqual(before);
  });

  test('when a bank reference is recorded again, for this loan or another, then it is refused and nothing changes', async () => {
    const w = await lendingWorld(h);
    const loanId = await activeLoan(h, w);
    const other = await activeLoan(h, w, { amount: '1000.00', guarantors: [] });
    const first = await repay(h, w.fund.admin, w.fund.id, loanId, {
      amount: '500.00',
      receivedOn: TEST_TODAY,
      reference: 'SAME-REF',
    });
    expect(first.status).toBe(201);
    const before = { fund: await snapshot(h, w.fund.id), tables: await repaymentTables(h, w.fund.id) };

    const again = await repay(h, w.fund.admin, w.fund.id, loanId, {
      amount: '600.00',
      receivedOn: TEST_TODAY,
      reference: 'SAME-REF',
    });
    const elsewhere = await repay(h, w.fund.admin, w.fund.id, other, {
      amount: '10.00',
      receivedOn: TEST_TODAY,
      reference: ' SAME-REF ',
    });

    expectProblem(again, 409, 'repayment_reference_taken');
    expect(again.body.repaymentId).toBe(first.body.id);
    expectProblem(elsewhere, 409, 'repayment_reference_taken');
    expect({ fund: await snapshot(h, w.fund.id), tables: await repaymentTables(h, w.fund.id) }).toEqual(before);
  });

  test('when the input or the dates are wrong, then each is refused with its code and nothing changes', async () => {
    const w = await lendingWorld(h);
    const loanId = await activeLoan(h, w);
    const approved = await approvedLoan(h, w, { amount: '1000.00', guarantors: [] });
    setToday(h, '2026-07-01', w);
    await repay(h, w.fund.admin, w.fund.id, loanId, { amount: '100.00', receivedOn: '2026-06-30', reference: 'OK-1' });
    const before = { fund: await snapshot(h, w.fund.id), tables: await repaymentTables(h, w.fund.id) };
    const send = (body: Record<string, unknown>, id = loanId) => repay(h, w.fund.admin, w.fund.id, id, body);
    const valid = { amount: '100.00', receivedOn: '2026-07-01', reference: 'X-1' };

    expectProblem(await send({ ...valid, amount: '100.001' }), 400, 'validation_failed');
    expectProblem(await send({ ...valid, amount: '0.00' }), 400, 'validation_failed');
    expectProblem(await send({ ...valid, amount: '-5.00' }), 400, 'validation_failed');
    expectProblem(await send({ ...valid, receivedOn: '2026-07-02' }), 422, 'received_on_in_future');
    expectProblem(await send({ ...valid, receivedOn: '2026-06-14' }), 422, 'received_on_before_disbursement');
    expectProblem(await send({ ...valid, receivedOn: '2026-06-29' }), 422, 'received_on_before_last_repayment');
    const notDisbursed = await send(valid, approved.id);
    expectProblem(notDisbursed, 409, 'loan_not_repayable');
    expect(notDisbursed.body.loanStatus).toBe('approved');
    expectProblem(await send(valid, randomUUID()), 404, 'loan_not_found');
    expectProblem(await repay(h, w.fund.admin, w.fund.id, loanId, valid, null), 400, 'idempotency_key_required');
    expect({ fund: await snapshot(h, w.fund.id), tables: await repaymentTables(h, w.fund.id) }).toEqual(before);
  });
});

describe('idempotency', () => {
  test('when a repayment is sent again with the same key, then the first answer is replayed and the money is recorded once', async () => {
    const w = await lendingWorld(h);
    const loanId = await activeLoan(h, w);
    const key = randomUUID();
    const body = { amount: '1000.00', receivedOn: TEST_TODAY, reference: 'IDEM-1' };

    const first = await repay(h, w.fund.admin, w.fund.id, loanId, body, key);
    const replay = await repay(h, w.fund.admin, w.fund.id, loanId, body, key);
    const reused = await repay(h, w.fund.admin, w.fund.id, loanId, { ...body, amount: '2000.00' }, key);

    expect(first.status).toBe(201);
    expect(replay.status).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
    expectProblem(reused, 409, 'idempotency_key_reused');
    expect(await h.db('repayments').where({ loan_id: loanId })).toHaveLength(1);
    expect(await balanceOf(h, w.fund.id, `1201:${loanId}`)).toBe('89450.00');
  });
});

describe('peer loans', () => {
  test('when a peer loan is repaid, then the scheduled interest due and the principal are allocated, only the principal is recorded in the memo book and pool cash is untouched', async () => {
    const w = await lendingWorld(h);
    const loanId = await activePeerLoan(h, w);
    setToday(h, '2026-07-15', w);
    const cashBefore = await balanceOf(h, w.fund.id, '1001');
    const payoff = await h.http.get(api(`/funds/${w.fund.id}/loans/${loanId}/payoff`)).set(w.users.big.auth);
    expect(payoff.body).toEqual({
      loanId,
      asOf: '2026-07-15',
      lender: 'peer',
      fee: '0.00',
      penaltyInterest: '0.00',
      interest: '321.78',
      principal: '90000.00',
      total: '90321.78',
    });

    const response = await repay(h, w.fund.admin, w.fund.id, loanId, {
      amount: '30321.78',
      receivedOn: '2026-07-15',
      reference: 'PEER-R-1',
    });

    expect(response.status).toBe(201);
    expect(response.body.allocations).toEqual([
      { component: 'interest', scheduleVersion: 1, instalmentNumber: 1, amount: '321.78', prepayment: false },
      { component: 'principal', scheduleVersion: 1, instalmentNumber: 1, amount: '30000.00', prepayment: false },
    ]);
    expect(await balanceOf(h, w.fund.id, '1001')).toBe(cashBefore);
    expect(await balanceOf(h, w.fund.id, `7101:${loanId}`)).toBe('60000.00');
    expect(await balanceOf(h, w.fund.id, '7102')).toBe('60000.00');
    expect(await h.db('accounts').where({ fund_id: w.fund.id }).whereLike('code', `120_:${loanId}`)).toEqual([]);
    const entry = await h.db('journal_entries').where({ id: response.body.entryId }).first();
    expect(entry.kind).toBe('loan.peer_repayment');
    expect(await paidColumns(h, loanId)).toEqual([
      ['30000.00', '321.78'],
      ['0.00', '0.00'],
      ['0.00', '0.00'],
    ]);
    // 150,000.00 × 30,000 / 90,000 = 50,000.00 of G1's guarantee released.
    expect(await balanceOf(h, w.fund.id, `7001:${w.g1}`)).toBe('100000.00');

    const rest = await repay(h, w.fund.admin, w.fund.id, loanId, {
      amount: '60000.00',
      receivedOn: '2026-07-15',
      reference: 'PEER-R-2',
    });
    expect(rest.body).toMatchObject({ closedLoan: true, loanStatus: 'repaid' });
    expect(await balanceOf(h, w.fund.id, `7101:${loanId}`)).toBe('0.00');
    expect(await balanceOf(h, w.fund.id, `7001:${w.g1}`)).toBe('0.00');
  });
});

describe('who may record and read repayments', () => {
  test('when users other than an admin record, then 403; members read only loans their enterprise takes part in', async () => {
    const w = await lendingWorld(h);
    const loanId = await activeLoan(h, w);
    const body = { amount: '100.00', receivedOn: TEST_TODAY, reference: 'AUTHZ-1' };
    for (const user of [w.users.borrower, w.users.committee, w.users.auditor]) {
      expectProblem(await repay(h, user, w.fund.id, loanId, body), 403, 'forbidden');
    }
    const recorded = await repay(h, w.fund.admin, w.fund.id, loanId, body);
    expect(recorded.status).toBe(201);
    const outsider = await makeUser(h, 'member', { fundId: w.fund.id, memberId: w.g2 });
    const list = (user: typeof outsider) =>
      h.http.get(api(`/funds/${w.fund.id}/loans/${loanId}/repayments`)).set(user.auth);

    for (const user of [w.users.borrower, w.users.g1, w.users.committee, w.users.auditor, w.fund.admin]) {
      const response = await list(user);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ items: [recorded.body], nextCursor: null });
    }
    expectProblem(await list(outsider), 404, 'loan_not_found');
    expectProblem(
      await h.http.get(api(`/funds/${w.fund.id}/loans/${loanId}/payoff`)).set(outsider.auth),
      404,
      'loan_not_found',
    );
    const otherFund = await lendingWorld(h);
    expectProblem(
      await h.http.get(api(`/funds/${w.fund.id}/loans/${loanId}/repayments`)).set(otherFund.users.borrower.auth),
      404,
      'fund_not_found',
    );
    expectProblem(
      await h.http.get(api(`/funds/${w.fund.id}/loans/${loanId}/payoff?asOf=2026-06-16`)).set(w.fund.admin.auth),
      422,
      'as_of_in_future',
    );
    expectProblem(
      await h.http.get(api(`/funds/${w.fund.id}/loans/${loanId}/payoff?asOf=2026-06-14`)).set(w.fund.admin.auth),
      422,
      'as_of_before_disbursement',
    );
  });

  test('when a loan has more repayments than a page, then the pages follow each other newest first', async () => {
    const w = await lendingWorld(h);
    const loanId = await activeLoan(h, w);
    for (const n of [1, 2, 3]) {
      const response = await repay(h, w.fund.admin, w.fund.id, loanId, {
        amount: '10.00',
        receivedOn: TEST_TODAY,
        reference: `PAGE-${n}`,
      });
      expect(response.status).toBe(201);
    }
    const url = api(`/funds/${w.fund.id}/loans/${loanId}/repayments?limit=2`);
    const first = await h.http.get(url).set(w.fund.admin.auth);
    const second = await h.http.get(`${url}&cursor=${first.body.nextCursor}`).set(w.fund.admin.auth);

    expect(first.body.items.map((r: { number: number }) => r.number)).toEqual([3, 2]);
    expect(second.body.items.map((r: { number: number }) => r.number)).toEqual([1]);
    expect(second.body.nextCursor).toBeNull();
  });
});
