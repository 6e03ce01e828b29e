import { assert } from '../assert';
import type { AuditService } from '../audit/audit.service';
import type { Actor } from '../auth/principal';
import type { Clock } from '../clock';
import type { Db, Trx } from '../db/knex';
import type { Fund, FundService } from '../funds/funds.service';
import { POOL_CASH } from '../ledger/chart';
import type { LedgerService } from '../ledger/ledger.service';
import { findMember, lockMember, type MemberRow } from '../members/members.repo';
import { formatAmount, Money, roundHalfUp, sumAmounts, ZERO } from '../money/money';
import { capitalError } from './capital.errors';
import * as repo from './capital.repo';
import {
  isOverdue,
  toCallSummaryView,
  toCallView,
  toContributionView,
  toContributionViews,
  type CallSummaryView,
  type CallView,
  type ContributionView,
} from './capital.views';
import type { Statement } from './statement.csv';

export interface CapitalServiceDeps {
  ledger: LedgerService;
  audit: AuditService;
  funds: FundService;
  clock: Clock;
}

/** Member capital account (3001:<member>). */
export const MEMBER_CAPITAL = '3001';
export const CONTRIBUTION_ENTRY_KIND = 'capital.contribution';
/** A statement covers at most this many years (from ≤ to < from + 10 years). */
export const STATEMENT_YEARS_MAX = 10;
/** Movements on one statement; a longer history is asked for in shorter periods. */
export const STATEMENT_MOVEMENTS_MAX = 10_000;

export interface ContributionInput {
  fund: Fund;
  memberId: string;
  amount: string;
  receivedOn: string;
  bankReference: string;
  memo?: string | undefined;
  actor: Actor;
  requestId?: string | undefined;
}

export interface ContributionReversalInput {
  fund: Fund;
  contributionId: string;
  reversedOn?: string | undefined;
  reason: string;
  actor: Actor;
  requestId?: string | undefined;
}

export interface CallInput {
  fund: Fund;
  percent: string;
  calledOn?: string | undefined;
  dueOn: string;
  memo?: string | undefined;
  actor: Actor;
}

export interface StatementSectionInput {
  fundId: string;
  memberId: string;
  from: string;
  to: string;
}

/** The parts of a member statement other features own. */
export type StatementSections = Pick<Statement, 'loans' | 'guarantees'> & {
  subrogatedClaims: NonNullable<Statement['subrogatedClaims']>;
};

/**
 * Extension point of member statements: the loan feature registers a provider (with
 * `addStatementSection`) that returns the member's loans and guarantees for the period; until one
 * is registered both arrays are empty.
 */
export type StatementSectionProvider = (db: Db, input: StatementSectionInput) => Promise<Partial<StatementSections>>;

/**
 * Paid-in capital (实缴), capital calls and member statements.
 *
 * A member's paid-in capital is, everywhere in this feature, the balance of its capital account
 * 3001:<member>: contributions credit it, and so do the period results allocated to it earlier
 * (losses debit it). The subscription check, a call's uncalled room and the statement all use that
 * one figure, so they cannot disagree with the ledger.
 */
export class CapitalService {
  private readonly statementSections: StatementSectionProvider[] = [];

  constructor(readonly deps: CapitalServiceDeps) {}

  addStatementSection(provider: StatementSectionProvider): void {
    this.statementSections.push(provider);
  }

  // -------------------------------------------------------------------------------------------
  // Contributions

  /**
   * Records money received from a member: one entry Dr pool cash / Cr 3001:<member> dated the day
   * received, the contribution row, and its matching to the member's open calls (oldest due date
   * first, then call number; each takes min(outstanding, what is left)). What is left after the
   * calls is paid-in capital tied to no call. The member's row is locked first, so two
   * contributions for one member check the subscription and match calls one after the other.
   */
  async recordContribution(trx: Trx, input: ContributionInput): Promise<ContributionView> {
    const { fund } = input;
    const { ledger } = this.deps;
    const amount = new Money(input.amount);
    assert(amount.gt(0) && amount.decimalPlaces() <= 2, `contribution amount ${input.amount} passed validation`);
    const today = this.deps.funds.today(fund);
    if (input.receivedOn > today) {
      throw capitalError(
        'received_on_in_future',
        `Money received on ${input.receivedOn} is in the future (today is ${today} in the fund's time zone).`,
        { receivedOn: input.receivedOn, today },
      );
    }
    const member = await lockMember(trx, fund.id, input.memberId);
    this.assertContributable(member, input.memberId);
    if (input.receivedOn < member.joined_on) {
      throw capitalError(
        'received_before_joining',
        `Member ${member.name} joined on ${member.joined_on}; money received on ${input.receivedOn} was not its capital.`,
        { receivedOn: input.receivedOn, joinedOn: member.joined_on },
      );
    }
    const taken = await repo.findContributionByBankReference(trx, fund.id, input.bankReference);
    if (taken) throw bankReferenceTaken(input.bankReference, taken.id);

    const capital = await ledger.ensureSubAccount(trx, fund.id, MEMBER_CAPITAL, { memberId: member.id });
    const paidIn = new Money((await ledger.getAccount(trx, fund.id, capital.id)).balance.balance);
    const subscribed = new Money(member.subscribed_amount);
    if (paidIn.plus(amount).gt(subscribed)) {
      throw capitalError(
        'contribution_exceeds_subscription',
        `Paid-in capital would be ${formatAmount(paidIn.plus(amount))}, above the subscription of ${formatAmount(subscribed)}; at most ${formatAmount(Money.max(subscribed.minus(paidIn), ZERO))} can be received.`,
        {
          subscribed: formatAmount(subscribed),
          paidIn: formatAmount(paidIn),
          amount: formatAmount(amount),
          room: formatAmount(Money.max(subscribed.minus(paidIn), ZERO)),
        },
      );
    }

    const [pool] = await ledger.listAccounts(trx, fund.id, { baseCode: POOL_CASH, limit: 1 });
    assert(pool, `fund ${fund.id} has no pool cash account`);
    // No idempotency key on the entry: runCommand claimed the request's key explicitly before any
    // write, and the bank reference (unique per fund) keeps the same transfer from being booked twice.
    const { entry } = await ledger.postEntry(trx, {
      fundId: fund.id,
      effectiveDate: input.receivedOn,
      kind: CONTRIBUTION_ENTRY_KIND,
      memo: `Capital contribution 实缴, bank ref ${input.bankReference}${input.memo ? ` — ${input.memo}` : ''}`,
      lines: [
        { accountId: pool.id, side: 'debit', amount: formatAmount(amount) },
        { accountId: capital.id, side: 'credit', amount: formatAmount(amount) },
      ],
      actor: input.actor,
      requestId: input.requestId,
    });
    const row = await repo
      .insertContribution(trx, {
        fund_id: fund.id,
        member_id: member.id,
        amount: formatAmount(amount),
        received_on: input.receivedOn,
        bank_reference: input.bankReference,
        memo: input.memo || null,
        entry_id: entry.id,
        created_by: input.actor.userId,
      })
      .catch((error: unknown) => {
        // A contribution for another member with the same reference committed meanwhile.
        const pgError = error as { code?: string; constraint?: string };
        if (pgError.code === '23505' && pgError.constraint === 'contributions_bank_reference_key') {
          throw bankReferenceTaken(input.bankReference, null);
        }
        throw error;
      });
    const allocations = await this.matchToCalls(trx, row);
    return toContributionView(row, allocations);
  }

  /**
   * Undoes a contribution booked by mistake: the mirror entry (Dr member capital / Cr pool cash)
   * dated `reversedOn`, the reversal record, and the bank reference given back so the transfer can
   * be booked again correctly. What it paid against calls is owed again. The member's row is
   * locked first, as for a contribution, and the contribution read again under that lock.
   */
  async reverseContribution(trx: Trx, input: ContributionReversalInput): Promise<ContributionView> {
    const { fund } = input;
    const found = await repo.findContribution(trx, fund.id, input.contributionId);
    if (!found) throw contributionNotFound(input.contributionId);
    const member = await lockMember(trx, fund.id, found.member_id);
    this.assertContributable(member, found.member_id);
    const contribution = await repo.findContribution(trx, fund.id, input.contributionId);
    assert(contribution, `contribution ${input.contributionId} vanished under its member's lock`);
    if (contribution.reversal_entry_id !== null) {
      throw capitalError(
        'contribution_already_reversed',
        `Contribution ${contribution.id} was reversed on ${contribution.reversed_on}.`,
        { reversalEntryId: contribution.reversal_entry_id },
      );
    }
    const today = this.deps.funds.today(fund);
    const reversedOn = input.reversedOn ?? today;
    if (reversedOn > today) {
      throw capitalError('reversed_on_in_future', `A reversal is dated today (${today}) or earlier.`, {
        reversedOn,
        today,
      });
    }
    const { entry } = await this.deps.ledger.reverseEntry(trx, {
      fundId: fund.id,
      entryId: contribution.entry_id,
      effectiveDate: reversedOn,
      memo: `Reversal of the contribution with bank ref ${contribution.bank_reference}: ${input.reason}`.slice(0, 500),
      actor: input.actor,
      requestId: input.requestId,
    });
    await repo.insertReversal(trx, {
      contribution_id: contribution.id,
      fund_id: fund.id,
      entry_id: entry.id,
      reversed_on: reversedOn,
      reason: input.reason,
      created_by: input.actor.userId,
    });
    const reversed = await repo.findContribution(trx, fund.id, contribution.id);
    assert(reversed?.reversal_entry_id === entry.id, `reversal of contribution ${contribution.id} not recorded`);
    return toContributionView(reversed, await repo.allocationsOf(trx, [contribution.id]));
  }

  private assertContributable(member: MemberRow | undefined, memberId: string): asserts member is MemberRow {
    if (!member) throw memberNotFound(memberId);
    if (member.status === 'exited') {
      throw capitalError('member_exited', `Member ${member.id} has exited the fund and pays in no more capital.`, {
        memberId: member.id,
      });
    }
  }

  private async matchToCalls(trx: Trx, contribution: repo.ContributionRow): Promise<repo.AllocationRow[]> {
    const items = await repo.callItemsOfMember(trx, contribution.fund_id, contribution.member_id);
    const amount = new Money(contribution.amount);
    let remaining = amount;
    const allocations: repo.AllocationRow[] = [];
    for (const item of items) {
      if (remaining.isZero()) break;
      const take = Money.min(new Money(item.outstanding), remaining);
      if (take.lte(0)) continue;
      allocations.push({
        contribution_id: contribution.id,
        call_id: item.callId,
        call_number: item.callNumber,
        member_id: contribution.member_id,
        amount: formatAmount(take),
      });
      remaining = remaining.minus(take);
    }
    assert(
      sumAmounts(allocations.map((allocation) => new Money(allocation.amount)))
        .plus(remaining)
        .eq(amount) && remaining.gte(0),
      `allocations of contribution ${contribution.id} do not add up to its amount`,
    );
    await repo.insertAllocations(
      trx,
      allocations.map(({ call_number: _number, ...allocation }) => allocation),
    );
    return allocations;
  }

  async listContributions(db: Db, fundId: string, filter: repo.ListContributionsFilter): Promise<ContributionView[]> {
    const rows = await repo.listContributions(db, fundId, filter);
    const allocations = await repo.allocationsOf(
      db,
      rows.map((row) => row.id),
    );
    return toContributionViews(rows, allocations);
  }

  /** The member, if it exists in the fund and the caller may see it (member users: only their own). */
  async visibleMember(db: Db, fundId: string, memberId: string, scope: string | undefined): Promise<MemberRow> {
    const member = scope === undefined || scope === memberId ? await findMember(db, fundId, memberId) : undefined;
    if (!member) throw memberNotFound(memberId);
    return member;
  }

  // -------------------------------------------------------------------------------------------
  // Capital calls

  /**
   * Calls `percent` of every subscription from each member that has not exited. A member's due
   * amount is its subscription × percent / 100 rounded half up to the cent (rounding rule R1,
   * docs/adr/0001-money.md: the one rounding point of a call; the call holds the rounded amounts,
   * so nothing is left over to book), then capped at its uncalled room: subscription − paid-in −
   * outstanding of its open calls, never below zero. Members with no room get no item.
   */
  async createCall(trx: Trx, input: CallInput): Promise<CallView> {
    const { fund } = input;
    const today = this.deps.funds.today(fund);
    const calledOn = input.calledOn ?? today;
    if (calledOn > today) {
      throw capitalError('called_on_in_future', `A call cannot be dated ${calledOn}, after today (${today}).`, {
        calledOn,
        today,
      });
    }
    if (input.dueOn < calledOn) {
      throw capitalError('due_before_call', `The due date ${input.dueOn} is before the call date ${calledOn}.`, {
        calledOn,
        dueOn: input.dueOn,
      });
    }
    // Members first, then the fund's row: the order a contribution takes them (its member, then the
    // fund row the closed-period trigger shares for back-dated entries), so the two never deadlock.
    const members = await repo.lockCallableMembers(trx, fund.id);
    assert(await repo.lockFund(trx, fund.id), `fund ${fund.id} vanished`);
    const paidIn = await repo.capitalBalances(trx, fund.id);
    const owed = await repo.outstandingByMember(trx, fund.id);
    const percent = new Money(input.percent);
    const items = members.flatMap((member) => {
      const subscribed = new Money(member.subscribed_amount);
      const due = roundHalfUp(subscribed.times(percent).div(100));
      const room = Money.max(subscribed.minus(paidIn.get(member.id) ?? ZERO).minus(owed.get(member.id) ?? ZERO), ZERO);
      const amount = Money.min(due, room);
      return amount.gt(0) ? [{ member, amount }] : [];
    });
    if (items.length === 0) {
      throw capitalError(
        'nothing_to_call',
        'No member that has not exited has uncalled subscribed capital: the call would ask nobody for anything.',
        { percent: percent.toFixed() },
      );
    }
    const call = await repo.insertCall(trx, {
      fund_id: fund.id,
      number: await repo.nextCallNumber(trx, fund.id),
      percent: percent.toFixed(),
      called_on: calledOn,
      due_on: input.dueOn,
      memo: input.memo || null,
      created_by: input.actor.userId,
    });
    await repo.insertCallItems(
      trx,
      items.map(({ member, amount }) => ({
        fund_id: fund.id,
        call_id: call.id,
        member_id: member.id,
        due_amount: formatAmount(amount),
      })),
    );
    return toCallView(call, await repo.itemsOfCall(trx, fund.id, call.id), today);
  }

  /** One call; a member user sees only its own item, and no call it has no item in. */
  async getCall(db: Db, fund: Fund, callId: string, scope: string | undefined): Promise<CallView> {
    const call = await repo.findCall(db, fund.id, callId);
    const items = call ? await repo.itemsOfCall(db, fund.id, call.id) : [];
    const visible = scope === undefined ? items : items.filter((item) => item.member_id === scope);
    if (!call || (scope !== undefined && visible.length === 0)) {
      throw capitalError('capital_call_not_found', `Capital call ${callId} does not exist in this fund.`);
    }
    return toCallView(call, visible, this.deps.funds.today(fund));
  }

  async listCalls(
    db: Db,
    fund: Fund,
    filter: { memberId?: string | undefined; beforeNumber?: number | undefined; limit: number },
  ): Promise<CallSummaryView[]> {
    const today = this.deps.funds.today(fund);
    const rows = await repo.listCalls(db, fund.id, filter);
    return rows.map((row) => toCallSummaryView(row, today));
  }

  // -------------------------------------------------------------------------------------------
  // Statements

  /**
   * A member's capital statement for [from, to]: the capital account's balance at the end of the
   * day before `from`, every posting dated in the period with the running balance in value-date
   * order, and the balance at the end of `to`, which must equal the opening plus the movements.
   * Calls are shown as they stood at the end of `to`.
   */
  async statement(
    db: Db,
    fund: Fund,
    member: MemberRow,
    period: { from?: string | undefined; to?: string | undefined },
  ): Promise<Statement> {
    const today = this.deps.funds.today(fund);
    const from = period.from ?? `${today.slice(0, 4)}-01-01`;
    const to = period.to ?? today;
    checkStatementPeriod(from, to);
    const { ledger } = this.deps;
    const [capital] = await ledger.listAccounts(db, fund.id, {
      baseCode: MEMBER_CAPITAL,
      memberId: member.id,
      limit: 1,
    });
    const balanceAt = async (date: string): Promise<Money> =>
      capital ? new Money((await ledger.balanceAsOf(db, fund.id, capital, date)).balance) : ZERO;
    const opening = await balanceAt(dayBefore(from));
    const rows = capital ? await repo.movementsOf(db, fund.id, capital.id, from, to, STATEMENT_MOVEMENTS_MAX + 1) : [];
    if (rows.length > STATEMENT_MOVEMENTS_MAX) {
      throw capitalError(
        'statement_too_long',
        `The period has more than ${STATEMENT_MOVEMENTS_MAX} movements; ask for a shorter period.`,
        { limit: STATEMENT_MOVEMENTS_MAX },
      );
    }
    // Member capital is credit-normal: credits raise the balance, debits lower it.
    let running = opening;
    let totalIn = ZERO;
    let totalOut = ZERO;
    const movements = rows.map((row) => {
      const amount = new Money(row.amount);
      if (row.side === 'credit') totalIn = totalIn.plus(amount);
      else totalOut = totalOut.plus(amount);
      running = row.side === 'credit' ? running.plus(amount) : running.minus(amount);
      return {
        date: row.effective_date,
        entryId: row.entry_id,
        kind: row.kind,
        memo: row.posting_memo ?? row.entry_memo,
        side: row.side,
        amount: formatAmount(amount),
        balance: formatAmount(running),
      };
    });
    const closing = await balanceAt(to);
    assert(
      closing.eq(opening.plus(totalIn).minus(totalOut)),
      `statement of member ${member.id}: closing ${closing.toFixed(2)} ≠ opening ${opening.toFixed(2)} + movements`,
    );
    const asOfDay = to < today ? to : today;
    const calls = (await repo.callItemsOfMember(db, fund.id, member.id, to)).map((item) => ({
      callId: item.callId,
      callNumber: item.callNumber,
      percent: item.percent,
      calledOn: item.calledOn,
      dueOn: item.dueOn,
      due: item.due,
      paid: item.paid,
      outstanding: item.outstanding,
      overdue: isOverdue(new Money(item.outstanding), item.dueOn, asOfDay),
    }));
    const contributionRows = await repo.contributionsInRange(db, fund.id, member.id, from, to);
    const allocations = await repo.allocationsOf(
      db,
      contributionRows.map((row) => row.id),
    );
    const sections = await this.sectionsOf(db, { fundId: fund.id, memberId: member.id, from, to });
    return {
      member: { id: member.id, name: member.name, creditCode: member.credit_code, status: member.status },
      period: { from, to },
      currency: fund.currency,
      generatedOn: today,
      subscribedAmount: formatAmount(new Money(member.subscribed_amount)),
      capitalAccountId: capital?.id ?? null,
      openingBalance: formatAmount(opening),
      movements,
      totals: { in: formatAmount(totalIn), out: formatAmount(totalOut) },
      closingBalance: formatAmount(closing),
      calls,
      contributions: toContributionViews(contributionRows, allocations),
      ...sections,
    };
  }

  private async sectionsOf(db: Db, input: StatementSectionInput): Promise<StatementSections> {
    const sections: StatementSections = { loans: [], guarantees: [], subrogatedClaims: [] };
    for (const provider of this.statementSections) {
      const added = await provider(db, input);
      sections.loans.push(...(added.loans ?? []));
      sections.guarantees.push(...(added.guarantees ?? []));
      sections.subrogatedClaims.push(...(added.subrogatedClaims ?? []));
    }
    return sections;
  }
}

function memberNotFound(memberId: string) {
  return capitalError('member_not_found', `Member ${memberId} does not exist in this fund.`, { memberId });
}

function bankReferenceTaken(bankReference: string, contributionId: string | null) {
  return capitalError(
    'bank_reference_taken',
    `Bank reference ${JSON.stringify(bankReference)} was already recorded in this fund: the same transfer cannot be booked twice.`,
    { bankReference, ...(contributionId ? { contributionId } : {}) },
  );
}

function shiftDate(date: string, days: number, years = 0): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(year + years, month - 1, day + days)).toISOString().slice(0, 10);
}

export function dayBefore(date: string): string {
  return shiftDate(date, -1);
}

/** from ≤ to, and the period is shorter than STATEMENT_YEARS_MAX years (to < from + 10 years). */
export function checkStatementPeriod(from: string, to: string): void {
  if (from > to) {
    throw capitalError('statement_range_invalid', `The period starts (${from}) after it ends (${to}).`, { from, to });
  }
  const limit = shiftDate(from, 0, STATEMENT_YEARS_MAX);
  if (to >= limit) {
    throw capitalError(
      'statement_range_invalid',
      `A statement covers at most ${STATEMENT_YEARS_MAX} years: end it before ${limit}.`,
      { from, to, yearsMax: STATEMENT_YEARS_MAX },
    );
  }
}

function contributionNotFound(contributionId: string) {
  return capitalError('contribution_not_found', `Contribution ${contributionId} does not exist in this fund.`, {
    contributionId,
  });
}
