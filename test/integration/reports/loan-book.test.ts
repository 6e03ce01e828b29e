import { addDays } from '../../../src/clock';
import { startHarness, type Harness } from '../../helpers/harness';
import { parseCsv, portfolio, report, setToday, type Portfolio } from './reports.helpers';

/**
 * The loan book of the hand-made portfolio (reports.helpers.ts). Every expected figure below is
 * worked out by hand from the loans' amounts, dates and the policy: interest 0.01 % of the
 * principal a day from disbursement to the day before the due date, penalty 0.015 % of the overdue
 * principal a day from the day after the due date, nothing booked after 07-20 (the job's last day).
 */

let h: Harness;
let p: Portfolio;
beforeAll(async () => {
  h = await startHarness();
  p = await portfolio(h);
});
beforeEach(() => {
  setToday(h, '2026-10-20', p.w, p.users.c, p.users.d);
});
afterAll(async () => {
  await h.close();
});

interface Line {
  loanId: string;
  principalOutstanding: string;
  interestReceivable: string;
  penaltyReceivable: string | null;
  daysPastDue: number;
  classification: string;
  status: string;
  [key: string]: unknown;
}

async function book(asOf: string) {
  const response = await report(h, p.w.fund.admin, p.w.fund.id, 'loan-book', asOf);
  expect(response.status).toBe(200);
  return response.body as { loans: Line[]; totals: { byClass: unknown[]; all: unknown }; [key: string]: unknown };
}

/** What a loan looks like on the day, in the order the figures are written by hand. */
function figures(
  loanId: string,
  principal: string,
  interest: string,
  penalty: string | null,
  daysPastDue: number,
  classification: string,
  status: string,
) {
  return expect.objectContaining({
    loanId,
    principalOutstanding: principal,
    interestReceivable: interest,
    penaltyReceivable: penalty,
    daysPastDue,
    classification,
    status,
  });
}

function tier(classification: string, count: number, principal: string, interest: string, penalty: string) {
  return {
    classification,
    count,
    principalOutstanding: principal,
    interestReceivable: interest,
    penaltyReceivable: penalty,
  };
}

const EMPTY = (classification: string) => tier(classification, 0, '0.00', '0.00', '0.00');

describe('the loan book', () => {
  test('when every loan is performing, then each shows its principal and the interest booked so far, all 正常', async () => {
    // 06-19: five days of interest (06-15 … 06-19); L5 is disbursed only on 06-20.
    const early = await book('2026-06-19');
    const { l1, l2, l3, l4, l5 } = p.loans;
    expect(early.loans).toEqual([
      figures(l1, '30000.00', '15.00', '0.00', 0, 'normal', 'active'),
      figures(l2, '60000.00', '30.00', '0.00', 0, 'normal', 'active'),
      figures(l3, '20000.00', '10.00', '0.00', 0, 'normal', 'active'),
      // A peer loan's interest is its lender's: nothing is due before its one due date.
      figures(l4, '40000.00', '0.00', null, 0, 'normal', 'active'),
    ]);
    expect(early.totals).toEqual({
      byClass: [
        tier('normal', 4, '150000.00', '55.00', '0.00'),
        EMPTY('special_mention'),
        EMPTY('substandard'),
        EMPTY('doubtful'),
        EMPTY('loss'),
      ],
      all: { count: 4, principalOutstanding: '150000.00', interestReceivable: '55.00', penaltyReceivable: '0.00' },
    });

    // 07-09: 25 days for L1–L3, 20 for L5 (from 06-20); L5 is repaid on 07-10, so 07-10 drops it.
    const before = await book('2026-07-09');
    expect(before.loans.map((line) => [line.loanId, line.interestReceivable])).toEqual([
      [l1, '75.00'],
      [l2, '150.00'],
      [l3, '50.00'],
      [l4, '0.00'],
      [l5, '20.00'],
    ]);
    expect(before.totals.all).toEqual({
      count: 5,
      principalOutstanding: '160000.00',
      interestReceivable: '295.00',
      penaltyReceivable: '0.00',
    });
    expect((await book('2026-07-10')).loans.map((line) => line.loanId)).toEqual([l1, l2, l3, l4]);
  });

  test('when a loan was repaid after the day, then its guarantee released since still backs it on the day, with its collateral and coverage', async () => {
    const line = (await book('2026-07-09')).loans.find((row) => row.loanId === p.loans.l5);
    expect(line).toEqual({
      loanId: p.loans.l5,
      number: expect.any(Number),
      borrower: { memberId: p.d, name: expect.stringMatching(/\S/) },
      lender: { type: 'pool', memberId: null, name: null },
      disbursedOn: '2026-06-20',
      maturityDate: '2026-07-20',
      amount: '10000.00',
      principalOutstanding: '10000.00',
      owedBy: { borrowerPrincipal: '10000.00', guarantorsPrincipal: '0.00', guarantorsOwed: '0.00', guarantors: [] },
      interestReceivable: '20.00',
      penaltyReceivable: '0.00',
      daysPastDue: 0,
      classification: 'normal',
      status: 'active',
      restructured: false,
      guarantees: {
        count: 1,
        total: '3000.00',
        byType: { joint_and_several: { count: 0, total: '0.00' }, general: { count: 1, total: '3000.00' } },
      },
      collateral: { count: 1, valuation: '20000.00', counted: '10000.00' },
      // (3,000.00 + 10,000.00) / 10,000.00
      coverageRatio: '1.3000',
    });
    expect(await h.db('loan_guarantees').where({ loan_id: p.loans.l5 }).first('status')).toEqual({
      status: 'released',
    });
  });

  test('when a late instalment is paid, then the day before shows it overdue and the day of payment shows it cured', async () => {
    const { l1, l2, l3, l4 } = p.loans;
    // 07-19: L1, L2 and L4 four days past their 07-15 due date (关注); L2 owes 180.00 of the first
    // period and 5 × 4.00 of the second, and 4 × 3.00 of penalty; L1 4 × 4.50.
    const before = await book('2026-07-19');
    expect(before.loans).toEqual([
      figures(l1, '30000.00', '90.00', '18.00', 4, 'special_mention', 'overdue'),
      figures(l2, '60000.00', '200.00', '12.00', 4, 'special_mention', 'overdue'),
      figures(l3, '20000.00', '70.00', '0.00', 0, 'normal', 'active'),
      figures(l4, '40000.00', '120.00', null, 4, 'special_mention', 'overdue'),
    ]);
    expect(before.totals).toEqual({
      byClass: [
        tier('normal', 1, '20000.00', '70.00', '0.00'),
        tier('special_mention', 3, '130000.00', '410.00', '30.00'),
        EMPTY('substandard'),
        EMPTY('doubtful'),
        EMPTY('loss'),
      ],
      all: { count: 4, principalOutstanding: '150000.00', interestReceivable: '480.00', penaltyReceivable: '30.00' },
    });

    // 07-20: L2 paid 20,212.00 (penalty, interest, first instalment); one day of 4.00 accrues again.
    const after = await book('2026-07-20');
    expect(after.loans).toEqual([
      figures(l1, '30000.00', '90.00', '22.50', 5, 'special_mention', 'overdue'),
      figures(l2, '40000.00', '4.00', '0.00', 0, 'normal', 'active'),
      figures(l3, '20000.00', '72.00', '0.00', 0, 'normal', 'active'),
      figures(l4, '40000.00', '120.00', null, 5, 'special_mention', 'overdue'),
    ]);
    expect(after.totals).toEqual({
      byClass: [
        tier('normal', 2, '60000.00', '76.00', '0.00'),
        tier('special_mention', 2, '70000.00', '210.00', '22.50'),
        EMPTY('substandard'),
        EMPTY('doubtful'),
        EMPTY('loss'),
      ],
      all: { count: 4, principalOutstanding: '130000.00', interestReceivable: '286.00', penaltyReceivable: '22.50' },
    });
    // (40,000.00 guaranteed + 60,000.00 collateral) over 60,000.00, then over 40,000.00.
    expect(before.loans[1]).toMatchObject({ coverageRatio: '1.6667' });
    expect(after.loans[1]).toMatchObject({ coverageRatio: '2.5000' });
  });

  test('when the daily job has not reached the day, then days past due, tiers and statuses still follow the schedule', async () => {
    const { l1, l2, l3, l4 } = p.loans;
    // 09-14, the job last ran 07-20: L1 and L4 61 days late (损失, defaulted from 60); L2's second
    // instalment (08-15) 30 days (次级); L3 (08-14) 31 days (可疑). Receivables as booked by 07-20.
    const late = await book('2026-09-14');
    expect(late.loans).toEqual([
      figures(l1, '30000.00', '90.00', '22.50', 61, 'loss', 'defaulted'),
      figures(l2, '40000.00', '4.00', '0.00', 30, 'substandard', 'overdue'),
      figures(l3, '20000.00', '72.00', '0.00', 31, 'doubtful', 'overdue'),
      figures(l4, '40000.00', '120.00', null, 61, 'loss', 'defaulted'),
    ]);
    expect(late.totals).toEqual({
      byClass: [
        EMPTY('normal'),
        EMPTY('special_mention'),
        tier('substandard', 1, '40000.00', '4.00', '0.00'),
        tier('doubtful', 1, '20000.00', '72.00', '0.00'),
        tier('loss', 2, '70000.00', '210.00', '22.50'),
      ],
      all: { count: 4, principalOutstanding: '130000.00', interestReceivable: '286.00', penaltyReceivable: '22.50' },
    });
    expect(late).toMatchObject({
      fundId: p.w.fund.id,
      asOf: '2026-09-14',
      policyVersion: 2,
      scope: { memberId: null },
    });
  });

  test('when the daily job ran on a day, then the tier and status of the book agree with the history it recorded', async () => {
    const history = (await h
      .db('loan_classification_history')
      .where({ fund_id: p.w.fund.id })
      .orderBy('id')
      .select(
        'loan_id',
        h.db.raw(`to_char(changed_on, 'YYYY-MM-DD') AS changed_on`),
        'to_classification',
        'to_status',
      )) as {
      loan_id: string;
      changed_on: string;
      to_classification: string;
      to_status: string;
    }[];
    expect(history.length).toBeGreaterThanOrEqual(4);
    for (let day = '2026-07-14'; day <= '2026-07-20'; day = addDays(day, 1)) {
      const lines = (await book(day)).loans;
      for (const line of lines) {
        const recorded = history.filter((row) => row.loan_id === line.loanId && row.changed_on <= day).at(-1);
        expect({ day, loan: line.loanId, classification: line.classification, status: line.status }).toEqual({
          day,
          loan: line.loanId,
          classification: recorded?.to_classification ?? 'normal',
          status: recorded?.to_status ?? 'active',
        });
      }
    }
  });

  test('when asked for CSV, then one row per loan carries the same figures as the JSON answer', async () => {
    const json = await book('2026-07-19');
    const response = await report(h, p.w.fund.admin, p.w.fund.id, 'loan-book', '2026-07-19').set('Accept', 'text/csv');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.headers.vary).toMatch(/Accept/);
    expect(response.headers['content-disposition']).toBe(
      `attachment; filename="loan-book-${p.w.fund.id}-2026-07-19.csv"`,
    );
    const [header, ...rows] = parseCsv(response.text);
    expect(header).toHaveLength(36);
    // Beside each code, its Chinese name, for the committee: the codes the book holds on 07-19.
    const chinese: Record<string, string> = {
      pool: '互助金出借',
      peer: '会员间借贷',
      normal: '正常',
      special_mention: '关注',
      active: '正常还款',
      overdue: '逾期',
    };
    expect(rows).toHaveLength(json.loans.length);
    rows.forEach((row, index) => {
      const loan = json.loans[index] as Line & {
        number: number;
        borrower: { memberId: string; name: string };
        lender: { type: string; memberId: string | null; name: string | null };
        guarantees: { count: number; total: string; byType: Record<string, { count: number; total: string }> };
        collateral: { count: number; valuation: string; counted: string };
        owedBy: {
          borrowerPrincipal: string;
          guarantorsPrincipal: string;
          guarantorsOwed: string;
          guarantors: { name: string; owed: string }[];
        };
      };
      expect(row).toEqual([
        p.w.fund.id,
        '2026-07-19',
        loan.loanId,
        String(loan.number),
        loan.borrower.memberId,
        loan.borrower.name,
        loan.lender.type,
        chinese[loan.lender.type],
        loan.lender.memberId ?? '',
        loan.lender.name ?? '',
        loan.disbursedOn,
        loan.maturityDate,
        loan.amount,
        loan.principalOutstanding,
        loan.owedBy.borrowerPrincipal,
        loan.owedBy.guarantorsPrincipal,
        loan.owedBy.guarantorsOwed,
        loan.owedBy.guarantors.map((g) => `${g.name}: ${g.owed}`).join('; '),
        loan.interestReceivable,
        loan.penaltyReceivable ?? '',
        String(loan.daysPastDue),
        loan.classification,
        chinese[loan.classification],
        loan.status,
        chinese[loan.status],
        String(loan.restructured),
        String(loan.guarantees.count),
        loan.guarantees.total,
        String(loan.guarantees.byType.joint_and_several!.count),
        loan.guarantees.byType.joint_and_several!.total,
        String(loan.guarantees.byType.general!.count),
        loan.guarantees.byType.general!.total,
        String(loan.collateral.count),
        loan.collateral.valuation,
        loan.collateral.counted,
        loan.coverageRatio,
      ]);
    });
    // The hand figures once more, read from the file: L2's principal, interest and penalty on 07-19.
    const l2 = rows.find((row) => row[2] === p.loans.l2)!;
    expect([l2[13], l2[18], l2[19], l2[20], l2[21], l2[22], l2[23], l2[24]]).toEqual([
      '60000.00',
      '200.00',
      '12.00',
      '4',
      'special_mention',
      '关注',
      'overdue',
      '逾期',
    ]);
    expect([header![21], header![22], header![23], header![24]]).toEqual([
      '五级分类 Classification',
      '五级分类中文名 Classification in Chinese',
      '状态 Status',
      '状态中文名 Status in Chinese',
    ]);
  });

  test('when no date is given, then the book is as of today in the fund’s time zone', async () => {
    setToday(h, '2026-07-21', p.w);
    const response = await report(h, p.w.fund.admin, p.w.fund.id, 'loan-book');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ asOf: '2026-07-21' });
    expect((response.body as { loans: Line[] }).loans.map((line) => [line.loanId, line.daysPastDue])).toEqual([
      [p.loans.l1, 6],
      [p.loans.l2, 0],
      [p.loans.l3, 0],
      [p.loans.l4, 6],
    ]);
  });
});
