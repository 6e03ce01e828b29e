import Decimal from 'decimal.js';
import { assert } from '../assert';
import { circleOf } from '../guarantees/guarantees.schemas';
import { jointGroupOf } from '../guarantees/joint-groups.views';
import { formatAmount, Money, sumAmounts, ZERO } from '../money/money';
import type { ApprovalColumns } from './approval';
import { bankFieldOf } from './bank-loans.terms';
import type { CollateralRow, GuaranteeRow, LoanRow } from './loans.repo';
import type { ApplicationView, ApprovalFieldsView } from './loans.schemas';

/** Rows → the JSON the API promises. Amounts leave as 2-decimal strings, instants as ISO strings. */

const iso = (value: Date | string): string => (value instanceof Date ? value : new Date(value)).toISOString();
const isoOrNull = (value: Date | string | null): string | null => (value === null ? null : iso(value));

/**
 * What a collateral item counts for: valuation × (100 − haircut) / 100, rounded DOWN to the fen.
 * Rounding point C1: the one rounding of collateral, towards less cover, so rounding can never make
 * an application pass; the fraction of a fen dropped is not booked anywhere (nothing is posted).
 */
export function collateralCounted(row: Pick<CollateralRow, 'valuation' | 'haircut_pct'>): Money {
  const kept = new Money(100).minus(row.haircut_pct);
  return new Money(row.valuation).times(kept).div(100).toDecimalPlaces(2, Decimal.ROUND_DOWN);
}

/**
 * Cover required for `amount`: coveragePct % of it, rounded UP to the fen (rounding point C2).
 * Cover is a 2-decimal figure, so "cover ≥ the exact requirement" and "cover ≥ the rounded-up
 * requirement" are the same test: the rounding changes no decision.
 */
export function requiredCoverage(amount: string, coveragePct: string): Money {
  return new Money(amount).times(coveragePct).div(100).toDecimalPlaces(2, Decimal.ROUND_UP);
}

export interface Coverage {
  guarantees: Money;
  collateral: Money;
  total: Money;
  proposed: Money;
  required: Money;
  requiredPct: string;
}

/**
 * Accepted and active guarantees plus collateral after haircut, against what the policy requires.
 * A joint guarantee group's guarantees (ADR 0016) are each for the whole loan, jointly and
 * severally: together they cover the loan once — their amount, capped by `groupFree` (what the
 * group's limit leaves for this loan) when the caller knows it — not once per member.
 */
export function coverageOf(
  loan: Pick<LoanRow, 'amount'>,
  guarantees: readonly (Pick<GuaranteeRow, 'amount' | 'status'> & Partial<Pick<GuaranteeRow, 'joint_group_id'>>)[],
  collateral: readonly Pick<CollateralRow, 'valuation' | 'haircut_pct'>[],
  coveragePct: string,
  groupFree?: Money,
): Coverage {
  const standing = guarantees.filter((g) => g.status === 'accepted' || g.status === 'active');
  const own = standing.filter((g) => (g.joint_group_id ?? null) === null).map((g) => new Money(g.amount));
  const group = standing.filter((g) => (g.joint_group_id ?? null) !== null).map((g) => new Money(g.amount));
  const groupCover = group.length === 0 ? ZERO : Money.max(...group);
  const counted = sumAmounts(own).plus(groupFree === undefined ? groupCover : Money.min(groupCover, groupFree));
  const proposed = sumAmounts(guarantees.filter((g) => g.status === 'proposed').map((g) => new Money(g.amount)));
  const collateralTotal = sumAmounts(collateral.map(collateralCounted));
  return {
    guarantees: counted,
    collateral: collateralTotal,
    total: counted.plus(collateralTotal),
    proposed,
    required: requiredCoverage(loan.amount, coveragePct),
    requiredPct: new Money(coveragePct).toFixed(),
  };
}

/**
 * How and when the loan was approved. The committee migration's columns are not in LoanRow, but
 * every loan read selects the whole row; the assertion catches a read that does not.
 */
export function approvalFieldsOf(loan: LoanRow): ApprovalFieldsView {
  const row = loan as LoanRow & Partial<ApprovalColumns>;
  assert(
    typeof row.fast_tracked === 'boolean' && row.approved_at !== undefined && row.ratification_status !== undefined,
    `loan ${loan.id} was read without its approval columns`,
  );
  return {
    policyVersion: loan.policy_version,
    approvedAt: isoOrNull(row.approved_at),
    approvalRoute: row.approval_route ?? null,
    fastTracked: row.fast_tracked,
    ratificationStatus: row.ratification_status,
  };
}

export function toApplicationView(
  loan: LoanRow,
  guarantees: readonly GuaranteeRow[],
  collateral: readonly CollateralRow[],
  coveragePct: string,
): ApplicationView {
  const coverage = coverageOf(loan, guarantees, collateral, coveragePct);
  return {
    id: loan.id,
    fundId: loan.fund_id,
    number: loan.number,
    status: loan.status,
    borrowerMemberId: loan.borrower_member_id,
    lender: {
      type: loan.lender,
      memberId: loan.peer_lender_member_id,
      consent:
        loan.peer_lender_consent === null
          ? null
          : {
              status: loan.peer_lender_consent,
              decidedBy: loan.peer_lender_decided_by,
              decidedAt: isoOrNull(loan.peer_lender_decided_at),
              reason: loan.peer_lender_decline_reason,
            },
      ...bankFieldOf(loan),
    },
    amount: formatAmount(new Money(loan.amount)),
    purpose: loan.purpose,
    termDays: loan.term_days,
    repaymentMethod: loan.repayment_method,
    emergency: loan.emergency,
    wantedOn: loan.wanted_on,
    restructured: loan.restructured,
    jointGroupId: loan.joint_group_id,
    ...approvalFieldsOf(loan),
    guarantees: guarantees.map((g) => ({
      id: g.id,
      memberId: g.guarantor_member_id,
      amount: formatAmount(new Money(g.amount)),
      type: g.type,
      status: g.status,
      decidedBy: g.decided_by,
      decidedAt: isoOrNull(g.decided_at),
      declineReason: g.decline_reason,
      ...circleOf(g),
      ...jointGroupOf(g),
    })),
    collateral: collateral.map((c) => ({
      id: c.id,
      description: c.description,
      kind: c.kind,
      valuation: formatAmount(new Money(c.valuation)),
      valuedOn: c.valued_on,
      haircutPct: new Money(c.haircut_pct).toFixed(),
      counted: formatAmount(collateralCounted(c)),
    })),
    coverage: {
      guarantees: formatAmount(coverage.guarantees),
      collateral: formatAmount(coverage.collateral),
      total: formatAmount(coverage.total),
      proposed: formatAmount(coverage.proposed),
      requiredPct: coverage.requiredPct,
      required: formatAmount(coverage.required),
      sufficient: coverage.total.gte(coverage.required),
    },
    submittedAt: isoOrNull(loan.submitted_at),
    withdrawal:
      loan.withdrawn_at === null
        ? null
        : { at: iso(loan.withdrawn_at), by: loan.withdrawn_by!, reason: loan.withdrawal_reason },
    createdBy: loan.created_by,
    createdAt: iso(loan.created_at),
    updatedAt: iso(loan.updated_at),
    version: loan.version,
  };
}

/** Loans with their guarantees and collateral, grouped from one query each. */
export function toApplicationViews(
  loans: readonly LoanRow[],
  guarantees: readonly GuaranteeRow[],
  collateral: readonly CollateralRow[],
  coveragePct: string,
): ApplicationView[] {
  const byLoan = <T extends { loan_id: string }>(rows: readonly T[]): Map<string, T[]> => {
    const map = new Map<string, T[]>();
    for (const row of rows) map.set(row.loan_id, [...(map.get(row.loan_id) ?? []), row]);
    return map;
  };
  const g = byLoan(guarantees);
  const c = byLoan(collateral);
  return loans.map((loan) => toApplicationView(loan, g.get(loan.id) ?? [], c.get(loan.id) ?? [], coveragePct));
}
