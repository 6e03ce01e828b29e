import { closingCycle, elementaryCycles, type Adjacency, type Cycle, type LoanRef } from './graph';

/**
 * Guarantee circles and joint guarantee groups (ADR 0016). The members of a group guarantee each
 * other's loans by design, so the cycles among them are the group's approved mutual structure,
 * not a 互保圈: a cycle whose every edge is a guarantee of one and the same group is neither
 * refused nor flagged. A cycle that mixes in any other edge — a guarantee given outside the group,
 * or of another group — is a circle like any other.
 *
 * Pure: the graph and the group's own edges come from the caller.
 */

/** Elementary cycles looked at, at most, for one group guarantee (the search's step bound applies too). */
export const GROUP_CYCLES_MAX = 1000;

export interface GroupCandidate {
  guarantorId: string;
  borrowerId: string;
  loan: LoanRef;
}

/** The key of one guarantee as an edge: its guarantor and its loan (one guarantee per pair). */
export const groupEdgeKey = (guarantorId: string, loanId: string): string => `${guarantorId}>${loanId}`;

/**
 * The circle a group guarantee closes, or null. `graph` is the live graph without the candidate;
 * `groupEdges` the keys of the live guarantees of the candidate's group. The shortest cycle is
 * answered when it mixes; otherwise every elementary cycle through the candidate is searched for one
 * that mixes. Should the search stop at its bounds before it is complete, the shortest cycle is
 * answered: a cycle that could not be shown to be the group's own is treated as a circle.
 */
export function groupClosingCycle(
  graph: Adjacency,
  candidate: GroupCandidate,
  groupEdges: ReadonlySet<string>,
): Cycle | null {
  const shortest = closingCycle(graph, candidate);
  if (shortest === null) return null;
  const own = new Set([...groupEdges, groupEdgeKey(candidate.guarantorId, candidate.loan.id)]);
  const pure = (cycle: Cycle) =>
    cycle.steps.every((step) => step.loans.every((loan) => own.has(groupEdgeKey(step.guarantorId, loan.id))));
  if (!pure(shortest)) return shortest;
  // Every cycle through the candidate starts with it: the guarantor's other edges are left out.
  const through: Adjacency = new Map(graph);
  through.set(candidate.guarantorId, new Map([[candidate.borrowerId, [{ ...candidate.loan }]]]));
  const { cycles, truncated } = elementaryCycles(through, { through: candidate.guarantorId, max: GROUP_CYCLES_MAX });
  const mixed = cycles.find((cycle) => !pure(cycle));
  if (mixed !== undefined) return mixed;
  return truncated ? shortest : null;
}
