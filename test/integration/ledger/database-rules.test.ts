import type { Knex } from 'knex';
import { purgeIdempotencyKeys } from '../../../src/jobs/jobs';
import { createFund, fundPool, postEntry, entryBody, type TestFund } from '../../helpers/factories';
import { randomUUID } from 'node:crypto';
import { startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';

/**
 * The database enforces the ledger's rules on its own, for anyone who writes behind the service's
 * back: these tests insert and change rows directly and expect PostgreSQL to refuse.
 */

let h: Harness;
let fund: TestFund;
let entryId: string;
beforeAll(async () => {
  h = await startHarness();
  fund = await createFund(h);
  await fundPool(h, fund, '100.00');
  const response = await postEntry(
    h,
    fund.admin,
    fund.id,
    entryBody([
      { accountCode: '5002', side: 'debit', amount: '1.00' },
      { accountCode: '1001', side: 'credit', amount: '1.00' },
    ]),
  );
  entryId = response.body.id;
});
afterAll(async () => {
  await h.close();
});

async function sqlError(
  work: (trx: Knex.Transaction) => Promise<unknown>,
): Promise<{ code: string; constraint?: string }> {
  const error = await h.db.transaction(work).then(
    () => undefined,
    (caught: unknown) => caught as { code: string; constraint?: string },
  );
  if (!error) throw new Error('the database accepted what it should refuse');
  return error;
}

async function newEntry(trx: Knex.Transaction): Promise<string> {
  const [row] = (await trx('journal_entries')
    .insert({ fund_id: fund.id, kind: 'manual.adjustment', effective_date: TEST_TODAY, memo: 'behind the back' })
    .returning('id')) as { id: string }[];
  return row!.id;
}

function posting(entry: string, lineNo: number, code: string, side: 'debit' | 'credit', amount: string) {
  return {
    fund_id: fund.id,
    entry_id: entry,
    line_no: lineNo,
    account_id: fund.accounts[code],
    side,
    amount,
    effective_date: TEST_TODAY,
    debit_total_after: '0',
    credit_total_after: '0',
    balance_after: '0',
    version_after: 1000 + lineNo,
    watermark_after: TEST_TODAY,
    backdated: false,
  };
}

describe('entries, postings and audit rows are append-only', () => {
  test.each([
    [
      'UPDATE journal_entries',
      (trx: Knex.Transaction) => trx('journal_entries').where({ id: entryId }).update({ memo: 'rewritten' }),
    ],
    ['DELETE journal_entries', (trx: Knex.Transaction) => trx('journal_entries').where({ id: entryId }).delete()],
    [
      'UPDATE postings',
      (trx: Knex.Transaction) => trx('postings').where({ entry_id: entryId }).update({ amount: '2.00' }),
    ],
    ['DELETE postings', (trx: Knex.Transaction) => trx('postings').where({ entry_id: entryId }).delete()],
    ['TRUNCATE postings', (trx: Knex.Transaction) => trx.raw('TRUNCATE postings CASCADE')],
    [
      'UPDATE audit_log',
      (trx: Knex.Transaction) => trx('audit_log').where({ fund_id: fund.id }).update({ action: 'x' }),
    ],
    ['DELETE audit_log', (trx: Knex.Transaction) => trx('audit_log').where({ fund_id: fund.id }).delete()],
    [
      'UPDATE audit_links',
      (trx: Knex.Transaction) =>
        trx('audit_links')
          .where({ chain: fund.id })
          .update({ hash: '0'.repeat(64) }),
    ],
    ['DELETE audit_links', (trx: Knex.Transaction) => trx('audit_links').where({ chain: fund.id }).delete()],
  ])('when %s is attempted, then the database refuses it', async (_name, work) => {
    expect((await sqlError(work)).code).toBe('HZ001');
  });
});

describe('audit chain heads only advance, and stored responses are written once', () => {
  test.each([
    [
      'UPDATE audit_chain_heads back to an earlier record',
      (trx: Knex.Transaction) =>
        trx.raw('UPDATE audit_chain_heads SET last_seq = last_seq - 1 WHERE chain = ?', [fund.id]),
    ],
    [
      'UPDATE audit_chain_heads to another hash',
      (trx: Knex.Transaction) =>
        trx.raw(`UPDATE audit_chain_heads SET last_hash = repeat('f', 64) WHERE chain = ?`, [fund.id]),
    ],
    [
      'UPDATE audit_chain_heads one record on, onto a hash no record has',
      (trx: Knex.Transaction) =>
        trx.raw(
          `UPDATE audit_chain_heads SET last_seq = last_seq + 1, prev_hash = last_hash, last_hash = repeat('a', 64)
            WHERE chain = ?`,
          [fund.id],
        ),
    ],
    [
      'DELETE audit_chain_heads',
      (trx: Knex.Transaction) => trx('audit_chain_heads').where({ chain: fund.id }).delete(),
    ],
    [
      'UPDATE idempotency_keys to another stored response',
      (trx: Knex.Transaction) =>
        trx('idempotency_keys')
          .where({ fund_id: fund.id })
          .update({ response_body: JSON.stringify({ forged: true }) }),
    ],
    [
      'UPDATE idempotency_keys to another request',
      (trx: Knex.Transaction) =>
        trx('idempotency_keys')
          .where({ fund_id: fund.id })
          .update({ request_hash: '0'.repeat(64) }),
    ],
    [
      'DELETE idempotency_keys within their retention',
      (trx: Knex.Transaction) => trx('idempotency_keys').where({ fund_id: fund.id }).delete(),
    ],
    ['TRUNCATE idempotency_keys', (trx: Knex.Transaction) => trx.raw('TRUNCATE idempotency_keys')],
  ])('when %s is attempted as the database owner, then the database refuses it', async (_name, work) => {
    expect((await sqlError(work)).code).toBe('HZ001');
  });

  test('when a claimed key gets its response, then the database takes it once and refuses to change it', async () => {
    const key = { user_id: randomUUID(), key: 'claimed-once' };
    await h
      .db('idempotency_keys')
      .insert({ ...key, fund_id: fund.id, method: 'POST', path: '/x', request_hash: 'a'.repeat(64) });
    const respond = (body: unknown) =>
      h
        .db('idempotency_keys')
        .where(key)
        .update({ response_status: 201, response_body: JSON.stringify(body) });

    await respond({ first: true });
    expect((await sqlError(() => respond({ second: true }))).code).toBe('HZ001');
    expect(await h.db('idempotency_keys').where(key).first()).toMatchObject({
      response_status: 201,
      response_body: { first: true },
    });
  });

  test('when keys are purged, then those past the retention go and younger ones stay', async () => {
    const row = (name: string) => ({
      user_id: randomUUID(),
      key: name,
      fund_id: fund.id,
      method: 'POST',
      path: '/x',
      request_hash: 'a'.repeat(64),
      response_status: 201,
      response_body: '{}',
    });
    // Ages on the database's clock, which stamps created_at.
    await h
      .db('idempotency_keys')
      .insert({ ...row('eight-days-old'), created_at: h.db.raw(`now() - interval '8 days'`) });
    await h
      .db('idempotency_keys')
      .insert({ ...row('six-days-old'), created_at: h.db.raw(`now() - interval '6 days'`) });

    expect(await purgeIdempotencyKeys({ db: h.db })).toBe(1);

    const left = (await h
      .db('idempotency_keys')
      .whereIn('key', ['eight-days-old', 'six-days-old'])
      .pluck('key')) as string[];
    expect(left).toEqual(['six-days-old']);
  });
});

describe('the database checks each entry at commit', () => {
  test('when an entry does not balance, then the commit fails', async () => {
    const error = await sqlError(async (trx) => {
      const entry = await newEntry(trx);
      await trx('postings').insert([
        posting(entry, 1, '5002', 'debit', '5.00'),
        posting(entry, 2, '1001', 'credit', '4.99'),
      ]);
    });
    expect(error).toMatchObject({ code: '23514', constraint: 'journal_entries_balanced' });
  });

  test('when an entry has a single posting, then the commit fails', async () => {
    const error = await sqlError(async (trx) => {
      const entry = await newEntry(trx);
      await trx('postings').insert([posting(entry, 1, '5002', 'debit', '5.00')]);
    });
    expect(error).toMatchObject({ code: '23514', constraint: 'journal_entries_two_postings' });
  });

  test('when an entry balances overall but not within each book, then the commit fails', async () => {
    const error = await sqlError(async (trx) => {
      const entry = await newEntry(trx);
      await trx('postings').insert([
        posting(entry, 1, '7002', 'debit', '5.00'),
        posting(entry, 2, '1001', 'credit', '5.00'),
      ]);
    });
    expect(error).toMatchObject({ code: '23514', constraint: 'journal_entries_balanced' });
  });

  test('when a posting is slipped into an entry committed earlier, then the commit fails', async () => {
    const error = await sqlError((trx) => trx('postings').insert([posting(entryId, 9, '5002', 'debit', '5.00')]));
    expect(error).toMatchObject({ code: '23514', constraint: 'journal_entries_balanced' });
  });

  test('when a posting carries a date other than its entry, then the commit fails', async () => {
    const error = await sqlError(async (trx) => {
      const entry = await newEntry(trx);
      await trx('postings').insert([
        posting(entry, 1, '5002', 'debit', '5.00'),
        { ...posting(entry, 2, '1001', 'credit', '5.00'), effective_date: '2026-06-01', watermark_after: '2026-06-01' },
      ]);
    });
    expect(error).toMatchObject({ code: '23514', constraint: 'postings_effective_date_matches_entry' });
  });

  test.each([
    ['zero', '0.00', 'postings_amount_positive'],
    ['negative', '-1.00', 'postings_amount_positive'],
    ['with three decimals', '1.005', 'postings_amount_scale'],
  ])('when a posting amount is %s, then the row is refused', async (_name, amount, constraint) => {
    const error = await sqlError(async (trx) => {
      const entry = await newEntry(trx);
      await trx('postings').insert([
        posting(entry, 1, '5002', 'debit', amount),
        posting(entry, 2, '1001', 'credit', amount),
      ]);
    });
    expect(error).toMatchObject({ code: '23514', constraint });
  });
});

describe('balances', () => {
  test('when a balance row would go below its floor, counting holds, then the update is refused', async () => {
    const error = await sqlError((trx) =>
      trx('account_balances').where({ account_id: fund.accounts['1001'] }).update({ held: '1000.00' }),
    );
    expect(error).toMatchObject({ code: '23514', constraint: 'account_balances_floor' });
  });

  test('when a stored balance disagrees with its totals, then the update is refused', async () => {
    const error = await sqlError((trx) =>
      trx('account_balances').where({ account_id: fund.accounts['1001'] }).update({ balance: '1.00' }),
    );
    expect(error).toMatchObject({ code: '23514', constraint: 'account_balances_balance_matches_totals' });
  });

  test('when an entry is reversed twice behind the service, then the unique index refuses the second', async () => {
    const insertReversal = (trx: Knex.Transaction) =>
      trx('journal_entries').insert({
        fund_id: fund.id,
        kind: 'reversal',
        effective_date: TEST_TODAY,
        memo: 'again',
        reverses_entry_id: entryId,
      });
    const error = await sqlError(async (trx) => {
      await insertReversal(trx);
      await insertReversal(trx);
    });
    expect(error).toMatchObject({ code: '23505', constraint: 'journal_entries_reversed_once' });
  });
});
