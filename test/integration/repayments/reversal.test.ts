import { startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { snapshot } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';
import { balanceOf } from '../disbursements/disbursements.helpers';
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
  reverse,
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

/** The figures a reversal must restore. */
async function figures(fundId: string, loanId: string, guarantor: string) {
  const codes = [
    '1001',
    `1201:${loanId}`,
    `1202:${loanId}`,
    `1203:${loanId}`,
    `1204:${loanId}`,
    `7001:${guarantor}`,
    '7002',
  ];
  const balances: Record<string, string> = {};
  for (const code of codes) balances[code] = await balanceOf(h, fundId, code);
  return {
    balances,
    paid: await paidColumns(h, loanId),
    loan: await h.db('loans').where({ id: loanId }).first('status', 'repaid_on'),
    guarantees: await h.db('loan_guarantees').where({ loan_id: loanId }).select('id', 'status'),
  };
}

describe('reversing a repayment', () => {
  test('when the repayment that closed a loan is reversed, then balances, paid columns, the loan and its guarantees are as before it', async () => {
    const w = await lendingWorld(h);
    const loanId = await activeLoan(h, w);
    setToday(h, '2026-07-15', w);
    await accrue(h, w.fund.id, loanId, 'interest', '321.78', '2026-07-14');
    await accrue(h, w.fund.id, loanId, 'penalty', '5.00', '2026-07-14');
    const part = await repay(h, w.fund.admin, w.fund.id, loanId, {
      amount: '1000.00',
      receivedOn: '2026-07-15',
      reference: 'REV-1',
    });
    expect(part.status).toBe(201);
    const before = await figures(w.fund.id, loanId, w.g1);
    const closing = await repay(h, w.fund.admin, w.fund.id, loanId, {
      amount: '89776.78',
      receivedOn: '2026-07-15',
      reference: 'REV-2',
    });
    expect(closing.body).toMatchObject({ closedLoan: true, loanStatus: 'repaid' });
    setToday(h, '2026-07-16', w);

    const response = await reverse(h, w.fund.admin, w.fund.id, loanId, closing.body.id, {
      reason: '银行退票：款项未到账',
    });

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      id: closing.body.id,
      status: 'reversed',
      closedLoan: true,
      loanStatus: 'active',
      reversal: { reversedOn: '2026-07-16', reversedBy: w.fund.admin.id, reason: '银行退票：款项未到账' },
    });
    expect(await figures(w.fund.id, loanId, w.g1)).toEqual(before);
    expect(before.loan).toEqual({ status: 'active', repaid_on: null });
    expect(before.guarantees.map((g: { status: string }) => g.status)).toEqual(['active']);
    const mirror = await h.db('journal_entries').where({ id: response.body.reversal.entryId }).first();
    expect(mirror).toMatchObject({
      kind: 'reversal',
      reverses_entry_id: closing.body.entryId,
      effective_date: '2026-07-16',
    });
    const guaranteeMirror = await h
      .db('journal_entries')
      .where({ id: response.body.reversal.guaranteeEntryId })
      .first();
    expect(guaranteeMirror).toMatchObject({ kind: 'reversal', reverses_entry_id: closing.body.guaranteeEntryId });
    expect(await h.db('audit_log').where({ fund_id: w.fund.id, action: 'loans.repayment.reverse' })).toHaveLength(1);

    // The bank reference is given back: the transfer can be recorded again, and the release
    // continues from the standing repayments only.
    const again = await repay(h, w.fund.admin, w.fund.id, loanId, {
      amount: '89776.78',
      receivedOn: '2026-07-16',
      reference: 'REV-2',
    });
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ closedLoan: true, loanStatus: 'repaid' });
    expect(await balanceOf(h, w.fund.id, `7001:${w.g1}`)).toBe('0.00');
  });

  test('when an older repayment is reversed while a later one stands, then it is refused; reversed in order, both go', async () => {
    const w = await lendingWorld(h);
    const loanId = await activeLoan(h, w);
    const initial = await figures(w.fund.id, loanId, w.g1);
    const body = (reference: string) => ({ amount: '5000.00', receivedOn: TEST_TODAY, reference });
    const first = await repay(h, w.fund.admin, w.fund.id, loanId, body('ORD-1'));
    const second = await repay(h, w.fund.admin, w.fund.id, loanId, body('ORD-2'));
    const before = { fund: await snapshot(h, w.fund.id), tables: await repaymentTables(h, w.fund.id) };

    const refused = await reverse(h, w.fund.admin, w.fund.id, loanId, first.body.id);

    expectProblem(refused, 409, 'repayment_not_latest');
    expect(refused.body).toMatchObject({ latestRepaymentId: second.body.id, latestNumber: 2 });
    expect({ fund: await snapshot(h, w.fund.id), tables: await repaymentTables(h, w.fund.id) }).toEqual(before);

    expect((await reverse(h, w.fund.admin, w.fund.id, loanId, second.body.id)).status).toBe(200);
    const twice = await reverse(h, w.fund.admin, w.fund.id, loanId, second.body.id);
    expectProblem(twice, 409, 'repayment_already_reversed');
    expect((await reverse(h, w.fund.admin, w.fund.id, loanId, first.body.id)).status).toBe(200);
    expect(await figures(w.fund.id, loanId, w.g1)).toEqual(initial);

    const list = await h.http.get(api(`/funds/${w.fund.id}/loans/${loanId}/repayments`)).set(w.fund.admin.auth);
    expect(list.body.items.map((r: { number: number; status: string }) => [r.number, r.status])).toEqual([
      [2, 'reversed'],
      [1, 'reversed'],
    ]);
  });

  test('when a reversal is refused for its date, its key or its user, then nothing changes; a replay answers as the first did', async () => {
    const w = await lendingWorld(h);
    const loanId = await activeLoan(h, w);
    setToday(h, '2026-06-20', w);
    const paid = await repay(h, w.fund.admin, w.fund.id, loanId, {
      amount: '700.00',
      receivedOn: '2026-06-18',
      reference: 'DATE-1',
    });
    const before = { fund: await snapshot(h, w.fund.id), tables: await repaymentTables(h, w.fund.id) };
    const send = (body: Record<string, unknown>) => reverse(h, w.fund.admin, w.fund.id, loanId, paid.body.id, body);

    expectProblem(await send({ reason: 'x', reversedOn: '2026-06-21' }), 422, 'reversed_on_in_future');
    expectProblem(await send({ reason: 'x', reversedOn: '2026-06-17' }), 422, 'reversed_on_before_receipt');
    expectProblem(await send({ reason: '' }), 400, 'validation_failed');
    expectProblem(
      await reverse(h, w.fund.admin, w.fund.id, loanId, paid.body.id, { reason: 'x' }, null),
      400,
      'idempotency_key_required',
    );
    expectProblem(await reverse(h, w.users.borrower, w.fund.id, loanId, paid.body.id), 403, 'forbidden');
    expectProblem(await reverse(h, w.users.committee, w.fund.id, loanId, paid.body.id), 403, 'forbidden');
    expectProblem(await reverse(h, w.fund.admin, w.fund.id, loanId, randomUUID()), 404, 'repayment_not_found');
    expect({ fund: await snapshot(h, w.fund.id), tables: await repaymentTables(h, w.fund.id) }).toEqual(before);

    const key = randomUUID();
    const first = await reverse(h, w.fund.admin, w.fund.id, loanId, paid.body.id, { reason: 'dup' }, key);
    const replay = await reverse(h, w.fund.admin, w.fund.id, loanId, paid.body.id, { reason: 'dup' }, key);
    expect(first.status).toBe(200);
    expect(replay.status).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect(first.body.reversal.reversedOn).toBe('2026-06-20');
  });

  test('when a peer loan repayment is reversed, then the memo book and the schedule are as before', async () => {
    const w = await lendingWorld(h);
    const loanId = await activePeerLoan(h, w);
    setToday(h, '2026-07-15', w);
    const paid = await repay(h, w.fund.admin, w.fund.id, loanId, {
      amount: '10321.78',
      receivedOn: '2026-07-15',
      reference: 'PEER-REV',
    });
    expect(paid.status).toBe(201);
    expect(await balanceOf(h, w.fund.id, `7101:${loanId}`)).toBe('80000.00');

    const response = await reverse(h, w.fund.admin, w.fund.id, loanId, paid.body.id);

    expect(response.status).toBe(200);
    expect(await balanceOf(h, w.fund.id, `7101:${loanId}`)).toBe('90000.00');
    expect(await balanceOf(h, w.fund.id, '7102')).toBe('90000.00');
    expect(await balanceOf(h, w.fund.id, `7001:${w.g1}`)).toBe('150000.00');
    expect(await paidColumns(h, loanId)).toEqual([
      ['0.00', '0.00'],
      ['0.00', '0.00'],
      ['0.00', '0.00'],
    ]);
  });
});
