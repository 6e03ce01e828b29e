import { SYSTEM_ACTOR } from '../../../src/auth/principal';
import { inTransaction } from '../../../src/db/transaction';
import {
  bankCharge,
  capitalAccount,
  createFund,
  createMember,
  entryBody,
  fundPool,
  postEntry,
  randomUUID,
  type TestFund,
} from '../../helpers/factories';
import { makeUser, startHarness, TEST_TODAY, type Harness, type TestUser } from '../../helpers/harness';
import { expectFundConsistent, snapshot } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';

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

function requestExit(
  fund: TestFund,
  memberId: string,
  body: Record<string, unknown> = { reason: 'Leaving the alliance' },
  user: TestUser = fund.admin,
  key: string = randomUUID(),
) {
  return h.http
    .post(`/api/v1/funds/${fund.id}/members/${memberId}/exit`)
    .set(user.auth)
    .set('Idempotency-Key', key)
    .send(body);
}

function pay(fund: TestFund, exitId: string, key: string = randomUUID(), user: TestUser = fund.admin) {
  return h.http.post(`/api/v1/funds/${fund.id}/exits/${exitId}/pay`).set(user.auth).set('Idempotency-Key', key);
}

async function post(fund: TestFund, body: Record<string, unknown>): Promise<void> {
  const response = await postEntry(h, fund.admin, fund.id, body);
  expect({ status: response.status, body: response.status === 201 ? null : response.body }).toEqual({
    status: 201,
    body: null,
  });
}

function otherIncome(amount: string, effectiveDate: string) {
  return entryBody(
    [
      { accountCode: '1001', side: 'debit', amount },
      { accountCode: '4005', side: 'credit', amount },
    ],
    { kind: 'manual.bank_interest', effectiveDate },
  );
}

async function balanceOf(accountId: string): Promise<string> {
  const row = (await h.db('account_balances').where({ account_id: accountId }).first('balance')) as { balance: string };
  return row.balance;
}

async function subAccountBalance(fund: TestFund, code: string): Promise<string | undefined> {
  const row = (await h
    .db('accounts as a')
    .join('account_balances as b', 'b.account_id', 'a.id')
    .where({ 'a.fund_id': fund.id, 'a.code': code })
    .first('b.balance')) as { balance: string } | undefined;
  return row?.balance;
}

describe('an exit that is paid at once', () => {
  let fund: TestFund;
  let leaving: string;
  let staying: string;
  let response: Awaited<ReturnType<typeof requestExit>>;
  const key = randomUUID();

  beforeAll(async () => {
    fund = await createFund(h);
    leaving = await createMember(h, fund.id);
    staying = await createMember(h, fund.id);
    await fundPool(h, fund, '1000.00', leaving, '2026-01-01');
    await fundPool(h, fund, '9000.00', staying, '2026-01-01');
    // The open period starts with the first income (before the fund's establishment on TEST_TODAY).
    await post(fund, otherIncome('100.00', '2026-03-01'));
    response = await requestExit(fund, leaving, { reason: 'Restructuring' }, fund.admin, key);
  });

  test('when the member exits, then it takes its share of the result to date and its capital is refunded', async () => {
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      memberId: leaving,
      requestedOn: TEST_TODAY,
      reason: 'Restructuring',
      status: 'paid',
      periodStart: '2026-03-01',
      // 100 × 1000/10000: equal days, so capital decides.
      periodShare: '10.00',
      refundAmount: '1010.00',
      paidOn: TEST_TODAY,
      settlementEntryId: expect.any(String),
      payableEntryId: expect.any(String),
      payoutEntryId: expect.any(String),
      // Reserve: 10 % of the 9000.00 capital left; 10100.00 available.
      liquidity: { available: '10100.00', reservePct: '10', reserve: '900.00', refund: '1010.00', shortfall: '0.00' },
    });
    expect(await subAccountBalance(fund, `3001:${leaving}`)).toBe('0.00');
    expect(await subAccountBalance(fund, `2001:${leaving}`)).toBe('0.00');
    expect(await subAccountBalance(fund, '1001')).toBe('9090.00');
    expect(await subAccountBalance(fund, '3101')).toBe('-10.00');
    const member = (await h.db('members').where({ id: leaving }).first()) as { status: string; status_reason: string };
    expect(member).toMatchObject({ status: 'exited', status_reason: 'Restructuring' });
    const kinds = await h
      .db('journal_entries')
      .where({ fund_id: fund.id })
      .whereLike('kind', 'capital.%')
      .pluck('kind');
    expect(kinds.sort()).toEqual(['capital.exit', 'capital.exit_refund', 'capital.exit_settlement']);
    await expectFundConsistent(h, fund.id);
  });

  test('when the exit is replayed with its Idempotency-Key, then the first response comes back and nothing moves', async () => {
    const before = await snapshot(h, fund.id);
    const again = await requestExit(fund, leaving, { reason: 'Restructuring' }, fund.admin, key);
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(response.body);
    expect(await snapshot(h, fund.id)).toEqual(before);
  });

  test('when the member asks to exit again, then it is a conflict and nothing changes', async () => {
    const before = await snapshot(h, fund.id);
    expectProblem(await requestExit(fund, leaving), 409, 'member_exited');
    expectProblem(await pay(fund, response.body.id as string), 409, 'exit_already_paid');
    expect(await snapshot(h, fund.id)).toEqual(before);
  });

  test('when the exits are listed and read, then the exit is there', async () => {
    const list = await h.http.get(`/api/v1/funds/${fund.id}/exits`).set(fund.admin.auth);
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([expect.objectContaining({ id: response.body.id, liquidity: null })]);
    const one = await h.http.get(`/api/v1/funds/${fund.id}/exits/${response.body.id}`).set(fund.admin.auth);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: response.body.id, status: 'paid', refundAmount: '1010.00' });
  });

  test('when the year is closed afterwards, then the settled share is cleared from 3101 and the rest goes to the members still in', async () => {
    h.clock.set('2027-01-05T04:00:00.000Z');
    const admin = await makeUser(h, 'admin');
    const close = await h.http
      .post(`/api/v1/funds/${fund.id}/periods/2026/close`)
      .set(admin.auth)
      .set('Idempotency-Key', randomUUID());
    expect(close.status).toBe(201);
    expect(close.body).toMatchObject({ netIncome: '100.00', settledAtExits: '10.00' });
    expect(close.body.allocation).toEqual([expect.objectContaining({ memberId: staying, share: '90.00' })]);
    expect(await subAccountBalance(fund, '3101')).toBe('0.00');
    expect(await subAccountBalance(fund, `3001:${staying}`)).toBe('9090.00');
    expect(await subAccountBalance(fund, `3001:${leaving}`)).toBe('0.00');
    await expectFundConsistent(h, fund.id);
  });
});

describe('an exit that waits for liquidity', () => {
  test('when paying the refund would breach the reserve, then the exit waits, and is paid once money comes in', async () => {
    const fund = await createFund(h);
    const leaving = await createMember(h, fund.id);
    const staying = await createMember(h, fund.id);
    await fundPool(h, fund, '5000.00', leaving, '2026-01-01');
    await fundPool(h, fund, '5000.00', staying, '2026-01-01');
    // A loan approval reserves 8000.00 of pool cash: 2000.00 is available.
    await inTransaction(h.db, (trx) =>
      h.services.ledger.placeHold(trx, {
        fundId: fund.id,
        accountId: fund.accounts['1001']!,
        amount: '8000.00',
        expiresAt: new Date(h.clock.now().getTime() + 7 * 86_400_000),
        reason: 'Loan approval',
        actor: SYSTEM_ACTOR,
      }),
    );
    const response = await requestExit(fund, leaving);
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      status: 'awaiting_liquidity',
      periodShare: '0.00',
      settlementEntryId: null,
      refundAmount: '5000.00',
      payoutEntryId: null,
      paidOn: null,
      liquidity: { available: '2000.00', reserve: '500.00', refund: '5000.00', shortfall: '3500.00' },
    });
    expect(await subAccountBalance(fund, `2001:${leaving}`)).toBe('5000.00');
    expect(await subAccountBalance(fund, `3001:${leaving}`)).toBe('0.00');
    const exitId = response.body.id as string;
    await expectFundConsistent(h, fund.id);

    const before = await snapshot(h, fund.id);
    const short = await pay(fund, exitId);
    expectProblem(short, 422, 'exit_reserve_breach');
    expect(short.body).toMatchObject({ shortfall: '3500.00', reserve: '500.00' });
    expect(await snapshot(h, fund.id)).toEqual(before);
    const read = await h.http.get(`/api/v1/funds/${fund.id}/exits/${exitId}`).set(fund.admin.auth);
    expect(read.body).toMatchObject({ status: 'awaiting_liquidity', liquidity: { shortfall: '3500.00' } });

    // The other member pays in 4000.00: 6000.00 available, reserve 900.00 on 9000.00 of capital.
    await fundPool(h, fund, '4000.00', staying);
    const key = randomUUID();
    const paid = await pay(fund, exitId, key);
    expect(paid.status).toBe(201);
    expect(paid.body).toMatchObject({
      status: 'paid',
      paidOn: TEST_TODAY,
      payoutEntryId: expect.any(String),
      liquidity: { available: '6000.00', reserve: '900.00', shortfall: '0.00' },
    });
    expect(await subAccountBalance(fund, `2001:${leaving}`)).toBe('0.00');
    expect(await subAccountBalance(fund, '1001')).toBe('9000.00');
    const replay = await pay(fund, exitId, key);
    expect(replay.status).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expectProblem(await pay(fund, exitId), 409, 'exit_already_paid');
    await expectFundConsistent(h, fund.id);
  });
});

describe('settling a loss at exit', () => {
  test('when the open period has a loss, then the leaving member bears its share, and the close charges the rest to the others', async () => {
    const fund = await createFund(h);
    const leaving = await createMember(h, fund.id);
    const staying = await createMember(h, fund.id);
    await fundPool(h, fund, '1000.00', leaving, '2026-01-01');
    const stayingCapital = await fundPool(h, fund, '3000.00', staying, '2026-01-01');
    await post(fund, bankCharge('400.00', { effectiveDate: '2026-04-01' }));
    const response = await requestExit(fund, leaving);
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      periodStart: '2026-04-01',
      periodShare: '-100.00',
      refundAmount: '900.00',
      status: 'paid',
    });
    const settlement = await h.http
      .get(`/api/v1/funds/${fund.id}/entries/${response.body.settlementEntryId}`)
      .set(fund.admin.auth);
    expect(
      (settlement.body.postings as { accountCode: string; side: string; amount: string }[]).map((p) => [
        p.accountCode,
        p.side,
        p.amount,
      ]),
    ).toEqual([
      [`3001:${leaving}`, 'debit', '100.00'],
      ['3101', 'credit', '100.00'],
    ]);
    expect(await subAccountBalance(fund, '3101')).toBe('100.00');
    await expectFundConsistent(h, fund.id);

    h.clock.set('2027-01-05T04:00:00.000Z');
    const admin = await makeUser(h, 'admin');
    const close = await h.http
      .post(`/api/v1/funds/${fund.id}/periods/2026/close`)
      .set(admin.auth)
      .set('Idempotency-Key', randomUUID());
    expect(close.status).toBe(201);
    expect(close.body).toMatchObject({ netIncome: '-400.00', settledAtExits: '-100.00' });
    expect(close.body.allocation).toEqual([expect.objectContaining({ memberId: staying, share: '-300.00' })]);
    expect(await balanceOf(stayingCapital)).toBe('2700.00');
    expect(await subAccountBalance(fund, '3101')).toBe('0.00');
    expect(await subAccountBalance(fund, '5002')).toBe('0.00');
    await expectFundConsistent(h, fund.id);
  });
});

describe('refusing an exit', () => {
  let fund: TestFund;
  beforeAll(async () => {
    fund = await createFund(h);
  });

  /** Capital call `number` (10 %, due 2026-05-31) with 250.00 due from `member`, nothing paid. */
  async function unpaidCall(member: string, number: number): Promise<{ id: string }> {
    const [call] = (await h
      .db('capital_calls')
      .insert({ fund_id: fund.id, number, percent: '10', called_on: '2026-05-01', due_on: '2026-05-31' })
      .returning('id')) as { id: string }[];
    await h
      .db('capital_call_items')
      .insert({ fund_id: fund.id, call_id: call!.id, member_id: member, due_amount: '250.00' });
    return call!;
  }

  test('when the lock-up has not ended, then it is refused with the date it ends and nothing changes', async () => {
    const member = await createMember(h, fund.id, '2026-01-10');
    await fundPool(h, fund, '100.00', member, '2026-01-10');
    const before = await snapshot(h, fund.id);
    const response = await requestExit(fund, member);
    expectProblem(response, 422, 'exit_lockup');
    expect(response.body).toMatchObject({ joinedOn: '2026-01-10', lockupDays: 365, lockupEndsOn: '2027-01-10' });
    expect(response.body.detail).toContain('2027-01-10');
    expect(await snapshot(h, fund.id)).toEqual(before);
  });

  test('when a capital call is unpaid, then it is refused with exit_unpaid_call and nothing changes', async () => {
    const member = await createMember(h, fund.id);
    await fundPool(h, fund, '100.00', member, '2026-01-10');
    const call = await unpaidCall(member, 1);
    const before = await snapshot(h, fund.id);
    const response = await requestExit(fund, member);
    expectProblem(response, 422, 'exit_unpaid_call');
    expect(response.body).toMatchObject({
      outstanding: '250.00',
      calls: [{ callId: call.id, number: 1, dueOn: '2026-05-31', dueAmount: '250.00', outstanding: '250.00' }],
    });
    expect(await snapshot(h, fund.id)).toEqual(before);
    expect(((await h.db('members').where({ id: member }).first()) as { status: string }).status).toBe('active');
  });

  test('when several blockers stand in the way, then the first gives the code, and the detail names every one', async () => {
    const member = await createMember(h, fund.id, '2026-01-10');
    await fundPool(h, fund, '100.00', member, '2026-01-10');
    await unpaidCall(member, 2);
    const before = await snapshot(h, fund.id);
    const response = await requestExit(fund, member);
    expectProblem(response, 422, 'exit_lockup');
    const blockers = response.body.blockers as { code: string; detail: string }[];
    expect(blockers.map((blocker) => blocker.code)).toEqual(['exit_lockup', 'exit_unpaid_call']);
    expect(response.body.detail).toBe(
      `The exit is blocked for 2 reasons: (1) exit_lockup — ${blockers[0]!.detail} ` +
        `(2) exit_unpaid_call — ${blockers[1]!.detail}`,
    );
    expect(response.body.detail).toContain('250.00');
    expect(await snapshot(h, fund.id)).toEqual(before);
  });

  test('when the member has guarantees outstanding, then it is refused with exit_obligations listing them', async () => {
    const member = await createMember(h, fund.id);
    await fundPool(h, fund, '100.00', member, '2026-01-10');
    await inTransaction(h.db, async (trx) => {
      const given = await h.services.ledger.ensureSubAccount(trx, fund.id, '7001', { memberId: member });
      await h.services.ledger.postEntry(trx, {
        fundId: fund.id,
        lines: [
          { accountId: given.id, side: 'debit', amount: '500.00' },
          { accountId: fund.accounts['7002']!, side: 'credit', amount: '500.00' },
        ],
        effectiveDate: TEST_TODAY,
        kind: 'guarantee.given',
        memo: 'Guarantee of a loan to another member',
        actor: SYSTEM_ACTOR,
      });
    });
    const before = await snapshot(h, fund.id);
    const response = await requestExit(fund, member);
    expectProblem(response, 422, 'exit_obligations');
    expect(response.body.obligations).toEqual([
      expect.objectContaining({ accountCode: `7001:${member}`, kind: 'guarantees_given', balance: '500.00' }),
    ]);
    expect(await snapshot(h, fund.id)).toEqual(before);
  });

  test('when the member does not exist, the date is in the future, or the body is not valid, then it is refused', async () => {
    const member = await createMember(h, fund.id);
    await capitalAccount(h, fund.id, member);
    const before = await snapshot(h, fund.id);
    expectProblem(await requestExit(fund, randomUUID()), 404, 'member_not_found');
    expectProblem(
      await requestExit(fund, member, { reason: 'x', requestedOn: '2026-06-16' }),
      422,
      'exit_date_in_future',
    );
    expectProblem(await requestExit(fund, member, { reason: '' }), 400, 'validation_failed');
    expectProblem(await requestExit(fund, member, { reason: 'x'.repeat(501) }), 400, 'validation_failed');
    const noKey = await h.http
      .post(`/api/v1/funds/${fund.id}/members/${member}/exit`)
      .set(fund.admin.auth)
      .send({ reason: 'x' });
    expectProblem(noKey, 400, 'idempotency_key_required');
    expect(await snapshot(h, fund.id)).toEqual(before);
  });

  test('when a member with no capital exits, then the exit is settled at once with no refund entries', async () => {
    const fund = await createFund(h);
    const member = await createMember(h, fund.id);
    const entriesBefore = await h.db('journal_entries').where({ fund_id: fund.id }).count({ n: '*' });
    const response = await requestExit(fund, member);
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ status: 'paid', refundAmount: '0.00', paidOn: TEST_TODAY });
    expect(await h.db('journal_entries').where({ fund_id: fund.id }).count({ n: '*' })).toEqual(entriesBefore);
    expect(await h.db('members').where({ id: member }).first('status')).toEqual({ status: 'exited' });
    await expectFundConsistent(h, fund.id);
  });
});

describe('a back-dated exit', () => {
  test('when the exit is dated inside a closed period, then it is refused; after it, the share runs from the day after the close', async () => {
    const fund = await createFund(h);
    const leaving = await createMember(h, fund.id);
    await fundPool(h, fund, '600.00', leaving, '2026-01-01');
    await fundPool(h, fund, '400.00', undefined, '2026-01-01');
    await post(fund, otherIncome('20.00', '2026-06-05'));
    const closed = await h.http
      .post(`/api/v1/funds/${fund.id}/periods/2026-05/close`)
      .set(fund.admin.auth)
      .set('Idempotency-Key', randomUUID());
    expect({ status: closed.status, code: closed.body.code as unknown }).toEqual({ status: 201, code: undefined });
    const before = await snapshot(h, fund.id);
    const inside = await requestExit(fund, leaving, { reason: 'Back-dated', requestedOn: '2026-05-20' });
    expectProblem(inside, 422, 'exit_in_closed_period');
    expect(inside.body).toMatchObject({ closedThrough: '2026-05-31' });
    expect(await snapshot(h, fund.id)).toEqual(before);
    const after = await requestExit(fund, leaving, { reason: 'Back-dated', requestedOn: '2026-06-10' });
    expect(after.status).toBe(201);
    // 20.00 × 600/1000 over 1–10 June.
    expect(after.body).toMatchObject({
      requestedOn: '2026-06-10',
      periodStart: '2026-06-01',
      periodShare: '12.00',
      refundAmount: '612.00',
    });
    await expectFundConsistent(h, fund.id);
  });
});

describe('a member user', () => {
  test('when it requests the exit of its own enterprise, then it is processed; of another, then that member is not found', async () => {
    const fund = await createFund(h);
    const own = await createMember(h, fund.id);
    const other = await createMember(h, fund.id);
    await fundPool(h, fund, '800.00', own, '2026-01-01');
    await fundPool(h, fund, '800.00', other, '2026-01-01');
    const user = await makeUser(h, 'member', { fundId: fund.id, memberId: own });
    const before = await snapshot(h, fund.id);
    expectProblem(await requestExit(fund, other, { reason: 'Not mine' }, user), 404, 'member_not_found');
    expect(await snapshot(h, fund.id)).toEqual(before);
    const response = await requestExit(fund, own, { reason: 'Closing the business' }, user);
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      memberId: own,
      status: 'paid',
      refundAmount: '800.00',
      requestedBy: user.id,
    });

    const list = await h.http.get(`/api/v1/funds/${fund.id}/exits`).set(user.auth);
    expect(list.body.items.map((item: { memberId: string }) => item.memberId)).toEqual([own]);
    const otherUser = await makeUser(h, 'member', { fundId: fund.id, memberId: other });
    expect((await h.http.get(`/api/v1/funds/${fund.id}/exits`).set(otherUser.auth)).body.items).toEqual([]);
    expectProblem(
      await h.http.get(`/api/v1/funds/${fund.id}/exits/${response.body.id}`).set(otherUser.auth),
      404,
      'exit_not_found',
    );
    expectProblem(await pay(fund, response.body.id as string, randomUUID(), user), 403, 'forbidden');
    await expectFundConsistent(h, fund.id);
  });
});
