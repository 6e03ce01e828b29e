import { bankCharge, postEntry } from '../../helpers/factories';
import { makeUser, startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { expectFundConsistent, snapshot } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';
import { api, loanWorld, type LoanWorld } from '../loans/loans.helpers';
import {
  approvedLoan,
  balanceOf,
  confirm,
  disburse,
  heldOn,
  randomUUID,
  runHoldSweep,
  servicingTables,
  submittedLoan,
} from './disbursements.helpers';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});
afterEach(() => {
  h.clock.set('2026-06-15T04:00:00.000Z');
});

/** Everything a refusal must leave as it was: the fund's books, audit, holds and the loan tables. */
async function state(w: LoanWorld) {
  return { fund: await snapshot(h, w.fund.id), tables: await servicingTables(h, w.fund.id) };
}

describe('maker-checker', () => {
  test('when the amount is at or above the threshold, then the first admin records a request and a different admin executes it', async () => {
    const w = await loanWorld(h);
    const loan = await approvedLoan(h, w); // 200,000.00 ≥ 100,000.00
    const checker = await makeUser(h, 'admin');

    const asked = await disburse(h, w.fund.admin, w.fund.id, loan.id, { bankReference: 'BOC-7' });

    expect(asked.status).toBe(201);
    expect(asked.body).toMatchObject({
      status: 'awaiting_confirmation',
      requiresConfirmation: true,
      entryId: null,
      loanStatus: 'approved',
    });
    expect(
      await h
        .db('accounts')
        .where({ fund_id: w.fund.id, code: `1201:${loan.id}` })
        .first(),
    ).toBeUndefined();
    expect(await heldOn(h, w.fund.id, '1001')).toBe('200000.00');

    // A second request for the same loan waits behind the first.
    expectProblem(await disburse(h, checker, w.fund.id, loan.id), 409, 'disbursement_request_pending');

    // The maker cannot check its own request; nothing changes.
    const before = await state(w);
    const own = await confirm(h, w.fund.admin, w.fund.id, loan.id, asked.body.id);
    expectProblem(own, 403, 'maker_checker_same_admin');
    expect(await state(w)).toEqual(before);

    const confirmed = await confirm(h, checker, w.fund.id, loan.id, asked.body.id);
    expect(confirmed.status).toBe(200);
    expect(confirmed.body).toMatchObject({
      id: asked.body.id,
      status: 'executed',
      requestedBy: w.fund.admin.id,
      confirmedBy: checker.id,
      loanStatus: 'active',
      disbursedOn: TEST_TODAY,
    });
    expect(await balanceOf(h, w.fund.id, `1201:${loan.id}`)).toBe('200000.00');
    expect(await heldOn(h, w.fund.id, '1001')).toBe('0.00');
    const actions = (await h.db('audit_log').where({ fund_id: w.fund.id }).whereLike('action', 'loans.disbursement.%'))
      .map((row: { action: string }) => row.action)
      .sort();
    expect(actions).toEqual(['loans.disbursement.confirm', 'loans.disbursement.request']);

    expectProblem(
      await confirm(h, checker, w.fund.id, loan.id, asked.body.id),
      409,
      'disbursement_request_not_pending',
    );
    expectProblem(await confirm(h, checker, w.fund.id, loan.id, randomUUID()), 404, 'disbursement_request_not_found');
    await expectFundConsistent(h, w.fund.id);
  });

  test('when the amount is below the threshold, then the first admin executes at once', async () => {
    const w = await loanWorld(h);
    const loan = await approvedLoan(h, w, { amount: '99999.99' });
    const response = await disburse(h, w.fund.admin, w.fund.id, loan.id);
    expect(response.body).toMatchObject({ status: 'executed', requiresConfirmation: false, confirmedBy: null });
    expect(await balanceOf(h, w.fund.id, `1201:${loan.id}`)).toBe('99999.99');
  });
});

describe('idempotency', () => {
  test('when the same request is sent again with its key, then the stored answer comes back and the money moves once', async () => {
    const w = await loanWorld(h);
    const loan = await approvedLoan(h, w, { amount: '50000.00' });
    const key = randomUUID();
    const first = await disburse(h, w.fund.admin, w.fund.id, loan.id, { bankReference: 'R-1' }, key);
    expect(first.status).toBe(201);
    const again = await disburse(h, w.fund.admin, w.fund.id, loan.id, { bankReference: 'R-1' }, key);
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await h.db('journal_entries').where({ fund_id: w.fund.id, kind: 'loan.disbursement' })).toHaveLength(1);

    const reused = await disburse(h, w.fund.admin, w.fund.id, loan.id, { bankReference: 'R-2' }, key);
    expectProblem(reused, 409, 'idempotency_key_reused');
    expectProblem(
      await disburse(h, w.fund.admin, w.fund.id, loan.id, { bankReference: 'R-3' }, null),
      400,
      'idempotency_key_required',
    );
    expect(await balanceOf(h, w.fund.id, `1201:${loan.id}`)).toBe('50000.00');
  });
});

describe('refusals change nothing', () => {
  test('when the loan is only submitted, then 409 loan_not_approved', async () => {
    const w = await loanWorld(h);
    const loan = await submittedLoan(h, w);
    const before = await state(w);
    const response = await disburse(h, w.fund.admin, w.fund.id, loan.id);
    expectProblem(response, 409, 'loan_not_approved');
    expect(response.body).toMatchObject({ loanStatus: 'submitted' });
    expect(await state(w)).toEqual(before);
    expectProblem(await disburse(h, w.fund.admin, w.fund.id, randomUUID()), 404, 'loan_not_found');
  });

  test('when the date is in the future or before the application, or the bank reference is missing, then the request is refused', async () => {
    const w = await loanWorld(h);
    const loan = await approvedLoan(h, w, { amount: '1000.00' });
    const before = await state(w);
    const future = await disburse(h, w.fund.admin, w.fund.id, loan.id, {
      disbursedOn: '2026-06-16',
      bankReference: 'X',
    });
    expectProblem(future, 422, 'disbursed_on_in_future');
    expect(future.body).toMatchObject({ disbursedOn: '2026-06-16', today: TEST_TODAY });
    const early = await disburse(h, w.fund.admin, w.fund.id, loan.id, {
      disbursedOn: '2026-06-01',
      bankReference: 'X',
    });
    expectProblem(early, 422, 'disbursed_on_before_submission');
    expectProblem(await disburse(h, w.fund.admin, w.fund.id, loan.id, {}), 400, 'validation_failed');
    expectProblem(
      await disburse(h, w.fund.admin, w.fund.id, loan.id, { bankReference: 'X', amount: '1.00' }),
      400,
      'validation_failed',
    );
    expect(await state(w)).toEqual(before);
  });

  test('when the borrower was suspended since approval, then the rules fail at stage disbursement', async () => {
    const w = await loanWorld(h);
    const loan = await approvedLoan(h, w, { amount: '1000.00' });
    await h.db('members').where({ id: w.borrower }).update({ status: 'suspended' });
    const before = await state(w);
    const response = await disburse(h, w.fund.admin, w.fund.id, loan.id);
    expectProblem(response, 422, 'loan_ineligible');
    expect(response.body).toMatchObject({ stage: 'disbursement', rule: 'borrower_active', actual: 'suspended' });
    expect(await state(w)).toEqual(before);
  });

  test('when the pool lost cash since approval, then pool_cash_available fails even with the loan’s own hold added back', async () => {
    const w = await loanWorld(h);
    const loan = await approvedLoan(h, w, { amount: '1000.00' });
    // Cash goes out: 225,500.00 left against a 225,000.00 reserve, so 500.00 is available to lend.
    const charge = await postEntry(h, w.fund.admin, w.fund.id, bankCharge('2024500.00'));
    expect(charge.status).toBe(201);
    const before = await state(w);
    const response = await disburse(h, w.fund.admin, w.fund.id, loan.id);
    expectProblem(response, 422, 'loan_ineligible');
    expect(response.body).toMatchObject({
      stage: 'disbursement',
      rule: 'pool_cash_available',
      limit: '500.00',
      actual: '1000.00',
    });
    expect(await state(w)).toEqual(before);
  });

  test('when the approval hold expired, then disbursing and confirming are refused and the sweep cancels the loan', async () => {
    const w = await loanWorld(h);
    const small = await approvedLoan(h, w, {
      amount: '1000.00',
      guarantors: [{ memberId: w.g2, amount: '1000.00', type: 'general' }],
    });
    const large = await approvedLoan(h, w, { amount: '150000.00' });
    const asked = await disburse(h, w.fund.admin, w.fund.id, large.id);
    expect(asked.body.status).toBe('awaiting_confirmation');
    // 14 days (approvalHoldDays) and a minute later.
    h.clock.set('2026-06-29T04:01:00.000Z');
    // Tokens are issued against the harness clock: users made now have ones valid now.
    const admin = await makeUser(h, 'admin');
    const before = await state(w);
    const direct = await disburse(h, admin, w.fund.id, small.id);
    expectProblem(direct, 409, 'loan_hold_expired');
    expect(direct.body).toMatchObject({ holdStatus: 'pending' });
    const checked = await confirm(h, await makeUser(h, 'admin'), w.fund.id, large.id, asked.body.id);
    expectProblem(checked, 409, 'loan_hold_expired');
    expect(await state(w)).toEqual(before);

    await runHoldSweep(h);

    const loans = await h.db('loans').whereIn('id', [small.id, large.id]).select('status', 'cancellation_reason');
    expect(loans.map((row: { status: string }) => row.status)).toEqual(['cancelled', 'cancelled']);
    expect(await heldOn(h, w.fund.id, '1001')).toBe('0.00');
    const request = await h.db('disbursement_requests').where({ id: asked.body.id }).first();
    expect(request).toMatchObject({ status: 'cancelled' });
    const guarantees = await h.db('loan_guarantees').whereIn('loan_id', [small.id, large.id]).select('status');
    expect(guarantees.map((g: { status: string }) => g.status)).toEqual(['withdrawn', 'withdrawn']);
    const audit = await h.db('audit_log').where({ fund_id: w.fund.id, action: 'loans.approval.expire' });
    expect(audit).toHaveLength(1);
    expectProblem(await disburse(h, admin, w.fund.id, small.id), 409, 'loan_not_approved');
    const read = await h.http.get(api(`/funds/${w.fund.id}/loans/${small.id}`)).set(admin.auth);
    expect(read.body).toMatchObject({
      status: 'cancelled',
      cancelledAt: expect.any(String),
      holds: [expect.objectContaining({ status: 'expired' })],
    });
    await expectFundConsistent(h, w.fund.id);
  });
});
