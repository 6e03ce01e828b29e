import { createFund } from '../../helpers/factories';
import { makeUser, startHarness, type Harness, type TestUser } from '../../helpers/harness';
import { snapshot } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';
import { api, portfolio, report, setToday, type Portfolio } from './reports.helpers';

/** Who sees which rows, the history of one loan, and refused dates (reports.helpers.ts portfolio). */

let h: Harness;
let p: Portfolio;
let committee: TestUser;
beforeAll(async () => {
  h = await startHarness();
  p = await portfolio(h);
  committee = await makeUser(h, 'committee', { fundId: p.w.fund.id });
});
beforeEach(() => {
  setToday(h, '2026-10-20', p.w, p.users.c, p.users.d, committee);
});
afterAll(async () => {
  await h.close();
});

async function bookOf(user: TestUser, asOf = '2026-07-19') {
  const response = await report(h, user, p.w.fund.id, 'loan-book', asOf);
  expect(response.status).toBe(200);
  return response.body as {
    scope: { memberId: string | null };
    loans: { loanId: string; principalOutstanding: string }[];
    totals: { all: Record<string, unknown> };
  };
}

function history(user: TestUser, loanId: string, query = '') {
  return h.http.get(api(`/funds/${p.w.fund.id}/loans/${loanId}/classification-history${query}`)).set(user.auth);
}

describe('report scoping', () => {
  test('when a member user reads the loan book, then it sees only the loans it borrows, lends or guarantees, and totals over those', async () => {
    const { l1, l2, l3, l4 } = p.loans;
    // B borrows L1 and L4 (30,000 + 40,000).
    const borrower = await bookOf(p.w.users.borrower);
    expect(borrower.scope).toEqual({ memberId: p.w.borrower });
    expect(borrower.loans.map((line) => line.loanId)).toEqual([l1, l4]);
    expect(borrower.totals.all).toMatchObject({ count: 2, principalOutstanding: '70000.00' });
    // G2 guarantees L2 and L3 (and L5, repaid on 07-10); BIG lends L4; C borrows L2.
    expect((await bookOf(p.w.users.g2)).loans.map((line) => line.loanId)).toEqual([l2, l3]);
    expect((await bookOf(p.w.users.g2, '2026-07-09')).loans.map((line) => line.loanId)).toEqual([l2, l3, p.loans.l5]);
    expect((await bookOf(p.w.users.big)).loans.map((line) => line.loanId)).toEqual([l4]);
    expect((await bookOf(p.users.c)).loans.map((line) => line.loanId)).toEqual([l2]);
  });

  test('when the committee or an auditor reads the loan book, then it sees every loan', async () => {
    const { l1, l2, l3, l4 } = p.loans;
    for (const user of [committee, p.w.users.auditor, p.w.fund.admin]) {
      const book = await bookOf(user);
      expect(book.scope).toEqual({ memberId: null });
      expect(book.loans.map((line) => line.loanId)).toEqual([l1, l2, l3, l4]);
    }
  });
});

describe('classification history', () => {
  test('when a loan goes overdue and is cured, then its history shows both moves with their reasons', async () => {
    const response = await history(p.users.c, p.loans.l2);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      loanId: p.loans.l2,
      number: expect.any(Number),
      items: [
        {
          changedOn: '2026-07-16',
          fromClassification: 'normal',
          toClassification: 'special_mention',
          fromStatus: 'active',
          toStatus: 'overdue',
          daysPastDue: 1,
          reason: 'overdue',
        },
        {
          changedOn: '2026-07-20',
          fromClassification: 'special_mention',
          toClassification: 'normal',
          fromStatus: 'overdue',
          toStatus: 'active',
          daysPastDue: 0,
          reason: 'cured',
        },
      ],
      nextCursor: null,
    });
  });

  test('when the history is read a page at a time, then the pages follow one another oldest first', async () => {
    const first = await history(p.w.fund.admin, p.loans.l2, '?limit=1');
    expect(first.status).toBe(200);
    expect(first.body.items.map((item: { changedOn: string }) => item.changedOn)).toEqual(['2026-07-16']);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await history(p.w.fund.admin, p.loans.l2, `?limit=1&cursor=${first.body.nextCursor as string}`);
    expect(second.body.items.map((item: { changedOn: string }) => item.changedOn)).toEqual(['2026-07-20']);
    expect(second.body.nextCursor).toBeNull();
    expectProblem(await history(p.w.fund.admin, p.loans.l2, '?cursor=not-a-cursor'), 400, 'invalid_cursor');
  });

  test('when a member may not see a loan, then its history is not found; its own and the ones it guarantees are there', async () => {
    expectProblem(await history(p.w.users.borrower, p.loans.l2), 404, 'loan_not_found');
    expectProblem(await history(p.users.d, p.loans.l1), 404, 'loan_not_found');
    const own = await history(p.w.users.borrower, p.loans.l1);
    expect(own.status).toBe(200);
    expect(own.body.items).toEqual([
      {
        changedOn: '2026-07-16',
        fromClassification: 'normal',
        toClassification: 'special_mention',
        fromStatus: 'active',
        toStatus: 'overdue',
        daysPastDue: 1,
        reason: 'overdue',
      },
    ]);
    expect((await history(p.w.users.g1, p.loans.l2)).status).toBe(200);
    expect((await history(p.w.users.auditor, p.loans.l3)).body).toMatchObject({ items: [], nextCursor: null });
  });
});

describe('refused report dates', () => {
  test('when asOf is malformed, in the future or before the fund, then the answer is a problem and nothing changes', async () => {
    const before = await snapshot(h, p.w.fund.id);
    for (const name of ['loan-book', 'portfolio-at-risk'] as const) {
      expectProblem(await report(h, p.w.fund.admin, p.w.fund.id, name, '2026-7-19'), 400, 'validation_failed');
      expectProblem(await report(h, p.w.fund.admin, p.w.fund.id, name, '2026-02-30'), 400, 'validation_failed');
      const future = await report(h, p.w.fund.admin, p.w.fund.id, name, '2026-10-21');
      expectProblem(future, 422, 'as_of_in_future');
      expect(future.body).toMatchObject({ asOf: '2026-10-21', today: '2026-10-20' });
      const early = await report(h, p.w.fund.admin, p.w.fund.id, name, '2026-06-14');
      expectProblem(early, 422, 'as_of_before_fund');
      expect(early.body).toMatchObject({ asOf: '2026-06-14', establishedOn: '2026-06-15' });
      expectProblem(
        await h.http.get(api(`/funds/${p.w.fund.id}/reports/${name}?asOf=2026-07-19&extra=1`)).set(p.w.fund.admin.auth),
        400,
        'validation_failed',
      );
    }
    expect(await snapshot(h, p.w.fund.id)).toEqual(before);
  });

  test('when the fund is another one’s, then its reports are not found for a user bound elsewhere', async () => {
    const other = await createFund(h);
    const elsewhere = await makeUser(h, 'auditor', { fundId: other.id });
    expectProblem(await report(h, elsewhere, p.w.fund.id, 'loan-book', '2026-07-19'), 404, 'fund_not_found');
  });
});
