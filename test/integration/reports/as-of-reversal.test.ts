import { startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { ranJob } from '../daily-job/daily-job.helpers';
import { changePolicy, loanWorld } from '../loans/loans.helpers';
import { reverse } from '../repayments/repayments.helpers';
import { collateral, disbursed, POLICY, repaid, report, setToday } from './reports.helpers';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

describe('a repayment reversed later', () => {
  test('when a repayment is reversed, then the book before the reversal counts it and the book from the reversal date does not', async () => {
    setToday(h, TEST_TODAY);
    const w = await loanWorld(h);
    const changed = await changePolicy(h, w.fund, POLICY);
    expect(changed.status).toBe(201);
    // 30,000.00 bullet, 30 days, due 07-15: interest 30 × 3.00 = 90.00; penalty 4.50 a day from 07-16.
    const loanId = await disbursed(
      h,
      w,
      {
        amount: '30000.00',
        termDays: 30,
        repaymentMethod: 'bullet',
        lender: { type: 'pool' },
        guarantors: [{ memberId: w.g1, amount: '20000.00', type: 'joint_and_several' }],
        collateral: collateral('40000.00', '25'),
      },
      { [w.g1]: w.users.g1 },
    );
    setToday(h, '2026-07-18', w);
    await ranJob(h, h.http, w.fund.admin, w.fund.id, '2026-07-17');
    // Everything owed on 07-18: 30,000.00 + 90.00 + 2 days of penalty (9.00). The loan closes.
    const repaymentId = await repaid(h, w, loanId, '30099.00', '2026-07-18');
    setToday(h, '2026-07-22', w);
    const reversed = await reverse(h, w.fund.admin, w.fund.id, loanId, repaymentId, {
      reversedOn: '2026-07-21',
      reason: '银行退票',
    });
    expect(reversed.status).toBe(200);

    const loansOn = async (asOf: string) => {
      const response = await report(h, w.fund.admin, w.fund.id, 'loan-book', asOf);
      expect(response.status).toBe(200);
      return (response.body as { loans: Record<string, unknown>[] }).loans;
    };
    expect(await loansOn('2026-07-17')).toEqual([
      expect.objectContaining({
        loanId,
        principalOutstanding: '30000.00',
        interestReceivable: '90.00',
        penaltyReceivable: '9.00',
        daysPastDue: 2,
        classification: 'special_mention',
        status: 'overdue',
      }),
    ]);
    // Repaid from 07-18 until the reversal dated 07-21 put everything back.
    for (const day of ['2026-07-18', '2026-07-19', '2026-07-20']) expect(await loansOn(day)).toEqual([]);
    expect(await loansOn('2026-07-21')).toEqual([
      expect.objectContaining({
        loanId,
        principalOutstanding: '30000.00',
        interestReceivable: '90.00',
        penaltyReceivable: '9.00',
        daysPastDue: 6,
        classification: 'special_mention',
        status: 'overdue',
      }),
    ]);
    const par = await report(h, w.fund.admin, w.fund.id, 'portfolio-at-risk', '2026-07-21');
    expect((par.body as { portfolios: unknown[] }).portfolios[0]).toEqual({
      lender: 'all',
      loans: 1,
      principalOutstanding: '30000.00',
      thresholds: [
        { days: 1, atRiskPrincipal: '30000.00', atRiskLoans: 1, ratio: '1.0000' },
        { days: 30, atRiskPrincipal: '0.00', atRiskLoans: 0, ratio: '0.0000' },
        { days: 90, atRiskPrincipal: '0.00', atRiskLoans: 0, ratio: '0.0000' },
      ],
    });
  });
});
