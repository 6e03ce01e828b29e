import { startHarness, type Harness, type TestUser } from '../../helpers/harness';
import { expectProblem } from '../auth/problem';
import { api, portfolio, type Portfolio } from '../reports/reports.helpers';

/**
 * The loans a member takes part in, by its part (GET …/loans?memberId=&memberRole=), on the
 * portfolio of the report tests (reports.helpers.ts): B borrows L1 from the pool and L4 from BIG
 * (a peer loan); G1 guarantees L1, L2 and L4; G2 guarantees L2, L3 and L5; C borrows L2, D L3 and L5.
 */

let h: Harness;
let p: Portfolio;
beforeAll(async () => {
  h = await startHarness();
  p = await portfolio(h);
});
afterAll(async () => {
  await h.close();
});

async function loanIds(user: TestUser, query: Record<string, string>): Promise<string[]> {
  const response = await h.http
    .get(api(`/funds/${p.w.fund.id}/loans`))
    .query(query)
    .set(user.auth);
  expect(response.status).toBe(200);
  return (response.body.items as { id: string }[]).map((item) => item.id).sort();
}

const sorted = (...ids: string[]) => [...ids].sort();

test('when a member’s loans are asked for by its part, then each part lists only the loans it plays that part in', async () => {
  const { w, loans } = p;
  const admin = w.fund.admin;
  expect(await loanIds(admin, { memberId: w.borrower })).toEqual(sorted(loans.l1, loans.l4));
  expect(await loanIds(admin, { memberId: w.borrower, memberRole: 'borrower' })).toEqual(sorted(loans.l1, loans.l4));
  expect(await loanIds(admin, { memberId: w.borrower, memberRole: 'guarantor' })).toEqual([]);
  expect(await loanIds(admin, { memberId: w.g1, memberRole: 'guarantor' })).toEqual(
    sorted(loans.l1, loans.l2, loans.l4),
  );
  expect(await loanIds(admin, { memberId: w.g1, memberRole: 'borrower' })).toEqual([]);
  expect(await loanIds(admin, { memberId: w.big, memberRole: 'lender' })).toEqual([loans.l4]);
  expect(await loanIds(admin, { memberId: w.big, memberRole: 'borrower' })).toEqual([]);
  expect(await loanIds(admin, { memberId: p.d, memberRole: 'borrower' })).toEqual(sorted(loans.l3, loans.l5));
});

test('when a member user asks for another member’s part, then it still sees only loans its own enterprise takes part in', async () => {
  const { w, loans } = p;
  // G1's user: of the loans C borrows (L2), it sees the one it guarantees; of D's, none.
  expect(await loanIds(w.users.g1, { memberId: p.c, memberRole: 'borrower' })).toEqual([loans.l2]);
  expect(await loanIds(w.users.g1, { memberId: p.d, memberRole: 'borrower' })).toEqual([]);
});

test('when a part is asked for without a member, then it is a 400 naming memberRole', async () => {
  const response = await h.http
    .get(api(`/funds/${p.w.fund.id}/loans`))
    .query({ memberRole: 'guarantor' })
    .set(p.w.fund.admin.auth);
  expectProblem(response, 400, 'validation_failed');
  expect(response.body.errors).toEqual([expect.objectContaining({ in: 'query', pointer: '/memberRole' })]);
});
