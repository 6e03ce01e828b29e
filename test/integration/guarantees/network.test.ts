import { startHarness, type Harness } from '../../helpers/harness';
import { expectFundConsistent } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';
import { balanceOf } from '../disbursements/disbursements.helpers';
import { api, type ApplicationBody } from '../loans/loans.helpers';
import {
  circleWorld,
  disbursed,
  guaranteed,
  network,
  repay,
  type CircleWorld,
  type Letter,
} from './guarantees.helpers';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

interface EdgeBody {
  guarantorId: string;
  borrowerId: string;
  amount: string;
  inCycle: boolean;
  loans: { loanId: string; number: number; guaranteeStatus: string; amount: string; circleFlagged: boolean }[];
}

/**
 * Flag mode, so circles can exist:
 *  - loan 1: B borrows 90,000.00, guaranteed by A for 50,000.00 and C for 20,000.00; disbursed,
 *    then 30,000.00 repaid (all principal: rate 0, no fee). Rule R-release, by hand:
 *      A: 50,000.00 × 30,000 / 90,000 = 16,666.666… → 16,666.67 released, 33,333.33 outstanding;
 *      C: 20,000.00 × 30,000 / 90,000 =  6,666.666… →  6,666.67 released, 13,333.33 outstanding.
 *  - loan 2: C borrows 40,000.00, A accepted to guarantee 40,000.00 (not disbursed: the pledge).
 *  - loan 3: D borrows 10,000.00, B accepted 10,000.50, then the application was withdrawn: no edge.
 *  - loan 4: A borrows 20,000.00, B accepted 5,000.00: closes A → B → A and A → C → B → A.
 */
async function networkWorld(): Promise<{ w: CircleWorld; loans: ApplicationBody[] }> {
  const w = await circleWorld(h, 'flag');
  const loan1 = await disbursed(h, w, {
    borrower: 'B',
    amount: '90000.00',
    guarantors: [
      { by: 'A', amount: '50000.00' },
      { by: 'C', amount: '20000.00' },
    ],
  });
  await repay(h, w, loan1.id, '30000.00');
  const loan2 = await guaranteed(h, w, {
    borrower: 'C',
    amount: '40000.00',
    guarantors: [{ by: 'A', amount: '40000.00' }],
  });
  const loan3 = await guaranteed(h, w, {
    borrower: 'D',
    amount: '10000.00',
    guarantors: [{ by: 'B', amount: '10000.50' }],
  });
  const withdrawn = await h.http
    .post(api(`/funds/${w.fund.id}/loan-applications/${loan3.id}/withdraw`))
    .set(w.fund.admin.auth)
    .send({ reason: '不再需要' });
  expect(withdrawn.status).toBe(200);
  const loan4 = await guaranteed(h, w, {
    borrower: 'A',
    amount: '20000.00',
    guarantors: [{ by: 'B', amount: '5000.00' }],
  });
  return { w, loans: [loan1, loan2, loan3, loan4] };
}

/** Edges as "XY amount [#loan status amount]" lines, sorted: easy to compare with a hand-written list. */
function edgeLines(w: CircleWorld, edges: EdgeBody[]): string[] {
  return edges
    .map(
      (edge) =>
        `${w.letterOf(edge.guarantorId)}${w.letterOf(edge.borrowerId)} ${edge.amount} ${edge.inCycle ? 'cycle' : '-'} ` +
        edge.loans.map((loan) => `[#${loan.number} ${loan.guaranteeStatus} ${loan.amount}]`).join(''),
    )
    .sort();
}

/** Each cycle as letters, rotated to start at A's smallest letter present, sorted. */
function cycleLetters(w: CircleWorld, cycles: { members: { id: string }[] }[]): string[] {
  return cycles
    .map((cycle) => {
      const letters = cycle.members.map((m) => w.letterOf(m.id));
      const start = letters.indexOf([...letters].sort()[0]!);
      return [...letters.slice(start), ...letters.slice(0, start)].join('');
    })
    .sort();
}

test('when the network is read, then the edges carry the outstanding amounts computed by hand, closed and withdrawn guarantees are absent, and both cycles are listed', async () => {
  const { w } = await networkWorld();

  const response = await network(h, w.fund.id, w.fund.admin);

  expect(response.status).toBe(200);
  expect(edgeLines(w, response.body.edges)).toEqual([
    'AB 33333.33 cycle [#1 active 33333.33]',
    'AC 40000.00 cycle [#2 accepted 40000.00]',
    'BA 5000.00 cycle [#4 accepted 5000.00]',
    'CB 13333.33 cycle [#1 active 13333.33]',
  ]);
  expect(cycleLetters(w, response.body.cycles)).toEqual(['AB', 'ACB']);
  expect(response.body).toMatchObject({ asOf: '2026-06-15', cyclesMax: 100, cyclesTruncated: false });
  expect(
    (response.body.nodes as { id: string; name: string; relatedGroup: string | null }[])
      .map((node) => `${w.letterOf(node.id)} ${node.name === w.names[w.letterOf(node.id)]}`)
      .sort(),
  ).toEqual(['A true', 'B true', 'C true']);
  // The active edges are the memo book: 7001:<guarantor> holds what is outstanding.
  expect(await balanceOf(h, w.fund.id, `7001:${w.ids.A}`)).toBe('33333.33');
  expect(await balanceOf(h, w.fund.id, `7001:${w.ids.C}`)).toBe('13333.33');
  await expectFundConsistent(h, w.fund.id);
});

test('when a member user reads the network, then it sees only its own edges and the cycles through itself', async () => {
  const { w } = await networkWorld();

  const asC = await network(h, w.fund.id, w.users.C);
  expect(asC.status).toBe(200);
  expect(edgeLines(w, asC.body.edges)).toEqual([
    'AC 40000.00 cycle [#2 accepted 40000.00]',
    'CB 13333.33 cycle [#1 active 13333.33]',
  ]);
  expect(cycleLetters(w, asC.body.cycles)).toEqual(['ACB']);
  expect(asC.body.cycles[0].members[0].id).toBe(w.ids.C);

  const asD = await network(h, w.fund.id, w.users.D);
  expect(asD.body.edges).toEqual([]);
  expect(asD.body.cycles).toEqual([]);
  expect((asD.body.nodes as { id: string }[]).map((node) => node.id)).toEqual([w.ids.D]);
});

test('when CSV is asked for, then there is one row per edge with the same amounts, and asOf is not accepted', async () => {
  const { w } = await networkWorld();

  const csv = await network(h, w.fund.id, w.fund.admin, 'text/csv');
  expect(csv.status).toBe(200);
  expect(csv.headers['content-type']).toMatch(/^text\/csv/);
  const lines = csv.text
    .replace(/^\uFEFF/, '')
    .split('\r\n')
    .filter(Boolean);
  expect(lines).toHaveLength(5);
  const rows = lines.slice(1).map((line) => line.split(','));
  const summary = rows
    .map((row) => `${w.letterOf(row[0]!)}${w.letterOf(row[2]!)} ${row[4]} ${row[5]} ${row[6]}`)
    .sort();
  expect(summary).toEqual(['AB 33333.33 #1 yes', 'AC 40000.00 #2 yes', 'BA 5000.00 #4 yes', 'CB 13333.33 #1 yes']);
  for (const row of rows) expect(row[1]).toBe(w.names[w.letterOf(row[0]!) as Letter]);

  const past = await h.http
    .get(api(`/funds/${w.fund.id}/reports/guarantee-network?asOf=2026-06-01`))
    .set(w.fund.admin.auth);
  expect(past.status).toBe(400);
  expect(past.headers['content-type']).toMatch(/^application\/problem\+json/);
});

test('when a member user of another fund asks, then the fund is not found', async () => {
  const { w } = await networkWorld();
  const other = await circleWorld(h);
  expectProblem(await network(h, w.fund.id, other.users.A), 404, 'fund_not_found');
});
