import { assert } from '../assert';
import type { Db, Trx } from '../db/knex';
import type { LoanRow } from '../loans/loans.repo';
import { formatAmount, Money, ZERO } from '../money/money';
import { jointGroupError } from './joint-groups.errors';
import * as repo from './joint-groups.repo';

/**
 * What loans backed by a joint guarantee group need of the group (ADR 0016): the check when an
 * application names the group, the group's guarantees added when it is submitted, and the two
 * eligibility rules (`joint_group_member`, `joint_group_limit`) run at submission, approval and
 * disbursement.
 */

/** A member of the group now: it joined (the committee approved the group) and has not left. */
export const isCurrent = (membership: Pick<repo.MembershipRow, 'joined_on' | 'left_on'>): boolean =>
  membership.joined_on !== null && membership.left_on === null;

/**
 * An application may name a group its borrower is a current member of, in an approved group; its
 * other guarantors are members outside the group's current members (those guarantee it as members
 * of the group, from submission).
 */
export async function checkLoanGroup(
  db: Db,
  fundId: string,
  groupId: string,
  borrowerId: string,
  guarantorIds: readonly string[],
): Promise<void> {
  const group = await repo.findGroup(db, fundId, groupId);
  if (!group) {
    throw jointGroupError('joint_group_not_usable', `Joint guarantee group ${groupId} does not exist in this fund.`, {
      jointGroupId: groupId,
    });
  }
  if (group.status !== 'approved') {
    throw jointGroupError(
      'joint_group_not_usable',
      `Joint guarantee group #${group.number} is ${group.status}; only an approved group backs loans.`,
      { jointGroupId: groupId, groupStatus: group.status },
    );
  }
  const current = (await repo.membershipsOf(db, fundId, [groupId])).filter(isCurrent);
  if (!current.some((m) => m.member_id === borrowerId)) {
    throw jointGroupError(
      'joint_group_not_usable',
      `The borrower is not a current member of joint guarantee group #${group.number}.`,
      { jointGroupId: groupId, memberId: borrowerId },
    );
  }
  const inGroup = current.filter((m) => guarantorIds.includes(m.member_id));
  if (inGroup.length > 0) {
    throw jointGroupError(
      'guarantor_in_joint_group',
      `${inGroup.map((m) => m.member_name).join(', ')} guarantee(s) the loan as member(s) of joint guarantee group #${group.number} from its submission; do not name them as guarantors too.`,
      { jointGroupId: groupId, members: inGroup.map((m) => ({ id: m.member_id, name: m.member_name })) },
    );
  }
}

/**
 * At submission, under the group's row lock: each other current member of an approved group the
 * borrower is in guarantees the loan, jointly and severally, for its whole amount, accepted by the
 * consent it gave to the group (that decision's user and time). Nothing is added when the group
 * cannot back the loan: rule `joint_group_member` then refuses the submission.
 */
export async function addGroupGuarantees(trx: Trx, loan: LoanRow, now: Date): Promise<string[]> {
  assert(loan.joint_group_id !== null, `loan ${loan.id} names no joint group`);
  const group = await repo.lockGroup(trx, loan.fund_id, loan.joint_group_id);
  assert(group, `joint group ${loan.joint_group_id} of loan ${loan.id} vanished`);
  const current = (await repo.membershipsOf(trx, loan.fund_id, [group.id])).filter(isCurrent);
  if (group.status !== 'approved' || !current.some((m) => m.member_id === loan.borrower_member_id)) return [];
  return repo.insertGroupGuarantees(
    trx,
    current
      .filter((m) => m.member_id !== loan.borrower_member_id)
      .map((m) => {
        assert(m.decided_by !== null && m.decided_at !== null, `member ${m.member_id} joined without a consent`);
        return {
          fund_id: loan.fund_id,
          loan_id: loan.id,
          borrower_member_id: loan.borrower_member_id,
          guarantor_member_id: m.member_id,
          joint_group_id: group.id,
          amount: formatAmount(new Money(loan.amount)),
          decided_by: m.decided_by,
          decided_at: m.decided_at,
          created_at: now,
          updated_at: now,
        };
      }),
  );
}

export interface GroupRuleFailure {
  rule: 'joint_group_member' | 'joint_group_limit';
  limit: string;
  actual: string;
  detail: string;
  memberId?: string;
}

export interface GroupRuleResult {
  failures: GroupRuleFailure[];
  /** The group's limit less what its other loans use, at least 0: what it can cover of this loan. */
  free: Money;
}

/**
 * The group rules of a loan, under the group's row lock (taken after the loan's parties and the
 * loan, as every path that reaches these rules does): approvals and disbursements of one group's
 * loans then read its used limit one after the other, each seeing the other's committed loan.
 * - `joint_group_member`: the group is approved (not dissolved) and the borrower a current member;
 * - `joint_group_limit`: what the group's other loans use (approved, or disbursed and not closed,
 *   at what the group stands behind on them) plus this loan's amount is within the group's limit.
 */
export async function jointGroupRules(db: Db, loan: LoanRow): Promise<GroupRuleResult> {
  assert(loan.joint_group_id !== null, `loan ${loan.id} names no joint group`);
  const locked = await db('joint_guarantee_groups')
    .where({ fund_id: loan.fund_id, id: loan.joint_group_id })
    .forUpdate()
    .first('id');
  assert(locked, `joint group ${loan.joint_group_id} of loan ${loan.id} vanished`);
  const group = (await repo.findGroup(db, loan.fund_id, loan.joint_group_id))!;
  const failures: GroupRuleFailure[] = [];
  const membership = (await repo.membershipsOf(db, loan.fund_id, [group.id])).find(
    (m) => m.member_id === loan.borrower_member_id,
  );
  if (group.status !== 'approved') {
    failures.push({
      rule: 'joint_group_member',
      limit: 'approved',
      actual: group.status,
      detail: `Joint guarantee group #${group.number} is ${group.status}; only an approved group backs loans.`,
    });
  } else if (membership === undefined || !isCurrent(membership)) {
    failures.push({
      rule: 'joint_group_member',
      limit: 'current member',
      actual: membership?.left_on ? `left on ${membership.left_on}` : 'not a member',
      detail: `The borrower is no longer a member of joint guarantee group #${group.number}.`,
      memberId: loan.borrower_member_id,
    });
  }
  const limit = new Money(group.limit_amount);
  const used = new Money(await repo.limitUsed(db, loan.fund_id, group.id, loan.id));
  const total = used.plus(loan.amount);
  if (total.gt(limit)) {
    failures.push({
      rule: 'joint_group_limit',
      limit: formatAmount(limit),
      actual: formatAmount(total),
      detail: `With this loan joint guarantee group #${group.number} would stand behind ${formatAmount(total)} (${formatAmount(used)} on its other loans), above its limit of ${formatAmount(limit)}.`,
    });
  }
  return { failures, free: Money.max(limit.minus(used), ZERO) };
}
