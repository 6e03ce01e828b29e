import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Response } from 'supertest';
import { inTransaction } from '../../../src/db/transaction';
import { AppError } from '../../../src/errors';
import type { PostEntryInput } from '../../../src/ledger/ledger.types';
import {
  capitalAccount,
  createFund,
  createMember,
  entryBody,
  fundPool,
  postEntry,
  type Line,
  type TestFund,
  bankCharge,
} from '../../helpers/factories';
import { makeUser, startHarness, TEST_TODAY, type Harness, type TestUser } from '../../helpers/harness';
import { expectFundConsistent } from '../../helpers/invariants';
import { waitForLockWaiters } from '../../helpers/waits';

/**
 * Concurrency requirements of the ledger (ARCHITECTURE.md, "Concurrency"): requests race through the
 * real HTTP stack and the real database, and the outcome must be what some serial order gives.
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

const ACTOR = { userId: null, username: 'test', role: 'system' } as const;

/** Fen (1/100 yuan) as the ledger's amount string: 1234n → "12.34". */
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

function expectNoServerErrors(responses: readonly Response[]): void {
  expect(
    responses.filter((response) => response.status >= 500).map((r) => ({ status: r.status, body: r.text })),
  ).toEqual([]);
}

function statusCounts(responses: readonly Response[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const response of responses) {
    const label = response.status === 201 ? '201' : `${response.status} ${(response.body as { code?: string }).code}`;
    counts[label] = (counts[label] ?? 0) + 1;
  }
  return counts;
}

async function balanceOf(fundId: string, accountId: string) {
  const { balance } = await h.services.ledger.getAccount(h.db, fundId, accountId);
  return balance;
}

async function countRows(table: string, fundId: string): Promise<number> {
  const [row] = await h.db(table).where({ fund_id: fundId }).count({ n: '*' });
  return Number((row as { n: string }).n);
}

async function fundedFund(amount: string): Promise<TestFund> {
  const fund = await createFund(h, platformAdmin);
  await fundPool(h, fund, amount);
  return fund;
}

describe('racing for the last of the pool cash', () => {
  test('when 50 requests each take 50.00 from a pool of 1000.00 at once, then exactly 20 succeed, 30 are refused floor_crossed and the pool ends at 0.00', async () => {
    const fund = await fundedFund('1000.00');
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => postEntry(h, fund.admin, fund.id, bankCharge('50.00'))),
    );

    expectNoServerErrors(responses);
    expect(statusCounts(responses)).toEqual({ '201': 20, '422 floor_crossed': 30 });
    for (const refused of responses.filter((response) => response.status === 422)) {
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json(;|$)/);
    }
    // Serialized: each success saw the balance the one before it left, so the running balances
    // after the 20 successes are 950.00, 900.00, … 0.00, each exactly once.
    const poolPostings = responses
      .filter((response) => response.status === 201)
      .map((response) =>
        (
          response.body as { postings: { accountCode: string; balanceAfter: string; versionAfter: string }[] }
        ).postings.find((posting) => posting.accountCode === '1001'),
      );
    expect(poolPostings.map((posting) => posting?.balanceAfter).sort()).toEqual(
      Array.from({ length: 20 }, (_, index) => yuan(BigInt(index) * 5_000n)).sort(),
    );
    expect(poolPostings.map((posting) => Number(posting?.versionAfter)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, index) => index + 2),
    );

    expect(await balanceOf(fund.id, fund.accounts['1001']!)).toMatchObject({
      balance: '0.00',
      held: '0.00',
      available: '0.00',
      version: '21',
    });
    expect(await balanceOf(fund.id, fund.accounts['5002']!)).toMatchObject({ balance: '1000.00', version: '20' });
    expect(await countRows('journal_entries', fund.id)).toBe(21);
    expect(await countRows('idempotency_keys', fund.id)).toBe(21);
    await expectFundConsistent(h, fund.id);
  });
});

describe('entries locking hot accounts in opposite orders', () => {
  test('when 48 entries move money both ways between three hot accounts at once, then none is a server error and the balances are exactly those of the successes', async () => {
    // Little cash, so that some outflows find the pool too low, depending on the order they run in.
    const fund = await fundedFund('1.00');
    const capital = await capitalAccount(h, fund.id, await createMember(h, fund.id));
    // Pool cash (debit-normal, floor 0.00), other income (credit-normal), member capital
    // (credit-normal): every ordered pair, so that some entries lock A then B and others B then A.
    const accounts = [
      { id: fund.accounts['1001']!, normal: 'debit' as const },
      { id: fund.accounts['4005']!, normal: 'credit' as const },
      { id: capital, normal: 'credit' as const },
    ];
    const pairs = [
      [0, 1],
      [1, 0],
      [1, 2],
      [2, 1],
      [0, 2],
      [2, 0],
    ] as const;
    const plans = Array.from({ length: 48 }, (_, index) => {
      const [from, to] = pairs[index % pairs.length]!;
      const fen = BigInt(1_000 * ((index % 5) + 1) + index);
      const credit: Line = { accountId: accounts[from]!.id, side: 'credit', amount: yuan(fen) };
      const debit: Line = { accountId: accounts[to]!.id, side: 'debit', amount: yuan(fen) };
      // Line order flips every round as well, so neither the lines nor the ids set the lock order.
      const lines = Math.floor(index / pairs.length) % 2 === 0 ? [credit, debit] : [debit, credit];
      return { from, to, fen, lines };
    });

    const responses = await Promise.all(plans.map((plan) => postEntry(h, fund.admin, fund.id, entryBody(plan.lines))));

    expectNoServerErrors(responses);
    // Only pool cash holds money at the start: 1.00 paid in by another member.
    const expected = [100n, 0n, 0n];
    const versions = [1, 0, 0];
    responses.forEach((response, index) => {
      const plan = plans[index]!;
      // Only an entry that takes money out of pool cash may be refused, and only for its floor.
      if (plan.from !== 0) expect({ index, status: response.status }).toEqual({ index, status: 201 });
      else if (response.status !== 201) {
        expect({ index, status: response.status, code: (response.body as { code?: string }).code }).toEqual({
          index,
          status: 422,
          code: 'floor_crossed',
        });
      }
      if (response.status !== 201) return;
      for (const [account, side] of [
        [plan.from, 'credit'],
        [plan.to, 'debit'],
      ] as const) {
        expected[account]! += side === accounts[account]!.normal ? plan.fen : -plan.fen;
        versions[account]! += 1;
      }
    });
    const actual = await Promise.all(accounts.map((account) => balanceOf(fund.id, account.id)));
    expect(actual.map((figures) => ({ balance: figures.balance, version: figures.version }))).toEqual(
      expected.map((fen, index) => ({ balance: yuan(fen), version: String(versions[index]) })),
    );
    await expectFundConsistent(h, fund.id);
  });
});

describe('entries on accounts no other entry touches', () => {
  test('when 24 entries on 24 disjoint pairs of accounts are posted at once, then every one is posted, though all their audit rows join one chain', async () => {
    // Nothing but the fund's audit chain is shared: no balance row orders them, so their commits
    // meet at the chain's head (ADR 0004), as the spread workload of bench:ledger does.
    const fund = await fundedFund('1.00');
    const pairs = [];
    for (let index = 0; index < 24; index += 1) {
      pairs.push({
        from: await fundPool(h, fund, '100.00'),
        to: await capitalAccount(h, fund.id, await createMember(h, fund.id)),
      });
    }
    const responses = await Promise.all(
      pairs.map((pair) =>
        postEntry(
          h,
          fund.admin,
          fund.id,
          entryBody([
            { accountId: pair.from, side: 'debit', amount: '10.00' },
            { accountId: pair.to, side: 'credit', amount: '10.00' },
          ]),
        ),
      ),
    );

    expect(statusCounts(responses)).toEqual({ '201': 24 });
    for (const pair of pairs) {
      expect(await balanceOf(fund.id, pair.from)).toMatchObject({ balance: '90.00', version: '2' });
      expect(await balanceOf(fund.id, pair.to)).toMatchObject({ balance: '10.00', version: '1' });
    }
    await expectFundConsistent(h, fund.id);
  });
});

describe('one Idempotency-Key, many concurrent requests', () => {
  test('when 10 identical requests with the same Idempotency-Key race, then one entry is created and all 10 answer with it', async () => {
    const fund = await fundedFund('100.00');
    const key = randomUUID();
    const body = bankCharge('10.00');
    const entriesBefore = await countRows('journal_entries', fund.id);

    const responses = await Promise.all(Array.from({ length: 10 }, () => postEntry(h, fund.admin, fund.id, body, key)));

    expectNoServerErrors(responses);
    expect(responses.map((response) => response.status)).toEqual(Array(10).fill(201));
    const ids = new Set(responses.map((response) => (response.body as { id: string }).id));
    expect(ids.size).toBe(1);
    // Exactly one request did the work; the other nine replayed its stored response.
    const replayed = responses.map((response) => response.headers['idempotent-replayed'] ?? 'absent').sort();
    expect(replayed).toEqual(['absent', ...Array(9).fill('true')]);
    expect(responses.map((response) => response.body)).toEqual(Array(10).fill(responses[0]!.body));
    expect(await countRows('journal_entries', fund.id)).toBe(entriesBefore + 1);
    expect(await balanceOf(fund.id, fund.accounts['1001']!)).toMatchObject({ balance: '90.00', version: '2' });
    await expectFundConsistent(h, fund.id);
  });

  test('when a request with the same Idempotency-Key but another body arrives while the first is in flight, then it waits and gets 409 idempotency_key_reused', async () => {
    const fund = await fundedFund('100.00');
    const key = randomUUID();
    const entriesBefore = await countRows('journal_entries', fund.id);
    const blocker = new pg.Client({ connectionString: h.databaseUrl });
    const observer = new pg.Client({ connectionString: h.databaseUrl });
    await blocker.connect();
    await observer.connect();
    try {
      // Hold the bank-charges balance row so that the request that claims the key stops inside its
      // transaction, with the claim not yet committed.
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM account_balances WHERE account_id = $1 FOR UPDATE', [fund.accounts['5002']]);
      const identical = Array.from({ length: 10 }, () =>
        postEntry(h, fund.admin, fund.id, bankCharge('10.00'), key).then((response) => response),
      );
      // One request waits for the blocker, the nine others for its claim on the key.
      await waitForLockWaiters(observer, 10);
      const other = postEntry(h, fund.admin, fund.id, bankCharge('20.00'), key).then((response) => response);
      await blocker.query('COMMIT');

      const responses = await Promise.all(identical);
      const conflicting = await other;
      expectNoServerErrors([...responses, conflicting]);
      expect(responses.map((response) => response.status)).toEqual(Array(10).fill(201));
      expect(new Set(responses.map((response) => (response.body as { id: string }).id)).size).toBe(1);
      const replayed = responses.map((response) => response.headers['idempotent-replayed'] ?? 'absent').sort();
      expect(replayed).toEqual(['absent', ...Array(9).fill('true')]);
      expect({ status: conflicting.status, code: (conflicting.body as { code?: string }).code }).toEqual({
        status: 409,
        code: 'idempotency_key_reused',
      });
      expect(conflicting.headers['content-type']).toMatch(/^application\/problem\+json(;|$)/);
      expect(await countRows('journal_entries', fund.id)).toBe(entriesBefore + 1);
      expect(await balanceOf(fund.id, fund.accounts['1001']!)).toMatchObject({ balance: '90.00', version: '2' });
      await expectFundConsistent(h, fund.id);
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      await blocker.end();
      await observer.end();
    }
  });
});

describe('holds under concurrency', () => {
  test('when 30 holds of 50.00 are placed at once on 1000.00, then 20 are placed and 10 refused, and racing posts and releases keep held equal to the pending holds', async () => {
    const fund = await fundedFund('1000.00');
    const pool = fund.accounts['1001']!;
    const charges = fund.accounts['5002']!;
    const expiresAt = new Date(h.clock.now().getTime() + 7 * 86_400_000);
    const place = (reason: string) =>
      outcomeOf(
        inTransaction(h.db, (trx) =>
          h.services.ledger.placeHold(trx, {
            fundId: fund.id,
            accountId: pool,
            amount: '50.00',
            expiresAt,
            reason,
            actor: ACTOR,
          }),
        ),
      );

    const placed = await Promise.all(Array.from({ length: 30 }, (_, index) => place(`loan ${index}`)));
    expect(placed.filter((result) => result.ok)).toHaveLength(20);
    expect(placed.filter((result) => !result.ok)).toEqual(Array(10).fill({ ok: false, code: 'floor_crossed' }));
    expect(await balanceOf(fund.id, pool)).toMatchObject({ balance: '1000.00', held: '1000.00', available: '0.00' });
    await expectFundConsistent(h, fund.id);

    const holdIds = placed.flatMap((result) => (result.ok ? [result.value.hold.id] : []));
    const postInput: PostEntryInput = {
      fundId: fund.id,
      lines: [
        { accountId: pool, side: 'credit', amount: '50.00' },
        { accountId: charges, side: 'debit', amount: '50.00' },
      ],
      effectiveDate: TEST_TODAY,
      kind: 'hold.post',
      memo: 'disbursement of a held amount',
      actor: ACTOR,
    };
    const post = (holdId: string) =>
      outcomeOf(inTransaction(h.db, (trx) => h.services.ledger.postHold(trx, holdId, postInput)));
    const release = (holdId: string) =>
      outcomeOf(inTransaction(h.db, (trx) => h.services.ledger.releaseHold(trx, fund.id, holdId)));

    // Holds 0, 4, 8 … are posted; 1, 5, 9 … released; 2, 6, 10 … posted and released at once;
    // 3, 7, 11 … left pending. Six new holds race for whatever the releases free.
    const raced = await Promise.all([
      ...holdIds.map(async (holdId, index) => {
        if (index % 4 === 0) return { index, plan: 'post', results: [await post(holdId)] };
        if (index % 4 === 1) return { index, plan: 'release', results: [await release(holdId)] };
        if (index % 4 === 2)
          return { index, plan: 'both', results: await Promise.all([post(holdId), release(holdId)]) };
        return { index, plan: 'none', results: [] };
      }),
      ...Array.from({ length: 6 }, async (_, index) => ({
        index: 20 + index,
        plan: 'place',
        results: [await place(`late loan ${index}`)],
      })),
    ]);

    for (const { index, plan, results } of raced) {
      const summary = results.map((result) => (result.ok ? 'ok' : result.code));
      if (plan === 'post' || plan === 'release') expect({ index, summary }).toEqual({ index, summary: ['ok'] });
      if (plan === 'both')
        expect({ index, summary: summary.sort() }).toEqual({ index, summary: ['hold_not_pending', 'ok'] });
      if (plan === 'place') expect(['ok', 'floor_crossed']).toContain(summary[0]);
    }
    const latePlaced = raced.filter((race) => race.plan === 'place' && race.results[0]!.ok).length;

    const statuses = (await h.db('holds').where({ fund_id: fund.id }).select('status')) as { status: string }[];
    const count = (status: string) => statuses.filter((row) => row.status === status).length;
    expect(count('posted') + count('released')).toBe(15);
    expect(count('pending')).toBe(5 + latePlaced);
    expect(count('posted')).toBeGreaterThanOrEqual(5);
    expect(count('released')).toBeGreaterThanOrEqual(5);
    const posted = BigInt(count('posted'));
    const pending = BigInt(count('pending'));
    expect(await balanceOf(fund.id, pool)).toMatchObject({
      balance: yuan(100_000n - 5_000n * posted),
      held: yuan(5_000n * pending),
      available: yuan(100_000n - 5_000n * posted - 5_000n * pending),
    });
    expect(await balanceOf(fund.id, charges)).toMatchObject({ balance: yuan(5_000n * posted) });
    await expectFundConsistent(h, fund.id);
  });
});

describe('concurrent reversals', () => {
  test('when the same entry is reversed twice at once, then exactly one reversal is posted and the other is a 409 entry_already_reversed', async () => {
    const fund = await fundedFund('500.00');
    const originals: string[] = [];
    for (const amount of ['11.00', '12.00', '13.00', '14.00']) {
      const response = await postEntry(h, fund.admin, fund.id, bankCharge(amount));
      expect(response.status).toBe(201);
      originals.push((response.body as { id: string }).id);
    }
    const reverse = (entryId: string, attempt: number) =>
      h.http
        .post(`/api/v1/funds/${fund.id}/entries/${entryId}/reverse`)
        .set(fund.admin.auth)
        .set('Idempotency-Key', randomUUID())
        .send({ effectiveDate: TEST_TODAY, memo: `reversal attempt ${attempt}` });

    const responses = await Promise.all(originals.flatMap((entryId) => [reverse(entryId, 1), reverse(entryId, 2)]));

    expectNoServerErrors(responses);
    originals.forEach((entryId, index) => {
      const pair = [responses[2 * index]!, responses[2 * index + 1]!];
      const winner = pair.find((response) => response.status === 201);
      const loser = pair.find((response) => response !== winner);
      expect(pair.map((response) => response.status).sort()).toEqual([201, 409]);
      expect(winner!.body).toMatchObject({ reversesEntryId: entryId, kind: 'reversal' });
      expect(loser!.body).toMatchObject({
        code: 'entry_already_reversed',
        reversedByEntryId: (winner!.body as { id: string }).id,
      });
    });
    expect(await countRows('journal_entries', fund.id)).toBe(1 + 4 + 4);
    expect(await balanceOf(fund.id, fund.accounts['1001']!)).toMatchObject({ balance: '500.00', version: '9' });
    expect(await balanceOf(fund.id, fund.accounts['5002']!)).toMatchObject({ balance: '0.00', version: '8' });
    await expectFundConsistent(h, fund.id);
  });
});
