import { z } from 'zod';
import { fundOf } from '../http/context';
import { decodeCursor, cursorParam, limitParam, pageOf as paginate } from '../http/pagination';
import { defineRoute, ok, type AnyRoute } from '../http/route';
import { fundIdParams, orderParam, pageOf, seqCursor, timestamp, uuid } from '../http/schemas';
import type { AuditRecord } from './audit.service';

const TAG = 'Audit';

export const auditRecordView = z
  .object({
    id: uuid,
    seq: z.string(),
    fundId: uuid.nullable(),
    actor: z.object({ id: uuid.nullable(), name: z.string(), role: z.string() }),
    action: z.string(),
    target: z.object({ type: z.string(), id: z.string().nullable() }),
    payload: z.unknown(),
    requestId: z.string().nullable(),
    createdAt: timestamp,
    prevHash: z.string().length(64),
    hash: z.string().length(64),
  })
  .meta({ id: 'AuditRecord' });

export const verifyView = z
  .object({
    ok: z.boolean(),
    checked: z.number().int(),
    firstBrokenId: uuid.nullable(),
    firstBrokenSeq: z.string().nullable(),
    reason: z.enum(['sequence_gap', 'prev_hash_mismatch', 'hash_mismatch', 'head_mismatch', 'unlinked_row']).nullable(),
    headSeq: z.string(),
    headHash: z.string().length(64),
  })
  .meta({ id: 'AuditVerification' });

const listAuditQuery = z.strictObject({
  action: z.string().max(100).optional(),
  targetType: z.string().max(100).optional(),
  targetId: z.string().max(100).optional(),
  actorId: uuid.optional(),
  requestId: z.string().min(1).max(128).optional().meta({
    description:
      'Records written by this request (its X-Request-Id). A journal entry carries the request id that posted it: this finds the audit record that made it.',
  }),
  from: timestamp.optional().meta({ description: 'Recorded at or after.' }),
  to: timestamp.optional().meta({ description: 'Recorded before.' }),
  order: orderParam,
  limit: limitParam,
  cursor: cursorParam,
});

function toView(record: AuditRecord): z.input<typeof auditRecordView> {
  return { ...record, createdAt: record.createdAt.toISOString() };
}

export const auditRoutes: AnyRoute[] = [
  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/audit',
    operationId: 'listAudit',
    summary: 'The fund’s audit log',
    description:
      'Filter by action, target (type and id), actor, request id (the record that posted an entry: the entry’s `requestId`) and time recorded.',
    tag: TAG,
    permission: 'audit.read',
    params: fundIdParams,
    query: listAuditQuery,
    response: { status: 200, description: 'A page of audit records', schema: pageOf(auditRecordView) },
    handler: async ({ query, ctx }) => {
      const after = decodeCursor(query.cursor, seqCursor);
      const records = await ctx.app.services.audit.list(ctx.app.db, fundOf(ctx).id, {
        action: query.action,
        targetType: query.targetType,
        targetId: query.targetId,
        actorId: query.actorId,
        requestId: query.requestId,
        from: query.from === undefined ? undefined : new Date(query.from),
        to: query.to === undefined ? undefined : new Date(query.to),
        afterSeq: after?.seq,
        order: query.order,
        limit: query.limit + 1,
      });
      return ok(paginate(records, query.limit, toView, (record) => ({ seq: record.seq })));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/audit/verify',
    operationId: 'verifyAudit',
    summary: 'Verify the fund’s audit hash chain',
    description: 'Recomputes every hash from the first record and reports the first broken one, if any.',
    tag: TAG,
    permission: 'audit.verify',
    params: fundIdParams,
    response: { status: 200, description: 'The verification result', schema: verifyView },
    handler: async ({ ctx }) => ok(await ctx.app.services.audit.verify(ctx.app.db, fundOf(ctx).id)),
  }),
];
