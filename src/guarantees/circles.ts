import type { AuditService } from '../audit/audit.service';
import type { Actor } from '../auth/principal';
import type { Db, Trx } from '../db/knex';
import type { AppError } from '../errors';
import { adjacencyOf, closingCycle, describeCycle, type Cycle, type GraphEdge, type LoanRef } from './graph';
import { guaranteeError, type GuaranteeErrorCode } from './guarantees.errors';
import * as repo from './guarantees.repo';
import { groupClosingCycle, groupEdgeKey } from './joint-groups.circles';

/**
 * The guarantee-circle check (ADR 0015). A guarantee guarantor → borrower closes a circle when the
 * borrower already reaches the guarantor through live guarantees. It runs when a guarantor is
 * proposed and when it accepts, and inside the eligibility rules at submission, approval and
 * disbursement: the graph changes between those moments (other loans are guaranteed, repaid,
 * cancelled), so each decision is checked against the graph as it stands then. A joint guarantee
 * group's guarantee closes a circle only through a cycle that mixes in an edge other than the
 * group's own guarantees (ADR 0016).
 */

export type CircleStage = 'proposal' | 'consent' | 'submission' | 'approval' | 'disbursement';

/** A guarantee to check: its row (when it exists), its two members and its loan. */
export interface CircleCandidate {
  guaranteeId: string;
  guarantorId: string;
  borrowerId: string;
  loan: LoanRef;
  /** The joint guarantee group the guarantee is given as a member of, if any (ADR 0016). */
  jointGroupId?: string | null;
}

/** A cycle as the API shows it and the guarantee stores it: named members, loans per step. */
export interface CircleView {
  members: { id: string; name: string }[];
  steps: { guarantorId: string; borrowerId: string; loans: LoanRef[] }[];
}

export interface CircleFinding {
  candidate: CircleCandidate;
  cycle: Cycle;
  view: CircleView;
  /** "甲 →[#3] 乙 →[#2] 丙 →[#1] 甲" */
  description: string;
}

export function toGraphEdge(row: repo.EdgeRow): GraphEdge {
  return {
    kind: row.kind,
    guarantorId: row.guarantor_member_id,
    borrowerId: row.borrower_member_id,
    loanId: row.loan_id,
    loanNumber: row.loan_number,
  };
}

/**
 * The circles the candidates would close, one finding per candidate that closes one. The live
 * graph is read once; each candidate is checked against it without its own edge.
 */
export async function findCircles(
  db: Db,
  fundId: string,
  candidates: readonly CircleCandidate[],
): Promise<CircleFinding[]> {
  if (candidates.length === 0) return [];
  const edges = await repo.liveEdges(db, fundId);
  const found: { candidate: CircleCandidate; cycle: Cycle }[] = [];
  for (const candidate of candidates) {
    const rest = edges.filter((edge) => edge.guarantee_id !== candidate.guaranteeId);
    const graph = adjacencyOf(rest.map(toGraphEdge));
    const group = candidate.jointGroupId ?? null;
    // A joint group's guarantee: the cycles of the group's own guarantees are no circle (ADR 0016).
    const cycle =
      group === null
        ? closingCycle(graph, candidate)
        : groupClosingCycle(
            graph,
            candidate,
            new Set(
              rest
                .filter((edge) => edge.joint_group_id === group)
                .map((edge) => groupEdgeKey(edge.guarantor_member_id, edge.loan_id)),
            ),
          );
    if (cycle) found.push({ candidate, cycle });
  }
  if (found.length === 0) return [];
  const members = await repo.membersByIds(
    db,
    fundId,
    found.flatMap((f) => f.cycle.memberIds),
  );
  const names = new Map(members.map((member) => [member.id, member.name]));
  return found.map(({ candidate, cycle }) => ({
    candidate,
    cycle,
    view: {
      members: cycle.memberIds.map((id) => ({ id, name: names.get(id) ?? id })),
      steps: cycle.steps.map((step) => ({ ...step, loans: step.loans.map((loan) => ({ ...loan })) })),
    },
    description: describeCycle(cycle, names),
  }));
}

/** What the problem and the audit payload say about a finding. */
export function circleExtensions(finding: CircleFinding, stage: CircleStage): Record<string, unknown> {
  return {
    stage,
    guaranteeId: finding.candidate.guaranteeId,
    guarantorMemberId: finding.candidate.guarantorId,
    borrowerMemberId: finding.candidate.borrowerId,
    loanId: finding.candidate.loan.id,
    cycle: finding.view,
  };
}

/** The refusal in `refuse` mode: 422 guarantee_circle naming the cycle, members and loans in order. */
export function circleRefusal(finding: CircleFinding, stage: CircleStage): AppError<GuaranteeErrorCode> {
  return guaranteeError(
    'guarantee_circle',
    `This guarantee would close a guarantee circle (互保圈): ${finding.description}. The fund's policy refuses guarantee circles.`,
    circleExtensions(finding, stage),
  );
}

/**
 * `flag` mode: the guarantee goes ahead; the cycle is recorded on it and in an audit row of its
 * own (action `loans.guarantee.circle_flagged`), in the caller's transaction.
 */
export async function flagCircles(
  trx: Trx,
  deps: { audit: AuditService; now: Date },
  input: {
    fundId: string;
    actor: Actor;
    requestId: string | null;
    stage: CircleStage;
    findings: readonly CircleFinding[];
  },
): Promise<void> {
  for (const finding of input.findings) {
    await repo.recordCircle(
      trx,
      input.fundId,
      finding.candidate.guaranteeId,
      { ...finding.view, foundAt: input.stage },
      deps.now,
    );
    await deps.audit.record(trx, {
      fundId: input.fundId,
      actor: input.actor,
      action: 'loans.guarantee.circle_flagged',
      targetType: 'loan_guarantee',
      targetId: finding.candidate.guaranteeId,
      payload: { ...circleExtensions(finding, input.stage), description: finding.description },
      requestId: input.requestId,
    });
  }
}
