import type { Knex } from 'knex';
import { z } from 'zod';
import { assert } from '../assert';
import { memberScope } from '../auth/permissions';
import type { Principal } from '../auth/principal';
import { addDays, type Clock } from '../clock';
import type { Db, Trx } from '../db/knex';
import type { Fund, FundService } from '../funds/funds.service';
import { decodeCursor, encodeCursor } from '../http/pagination';
import type { LedgerService } from '../ledger/ledger.service';
import { classificationHistory, type ClassificationBands } from '../loans/daily-job.repo';
import * as loansRepo from '../loans/loans.repo';
import { collateralCounted } from '../loans/loans.views';
import { formatAmount, Money, sumAmounts } from '../money/money';
import {
  bookTotals,
  classByDays,
  LENDERS,
  historyReason,
  portfolioAtRisk,
  ratio,
  statusAsOf,
  worseOf,
  type BookFigures,
  type ClassTotals,
  type Lender,
} from './delinquency';
import {
  figuresOf,
  hasExposure,
  memberLimits,
  relatedGroupLimits,
  type ExposureFigures,
  type LimitCheck,
} from './exposure';
import * as exposureRepo from './exposure.repo';
import { reportError } from './reports.errors';
import * as repo from './reports.repo';
import type {
  ClassificationHistoryView,
  ExposureView,
  LoanBookLineView,
  LoanBookView,
  PortfolioAtRiskView,
} from './reports.schemas';

/** Instalments due within a horizon after a day, as the loan book reads them as of that day. */
export interface RepaymentsDue {
  days: number;
  /** Due after this day (the as-of day) … */
  dueAfter: string;
  /** … and on or before this one. */
  dueBy: string;
  instalments: number;
  loans: number;
  principal: Money;
  interest: Money;
  byLender: { lender: Lender; instalments: number; loans: number; principal: Money; interest: Money }[];
}

export interface ReportServiceDeps {
  ledger: LedgerService;
  funds: FundService;
  clock: Clock;
}

/**
 * Loans one report covers at most. The loan book holds every row in memory (and in one JSON or
 * CSV answer); a fund beyond this is refused with 422 `loan_book_too_large` rather than answered
 * slowly or partly.
 */
export const LOAN_BOOK_LOANS_MAX = 20_000;

/** A guarantee backs a loan outstanding on asOf when accepted or active, or released after asOf. */
const STANDING_GUARANTEES: readonly loansRepo.GuaranteeStatus[] = ['accepted', 'active', 'released'];

const historyCursor = z.object({ position: z.string().regex(/^\d{1,9}$/) });

interface BookLine {
  view: LoanBookLineView;
  figures: BookFigures;
}

/**
 * The delinquency reports (docs/adr/0014-delinquency-reports.md): the loan book and portfolio at
 * risk as of a day, and the classification history of one loan. Each report reads in one
 * read-only REPEATABLE READ transaction, so every figure comes from the same snapshot.
 *
 * Scoping: a member user's loan book holds the loans its enterprise borrows, lends or guarantees
 * (the loan list's rule) and its portfolio at risk is computed over the loans it borrows; other
 * roles see the whole fund.
 */
export class ReportService {
  constructor(readonly deps: ReportServiceDeps) {}

  async loanBook(db: Knex, fund: Fund, principal: Principal, asOf: string | undefined): Promise<LoanBookView> {
    const date = this.reportDate(fund, asOf);
    const scope = memberScope(principal) ?? null;
    return readOnly(db, async (trx) => (await this.bookViews(trx, fund, date, scope)).loanBook);
  }

  async portfolioAtRisk(
    db: Knex,
    fund: Fund,
    principal: Principal,
    asOf: string | undefined,
  ): Promise<PortfolioAtRiskView> {
    const date = this.reportDate(fund, asOf);
    const scope = memberScope(principal) ?? null;
    return readOnly(db, async (trx) => (await this.bookViews(trx, fund, date, scope)).portfolioAtRisk);
  }

  /**
   * Exposure as of a day (docs/adr/0019-exposure-report.md): per member and per related group,
   * what is owed to the pool, on peer and bank loans, lent to peers, guaranteed and pledged, each
   * against its policy limit, with every breach listed. A member user gets its own row and its
   * related group's.
   */
  async exposure(db: Knex, fund: Fund, principal: Principal, asOf: string | undefined): Promise<ExposureView> {
    const date = this.reportDate(fund, asOf);
    const scope = memberScope(principal) ?? null;
    return readOnly(db, (trx) => this.exposureOf(trx, fund, date, scope));
  }

  /**
   * The loan book and portfolio at risk of the whole fund as of `date`, read in the caller's
   * snapshot with its other figures: the fund overview (docs/adr/0026-fund-overview.md) shows the
   * reports' own totals, not a copy of their rules. The caller has checked `date`.
   */
  async portfolioIn(
    trx: Trx,
    fund: Fund,
    date: string,
  ): Promise<{ loanBook: LoanBookView; portfolioAtRisk: PortfolioAtRiskView }> {
    return this.bookViews(trx, fund, date, null);
  }

  /**
   * Portfolio at risk of the whole fund as of `date`, in the caller's snapshot, from the loan book's
   * reading alone: the guarantees and collateral the loan book lists do not enter PAR, so they are
   * not read (the overview's month-end series reads one of these per month).
   */
  async portfolioAtRiskIn(trx: Trx, fund: Fund, date: string): Promise<PortfolioAtRiskView> {
    const { policy } = await this.deps.funds.policyInForce(trx, fund, date);
    const rows = await repo.loanBook(trx, fund.id, date, null, LOAN_BOOK_LOANS_MAX + 1);
    assertBookSize(rows.length, date);
    const rules = { defaultAfterDaysOverdue: policy.defaultAfterDaysOverdue, ...policy.classification };
    return parView(
      fund,
      date,
      null,
      rows.map((row) => figuresOfRow(row, rules)),
    );
  }

  /** The exposure report of the whole fund as of `date`, in the caller's snapshot (the overview). */
  async exposureIn(trx: Trx, fund: Fund, date: string): Promise<ExposureView> {
    return this.exposureOf(trx, fund, date, null);
  }

  /**
   * What the loan book's borrowers have still to pay on instalments falling due after `date` and
   * within each horizon (cumulative: 90 days includes the first 30), as of the end of `date`: the
   * schedule in force that day less what repayments received by then paid of each instalment
   * (the loan book's own as-of reading, reports.repo.ts), per lender. In the caller's snapshot.
   */
  async repaymentsDueIn(trx: Trx, fund: Fund, date: string, horizonsDays: readonly number[]): Promise<RepaymentsDue[]> {
    const rows = await repo.instalmentsDue(trx, fund.id, date, horizonsDays, LOAN_BOOK_LOANS_MAX + 1);
    return horizonsDays.map((days) => {
      const byLender = LENDERS.map((lender) => {
        const row = rows.find((r) => r.days === days && r.lender === lender);
        return {
          lender,
          instalments: row?.instalments ?? 0,
          loans: row?.loans ?? 0,
          principal: new Money(row?.principal ?? 0),
          interest: new Money(row?.interest ?? 0),
        };
      });
      return {
        days,
        dueAfter: date,
        dueBy: addDays(date, days),
        instalments: byLender.reduce((n, row) => n + row.instalments, 0),
        loans: byLender.reduce((n, row) => n + row.loans, 0),
        principal: sumAmounts(byLender.map((row) => row.principal)),
        interest: sumAmounts(byLender.map((row) => row.interest)),
        byLender,
      };
    });
  }

  private async bookViews(
    trx: Trx,
    fund: Fund,
    date: string,
    scope: string | null,
  ): Promise<{ loanBook: LoanBookView; portfolioAtRisk: PortfolioAtRiskView }> {
    const { version, policy } = await this.deps.funds.policyInForce(trx, fund, date);
    const lines = await this.bookLines(trx, fund, date, scope, {
      defaultAfterDaysOverdue: policy.defaultAfterDaysOverdue,
      ...policy.classification,
    });
    const totals = bookTotals(lines.map((line) => line.figures));
    // A member's portfolio is what it borrows: lending or guaranteeing a loan is not borrowing it.
    const portfolio = lines
      .map((line) => line.figures)
      .filter((figures) => scope === null || figures.borrowerMemberId === scope);
    return {
      loanBook: {
        fundId: fund.id,
        asOf: date,
        policyVersion: version,
        scope: { memberId: scope },
        loans: lines.map((line) => line.view),
        totals: {
          byClass: totals.byClass.map((row) => ({ classification: row.classification, ...totalsView(row) })),
          all: totalsView(totals.all),
        },
      },
      portfolioAtRisk: parView(fund, date, scope, portfolio),
    };
  }

  private async exposureOf(trx: Trx, fund: Fund, date: string, scope: string | null): Promise<ExposureView> {
    const { version, policy } = await this.deps.funds.policyInForce(trx, fund, date);
    const members = await exposureRepo.membersWithCapital(trx, fund.id, date);
    const loanRows = await exposureRepo.outstandingLoans(trx, fund.id, date, LOAN_BOOK_LOANS_MAX + 1);
    assertBookSize(loanRows.length, date);
    const guaranteeRows = await exposureRepo.standingGuarantees(trx, fund.id, date);
    const collateralRows = await loansRepo.collateralOf(
      trx,
      fund.id,
      loanRows.map((row) => row.id),
    );
    const loans = loanRows.map((row) => ({
      id: row.id,
      lender: row.lender,
      borrowerMemberId: row.borrower_member_id,
      peerLenderMemberId: row.peer_lender_member_id,
      principal: new Money(row.principal),
    }));
    const guarantees = guaranteeRows.map((row) => ({
      guarantorMemberId: row.guarantor_member_id,
      jointGroupId: row.joint_group_id,
      counted: new Money(row.counted),
    }));
    const collateral = collateralRows.map((row) => ({
      loanId: row.loan_id,
      valuation: new Money(row.valuation),
      counted: collateralCounted(row),
    }));
    const poolCapital = sumAmounts(members.map((member) => new Money(member.paid_in)));

    const memberViews: ExposureView['members'] = [];
    for (const member of members) {
      if (scope !== null && member.id !== scope) continue;
      const paidIn = new Money(member.paid_in);
      const figures = figuresOf(new Set([member.id]), loans, guarantees, collateral);
      if (member.status === 'exited' && !hasExposure(figures, paidIn)) continue;
      memberViews.push({
        member: { memberId: member.id, name: member.name, relatedGroup: member.related_group, status: member.status },
        paidInCapital: formatAmount(paidIn),
        ...figuresView(figures, memberLimits(policy, figures, paidIn, poolCapital)),
      });
    }
    const listedGroups = new Set(memberViews.flatMap((view) => view.member.relatedGroup ?? []));
    const groupViews: ExposureView['relatedGroups'] = [...listedGroups].sort().map((group) => {
      const memberIds = members.filter((member) => member.related_group === group).map((member) => member.id);
      const figures = figuresOf(new Set(memberIds), loans, guarantees, collateral);
      return {
        relatedGroup: group,
        memberIds,
        ...figuresView(figures, relatedGroupLimits(policy, figures, poolCapital)),
      };
    });
    const breaches: ExposureView['breaches'] = [
      ...memberViews.flatMap((view) =>
        breachesOf(view.limits, { scope: 'member', memberId: view.member.memberId, relatedGroup: null }),
      ),
      ...groupViews.flatMap((view) =>
        breachesOf(view.limits, { scope: 'related_group', memberId: null, relatedGroup: view.relatedGroup }),
      ),
    ];
    return {
      fundId: fund.id,
      asOf: date,
      policyVersion: version,
      scope: { memberId: scope },
      poolCapital: formatAmount(poolCapital),
      members: memberViews,
      relatedGroups: groupViews,
      breaches,
    };
  }

  /**
   * The classification history of a loan the caller may see (the route checks that), oldest first.
   * Rows are only ever appended, in id order, so a position in that order is a stable cursor.
   */
  async classificationHistory(
    db: Db,
    fund: Fund,
    loan: { id: string; number: number },
    page: { limit: number; cursor: string | undefined },
  ): Promise<ClassificationHistoryView> {
    const rows = await classificationHistory(db, fund.id, loan.id);
    const extensions = (await repo.approvedExtensions(db, fund.id, loan.id)).map((e) => ({
      effectiveOn: e.effective_on,
      observationEndsOn: e.observation_ends_on,
      classificationFloor: e.classification_floor,
    }));
    const after = decodeCursor(page.cursor, historyCursor);
    const start = after === undefined ? 0 : Number(after.position);
    const items = rows.slice(start, start + page.limit).map((row) => {
      const change = {
        changedOn: row.changed_on,
        fromClassification: row.from_classification,
        toClassification: row.to_classification,
        fromStatus: row.from_status,
        toStatus: row.to_status,
        daysPastDue: row.days_past_due,
      };
      return { ...change, reason: historyReason(change, extensions) };
    });
    const end = start + items.length;
    return {
      loanId: loan.id,
      number: loan.number,
      items,
      nextCursor: end < rows.length ? encodeCursor({ position: String(end) }) : null,
    };
  }

  /** The day a report is drawn up for: default today in the fund's time zone; not later, not before the fund. */
  private reportDate(fund: Fund, asOf: string | undefined): string {
    const today = this.deps.funds.today(fund);
    const date = asOf ?? today;
    if (date > today) {
      throw reportError(
        'as_of_in_future',
        `A report as of ${date} would be about a day that has not come; today is ${today} in the fund's time zone.`,
        { asOf: date, today },
      );
    }
    if (date < fund.establishedOn) {
      throw reportError(
        'as_of_before_fund',
        `The fund was established on ${fund.establishedOn}; there is nothing to report as of ${date}.`,
        { asOf: date, establishedOn: fund.establishedOn },
      );
    }
    return date;
  }

  private async bookLines(
    trx: Trx,
    fund: Fund,
    asOf: string,
    scope: string | null,
    rules: ClassificationBands,
  ): Promise<BookLine[]> {
    const rows = await repo.loanBook(trx, fund.id, asOf, scope, LOAN_BOOK_LOANS_MAX + 1);
    assertBookSize(rows.length, asOf);
    const ids = rows.map((row) => row.id);
    // Sequential: a transaction's one connection runs one query at a time.
    const guarantees = groupByLoan(await loansRepo.guaranteesOf(trx, fund.id, ids));
    const collateral = groupByLoan(await loansRepo.collateralOf(trx, fund.id, ids));
    return rows.map((row) => bookLine(row, guarantees.get(row.id) ?? [], collateral.get(row.id) ?? [], rules));
  }
}

function bookLine(
  row: repo.LoanBookRow,
  guarantees: readonly loansRepo.GuaranteeRow[],
  collateral: readonly loansRepo.CollateralRow[],
  rules: ClassificationBands,
): BookLine {
  const principal = new Money(row.principal);
  const owedBy = owedByView(row);
  const interest = new Money(row.interest);
  const { penalty, classification } = figuresOfRow(row, rules);
  const standing = guarantees.filter((g) => STANDING_GUARANTEES.includes(g.status));
  const ofType = (type: loansRepo.GuaranteeType) => {
    const amounts = standing.filter((g) => g.type === type).map((g) => new Money(g.amount));
    return { count: amounts.length, total: sumAmounts(amounts) };
  };
  const joint = ofType('joint_and_several');
  const general = ofType('general');
  const guaranteed = joint.total.plus(general.total);
  const counted = sumAmounts(collateral.map(collateralCounted));
  const view: LoanBookLineView = {
    loanId: row.id,
    number: row.number,
    borrower: { memberId: row.borrower_member_id, name: row.borrower_name },
    lender: { type: row.lender, memberId: row.peer_lender_member_id, name: row.lender_name },
    disbursedOn: row.disbursed_on,
    maturityDate: row.maturity_date,
    amount: formatAmount(new Money(row.amount)),
    principalOutstanding: formatAmount(principal),
    owedBy,
    interestReceivable: formatAmount(interest),
    penaltyReceivable: penalty === null ? null : formatAmount(penalty),
    daysPastDue: row.days_past_due,
    classification,
    status: statusAsOf(row.days_past_due, rules.defaultAfterDaysOverdue, row.last_recorded_status),
    restructured: row.restructured,
    guarantees: {
      count: joint.count + general.count,
      total: formatAmount(guaranteed),
      byType: {
        joint_and_several: { count: joint.count, total: formatAmount(joint.total) },
        general: { count: general.count, total: formatAmount(general.total) },
      },
    },
    collateral: {
      count: collateral.length,
      valuation: formatAmount(sumAmounts(collateral.map((c) => new Money(c.valuation)))),
      counted: formatAmount(counted),
    },
    coverageRatio: ratio(guaranteed.plus(counted), principal),
  };
  return {
    view,
    figures: figuresOfRow(row, rules),
  };
}

/** What the totals and PAR need of a loan of the book: its tier by days past due (at least its floor). */
function figuresOfRow(row: repo.LoanBookRow, rules: ClassificationBands): BookFigures {
  return {
    lender: row.lender,
    borrowerMemberId: row.borrower_member_id,
    principal: new Money(row.principal),
    interest: new Money(row.interest),
    penalty: row.penalty === null ? null : new Money(row.penalty),
    daysPastDue: row.days_past_due,
    classification: worseOf(classByDays(row.days_past_due, rules), row.classification_floor),
  };
}

function parView(
  fund: Fund,
  date: string,
  scope: string | null,
  portfolio: readonly BookFigures[],
): PortfolioAtRiskView {
  return {
    fundId: fund.id,
    asOf: date,
    scope: { memberId: scope },
    portfolios: portfolioAtRisk(portfolio).map((p) => ({
      lender: p.lender,
      loans: p.loans,
      principalOutstanding: formatAmount(p.principal),
      thresholds: p.thresholds.map((t) => ({
        days: t.days,
        atRiskPrincipal: formatAmount(t.atRiskPrincipal),
        atRiskLoans: t.atRiskLoans,
        ratio: t.ratio,
      })),
    })),
  };
}

/**
 * Who owes a loan's principal: the borrower, and the guarantors called for it (ADR 0018). Asserts
 * that the parts add up to the principal outstanding and that the guarantors' principal is within
 * what they owe.
 */
function owedByView(row: repo.LoanBookRow): LoanBookLineView['owedBy'] {
  const borrower = new Money(row.borrower_principal);
  const guarantorsPrincipal = new Money(row.guarantors_principal);
  const guarantors = row.guarantors_owing.map((g) => ({
    memberId: g.member_id,
    name: g.name,
    owed: new Money(g.owed),
  }));
  const guarantorsOwed = sumAmounts(guarantors.map((g) => g.owed));
  assert(
    borrower.plus(guarantorsPrincipal).eq(row.principal),
    `loan ${row.id}: ${row.borrower_principal} + ${row.guarantors_principal} is not its principal ${row.principal}`,
  );
  assert(
    guarantorsPrincipal.gte(0) && guarantorsPrincipal.lte(guarantorsOwed) && guarantors.every((g) => g.owed.gt(0)),
    `loan ${row.id}: guarantors owe ${guarantorsOwed.toFixed()} of which principal ${row.guarantors_principal}`,
  );
  return {
    borrowerPrincipal: formatAmount(borrower),
    guarantorsPrincipal: formatAmount(guarantorsPrincipal),
    guarantorsOwed: formatAmount(guarantorsOwed),
    guarantors: guarantors.map((g) => ({ memberId: g.memberId, name: g.name, owed: formatAmount(g.owed) })),
  };
}

/** 422 when more loans were read than one report may hold (the query reads one more than that). */
function assertBookSize(loans: number, asOf: string): void {
  if (loans <= LOAN_BOOK_LOANS_MAX) return;
  throw reportError(
    'loan_book_too_large',
    `The fund has more than ${LOAN_BOOK_LOANS_MAX} loans outstanding on ${asOf}; one report holds at most ${LOAN_BOOK_LOANS_MAX}.`,
    { asOf, loansMax: LOAN_BOOK_LOANS_MAX },
  );
}

function limitView(check: LimitCheck) {
  return {
    measure: check.measure,
    limit: formatAmount(check.limit),
    actual: formatAmount(check.actual),
    breached: check.breached,
    excess: formatAmount(check.excess),
  };
}

function figuresView(figures: ExposureFigures, limits: readonly LimitCheck[]) {
  return {
    poolLoans: formatAmount(figures.poolLoans),
    peerLoansBorrowed: formatAmount(figures.peerLoansBorrowed),
    peerLoansLent: formatAmount(figures.peerLoansLent),
    bankLoans: formatAmount(figures.bankLoans),
    guaranteesGiven: {
      own: formatAmount(figures.guaranteesOwn),
      jointGroupShare: formatAmount(figures.guaranteesJointShare),
      total: formatAmount(figures.guaranteesOwn.plus(figures.guaranteesJointShare)),
    },
    collateralPledged: {
      valuation: formatAmount(figures.collateralValuation),
      counted: formatAmount(figures.collateralCounted),
    },
    limits: limits.map(limitView),
  };
}

function breachesOf(
  limits: readonly ReturnType<typeof limitView>[],
  where: Pick<ExposureView['breaches'][number], 'scope' | 'memberId' | 'relatedGroup'>,
): ExposureView['breaches'] {
  return limits
    .filter((check) => check.breached)
    .map((check) => ({
      ...where,
      measure: check.measure,
      limit: check.limit,
      actual: check.actual,
      excess: check.excess,
    }));
}

function totalsView(row: Omit<ClassTotals, 'classification'>) {
  return {
    count: row.count,
    principalOutstanding: formatAmount(row.principal),
    interestReceivable: formatAmount(row.interest),
    penaltyReceivable: formatAmount(row.penalty),
  };
}

function groupByLoan<T extends { loan_id: string }>(rows: readonly T[]): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const row of rows) {
    const list = map.get(row.loan_id);
    if (list) list.push(row);
    else map.set(row.loan_id, [row]);
  }
  return map;
}

/** One snapshot for every query of a report; nothing is written. */
function readOnly<T>(db: Knex, work: (trx: Trx) => Promise<T>): Promise<T> {
  return db.transaction(work, { isolationLevel: 'repeatable read', readOnly: true });
}
