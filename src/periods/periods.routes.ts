import { z } from 'zod';
import { actorOf } from '../auth/principal';
import { runCommand } from '../http/command';
import { fundOf } from '../http/context';
import { decodeCursor, limitParam, cursorParam, pageOf as paginate } from '../http/pagination';
import { defineRoute, ok, type AnyRoute } from '../http/route';
import { amountOutput, isoDate, pageOf, timestamp, uuid } from '../http/schemas';
import { periodRange, PERIOD_PATTERN } from './allocation';
import type { ClosedPeriod } from './periods.service';

const TAG = 'Periods';

const periodName = z
  .string()
  .regex(PERIOD_PATTERN, 'must be a year (2026), half (2026-H1), quarter (2026-Q3) or month (2026-07)')
  .refine((text) => periodRange(text) !== undefined, 'must be a period between the years 1900 and 2999')
  .meta({ example: '2026-H1' });

const periodParams = z.strictObject({ fundId: uuid, period: periodName });
const fundParams = z.strictObject({ fundId: uuid });

const allocationItem = z.object({
  memberId: uuid,
  memberName: z.string(),
  weight: amountOutput.meta({
    description:
      'Time-weighted average capital over the period, rounded half-up to the fen for display only; shares use the exact figure.',
  }),
  share: amountOutput.meta({ description: "The member's share of the result: + surplus, − loss." }),
});

const closedPeriodView = z
  .object({
    period: z.string(),
    startsOn: isoDate,
    endsOn: isoDate,
    netIncome: amountOutput,
    settledAtExits: amountOutput.meta({
      description: 'Part of the net income already settled with members who exited during the period.',
    }),
    entryId: uuid.nullable().meta({ description: 'The period.close entry; null when there was nothing to post.' }),
    allocation: z.array(allocationItem),
    snapshotSha256: z.string().regex(/^[0-9a-f]{64}$/),
    closedBy: uuid.nullable(),
    closedAt: timestamp,
  })
  .meta({ id: 'ClosedPeriod' });

const closedPeriodDetail = closedPeriodView
  .extend({
    snapshot: z.record(z.string(), z.unknown()).meta({
      description: 'The trial balance as of the period end, after the close; snapshotSha256 is over its RFC 8785 JSON.',
    }),
  })
  .meta({ id: 'ClosedPeriodDetail' });

const listQuery = z.strictObject({ limit: limitParam, cursor: cursorParam });

function view(period: ClosedPeriod) {
  return {
    ...period,
    allocation: period.allocation.map((item) => ({
      memberId: item.memberId,
      memberName: item.memberName,
      weight: item.weight,
      share: item.share,
    })),
    closedAt: period.closedAt.toISOString(),
  };
}

export const periodsRoutes: AnyRoute[] = [
  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/periods/{period}/close',
    operationId: 'closePeriod',
    summary: 'Close a period and share its net income among the members',
    description:
      'Periods close in order, from the second day after they end. Net income (income − expenses dated in the period), less what exits already settled, is shared among the members still holding capital by time-weighted capital and posted to their capital accounts in one `period.close` entry. Afterwards no entry may be dated inside the period (422 period_closed). The trial balance as of the period end is stored, and its SHA-256 goes into the audit chain.',
    tag: TAG,
    permission: 'periods.close',
    params: periodParams,
    idempotency: 'required',
    problems: [409, 422],
    response: { status: 201, description: 'The closed period', schema: closedPeriodView },
    handler: async ({ params, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'required', claim: 'explicit' }, async (trx) => {
        const closed = await ctx.app.services.periods.close(
          trx,
          fund,
          params.period,
          actorOf(ctx.principal),
          ctx.requestId,
        );
        return {
          status: 201,
          body: view(closed),
          audit: {
            action: 'periods.period.close',
            targetType: 'fund_period',
            targetId: closed.period,
            payload: {
              period: closed.period,
              startsOn: closed.startsOn,
              endsOn: closed.endsOn,
              netIncome: closed.netIncome,
              settledAtExits: closed.settledAtExits,
              entryId: closed.entryId,
              snapshotSha256: closed.snapshotSha256,
            },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/periods',
    operationId: 'listPeriods',
    summary: 'List closed periods, oldest first',
    tag: TAG,
    permission: 'periods.read',
    params: fundParams,
    query: listQuery,
    response: { status: 200, description: 'A page of closed periods', schema: pageOf(closedPeriodView) },
    handler: async ({ query, ctx }) => {
      const fund = fundOf(ctx);
      const after = decodeCursor(query.cursor, z.object({ endsOn: isoDate }));
      const rows = await ctx.app.services.periods.list(ctx.app.db, fund.id, {
        afterEndsOn: after?.endsOn,
        limit: query.limit + 1,
      });
      return ok(paginate(rows, query.limit, view, (row) => ({ endsOn: row.endsOn })));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/periods/{period}',
    operationId: 'getPeriod',
    summary: 'One closed period, with the trial balance it left',
    tag: TAG,
    permission: 'periods.read',
    params: periodParams,
    response: { status: 200, description: 'The closed period', schema: closedPeriodDetail },
    handler: async ({ params, ctx }) => {
      const fund = fundOf(ctx);
      const closed = await ctx.app.services.periods.get(ctx.app.db, fund.id, params.period);
      return ok({ ...view(closed), snapshot: closed.snapshot });
    },
  }),
];
