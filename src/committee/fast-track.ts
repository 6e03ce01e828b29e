import { assert } from '../assert';
import { actorOf, type Principal } from '../auth/principal';
import type { Trx } from '../db/knex';
import type { Fund } from '../funds/funds.service';
import { approveLoan, type ApprovalDeps, type LoanWithApproval } from '../loans/approval';
import { loanError } from '../loans/loans.errors';
import * as loans from '../loans/loans.repo';
import { lockMember } from '../members/members.repo';
import { formatAmount, Money } from '../money/money';
import { committeeError } from './committee.errors';
import * as repo from './committee.repo';
import type { FastTrackView } from './committee.schemas';
import { recusalOf } from './recusal';

/**
 * Fast track for emergencies: an emergency application (emergency = true) of at most
 * `committee.fastTrackAmountMax`, still 'submitted' (not on an agenda), is approved by two
 * people on the same fund day — the chair of the current month (a committee user named by the
 * rotation) and an administrator, in either order. The first call records one approval; the
 * second, on the same day, runs the approval contract with route 'fast_track': the loan is
 * approved (hold placed for a pool loan), marked fast_tracked with ratification 'pending', and
 * put on the next meeting (held today or later) as a ratification item; with no such meeting
 * yet, the next meeting convened picks it up. An approval of an earlier day lapses: it stays on
 * record but does not count. A chair who represents a party to the loan is recused (403).
 */
export class FastTrack {
  constructor(private readonly deps: ApprovalDeps) {}

  async approve(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    loanId: string,
    requestId: string | null,
  ): Promise<FastTrackView> {
    const found = await loans.findLoan(trx, fund.id, loanId);
    if (!found)
      throw loanError('loan_application_not_found', `Loan application ${loanId} does not exist in this fund.`);
    // The order approval takes them in: the borrower's row, then the loan's.
    assert(await lockMember(trx, fund.id, found.borrower_member_id), `borrower of loan ${loanId} vanished`);
    const loan = await loans.lockLoan(trx, fund.id, loanId);
    assert(loan, `loan ${loanId} vanished under its lock`);
    const { policy } = await this.deps.funds.policyInForce(trx, fund);
    const today = this.deps.funds.today(fund);
    assertFastTrackable(loan, policy.committee.fastTrackAmountMax);
    const capacity = await this.capacityOf(trx, fund, principal, loan, today);

    const approvals = await repo.fastTrackApprovals(trx, fund.id, loan.id, today);
    const mine = approvals.find((row) => row.capacity === capacity);
    if (mine) {
      throw committeeError(
        'fast_track_already_approved',
        `The ${capacity === 'chair' ? 'chair' : 'administrator'} approval was already given today (${today}); the other one is needed.`,
        { capacity, userId: mine.user_id },
      );
    }
    const now = this.deps.clock.now();
    const recorded = await repo.insertFastTrackApproval(trx, {
      fund_id: fund.id,
      loan_id: loan.id,
      capacity,
      user_id: principal.userId,
      approved_on: today,
      approved_at: now,
    });
    const both = [...approvals, recorded];
    if (both.length < 2) return this.view(trx, loan as LoanWithApproval, both, null, null, null);

    const approved = await approveLoan(trx, this.deps, {
      fund,
      loanId: loan.id,
      actor: actorOf(principal),
      requestId,
      by: { route: 'fast_track' },
      from: ['submitted'],
    });
    const meetingId = await this.putOnNextMeeting(trx, fund, loan.id, today, now);
    return this.view(trx, approved.loan as LoanWithApproval, both, approved.policyVersion, approved.holdId, meetingId);
  }

  /** 'admin' for an administrator; 'chair' for the month's chair; anybody else is refused. */
  private async capacityOf(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    loan: loans.LoanRow,
    today: string,
  ): Promise<'chair' | 'admin'> {
    if (principal.role === 'admin') return 'admin';
    const month = today.slice(0, 7);
    const rotation = await repo.chairOf(trx, fund.id, month);
    const [member] = await repo.committeeMembers(trx, fund.id, [principal.userId]);
    if (!rotation || rotation.chair_user_id !== principal.userId || !member) {
      throw committeeError(
        'not_chair',
        rotation
          ? `Only the chair of ${month} or an administrator may fast-track an application.`
          : `The rotation names no chair for ${month}: only an administrator's approval can be given.`,
        { month, chairUserId: rotation?.chair_user_id ?? null },
      );
    }
    const recusal = recusalOf(member, await repo.loanParties(trx, fund.id, loan.id));
    if (recusal)
      throw committeeError('recused', recusal.detail, { memberId: member.member_id, reasons: recusal.reasons });
    return 'chair';
  }

  /** A ratification item on the earliest meeting held today or later, if there is one. */
  private async putOnNextMeeting(
    trx: Trx,
    fund: Fund,
    loanId: string,
    today: string,
    now: Date,
  ): Promise<string | null> {
    const meeting = await repo.nextMeeting(trx, fund.id, today);
    if (!meeting) return null;
    assert(await repo.lockMeeting(trx, fund.id, meeting.id), `meeting ${meeting.id} vanished`);
    await repo.insertItems(trx, [
      {
        fund_id: fund.id,
        meeting_id: meeting.id,
        loan_id: loanId,
        position: (await repo.lastPosition(trx, meeting.id)) + 1,
        kind: 'ratification',
        created_at: now,
      },
    ]);
    return meeting.id;
  }

  private async view(
    trx: Trx,
    loan: LoanWithApproval,
    approvals: readonly repo.FastTrackApprovalRow[],
    policyVersion: number | null,
    holdId: string | null,
    meetingId: string | null,
  ): Promise<FastTrackView> {
    const names = await repo.usernames(
      trx,
      approvals.map((row) => row.user_id),
    );
    return {
      loanId: loan.id,
      loanNumber: loan.number,
      state: loan.status === 'approved' ? 'approved' : 'awaiting_second_approval',
      approvals: approvals.map((row) => ({
        capacity: row.capacity,
        userId: row.user_id,
        username: names.get(row.user_id) ?? '',
        approvedAt: row.approved_at.toISOString(),
      })),
      loanStatus: loan.status,
      fastTracked: loan.fast_tracked,
      ratificationStatus: loan.ratification_status,
      policyVersion,
      holdId,
      ratificationMeetingId: meetingId,
    };
  }
}

function assertFastTrackable(loan: loans.LoanRow, max: string): void {
  if (!loan.emergency) {
    throw committeeError('not_emergency', `Application ${loan.number} is not an emergency application.`, {
      loanId: loan.id,
    });
  }
  if (new Money(loan.amount).gt(max)) {
    throw committeeError(
      'fast_track_amount_exceeded',
      `${formatAmount(new Money(loan.amount))} is above the fast-track limit of ${formatAmount(new Money(max))}: the committee decides it at a meeting.`,
      { limit: formatAmount(new Money(max)), actual: formatAmount(new Money(loan.amount)) },
    );
  }
  if (loan.status !== 'submitted') {
    throw committeeError(
      'loan_not_fast_trackable',
      `Application ${loan.number} is ${loan.status}; only a submitted application not yet on an agenda can be fast-tracked.`,
      { loanId: loan.id, applicationStatus: loan.status },
    );
  }
}
