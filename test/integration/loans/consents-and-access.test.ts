import { makeUser, startHarness, type Harness } from '../../helpers/harness';
import { expectProblem } from '../auth/problem';
import {
  api,
  applicationBody,
  consent,
  createApplication,
  drafted,
  loanTables,
  loanWorld,
  submit,
  type ApplicationBody,
  type LoanWorld,
} from './loans.helpers';

let h: Harness;
let w: LoanWorld;
beforeAll(async () => {
  h = await startHarness();
  w = await loanWorld(h);
});
afterAll(async () => {
  await h.close();
});

const lenderConsent = (loanId: string, user: { auth: Record<string, string> }, body: Record<string, unknown>) =>
  h.http
    .post(api(`/funds/${w.fund.id}/loan-applications/${loanId}/lender-consent`))
    .set(user.auth)
    .send(body);

describe('guarantors’ consent', () => {
  test('when the guarantor’s user accepts, then the guarantee is accepted with who and when, and counts towards coverage', async () => {
    const loan = await drafted(h, w.users.borrower, w.fund.id, applicationBody(w));
    const response = await consent(h, w.users.g1, w.fund.id, loan, w.g1);
    expect(response.status).toBe(200);
    expect(response.body.guarantees[0]).toMatchObject({
      status: 'accepted',
      decidedBy: w.users.g1.id,
      decidedAt: '2026-06-15T04:00:00.000Z',
      declineReason: null,
    });
    expect(response.body.coverage).toMatchObject({ guarantees: '150000.00', proposed: '0.00' });
    const audit = await h
      .db('audit_log')
      .where({ fund_id: w.fund.id, target_id: loan.guarantees[0]!.id })
      .select('action', 'actor_id');
    expect(audit).toEqual([{ action: 'loans.guarantee.accept', actor_id: w.users.g1.id }]);
  });

  test('when a committee user bound to the guarantor declines with a reason, then the decline stays on record', async () => {
    const loan = await drafted(h, w.users.borrower, w.fund.id, applicationBody(w));
    const representative = await makeUser(h, 'committee', { fundId: w.fund.id, memberId: w.g1 });
    const response = await consent(h, representative, w.fund.id, loan, w.g1, {
      decision: 'decline',
      reason: '担保额度不足',
    });
    expect(response.status).toBe(200);
    expect(response.body.guarantees[0]).toMatchObject({
      status: 'declined',
      decidedBy: representative.id,
      declineReason: '担保额度不足',
    });
    const before = await loanTables(h, w.fund.id);
    expectProblem(await consent(h, w.users.g1, w.fund.id, loan, w.g1), 409, 'guarantee_already_decided');
    expect(await loanTables(h, w.fund.id)).toEqual(before);
  });

  test.each([
    ['the borrower’s user', (x: LoanWorld) => x.users.borrower],
    ['another guarantor’s user', (x: LoanWorld) => x.users.g2],
  ])('when %s decides on a guarantee, then the answer is 403 not_guarantor and nothing changes', async (_who, pick) => {
    const loan = await drafted(
      h,
      w.users.borrower,
      w.fund.id,
      applicationBody(w, {
        guarantors: [
          { memberId: w.g1, amount: '150000.00', type: 'joint_and_several' },
          { memberId: w.g2, amount: '10000.00', type: 'general' },
        ],
      }),
    );
    const before = await loanTables(h, w.fund.id);
    const response = await consent(h, pick(w), w.fund.id, loan, w.g1);
    expectProblem(response, 403, 'not_guarantor');
    expect(await loanTables(h, w.fund.id)).toEqual(before);
  });

  test('when a committee user not bound to the guarantor decides, then the answer is 403 not_guarantor', async () => {
    const loan = await drafted(h, w.users.borrower, w.fund.id, applicationBody(w));
    expectProblem(await consent(h, w.users.committee, w.fund.id, loan, w.g1), 403, 'not_guarantor');
  });

  test('when an administrator decides on a guarantee, then the answer is 403 forbidden', async () => {
    const loan = await drafted(h, w.users.borrower, w.fund.id, applicationBody(w));
    expectProblem(await consent(h, w.fund.admin, w.fund.id, loan, w.g1), 403, 'forbidden');
  });

  test('when a member user with no part in the application decides, then the application is not found to it', async () => {
    const loan = await drafted(h, w.users.borrower, w.fund.id, applicationBody(w));
    expectProblem(await consent(h, w.users.big, w.fund.id, loan, w.g1), 404, 'loan_application_not_found');
  });

  test('when a reason comes with an acceptance, then the answer is 400', async () => {
    const loan = await drafted(h, w.users.borrower, w.fund.id, applicationBody(w));
    const response = await consent(h, w.users.g1, w.fund.id, loan, w.g1, { decision: 'accept', reason: 'x' });
    expectProblem(response, 400, 'validation_failed');
  });

  test('when the guarantee was dropped from the draft, then the guarantor gets 409 guarantee_withdrawn', async () => {
    const loan = await drafted(h, w.users.borrower, w.fund.id, applicationBody(w));
    const patched = await h.http
      .patch(api(`/funds/${w.fund.id}/loan-applications/${loan.id}`))
      .set(w.users.borrower.auth)
      .send({ guarantors: [] });
    expect(patched.status).toBe(200);
    expectProblem(await consent(h, w.users.g1, w.fund.id, loan, w.g1), 409, 'guarantee_withdrawn');
  });
});

describe('the peer lender’s agreement', () => {
  test('when the lender’s user agrees, then the consent is recorded; anybody else gets 403 not_peer_lender', async () => {
    const loan = await drafted(
      h,
      w.users.borrower,
      w.fund.id,
      applicationBody(w, { lender: { type: 'peer', memberId: w.big } }),
    );
    expect(loan.lender).toEqual({
      type: 'peer',
      memberId: w.big,
      consent: { status: 'pending', decidedBy: null, decidedAt: null, reason: null },
    });
    const before = await loanTables(h, w.fund.id);
    expectProblem(await lenderConsent(loan.id, w.users.borrower, { decision: 'accept' }), 403, 'not_peer_lender');
    expectProblem(await lenderConsent(loan.id, w.users.committee, { decision: 'accept' }), 403, 'not_peer_lender');
    expect(await loanTables(h, w.fund.id)).toEqual(before);

    const response = await lenderConsent(loan.id, w.users.big, { decision: 'decline', reason: '资金另有安排' });
    expect(response.status).toBe(200);
    expect(response.body.lender.consent).toEqual({
      status: 'declined',
      decidedBy: w.users.big.id,
      decidedAt: '2026-06-15T04:00:00.000Z',
      reason: '资金另有安排',
    });
    expectProblem(
      await lenderConsent(loan.id, w.users.big, { decision: 'accept' }),
      409,
      'lender_consent_already_decided',
    );
  });

  test('when the application is a pool loan, then lender consent is 409 not_peer_loan', async () => {
    const loan = await drafted(h, w.users.borrower, w.fund.id, applicationBody(w));
    expectProblem(await lenderConsent(loan.id, w.users.committee, { decision: 'accept' }), 409, 'not_peer_loan');
  });
});

describe('who sees and who acts', () => {
  test('when a member user applies with another enterprise as borrower, then the answer is 403 borrower_not_own and nothing changes', async () => {
    const before = await loanTables(h, w.fund.id);
    const response = await createApplication(h, w.users.g2, w.fund.id, applicationBody(w));
    expectProblem(response, 403, 'borrower_not_own');
    expect(await loanTables(h, w.fund.id)).toEqual(before);
  });

  test('when member users list applications, then each sees those it borrows, guarantees or lends in', async () => {
    const world = await loanWorld(h);
    const own = await drafted(h, world.users.borrower, world.fund.id, applicationBody(world));
    const lent = await drafted(
      h,
      world.fund.admin,
      world.fund.id,
      applicationBody(world, {
        borrowerMemberId: world.g2,
        lender: { type: 'peer', memberId: world.big },
        guarantors: [],
      }),
    );
    const numbers = async (user: { auth: Record<string, string> }, query = '') => {
      const response = await h.http.get(api(`/funds/${world.fund.id}/loan-applications${query}`)).set(user.auth);
      expect(response.status).toBe(200);
      return (response.body.items as ApplicationBody[]).map((item) => item.number).sort();
    };
    expect(await numbers(world.users.borrower)).toEqual([own.number]);
    expect(await numbers(world.users.g1)).toEqual([own.number]); // guarantor
    expect(await numbers(world.users.big)).toEqual([lent.number]); // peer lender
    expect(await numbers(world.users.g2)).toEqual([lent.number]); // borrower of the peer loan
    expect(await numbers(world.users.committee)).toEqual([own.number, lent.number]);
    expect(await numbers(world.users.auditor)).toEqual([own.number, lent.number]);
    // A member user filtering by another member still sees only what it may.
    expect(await numbers(world.users.big, `?memberId=${world.borrower}`)).toEqual([]);

    const hidden = await h.http
      .get(api(`/funds/${world.fund.id}/loan-applications/${own.id}`))
      .set(world.users.big.auth);
    expectProblem(hidden, 404, 'loan_application_not_found');
    const seen = await h.http.get(api(`/funds/${world.fund.id}/loan-applications/${own.id}`)).set(world.users.g1.auth);
    expect(seen.status).toBe(200);
  });

  test('when a guarantor’s user tries to edit, submit or withdraw the application, then the answer is 403 not_borrower', async () => {
    const loan = await drafted(h, w.users.borrower, w.fund.id, applicationBody(w));
    const before = await loanTables(h, w.fund.id);
    const base = api(`/funds/${w.fund.id}/loan-applications/${loan.id}`);
    expectProblem(await h.http.patch(base).set(w.users.g1.auth).send({ purpose: 'x' }), 403, 'not_borrower');
    expectProblem(await submit(h, w.users.g1, w.fund.id, loan.id), 403, 'not_borrower');
    expectProblem(
      await h.http.post(`${base}/withdraw`).set(w.users.g1.auth).send({ reason: 'x' }),
      403,
      'not_borrower',
    );
    expect(await loanTables(h, w.fund.id)).toEqual(before);
  });

  test('when committee and auditor users try to draft, edit, submit or withdraw, then the answer is 403 forbidden', async () => {
    const loan = await drafted(h, w.users.borrower, w.fund.id, applicationBody(w));
    const base = api(`/funds/${w.fund.id}/loan-applications/${loan.id}`);
    for (const user of [w.users.committee, w.users.auditor]) {
      expectProblem(await createApplication(h, user, w.fund.id, applicationBody(w)), 403, 'forbidden');
      expectProblem(await h.http.patch(base).set(user.auth).send({ purpose: 'x' }), 403, 'forbidden');
      expectProblem(await submit(h, user, w.fund.id, loan.id), 403, 'forbidden');
      expectProblem(await h.http.post(`${base}/withdraw`).set(user.auth).send({ reason: 'x' }), 403, 'forbidden');
    }
  });
});
