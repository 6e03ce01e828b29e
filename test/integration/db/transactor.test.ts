import type { Knex } from 'knex';
import { startHarness, type Harness } from '../../helpers/harness';
import { barrier } from '../../helpers/waits';

// A transaction's callback gets a transactor built from a shared prototype (src/db/transactor.ts)
// rather than a knex instance of its own. These tests hold it to knex's transaction API as the
// service, its migrations and its tests use it.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await h.db.raw('CREATE TABLE transactor_probe (id int PRIMARY KEY, note text NOT NULL)');
});
afterAll(async () => {
  await h.close();
});
beforeEach(async () => {
  await h.db.raw('TRUNCATE transactor_probe');
});

const probeIds = async (): Promise<number[]> => h.db('transactor_probe').orderBy('id').pluck('id');

/** The backend's pid and transaction id, as seen by whatever runs the statement. */
async function session(db: Knex | Knex.Transaction): Promise<{ pid: number; txid: string }> {
  const result = (await db.raw('SELECT pg_backend_pid() AS pid, txid_current()::text AS txid')) as {
    rows: { pid: number; txid: string }[];
  };
  return result.rows[0]!;
}

class Undo extends Error {}

test('when the callback uses the builder, raw, fn and schema, then all of it runs in the one transaction', async () => {
  await h.db.transaction(async (trx) => {
    const first = await session(trx);
    await trx('transactor_probe').insert({ id: 1, note: 'builder' });
    await trx.insert({ id: 2, note: 'insert' }).into('transactor_probe');
    const [row] = (await trx.select('note').from('transactor_probe').where({ id: 1 })) as { note: string }[];
    expect(row?.note).toBe('builder');
    const [now] = (await trx.select(trx.fn.now())) as Record<string, Date>[];
    expect(Object.values(now!)[0]).toBeInstanceOf(Date);
    expect(await trx.schema.hasTable('transactor_probe')).toBe(true);
    expect(await trx('transactor_probe').count({ n: '*' })).toEqual([{ n: '2' }]);
    expect(await session(trx)).toEqual(first);
    // Nothing is visible outside before the commit.
    expect(await probeIds()).toEqual([]);
  });
  expect(await probeIds()).toEqual([1, 2]);
});

test('when the callback throws, then everything it wrote is rolled back and the error comes out', async () => {
  await expect(
    h.db.transaction(async (trx) => {
      await trx('transactor_probe').insert({ id: 1, note: 'x' });
      throw new Undo('undo');
    }),
  ).rejects.toBeInstanceOf(Undo);
  expect(await probeIds()).toEqual([]);
});

test('when a savepoint fails, then only its work is undone, and it ran on the same connection', async () => {
  await h.db.transaction(async (trx) => {
    const outer = await session(trx);
    await trx('transactor_probe').insert({ id: 1, note: 'outer' });
    await expect(
      trx.transaction(async (savepoint) => {
        expect(savepoint.isTransaction).toBe(true);
        expect(await session(savepoint)).toEqual(outer);
        await savepoint('transactor_probe').insert({ id: 2, note: 'inner' });
        throw new Undo('inner');
      }),
    ).rejects.toBeInstanceOf(Undo);
    await trx.savepoint(async (savepoint) => {
      await savepoint('transactor_probe').insert({ id: 3, note: 'kept' });
    });
  });
  expect(await probeIds()).toEqual([1, 3]);
});

test('when a transaction is taken without a callback, then it commits or rolls back when told and refuses statements after', async () => {
  const kept = await h.db.transaction();
  await kept('transactor_probe').insert({ id: 1, note: 'kept' });
  expect(kept.isCompleted()).toBe(false);
  await kept.commit();
  expect(kept.isCompleted()).toBe(true);
  await expect(kept('transactor_probe').insert({ id: 9, note: 'late' })).rejects.toThrow(
    'Transaction query already complete',
  );

  const dropped = await h.db.transaction();
  await dropped('transactor_probe').insert({ id: 2, note: 'dropped' });
  await dropped.rollback();
  await expect(dropped.executionPromise).resolves.toBeUndefined();
  expect(await probeIds()).toEqual([1]);
});

test('when two transactions run at once, then each has its own connection and transaction', async () => {
  // Both hold an uncommitted row before either reads, and neither commits before both have read:
  // under READ COMMITTED a read that starts after the other's commit would see its row.
  const bothInserted = barrier(2);
  const bothRead = barrier(2);
  const sessions: { pid: number; txid: string }[] = [];
  const seen = new Map<number, number[]>();
  await Promise.all(
    [1, 2].map((id) =>
      h.db.transaction(async (trx) => {
        sessions.push(await session(trx));
        await trx('transactor_probe').insert({ id, note: 'x' });
        await bothInserted();
        seen.set(id, await trx('transactor_probe').pluck('id'));
        await bothRead();
      }),
    ),
  );
  expect(seen).toEqual(
    new Map([
      [1, [1]],
      [2, [2]],
    ]),
  );
  expect(sessions[0]!.pid).not.toBe(sessions[1]!.pid);
  expect(sessions[0]!.txid).not.toBe(sessions[1]!.txid);
  expect(await probeIds()).toEqual([1, 2]);
});

test('when a transaction runs a query, then listeners on the knex instance hear it, with the transaction id', async () => {
  const heard: { sql: string; txId: unknown }[] = [];
  const listener = (query: { sql: string; __knexTxId?: unknown }) =>
    heard.push({ sql: query.sql, txId: query.__knexTxId });
  h.db.on('query', listener);
  try {
    await h.db.transaction(async (trx) => {
      await trx('transactor_probe').insert({ id: 1, note: 'heard' });
    });
  } finally {
    h.db.off('query', listener);
  }
  const insert = heard.find((query) => query.sql.startsWith('insert into "transactor_probe"'));
  expect(insert?.txId).toEqual(expect.stringMatching(/^trx\d+$/));
});

test('when a transactor is asked for user params of its own, then it refuses as knex does', async () => {
  await h.db.transaction(async (trx) => {
    expect(() => trx.withUserParams({ tenant: 'x' })).toThrow('Cannot set user params on a transaction');
    expect(trx.userParams).toEqual({});
  });
});

test('when a transactor is built, then it carries only its own state; the methods are shared by all, savepoints too, not copied', async () => {
  const transactors: Knex.Transaction[] = [];
  for (let index = 0; index < 2; index += 1) {
    await h.db.transaction(async (trx) => {
      transactors.push(trx);
      await Promise.resolve();
    });
  }
  await h.db.transaction(async (trx) => {
    await trx.transaction(async (savepoint) => {
      transactors.push(savepoint);
      await Promise.resolve();
    });
  });
  const [first, second, savepoint] = transactors as [Knex.Transaction, Knex.Transaction, Knex.Transaction];
  // knex's own transactor copies about 150 methods and properties onto every one.
  expect(Object.getOwnPropertyNames(first).length).toBeLessThan(20);
  expect(Object.getPrototypeOf(first)).toBe(Object.getPrototypeOf(second));
  expect(Object.getPrototypeOf(savepoint)).toBe(Object.getPrototypeOf(first));
  expect(first.select).toBe(second.select);
  expect(first.client).not.toBe(second.client);
});
