import { fundOf } from '../http/context';
import { defineRoute, ok, type AnyRoute } from '../http/route';
import { fundIdParams } from '../http/schemas';
import {
  ALERT_IDS_MAX,
  DUE_HORIZONS_DAYS,
  overviewQuery,
  overviewView,
  SERIES_MONTHS_MAX,
  seriesQuery,
  seriesView,
} from './overview.schemas';

const TAG = 'Overview';

export const overviewRoutes: AnyRoute[] = [
  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/overview',
    operationId: 'getFundOverview',
    summary: 'The fund at a glance (资金池概览) as of a day',
    description: `Pool cash, what approvals hold, the liquidity reserve and what is left to lend; member capital subscribed and paid in; loans outstanding by lender; the income of the period so far; the loan book's tiers and PAR1/30/90 (the reports' own figures); the instalments due in the next ${DUE_HORIZONS_DAYS.join('/')} days; and alerts — overdue loans, pending ratifications, exposure breaches, guarantee circles, open recovery cases, the audit chain and the ledger — each with a count, an amount where one means something and up to ${ALERT_IDS_MAX} ids to link to. Figures as of the end of \`asOf\` come from one snapshot; the audit chain and the ledger are verified as they stand now. Oversight roles only (member users: 403). See docs/adr/0026-fund-overview.md.`,
    tag: TAG,
    permission: 'overview.read',
    params: fundIdParams,
    query: overviewQuery,
    problems: [422],
    response: { status: 200, description: 'The fund at a glance', schema: overviewView },
    handler: async ({ query, ctx }) =>
      ok(await ctx.app.services.overview.overview(ctx.app.db, fundOf(ctx), ctx.principal, query.asOf)),
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/overview/series',
    operationId: 'getFundOverviewSeries',
    summary: 'Pool cash, loans outstanding, paid-in capital and PAR at each month end',
    description: `For the last \`months\` months (at most ${SERIES_MONTHS_MAX}) ending with the month of \`asOf\`: the last day of each, the last point being \`asOf\` itself, so it equals the overview as of \`asOf\`. Balances as of each day from the ledger's running totals (ADR 0003), PAR as the PAR report reads that day. Months before the fund was established are left out. Oversight roles only.`,
    tag: TAG,
    permission: 'overview.read',
    params: fundIdParams,
    query: seriesQuery,
    problems: [422],
    response: { status: 200, description: 'The month-end series', schema: seriesView },
    handler: async ({ query, ctx }) =>
      ok(await ctx.app.services.overview.series(ctx.app.db, fundOf(ctx), ctx.principal, query)),
  }),
];
