import { createHash } from 'node:crypto';
import { assert } from '../assert';
import { canonicalJson } from '../audit/canonical-json';
import { actorOf } from '../auth/principal';
import type { Trx } from '../db/knex';
import { inTransaction } from '../db/transaction';
import type { RequestContext } from './context';
import { httpError } from './http.errors';
import * as idempotency from './idempotency.repo';

const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export type IdempotencyRule = 'required' | 'optional';

export interface CommandOutcome<Body> {
  status: number;
  body: Body;
  audit: {
    /** `<feature>.<object>.<verb>` */
    action: string;
    targetType: string;
    targetId: string | null;
    payload: Record<string, unknown>;
    /** The chain to append to when it is not the request's fund (a fund's own creation). */
    fundId?: string;
  };
}

export interface Reply {
  status: number;
  body: unknown;
  replayed?: boolean;
  contentType?: string;
}

/**
 * Runs a state-changing request as one unit: in one transaction (retried as a whole after a
 * deadlock or serialization failure) it claims the Idempotency-Key, does the work, appends the
 * audit row to the fund's chain and stores the response. A replay of the key returns the stored
 * response; the same key with a different request is a 409. If anything fails, nothing stays.
 */
export async function runCommand<Body>(
  ctx: RequestContext,
  rule: IdempotencyRule,
  work: (trx: Trx) => Promise<CommandOutcome<Body>>,
): Promise<Reply> {
  const key = idempotencyKeyOf(ctx, rule);
  const fundId = ctx.fund?.id ?? null;
  const requestHash = key === undefined ? undefined : fingerprint(ctx);
  const { db, services } = ctx.app;
  return inTransaction(
    db,
    async (trx) => {
      if (key !== undefined && requestHash !== undefined) {
        const claimed = await idempotency.claimKey(trx, {
          userId: ctx.principal.userId,
          key,
          fundId,
          method: ctx.method,
          path: ctx.url,
          requestHash,
        });
        if (!claimed) return replayOf(trx, ctx, key, requestHash);
      }
      const outcome = await work(trx);
      // Normalized once: the client gets exactly what a replay will get.
      const body = JSON.parse(JSON.stringify(outcome.body)) as unknown;
      await services.audit.record(trx, {
        fundId: outcome.audit.fundId ?? fundId,
        actor: actorOf(ctx.principal),
        action: outcome.audit.action,
        targetType: outcome.audit.targetType,
        targetId: outcome.audit.targetId,
        payload: outcome.audit.payload,
        requestId: ctx.requestId,
      });
      if (key !== undefined) await idempotency.storeResponse(trx, ctx.principal.userId, key, outcome.status, body);
      return { status: outcome.status, body, replayed: false };
    },
    { onRetry: (attempt, error) => ctx.log.warn({ attempt, err: error }, 'transaction retried') },
  );
}

function idempotencyKeyOf(ctx: RequestContext, rule: IdempotencyRule): string | undefined {
  const key = ctx.headers.idempotencyKey;
  if (key === undefined) {
    if (rule === 'required') {
      throw httpError(
        'idempotency_key_required',
        'This request moves money: send an Idempotency-Key header (e.g. a UUID) and reuse it when you retry.',
      );
    }
    return undefined;
  }
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw httpError('idempotency_key_invalid', 'An Idempotency-Key is 1–255 visible ASCII characters.');
  }
  return key;
}

function fingerprint(ctx: RequestContext): string {
  const text = canonicalJson({ method: ctx.method, url: ctx.url, body: ctx.rawBody ?? null });
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

async function replayOf(trx: Trx, ctx: RequestContext, key: string, requestHash: string): Promise<Reply> {
  const stored = await idempotency.findKey(trx, ctx.principal.userId, key);
  assert(stored, `idempotency key ${key} conflicted but cannot be read`);
  if (stored.request_hash !== requestHash) {
    throw httpError(
      'idempotency_key_reused',
      `Idempotency-Key ${JSON.stringify(key)} was first used for ${stored.method} ${stored.path} with another body; use a new key for a new request.`,
    );
  }
  assert(stored.response_status !== null, `idempotency key ${key} committed without a response`);
  return { status: stored.response_status, body: stored.response_body, replayed: true };
}
