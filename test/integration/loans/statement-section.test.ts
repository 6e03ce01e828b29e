import { startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { api, applicationBody, consented, disburseByHand, drafted, loanWorld, submit } from './loans.helpers';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

describe('member statements list loans and guarantees', () => {
  test('when a member borrows and another guarantees, then each statement shows its part, with principal outstanding at the last day', async () => {
    const w = await loanWorld(h);
    const draft = await drafted(h, w.users.borrower, w.fund.id, applicationBody(w));
    await consented(h, w.fund.id, draft, { [w.g1]: w.users.g1 });
    expect((await submit(h, w.users.borrower, w.fund.id, draft.id)).status).toBe(200);
    await disburseByHand(h, w.fund, draft.id, '200000.00');

    const statementOf = (memberId: string, to = TEST_TODAY) =>
      h.http
        .get(api(`/funds/${w.fund.id}/members/${memberId}/statement?from=2026-01-01&to=${to}`))
        .set(w.fund.admin.auth);

    const borrower = await statementOf(w.borrower);
    expect(borrower.status).toBe(200);
    expect(borrower.body.loans).toEqual([
      expect.objectContaining({
        loanId: draft.id,
        number: draft.number,
        lender: 'pool',
        role: 'borrower',
        amount: '200000.00',
        principalOutstanding: '200000.00',
      }),
    ]);
    expect(borrower.body.guarantees).toEqual([]);

    const guarantor = await statementOf(w.g1);
    expect(guarantor.body.loans).toEqual([]);
    expect(guarantor.body.guarantees).toEqual([
      expect.objectContaining({
        loanId: draft.id,
        borrowerMemberId: w.borrower,
        type: 'joint_and_several',
        status: 'accepted',
        amount: '150000.00',
      }),
    ]);

    // A statement ending before the application was submitted shows neither.
    const earlier = await statementOf(w.borrower, '2026-06-14');
    expect(earlier.body.loans).toEqual([]);
  });
});
