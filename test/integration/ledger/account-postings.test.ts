import { randomUUID } from 'node:crypto';
import {
  bankCharge,
  capitalAccount,
  createFund,
  createMember,
  fundPool,
  postEntry,
  type TestFund,
} from '../../helpers/factories';
import { makeUser, startHarness, TEST_TODAY, type Harness, type TestUser } from '../../helpers/harness';
import { expectProblem } from '../auth/problem';

/**
 * An account's postings with the running balance after each (GET …/accounts/{id}/postings): the
 * drill-down from an account to the entries that moved it.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

interface PostingItem {
  entryId: string;
  entrySeq: string;
  entryKind: string;
  reversesEntryId: string | null;
  effectiveDate: string;
  side: string;
  amount: string;
  balanceAfter: string;
  version: string;
  backdated: boolean;
}

function postingsOf(fund: TestFund, user: TestUser, accountId: string, query: Record<string, string | number> = {}) {
  return h.http.get(`/api/v1/funds/${fund.id}/accounts/${accountId}/postings`).query(query).set(user.auth);
}

async function itemsOf(fund: TestFund, accountId: string, query: Record<string, string | number> = {}) {
  const response = await postingsOf(fund, fund.admin, accountId, query);
  expect(response.status).toBe(200);
  return response.body as { items: PostingItem[]; nextCursor: string | null };
}

describe('an account’s postings', () => {
  test('when entries move pool cash, then its postings list them in the order posted with the running balance, and pages cover them once', async () => {
    const fund = await createFund(h);
    await fundPool(h, fund, '1000.00', undefined, '2026-06-01');
    const charges: string[] = [];
    for (const [amount, day] of [
      ['10.00', '2026-06-10'],
      ['20.00', '2026-06-12'],
      ['30.00', TEST_TODAY],
    ] as const) {
      const posted = await postEntry(h, fund.admin, fund.id, bankCharge(amount, { effectiveDate: day }));
      expect(posted.status).toBe(201);
      charges.push(posted.body.id as string);
    }
    const reversal = await h.http
      .post(`/api/v1/funds/${fund.id}/entries/${charges[1]}/reverse`)
      .set(fund.admin.auth)
      .set('Idempotency-Key', randomUUID())
      .send({ effectiveDate: TEST_TODAY, memo: 'charged twice' });
    expect(reversal.status).toBe(201);

    const all = await itemsOf(fund, fund.accounts['1001']!, { order: 'asc' });

    expect(all.items.map((item) => [item.entryKind, item.side, item.amount, item.balanceAfter, item.version])).toEqual([
      ['manual.opening_balance', 'debit', '1000.00', '1000.00', '1'],
      ['manual.bank_charge', 'credit', '10.00', '990.00', '2'],
      ['manual.bank_charge', 'credit', '20.00', '970.00', '3'],
      ['manual.bank_charge', 'credit', '30.00', '940.00', '4'],
      ['reversal', 'debit', '20.00', '960.00', '5'],
    ]);
    expect(all.items[4]).toMatchObject({ entryId: reversal.body.id, reversesEntryId: charges[1] });
    const account = await h.http.get(`/api/v1/funds/${fund.id}/accounts/${fund.accounts['1001']}`).set(fund.admin.auth);
    expect(all.items.at(-1)!.balanceAfter).toBe(account.body.balance.balance);

    const first = await itemsOf(fund, fund.accounts['1001']!, { limit: 2 });
    const second = await itemsOf(fund, fund.accounts['1001']!, { limit: 2, cursor: first.nextCursor! });
    const third = await itemsOf(fund, fund.accounts['1001']!, { limit: 2, cursor: second.nextCursor! });
    expect([...first.items, ...second.items, ...third.items].map((item) => item.version)).toEqual([
      '5',
      '4',
      '3',
      '2',
      '1',
    ]);
    expect(third.nextCursor).toBeNull();

    const june = await itemsOf(fund, fund.accounts['1001']!, { from: '2026-06-10', to: '2026-06-12', order: 'asc' });
    expect(june.items.map((item) => [item.effectiveDate, item.amount])).toEqual([
      ['2026-06-10', '10.00'],
      ['2026-06-12', '20.00'],
    ]);
  });

  test('when an entry is back-dated, then its posting is flagged and its running balance is the one it was posted with', async () => {
    const fund = await createFund(h);
    await fundPool(h, fund, '100.00', undefined, TEST_TODAY);
    await postEntry(h, fund.admin, fund.id, bankCharge('5.00', { effectiveDate: '2026-06-01' }));

    const { items } = await itemsOf(fund, fund.accounts['1001']!, { order: 'asc' });

    expect(items.map((item) => [item.effectiveDate, item.backdated, item.balanceAfter])).toEqual([
      [TEST_TODAY, false, '100.00'],
      ['2026-06-01', true, '95.00'],
    ]);
  });

  test('when the dates are the wrong way round, then it is a 400 naming `from`', async () => {
    const fund = await createFund(h);
    const response = await postingsOf(fund, fund.admin, fund.accounts['1001']!, {
      from: '2026-06-12',
      to: '2026-06-10',
    });
    expectProblem(response, 400, 'validation_failed');
    expect(response.body.errors).toEqual([expect.objectContaining({ in: 'query', pointer: '/from' })]);
  });

  test('when a member user asks, then it sees its own capital account’s postings and no other account', async () => {
    const fund = await createFund(h);
    const mine = await createMember(h, fund.id);
    const theirs = await createMember(h, fund.id);
    await fundPool(h, fund, '300.00', mine);
    await fundPool(h, fund, '700.00', theirs);
    const user = await makeUser(h, 'member', { fundId: fund.id, memberId: mine });

    const own = await postingsOf(fund, user, await capitalAccount(h, fund.id, mine));
    expect(own.status).toBe(200);
    expect(own.body.items.map((item: PostingItem) => [item.side, item.amount, item.balanceAfter])).toEqual([
      ['credit', '300.00', '300.00'],
    ]);
    expectProblem(await postingsOf(fund, user, await capitalAccount(h, fund.id, theirs)), 404, 'account_not_found');
    expectProblem(await postingsOf(fund, user, fund.accounts['1001']!), 404, 'account_not_found');
    expectProblem(await postingsOf(fund, fund.admin, randomUUID()), 404, 'account_not_found');
  });
});
