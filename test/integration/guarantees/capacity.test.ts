import { startHarness, type Harness } from '../../helpers/harness';
import { expectFundConsistent } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';
import { approveByContract, balanceOf, disburse } from '../disbursements/disbursements.helpers';
import { api, changePolicy, type ApplicationBody } from '../loans/loans.helpers';
import { circleWorld, guaranteed, randomUUID, submitLoan, type CircleWorld } from './guarantees.helpers';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

/**
 * Two PEER loans of 90,000.00, lent by C to B and to D, each guaranteed 90,000.00 by A (paid in
 * 100,000.00). Peer loans take no pool-cash lock, so nothing but the guarantor's lock can put the
 * two activations one after the other. Approved while A's capacity is 2 × 100,000.00 =
 * 200,000.00 ≥ 180,000.00 (both pledges forecast); then the policy lowers the multiple to 1.5:
 * capacity 150,000.00, enough for one activation (90,000.00) and not two (180,000.00).
 */
async function twoApprovedPeerLoans(w: CircleWorld): Promise<ApplicationBody[]> {
  const loans: ApplicationBody[] = [];
  for (const borrower of ['B', 'D'] as const) {
    const loan = await guaranteed(h, w, {
      borrower,
      amount: '90000.00',
      lender: { type: 'peer', memberId: w.ids.C },
      guarantors: [{ by: 'A', amount: '90000.00' }],
    });
    const agreed = await h.http
      .post(api(`/funds/${w.fund.id}/loan-applications/${loan.id}/lender-consent`))
      .set(w.users.C.auth)
      .send({ decision: 'accept' });
    expect(agreed.status).toBe(200);
    expect((await submitLoan(h, w, loan.id)).status).toBe(200);
    loans.push(loan);
  }
  for (const loan of loans) await approveByContract(h, w.fund.id, loan.id);
  expect((await changePolicy(h, w.fund, { guarantorCapacityPaidInMultiple: '1.5' })).status).toBe(201);
  return loans;
}

async function countOf(table: string, fundId: string): Promise<number> {
  return Number(((await h.db(table).where({ fund_id: fundId }).count({ n: '*' }))[0] as { n: string }).n);
}

test('when two disbursements activate guarantees of one guarantor that together exceed its capacity, at once, then exactly one succeeds and the other is a 422 guarantor_capacity that changed nothing', async () => {
  const w = await circleWorld(h);
  const loans = await twoApprovedPeerLoans(w);
  const before = {
    loans: await h.db('loans').where({ fund_id: w.fund.id }).orderBy('id'),
    guarantees: await h.db('loan_guarantees').where({ fund_id: w.fund.id }).orderBy('id'),
    entries: await countOf('journal_entries', w.fund.id),
    audit: await countOf('audit_log', w.fund.id),
  };

  const responses = await Promise.all(
    loans.map((loan, index) =>
      disburse(h, w.fund.admin, w.fund.id, loan.id, { bankReference: `PEER-${index}-${randomUUID()}` }),
    ),
  );

  const winners = responses.filter((response) => response.status === 201);
  const losers = responses.filter((response) => response.status !== 201);
  expect(winners).toHaveLength(1);
  expect(losers).toHaveLength(1);
  const loser = losers[0]!;
  expectProblem(loser, 422, 'loan_ineligible');
  expect(loser.body).toMatchObject({
    stage: 'disbursement',
    rule: 'guarantor_capacity',
    limit: '150000.00',
    actual: '180000.00',
    memberId: w.ids.A,
  });

  const won = loans[responses.indexOf(winners[0]!)]!;
  const lost = loans[responses.indexOf(loser)]!;
  // The winner's peer loan and A's one guarantee are in the memo book; nothing of the loser is.
  expect(await balanceOf(h, w.fund.id, `7101:${won.id}`)).toBe('90000.00');
  expect(await balanceOf(h, w.fund.id, `7101:${lost.id}`)).toBe('0.00');
  expect(await balanceOf(h, w.fund.id, `7001:${w.ids.A}`)).toBe('90000.00');
  expect(await h.db('accounts').where({ fund_id: w.fund.id, loan_id: lost.id })).toEqual([]);
  // Two entries (peer disbursement, guarantee activation) and one audit row, all the winner's.
  expect(await countOf('journal_entries', w.fund.id)).toBe(before.entries + 2);
  expect(await countOf('audit_log', w.fund.id)).toBe(before.audit + 1);
  const lastAudit = (await h
    .db('audit_log as a')
    .join('audit_links as l', 'l.audit_id', 'a.id')
    .where({ 'a.fund_id': w.fund.id })
    .orderBy('l.seq', 'desc')
    .first('a.action', 'a.target_id')) as { action: string; target_id: string };
  expect(lastAudit).toEqual({ action: 'loans.disbursement.execute', target_id: won.id });
  // The loser's loan and guarantee rows are exactly as they were; no request, no schedule.
  const lostBefore = before.loans.find((row: { id: string }) => row.id === lost.id);
  expect(await h.db('loans').where({ id: lost.id }).first()).toEqual(lostBefore);
  expect(await h.db('loan_guarantees').where({ fund_id: w.fund.id, loan_id: lost.id })).toEqual(
    before.guarantees.filter((row: { loan_id: string }) => row.loan_id === lost.id),
  );
  expect(await h.db('disbursement_requests').where({ fund_id: w.fund.id, loan_id: lost.id })).toEqual([]);
  expect(await h.db('loan_instalments').where({ fund_id: w.fund.id, loan_id: lost.id })).toEqual([]);
  await expectFundConsistent(h, w.fund.id);
});

test('when a guarantor’s earlier guarantee was partly released by a repayment, then only what is outstanding counts at activation', async () => {
  const w = await circleWorld(h);
  const loans = await twoApprovedPeerLoans(w);
  expect(
    (await disburse(h, w.fund.admin, w.fund.id, loans[0]!.id, { bankReference: `P-${randomUUID()}` })).status,
  ).toBe(201);
  // 30,000.00 of the first peer loan's principal comes back: A's release is 90,000.00 × 30,000 /
  // 90,000 = 30,000.00, leaving 60,000.00; with the second 90,000.00 A stands behind 150,000.00,
  // exactly its capacity.
  const repaid = await h.http
    .post(api(`/funds/${w.fund.id}/loans/${loans[0]!.id}/repayments`))
    .set(w.fund.admin.auth)
    .set('Idempotency-Key', randomUUID())
    .send({ amount: '30000.00', receivedOn: '2026-06-15', reference: `R-${randomUUID()}` });
  expect(repaid.status).toBe(201);
  expect(await balanceOf(h, w.fund.id, `7001:${w.ids.A}`)).toBe('60000.00');

  const second = await disburse(h, w.fund.admin, w.fund.id, loans[1]!.id, { bankReference: `P-${randomUUID()}` });

  expect(second.status).toBe(201);
  expect(await balanceOf(h, w.fund.id, `7001:${w.ids.A}`)).toBe('150000.00');
  await expectFundConsistent(h, w.fund.id);
});
