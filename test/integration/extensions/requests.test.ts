import { startHarness, type Harness } from '../../helpers/harness';
import { expectProblem } from '../auth/problem';
import { convene } from '../committee/committee.helpers';
import { approvedLoan } from '../disbursements/disbursements.helpers';
import { activeLoan, SMALL } from '../repayments/repayments.helpers';
import {
  api,
  consentTo,
  extensionTables,
  extensionWorld,
  requested,
  requestExtension,
  withdrawExtension,
  type ExtensionWorld,
} from './extensions.helpers';

let h: Harness;
let w: ExtensionWorld;
let loanId: string;

beforeAll(async () => {
  h = await startHarness();
  w = await extensionWorld(h);
  // 90,000.00 from 2026-06-15 over 90 days: matures 2026-09-13; G1's guarantee is active.
  loanId = await activeLoan(h, w, SMALL);
});

afterAll(async () => {
  await h.close();
});

const BODY = { newMaturityDate: '2026-11-30', reason: '旺季备货资金周转' };

test('when an extension is asked for wrongly, then each refusal is a problem naming its rule and nothing changes', async () => {
  const before = await extensionTables(h, w.fund.id);
  const cases: [ReturnType<typeof requestExtension>, number, string][] = [
    [requestExtension(h, w.users.borrower, w.fund.id, loanId, BODY, null), 400, 'idempotency_key_required'],
    [
      requestExtension(h, w.users.borrower, w.fund.id, loanId, { ...BODY, newMaturityDate: '2026-02-30' }),
      400,
      'validation_failed',
    ],
    [
      requestExtension(h, w.users.borrower, w.fund.id, loanId, { ...BODY, newMaturityDate: '2026-09-13' }),
      422,
      'maturity_not_extended',
    ],
    // 2026-06-15 → 2027-01-01 is 200 days; the policy allows 180.
    [
      requestExtension(h, w.users.borrower, w.fund.id, loanId, { ...BODY, newMaturityDate: '2027-01-01' }),
      422,
      'extension_term_exceeds_policy',
    ],
    [requestExtension(h, w.users.g1, w.fund.id, loanId, BODY), 403, 'not_borrower'],
    [requestExtension(h, w.users.big, w.fund.id, loanId, BODY), 404, 'loan_not_found'],
  ];
  for (const [call, status, code] of cases) expectProblem(await call, status, code);
  const term = await requestExtension(h, w.admin, w.fund.id, loanId, { ...BODY, newMaturityDate: '2027-01-01' });
  expect(term.body).toMatchObject({ rule: 'term_days_max', limit: '180', actual: '200' });
  expect(await extensionTables(h, w.fund.id)).toEqual(before);
});

test('when the loan is not disbursed or the borrower is suspended, then no extension is taken', async () => {
  const approved = await approvedLoan(h, w, {
    amount: '1000.00',
    guarantors: [{ memberId: w.g2, amount: '1000.00', type: 'general' }],
  });
  const before = await extensionTables(h, w.fund.id);
  expectProblem(await requestExtension(h, w.admin, w.fund.id, approved.id, BODY), 409, 'loan_not_extendable');
  const suspended = await h.http
    .post(api(`/funds/${w.fund.id}/members/${w.borrower}/status`))
    .set(w.admin.auth)
    .send({ status: 'suspended', reason: '理事会决议暂停' });
  expect(suspended.status).toBe(200);
  const during = await extensionTables(h, w.fund.id);
  expectProblem(await requestExtension(h, w.admin, w.fund.id, loanId, BODY), 422, 'borrower_not_active');
  expect(await extensionTables(h, w.fund.id)).toEqual(during);
  const restored = await h.http
    .post(api(`/funds/${w.fund.id}/members/${w.borrower}/status`))
    .set(w.admin.auth)
    .send({ status: 'active', reason: '恢复' });
  expect(restored.status).toBe(200);
  expect((await extensionTables(h, w.fund.id)).extensions).toEqual(before.extensions);
});

test('when the guarantor declines, then the extension cannot go on an agenda, and the borrower withdraws it', async () => {
  const extension = await requested(h, w.users.borrower, w.fund.id, loanId, BODY);
  expect(extension).toMatchObject({
    number: 1,
    status: 'submitted',
    requestedMaturityDate: '2026-11-30',
    repaymentMethod: 'equal_principal',
    maturityDateBefore: '2026-09-13',
    restructuring: null,
  });
  expect(extension.consents).toEqual([expect.objectContaining({ guarantorMemberId: w.g1, status: 'pending' })]);
  expectProblem(await requestExtension(h, w.admin, w.fund.id, loanId, BODY), 409, 'extension_already_open');

  // Only the guarantor's own users decide; others are refused and change nothing.
  const before = await extensionTables(h, w.fund.id);
  expectProblem(await consentTo(h, w.users.borrower, w.fund.id, extension), 403, 'not_guarantor');
  expectProblem(await consentTo(h, w.users.big, w.fund.id, extension), 404, 'loan_not_found');
  expect(await extensionTables(h, w.fund.id)).toEqual(before);

  const declined = await consentTo(h, w.users.g1, w.fund.id, extension, {
    decision: 'decline',
    reason: '不同意延长保证期间',
  });
  expect(declined.status).toBe(200);
  expect(declined.body.consents[0]).toMatchObject({ status: 'declined', declineReason: '不同意延长保证期间' });
  expectProblem(await consentTo(h, w.users.g1, w.fund.id, extension), 409, 'consent_already_decided');

  const afterDecline = await extensionTables(h, w.fund.id);
  const convened = await convene(h, w, { chairUserId: w.seats[0]!.user.id, extensionIds: [extension.id] });
  expectProblem(convened, 409, 'extension_consent_declined');
  expect(convened.body.guarantorMemberIds).toEqual([w.g1]);
  expect(await extensionTables(h, w.fund.id)).toEqual(afterDecline);

  expectProblem(await withdrawExtension(h, w.users.g1, w.fund.id, extension), 403, 'not_borrower');
  const withdrawn = await withdrawExtension(h, w.users.borrower, w.fund.id, extension);
  expect(withdrawn.status).toBe(200);
  expect(withdrawn.body).toMatchObject({ status: 'withdrawn', withdrawalReason: '资金已到位' });
  expectProblem(await withdrawExtension(h, w.users.borrower, w.fund.id, extension), 409, 'extension_not_withdrawable');
  const loan = (await h.db('loans').where({ id: loanId }).first('schedule_version', 'restructured')) as Record<
    string,
    unknown
  >;
  expect(loan).toEqual({ schedule_version: 1, restructured: false });
});

test('when extensions are read, then members see only those of loans their enterprise takes part in', async () => {
  const extension = await requested(h, w.admin, w.fund.id, loanId, { ...BODY, repaymentMethod: 'bullet' });
  expect(extension).toMatchObject({ number: 2, repaymentMethod: 'bullet', repaymentMethodBefore: 'equal_principal' });
  for (const user of [w.users.borrower, w.users.g1, w.users.auditor, w.admin]) {
    const list = await h.http.get(api(`/funds/${w.fund.id}/loans/${loanId}/extensions?limit=1`)).set(user.auth);
    expect(list.status).toBe(200);
    expect(list.body.items.map((item: { id: string }) => item.id)).toEqual([extension.id]);
    expect(list.body.nextCursor).not.toBeNull();
    const next = await h.http
      .get(api(`/funds/${w.fund.id}/loans/${loanId}/extensions?limit=1&cursor=${list.body.nextCursor as string}`))
      .set(user.auth);
    expect(next.body.items.map((item: { number: number }) => item.number)).toEqual([1]);
  }
  expectProblem(
    await h.http.get(api(`/funds/${w.fund.id}/loans/${loanId}/extensions`)).set(w.users.big.auth),
    404,
    'loan_not_found',
  );
  expectProblem(
    await h.http.get(api(`/funds/${w.fund.id}/loans/${loanId}/extensions/${extension.id}`)).set(w.users.g2.auth),
    404,
    'loan_not_found',
  );
  const one = await h.http
    .get(api(`/funds/${w.fund.id}/loans/${loanId}/extensions/${extension.id}`))
    .set(w.users.g1.auth);
  expect(one.status).toBe(200);
  expect(one.body.id).toBe(extension.id);
});
