import { assert } from '../assert';

/**
 * The guarantee graph as pure data: members are nodes, and an edge guarantor → borrower stands for
 * every live guarantee one member gives on the other's loans. A guarantee circle (互保圈) is a cycle
 * of that graph. A fund has tens to hundreds of members, so the whole graph is searched in memory.
 *
 * Every function here is deterministic: neighbours are visited in id order, so the same graph
 * always gives the same cycle, which keeps problems, flags and reports reproducible.
 */

/**
 * Where an edge comes from. Guarantees of pool, peer and bank loans, joint-group ones included, are
 * all rows of one table and one kind; a source kept elsewhere would add a kind.
 */
export type EdgeKind = 'loan_guarantee';

export interface GraphEdge {
  kind: EdgeKind;
  guarantorId: string;
  borrowerId: string;
  loanId: string;
  loanNumber: number;
}

export interface LoanRef {
  id: string;
  number: number;
}

/** One step of a cycle: from a member to the next, with the loans behind it (by number). */
export interface CycleStep {
  guarantorId: string;
  borrowerId: string;
  loans: LoanRef[];
}

/**
 * An elementary cycle: `memberIds[i]` guarantees `memberIds[i + 1]` (the last one the first), and
 * `steps[i]` is that edge. No member appears twice.
 */
export interface Cycle {
  memberIds: string[];
  steps: CycleStep[];
}

/** Cycles the network report lists at most; `truncated` says when there were more. */
export const CYCLES_MAX = 100;
/** Steps of the cycle search at most, so a dense graph cannot hold a request. */
export const SEARCH_STEPS_MAX = 200_000;

/** guarantor → borrower → loans behind that edge, sorted by loan number then id. */
export type Adjacency = Map<string, Map<string, LoanRef[]>>;

export function adjacencyOf(edges: readonly GraphEdge[]): Adjacency {
  const graph: Adjacency = new Map();
  for (const edge of edges) {
    assert(edge.guarantorId !== edge.borrowerId, `member ${edge.guarantorId} guarantees itself`);
    const out = graph.get(edge.guarantorId) ?? new Map<string, LoanRef[]>();
    graph.set(edge.guarantorId, out);
    const loans = out.get(edge.borrowerId) ?? [];
    if (!loans.some((loan) => loan.id === edge.loanId)) loans.push({ id: edge.loanId, number: edge.loanNumber });
    out.set(edge.borrowerId, loans);
  }
  for (const out of graph.values()) {
    for (const loans of out.values()) loans.sort((a, b) => a.number - b.number || compareIds(a.id, b.id));
  }
  return graph;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function neighbours(graph: Adjacency, memberId: string): string[] {
  return [...(graph.get(memberId)?.keys() ?? [])].sort(compareIds);
}

function stepOf(graph: Adjacency, from: string, to: string): CycleStep {
  const loans = graph.get(from)?.get(to);
  assert(loans, `no edge ${from} → ${to} in the graph`);
  return { guarantorId: from, borrowerId: to, loans: loans.map((loan) => ({ ...loan })) };
}

/**
 * The shortest path of guarantees from `from` to `to` (breadth first, neighbours in id order), as
 * the members on it from `from` to `to`; null when `to` cannot be reached.
 */
export function shortestPath(graph: Adjacency, from: string, to: string): string[] | null {
  if (from === to) return [from];
  const previous = new Map<string, string>([[from, from]]);
  let frontier = [from];
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const member of frontier) {
      for (const neighbour of neighbours(graph, member)) {
        if (previous.has(neighbour)) continue;
        previous.set(neighbour, member);
        if (neighbour === to) return pathBack(previous, from, to);
        next.push(neighbour);
      }
    }
    frontier = next;
  }
  return null;
}

function pathBack(previous: Map<string, string>, from: string, to: string): string[] {
  const path = [to];
  let current = to;
  while (current !== from) {
    current = previous.get(current)!;
    path.push(current);
  }
  return path.reverse();
}

/**
 * The cycle a new guarantee guarantor → borrower on `loan` would close: it closes one exactly when
 * the borrower already reaches the guarantor. The cycle starts at the guarantor; its first step is
 * the new guarantee alone, the others follow the shortest path back. `graph` must not contain the
 * guarantee being checked (an edge already there for other loans between the same two members is
 * a cycle of two with it, and is found).
 */
export function closingCycle(
  graph: Adjacency,
  candidate: { guarantorId: string; borrowerId: string; loan: LoanRef },
): Cycle | null {
  assert(candidate.guarantorId !== candidate.borrowerId, 'a member cannot guarantee its own loan');
  const back = shortestPath(graph, candidate.borrowerId, candidate.guarantorId);
  if (back === null) return null;
  const memberIds = [candidate.guarantorId, ...back.slice(0, -1)];
  const steps: CycleStep[] = [
    { guarantorId: candidate.guarantorId, borrowerId: candidate.borrowerId, loans: [{ ...candidate.loan }] },
  ];
  for (let index = 0; index + 1 < back.length; index += 1) steps.push(stepOf(graph, back[index]!, back[index + 1]!));
  return { memberIds, steps };
}

/**
 * Every elementary cycle of the graph, each once, starting at its smallest member id; or, with
 * `through`, every elementary cycle through that member, starting at it. At most `max` cycles and
 * SEARCH_STEPS_MAX steps: `truncated` is true when the search stopped before it was complete.
 *
 * The search: for each start s (in id order), depth-first over members greater than s that can
 * still reach s, so a branch is only walked when it may close a cycle.
 */
export function elementaryCycles(
  graph: Adjacency,
  options: { max?: number; through?: string } = {},
): { cycles: Cycle[]; truncated: boolean } {
  const max = options.max ?? CYCLES_MAX;
  const members = [...new Set([...graph.keys(), ...[...graph.values()].flatMap((out) => [...out.keys()])])].sort(
    compareIds,
  );
  const starts = options.through === undefined ? members : members.filter((m) => m === options.through);
  const cycles: Cycle[] = [];
  let steps = 0;
  let truncated = false;
  for (const start of starts) {
    const allowed = (member: string) => options.through !== undefined || member > start;
    const reaches = reachingBack(graph, start, allowed);
    const path = [start];
    const onPath = new Set(path);
    const walk = (member: string): boolean => {
      for (const next of neighbours(graph, member)) {
        steps += 1;
        if (steps > SEARCH_STEPS_MAX || cycles.length >= max) return false;
        if (next === start) {
          cycles.push(cycleOf(graph, path));
          continue;
        }
        if (onPath.has(next) || !allowed(next) || !reaches.has(next)) continue;
        path.push(next);
        onPath.add(next);
        const complete = walk(next);
        path.pop();
        onPath.delete(next);
        if (!complete) return false;
      }
      return true;
    };
    if (!walk(start)) {
      truncated = true;
      break;
    }
  }
  return { cycles, truncated };
}

/** Members among the allowed ones that reach `target` (walking the edges backwards from it). */
function reachingBack(graph: Adjacency, target: string, allowed: (member: string) => boolean): Set<string> {
  const incoming = new Map<string, string[]>();
  for (const [from, out] of graph) {
    for (const to of out.keys()) incoming.set(to, [...(incoming.get(to) ?? []), from]);
  }
  const seen = new Set<string>();
  const stack = [target];
  while (stack.length > 0) {
    const member = stack.pop()!;
    for (const from of incoming.get(member) ?? []) {
      if (seen.has(from) || !allowed(from)) continue;
      seen.add(from);
      stack.push(from);
    }
  }
  return seen;
}

function cycleOf(graph: Adjacency, path: readonly string[]): Cycle {
  const steps = path.map((member, index) => stepOf(graph, member, path[(index + 1) % path.length]!));
  return { memberIds: [...path], steps };
}

/** "甲 →[#3] 乙 →[#2] 丙 →[#1] 甲": names by member id (the id when a name is missing), loans by number. */
export function describeCycle(cycle: Cycle, names: ReadonlyMap<string, string>): string {
  const name = (id: string) => names.get(id) ?? id;
  const parts = cycle.steps.map(
    (step) => `${name(step.guarantorId)} →[${step.loans.map((loan) => `#${loan.number}`).join(', ')}]`,
  );
  return `${parts.join(' ')} ${name(cycle.memberIds[0]!)}`;
}
