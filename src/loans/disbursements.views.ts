import { assert } from '../assert';
import { bankFieldOf } from './bank-loans.terms';
import { circleOf } from '../guarantees/guarantees.schemas';
import { formatAmount, Money, sumAmounts, ZERO } from '../money/money';
import type { Classification } from './daily-job.repo';
import type * as repo from './disbursements.repo';
import type { DisbursementView, LoanSummaryView, LoanView, ScheduleView } from './disbursements.schemas';
import type { CollateralRow, GuaranteeRow, LoanStatus } from './loans.repo';
import { jointGroupOf } from '../guarantees/joint-groups.views';
import { approvalFieldsOf, collateralCounted } from './loans.views';

/** Rows → the JSON the API promises. Amounts leave as 2-decimal strings, instants as ISO strings. */

const iso = (value: Date | string): string => (value instanceof Date ? value : new Date(value)).toISOString();
const isoOrNull = (value: Date | string | null): string | null => (value === null ? null : iso(value));
const fen = (value: string | Money): string => formatAmount(new Money(value));

type LoanState = LoanSummaryView['status'];

export function toDisbursementView(row: repo.DisbursementRequestRow, loanStatus: LoanStatus): DisbursementView {
  return {
    id: row.id,
    fundId: row.fund_id,
    loanId: row.loan_id,
    status: row.status,
    amount: fen(row.amount),
    disbursedOn: row.disbursed_on,
    bankReference: row.bank_reference,
    requiresConfirmation: row.requires_confirmation,
    requestedBy: row.requested_by,
    requestedAt: iso(row.requested_at),
    confirmedBy: row.confirmed_by,
    confirmedAt: isoOrNull(row.confirmed_at),
    cancelledAt: isoOrNull(row.cancelled_at),
    cancellationReason: row.cancellation_reason,
    entryId: row.entry_id,
    loanStatus: loanStatus as LoanState,
  };
}

/** Columns the daily job's and the repayments' migrations add to loans; not in ServicedLoanRow. */
interface ServicingColumns {
  classification: Classification | null;
  days_past_due: number | null;
  repaid_on: string | null;
}

/** The servicing columns of a loan read whole (`SELECT l.*`); the assertion catches a read that is not. */
function servicingColumnsOf(loan: repo.ServicedLoanRow): ServicingColumns {
  const row = loan as repo.ServicedLoanRow & Partial<ServicingColumns>;
  assert(
    row.classification !== undefined && row.days_past_due !== undefined && row.repaid_on !== undefined,
    `loan ${loan.id} was read without its servicing columns`,
  );
  return { classification: row.classification, days_past_due: row.days_past_due, repaid_on: row.repaid_on };
}

export function toLoanSummaryView(loan: repo.LoanWithFigures): LoanSummaryView {
  const servicing = servicingColumnsOf(loan);
  return {
    id: loan.id,
    fundId: loan.fund_id,
    number: loan.number,
    status: loan.status as LoanState,
    borrowerMemberId: loan.borrower_member_id,
    lender: { type: loan.lender, memberId: loan.peer_lender_member_id, ...bankFieldOf(loan) },
    amount: fen(loan.amount),
    termDays: loan.term_days,
    repaymentMethod: loan.repayment_method,
    emergency: loan.emergency,
    restructured: loan.restructured,
    ...approvalFieldsOf(loan),
    policyVersion: loan.policy_version!,
    disbursedOn: loan.disbursed_on,
    maturityDate: loan.maturity_date,
    repaidOn: servicing.repaid_on,
    classification: servicing.classification,
    daysPastDue: servicing.days_past_due,
    principalOutstanding: fen(loan.principal_outstanding),
    overdue: loan.overdue,
  };
}

export function toLoanView(
  loan: repo.LoanWithFigures,
  related: {
    guarantees: readonly GuaranteeRow[];
    collateral: readonly CollateralRow[];
    holds: readonly repo.LoanHoldRow[];
    requests: readonly repo.DisbursementRequestRow[];
  },
): LoanView {
  return {
    ...toLoanSummaryView(loan),
    purpose: loan.purpose,
    terms:
      loan.disbursed_on === null
        ? null
        : {
            disbursedOn: loan.disbursed_on,
            maturityDate: loan.maturity_date!,
            rateAnnual: new Money(loan.rate_annual!).toFixed(),
            dayCount: loan.day_count!,
            penaltyUpliftPct: new Money(loan.penalty_uplift_pct!).toFixed(),
            serviceFee: fen(loan.service_fee!),
            scheduleVersion: loan.schedule_version!,
          },
    balances: {
      principalOutstanding: fen(loan.principal_outstanding),
      interestReceivable: fen(loan.interest_receivable),
      penaltyInterestReceivable: fen(loan.penalty_receivable),
      feeReceivable: fen(loan.fee_receivable),
    },
    guarantees: related.guarantees.map((g) => ({
      id: g.id,
      memberId: g.guarantor_member_id,
      amount: fen(g.amount),
      type: g.type,
      status: g.status,
      decidedBy: g.decided_by,
      decidedAt: isoOrNull(g.decided_at),
      declineReason: g.decline_reason,
      ...circleOf(g),
      ...jointGroupOf(g),
    })),
    collateral: related.collateral.map((c) => ({
      id: c.id,
      description: c.description,
      kind: c.kind,
      valuation: fen(c.valuation),
      valuedOn: c.valued_on,
      haircutPct: new Money(c.haircut_pct).toFixed(),
      counted: formatAmount(collateralCounted(c)),
    })),
    holds: related.holds.map((hold) => ({
      id: hold.id,
      amount: fen(hold.amount),
      status: hold.status,
      expiresAt: iso(hold.expires_at),
      createdAt: iso(hold.created_at),
      resolvedAt: isoOrNull(hold.resolved_at),
      entryId: hold.entry_id,
    })),
    disbursements: related.requests.map((request) => toDisbursementView(request, loan.status)),
    cancelledAt: isoOrNull(loan.cancelled_at),
    cancellationReason: loan.cancellation_reason,
    createdAt: iso(loan.created_at),
    updatedAt: iso(loan.updated_at),
    version: loan.version,
  };
}

/**
 * Each instalment with what was paid and what is still owed. The interest of a period that has
 * ended is what it accrued (less than scheduled after a prepayment); `interestScheduled` keeps the
 * schedule's figure.
 */
export function toScheduleView(loan: repo.ServicedLoanRow, instalments: readonly repo.ScheduleRow[]): ScheduleView {
  const items = instalments.map((row) => {
    const principal = new Money(row.principal);
    const interest = new Money(row.interest_accrued ?? row.interest);
    const paidPrincipal = new Money(row.principal_paid);
    const paidInterest = new Money(row.interest_paid);
    const outstanding = principal.plus(interest).minus(paidPrincipal).minus(paidInterest);
    return {
      number: row.number,
      periodStart: row.period_start,
      dueOn: row.due_on,
      days: row.days,
      principal: fen(principal),
      interest: fen(interest),
      interestScheduled: fen(row.interest),
      total: fen(principal.plus(interest)),
      paid: {
        principal: fen(paidPrincipal),
        interest: fen(paidInterest),
        total: fen(paidPrincipal.plus(paidInterest)),
      },
      outstanding: {
        principal: fen(principal.minus(paidPrincipal)),
        interest: fen(interest.minus(paidInterest)),
        total: fen(outstanding),
      },
      overdue: row.overdue,
    };
  });
  const sum = (pick: (item: (typeof items)[number]) => string): string =>
    fen(items.length === 0 ? ZERO : sumAmounts(items.map((item) => new Money(pick(item)))));
  return {
    loanId: loan.id,
    scheduleVersion: loan.schedule_version,
    instalments: items,
    totals: {
      principal: sum((item) => item.principal),
      interest: sum((item) => item.interest),
      total: sum((item) => item.total),
      paid: sum((item) => item.paid.total),
      outstanding: sum((item) => item.outstanding.total),
    },
    serviceFee: loan.service_fee === null ? null : fen(loan.service_fee),
  };
}
