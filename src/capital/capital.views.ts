import type { z } from 'zod';
import { formatAmount, Money, sumAmounts, ZERO } from '../money/money';
import type { AllocationRow, CallItemRow, CallRow, CallSummaryRow, ContributionRow } from './capital.repo';
import type { callItemView, callSummaryView, callView, contributionView } from './capital.schemas';

/** Rows → the JSON the API promises. Amounts leave as 2-decimal strings, instants as ISO strings. */

export type ContributionView = z.infer<typeof contributionView>;
export type CallView = z.infer<typeof callView>;
export type CallItemView = z.infer<typeof callItemView>;
export type CallSummaryView = z.infer<typeof callSummaryView>;
export type CallStatus = CallView['status'];

const iso = (value: Date | string): string => (value instanceof Date ? value : new Date(value)).toISOString();

export function toContributionView(row: ContributionRow, allocations: readonly AllocationRow[]): ContributionView {
  const allocated = sumAmounts(allocations.map((allocation) => new Money(allocation.amount)));
  const unallocated = new Money(row.amount).minus(allocated);
  return {
    id: row.id,
    fundId: row.fund_id,
    memberId: row.member_id,
    amount: formatAmount(new Money(row.amount)),
    receivedOn: row.received_on,
    bankReference: row.bank_reference,
    memo: row.memo,
    entryId: row.entry_id,
    allocations: allocations.map((allocation) => ({
      callId: allocation.call_id,
      callNumber: allocation.call_number,
      amount: formatAmount(new Money(allocation.amount)),
    })),
    unallocated: formatAmount(unallocated),
    reversal:
      row.reversal_entry_id === null
        ? null
        : { entryId: row.reversal_entry_id, reversedOn: row.reversed_on!, reason: row.reversal_reason! },
    createdBy: row.created_by,
    createdAt: iso(row.created_at),
  };
}

/** Contributions with their allocations, grouped from one query's rows. */
export function toContributionViews(
  rows: readonly ContributionRow[],
  allocations: readonly AllocationRow[],
): ContributionView[] {
  const byContribution = new Map<string, AllocationRow[]>();
  for (const allocation of allocations) {
    const list = byContribution.get(allocation.contribution_id) ?? [];
    list.push(allocation);
    byContribution.set(allocation.contribution_id, list);
  }
  return rows.map((row) => toContributionView(row, byContribution.get(row.id) ?? []));
}

/** A call item is overdue when something is still owed after its due date. */
export function isOverdue(outstanding: Money, dueOn: string, today: string): boolean {
  return outstanding.gt(0) && dueOn < today;
}

/** Computed, never stored: settled when nothing is outstanding, overdue when owed past the due date. */
export function callStatus(outstanding: Money, dueOn: string, today: string): CallStatus {
  if (outstanding.lte(0)) return 'settled';
  return isOverdue(outstanding, dueOn, today) ? 'overdue' : 'open';
}

function callFields(row: CallRow) {
  return {
    id: row.id,
    fundId: row.fund_id,
    number: row.number,
    percent: new Money(row.percent).toFixed(),
    calledOn: row.called_on,
    dueOn: row.due_on,
    memo: row.memo,
    createdBy: row.created_by,
    createdAt: iso(row.created_at),
  };
}

export function toCallView(call: CallRow, items: readonly CallItemRow[], today: string): CallView {
  const views = items.map((item): CallItemView => {
    const due = new Money(item.due_amount);
    const paid = new Money(item.paid);
    const outstanding = Money.max(due.minus(paid), ZERO);
    return {
      memberId: item.member_id,
      memberName: item.member_name,
      due: formatAmount(due),
      paid: formatAmount(paid),
      outstanding: formatAmount(outstanding),
      overdue: isOverdue(outstanding, call.due_on, today),
    };
  });
  const total = (pick: (item: CallItemView) => string): Money => sumAmounts(views.map((item) => new Money(pick(item))));
  const outstanding = total((item) => item.outstanding);
  return {
    ...callFields(call),
    status: callStatus(outstanding, call.due_on, today),
    totals: {
      due: formatAmount(total((item) => item.due)),
      paid: formatAmount(total((item) => item.paid)),
      outstanding: formatAmount(outstanding),
    },
    items: views,
  };
}

export function toCallSummaryView(row: CallSummaryRow, today: string): CallSummaryView {
  const outstanding = new Money(row.outstanding_total);
  return {
    ...callFields(row),
    status: callStatus(outstanding, row.due_on, today),
    totals: {
      due: formatAmount(new Money(row.due_total)),
      paid: formatAmount(new Money(row.paid_total)),
      outstanding: formatAmount(outstanding),
    },
    itemCount: row.item_count,
  };
}
