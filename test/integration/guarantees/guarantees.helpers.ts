import { randomUUID } from 'node:crypto';
import { createFund, createMember, fundPool, type TestFund } from '../../helpers/factories';
import { makeUser, TEST_TODAY, type Harness, type TestUser } from '../../helpers/harness';
import { approveByContract, disburse } from '../disbursements/disbursements.helpers';
import { api, changePolicy, type ApplicationBody } from '../loans/loans.helpers';

/** Shared pieces of the guarantee tests (not a test file itself). */

export type Letter = 'A' | 'B' | 'C' | 'D';
export const LETTERS: readonly Letter[] = ['A', 'B', 'C', 'D'];

/**
 * A fund with members A, B, C, D, each with 100,000.00 paid in (borrowing limit 300,000.00,
 * guarantor capacity 200,000.00), and a large member paying in 2,000,000.00 so the pool lends
 * comfortably (capital 2,400,000.00; single-borrower limit 480,000.00). Each member has a member
 * user bound to it; `mode` sets the policy's guaranteeCircleMode when given.
 */
export interface CircleWorld {
  fund: TestFund;
  ids: Record<Letter, string>;
  names: Record<Letter, string>;
  users: Record<Letter, TestUser>;
  letterOf: (memberId: string) => Letter;
}

export async function circleWorld(h: Harness, mode?: 'refuse' | 'flag'): Promise<CircleWorld> {
  const fund = await createFund(h);
  const ids = {} as Record<Letter, string>;
  const names = {} as Record<Letter, string>;
  const users = {} as Record<Letter, TestUser>;
  for (const letter of LETTERS) {
    ids[letter] = await createMember(h, fund.id);
    await fundPool(h, fund, '100000.00', ids[letter]);
    names[letter] = ((await h.db('members').where({ id: ids[letter] }).first('name')) as { name: string }).name;
    users[letter] = await makeUser(h, 'member', { fundId: fund.id, memberId: ids[letter] });
  }
  await fundPool(h, fund, '2000000.00', await createMember(h, fund.id));
  if (mode !== undefined) {
    const response = await changePolicy(h, fund, { guaranteeCircleMode: mode });
    if (response.status !== 201) throw new Error(`policy change failed: ${response.status} ${response.text}`);
  }
  const byId = new Map(LETTERS.map((letter) => [ids[letter], letter]));
  return { fund, ids, names, users, letterOf: (memberId) => byId.get(memberId)! };
}

export interface LoanSpec {
  borrower: Letter;
  amount: string;
  guarantors: { by: Letter; amount: string }[];
  lender?: { type: 'pool' } | { type: 'peer'; memberId: string };
}

/**
 * The application body: a 60-day bullet loan covered in full by a deposit (haircut 0), so coverage
 * never depends on the guarantees under test.
 */
export function loanBody(w: CircleWorld, spec: LoanSpec): Record<string, unknown> {
  return {
    borrowerMemberId: w.ids[spec.borrower],
    amount: spec.amount,
    purpose: '周转',
    termDays: 60,
    repaymentMethod: 'bullet',
    emergency: false,
    wantedOn: TEST_TODAY,
    lender: spec.lender ?? { type: 'pool' },
    guarantors: spec.guarantors.map((g) => ({ memberId: w.ids[g.by], amount: g.amount, type: 'joint_and_several' })),
    collateral: [
      { description: '定期存单', kind: 'deposit', valuation: spec.amount, valuedOn: TEST_TODAY, haircutPct: '0' },
    ],
  };
}

export function draft(h: Harness, w: CircleWorld, spec: LoanSpec) {
  return h.http
    .post(api(`/funds/${w.fund.id}/loan-applications`))
    .set(w.fund.admin.auth)
    .send(loanBody(w, spec));
}

export async function drafted(h: Harness, w: CircleWorld, spec: LoanSpec): Promise<ApplicationBody> {
  const response = await draft(h, w, spec);
  if (response.status !== 201) throw new Error(`draft failed: ${response.status} ${response.text}`);
  return response.body as ApplicationBody;
}

export function accept(h: Harness, w: CircleWorld, loan: ApplicationBody, by: Letter) {
  const guarantee = loan.guarantees.find((g) => g.memberId === w.ids[by]);
  if (!guarantee) throw new Error(`no guarantee of ${by}`);
  return h.http
    .post(api(`/funds/${w.fund.id}/loan-applications/${loan.id}/guarantees/${guarantee.id}/consent`))
    .set(w.users[by].auth)
    .send({ decision: 'accept' });
}

/** Drafted, and every guarantor accepted. */
export async function guaranteed(h: Harness, w: CircleWorld, spec: LoanSpec): Promise<ApplicationBody> {
  let loan = await drafted(h, w, spec);
  for (const g of spec.guarantors) {
    const response = await accept(h, w, loan, g.by);
    if (response.status !== 200) throw new Error(`consent of ${g.by} failed: ${response.status} ${response.text}`);
    loan = response.body as ApplicationBody;
  }
  return loan;
}

export function submitLoan(h: Harness, w: CircleWorld, loanId: string) {
  return h.http
    .post(api(`/funds/${w.fund.id}/loan-applications/${loanId}/submit`))
    .set(w.fund.admin.auth)
    .send();
}

/** Guaranteed, submitted, approved by the contract. */
export async function approved(h: Harness, w: CircleWorld, spec: LoanSpec): Promise<ApplicationBody> {
  const loan = await guaranteed(h, w, spec);
  const submitted = await submitLoan(h, w, loan.id);
  if (submitted.status !== 200) throw new Error(`submit failed: ${submitted.status} ${submitted.text}`);
  await approveByContract(h, w.fund.id, loan.id);
  return loan;
}

/** Approved and disbursed today (below the maker-checker threshold). */
export async function disbursed(h: Harness, w: CircleWorld, spec: LoanSpec): Promise<ApplicationBody> {
  const loan = await approved(h, w, spec);
  const response = await disburse(h, w.fund.admin, w.fund.id, loan.id, { bankReference: `REF-${randomUUID()}` });
  if (response.status !== 201) throw new Error(`disbursement failed: ${response.status} ${response.text}`);
  return loan;
}

export async function repay(h: Harness, w: CircleWorld, loanId: string, amount: string): Promise<void> {
  const response = await h.http
    .post(api(`/funds/${w.fund.id}/loans/${loanId}/repayments`))
    .set(w.fund.admin.auth)
    .set('Idempotency-Key', randomUUID())
    .send({ amount, receivedOn: TEST_TODAY, reference: `BANK-${randomUUID()}` });
  if (response.status !== 201) throw new Error(`repayment failed: ${response.status} ${response.text}`);
}

export function network(h: Harness, fundId: string, user: TestUser, accept?: string) {
  const request = h.http.get(api(`/funds/${fundId}/reports/guarantee-network`)).set(user.auth);
  if (accept !== undefined) request.set('Accept', accept);
  return request;
}

/** Audit rows of an action in the fund, oldest first. */
export async function auditRows(h: Harness, fundId: string, action: string) {
  // In chain order: the test clock stands still, so timestamps tie.
  return (await h
    .db('audit_log as a')
    .join('audit_links as l', 'l.audit_id', 'a.id')
    .where({ 'a.fund_id': fundId, 'a.action': action })
    .orderBy('l.seq')
    .select('a.target_id', 'a.payload')) as { target_id: string; payload: Record<string, unknown> }[];
}

/** The loan tables a refusal must leave as they were. */
export async function guaranteeTables(h: Harness, fundId: string): Promise<Record<string, unknown[]>> {
  return {
    loans: await h.db('loans').where({ fund_id: fundId }).orderBy('id').select('*'),
    guarantees: await h.db('loan_guarantees').where({ fund_id: fundId }).orderBy('id').select('*'),
    collateral: await h.db('loan_collateral').where({ fund_id: fundId }).orderBy('id').select('*'),
    requests: await h.db('disbursement_requests').where({ fund_id: fundId }).orderBy('id').select('*'),
  };
}

export { randomUUID };
