import { startHarness, type Harness, type TestUser } from '../../helpers/harness';
import { parseCsv, portfolio, report, setToday, type Portfolio } from './reports.helpers';

/**
 * PAR of the hand-made portfolio (reports.helpers.ts): L1 pool 30,000.00 and L4 peer 40,000.00
 * due 07-15 and never repaid; L2 pool 60,000.00 whose first instalment (07-15) was paid on 07-20,
 * then 40,000.00 with instalments due 08-15 and 09-13 unpaid; L3 pool 20,000.00 due 08-14 unpaid.
 * PAR N = principal of the loans more than N days late / principal outstanding, ROUND_HALF_UP to
 * 4 decimals; each ratio below is worked out from those amounts.
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

type Threshold = [days: number, atRisk: string, loans: number, ratio: string];

function portfolioOf(lender: string, loans: number, principal: string, thresholds: Threshold[]) {
  return {
    lender,
    loans,
    principalOutstanding: principal,
    thresholds: thresholds.map(([days, atRiskPrincipal, atRiskLoans, ratio]) => ({
      days,
      atRiskPrincipal,
      atRiskLoans,
      ratio,
    })),
  };
}

/** No bank loan is in this portfolio: the bank lender's figures are all zero. */
const noBank = () =>
  portfolioOf('bank', 0, '0.00', [
    [1, '0.00', 0, '0.0000'],
    [30, '0.00', 0, '0.0000'],
    [90, '0.00', 0, '0.0000'],
  ]);

async function par(asOf: string, user: TestUser = p.w.fund.admin) {
  const response = await report(h, user, p.w.fund.id, 'portfolio-at-risk', asOf);
  expect(response.status).toBe(200);
  return response.body as { portfolios: unknown[]; [key: string]: unknown };
}

describe('portfolio at risk', () => {
  test('when three of four loans are four days late, then their whole principal is at risk beyond 1 day, none beyond 30', async () => {
    // 07-19: late L1 30,000 + L2 60,000 (pool) + L4 40,000 (peer) = 130,000 of 150,000.
    expect(await par('2026-07-19')).toEqual({
      fundId: p.w.fund.id,
      asOf: '2026-07-19',
      scope: { memberId: null },
      portfolios: [
        // 130,000 / 150,000 = 0.86666…
        portfolioOf('all', 4, '150000.00', [
          [1, '130000.00', 3, '0.8667'],
          [30, '0.00', 0, '0.0000'],
          [90, '0.00', 0, '0.0000'],
        ]),
        // 90,000 / 110,000 = 0.81818…
        portfolioOf('pool', 3, '110000.00', [
          [1, '90000.00', 2, '0.8182'],
          [30, '0.00', 0, '0.0000'],
          [90, '0.00', 0, '0.0000'],
        ]),
        portfolioOf('peer', 1, '40000.00', [
          [1, '40000.00', 1, '1.0000'],
          [30, '0.00', 0, '0.0000'],
          [90, '0.00', 0, '0.0000'],
        ]),
        noBank(),
      ],
    });
  });

  test('when the late instalment is paid, then the loan leaves PAR on the day of payment', async () => {
    // 07-20: L2 is current with 40,000 left; late L1 + L4 = 70,000 of 130,000 = 0.53846…
    expect((await par('2026-07-20')).portfolios).toEqual([
      portfolioOf('all', 4, '130000.00', [
        [1, '70000.00', 2, '0.5385'],
        [30, '0.00', 0, '0.0000'],
        [90, '0.00', 0, '0.0000'],
      ]),
      // 30,000 / 90,000 = 0.3333…
      portfolioOf('pool', 3, '90000.00', [
        [1, '30000.00', 1, '0.3333'],
        [30, '0.00', 0, '0.0000'],
        [90, '0.00', 0, '0.0000'],
      ]),
      portfolioOf('peer', 1, '40000.00', [
        [1, '40000.00', 1, '1.0000'],
        [30, '0.00', 0, '0.0000'],
        [90, '0.00', 0, '0.0000'],
      ]),
      noBank(),
    ]);
  });

  test('when loans are 30, 31 and 61 days late, then PAR30 counts only those strictly beyond 30 days', async () => {
    // 09-14: L1 and L4 61 days, L3 31 days, L2 30 days (its 08-15 instalment).
    // PAR30 = (30,000 + 20,000 + 40,000) / 130,000 = 0.69230…; pool (30,000 + 20,000) / 90,000 = 0.5555…
    expect((await par('2026-09-14')).portfolios).toEqual([
      portfolioOf('all', 4, '130000.00', [
        [1, '130000.00', 4, '1.0000'],
        [30, '90000.00', 3, '0.6923'],
        [90, '0.00', 0, '0.0000'],
      ]),
      portfolioOf('pool', 3, '90000.00', [
        [1, '90000.00', 3, '1.0000'],
        [30, '50000.00', 2, '0.5556'],
        [90, '0.00', 0, '0.0000'],
      ]),
      portfolioOf('peer', 1, '40000.00', [
        [1, '40000.00', 1, '1.0000'],
        [30, '40000.00', 1, '1.0000'],
        [90, '0.00', 0, '0.0000'],
      ]),
      noBank(),
    ]);
  });

  test('when loans pass 90 days late, then PAR90 holds their whole principal', async () => {
    // 10-14: L1 and L4 91 days late, L3 61, L2 60. PAR90 = 70,000 / 130,000; pool 30,000 / 90,000.
    expect((await par('2026-10-14')).portfolios).toEqual([
      portfolioOf('all', 4, '130000.00', [
        [1, '130000.00', 4, '1.0000'],
        [30, '130000.00', 4, '1.0000'],
        [90, '70000.00', 2, '0.5385'],
      ]),
      portfolioOf('pool', 3, '90000.00', [
        [1, '90000.00', 3, '1.0000'],
        [30, '90000.00', 3, '1.0000'],
        [90, '30000.00', 1, '0.3333'],
      ]),
      portfolioOf('peer', 1, '40000.00', [
        [1, '40000.00', 1, '1.0000'],
        [30, '40000.00', 1, '1.0000'],
        [90, '40000.00', 1, '1.0000'],
      ]),
      noBank(),
    ]);
  });

  test('when a member asks, then PAR is over the loans it borrows; a member that borrows nothing gets ratios of 0.0000', async () => {
    // B borrows L1 (pool) and L4 (peer), both late on 07-19.
    expect(await par('2026-07-19', p.w.users.borrower)).toEqual({
      fundId: p.w.fund.id,
      asOf: '2026-07-19',
      scope: { memberId: p.w.borrower },
      portfolios: [
        portfolioOf('all', 2, '70000.00', [
          [1, '70000.00', 2, '1.0000'],
          [30, '0.00', 0, '0.0000'],
          [90, '0.00', 0, '0.0000'],
        ]),
        portfolioOf('pool', 1, '30000.00', [
          [1, '30000.00', 1, '1.0000'],
          [30, '0.00', 0, '0.0000'],
          [90, '0.00', 0, '0.0000'],
        ]),
        portfolioOf('peer', 1, '40000.00', [
          [1, '40000.00', 1, '1.0000'],
          [30, '0.00', 0, '0.0000'],
          [90, '0.00', 0, '0.0000'],
        ]),
        noBank(),
      ],
    });
    // G2 guarantees L2 and L3 but borrows nothing; BIG lends L4 but borrows nothing.
    const none = (lender: string) =>
      portfolioOf(lender, 0, '0.00', [
        [1, '0.00', 0, '0.0000'],
        [30, '0.00', 0, '0.0000'],
        [90, '0.00', 0, '0.0000'],
      ]);
    for (const user of [p.w.users.g2, p.w.users.big]) {
      expect((await par('2026-07-19', user)).portfolios).toEqual([
        none('all'),
        none('pool'),
        none('peer'),
        none('bank'),
      ]);
    }
  });

  test('when asked for CSV, then one row per lender and threshold carries the JSON figures', async () => {
    const json = (await par('2026-09-14')) as {
      portfolios: {
        lender: string;
        loans: number;
        principalOutstanding: string;
        thresholds: { days: number; atRiskPrincipal: string; atRiskLoans: number; ratio: string }[];
      }[];
    };
    const response = await report(h, p.w.fund.admin, p.w.fund.id, 'portfolio-at-risk', '2026-09-14').set(
      'Accept',
      'text/csv',
    );
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.headers.vary).toMatch(/Accept/);
    expect(response.headers['content-disposition']).toBe(
      `attachment; filename="portfolio-at-risk-${p.w.fund.id}-2026-09-14.csv"`,
    );
    const [header, ...rows] = parseCsv(response.text);
    expect(header).toHaveLength(10);
    expect(header!.slice(2, 4)).toEqual(['出借方 Lender', '出借方中文名 Lender in Chinese']);
    // Beside each code, its Chinese name, for the committee.
    const chinese: Record<string, string> = { all: '全部', pool: '互助金出借', peer: '会员间借贷', bank: '银行借款' };
    const fromJson = json.portfolios.flatMap((portfolio) =>
      portfolio.thresholds.map((t) => [
        p.w.fund.id,
        '2026-09-14',
        portfolio.lender,
        chinese[portfolio.lender],
        String(t.days),
        t.atRiskPrincipal,
        String(t.atRiskLoans),
        portfolio.principalOutstanding,
        String(portfolio.loans),
        t.ratio,
      ]),
    );
    expect(rows).toEqual(fromJson);
    expect(rows.find((row) => row[2] === 'all' && row[4] === '30')!.slice(5)).toEqual([
      '90000.00',
      '3',
      '130000.00',
      '4',
      '0.6923',
    ]);
  });

  test('when the JSON is asked for, then the answer varies by Accept', async () => {
    const response = await report(h, p.w.fund.admin, p.w.fund.id, 'portfolio-at-risk', '2026-07-19');
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.headers.vary).toMatch(/Accept/);
  });
});
