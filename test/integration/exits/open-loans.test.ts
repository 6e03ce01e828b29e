import { randomUUID } from 'node:crypto';
import { startHarness, type Harness } from '../../helpers/harness';
import { snapshot } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';
import { api, applicationBody, consented, drafted, loanWorld, submit, type LoanWorld } from '../loans/loans.helpers';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

function requestExit(w: LoanWorld, memberId: string) {
  return h.http
    .post(api(`/funds/${w.fund.id}/members/${memberId}/exit`))
    .set(w.fund.admin.auth)
    .set('Idempotency-Key', randomUUID())
    .send({ reason: 'Leaving the alliance' });
}

/** A submitted pool application of the borrower, guaranteed by G1 (accepted). */
async function submittedWithGuarantor(w: LoanWorld): Promise<string> {
  const draft = await drafted(h, w.users.borrower, w.fund.id, applicationBody(w));
  await consented(h, w.fund.id, draft, { [w.g1]: w.users.g1 });
  const response = await submit(h, w.users.borrower, w.fund.id, draft.id);
  if (response.status !== 200) throw new Error(`not submitted: ${response.status} ${response.text}`);
  return draft.id;
}

describe('exits of members party to open loans', () => {
  test('when the borrower or an accepted guarantor of a submitted loan asks to exit, then each is refused naming the loan, and nothing changes', async () => {
    const w = await loanWorld(h);
    const loanId = await submittedWithGuarantor(w);
    const before = await snapshot(h, w.fund.id);

    const borrower = await requestExit(w, w.borrower);
    expectProblem(borrower, 422, 'exit_open_loans');
    expect(borrower.body.loans).toEqual([expect.objectContaining({ loanId, role: 'borrower', status: 'submitted' })]);
    const guarantor = await requestExit(w, w.g1);
    expectProblem(guarantor, 422, 'exit_open_loans');
    expect(guarantor.body.loans).toEqual([expect.objectContaining({ loanId, role: 'guarantor' })]);
    expect(await snapshot(h, w.fund.id)).toEqual(before);
  });

  test('when the application is withdrawn, then the guarantor may leave', async () => {
    const w = await loanWorld(h);
    const loanId = await submittedWithGuarantor(w);
    const withdrawn = await h.http
      .post(api(`/funds/${w.fund.id}/loan-applications/${loanId}/withdraw`))
      .set(w.users.borrower.auth)
      .send({ reason: 'no longer needed' });
    expect(withdrawn.status).toBe(200);
    const exit = await requestExit(w, w.g1);
    expect(exit.status).toBe(201);
    expect(exit.body.status).toBe('paid');
  });
});
