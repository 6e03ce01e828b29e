import { runCommand } from '../http/command';
import { fundOf } from '../http/context';
import { beforeNumberOf, numberedPage } from '../http/pagination';
import { defineRoute, ok, type AnyRoute } from '../http/route';
import { pageOf } from '../http/schemas';
import { servicedLoanParams } from './disbursements.schemas';
import type { RepaymentOutcome } from './repayments.service';
import {
  listRepaymentsQuery,
  payoffQuery,
  payoffView,
  repaymentBody,
  repaymentParams,
  repaymentView,
  reverseRepaymentBody,
} from './repayments.schemas';

const TAG = 'Loans';

function auditOf(outcome: RepaymentOutcome, action: string, request: Record<string, unknown>) {
  const { view } = outcome;
  return {
    action,
    targetType: 'loan',
    targetId: view.loanId,
    payload: {
      request,
      repaymentId: view.id,
      number: view.number,
      amount: view.amount,
      receivedOn: view.receivedOn,
      allocated: view.allocated,
      closedLoan: view.closedLoan,
      loanStatus: view.loanStatus,
      accrualAdjustments: view.accrualAdjustments,
      entries: outcome.entries,
    },
  };
}

export const repaymentRoutes: AnyRoute[] = [
  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/loans/{loanId}/repayments',
    operationId: 'recordRepayment',
    summary: 'Record money received from the borrower: fees, then penalty interest, then interest, then principal',
    description:
      'Allocated fee (1204) → penalty interest (1203) → interest accrued to date (1202) → principal (1201), interest and principal to the oldest instalment first; principal beyond the instalments due is a prepayment, which stops interest on it. One entry Dr 1001 / Cr the receivables; a peer loan records its principal in the memo book (Dr 7102 / Cr 7101:<loan>) and its scheduled interest in the schedule only. Guarantees are released in proportion to the principal repaid (Dr 7002 / Cr 7001:<guarantor>); a loan repaid in full closes (`repaid`) and its guarantees are released. More than the payoff is refused whole (422 `repayment_exceeds_payoff`, with the payoff and its parts); a bank reference is recorded once per fund (409 `repayment_reference_taken`).',
    tag: TAG,
    permission: 'loans.repay',
    params: servicedLoanParams,
    body: repaymentBody,
    idempotency: 'required',
    problems: [404, 409, 422],
    response: { status: 201, description: 'The repayment and its allocation', schema: repaymentView },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'required', claim: 'explicit' }, async (trx) => {
        const outcome = await ctx.app.services.repayments.record(
          trx,
          fund,
          ctx.principal,
          params.loanId,
          body,
          ctx.requestId,
        );
        return { status: 201, body: outcome.view, audit: auditOf(outcome, 'loans.repayment.record', body) };
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/loans/{loanId}/repayments/{repaymentId}/reverse',
    operationId: 'reverseRepayment',
    summary: 'Reverse the latest repayment of a loan recorded by mistake',
    description:
      'Only the latest repayment of the loan that is not reversed (409 `repayment_not_latest` otherwise: reverse the later ones first), and none once the loan’s recovery case has taken a step (409 `repayment_before_recovery_step`: the waterfall’s figures rest on them). Posts the mirror of its entry and of its guarantee release, takes its allocations out of the schedule, gives its bank reference back and, if it closed the loan, reopens the loan and its guarantees.',
    tag: TAG,
    permission: 'loans.repayment_reverse',
    params: repaymentParams,
    body: reverseRepaymentBody,
    idempotency: 'required',
    problems: [404, 409, 422],
    response: { status: 200, description: 'The reversed repayment', schema: repaymentView },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'required', claim: 'explicit' }, async (trx) => {
        const outcome = await ctx.app.services.repayments.reverse(
          trx,
          fund,
          ctx.principal,
          params.loanId,
          params.repaymentId,
          body,
          ctx.requestId,
        );
        return { status: 200, body: outcome.view, audit: auditOf(outcome, 'loans.repayment.reverse', body) };
      });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/loans/{loanId}/repayments',
    operationId: 'listRepayments',
    summary: 'The repayments of a loan with their allocations, newest first',
    description:
      'Reversed repayments stay in the list with their reversal. Member users see the loans their enterprise borrows, guarantees or lends.',
    tag: TAG,
    permission: 'loans.read',
    params: servicedLoanParams,
    query: listRepaymentsQuery,
    problems: [404],
    response: { status: 200, description: 'A page of repayments', schema: pageOf(repaymentView) },
    handler: async ({ params, query, ctx }) => {
      const fund = fundOf(ctx);
      const items = await ctx.app.services.repayments.list(ctx.app.db, fund, ctx.principal, params.loanId, {
        beforeNumber: beforeNumberOf(query.cursor),
        limit: query.limit + 1,
      });
      return ok(numberedPage(items, query.limit, (item) => item.number));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/loans/{loanId}/payoff',
    operationId: 'getLoanPayoff',
    summary: 'What repays the loan in full on a day: fee, penalty and interest accrued to date, and principal',
    description:
      'Interest is what the daily job has accrued up to the day (a day in the future is refused). For a peer loan: the scheduled interest of the instalments due by then, unpaid, and the principal in the memo book.',
    tag: TAG,
    permission: 'loans.read',
    params: servicedLoanParams,
    query: payoffQuery,
    problems: [404, 409, 422],
    response: { status: 200, description: 'The payoff', schema: payoffView },
    handler: async ({ params, query, ctx }) => {
      const fund = fundOf(ctx);
      return ok(await ctx.app.services.repayments.payoff(ctx.app.db, fund, ctx.principal, params.loanId, query.asOf));
    },
  }),
];
