import { createHash } from 'node:crypto';
import { assert } from '../assert';
import { canonicalJson } from '../audit/canonical-json';
import { actorOf } from '../auth/principal';
import type { Trx } from '../db/knex';
import { inTransaction } from '../db/transaction';
import { AppError } from '../errors';
import type { RequestContext } from './context';
import { httpError } from './http.errors';
import * as idempotency from './idempotency.repo';

const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export type IdempotencyRule = 'required' | 'optional';

/**
 * How a command claims its Idempotency-Key.
 * - `explicit`: the key's row is inserted first, in its own statement; a concurrent duplicate
 *   waits on it. Works for any command.
 * - `ledger-entry`: the command's first write is one journal entry posted under the key the runner
 *   hands it (`entryKey`). The entry's unique key is the claim: a concurrent duplicate queues on it
 *   before locking anything and the ledger then reports a replay. The key's row, with the response,
 *   is written with the audit row. One round trip less, on the path that moves money most.
 */
export type ClaimMode = 'explicit' | 'ledger-entry';

export interface CommandOutcome<Body> {
  status: number;
  body: Body;
  /** Set by `ledger-entry` work when the ledger found the entry already posted under the key. */
  replayed?: boolean;
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
  /** Extra response headers (Content-Disposition of a download). */
  headers?: Record<string, string>;
}

export interface CommandOptions {
  idempotency: IdempotencyRule;
  claim?: ClaimMode;
}

/** Thrown inside the transaction to roll it back and answer with the stored response instead. */
class AlreadyDone extends Error {
  constructor(readonly outcome: CommandOutcome<unknown>) {
    super('the request was already done under its idempotency key');
  }
}

/**
 * Runs a state-changing request as one unit: in one transaction (retried as a whole after a
 * deadlock or serialization failure) it claims the Idempotency-Key, does the work, and appends the
 * audit row to the fund's chain together with the stored response. A replay of the key returns the
 * stored response with `Idempotent-Replayed: true`; the same key with a different request is a
 * 409. If anything fails, nothing stays.
 */
export async function runCommand<Body>(
  ctx: RequestContext,
  options: CommandOptions,
  work: (trx: Trx, claim: { entryKey: string | undefined }) => Promise<CommandOutcome<Body>>,
): Promise<Reply> {
  const key = idempotencyKeyOf(ctx, options.idempotency);
  const mode = options.claim ?? 'explicit';
  const fundId = ctx.fund?.id ?? null;
  const userId = ctx.principal.userId;
  const requestHash = key === undefined ? undefined : fingerprint(ctx);
  const { db, services } = ctx.app;
  const record = { userId, key: key ?? '', fundId, method: ctx.method, path: ctx.url, requestHash: requestHash ?? '' };
  try {
    return await inTransaction(
      db,
      async (trx) => {
        if (key !== undefined && mode === 'explicit' && !(await idempotency.claimKey(trx, record))) {
          return replayOf(trx, key, requestHash!, userId);
        }
        const outcome = await work(trx, { entryKey: key === undefined ? undefined : `${userId}:${key}` });
        if (outcome.replayed) throw new AlreadyDone(outcome);
        // Normalized once: the client gets exactly what a replay will get.
        const body = JSON.parse(JSON.stringify(outcome.body)) as unknown;
        // Last, with the response in the same statement and the COMMIT in the same round trip
        // (ADR 0020). The row is linked into the fund's chain as the transaction commits (ADR 0004).
        const companion =
          key === undefined
            ? undefined
            : mode === 'explicit'
              ? idempotency.storeResponseCompanion(userId, key, outcome.status, body)
              : idempotency.insertResponseCompanion(record, outcome.status, body);
        await services.audit.record(
          trx,
          {
            fundId: outcome.audit.fundId ?? fundId,
            actor: actorOf(ctx.principal),
            action: outcome.audit.action,
            targetType: outcome.audit.targetType,
            targetId: outcome.audit.targetId,
            payload: outcome.audit.payload,
            requestId: ctx.requestId,
          },
          { companion, commit: true },
        );
        return { status: outcome.status, body, replayed: false };
      },
      { onRetry: (attempt, error) => ctx.log.warn({ attempt, err: error }, 'transaction retried') },
    );
  } catch (error) {
    if (key === undefined || mode !== 'ledger-entry' || !claimedElsewhere(error)) throw error;
    // The key was used before (or by a request that committed meanwhile): answer as the first did.
    return inTransaction(db, async (trx) => {
      if (error instanceof AlreadyDone && !(await idempotency.findKey(trx, userId, key))) {
        // The key's row was purged after its retention; the entry itself still says what was done.
        return { status: error.outcome.status, body: JSON.parse(JSON.stringify(error.outcome.body)), replayed: true };
      }
      return replayOf(trx, key, requestHash!, userId);
    });
  }
}

/** A `ledger-entry` claim lost to an earlier use of the same key. */
function claimedElsewhere(error: unknown): boolean {
  if (error instanceof AlreadyDone) return true;
  if (error instanceof AppError && error.code === 'ledger_idempotency_conflict') return true;
  const pgError = error as { code?: string; constraint?: string };
  return pgError.code === '23505' && pgError.constraint === 'idempotency_keys_pkey';
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

async function replayOf(trx: Trx, key: string, requestHash: string, userId: string): Promise<Reply> {
  const stored = await idempotency.findKey(trx, userId, key);
  if (stored === undefined || stored.request_hash !== requestHash) {
    throw httpError(
      'idempotency_key_reused',
      stored
        ? `Idempotency-Key ${JSON.stringify(key)} was first used for ${stored.method} ${stored.path} with another body; use a new key for a new request.`
        : `Idempotency-Key ${JSON.stringify(key)} was already used for another request; use a new key for a new request.`,
    );
  }
  assert(stored.response_status !== null, `idempotency key ${key} committed without a response`);
  return { status: stored.response_status, body: stored.response_body, replayed: true };
}
