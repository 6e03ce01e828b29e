import { memberScope } from '../auth/permissions';
import { actorOf } from '../auth/principal';
import { runCommand, type Reply } from '../http/command';
import { fundOf } from '../http/context';
import { decodeCursor, pageOf as paginate, beforeNumberOf, numberedPage } from '../http/pagination';
import { defineRoute, ok, type AnyRoute } from '../http/route';
import { fundIdParams, pageOf } from '../http/schemas';
import {
  callBody,
  callParams,
  callSummaryView,
  callView,
  contributionBody,
  contributionCursor,
  contributionParams,
  contributionView,
  fundContributionsQuery,
  listCallsQuery,
  memberContributionsQuery,
  memberParams,
  reverseContributionBody,
  statementQuery,
  statementView,
} from './capital.schemas';
import type { ContributionView } from './capital.views';
import { jsonOrCsv, statementContentDisposition, statementCsv } from './statement.csv';

const TAG = 'Capital';

const contributionPosition = (item: ContributionView) => ({ receivedOn: item.receivedOn, id: item.id });

export const capitalRoutes: AnyRoute[] = [
  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/members/{memberId}/contributions',
    operationId: 'recordContribution',
    summary: 'Record paid-in capital (实缴) received from a member',
    description:
      'Posts Dr pool cash / Cr member capital dated `receivedOn` and matches the money to the member’s open capital calls, oldest due date first; the rest is paid-in capital tied to no call. Refused if it would take paid-in capital above the subscription, for an exited member, or for a bank reference already recorded in the fund.',
    tag: TAG,
    permission: 'contributions.record',
    params: memberParams,
    body: contributionBody,
    idempotency: 'required',
    problems: [404, 409, 422],
    response: { status: 201, description: 'The contribution with its allocations', schema: contributionView },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      // 'explicit': the sub-account may be created before the entry, so the entry is not the first write.
      return runCommand(ctx, { idempotency: 'required', claim: 'explicit' }, async (trx) => {
        const contribution = await ctx.app.services.capital.recordContribution(trx, {
          fund,
          memberId: params.memberId,
          amount: body.amount,
          receivedOn: body.receivedOn,
          bankReference: body.bankReference,
          memo: body.memo,
          actor: actorOf(ctx.principal),
          requestId: ctx.requestId,
        });
        return {
          status: 201,
          body: contribution,
          audit: {
            action: 'capital.contribution.record',
            targetType: 'contribution',
            targetId: contribution.id,
            payload: {
              request: body,
              memberId: params.memberId,
              entryId: contribution.entryId,
              allocations: contribution.allocations,
            },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/contributions/{contributionId}/reverse',
    operationId: 'reverseContribution',
    summary: 'Reverse a contribution booked by mistake',
    description:
      'Posts the mirror entry (Dr member capital / Cr pool cash) dated `reversedOn`, marks the contribution reversed and frees its bank reference, so the transfer can be recorded again for the right member or amount. What it paid against capital calls is owed again. A contribution is reversed once; the journal entry of a contribution cannot be reversed by a manual reversal.',
    tag: TAG,
    permission: 'contributions.reverse',
    params: contributionParams,
    body: reverseContributionBody,
    idempotency: 'required',
    problems: [404, 409, 422],
    response: { status: 201, description: 'The contribution, reversed', schema: contributionView },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'required', claim: 'explicit' }, async (trx) => {
        const contribution = await ctx.app.services.capital.reverseContribution(trx, {
          fund,
          contributionId: params.contributionId,
          reversedOn: body.reversedOn,
          reason: body.reason,
          actor: actorOf(ctx.principal),
          requestId: ctx.requestId,
        });
        return {
          status: 201,
          body: contribution,
          audit: {
            action: 'capital.contribution.reverse',
            targetType: 'contribution',
            targetId: contribution.id,
            payload: { request: body, memberId: contribution.memberId, reversal: contribution.reversal },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/members/{memberId}/contributions',
    operationId: 'listMemberContributions',
    summary: 'A member’s contributions, newest first',
    description: 'Member users see only their own enterprise.',
    tag: TAG,
    permission: 'contributions.read',
    params: memberParams,
    query: memberContributionsQuery,
    problems: [404],
    response: { status: 200, description: 'A page of contributions', schema: pageOf(contributionView) },
    handler: async ({ params, query, ctx }) => {
      const fund = fundOf(ctx);
      const { capital } = ctx.app.services;
      await capital.visibleMember(ctx.app.db, fund.id, params.memberId, memberScope(ctx.principal));
      const after = decodeCursor(query.cursor, contributionCursor);
      const items = await capital.listContributions(ctx.app.db, fund.id, {
        memberId: params.memberId,
        after,
        limit: query.limit + 1,
      });
      return ok(paginate(items, query.limit, (item) => item, contributionPosition));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/contributions',
    operationId: 'listContributions',
    summary: 'Contributions of the fund, newest first',
    description:
      'Filter by member and by the day received. Member users see only their own enterprise’s contributions.',
    tag: TAG,
    permission: 'contributions.read',
    params: fundIdParams,
    query: fundContributionsQuery,
    response: { status: 200, description: 'A page of contributions', schema: pageOf(contributionView) },
    handler: async ({ query, ctx }) => {
      const fund = fundOf(ctx);
      const scope = memberScope(ctx.principal);
      const after = decodeCursor(query.cursor, contributionCursor);
      // A member user asking for another member's contributions gets what it may see of them: none.
      const items =
        scope !== undefined && query.memberId !== undefined && query.memberId !== scope
          ? []
          : await ctx.app.services.capital.listContributions(ctx.app.db, fund.id, {
              memberId: scope ?? query.memberId,
              from: query.from,
              to: query.to,
              after,
              limit: query.limit + 1,
            });
      return ok(paginate(items, query.limit, (item) => item, contributionPosition));
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/capital-calls',
    operationId: 'createCapitalCall',
    summary: 'Call a percentage of every member’s subscription',
    description:
      'Each member that has not exited owes subscription × percent / 100, rounded half up to the cent and capped at its uncalled room (subscription − paid-in − outstanding on open calls). Members with no room get no item. Moves no money; an Idempotency-Key is optional.',
    tag: TAG,
    permission: 'capital_calls.create',
    params: fundIdParams,
    body: callBody,
    idempotency: 'optional',
    problems: [409, 422],
    response: { status: 201, description: 'The call with its items', schema: callView },
    handler: async ({ body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'optional', claim: 'explicit' }, async (trx) => {
        const call = await ctx.app.services.capital.createCall(trx, {
          fund,
          percent: body.percent,
          calledOn: body.calledOn,
          dueOn: body.dueOn,
          memo: body.memo,
          actor: actorOf(ctx.principal),
        });
        return {
          status: 201,
          body: call,
          audit: {
            action: 'capital.call.create',
            targetType: 'capital_call',
            targetId: call.id,
            payload: {
              request: body,
              number: call.number,
              items: call.items.map((item) => ({ memberId: item.memberId, due: item.due })),
              totalDue: call.totals.due,
            },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/capital-calls',
    operationId: 'listCapitalCalls',
    summary: 'Capital calls, newest first, with their totals',
    description: 'Member users see only the calls they have an item in, with the totals of that item.',
    tag: TAG,
    permission: 'capital_calls.read',
    params: fundIdParams,
    query: listCallsQuery,
    response: { status: 200, description: 'A page of calls', schema: pageOf(callSummaryView) },
    handler: async ({ query, ctx }) => {
      const fund = fundOf(ctx);
      const calls = await ctx.app.services.capital.listCalls(ctx.app.db, fund, {
        memberId: memberScope(ctx.principal),
        beforeNumber: beforeNumberOf(query.cursor),
        limit: query.limit + 1,
      });
      return ok(numberedPage(calls, query.limit, (call) => call.number));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/capital-calls/{callId}',
    operationId: 'getCapitalCall',
    summary: 'One capital call: each member’s due, paid and outstanding amounts',
    description: 'Member users see only their own item, and only calls they have an item in.',
    tag: TAG,
    permission: 'capital_calls.read',
    params: callParams,
    problems: [404],
    response: { status: 200, description: 'The call', schema: callView },
    handler: async ({ params, ctx }) => {
      const fund = fundOf(ctx);
      return ok(await ctx.app.services.capital.getCall(ctx.app.db, fund, params.callId, memberScope(ctx.principal)));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/members/{memberId}/statement',
    operationId: 'getMemberStatement',
    summary: 'A member’s capital statement for a period (JSON, or CSV with Accept: text/csv)',
    description:
      'Opening balance of the member’s capital account at the end of the day before `from`, every movement dated in the period with its running balance, and the closing balance at the end of `to`; the calls as they stood at the end of `to`, and the contributions received in the period. At most 10 years. Member users see only their own enterprise.',
    tag: TAG,
    permission: 'statements.read',
    params: memberParams,
    query: statementQuery,
    problems: [404, 422],
    response: { status: 200, description: 'The statement', schema: statementView, alternatives: ['text/csv'] },
    handler: async ({ params, query, ctx }): Promise<Reply> => {
      const fund = fundOf(ctx);
      const { capital } = ctx.app.services;
      const member = await capital.visibleMember(ctx.app.db, fund.id, params.memberId, memberScope(ctx.principal));
      const statement = await capital.statement(ctx.app.db, fund, member, query);
      return jsonOrCsv(ctx.headers.accept, statement, (view) => ({
        text: statementCsv(view),
        contentDisposition: statementContentDisposition(view),
      }));
    },
  }),
];
