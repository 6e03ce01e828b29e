import type request from 'supertest';
import { cumulativeInterestRounded, dailyAccrual, type DayCount } from '../../../src/loans/interest';
import { formatAmount, Money, sumAmounts } from '../../../src/money/money';
import { startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { addDays } from '../../../src/clock';
import { balanceOf } from '../disbursements/disbursements.helpers';
import {
  debitsByDate,
  disbursedLoan,
  instalmentsOf,
  lendingWorld,
  ranJob,
  reducePrincipal,
  setToday,
} from './daily-job.helpers';

let h: Harness;
let client: ReturnType<typeof request>;
beforeAll(async () => {
  h = await startHarness();
  client = h.http;
});
afterEach(() => {
  setToday(h, TEST_TODAY);
});
afterAll(async () => {
  await h.close();
});

describe('interest accrual', () => {
  test('when a disbursed loan is accrued day by day, then each day posts dailyAccrual and each period sums exactly to its instalment interest', async () => {
    const w = await lendingWorld(h, { rateAnnual: '0.0435', dayCount: 'ACT/365' });
    const loanId = await disbursedLoan(h, w, { amount: '90000.00', termDays: 90, repaymentMethod: 'equal_principal' });
    const instalments = await instalmentsOf(h, w.fund.id, loanId);
    const maturity = instalments.at(-1)!.due_on;
    setToday(h, maturity);

    const body = await ranJob(h, client, w.fund.admin, w.fund.id, addDays(maturity, -1));

    // One run caught up every day from the disbursement, in order.
    expect(body.days.map((day) => day.date)).toEqual(
      Array.from({ length: 90 }, (_, index) => addDays(TEST_TODAY, index)),
    );
    const accruals = await debitsByDate(h, w.fund.id, `1202:${loanId}`);
    let balance = new Money('90000.00');
    for (const instalment of instalments) {
      const days = Array.from({ length: instalment.days }, (_, index) => addDays(instalment.period_start, index));
      for (const [index, date] of days.entries()) {
        expect({ date, accrued: accruals.get(date) ?? '0.00' }).toEqual({
          date,
          accrued: formatAmount(dailyAccrual(balance, '0.0435', 'ACT/365', index + 1)),
        });
      }
      const period = sumAmounts(days.map((date) => new Money(accruals.get(date) ?? '0')));
      expect({ number: instalment.number, interest: formatAmount(period) }).toEqual({
        number: instalment.number,
        interest: formatAmount(new Money(instalment.interest)),
      });
      balance = balance.minus(instalment.principal);
    }
    const scheduled = sumAmounts(instalments.map((instalment) => new Money(instalment.interest)));
    expect(await balanceOf(h, w.fund.id, `1202:${loanId}`)).toBe(formatAmount(scheduled));
    expect(await balanceOf(h, w.fund.id, '4001')).toBe(formatAmount(scheduled));
    // One entry per day, kind loan.interest_accrual, dated the day.
    const entries = (await h
      .db('journal_entries')
      .where({ fund_id: w.fund.id, kind: 'loan.interest_accrual' })
      .orderBy('effective_date')
      .pluck('effective_date')) as string[];
    expect(entries).toHaveLength(90);
    expect(new Set(entries).size).toBe(90);
  });

  test.each<[DayCount, string]>([
    ['ACT/365', '0.0435'],
    ['ACT/360', '0.0435'],
  ])(
    'when a bullet loan is accrued under %s, then its interest is the rounded interest of its days on that basis',
    async (dayCount, rate) => {
      const w = await lendingWorld(h, { rateAnnual: rate, dayCount });
      const loanId = await disbursedLoan(h, w, { amount: '90000.00', termDays: 45, repaymentMethod: 'bullet' });
      const due = addDays(TEST_TODAY, 45);
      setToday(h, due);

      await ranJob(h, client, w.fund.admin, w.fund.id, addDays(due, -1));

      const expected = cumulativeInterestRounded(new Money('90000.00'), rate, 45, dayCount);
      expect(await balanceOf(h, w.fund.id, `1202:${loanId}`)).toBe(formatAmount(expected));
      const [instalment] = await instalmentsOf(h, w.fund.id, loanId);
      expect(formatAmount(new Money(instalment!.interest))).toBe(formatAmount(expected));
      // 90,000.00 × 4.35 % × 45 days: 482.67 on 365 days, 489.38 on 360.
      expect(formatAmount(expected)).toBe(dayCount === 'ACT/365' ? '482.67' : '489.38');
    },
  );

  test('when principal is repaid in the middle of a period, then a new segment starts that day on the new balance', async () => {
    const w = await lendingWorld(h, { rateAnnual: '0.0435', dayCount: 'ACT/360' });
    const loanId = await disbursedLoan(h, w, { amount: '90000.00', termDays: 60, repaymentMethod: 'bullet' });
    const repaidOn = addDays(TEST_TODAY, 20);
    setToday(h, addDays(TEST_TODAY, 60));
    await ranJob(h, client, w.fund.admin, w.fund.id, addDays(repaidOn, -1));

    await reducePrincipal(h, w, loanId, '30000.00', repaidOn);
    await ranJob(h, client, w.fund.admin, w.fund.id, addDays(TEST_TODAY, 59));

    const state = await h.db('loan_accrual_state').where({ fund_id: w.fund.id, loan_id: loanId }).first();
    expect(state).toMatchObject({
      interest_segment_start: repaidOn,
      interest_segment_balance: '60000.00',
      accrued_through: addDays(TEST_TODAY, 59),
    });
    // 20 days on 90,000.00, then 40 days on 60,000.00, each segment rounded once.
    const first = cumulativeInterestRounded(new Money('90000.00'), '0.0435', 20, 'ACT/360');
    const second = cumulativeInterestRounded(new Money('60000.00'), '0.0435', 40, 'ACT/360');
    expect(await balanceOf(h, w.fund.id, `1202:${loanId}`)).toBe(formatAmount(first.plus(second)));
    const accruals = await debitsByDate(h, w.fund.id, `1202:${loanId}`);
    expect(accruals.get(repaidOn)).toBe(formatAmount(dailyAccrual(new Money('60000.00'), '0.0435', 'ACT/360', 1)));
  });

  test('when the contract rate is zero, then nothing is accrued and no entry is posted', async () => {
    const w = await lendingWorld(h, { rateAnnual: '0' });
    const loanId = await disbursedLoan(h, w, { amount: '90000.00', termDays: 30, repaymentMethod: 'bullet' });
    setToday(h, addDays(TEST_TODAY, 40));

    const body = await ranJob(h, client, w.fund.admin, w.fund.id, addDays(TEST_TODAY, 40));

    expect(body.days.every((day) => day.interestTotal === '0.00' && day.penaltyTotal === '0.00')).toBe(true);
    expect(body.days.at(-1)).toMatchObject({ newlyOverdue: 0, loansAccrued: 0 });
    expect(await h.db('accounts').where({ fund_id: w.fund.id, code: `1202:${loanId}` })).toHaveLength(0);
    // Overdue all the same: the principal was due on day 30.
    const loan = await h.db('loans').where({ id: loanId }).first();
    expect(loan).toMatchObject({ status: 'overdue', days_past_due: 10, classification: 'special_mention' });
  });
});

describe('the SQL rounding', () => {
  test('when loan_interest_fen is compared with cumulativeInterestRounded, then they agree, on half fen too', async () => {
    const cases: [string, string, number, DayCount][] = [
      // Exactly on a half fen (0.005), which rounds up: 0.50 × 3.65 % × 100 / 365, 25.00 × 7.2 % / 360 …
      ['0.50', '0.036500', 100, 'ACT/365'],
      ['25.00', '0.072000', 1, 'ACT/360'],
      ['1.25', '0.144000', 10, 'ACT/360'],
      ['500000.00', '0.043500', 90, 'ACT/360'],
      ['333333.33', '0.123457', 31, 'ACT/365'],
      ['999999999999.99', '1.000000', 3650, 'ACT/365'],
      ['0.01', '0.000001', 1, 'ACT/360'],
    ];
    let seed = 7;
    const next = (limit: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % limit;
    };
    for (let index = 0; index < 300; index += 1) {
      const balance = `${next(10_000_000)}.${String(next(100)).padStart(2, '0')}`;
      const rate = `0.${String(next(1_000_000)).padStart(6, '0')}`;
      cases.push([balance, rate, 1 + next(400), next(2) === 0 ? 'ACT/360' : 'ACT/365']);
    }
    const result = await h.db.raw<{ rows: { fen: string }[] }>(
      `SELECT loan_interest_fen(b, r, d, CASE c WHEN 'ACT/360' THEN 360 ELSE 365 END)::text AS fen
         FROM unnest(?::numeric[], ?::numeric[], ?::int[], ?::text[]) WITH ORDINALITY AS x(b, r, d, c, n)
        ORDER BY n`,
      [cases.map((c) => c[0]), cases.map((c) => c[1]), cases.map((c) => c[2]), cases.map((c) => c[3])],
    );
    const fromSql = result.rows.map((row) => formatAmount(new Money(row.fen)));
    const fromTs = cases.map(([balance, rate, days, dayCount]) =>
      formatAmount(cumulativeInterestRounded(new Money(balance), rate, days, dayCount)),
    );
    expect(fromSql).toEqual(fromTs);
  });
});
