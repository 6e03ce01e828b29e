import { inTransaction } from '../../../src/db/transaction';
import { AppError } from '../../../src/errors';
import type { PostEntryInput } from '../../../src/ledger/ledger.types';
import { bankChargeInput, createFund, fundPool, randomUUID, type TestFund } from '../../helpers/factories';
import { startHarness, type Harness } from '../../helpers/harness';
import { expectFundConsistent, snapshot } from '../../helpers/invariants';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

/** A bank charge with an idempotency key of its own, as every entry of a batch needs. */
function charge(fund: TestFund, amount: string): PostEntryInput {
  return bankChargeInput(fund, amount, `batch:${randomUUID()}`);
}

function postBatch(entries: readonly PostEntryInput[]) {
  return inTransaction(h.db, (trx) => h.services.ledger.postEntries(trx, entries));
}

async function postingsOf(entryIds: readonly string[]) {
  return (await h
    .db('postings as p')
    .join('journal_entries as e', 'e.id', 'p.entry_id')
    .join('accounts as a', 'a.id', 'p.account_id')
    .whereIn('p.entry_id', [...entryIds])
    .orderBy([{ column: 'e.seq' }, { column: 'p.line_no' }])
    .select('a.code', 'p.amount', 'p.balance_after', 'p.version_after')) as Record<string, string>[];
}

describe('posting a batch of entries', () => {
  test('when entries touch the same accounts, then each posting carries the running balance as if posted one after the other', async () => {
    const fund = await createFund(h);
    await fundPool(h, fund, '100.00');

    const { entryIds, replayed, oneStatement } = await postBatch([
      charge(fund, '10.00'),
      charge(fund, '20.00'),
      charge(fund, '30.00'),
    ]);

    expect({ replayed, oneStatement }).toEqual({ replayed: false, oneStatement: true });
    expect(entryIds).toHaveLength(3);
    // The pool was funded by one entry (version 1); the batch takes it to 90, 70, 40.
    expect(await postingsOf(entryIds)).toEqual([
      { code: '5002', amount: '10.00', balance_after: '10.00', version_after: '1' },
      { code: '1001', amount: '10.00', balance_after: '90.00', version_after: '2' },
      { code: '5002', amount: '20.00', balance_after: '30.00', version_after: '2' },
      { code: '1001', amount: '20.00', balance_after: '70.00', version_after: '3' },
      { code: '5002', amount: '30.00', balance_after: '60.00', version_after: '3' },
      { code: '1001', amount: '30.00', balance_after: '40.00', version_after: '4' },
    ]);
    await expectFundConsistent(h, fund.id);
  });

  test('when an entry of the batch was posted before under its key, then it is replayed and the others are posted', async () => {
    const fund = await createFund(h);
    await fundPool(h, fund, '100.00');
    const first = charge(fund, '10.00');
    const [earlier] = (await postBatch([first])).entryIds;

    const { entryIds, replayed, oneStatement } = await postBatch([first, charge(fund, '5.00')]);

    expect({ replayed, oneStatement }).toEqual({ replayed: false, oneStatement: false });
    expect(entryIds[0]).toBe(earlier);
    expect(await postingsOf(entryIds)).toEqual([
      { code: '5002', amount: '10.00', balance_after: '10.00', version_after: '1' },
      { code: '1001', amount: '10.00', balance_after: '90.00', version_after: '2' },
      { code: '5002', amount: '5.00', balance_after: '15.00', version_after: '2' },
      { code: '1001', amount: '5.00', balance_after: '85.00', version_after: '3' },
    ]);
    const again = await postBatch([first]);
    expect(again).toEqual({ entryIds: [earlier], replayed: true, oneStatement: false });
    await expectFundConsistent(h, fund.id);
  });

  test('when one entry of the batch would take an account below its floor, then that entry is refused with its own error and nothing is written', async () => {
    const fund = await createFund(h);
    await fundPool(h, fund, '100.00');
    const before = await snapshot(h, fund.id);

    // 60 + 30 fit; the third entry would leave the pool at −5.00.
    const error = await postBatch([charge(fund, '60.00'), charge(fund, '30.00'), charge(fund, '15.00')]).catch(
      (caught: unknown) => caught,
    );

    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({
      code: 'floor_crossed',
      extensions: { accountCode: '1001', available: '10.00', requested: '15.00' },
    });
    expect(await snapshot(h, fund.id)).toEqual(before);
  });

  test('when a line of the batch is malformed, then it is refused before anything is read', async () => {
    const fund = await createFund(h);
    await fundPool(h, fund, '100.00');
    const before = await snapshot(h, fund.id);

    const error = await postBatch([charge(fund, '1.00'), charge(fund, '1.005')]).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ code: 'invalid_amount' });
    expect(await snapshot(h, fund.id)).toEqual(before);
  });
});
