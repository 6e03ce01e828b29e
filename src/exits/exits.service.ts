import { assert } from '../assert';
import type { AuditService } from '../audit/audit.service';
import type { Actor } from '../auth/principal';
import { addDays, type Clock } from '../clock';
import type { Db, Trx } from '../db/knex';
import { detailNamingEach } from '../errors';
import type { Fund, FundService } from '../funds/funds.service';
import { liquidityReserve } from '../funds/limits';
import type { FundPolicy } from '../funds/policy';
import type { LedgerService } from '../ledger/ledger.service';
import { lockMember, type MemberRow } from '../members/members.repo';
import { formatAmount, Money, sumAmounts, ZERO } from '../money/money';
import { NoCapitalToAllocate } from '../periods/allocation';
import * as periodsRepo from '../periods/periods.repo';
import { shareByCapital } from '../periods/periods.service';
import { exitError, type ExitErrorCode } from './exits.errors';
import * as repo from './exits.repo';

export interface ExitServiceDeps {
  ledger: LedgerService;
  audit: AuditService;
  funds: FundService;
  clock: Clock;
}

/** Later than any value date: "every exit settled since the last close". */
const END_OF_TIME = '2999-12-31';

// ---------------------------------------------------------------------------------------------
// What may stop an exit.

export interface ExitCheckContext {
  db: Db;
  fund: Fund;
  member: MemberRow;
  exitDate: string;
  policy: FundPolicy;
}

export interface ExitBlocker {
  code: Extract<ExitErrorCode, `exit_${string}`>;
  detail: string;
  extensions: Record<string, unknown>;
}

export type ExitBlockerCheck = (context: ExitCheckContext) => Promise<ExitBlocker | undefined>;

const lockupCheck: ExitBlockerCheck = async ({ member, exitDate, policy }) => {
  const endsOn = addDays(member.joined_on, policy.exitLockupDays);
  if (endsOn <= exitDate) return undefined;
  return {
    code: 'exit_lockup',
    detail: `Member ${member.name} joined on ${member.joined_on}; its capital is locked in for ${policy.exitLockupDays} days, until ${endsOn}. It may exit from ${endsOn}.`,
    extensions: { joinedOn: member.joined_on, lockupDays: policy.exitLockupDays, lockupEndsOn: endsOn },
  };
};

const unpaidCallCheck: ExitBlockerCheck = async ({ db, fund, member }) => {
  const calls = await repo.outstandingCalls(db, fund.id, member.id);
  if (calls.length === 0) return undefined;
  const total = sumAmounts(calls.map((call) => new Money(call.outstanding)));
  return {
    code: 'exit_unpaid_call',
    detail: `Member ${member.name} still owes ${formatAmount(total)} on ${calls.length} capital call(s); it must pay them before it exits.`,
    extensions: {
      outstanding: formatAmount(total),
      calls: calls.map((call) => ({
        callId: call.call_id,
        number: call.number,
        dueOn: call.due_on,
        dueAmount: formatAmount(new Money(call.due_amount)),
        outstanding: formatAmount(new Money(call.outstanding)),
      })),
    },
  };
};

const obligationsCheck: ExitBlockerCheck = async ({ db, fund, member }) => {
  // 7001: guarantees the member has given (memo book); 1301: guarantor calls it has not yet paid.
  const accounts = await repo.nonZeroMemberAccounts(db, fund.id, member.id, ['7001', '1301']);
  if (accounts.length === 0) return undefined;
  return {
    code: 'exit_obligations',
    detail: `Member ${member.name} still has obligations: ${accounts
      .map((account) => `${account.name} ${formatAmount(new Money(account.balance))}`)
      .join('; ')}.`,
    extensions: {
      obligations: accounts.map((account) => ({
        accountId: account.account_id,
        accountCode: account.code,
        kind: account.base_code === '7001' ? 'guarantees_given' : 'guarantor_receivable',
        balance: formatAmount(new Money(account.balance)),
      })),
    },
  };
};

/** A member party to an open loan — borrower, peer lender or guarantor — stays until it closes. */
const openLoansCheck: ExitBlockerCheck = async ({ db, fund, member }) => {
  const involvements = await repo.openLoanInvolvements(db, fund.id, member.id);
  if (involvements.length === 0) return undefined;
  return {
    code: 'exit_open_loans',
    detail: `Member ${member.name} is party to ${involvements.length} loan(s) not closed: ${involvements
      .map((loan) => `loan ${loan.number} (${loan.status}) as ${loan.role.replace('_', ' ')}`)
      .join('; ')}.`,
    extensions: {
      loans: involvements.map((loan) => ({
        loanId: loan.loan_id,
        number: loan.number,
        status: loan.status,
        role: loan.role,
        amount: formatAmount(new Money(loan.amount)),
      })),
    },
  };
};

/**
 * The checks an exit must pass, in the order they are reported. Each returns a blocker or nothing,
 * so that a member with debts to the fund or to other members, or standing surety for them, cannot
 * leave with its capital.
 */
export const EXIT_BLOCKER_CHECKS: ExitBlockerCheck[] = [lockupCheck, unpaidCallCheck, obligationsCheck, openLoansCheck];

/** Every blocker standing in the way of the exit, in check order; empty when it may proceed. */
export async function exitBlockers(
  context: ExitCheckContext,
  checks: readonly ExitBlockerCheck[] = EXIT_BLOCKER_CHECKS,
): Promise<ExitBlocker[]> {
  const blockers: ExitBlocker[] = [];
  for (const check of checks) {
    const blocker = await check(context);
    if (blocker) blockers.push(blocker);
  }
  return blockers;
}

// ---------------------------------------------------------------------------------------------

export interface Liquidity {
  /** Pool cash less held amounts. */
  available: string;
  reservePct: string;
  /** liquidityReservePct % of total member capital (after the exit), rounded half-up to the fen. */
  reserve: string;
  refund: string;
  /** How much more pool cash the payout needs; 0.00 when it can be paid. */
  shortfall: string;
}

export interface MemberExit {
  id: string;
  memberId: string;
  memberName: string;
  requestedOn: string;
  reason: string | null;
  status: repo.ExitStatus;
  periodStart: string | null;
  periodShare: string;
  refundAmount: string;
  settlementEntryId: string | null;
  payableEntryId: string | null;
  payoutEntryId: string | null;
  paidOn: string | null;
  requestedBy: string | null;
  createdAt: Date;
  /** For an exit awaiting liquidity: what the pool has and needs. */
  liquidity: Liquidity | null;
}

function toExit(row: repo.ExitRow, liquidity: Liquidity | null): MemberExit {
  return {
    id: row.id,
    memberId: row.member_id,
    memberName: row.member_name,
    requestedOn: row.requested_on,
    reason: row.reason,
    status: row.status,
    periodStart: row.period_start,
    periodShare: formatAmount(new Money(row.period_share)),
    refundAmount: formatAmount(new Money(row.refund_amount)),
    settlementEntryId: row.settlement_entry_id,
    payableEntryId: row.payable_entry_id,
    payoutEntryId: row.payout_entry_id,
    paidOn: row.paid_on,
    requestedBy: row.requested_by,
    createdAt: row.created_at,
    liquidity,
  };
}

export interface ExitRequest {
  reason: string;
  requestedOn?: string | undefined;
}

interface PostingContext {
  actor: Actor;
  requestId: string;
}

export class ExitService {
  constructor(readonly deps: ExitServiceDeps) {}

  /**
   * A member leaves (ADR 0008), in the caller's transaction: with its row locked, then the fund's,
   * the checks run; its share of the open period's result to the exit date is settled against 3101;
   * its capital becomes a refund payable; and the refund is paid at once if pool cash stays at or
   * above the liquidity reserve, else the exit waits for liquidity.
   */
  async requestExit(
    trx: Trx,
    fund: Fund,
    memberId: string,
    input: ExitRequest,
    context: PostingContext,
  ): Promise<MemberExit> {
    const member = await lockMember(trx, fund.id, memberId);
    if (!member) throw exitError('member_not_found', `Member ${memberId} does not exist in this fund.`);
    const previous = await repo.findExitOfMember(trx, fund.id, member.id);
    if (member.status === 'exited' || previous) {
      throw exitError('member_exited', `Member ${member.name} has already exited.`, {
        memberId: member.id,
        exitId: previous?.id ?? null,
      });
    }
    // After the member: a close, and other exits, wait for this one (their shares depend on it).
    const locked = await periodsRepo.lockFundRow(trx, fund.id);
    assert(locked, `fund ${fund.id} vanished`);
    const today = this.deps.funds.today(fund);
    const exitDate = input.requestedOn ?? today;
    this.checkExitDate(exitDate, today, locked.closed_through);
    // The policy in force today decides: a back-dated exit may predate the fund's first policy.
    const { policy } = await this.deps.funds.policyInForce(trx, fund);
    const blockers = await exitBlockers({ db: trx, fund, member, exitDate, policy });
    if (blockers.length > 0) {
      const [first] = blockers as [ExitBlocker];
      const detail = detailNamingEach(
        `The exit is blocked for ${blockers.length} reasons`,
        blockers.map((blocker) => ({ name: blocker.code, detail: blocker.detail })),
      );
      throw exitError(first.code, detail, {
        ...first.extensions,
        blockers: blockers.map((blocker) => ({ code: blocker.code, detail: blocker.detail })),
      });
    }

    const capital = await this.deps.ledger.ensureSubAccount(trx, fund.id, '3001', { memberId: member.id });
    const settlement = await this.settle(trx, fund, locked, member, capital.id, exitDate, context);
    const refund = new Money(await repo.accountBalance(trx, capital.id));
    if (refund.isNegative()) {
      throw exitError(
        'exit_capital_deficit',
        `Member ${member.name}'s capital is ${formatAmount(refund)} after its share of the period's result: it owes the fund ${formatAmount(refund.neg())} and must pay it in before it exits.`,
        { capital: formatAmount(refund), periodShare: formatAmount(settlement.share) },
      );
    }
    let owedEntryId: string | null = null;
    let payout: { entryId: string | null; paidOn: string } | undefined;
    let liquidity: Liquidity | undefined;
    if (refund.isZero()) {
      // Nothing to give back: the exit is settled the day it is recorded, with no refund entries.
      payout = { entryId: null, paidOn: today };
    } else {
      const payable = await this.deps.ledger.ensureSubAccount(trx, fund.id, '2001', { memberId: member.id });
      const owed = await this.deps.ledger.postEntry(trx, {
        fundId: fund.id,
        lines: [
          { accountId: capital.id, side: 'debit', amount: refund },
          { accountId: payable.id, side: 'credit', amount: refund },
        ],
        effectiveDate: exitDate,
        kind: 'capital.exit',
        memo: `Exit of ${member.name}: capital owed back`,
        ...context,
      });
      owedEntryId = owed.entry.id;
      liquidity = await this.liquidity(trx, fund, refund, true);
      if (new Money(liquidity.shortfall).isZero()) {
        payout = {
          entryId: await this.postPayout(trx, fund, member, payable.id, refund, today, context),
          paidOn: today,
        };
      }
    }
    await repo.markMemberExited(trx, fund.id, member.id, input.reason, this.deps.clock.now());
    const exitId = await repo.insertExit(trx, {
      fund_id: fund.id,
      member_id: member.id,
      requested_on: exitDate,
      reason: input.reason,
      status: payout ? 'paid' : 'awaiting_liquidity',
      period_share: formatAmount(settlement.share),
      period_start: settlement.periodStart,
      refund_amount: formatAmount(refund),
      settlement_entry_id: settlement.entryId,
      payable_entry_id: owedEntryId,
      payout_entry_id: payout?.entryId ?? null,
      paid_on: payout?.paidOn ?? null,
      requested_by: context.actor.userId,
    });
    const row = await repo.findExit(trx, fund.id, exitId);
    assert(row, `exit ${exitId} not found after insert`);
    return toExit(row, liquidity ?? null);
  }

  private checkExitDate(exitDate: string, today: string, closedThrough: string | null): void {
    if (exitDate > today) {
      throw exitError('exit_date_in_future', `An exit is dated today (${today}) or earlier, not ${exitDate}.`, {
        requestedOn: exitDate,
        today,
      });
    }
    if (closedThrough !== null && exitDate <= closedThrough) {
      throw exitError(
        'exit_in_closed_period',
        `The books are closed through ${closedThrough}; date the exit ${addDays(closedThrough, 1)} or later.`,
        { requestedOn: exitDate, closedThrough },
      );
    }
  }

  /**
   * The member's share of the open period's result to the exit date. The open period runs from the
   * day after the last close, or, before any close, from the fund's establishment or its first
   * income or expense if earlier (back-dated books). The amount shared is the net income to date
   * less the shares earlier exits in the open period already took; the weights are those of the
   * members still holding capital, this one included. Posted against 3101, which the close clears.
   */
  private async settle(
    trx: Trx,
    fund: Fund,
    locked: periodsRepo.LockedFundRow,
    member: MemberRow,
    capitalAccountId: string,
    exitDate: string,
    context: PostingContext,
  ): Promise<{ share: Money; periodStart: string | null; entryId: string | null }> {
    let periodStart: string;
    if (locked.closed_through !== null) {
      periodStart = addDays(locked.closed_through, 1);
    } else {
      const first = await periodsRepo.firstProfitAndLossDate(trx, fund.id);
      periodStart = first !== null && first < locked.established_on ? first : locked.established_on;
    }
    if (exitDate < periodStart) return { share: ZERO, periodStart: null, entryId: null };
    const movements = await periodsRepo.profitAndLossMovements(trx, fund.id, periodStart, exitDate);
    const netIncome = sumAmounts(movements.map((row) => new Money(row.movement)));
    const settled = new Money(await periodsRepo.settledAtExits(trx, fund.id, locked.closed_through, END_OF_TIME));
    let share = ZERO;
    try {
      const shares = await shareByCapital(trx, fund.id, periodStart, exitDate, netIncome.minus(settled));
      share = shares.find((entry) => entry.memberId === member.id)?.share ?? ZERO;
    } catch (error) {
      // Nobody holds capital, this member included: it has no share to settle.
      if (!(error instanceof NoCapitalToAllocate)) throw error;
    }
    if (share.isZero()) return { share, periodStart, entryId: null };
    const surplus = await this.accountIdOf(trx, fund.id, '3101');
    const posted = await this.deps.ledger.postEntry(trx, {
      fundId: fund.id,
      lines: share.gt(0)
        ? [
            { accountId: surplus, side: 'debit', amount: share },
            { accountId: capitalAccountId, side: 'credit', amount: share },
          ]
        : [
            { accountId: capitalAccountId, side: 'debit', amount: share.neg() },
            { accountId: surplus, side: 'credit', amount: share.neg() },
          ],
      effectiveDate: exitDate,
      kind: 'capital.exit_settlement',
      memo: `Exit of ${member.name}: share of the result from ${periodStart} to ${exitDate}`,
      ...context,
    });
    return { share, periodStart, entryId: posted.entry.id };
  }

  /**
   * What the pool can pay: available = pool cash − held; reserve = liquidityReservePct % of total
   * member capital, rounded half-up to the fen (rule R1) — the one rounding point here. The refund
   * can be paid when available − refund ≥ reserve.
   */
  private async liquidity(db: Db, fund: Fund, refund: Money, lock: boolean): Promise<Liquidity> {
    const pool = await repo.poolCash(db, fund.id, lock);
    const available = new Money(pool.balance).minus(pool.held);
    const { policy } = await this.deps.funds.policyInForce(db, fund);
    const capital = new Money(await repo.totalMemberCapital(db, fund.id));
    const reserve = liquidityReserve(policy, capital);
    const shortfall = Money.max(reserve.plus(refund).minus(available), ZERO);
    return {
      available: formatAmount(available),
      reservePct: policy.liquidityReservePct,
      reserve: formatAmount(reserve),
      refund: formatAmount(refund),
      shortfall: formatAmount(shortfall),
    };
  }

  private async postPayout(
    trx: Trx,
    fund: Fund,
    member: Pick<MemberRow, 'name'>,
    payableAccountId: string,
    refund: Money,
    today: string,
    context: PostingContext,
  ): Promise<string> {
    const cash = await this.accountIdOf(trx, fund.id, '1001');
    const posted = await this.deps.ledger.postEntry(trx, {
      fundId: fund.id,
      lines: [
        { accountId: payableAccountId, side: 'debit', amount: refund },
        { accountId: cash, side: 'credit', amount: refund },
      ],
      effectiveDate: today,
      kind: 'capital.exit_refund',
      memo: `Exit of ${member.name}: refund paid`,
      ...context,
    });
    return posted.entry.id;
  }

  /** Pays the refund of an exit that waited for liquidity, if the pool can now pay it. */
  async pay(trx: Trx, fund: Fund, exitId: string, context: PostingContext): Promise<MemberExit> {
    const row = await repo.findExit(trx, fund.id, exitId, true);
    if (!row) throw exitError('exit_not_found', `Exit ${exitId} does not exist in this fund.`);
    if (row.status === 'paid') {
      throw exitError('exit_already_paid', `The refund of exit ${exitId} was paid on ${row.paid_on}.`, {
        paidOn: row.paid_on,
        payoutEntryId: row.payout_entry_id,
      });
    }
    const refund = new Money(row.refund_amount);
    const liquidity = await this.liquidity(trx, fund, refund, true);
    if (!new Money(liquidity.shortfall).isZero()) {
      throw exitError(
        'exit_reserve_breach',
        `Paying ${liquidity.refund} would leave pool cash ${liquidity.shortfall} below the liquidity reserve of ${liquidity.reserve} (${liquidity.reservePct} % of member capital).`,
        { ...liquidity },
      );
    }
    const payable = await this.deps.ledger.ensureSubAccount(trx, fund.id, '2001', { memberId: row.member_id });
    const today = this.deps.funds.today(fund);
    const entryId = await this.postPayout(trx, fund, { name: row.member_name }, payable.id, refund, today, context);
    await repo.markPaid(trx, row.id, entryId, today);
    const paid = await repo.findExit(trx, fund.id, row.id);
    assert(paid?.status === 'paid', `exit ${row.id} not paid after payout`);
    return toExit(paid, liquidity);
  }

  async get(db: Db, fund: Fund, exitId: string, memberScope: string | undefined): Promise<MemberExit> {
    const row = await repo.findExit(db, fund.id, exitId);
    if (!row || (memberScope !== undefined && row.member_id !== memberScope)) {
      throw exitError('exit_not_found', `Exit ${exitId} does not exist in this fund.`);
    }
    const liquidity =
      row.status === 'awaiting_liquidity' ? await this.liquidity(db, fund, new Money(row.refund_amount), false) : null;
    return toExit(row, liquidity);
  }

  async list(
    db: Db,
    fund: Fund,
    filter: { memberId?: string | undefined; after?: { requestedOn: string; id: string } | undefined; limit: number },
  ): Promise<MemberExit[]> {
    return (await repo.listExits(db, fund.id, filter)).map((row) => toExit(row, null));
  }

  private async accountIdOf(trx: Trx, fundId: string, code: string): Promise<string> {
    const row = (await trx('accounts').where({ fund_id: fundId, code }).first('id')) as { id: string } | undefined;
    assert(row, `fund ${fundId} has no account ${code}`);
    return row.id;
  }
}
