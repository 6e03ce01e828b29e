import { addDays } from '../../../src/clock';
import { startHarness, type Harness } from '../../helpers/harness';
import { snapshot } from '../../helpers/invariants';
import { formatAmount, Money, roundHalfUp } from '../../../src/money/money';
import { expectProblem } from '../auth/problem';
import { balanceOf } from '../disbursements/disbursements.helpers';
import type { LoanWorld } from '../loans/loans.helpers';
import { ranJob } from '../daily-job/daily-job.helpers';
import { activeLoan, api, lendingWorld, repay, reverse, setToday, START } from './repayments.helpers';

/**
 * Repayments and reversals dated in days the daily job has already run. Each scenario runs two
 * identical funds side by side: in the first the money is recorded on the day it comes, before
 * that day's job; in the second it is recorded days later, dated the same day. Afterwards the two
 * loans must be indistinguishable — every account's movements per value date, the instalments,
 * the job's state, the loan — and the figures the late recording changed are checked by hand.
 *
 * The loan (repayments.helpers SMALL): 90,000.00 at 4.35 % ACT/365 from 2026-06-15, equal
 * principal, 30,000.00 due 07-15, 08-15 and 09-13; penalty rate 4.35 % × 1.5.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterEach(() => {
  h.clock.set(START);
});
afterAll(async () => {
  await h.close();
});

/** R-interest (ADR 0009): contract interest of `balance` over `days`, rounded half-up to the fen. */
function interest(balance: string, days: number): Money {
  return roundHalfUp(new Money(balance).times('0.0435').times(days).div(365));
}

/** Penalty interest of overdue `principal` over `days` at 4.35 % × (1 + 50 / 100), rounded the same way. */
function penalty(principal: string, days: number): Money {
  return roundHalfUp(new Money(principal).times('0.0435').times('1.5').times(days).div(365));
}

interface Twin {
  w: LoanWorld;
  loanId: string;
}

async function twins(): Promise<[Twin, Twin]> {
  const made: Twin[] = [];
  for (let index = 0; index < 2; index += 1) {
    setToday(h, '2026-06-15');
    const w = await lendingWorld(h);
    made.push({ w, loanId: await activeLoan(h, w) });
  }
  return [made[0]!, made[1]!];
}

/** Moves both funds to `today` and runs their job through the day before. */
async function dayOf(today: string, ...funds: Twin[]): Promise<void> {
  for (const twin of funds) {
    setToday(h, today, twin.w);
    await ranJob(h, h.http, twin.w.fund.admin, twin.w.fund.id, addDays(today, -1));
  }
}

async function payoff(twin: Twin, asOf: string) {
  const response = await h.http
    .get(api(`/funds/${twin.w.fund.id}/loans/${twin.loanId}/payoff?asOf=${asOf}`))
    .set(twin.w.fund.admin.auth);
  expect(response.status).toBe(200);
  return response.body as { fee: string; penaltyInterest: string; interest: string; principal: string; total: string };
}

/** Everything the books and the job know about a loan, without ids: equal for twins. */
async function factsOf(twin: Twin) {
  const { w, loanId } = twin;
  const movements = await h.db.raw<{ rows: unknown[] }>(
    `SELECT a.base_code, to_char(p.effective_date, 'YYYY-MM-DD') AS day,
            sum(CASE WHEN p.side = 'debit' THEN p.amount ELSE -p.amount END)::text AS net
       FROM postings p JOIN accounts a ON a.id = p.account_id
      WHERE a.fund_id = ? AND a.loan_id = ?
      GROUP BY a.base_code, p.effective_date
     HAVING sum(CASE WHEN p.side = 'debit' THEN p.amount ELSE -p.amount END) <> 0
      ORDER BY a.base_code, p.effective_date`,
    [w.fund.id, loanId],
  );
  const instalments = await h.db.raw<{ rows: unknown[] }>(
    `SELECT schedule_version, number, principal::text, interest::text, principal_paid::text, interest_paid::text,
            interest_accrued::text
       FROM loan_instalments WHERE fund_id = ? AND loan_id = ? ORDER BY schedule_version, number`,
    [w.fund.id, loanId],
  );
  const state = await h.db.raw<{ rows: Record<string, unknown>[] }>(
    `SELECT to_char(accrued_through, 'YYYY-MM-DD') AS accrued_through, interest_period_due_on::text,
            interest_segment_start::text, interest_segment_balance::text, interest_segment_accrued::text,
            interest_period_accrued::text, penalty_segment_start::text, penalty_segment_principal::text,
            penalty_segment_accrued::text
       FROM loan_accrual_state WHERE fund_id = ? AND loan_id = ?`,
    [w.fund.id, loanId],
  );
  const days = await h.db.raw<{ rows: unknown[] }>(
    `SELECT to_char(accrued_on, 'YYYY-MM-DD') AS day, interest_segment_start::text, interest_segment_balance::text,
            interest_period_accrued::text, penalty_segment_start::text, penalty_segment_principal::text,
            interest_accrued_day::text, penalty_accrued_day::text
       FROM loan_accrual_days WHERE fund_id = ? AND loan_id = ? ORDER BY accrued_on`,
    [w.fund.id, loanId],
  );
  const loan = await h.db.raw<{ rows: unknown[] }>(
    `SELECT status, classification, days_past_due, to_char(repaid_on, 'YYYY-MM-DD') AS repaid_on
       FROM loans WHERE fund_id = ? AND id = ?`,
    [w.fund.id, loanId],
  );
  return {
    movements: movements.rows,
    instalments: instalments.rows,
    state: state.rows,
    days: days.rows,
    loan: loan.rows,
  };
}

/** What a receivable of the loan accrued (interest or penalty, net of reruns) on the days from `from` to `to`. */
async function accruedBetween(twin: Twin, code: '1202' | '1203', from: string, to: string): Promise<Money> {
  const result = await h.db.raw<{ rows: { net: string | null }[] }>(
    `SELECT sum(CASE WHEN p.side = 'debit' THEN p.amount ELSE -p.amount END)::text AS net
       FROM postings p JOIN accounts a ON a.id = p.account_id JOIN journal_entries e ON e.id = p.entry_id
      WHERE a.fund_id = ? AND a.code = ? AND p.effective_date BETWEEN ?::date AND ?::date
        AND e.kind IN ('loan.interest_accrual', 'loan.penalty_accrual', 'loan.accrual_adjustment')`,
    [twin.w.fund.id, `${code}:${twin.loanId}`, from, to],
  );
  return new Money(result.rows[0]?.net ?? '0');
}

/** Fee, penalty and interest owed, plus `principal`: a repayment that pays all but principal. */
function paying(owed: { fee: string; penaltyInterest: string; interest: string }, principal: string): string {
  return new Money(owed.fee).plus(owed.penaltyInterest).plus(owed.interest).plus(principal).toFixed(2);
}

describe('a repayment dated in days already run', () => {
  test('when it pays the overdue instalment and prepays, then the books equal those of the same money recorded on its day', async () => {
    const [onTime, late] = await twins();
    // 07-20: instalment 1 (due 07-15) is 4 days overdue; the borrower pays it and prepays 20,000.00.
    await dayOf('2026-07-20', onTime, late);
    const owedOnTime = await payoff(onTime, '2026-07-20');
    const paid = await repay(h, onTime.w.fund.admin, onTime.w.fund.id, onTime.loanId, {
      amount: paying(owedOnTime, '50000.00'),
      receivedOn: '2026-07-20',
      reference: 'ICBC-ONTIME-1',
    });
    expect(paid.status).toBe(201);
    expect(paid.body.accrualAdjustments).toEqual([]);

    // The other fund learns of the same money five days later, after the job ran 07-20 to 07-24.
    await dayOf('2026-07-25', onTime, late);
    const takenBackInterest = (await accruedBetween(late, '1202', '2026-07-20', '2026-07-24')).toFixed(2);
    const owedLate = await payoff(late, '2026-07-20');
    expect(owedLate).toEqual({ ...owedOnTime, loanId: late.loanId });
    const backdated = await repay(h, late.w.fund.admin, late.w.fund.id, late.loanId, {
      amount: paying(owedLate, '50000.00'),
      receivedOn: '2026-07-20',
      reference: 'ICBC-LATE-1',
    });
    expect(backdated.status).toBe(201);
    expect(backdated.body.allocated).toEqual(paid.body.allocated);

    // By hand: 07-20 to 07-24 had accrued on 60,000.00 in the segment begun 07-15, and penalty on
    // 30,000.00 overdue since 07-16; run again, interest is on 40,000.00 from 07-20 and no penalty.
    expect(takenBackInterest).toBe(interest('60000.00', 10).minus(interest('60000.00', 5)).toFixed(2));
    const interestDifference = interest('40000.00', 5).minus(takenBackInterest);
    const penaltyDifference = penalty('30000.00', 4).minus(penalty('30000.00', 9));
    expect(backdated.body.accrualAdjustments).toEqual([
      {
        cause: 'repayment',
        fromDay: '2026-07-20',
        throughDay: '2026-07-24',
        interest: interestDifference.toFixed(2),
        penaltyInterest: penaltyDifference.toFixed(2),
        entryIds: expect.any(Array),
      },
    ]);
    expect(backdated.body.accrualAdjustments[0].entryIds).toHaveLength(5);
    expect(await balanceOf(h, late.w.fund.id, `1202:${late.loanId}`)).toBe(interest('40000.00', 5).toFixed(2));
    expect(await balanceOf(h, late.w.fund.id, `1203:${late.loanId}`)).toBe('0.00');
    expect(await factsOf(late)).toEqual(await factsOf(onTime));

    // Both run on past the next due date: still the same loan.
    await dayOf('2026-08-20', onTime, late);
    expect(await factsOf(late)).toEqual(await factsOf(onTime));
  });

  test('when it repays the loan in full, then the loan closes on the day received and every later accrual is taken back', async () => {
    const [onTime, late] = await twins();
    await dayOf('2026-07-28', onTime, late);
    const owed = await payoff(onTime, '2026-07-28');
    const closed = await repay(h, onTime.w.fund.admin, onTime.w.fund.id, onTime.loanId, {
      amount: owed.total,
      receivedOn: '2026-07-28',
      reference: 'ICBC-PAYOFF-ONTIME',
    });
    expect(closed.status).toBe(201);
    expect(closed.body.closedLoan).toBe(true);

    await dayOf('2026-08-05', onTime, late);
    const interestAfter = await accruedBetween(late, '1202', '2026-07-28', '2026-08-04');
    const penaltyAfter = await accruedBetween(late, '1203', '2026-07-28', '2026-08-04');
    expect(interestAfter.gt(0) && penaltyAfter.gt(0)).toBe(true);
    const owedLate = await payoff(late, '2026-07-28');
    expect(owedLate.total).toBe(owed.total);
    const backdated = await repay(h, late.w.fund.admin, late.w.fund.id, late.loanId, {
      amount: owedLate.total,
      receivedOn: '2026-07-28',
      reference: 'ICBC-PAYOFF-LATE',
    });
    expect(backdated.status).toBe(201);
    expect(backdated.body).toMatchObject({ closedLoan: true, loanStatus: 'repaid' });
    expect(backdated.body.accrualAdjustments[0]).toMatchObject({
      fromDay: '2026-07-28',
      throughDay: '2026-08-04',
      interest: interestAfter.negated().toFixed(2),
      penaltyInterest: penaltyAfter.negated().toFixed(2),
    });
    for (const code of ['1201', '1202', '1203', '1204']) {
      expect(await balanceOf(h, late.w.fund.id, `${code}:${late.loanId}`)).toBe('0.00');
    }
    expect(await factsOf(late)).toEqual(await factsOf(onTime));
  });
});

describe('a reversal dated in days already run', () => {
  test('when the prepayment is reversed as of a past day, then interest runs again from that day as if it had been reversed then', async () => {
    const [onTime, late] = await twins();
    await dayOf('2026-07-10', onTime, late);
    const ids: string[] = [];
    for (const twin of [onTime, late]) {
      const paid = await repay(h, twin.w.fund.admin, twin.w.fund.id, twin.loanId, {
        amount: '20000.00',
        receivedOn: '2026-07-10',
        reference: `ICBC-PREPAY-${twin.loanId}`,
      });
      expect(paid.status).toBe(201);
      ids.push(paid.body.id as string);
    }
    await dayOf('2026-07-13', onTime, late);
    const reversedOnTime = await reverse(h, onTime.w.fund.admin, onTime.w.fund.id, onTime.loanId, ids[0]!, {
      reason: '银行退票',
      reversedOn: '2026-07-13',
    });
    expect(reversedOnTime.status).toBe(200);

    await dayOf('2026-07-20', onTime, late);
    const reversedLate = await reverse(h, late.w.fund.admin, late.w.fund.id, late.loanId, ids[1]!, {
      reason: '银行退票',
      reversedOn: '2026-07-13',
    });
    expect(reversedLate.status).toBe(200);
    const [adjustment] = reversedLate.body.accrualAdjustments;
    expect(adjustment).toMatchObject({ cause: 'reversal', fromDay: '2026-07-13', throughDay: '2026-07-19' });
    expect(new Money(adjustment.interest).gt(0)).toBe(true);
    expect(await factsOf(late)).toEqual(await factsOf(onTime));

    await dayOf('2026-07-25', onTime, late);
    expect(await factsOf(late)).toEqual(await factsOf(onTime));
  });
});

describe('money recorded out of date order', () => {
  test('when a repayment is dated before a reversal already recorded, then it is refused and nothing changes', async () => {
    const [loan] = await twins();
    const { w, loanId } = loan;
    await dayOf('2026-07-10', loan);
    const paid = await repay(h, w.fund.admin, w.fund.id, loanId, {
      amount: '1000.00',
      receivedOn: '2026-07-08',
      reference: 'ICBC-ORDER-1',
    });
    expect(paid.status).toBe(201);
    const reversed = await reverse(h, w.fund.admin, w.fund.id, loanId, paid.body.id as string, {
      reason: '银行退票',
      reversedOn: '2026-07-09',
    });
    expect(reversed.status).toBe(200);
    const before = await snapshot(h, w.fund.id);
    const refused = await repay(h, w.fund.admin, w.fund.id, loanId, {
      amount: '1000.00',
      receivedOn: '2026-07-08',
      reference: 'ICBC-ORDER-2',
    });
    expectProblem(refused, 422, 'received_on_before_last_reversal');
    expect(refused.body).toMatchObject({ receivedOn: '2026-07-08', latestReversedOn: '2026-07-09' });
    expect(await snapshot(h, w.fund.id)).toEqual(before);
  });

  test('when a reversal is dated before a reversal already recorded, then it is refused and nothing changes', async () => {
    const [loan] = await twins();
    const { w, loanId } = loan;
    await dayOf('2026-07-10', loan);
    const first = await repay(h, w.fund.admin, w.fund.id, loanId, {
      amount: '1000.00',
      receivedOn: '2026-07-05',
      reference: 'ICBC-ORDER-3',
    });
    const second = await repay(h, w.fund.admin, w.fund.id, loanId, {
      amount: '1000.00',
      receivedOn: '2026-07-07',
      reference: 'ICBC-ORDER-4',
    });
    expect([first.status, second.status]).toEqual([201, 201]);
    const undone = await reverse(h, w.fund.admin, w.fund.id, loanId, second.body.id as string, {
      reason: '银行退票',
      reversedOn: '2026-07-09',
    });
    expect(undone.status).toBe(200);
    const before = await snapshot(h, w.fund.id);
    const refused = await reverse(h, w.fund.admin, w.fund.id, loanId, first.body.id as string, {
      reason: '银行退票',
      reversedOn: '2026-07-08',
    });
    expectProblem(refused, 422, 'reversed_on_before_last_reversal');
    expect(await snapshot(h, w.fund.id)).toEqual(before);
    const inOrder = await reverse(h, w.fund.admin, w.fund.id, loanId, first.body.id as string, {
      reason: '银行退票',
      reversedOn: '2026-07-09',
    });
    expect(inOrder.status).toBe(200);
    expect(formatAmount(new Money(await balanceOf(h, w.fund.id, `1201:${loanId}`)))).toBe('90000.00');
  });
});
