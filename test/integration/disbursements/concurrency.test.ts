import { AppError } from '../../../src/errors';
import { Money } from '../../../src/money/money';
import { bankCharge, createFund, createMember, fundPool, postEntry } from '../../helpers/factories';
import { startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { expectFundConsistent } from '../../helpers/invariants';
import { api } from '../loans/loans.helpers';
import { approveByContract, balanceOf, disburse, heldOn } from './disbursements.helpers';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const LOANS = 20;
const AMOUNT = '5000.00';

/**
 * 20 members pay in 2,000.00 each (capital and cash 40,000.00, reserve 10 % = 4,000.00); a bank
 * charge takes 10,000.00 of cash. Available to lend: 30,000.00 − 4,000.00 = 26,000.00, enough for
 * exactly 5 loans of 5,000.00. Each member asks for one, covered by a deposit (within 3 × paid-in
 * and 20 % of pool capital), and every application is submitted.
 */
async function crowdedFund() {
  const fund = await createFund(h);
  const members = [];
  for (let index = 0; index < LOANS; index += 1) {
    const member = await createMember(h, fund.id);
    await fundPool(h, fund, '2000.00', member);
    members.push(member);
  }
  expect((await postEntry(h, fund.admin, fund.id, bankCharge('10000.00'))).status).toBe(201);
  const loans: string[] = [];
  for (const member of members) {
    const draft = await h.http
      .post(api(`/funds/${fund.id}/loan-applications`))
      .set(fund.admin.auth)
      .send({
        borrowerMemberId: member,
        amount: AMOUNT,
        purpose: '周转',
        termDays: 60,
        repaymentMethod: 'equal_installment',
        wantedOn: TEST_TODAY,
        lender: { type: 'pool' },
        collateral: [
          { description: '存单', kind: 'deposit', valuation: AMOUNT, valuedOn: TEST_TODAY, haircutPct: '0' },
        ],
      });
    expect(draft.status).toBe(201);
    const submitted = await h.http
      .post(api(`/funds/${fund.id}/loan-applications/${draft.body.id}/submit`))
      .set(fund.admin.auth)
      .send();
    expect(submitted.status).toBe(200);
    loans.push(draft.body.id as string);
  }
  return { fund, loans };
}

test('when 20 approvals and then 20 disbursements race for a pool that can fund 5, then exactly 5 loans are disbursed and pool cash stays above the reserve', async () => {
  const { fund, loans } = await crowdedFund();
  const reserve = new Money('4000.00');

  const approvals = await Promise.allSettled(loans.map((loanId) => approveByContract(h, fund.id, loanId)));

  const approved = loans.filter((_, index) => approvals[index]!.status === 'fulfilled');
  expect(approved).toHaveLength(5);
  for (const outcome of approvals) {
    if (outcome.status === 'fulfilled') continue;
    const error = outcome.reason as AppError;
    expect(error).toBeInstanceOf(AppError);
    expect({ code: error.code, rule: error.extensions.rule }).toEqual({
      code: 'loan_ineligible',
      rule: 'pool_cash_available',
    });
  }
  expect(await heldOn(h, fund.id, '1001')).toBe('25000.00');
  const cash = new Money(await balanceOf(h, fund.id, '1001'));
  expect(cash.minus(await heldOn(h, fund.id, '1001')).gte(reserve)).toBe(true);

  const responses = await Promise.all(loans.map((loanId) => disburse(h, fund.admin, fund.id, loanId)));

  const executed = responses.filter((response) => response.status === 201);
  expect(executed).toHaveLength(5);
  expect(executed.map((response) => response.body.loanId).sort()).toEqual([...approved].sort());
  for (const response of responses.filter((r) => r.status !== 201)) {
    expect({ status: response.status, code: response.body.code }).toEqual({ status: 409, code: 'loan_not_approved' });
  }
  expect(await balanceOf(h, fund.id, '1001')).toBe('5000.00');
  expect(new Money(await balanceOf(h, fund.id, '1001')).gte(reserve)).toBe(true);
  expect(await heldOn(h, fund.id, '1001')).toBe('0.00');
  const active = await h.db('loans').where({ fund_id: fund.id, status: 'active' }).count({ n: '*' });
  expect(Number((active[0] as { n: string }).n)).toBe(5);
  const receivables = await h.db('accounts').where({ fund_id: fund.id }).whereLike('code', '1201:%');
  expect(receivables).toHaveLength(5);
  await expectFundConsistent(h, fund.id);
});
