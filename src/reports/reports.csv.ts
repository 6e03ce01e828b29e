import { amountCell, toCsv, type CsvCell } from '../capital/statement.csv';
import {
  CLASSIFICATION_NAMES,
  EXPOSURE_SCOPE_NAMES,
  LENDER_NAMES,
  LOAN_STATUS_NAMES,
  PORTFOLIO_NAMES,
} from '../code-names';
import { EXPOSURE_MEASURES, type ExposureMeasure } from './exposure';
import type { ExposureView, LoanBookView, PortfolioAtRiskView } from './reports.schemas';

/**
 * The reports as CSV, with the member statement's rules (src/capital/statement.csv.ts): UTF-8 with
 * a byte-order mark, CRLF, RFC 4180 quoting, text guarded against formula injection, amounts as
 * plain 2-decimal numbers. Every row repeats the fund and the date, so files from several days can
 * be stacked in a spreadsheet. Beside every code, a column with its Chinese name (src/code-names.ts).
 */

export const LOAN_BOOK_CSV_HEADER = [
  '基金 Fund',
  '报告日 As of',
  '借款ID Loan id',
  '借款编号 Loan number',
  '借款人ID Borrower id',
  '借款人 Borrower',
  '出借方 Lender',
  '出借方中文名 Lender in Chinese',
  '出借会员ID Lending member id',
  '出借会员 Lending member',
  '放款日 Disbursed on',
  '到期日 Maturity',
  '金额 Amount',
  '未偿本金 Principal outstanding',
  '借款人所欠本金 Principal owed by borrower',
  '担保人所欠本金 Principal owed by guarantors',
  '担保人应付合计 Owed by guarantors',
  '担保人应付明细 Owed by each guarantor',
  '应收利息 Interest receivable',
  '应收罚息 Penalty receivable',
  '逾期天数 Days past due',
  '五级分类 Classification',
  '五级分类中文名 Classification in Chinese',
  '状态 Status',
  '状态中文名 Status in Chinese',
  '展期 Restructured',
  '担保笔数 Guarantees',
  '担保金额 Guaranteed',
  '连带责任担保笔数 Joint and several',
  '连带责任担保金额 Joint and several amount',
  '一般保证笔数 General',
  '一般保证金额 General amount',
  '抵质押物件数 Collateral items',
  '抵质押估值 Collateral valuation',
  '抵质押计入 Collateral counted',
  '覆盖率 Coverage ratio',
] as const;

/** One row per loan of the book, under a header row. */
export function loanBookCsv(book: LoanBookView): string {
  const rows: CsvCell[][] = [
    [...LOAN_BOOK_CSV_HEADER],
    ...book.loans.map((loan): CsvCell[] => [
      book.fundId,
      book.asOf,
      loan.loanId,
      String(loan.number),
      loan.borrower.memberId,
      loan.borrower.name,
      loan.lender.type,
      LENDER_NAMES[loan.lender.type],
      loan.lender.memberId,
      loan.lender.name,
      loan.disbursedOn,
      loan.maturityDate,
      amountCell(loan.amount),
      amountCell(loan.principalOutstanding),
      amountCell(loan.owedBy.borrowerPrincipal),
      amountCell(loan.owedBy.guarantorsPrincipal),
      amountCell(loan.owedBy.guarantorsOwed),
      loan.owedBy.guarantors.map((g) => `${g.name}: ${g.owed}`).join('; '),
      amountCell(loan.interestReceivable),
      loan.penaltyReceivable === null ? null : amountCell(loan.penaltyReceivable),
      String(loan.daysPastDue),
      loan.classification,
      CLASSIFICATION_NAMES[loan.classification],
      loan.status,
      LOAN_STATUS_NAMES[loan.status],
      loan.restructured ? 'true' : 'false',
      String(loan.guarantees.count),
      amountCell(loan.guarantees.total),
      String(loan.guarantees.byType.joint_and_several.count),
      amountCell(loan.guarantees.byType.joint_and_several.total),
      String(loan.guarantees.byType.general.count),
      amountCell(loan.guarantees.byType.general.total),
      String(loan.collateral.count),
      amountCell(loan.collateral.valuation),
      amountCell(loan.collateral.counted),
      loan.coverageRatio,
    ]),
  ];
  return toCsv(rows);
}

export const PAR_CSV_HEADER = [
  '基金 Fund',
  '报告日 As of',
  '出借方 Lender',
  '出借方中文名 Lender in Chinese',
  '逾期天数超过 Days past due above',
  '风险本金 Principal at risk',
  '风险笔数 Loans at risk',
  '组合本金 Portfolio principal',
  '组合笔数 Portfolio loans',
  '比率 Ratio',
] as const;

/** One row per lender (all, pool, peer, bank) and threshold (1, 30, 90), under a header row. */
export function portfolioAtRiskCsv(report: PortfolioAtRiskView): string {
  const rows: CsvCell[][] = [
    [...PAR_CSV_HEADER],
    ...report.portfolios.flatMap((portfolio) =>
      portfolio.thresholds.map((threshold): CsvCell[] => [
        report.fundId,
        report.asOf,
        portfolio.lender,
        PORTFOLIO_NAMES[portfolio.lender],
        String(threshold.days),
        amountCell(threshold.atRiskPrincipal),
        String(threshold.atRiskLoans),
        amountCell(portfolio.principalOutstanding),
        String(portfolio.loans),
        threshold.ratio,
      ]),
    ),
  ];
  return toCsv(rows);
}

const MEASURE_WORDS: Record<ExposureMeasure, string> = {
  pool_loans_paid_in_multiple: '实缴倍数 Paid-in multiple',
  single_borrower: '单一借款人 Single borrower',
  guarantor_capacity: '担保能力 Guarantor capacity',
  related_group: '关联集团 Related group',
};

export const EXPOSURE_CSV_HEADER = [
  '基金 Fund',
  '报告日 As of',
  '范围 Scope',
  '范围中文名 Scope in Chinese',
  '会员ID Member id',
  '会员 Member',
  '关联集团 Related group',
  '实缴资本 Paid-in capital',
  '互助金借款 Pool loans',
  '会员间借入 Peer loans borrowed',
  '会员间借出 Peer loans lent',
  '银行借款 Bank loans',
  '自有担保 Own guarantees',
  '联保分担 Joint-group share',
  '担保合计 Guarantees total',
  '抵质押估值 Collateral valuation',
  '抵质押计入 Collateral counted',
  ...EXPOSURE_MEASURES.flatMap((measure) => [
    `${MEASURE_WORDS[measure]} 限额 limit`,
    `${MEASURE_WORDS[measure]} 实际 actual`,
    `${MEASURE_WORDS[measure]} 超限 breached`,
  ]),
] as const;

type ExposureRow = ExposureView['members'][number] | ExposureView['relatedGroups'][number];

function exposureCells(row: ExposureRow): CsvCell[] {
  const cells: CsvCell[] = [
    amountCell(row.poolLoans),
    amountCell(row.peerLoansBorrowed),
    amountCell(row.peerLoansLent),
    amountCell(row.bankLoans),
    amountCell(row.guaranteesGiven.own),
    amountCell(row.guaranteesGiven.jointGroupShare),
    amountCell(row.guaranteesGiven.total),
    amountCell(row.collateralPledged.valuation),
    amountCell(row.collateralPledged.counted),
  ];
  for (const measure of EXPOSURE_MEASURES) {
    const check = row.limits.find((line) => line.measure === measure);
    cells.push(
      check ? amountCell(check.limit) : null,
      check ? amountCell(check.actual) : null,
      check ? (check.breached ? 'true' : 'false') : null,
    );
  }
  return cells;
}

/** One row per member, then one per related group, under a header row; a limit that does not apply is empty. */
export function exposureCsv(report: ExposureView): string {
  const rows: CsvCell[][] = [
    [...EXPOSURE_CSV_HEADER],
    ...report.members.map((row): CsvCell[] => [
      report.fundId,
      report.asOf,
      'member',
      EXPOSURE_SCOPE_NAMES.member,
      row.member.memberId,
      row.member.name,
      row.member.relatedGroup,
      amountCell(row.paidInCapital),
      ...exposureCells(row),
    ]),
    ...report.relatedGroups.map((row): CsvCell[] => [
      report.fundId,
      report.asOf,
      'related_group',
      EXPOSURE_SCOPE_NAMES.related_group,
      null,
      null,
      row.relatedGroup,
      null,
      ...exposureCells(row),
    ]),
  ];
  return toCsv(rows);
}

/** `attachment` with an ASCII filename naming the report, the fund and the day. */
export function reportContentDisposition(
  report: 'loan-book' | 'portfolio-at-risk' | 'exposure',
  fundId: string,
  asOf: string,
) {
  return `attachment; filename="${report}-${fundId}-${asOf}.csv"`;
}
