import { jsonOrCsv } from '../capital/statement.csv';
import { fundOf } from '../http/context';
import type { Reply } from '../http/command';
import { defineRoute, type AnyRoute } from '../http/route';
import { fundIdParams } from '../http/schemas';
import { CYCLES_MAX } from './graph';
import { networkView } from './guarantees.schemas';
import { networkContentDisposition, networkCsv } from './network.csv';

const TAG = 'Guarantees';

export const guaranteeRoutes: AnyRoute[] = [
  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/reports/guarantee-network',
    operationId: 'getGuaranteeNetwork',
    summary: 'The guarantee network and its circles (JSON, or CSV with Accept: text/csv)',
    description: `Members as nodes; as edges, what each member stands behind for another on live loans (accepted guarantees at the pledged amount, active ones less what repayments released), with the loans behind each edge; and every guarantee circle (互保圈), at most ${CYCLES_MAX}, \`cyclesTruncated\` when there are more. The graph as it stands today: no \`asOf\` is accepted. Member users see only the edges they are part of and the circles through themselves. CSV: one row per edge.`,
    tag: TAG,
    permission: 'reports.read',
    params: fundIdParams,
    response: { status: 200, description: 'The network', schema: networkView, alternatives: ['text/csv'] },
    handler: async ({ ctx }): Promise<Reply> => {
      const fund = fundOf(ctx);
      const network = await ctx.app.services.guarantees.network(ctx.app.db, fund, ctx.principal);
      return jsonOrCsv(ctx.headers.accept, network, (view) => ({
        text: networkCsv(view),
        contentDisposition: networkContentDisposition(view),
      }));
    },
  }),
];
