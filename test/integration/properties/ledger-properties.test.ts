import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { Response } from 'supertest';
import { inTransaction } from '../../../src/db/transaction';
import { AppError } from '../../../src/errors';
import { CURSOR_LENGTH_MAX } from '../../../src/http/pagination';
import type { Account, Side } from '../../../src/ledger/ledger.types';
import {
  accountIdsByCode,
  capitalAccount,
  createFund,
  createMember,
  fundPool,
  type TestFund,
} from '../../helpers/factories';
import { makeUser, startHarness, TEST_TODAY, type Harness, type TestUser } from '../../helpers/harness';
import { expectFundConsistent, snapshot } from '../../helpers/invariants';

/**
 * Properties of the ledger under random input. Part 1 posts random sequences of valid entries
 * (many of them back-dated) through the service and checks every as-of balance against sums
 * computed straight from the postings table. Part 2 throws malformed requests at the HTTP API and
 * checks that none of them is a server error or changes anything.
 */

let h: Harness;
let platformAdmin: TestUser;
beforeAll(async () => {
  h = await startHarness();
  platformAdmin = await makeUser(h, 'admin');
});
afterAll(async () => {
  await h.close();
});

/**
 * A deeply nested value, built only when serialized, so that fast-check can print a counterexample
 * holding one without overflowing its stack.
 */
class Deep {
  constructor(
    readonly depth: number,
    readonly array: boolean,
  ) {}
  /** The JSON text, built without recursion: JSON.stringify would overflow the stack. */
  json(): string {
    const [open, close] = this.array ? ['[', ']'] : ['{"a":', '}'];
    return `${open.repeat(this.depth)}"bottom"${close.repeat(this.depth)}`;
  }
  [fc.toStringMethod](): string {
    return `Deep(${this.depth}, ${this.array ? 'arrays' : 'objects'})`;
  }
}

const ACTOR = { userId: null, username: 'test', role: 'system' } as const;

// ---------------------------------------------------------------------------------------------
// Dates and money

const WINDOW_DAYS = 60;

function addDays(date: string, days: number): string {
  const instant = new Date(`${date}T00:00:00.000Z`);
  instant.setUTCDate(instant.getUTCDate() + days);
  return instant.toISOString().slice(0, 10);
}

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00.000Z`) - Date.parse(`${from}T00:00:00.000Z`)) / 86_400_000);
}

/** The first value date entries may carry: the window is the 60 days up to and including today. */
const WINDOW_FIRST = addDays(TEST_TODAY, -(WINDOW_DAYS - 1));
/** Every date of the window, and the day before it (when nothing has happened yet). */
const CHECK_DATES = Array.from({ length: WINDOW_DAYS + 1 }, (_, index) => addDays(WINDOW_FIRST, index - 1));

/** Fen (1/100 yuan) as the ledger's amount string: 1234n → "12.34", -5n → "-0.05". */
function yuan(fen: bigint): string {
  const sign = fen < 0n ? '-' : '';
  const magnitude = fen < 0n ? -fen : fen;
  return `${sign}${magnitude / 100n}.${(magnitude % 100n).toString().padStart(2, '0')}`;
}

async function outcomeOf<T>(work: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; code: string }> {
  try {
    return { ok: true, value: await work };
  } catch (error) {
    if (error instanceof AppError) return { ok: false, code: error.code };
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Part 1: random valid entries, back-dated ones included, and reversals

/** The accounts the random entries move: none is in the memo book; only pool cash has a floor. */
const ACCOUNT_COUNT = 6;
const POOL = 0;
const CAPITAL = [1, 2, 3] as const;

interface LedgerFixture {
  fund: TestFund;
  /** Index → account, in the order POOL, three member capital accounts, 4005, 5002. */
  accounts: Account[];
}

async function ledgerFixture(): Promise<LedgerFixture> {
  const fund = await createFund(h, platformAdmin);
  const capital: string[] = [];
  for (let index = 0; index < CAPITAL.length; index += 1) {
    capital.push(await capitalAccount(h, fund.id, await createMember(h, fund.id)));
  }
  const ids = [fund.accounts['1001']!, ...capital, fund.accounts['4005']!, fund.accounts['5002']!];
  const accounts = await Promise.all(ids.map((id) => h.services.ledger.getAccount(h.db, fund.id, id)));
  expect(accounts.map((account) => account.floor)).toEqual(['0.00', null, null, null, null, null]);
  expect(accounts.map((account) => account.book)).toEqual(Array(ACCOUNT_COUNT).fill('fund'));
  return { fund, accounts };
}

interface Leg {
  debit: number;
  credit: number;
  fen: bigint;
  creditFirst: boolean;
}

interface EntryPlan {
  legs: Leg[];
  /** Days before today: 0 is today, 59 the first day of the window. */
  daysBack: number;
}

const fenArb = fc.oneof(
  fc.bigInt({ min: 1n, max: 999n }),
  fc.bigInt({ min: 1n, max: 300_000n }),
  fc.constantFrom(1n, 100n, 5_000n, 12_345n),
);

const legArb: fc.Arbitrary<Leg> = fc.oneof(
  // Cash paid in against a member's capital: keeps pool cash above its floor often enough.
  {
    weight: 2,
    arbitrary: fc.record({
      debit: fc.constant(POOL),
      credit: fc.constantFrom(...CAPITAL),
      fen: fenArb,
      creditFirst: fc.boolean(),
    }),
  },
  // Anything between any two of the accounts, the same account on both sides included.
  {
    weight: 5,
    arbitrary: fc.record({
      debit: fc.nat({ max: ACCOUNT_COUNT - 1 }),
      credit: fc.nat({ max: ACCOUNT_COUNT - 1 }),
      fen: fenArb,
      creditFirst: fc.boolean(),
    }),
  },
);

const entryArb: fc.Arbitrary<EntryPlan> = fc.record({
  legs: fc.array(legArb, { minLength: 1, maxLength: 3 }),
  // Recent days are drawn more often so that several entries share a value date.
  daysBack: fc.oneof(fc.nat({ max: WINDOW_DAYS - 1 }), fc.nat({ max: 3 })),
});

type LaterOp = { type: 'entry'; entry: EntryPlan } | { type: 'reverse'; pick: number; daysAfter: number };

const laterOpArb: fc.Arbitrary<LaterOp> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ type: fc.constant('reverse'), pick: fc.nat(), daysAfter: fc.nat({ max: 70 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('entry'), entry: entryArb }) },
) as fc.Arbitrary<LaterOp>;

interface EntryLine {
  accountId: string;
  side: Side;
  amount: string;
}

function linesOf(fixture: LedgerFixture, plan: EntryPlan): EntryLine[] {
  return plan.legs.flatMap((leg) => {
    const debit: EntryLine = { accountId: fixture.accounts[leg.debit]!.id, side: 'debit', amount: yuan(leg.fen) };
    const credit: EntryLine = { accountId: fixture.accounts[leg.credit]!.id, side: 'credit', amount: yuan(leg.fen) };
    return leg.creditFirst ? [credit, debit] : [debit, credit];
  });
}

/** How each account's normal-side balance moves, in fen, when the lines post. */
function effectOf(fixture: LedgerFixture, lines: readonly EntryLine[]): bigint[] {
  const effect = Array<bigint>(ACCOUNT_COUNT).fill(0n);
  for (const line of lines) {
    const index = fixture.accounts.findIndex((account) => account.id === line.accountId);
    const fen = BigInt(line.amount.replace('.', ''));
    effect[index]! += line.side === fixture.accounts[index]!.normalSide ? fen : -fen;
  }
  return effect;
}

interface Model {
  /** Normal-side balances in fen, by account index. */
  balances: bigint[];
  /** Entries posted and not reversed, which a later reversal may pick. */
  reversible: { id: string; effectiveDate: string; effect: bigint[] }[];
  posted: number;
  refused: number;
}

/**
 * Whether the ledger must refuse an entry with this effect: only pool cash has a floor (0.00) and,
 * with no holds, an entry is refused exactly when it would leave pool cash below zero.
 */
function wouldCrossFloor(model: Model, effect: readonly bigint[]): boolean {
  return model.balances[POOL]! + effect[POOL]! < 0n;
}

async function expectRefusedUnchanged(fundId: string, work: () => Promise<unknown>): Promise<void> {
  const before = await snapshot(h, fundId);
  expect(await outcomeOf(work())).toEqual({ ok: false, code: 'floor_crossed' });
  expect(await snapshot(h, fundId)).toEqual(before);
}

async function postPlanned(fixture: LedgerFixture, model: Model, plan: EntryPlan): Promise<void> {
  const lines = linesOf(fixture, plan);
  const effect = effectOf(fixture, lines);
  const effectiveDate = addDays(TEST_TODAY, -plan.daysBack);
  const post = () =>
    inTransaction(h.db, (trx) =>
      h.services.ledger.postEntry(trx, {
        fundId: fixture.fund.id,
        lines,
        effectiveDate,
        kind: 'manual.adjustment',
        memo: 'property test entry',
        actor: ACTOR,
      }),
    );
  if (wouldCrossFloor(model, effect)) {
    await expectRefusedUnchanged(fixture.fund.id, post);
    model.refused += 1;
    return;
  }
  const result = await outcomeOf(post());
  expect(result).toMatchObject({ ok: true });
  if (!result.ok) return;
  model.balances = model.balances.map((balance, index) => balance + effect[index]!);
  model.reversible.push({ id: result.value.entry.id, effectiveDate, effect });
  model.posted += 1;
}

async function reversePlanned(fixture: LedgerFixture, model: Model, pick: number, daysAfter: number): Promise<void> {
  if (model.reversible.length === 0) return;
  const [original] = model.reversible.splice(pick % model.reversible.length, 1);
  // Any date from the original's value date up to today.
  const span = daysBetween(original!.effectiveDate, TEST_TODAY) + 1;
  const effectiveDate = addDays(original!.effectiveDate, daysAfter % span);
  const effect = original!.effect.map((fen) => -fen);
  const reverse = () =>
    inTransaction(h.db, (trx) =>
      h.services.ledger.reverseEntry(trx, {
        fundId: fixture.fund.id,
        entryId: original!.id,
        effectiveDate,
        memo: 'property test reversal',
        actor: ACTOR,
      }),
    );
  if (wouldCrossFloor(model, effect)) {
    await expectRefusedUnchanged(fixture.fund.id, reverse);
    // Refused: it stays reversible, so a later pick may try again.
    model.reversible.push(original!);
    model.refused += 1;
    return;
  }
  const result = await outcomeOf(reverse());
  expect(result).toMatchObject({ ok: true });
  if (!result.ok) return;
  expect(result.value.entry).toMatchObject({ reversesEntryId: original!.id, effectiveDate, kind: 'reversal' });
  model.balances = model.balances.map((balance, index) => balance + effect[index]!);
  model.posted += 1;
}

interface Figures {
  debitTotal: string;
  creditTotal: string;
  balance: string;
}

/** Every account's figures at the end of every check date, summed from the postings table alone. */
async function figuresFromPostings(fundId: string): Promise<Map<string, Figures>> {
  const result = await h.db.raw<{
    rows: { account_id: string; as_of: string; debit_total: string; credit_total: string; balance: string }[];
  }>(
    `SELECT a.id AS account_id, d.day::date::text AS as_of,
            round(coalesce(sum(p.amount) FILTER (WHERE p.side = 'debit'), 0), 2)::text AS debit_total,
            round(coalesce(sum(p.amount) FILTER (WHERE p.side = 'credit'), 0), 2)::text AS credit_total,
            round(coalesce(sum(CASE WHEN p.side = a.normal_side THEN p.amount ELSE -p.amount END), 0), 2)::text
              AS balance
       FROM accounts a
      CROSS JOIN generate_series(?::date, ?::date, interval '1 day') AS d(day)
       LEFT JOIN postings p ON p.account_id = a.id AND p.effective_date <= d.day::date
      WHERE a.fund_id = ?
      GROUP BY a.id, d.day`,
    [addDays(WINDOW_FIRST, -1), TEST_TODAY, fundId],
  );
  expect(result.rows.length).toBeGreaterThan(0);
  return new Map(
    result.rows.map((row) => [
      `${row.account_id} ${row.as_of}`,
      { debitTotal: row.debit_total, creditTotal: row.credit_total, balance: row.balance },
    ]),
  );
}

/**
 * The as-of property: for every account moved and every date of the window (and the day before),
 * balanceAsOf and the trial balance as of that date equal the sums of the postings dated on or
 * before it. Also checks the running figures each posting carries against its predecessors.
 */
async function expectAsOfAgreesWithPostings(fixture: LedgerFixture, model: Model): Promise<void> {
  const fundId = fixture.fund.id;
  const expected = await figuresFromPostings(fundId);

  const pairs = fixture.accounts.flatMap((account) => CHECK_DATES.map((date) => ({ account, date })));
  const actual = await Promise.all(
    pairs.map(async ({ account, date }) => ({
      key: `${account.id} ${date}`,
      figures: await h.services.ledger.balanceAsOf(h.db, fundId, account, date),
    })),
  );
  expect(Object.fromEntries(actual.map(({ key, figures }) => [key, figures]))).toEqual(
    Object.fromEntries(actual.map(({ key }) => [key, expected.get(key)])),
  );

  const trials = await Promise.all(CHECK_DATES.map((date) => h.services.ledger.trialBalance(h.db, fundId, date)));
  const trialFigures: Record<string, unknown> = {};
  const expectedTrialFigures: Record<string, unknown> = {};
  trials.forEach((trial, index) => {
    const date = CHECK_DATES[index]!;
    expect({ date, asOf: trial.asOf, balanced: trial.balanced, verified: trial.verified }).toEqual({
      date,
      asOf: date,
      balanced: true,
      verified: true,
    });
    for (const line of trial.lines) {
      const key = `${line.accountId} ${date}`;
      trialFigures[key] = { debitTotal: line.debitTotal, creditTotal: line.creditTotal, balance: line.balance };
      expectedTrialFigures[key] = expected.get(key) ?? 'no such account';
    }
  });
  expect(Object.keys(trialFigures).length).toBe(expected.size);
  expect(trialFigures).toEqual(expectedTrialFigures);

  // Today's as-of figures are the model's balances: no posting was lost or invented.
  expect(fixture.accounts.map((account) => expected.get(`${account.id} ${TEST_TODAY}`)!.balance)).toEqual(
    model.balances.map(yuan),
  );

  // Each posting's running totals, version, watermark and back-dated flag follow from the postings
  // of its account before it.
  const drift = await h.db.raw<{ rows: unknown[] }>(
    `SELECT * FROM (
       SELECT p.id, p.account_id, p.version_after, p.debit_total_after, p.credit_total_after,
              p.watermark_after, p.backdated, p.effective_date,
              sum(CASE WHEN p.side = 'debit' THEN p.amount ELSE 0 END) OVER w AS debits,
              sum(CASE WHEN p.side = 'credit' THEN p.amount ELSE 0 END) OVER w AS credits,
              count(*) OVER w AS n,
              max(p.effective_date) OVER w AS watermark,
              max(p.effective_date) OVER (PARTITION BY p.account_id ORDER BY p.version_after
                                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous_watermark
         FROM postings p
        WHERE p.fund_id = ?
       WINDOW w AS (PARTITION BY p.account_id ORDER BY p.version_after ROWS UNBOUNDED PRECEDING)
     ) x
     WHERE debits <> debit_total_after OR credits <> credit_total_after OR n <> version_after
        OR watermark <> watermark_after
        OR backdated <> coalesce(effective_date < previous_watermark, false)`,
    [fundId],
  );
  expect(drift.rows).toEqual([]);
}

describe('as-of balances under random back-dated entries', () => {
  test('when random entries and reversals are posted with value dates across 60 days, then every as-of balance and trial balance equals the sum of the postings dated on or before it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(entryArb, { minLength: 1, maxLength: 25, size: 'max' }),
        fc.array(laterOpArb, { maxLength: 10, size: 'max' }),
        async (entries, laterOps) => {
          const fixture = await ledgerFixture();
          const model: Model = {
            balances: Array<bigint>(ACCOUNT_COUNT).fill(0n),
            reversible: [],
            posted: 0,
            refused: 0,
          };
          for (const plan of entries) await postPlanned(fixture, model, plan);
          await expectFundConsistent(h, fixture.fund.id);
          await expectAsOfAgreesWithPostings(fixture, model);

          // Reversals of a random subset (dated on or after their originals), mixed with further
          // back-dated entries.
          for (const op of laterOps) {
            if (op.type === 'entry') await postPlanned(fixture, model, op.entry);
            else await reversePlanned(fixture, model, op.pick, op.daysAfter);
          }
          await expectFundConsistent(h, fixture.fund.id);
          await expectAsOfAgreesWithPostings(fixture, model);
          const entryCount = await h.db('journal_entries').where({ fund_id: fixture.fund.id }).count({ n: '*' });
          expect(Number((entryCount[0] as { n: string }).n)).toBe(model.posted);
        },
      ),
      { numRuns: 30 },
    );
    // Thirty random histories, each checked on every day of its window: seconds alone, longer on a
    // machine whose two cores run another test file too.
  }, 180_000);
});

// ---------------------------------------------------------------------------------------------
// Part 2: malformed requests through HTTP

describe('malformed requests', () => {
  let fund: TestFund;
  let fundAdmin: TestUser;
  /** Ids of accounts a well-formed line may name but the ledger must refuse. */
  let foreign: { memoAccountId: string; otherFundAccountId: string };

  beforeAll(async () => {
    fund = await createFund(h, platformAdmin);
    fundAdmin = await makeUser(h, 'admin', { fundId: fund.id });
    await fundPool(h, fund, '1000.00');
    const other = await createFund(h, platformAdmin);
    foreign = {
      memoAccountId: (await accountIdsByCode(h, fund.id))['7002']!,
      otherFundAccountId: other.accounts['1001']!,
    };
  });

  /**
   * Every request here answers in milliseconds. A run stuck on one (a connection never given back,
   * a lock never released) fails fast-check's per-run timeout, or its time limit for the whole
   * property, so the report names the seed and the input instead of jest's bare 60-s timeout.
   */
  const LIMITS = { timeout: 10_000, interruptAfterTimeLimit: 40_000, markInterruptAsFailure: true } as const;

  function expectProblemOrCreated(response: Response): void {
    const summary = { status: response.status, body: response.text.slice(0, 500) };
    expect(summary.status < 500 ? 'not a server error' : summary).toBe('not a server error');
    if (response.status === 201 || response.status === 200) {
      expect(response.headers['content-type']).toMatch(/^application\/json(;|$)/);
      return;
    }
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json(;|$)/);
    expect(typeof (response.body as { code?: unknown }).code).toBe('string');
    expect((response.body as { status?: unknown }).status).toBe(response.status);
  }

  /** JSON.stringify, except that Deep values are spliced in as text. */
  function toJsonText(value: unknown): string | undefined {
    const deep: Deep[] = [];
    const text = JSON.stringify(value, (_key, item: unknown) => {
      if (!(item instanceof Deep)) return item;
      deep.push(item);
      return `\u0001deep${deep.length - 1}\u0001`;
    }) as string | undefined;
    return text?.replace(/"\\u0001deep(\d+)\\u0001"/g, (_match, index: string) => deep[Number(index)]!.json());
  }

  type Body = { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'raw'; text: string; type: string };

  /** POSTs a body to /entries and checks the answer; nothing may change unless it is a 201. */
  async function postAndCheck(body: Body, key: string | undefined): Promise<void> {
    const before = await snapshot(h, fund.id);
    let request = h.http.post(`/api/v1/funds/${fund.id}/entries`).set(fundAdmin.auth);
    if (key !== undefined) request = request.set('Idempotency-Key', key);
    let response: Response;
    if (body.kind === 'none') response = await request;
    else if (body.kind === 'raw') response = await request.set('Content-Type', body.type).send(body.text);
    else {
      const text = toJsonText(body.value);
      response = text === undefined ? await request : await request.set('Content-Type', 'application/json').send(text);
    }
    expectProblemOrCreated(response);
    if (response.status === 201) {
      // The rare valid request: it posted, and the fund still balances.
      expect(response.body).toMatchObject({ id: expect.any(String), fundId: fund.id });
      await expectFundConsistent(h, fund.id);
      return;
    }
    expect(await snapshot(h, fund.id)).toEqual(before);
  }

  const printableAscii = fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code));
  /** What Node's HTTP client lets through in a header value: tab, visible ASCII, space, Latin-1. */
  const headerChar = fc.oneof(
    printableAscii,
    fc.constantFrom(' ', '\t'),
    fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCharCode(code)),
  );
  const keyArb: fc.Arbitrary<string | undefined> = fc.oneof(
    fc.constant(undefined),
    fc.constant(''),
    fc.uuid(),
    fc.string({ unit: printableAscii, minLength: 1, maxLength: 40 }),
    fc.string({ unit: printableAscii, minLength: 256, maxLength: 400 }),
    fc.string({ unit: headerChar, minLength: 1, maxLength: 40 }),
    fc.constant('k'.repeat(255)),
  );

  const deepArb = fc
    .record({ depth: fc.integer({ min: 1, max: 5000 }), array: fc.boolean() })
    .map(({ depth, array }) => new Deep(depth, array));

  const badText = fc.oneof(
    fc.constantFrom(
      '\u0000',
      'memo\u0000',
      '\ud800',
      'x\udc00y',
      '\udc00\ud800',
      '',
      '   ',
      'x'.repeat(501),
      'manual.unknown',
      'DEBIT',
      'cny',
      'USD',
    ),
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.string({ maxLength: 20 }),
  );
  const junk = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.jsonValue({ maxDepth: 3 }),
    badText,
    deepArb,
  );
  const badAmount = fc.oneof(
    fc.constantFrom(
      '1e3',
      '-5.00',
      '0.00',
      '0',
      '-0.00',
      '1.234',
      '0.001',
      '',
      ' 1.00',
      '1.00 ',
      '+1.00',
      '1.',
      '.50',
      '0x10',
      'NaN',
      'Infinity',
      '1,00',
      '１２.３４',
      '١٢.٣٤',
      '9'.repeat(16),
      `${'9'.repeat(15)}.999`,
      '9'.repeat(41),
      '1'.repeat(100_000),
      '00.10',
      '-',
      '1..2',
      '12.34\u0000',
    ),
    fc.integer(),
    fc.double(),
    fc.constantFrom(12.34, 1234, 1e3, -5),
    junk,
  );
  const badDate = fc.oneof(
    fc.constantFrom(
      '2026-02-30',
      '2026-02-29',
      '2026-13-01',
      '2026-00-10',
      '2026-06-00',
      addDays(TEST_TODAY, 1),
      '2027-01-01',
      '2999-12-31',
      '3000-01-01',
      '1899-12-31',
      '20260615',
      '2026-6-15',
      `${TEST_TODAY}T00:00:00Z`,
      ` ${TEST_TODAY}`,
      `${TEST_TODAY}\u0000`,
      '２０２６-06-15',
      '',
    ),
    fc
      .date({ min: new Date('1800-01-01T00:00:00Z'), max: new Date('3100-01-01T00:00:00Z'), noInvalidDate: true })
      .map((date) => date.toISOString().slice(0, 10)),
    junk,
  );
  const badAccountId = fc.oneof(
    fc.uuid(),
    fc.constantFrom('not-a-uuid', '', '00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-4FFF-8FFF-FFFFFFFFFFFF'),
    fc.constant('memo'),
    fc.constant('other fund'),
    junk,
  );
  const badAccountCode = fc.oneof(
    fc.constantFrom('9999', '0000', '7002', '7001', '1001 ', '１００１', '1001:', '3001', '1201', 'abcd', ''),
    fc.uuid().map((id) => `3001:${id}`),
    fc.uuid().map((id) => `1001:${id}`),
    fc.stringMatching(/^\d{4}(:[0-9a-f-]{36})?$/),
    junk,
  );

  const line = (accountCode: string, side: Side, amount: string): Record<string, unknown> => ({
    accountCode,
    side,
    amount,
  });
  const validBody = (): Record<string, unknown> => ({
    effectiveDate: TEST_TODAY,
    kind: 'manual.adjustment',
    memo: 'fuzzed entry',
    lines: [line('1001', 'debit', '12.34'), line('4005', 'credit', '12.34')],
  });

  type Mutation =
    | { at: 'body'; field: string; value: unknown }
    | { at: 'line'; line: number; field: string; value: unknown }
    | { at: 'lines'; value: 'none' | 'one' | 'unbalanced' | 'too many' | 'not an array' };

  const bodyField = fc.oneof(
    fc.record({ at: fc.constant('body'), field: fc.constant('effectiveDate'), value: badDate }),
    fc.record({ at: fc.constant('body'), field: fc.constantFrom('kind', 'memo', 'currency'), value: badText }),
    fc.record({
      at: fc.constant('body'),
      field: fc.constantFrom('effectiveDate', 'kind', 'memo', 'currency', 'lines', 'extra', '__proto__', 'constructor'),
      value: junk,
    }),
    fc.record({ at: fc.constant('body'), field: fc.string({ unit: 'binary', maxLength: 8 }), value: junk }),
  );
  const lineField = fc.oneof(
    fc.record({ at: fc.constant('line'), line: fc.nat({ max: 1 }), field: fc.constant('amount'), value: badAmount }),
    fc.record({
      at: fc.constant('line'),
      line: fc.nat({ max: 1 }),
      field: fc.constant('accountId'),
      value: badAccountId,
    }),
    fc.record({
      at: fc.constant('line'),
      line: fc.nat({ max: 1 }),
      field: fc.constant('accountCode'),
      value: badAccountCode,
    }),
    fc.record({
      at: fc.constant('line'),
      line: fc.nat({ max: 1 }),
      field: fc.constantFrom('side', 'memo', 'extra'),
      value: fc.oneof(badText, junk),
    }),
  );
  const linesShape = fc.record({
    at: fc.constant('lines'),
    value: fc.constantFrom('none', 'one', 'unbalanced', 'too many', 'not an array'),
  });
  const mutationArb = fc.oneof(bodyField, lineField, linesShape) as fc.Arbitrary<Mutation>;

  function mutate(body: Record<string, unknown>, mutation: Mutation): void {
    const lines: unknown[] = Array.isArray(body.lines) ? (body.lines as unknown[]) : [];
    const resolve = (value: unknown): unknown =>
      value === 'memo' ? foreign.memoAccountId : value === 'other fund' ? foreign.otherFundAccountId : value;
    if (mutation.at === 'body') {
      Object.defineProperty(body, mutation.field, { value: mutation.value, enumerable: true, writable: true });
    } else if (mutation.at === 'line') {
      const target = lines[mutation.line] as Record<string, unknown> | null | undefined;
      if (typeof target !== 'object' || target === null) return;
      const value = mutation.field === 'accountId' ? resolve(mutation.value) : mutation.value;
      // A line names its account one way: an id replaces the code.
      if (mutation.field === 'accountId') delete target.accountCode;
      Object.defineProperty(target, mutation.field, { value, enumerable: true, writable: true });
    } else if (mutation.value === 'none') body.lines = [];
    else if (mutation.value === 'one') body.lines = [line('1001', 'debit', '12.34')];
    else if (mutation.value === 'unbalanced')
      body.lines = [line('1001', 'debit', '12.34'), line('4005', 'credit', '12.35')];
    else if (mutation.value === 'too many')
      body.lines = Array.from({ length: 1001 }, (_, index) =>
        line(index % 2 ? '4005' : '1001', index % 2 ? 'credit' : 'debit', '0.01'),
      );
    else body.lines = { 0: lines[0], 1: lines[1] };
  }

  test('when arbitrary values are posted as an entry, then the answer is a problem document and nothing changes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.anything(), fc.jsonValue()), keyArb, async (value, key) => {
        await postAndCheck({ kind: 'json', value }, key);
      }),
      { ...LIMITS, numRuns: 80 },
    );
  });

  test('when an almost valid entry has one to three fields broken, then it is refused with a 4xx problem and changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
        fc.oneof(
          { weight: 3, arbitrary: fc.uuid() as fc.Arbitrary<string | undefined> },
          { weight: 1, arbitrary: keyArb },
        ),
        async (mutations, key) => {
          const body = validBody();
          for (const mutation of mutations) mutate(body, mutation);
          await postAndCheck({ kind: 'json', value: body }, key);
        },
      ),
      { ...LIMITS, numRuns: 200 },
    );
  });

  test('when the body is not JSON, too large, or sent with another media type, then it is a 4xx problem and nothing changes', async () => {
    const huge = JSON.stringify({ ...validBody(), memo: 'x'.repeat(1_100_000) });
    const rawArb = fc.oneof(
      fc.record({ text: fc.string({ maxLength: 50 }), type: fc.constant('application/json') }),
      fc.record({
        text: fc.constantFrom('{', '{"lines":', '[1,]', '{"a":1}}', "{'a':1}", 'null', '"x"'),
        type: fc.constant('application/json'),
      }),
      fc.record({ text: fc.constant(huge), type: fc.constant('application/json') }),
      fc.record({
        text: fc.constant(JSON.stringify(validBody())),
        type: fc.constantFrom(
          'text/plain',
          'application/x-www-form-urlencoded',
          'application/xml',
          'application/json; charset=latin1',
          'application/json; charset=utf-16',
        ),
      }),
    );
    await fc.assert(
      fc.asyncProperty(rawArb, fc.uuid(), async (raw, key) => {
        await postAndCheck({ kind: 'raw', ...raw }, key);
      }),
      { ...LIMITS, numRuns: 40 },
    );
    await postAndCheck({ kind: 'none' }, randomUUID());
  });

  /** Percent-encodes every byte of the UTF-8 form but the unreserved ones. */
  function encode(text: string | Uint8Array): string {
    const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text);
    return [...bytes]
      .map((byte) => {
        const char = String.fromCharCode(byte);
        return /[A-Za-z0-9\-._~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
      })
      .join('');
  }
  const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value) ?? 'null', 'utf8').toString('base64url');

  /** Cursors a client could forge: not ours at all, or our shape with a sort key out of range. */
  const junkCursor = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }).map(b64),
    fc.base64String({ maxLength: 40 }),
    fc.string({ maxLength: 40 }),
  );
  const seqCursor = fc.oneof(
    fc.bigInt({ min: 0n, max: 10n ** 19n - 1n }).map((seq) => b64({ seq: seq.toString() })),
    fc.bigInt({ min: 2n ** 63n - 3n, max: 10n ** 19n - 1n }).map((seq) => b64({ seq: seq.toString() })),
    junkCursor,
  );
  const controlText = fc.string({
    unit: fc.oneof(
      fc.constant('\u0000'),
      fc.integer({ min: 0, max: 0x1f }).map((code) => String.fromCharCode(code)),
    ),
    minLength: 1,
  });
  const codeCursor = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 10 }).map((code) => b64({ code })),
    fc.tuple(fc.string({ maxLength: 6 }), controlText).map(([prefix, control]) => b64({ code: prefix + control })),
    junkCursor,
  );
  const cursorArb = fc.oneof(seqCursor, codeCursor);

  test('when list and balance queries carry junk parameters, then the answer is never a server error', async () => {
    const value = fc.oneof(
      fc.constantFrom('0', '1', '200', '201', '-1', '1e2', '1.5', '0x10', 'abc', '', 'asc', 'desc', 'ASC'),
      fc.constantFrom('2026-02-30', TEST_TODAY, '1899-12-31', '2999-12-31', '9999-99-99', addDays(TEST_TODAY, 1)),
      fc.constantFrom('fund', 'memo', 'asset', '1001', '3001', '\u0000'),
      cursorArb,
      fc.uuid(),
      fc.string({ unit: 'binary', maxLength: 20 }),
      fc.uint8Array({ maxLength: 8 }),
    );
    const name = fc.oneof(
      fc.constantFrom(
        'limit',
        'cursor',
        'order',
        'asOf',
        'from',
        'to',
        'kind',
        'accountId',
        'book',
        'type',
        'baseCode',
        'memberId',
        'status',
        'limit[]',
        'cursor[a]',
        '',
      ),
      fc.string({ maxLength: 8 }),
    );
    const paths = [
      `/api/v1/funds/${fund.id}/entries`,
      `/api/v1/funds/${fund.id}/accounts`,
      `/api/v1/funds/${fund.id}/accounts/${fund.accounts['1001']}`,
      `/api/v1/funds/${fund.id}/trial-balance`,
      `/api/v1/funds/${fund.id}/holds`,
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        fc.array(fc.tuple(name, value), { minLength: 1, maxLength: 4 }),
        async (path, parameters) => {
          const query = parameters.map(([key, item]) => `${encode(key)}=${encode(item)}`).join('&');
          const response = await h.http.get(`${path}?${query}`).set(fundAdmin.auth);
          expectProblemOrCreated(response);
        },
      ),
      { ...LIMITS, numRuns: 250 },
    );
  });

  async function expectPageOrInvalidCursor(path: string, cursor: string): Promise<void> {
    const response = await h.http.get(path).query({ cursor }).set(fundAdmin.auth);
    expectProblemOrCreated(response);
    const code = (response.body as { code?: unknown }).code;
    expect({ status: response.status, code }).toEqual(
      response.status === 200 ? { status: 200, code: undefined } : { status: 400, code: 'invalid_cursor' },
    );
  }

  test('when entries or holds are listed after a forged sequence cursor, then the answer is a page or 400 invalid_cursor, never a server error', async () => {
    const lists = ['entries', 'holds'].map((list) => `/api/v1/funds/${fund.id}/${list}`);
    await fc.assert(fc.asyncProperty(fc.constantFrom(...lists), seqCursor, expectPageOrInvalidCursor), {
      ...LIMITS,
      numRuns: 100,
      // Always tried, whatever the seed: one past the largest BIGINT; a cursor longer than any issued.
      examples: [
        [lists[0]!, b64({ seq: (2n ** 63n).toString() })],
        [lists[1]!, b64({ seq: '0'.repeat(CURSOR_LENGTH_MAX) })],
      ],
    });
  });

  test('when accounts are listed after a forged code cursor, then the answer is a page or 400 invalid_cursor, never a server error', async () => {
    await fc.assert(
      fc.asyncProperty(codeCursor, (cursor) => expectPageOrInvalidCursor(`/api/v1/funds/${fund.id}/accounts`, cursor)),
      // Always tried, whatever the seed: a code holding a NUL character, which PostgreSQL text cannot.
      { ...LIMITS, numRuns: 100, examples: [[b64({ code: '1001\u0000' })]] },
    );
  });
});
