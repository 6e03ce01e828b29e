import { randomUUID } from 'node:crypto';
import { createFund, createMember, fundPool } from '../../helpers/factories';
import { reissueTokens, makeUser, type Harness, type TestUser } from '../../helpers/harness';
import { snapshot } from '../../helpers/invariants';
import { seat, type Seat } from '../committee/committee.helpers';
import { ranJob } from '../daily-job/daily-job.helpers';
import { approveByContract, disburse } from '../disbursements/disbursements.helpers';
import { api, applicationBody, changePolicy, consented, drafted, submit, type LoanWorld } from '../loans/loans.helpers';

/** Shared pieces of the recovery tests (not a test file itself). */

export { api, randomUUID };

/**
 * A fund lending at 3.65 % a year, ACT/365 (20.00 a day on 200,000.00), penalty +50 % (30.00 a
 * day on 200,000.00 overdue), a 0.5 % fee, default after 5 days overdue, borrowing up to 15 × paid
 * in. Capital, all paid in on 2026-06-15: borrower B 20,000.00, G1 100,000.00 (capacity
 * 200,000.00), G2 50,000.00 (capacity 100,000.00), X 1,830,000.00 — pool 2,000,000.00. Four
 * committee seats, each bound to a member of its own holding no capital; the first chairs every
 * month from June to December 2026.
 */
export interface RecoveryWorld extends LoanWorld {
  seats: Seat[];
  admin: TestUser;
  /** Every user of the world, for new tokens when the clock moves. */
  everyone: TestUser[];
}

export async function recoveryWorld(h: Harness): Promise<RecoveryWorld> {
  const fund = await createFund(h);
  const borrower = await createMember(h, fund.id);
  const g1 = await createMember(h, fund.id);
  const g2 = await createMember(h, fund.id);
  const big = await createMember(h, fund.id);
  await fundPool(h, fund, '20000.00', borrower);
  await fundPool(h, fund, '100000.00', g1);
  await fundPool(h, fund, '50000.00', g2);
  await fundPool(h, fund, '1830000.00', big);
  const changed = await changePolicy(h, fund, {
    rateAnnual: '0.0365',
    dayCount: 'ACT/365',
    penaltyUpliftPct: '50',
    serviceFeeRate: '0.005',
    defaultAfterDaysOverdue: 5,
    loanLimitPaidInMultiple: '15',
    makerCheckerAmountMin: '1000000.00',
  });
  if (changed.status !== 201) throw new Error(`policy change failed: ${changed.status} ${changed.text}`);
  const bound = (memberId: string) => makeUser(h, 'member', { fundId: fund.id, memberId });
  const users = {
    borrower: await bound(borrower),
    g1: await bound(g1),
    g2: await bound(g2),
    big: await bound(big),
    committee: await makeUser(h, 'committee', { fundId: fund.id }),
    auditor: await makeUser(h, 'auditor', { fundId: fund.id }),
  };
  const seats: Seat[] = [];
  for (let i = 0; i < 4; i += 1) seats.push(await seat(h, fund.id));
  const months = ['2026-06', '2026-07', '2026-08', '2026-09', '2026-10', '2026-11', '2026-12'];
  const rotation = await h.http
    .put(api(`/funds/${fund.id}/committee/rotation`))
    .set(fund.admin.auth)
    .send({ months: months.map((month) => ({ month, chairUserId: seats[0]!.user.id })) });
  if (rotation.status !== 200) throw new Error(`rotation not set: ${rotation.status} ${rotation.text}`);
  const everyone = [fund.admin, ...Object.values(users), ...seats.map((s) => s.user)];
  return { fund, borrower, g1, g2, big, users, seats, admin: fund.admin, everyone };
}

/** Moves the clock to noon (Shanghai) of `day` and gives every user of the world a token issued then. */
export function today(h: Harness, w: RecoveryWorld, day: string): void {
  h.clock.set(`${day}T04:00:00.000Z`);
  reissueTokens(h, w.everyone);
}

/**
 * 200,000.00 from the pool, bullet, 30 days, disbursed on `day` (so due 30 days later), guaranteed
 * jointly and severally by G1 for 140,000.00 and G2 for 90,000.00, with one item of equipment as
 * collateral; returns the loan's and the collateral item's ids.
 */
export async function disbursedLoan(
  h: Harness,
  w: RecoveryWorld,
  day: string,
  overrides: Record<string, unknown> = {},
): Promise<{ loanId: string; collateralId: string }> {
  today(h, w, day);
  const body = applicationBody(w, {
    amount: '200000.00',
    termDays: 30,
    repaymentMethod: 'bullet',
    wantedOn: day,
    guarantors: [
      { memberId: w.g1, amount: '140000.00', type: 'joint_and_several' },
      { memberId: w.g2, amount: '90000.00', type: 'joint_and_several' },
    ],
    collateral: [
      { description: '注塑机 1 台', kind: 'equipment', valuation: '100000.00', valuedOn: day, haircutPct: '50' },
    ],
    ...overrides,
  });
  const draft = await drafted(h, w.admin, w.fund.id, body);
  const users: Record<string, TestUser> = { [w.g1]: w.users.g1, [w.g2]: w.users.g2, [w.big]: w.users.big };
  const ready = await consented(h, w.fund.id, draft, users);
  const submitted = await submit(h, w.admin, w.fund.id, ready.id);
  if (submitted.status !== 200) throw new Error(`submit failed: ${submitted.status} ${submitted.text}`);
  await approveByContract(h, w.fund.id, ready.id);
  const paid = await disburse(h, w.admin, w.fund.id, ready.id, { bankReference: `DISB-${ready.id}` });
  if (paid.status !== 201 || paid.body.status !== 'executed') {
    throw new Error(`disbursement failed: ${paid.status} ${paid.text}`);
  }
  const collateral = ready.collateral[0];
  return { loanId: ready.id, collateralId: collateral ? collateral.id : '' };
}

/** Runs the daily job through `day` (the clock moved to the day after). */
export async function jobThrough(h: Harness, w: RecoveryWorld, day: string, clockDay: string): Promise<void> {
  today(h, w, clockDay);
  await ranJob(h, h.http, w.admin, w.fund.id, day);
}

export function post(h: Harness, user: TestUser, path: string, body: Record<string, unknown>, key = randomUUID()) {
  return h.http.post(api(path)).set(user.auth).set('Idempotency-Key', key).send(body);
}

/** The parts of a case's answer the tests read. */
export interface CaseBody {
  id: string;
  status: string;
  openedOn: string;
  openedBy: string;
  closedOn: string | null;
  outcome: string | null;
  loanStatus: string;
  outstanding: Record<string, string>;
  calls: { id: string; round: number; guarantorMemberId: string; amount: string; status: string; dueOn: string }[];
  actions: { id: string; action: string; status: string; caseId: string | null }[];
  steps: { kind: string }[];
}

export async function caseOf(h: Harness, w: RecoveryWorld, loanId: string): Promise<CaseBody> {
  const list = await h.http.get(api(`/funds/${w.fund.id}/recovery-cases?loanId=${loanId}`)).set(w.admin.auth);
  const items = (list.body as { items?: { id: string }[] }).items ?? [];
  if (list.status !== 200 || items.length !== 1) throw new Error(`no case: ${list.status} ${list.text}`);
  const found = await h.http.get(api(`/funds/${w.fund.id}/recovery-cases/${items[0]!.id}`)).set(w.admin.auth);
  return found.body as CaseBody;
}

/** Proposes an action and fails the test unless it is accepted; its id. */
export async function proposed(h: Harness, w: RecoveryWorld, path: string, action: string): Promise<string> {
  const response = await post(h, w.admin, path, { action, reason: `提议：${action}` });
  if (response.status !== 201) throw new Error(`proposal refused: ${response.status} ${response.text}`);
  return response.body.id as string;
}

/** A meeting on `day` with the action on its agenda (its rules checked then); the meeting's and the item's ids. */
export async function onAgenda(
  h: Harness,
  w: RecoveryWorld,
  actionId: string,
  day: string,
): Promise<{ meetingId: string; itemId: string }> {
  today(h, w, day);
  const convened = await h.http
    .post(api(`/funds/${w.fund.id}/meetings`))
    .set(w.admin.auth)
    .send({ heldOn: day, recoveryActionIds: [actionId] });
  if (convened.status !== 201) throw new Error(`meeting not convened: ${convened.status} ${convened.text}`);
  const meeting = convened.body as { id: string; items: { id: string; kind: string }[] };
  const item = meeting.items.find((i) => i.kind === 'recovery_action')!;
  return { meetingId: meeting.id, itemId: item.id };
}

/** Three seats present and voting `choice` on the item, then the item decided: the decision's body. */
export async function decided(
  h: Harness,
  w: RecoveryWorld,
  agenda: { meetingId: string; itemId: string },
  choice = 'approve',
): Promise<{ status: string; resolutionNumber: string | null; meetingId: string }> {
  const meetingPath = `/funds/${w.fund.id}/meetings/${agenda.meetingId}`;
  const present = w.seats.slice(0, 3).map((s) => s.user);
  const attended = await h.http
    .post(api(`${meetingPath}/attendance`))
    .set(w.admin.auth)
    .send({ userIds: present.map((u) => u.id) });
  if (attended.status !== 200) throw new Error(`attendance refused: ${attended.status} ${attended.text}`);
  for (const user of present) {
    const voted = await h.http
      .post(api(`${meetingPath}/items/${agenda.itemId}/votes`))
      .set(user.auth)
      .send({ vote: choice });
    if (voted.status !== 201) throw new Error(`vote refused: ${voted.status} ${voted.text}`);
  }
  const decision = await h.http
    .post(api(`${meetingPath}/items/${agenda.itemId}/decide`))
    .set(w.admin.auth)
    .set('Idempotency-Key', randomUUID())
    .send({});
  if (decision.status !== 200) throw new Error(`decision refused: ${decision.status} ${decision.text}`);
  return decision.body as { status: string; resolutionNumber: string | null; meetingId: string };
}

/**
 * A meeting on `day` with the action on its agenda, three seats present and voting `choice`, the
 * item decided: the decision's body.
 */
export async function resolved(
  h: Harness,
  w: RecoveryWorld,
  actionId: string,
  day: string,
  choice = 'approve',
): Promise<{ status: string; resolutionNumber: string | null; meetingId: string }> {
  return decided(h, w, await onAgenda(h, w, actionId, day), choice);
}

/** Everything a refused recovery request must leave as it was. */
export async function everything(h: Harness, w: RecoveryWorld): Promise<Record<string, unknown>> {
  const rows = (table: string) => h.db(table).where({ fund_id: w.fund.id }).orderBy('id').select('*');
  return {
    fund: await snapshot(h, w.fund.id),
    loans: await rows('loans'),
    guarantees: await rows('loan_guarantees'),
    instalments: await h.db('loan_instalments').where({ fund_id: w.fund.id }).orderBy(['loan_id', 'number']),
    cases: await rows('recovery_cases'),
    actions: await rows('recovery_actions'),
    steps: await rows('recovery_steps'),
    collateral: await rows('recovery_collateral'),
    calls: await rows('recovery_calls'),
  };
}

/** Current balances of accounts by code (`1001`, `1201:<loan>` …); 0.00 for one not created yet. */
export async function balances(h: Harness, fundId: string, codes: string[]): Promise<Record<string, string>> {
  const rows = (await h
    .db('accounts as a')
    .join('account_balances as b', 'b.account_id', 'a.id')
    .where('a.fund_id', fundId)
    .whereIn('a.code', codes)
    .select('a.code', 'b.balance')) as { code: string; balance: string }[];
  const found = new Map(rows.map((row) => [row.code, String(row.balance)]));
  return Object.fromEntries(codes.map((code) => [code, formatFen(found.get(code) ?? '0')]));
}

function formatFen(value: string): string {
  const [whole = '0', fraction = ''] = value.split('.');
  return `${whole}.${(fraction + '00').slice(0, 2)}`;
}

/** The fund's trial balance, both books balanced. */
export async function expectBalancedBooks(h: Harness, w: RecoveryWorld): Promise<void> {
  const trial = await h.http.get(api(`/funds/${w.fund.id}/trial-balance`)).set(w.admin.auth);
  if (trial.status !== 200 || trial.body.balanced !== true) {
    throw new Error(`trial balance not balanced: ${trial.status} ${trial.text}`);
  }
}

/**
 * Round 1 of the world's defaulted loan, as its tests tell it: the meeting of 08-10 calls both
 * joint-and-several guarantors for the 201,750.00 owed, pro rata to 140,000.00 and 90,000.00 (G1
 * 122,804.35, G2 78,945.65); G1 pays in full on 08-20; G2 fails on 08-26. `base` is the case's path.
 */
export async function calledThenG1PaysAndG2Fails(h: Harness, w: RecoveryWorld, loanId: string, base: string) {
  const call = await proposed(h, w, `${base}/actions`, 'call_guarantees');
  const decision = await resolved(h, w, call, '2026-08-10');
  if (decision.status !== 'approved') throw new Error(`the call was not approved: ${decision.status}`);
  const calls = (await caseOf(h, w, loanId)).calls;
  const callOf = (member: string) => calls.find((c) => c.guarantorMemberId === member)!;
  const amounts = [callOf(w.g1).amount, callOf(w.g2).amount];
  if (amounts.join() !== '122804.35,78945.65') throw new Error(`unexpected calls: ${amounts.join(', ')}`);
  today(h, w, '2026-08-20');
  const paid = await post(h, w.admin, `${base}/calls/${callOf(w.g1).id}/payments`, {
    amount: '122804.35',
    receivedOn: '2026-08-20',
    reference: `G1-${loanId}`,
  });
  if (paid.status !== 201) throw new Error(`G1's payment refused: ${paid.status} ${paid.text}`);
  today(h, w, '2026-08-26');
  const failed = await post(h, w.admin, `${base}/calls/${callOf(w.g2).id}/failure`, {
    failedOn: '2026-08-26',
    reason: '担保人拒绝履行',
  });
  if (failed.status !== 201) throw new Error(`G2's failure refused: ${failed.status} ${failed.text}`);
}
