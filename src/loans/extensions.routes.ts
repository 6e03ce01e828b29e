import { runCommand } from '../http/command';
import { fundOf } from '../http/context';
import { beforeNumberOf, numberedPage } from '../http/pagination';
import { defineRoute, ok, type AnyRoute } from '../http/route';
import { pageOf } from '../http/schemas';
import {
  extensionGuaranteeParams,
  extensionParams,
  extensionView,
  listExtensionsQuery,
  requestExtensionBody,
  withdrawExtensionBody,
} from './extensions.schemas';
import { consentBody, loanParams } from './loans.schemas';

const TAG = 'Loan extensions';

export const extensionRoutes: AnyRoute[] = [
  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/loans/{loanId}/extensions',
    operationId: 'requestLoanExtension',
    summary: 'Ask for a later maturity (展期): guarantors consent, then the committee decides',
    description:
      'By the borrower’s users or an administrator, for an active, overdue or defaulted pool or peer loan whose borrower is active (a bank loan: 409 `bank_loan_not_extendable`, its bank extends it). One extension in progress per loan (409 `extension_already_open`). The new maturity must be after the current one (422 `maturity_not_extended`) and after today (422 `maturity_not_after_today`), and the whole term from disbursement within the policy’s `termDaysMax` (422 `extension_term_exceeds_policy`). Every active guarantee is asked to consent (Civil Code art. 695). The committee puts it on an agenda (`extensionIds` of POST …/meetings); an approval regenerates the schedule. Changes the schedule once approved: an Idempotency-Key is required.',
    tag: TAG,
    permission: 'loan_extensions.request',
    params: loanParams,
    body: requestExtensionBody,
    idempotency: 'required',
    problems: [403, 404, 409, 422],
    response: {
      status: 201,
      description: 'The extension, waiting for consents and the committee',
      schema: extensionView,
    },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'required' }, async (trx) => {
        const view = await ctx.app.services.extensions.request(trx, fund, ctx.principal, params.loanId, body);
        return {
          status: 201,
          body: view,
          audit: {
            action: 'loans.extension.request',
            targetType: 'loan_extension',
            targetId: view.id,
            payload: {
              request: body,
              loanId: view.loanId,
              number: view.number,
              maturityDateBefore: view.maturityDateBefore,
              consentsAsked: view.consents.map((c) => c.guaranteeId),
            },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/loans/{loanId}/extensions/{extensionId}/withdraw',
    operationId: 'withdrawLoanExtension',
    summary: 'Withdraw an extension before the committee decides',
    description:
      'By the borrower’s users or an administrator, while it is submitted or under review (409 `extension_not_withdrawable`). An open agenda item on it closes as withdrawn when decided.',
    tag: TAG,
    permission: 'loan_extensions.withdraw',
    params: extensionParams,
    body: withdrawExtensionBody,
    idempotency: 'optional',
    problems: [403, 404, 409],
    response: { status: 200, description: 'The extension, withdrawn', schema: extensionView },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const { view, from } = await ctx.app.services.extensions.withdraw(
          trx,
          fund,
          ctx.principal,
          params,
          body.reason,
        );
        return {
          status: 200,
          body: view,
          audit: {
            action: 'loans.extension.withdraw',
            targetType: 'loan_extension',
            targetId: view.id,
            payload: { request: body, loanId: view.loanId, from },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/loans/{loanId}/extensions/{extensionId}/guarantees/{guaranteeId}/consent',
    operationId: 'consentToLoanExtension',
    summary: 'A guarantor agrees in writing to the extension, or declines it',
    description:
      'Only users bound to the guarantor member (403 `not_guarantor`), once (409 `consent_already_decided`), while the extension is in progress (409 `extension_closed`). Under Civil Code art. 695 a guarantor who does not agree stays bound only to the original term: a decline blocks the approval.',
    tag: TAG,
    permission: 'loan_guarantees.consent',
    params: extensionGuaranteeParams,
    body: consentBody,
    idempotency: 'optional',
    problems: [403, 404, 409],
    response: { status: 200, description: 'The extension with its consents', schema: extensionView },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const { view, guarantorMemberId } = await ctx.app.services.extensions.consent(trx, fund, ctx.principal, {
          ...params,
          decision: body.decision,
          reason: body.reason,
        });
        return {
          status: 200,
          body: view,
          audit: {
            action: `loans.extension.consent.${body.decision}`,
            targetType: 'loan_extension',
            targetId: view.id,
            payload: { request: body, loanId: view.loanId, guaranteeId: params.guaranteeId, guarantorMemberId },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/loans/{loanId}/extensions',
    operationId: 'listLoanExtensions',
    summary: 'A loan’s extensions, newest first',
    description: 'Member users see the extensions of loans their enterprise borrows, guarantees or lends.',
    tag: TAG,
    permission: 'loan_extensions.read',
    params: loanParams,
    query: listExtensionsQuery,
    problems: [404],
    response: { status: 200, description: 'A page of extensions', schema: pageOf(extensionView) },
    handler: async ({ params, query, ctx }) => {
      const items = await ctx.app.services.extensions.list(ctx.app.db, fundOf(ctx), ctx.principal, params.loanId, {
        beforeNumber: beforeNumberOf(query.cursor),
        limit: query.limit + 1,
      });
      return ok(numberedPage(items, query.limit, (item) => item.number));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/loans/{loanId}/extensions/{extensionId}',
    operationId: 'getLoanExtension',
    summary: 'One extension: consents, decision, and what the restructuring did',
    tag: TAG,
    permission: 'loan_extensions.read',
    params: extensionParams,
    problems: [404],
    response: { status: 200, description: 'The extension', schema: extensionView },
    handler: async ({ params, ctx }) =>
      ok(await ctx.app.services.extensions.get(ctx.app.db, fundOf(ctx), ctx.principal, params)),
  }),
];
