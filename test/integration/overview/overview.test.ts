import { addDays } from '../../../src/clock';
import { sumAmounts, Money } from '../../../src/money/money';
import { createFund } from '../../helpers/factories';
import { makeUser, startHarness, TEST_TODAY, type Harness, type TestUser } from '../../helpers/harness';
import { expectProblem } from '../auth/problem';
import { approveByContract } from '../disbursements/disbursements.helpers';
import { applicationBody, consented, drafted, submit } from '../loans/loans.helpers';
import { portfolio, setToday, type Portfolio } from '../reports/reports.helpers';
import { alertOf, api, getOverview, getSeries, overviewOf, read, type Overview } from './overview.helpers';

/**
 * The fund at a glance on the hand-made portfolio of the report tests (reports.helpers.ts): pool
 * loans L1 (B, 30,000.00, due 07-15, unpaid), L2 (C, 60,000.00 in three instalments, the first paid
 * on 07-20), L3 (D, 20,000.00, due 08-14), L5 (D, repaid 07-10); peer loan L4 (BIG lends B
 * 40,000.00, due 07-15, unpaid). On 07-21 (today here) a sixth pool loan of 50,000.00 is approved
 * and not disbursed — pool cash holds it — and a policy decision from 07-21 lowers the guarantor
 * capacity to 0.4 × paid-in capital, which G1 (100,000.00 paid in, 50,000.00 of guarantees
 * standing) exceeds by 10,000.00.
 *
 * Each figure is checked against what another endpoint of the API says for the same day — the
 * account's as-of balance, the loan book, the PAR and exposure reports, the trial balance, the
 * schedules — so the overview is shown to read the same facts, not to re-derive them.
 */

const TODAY = '2026-07-21';
const PAST = '2026-07-19';

let h: Harness;
let p: Portfolio;
let admin: TestUser;
let heldLoanId: string;

beforeAll(async () => {
  h = await startHarness();
  p = await portfolio(h);
  setToday(h, TODAY, p.w, p.users.c, p.users.d);
  admin = p.w.fund.admin;
  const draft = await drafted(
    h,
    admin,
    p.w.fund.id,
    applicationBody(p.w, {
      amount: '50000.00',
      termDays: 30,
      repaymentMethod: 'bullet',
      wantedOn: TODAY,
      guarantors: [{ memberId: p.w.g1, amount: '10000.00', type: 'joint_and_several' }],
    }),
  );
  await consented(h, p.w.fund.id, draft, { [p.w.g1]: p.w.users.g1 });
  const submitted = await submit(h, admin, p.w.fund.id, draft.id);
  if (submitted.status !== 200) throw new Error(`submit failed: ${submitted.status} ${submitted.text}`);
  await approveByContract(h, p.w.fund.id, draft.id);
  heldLoanId = draft.id;
  const lowered = await h.http
    .post(api(`/funds/${p.w.fund.id}/policy`))
    .set(admin.auth)
    .send({
      effectiveDate: TODAY,
      reason: 'guarantors stand behind too much',
      changes: { guarantorCapacityPaidInMultiple: '0.4' },
    });
  if (lowered.status !== 201) throw new Error(`policy change failed: ${lowered.status} ${lowered.text}`);
});
beforeEach(() => {
  setToday(h, TODAY, p.w, p.users.c, p.users.d);
});
afterAll(async () => {
  await h.close();
});

const fundPath = () => `/funds/${p.w.fund.id}`;

interface BookLine {
  loanId: string;
  lender: { type: string };
  principalOutstanding: string;
  owedBy: { borrowerPrincipal: string };
  daysPastDue: number;
}

async function reports(asOf: string) {
  const [book, par, exposure] = await Promise.all([
    read<{ loans: BookLine[]; totals: unknown }>(h, admin, `${fundPath()}/reports/loan-book?asOf=${asOf}`),
    read<{ portfolios: unknown[] }>(h, admin, `${fundPath()}/reports/portfolio-at-risk?asOf=${asOf}`),
    read<{ poolCapital: string; breaches: { memberId: string | null; excess: string }[] }>(
      h,
      admin,
      `${fundPath()}/reports/exposure?asOf=${asOf}`,
    ),
  ]);
  return { book, par, exposure };
}

async function cashAsOf(asOf: string): Promise<string> {
  const account = await read<{ asOf: { balance: string } }>(
    h,
    admin,
    `${fundPath()}/accounts/${p.w.fund.accounts['1001']}?asOf=${asOf}`,
  );
  return account.asOf.balance;
}

/** Principal owed by borrowers per lender, and how many loans, as the loan book gives them. */
function byLender(lines: readonly BookLine[], lender: string) {
  const owed = lines.filter((line) => line.lender.type === lender && new Money(line.owedBy.borrowerPrincipal).gt(0));
  return {
    principal: sumAmounts(owed.map((line) => new Money(line.owedBy.borrowerPrincipal))).toFixed(2),
    loans: owed.length,
  };
}

async function expectSameAsTheReports(overview: Overview, asOf: string): Promise<void> {
  const { book, par, exposure } = await reports(asOf);
  expect(overview.pool.cash).toBe(await cashAsOf(asOf));
  expect(overview.capital.paidIn).toBe(exposure.poolCapital);
  expect(overview.loanBook).toEqual(book.totals);
  expect(overview.portfolioAtRisk).toEqual(par.portfolios);
  expect(overview.loansOutstanding).toEqual({
    pool: byLender(book.loans, 'pool'),
    peer: byLender(book.loans, 'peer'),
    bank: byLender(book.loans, 'bank'),
    total: {
      principal: sumAmounts(book.loans.map((line) => new Money(line.owedBy.borrowerPrincipal))).toFixed(2),
      loans: book.loans.length,
    },
  });
  const overdue = book.loans.filter((line) => line.daysPastDue > 0);
  expect(alertOf(overview, 'overdue_loans')).toMatchObject({
    basis: 'as_of',
    count: overdue.length,
    amount: sumAmounts(overdue.map((line) => new Money(line.principalOutstanding))).toFixed(2),
  });
  expect(alertOf(overview, 'overdue_loans').loanIds.sort()).toEqual(overdue.map((line) => line.loanId).sort());
  expect(alertOf(overview, 'exposure_breaches')).toMatchObject({
    basis: 'as_of',
    count: exposure.breaches.length,
    amount: sumAmounts(exposure.breaches.map((breach) => new Money(breach.excess))).toFixed(2),
    memberIds: [...new Set(exposure.breaches.flatMap((breach) => breach.memberId ?? []))],
  });
}

describe('the fund at a glance', () => {
  test('when asked for today, then every figure is what the account, the reports and the holds say for today', async () => {
    const overview = await overviewOf(h, admin, p.w.fund.id);

    expect(overview.asOf).toBe(TODAY);
    await expectSameAsTheReports(overview, TODAY);
    const cashAccount = await read<{ balance: { balance: string; held: string } }>(
      h,
      admin,
      `${fundPath()}/accounts/${p.w.fund.accounts['1001']}`,
    );
    // Today's as-of figures are today's balances; the approval's hold is what the account holds.
    expect({ cash: overview.pool.cash, held: overview.pool.held }).toEqual({
      cash: cashAccount.balance.balance,
      held: cashAccount.balance.held,
    });
    expect(overview.pool.held).toBe('50000.00');
    // Pool capital 2,350,000.00 (B, G1 100,000.00; G2, C, D 50,000.00; BIG 2,000,000.00): reserve 10 %.
    expect(overview.capital.paidIn).toBe('2350000.00');
    expect(overview.pool).toMatchObject({ liquidityReservePct: '10', liquidityReserve: '235000.00' });
    const available = new Money(overview.pool.cash!).minus('50000.00').minus('235000.00');
    expect(overview.pool.availableToLend).toBe(available.toFixed(2));
    expect(overview.pool.shortOfReserve).toBe('0.00');
    // Breached from the policy decision of 07-21: G1's 50,000.00 of guarantees over 40,000.00.
    expect(alertOf(overview, 'exposure_breaches')).toMatchObject({ count: 1, amount: '10000.00', memberIds: [p.w.g1] });
    // L1 and L4 (due 07-15) are six days late; L2's first instalment was paid on 07-20.
    expect(alertOf(overview, 'overdue_loans')).toMatchObject({ count: 2, amount: '70000.00' });
  });

  test('when asked for a past day, then the figures are that day’s: balances, reports, holds and limits as they stood', async () => {
    const past = await overviewOf(h, admin, p.w.fund.id, PAST);
    const today = await overviewOf(h, admin, p.w.fund.id, TODAY);

    expect(past.asOf).toBe(PAST);
    await expectSameAsTheReports(past, PAST);
    // On 07-19 L2's first instalment (20,000.00) was still owed and overdue; no approval held cash;
    // the lower guarantor capacity was not yet in force.
    expect(
      new Money(past.loansOutstanding.pool.principal).minus(today.loansOutstanding.pool.principal).toFixed(2),
    ).toBe('20000.00');
    expect(past.pool.held).toBe('0.00');
    expect(alertOf(past, 'exposure_breaches').count).toBe(0);
    expect(alertOf(past, 'overdue_loans')).toMatchObject({ count: 3, amount: '130000.00' });
    expect(past.pool.availableToLend).toBe(new Money(past.pool.cash!).minus('235000.00').toFixed(2));
  });

  test('when asked, then the income is the trial balance’s income accounts from the fund’s first day to the day', async () => {
    const overview = await overviewOf(h, admin, p.w.fund.id, TODAY);
    const trial = await read<{ lines: { code: string; type: string; balance: string }[] }>(
      h,
      admin,
      `${fundPath()}/trial-balance?asOf=${TODAY}`,
    );
    const income = trial.lines.filter((line) => line.type === 'income');

    // No period is closed: the open period runs from the fund's establishment.
    expect(overview.income).toMatchObject({ from: TEST_TODAY, to: TODAY, closedPeriod: null });
    expect(overview.income.accounts.map((account) => [account.code, account.amount])).toEqual(
      income.map((line) => [line.code, line.balance]),
    );
    expect(overview.income.total).toBe(sumAmounts(income.map((line) => new Money(line.balance))).toFixed(2));
    expect(new Money(overview.income.total).gt(0)).toBe(true);
  });

  test('when asked, then the repayments due in 30, 60 and 90 days are the unpaid instalments of the schedules', async () => {
    const overview = await overviewOf(h, admin, p.w.fund.id, TODAY);
    const { loans } = p;
    const schedules = await Promise.all(
      [loans.l1, loans.l2, loans.l3, loans.l4].map((id) =>
        read<{
          instalments: { dueOn: string; outstanding: { principal: string; interest: string } }[];
        }>(h, admin, `${fundPath()}/loans/${id}/schedule`),
      ),
    );
    const instalments = schedules.flatMap((schedule) => schedule.instalments);

    for (const days of [30, 60, 90]) {
      const due = instalments.filter(
        (i) =>
          i.dueOn > TODAY &&
          i.dueOn <= addDays(TODAY, days) &&
          new Money(i.outstanding.principal).plus(i.outstanding.interest).gt(0),
      );
      const horizon = overview.repaymentsDue.find((row) => row.days === days)!;
      expect({
        days,
        instalments: horizon.instalments,
        principal: horizon.principal,
        interest: horizon.interest,
      }).toEqual({
        days,
        instalments: due.length,
        principal: sumAmounts(due.map((i) => new Money(i.outstanding.principal))).toFixed(2),
        interest: sumAmounts(due.map((i) => new Money(i.outstanding.interest))).toFixed(2),
      });
    }
    // By hand: L3 (08-14) and L2's second instalment (08-15) within 30 days; L2's third (09-13) within 60.
    expect(overview.repaymentsDue.map((row) => [row.days, row.instalments, row.loans, row.principal])).toEqual([
      [30, 2, 2, '40000.00'],
      [60, 3, 2, '60000.00'],
      [90, 3, 2, '60000.00'],
    ]);
    expect(overview.repaymentsDue[0]!.byLender.map((row) => [row.lender, row.principal])).toEqual([
      ['pool', '40000.00'],
      ['peer', '0.00'],
      ['bank', '0.00'],
    ]);
  });

  test('when the fund has no circle, case or ratification waiting and its books are intact, then those alerts count zero and both verifications pass', async () => {
    const overview = await overviewOf(h, admin, p.w.fund.id);

    expect(overview.alerts.map((alert) => [alert.kind, alert.basis])).toEqual([
      ['overdue_loans', 'as_of'],
      ['pending_ratifications', 'now'],
      ['exposure_breaches', 'as_of'],
      ['guarantee_circles', 'now'],
      ['open_recovery_cases', 'as_of'],
      ['audit_chain', 'now'],
      ['ledger_verification', 'now'],
    ]);
    for (const kind of ['pending_ratifications', 'guarantee_circles', 'open_recovery_cases', 'audit_chain']) {
      expect(alertOf(overview, kind)).toMatchObject({ count: 0, loanIds: [], caseIds: [] });
    }
    expect(alertOf(overview, 'ledger_verification').count).toBe(0);
    const audit = await read<{ checked: number }>(h, admin, `${fundPath()}/audit/verify`);
    expect(overview.verification.auditChain).toMatchObject({ ok: true, recordsChecked: audit.checked, reason: null });
    expect(overview.verification.ledger).toMatchObject({ ok: true, findingsTotal: 0 });
    expect(heldLoanId).toBeDefined();
  });

  test('when a committee member or an auditor asks, then they get it; when a member user asks, then it is a 403', async () => {
    for (const user of [p.w.users.committee, p.w.users.auditor]) {
      const response = await getOverview(h, user, p.w.fund.id);
      expect({ role: user.role, status: response.status }).toEqual({ role: user.role, status: 200 });
    }
    for (const member of [p.w.users.borrower, p.users.c]) {
      expectProblem(await getOverview(h, member, p.w.fund.id), 403, 'forbidden');
      expectProblem(await getSeries(h, member, p.w.fund.id, {}), 403, 'forbidden');
    }
  });

  test('when a user of another fund asks, then the fund is not found', async () => {
    const other = await createFund(h);
    const stranger = await makeUser(h, 'auditor', { fundId: other.id });
    expectProblem(await getOverview(h, stranger, p.w.fund.id), 404, 'fund_not_found');
  });

  test('when the day is after today or before the fund, then it is a 422; when more than 36 months are asked, then a 400', async () => {
    expectProblem(await getOverview(h, admin, p.w.fund.id, addDays(TODAY, 1)), 422, 'as_of_in_future');
    expectProblem(await getOverview(h, admin, p.w.fund.id, addDays(TEST_TODAY, -1)), 422, 'as_of_before_fund');
    expectProblem(await getSeries(h, admin, p.w.fund.id, { months: 37 }), 400, 'validation_failed');
    expectProblem(await getSeries(h, admin, p.w.fund.id, { months: 0 }), 400, 'validation_failed');
    expectProblem(await getSeries(h, admin, p.w.fund.id, { asOf: addDays(TODAY, 1) }), 422, 'as_of_in_future');
  });
});

describe('the month-end series', () => {
  interface Point {
    date: string;
    monthEnd: boolean;
    poolCash: string;
    memberCapitalPaidIn: string;
    loansOutstanding: unknown;
    portfolioAtRisk: unknown;
  }

  test('when asked for 12 months, then the months before the fund are left out and the last point is today’s overview', async () => {
    const response = await getSeries(h, admin, p.w.fund.id, {});
    expect(response.status).toBe(200);
    const points = response.body.points as Point[];
    const overview = await overviewOf(h, admin, p.w.fund.id, TODAY);

    expect(response.body).toMatchObject({ asOf: TODAY, months: 12 });
    expect(points.map((point) => [point.date, point.monthEnd])).toEqual([
      ['2026-06-30', true],
      [TODAY, false],
    ]);
    expect(points[1]).toEqual({
      date: TODAY,
      monthEnd: false,
      poolCash: overview.pool.cash,
      memberCapitalPaidIn: overview.capital.paidIn,
      loansOutstanding: overview.loansOutstanding,
      portfolioAtRisk: overview.portfolioAtRisk[0],
    });
  });

  test('when asked as of a past day, then each point is that day’s balance of pool cash and the PAR report of that day', async () => {
    const response = await getSeries(h, admin, p.w.fund.id, { months: 2, asOf: PAST });
    expect(response.status).toBe(200);
    const points = response.body.points as Point[];

    expect(points.map((point) => point.date)).toEqual(['2026-06-30', PAST]);
    for (const point of points) {
      const par = await read<{ portfolios: unknown[] }>(
        h,
        admin,
        `${fundPath()}/reports/portfolio-at-risk?asOf=${point.date}`,
      );
      expect({ date: point.date, cash: point.poolCash, par: point.portfolioAtRisk }).toEqual({
        date: point.date,
        cash: await cashAsOf(point.date),
        par: par.portfolios[0],
      });
    }
    const overview = await overviewOf(h, admin, p.w.fund.id, PAST);
    expect(points[1]).toMatchObject({
      poolCash: overview.pool.cash,
      memberCapitalPaidIn: overview.capital.paidIn,
      loansOutstanding: overview.loansOutstanding,
    });
    // At the end of June every loan but L5 was outstanding and none was late.
    expect(points[0]!.loansOutstanding).toEqual({
      pool: { principal: '120000.00', loans: 4 },
      peer: { principal: '40000.00', loans: 1 },
      bank: { principal: '0.00', loans: 0 },
      total: { principal: '160000.00', loans: 5 },
    });
  });
});
