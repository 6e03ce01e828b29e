import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { SYSTEM_ACTOR } from '../auth/principal';
import type { Clock } from '../clock';
import { inTransaction } from '../db/transaction';
import type { Services } from '../http/context';
import { purgeKeysOlderThan } from '../http/idempotency.repo';
import { fundsWithExpiredHolds } from '../ledger/ledger.repo';
import { HOLD_EXPIRY_BATCH_MAX } from '../ledger/ledger.service';
import type { FundRow } from '../funds/funds.repo';
import { toFund } from '../funds/funds.service';
import type { DailyJobDay } from '../loans/daily-job.service';
import { cancelLoansWithExpiredHolds } from '../loans/disbursements.service';

/**
 * Idempotency keys answer retries for a week, then go. The database refuses to delete a key younger
 * than 7 days (migration 20261203000300): this may grow, not shrink.
 */
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
  for (const fundId of fundIds) holds += await releaseExpiredHoldsOfFund(deps, fundId);
  if (holds > 0) deps.logger.info({ funds: fundIds.length, holds }, 'expired holds released');
  return { funds: fundIds.length, holds };
}

/**
 * Releases the pending holds of one fund past their expiry, in batches of HOLD_EXPIRY_BATCH_MAX,
 * one transaction and one audit row each; approved pool loans whose hold expired are cancelled in
 * the same transaction. Returns the number of holds released.
 */
export async function releaseExpiredHoldsOfFund(
  deps: Pick<JobDeps, 'db' | 'clock' | 'services'>,
  fundId: string,
): Promise<number> {
  let holds = 0;
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
  return holds;
}

export interface DailyJobFundRun {
  fundId: string;
  days: (DailyJobDay & { ranNow: boolean })[];
  holdsReleased: number;
}

/**
 * The daily loan job for `date` (docs/adr/0012-daily-job.md), for one fund or every fund: each
 * fund catches up the days it missed, in order, one transaction per day with its audit row, then
 * releases its expired holds. A fund that fails is reported and the others still run.
 */
export async function runDailyJob(
  deps: JobDeps,
  date: string,
  fundIds?: readonly string[],
): Promise<{ runs: DailyJobFundRun[]; failures: { fundId: string; error: string }[] }> {
  const ids = fundIds ?? ((await deps.db('funds').orderBy('id').pluck('id')) as string[]);
  const service = deps.services.dailyJob;
  const runs: DailyJobFundRun[] = [];
  const failures: { fundId: string; error: string }[] = [];
  for (const fundId of ids) {
    try {
      const row = (await deps.db('funds').where({ id: fundId }).first()) as FundRow | undefined;
      if (!row) throw new Error(`fund ${fundId} does not exist`);
      const fund = toFund(row);
      const plan = await service.plan(deps.db, fund, date);
      const outcomes = plan.stored
        ? [{ day: plan.stored, ranNow: false }]
        : await service.runDays(deps.db, fund, plan.days, SYSTEM_ACTOR, null);
      const holdsReleased = await releaseExpiredHoldsOfFund(deps, fundId);
      runs.push({ fundId, days: outcomes.map((o) => ({ ...o.day, ranNow: o.ranNow })), holdsReleased });
    } catch (error) {
      deps.logger.error({ err: error, fundId, date }, 'daily job failed');
      failures.push({ fundId, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return { runs, failures };
}

/** Drops keys past their retention, counted on the database's clock (purgeKeysOlderThan). */
export async function purgeIdempotencyKeys(deps: Pick<JobDeps, 'db'>): Promise<number> {
  return purgeKeysOlderThan(deps.db, IDEMPOTENCY_RETENTION_DAYS);
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
