import { assert } from '../assert';
import type { AuditService } from '../audit/audit.service';
import { actorOf, type Principal } from '../auth/principal';
import type { Clock } from '../clock';
import type { Db, Trx } from '../db/knex';
import type { Fund, FundService } from '../funds/funds.service';
import type { LedgerService } from '../ledger/ledger.service';
import { rejectLoan, setRatification, tryApproveLoan, type LoanWithApproval } from '../loans/approval';
import type { EligibilityFailure } from '../loans/eligibility';
import type { ExtensionFailure, ExtensionService } from '../loans/extensions.service';
import type { ExtensionRow } from '../loans/extensions.repo';
import * as loans from '../loans/loans.repo';
import type { LoanService } from '../loans/loans.service';
import { formatAmount, Money } from '../money/money';
import { extensionError } from '../loans/extensions.errors';
import { committeeError } from './committee.errors';
import * as repo from './committee.repo';
import type {
  CreateMeetingInput,
  ItemView,
  MeetingView,
  RatificationView,
  RecusalView,
  RotationInput,
  RotationView,
  TallyView,
  VoteInput,
  VoteView,
} from './committee.schemas';
import { FastTrack } from './fast-track';
import { MOTION_KINDS, type MotionFailure, type MotionHandlers, type MotionKind, type MotionSummary } from './motions';
import { recusalOf, recusalsOf } from './recusal';
import { count } from './rules';

export interface CommitteeServiceDeps {
  ledger: LedgerService;
  audit: AuditService;
  funds: FundService;
  loans: LoanService;
  extensions: ExtensionService;
  /** The services whose matters go on agendas as motions (motions.ts). */
  motions: MotionHandlers;
  clock: Clock;
}

/**
 * The loan committee: the chair rotation, meetings and their agendas, attendance, votes with
 * automatic recusal, decisions (quorum and pass rules in rules.ts, the approval contract in
 * loans/approval.ts) with resolution numbers, minutes, and fast track (fast-track.ts).
 *
 * Resolution numbers: "<meeting date>-<n>" where n counts from 1 the fund's resolutions recorded
 * under that date (2026-11-03-1, 2026-11-03-2 …); unique per fund (a database constraint).
 * Every decided item but "no quorum" and "withdrawn" gets one: approved, rejected, ineligible
 * (the committee voted to approve but the lending rules refused at approval), ratified and
 * ratification_failed.
 */
export class CommitteeService {
  readonly fastTrack: FastTrack;

  constructor(readonly deps: CommitteeServiceDeps) {
    this.fastTrack = new FastTrack(deps);
  }

  // -------------------------------------------------------------------------------------------
  // Rotation

  async rotation(db: Db, fund: Fund): Promise<RotationView> {
    const rows = await repo.rotation(db, fund.id);
    const names = await repo.usernames(
      db,
      rows.map((row) => row.chair_user_id),
    );
    return {
      months: rows.map((row) => ({
        month: row.month,
        chairUserId: row.chair_user_id,
        chairUsername: names.get(row.chair_user_id) ?? '',
        updatedAt: row.updated_at.toISOString(),
      })),
    };
  }

  async setRotation(trx: Trx, fund: Fund, principal: Principal, input: RotationInput): Promise<RotationView> {
    const months = input.months.map((entry) => entry.month);
    const duplicated = months.find((month, index) => months.indexOf(month) !== index);
    if (duplicated !== undefined) {
      throw committeeError('rotation_month_duplicated', `Month ${duplicated} is named more than once.`, {
        month: duplicated,
      });
    }
    await this.committeeUsers(
      trx,
      fund,
      input.months.map((entry) => entry.chairUserId),
    );
    await repo.upsertRotation(
      trx,
      input.months.map((entry) => ({
        fund_id: fund.id,
        month: entry.month,
        chair_user_id: entry.chairUserId,
        updated_by: principal.userId,
      })),
      this.deps.clock.now(),
    );
    return this.rotation(trx, fund);
  }

  /** The committee members named, or 422 not_committee_member naming those who are not. */
  private async committeeUsers(db: Db, fund: Fund, userIds: readonly string[]): Promise<repo.CommitteeMemberRow[]> {
    const wanted = [...new Set(userIds)];
    const found = await repo.committeeMembers(db, fund.id, wanted);
    const missing = wanted.filter((id) => !found.some((row) => row.user_id === id));
    if (missing.length > 0) {
      throw committeeError(
        'not_committee_member',
        `User(s) ${missing.join(', ')} are not enabled committee users of this fund bound to a member enterprise.`,
        { userIds: missing },
      );
    }
    return found;
  }

  // -------------------------------------------------------------------------------------------
  // Meetings

  async createMeeting(trx: Trx, fund: Fund, principal: Principal, input: CreateMeetingInput): Promise<MeetingView> {
    const chairUserId = await this.chairFor(trx, fund, input.heldOn, input.chairUserId);
    const ids = input.applicationIds;
    const duplicated = ids.find((id, index) => ids.indexOf(id) !== index);
    if (duplicated !== undefined) {
      throw committeeError('agenda_loan_duplicated', `Application ${duplicated} is named more than once.`, {
        loanId: duplicated,
      });
    }
    // Locked in id order: two conveners naming the same applications queue rather than deadlock.
    const applications: loans.LoanRow[] = [];
    for (const id of [...ids].sort()) applications.push(await this.lockReviewable(trx, fund, id));
    const extensions = await this.lockExtensionsForAgenda(trx, fund, input.extensionIds);
    const motions = await this.lockMotionsForAgenda(trx, fund, [
      ...input.jointGroupIds.map((id) => ({ kind: 'joint_group' as const, id })),
      ...input.recoveryActionIds.map((id) => ({ kind: 'recovery_action' as const, id })),
    ]);
    const ratifications = await repo.loansAwaitingRatification(trx, fund.id);
    if (applications.length + extensions.length + motions.length + ratifications.length === 0) {
      throw committeeError(
        'agenda_empty',
        'Name at least one submitted application, extension, joint group or recovery step: no fast-tracked loan is waiting for ratification either.',
      );
    }
    const now = this.deps.clock.now();
    const meeting = await repo.insertMeeting(trx, {
      fund_id: fund.id,
      number: await repo.nextMeetingNumber(trx, fund.id),
      held_on: input.heldOn,
      chair_user_id: chairUserId,
      created_by: principal.userId,
      created_at: now,
    });
    // The agenda: applications, extensions and motions in the order given, ratifications after.
    const ordered = ids.map((id) => applications.find((loan) => loan.id === id)!);
    const beforeMotions = ordered.length + extensions.length;
    const before = beforeMotions + motions.length;
    await repo.insertItems(trx, [
      ...ordered.map((loan, index) => ({
        fund_id: fund.id,
        meeting_id: meeting.id,
        loan_id: loan.id,
        position: index + 1,
        kind: 'application' as const,
        created_at: now,
      })),
      ...extensions.map((extension, index) => ({
        fund_id: fund.id,
        meeting_id: meeting.id,
        loan_id: extension.loan_id,
        extension_id: extension.id,
        position: ordered.length + index + 1,
        kind: 'extension' as const,
        created_at: now,
      })),
      ...motions.map((motion, index) => ({
        fund_id: fund.id,
        meeting_id: meeting.id,
        loan_id: motion.loanId,
        motion_id: motion.id,
        position: beforeMotions + index + 1,
        kind: motion.kind,
        created_at: now,
      })),
      ...ratifications.map((loan, index) => ({
        fund_id: fund.id,
        meeting_id: meeting.id,
        loan_id: loan.id,
        position: before + index + 1,
        kind: 'ratification' as const,
        created_at: now,
      })),
    ]);
    for (const loan of ordered) {
      if (loan.status === 'submitted') await loans.updateLoan(trx, fund.id, loan.id, { status: 'under_review' }, now);
    }
    for (const extension of extensions) await this.deps.extensions.markUnderReview(trx, fund, extension);
    return this.meeting(trx, fund, meeting.id);
  }

  /** Extensions named for an agenda, each in progress and on no open item; locked in id order. */
  private async lockExtensionsForAgenda(trx: Trx, fund: Fund, ids: readonly string[]): Promise<ExtensionRow[]> {
    const duplicated = ids.find((id, index) => ids.indexOf(id) !== index);
    if (duplicated !== undefined) {
      throw extensionError('agenda_extension_duplicated', `Extension ${duplicated} is named more than once.`, {
        extensionId: duplicated,
      });
    }
    const locked: ExtensionRow[] = [];
    for (const id of [...ids].sort()) {
      const extension = await this.deps.extensions.lockForAgenda(trx, fund, id);
      const open = await repo.openItemOfExtension(trx, fund.id, id);
      if (open) {
        throw extensionError('extension_already_on_agenda', `Extension ${id} is already on an open agenda item.`, {
          extensionId: id,
          meetingId: open.meeting_id,
          itemId: open.id,
        });
      }
      locked.push(extension);
    }
    return ids.map((id) => locked.find((extension) => extension.id === id)!);
  }

  /**
   * Motions named for an agenda, each on no open item, locked by their services in (kind, id)
   * order so that two conveners queue rather than deadlock; returned in the order named.
   */
  private async lockMotionsForAgenda(
    trx: Trx,
    fund: Fund,
    named: readonly { kind: MotionKind; id: string }[],
  ): Promise<MotionSummary[]> {
    const keys = named.map((motion) => `${motion.kind} ${motion.id}`);
    const duplicated = named.find((_motion, index) => keys.indexOf(keys[index]!) !== index);
    if (duplicated !== undefined) {
      throw committeeError('agenda_motion_duplicated', `Motion ${duplicated.id} is named more than once.`, {
        kind: duplicated.kind,
        motionId: duplicated.id,
      });
    }
    const sorted = [...named].sort((a, b) => a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id));
    const locked = new Map<string, MotionSummary>();
    for (const { kind, id } of sorted) {
      const summary = await this.deps.motions[kind].lockForAgenda(trx, fund, id);
      assert(summary.id === id && summary.kind === kind, `motion ${kind} ${id} summarised as another`);
      assert((summary.loanId === null) === (kind === 'joint_group'), `motion ${kind} ${id}: loan ${summary.loanId}`);
      const open = await repo.openItemOfMotion(trx, fund.id, kind, id);
      if (open) {
        throw committeeError('motion_already_on_agenda', `Motion ${id} is already on an open agenda item.`, {
          kind,
          motionId: id,
          meetingId: open.meeting_id,
          itemId: open.id,
        });
      }
      locked.set(`${kind} ${id}`, summary);
    }
    return keys.map((key) => locked.get(key)!);
  }

  /** The chair given (a committee member), else the rotation's chair of the meeting's month. */
  private async chairFor(trx: Trx, fund: Fund, heldOn: string, given: string | undefined): Promise<string> {
    if (given !== undefined) {
      await this.committeeUsers(trx, fund, [given]);
      return given;
    }
    const month = heldOn.slice(0, 7);
    const rotation = await repo.chairOf(trx, fund.id, month);
    if (!rotation) {
      throw committeeError(
        'no_chair',
        `The rotation names no chair for ${month}: set it (PUT …/committee/rotation) or name chairUserId.`,
        { month },
      );
    }
    await this.committeeUsers(trx, fund, [rotation.chair_user_id]);
    return rotation.chair_user_id;
  }

  private async lockReviewable(trx: Trx, fund: Fund, loanId: string): Promise<loans.LoanRow> {
    const loan = await loans.lockLoan(trx, fund.id, loanId);
    if (!loan) {
      throw committeeError('agenda_loan_not_found', `Application ${loanId} does not exist in this fund.`, { loanId });
    }
    if (loan.status !== 'submitted' && loan.status !== 'under_review') {
      throw committeeError(
        'loan_not_reviewable',
        `Application ${loan.number} is ${loan.status}; only submitted applications (or ones left undecided) go on an agenda.`,
        { loanId, applicationStatus: loan.status },
      );
    }
    const open = await repo.openItemOf(trx, fund.id, loanId);
    if (open) {
      throw committeeError('loan_already_on_agenda', `Application ${loan.number} is already on an open agenda item.`, {
        loanId,
        meetingId: open.meeting_id,
        itemId: open.id,
      });
    }
    return loan;
  }

  async recordAttendance(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    meetingId: string,
    userIds: readonly string[],
  ): Promise<MeetingView> {
    const meeting = await this.lockMeeting(trx, fund, meetingId);
    const members = await this.committeeUsers(trx, fund, userIds);
    await repo.addAttendance(
      trx,
      members.map((member) => ({
        fund_id: fund.id,
        meeting_id: meeting.id,
        user_id: member.user_id,
        member_id: member.member_id,
        recorded_by: principal.userId,
      })),
      this.deps.clock.now(),
    );
    return this.meeting(trx, fund, meeting.id);
  }

  private async lockMeeting(trx: Trx, fund: Fund, meetingId: string): Promise<repo.MeetingRow> {
    const meeting = await repo.lockMeeting(trx, fund.id, meetingId);
    if (!meeting) throw committeeError('meeting_not_found', `Meeting ${meetingId} does not exist in this fund.`);
    return meeting;
  }

  private async lockOpenItem(trx: Trx, fund: Fund, meetingId: string, itemId: string) {
    const meeting = await repo.findMeeting(trx, fund.id, meetingId);
    if (!meeting) throw committeeError('meeting_not_found', `Meeting ${meetingId} does not exist in this fund.`);
    const item = await repo.lockItem(trx, fund.id, meetingId, itemId);
    if (!item) throw committeeError('agenda_item_not_found', `Item ${itemId} is not on this meeting's agenda.`);
    if (item.status !== 'open') {
      throw committeeError('item_closed', `The item was already decided: ${item.status}.`, {
        itemStatus: item.status,
        resolutionNumber: item.resolution_number,
      });
    }
    return { meeting, item };
  }

  // -------------------------------------------------------------------------------------------
  // Votes

  async vote(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    ids: { meetingId: string; itemId: string },
    input: VoteInput,
  ): Promise<VoteView> {
    const { item } = await this.lockOpenItem(trx, fund, ids.meetingId, ids.itemId);
    const [voter] = await repo.committeeMembers(trx, fund.id, [principal.userId]);
    if (!voter) {
      throw committeeError(
        'not_a_committee_voter',
        'Only an enabled committee user of this fund bound to the member enterprise it represents may vote.',
      );
    }
    const recusal = recusalOf(voter, await this.partiesOf(trx, fund, item));
    if (recusal) {
      throw committeeError('recused', recusal.detail, { memberId: voter.member_id, reasons: recusal.reasons });
    }
    const present = await repo.attendance(trx, item.meeting_id);
    if (!present.some((row) => row.user_id === voter.user_id)) {
      throw committeeError(
        'not_present',
        'You are not recorded as present at this meeting: ask the secretary to record your attendance.',
      );
    }
    const votes = await repo.votesOf(trx, [item.id]);
    const earlier = votes.find((row) => row.user_id === voter.user_id);
    if (earlier) {
      throw committeeError('already_voted', `You voted ${earlier.vote} on this item already.`, {
        voteId: earlier.id,
        vote: earlier.vote,
      });
    }
    const row = await repo.insertVote(trx, {
      fund_id: fund.id,
      item_id: item.id,
      user_id: voter.user_id,
      member_id: voter.member_id,
      vote: input.vote,
      comment: input.comment ?? null,
      cast_at: this.deps.clock.now(),
    });
    return toVoteView(row, voter.username);
  }

  // -------------------------------------------------------------------------------------------
  // Decisions

  /**
   * Closes an item on the votes cast. Application items: no quorum leaves the loan under review
   * for a later meeting; passed → the approval contract, whose eligibility failures are recorded
   * on the item as 'ineligible' (the loan stays under review: the committee may take it up again
   * once, e.g., pool cash is freed, or the applicant withdraws it); failed → rejected. Ratification
   * items set the loan's ratification to ratified or failed; the loan itself is never undone.
   * Motions: the matter's service acts on the outcome (decideMotion). `loanStatus` is the status
   * of the loan the item concerns afterwards, null for a joint group.
   */
  async decide(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    ids: { meetingId: string; itemId: string },
    requestId: string | null,
  ): Promise<{ item: ItemView; loanStatus: string | null }> {
    const { meeting, item } = await this.lockOpenItem(trx, fund, ids.meetingId, ids.itemId);
    if (principal.role !== 'admin' && principal.userId !== meeting.chair_user_id) {
      throw committeeError('not_chair', 'Only the chair of this meeting or an administrator closes an item.', {
        chairUserId: meeting.chair_user_id,
      });
    }
    const now = this.deps.clock.now();
    const close = async (
      status: repo.ItemStatus,
      tally: TallyView | null,
      recusals: RecusalView[],
      failures: (EligibilityFailure | ExtensionFailure | MotionFailure)[] | null = null,
      resolution: string | null = null,
    ) =>
      repo.closeItem(trx, item.id, {
        status,
        resolution_number: resolution,
        tally,
        recusals,
        failures,
        decided_by: principal.userId,
        decided_at: now,
      });

    if (item.motion_id !== null) {
      await this.decideMotion(trx, fund, principal, meeting, item, requestId, close);
      const after = item.loan_id === null ? undefined : await loans.findLoan(trx, fund.id, item.loan_id);
      return { item: await this.itemView(trx, fund, item.id), loanStatus: after?.status ?? null };
    }
    assert(item.loan_id !== null, `item ${item.id} of kind ${item.kind} names no loan`);
    const loan = (await loans.findLoan(trx, fund.id, item.loan_id)) as LoanWithApproval | undefined;
    assert(loan, `loan of item ${item.id} vanished`);
    const { tally, recusals } = await this.tally(trx, fund, item, loan.amount);
    if (item.kind === 'extension') {
      const status = await this.decideExtension(trx, fund, meeting, item, { tally, recusals }, close);
      return { item: await this.itemView(trx, fund, item.id), loanStatus: status ?? loan.status };
    }
    if (item.kind === 'application' && loan.status !== 'under_review') {
      await close('withdrawn', tally, recusals);
      return { item: await this.itemView(trx, fund, item.id), loanStatus: loan.status };
    }
    if (!tally.quorumMet) {
      await close('no_quorum', tally, recusals);
      return { item: await this.itemView(trx, fund, item.id), loanStatus: loan.status };
    }
    const resolution = await repo.nextResolutionNumber(trx, fund.id, meeting.held_on);
    if (item.kind === 'ratification') {
      assert(await loans.lockLoan(trx, fund.id, loan.id), `loan ${loan.id} vanished`);
      await setRatification(
        trx,
        fund.id,
        loan.id,
        { ratification_status: tally.passed ? 'ratified' : 'failed', ratification_item_id: item.id },
        now,
      );
      await close(tally.passed ? 'ratified' : 'ratification_failed', tally, recusals, null, resolution);
      return { item: await this.itemView(trx, fund, item.id), loanStatus: loan.status };
    }
    if (!tally.passed) {
      const rejected = await rejectLoan(trx, this.deps, {
        fund,
        loanId: loan.id,
        reason: `Rejected by the committee, resolution ${resolution} (${tally.approve} for, ${tally.reject} against, ${tally.abstain} abstaining).`,
        itemId: item.id,
        from: ['under_review'],
      });
      await close('rejected', tally, recusals, null, resolution);
      return { item: await this.itemView(trx, fund, item.id), loanStatus: rejected.status };
    }
    const attempt = await tryApproveLoan(trx, this.deps, {
      fund,
      loanId: loan.id,
      actor: actorOf(principal),
      requestId,
      by: { route: 'committee', itemId: item.id },
      from: ['under_review'],
    });
    if (!attempt.approved) {
      await close('ineligible', tally, recusals, attempt.failures, resolution);
      return { item: await this.itemView(trx, fund, item.id), loanStatus: attempt.loan.status };
    }
    await close('approved', tally, recusals, null, resolution);
    return { item: await this.itemView(trx, fund, item.id), loanStatus: attempt.loan.status };
  }

  /**
   * An extension item: withdrawn if the borrower withdrew it; no quorum leaves it under review;
   * failed → rejected; passed → the extension's approval (extensions.service.ts), whose failures
   * (a guarantor's consent missing or declined, the borrower no longer active, the term) are
   * recorded as 'ineligible' and leave it under review. Returns the loan's status when it changed.
   */
  private async decideExtension(
    trx: Trx,
    fund: Fund,
    meeting: repo.MeetingRow,
    item: repo.ItemRow,
    { tally, recusals }: { tally: TallyView; recusals: RecusalView[] },
    close: (
      status: repo.ItemStatus,
      tally: TallyView | null,
      recusals: RecusalView[],
      failures?: ExtensionFailure[] | null,
      resolution?: string | null,
    ) => Promise<repo.ItemRow>,
  ): Promise<string | undefined> {
    assert(item.extension_id !== null, `extension item ${item.id} names no extension`);
    const { extensions } = this.deps;
    const extension = await extensions.findForItem(trx, fund, item.extension_id);
    if (extension.status !== 'under_review') {
      await close('withdrawn', tally, recusals);
      return undefined;
    }
    if (!tally.quorumMet) {
      await close('no_quorum', tally, recusals);
      return undefined;
    }
    const resolution = await repo.nextResolutionNumber(trx, fund.id, meeting.held_on);
    if (!tally.passed) {
      await extensions.reject(
        trx,
        fund,
        extension.id,
        item.id,
        `Rejected by the committee, resolution ${resolution} (${tally.approve} for, ${tally.reject} against, ${tally.abstain} abstaining).`,
      );
      await close('rejected', tally, recusals, null, resolution);
      return undefined;
    }
    const attempt = await extensions.approve(trx, fund, extension.id, item.id);
    if (!attempt.approved) {
      await close('ineligible', tally, recusals, attempt.failures, resolution);
      return undefined;
    }
    await close('approved', tally, recusals, null, resolution);
    return 'active';
  }

  /**
   * A motion: withdrawn when its matter no longer waits for a decision; no quorum leaves it for a
   * later meeting; otherwise the matter's service acts on the outcome under the resolution number
   * (a failed vote must come back rejected), and the item records what it answered.
   */
  private async decideMotion(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    meeting: repo.MeetingRow,
    item: repo.ItemRow,
    requestId: string | null,
    close: (
      status: repo.ItemStatus,
      tally: TallyView | null,
      recusals: RecusalView[],
      failures?: MotionFailure[] | null,
      resolution?: string | null,
    ) => Promise<repo.ItemRow>,
  ): Promise<void> {
    assert(item.motion_id !== null && isMotionKind(item.kind), `item ${item.id} is not a motion`);
    const handler = this.deps.motions[item.kind];
    const [summary] = await handler.summaries(trx, fund, [item.motion_id]);
    assert(summary, `motion ${item.kind} ${item.motion_id} of item ${item.id} vanished`);
    const { tally, recusals } = await this.tally(trx, fund, item, summary.amount);
    if (!(await handler.awaitingDecision(trx, fund, item.motion_id))) {
      await close('withdrawn', tally, recusals);
      return;
    }
    if (!tally.quorumMet) {
      await close('no_quorum', tally, recusals);
      return;
    }
    const resolution = await repo.nextResolutionNumber(trx, fund.id, meeting.held_on);
    const decision = await handler.decide(trx, fund, item.motion_id, {
      itemId: item.id,
      resolution,
      decidedOn: meeting.held_on,
      passed: tally.passed,
      actor: actorOf(principal),
      requestId,
    });
    assert(
      tally.passed ? decision.status !== 'rejected' : decision.status === 'rejected',
      `motion ${item.kind} ${item.motion_id}: ${decision.status} on a vote that ${tally.passed ? 'passed' : 'failed'}`,
    );
    await close(
      decision.status,
      tally,
      recusals,
      decision.status === 'ineligible' ? decision.failures : null,
      resolution,
    );
  }

  /** The parties of an item's matter: the loan's, or those the motion's service names. */
  private async partiesOf(db: Db, fund: Fund, item: repo.ItemRow): Promise<repo.PartyRow[]> {
    if (item.motion_id !== null) {
      assert(isMotionKind(item.kind), `item ${item.id} of kind ${item.kind} names a motion`);
      const parties = await this.deps.motions[item.kind].parties(db, fund, item.motion_id);
      return parties.map((party) => ({ member_id: party.memberId, member_name: party.memberName, role: party.role }));
    }
    assert(item.loan_id !== null, `item ${item.id} of kind ${item.kind} names no loan`);
    return repo.loanParties(db, fund.id, item.loan_id);
  }

  /**
   * The figures an item is decided on, under the policy in force. `amount` is what the large-item
   * threshold compares: the loan's principal, or the motion's figure (none: simple threshold).
   */
  private async tally(
    db: Db,
    fund: Fund,
    item: repo.ItemRow,
    amount: string | null,
  ): Promise<{ tally: TallyView; recusals: RecusalView[] }> {
    const committee = await repo.committeeMembers(db, fund.id);
    const recusals = recusalsOf(committee, await this.partiesOf(db, fund, item));
    const recused = new Set(recusals.map((r) => r.userId));
    const votes = await repo.votesOf(db, [item.id]);
    const voters = new Set(votes.map((v) => v.user_id));
    // Somebody who voted and has since left the committee still counts, in the base too.
    const eligible = new Set([...committee.map((c) => c.user_id).filter((id) => !recused.has(id)), ...voters]);
    const present = (await repo.attendance(db, item.meeting_id)).filter((a) => eligible.has(a.user_id));
    const { version, policy } = await this.deps.funds.policyInForce(db, fund);
    const tallied = (vote: repo.Vote) => votes.filter((v) => v.vote === vote).length;
    const figures = { approve: tallied('approve'), reject: tallied('reject'), abstain: tallied('abstain') };
    const result = count({ eligible: eligible.size, ...figures, amount, committee: policy.committee });
    return {
      recusals,
      tally: {
        committee: committee.length,
        recused: recusals.length,
        eligible: eligible.size,
        present: present.length,
        voting: result.voting,
        ...figures,
        quorumRatio: policy.committee.quorum,
        quorumMet: result.quorumMet,
        largeLoan: result.largeLoan,
        passThreshold: policy.committee.passThreshold,
        largeLoanPassThreshold: result.largeLoan ? policy.committee.largeLoanPassThreshold : null,
        passed: result.passed,
        policyVersion: version,
      },
    };
  }

  // -------------------------------------------------------------------------------------------
  // Reading

  async meeting(db: Db, fund: Fund, meetingId: string): Promise<MeetingView> {
    const meeting = await repo.findMeeting(db, fund.id, meetingId);
    if (!meeting) throw committeeError('meeting_not_found', `Meeting ${meetingId} does not exist in this fund.`);
    const attendance = await repo.attendance(db, meeting.id);
    const items = await repo.itemsOf(db, fund.id, meeting.id);
    const chair = (await repo.committeeMembers(db, fund.id, [meeting.chair_user_id]))[0];
    const names = await repo.usernames(db, [meeting.chair_user_id, ...attendance.map((a) => a.user_id)]);
    const memberNames = await repo.memberNames(
      db,
      fund.id,
      attendance.map((a) => a.member_id),
    );
    return {
      id: meeting.id,
      number: meeting.number,
      heldOn: meeting.held_on,
      chair: {
        userId: meeting.chair_user_id,
        username: names.get(meeting.chair_user_id) ?? '',
        memberId: chair?.member_id ?? null,
        memberName: chair?.member_name ?? null,
      },
      attendance: attendance.map((a) => ({
        userId: a.user_id,
        username: names.get(a.user_id) ?? '',
        memberId: a.member_id,
        memberName: memberNames.get(a.member_id) ?? null,
        recordedAt: a.recorded_at.toISOString(),
      })),
      items: await this.itemViews(db, fund, items),
      createdAt: meeting.created_at.toISOString(),
    };
  }

  async itemView(db: Db, fund: Fund, itemId: string): Promise<ItemView> {
    const row = (await db('committee_items').where({ fund_id: fund.id, id: itemId }).first()) as repo.ItemRow;
    const [view] = await this.itemViews(db, fund, [row]);
    return view!;
  }

  private async itemViews(db: Db, fund: Fund, items: readonly repo.ItemRow[]): Promise<ItemView[]> {
    const votes = await repo.votesOf(
      db,
      items.map((item) => item.id),
    );
    const names = await repo.usernames(
      db,
      votes.map((v) => v.user_id),
    );
    const agenda = await repo.agendaLoans(
      db,
      fund.id,
      items.flatMap((item) => (item.loan_id === null ? [] : [item.loan_id])),
    );
    const committee = items.some((item) => item.status === 'open') ? await repo.committeeMembers(db, fund.id) : [];
    const extensions = await this.deps.extensions.summaries(
      db,
      fund,
      items.flatMap((item) => (item.extension_id === null ? [] : [item.extension_id])),
    );
    const motions = await this.motionSummaries(db, fund, items);
    const views: ItemView[] = [];
    for (const item of items) {
      const loan = item.loan_id === null ? null : agenda.find((row) => row.id === item.loan_id);
      assert(loan !== undefined, `loan of item ${item.id} vanished`);
      const motion = item.motion_id === null ? null : motions.get(`${item.kind} ${item.motion_id}`);
      assert(motion !== undefined, `motion of item ${item.id} vanished`);
      // An open item shows who would be recused now; a decided one what it was decided on.
      const recusals =
        item.status === 'open'
          ? recusalsOf(committee, await this.partiesOf(db, fund, item))
          : ((item.recusals ?? []) as RecusalView[]);
      views.push({
        id: item.id,
        meetingId: item.meeting_id,
        position: item.position,
        kind: item.kind,
        status: item.status,
        resolutionNumber: item.resolution_number,
        extension: extensionSummary(extensions.find((row) => row.id === item.extension_id)),
        motion:
          motion === null
            ? null
            : {
                id: motion.id,
                kind: motion.kind,
                title: motion.title,
                amount: motion.amount === null ? null : formatAmount(new Money(motion.amount)),
                details: motion.details,
                clauses: motion.clauses,
              },
        loan:
          loan === null
            ? null
            : {
                id: loan.id,
                number: loan.number,
                borrowerMemberId: loan.borrower_member_id,
                borrowerName: loan.borrower_name,
                amount: formatAmount(new Money(loan.amount)),
                lender: loan.lender,
                emergency: loan.emergency,
                status: loan.status,
                fastTracked: loan.fast_tracked,
                ratificationStatus: loan.ratification_status as RatificationStatus,
              },
        votes: votes.filter((v) => v.item_id === item.id).map((v) => toVoteView(v, names.get(v.user_id) ?? '')),
        recusals,
        tally: (item.tally ?? null) as TallyView | null,
        failures: (item.failures ?? null) as ItemView['failures'],
        decidedAt: item.decided_at ? item.decided_at.toISOString() : null,
        decidedBy: item.decided_by,
      });
    }
    return views;
  }

  /** The summaries of the items' motions, by "<kind> <id>", one call per kind. */
  private async motionSummaries(
    db: Db,
    fund: Fund,
    items: readonly repo.ItemRow[],
  ): Promise<Map<string, MotionSummary>> {
    const byKey = new Map<string, MotionSummary>();
    for (const kind of MOTION_KINDS) {
      const ids = items.flatMap((item) => (item.kind === kind && item.motion_id !== null ? [item.motion_id] : []));
      if (ids.length === 0) continue;
      for (const summary of await this.deps.motions[kind].summaries(db, fund, ids)) {
        byKey.set(`${kind} ${summary.id}`, summary);
      }
    }
    return byKey;
  }

  async ratifications(
    db: Db,
    fund: Fund,
    filter: { status?: string | undefined; beforeNumber?: number | undefined; limit: number },
  ): Promise<RatificationView[]> {
    const rows = await repo.ratifications(db, fund.id, filter);
    return rows.map((row) => ({
      loanId: row.id,
      loanNumber: row.number,
      borrowerMemberId: row.borrower_member_id,
      amount: formatAmount(new Money(row.amount)),
      loanStatus: row.status,
      approvedAt: row.approved_at.toISOString(),
      ratificationStatus: row.ratification_status,
      meetingId: row.meeting_id,
      itemId: row.ratification_item_id,
      resolutionNumber: row.resolution_number,
    }));
  }

  /**
   * The ratification queue in brief: fast-tracked loans the next meeting must ratify, how many,
   * their amounts, and the ids of the newest `idsMax`.
   */
  async pendingRatifications(
    db: Db,
    fund: Fund,
    idsMax: number,
  ): Promise<{ count: number; amount: Money; loanIds: string[] }> {
    const row = await repo.pendingRatifications(db, fund.id, idsMax);
    return { count: row.count, amount: new Money(row.amount), loanIds: row.loan_ids };
  }

  async listMeetings(
    db: Db,
    fund: Fund,
    page: { before?: { heldOn: string; number: number } | undefined; limit: number },
  ): Promise<repo.MeetingRow[]> {
    return repo.listMeetings(db, fund.id, page);
  }
}

type RatificationStatus = NonNullable<ItemView['loan']>['ratificationStatus'];

function extensionSummary(row: ExtensionRow | undefined): ItemView['extension'] {
  if (!row) return null;
  return {
    id: row.id,
    number: row.number,
    status: row.status,
    maturityDateBefore: row.maturity_date_before,
    requestedMaturityDate: row.requested_maturity_date,
    repaymentMethodBefore: row.repayment_method_before,
    repaymentMethod: row.repayment_method,
    reason: row.reason,
    effectiveOn: row.effective_on,
    scheduleVersionBefore: row.schedule_version_before,
    scheduleVersionAfter: row.schedule_version_after,
  };
}

function toVoteView(row: repo.VoteRow, username: string): VoteView {
  return {
    id: row.id,
    itemId: row.item_id,
    userId: row.user_id,
    username,
    memberId: row.member_id,
    vote: row.vote,
    comment: row.comment,
    castAt: row.cast_at.toISOString(),
  };
}

function isMotionKind(kind: repo.ItemKind): kind is MotionKind {
  return (MOTION_KINDS as readonly string[]).includes(kind);
}
