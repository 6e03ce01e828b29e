import { createFund, entryBody, fundPool, postEntry } from '../../helpers/factories';
import { startHarness, type Harness } from '../../helpers/harness';
import { expectFundConsistent } from '../../helpers/invariants';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

test('when money is paid in and a bank charge posted, then the fund balances', async () => {
  const fund = await createFund(h);
  await fundPool(h, fund, '1000.00');
  const response = await postEntry(
    h,
    fund.admin,
    fund.id,
    entryBody([
      { accountCode: '5002', side: 'debit', amount: '12.50' },
      { accountCode: '1001', side: 'credit', amount: '12.50' },
    ]),
  );
  expect(response.status).toBe(201);
  expect(response.body.postings[1]).toMatchObject({ accountCode: '1001', balanceAfter: '987.50' });
  await expectFundConsistent(h, fund.id);
});
