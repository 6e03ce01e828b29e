import fc from 'fast-check';
import {
  adjacencyOf,
  closingCycle,
  describeCycle,
  elementaryCycles,
  type Cycle,
  type GraphEdge,
} from '../../src/guarantees/graph';

/** Members are single letters here, so the expected cycles are easy to write by hand. */
let loanNumber = 0;
function edge(guarantorId: string, borrowerId: string, number?: number): GraphEdge {
  loanNumber += 1;
  const n = number ?? loanNumber;
  return { kind: 'loan_guarantee', guarantorId, borrowerId, loanId: `loan-${n}`, loanNumber: n };
}

const members = (cycle: Cycle | null) => cycle?.memberIds ?? null;

describe('closingCycle', () => {
  test('when A guarantees B and B guarantees C, then a guarantee A → C closes nothing and C → A closes C → A → B → C', () => {
    const graph = adjacencyOf([edge('A', 'B', 1), edge('B', 'C', 2)]);
    expect(closingCycle(graph, { guarantorId: 'A', borrowerId: 'C', loan: { id: 'loan-9', number: 9 } })).toBeNull();
    const cycle = closingCycle(graph, { guarantorId: 'C', borrowerId: 'A', loan: { id: 'loan-9', number: 9 } });
    expect(cycle).toEqual({
      memberIds: ['C', 'A', 'B'],
      steps: [
        { guarantorId: 'C', borrowerId: 'A', loans: [{ id: 'loan-9', number: 9 }] },
        { guarantorId: 'A', borrowerId: 'B', loans: [{ id: 'loan-1', number: 1 }] },
        { guarantorId: 'B', borrowerId: 'C', loans: [{ id: 'loan-2', number: 2 }] },
      ],
    });
    expect(
      describeCycle(
        cycle!,
        new Map([
          ['A', '甲'],
          ['B', '乙'],
          ['C', '丙'],
        ]),
      ),
    ).toBe('丙 →[#9] 甲 →[#1] 乙 →[#2] 丙');
  });

  test('when B already guarantees A on two loans, then A guaranteeing B is a cycle of two naming both loans', () => {
    const graph = adjacencyOf([edge('B', 'A', 4), edge('B', 'A', 3)]);
    expect(closingCycle(graph, { guarantorId: 'A', borrowerId: 'B', loan: { id: 'loan-5', number: 5 } })).toEqual({
      memberIds: ['A', 'B'],
      steps: [
        { guarantorId: 'A', borrowerId: 'B', loans: [{ id: 'loan-5', number: 5 }] },
        {
          guarantorId: 'B',
          borrowerId: 'A',
          loans: [
            { id: 'loan-3', number: 3 },
            { id: 'loan-4', number: 4 },
          ],
        },
      ],
    });
  });

  test('when two ways lead back, then the shorter is named', () => {
    const graph = adjacencyOf([edge('B', 'C'), edge('C', 'D'), edge('D', 'A'), edge('B', 'E'), edge('E', 'A')]);
    const cycle = closingCycle(graph, { guarantorId: 'A', borrowerId: 'B', loan: { id: 'x', number: 99 } });
    expect(members(cycle)).toEqual(['A', 'B', 'E']);
  });
});

describe('elementaryCycles', () => {
  test('when the graph has a triangle, a pair and a tail, then exactly the two cycles are listed, each from its smallest member', () => {
    const graph = adjacencyOf([
      edge('C', 'A'),
      edge('A', 'B'),
      edge('B', 'C'),
      edge('D', 'E'),
      edge('E', 'D'),
      edge('E', 'F'),
    ]);
    const { cycles, truncated } = elementaryCycles(graph);
    expect(truncated).toBe(false);
    expect(cycles.map((cycle) => cycle.memberIds)).toEqual([
      ['A', 'B', 'C'],
      ['D', 'E'],
    ]);
    expect(elementaryCycles(graph, { through: 'E' }).cycles.map((cycle) => cycle.memberIds)).toEqual([['E', 'D']]);
    expect(elementaryCycles(graph, { through: 'F' }).cycles).toEqual([]);
  });

  test('when a complete graph of 5 has 84 elementary cycles and the cap is 10, then 10 are listed and the list is marked truncated', () => {
    // Σ over k = 2..5 of C(5, k) × (k − 1)! = 10 + 20 + 30 + 24 = 84.
    const names = ['A', 'B', 'C', 'D', 'E'];
    const edges = names.flatMap((from) => names.filter((to) => to !== from).map((to) => edge(from, to)));
    expect(elementaryCycles(adjacencyOf(edges), { max: 100 }).cycles).toHaveLength(84);
    const capped = elementaryCycles(adjacencyOf(edges), { max: 10 });
    expect(capped.cycles).toHaveLength(10);
    expect(capped.truncated).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties, against independent reference computations.

const MEMBERS = ['A', 'B', 'C', 'D', 'E', 'F'];
const arbitraryEdges = fc
  .array(
    fc
      .tuple(fc.constantFrom(...MEMBERS), fc.constantFrom(...MEMBERS), fc.integer({ min: 1, max: 50 }))
      .filter(([from, to]) => from !== to),
    { maxLength: 14 },
  )
  .map((tuples) => tuples.map(([from, to, n]) => edge(from, to, n)));

/** Reachability by repeated squaring of the relation (Warshall), not by a search. */
function reaches(edges: readonly GraphEdge[], from: string, to: string): boolean {
  const r = new Map(MEMBERS.map((a) => [a, new Set<string>()]));
  for (const e of edges) r.get(e.guarantorId)!.add(e.borrowerId);
  for (const k of MEMBERS) for (const i of MEMBERS) if (r.get(i)!.has(k)) for (const j of r.get(k)!) r.get(i)!.add(j);
  return r.get(from)!.has(to);
}

/** Every elementary cycle by brute force: each sequence of distinct members starting at its smallest. */
function bruteForceCycles(edges: readonly GraphEdge[]): string[] {
  const has = (a: string, b: string) => edges.some((e) => e.guarantorId === a && e.borrowerId === b);
  const found: string[] = [];
  const extend = (path: string[]) => {
    const last = path[path.length - 1]!;
    if (path.length >= 2 && has(last, path[0]!)) found.push(path.join(''));
    for (const next of MEMBERS) if (next > path[0]! && !path.includes(next) && has(last, next)) extend([...path, next]);
  };
  for (const start of MEMBERS) extend([start]);
  return found.sort();
}

function isValidCycle(cycle: Cycle, edges: readonly GraphEdge[]): boolean {
  const n = cycle.memberIds.length;
  if (n < 2 || new Set(cycle.memberIds).size !== n || cycle.steps.length !== n) return false;
  return cycle.steps.every(
    (step, i) =>
      step.guarantorId === cycle.memberIds[i] &&
      step.borrowerId === cycle.memberIds[(i + 1) % n] &&
      step.loans.length > 0 &&
      step.loans.every((loan) =>
        edges.some(
          (e) => e.guarantorId === step.guarantorId && e.borrowerId === step.borrowerId && e.loanId === loan.id,
        ),
      ),
  );
}

describe('properties', () => {
  test('a new guarantee G → B is refused (closes a cycle) exactly when B already reaches G, and the cycle it names is real', () => {
    fc.assert(
      fc.property(
        arbitraryEdges,
        fc.constantFrom(...MEMBERS),
        fc.constantFrom(...MEMBERS),
        (edges, guarantor, borrower) => {
          fc.pre(guarantor !== borrower);
          const loan = { id: 'new-loan', number: 1000 };
          const cycle = closingCycle(adjacencyOf(edges), { guarantorId: guarantor, borrowerId: borrower, loan });
          expect(cycle !== null).toBe(reaches(edges, borrower, guarantor));
          if (cycle) {
            expect(cycle.memberIds[0]).toBe(guarantor);
            expect(cycle.memberIds[1]).toBe(borrower);
            expect(isValidCycle(cycle, [...edges, edge(guarantor, borrower, 1000)].map(withLoanId(loan)))).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  test('the elementary cycles listed are exactly those a brute-force enumeration finds, each valid', () => {
    fc.assert(
      fc.property(arbitraryEdges, (edges) => {
        const { cycles, truncated } = elementaryCycles(adjacencyOf(edges), { max: 10_000 });
        expect(truncated).toBe(false);
        expect(cycles.map((c) => c.memberIds.join('')).sort()).toEqual(bruteForceCycles(edges));
        for (const cycle of cycles) expect(isValidCycle(cycle, edges)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  test('the cycles through a member are exactly the listed cycles that contain it', () => {
    fc.assert(
      fc.property(arbitraryEdges, fc.constantFrom(...MEMBERS), (edges, member) => {
        const all = elementaryCycles(adjacencyOf(edges), { max: 10_000 }).cycles;
        const through = elementaryCycles(adjacencyOf(edges), { max: 10_000, through: member }).cycles;
        const rotate = (ids: string[]) => {
          const at = ids.indexOf(member);
          return [...ids.slice(at), ...ids.slice(0, at)].join('');
        };
        expect(through.map((c) => c.memberIds.join('')).sort()).toEqual(
          all
            .filter((c) => c.memberIds.includes(member))
            .map((c) => rotate(c.memberIds))
            .sort(),
        );
      }),
      { numRuns: 300 },
    );
  });
});

/** The new guarantee's edge carries the candidate loan's id. */
function withLoanId(loan: { id: string; number: number }) {
  return (e: GraphEdge): GraphEdge => (e.loanNumber === loan.number ? { ...e, loanId: loan.id } : e);
}
