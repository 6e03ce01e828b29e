import { randomUUID } from 'node:crypto';
import { bankCharge, createFund, fundPool, postEntry, type TestFund } from '../../helpers/factories';
import { startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { expectFundConsistent, snapshot } from '../../helpers/invariants';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const charge = (amount: string, effectiveDate = TEST_TODAY) => bankCharge(amount, { effectiveDate });

function reverse(fund: TestFund, entryId: string, body: Record<string, unknown>, key: string = randomUUID()) {
  return h.http
    .post(`/api/v1/funds/${fund.id}/entries/${entryId}/reverse`)
    .set(fund.admin.auth)
    .set('Idempotency-Key', key)
    .send(body);
}

async function balance(fund: TestFund, code: string, asOf?: string) {
  const response = await h.http
    .get(`/api/v1/funds/${fund.id}/accounts/${fund.accounts[code]}`)
    .query(asOf ? { asOf } : {})
    .set(fund.admin.auth);
  expect(response.status).toBe(200);
  return response.body as {
    balance: { balance: string };
    asOf?: { balance: string; debitTotal: string; creditTotal: string };
  };
}

/** Opening balances are dated well before the entries under test. */
const OPENING = '2026-05-01';

describe('reversing an entry', () => {
  let fund: TestFund;
  beforeEach(async () => {
    fund = await createFund(h);
    await fundPool(h, fund, '500.00', undefined, OPENING);
  });

  test('when an entry is reversed, then a mirror entry is posted, both are linked and the balances return', async () => {
    const original = await postEntry(h, fund.admin, fund.id, charge('45.60', '2026-06-10'));
    const reversal = await reverse(fund, original.body.id, {
      effectiveDate: '2026-06-12',
      memo: 'charged twice by the bank',
    });
    expect(reversal.status).toBe(201);
    expect(reversal.body).toMatchObject({
      kind: 'reversal',
      effectiveDate: '2026-06-12',
      reversesEntryId: original.body.id,
    });
    expect(reversal.body.postings).toEqual([
      expect.objectContaining({ accountCode: '5002', side: 'credit', amount: '45.60', balanceAfter: '0.00' }),
      expect.objectContaining({ accountCode: '1001', side: 'debit', amount: '45.60', balanceAfter: '500.00' }),
    ]);
    const reread = await h.http.get(`/api/v1/funds/${fund.id}/entries/${original.body.id}`).set(fund.admin.auth);
    expect(reread.body.reversedByEntryId).toBe(reversal.body.id);
    // The original stays as it was: history is added to, never rewritten.
    expect(reread.body.postings).toEqual(original.body.postings);
    expect((await balance(fund, '1001', '2026-06-11')).asOf?.balance).toBe('454.40');
    expect((await balance(fund, '1001', '2026-06-12')).asOf?.balance).toBe('500.00');
    await expectFundConsistent(h, fund.id);
  });

  test('when an entry is reversed a second time, then it is a 409 naming the first reversal', async () => {
    const original = await postEntry(h, fund.admin, fund.id, charge('5.00'));
    const first = await reverse(fund, original.body.id, { effectiveDate: TEST_TODAY, memo: 'mistake' });
    const before = await snapshot(h, fund.id);
    const second = await reverse(fund, original.body.id, { effectiveDate: TEST_TODAY, memo: 'mistake again' });
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ code: 'entry_already_reversed', reversedByEntryId: first.body.id });
    expect(await snapshot(h, fund.id)).toEqual(before);
  });

  test('when a reversal is replayed with its Idempotency-Key, then the same reversal comes back', async () => {
    const original = await postEntry(h, fund.admin, fund.id, charge('5.00'));
    const key = randomUUID();
    const first = await reverse(fund, original.body.id, { effectiveDate: TEST_TODAY, memo: 'mistake' }, key);
    const again = await reverse(fund, original.body.id, { effectiveDate: TEST_TODAY, memo: 'mistake' }, key);
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.id).toBe(first.body.id);
  });

  test('when a reversal is itself reversed, then it is refused: post a new entry instead', async () => {
    const original = await postEntry(h, fund.admin, fund.id, charge('5.00'));
    const reversal = await reverse(fund, original.body.id, { effectiveDate: TEST_TODAY, memo: 'mistake' });
    const before = await snapshot(h, fund.id);
    const response = await reverse(fund, reversal.body.id, { effectiveDate: TEST_TODAY, memo: 'undo' });
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({ code: 'entry_is_reversal', reversesEntryId: original.body.id });
    expect(await snapshot(h, fund.id)).toEqual(before);
  });

  test('when the reversal date is before the original, then it is refused', async () => {
    const original = await postEntry(h, fund.admin, fund.id, charge('5.00', '2026-06-10'));
    const before = await snapshot(h, fund.id);
    const response = await reverse(fund, original.body.id, { effectiveDate: '2026-06-09', memo: 'backdated undo' });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'reversal_before_original', originalEffectiveDate: '2026-06-10' });
    expect(await snapshot(h, fund.id)).toEqual(before);
  });

  test('when reversing a contribution would take the pool below zero, then the reversal is refused', async () => {
    const spend = await postEntry(h, fund.admin, fund.id, charge('400.00'));
    expect(spend.status).toBe(201);
    const contribution = await h.http
      .get(`/api/v1/funds/${fund.id}/entries`)
      .query({ kind: 'manual.opening_balance' })
      .set(fund.admin.auth);
    const before = await snapshot(h, fund.id);
    const response = await reverse(fund, contribution.body.items[0].id, { effectiveDate: TEST_TODAY, memo: 'refund' });
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({
      code: 'floor_crossed',
      accountCode: '1001',
      available: '100.00',
      requested: '500.00',
    });
    expect(await snapshot(h, fund.id)).toEqual(before);
  });

  test('when the entry does not exist or the body is incomplete, then it is a 404 or 400', async () => {
    expect((await reverse(fund, randomUUID(), { effectiveDate: TEST_TODAY, memo: 'x' })).body.code).toBe(
      'entry_not_found',
    );
    const original = await postEntry(h, fund.admin, fund.id, charge('1.00'));
    const noDate = await reverse(fund, original.body.id, { memo: 'x' });
    expect(noDate.status).toBe(400);
    expect(noDate.body.errors[0]).toMatchObject({ in: 'body', pointer: '/effectiveDate' });
  });
});

describe('balances as of a value date', () => {
  test('when later entries are posted, then earlier as-of balances do not move', async () => {
    const fund = await createFund(h);
    await fundPool(h, fund, '1000.00', undefined, OPENING);
    const balanceBefore = (await balance(fund, '1001', '2026-06-01')).asOf;
    expect(balanceBefore?.balance).toBe('1000.00');
    expect((await balance(fund, '1001', '2026-04-30')).asOf?.balance).toBe('0.00');
    await postEntry(h, fund.admin, fund.id, charge('100.00', '2026-06-05'));
    await postEntry(h, fund.admin, fund.id, charge('200.00', '2026-06-08'));
    expect((await balance(fund, '1001', '2026-06-01')).asOf).toEqual(balanceBefore);
    expect((await balance(fund, '1001', '2026-06-05')).asOf).toEqual({
      date: '2026-06-05',
      debitTotal: '1000.00',
      creditTotal: '100.00',
      balance: '900.00',
    });
    expect((await balance(fund, '1001', '2026-06-07')).asOf?.balance).toBe('900.00');
    expect((await balance(fund, '1001', '2026-06-08')).asOf?.balance).toBe('700.00');
    expect((await balance(fund, '1001')).balance.balance).toBe('700.00');
  });

  test('when an entry is back-dated before entries already posted, then as-of balances include it from its date on', async () => {
    const fund = await createFund(h);
    await fundPool(h, fund, '1000.00', undefined, OPENING);
    await postEntry(h, fund.admin, fund.id, charge('100.00', '2026-06-10'));
    await postEntry(h, fund.admin, fund.id, charge('30.00', '2026-06-12'));
    // Recorded today, dated earlier than both: the bank statement arrived late.
    await postEntry(h, fund.admin, fund.id, charge('7.00', '2026-06-03'));
    await postEntry(h, fund.admin, fund.id, charge('2.00', '2026-06-11'));
    const at = async (date: string) => (await balance(fund, '1001', date)).asOf?.balance;
    expect(await at('2026-06-02')).toBe('1000.00');
    expect(await at('2026-06-03')).toBe('993.00');
    expect(await at('2026-06-09')).toBe('993.00');
    expect(await at('2026-06-10')).toBe('893.00');
    expect(await at('2026-06-11')).toBe('891.00');
    expect(await at('2026-06-12')).toBe('861.00');
    expect(await at(TEST_TODAY)).toBe('861.00');
    const charges = async (date: string) => (await balance(fund, '5002', date)).asOf?.balance;
    expect(await charges('2026-06-10')).toBe('107.00');
    expect(await charges('2026-06-11')).toBe('109.00');
  });

  test('when the trial balance is read as of a date, then every book balances and figures match that date', async () => {
    const fund = await createFund(h);
    await fundPool(h, fund, '1000.00', undefined, OPENING);
    await postEntry(h, fund.admin, fund.id, charge('100.00', '2026-06-10'));
    await postEntry(h, fund.admin, fund.id, charge('3.00', '2026-06-01'));
    const response = await h.http
      .get(`/api/v1/funds/${fund.id}/trial-balance`)
      .query({ asOf: '2026-06-09' })
      .set(fund.admin.auth);
    expect(response.status).toBe(200);
    expect(response.body.asOf).toBe('2026-06-09');
    expect(response.body.balanced).toBe(true);
    const line = (code: string) => response.body.lines.find((item: { code: string }) => item.code === code);
    expect(line('1001')).toMatchObject({
      debitTotal: '1000.00',
      creditTotal: '3.00',
      balance: '997.00',
      debitBalance: '997.00',
      creditBalance: '0.00',
    });
    expect(line('5002')).toMatchObject({ balance: '3.00' });
    expect(response.body.books).toEqual([
      {
        book: 'fund',
        debitTotal: '1003.00',
        creditTotal: '1003.00',
        debitBalances: '1000.00',
        creditBalances: '1000.00',
        difference: '0.00',
        balanced: true,
      },
      {
        book: 'memo',
        debitTotal: '0.00',
        creditTotal: '0.00',
        debitBalances: '0.00',
        creditBalances: '0.00',
        difference: '0.00',
        balanced: true,
      },
    ]);
    const now = await h.http.get(`/api/v1/funds/${fund.id}/trial-balance`).set(fund.admin.auth);
    expect(now.body.asOf).toBeNull();
    expect(now.body.books[0]).toMatchObject({ debitTotal: '1103.00', creditTotal: '1103.00', balanced: true });
    const capital = now.body.lines.find((item: { code: string }) => item.code.startsWith('3001:'));
    expect(capital).toMatchObject({
      normalSide: 'credit',
      balance: '1000.00',
      creditBalance: '1000.00',
      debitBalance: '0.00',
    });
  });
});
