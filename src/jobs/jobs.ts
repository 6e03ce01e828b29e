import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { SYSTEM_ACTOR } from '../auth/principal';
import type { Clock } from '../clock';
import { inTransaction } from '../db/transaction';
import type { Services } from '../http/context';
import { purgeKeysBefore } from '../http/idempotency.repo';
import { fundsWithExpiredHolds } from '../ledger/ledger.repo';
import { HOLD_EXPIRY_BATCH_MAX } from '../ledger/ledger.service';
import { cancelLoansWithExpiredHolds } from '../loans/disbursements.service';

/** Idempotency keys answer retries for a week, then go. */
export const IDEMPOTENCY_RETENTION_DAYS = 7;

export interface JobDeps {
  db: Knex;
  clock: Clock;
  services: Services;
  logger: Logger;
}

/**
 * Releases every pending hold past its expiry: one transaction per fund and batch (no transaction
 * spans two funds), each with one audit row listing the holds it released.
 */
export async function releaseExpiredHolds(deps: JobDeps): Promise<{ funds: number; holds: number }> {
  const fundIds = await fundsWithExpiredHolds(deps.db, deps.clock.now());
  let holds = 0;
  for (const fundId of fundIds) {
    for (;;) {
      const released = await inTransaction(deps.db, async (trx) => {
        const expired = await deps.services.ledger.expireHolds(trx, fundId);
        if (expired.length === 0) return 0;
        await deps.services.audit.record(trx, {
          fundId,
          actor: SYSTEM_ACTOR,
          action: 'ledger.holds.expire',
          targetType: 'hold',
          targetId: null,
          payload: {
            holds: expired.map((hold) => ({ id: hold.id, accountId: hold.accountId, amount: hold.amount })),
          },
          requestId: null,
        });
        // Approved pool loans whose hold just expired are cancelled in the same transaction.
        const cancelled = await cancelLoansWithExpiredHolds(trx, fundId, deps.clock.now());
        if (cancelled.length > 0) {
          await deps.services.audit.record(trx, {
            fundId,
            actor: SYSTEM_ACTOR,
            action: 'loans.approval.expire',
            targetType: 'loan',
            targetId: null,
            payload: { reason: 'approval hold expired', loans: cancelled },
            requestId: null,
          });
        }
        return expired.length;
      });
      holds += released;
      if (released < HOLD_EXPIRY_BATCH_MAX) break;
    }
  }
  if (holds > 0) deps.logger.info({ funds: fundIds.length, holds }, 'expired holds released');
  return { funds: fundIds.length, holds };
}

export async function purgeIdempotencyKeys(deps: Pick<JobDeps, 'db' | 'clock'>): Promise<number> {
  const cutoff = new Date(deps.clock.now().getTime() - IDEMPOTENCY_RETENTION_DAYS * 86_400_000);
  return purgeKeysBefore(deps.db, cutoff);
}

/** Runs the periodic jobs in the server process; returns a function that stops them. */
export function scheduleJobs(deps: JobDeps, intervalSeconds: number): () => Promise<void> {
  if (intervalSeconds === 0) return async () => undefined;
  let running: Promise<unknown> = Promise.resolve();
  let lastPurge = 0;
  const tick = (): void => {
    running = running
      .then(async () => {
        await releaseExpiredHolds(deps);
        if (Date.now() - lastPurge > 3_600_000) {
          lastPurge = Date.now();
          const purged = await purgeIdempotencyKeys(deps);
          if (purged > 0) deps.logger.info({ purged }, 'old idempotency keys purged');
        }
      })
      .catch((error: unknown) => deps.logger.error({ err: error }, 'scheduled job failed'));
  };
  const timer = setInterval(tick, intervalSeconds * 1000);
  timer.unref();
  tick();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
