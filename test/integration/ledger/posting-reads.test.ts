import type { Knex } from 'knex';
import { createDb } from '../../../src/db/knex';
import { inTransaction } from '../../../src/db/transaction';
import { insertMember } from '../../../src/members/members.repo';
import { bankChargeInput, createFund, fundPool, type TestFund } from '../../helpers/factories';
import { startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { expectFundConsistent } from '../../helpers/invariants';

// A posting touches a handful of accounts, and every statement it runs (its own and the triggers'
// on postings and entries) must find them by index: a fund keeps a sub-account per member and per
// loan, thousands of them, and a posting that read them all would do so while holding the lock on
// the fund's cash account, which every entry of the fund waits for.

/** Members (each with a capital sub-account) of the crowded fund: enough that a full read shows. */
const MEMBERS = 1000;
/** A prepared statement gets its generic plan, kept for the connection, from its sixth run on. */
const RUNS = 8;
/** Account rows a two-line posting may read: each of its accounts a few times, never the table. */
const ACCOUNT_ROWS_READ_MAX = 20;

let h: Harness;
let fund: TestFund;
let single: Knex;
beforeAll(async () => {
  h = await startHarness();
  fund = await createFund(h);
  await fundPool(h, fund, '1000.00');
  await inTransaction(h.db, async (trx) => {
    for (let index = 0; index < MEMBERS; index += 1) {
      const member = await insertMember(trx, {
        fund_id: fund.id,
        name: `成员企业 ${index + 1}`,
        joined_on: TEST_TODAY,
      });
      await h.services.ledger.ensureSubAccount(trx, fund.id, '3001', { memberId: member.id });
    }
  });
  // One connection, so that every run after the fifth uses the plans PostgreSQL keeps for it.
  single = createDb({ connectionString: h.databaseUrl, poolMax: 1, applicationName: 'huzhu-test-reads' });
}, 120_000);
afterAll(async () => {
  await single?.destroy();
  await h.close();
});

interface TableReads {
  relname: string;
  seq_tup_read: string;
  idx_tup_fetch: string;
}

/** Rows of accounts and balances this connection has read so far (kept until its counters flush). */
async function rowsRead(trx: Knex.Transaction): Promise<Record<string, number>> {
  const rows = (
    await trx.raw<{ rows: TableReads[] }>(
      `SELECT relname, seq_tup_read, idx_tup_fetch FROM pg_stat_xact_user_tables
        WHERE relname IN ('accounts', 'account_balances')`,
    )
  ).rows;
  return Object.fromEntries(rows.map((row) => [row.relname, Number(row.seq_tup_read) + Number(row.idx_tup_fetch)]));
}

/** Posts RUNS entries on one connection; what each read of accounts and balances. */
async function postAndCountReads(): Promise<{ run: number; accounts: number; balances: number }[]> {
  const readsPerRun: { run: number; accounts: number; balances: number }[] = [];
  for (let run = 1; run <= RUNS; run += 1) {
    readsPerRun.push(
      await inTransaction(single, async (trx) => {
        const before = await rowsRead(trx);
        await h.services.ledger.postEntry(trx, bankChargeInput(fund, '1.00'));
        // The deferred checks run at COMMIT: asked to run now, so that their reads are counted.
        await trx.raw('SET CONSTRAINTS ALL IMMEDIATE');
        const after = await rowsRead(trx);
        const delta = (table: string): number => (after[table] ?? 0) - (before[table] ?? 0);
        return { run, accounts: delta('accounts'), balances: delta('account_balances') };
      }),
    );
  }
  return readsPerRun;
}

/** Every run within bounds: a run that read a table whole is listed with its figures. */
function expectFewReads(readsPerRun: { run: number; accounts: number; balances: number }[]): void {
  const tooMany = readsPerRun.filter(
    (reads) => reads.accounts > ACCOUNT_ROWS_READ_MAX || reads.balances > ACCOUNT_ROWS_READ_MAX,
  );
  expect(tooMany).toEqual([]);
  expect(readsPerRun).toHaveLength(RUNS);
}

test('when a fund has grown to a thousand accounts since the statistics were taken, then each posting reads only the rows of the accounts it names', async () => {
  expectFewReads(await postAndCountReads());
  await expectFundConsistent(h, fund.id);
});

test('when the statistics are fresh, then each posting still reads only the rows of the accounts it names', async () => {
  // ANALYZE also makes PostgreSQL plan the kept statements again, from the new statistics.
  await h.db.raw('ANALYZE accounts, account_balances, postings, journal_entries');
  expectFewReads(await postAndCountReads());
  await expectFundConsistent(h, fund.id);
});
