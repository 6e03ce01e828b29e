import { z } from 'zod';
import { memberScope } from '../auth/permissions';
import { actorOf } from '../auth/principal';
import { runCommand } from '../http/command';
import { fundOf } from '../http/context';
import { cursorParam, decodeCursor, limitParam, pageOf as paginate } from '../http/pagination';
import { defineRoute, ok, type AnyRoute } from '../http/route';
import { amountOutput, isoDate, pageOf, timestamp, uuid } from '../http/schemas';
import { exitError } from './exits.errors';
import type { MemberExit } from './exits.service';

const TAG = 'Exits';

const memberParams = z.strictObject({ fundId: uuid, memberId: uuid });
const exitParams = z.strictObject({ fundId: uuid, exitId: uuid });
const fundParams = z.strictObject({ fundId: uuid });

const exitBody = z.strictObject({
  reason: z.string().min(1).max(500),
  requestedOn: isoDate.optional().meta({ description: 'The exit date; default today in the fund’s time zone.' }),
});

const listQuery = z.strictObject({ limit: limitParam, cursor: cursorParam });

const liquidityView = z
  .object({
    available: amountOutput.meta({ description: 'Pool cash less held amounts.' }),
    reservePct: z.string(),
    reserve: amountOutput.meta({ description: 'liquidityReservePct % of total member capital after the exit.' }),
    refund: amountOutput,
    shortfall: amountOutput.meta({ description: 'Pool cash still needed to pay the refund; 0.00 when it can be.' }),
  })
  .meta({ id: 'ExitLiquidity' });

const exitView = z
  .object({
    id: uuid,
    memberId: uuid,
    memberName: z.string(),
    requestedOn: isoDate,
    reason: z.string().nullable(),
    status: z.enum(['awaiting_liquidity', 'paid']),
    periodStart: isoDate.nullable().meta({ description: 'Start of the open period whose result was settled.' }),
    periodShare: amountOutput.meta({ description: "The member's share of the open period's result to the exit date." }),
    refundAmount: amountOutput,
    settlementEntryId: uuid.nullable(),
    payableEntryId: uuid.nullable(),
    payoutEntryId: uuid.nullable(),
    paidOn: isoDate.nullable(),
    requestedBy: uuid.nullable(),
    createdAt: timestamp,
    liquidity: liquidityView
      .nullable()
      .meta({ description: 'The pool’s figures when the exit was processed or paid, or now while it waits.' }),
  })
  .meta({ id: 'MemberExit' });

function view(exit: MemberExit) {
  return { ...exit, createdAt: exit.createdAt.toISOString() };
}

export const exitsRoutes: AnyRoute[] = [
  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/members/{memberId}/exit',
    operationId: 'requestExit',
    summary: 'A member exits: settle its share, owe its capital back, pay it if the pool can',
    description:
      'Refused while the lock-up runs, a capital call is unpaid, or the member has guarantees or guarantor calls outstanding. The member’s share of the open period’s result to the exit date is settled, its capital becomes a refund payable, and the refund is paid at once unless that would take pool cash below the liquidity reserve (then the exit is `awaiting_liquidity`). Member users may request the exit of their own enterprise only.',
    tag: TAG,
    permission: 'exits.request',
    params: memberParams,
    body: exitBody,
    idempotency: 'required',
    problems: [404, 409, 422],
    response: { status: 201, description: 'The exit', schema: exitView },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      const scope = memberScope(ctx.principal);
      if (ctx.principal.role === 'member' && scope !== params.memberId) {
        throw exitError('member_not_found', `Member ${params.memberId} does not exist in this fund.`);
      }
      return runCommand(ctx, { idempotency: 'required', claim: 'explicit' }, async (trx) => {
        const exit = await ctx.app.services.exits.requestExit(trx, fund, params.memberId, body, {
          actor: actorOf(ctx.principal),
          requestId: ctx.requestId,
        });
        return {
          status: 201,
          body: view(exit),
          audit: {
            action: 'exits.exit.request',
            targetType: 'member_exit',
            targetId: exit.id,
            payload: {
              memberId: exit.memberId,
              request: body,
              requestedOn: exit.requestedOn,
              status: exit.status,
              periodStart: exit.periodStart,
              periodShare: exit.periodShare,
              refundAmount: exit.refundAmount,
              liquidity: exit.liquidity,
            },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/exits/{exitId}/pay',
    operationId: 'payExit',
    summary: 'Pay the refund of an exit that waited for liquidity',
    tag: TAG,
    permission: 'exits.pay',
    params: exitParams,
    idempotency: 'required',
    problems: [404, 409, 422],
    response: { status: 201, description: 'The paid exit', schema: exitView },
    handler: async ({ params, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'required', claim: 'explicit' }, async (trx) => {
        const exit = await ctx.app.services.exits.pay(trx, fund, params.exitId, {
          actor: actorOf(ctx.principal),
          requestId: ctx.requestId,
        });
        return {
          status: 201,
          body: view(exit),
          audit: {
            action: 'exits.exit.pay',
            targetType: 'member_exit',
            targetId: exit.id,
            payload: {
              memberId: exit.memberId,
              refundAmount: exit.refundAmount,
              payoutEntryId: exit.payoutEntryId,
              paidOn: exit.paidOn,
              liquidity: exit.liquidity,
            },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/exits',
    operationId: 'listExits',
    summary: 'List exits by exit date',
    description: 'Member users see only their own enterprise’s exit.',
    tag: TAG,
    permission: 'exits.read',
    params: fundParams,
    query: listQuery,
    response: { status: 200, description: 'A page of exits', schema: pageOf(exitView) },
    handler: async ({ query, ctx }) => {
      const fund = fundOf(ctx);
      const after = decodeCursor(query.cursor, z.object({ requestedOn: isoDate, id: uuid }));
      const scope = memberScope(ctx.principal);
      if (ctx.principal.role === 'member' && scope === undefined) return ok({ items: [], nextCursor: null });
      const exits = await ctx.app.services.exits.list(ctx.app.db, fund, {
        memberId: scope,
        after,
        limit: query.limit + 1,
      });
      return ok(paginate(exits, query.limit, view, (exit) => ({ requestedOn: exit.requestedOn, id: exit.id })));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/exits/{exitId}',
    operationId: 'getExit',
    summary: 'One exit',
    tag: TAG,
    permission: 'exits.read',
    params: exitParams,
    response: { status: 200, description: 'The exit', schema: exitView },
    handler: async ({ params, ctx }) => {
      const fund = fundOf(ctx);
      const scope = memberScope(ctx.principal);
      if (ctx.principal.role === 'member' && scope === undefined) {
        throw exitError('exit_not_found', `Exit ${params.exitId} does not exist in this fund.`);
      }
      return ok(view(await ctx.app.services.exits.get(ctx.app.db, fund, params.exitId, scope)));
    },
  }),
];
