import { formatAmount, Money, ZERO } from '../money/money';
import type { GroupLoanRow, GroupRow, MembershipRow } from './joint-groups.repo';
import type { GroupSummaryView, GroupView } from './joint-groups.schemas';

/** Rows → the JSON the API promises. Amounts leave as 2-decimal strings, instants as ISO strings. */

const iso = (value: Date | string): string => (value instanceof Date ? value : new Date(value)).toISOString();
const isoOrNull = (value: Date | string | null): string | null => (value === null ? null : iso(value));

/** The `jointGroupId` of a guarantee in the loan views: present only on a group's guarantees. */
export function jointGroupOf(row: { joint_group_id?: string | null }): { jointGroupId?: string } {
  return row.joint_group_id ? { jointGroupId: row.joint_group_id } : {};
}

export function toGroupSummaryView(group: GroupRow, memberships: readonly MembershipRow[]): GroupSummaryView {
  return {
    id: group.id,
    fundId: group.fund_id,
    number: group.number,
    name: group.name,
    limit: formatAmount(new Money(group.limit_amount)),
    status: group.status,
    proposedBy: group.proposed_by,
    proposerMemberId: group.proposer_member_id,
    proposedAt: iso(group.proposed_at),
    members: memberships
      .filter((m) => m.group_id === group.id)
      .map((m) => ({
        memberId: m.member_id,
        name: m.member_name,
        position: m.position,
        consent: {
          status: m.consent,
          decidedBy: m.decided_by,
          decidedAt: isoOrNull(m.decided_at),
          reason: m.decline_reason,
        },
        joinedOn: m.joined_on,
        leftOn: m.left_on,
        current: m.joined_on !== null && m.left_on === null,
      })),
    decision:
      group.decision_item_id === null
        ? null
        : { itemId: group.decision_item_id, resolution: group.resolution_number, decidedOn: group.decided_on! },
    declinedAt: isoOrNull(group.declined_at),
    withdrawal:
      group.withdrawn_at === null
        ? null
        : { at: iso(group.withdrawn_at), by: group.withdrawn_by!, reason: group.withdrawal_reason },
    dissolvedOn: group.dissolved_on,
    createdAt: iso(group.created_at),
    updatedAt: iso(group.updated_at),
    version: group.version,
  };
}

export function toGroupView(
  group: GroupRow,
  memberships: readonly MembershipRow[],
  loans: readonly GroupLoanRow[],
  used: string,
): GroupView {
  const limit = new Money(group.limit_amount);
  return {
    ...toGroupSummaryView(group, memberships),
    loans: loans.map((loan) => ({
      id: loan.id,
      number: loan.number,
      borrowerMemberId: loan.borrower_member_id,
      lender: loan.lender,
      status: loan.status,
      amount: formatAmount(new Money(loan.amount)),
      outstanding: formatAmount(new Money(loan.outstanding)),
    })),
    limitUsed: formatAmount(new Money(used)),
    limitFree: formatAmount(Money.max(limit.minus(used), ZERO)),
  };
}
