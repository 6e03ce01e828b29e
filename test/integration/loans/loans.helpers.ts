import { randomUUID } from 'node:crypto';
import { SYSTEM_ACTOR } from '../../../src/auth/principal';
import { inTransaction } from '../../../src/db/transaction';
import { createFund, createMember, fundPool, type TestFund } from '../../helpers/factories';
import { makeUser, TEST_TODAY, type Harness, type TestUser } from '../../helpers/harness';

/** Shared pieces of the loan application tests (not a test file itself). */

export const api = (path: string): string => `/api/v1${path}`;

/** A day after TEST_TODAY: when the money is wanted. */
export const WANTED_ON = '2026-06-20';

/**
 * A fund whose figures keep every default rule comfortably met for a 200,000.00 pool loan:
 *  - borrower B paid in 100,000.00 (3 × = 300,000.00 limit);
 *  - guarantors G1 (100,000.00 paid in, capacity 200,000.00) and G2 (50,000.00, capacity 100,000.00);
 *  - a large member X with 2,000,000.00: pool capital and cash 2,250,000.00, so the single-borrower
 *    limit is 450,000.00, the related-group limit 675,000.00, the reserve 225,000.00 and the cash
 *    available to lend 2,025,000.00.
 * Each member has a member user bound to it.
 */
export interface LoanWorld {
  fund: TestFund;
  borrower: string;
  g1: string;
  g2: string;
  big: string;
  users: { borrower: TestUser; g1: TestUser; g2: TestUser; big: TestUser; committee: TestUser; auditor: TestUser };
}

export async function loanWorld(h: Harness): Promise<LoanWorld> {
  const fund = await createFund(h);
  const borrower = await createMember(h, fund.id);
  const g1 = await createMember(h, fund.id);
  const g2 = await createMember(h, fund.id);
  const big = await createMember(h, fund.id);
  await fundPool(h, fund, '100000.00', borrower);
  await fundPool(h, fund, '100000.00', g1);
  await fundPool(h, fund, '50000.00', g2);
  await fundPool(h, fund, '2000000.00', big);
  const bound = (memberId: string) => makeUser(h, 'member', { fundId: fund.id, memberId });
  return {
    fund,
    borrower,
    g1,
    g2,
    big,
    users: {
      borrower: await bound(borrower),
      g1: await bound(g1),
      g2: await bound(g2),
      big: await bound(big),
      committee: await makeUser(h, 'committee', { fundId: fund.id }),
      auditor: await makeUser(h, 'auditor', { fundId: fund.id }),
    },
  };
}

/** 200,000.00 from the pool, guaranteed 150,000.00 by G1, with collateral counting 500,000.00. */
export function applicationBody(w: LoanWorld, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    borrowerMemberId: w.borrower,
    amount: '200000.00',
    purpose: '支付原材料货款',
    termDays: 90,
    repaymentMethod: 'equal_principal',
    emergency: true,
    wantedOn: WANTED_ON,
    lender: { type: 'pool' },
    guarantors: [{ memberId: w.g1, amount: '150000.00', type: 'joint_and_several' }],
    collateral: [
      {
        description: '数控机床 2 台',
        kind: 'equipment',
        valuation: '1000000.00',
        valuedOn: '2026-06-01',
        haircutPct: '50',
      },
    ],
    ...overrides,
  };
}

export function createApplication(h: Harness, user: TestUser, fundId: string, body: Record<string, unknown>) {
  return h.http
    .post(api(`/funds/${fundId}/loan-applications`))
    .set(user.auth)
    .send(body);
}

export interface ApplicationBody {
  id: string;
  number: number;
  status: string;
  version: number;
  amount: string;
  guarantees: { id: string; memberId: string; amount: string; type: string; status: string }[];
  collateral: { id: string; counted: string }[];
  coverage: Record<string, unknown>;
  lender: { type: string; memberId: string | null; consent: Record<string, unknown> | null };
  [key: string]: unknown;
}

/** Drafts an application and fails the test unless it is accepted. */
export async function drafted(
  h: Harness,
  user: TestUser,
  fundId: string,
  body: Record<string, unknown>,
): Promise<ApplicationBody> {
  const response = await createApplication(h, user, fundId, body);
  if (response.status !== 201) throw new Error(`draft failed: ${response.status} ${response.text}`);
  return response.body as ApplicationBody;
}

export function consent(
  h: Harness,
  user: TestUser,
  fundId: string,
  loan: ApplicationBody,
  guarantorId: string,
  body: Record<string, unknown> = { decision: 'accept' },
) {
  const guarantee = loan.guarantees.find((g) => g.memberId === guarantorId);
  if (!guarantee) throw new Error(`no guarantee of ${guarantorId}`);
  return h.http
    .post(api(`/funds/${fundId}/loan-applications/${loan.id}/guarantees/${guarantee.id}/consent`))
    .set(user.auth)
    .send(body);
}

/** Every guarantor named accepts, each through the user given for it. */
export async function consented(
  h: Harness,
  fundId: string,
  loan: ApplicationBody,
  usersByMember: Record<string, TestUser>,
): Promise<ApplicationBody> {
  let latest = loan;
  for (const guarantee of loan.guarantees) {
    const user = usersByMember[guarantee.memberId];
    if (!user) throw new Error(`no user for guarantor ${guarantee.memberId}`);
    const response = await consent(h, user, fundId, loan, guarantee.memberId);
    if (response.status !== 200) throw new Error(`consent failed: ${response.status} ${response.text}`);
    latest = response.body as ApplicationBody;
  }
  return latest;
}

export function submit(h: Harness, user: TestUser, fundId: string, loanId: string) {
  return h.http
    .post(api(`/funds/${fundId}/loan-applications/${loanId}/submit`))
    .set(user.auth)
    .send();
}

/** The loan tables of a fund, as a refusal must leave them. */
export async function loanTables(h: Harness, fundId: string): Promise<Record<string, unknown[]>> {
  return {
    loans: await h.db('loans').where({ fund_id: fundId }).orderBy('id').select('*'),
    guarantees: await h.db('loan_guarantees').where({ fund_id: fundId }).orderBy('id').select('*'),
    collateral: await h.db('loan_collateral').where({ fund_id: fundId }).orderBy('id').select('*'),
  };
}

/**
 * A loan row written straight to the table, in a state the application API cannot reach yet
 * (approved, active, defaulted): for the exposure and default rules.
 */
export async function insertLoanRow(
  h: Harness,
  fundId: string,
  borrower: string,
  status: string,
  amount: string,
): Promise<string> {
  const number = Number(
    ((await h.db('loans').where({ fund_id: fundId }).max({ n: 'number' }).first()) as { n: number | null }).n ?? 0,
  );
  const rows = (await h
    .db('loans')
    .insert({
      fund_id: fundId,
      number: number + 1,
      borrower_member_id: borrower,
      lender: 'pool',
      amount,
      purpose: `a ${status} loan`,
      term_days: 90,
      repayment_method: 'bullet',
      wanted_on: '2026-01-10',
      status,
      policy_version: status === 'draft' || status === 'submitted' ? null : 1,
      submitted_at: status === 'draft' ? null : new Date('2026-01-05T02:00:00Z'),
    })
    .returning('id')) as { id: string }[];
  return rows[0]!.id;
}

/** Pool money lent out on a loan: Dr 1201:<loan> / Cr pool cash, posted through the ledger. */
export async function disburseByHand(h: Harness, fund: TestFund, loanId: string, amount: string): Promise<void> {
  await inTransaction(h.db, async (trx) => {
    const receivable = await h.services.ledger.ensureSubAccount(trx, fund.id, '1201', { loanId });
    await h.services.ledger.postEntry(trx, {
      fundId: fund.id,
      effectiveDate: TEST_TODAY,
      kind: 'test.disbursement',
      memo: 'disbursed by the test',
      lines: [
        { accountId: receivable.id, side: 'debit', amount },
        { accountId: fund.accounts['1001']!, side: 'credit', amount },
      ],
      actor: SYSTEM_ACTOR,
    });
  });
}

/** Pool cash set aside by a hold, as an approval will do. */
export async function holdPoolCash(h: Harness, fund: TestFund, amount: string): Promise<void> {
  await inTransaction(h.db, (trx) =>
    h.services.ledger.placeHold(trx, {
      fundId: fund.id,
      accountId: fund.accounts['1001']!,
      amount,
      expiresAt: new Date(h.clock.now().getTime() + 86_400_000),
      reason: 'Loan approval',
      actor: SYSTEM_ACTOR,
    }),
  );
}

/** A capital call due before TEST_TODAY with an unpaid item for the member. */
export async function overdueCall(h: Harness, fundId: string, memberId: string, due: string): Promise<void> {
  await h.db('members').where({ fund_id: fundId, id: memberId }).update({ subscribed_amount: '1000000.00' });
  const number = Number(
    ((await h.db('capital_calls').where({ fund_id: fundId }).max({ n: 'number' }).first()) as { n: number | null }).n ??
      0,
  );
  const [call] = (await h
    .db('capital_calls')
    .insert({ fund_id: fundId, number: number + 1, percent: '10', called_on: '2026-05-01', due_on: '2026-06-01' })
    .returning('id')) as { id: string }[];
  await h.db('capital_call_items').insert({ fund_id: fundId, call_id: call!.id, member_id: memberId, due_amount: due });
}

export function changePolicy(h: Harness, fund: TestFund, changes: Record<string, unknown>) {
  return h.http
    .post(api(`/funds/${fund.id}/policy`))
    .set(fund.admin.auth)
    .send({ effectiveDate: TEST_TODAY, reason: 'loan application test', changes });
}

export { randomUUID };
