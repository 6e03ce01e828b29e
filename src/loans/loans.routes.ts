import { runCommand } from '../http/command';
import { fundOf } from '../http/context';
import { beforeNumberOf, numberedPage } from '../http/pagination';
import { defineRoute, ok, type AnyRoute } from '../http/route';
import { fundIdParams, pageOf } from '../http/schemas';
import {
  applicationView,
  consentBody,
  createApplicationBody,
  guaranteeParams,
  listApplicationsQuery,
  loanParams,
  updateApplicationBody,
  withdrawBody,
} from './loans.schemas';

const TAG = 'Loan applications';

// No money moves in any of these: an Idempotency-Key is optional everywhere.
export const loansRoutes: AnyRoute[] = [
  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/loan-applications',
    operationId: 'createLoanApplication',
    summary: 'Draft a loan application with its proposed guarantors and collateral',
    description:
      'A member user applies for its own enterprise; an administrator may apply on behalf of any member. The draft can be edited until it is submitted. Each proposed guarantor (and a peer lender) is then asked to consent.',
    tag: TAG,
    permission: 'loan_applications.create',
    params: fundIdParams,
    body: createApplicationBody,
    idempotency: 'optional',
    problems: [403, 422],
    response: { status: 201, description: 'The draft', schema: applicationView },
    handler: async ({ body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const view = await ctx.app.services.loans.create(trx, fund, ctx.principal, body, ctx.requestId);
        return {
          status: 201,
          body: view,
          audit: {
            action: 'loans.application.create',
            targetType: 'loan',
            targetId: view.id,
            payload: { request: body, number: view.number },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'patch',
    path: '/funds/{fundId}/loan-applications/{loanId}',
    operationId: 'updateLoanApplication',
    summary: 'Edit a draft application',
    description:
      'Only drafts change. Guarantor and collateral lists, when given, replace the old ones: a guarantor kept on the same terms keeps its decision; changing the amount, term, repayment method or lender asks the guarantors and the peer lender again.',
    tag: TAG,
    permission: 'loan_applications.update',
    params: loanParams,
    body: updateApplicationBody,
    idempotency: 'optional',
    problems: [403, 404, 409, 422],
    response: { status: 200, description: 'The draft as changed', schema: applicationView },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const { view, reopened } = await ctx.app.services.loans.update(
          trx,
          fund,
          ctx.principal,
          params.loanId,
          body,
          ctx.requestId,
        );
        return {
          status: 200,
          body: view,
          audit: {
            action: 'loans.application.update',
            targetType: 'loan',
            targetId: view.id,
            payload: { request: body, version: view.version, guaranteesReopened: reopened },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/loan-applications/{loanId}/submit',
    operationId: 'submitLoanApplication',
    summary: 'Submit a draft for the committee, after the eligibility checks',
    description:
      'Runs the lending rules of the policy in force (borrower standing, limits, term, coverage by ACCEPTED guarantees and collateral, guarantors, available pool cash); a refusal is one 422 `loan_ineligible`: `rule`, `limit` and `actual` of the first failure, every failure in `failures`, and a `detail` sentence naming every rule that failed with its figures. Guarantors consent before submission.',
    tag: TAG,
    permission: 'loan_applications.submit',
    params: loanParams,
    idempotency: 'optional',
    problems: [403, 404, 409, 422],
    response: { status: 200, description: 'The submitted application', schema: applicationView },
    handler: async ({ params, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const { view, policyVersion } = await ctx.app.services.loans.submit(
          trx,
          fund,
          ctx.principal,
          params.loanId,
          ctx.requestId,
        );
        return {
          status: 200,
          body: view,
          audit: {
            action: 'loans.application.submit',
            targetType: 'loan',
            targetId: view.id,
            payload: {
              policyVersion,
              amount: view.amount,
              coverage: view.coverage,
              // Submission gives the loan the guarantees of its joint group (ADR 0016).
              jointGroupId: view.jointGroupId,
              jointGroupGuarantees: view.guarantees
                .filter((g) => g.jointGroupId !== undefined)
                .map((g) => ({ id: g.id, memberId: g.memberId, amount: g.amount })),
            },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/loan-applications/{loanId}/withdraw',
    operationId: 'withdrawLoanApplication',
    summary: 'Withdraw an application before a decision',
    description: 'By the borrower’s users or an administrator; standing guarantees are withdrawn with it.',
    tag: TAG,
    permission: 'loan_applications.withdraw',
    params: loanParams,
    body: withdrawBody,
    idempotency: 'optional',
    problems: [403, 404, 409],
    response: { status: 200, description: 'The withdrawn application', schema: applicationView },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const { view, from } = await ctx.app.services.loans.withdraw(
          trx,
          fund,
          ctx.principal,
          params.loanId,
          body.reason,
        );
        return {
          status: 200,
          body: view,
          audit: {
            action: 'loans.application.withdraw',
            targetType: 'loan',
            targetId: view.id,
            payload: { request: body, from },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/loan-applications/{loanId}/guarantees/{guaranteeId}/consent',
    operationId: 'decideGuarantee',
    summary: 'The guarantor accepts or declines its guarantee',
    description:
      'Only a user bound to the guarantor member (member or committee role) decides; anybody else gets 403 `not_guarantor`. A decline stays on record. A guarantee counts towards coverage only once accepted.',
    tag: TAG,
    permission: 'loan_guarantees.consent',
    params: guaranteeParams,
    body: consentBody,
    idempotency: 'optional',
    problems: [403, 404, 409],
    response: { status: 200, description: 'The application with the decision', schema: applicationView },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const { view, guarantee } = await ctx.app.services.loans.decideGuarantee(
          trx,
          fund,
          ctx.principal,
          {
            loanId: params.loanId,
            guaranteeId: params.guaranteeId,
            decision: body.decision,
            reason: body.reason,
          },
          ctx.requestId,
        );
        return {
          status: 200,
          body: view,
          audit: {
            action: `loans.guarantee.${body.decision}`,
            targetType: 'loan_guarantee',
            targetId: guarantee.id,
            payload: {
              request: body,
              loanId: view.id,
              guarantorMemberId: guarantee.guarantor_member_id,
              amount: guarantee.amount,
            },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/loan-applications/{loanId}/lender-consent',
    operationId: 'decideAsPeerLender',
    summary: 'The peer lender agrees to lend, or declines',
    description:
      'Only a user bound to the lending member (member or committee role) decides; anybody else gets 403 `not_peer_lender`.',
    tag: TAG,
    permission: 'loan_applications.lender_consent',
    params: loanParams,
    body: consentBody,
    idempotency: 'optional',
    problems: [403, 404, 409],
    response: { status: 200, description: 'The application with the decision', schema: applicationView },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const view = await ctx.app.services.loans.decideAsLender(trx, fund, ctx.principal, {
          loanId: params.loanId,
          decision: body.decision,
          reason: body.reason,
        });
        return {
          status: 200,
          body: view,
          audit: {
            action: `loans.lender_consent.${body.decision}`,
            targetType: 'loan',
            targetId: view.id,
            payload: { request: body, peerLenderMemberId: view.lender.memberId },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/loan-applications',
    operationId: 'listLoanApplications',
    summary: 'Loan applications, newest first',
    description:
      'Filter by status and by a member taking part (borrower, guarantor or peer lender). Member users see only the applications their enterprise borrows, guarantees or lends in.',
    tag: TAG,
    permission: 'loan_applications.read',
    params: fundIdParams,
    query: listApplicationsQuery,
    response: { status: 200, description: 'A page of applications', schema: pageOf(applicationView) },
    handler: async ({ query, ctx }) => {
      const fund = fundOf(ctx);
      const items = await ctx.app.services.loans.list(ctx.app.db, fund, ctx.principal, {
        status: query.status,
        memberId: query.memberId,
        beforeNumber: beforeNumberOf(query.cursor),
        limit: query.limit + 1,
      });
      return ok(numberedPage(items, query.limit, (item) => item.number));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/loan-applications/{loanId}',
    operationId: 'getLoanApplication',
    summary: 'One application with its guarantees, collateral and coverage',
    description: 'Coverage is computed against the policy in force today.',
    tag: TAG,
    permission: 'loan_applications.read',
    params: loanParams,
    problems: [404],
    response: { status: 200, description: 'The application', schema: applicationView },
    handler: async ({ params, ctx }) => {
      const fund = fundOf(ctx);
      return ok(await ctx.app.services.loans.get(ctx.app.db, fund, ctx.principal, params.loanId));
    },
  }),
];
