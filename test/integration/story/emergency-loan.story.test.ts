import Decimal from 'decimal.js';
import { randomUUID } from 'node:crypto';
import { createFund, createMember, fundPool, type TestFund } from '../../helpers/factories';
import { reissueTokens, makeUser, startHarness, TEST_TODAY, type Harness, type TestUser } from '../../helpers/harness';
import { expectFundConsistent } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';
import { api } from '../loans/loans.helpers';

/**
 * The whole story of one emergency loan, through the API as the people who would do each step:
 * ¥500,000.00 from the pool for 90 days, equal principal (three monthly instalments), guaranteed by
 * two members; a committee meeting where a guarantor's representative is recused; approval with a
 * hold, a disbursement confirmed by a second administrator; then 120 days of the daily job, with
 * the first instalment paid on its due date, the second ten days late (overdue, penalty interest,
 * 关注 and back to 正常) and the last at maturity, when the loan closes and the guarantees are
 * released. Every figure expected here is computed by hand below, not by the code under test.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

// ---------------------------------------------------------------------------------------------
// The terms and the figures, by hand

/** Exact decimal arithmetic, far beyond what any figure here needs; rounding only where named. */
const Dec = Decimal.clone({ precision: 60 });
const dec = (value: Decimal.Value): Decimal => new Dec(value);
const fen = (value: Decimal): string => value.toFixed(2);

const RATE = dec('0.0435');
/** Policy penaltyUpliftPct 50: the penalty rate is 4.35 % × 1.5 = 6.525 % (ADR 0009). */
const PENALTY_RATE = RATE.times(dec(1).plus(dec(50).div(100)));
/** ACT/360, the default day count. */
const BASIS = 360;

/**
 * Rule R-interest (ADR 0009/0012): the interest of n days on a constant balance, rounded half up
 * to the fen once; a day's accrual is R(n) − R(n − 1), so the days of a segment add up to R(n).
 */
const rounded = (balance: string, rate: Decimal, days: number): Decimal =>
  dec(balance).times(rate).times(days).div(BASIS).toDecimalPlaces(2, Decimal.ROUND_HALF_UP);

const DAY_MS = 86_400_000;
const dayNumber = (date: string): number => Date.parse(`${date}T00:00:00Z`) / DAY_MS;
const dateOf = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);

const AMOUNT = '500000.00';
const DISBURSED_ON = TEST_TODAY; // 2026-06-15
/** Service fee 0.3 % of 500,000.00 = 1,500.00, exactly. */
const FEE = '1500.00';

/**
 * Equal principal, ADR 0009: monthly anniversaries before maturity (06-15 + 90 days = 09-13), then
 * maturity. Principal ROUND_HALF_UP(500,000 / 3) = 166,666.67 twice; the last takes the rest.
 * Interest per period on the balance outstanding in it, ACT/360:
 *   1: 500,000.00 × 4.35 % × 30 / 360 = 1,812.50
 *   2: 333,333.33 × 4.35 % × 31 / 360 = 1,248.611… → 1,248.61
 *   3: 166,666.66 × 4.35 % × 29 / 360 =   584.027… →   584.03
 */
const INSTALMENTS = [
  { number: 1, start: '2026-06-15', due: '2026-07-15', days: 30, principal: '166666.67', interest: '1812.50' },
  { number: 2, start: '2026-07-15', due: '2026-08-15', days: 31, principal: '166666.67', interest: '1248.61' },
  { number: 3, start: '2026-08-15', due: '2026-09-13', days: 29, principal: '166666.66', interest: '584.03' },
];
/** The contract balance of each period: the principal not yet due. */
const PERIOD_BALANCES = ['500000.00', '333333.33', '166666.66'];

/** Instalment 2 is paid on 08-25: overdue from 08-16, so nine days of penalty interest (08-16 … 08-24). */
const FIRST_OVERDUE_DAY = '2026-08-16';
const LATE_PAYMENT_ON = '2026-08-25';
/** 166,666.67 × 6.525 % × 9 / 360 = 271.875005… → 271.88 */
const PENALTY_TOTAL = '271.88';
/** Interest of period 3 accrued by 08-24 (10 days): 166,666.66 × 4.35 % × 10 / 360 = 201.388… → 201.39 */
const PERIOD_3_BY_LATE_PAYMENT = '201.39';

/** The three repayments: fee + interest + principal; penalty + interest accrued + principal; the rest. */
const REPAYMENT_1 = '169979.17'; // 1,500.00 + 1,812.50 + 166,666.67
const REPAYMENT_2 = '168388.55'; // 271.88 + 1,248.61 + 201.39 + 166,666.67
const REPAYMENT_3 = '167049.30'; // (584.03 − 201.39) + 166,666.66

/** Pool capital (= pool cash before lending): B 200,000, G1 200,000, G2 150,000, BIG 4,500,000. */
const POOL = '5050000.00';

/** What the daily job should accrue on a day, from the terms alone. */
function expectedAccrual(date: string): { interest: Decimal; penalty: Decimal } {
  let interest = dec(0);
  INSTALMENTS.forEach((period, index) => {
    if (date < period.start || date >= period.due) return;
    const n = dayNumber(date) - dayNumber(period.start) + 1;
    const balance = PERIOD_BALANCES[index]!;
    interest = rounded(balance, RATE, n).minus(rounded(balance, RATE, n - 1));
  });
  let penalty = dec(0);
  if (date >= FIRST_OVERDUE_DAY && date < LATE_PAYMENT_ON) {
    const n = dayNumber(date) - dayNumber(FIRST_OVERDUE_DAY) + 1;
    const overdue = INSTALMENTS[1]!.principal;
    penalty = rounded(overdue, PENALTY_RATE, n).minus(rounded(overdue, PENALTY_RATE, n - 1));
  }
  return { interest, penalty };
}

/** R-release: a guarantee's cumulative release is ROUND_HALF_UP(guarantee × principal repaid / amount). */
const released = (guarantee: string, principalRepaid: string): Decimal =>
  dec(guarantee).times(principalRepaid).div(AMOUNT).toDecimalPlaces(2, Decimal.ROUND_HALF_UP);

// ---------------------------------------------------------------------------------------------
// The people and the books as the story goes

interface Cast {
  fund: TestFund;
  secondAdmin: TestUser;
  borrower: string;
  g1: string;
  g2: string;
  borrowerUser: TestUser;
  g1User: TestUser;
  g2User: TestUser;
  /** Four committee members with no part in the loan; the first chairs June 2026. */
  seats: TestUser[];
  /** The committee member who represents guarantor G1. */
  g1Representative: TestUser;
  auditor: TestUser;
}

let cast: Cast;
/** Empty until the application exists: the loan's accounts then read as 0.00. */
let loanId = '';
let guaranteeIds: { g1: string; g2: string };

/** What the books should say; every field is a running figure of the story. */
const expected = {
  cash: dec(POOL),
  principal: dec(0),
  interestReceivable: dec(0),
  penaltyReceivable: dec(0),
  feeReceivable: dec(0),
  interestIncome: dec(0),
  feeIncome: dec(0),
  penaltyIncome: dec(0),
  guaranteeG1: dec(0),
  guaranteeG2: dec(0),
};

function everyone(): TestUser[] {
  return [
    cast.fund.admin,
    cast.secondAdmin,
    cast.borrowerUser,
    cast.g1User,
    cast.g2User,
    cast.g1Representative,
    cast.auditor,
    ...cast.seats,
  ];
}

/** Noon in Shanghai of `date`, with every user holding a token issued then (tokens last an hour). */
function setToday(date: string): void {
  h.clock.set(`${date}T04:00:00.000Z`);
  reissueTokens(h, everyone());
}

const get = (user: TestUser, path: string) => h.http.get(api(`/funds/${cast.fund.id}${path}`)).set(user.auth);
const post = (user: TestUser, path: string, body: Record<string, unknown> = {}, key: string | null = randomUUID()) => {
  const call = h.http.post(api(`/funds/${cast.fund.id}${path}`)).set(user.auth);
  if (key !== null) call.set('Idempotency-Key', key);
  return call.send(body);
};

interface TrialLine {
  code: string;
  balance: string;
  accountId: string;
}

/** Every balance the story watches, read from GET /trial-balance, which must balance. */
async function checkBooks(): Promise<Map<string, TrialLine>> {
  const response = await get(cast.auditor, '/trial-balance');
  expect(response.status).toBe(200);
  expect(response.body.balanced).toBe(true);
  const lines = new Map<string, TrialLine>((response.body.lines as TrialLine[]).map((line) => [line.code, line]));
  const balance = (code: string): string => lines.get(code)?.balance ?? '0.00';
  expect({
    cash: balance('1001'),
    principal: balance(`1201:${loanId}`),
    interestReceivable: balance(`1202:${loanId}`),
    penaltyReceivable: balance(`1203:${loanId}`),
    feeReceivable: balance(`1204:${loanId}`),
    interestIncome: balance('4001'),
    feeIncome: balance('4002'),
    penaltyIncome: balance('4003'),
    guaranteeG1: balance(`7001:${cast.g1}`),
    guaranteeG2: balance(`7001:${cast.g2}`),
    guaranteeContra: balance('7002'),
  }).toEqual({
    cash: fen(expected.cash),
    principal: fen(expected.principal),
    interestReceivable: fen(expected.interestReceivable),
    penaltyReceivable: fen(expected.penaltyReceivable),
    feeReceivable: fen(expected.feeReceivable),
    interestIncome: fen(expected.interestIncome),
    feeIncome: fen(expected.feeIncome),
    penaltyIncome: fen(expected.penaltyIncome),
    guaranteeG1: fen(expected.guaranteeG1),
    guaranteeG2: fen(expected.guaranteeG2),
    guaranteeContra: fen(expected.guaranteeG1.plus(expected.guaranteeG2)),
  });
  return lines;
}

interface ScheduleItem {
  number: number;
  dueOn: string;
  principal: string;
  interest: string;
  paid: { principal: string; interest: string; total: string };
  outstanding: { principal: string; interest: string; total: string };
  overdue: boolean;
}

/** The schedule as GET …/schedule shows it, against what has been paid per instalment. */
async function checkSchedule(paid: { principal: string; interest: string }[], overdue: boolean[]): Promise<void> {
  const response = await get(cast.borrowerUser, `/loans/${loanId}/schedule`);
  expect(response.status).toBe(200);
  const items = response.body.instalments as ScheduleItem[];
  expect(items).toHaveLength(3);
  items.forEach((item, index) => {
    const terms = INSTALMENTS[index]!;
    const p = paid[index]!;
    expect(item).toMatchObject({
      number: terms.number,
      dueOn: terms.due,
      principal: terms.principal,
      interest: terms.interest,
      paid: { principal: p.principal, interest: p.interest, total: fen(dec(p.principal).plus(p.interest)) },
      outstanding: {
        principal: fen(dec(terms.principal).minus(p.principal)),
        interest: fen(dec(terms.interest).minus(p.interest)),
        total: fen(dec(terms.principal).plus(terms.interest).minus(p.principal).minus(p.interest)),
      },
      overdue: overdue[index],
    });
  });
  const scheduled = INSTALMENTS.reduce((sum, i) => sum.plus(i.interest), dec(0));
  const paidTotal = paid.reduce((sum, p) => sum.plus(p.principal).plus(p.interest), dec(0));
  expect(response.body.totals).toEqual({
    principal: AMOUNT,
    interest: fen(scheduled),
    total: fen(dec(AMOUNT).plus(scheduled)),
    paid: fen(paidTotal),
    outstanding: fen(dec(AMOUNT).plus(scheduled).minus(paidTotal)),
  });
  expect(response.body.serviceFee).toBe(FEE);
}

async function loanView(): Promise<Record<string, unknown>> {
  const response = await get(cast.auditor, `/loans/${loanId}`);
  expect(response.status).toBe(200);
  return response.body as Record<string, unknown>;
}

async function overdueList(user: TestUser): Promise<string[]> {
  const response = await get(user, '/loans?overdue=true');
  expect(response.status).toBe(200);
  return (response.body.items as { id: string }[]).map((item) => item.id);
}

/** Runs the daily job for `date` (as "today") and books what it should have accrued. */
async function runDay(date: string): Promise<Record<string, unknown>> {
  const response = await post(cast.fund.admin, '/jobs/daily', { date }, null);
  expect(response.status).toBe(200);
  const days = response.body.days as Record<string, unknown>[];
  expect(days).toHaveLength(1);
  const { interest, penalty } = expectedAccrual(date);
  expect(days[0]).toMatchObject({
    date,
    ranNow: true,
    interestTotal: fen(interest),
    penaltyTotal: fen(penalty),
    loansAccrued: interest.gt(0) ? 1 : 0,
    loansPenalized: penalty.gt(0) ? 1 : 0,
  });
  expected.interestReceivable = expected.interestReceivable.plus(interest);
  expected.interestIncome = expected.interestIncome.plus(interest);
  expected.penaltyReceivable = expected.penaltyReceivable.plus(penalty);
  expected.penaltyIncome = expected.penaltyIncome.plus(penalty);
  await checkBooks();
  return days[0]!;
}

/** Runs every day from `from` through `to` with no event but the job. */
async function runDays(from: string, to: string): Promise<void> {
  for (let day = dayNumber(from); day <= dayNumber(to); day += 1) {
    setToday(dateOf(day));
    const ran = await runDay(dateOf(day));
    expect(ran).toMatchObject({ newlyOverdue: 0, cured: 0, classificationChanges: 0 });
  }
}

interface RepaymentBody {
  allocations: { component: string; instalmentNumber: number | null; amount: string; prepayment: boolean }[];
  allocated: Record<string, string>;
  guaranteeReleases: { guaranteeId: string; amount: string; releasedTotal: string }[];
  closedLoan: boolean;
  loanStatus: string;
}

async function repay(amount: string, on: string): Promise<RepaymentBody> {
  const response = await post(cast.fund.admin, `/loans/${loanId}/repayments`, {
    amount,
    receivedOn: on,
    reference: `ICBC-${on}-${loanId.slice(0, 8)}`,
  });
  expect(response.status).toBe(201);
  return response.body as RepaymentBody;
}

// ---------------------------------------------------------------------------------------------
// The story

describe('a ¥500,000, 90-day emergency loan with two guarantors, from application to closing', () => {
  test('when the fund lends at 4.35 % with a 0.3 % fee, then its members, committee and pool are in place', async () => {
    const fund = await createFund(h);
    const changed = await h.http
      .post(api(`/funds/${fund.id}/policy`))
      .set(fund.admin.auth)
      .send({
        effectiveDate: TEST_TODAY,
        reason: '应急借款利率与服务费',
        changes: { rateAnnual: '0.0435', serviceFeeRate: '0.003' },
      });
    expect(changed.status).toBe(201);
    const [borrower, g1, g2, big] = [
      await createMember(h, fund.id),
      await createMember(h, fund.id),
      await createMember(h, fund.id),
      await createMember(h, fund.id),
    ];
    await fundPool(h, fund, '200000.00', borrower);
    await fundPool(h, fund, '200000.00', g1);
    await fundPool(h, fund, '150000.00', g2);
    await fundPool(h, fund, '4500000.00', big);
    const member = (id: string) => makeUser(h, 'member', { fundId: fund.id, memberId: id });
    const seats: TestUser[] = [];
    for (let i = 0; i < 4; i += 1) {
      seats.push(await makeUser(h, 'committee', { fundId: fund.id, memberId: await createMember(h, fund.id) }));
    }
    cast = {
      fund,
      secondAdmin: await makeUser(h, 'admin'),
      borrower,
      g1,
      g2,
      borrowerUser: await member(borrower),
      g1User: await member(g1),
      g2User: await member(g2),
      seats,
      g1Representative: await makeUser(h, 'committee', { fundId: fund.id, memberId: g1 }),
      auditor: await makeUser(h, 'auditor', { fundId: fund.id }),
    };
    const rotation = await h.http
      .put(api(`/funds/${fund.id}/committee/rotation`))
      .set(fund.admin.auth)
      .send({ months: [{ month: '2026-06', chairUserId: seats[0]!.id }] });
    expect(rotation.status).toBe(200);
    await checkBooks();
  });

  test('when the borrower applies and the guarantors consent, then coverage is met only after both accept and the application is submitted', async () => {
    const draft = await h.http
      .post(api(`/funds/${cast.fund.id}/loan-applications`))
      .set(cast.borrowerUser.auth)
      .send({
        borrowerMemberId: cast.borrower,
        amount: AMOUNT,
        purpose: '疫情停工后复产：支付原材料货款与工资',
        termDays: 90,
        repaymentMethod: 'equal_principal',
        emergency: true,
        wantedOn: TEST_TODAY,
        lender: { type: 'pool' },
        guarantors: [
          { memberId: cast.g1, amount: '300000.00', type: 'joint_and_several' },
          { memberId: cast.g2, amount: '200000.00', type: 'general' },
        ],
      });
    expect(draft.status).toBe(201);
    loanId = draft.body.id as string;
    const byMember = new Map(
      (draft.body.guarantees as { id: string; memberId: string }[]).map((g) => [g.memberId, g.id]),
    );
    guaranteeIds = { g1: byMember.get(cast.g1)!, g2: byMember.get(cast.g2)! };
    expect(draft.body.coverage).toEqual({
      guarantees: '0.00',
      collateral: '0.00',
      total: '0.00',
      proposed: '500000.00',
      requiredPct: '100',
      required: '500000.00',
      sufficient: false,
    });

    // Before consent the guarantees do not count: submission names the rule and the figures.
    const early = await post(cast.borrowerUser, `/loan-applications/${loanId}/submit`, {}, null);
    expectProblem(early, 422, 'loan_ineligible');
    expect(early.body).toMatchObject({ rule: 'guarantee_coverage', limit: '500000.00', actual: '0.00' });

    const consent = (user: TestUser, guaranteeId: string) =>
      post(user, `/loan-applications/${loanId}/guarantees/${guaranteeId}/consent`, { decision: 'accept' }, null);
    // A guarantor decides only its own guarantee.
    expectProblem(await consent(cast.g2User, guaranteeIds.g1), 403, 'not_guarantor');
    expect((await consent(cast.g1User, guaranteeIds.g1)).status).toBe(200);
    const both = await consent(cast.g2User, guaranteeIds.g2);
    expect(both.status).toBe(200);
    expect(both.body.coverage).toMatchObject({ guarantees: '500000.00', total: '500000.00', sufficient: true });

    const submitted = await post(cast.borrowerUser, `/loan-applications/${loanId}/submit`, {}, null);
    expect(submitted.status).toBe(200);
    expect(submitted.body).toMatchObject({ status: 'submitted', policyVersion: null, approvalRoute: null });
    await checkBooks();
  });

  test('when the committee meets, then the guarantor’s representative is recused (403), quorum counts the other four, and three of four approve the large loan', async () => {
    const meeting = await post(cast.fund.admin, '/meetings', { heldOn: TEST_TODAY, applicationIds: [loanId] }, null);
    expect(meeting.status).toBe(201);
    expect(meeting.body.chair).toMatchObject({ userId: cast.seats[0]!.id });
    const meetingId = meeting.body.id as string;
    const itemId = meeting.body.items[0].id as string;
    const present = [...cast.seats, cast.g1Representative].map((user) => user.id);
    expect((await post(cast.fund.admin, `/meetings/${meetingId}/attendance`, { userIds: present }, null)).status).toBe(
      200,
    );

    const vote = (user: TestUser, choice: string) =>
      post(
        user,
        `/meetings/${meetingId}/items/${itemId}/votes`,
        { vote: choice, comment: `${choice}：应急借款` },
        null,
      );
    const recused = await vote(cast.g1Representative, 'approve');
    expectProblem(recused, 403, 'recused');
    expect(recused.body).toMatchObject({ reasons: ['guarantor'], memberId: cast.g1 });
    for (const [user, choice] of [
      [cast.seats[0]!, 'approve'],
      [cast.seats[1]!, 'approve'],
      [cast.seats[2]!, 'approve'],
      [cast.seats[3]!, 'reject'],
    ] as const) {
      expect((await vote(user, choice)).status).toBe(201);
    }

    const decided = await post(cast.fund.admin, `/meetings/${meetingId}/items/${itemId}/decide`);
    expect(decided.status).toBe(200);
    // Quorum: 4 voting × 2 > 4 eligible × 1. Large loan (≥ 500,000.00): 3 approvals ≥ 2/3 of 4 cast.
    expect(decided.body).toMatchObject({
      status: 'approved',
      resolutionNumber: `${TEST_TODAY}-1`,
      tally: {
        committee: 5,
        recused: 1,
        eligible: 4,
        present: 4,
        voting: 4,
        approve: 3,
        reject: 1,
        abstain: 0,
        quorumMet: true,
        largeLoan: true,
        passed: true,
        policyVersion: 2,
      },
    });
    expect(decided.body.votes.map((v: { userId: string }) => v.userId)).not.toContain(cast.g1Representative.id);

    // Approved: the pool's cash is held for the loan, nothing is posted yet.
    const loan = await loanView();
    expect(loan).toMatchObject({
      status: 'approved',
      policyVersion: 2,
      approvalRoute: 'committee',
      approvedAt: h.clock.now().toISOString(),
      fastTracked: false,
      ratificationStatus: null,
      holds: [{ amount: AMOUNT, status: 'pending' }],
    });
    const lines = await checkBooks();
    const cash = await get(cast.auditor, `/accounts/${lines.get('1001')!.accountId}`);
    expect(cash.body.balance).toMatchObject({ balance: POOL, held: AMOUNT, available: fen(dec(POOL).minus(AMOUNT)) });
  });

  test('when an administrator disburses above the maker-checker threshold, then nothing moves until a second administrator confirms', async () => {
    const requested = await post(cast.fund.admin, `/loans/${loanId}/disbursements`, {
      bankReference: 'ICBC-20260615-0001',
    });
    expect(requested.status).toBe(201);
    expect(requested.body).toMatchObject({ status: 'awaiting_confirmation', requiresConfirmation: true });
    const requestId = requested.body.id as string;
    await checkBooks();

    expectProblem(
      await post(cast.fund.admin, `/loans/${loanId}/disbursements/${requestId}/confirm`),
      403,
      'maker_checker_same_admin',
    );
    const confirmed = await post(cast.secondAdmin, `/loans/${loanId}/disbursements/${requestId}/confirm`);
    expect(confirmed.status).toBe(200);
    expect(confirmed.body).toMatchObject({ status: 'executed', disbursedOn: DISBURSED_ON, loanStatus: 'active' });

    expected.cash = expected.cash.minus(AMOUNT);
    expected.principal = dec(AMOUNT);
    expected.feeReceivable = dec(FEE);
    expected.feeIncome = dec(FEE);
    expected.guaranteeG1 = dec('300000.00');
    expected.guaranteeG2 = dec('200000.00');
    await checkBooks();
    expect(await loanView()).toMatchObject({
      status: 'active',
      disbursedOn: DISBURSED_ON,
      maturityDate: '2026-09-13',
      terms: { rateAnnual: '0.0435', dayCount: 'ACT/360', penaltyUpliftPct: '50', serviceFee: FEE },
      guarantees: [{ status: 'active' }, { status: 'active' }],
      holds: [{ amount: AMOUNT, status: 'posted' }],
    });
    const zero = { principal: '0.00', interest: '0.00' };
    await checkSchedule([zero, zero, zero], [false, false, false]);
  });

  test('when the daily job runs to the first due date and instalment 1 is paid on it, then its 30 days of interest add up to the schedule and the fee, interest and principal are paid in that order', async () => {
    setToday(DISBURSED_ON);
    const first = await runDay(DISBURSED_ON);
    // A loan enters at 正常 the first day the job sees it: not a change.
    expect(first).toMatchObject({ classificationChanges: 0, newlyOverdue: 0 });
    expect(await loanView()).toMatchObject({ classification: 'normal', daysPastDue: 0 });
    await runDays('2026-06-16', '2026-07-14');
    expect(fen(expected.interestIncome)).toBe(INSTALMENTS[0]!.interest);

    setToday('2026-07-15');
    const payoff = await get(cast.borrowerUser, `/loans/${loanId}/payoff`);
    expect(payoff.body).toMatchObject({
      fee: FEE,
      penaltyInterest: '0.00',
      interest: '1812.50',
      principal: AMOUNT,
      total: fen(dec(FEE).plus('1812.50').plus(AMOUNT)),
    });
    const paid = await repay(REPAYMENT_1, '2026-07-15');
    expect(paid.allocations).toEqual([
      { component: 'fee', scheduleVersion: null, instalmentNumber: null, amount: FEE, prepayment: false },
      { component: 'interest', scheduleVersion: 1, instalmentNumber: 1, amount: '1812.50', prepayment: false },
      { component: 'principal', scheduleVersion: 1, instalmentNumber: 1, amount: '166666.67', prepayment: false },
    ]);
    const g1Released = released('300000.00', '166666.67'); // 100,000.002 → 100,000.00
    const g2Released = released('200000.00', '166666.67'); // 66,666.668 → 66,666.67
    expect(paid.guaranteeReleases).toEqual(
      expect.arrayContaining([
        { guaranteeId: guaranteeIds.g1, amount: fen(g1Released), releasedTotal: '100000.00' },
        { guaranteeId: guaranteeIds.g2, amount: fen(g2Released), releasedTotal: '66666.67' },
      ]),
    );
    expect(paid).toMatchObject({ closedLoan: false, loanStatus: 'active' });
    expected.cash = expected.cash.plus(REPAYMENT_1);
    expected.feeReceivable = dec(0);
    expected.interestReceivable = expected.interestReceivable.minus('1812.50');
    expected.principal = expected.principal.minus('166666.67');
    expected.guaranteeG1 = dec('300000.00').minus(g1Released);
    expected.guaranteeG2 = dec('200000.00').minus(g2Released);
    await checkBooks();
    const zero = { principal: '0.00', interest: '0.00' };
    await checkSchedule([{ principal: '166666.67', interest: '1812.50' }, zero, zero], [false, false, false]);

    await runDay('2026-07-15');
    expect(await overdueList(cast.auditor)).toEqual([]);
  });

  test('when instalment 2 is not paid on 08-15, then from 08-16 the loan is overdue, 关注, and bears penalty interest on its overdue principal', async () => {
    await runDays('2026-07-16', '2026-08-14');
    // Period 2 is one segment of 31 days: its accruals add up to the schedule's interest exactly.
    expect(fen(expected.interestIncome)).toBe(fen(dec(INSTALMENTS[0]!.interest).plus(INSTALMENTS[1]!.interest)));
    // The due date is a grace day: period 3 starts accruing, instalment 2 is not overdue yet.
    await runDays('2026-08-15', '2026-08-15');
    expect(await loanView()).toMatchObject({ status: 'active', classification: 'normal', overdue: false });

    setToday(FIRST_OVERDUE_DAY);
    const day = await runDay(FIRST_OVERDUE_DAY);
    expect(day).toMatchObject({ newlyOverdue: 1, classificationChanges: 1, cured: 0 });
    expect(await loanView()).toMatchObject({
      status: 'overdue',
      classification: 'special_mention',
      daysPastDue: 1,
      overdue: true,
    });
    expect(await overdueList(cast.auditor)).toEqual([loanId]);
    expect(await overdueList(cast.g2User)).toEqual([loanId]);
    const zero = { principal: '0.00', interest: '0.00' };
    await checkSchedule([{ principal: '166666.67', interest: '1812.50' }, zero, zero], [false, true, false]);

    for (let d = dayNumber(FIRST_OVERDUE_DAY) + 1; d < dayNumber(LATE_PAYMENT_ON); d += 1) {
      setToday(dateOf(d));
      expect(await runDay(dateOf(d))).toMatchObject({ newlyOverdue: 0, classificationChanges: 0 });
    }
    expect(fen(expected.penaltyIncome)).toBe(PENALTY_TOTAL);
    expect(await loanView()).toMatchObject({ status: 'overdue', classification: 'special_mention', daysPastDue: 9 });
  });

  test('when instalment 2 is paid ten days late, then penalty, its interest, the interest accrued since and its principal are paid, and the next day run cures the loan', async () => {
    setToday(LATE_PAYMENT_ON);
    const accruedInterest = fen(expected.interestReceivable);
    expect(accruedInterest).toBe(fen(dec(INSTALMENTS[1]!.interest).plus(PERIOD_3_BY_LATE_PAYMENT)));
    const paid = await repay(REPAYMENT_2, LATE_PAYMENT_ON);
    expect(paid.allocations).toEqual([
      { component: 'penalty', scheduleVersion: null, instalmentNumber: null, amount: PENALTY_TOTAL, prepayment: false },
      { component: 'interest', scheduleVersion: 1, instalmentNumber: 2, amount: '1248.61', prepayment: false },
      {
        component: 'interest',
        scheduleVersion: 1,
        instalmentNumber: 3,
        amount: PERIOD_3_BY_LATE_PAYMENT,
        prepayment: false,
      },
      { component: 'principal', scheduleVersion: 1, instalmentNumber: 2, amount: '166666.67', prepayment: false },
    ]);
    const g1Before = dec('300000.00').minus(expected.guaranteeG1);
    const g2Before = dec('200000.00').minus(expected.guaranteeG2);
    const g1Released = released('300000.00', '333333.34'); // 200,000.004 → 200,000.00
    const g2Released = released('200000.00', '333333.34'); // 133,333.336 → 133,333.34
    expect(paid.guaranteeReleases).toEqual(
      expect.arrayContaining([
        { guaranteeId: guaranteeIds.g1, amount: fen(g1Released.minus(g1Before)), releasedTotal: '200000.00' },
        { guaranteeId: guaranteeIds.g2, amount: fen(g2Released.minus(g2Before)), releasedTotal: '133333.34' },
      ]),
    );
    // The repayment does not change the status; the day run does.
    expect(paid).toMatchObject({ closedLoan: false, loanStatus: 'overdue' });
    expected.cash = expected.cash.plus(REPAYMENT_2);
    expected.penaltyReceivable = dec(0);
    expected.interestReceivable = dec(0);
    expected.principal = expected.principal.minus('166666.67');
    expected.guaranteeG1 = dec('300000.00').minus(g1Released);
    expected.guaranteeG2 = dec('200000.00').minus(g2Released);
    await checkBooks();
    const paidSoFar = [
      { principal: '166666.67', interest: '1812.50' },
      { principal: '166666.67', interest: '1248.61' },
      { principal: '0.00', interest: PERIOD_3_BY_LATE_PAYMENT },
    ];
    await checkSchedule(paidSoFar, [false, false, false]);

    const cured = await runDay(LATE_PAYMENT_ON);
    expect(cured).toMatchObject({ cured: 1, classificationChanges: 1, loansPenalized: 0 });
    expect(await loanView()).toMatchObject({
      status: 'active',
      classification: 'normal',
      daysPastDue: 0,
      overdue: false,
    });
    expect(await overdueList(cast.auditor)).toEqual([]);
  });

  test('when the last instalment is paid at maturity, then the loan closes: repaid, guarantees released, memo book at zero, and the job accrues nothing more through day 120', async () => {
    await runDays('2026-08-26', '2026-09-12');
    const scheduledInterest = INSTALMENTS.reduce((sum, i) => sum.plus(i.interest), dec(0));
    expect(fen(expected.interestIncome)).toBe(fen(scheduledInterest));

    setToday('2026-09-13');
    const payoff = await get(cast.borrowerUser, `/loans/${loanId}/payoff`);
    expect(payoff.body).toMatchObject({ fee: '0.00', penaltyInterest: '0.00', total: REPAYMENT_3 });
    const lastInterest = fen(dec(INSTALMENTS[2]!.interest).minus(PERIOD_3_BY_LATE_PAYMENT));
    const paid = await repay(REPAYMENT_3, '2026-09-13');
    expect(paid.allocations).toEqual([
      { component: 'interest', scheduleVersion: 1, instalmentNumber: 3, amount: lastInterest, prepayment: false },
      { component: 'principal', scheduleVersion: 1, instalmentNumber: 3, amount: '166666.66', prepayment: false },
    ]);
    expect(paid.guaranteeReleases).toEqual(
      expect.arrayContaining([
        { guaranteeId: guaranteeIds.g1, amount: fen(expected.guaranteeG1), releasedTotal: '300000.00' },
        { guaranteeId: guaranteeIds.g2, amount: fen(expected.guaranteeG2), releasedTotal: '200000.00' },
      ]),
    );
    expect(paid).toMatchObject({ closedLoan: true, loanStatus: 'repaid' });
    expected.cash = expected.cash.plus(REPAYMENT_3);
    expected.interestReceivable = dec(0);
    expected.principal = dec(0);
    expected.guaranteeG1 = dec(0);
    expected.guaranteeG2 = dec(0);
    await checkBooks();
    await checkSchedule(
      INSTALMENTS.map((i) => ({ principal: i.principal, interest: i.interest })),
      [false, false, false],
    );

    // Day 120 is 2026-10-12: a closed loan is not serviced any more.
    await runDay('2026-09-13');
    await runDays('2026-09-14', dateOf(dayNumber(DISBURSED_ON) + 119));
    expect(dateOf(dayNumber(DISBURSED_ON) + 119)).toBe('2026-10-12');
    expect(await loanView()).toMatchObject({
      status: 'repaid',
      repaidOn: '2026-09-13',
      principalOutstanding: '0.00',
      balances: {
        principalOutstanding: '0.00',
        interestReceivable: '0.00',
        penaltyInterestReceivable: '0.00',
        feeReceivable: '0.00',
      },
      guarantees: [{ status: 'released' }, { status: 'released' }],
      overdue: false,
    });

    // The whole story in the income accounts: interest of the schedule, the fee, nine days of penalty.
    const received = dec(REPAYMENT_1).plus(REPAYMENT_2).plus(REPAYMENT_3);
    expect(fen(received)).toBe(fen(dec(AMOUNT).plus(FEE).plus(scheduledInterest).plus(PENALTY_TOTAL)));
    expect(fen(expected.cash)).toBe(fen(dec(POOL).minus(AMOUNT).plus(received)));
    expect({
      interest: fen(expected.interestIncome),
      fee: fen(expected.feeIncome),
      penalty: fen(expected.penaltyIncome),
    }).toEqual({ interest: '3645.14', fee: FEE, penalty: PENALTY_TOTAL });
    await checkBooks();
    await expectFundConsistent(h, cast.fund.id);
  });
});
