import { runCommand } from '../http/command';
import { fundOf } from '../http/context';
import { beforeNumberOf, numberedPage } from '../http/pagination';
import { defineRoute, ok, type AnyRoute } from '../http/route';
import { fundIdParams, pageOf } from '../http/schemas';
import type { DisbursementOutcome } from './disbursements.service';
import {
  disbursementBody,
  disbursementView,
  listLoansQuery,
  loanSummaryView,
  loanView,
  requestParams,
  scheduleView,
  servicedLoanParams,
} from './disbursements.schemas';

const TAG = 'Loans';

function auditOf(outcome: DisbursementOutcome, action: string, request: Record<string, unknown>) {
  return {
    action,
    targetType: 'loan',
    targetId: outcome.view.loanId,
    payload: {
      request,
      disbursementId: outcome.view.id,
      status: outcome.view.status,
      amount: outcome.view.amount,
      disbursedOn: outcome.view.disbursedOn,
      policyVersion: outcome.policyVersion,
      entries: outcome.entries,
    },
  };
}

export const disbursementRoutes: AnyRoute[] = [
  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/loans/{loanId}/disbursements',
    operationId: 'disburseLoan',
    summary: 'Pay out an approved loan (or, above the maker-checker threshold, ask a second administrator to)',
    description:
      'Runs the lending rules again (stage `disbursement`; a failure is 422 `loan_ineligible`). Below `makerCheckerAmountMin` the money moves at once (201, status `executed`): a pool loan posts Dr 1201:<loan> / Cr 1001 from its approval hold and the service fee Dr 1204:<loan> / Cr 4002; a peer loan is recorded in the memo book (Dr 7101:<loan> / Cr 7102); a bank loan’s drawdown by the bank is registered in the memo book (Dr 7201:<loan> / Cr 7202; the fund pays nothing, no hold, no fee) with its schedule on the bank’s rate from the drawdown to the contract’s maturity; accepted guarantees become active (Dr 7001:<guarantor> / Cr 7002) and the repayment schedule is fixed. At or above the threshold nothing moves yet: the answer is 201 with status `awaiting_confirmation`, and another administrator confirms. A pool loan whose approval hold expired is refused (409 `loan_hold_expired`).',
    tag: TAG,
    permission: 'loans.disburse',
    params: servicedLoanParams,
    body: disbursementBody,
    idempotency: 'required',
    problems: [404, 409, 422],
    response: {
      status: 201,
      description: 'The disbursement, executed or awaiting confirmation',
      schema: disbursementView,
    },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'required', claim: 'explicit' }, async (trx) => {
        const outcome = await ctx.app.services.disbursements.disburse(
          trx,
          fund,
          ctx.principal,
          params.loanId,
          body,
          ctx.requestId,
        );
        const action = outcome.executed ? 'loans.disbursement.execute' : 'loans.disbursement.request';
        return { status: 201, body: outcome.view, audit: auditOf(outcome, action, body) };
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/loans/{loanId}/disbursements/{requestId}/confirm',
    operationId: 'confirmDisbursement',
    summary: 'A second administrator confirms a disbursement request, which then executes',
    description:
      'Maker-checker: the administrator who asked cannot confirm (403 `maker_checker_same_admin`). The lending rules run again; a pool loan whose approval hold expired cannot be confirmed (409 `loan_hold_expired`).',
    tag: TAG,
    permission: 'loans.disburse',
    params: requestParams,
    idempotency: 'required',
    problems: [403, 404, 409, 422],
    response: { status: 200, description: 'The executed disbursement', schema: disbursementView },
    handler: async ({ params, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'required', claim: 'explicit' }, async (trx) => {
        const outcome = await ctx.app.services.disbursements.confirm(
          trx,
          fund,
          ctx.principal,
          params.loanId,
          params.requestId,
          ctx.requestId,
        );
        return { status: 200, body: outcome.view, audit: auditOf(outcome, 'loans.disbursement.confirm', {}) };
      });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/loans',
    operationId: 'listLoans',
    summary: 'Loans from approval on, newest first',
    description:
      'Filter by status, by a member taking part (borrower, guarantor or peer lender; `memberRole` narrows it to one of those), by `lender` (pool, peer, bank), by `overdue` and by the `ratification` of fast-tracked loans (`failed`: the committee did not ratify them). Member users see only loans their enterprise borrows, guarantees or lends.',
    tag: TAG,
    permission: 'loans.read',
    params: fundIdParams,
    query: listLoansQuery,
    response: { status: 200, description: 'A page of loans', schema: pageOf(loanSummaryView) },
    handler: async ({ query, ctx }) => {
      const fund = fundOf(ctx);
      const items = await ctx.app.services.disbursements.list(ctx.app.db, fund, ctx.principal, {
        status: query.status,
        memberId: query.memberId,
        memberRole: query.memberRole,
        overdue: query.overdue,
        lender: query.lender,
        ratification: query.ratification,
        beforeNumber: beforeNumberOf(query.cursor),
        limit: query.limit + 1,
      });
      return ok(numberedPage(items, query.limit, (item) => item.number));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/loans/{loanId}',
    operationId: 'getLoan',
    summary: 'One loan: terms, balances, guarantees, collateral, holds and disbursements',
    tag: TAG,
    permission: 'loans.read',
    params: servicedLoanParams,
    problems: [404],
    response: { status: 200, description: 'The loan', schema: loanView },
    handler: async ({ params, ctx }) => {
      const fund = fundOf(ctx);
      return ok(await ctx.app.services.disbursements.get(ctx.app.db, fund, ctx.principal, params.loanId));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/loans/{loanId}/schedule',
    operationId: 'getLoanSchedule',
    summary: 'The repayment schedule in force: due, paid and outstanding per instalment',
    description: 'Empty, with `scheduleVersion` null, until the loan is disbursed.',
    tag: TAG,
    permission: 'loans.read',
    params: servicedLoanParams,
    problems: [404],
    response: { status: 200, description: 'The schedule', schema: scheduleView },
    handler: async ({ params, ctx }) => {
      const fund = fundOf(ctx);
      return ok(await ctx.app.services.disbursements.schedule(ctx.app.db, fund, ctx.principal, params.loanId));
    },
  }),
];
