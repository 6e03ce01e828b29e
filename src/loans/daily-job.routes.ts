import { actorOf } from '../auth/principal';
import { releaseExpiredHoldsOfFund } from '../jobs/jobs';
import { runCommand } from '../http/command';
import { fundOf } from '../http/context';
import { defineRoute, ok, type AnyRoute } from '../http/route';
import { fundIdParams } from '../http/schemas';
import { auditOf, type DayOutcome } from './daily-job.service';
import { dailyJobBody, dailyJobView } from './daily-job.schemas';

const TAG = 'Loans';

function viewOf(fundId: string, date: string, outcomes: readonly DayOutcome[], holdsReleased: number) {
  return {
    fundId,
    date,
    days: outcomes.map((outcome) => ({ ...outcome.day, ranNow: outcome.ranNow })),
    holdsReleased,
  };
}

export const dailyJobRoutes: AnyRoute[] = [
  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/jobs/daily',
    operationId: 'runDailyJob',
    summary: 'Run the daily loan job for a day (accrual, overdue, penalty, classification, expired holds)',
    description:
      'Runs the day once per fund: accrues contract interest (Dr 1202:<loan> / Cr 4001) and penalty interest on overdue principal (Dr 1203:<loan> / Cr 4003), marks loans overdue or defaulted, classifies them into the five tiers and releases expired holds (docs/adr/0012-daily-job.md). Missed days since the last run run first, in order, each in its own transaction. A day already run changes nothing and answers with what it did then (`ranNow: false`). A day that has not come is 422 `daily_job_date_in_future`; a day before the fund’s first run is 409 `daily_job_date_before_first_run`.',
    tag: TAG,
    permission: 'jobs.run',
    params: fundIdParams,
    body: dailyJobBody,
    idempotency: 'optional',
    problems: [409, 422],
    response: { status: 200, description: 'What each day run did', schema: dailyJobView },
    handler: async ({ body, ctx }) => {
      const fund = fundOf(ctx);
      const service = ctx.app.services.dailyJob;
      const actor = actorOf(ctx.principal);
      const { db } = ctx.app;
      const plan = await service.plan(db, fund, body.date);
      if (plan.stored && ctx.headers.idempotencyKey === undefined) {
        // Nothing to do and nothing to record: the stored figures (and any holds expired since).
        const holds = await releaseExpiredHoldsOfFund(ctx.app, fund.id);
        return ok(viewOf(fund.id, body.date, [{ day: plan.stored, ranNow: false }], holds));
      }
      const earlier = await service.runDays(db, fund, plan.days.slice(0, -1), actor, ctx.requestId);
      const holds = await releaseExpiredHoldsOfFund(ctx.app, fund.id);
      return runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const outcome = await service.runDay(trx, fund, body.date, actor, ctx.requestId);
        const { action, targetType, targetId, payload } = auditOf(fund, outcome);
        return {
          status: 200,
          body: viewOf(fund.id, body.date, [...earlier, outcome], holds),
          audit: { action, targetType, targetId, payload: { ...payload, ranNow: outcome.ranNow } },
        };
      });
    },
  }),
];
