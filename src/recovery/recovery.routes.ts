import { runCommand } from '../http/command';
import { fundOf } from '../http/context';
import { beforeNumberOf, numberedPage } from '../http/pagination';
import { defineRoute, ok, type AnyRoute } from '../http/route';
import { pageOf } from '../http/schemas';
import {
  actionParams,
  actionView,
  callFailureBody,
  callParams,
  callPaymentBody,
  caseActionBody,
  caseParams,
  caseSummaryView,
  caseView,
  collateralParams,
  declareDefaultBody,
  listCasesQuery,
  loanParams,
  realisationBody,
  recoveryReceiptBody,
  type CaseView,
} from './recovery.schemas';

const TAG = 'Recovery';

function caseAudit(action: string, view: CaseView, request: Record<string, unknown>) {
  const last = view.steps[view.steps.length - 1];
  return {
    action,
    targetType: 'recovery_case',
    targetId: view.id,
    payload: {
      request,
      loanId: view.loanId,
      step: last ?? null,
      outstanding: view.outstanding,
      caseStatus: view.status,
    },
  };
}

export const recoveryRoutes: AnyRoute[] = [
  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/recovery-cases',
    operationId: 'listRecoveryCases',
    summary: 'Recovery cases of defaulted pool loans, newest first',
    description:
      'Filters: `status` (open, closed), `loanId`. Member users see the cases of loans their enterprise borrowed or guarantees.',
    tag: TAG,
    permission: 'recovery.read',
    params: caseParams.pick({ fundId: true }),
    query: listCasesQuery,
    response: { status: 200, description: 'A page of cases', schema: pageOf(caseSummaryView) },
    handler: async ({ query, ctx }) => {
      const fund = fundOf(ctx);
      const items = await ctx.app.services.recovery.list(ctx.app.db, fund, ctx.principal, {
        status: query.status,
        loanId: query.loanId,
        beforeNumber: beforeNumberOf(query.cursor),
        limit: query.limit + 1,
      });
      return ok(numberedPage(items, query.limit, (item) => item.number));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/recovery-cases/{caseId}',
    operationId: 'getRecoveryCase',
    summary: 'A recovery case: what the loan owes, collateral, calls, subrogated claims, actions and steps in order',
    description: 'A member user sees only the cases of loans its enterprise borrowed or guarantees (404 otherwise).',
    tag: TAG,
    permission: 'recovery.read',
    params: caseParams,
    problems: [404],
    response: { status: 200, description: 'The case', schema: caseView },
    handler: async ({ params, ctx }) =>
      ok(await ctx.app.services.recovery.get(ctx.app.db, fundOf(ctx), ctx.principal, params.caseId)),
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/loans/{loanId}/recovery-actions',
    operationId: 'proposeDefault',
    summary: 'Propose to the committee that an overdue pool loan be declared in default',
    description:
      'Put on a meeting’s agenda with `recoveryActionIds`; a passed resolution marks the loan defaulted and opens its recovery case, dated the meeting. Peer and bank loans have no recovery case (422 `recovery_not_for_lender`); a loan that is not overdue is refused (422 `loan_not_in_default`); one with a case already, 409 `recovery_case_exists`; one action of a loan waits for the committee at a time (409 `recovery_action_pending`).',
    tag: TAG,
    permission: 'recovery.manage',
    params: loanParams,
    body: declareDefaultBody,
    idempotency: 'optional',
    problems: [404, 409, 422],
    response: { status: 201, description: 'The proposed action', schema: actionView },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const view = await ctx.app.services.recovery.proposeDefault(trx, fund, ctx.principal, params.loanId, body);
        return {
          status: 201,
          body: view,
          audit: {
            action: 'recovery.action.propose',
            targetType: 'recovery_action',
            targetId: view.id,
            payload: { request: body, loanId: view.loanId },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/recovery-cases/{caseId}/actions',
    operationId: 'proposeRecoveryAction',
    summary: 'Propose a step of the case to the committee: call the guarantors, offset capital, write off, close',
    description:
      'Refused when the case’s state does not allow the step now, with the step expected: 422 `collateral_pending` (realise or write off every collateral item first), `guarantor_calls_pending` (calls neither paid nor failed), `capital_offset_pending`, `write_off_pending`, `recovery_step_out_of_order`, `nothing_to_recover`; 409 `recovery_case_closed`, `recovery_action_pending`. A capital offset while a joint-and-several guarantor still stands behind the loan (not yet called, or called, paid and still standing behind more, never failed), and a write-off while a general guarantor still does, is refused with 422 `guarantor_still_stands` naming each with its amount — unless the proposal carries `waiveStandingGuarantees`: the action then lists the guarantees waived with their amounts, and the motion, the resolution’s result, its audit row and the minutes show them (422 `nothing_to_waive` when none stands). The committee checks again when it decides: a step the state no longer allows (a guarantee standing behind more than the waiver named, among others) is recorded `ineligible`.',
    tag: TAG,
    permission: 'recovery.manage',
    params: caseParams,
    body: caseActionBody,
    idempotency: 'optional',
    problems: [404, 409, 422],
    response: { status: 201, description: 'The proposed action', schema: actionView },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const view = await ctx.app.services.recovery.propose(trx, fund, ctx.principal, params.caseId, body);
        return {
          status: 201,
          body: view,
          audit: {
            action: 'recovery.action.propose',
            targetType: 'recovery_action',
            targetId: view.id,
            payload: { request: body, caseId: view.caseId },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/recovery-actions/{actionId}',
    operationId: 'getRecoveryAction',
    summary: 'A recovery action and its resolution',
    tag: TAG,
    permission: 'recovery.read',
    params: actionParams,
    problems: [404],
    response: { status: 200, description: 'The action', schema: actionView },
    handler: async ({ params, ctx }) =>
      ok(await ctx.app.services.recovery.getAction(ctx.app.db, fundOf(ctx), ctx.principal, params.actionId)),
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/recovery-actions/{actionId}/withdraw',
    operationId: 'withdrawRecoveryAction',
    summary: 'Withdraw a proposed action the committee has not decided',
    description: 'An open agenda item naming it closes `withdrawn` when the committee comes to it.',
    tag: TAG,
    permission: 'recovery.manage',
    params: actionParams,
    idempotency: 'optional',
    problems: [404, 409],
    response: { status: 200, description: 'The withdrawn action', schema: actionView },
    handler: async ({ params, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const view = await ctx.app.services.recovery.withdraw(trx, fund, params.actionId);
        return {
          status: 200,
          body: view,
          audit: {
            action: 'recovery.action.withdraw',
            targetType: 'recovery_action',
            targetId: view.id,
            payload: { loanId: view.loanId },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/recovery-cases/{caseId}/collateral/{collateralId}/realisation',
    operationId: 'realiseCollateral',
    summary: 'Record the realisation of a collateral item (or that it is worthless)',
    description:
      'Realised: the net proceeds (gross less costs) are applied as a repayment received on `takenOn` — fee, penalty interest, interest, principal; guarantees released in proportion to the principal repaid — and more than the loan owes is refused (422 `realisation_exceeds_owed`: the surplus is the pledgor’s). Worthless: recorded, nothing posted. A loan repaid in full closes its case.',
    tag: TAG,
    permission: 'recovery.manage',
    params: collateralParams,
    body: realisationBody,
    idempotency: 'required',
    problems: [404, 409, 422],
    response: { status: 201, description: 'The case after the step', schema: caseView },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'required' }, async (trx) => {
        const view = await ctx.app.services.recovery.realiseCollateral(
          trx,
          fund,
          ctx.principal,
          params,
          body,
          ctx.requestId,
        );
        return { status: 201, body: view, audit: caseAudit('recovery.collateral.realise', view, body) };
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/recovery-cases/{caseId}/calls/{callId}/payments',
    operationId: 'recordGuarantorPayment',
    summary: 'Record a guarantor’s payment of its call; the guarantor gets a subrogated claim',
    description:
      'Dr 1001 / Cr 1301:<guarantor>; in the memo book the guarantee goes down by what was paid (Dr 7002 / Cr 7001:<guarantor>) and the guarantor’s subrogated claim against the borrower goes up (Dr 7401:<guarantor> / Cr 7402). More than the call leaves unpaid is refused (422 `payment_exceeds_call`).',
    tag: TAG,
    permission: 'recovery.manage',
    params: callParams,
    body: callPaymentBody,
    idempotency: 'required',
    problems: [404, 409, 422],
    response: { status: 201, description: 'The case after the payment', schema: caseView },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'required' }, async (trx) => {
        const view = await ctx.app.services.recovery.recordPayment(
          trx,
          fund,
          ctx.principal,
          params,
          body,
          ctx.requestId,
        );
        return { status: 201, body: view, audit: caseAudit('recovery.call.pay', view, body) };
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/recovery-cases/{caseId}/calls/{callId}/failure',
    operationId: 'recordGuarantorFailure',
    summary: 'Record that a guarantor failed to pay its call after the due date',
    description:
      'The unpaid part goes back onto the loan, principal first (Dr the receivables / Cr 1301:<guarantor>); the other joint-and-several guarantors can be called for it by another resolution. Before the due date: 422 `call_not_due`.',
    tag: TAG,
    permission: 'recovery.manage',
    params: callParams,
    body: callFailureBody,
    idempotency: 'required',
    problems: [404, 409, 422],
    response: { status: 201, description: 'The case after the failure', schema: caseView },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'required' }, async (trx) => {
        const view = await ctx.app.services.recovery.recordFailure(
          trx,
          fund,
          ctx.principal,
          params,
          body,
          ctx.requestId,
        );
        return { status: 201, body: view, audit: caseAudit('recovery.call.fail', view, body) };
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/recovery-cases/{caseId}/recoveries',
    operationId: 'recordRecovery',
    summary: 'Record money recovered after the write-off (recovery income)',
    description: 'Dr 1001 / Cr 4004. Before the write-off: 422 `write_off_pending`.',
    tag: TAG,
    permission: 'recovery.manage',
    params: caseParams,
    body: recoveryReceiptBody,
    idempotency: 'required',
    problems: [404, 409, 422],
    response: { status: 201, description: 'The case after the receipt', schema: caseView },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'required' }, async (trx) => {
        const view = await ctx.app.services.recovery.recordRecovery(
          trx,
          fund,
          ctx.principal,
          params.caseId,
          body,
          ctx.requestId,
        );
        return { status: 201, body: view, audit: caseAudit('recovery.receipt.record', view, body) };
      });
    },
  }),
];
