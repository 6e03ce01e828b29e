import { randomUUID } from 'node:crypto';
import {
  bankCharge,
  capitalAccount,
  createFund,
  createMember,
  entryBody,
  fundPool,
  postEntry,
  type Line,
  type TestFund,
} from '../../helpers/factories';
import { GENERIC_PLAN_LINES_MAX } from '../../../src/ledger/ledger.repo';
import { Money } from '../../../src/money/money';
import { startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { expectFundConsistent, snapshot } from '../../helpers/invariants';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

function expectProblem(
  response: { status: number; headers: Record<string, string>; body: Record<string, unknown> },
  status: number,
  code: string,
) {
  expect({ status: response.status, code: response.body.code }).toEqual({ status, code });
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ type: `urn:huzhu:problem:${code}`, status });
  expect(typeof response.body.title).toBe('string');
  expect(typeof response.body.detail).toBe('string');
}

describe('posting a manual entry', () => {
  let fund: TestFund;
  beforeAll(async () => {
    fund = await createFund(h);
    await fundPool(h, fund, '5000.00');
  });

  test('when an administrator posts a balanced entry, then it is stored with running balances and versions', async () => {
    const response = await postEntry(h, fund.admin, fund.id, bankCharge('120.35'));
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      fundId: fund.id,
      kind: 'manual.bank_charge',
      effectiveDate: TEST_TODAY,
      reversesEntryId: null,
      reversedByEntryId: null,
      actorId: fund.admin.id,
      hiddenPostings: 0,
    });
    expect(response.body.postings).toEqual([
      expect.objectContaining({
        lineNo: 1,
        accountCode: '5002',
        side: 'debit',
        amount: '120.35',
        balanceAfter: '120.35',
        versionAfter: '1',
      }),
      expect.objectContaining({
        lineNo: 2,
        accountCode: '1001',
        side: 'credit',
        amount: '120.35',
        balanceAfter: '4879.65',
        versionAfter: '2',
      }),
    ]);
    const read = await h.http.get(`/api/v1/funds/${fund.id}/entries/${response.body.id}`).set(fund.admin.auth);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(response.body);
    await expectFundConsistent(h, fund.id);
  });

  test('when the same Idempotency-Key is sent again with the same body, then the first response is replayed and nothing is posted twice', async () => {
    const key = randomUUID();
    const first = await postEntry(h, fund.admin, fund.id, bankCharge('10.00'), key);
    const before = await snapshot(h, fund.id);
    const again = await postEntry(h, fund.admin, fund.id, bankCharge('10.00'), key);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(again.body).toEqual(first.body);
    expect(await snapshot(h, fund.id)).toEqual(before);
  });

  test('when the same Idempotency-Key comes with a different body, then it is a 409 and nothing changes', async () => {
    const key = randomUUID();
    expect((await postEntry(h, fund.admin, fund.id, bankCharge('11.00'), key)).status).toBe(201);
    const before = await snapshot(h, fund.id);
    const response = await postEntry(h, fund.admin, fund.id, bankCharge('12.00'), key);
    expectProblem(response, 409, 'idempotency_key_reused');
    expect(await snapshot(h, fund.id)).toEqual(before);
  });

  test('when two users use the same Idempotency-Key, then each gets their own entry', async () => {
    const other = await createFund(h);
    const key = randomUUID();
    await fundPool(h, other, '100.00');
    const mine = await postEntry(h, fund.admin, fund.id, bankCharge('1.00'), key);
    const theirs = await postEntry(h, other.admin, other.id, bankCharge('1.00'), key);
    expect([mine.status, theirs.status]).toEqual([201, 201]);
    expect(mine.body.id).not.toEqual(theirs.body.id);
  });

  test('when the Idempotency-Key is missing or malformed, then it is a 400 and nothing changes', async () => {
    const before = await snapshot(h, fund.id);
    const missing = await h.http.post(`/api/v1/funds/${fund.id}/entries`).set(fund.admin.auth).send(bankCharge('1.00'));
    expectProblem(missing, 400, 'idempotency_key_required');
    const tooLong = await postEntry(h, fund.admin, fund.id, bankCharge('1.00'), 'k'.repeat(256));
    expectProblem(tooLong, 400, 'idempotency_key_invalid');
    const spaces = await postEntry(h, fund.admin, fund.id, bankCharge('1.00'), 'has space');
    expectProblem(spaces, 400, 'idempotency_key_invalid');
    expect(await snapshot(h, fund.id)).toEqual(before);
  });

  test('when lines name accounts by id, then they post the same as by code', async () => {
    const response = await postEntry(
      h,
      fund.admin,
      fund.id,
      entryBody([
        { accountId: fund.accounts['5002']!, side: 'debit', amount: '2.00', memo: 'wire fee' },
        { accountId: fund.accounts['1001']!, side: 'credit', amount: '2.00' },
      ]),
    );
    expect(response.status).toBe(201);
    expect(response.body.postings[0]).toMatchObject({ accountCode: '5002', memo: 'wire fee' });
  });
});

describe('refusals: each is problem+json with a stable code and changes nothing', () => {
  let fund: TestFund;
  let otherFund: TestFund;
  beforeAll(async () => {
    fund = await createFund(h);
    otherFund = await createFund(h);
    await fundPool(h, fund, '300.00');
  });

  const cases: [string, () => Record<string, unknown>, number, string][] = [
    ['one line', () => entryBody([{ accountCode: '1001', side: 'debit', amount: '1.00' }]), 400, 'too_few_lines'],
    ['no lines', () => entryBody([]), 400, 'too_few_lines'],
    [
      'debits ≠ credits',
      () =>
        entryBody([
          { accountCode: '5002', side: 'debit', amount: '10.00' },
          { accountCode: '1001', side: 'credit', amount: '9.99' },
        ]),
      400,
      'entry_unbalanced',
    ],
    ['an amount with 3 decimals', () => bankCharge('10.005'), 400, 'invalid_amount'],
    ['an amount in exponent form', () => bankCharge('1e3'), 400, 'invalid_amount'],
    ['an amount that is not a number', () => bankCharge('ten'), 400, 'invalid_amount'],
    ['a zero amount', () => bankCharge('0.00'), 400, 'amount_not_positive'],
    ['a negative amount', () => bankCharge('-5.00'), 400, 'amount_not_positive'],
    [
      'an amount as a JSON number',
      () =>
        entryBody([
          { accountCode: '5002', side: 'debit', amount: 10 as unknown as string },
          { accountCode: '1001', side: 'credit', amount: '10.00' },
        ]),
      400,
      'validation_failed',
    ],
    [
      'an unknown account code',
      () =>
        entryBody([
          { accountCode: '9999', side: 'debit', amount: '1.00' },
          { accountCode: '1001', side: 'credit', amount: '1.00' },
        ]),
      422,
      'account_not_in_fund',
    ],
    ['another currency', () => ({ ...bankCharge('1.00'), currency: 'USD' }), 422, 'currency_mismatch'],
    ['more than the pool holds', () => bankCharge('300.01'), 422, 'floor_crossed'],
    [
      'a memo-book account',
      () =>
        entryBody([
          { accountCode: '7002', side: 'debit', amount: '1.00' },
          { accountCode: '7102', side: 'credit', amount: '1.00' },
        ]),
      422,
      'book_not_allowed',
    ],
    [
      'a future effective date',
      () => ({ ...bankCharge('1.00'), effectiveDate: '2026-06-16' }),
      400,
      'effective_date_in_future',
    ],
    ['an impossible date', () => ({ ...bankCharge('1.00'), effectiveDate: '2026-02-30' }), 400, 'validation_failed'],
    ['an empty memo', () => ({ ...bankCharge('1.00'), memo: '  ' }), 400, 'validation_failed'],
    ['a memo over 500 characters', () => ({ ...bankCharge('1.00'), memo: 'x'.repeat(501) }), 400, 'validation_failed'],
    ['an unknown kind', () => ({ ...bankCharge('1.00'), kind: 'loan.disbursement' }), 400, 'validation_failed'],
    ['an unknown field', () => ({ ...bankCharge('1.00'), approvedBy: 'me' }), 400, 'validation_failed'],
    [
      'a line with both accountId and accountCode',
      () =>
        entryBody([
          { accountCode: '5002', accountId: randomUUID(), side: 'debit', amount: '1.00' },
          { accountCode: '1001', side: 'credit', amount: '1.00' },
        ]),
      400,
      'validation_failed',
    ],
    ['a NUL character in the memo', () => ({ ...bankCharge('1.00'), memo: 'a\u0000b' }), 400, 'invalid_text'],
  ];

  test.each(cases)('when the entry has %s, then it is refused', async (_name, body, status, code) => {
    const before = await snapshot(h, fund.id);
    const response = await postEntry(h, fund.admin, fund.id, body());
    expectProblem(response, status, code);
    expect(await snapshot(h, fund.id)).toEqual(before);
  });

  test('when a line names an account of another fund, then it is refused and names the account', async () => {
    const before = await snapshot(h, fund.id);
    const foreign = otherFund.accounts['5002']!;
    const response = await postEntry(
      h,
      fund.admin,
      fund.id,
      entryBody([
        { accountId: foreign, side: 'debit', amount: '1.00' },
        { accountCode: '1001', side: 'credit', amount: '1.00' },
      ]),
    );
    expectProblem(response, 422, 'account_not_in_fund');
    expect(response.body.accountIds).toEqual([foreign]);
    expect(await snapshot(h, fund.id)).toEqual(before);
  });

  test('when an account is kept in another currency, then the entry is refused', async () => {
    const member = await createMember(h, fund.id);
    const [foreign] = (await h
      .db('accounts')
      .insert({
        fund_id: fund.id,
        code: `3001:${member}`,
        name: 'USD capital',
        type: 'equity',
        book: 'fund',
        normal_side: 'credit',
        currency: 'USD',
        member_id: member,
      })
      .returning('id')) as { id: string }[];
    await h.db('account_balances').insert({ account_id: foreign!.id, fund_id: fund.id, normal_side: 'credit' });
    const before = await snapshot(h, fund.id);
    const response = await postEntry(
      h,
      fund.admin,
      fund.id,
      entryBody([
        { accountCode: '1001', side: 'debit', amount: '1.00' },
        { accountId: foreign!.id, side: 'credit', amount: '1.00' },
      ]),
    );
    expectProblem(response, 422, 'currency_mismatch');
    expect(await snapshot(h, fund.id)).toEqual(before);
  });

  test('when the pool would cross its floor, then the problem names the account, floor, available and shortfall', async () => {
    const response = await postEntry(h, fund.admin, fund.id, bankCharge('300.01'));
    expect(response.body).toMatchObject({
      accountCode: '1001',
      floor: '0.00',
      balance: '300.00',
      held: '0.00',
      available: '300.00',
      requested: '300.01',
      shortfall: '0.01',
    });
  });

  test('when the body is not JSON, too large, or of another type, then it is refused before anything runs', async () => {
    const before = await snapshot(h, fund.id);
    const url = `/api/v1/funds/${fund.id}/entries`;
    const malformed = await h.http
      .post(url)
      .set(fund.admin.auth)
      .set('Idempotency-Key', randomUUID())
      .set('Content-Type', 'application/json')
      .send('{"lines": [');
    expectProblem(malformed, 400, 'malformed_json');
    const text = await h.http
      .post(url)
      .set(fund.admin.auth)
      .set('Idempotency-Key', randomUUID())
      .set('Content-Type', 'text/plain')
      .send('lines');
    expectProblem(text, 415, 'unsupported_media_type');
    const huge = await h.http
      .post(url)
      .set(fund.admin.auth)
      .set('Idempotency-Key', randomUUID())
      .send({ ...bankCharge('1.00'), memo: 'x'.repeat(1024 * 1024 + 1) });
    expectProblem(huge, 413, 'payload_too_large');
    expect(await snapshot(h, fund.id)).toEqual(before);
  });

  test('when the fund id in the path is malformed or unknown, then it is a 400 or 404', async () => {
    const malformed = await h.http
      .post('/api/v1/funds/not-a-uuid/entries')
      .set(fund.admin.auth)
      .set('Idempotency-Key', randomUUID())
      .send(bankCharge('1.00'));
    expectProblem(malformed, 400, 'validation_failed');
    expect(malformed.body.errors[0]).toMatchObject({ in: 'path', pointer: '/fundId' });
    const unknown = await postEntry(h, fund.admin, randomUUID(), bankCharge('1.00'));
    expectProblem(unknown, 404, 'fund_not_found');
  });
});

describe('entries of many lines, planned for their own size', () => {
  // Above GENERIC_PLAN_LINES_MAX lines the posting statement is planned on each call instead of
  // once: the same rules must hold on that path, refusals included.
  const LINES = GENERIC_PLAN_LINES_MAX * 2 + 1;
  let fund: TestFund;
  beforeAll(async () => {
    fund = await createFund(h);
    await fundPool(h, fund, '1000.00');
  });

  /** LINES - 1 debits of `amount` alternating between 5001 (by code) and 5002 (by id), and one credit to pool cash. */
  function manyLines(amount: string, overrides: { debit?: Line; credit?: Line } = {}): Line[] {
    const debits: Line[] = Array.from({ length: LINES - 1 }, (_, index) =>
      index % 2 === 0
        ? { accountCode: '5001', side: 'debit', amount }
        : { accountId: fund.accounts['5002']!, side: 'debit', amount },
    );
    if (overrides.debit) debits[LINES - 2] = overrides.debit;
    const total = new Money(amount).times(LINES - 1).toFixed(2);
    return [...debits, overrides.credit ?? { accountCode: '1001', side: 'credit', amount: total }];
  }

  test('when an entry has many lines on the same accounts, then each posting carries its own running balance and version', async () => {
    const response = await postEntry(h, fund.admin, fund.id, entryBody(manyLines('1.25')));
    expect(response.status).toBe(201);
    const postings = response.body.postings as { accountCode: string; balanceAfter: string; versionAfter: string }[];
    expect(postings).toHaveLength(LINES);
    const seen = new Map<string, number>();
    for (const posting of postings.slice(0, -1)) {
      const count = (seen.get(posting.accountCode) ?? 0) + 1;
      seen.set(posting.accountCode, count);
      expect(posting).toMatchObject({
        balanceAfter: new Money('1.25').times(count).toFixed(2),
        versionAfter: String(count),
      });
    }
    expect(seen).toEqual(
      new Map([
        ['5001', (LINES - 1) / 2],
        ['5002', (LINES - 1) / 2],
      ]),
    );
    expect(postings.at(-1)).toMatchObject({ accountCode: '1001', balanceAfter: '960.00', versionAfter: '2' });
    await expectFundConsistent(h, fund.id);
  });

  const refusals: [string, () => Line[], number, string][] = [
    [
      'an unknown account code',
      () => manyLines('1.00', { debit: { accountCode: '9999', side: 'debit', amount: '1.00' } }),
      422,
      'account_not_in_fund',
    ],
    [
      'an account of another fund',
      () => manyLines('1.00', { debit: { accountId: randomUUID(), side: 'debit', amount: '1.00' } }),
      422,
      'account_not_in_fund',
    ],
    ['more than the pool holds', () => manyLines('100.00'), 422, 'floor_crossed'],
    [
      'a memo-book account',
      () => manyLines('1.00', { debit: { accountCode: '7002', side: 'debit', amount: '1.00' } }),
      422,
      'book_not_allowed',
    ],
  ];

  test.each(refusals)(
    'when a many-line entry has %s, then it is refused and changes nothing',
    async (_name, lines, status, code) => {
      const before = await snapshot(h, fund.id);
      const response = await postEntry(h, fund.admin, fund.id, entryBody(lines()));
      expectProblem(response, status, code);
      expect(await snapshot(h, fund.id)).toEqual(before);
    },
  );
});

describe('reading the ledger', () => {
  let fund: TestFund;
  let entryIds: string[];
  beforeAll(async () => {
    fund = await createFund(h);
    await fundPool(h, fund, '1000.00');
    entryIds = [];
    const dates = ['2026-06-01', '2026-06-05', '2026-06-10'];
    for (const [index, date] of dates.entries()) {
      const response = await postEntry(h, fund.admin, fund.id, {
        ...bankCharge(`${index + 1}.00`),
        effectiveDate: date,
        kind: 'manual.bank_charge',
      });
      entryIds.push(response.body.id);
    }
  });

  test('when entries are listed page by page, then every entry appears once, newest first', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const response: { status: number; body: { items: { id: string }[]; nextCursor: string | null } } = await h.http
        .get(`/api/v1/funds/${fund.id}/entries`)
        .query({ limit: 2, ...(cursor ? { cursor } : {}) })
        .set(fund.admin.auth);
      expect(response.status).toBe(200);
      seen.push(...response.body.items.map((item) => item.id));
      cursor = response.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(4);
    expect(new Set(seen).size).toBe(4);
    expect(seen.slice(0, 3)).toEqual([...entryIds].reverse());
  });

  test('when entries are filtered by kind, account and date range, then only matching ones come back', async () => {
    const byKind = await h.http
      .get(`/api/v1/funds/${fund.id}/entries`)
      .query({ kind: 'manual.bank_charge', order: 'asc' })
      .set(fund.admin.auth);
    expect(byKind.body.items.map((item: { id: string }) => item.id)).toEqual(entryIds);
    const byDate = await h.http
      .get(`/api/v1/funds/${fund.id}/entries`)
      .query({ from: '2026-06-04', to: '2026-06-09' })
      .set(fund.admin.auth);
    expect(byDate.body.items.map((item: { id: string }) => item.id)).toEqual([entryIds[1]]);
    const byAccount = await h.http
      .get(`/api/v1/funds/${fund.id}/entries`)
      .query({ accountId: fund.accounts['5002'] })
      .set(fund.admin.auth);
    expect(byAccount.body.items).toHaveLength(3);
  });

  test('when a list query is invalid, then it is a 400 listing the fields', async () => {
    const response = await h.http
      .get(`/api/v1/funds/${fund.id}/entries`)
      .query({ limit: 500, order: 'up', from: 'yesterday' })
      .set(fund.admin.auth);
    expectProblem(response, 400, 'validation_failed');
    expect(response.body.errors.map((error: { pointer: string }) => error.pointer).sort()).toEqual([
      '/from',
      '/limit',
      '/order',
    ]);
    const cursor = await h.http.get(`/api/v1/funds/${fund.id}/entries`).query({ cursor: 'bogus' }).set(fund.admin.auth);
    expectProblem(cursor, 400, 'invalid_cursor');
  });

  test('when accounts are listed, then each carries its balance, held and available amounts', async () => {
    const response = await h.http
      .get(`/api/v1/funds/${fund.id}/accounts`)
      .query({ book: 'fund', limit: 200 })
      .set(fund.admin.auth);
    expect(response.status).toBe(200);
    const pool = response.body.items.find((item: { code: string }) => item.code === '1001');
    expect(pool).toMatchObject({
      name: 'Pool cash',
      floor: '0.00',
      balance: {
        debitTotal: '1000.00',
        creditTotal: '6.00',
        balance: '994.00',
        held: '0.00',
        available: '994.00',
        version: '4',
      },
    });
    expect(response.body.items.every((item: { book: string }) => item.book === 'fund')).toBe(true);
  });

  test('when an unknown entry or account is read, then it is a 404', async () => {
    expectProblem(
      await h.http.get(`/api/v1/funds/${fund.id}/entries/${randomUUID()}`).set(fund.admin.auth),
      404,
      'entry_not_found',
    );
    expectProblem(
      await h.http.get(`/api/v1/funds/${fund.id}/accounts/${randomUUID()}`).set(fund.admin.auth),
      404,
      'account_not_found',
    );
  });
});

describe('member capital accounts', () => {
  test('when a member sub-account is ensured twice, then there is one account with one balance row', async () => {
    const fund = await createFund(h);
    const member = await createMember(h, fund.id);
    const [first, second] = await Promise.all([capitalAccount(h, fund.id, member), capitalAccount(h, fund.id, member)]);
    expect(first).toEqual(second);
    expect(await h.db('account_balances').where({ account_id: first }).count({ n: '*' })).toEqual([{ n: '1' }]);
  });
});
