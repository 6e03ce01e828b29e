import pg from 'pg';
import { SYSTEM_ACTOR } from '../../../src/auth/principal';
import { inTransaction } from '../../../src/db/transaction';
import { tamperedWith } from '../../helpers/consistency';
import { bankCharge, bankChargeInput, createFund, fundPool, postEntry, type TestFund } from '../../helpers/factories';
import { makeUser, startHarness, TEST_TODAY, type Harness, type TestUser } from '../../helpers/harness';
import { runCli } from '../../helpers/cli';

/**
 * The ledger's own verification through the API: GET …/ledger/verify checks stored balances
 * against postings, every entry, the running figures, holds and floors; the trial balance says
 * whether the sums it reads prove out. Each test changes the fund's rows the way someone with the
 * database owner's password could, and expects the API to tell.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const DAY_MS = 86_400_000;
const api = (fund: TestFund, route: string): string => `/api/v1/funds/${fund.id}/${route}`;

interface Finding {
  check: string;
  accountId: string | null;
  accountCode: string | null;
  entryId: string | null;
  entrySeq: string | null;
  lineNo: number | null;
  book: string | null;
  figure: string;
  expected: string;
  stored: string | null;
}

const NO_FINDING: Omit<Finding, 'check' | 'figure' | 'expected' | 'stored'> = {
  accountId: null,
  accountCode: null,
  entryId: null,
  entrySeq: null,
  lineNo: null,
  book: null,
};

const CHECKS = [
  'book_balanced',
  'account_totals',
  'account_last_posting',
  'account_held',
  'account_floor',
  'entry_balanced',
  'entry_postings',
  'posting_running_totals',
];

async function verifyLedger(fund: TestFund, user: TestUser) {
  const response = await h.http.get(api(fund, 'ledger/verify')).set(user.auth);
  expect(response.status).toBe(200);
  return response.body as {
    fundId: string;
    ok: boolean;
    checked: { accounts: number; entries: number; postings: number; pendingHolds: number };
    checks: { check: string; description: string; findings: number }[];
    findings: Finding[];
    findingsTotal: number;
    truncated: boolean;
  };
}

async function trialBalance(fund: TestFund, asOf?: string) {
  const response = await h.http
    .get(api(fund, 'trial-balance'))
    .query(asOf ? { asOf } : {})
    .set(fund.admin.auth);
  expect(response.status).toBe(200);
  return response.body as {
    balanced: boolean;
    verified: boolean;
    discrepancies: { accounts: number; entries: number };
  };
}

/**
 * Runs statements as the database owner with every trigger off (the append-only ones included),
 * the way an intruder holding the owner's password could.
 */
async function behindTheServicesBack(...statements: [string, unknown[]][]): Promise<void> {
  const owner = new pg.Client({ connectionString: h.databaseUrl });
  await owner.connect();
  try {
    await owner.query('BEGIN');
    await owner.query('SET LOCAL session_replication_role = replica');
    for (const [sql, bindings] of statements) await owner.query(sql, bindings);
    await owner.query('COMMIT');
  } finally {
    await owner.end();
  }
}

async function seqOf(entryId: string): Promise<string> {
  const row = (await h.db('journal_entries').where({ id: entryId }).first('seq')) as { seq: string };
  return String(row.seq);
}

function placeHold(fund: TestFund, amount: string) {
  return inTransaction(h.db, (trx) =>
    h.services.ledger.placeHold(trx, {
      fundId: fund.id,
      accountId: fund.accounts['1001']!,
      amount,
      expiresAt: new Date(h.clock.now().getTime() + 14 * DAY_MS),
      reason: 'loan approval',
      actor: SYSTEM_ACTOR,
    }),
  );
}

describe('a ledger nobody touched', () => {
  test('when an auditor verifies it, then every check passes, and it says what it checked; the trial balance is verified', async () => {
    const fund = await createFund(h);
    await fundPool(h, fund, '1000.00');
    await postEntry(h, fund.admin, fund.id, bankCharge('10.00'));
    await placeHold(fund, '100.00');
    const auditor = await makeUser(h, 'auditor', { fundId: fund.id });
    const accounts = Number(
      ((await h.db('accounts').where({ fund_id: fund.id }).count({ n: '*' }))[0] as { n: string }).n,
    );

    const verification = await verifyLedger(fund, auditor);

    expect(verification).toMatchObject({
      fundId: fund.id,
      ok: true,
      checked: { accounts, entries: 2, postings: 4, pendingHolds: 1 },
      findings: [],
      findingsTotal: 0,
      truncated: false,
    });
    expect(verification.checks.map((check) => [check.check, check.findings])).toEqual(
      CHECKS.map((check) => [check, 0]),
    );
    expect(await trialBalance(fund)).toMatchObject({
      balanced: true,
      verified: true,
      discrepancies: { accounts: 0, entries: 0 },
    });
    expect(await trialBalance(fund, TEST_TODAY)).toMatchObject({ balanced: true, verified: true });
  });
});

describe('a ledger edited behind the service’s back', () => {
  let fund: TestFund;
  beforeEach(async () => {
    fund = await createFund(h);
    // Every test here corrupts the fund on purpose.
    tamperedWith(h, fund.id);
  });

  test('when a posting’s amount is edited, then verify names the account, the entry and the posting with the figures it expected and found, and the trial balance is not verified', async () => {
    await fundPool(h, fund, '1000.00');
    const charge = await postEntry(h, fund.admin, fund.id, bankCharge('10.00'));
    const entryId = charge.body.id as string;
    await behindTheServicesBack([
      `UPDATE postings SET amount = 15.00 WHERE entry_id = $1 AND side = 'debit'`,
      [entryId],
    ]);

    const verification = await verifyLedger(fund, fund.admin);

    const bankCharges = { accountId: fund.accounts['5002']!, accountCode: '5002' };
    expect(verification.ok).toBe(false);
    expect(verification.findings).toEqual([
      {
        ...NO_FINDING,
        check: 'account_totals',
        ...bankCharges,
        figure: 'debitTotal',
        expected: '15.00',
        stored: '10.00',
      },
      {
        ...NO_FINDING,
        check: 'entry_balanced',
        entryId,
        entrySeq: await seqOf(entryId),
        book: 'fund',
        figure: 'credits',
        expected: '15.00',
        stored: '10.00',
      },
      {
        ...NO_FINDING,
        check: 'posting_running_totals',
        ...bankCharges,
        entryId,
        entrySeq: await seqOf(entryId),
        lineNo: 1,
        figure: 'debitTotalAfter',
        expected: '15.00',
        stored: '10.00',
      },
    ]);
    expect(verification).toMatchObject({ findingsTotal: 3, truncated: false });
    // The books still add up from the stored totals: only the proof against the postings fails.
    expect(await trialBalance(fund)).toEqual(
      expect.objectContaining({ balanced: true, verified: false, discrepancies: { accounts: 1, entries: 1 } }),
    );
    expect(await trialBalance(fund, TEST_TODAY)).toEqual(
      expect.objectContaining({ verified: false, discrepancies: { accounts: 1, entries: 1 } }),
    );

    // The command-line check runs the same verification, and fails.
    const cli = await runCli(h, ['ledger', 'check', '--fund', fund.id]);
    expect(cli.code).toBe(1);
    const [report, summary] = cli.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(report).toMatchObject({ fundId: fund.id, ok: false, findingsTotal: 3, findings: verification.findings });
    expect(summary).toEqual({ funds: 1, consistent: false });
  });

  test('when an earlier posting’s running totals are edited, then verify names it and the next one, and the trial balance as of its date is not verified', async () => {
    await fundPool(h, fund, '1000.00', undefined, '2026-06-01');
    const earlier = await postEntry(h, fund.admin, fund.id, bankCharge('100.00', { effectiveDate: '2026-06-10' }));
    const later = await postEntry(h, fund.admin, fund.id, bankCharge('3.00'));
    await behindTheServicesBack([
      `UPDATE postings SET credit_total_after = 90.00, balance_after = 910.00 WHERE entry_id = $1 AND account_id = $2`,
      [earlier.body.id, fund.accounts['1001']],
    ]);

    const verification = await verifyLedger(fund, fund.admin);

    const poolCash = { accountId: fund.accounts['1001']!, accountCode: '1001' };
    expect(verification.findings).toEqual([
      {
        ...NO_FINDING,
        check: 'posting_running_totals',
        ...poolCash,
        entryId: earlier.body.id,
        entrySeq: await seqOf(earlier.body.id),
        lineNo: 2,
        figure: 'creditTotalAfter',
        expected: '100.00',
        stored: '90.00',
      },
      {
        ...NO_FINDING,
        check: 'posting_running_totals',
        ...poolCash,
        entryId: later.body.id,
        entrySeq: await seqOf(later.body.id),
        lineNo: 2,
        figure: 'creditTotalAfter',
        expected: '93.00',
        stored: '103.00',
      },
    ]);
    // As-of figures are read from the running totals: on the edited posting's date they do not add up.
    expect(await trialBalance(fund, '2026-06-10')).toEqual(
      expect.objectContaining({ balanced: false, verified: false, discrepancies: { accounts: 1, entries: 0 } }),
    );
    expect(await trialBalance(fund, '2026-06-09')).toEqual(expect.objectContaining({ balanced: true, verified: true }));
    expect(await trialBalance(fund)).toEqual(expect.objectContaining({ balanced: true, verified: true }));
  });

  test('when an account’s stored totals are edited, then verify names the account and the book that no longer balances', async () => {
    await fundPool(h, fund, '1000.00');
    await behindTheServicesBack([
      'UPDATE account_balances SET debit_total = debit_total + 1, balance = balance + 1 WHERE account_id = $1',
      [fund.accounts['1001']],
    ]);

    const verification = await verifyLedger(fund, fund.admin);

    const poolCash = { accountId: fund.accounts['1001']!, accountCode: '1001' };
    expect(verification.findings).toEqual([
      {
        ...NO_FINDING,
        check: 'book_balanced',
        book: 'fund',
        figure: 'creditTotal',
        expected: '1001.00',
        stored: '1000.00',
      },
      {
        ...NO_FINDING,
        check: 'account_totals',
        ...poolCash,
        figure: 'debitTotal',
        expected: '1000.00',
        stored: '1001.00',
      },
      {
        ...NO_FINDING,
        check: 'account_last_posting',
        ...poolCash,
        figure: 'debitTotal',
        expected: '1000.00',
        stored: '1001.00',
      },
    ]);
    expect(await trialBalance(fund)).toEqual(
      expect.objectContaining({ balanced: false, verified: false, discrepancies: { accounts: 1, entries: 0 } }),
    );
  });

  test('when the held amount and the floor are edited and cash then goes below zero, then verify names the hold and the floor', async () => {
    await fundPool(h, fund, '100.00');
    await placeHold(fund, '30.00');
    await behindTheServicesBack([
      'UPDATE account_balances SET held = 0, floor = NULL WHERE account_id = $1',
      [fund.accounts['1001']],
    ]);
    // With its floor gone from the balance row, the service lets pool cash go negative.
    expect((await postEntry(h, fund.admin, fund.id, bankCharge('120.00'))).status).toBe(201);

    const verification = await verifyLedger(fund, fund.admin);

    const poolCash = { accountId: fund.accounts['1001']!, accountCode: '1001' };
    expect(verification.findings).toEqual([
      { ...NO_FINDING, check: 'account_held', ...poolCash, figure: 'held', expected: '30.00', stored: '0.00' },
      { ...NO_FINDING, check: 'account_floor', ...poolCash, figure: 'floor', expected: '0.00', stored: null },
      { ...NO_FINDING, check: 'account_floor', ...poolCash, figure: 'available', expected: '0.00', stored: '-20.00' },
    ]);
    expect(verification.checks.find((check) => check.check === 'account_floor')?.findings).toBe(2);
  });

  test('when more is wrong than one answer lists, then verify lists the first 100 and counts them all', async () => {
    await fundPool(h, fund, '1000.00');
    await inTransaction(h.db, (trx) =>
      h.services.ledger.postEntries(
        trx,
        Array.from({ length: 60 }, (_, index) => bankChargeInput(fund, '1.00', `charge-${index}`)),
      ),
    );
    await behindTheServicesBack([
      `UPDATE postings SET amount = amount + 1 WHERE fund_id = $1 AND side = 'debit'`,
      [fund.id],
    ]);

    const verification = await verifyLedger(fund, fund.admin);

    // 61 debit postings changed: two accounts' totals, 61 entries, 61 running totals.
    expect(verification.checks.map((check) => [check.check, check.findings])).toEqual([
      ['book_balanced', 0],
      ['account_totals', 2],
      ['account_last_posting', 0],
      ['account_held', 0],
      ['account_floor', 0],
      ['entry_balanced', 61],
      ['entry_postings', 0],
      ['posting_running_totals', 61],
    ]);
    expect(verification).toMatchObject({ ok: false, findingsTotal: 124, truncated: true });
    expect(verification.findings).toHaveLength(100);
    expect(verification.findings.slice(0, 3).map((finding) => finding.check)).toEqual([
      'account_totals',
      'account_totals',
      'entry_balanced',
    ]);
  });
});
