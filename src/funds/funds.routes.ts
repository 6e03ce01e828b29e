import { z } from 'zod';
import { authError } from '../auth/auth.errors';
import { actorOf } from '../auth/principal';
import { runCommand } from '../http/command';
import { decodeCursor, limitParam, cursorParam, pageOf as paginate } from '../http/pagination';
import { defineRoute, ok, type AnyRoute } from '../http/route';
import { fundOf, type RequestContext } from '../http/context';
import { fundIdParams, isoDate, pageOf, timestamp, uuid } from '../http/schemas';
import type { Db } from '../db/knex';
import type { Fund, PolicyVersion } from './funds.service';
import { policyChangeSchema, policySchema } from './policy';

const TAG = 'Funds';

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const fundName = z.string().trim().min(1).max(200);
const allianceName = z.string().trim().min(1).max(200);

export const createFundBody = z
  .strictObject({
    name: fundName,
    allianceName: allianceName.optional().meta({ description: 'The alliance that runs the fund (“1+X”).' }),
    currency: z.enum(['CNY']).default('CNY'),
    timezone: z
      .string()
      .max(64)
      .refine(isTimeZone, 'must be an IANA time zone such as Asia/Shanghai')
      .default('Asia/Shanghai'),
    establishedOn: isoDate
      .optional()
      .meta({ description: 'The day the fund started; its first policy is in force from then. Default: today.' }),
    policy: policySchema.prefault({}).meta({
      description: 'The fund’s policy; every omitted field takes its documented default.',
    }),
  })
  .meta({
    id: 'CreateFundRequest',
    example: { name: '陶瓷产业园互助基金', allianceName: '陶瓷产业园企业互助联盟', currency: 'CNY' },
  });

export const updateFundBody = z
  .strictObject({
    name: fundName.optional(),
    allianceName: allianceName.nullable().optional(),
    leadMemberId: uuid
      .optional()
      .meta({ description: 'Makes this active member the lead enterprise; the previous lead becomes a member.' }),
  })
  .refine((body) => Object.values(body).some((value) => value !== undefined), 'name at least one field to change')
  .meta({ id: 'UpdateFundRequest' });

export const policyFieldOriginView = z
  .object({
    decision: z.int().meta({ description: 'The decision that set the field.' }),
    effectiveDate: isoDate.meta({ description: 'That decision’s effective date.' }),
  })
  .meta({ id: 'PolicyFieldOrigin' });

export const policyVersionView = z
  .object({
    version: z.int(),
    effectiveDate: isoDate,
    reason: z.string().nullable().meta({ description: 'The reason of the decision that opens this version.' }),
    decision: z.int().nullable().meta({
      description:
        'The decision that opens this version: the last recorded of those dated on `effectiveDate`. Decisions are numbered per fund in the order recorded; the establishment is decision 1. Null on versions written before decisions were kept.',
    }),
    recordedWith: z.int().nullable().meta({
      description:
        'The decision whose recording wrote this version: `decision` itself, or a decision dated earlier that this scheduled version was restated to carry. Null as for `decision`.',
    }),
    supersededBy: z.int().nullable().meta({
      description:
        'A later version written for the same `effectiveDate`, in force instead of this one (a restatement, or another decision dated that day); null if this version is the one in force from its date.',
    }),
    policy: policySchema,
    setBy: z
      .record(z.string(), policyFieldOriginView)
      .nullable()
      .meta({
        description:
          'Field by field, the decision that set the value in force: the latest dated on or before `effectiveDate`. Keys are field paths (`termDaysMax`, `committee.quorum`). A field no decision set (added to the policy after the fund’s decisions) is absent and holds its default. Null as for `decision`.',
        example: {
          singleBorrowerLimitPct: { decision: 3, effectiveDate: '2027-01-01' },
          'committee.quorum': { decision: 1, effectiveDate: '2026-06-15' },
        },
      }),
    createdAt: timestamp,
  })
  .meta({ id: 'PolicyVersion' });

const fundFields = {
  id: uuid,
  name: z.string(),
  allianceName: z.string().nullable(),
  currency: z.string(),
  timezone: z.string(),
  establishedOn: isoDate,
  closedThrough: isoDate.nullable().meta({ description: 'Last day of the closed periods, if any.' }),
  createdAt: timestamp,
};

export const fundSummaryView = z.object(fundFields).meta({ id: 'FundSummary' });

export const fundView = z
  .object({
    ...fundFields,
    leadMemberId: uuid.nullable(),
    policy: policyVersionView.meta({ description: 'The policy in force today.' }),
  })
  .meta({ id: 'Fund' });

export const policyChangeBody = z
  .strictObject({
    effectiveDate: isoDate.meta({ description: 'Today or later, in the fund’s time zone.' }),
    reason: z.string().trim().min(1).max(500).meta({ description: 'Why, e.g. the resolution that adopted it.' }),
    changes: policyChangeSchema,
  })
  .meta({
    id: 'PolicyChangeRequest',
    example: {
      effectiveDate: '2026-12-01',
      reason: '第12次联席会议决议',
      changes: { singleBorrowerLimitPct: '15', committee: { quorum: '2/3' } },
    },
  });

const policyQuery = z.strictObject({
  asOf: isoDate.optional().meta({ description: 'The policy in force on this date; default today.' }),
});

function toSummaryView(fund: Fund): z.input<typeof fundSummaryView> {
  return {
    id: fund.id,
    name: fund.name,
    allianceName: fund.allianceName,
    currency: fund.currency,
    timezone: fund.timezone,
    establishedOn: fund.establishedOn,
    closedThrough: fund.closedThrough,
    createdAt: fund.createdAt.toISOString(),
  };
}

function toPolicyView(version: PolicyVersion): z.input<typeof policyVersionView> {
  return {
    version: version.version,
    effectiveDate: version.effectiveDate,
    reason: version.reason,
    decision: version.decision,
    recordedWith: version.recordedWith,
    supersededBy: version.supersededBy,
    policy: version.policy,
    setBy: version.setBy,
    createdAt: version.createdAt.toISOString(),
  };
}

async function fundResponse(ctx: RequestContext, db: Db, fund: Fund): Promise<z.input<typeof fundView>> {
  const { funds } = ctx.app.services;
  // One after the other: `db` may be a transaction, whose one connection runs one query at a time.
  const leadMemberId = await funds.leadMemberId(db, fund.id);
  const policy = await funds.policyInForce(db, fund);
  return { ...toSummaryView(fund), leadMemberId, policy: toPolicyView(policy) };
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
          body: { ...toSummaryView(fund), leadMemberId: null, policy: toPolicyView(fund.policy) },
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
    response: { status: 200, description: 'A page of funds', schema: pageOf(fundSummaryView) },
    handler: async ({ query, ctx }) => {
      const after = decodeCursor(query.cursor, z.object({ id: z.uuid() }));
      const funds = await ctx.app.services.funds.list(ctx.app.db, ctx.principal, {
        afterId: after?.id,
        limit: query.limit + 1,
      });
      return ok(paginate(funds, query.limit, toSummaryView, (fund) => ({ id: fund.id })));
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
    handler: async ({ ctx }) => ok(await fundResponse(ctx, ctx.app.db, fundOf(ctx))),
  }),

  defineRoute({
    method: 'patch',
    path: '/funds/{fundId}',
    operationId: 'updateFund',
    summary: 'Rename a fund, name its alliance or choose its lead enterprise',
    tag: TAG,
    permission: 'funds.update',
    params: fundIdParams,
    body: updateFundBody,
    idempotency: 'optional',
    problems: [404, 422],
    response: { status: 200, description: 'The fund as changed', schema: fundView },
    handler: async ({ body, ctx }) =>
      runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const { fund, replacedLeadMemberId } = await ctx.app.services.funds.update(trx, fundOf(ctx), body);
        return {
          status: 200,
          body: await fundResponse(ctx, trx, fund),
          audit: {
            action: 'funds.fund.update',
            targetType: 'fund',
            targetId: fund.id,
            payload: { request: body, ...(body.leadMemberId === undefined ? {} : { replacedLeadMemberId }) },
          },
        };
      }),
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/policy',
    operationId: 'getPolicy',
    summary: 'The policy in force on a date',
    tag: TAG,
    permission: 'policy.read',
    params: fundIdParams,
    query: policyQuery,
    problems: [404],
    response: { status: 200, description: 'The policy version in force', schema: policyVersionView },
    handler: async ({ query, ctx }) =>
      ok(toPolicyView(await ctx.app.services.funds.policyInForce(ctx.app.db, fundOf(ctx), query.asOf))),
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/policy/versions',
    operationId: 'listPolicyVersions',
    summary: 'Every policy version, newest first, with the decision behind each field',
    tag: TAG,
    permission: 'policy.read',
    params: fundIdParams,
    query: z.strictObject({ limit: limitParam, cursor: cursorParam }),
    response: { status: 200, description: 'A page of policy versions', schema: pageOf(policyVersionView) },
    handler: async ({ query, ctx }) => {
      const after = decodeCursor(query.cursor, z.object({ version: z.string().regex(/^[1-9]\d{0,8}$/) }));
      const versions = await ctx.app.services.funds.policyVersions(ctx.app.db, fundOf(ctx).id, {
        beforeVersion: after === undefined ? undefined : Number(after.version),
        limit: query.limit + 1,
      });
      return ok(paginate(versions, query.limit, toPolicyView, (version) => ({ version: String(version.version) })));
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/policy',
    operationId: 'changePolicy',
    summary: 'Decide a change of the policy from a date: a new version',
    description:
      'Records a decision: `changes` names only the fields it sets, from `effectiveDate`. The policy as of a day is the defaults, then every decision dated on or before it, field by field, in order of effective date (ties: the order recorded), so a change holds until a decision changes that field again. The response is the version from `effectiveDate`; versions already scheduled after it are restated as new versions that carry the change (see `recordedWith` and `supersededBy` in the version list). Versions in force are never rewritten: loans keep the version they were approved under.',
    tag: TAG,
    permission: 'policy.change',
    params: fundIdParams,
    body: policyChangeBody,
    idempotency: 'optional',
    problems: [422],
    response: { status: 201, description: 'The new policy version', schema: policyVersionView },
    handler: async ({ body, ctx }) =>
      runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const { decision, version, restated } = await ctx.app.services.funds.changePolicy(
          trx,
          fundOf(ctx),
          { effectiveDate: body.effectiveDate, reason: body.reason, change: body.changes },
          actorOf(ctx.principal),
        );
        return {
          status: 201,
          body: toPolicyView(version),
          audit: {
            action: 'funds.policy.change',
            targetType: 'policy_version',
            targetId: String(version.version),
            payload: {
              request: body,
              decision,
              policy: version.policy,
              restated: restated.map((later) => ({ version: later.version, effectiveDate: later.effectiveDate })),
            },
          },
        };
      }),
  }),
];
