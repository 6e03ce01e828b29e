import { assert } from '../assert';
import type { AuditService } from '../audit/audit.service';
import { memberScope } from '../auth/permissions';
import type { Principal } from '../auth/principal';
import type { Clock } from '../clock';
import type { MotionDecision, MotionHandler, MotionOutcome, MotionParty, MotionSummary } from '../committee/motions';
import type { Db, Trx } from '../db/knex';
import type { Fund, FundService } from '../funds/funds.service';
import type { LedgerService } from '../ledger/ledger.service';
import { formatAmount, Money } from '../money/money';
import { jointGroupError } from './joint-groups.errors';
import { isCurrent } from './joint-groups.loans';
import * as repo from './joint-groups.repo';
import {
  GROUP_MEMBERS_MIN,
  type GroupSummaryView,
  type GroupView,
  type ProposeGroupInput,
} from './joint-groups.schemas';
import { toGroupSummaryView, toGroupView } from './joint-groups.views';

export interface JointGroupServiceDeps {
  ledger: LedgerService;
  audit: AuditService;
  funds: FundService;
  clock: Clock;
}

export interface ListGroupsFilter {
  status?: repo.GroupStatus | undefined;
  memberId?: string | undefined;
  beforeNumber?: number | undefined;
  limit: number;
}

/** A rule a passed motion fails at the decision (the item closes `ineligible`). */
interface GroupFailure {
  rule: 'joint_group_member_active' | 'joint_group_related_members' | 'joint_group_consents';
  detail: string;
  members: { id: string; name: string }[];
}

/**
 * Joint guarantee groups (联保小组, ADR 0016). A member user (for a group its enterprise is in) or
 * an administrator proposes 3–5 active members, no two of one related group, with a limit; each
 * member's users agree or decline (one decision per member; the proposing member agrees by
 * proposing); once all agreed the group goes on a meeting's agenda as a motion, and the
 * committee's decision approves or rejects it — the related-group rule and the members' standing
 * are checked again then. A member leaves an approved group when none of its loans is
 * outstanding; a group left with fewer than three members is dissolved and backs no new loan.
 *
 * Every change runs in the caller's transaction (runCommand, or the committee's decision) under
 * the group's row lock, and leaves an audit row. Member users see only the groups their
 * enterprise is (or was) in; any other is "not found" to them.
 */
export class JointGroupService implements MotionHandler {
  readonly kind = 'joint_group' as const;

  constructor(readonly deps: JointGroupServiceDeps) {}

  async propose(trx: Trx, fund: Fund, principal: Principal, input: ProposeGroupInput): Promise<GroupView> {
    const scope = memberScope(principal);
    if (scope !== undefined && !input.memberIds.includes(scope)) {
      throw jointGroupError(
        'joint_group_proposer_not_member',
        'A member user proposes only a group its own enterprise is in; an administrator may propose any.',
        { memberId: scope },
      );
    }
    // In the order the proposal names them, as every answer lists them.
    const found = await repo.memberFacts(trx, fund.id, input.memberIds);
    const facts = input.memberIds.flatMap((id) => found.filter((f) => f.id === id));
    const unknown = input.memberIds.filter((id) => !facts.some((f) => f.id === id));
    if (unknown.length > 0) {
      throw jointGroupError(
        'joint_group_member_unknown',
        `Member(s) ${unknown.join(', ')} do not exist in this fund.`,
        {
          memberIds: unknown,
        },
      );
    }
    const inactive = facts.filter((f) => f.status !== 'active');
    if (inactive.length > 0) {
      throw jointGroupError(
        'joint_group_member_inactive',
        `${inactive.map((f) => `${f.name} (${f.status})`).join(', ')}: only active members form a joint guarantee group.`,
        { members: inactive.map((f) => ({ id: f.id, name: f.name, status: f.status })) },
      );
    }
    const related = relatedConflicts(facts);
    if (related.length > 0) {
      throw jointGroupError('joint_group_related_members', relatedDetail(related), { conflicts: related });
    }
    const now = this.deps.clock.now();
    const groupId = await repo.insertGroup(trx, {
      fund_id: fund.id,
      number: await repo.nextGroupNumber(trx, fund.id),
      name: input.name,
      limit_amount: formatAmount(new Money(input.limit)),
      proposed_by: principal.userId,
      proposer_member_id: scope ?? null,
      proposed_at: now,
      created_at: now,
      updated_at: now,
    });
    await repo.insertMemberships(
      trx,
      input.memberIds.map((memberId, index) => {
        // The proposing member agrees by proposing: its user named it.
        const own = memberId === scope;
        return {
          fund_id: fund.id,
          group_id: groupId,
          member_id: memberId,
          position: index + 1,
          consent: own ? ('accepted' as const) : ('pending' as const),
          decided_by: own ? principal.userId : null,
          decided_at: own ? now : null,
        };
      }),
    );
    return this.view(trx, fund, (await repo.findGroup(trx, fund.id, groupId))!);
  }

  /** A member's decision on the proposal, by a user bound to it (member or committee role). */
  async consent(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    groupId: string,
    input: { decision: 'accept' | 'decline'; reason?: string | undefined },
  ): Promise<{ view: GroupView; memberId: string }> {
    const group = await this.lockVisible(trx, fund, principal, groupId);
    const memberships = await repo.membershipsOf(trx, fund.id, [group.id]);
    const own = memberships.find((m) => m.member_id === principal.memberId);
    if (!own) {
      throw jointGroupError(
        'joint_group_not_consenter',
        'Only a user bound to a member of the group (member or committee role) may agree to it or decline.',
        { memberIds: memberships.map((m) => m.member_id) },
      );
    }
    assertProposed(group);
    if (own.consent !== 'pending') {
      throw jointGroupError('joint_group_consent_already_decided', `The member has already ${own.consent} the group.`, {
        memberId: own.member_id,
        consent: own.consent,
      });
    }
    const now = this.deps.clock.now();
    await repo.updateMembership(trx, fund.id, group.id, own.member_id, {
      consent: input.decision === 'accept' ? 'accepted' : 'declined',
      decided_by: principal.userId,
      decided_at: now,
      decline_reason: input.decision === 'decline' ? (input.reason ?? null) : null,
    });
    // A decline ends the proposal: the group could only be formed without the member, which is
    // another group, proposed anew.
    const updated =
      input.decision === 'decline'
        ? await repo.updateGroup(trx, fund.id, group.id, { status: 'declined', declined_at: now }, now)
        : await repo.updateGroup(trx, fund.id, group.id, {}, now);
    return { view: await this.view(trx, fund, updated), memberId: own.member_id };
  }

  /** Withdraws a proposal before the committee's decision: by the proposing member's users or an administrator. */
  async withdraw(trx: Trx, fund: Fund, principal: Principal, groupId: string, reason: string): Promise<GroupView> {
    const group = await this.lockVisible(trx, fund, principal, groupId);
    const scope = memberScope(principal);
    if (scope !== undefined && scope !== group.proposer_member_id) {
      throw jointGroupError(
        'joint_group_not_proposer',
        "Only the proposing member's users or an administrator may withdraw the proposal.",
        { proposerMemberId: group.proposer_member_id },
      );
    }
    assertProposed(group);
    const now = this.deps.clock.now();
    const updated = await repo.updateGroup(
      trx,
      fund.id,
      group.id,
      { status: 'withdrawn', withdrawn_at: now, withdrawn_by: principal.userId, withdrawal_reason: reason },
      now,
    );
    return this.view(trx, fund, updated);
  }

  /**
   * A member leaves an approved group, by its users or an administrator, only when none of the
   * group's loans is outstanding (any loan naming the group and not rejected, repaid, withdrawn or
   * cancelled; a written-off loan is outstanding: its guarantors stay liable). Left with fewer than
   * three current members, the group is dissolved the same day.
   */
  async leave(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    groupId: string,
    memberId: string,
  ): Promise<{ view: GroupView; dissolved: boolean }> {
    const group = await this.lockVisible(trx, fund, principal, groupId);
    const scope = memberScope(principal);
    if (scope !== undefined && scope !== memberId) {
      throw jointGroupError(
        'joint_group_not_leaver',
        "Only the leaving member's users or an administrator may do this.",
        {
          memberId,
        },
      );
    }
    const memberships = await repo.membershipsOf(trx, fund.id, [group.id]);
    const leaving = memberships.find((m) => m.member_id === memberId);
    if (!leaving) {
      throw jointGroupError('joint_group_member_not_found', `Member ${memberId} is not in group #${group.number}.`, {
        memberId,
      });
    }
    if (group.status !== 'approved') {
      throw jointGroupError(
        'joint_group_not_approved',
        `Group #${group.number} is ${group.status}; members leave an approved group.`,
        { groupStatus: group.status },
      );
    }
    if (!isCurrent(leaving)) {
      throw jointGroupError('joint_group_member_left', `The member left the group on ${leaving.left_on}.`, {
        memberId,
        leftOn: leaving.left_on,
      });
    }
    const open = await repo.openLoanNumbers(trx, fund.id, group.id);
    if (open.length > 0) {
      throw jointGroupError(
        'joint_group_loans_outstanding',
        `Loan(s) ${open.map((n) => `#${n}`).join(', ')} backed by group #${group.number} are outstanding; a member leaves only when none is.`,
        { loanNumbers: open },
      );
    }
    const today = this.deps.funds.today(fund);
    const now = this.deps.clock.now();
    await repo.updateMembership(trx, fund.id, group.id, memberId, { left_on: today, left_by: principal.userId });
    const remaining = memberships.filter((m) => m.member_id !== memberId && isCurrent(m)).length;
    const dissolved = remaining < GROUP_MEMBERS_MIN;
    const updated = await repo.updateGroup(
      trx,
      fund.id,
      group.id,
      dissolved ? { status: 'dissolved', dissolved_on: today } : {},
      now,
    );
    return { view: await this.view(trx, fund, updated), dissolved };
  }

  async get(db: Db, fund: Fund, principal: Principal, groupId: string): Promise<GroupView> {
    return this.view(db, fund, await this.visible(db, principal, await repo.findGroup(db, fund.id, groupId), groupId));
  }

  async list(db: Db, fund: Fund, principal: Principal, filter: ListGroupsFilter): Promise<GroupSummaryView[]> {
    const rows = await repo.listGroups(db, fund.id, { ...filter, visibleTo: memberScope(principal) });
    const memberships = await repo.membershipsOf(
      db,
      fund.id,
      rows.map((row) => row.id),
    );
    return rows.map((row) => toGroupSummaryView(row, memberships));
  }

  // -------------------------------------------------------------------------------------------
  // The committee's side (motions.ts)

  async lockForAgenda(trx: Trx, fund: Fund, id: string): Promise<MotionSummary> {
    const group = await repo.lockGroup(trx, fund.id, id);
    if (!group) throw notFound(id);
    assertProposed(group);
    const memberships = await repo.membershipsOf(trx, fund.id, [group.id]);
    const waiting = memberships.filter((m) => m.consent !== 'accepted');
    if (waiting.length > 0) {
      throw jointGroupError(
        'joint_group_consents_pending',
        `${waiting.map((m) => m.member_name).join(', ')} ha(s) not agreed to group #${group.number} yet; the committee decides on a group every member agreed to.`,
        { members: waiting.map((m) => ({ id: m.member_id, name: m.member_name, consent: m.consent })) },
      );
    }
    return summaryOf(group, memberships);
  }

  /** Locks the group: a withdrawal waits for the decision, so `decide` finds what this answered. */
  async awaitingDecision(trx: Trx, fund: Fund, id: string): Promise<boolean> {
    const group = await repo.lockGroup(trx, fund.id, id);
    return group?.status === 'proposed';
  }

  /** The group's members, and the members of their related groups (same controller) outside it. */
  async parties(db: Db, fund: Fund, id: string): Promise<MotionParty[]> {
    const memberships = (await repo.membershipsOf(db, fund.id, [id])).filter((m) => m.left_on === null);
    const ids = memberships.map((m) => m.member_id);
    const relatedGroups = memberships.flatMap((m) => (m.related_group === null ? [] : [m.related_group]));
    const related = await repo.relatedMembers(db, fund.id, relatedGroups, ids);
    return [
      ...memberships.map((m) => ({ memberId: m.member_id, memberName: m.member_name, role: 'group_member' as const })),
      ...related.map((m) => ({ memberId: m.id, memberName: m.name, role: 'group_related' as const })),
    ];
  }

  /**
   * The committee's decision, in its transaction. A failed vote rejects the group. A passed one
   * approves it — every member joining on the meeting's day — unless a rule now refuses it: a
   * member no longer active, two members now of one related group, or a consent missing; then the
   * item is ineligible with the failures and the group stays proposed (another meeting may decide
   * it once the cause is gone, or its proposer withdraws it).
   */
  async decide(trx: Trx, fund: Fund, id: string, outcome: MotionOutcome): Promise<MotionDecision> {
    const group = await repo.lockGroup(trx, fund.id, id);
    assert(group && group.status === 'proposed', `joint group ${id} decided while ${group?.status}`);
    const memberships = await repo.membershipsOf(trx, fund.id, [group.id]);
    const now = this.deps.clock.now();
    const decided = { decision_item_id: outcome.itemId, decided_on: outcome.decidedOn };
    if (!outcome.passed) {
      await repo.updateGroup(trx, fund.id, group.id, { status: 'rejected', ...decided }, now);
      await this.audit(trx, fund, group, outcome, 'joint_groups.group.reject', {});
      return { status: 'rejected' };
    }
    const failures = decisionFailures(memberships);
    if (failures.length > 0) return { status: 'ineligible', failures: failures.map((f) => ({ ...f })) };
    await repo.updateGroup(trx, fund.id, group.id, { status: 'approved', ...decided }, now);
    const joined = await repo.joinAll(trx, fund.id, group.id, outcome.decidedOn);
    assert(joined === memberships.length, `group ${group.id}: ${joined} of ${memberships.length} members joined`);
    await this.audit(trx, fund, group, outcome, 'joint_groups.group.approve', {
      memberIds: memberships.map((m) => m.member_id),
      joinedOn: outcome.decidedOn,
    });
    return { status: 'approved' };
  }

  async summaries(db: Db, fund: Fund, ids: readonly string[]): Promise<MotionSummary[]> {
    const groups = await repo.groupsByIds(db, fund.id, ids);
    const memberships = await repo.membershipsOf(
      db,
      fund.id,
      groups.map((g) => g.id),
    );
    return groups.map((group) => summaryOf(group, memberships));
  }

  // -------------------------------------------------------------------------------------------

  private async audit(
    trx: Trx,
    fund: Fund,
    group: repo.GroupRow,
    outcome: MotionOutcome,
    action: string,
    payload: Record<string, unknown>,
  ): Promise<void> {
    await this.deps.audit.record(trx, {
      fundId: fund.id,
      actor: outcome.actor,
      action,
      targetType: 'joint_guarantee_group',
      targetId: group.id,
      payload: { ...payload, itemId: outcome.itemId, resolution: outcome.resolution, decidedOn: outcome.decidedOn },
      requestId: outcome.requestId,
    });
  }

  private async view(db: Db, fund: Fund, group: repo.GroupRow): Promise<GroupView> {
    // Sequential: `db` may be a transaction, whose one connection runs one query at a time.
    const memberships = await repo.membershipsOf(db, fund.id, [group.id]);
    const loans = await repo.groupLoans(db, fund.id, group.id);
    const used = await repo.limitUsed(db, fund.id, group.id, null);
    return toGroupView(group, memberships, loans, used);
  }

  private async lockVisible(trx: Trx, fund: Fund, principal: Principal, groupId: string): Promise<repo.GroupRow> {
    return this.visible(trx, principal, await repo.lockGroup(trx, fund.id, groupId), groupId);
  }

  /** Member users see only groups their enterprise is or was in; others look missing. */
  private async visible(
    db: Db,
    principal: Principal,
    group: repo.GroupRow | undefined,
    groupId: string,
  ): Promise<repo.GroupRow> {
    const scope = memberScope(principal);
    if (group && scope === undefined) return group;
    if (group && (await repo.membershipsOf(db, group.fund_id, [group.id])).some((m) => m.member_id === scope)) {
      return group;
    }
    throw notFound(groupId);
  }
}

function notFound(groupId: string) {
  return jointGroupError('joint_group_not_found', `Joint guarantee group ${groupId} does not exist in this fund.`, {
    jointGroupId: groupId,
  });
}

function assertProposed(group: repo.GroupRow): void {
  if (group.status !== 'proposed') {
    throw jointGroupError(
      'joint_group_not_proposed',
      `Group #${group.number} is ${group.status}; only a proposal waiting for its decision can change.`,
      { groupStatus: group.status },
    );
  }
}

interface RelatedConflict {
  relatedGroup: string;
  members: { id: string; name: string }[];
}

/** The related groups (same controller) with two or more of the members, each with those members. */
function relatedConflicts(
  members: readonly { id: string; name: string; related_group: string | null }[],
): RelatedConflict[] {
  const byGroup = new Map<string, { id: string; name: string }[]>();
  for (const member of members) {
    if (member.related_group === null) continue;
    byGroup.set(member.related_group, [
      ...(byGroup.get(member.related_group) ?? []),
      { id: member.id, name: member.name },
    ]);
  }
  return [...byGroup.entries()]
    .filter(([, list]) => list.length > 1)
    .map(([relatedGroup, list]) => ({ relatedGroup, members: list }));
}

function relatedDetail(conflicts: readonly RelatedConflict[]): string {
  const parts = conflicts.map(
    (c) => `${c.members.map((m) => m.name).join(' and ')} are of one related group (${JSON.stringify(c.relatedGroup)})`,
  );
  return `${parts.join('; ')}: members of one related group cannot form a joint guarantee group together.`;
}

function decisionFailures(memberships: readonly repo.MembershipRow[]): GroupFailure[] {
  const failures: GroupFailure[] = [];
  const inactive = memberships.filter((m) => m.member_status !== 'active');
  if (inactive.length > 0) {
    failures.push({
      rule: 'joint_group_member_active',
      detail: `${inactive.map((m) => `${m.member_name} (${m.member_status})`).join(', ')}: every member of a group must be active.`,
      members: inactive.map((m) => ({ id: m.member_id, name: m.member_name })),
    });
  }
  const related = relatedConflicts(
    memberships.map((m) => ({ id: m.member_id, name: m.member_name, related_group: m.related_group })),
  );
  if (related.length > 0) {
    failures.push({
      rule: 'joint_group_related_members',
      detail: relatedDetail(related),
      members: related.flatMap((c) => c.members),
    });
  }
  const waiting = memberships.filter((m) => m.consent !== 'accepted');
  if (waiting.length > 0) {
    failures.push({
      rule: 'joint_group_consents',
      detail: `${waiting.map((m) => m.member_name).join(', ')} ha(s) not agreed to the group.`,
      members: waiting.map((m) => ({ id: m.member_id, name: m.member_name })),
    });
  }
  return failures;
}

function summaryOf(group: repo.GroupRow, memberships: readonly repo.MembershipRow[]): MotionSummary {
  const members = memberships.filter((m) => m.group_id === group.id);
  const limit = formatAmount(new Money(group.limit_amount));
  return {
    id: group.id,
    kind: 'joint_group',
    title: `Joint guarantee group #${group.number} ${group.name}: ${members.map((m) => m.member_name).join(', ')}; limit ${limit}`,
    loanId: null,
    amount: limit,
    details: {
      number: group.number,
      name: group.name,
      limit,
      status: group.status,
      members: members.map((m) => ({ id: m.member_id, name: m.member_name, consent: m.consent })),
    },
    clauses: [],
  };
}
