import {
  LOAN_BOOK_CSV_HEADER,
  loanBookCsv,
  PAR_CSV_HEADER,
  portfolioAtRiskCsv,
  reportContentDisposition,
} from '../../src/reports/reports.csv';
import type { LoanBookView, PortfolioAtRiskView } from '../../src/reports/reports.schemas';

const FUND = '11111111-1111-4111-8111-111111111111';

function line(overrides: Partial<LoanBookView['loans'][number]> = {}): LoanBookView['loans'][number] {
  return {
    loanId: '22222222-2222-4222-8222-222222222222',
    number: 7,
    borrower: { memberId: '33333333-3333-4333-8333-333333333333', name: '华东, "精密" 机械' },
    lender: { type: 'peer', memberId: '44444444-4444-4444-8444-444444444444', name: '=HYPERLINK("x")' },
    disbursedOn: '2026-06-15',
    maturityDate: '2026-07-15',
    amount: '40000.00',
    principalOutstanding: '40000.00',
    owedBy: { borrowerPrincipal: '40000.00', guarantorsPrincipal: '0.00', guarantorsOwed: '0.00', guarantors: [] },
    interestReceivable: '120.00',
    penaltyReceivable: null,
    daysPastDue: 4,
    classification: 'special_mention',
    status: 'overdue',
    restructured: false,
    guarantees: {
      count: 1,
      total: '10000.00',
      byType: { joint_and_several: { count: 0, total: '0.00' }, general: { count: 1, total: '10000.00' } },
    },
    collateral: { count: 1, valuation: '45000.00', counted: '40500.00' },
    coverageRatio: '1.2625',
    ...overrides,
  };
}

function book(loans: LoanBookView['loans']): LoanBookView {
  const zero = { count: 0, principalOutstanding: '0.00', interestReceivable: '0.00', penaltyReceivable: '0.00' };
  return {
    fundId: FUND,
    asOf: '2026-07-19',
    policyVersion: 2,
    scope: { memberId: null },
    loans,
    totals: { byClass: [{ classification: 'normal', ...zero }], all: zero },
  };
}

describe('the loan book as CSV', () => {
  test('when a loan is written, then text is quoted and guarded, amounts stay plain numbers and a missing penalty is an empty cell', () => {
    const text = loanBookCsv(book([line()]));
    expect(text.startsWith('\uFEFF')).toBe(true);
    const lines = text.slice(1).split('\r\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(lines[0]).toBe(LOAN_BOOK_CSV_HEADER.join(','));
    expect(lines[1]).toBe(
      [
        FUND,
        '2026-07-19',
        '22222222-2222-4222-8222-222222222222',
        '7',
        '33333333-3333-4333-8333-333333333333',
        '"华东, ""精密"" 机械"',
        'peer',
        '会员间借贷',
        '44444444-4444-4444-8444-444444444444',
        `"'=HYPERLINK(""x"")"`,
        '2026-06-15',
        '2026-07-15',
        '40000.00',
        '40000.00',
        '40000.00',
        '0.00',
        '0.00',
        '',
        '120.00',
        '',
        '4',
        'special_mention',
        '关注',
        'overdue',
        '逾期',
        'false',
        '1',
        '10000.00',
        '0',
        '0.00',
        '1',
        '10000.00',
        '1',
        '45000.00',
        '40500.00',
        '1.2625',
      ].join(','),
    );
  });

  test('when the book is empty, then the file holds the header alone', () => {
    expect(loanBookCsv(book([]))).toBe(`\uFEFF${LOAN_BOOK_CSV_HEADER.join(',')}\r\n`);
  });

  test('when a pool loan has no lending member, then its lender cells are empty', () => {
    const row = loanBookCsv(
      book([
        line({
          borrower: { memberId: '33333333-3333-4333-8333-333333333333', name: '宏达机械' },
          lender: { type: 'pool', memberId: null, name: null },
          penaltyReceivable: '4.50',
        }),
      ]),
    )
      .split('\r\n')[1]!
      .split(',');
    expect(row.slice(6, 10)).toEqual(['pool', '互助金出借', '', '']);
    expect(row[19]).toBe('4.50');
  });
});

describe('portfolio at risk as CSV', () => {
  test('when written, then there is one row per lender and threshold', () => {
    const report: PortfolioAtRiskView = {
      fundId: FUND,
      asOf: '2026-09-14',
      scope: { memberId: null },
      portfolios: (['all', 'pool', 'peer', 'bank'] as const).map((lender) => ({
        lender,
        loans: 2,
        principalOutstanding: '300.00',
        thresholds: [
          { days: 1, atRiskPrincipal: '100.00', atRiskLoans: 1, ratio: '0.3333' },
          { days: 30, atRiskPrincipal: '0.00', atRiskLoans: 0, ratio: '0.0000' },
          { days: 90, atRiskPrincipal: '0.00', atRiskLoans: 0, ratio: '0.0000' },
        ],
      })),
    };
    const lines = portfolioAtRiskCsv(report).slice(1).split('\r\n');
    expect(lines[0]).toBe(PAR_CSV_HEADER.join(','));
    expect(lines.slice(1, -1)).toHaveLength(12);
    expect(lines[1]).toBe(`${FUND},2026-09-14,all,全部,1,100.00,1,300.00,2,0.3333`);
    expect(lines[9]).toBe(`${FUND},2026-09-14,peer,会员间借贷,90,0.00,0,300.00,2,0.0000`);
  });

  test('when a file is named, then the name carries the report, the fund and the day', () => {
    expect(reportContentDisposition('portfolio-at-risk', FUND, '2026-09-14')).toBe(
      `attachment; filename="portfolio-at-risk-${FUND}-2026-09-14.csv"`,
    );
  });
});
