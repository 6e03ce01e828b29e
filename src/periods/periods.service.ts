import { createHash } from 'node:crypto';
import { assert } from '../assert';
import type { AuditService } from '../audit/audit.service';
import { canonicalJson } from '../audit/canonical-json';
import type { Actor } from '../auth/principal';
import { addDays, daysInclusive, type Clock } from '../clock';
import type { Db, Trx } from '../db/knex';
import type { Fund, FundService } from '../funds/funds.service';
import type { LedgerService } from '../ledger/ledger.service';
import type { EntryLineInput } from '../ledger/ledger.types';
import { formatAmount, Money, roundHalfUp, sumAmounts, ZERO } from '../money/money';
import { allocate, NoCapitalToAllocate, periodRange, type Share } from './allocation';
import { periodError } from './periods.errors';
import * as repo from './periods.repo';

export interface PeriodServiceDeps {
  ledger: LedgerService;
  audit: AuditService;
  funds: FundService;
  clock: Clock;
}

export interface MemberShare extends Share {
  memberName: string;
  accountId: string;
  /** Capital × days: the exact weight. */
  capitalDays: Money;
  /** Time-weighted average capital (capital-days / N), rounded half-up to the fen: for display only. */
  averageCapital: Money;
}

/**
 * Shares `amount` among the members still holding capital, by their time-weighted capital over
 * [from, to] (one statement for all members). The weight is the numerator capital × days: dividing
 * by the N days of the range would give the average capital, and N cancels in w_i / Σw. A member
 * whose time-weighted capital is negative (a loss took its account below zero) weighs zero: it holds
 * no capital to share further results by.
 */
export async function shareByCapital(
  db: Db,
  fundId: string,
  from: string,
  to: string,
  amount: Money,
): Promise<MemberShare[]> {
  const rows = await repo.capitalDays(db, fundId, from, to);
  const days = daysInclusive(from, to);
  assert(days >= 1, `empty range ${from}..${to}`);
  const byMember = new Map(rows.map((row) => [row.member_id, row]));
  const shares = allocate(
    amount,
    rows.map((row) => ({ memberId: row.member_id, weight: Money.max(new Money(row.capital_days), ZERO) })),
  );
  return shares.map((share) => {
    const row = byMember.get(share.memberId)!;
    const capitalDays = new Money(row.capital_days);
    return {
      ...share,
      memberName: row.member_name,
      accountId: row.account_id,
      capitalDays,
      // Display rounding only (rule R1); the shares were computed from the exact capital-days.
      averageCapital: roundHalfUp(capitalDays.div(days)),
    };
  });
}

/** What the fund earned in the period running on a day, up to that day (PeriodService.incomeToDate). */
export interface IncomeToDate {
  from: string;
  to: string;
  /** The closed period the day falls in; null when it falls in the open period. */
  closedPeriod: string | null;
  accounts: { accountId: string; code: string; name: string; amount: Money }[];
  total: Money;
}

export interface ClosedPeriod {
  period: string;
  startsOn: string;
  endsOn: string;
  netIncome: string;
  settledAtExits: string;
  entryId: string | null;
  allocation: repo.AllocationItem[];
  snapshotSha256: string;
  closedBy: string | null;
  closedAt: Date;
}

export function toClosedPeriod(row: Omit<repo.FundPeriodRow, 'snapshot'>): ClosedPeriod {
  return {
    period: row.period,
    startsOn: row.starts_on,
    endsOn: row.ends_on,
    netIncome: formatAmount(new Money(row.net_income)),
    settledAtExits: formatAmount(new Money(row.settled_at_exits)),
    entryId: row.entry_id,
    allocation: row.allocation,
    snapshotSha256: row.snapshot_sha256.trim(),
    closedBy: row.closed_by,
    closedAt: row.closed_at,
  };
}

export function sha256OfSnapshot(snapshot: unknown): string {
  return createHash('sha256').update(canonicalJson(snapshot), 'utf8').digest('hex');
}

export class PeriodService {
  constructor(readonly deps: PeriodServiceDeps) {}

  /**
   * Closes a period (ADR 0008): in the caller's transaction, locks the fund's row first, checks the
   * period may be closed, shares its net income (less what exits already settled) among the members
   * still holding capital, posts one `period.close` entry dated the period's last day, moves
   * `closed_through`, and stores the close with the trial balance it left and that balance's hash.
   */
  async close(
    trx: Trx,
    fund: Fund,
    period: string,
    actor: Actor,
    requestId: string,
  ): Promise<ClosedPeriod & { snapshot: Record<string, unknown> }> {
    const range = periodRange(period);
    assert(range, `period ${period} passed validation but has no range`);
    const locked = await repo.lockFundRow(trx, fund.id);
    assert(locked, `fund ${fund.id} vanished`);
    await this.checkClosable(trx, fund, locked, range);

    const movements = await repo.profitAndLossMovements(trx, fund.id, range.startsOn, range.endsOn);
    const netIncome = sumAmounts(movements.map((row) => new Money(row.movement)));
    const settled = new Money(await repo.settledAtExits(trx, fund.id, locked.closed_through, range.endsOn));
    const shares = await this.shares(trx, fund.id, range, netIncome.minus(settled));

    const lines = closingLines(movements, shares, settled, await this.surplusAccountId(trx, fund.id));
    let entryId: string | null = null;
    if (lines.length > 0) {
      const posted = await this.deps.ledger.postEntry(trx, {
        fundId: fund.id,
        lines,
        effectiveDate: range.endsOn,
        kind: repo.PERIOD_CLOSE_KIND,
        memo: `Close of ${period}: net income ${formatAmount(netIncome)} shared among the members`,
        actor,
        requestId,
      });
      entryId = posted.entry.id;
    }
    await repo.setClosedThrough(trx, fund.id, range.endsOn);
    // The trial balance as of the period's end, after the close entry: plain JSON, as stored.
    const trial = await this.deps.ledger.trialBalance(trx, fund.id, range.endsOn);
    const snapshot = JSON.parse(JSON.stringify({ fundId: fund.id, currency: fund.currency, ...trial })) as Record<
      string,
      unknown
    >;
    const row = await repo.insertPeriod(trx, {
      fund_id: fund.id,
      period,
      starts_on: range.startsOn,
      ends_on: range.endsOn,
      net_income: formatAmount(netIncome),
      settled_at_exits: formatAmount(settled),
      entry_id: entryId,
      allocation: shares.map((share) => ({
        memberId: share.memberId,
        memberName: share.memberName,
        capitalDays: share.capitalDays.toFixed(),
        weight: formatAmount(share.averageCapital),
        share: formatAmount(share.share),
      })),
      snapshot,
      snapshot_sha256: sha256OfSnapshot(snapshot),
      closed_by: actor.userId,
    });
    return { ...toClosedPeriod(row), snapshot };
  }

  private async checkClosable(
    trx: Trx,
    fund: Fund,
    locked: repo.LockedFundRow,
    range: { period: string; startsOn: string; endsOn: string },
  ): Promise<void> {
    const { period, startsOn, endsOn } = range;
    const existing = await repo.findPeriod(trx, fund.id, period);
    if (existing) {
      throw periodError(
        'period_already_closed',
        `Period ${period} was closed at ${existing.closed_at.toISOString()}.`,
        {
          period,
          closedAt: existing.closed_at.toISOString(),
        },
      );
    }
    const overlapping = await repo.overlappingPeriods(trx, fund.id, startsOn, endsOn);
    if (overlapping.length > 0 || (locked.closed_through !== null && startsOn <= locked.closed_through)) {
      throw periodError(
        'period_overlaps',
        `Period ${period} (${startsOn} to ${endsOn}) overlaps the closed periods, which run through ${locked.closed_through}.`,
        { period, closedThrough: locked.closed_through, overlapping: overlapping.map((row) => row.period) },
      );
    }
    const today = this.deps.funds.today(fund);
    // Ended at least one full day ago: entries dated today skip the fund lock (see the trigger), so
    // today must never fall inside a period being closed.
    const latestEnd = addDays(today, -2);
    if (endsOn > latestEnd) {
      throw periodError(
        'period_not_ended',
        `Period ${period} ends on ${endsOn}; it can be closed from ${addDays(endsOn, 2)} (today is ${today}).`,
        { period, endsOn, today, closableFrom: addDays(endsOn, 2) },
      );
    }
    if (locked.closed_through !== null) {
      const expectedStart = addDays(locked.closed_through, 1);
      if (startsOn !== expectedStart) {
        throw periodError(
          'earlier_period_open',
          `The books are closed through ${locked.closed_through}; the next period to close starts on ${expectedStart}, not ${startsOn}.`,
          { period, closedThrough: locked.closed_through, expectedStart },
        );
      }
      return;
    }
    const first = await repo.firstProfitAndLossDate(trx, fund.id);
    if (first !== null && first < startsOn) {
      throw periodError(
        'earlier_period_open',
        `Income or expense is dated ${first}, before ${period} starts (${startsOn}); close the period holding it first.`,
        { period, firstIncomeOrExpenseOn: first },
      );
    }
  }

  private async shares(
    trx: Trx,
    fundId: string,
    range: { startsOn: string; endsOn: string },
    amount: Money,
  ): Promise<MemberShare[]> {
    try {
      return await shareByCapital(trx, fundId, range.startsOn, range.endsOn, amount);
    } catch (error) {
      if (!(error instanceof NoCapitalToAllocate)) throw error;
      throw periodError(
        'no_capital_to_allocate',
        `There is ${formatAmount(amount)} to share and no member held capital between ${range.startsOn} and ${range.endsOn}.`,
        { amount: formatAmount(amount), startsOn: range.startsOn, endsOn: range.endsOn },
      );
    }
  }

  private async surplusAccountId(trx: Trx, fundId: string): Promise<string> {
    const row = (await trx('accounts').where({ fund_id: fundId, code: '3101' }).first('id')) as
      { id: string } | undefined;
    assert(row, `fund ${fundId} has no account 3101`);
    return row.id;
  }

  /**
   * The income of the period running on `asOf`, from its first day to `asOf`, per income account
   * (4001 interest, 4002 fees, 4003 penalty interest, 4004 recoveries, 4005 other) and in total.
   * The period is the closed one holding `asOf` when there is one (a day in the past); otherwise the
   * open period, from the day after the books were last closed before `asOf`, or from the fund's
   * establishment when none was. Close entries are not income and are left out.
   */
  async incomeToDate(db: Db, fund: Fund, asOf: string): Promise<IncomeToDate> {
    const closed = await repo.closedPeriodFrom(db, fund.id, asOf);
    const holding = closed !== undefined && closed.ends_on >= asOf ? closed : undefined;
    const from = holding?.starts_on ?? (closed ? addDays(closed.ends_on, 1) : fund.establishedOn);
    assert(from <= asOf, `income period from ${from} to ${asOf}`);
    const rows = await repo.incomeBetween(db, fund.id, from, asOf);
    const accounts = rows.map((row) => ({
      accountId: row.account_id,
      code: row.code,
      name: row.name,
      amount: new Money(row.amount),
    }));
    return {
      from,
      to: asOf,
      closedPeriod: holding?.period ?? null,
      accounts,
      total: sumAmounts(accounts.map((account) => account.amount)),
    };
  }

  async list(db: Db, fundId: string, page: { afterEndsOn?: string | undefined; limit: number }) {
    return (await repo.listPeriods(db, fundId, page)).map(toClosedPeriod);
  }

  async get(db: Db, fundId: string, period: string): Promise<ClosedPeriod & { snapshot: Record<string, unknown> }> {
    const row = await repo.findPeriod(db, fundId, period);
    if (!row) throw periodError('period_not_found', `Period ${period} has not been closed in this fund.`, { period });
    return { ...toClosedPeriod(row), snapshot: row.snapshot };
  }
}

/**
 * The close entry's lines: each income or expense account's movement reversed (skipping zeros),
 * each member's share into its capital (credit a surplus, debit a loss), and the shares exits
 * already settled cleared from 3101 (they were posted there, opposite the exiting members' capital).
 */
function closingLines(
  movements: readonly repo.MovementRow[],
  shares: readonly MemberShare[],
  settled: Money,
  surplusAccountId: string,
): EntryLineInput[] {
  const lines: EntryLineInput[] = [];
  for (const row of movements) {
    const movement = new Money(row.movement);
    if (movement.isZero()) continue;
    lines.push({ accountId: row.account_id, side: movement.gt(0) ? 'debit' : 'credit', amount: movement.abs() });
  }
  for (const share of shares) {
    if (share.share.isZero()) continue;
    lines.push({
      accountId: share.accountId,
      side: share.share.gt(0) ? 'credit' : 'debit',
      amount: share.share.abs(),
      memo: `Share of the period's result`,
    });
  }
  if (!settled.isZero()) {
    lines.push({
      accountId: surplusAccountId,
      side: settled.gt(0) ? 'credit' : 'debit',
      amount: settled.abs(),
      memo: 'Shares settled at exits during the period',
    });
  }
  return lines;
}
