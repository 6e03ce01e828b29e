import { formatAmount, Money } from '../money/money';
import type { LoanStatus } from './loans.repo';
import { componentTotal, type AllocationLine } from './repayments.allocation';
import type * as repo from './repayments.repo';
import type { RepaymentView } from './repayments.schemas';

/** Rows → the JSON the API promises. Amounts leave as 2-decimal strings, instants as ISO strings. */

const iso = (value: Date | string): string => (value instanceof Date ? value : new Date(value)).toISOString();
const fen = (value: string | Money): string => formatAmount(new Money(value));

export function linesOf(rows: readonly repo.AllocationRow[]): AllocationLine[] {
  return rows.map((row) => ({
    component: row.component,
    scheduleVersion: row.schedule_version,
    instalmentNumber: row.instalment_number,
    amount: new Money(row.amount),
    prepayment: row.prepayment,
  }));
}

export function toRepaymentView(
  row: repo.RepaymentRow,
  allocations: readonly repo.AllocationRow[],
  releases: readonly repo.ReleaseRow[],
  adjustments: readonly repo.AccrualAdjustmentRow[],
  loanStatus: LoanStatus,
): RepaymentView {
  const lines = linesOf(allocations.filter((allocation) => allocation.repayment_id === row.id));
  return {
    id: row.id,
    fundId: row.fund_id,
    loanId: row.loan_id,
    number: row.number,
    status: row.reversed_at === null ? 'recorded' : 'reversed',
    amount: fen(row.amount),
    receivedOn: row.received_on,
    reference: row.reference,
    allocated: {
      fee: fen(componentTotal(lines, 'fee')),
      penaltyInterest: fen(componentTotal(lines, 'penalty')),
      interest: fen(componentTotal(lines, 'interest')),
      principal: fen(componentTotal(lines, 'principal')),
    },
    allocations: lines.map((line) => ({
      component: line.component,
      scheduleVersion: line.scheduleVersion,
      instalmentNumber: line.instalmentNumber,
      amount: fen(line.amount),
      prepayment: line.prepayment,
    })),
    guaranteeReleases: releases
      .filter((release) => release.repayment_id === row.id)
      .map((release) => ({
        guaranteeId: release.guarantee_id,
        amount: fen(release.amount),
        releasedTotal: fen(release.released_total),
      })),
    closedLoan: row.closed_loan,
    entryId: row.entry_id,
    guaranteeEntryId: row.guarantee_entry_id,
    recordedBy: row.recorded_by,
    recordedAt: iso(row.recorded_at),
    reversal:
      row.reversed_at === null
        ? null
        : {
            reversedAt: iso(row.reversed_at),
            reversedOn: row.reversed_on!,
            reversedBy: row.reversed_by!,
            reason: row.reversal_reason!,
            entryId: row.reversal_entry_id,
            guaranteeEntryId: row.guarantee_reversal_entry_id,
          },
    accrualAdjustments: adjustments
      .filter((adjustment) => adjustment.repayment_id === row.id)
      .map((adjustment) => ({
        cause: adjustment.cause,
        fromDay: adjustment.from_day,
        throughDay: adjustment.through_day,
        interest: fen(adjustment.interest_difference),
        penaltyInterest: fen(adjustment.penalty_difference),
        entryIds: adjustment.entry_ids,
      })),
    loanStatus: loanStatus as RepaymentView['loanStatus'],
  };
}
