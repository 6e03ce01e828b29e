import { inTransaction, TRANSACTION_ATTEMPTS_MAX, TransactionRetriesExhausted } from '../../../src/db/transaction';
import { startHarness, type Harness } from '../../helpers/harness';
import { barrier } from '../../helpers/waits';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await h.db.raw('CREATE TABLE retry_probe (id int PRIMARY KEY, n int NOT NULL)');
  await h.db('retry_probe').insert([
    { id: 1, n: 0 },
    { id: 2, n: 0 },
  ]);
});
afterAll(async () => {
  await h.close();
});

test('when two transactions deadlock, then one is retried from the start and both commit', async () => {
  const retries: number[] = [];
  // Neither takes its second row before both hold their first, so they deadlock every time.
  const bothHoldFirst = barrier(2);
  const crossing = (first: number, second: number) =>
    inTransaction(
      h.db,
      async (trx) => {
        await trx.raw("SET LOCAL deadlock_timeout = '100ms'");
        await trx('retry_probe').where({ id: first }).increment('n', 1);
        await bothHoldFirst();
        await trx('retry_probe').where({ id: second }).increment('n', 1);
      },
      { onRetry: (attempt) => retries.push(attempt) },
    );
  await Promise.all([crossing(1, 2), crossing(2, 1)]);
  expect(retries.length).toBeGreaterThanOrEqual(1);
  // Each transaction's two increments landed exactly once, the retried one included.
  expect(await h.db('retry_probe').orderBy('id').pluck('n')).toEqual([2, 2]);
});

test('when a serialization failure keeps happening, then the retries stop at the limit', async () => {
  let attempts = 0;
  const failure = await inTransaction(h.db, async () => {
    attempts += 1;
    throw Object.assign(new Error('could not serialize access'), { code: '40001' });
  }).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(TransactionRetriesExhausted);
  expect(attempts).toBe(TRANSACTION_ATTEMPTS_MAX);
});

test('when any other error happens, then it is not retried and the transaction rolls back', async () => {
  let attempts = 0;
  const failure = await inTransaction(h.db, async (trx) => {
    attempts += 1;
    await trx('retry_probe').where({ id: 1 }).update({ n: 99 });
    throw Object.assign(new Error('check violation'), { code: '23514' });
  }).catch((error: unknown) => error);
  expect((failure as { code: string }).code).toBe('23514');
  expect(attempts).toBe(1);
  expect(await h.db('retry_probe').where({ id: 1 }).first()).toEqual({ id: 1, n: 2 });
});
