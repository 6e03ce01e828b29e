import type { Knex } from 'knex';
import { z } from 'zod';
import { memberScope } from '../auth/permissions';
import type { Principal } from '../auth/principal';
import type { Clock } from '../clock';
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
  historyReason,
  portfolioAtRisk,
  ratio,
  statusAsOf,
  worseOf,
  type BookFigures,
  type ClassTotals,
} from './delinquency';
import { reportError } from './reports.errors';
import * as repo from './reports.repo';
import type { ClassificationHistoryView, LoanBookLineView, LoanBookView, PortfolioAtRiskView } from './reports.schemas';

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
    return readOnly(db, async (trx) => {
      const { version, policy } = await this.deps.funds.policyInForce(trx, fund, date);
      const lines = await this.bookLines(trx, fund, date, scope, {
        defaultAfterDaysOverdue: policy.defaultAfterDaysOverdue,
        ...policy.classification,
      });
      const totals = bookTotals(lines.map((line) => line.figures));
      return {
        fundId: fund.id,
        asOf: date,
        policyVersion: version,
        scope: { memberId: scope },
        loans: lines.map((line) => line.view),
        totals: {
          byClass: totals.byClass.map((row) => ({ classification: row.classification, ...totalsView(row) })),
          all: totalsView(totals.all),
        },
      };
    });
  }

  async portfolioAtRisk(
    db: Knex,
    fund: Fund,
    principal: Principal,
    asOf: string | undefined,
  ): Promise<PortfolioAtRiskView> {
    const date = this.reportDate(fund, asOf);
    const scope = memberScope(principal) ?? null;
    return readOnly(db, async (trx) => {
      const { policy } = await this.deps.funds.policyInForce(trx, fund, date);
      const lines = await this.bookLines(trx, fund, date, scope, {
        defaultAfterDaysOverdue: policy.defaultAfterDaysOverdue,
        ...policy.classification,
      });
      // A member's portfolio is what it borrows: lending or guaranteeing a loan is not borrowing it.
      const portfolio = lines
        .map((line) => line.figures)
        .filter((figures) => scope === null || figures.borrowerMemberId === scope);
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
    });
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
    if (rows.length > LOAN_BOOK_LOANS_MAX) {
      throw reportError(
        'loan_book_too_large',
        `The fund has more than ${LOAN_BOOK_LOANS_MAX} loans outstanding on ${asOf}; one report holds at most ${LOAN_BOOK_LOANS_MAX}.`,
        { asOf, loansMax: LOAN_BOOK_LOANS_MAX },
      );
    }
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
  const interest = new Money(row.interest);
  const penalty = row.penalty === null ? null : new Money(row.penalty);
  const classification = worseOf(classByDays(row.days_past_due, rules), row.classification_floor);
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
    lender: { type: row.lender, memberId: row.peer_lender_member_id, name: row.peer_lender_name },
    disbursedOn: row.disbursed_on,
    maturityDate: row.maturity_date,
    amount: formatAmount(new Money(row.amount)),
    principalOutstanding: formatAmount(principal),
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
    figures: {
      lender: row.lender,
      borrowerMemberId: row.borrower_member_id,
      principal,
      interest,
      penalty,
      daysPastDue: row.days_past_due,
      classification,
    },
  };
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
