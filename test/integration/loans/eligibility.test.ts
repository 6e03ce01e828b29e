import { startHarness, type Harness } from '../../helpers/harness';
import { expectFundConsistent, snapshot } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';
import {
  api,
  applicationBody,
  changePolicy,
  consent,
  consented,
  disburseByHand,
  drafted,
  holdPoolCash,
  insertLoanRow,
  loanTables,
  loanWorld,
  overdueCall,
  submit,
  type ApplicationBody,
  type LoanWorld,
} from './loans.helpers';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

/** The default application, drafted by the borrower's user with G1's consent given. */
async function readyToSubmit(w: LoanWorld, overrides: Record<string, unknown> = {}): Promise<ApplicationBody> {
  const loan = await drafted(h, w.users.borrower, w.fund.id, applicationBody(w, overrides));
  const users = { [w.g1]: w.users.g1, [w.g2]: w.users.g2 };
  return consented(h, w.fund.id, loan, users);
}

/**
 * Submits and expects exactly one failed rule, as a 422 loan_ineligible naming the rule, the limit
 * and the actual figure, with nothing changed anywhere in the fund.
 */
async function expectRefused(
  w: LoanWorld,
  loan: ApplicationBody,
  failure: { rule: string; limit: string; actual: string; memberId?: string },
): Promise<void> {
  const before = { fund: await snapshot(h, w.fund.id), loans: await loanTables(h, w.fund.id) };
  const response = await submit(h, w.users.borrower, w.fund.id, loan.id);
  expectProblem(response, 422, 'loan_ineligible');
  expect(response.body).toMatchObject({ stage: 'submission', ...failure });
  expect(response.body.failures).toEqual([expect.objectContaining({ ...failure, detail: expect.any(String) })]);
  expect({ fund: await snapshot(h, w.fund.id), loans: await loanTables(h, w.fund.id) }).toEqual(before);
}

describe('the eligibility rules at submission, one failing at a time', () => {
  test('when every rule is met, then the same application is submitted (the baseline of the cases below)', async () => {
    const w = await loanWorld(h);
    const loan = await readyToSubmit(w);
    const response = await submit(h, w.users.borrower, w.fund.id, loan.id);
    expect(response.status).toBe(200);
    await expectFundConsistent(h, w.fund.id);
  });

  test('when the borrower is suspended, then borrower_active fails', async () => {
    const w = await loanWorld(h);
    const loan = await readyToSubmit(w);
    await h.db('members').where({ id: w.borrower }).update({ status: 'suspended' });
    await expectRefused(w, loan, {
      rule: 'borrower_active',
      limit: 'active',
      actual: 'suspended',
      memberId: w.borrower,
    });
  });

  test('when the borrower owes on an overdue capital call, then borrower_no_overdue_capital_call fails with the amount', async () => {
    const w = await loanWorld(h);
    const loan = await readyToSubmit(w);
    await overdueCall(h, w.fund.id, w.borrower, '12345.67');
    await expectRefused(w, loan, { rule: 'borrower_no_overdue_capital_call', limit: '0.00', actual: '12345.67' });
  });

  test('when the borrower has a loan in default, then borrower_not_in_default fails', async () => {
    const w = await loanWorld(h);
    const loan = await readyToSubmit(w);
    await insertLoanRow(h, w.fund.id, w.borrower, 'defaulted', '1000.00');
    await expectRefused(w, loan, { rule: 'borrower_not_in_default', limit: '0', actual: '1' });
  });

  test('when the term is longer than the policy allows, then term_days_max fails', async () => {
    const w = await loanWorld(h);
    const loan = await readyToSubmit(w, { termDays: 181 });
    await expectRefused(w, loan, { rule: 'term_days_max', limit: '180', actual: '181' });
  });

  test('when the amount alone passes 3 × paid-in, then loan_limit_paid_in_multiple fails', async () => {
    const w = await loanWorld(h);
    const loan = await readyToSubmit(w, { amount: '300000.01' });
    await expectRefused(w, loan, { rule: 'loan_limit_paid_in_multiple', limit: '300000.00', actual: '300000.01' });
  });

  test('when an approved loan and a disbursed one already count, then the paid-in multiple counts them too', async () => {
    const w = await loanWorld(h);
    // Exposure = 50,000.00 approved, not disbursed + 50,000.00 principal receivable (1201:<loan>).
    await insertLoanRow(h, w.fund.id, w.borrower, 'approved', '50000.00');
    const active = await insertLoanRow(h, w.fund.id, w.borrower, 'active', '50000.00');
    await disburseByHand(h, w.fund, active, '50000.00');
    // A repaid loan and a rejected one count for nothing.
    await insertLoanRow(h, w.fund.id, w.borrower, 'rejected', '90000.00');
    const atLimit = await readyToSubmit(w);
    // 200,000.00 + 100,000.00 = 300,000.00: exactly at the limit passes.
    expect((await submit(h, w.users.borrower, w.fund.id, atLimit.id)).status).toBe(200);

    const w2 = await loanWorld(h);
    await insertLoanRow(h, w2.fund.id, w2.borrower, 'approved', '50000.00');
    const active2 = await insertLoanRow(h, w2.fund.id, w2.borrower, 'active', '50000.00');
    await disburseByHand(h, w2.fund, active2, '50000.00');
    const loan = await readyToSubmit(w2, { amount: '200000.01' });
    await expectRefused(w2, loan, { rule: 'loan_limit_paid_in_multiple', limit: '300000.00', actual: '300000.01' });
    await expectFundConsistent(h, w2.fund.id);
  });

  test('when the borrower would hold more than the single-borrower share of pool capital, then single_borrower_limit fails', async () => {
    const w = await loanWorld(h);
    expect((await changePolicy(h, w.fund, { singleBorrowerLimitPct: '5' })).status).toBe(201);
    const loan = await readyToSubmit(w);
    // 5 % of 2,250,000.00 = 112,500.00.
    await expectRefused(w, loan, { rule: 'single_borrower_limit', limit: '112500.00', actual: '200000.00' });
  });

  test('when the related group would owe more than its share of pool capital, then related_group_limit fails', async () => {
    const w = await loanWorld(h);
    await h.db('members').whereIn('id', [w.borrower, w.g2]).update({ related_group: '同一控制人集团' });
    await insertLoanRow(h, w.fund.id, w.g2, 'approved', '475000.01');
    const loan = await readyToSubmit(w);
    // 30 % of 2,250,000.00 = 675,000.00 < 200,000.00 + 475,000.01.
    await expectRefused(w, loan, { rule: 'related_group_limit', limit: '675000.00', actual: '675000.01' });
  });

  test('when accepted guarantees and collateral fall short of the cover required, then guarantee_coverage fails', async () => {
    const w = await loanWorld(h);
    const loan = await drafted(
      h,
      w.users.borrower,
      w.fund.id,
      applicationBody(w, {
        collateral: [
          { description: '存货', kind: 'inventory', valuation: '100000.00', valuedOn: '2026-06-01', haircutPct: '50' },
        ],
      }),
    );
    // G1 has not consented: its 150,000.00 counts for nothing; 50,000.00 of collateral is left.
    await expectRefused(w, loan, { rule: 'guarantee_coverage', limit: '200000.00', actual: '50000.00' });
    expect((await consent(h, w.users.g1, w.fund.id, loan, w.g1)).status).toBe(200);
    expect((await submit(h, w.users.borrower, w.fund.id, loan.id)).status).toBe(200);
  });

  test('when a guarantor is suspended, then guarantor_active fails', async () => {
    const w = await loanWorld(h);
    const loan = await readyToSubmit(w);
    await h.db('members').where({ id: w.g1 }).update({ status: 'suspended' });
    await expectRefused(w, loan, { rule: 'guarantor_active', limit: 'active', actual: 'suspended', memberId: w.g1 });
  });

  test('when a guarantor has a loan in default, then guarantor_not_in_default fails', async () => {
    const w = await loanWorld(h);
    const loan = await readyToSubmit(w);
    await insertLoanRow(h, w.fund.id, w.g1, 'defaulted', '1000.00');
    await expectRefused(w, loan, { rule: 'guarantor_not_in_default', limit: '0', actual: '1', memberId: w.g1 });
  });

  test('when a guarantor’s accepted guarantees pass 2 × its paid-in, then guarantor_capacity fails', async () => {
    const w = await loanWorld(h);
    // G1 already stands behind 50,000.01 of another open application.
    const other = await drafted(
      h,
      w.fund.admin,
      w.fund.id,
      applicationBody(w, {
        borrowerMemberId: w.g2,
        guarantors: [{ memberId: w.g1, amount: '50000.01', type: 'general' }],
      }),
    );
    expect((await consent(h, w.users.g1, w.fund.id, other, w.g1)).status).toBe(200);
    const loan = await readyToSubmit(w);
    await expectRefused(w, loan, {
      rule: 'guarantor_capacity',
      limit: '200000.00',
      actual: '200000.01',
      memberId: w.g1,
    });
  });

  test('when holds leave less pool cash above the reserve than the amount, then pool_cash_available fails', async () => {
    const w = await loanWorld(h);
    const loan = await readyToSubmit(w);
    // 2,250,000.00 − 1,825,000.01 held − 225,000.00 reserve = 199,999.99.
    await holdPoolCash(h, w.fund, '1825000.01');
    await expectRefused(w, loan, { rule: 'pool_cash_available', limit: '199999.99', actual: '200000.00' });
  });

  test('when a peer loan’s lender has not agreed, then peer_lender_agreed fails, and the pool limits do not apply', async () => {
    const w = await loanWorld(h);
    expect((await changePolicy(h, w.fund, { singleBorrowerLimitPct: '5' })).status).toBe(201);
    await holdPoolCash(h, w.fund, '2000000.00');
    // 400,000.00 from a peer: above 3 × paid-in, 5 % of pool capital and the cash the pool has.
    const loan = await readyToSubmit(w, {
      amount: '400000.00',
      lender: { type: 'peer', memberId: w.big },
      collateral: [
        { description: '厂房', kind: 'real_estate', valuation: '500000.00', valuedOn: '2026-06-01', haircutPct: '0' },
      ],
    });
    await expectRefused(w, loan, { rule: 'peer_lender_agreed', limit: 'accepted', actual: 'pending', memberId: w.big });

    const agreed = await h.http
      .post(api(`/funds/${w.fund.id}/loan-applications/${loan.id}/lender-consent`))
      .set(w.users.big.auth)
      .send({ decision: 'accept' });
    expect(agreed.status).toBe(200);
    const response = await submit(h, w.users.borrower, w.fund.id, loan.id);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      status: 'submitted',
      lender: { type: 'peer', consent: { status: 'accepted' } },
    });
  });

  test('when several rules fail, then the first is named, every failure is listed, and the detail names each with its own figures', async () => {
    const w = await loanWorld(h);
    const loan = await drafted(
      h,
      w.users.borrower,
      w.fund.id,
      applicationBody(w, { termDays: 200, amount: '300000.01' }),
    );
    await h.db('members').where({ id: w.borrower }).update({ status: 'suspended' });
    const response = await submit(h, w.users.borrower, w.fund.id, loan.id);
    expectProblem(response, 422, 'loan_ineligible');
    expect(response.body).toMatchObject({ rule: 'borrower_active', limit: 'active', actual: 'suspended' });
    expect(response.body.failures.map((f: { rule: string }) => f.rule)).toEqual([
      'borrower_active',
      'term_days_max',
      'loan_limit_paid_in_multiple',
    ]);
    const failures = response.body.failures as { rule: string; detail: string }[];
    expect(response.body.detail).toBe(
      `The loan fails 3 rules at submission: (1) borrower_active — ${failures[0]!.detail} ` +
        `(2) term_days_max — ${failures[1]!.detail} (3) loan_limit_paid_in_multiple — ${failures[2]!.detail}`,
    );
    expect(response.body.detail).toContain('A term of 200 days is longer than the 180 days the policy allows.');
    expect(response.body.detail).toContain('300000.01');
  });
});
