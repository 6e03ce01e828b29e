import type { Knex } from 'knex';
import { createDb, prepared } from '../../../src/db/knex';
import { inTransaction } from '../../../src/db/transaction';
import { startHarness, type Harness } from '../../helpers/harness';

// Transactions send BEGIN with their first statement and can be committed by their last
// (ADR 0020). These tests hold the transaction semantics to what separate BEGIN and COMMIT give.

let h: Harness;
/** One connection only, so that a statement's second use is sure to meet its first's connection. */
let single: Knex;

beforeAll(async () => {
  h = await startHarness();
  single = createDb({ connectionString: h.databaseUrl, poolMax: 1 });
  await h.db.raw(`
    CREATE TABLE pipeline_probe (id int PRIMARY KEY, note text NOT NULL);
    CREATE TABLE pipeline_deferred (
      id int NOT NULL,
      CONSTRAINT pipeline_deferred_once UNIQUE (id) DEFERRABLE INITIALLY DEFERRED
    );
  `);
});
afterAll(async () => {
  await single.destroy();
  await h.close();
});
beforeEach(async () => {
  await h.db.raw('TRUNCATE pipeline_probe, pipeline_deferred');
});

const insertProbe = (trx: Knex.Transaction, id: number, options: { commit?: boolean } = {}) =>
  prepared(trx, 'test_pipeline_insert', 'INSERT INTO pipeline_probe (id, note) VALUES (?, ?)', [id, 'x'], options);

const probeIds = async (): Promise<number[]> => h.db('pipeline_probe').orderBy('id').pluck('id');

class Undo extends Error {}

/**
 * Runs `work` while a deferred trigger on pipeline_probe fails the first COMMIT that follows an
 * insert with a serialization failure (a sequence is not rolled back, so later COMMITs pass).
 */
async function withFirstCommitFailing(work: () => Promise<void>): Promise<void> {
  await h.db.raw(`
    CREATE SEQUENCE pipeline_commits;
    CREATE FUNCTION pipeline_fail_first() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF nextval('pipeline_commits') = 1 THEN
        RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001';
      END IF;
      RETURN NULL;
    END $$;
    CREATE CONSTRAINT TRIGGER pipeline_fail_first AFTER INSERT ON pipeline_probe
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION pipeline_fail_first();
  `);
  try {
    await work();
  } finally {
    await h.db.raw(`
      DROP TRIGGER pipeline_fail_first ON pipeline_probe;
      DROP FUNCTION pipeline_fail_first();
      DROP SEQUENCE pipeline_commits;
    `);
  }
}

test('when the first statement is a prepared one and the work then fails, then that statement is undone too', async () => {
  const failure = await inTransaction(h.db, async (trx) => {
    await insertProbe(trx, 1);
    throw new Undo();
  }).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(Undo);
  expect(await probeIds()).toEqual([]);
});

test('when the first statement is a knex query and the work then fails, then that statement is undone too', async () => {
  const failure = await inTransaction(h.db, async (trx) => {
    await trx('pipeline_probe').insert({ id: 1, note: 'x' });
    throw new Undo();
  }).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(Undo);
  expect(await probeIds()).toEqual([]);
});

test('when statements run in a transaction, then they share it: one snapshot and one transaction id', async () => {
  const ids = await inTransaction(h.db, async (trx) => {
    const first = await prepared<{ rows: { xid: string }[] }>(
      trx,
      'test_pipeline_xid',
      'SELECT txid_current()::text AS xid',
      [],
    );
    const second = await trx.raw<{ rows: { xid: string }[] }>('SELECT txid_current()::text AS xid');
    return [first.rows[0]!.xid, second.rows[0]!.xid];
  });
  expect(ids[0]).toBe(ids[1]);
});

test('when the last statement carries the COMMIT, then its work is visible to others before the transaction callback returns', async () => {
  let seenOutside: number[] = [];
  await inTransaction(h.db, async (trx) => {
    await trx('pipeline_probe').insert({ id: 1, note: 'x' });
    await insertProbe(trx, 2, { commit: true });
    seenOutside = await probeIds();
  });
  expect(seenOutside).toEqual([1, 2]);
  expect(await probeIds()).toEqual([1, 2]);
});

test('when a transaction has a single statement that commits, then BEGIN, the statement and COMMIT all land', async () => {
  await inTransaction(h.db, (trx) => insertProbe(trx, 3, { commit: true }));
  expect(await probeIds()).toEqual([3]);
});

test('when a statement follows the one that committed, then it is refused and nothing more is written', async () => {
  const failure = await inTransaction(h.db, async (trx) => {
    await insertProbe(trx, 1, { commit: true });
    await trx('pipeline_probe').insert({ id: 2, note: 'late' });
  }).catch((error: unknown) => error);
  expect(String(failure)).toMatch(/after its transaction committed/);
  expect(await probeIds()).toEqual([1]);
});

test('when the statement that carries the COMMIT fails, then the COMMIT is skipped and the whole transaction rolls back', async () => {
  await h.db('pipeline_probe').insert({ id: 9, note: 'there before' });
  const failure = await inTransaction(h.db, async (trx) => {
    await trx('pipeline_probe').insert({ id: 1, note: 'x' });
    await insertProbe(trx, 9, { commit: true }); // duplicate key
  }).catch((error: unknown) => error);
  expect((failure as { code?: string }).code).toBe('23505');
  expect(await probeIds()).toEqual([9]);
});

test('when the COMMIT itself fails on a deferred constraint, then the error surfaces and nothing is committed', async () => {
  const failure = await inTransaction(h.db, async (trx) => {
    await trx('pipeline_probe').insert({ id: 1, note: 'x' });
    await trx('pipeline_deferred').insert({ id: 5 });
    await prepared(trx, 'test_pipeline_deferred', 'INSERT INTO pipeline_deferred (id) VALUES (?)', [5], {
      commit: true,
    });
  }).catch((error: unknown) => error);
  expect((failure as { code?: string }).code).toBe('23505');
  expect(await probeIds()).toEqual([]);
  expect(await h.db('pipeline_deferred').count({ n: '*' })).toEqual([{ n: '0' }]);
});

test('when the COMMIT fails with a serialization failure, then the transaction runs again and commits once', async () => {
  await withFirstCommitFailing(async () => {
    let attempts = 0;
    await inTransaction(h.db, async (trx) => {
      attempts += 1;
      await insertProbe(trx, attempts, { commit: true });
    });
    expect(attempts).toBe(2);
    expect(await probeIds()).toEqual([2]);
  });
});

test('when a new prepared statement fails to parse, then the connection forgets it and a later use parses it again', async () => {
  const statement = (trx: Knex.Transaction) =>
    prepared(trx, 'test_pipeline_late_table', 'INSERT INTO pipeline_late (id) VALUES (?)', [1]);
  const failure = await inTransaction(single, statement).catch((error: unknown) => error);
  expect((failure as { code?: string }).code).toBe('42P01'); // the table does not exist yet
  await single.raw('CREATE TABLE pipeline_late (id int)');
  try {
    await inTransaction(single, statement);
    expect(await single('pipeline_late').pluck('id')).toEqual([1]);
  } finally {
    await single.raw('DROP TABLE pipeline_late');
  }
});

// BEGIN and the statement's Parse both succeed; its Execute fails. The server keeps the statement,
// so parsing it again on this connection would be refused as a duplicate (42P05). The same holds for
// a statement sent ahead of another as a leading one.
const insertOnce = (trx: Knex.Transaction, id: number) =>
  prepared(trx, 'test_pipeline_run_fails', 'INSERT INTO pipeline_probe (id, note) VALUES (?, ?)', [id, 'y']);
const insertAhead = (trx: Knex.Transaction, id: number) =>
  prepared(trx, 'test_pipeline_led_statement', 'SELECT ?::int AS id', [id], {
    leading: [
      {
        name: 'test_pipeline_leading_fails',
        sql: 'INSERT INTO pipeline_probe (id, note) VALUES (?, ?)',
        bindings: [id, 'lead'],
      },
    ],
  });

test.each([
  ['prepared statement', insertOnce],
  ['leading statement', insertAhead],
])(
  'when a new %s parses but then fails to run, then the connection keeps it and a later use binds it',
  async (_, statement) => {
    await h.db('pipeline_probe').insert({ id: 9, note: 'there before' });
    const failure = await inTransaction(single, (trx) => statement(trx, 9)).catch((error: unknown) => error);
    expect((failure as { code?: string }).code).toBe('23505');
    await inTransaction(single, (trx) => statement(trx, 10));
    // Not the first statement of its transaction: sent as it is, with no BEGIN in front.
    await inTransaction(single, async (trx) => {
      await trx('pipeline_probe').insert({ id: 11, note: 'x' });
      await statement(trx, 12);
    });
    expect(await probeIds()).toEqual([9, 10, 11, 12]);
  },
);

test('when a new prepared statement parses but the COMMIT behind it fails, then a retry on the same connection binds it', async () => {
  await withFirstCommitFailing(async () => {
    let attempts = 0;
    await inTransaction(single, async (trx) => {
      attempts += 1;
      const values = [attempts, 'z'];
      await prepared(trx, 'test_pipeline_commit_fails', 'INSERT INTO pipeline_probe (id, note) VALUES (?, ?)', values, {
        commit: true,
      });
    });
    expect(attempts).toBe(2);
    expect(await probeIds()).toEqual([2]);
  });
});

const insertProbeLeading = (id: number, note = 'lead') => ({
  name: 'test_pipeline_leading_insert',
  sql: 'INSERT INTO pipeline_probe (id, note) VALUES (?, ?) RETURNING id, note',
  bindings: [id, note],
});

const probeSummary = (
  trx: Knex.Transaction,
  options: { commit?: boolean; leading?: ReturnType<typeof insertProbeLeading>[] },
) =>
  prepared<{ rows: { n: string; ids: number[] }[] }>(
    trx,
    'test_pipeline_summary',
    'SELECT count(*)::text AS n, coalesce(array_agg(id ORDER BY id), ARRAY[]::int[]) AS ids FROM pipeline_probe WHERE id <> ?',
    [-1],
    options,
  );

test('when statements lead a statement, then they run first in its transaction, it sees their work, and only its rows are returned', async () => {
  const summary = await inTransaction(h.db, async (trx) => {
    const result = await probeSummary(trx, { leading: [insertProbeLeading(1), insertProbeLeading(2)] });
    await insertProbe(trx, 3);
    return result.rows;
  });
  expect(summary).toEqual([{ n: '2', ids: [1, 2] }]);
  expect(await probeIds()).toEqual([1, 2, 3]);
});

test('when leading statements go with BEGIN and COMMIT, then all of it is one transaction, committed by the statement', async () => {
  let seenOutside: number[] = [];
  await inTransaction(h.db, async (trx) => {
    await probeSummary(trx, { leading: [insertProbeLeading(4)], commit: true });
    seenOutside = await probeIds();
  });
  expect(seenOutside).toEqual([4]);
});

test('when a leading statement fails, then the statement is not run and the whole transaction rolls back', async () => {
  await h.db('pipeline_probe').insert({ id: 9, note: 'there before' });
  let ran = false;
  const failure = await inTransaction(h.db, async (trx) => {
    await trx('pipeline_probe').insert({ id: 1, note: 'x' });
    await probeSummary(trx, { leading: [insertProbeLeading(9)], commit: true }); // duplicate key
    ran = true;
  }).catch((error: unknown) => error);
  expect((failure as { code?: string }).code).toBe('23505');
  expect(ran).toBe(false);
  expect(await probeIds()).toEqual([9]);
});

test('when a leading statement runs inside a savepoint, then it rolls back with the savepoint alone', async () => {
  await inTransaction(h.db, async (trx) => {
    await trx('pipeline_probe').insert({ id: 1, note: 'before the savepoint' });
    await trx
      .transaction(async (savepoint) => {
        const result = await probeSummary(savepoint, { leading: [insertProbeLeading(2)] });
        expect(result.rows).toEqual([{ n: '2', ids: [1, 2] }]);
        throw new Undo();
      })
      .catch((error: unknown) => {
        if (!(error instanceof Undo)) throw error;
      });
  });
  expect(await probeIds()).toEqual([1]);
});

test('when a leading statement takes arrays and dates, then pg converts them as it does for any statement', async () => {
  const found = await inTransaction(h.db, async (trx) => {
    const result = await prepared<{ rows: { ids: number[]; day: string }[] }>(
      trx,
      'test_pipeline_led_by_array',
      'SELECT array_agg(id ORDER BY id) AS ids, min(note) AS day FROM pipeline_probe',
      [],
      {
        leading: [
          {
            name: 'test_pipeline_leading_array',
            sql: "INSERT INTO pipeline_probe (id, note) SELECT unnest(?::int[]), to_char(?::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
            bindings: [[5, 6], new Date('2026-11-21T12:00:00Z')],
          },
        ],
      },
    );
    return result.rows[0];
  });
  expect(found).toEqual({ ids: [5, 6], day: '2026-11-21' });
});

test('when a savepoint is the first thing a transaction does, then BEGIN goes first and the savepoint rolls back alone', async () => {
  await inTransaction(h.db, async (trx) => {
    await trx
      .transaction(async (savepoint) => {
        await insertProbe(savepoint, 1);
        throw new Undo();
      })
      .catch((error: unknown) => {
        if (!(error instanceof Undo)) throw error;
      });
    await trx('pipeline_probe').insert({ id: 2, note: 'after the savepoint' });
  });
  expect(await probeIds()).toEqual([2]);
});

test('when a transaction runs no statement, then it commits and rolls back without error', async () => {
  await expect(inTransaction(h.db, () => Promise.resolve('nothing'))).resolves.toBe('nothing');
  await expect(inTransaction(h.db, () => Promise.reject(new Undo()))).rejects.toBeInstanceOf(Undo);
  // The pool's connections are clean afterwards: a fresh transaction is really one.
  const failure = await inTransaction(h.db, async (trx) => {
    await insertProbe(trx, 1);
    throw new Undo();
  }).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(Undo);
  expect(await probeIds()).toEqual([]);
});

test('when a transaction asks for an isolation level and read-only, then its first statement runs under them', async () => {
  const settings = await h.db.transaction(
    async (trx) => {
      const result = await prepared<{ rows: { isolation: string; read_only: string }[] }>(
        trx,
        'test_pipeline_settings',
        `SELECT current_setting('transaction_isolation') AS isolation,
                current_setting('transaction_read_only') AS read_only`,
        [],
      );
      return result.rows[0];
    },
    { isolationLevel: 'repeatable read', readOnly: true },
  );
  expect(settings).toEqual({ isolation: 'repeatable read', read_only: 'on' });
});
