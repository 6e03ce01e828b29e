import type { Knex } from 'knex';
import { inTransaction } from '../../../src/db/transaction';
import { lockBalances } from '../../../src/ledger/ledger.repo';
import { bankChargeInput, createFund, fundPool, randomUUID, type TestFund } from '../../helpers/factories';
import { startHarness, type Harness } from '../../helpers/harness';
import { expectFundConsistent } from '../../helpers/invariants';
import { waitForLockWaiters } from '../../helpers/waits';

// A posting inserts its header and locks its balance rows in one statement, then posts in a second
// one sent with it (ADR 0021). These tests pin what that order must keep: a replay takes no lock,
// and a posting that waited for a lock posts from the row as the other entry left it.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

/** Runs `work` while another transaction holds the lock on the fund's pool cash row. */
async function whilePoolCashLocked<T>(fund: TestFund, work: () => Promise<T>): Promise<T> {
  const holder: Knex.Transaction = await h.db.transaction();
  try {
    await lockBalances(holder, fund.id, [fund.accounts['1001']!]);
    return await work();
  } finally {
    await holder.rollback();
  }
}

test('when an entry is replayed while its accounts are locked elsewhere, then the replay answers at once: it locks nothing', async () => {
  const fund = await createFund(h);
  await fundPool(h, fund, '100.00');
  const key = `charge:${randomUUID()}`;
  const first = await inTransaction(h.db, (trx) =>
    h.services.ledger.postEntry(trx, bankChargeInput(fund, '10.00', key)),
  );

  const replay = await whilePoolCashLocked(fund, () =>
    inTransaction(h.db, async (trx) => {
      // Waiting for the lock would fail after this long, instead of passing slowly.
      await trx.raw("SET LOCAL lock_timeout = '2s'");
      return h.services.ledger.postEntry(trx, bankChargeInput(fund, '10.00', key));
    }),
  );

  expect(replay.replayed).toBe(true);
  expect(replay.entry.id).toBe(first.entry.id);
});

test('when a new entry meets a locked account, then it waits, and once the lock is released it posts from the row as it then is', async () => {
  const fund = await createFund(h);
  await fundPool(h, fund, '100.00');

  // The holder posts 30.00 from pool cash and has not committed when the second entry arrives.
  const holder: Knex.Transaction = await h.db.transaction();
  let second: Promise<Awaited<ReturnType<typeof h.services.ledger.postEntry>>> | undefined;
  try {
    await h.services.ledger.postEntry(holder, bankChargeInput(fund, '30.00'));
    second = inTransaction(h.db, (trx) => h.services.ledger.postEntry(trx, bankChargeInput(fund, '20.00')));
    // The second entry is waiting for the pool cash row, not done.
    await waitForLockWaiters(h.db);
    await holder.commit();
  } catch (error) {
    await holder.rollback();
    throw error;
  }
  const posted = await second;

  const poolCash = posted.entry.postings.find((posting) => posting.accountId === fund.accounts['1001']);
  expect(poolCash).toMatchObject({ balanceAfter: '50.00' });
  await expectFundConsistent(h, fund.id);
});

/** Whether another transaction could lock the account's balance row now, without waiting. */
async function isFree(fundId: string, accountId: string): Promise<boolean> {
  const probe: Knex.Transaction = await h.db.transaction();
  try {
    await probe.raw('SELECT 1 FROM account_balances WHERE fund_id = ? AND account_id = ? FOR UPDATE NOWAIT', [
      fundId,
      accountId,
    ]);
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === '55P03') return false;
    throw error;
  } finally {
    await probe.rollback();
  }
}

// Whatever order it is given them in, a posting or a hold locks its accounts in account-id order: it
// holds those below the one it waits for, and none above. Two entries on the same accounts then queue.
const lockers: [string, (fund: TestFund, accountIds: string[]) => Promise<unknown>][] = [
  // A bank charge names 5002 first and pool cash 1001 second.
  [
    'a posting',
    (fund) => inTransaction(h.db, (trx) => h.services.ledger.postEntry(trx, bankChargeInput(fund, '10.00'))),
  ],
  [
    'a lock of balance rows (holds)',
    (fund, accountIds) => inTransaction(h.db, (trx) => lockBalances(trx, fund.id, [...accountIds].reverse())),
  ],
];

describe.each(lockers)('when %s', (_, lock) => {
  test.each([
    ['the higher', 'holds the lower one meanwhile'],
    ['the lower', 'has not touched the higher one'],
  ])('waits for %s of its two accounts, then it %s', async (waitsFor) => {
    const fund = await createFund(h);
    await fundPool(h, fund, '100.00');
    const [lower, higher] = [fund.accounts['1001']!, fund.accounts['5002']!].sort() as [string, string];
    const [held, other] = waitsFor === 'the higher' ? [higher, lower] : [lower, higher];

    const holder: Knex.Transaction = await h.db.transaction();
    let locking: Promise<unknown> | undefined;
    let otherFree: boolean;
    try {
      await lockBalances(holder, fund.id, [held]);
      locking = lock(fund, [lower, higher]);
      await waitForLockWaiters(h.db);
      otherFree = await isFree(fund.id, other);
      await holder.commit();
    } catch (error) {
      await holder.rollback();
      throw error;
    }
    await locking;

    expect({ otherFree }).toEqual({ otherFree: waitsFor === 'the lower' });
    await expectFundConsistent(h, fund.id);
  });
});
