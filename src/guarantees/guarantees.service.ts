import type { AuditService } from '../audit/audit.service';
import { memberScope } from '../auth/permissions';
import type { Principal } from '../auth/principal';
import type { Clock } from '../clock';
import type { Db } from '../db/knex';
import type { Fund, FundService } from '../funds/funds.service';
import type { LedgerService } from '../ledger/ledger.service';
import { formatAmount, Money, sumAmounts } from '../money/money';
import { toGraphEdge } from './circles';
import { adjacencyOf, CYCLES_MAX, elementaryCycles, type Cycle } from './graph';
import * as repo from './guarantees.repo';
import { groupEdgeKey } from './joint-groups.circles';
import type { NetworkView } from './guarantees.schemas';

export interface GuaranteeServiceDeps {
  ledger: LedgerService;
  audit: AuditService;
  funds: FundService;
  clock: Clock;
}

/**
 * The guarantee network (ADR 0015): members as nodes, what each stands behind for another as edges,
 * and the guarantee circles (互保圈) among them.
 *
 * Decisions written down here:
 * - The report is the live graph as it stands now (its `asOf` is today in the fund's time zone);
 *   past dates are not accepted: accepted-but-inactive pledges keep no history of their status, so
 *   the graph of a past day cannot be rebuilt exactly.
 * - Nodes are the members on at least one edge shown (and a member user itself, always).
 * - Cycles: every elementary cycle, at most CYCLES_MAX, each starting at its smallest member id;
 *   `cyclesTruncated` says when there were more (or the search hit its step bound).
 * - A member user sees only the edges it is guarantor or borrower of, and the cycles through
 *   itself (whose members and loans it needs to see to understand its own exposure).
 */
export class GuaranteeService {
  constructor(readonly deps: GuaranteeServiceDeps) {}

  async network(db: Db, fund: Fund, principal: Principal): Promise<NetworkView> {
    const scope = memberScope(principal);
    const rows = await repo.liveEdges(db, fund.id);
    const graph = adjacencyOf(rows.map(toGraphEdge));
    const found = elementaryCycles(graph, {
      max: CYCLES_MAX,
      ...(scope === undefined ? {} : { through: scope }),
    });
    const cycles = found.cycles.filter((cycle) => !isJointGroupOwn(cycle, rows));
    const truncated = found.truncated;
    const visible = rows.filter(
      (row) => scope === undefined || row.guarantor_member_id === scope || row.borrower_member_id === scope,
    );
    const inCycle = new Set(cycles.flatMap((cycle) => cycle.steps.map((step) => pairKey(step))));
    const edges = edgesOf(visible, inCycle);
    const nodeIds = [
      ...(scope === undefined ? [] : [scope]),
      ...edges.flatMap((edge) => [edge.guarantorId, edge.borrowerId]),
      ...cycles.flatMap((cycle) => cycle.memberIds),
    ];
    const nodes = await repo.membersByIds(db, fund.id, nodeIds);
    const names = new Map(nodes.map((node) => [node.id, node.name]));
    const onEdges = new Set([
      ...(scope === undefined ? [] : [scope]),
      ...edges.flatMap((edge) => [edge.guarantorId, edge.borrowerId]),
    ]);
    return {
      fundId: fund.id,
      asOf: this.deps.funds.today(fund),
      nodes: nodes
        .filter((node) => onEdges.has(node.id))
        .map((node) => ({ id: node.id, name: node.name, relatedGroup: node.related_group })),
      edges,
      cycles: cycles.map((cycle) => cycleView(cycle, names)),
      cyclesMax: CYCLES_MAX,
      cyclesTruncated: truncated,
    };
  }
}

const pairKey = (edge: { guarantorId: string; borrowerId: string }): string => `${edge.guarantorId}>${edge.borrowerId}`;

/** One edge per guarantor → borrower pair, its amount the sum of the outstanding of its guarantees. */
function edgesOf(rows: readonly repo.EdgeRow[], inCycle: ReadonlySet<string>): NetworkView['edges'] {
  const byPair = new Map<string, repo.EdgeRow[]>();
  for (const row of rows) {
    const key = pairKey({ guarantorId: row.guarantor_member_id, borrowerId: row.borrower_member_id });
    byPair.set(key, [...(byPair.get(key) ?? []), row]);
  }
  return [...byPair.entries()].map(([key, group]) => ({
    guarantorId: group[0]!.guarantor_member_id,
    borrowerId: group[0]!.borrower_member_id,
    amount: formatAmount(sumAmounts(group.map((row) => new Money(row.outstanding)))),
    inCycle: inCycle.has(key),
    loans: group.map((row) => ({
      loanId: row.loan_id,
      number: row.loan_number,
      lender: row.lender,
      guaranteeId: row.guarantee_id,
      guaranteeStatus: row.guarantee_status as 'accepted' | 'active',
      amount: formatAmount(new Money(row.outstanding)),
      circleFlagged: row.circle_flagged,
      jointGroupId: row.joint_group_id,
    })),
  }));
}

/**
 * Whether every guarantee behind every step of the cycle comes from one and the same joint group:
 * the group's own mutual structure, not a circle (the rule of joint-groups.circles.ts).
 */
function isJointGroupOwn(cycle: Cycle, rows: readonly repo.EdgeRow[]): boolean {
  const groupOf = new Map(rows.map((row) => [groupEdgeKey(row.guarantor_member_id, row.loan_id), row.joint_group_id]));
  const groups = new Set(
    cycle.steps.flatMap((step) =>
      step.loans.map((loan) => groupOf.get(groupEdgeKey(step.guarantorId, loan.id)) ?? null),
    ),
  );
  return groups.size === 1 && !groups.has(null);
}

function cycleView(cycle: Cycle, names: ReadonlyMap<string, string>): NetworkView['cycles'][number] {
  return {
    members: cycle.memberIds.map((id) => ({ id, name: names.get(id) ?? id })),
    steps: cycle.steps.map((step) => ({ ...step, loans: step.loans.map((loan) => ({ ...loan })) })),
  };
}
