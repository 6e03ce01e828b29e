import type { Knex } from 'knex';
import { assert } from '../assert';
import type { AuditService } from '../audit/audit.service';
import { memberScope } from '../auth/permissions';
import type { Principal } from '../auth/principal';
import type { Clock } from '../clock';
import type { CommitteeService } from '../committee/committee.service';
import type { Trx } from '../db/knex';
import { liquidityReserve } from '../funds/limits';
import type { Fund, FundService } from '../funds/funds.service';
import type { GuaranteeService } from '../guarantees/guarantees.service';
import type { CodeBalance, LedgerService } from '../ledger/ledger.service';
import type { MemberService } from '../members/members.service';
import { formatAmount, Money, sumAmounts, ZERO } from '../money/money';
import type { PeriodService } from '../periods/periods.service';
import type { RecoveryService } from '../recovery/recovery.service';
import type { ReportService } from '../reports/reports.service';
import type { ExposureView, LoanBookView, PortfolioAtRiskView } from '../reports/reports.schemas';
import { isMonthEnd, monthEnds } from './month-ends';
import { overviewError } from './overview.errors';
import {
  ALERT_IDS_MAX,
  DUE_HORIZONS_DAYS,
  type LoansOutstandingView,
  type OverviewAlertView,
  type OverviewView,
  type SeriesView,
} from './overview.schemas';

export interface OverviewServiceDeps {
  ledger: LedgerService;
  audit: AuditService;
  funds: FundService;
  members: MemberService;
  periods: PeriodService;
  reports: ReportService;
  committee: CommitteeService;
  recovery: RecoveryService;
  guarantees: GuaranteeService;
  clock: Clock;
}

/** The chart codes the overview reads as of a day: pool cash, the loans' principal, member capital. */
const POOL_CASH = '1001';
const PRINCIPAL_CODES = { pool: '1201', peer: '7101', bank: '7201' } as const;
const MEMBER_CAPITAL = '3001';
const CODES = [POOL_CASH, ...Object.values(PRINCIPAL_CODES), MEMBER_CAPITAL];

type Alert = OverviewAlertView;

/**
 * The fund at a glance (资金池概览, docs/adr/0026-fund-overview.md): what the pool holds and can lend,
 * the capital, the loans outstanding, the period's income, the loan book's tiers, PAR, what falls
 * due, and what needs attention — each figure from the feature that owns it (ledger, reports,
 * periods, members, committee, recovery, guarantees, audit), as of a day, never re-derived here.
 *
 * Everything as of the day is read in one read-only REPEATABLE READ transaction, so the figures
 * agree with one another. The audit chain and the ledger are verified beside it, on their own
 * connections at the same time, as they stand now. Oversight roles only: the figures are the whole
 * fund's, so a member user never reaches here (the route's permission; asserted again below).
 */
export class OverviewService {
  constructor(readonly deps: OverviewServiceDeps) {}

  async overview(db: Knex, fund: Fund, principal: Principal, asOf: string | undefined): Promise<OverviewView> {
    assert(memberScope(principal) === undefined, 'the fund overview is for oversight roles only');
    const date = this.overviewDate(fund, asOf);
    const [figures, verification] = await Promise.all([
      readOnly(db, (trx) => this.figures(trx, fund, principal, date)),
      this.verification(db, fund),
    ]);
    return {
      ...figures.view,
      alerts: [
        ...figures.alerts,
        alert('audit_chain', 'now', verification.auditChain.ok ? 0 : 1, null),
        alert('ledger_verification', 'now', verification.ledger.findingsTotal, null),
      ],
      verification,
    };
  }

  /**
   * Pool cash, loans outstanding by lender, member capital and PAR at the end of each month of the
   * last `months` (the last point being asOf, so it is the overview of asOf): balances of all dates
   * in one statement (the ledger's as-of totals, ADR 0003), PAR by the PAR report's own reading,
   * one statement per date over every loan. All from one snapshot.
   */
  async series(
    db: Knex,
    fund: Fund,
    principal: Principal,
    query: { months: number; asOf?: string | undefined },
  ): Promise<SeriesView> {
    assert(memberScope(principal) === undefined, 'the fund overview is for oversight roles only');
    const last = this.overviewDate(fund, query.asOf);
    const dates = monthEnds(last, query.months, fund.establishedOn);
    return readOnly(db, async (trx) => {
      const balances = await this.deps.ledger.balancesByCodeAsOf(trx, fund.id, CODES, dates);
      const points: SeriesView['points'] = [];
      // One date after another: a transaction's one connection runs one statement at a time.
      for (const date of dates) {
        const codes = balances.get(date)!;
        const portfolioAtRisk = await this.deps.reports.portfolioAtRiskIn(trx, fund, date);
        points.push({
          date,
          monthEnd: isMonthEnd(date),
          poolCash: formatAmount(balanceOf(codes, POOL_CASH)),
          memberCapitalPaidIn: formatAmount(balanceOf(codes, MEMBER_CAPITAL)),
          loansOutstanding: loansOutstanding(codes),
          portfolioAtRisk: wholePortfolio(portfolioAtRisk),
        });
      }
      return { fundId: fund.id, asOf: last, months: query.months, points };
    });
  }

  private async figures(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    date: string,
  ): Promise<{ view: Omit<OverviewView, 'alerts' | 'verification'>; alerts: Alert[] }> {
    const { ledger, funds, members, periods, reports, committee, recovery, guarantees } = this.deps;
    const { version, policy } = await funds.policyInForce(trx, fund, date);
    const codes = (await ledger.balancesByCodeAsOf(trx, fund.id, CODES, [date])).get(date)!;
    const held = await ledger.heldAtEndOf(trx, fund, POOL_CASH, date);
    const cash = balanceOf(codes, POOL_CASH);
    const paidIn = balanceOf(codes, MEMBER_CAPITAL);
    const reserve = liquidityReserve(policy, paidIn);
    const unreserved = cash.minus(held).minus(reserve);
    const membership = await members.subscribedOn(trx, fund, date);
    const income = await periods.incomeToDate(trx, fund, date);
    const { loanBook, portfolioAtRisk } = await reports.portfolioIn(trx, fund, date);
    const due = await reports.repaymentsDueIn(trx, fund, date, DUE_HORIZONS_DAYS);
    const exposure = await reports.exposureIn(trx, fund, date);
    const ratifications = await committee.pendingRatifications(trx, fund, ALERT_IDS_MAX);
    const cases = await recovery.openOn(trx, fund, date, ALERT_IDS_MAX);
    const network = await guarantees.network(trx, fund, principal);
    return {
      view: {
        fundId: fund.id,
        asOf: date,
        policyVersion: version,
        pool: {
          cash: formatAmount(cash),
          held: formatAmount(held),
          liquidityReservePct: policy.liquidityReservePct,
          liquidityReserve: formatAmount(reserve),
          // Floored at zero (rule O-available, ADR 0026): a pool below its reserve lends nothing.
          availableToLend: formatAmount(Money.max(unreserved, ZERO)),
          shortOfReserve: formatAmount(Money.max(unreserved.neg(), ZERO)),
        },
        capital: {
          members: membership.members,
          subscribed: formatAmount(membership.subscribed),
          paidIn: formatAmount(paidIn),
        },
        loansOutstanding: loansOutstanding(codes),
        income: {
          from: income.from,
          to: income.to,
          closedPeriod: income.closedPeriod,
          accounts: income.accounts.map((account) => ({ ...account, amount: formatAmount(account.amount) })),
          total: formatAmount(income.total),
        },
        loanBook: loanBook.totals,
        portfolioAtRisk: portfolioAtRisk.portfolios,
        repaymentsDue: due.map((horizon) => ({
          days: horizon.days as (typeof DUE_HORIZONS_DAYS)[number],
          dueAfter: horizon.dueAfter,
          dueBy: horizon.dueBy,
          instalments: horizon.instalments,
          loans: horizon.loans,
          principal: formatAmount(horizon.principal),
          interest: formatAmount(horizon.interest),
          total: formatAmount(horizon.principal.plus(horizon.interest)),
          byLender: horizon.byLender.map((row) => ({
            lender: row.lender,
            instalments: row.instalments,
            loans: row.loans,
            principal: formatAmount(row.principal),
            interest: formatAmount(row.interest),
          })),
        })),
      },
      alerts: [
        overdueAlert(loanBook),
        alert('pending_ratifications', 'now', ratifications.count, ratifications.amount, {
          loanIds: ratifications.loanIds,
          truncated: ratifications.count > ratifications.loanIds.length,
        }),
        breachesAlert(exposure),
        circlesAlert(network),
        recoveryAlert(cases, loanBook),
      ],
    };
  }

  /** Both verifications, each as it stands now and on its own connection, at the same time. */
  private async verification(db: Knex, fund: Fund): Promise<OverviewView['verification']> {
    const [chain, books] = await Promise.all([
      this.deps.audit.verify(db, fund.id).then((result) => ({ result, at: this.deps.clock.now() })),
      this.deps.ledger.verify(db, fund.id).then((result) => ({ result, at: this.deps.clock.now() })),
    ]);
    return {
      auditChain: {
        ok: chain.result.ok,
        checkedAt: chain.at.toISOString(),
        recordsChecked: chain.result.checked,
        firstBrokenId: chain.result.firstBrokenId,
        firstBrokenSeq: chain.result.firstBrokenSeq,
        reason: chain.result.reason,
      },
      ledger: {
        ok: books.result.ok,
        checkedAt: books.at.toISOString(),
        findingsTotal: books.result.findingsTotal,
        checked: books.result.checked,
      },
    };
  }

  /** The day of the figures: default today in the fund's time zone; not later, not before the fund. */
  private overviewDate(fund: Fund, asOf: string | undefined): string {
    const today = this.deps.funds.today(fund);
    const date = asOf ?? today;
    if (date > today) {
      throw overviewError(
        'as_of_in_future',
        `Figures as of ${date} would be about a day that has not come; today is ${today} in the fund's time zone.`,
        { asOf: date, today },
      );
    }
    if (date < fund.establishedOn) {
      throw overviewError(
        'as_of_before_fund',
        `The fund was established on ${fund.establishedOn}; there are no figures as of ${date}.`,
        { asOf: date, establishedOn: fund.establishedOn },
      );
    }
    return date;
  }
}

function balanceOf(codes: ReadonlyMap<string, CodeBalance>, code: string): Money {
  const found = codes.get(code);
  assert(found, `no balance of ${code}`);
  return found.balance;
}

function loansOutstanding(codes: ReadonlyMap<string, CodeBalance>): LoansOutstandingView {
  const of = (code: string) => {
    const found = codes.get(code);
    assert(found, `no balance of ${code}`);
    assert(found.balance.gte(0), `principal accounts ${code} sum to ${found.balance.toFixed()}`);
    return { principal: found.balance, loans: found.accountsNonZero };
  };
  const lenders = { pool: of(PRINCIPAL_CODES.pool), peer: of(PRINCIPAL_CODES.peer), bank: of(PRINCIPAL_CODES.bank) };
  const all = Object.values(lenders);
  const view = (figures: { principal: Money; loans: number }) => ({
    principal: formatAmount(figures.principal),
    loans: figures.loans,
  });
  return {
    pool: view(lenders.pool),
    peer: view(lenders.peer),
    bank: view(lenders.bank),
    total: view({
      principal: sumAmounts(all.map((figures) => figures.principal)),
      loans: all.reduce((n, figures) => n + figures.loans, 0),
    }),
  };
}

function wholePortfolio(report: PortfolioAtRiskView): PortfolioAtRiskView['portfolios'][number] {
  const whole = report.portfolios.find((portfolio) => portfolio.lender === 'all');
  assert(whole, 'the PAR report has no whole portfolio');
  return whole;
}

function alert(
  kind: Alert['kind'],
  basis: Alert['basis'],
  count: number,
  amount: Money | null,
  ids: Partial<Pick<Alert, 'loanIds' | 'memberIds' | 'caseIds' | 'relatedGroups' | 'truncated'>> = {},
): Alert {
  const lists = {
    loanIds: ids.loanIds ?? [],
    memberIds: ids.memberIds ?? [],
    caseIds: ids.caseIds ?? [],
    relatedGroups: ids.relatedGroups ?? [],
  };
  const longest = Math.max(...Object.values(lists).map((list) => list.length));
  return {
    kind,
    basis,
    count,
    amount: amount === null ? null : formatAmount(amount),
    loanIds: lists.loanIds.slice(0, ALERT_IDS_MAX),
    memberIds: lists.memberIds.slice(0, ALERT_IDS_MAX),
    caseIds: lists.caseIds.slice(0, ALERT_IDS_MAX),
    relatedGroups: lists.relatedGroups.slice(0, ALERT_IDS_MAX),
    truncated: (ids.truncated ?? false) || longest > ALERT_IDS_MAX,
  };
}

/** Loans of the book with anything past due on the day, the longest overdue first. */
function overdueAlert(book: LoanBookView): Alert {
  const overdue = book.loans
    .filter((loan) => loan.daysPastDue > 0)
    .sort((a, b) => b.daysPastDue - a.daysPastDue || a.number - b.number);
  return alert(
    'overdue_loans',
    'as_of',
    overdue.length,
    sumAmounts(overdue.map((loan) => new Money(loan.principalOutstanding))),
    { loanIds: overdue.map((loan) => loan.loanId) },
  );
}

function breachesAlert(exposure: ExposureView): Alert {
  const { breaches } = exposure;
  return alert(
    'exposure_breaches',
    'as_of',
    breaches.length,
    sumAmounts(breaches.map((breach) => new Money(breach.excess))),
    {
      memberIds: unique(breaches.flatMap((breach) => breach.memberId ?? [])),
      relatedGroups: unique(breaches.flatMap((breach) => breach.relatedGroup ?? [])),
    },
  );
}

function circlesAlert(network: Awaited<ReturnType<GuaranteeService['network']>>): Alert {
  const inCycle = network.edges.filter((edge) => edge.inCycle);
  return alert(
    'guarantee_circles',
    'now',
    network.cycles.length,
    sumAmounts(inCycle.map((edge) => new Money(edge.amount))),
    {
      memberIds: unique(network.cycles.flatMap((cycle) => cycle.members.map((member) => member.id))),
      loanIds: unique(network.cycles.flatMap((cycle) => cycle.steps.flatMap((step) => step.loans.map((l) => l.id)))),
      truncated: network.cyclesTruncated,
    },
  );
}

function recoveryAlert(cases: { count: number; caseIds: string[]; loanIds: string[] }, book: LoanBookView): Alert {
  const loans = new Set(cases.loanIds);
  const principal = sumAmounts(
    book.loans.filter((loan) => loans.has(loan.loanId)).map((loan) => new Money(loan.principalOutstanding)),
  );
  return alert('open_recovery_cases', 'as_of', cases.count, principal, {
    caseIds: cases.caseIds,
    loanIds: cases.loanIds,
    truncated: cases.count > cases.caseIds.length,
  });
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

/** One snapshot for every figure as of the day; nothing is written. */
function readOnly<T>(db: Knex, work: (trx: Trx) => Promise<T>): Promise<T> {
  return db.transaction(work, { isolationLevel: 'repeatable read', readOnly: true });
}
