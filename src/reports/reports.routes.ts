import { jsonOrCsv } from '../capital/statement.csv';
import type { Reply } from '../http/command';
import { fundOf } from '../http/context';
import { defineRoute, ok, type AnyRoute } from '../http/route';
import { fundIdParams } from '../http/schemas';
import { exposureCsv, loanBookCsv, portfolioAtRiskCsv, reportContentDisposition } from './reports.csv';
import {
  classificationHistoryView,
  exposureView,
  historyParams,
  historyQuery,
  loanBookView,
  portfolioAtRiskView,
  reportQuery,
} from './reports.schemas';

const TAG = 'Reports';

const AS_OF_RULES =
  '`asOf` defaults to today in the fund’s time zone; a day after today is 422 `as_of_in_future`, a day before the fund was established 422 `as_of_before_fund`. Answers JSON, or CSV with `Accept: text/csv` (Vary: Accept).';

export const reportRoutes: AnyRoute[] = [
  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/reports/loan-book',
    operationId: 'getLoanBook',
    summary: 'The loan book as of a day: every loan outstanding, its arrears, tier, guarantees and collateral',
    description: `Every pool, peer and bank loan disbursed (drawn) on or before asOf with principal outstanding at the end of that day — owed by the borrower or by guarantors a recovery called for it, who owe it until they pay (\`owedBy\`: each part, and each guarantor's unpaid calls) — by loan number, with totals per tier (five-tier classification as of asOf) and over the book. Days past due, tier and status are computed as of asOf from the schedule in force then and the repayments received by then, so a day the daily job has not run yet is reported too; interest and penalty receivable are the balances booked as of asOf. Member users see only the loans their enterprise borrows, lends or guarantees, and the totals are over those. At most 20,000 loans (422 \`loan_book_too_large\`). ${AS_OF_RULES} CSV: one row per loan.`,
    tag: TAG,
    permission: 'reports.read',
    params: fundIdParams,
    query: reportQuery,
    problems: [422],
    response: { status: 200, description: 'The loan book', schema: loanBookView, alternatives: ['text/csv'] },
    handler: async ({ query, ctx }): Promise<Reply> => {
      const fund = fundOf(ctx);
      const book = await ctx.app.services.reports.loanBook(ctx.app.db, fund, ctx.principal, query.asOf);
      return jsonOrCsv(ctx.headers.accept, book, (view) => ({
        text: loanBookCsv(view),
        contentDisposition: reportContentDisposition('loan-book', fund.id, view.asOf),
      }));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/reports/portfolio-at-risk',
    operationId: 'getPortfolioAtRisk',
    summary: 'Portfolio at risk (PAR1, PAR30, PAR90) as of a day, overall and per lender',
    description: `PAR N = the whole outstanding principal of the loans with any instalment more than N days late on asOf (days past due > N), over the outstanding principal of the portfolio on asOf — not the arrears rate. A loan's principal includes what guarantors called for it still owe (the loan book's \`owedBy\`). For N = 1, 30, 90: the principal and number of loans at risk and the ratio (ROUND_HALF_UP to 4 decimals); an empty portfolio gives "0.0000". For the whole portfolio, pool loans, peer loans and bank loans. Member users get the PAR of the loans their enterprise borrows. ${AS_OF_RULES} CSV: one row per lender and N.`,
    tag: TAG,
    permission: 'reports.read',
    params: fundIdParams,
    query: reportQuery,
    problems: [422],
    response: {
      status: 200,
      description: 'Portfolio at risk',
      schema: portfolioAtRiskView,
      alternatives: ['text/csv'],
    },
    handler: async ({ query, ctx }): Promise<Reply> => {
      const fund = fundOf(ctx);
      const report = await ctx.app.services.reports.portfolioAtRisk(ctx.app.db, fund, ctx.principal, query.asOf);
      return jsonOrCsv(ctx.headers.accept, report, (view) => ({
        text: portfolioAtRiskCsv(view),
        contentDisposition: reportContentDisposition('portfolio-at-risk', fund.id, view.asOf),
      }));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/reports/exposure',
    operationId: 'getExposure',
    summary: 'Exposure per member and related group as of a day, against the policy limits',
    description: `For every member (exited ones only while something is outstanding) and every related group: principal owed to the pool, on peer loans and on bank loans registered with the fund, principal of peer loans lent, guarantees given (own pledges, and the share of joint-group guarantees: each divided equally among the loan's guarantors from the group), and collateral pledged on its loans — all as of the end of asOf. Each against its limit under the policy in force on asOf (paid-in multiple and single-borrower share for pool loans, guarantor capacity, related-group share), with \`breaches\` listing every limit exceeded. Member users get their own row and their related group's. At most 20,000 loans outstanding (422 \`loan_book_too_large\`). ${AS_OF_RULES} CSV: one row per member, then per related group.`,
    tag: TAG,
    permission: 'reports.read',
    params: fundIdParams,
    query: reportQuery,
    problems: [422],
    response: { status: 200, description: 'Exposure', schema: exposureView, alternatives: ['text/csv'] },
    handler: async ({ query, ctx }): Promise<Reply> => {
      const fund = fundOf(ctx);
      const report = await ctx.app.services.reports.exposure(ctx.app.db, fund, ctx.principal, query.asOf);
      return jsonOrCsv(ctx.headers.accept, report, (view) => ({
        text: exposureCsv(view),
        contentDisposition: reportContentDisposition('exposure', fund.id, view.asOf),
      }));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/loans/{loanId}/classification-history',
    operationId: 'getLoanClassificationHistory',
    summary: 'When a loan moved between tiers or statuses, and why',
    description:
      'Every change the daily job recorded (and the restructuring an extension applied), oldest first: the day, the tiers and statuses from and to, the days past due and the reason. Visible to whoever may see the loan (GET …/loans/{loanId}); any other loan is 404 `loan_not_found`.',
    tag: TAG,
    permission: 'loans.read',
    params: historyParams,
    query: historyQuery,
    problems: [404],
    response: {
      status: 200,
      description: 'A page of the loan’s classification history',
      schema: classificationHistoryView,
    },
    handler: async ({ params, query, ctx }) => {
      const fund = fundOf(ctx);
      // The loan view's own visibility rule: a loan the caller may not see is "not found".
      const loan = await ctx.app.services.disbursements.get(ctx.app.db, fund, ctx.principal, params.loanId);
      return ok(
        await ctx.app.services.reports.classificationHistory(ctx.app.db, fund, loan, {
          limit: query.limit,
          cursor: query.cursor,
        }),
      );
    },
  }),
];
