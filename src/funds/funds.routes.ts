import { z } from 'zod';
import { authError } from '../auth/auth.errors';
import { actorOf } from '../auth/principal';
import { runCommand } from '../http/command';
import { decodeCursor, limitParam, cursorParam, pageOf as paginate } from '../http/pagination';
import { defineRoute, ok, type AnyRoute } from '../http/route';
import { fundIdParams, pageOf, timestamp, uuid } from '../http/schemas';
import type { Fund } from './funds.service';

const TAG = 'Funds';
/** The policy document is small: limits, rates and thresholds. */
const POLICY_BYTES_MAX = 32 * 1024;

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const createFundBody = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    currency: z.enum(['CNY']).default('CNY'),
    timezone: z
      .string()
      .max(64)
      .refine(isTimeZone, 'must be an IANA time zone such as Asia/Shanghai')
      .default('Asia/Shanghai'),
    policy: z
      .record(z.string().max(100), z.json())
      .refine(
        (policy) => Buffer.byteLength(JSON.stringify(policy)) <= POLICY_BYTES_MAX,
        `must be at most ${POLICY_BYTES_MAX} bytes`,
      )
      .default({})
      .meta({ description: 'Fund policy (limits, rates, quorum); its full schema comes with the policy feature.' }),
  })
  .meta({ id: 'CreateFundRequest', example: { name: '陶瓷产业园互助基金', currency: 'CNY' } });

export const fundView = z
  .object({
    id: uuid,
    name: z.string(),
    currency: z.string(),
    timezone: z.string(),
    policy: z.record(z.string(), z.unknown()),
    createdAt: timestamp,
  })
  .meta({ id: 'Fund' });

function toFundView(fund: Fund): z.input<typeof fundView> {
  return {
    id: fund.id,
    name: fund.name,
    currency: fund.currency,
    timezone: fund.timezone,
    policy: fund.policy,
    createdAt: fund.createdAt.toISOString(),
  };
}

export const fundRoutes: AnyRoute[] = [
  defineRoute({
    method: 'post',
    path: '/funds',
    operationId: 'createFund',
    summary: 'Create a fund with its chart of accounts',
    description: 'Platform administrators only (an administrator bound to one fund cannot create others).',
    tag: TAG,
    permission: 'funds.create',
    body: createFundBody,
    idempotency: 'optional',
    response: { status: 201, description: 'The new fund', schema: fundView },
    handler: async ({ body, ctx }) => {
      if (ctx.principal.fundId !== null) {
        throw authError('forbidden', 'Only platform administrators (not bound to a fund) create funds.', {
          role: ctx.principal.role,
          permission: 'funds.create',
        });
      }
      return runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const fund = await ctx.app.services.funds.create(trx, body, actorOf(ctx.principal));
        return {
          status: 201,
          body: toFundView(fund),
          // The fund's own chain starts with its creation.
          audit: {
            action: 'funds.fund.create',
            targetType: 'fund',
            targetId: fund.id,
            payload: { request: body },
            fundId: fund.id,
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds',
    operationId: 'listFunds',
    summary: 'List the funds this user can see',
    tag: TAG,
    permission: 'funds.read',
    query: z.strictObject({ limit: limitParam, cursor: cursorParam }),
    response: { status: 200, description: 'A page of funds', schema: pageOf(fundView) },
    handler: async ({ query, ctx }) => {
      const after = decodeCursor(query.cursor, z.object({ id: z.uuid() }));
      const funds = await ctx.app.services.funds.list(ctx.app.db, ctx.principal, {
        afterId: after?.id,
        limit: query.limit + 1,
      });
      return ok(paginate(funds, query.limit, toFundView, (fund) => ({ id: fund.id })));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}',
    operationId: 'getFund',
    summary: 'One fund, its policy included',
    tag: TAG,
    permission: 'funds.read',
    params: fundIdParams,
    response: { status: 200, description: 'The fund', schema: fundView },
    handler: async ({ ctx }) => ok(toFundView(ctx.fund!)),
  }),
];
