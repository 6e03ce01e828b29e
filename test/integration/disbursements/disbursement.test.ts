import { generateSchedule } from '../../../src/loans/schedule';
import { formatAmount, Money } from '../../../src/money/money';
import { makeUser, startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { expectFundConsistent } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';
import {
  api,
  applicationBody,
  changePolicy,
  consented,
  drafted,
  loanWorld,
  submit,
  type LoanWorld,
} from '../loans/loans.helpers';
import { approveByContract, approvedLoan, balanceOf, disburse, heldOn, submittedLoan } from './disbursements.helpers';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

/** A fund lending at 4.35 % a year (ACT/365) with a 0.5 % service fee: policy version 2. */
async function lendingWorld(): Promise<LoanWorld> {
  const w = await loanWorld(h);
  const changed = await changePolicy(h, w.fund, { rateAnnual: '0.0435', serviceFeeRate: '0.005', dayCount: 'ACT/365' });
  if (changed.status !== 201) throw new Error(`policy change failed: ${changed.status} ${changed.text}`);
  return w;
}

/** 90,000.00 from the pool over 90 days, equal principal, guaranteed 150,000.00 by G1: below maker-checker. */
const SMALL = { amount: '90000.00' };

describe('disbursing a pool loan', () => {
  test('when an admin disburses an approved pool loan below the maker-checker threshold, then the hold is posted, the fee booked, the guarantees activated and the schedule fixed', async () => {
    const w = await lendingWorld();
    const loan = await approvedLoan(h, w, SMALL);
    const cashBefore = await balanceOf(h, w.fund.id, '1001');
    expect(await heldOn(h, w.fund.id, '1001')).toBe('90000.00');

    const response = await disburse(h, w.fund.admin, w.fund.id, loan.id, { bankReference: 'ICBC-20260615-01' });

    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      loanId: loan.id,
      status: 'executed',
      amount: '90000.00',
      disbursedOn: TEST_TODAY,
      bankReference: 'ICBC-20260615-01',
      requiresConfirmation: false,
      requestedBy: w.fund.admin.id,
      confirmedBy: null,
      loanStatus: 'active',
    });
    // Pool cash out by the amount, from the hold; the receivable in; the fee owed and earned.
    expect(await balanceOf(h, w.fund.id, '1001')).toBe(formatAmount(new Money(cashBefore).minus('90000')));
    expect(await heldOn(h, w.fund.id, '1001')).toBe('0.00');
    expect(await balanceOf(h, w.fund.id, `1201:${loan.id}`)).toBe('90000.00');
    expect(await balanceOf(h, w.fund.id, `1204:${loan.id}`)).toBe('450.00');
    expect(await balanceOf(h, w.fund.id, '4002')).toBe('450.00');
    const hold = await h
      .db('holds')
      .where({ fund_id: w.fund.id, reference: `loan:${loan.id}` })
      .first();
    expect(hold).toMatchObject({ status: 'posted', entry_id: response.body.entryId });
    const principalEntry = await h.db('journal_entries').where({ id: response.body.entryId }).first();
    expect(principalEntry).toMatchObject({ kind: 'loan.disbursement', effective_date: TEST_TODAY });
    const feeEntry = await h.db('journal_entries').where({ fund_id: w.fund.id, kind: 'loan.service_fee' }).first();
    expect(feeEntry).toBeDefined();
    // The accepted guarantee is active, with its memo entry.
    const guarantees = await h.db('loan_guarantees').where({ fund_id: w.fund.id, loan_id: loan.id });
    expect(guarantees.map((g: { status: string }) => g.status)).toEqual(['active']);
    expect(await balanceOf(h, w.fund.id, `7001:${w.g1}`)).toBe('150000.00');
    expect(await balanceOf(h, w.fund.id, '7002')).toBe('150000.00');
    // The loan keeps the terms of the policy version it was approved under.
    const row = await h.db('loans').where({ id: loan.id }).first();
    expect(row).toMatchObject({
      status: 'active',
      disbursed_on: TEST_TODAY,
      maturity_date: '2026-09-13',
      rate_annual: '0.043500',
      day_count: 'ACT/365',
      penalty_uplift_pct: '50.000000',
      service_fee: '450.00',
      schedule_version: 1,
      policy_version: 2,
    });
    // The stored schedule is the schedule module's, to the fen.
    const expected = generateSchedule({
      principal: '90000.00',
      rateAnnual: '0.0435',
      dayCount: 'ACT/365',
      method: 'equal_principal',
      startDate: TEST_TODAY,
      termDays: 90,
      serviceFeeRate: '0.005',
    });
    const stored = await h
      .db('loan_instalments')
      .where({ fund_id: w.fund.id, loan_id: loan.id })
      .orderBy('number')
      .select('number', 'period_start', 'due_on', 'days', 'principal', 'interest', 'schedule_version');
    expect(stored).toEqual(
      expected.instalments.map((i) => ({
        number: i.number,
        period_start: i.periodStart,
        due_on: i.dueOn,
        days: i.days,
        principal: i.principal.toFixed(2),
        interest: i.interest.toFixed(2),
        schedule_version: 1,
      })),
    );
    expect(stored.length).toBe(3);
    const audit = await h.db('audit_log').where({ fund_id: w.fund.id, action: 'loans.disbursement.execute' });
    expect(audit).toHaveLength(1);
    await expectFundConsistent(h, w.fund.id);
  });

  test('when the disbursed loan is read, then its terms, balances, guarantees, holds and schedule show', async () => {
    const w = await lendingWorld();
    const loan = await approvedLoan(h, w, SMALL);
    await disburse(h, w.fund.admin, w.fund.id, loan.id);

    const read = await h.http.get(api(`/funds/${w.fund.id}/loans/${loan.id}`)).set(w.users.borrower.auth);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      id: loan.id,
      status: 'active',
      amount: '90000.00',
      policyVersion: 2,
      disbursedOn: TEST_TODAY,
      maturityDate: '2026-09-13',
      principalOutstanding: '90000.00',
      overdue: false,
      terms: { rateAnnual: '0.0435', dayCount: 'ACT/365', serviceFee: '450.00', scheduleVersion: 1 },
      balances: {
        principalOutstanding: '90000.00',
        interestReceivable: '0.00',
        penaltyInterestReceivable: '0.00',
        feeReceivable: '450.00',
      },
      guarantees: [expect.objectContaining({ memberId: w.g1, status: 'active', amount: '150000.00' })],
      holds: [expect.objectContaining({ amount: '90000.00', status: 'posted' })],
      disbursements: [expect.objectContaining({ status: 'executed', loanStatus: 'active' })],
    });
    const schedule = await h.http.get(api(`/funds/${w.fund.id}/loans/${loan.id}/schedule`)).set(w.users.g1.auth);
    expect(schedule.status).toBe(200);
    expect(schedule.body.scheduleVersion).toBe(1);
    expect(schedule.body.instalments).toHaveLength(3);
    expect(schedule.body.instalments[0]).toMatchObject({
      number: 1,
      periodStart: TEST_TODAY,
      dueOn: '2026-07-15',
      principal: '30000.00',
      paid: { principal: '0.00', interest: '0.00', total: '0.00' },
      overdue: false,
    });
    expect(schedule.body.totals.principal).toBe('90000.00');
    expect(schedule.body.totals.outstanding).toBe(schedule.body.totals.total);

    // A month and a day later the first instalment is past due and unpaid: the loan is overdue.
    h.clock.set('2026-07-16T04:00:00.000Z');
    try {
      // Tokens are issued against the harness clock: a user made now has one valid now.
      const admin = await makeUser(h, 'admin');
      const overdue = await h.http.get(api(`/funds/${w.fund.id}/loans?overdue=true`)).set(admin.auth);
      expect(overdue.body.items.map((item: { id: string }) => item.id)).toEqual([loan.id]);
      const later = await h.http.get(api(`/funds/${w.fund.id}/loans/${loan.id}/schedule`)).set(admin.auth);
      const current = await h.http.get(api(`/funds/${w.fund.id}/loans?overdue=false`)).set(admin.auth);
      expect(current.body.items).toEqual([]);
      expect(later.body.instalments.map((i: { overdue: boolean }) => i.overdue)).toEqual([true, false, false]);
    } finally {
      h.clock.set('2026-06-15T04:00:00.000Z');
    }
  });
});

describe('disbursing a peer loan', () => {
  test('when an approved peer loan is disbursed, then only the memo book records it and pool cash is untouched', async () => {
    const w = await lendingWorld();
    const draftBody = { ...SMALL, lender: { type: 'peer', memberId: w.big } };
    const draft = await drafted(h, w.users.borrower, w.fund.id, applicationBody(w, draftBody));
    const agreed = await h.http
      .post(api(`/funds/${w.fund.id}/loan-applications/${draft.id}/lender-consent`))
      .set(w.users.big.auth)
      .send({ decision: 'accept' });
    expect(agreed.status).toBe(200);
    await consented(h, w.fund.id, draft, { [w.g1]: w.users.g1 });
    expect((await submit(h, w.users.borrower, w.fund.id, draft.id)).status).toBe(200);
    expect(await approveByContract(h, w.fund.id, draft.id)).toBeNull();
    const cashBefore = await balanceOf(h, w.fund.id, '1001');

    const response = await disburse(h, w.fund.admin, w.fund.id, draft.id);

    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ status: 'executed', loanStatus: 'active' });
    expect(await balanceOf(h, w.fund.id, '1001')).toBe(cashBefore);
    expect(await heldOn(h, w.fund.id, '1001')).toBe('0.00');
    expect(await balanceOf(h, w.fund.id, `7101:${draft.id}`)).toBe('90000.00');
    expect(await balanceOf(h, w.fund.id, '7102')).toBe('90000.00');
    expect(
      await h
        .db('accounts')
        .where({ fund_id: w.fund.id, code: `1201:${draft.id}` })
        .first(),
    ).toBeUndefined();
    // No fee on a peer loan: the money lent is the lender's, not the pool's.
    expect(await balanceOf(h, w.fund.id, '4002')).toBe('0.00');
    expect(await balanceOf(h, w.fund.id, `7001:${w.g1}`)).toBe('150000.00');
    const instalments = await h.db('loan_instalments').where({ loan_id: draft.id });
    expect(instalments).toHaveLength(3);
    const read = await h.http.get(api(`/funds/${w.fund.id}/loans/${draft.id}`)).set(w.users.big.auth);
    expect(read.body).toMatchObject({ lender: { type: 'peer', memberId: w.big }, principalOutstanding: '90000.00' });
    await expectFundConsistent(h, w.fund.id);
  });
});

describe('reading loans', () => {
  test('when loans are listed, then members see only loans they take part in and others are not found', async () => {
    const w = await lendingWorld();
    const mine = await approvedLoan(h, w, SMALL);
    const stranger = await makeUser(h, 'member', { fundId: w.fund.id, memberId: w.big });
    const outsider = await makeUser(h, 'member', { fundId: w.fund.id, memberId: w.g2 });
    const application = await submittedLoan(h, w, { amount: '1000.00', guarantors: [] });

    const asBorrower = await h.http.get(api(`/funds/${w.fund.id}/loans`)).set(w.users.borrower.auth);
    expect(asBorrower.status).toBe(200);
    // The submitted application is not a loan yet.
    expect(asBorrower.body.items.map((item: { id: string }) => item.id)).toEqual([mine.id]);
    expect(asBorrower.body.items[0]).toMatchObject({
      status: 'approved',
      disbursedOn: null,
      principalOutstanding: '0.00',
    });
    const asGuarantor = await h.http.get(api(`/funds/${w.fund.id}/loans`)).set(w.users.g1.auth);
    expect(asGuarantor.body.items).toHaveLength(1);
    const asOther = await h.http.get(api(`/funds/${w.fund.id}/loans`)).set(stranger.auth);
    expect(asOther.body.items).toEqual([]);
    expectProblem(
      await h.http.get(api(`/funds/${w.fund.id}/loans/${mine.id}`)).set(outsider.auth),
      404,
      'loan_not_found',
    );
    expectProblem(
      await h.http.get(api(`/funds/${w.fund.id}/loans/${application.id}`)).set(w.fund.admin.auth),
      404,
      'loan_not_found',
    );
    const byStatus = await h.http.get(api(`/funds/${w.fund.id}/loans?status=active`)).set(w.users.auditor.auth);
    expect(byStatus.body.items).toEqual([]);
    const byMember = await h.http.get(api(`/funds/${w.fund.id}/loans?memberId=${w.g1}`)).set(w.users.committee.auth);
    expect(byMember.body.items.map((item: { id: string }) => item.id)).toEqual([mine.id]);
    const schedule = await h.http.get(api(`/funds/${w.fund.id}/loans/${mine.id}/schedule`)).set(w.fund.admin.auth);
    expect(schedule.body).toMatchObject({ scheduleVersion: null, instalments: [], serviceFee: null });
  });

  test('when there are more loans than the page, then the cursor pages through them newest first', async () => {
    const w = await lendingWorld();
    const first = await approvedLoan(h, w, { amount: '1000.00', guarantors: [] });
    const second = await approvedLoan(h, w, { amount: '2000.00', guarantors: [] });
    const third = await approvedLoan(h, w, { amount: '3000.00', guarantors: [] });
    const page1 = await h.http.get(api(`/funds/${w.fund.id}/loans?limit=2`)).set(w.fund.admin.auth);
    expect(page1.body.items.map((item: { id: string }) => item.id)).toEqual([third.id, second.id]);
    const page2 = await h.http
      .get(api(`/funds/${w.fund.id}/loans?limit=2&cursor=${page1.body.nextCursor}`))
      .set(w.fund.admin.auth);
    expect(page2.body).toEqual({ items: [expect.objectContaining({ id: first.id })], nextCursor: null });
    expectProblem(
      await h.http.get(api(`/funds/${w.fund.id}/loans?cursor=nonsense`)).set(w.fund.admin.auth),
      400,
      'invalid_cursor',
    );
  });
});
