import type { Knex } from 'knex';
import { assert } from '../assert';
import type { Actor } from '../auth/principal';
import { dateIn, isIsoDate, type Clock } from '../clock';
import type { Db, Trx } from '../db/knex';
import {
  AmountError,
  CURRENCIES,
  formatAmount,
  Money,
  parseAmount,
  sumAmounts,
  ZERO,
  type Currency,
} from '../money/money';
import { accountTemplate, CHART_OF_ACCOUNTS } from './chart';
import { ledgerError } from './ledger.errors';
import * as repo from './ledger.repo';
import { FINDINGS_LISTED_MAX, LEDGER_CHECK_ORDER, verificationOf, type LedgerVerification } from './verification';
import * as verificationRepo from './verification.repo';
import {
  ENTRY_LINES_MAX,
  KIND_LENGTH_MAX,
  KIND_PATTERN,
  MEMO_LENGTH_MAX,
  type Account,
  type AccountBalance,
  type BalanceFigures,
  type Book,
  type EntryLineInput,
  type Hold,
  type JournalEntry,
  type PostedEntry,
  type PostEntryInput,
  type Side,
} from './ledger.types';

/** A batch (postEntries) has at most this many entries, and this many lines in all. */
export const BATCH_ENTRIES_MAX = 500;
export const BATCH_LINES_MAX = 250_000;

export interface BatchPosted {
  /** The entries' ids, in the order given. */
  entryIds: string[];
  /** Every entry was posted before under its key, and replayed. */
  replayed: boolean;
  /** Written whole by the set-based statement, rather than entry by entry. */
  oneStatement: boolean;
}

/** The batch statement found a key used before or a rule failing: undo it, post entry by entry. */
class BatchNotWritten extends Error {}

/** Holds expire after at most this long; a loan approval uses far less (policy, default 14 days). */
export const HOLD_DURATION_DAYS_MAX = 366;
/** Expired holds released per fund per sweep transaction; the next sweep takes the rest. */
export const HOLD_EXPIRY_BATCH_MAX = 1000;

/** A line as given: the account named by id or by chart code. */
type LineInput = EntryLineInput | ManualLineInput;

interface ParsedLine {
  lineNo: number;
  ref: { id?: string | undefined; code?: string | undefined };
  side: Side;
  amount: Money;
  memo: string | null;
}

interface ResolvedLine extends Omit<ParsedLine, 'ref'> {
  accountId: string;
}

export interface ManualLineInput {
  accountId?: string | undefined;
  accountCode?: string | undefined;
  side: Side;
  amount: string;
  memo?: string | undefined;
}

interface PostOptions {
  /** Set by reverseEntry: the entry this one reverses. */
  reversesEntryId?: string;
  /** Set by postHold: held amounts this entry consumes, per account. */
  releasedHolds?: ReadonlyMap<string, Money>;
}

/**
 * The only code that writes postings. Every method that writes takes the caller's transaction, so
 * a loan disbursement, its audit row and its idempotency record commit together or not at all.
 */
export class LedgerService {
  constructor(private readonly clock: Clock) {}

  // -------------------------------------------------------------------------------------------
  // Accounts

  /** Creates the fund-level accounts of the chart for a new fund. */
  async createChartOfAccounts(trx: Trx, fundId: string, currency: Currency): Promise<Account[]> {
    const accounts = await repo.insertAccounts(
      trx,
      CHART_OF_ACCOUNTS.filter((template) => template.scope === 'fund').map((template) => ({
        fundId,
        code: template.code,
        name: template.name,
        type: template.type,
        book: template.book,
        normalSide: template.normalSide,
        currency,
        memberId: null,
        loanId: null,
        floor: template.floor,
      })),
    );
    return accounts;
  }

  /**
   * The per-member or per-loan sub-account `<baseCode>:<owner id>`, created on first use. Safe
   * under concurrency: a second creator waits for the first and then finds its row.
   */
  async ensureSubAccount(
    trx: Trx,
    fundId: string,
    baseCode: string,
    owner: { memberId: string } | { loanId: string },
  ): Promise<Account> {
    const template = accountTemplate(baseCode);
    const ownerId = 'memberId' in owner ? owner.memberId : owner.loanId;
    const scope = 'memberId' in owner ? 'member' : 'loan';
    assert(template, `no account template ${baseCode}`);
    assert(template.scope === scope, `account ${baseCode} is not kept per ${scope}`);
    const fund = await repo.fundCurrencyAndZone(trx, fundId);
    if (!fund) throw ledgerError('fund_not_found', `Fund ${fundId} does not exist.`);
    const [account] = await repo.insertAccounts(trx, [
      {
        fundId,
        code: `${baseCode}:${ownerId}`,
        name: template.name,
        type: template.type,
        book: template.book,
        normalSide: template.normalSide,
        currency: fund.currency,
        memberId: 'memberId' in owner ? owner.memberId : null,
        loanId: 'loanId' in owner ? owner.loanId : null,
        floor: template.floor,
      },
    ]);
    assert(account, `sub-account ${baseCode}:${ownerId} was neither created nor found`);
    return account;
  }

  // -------------------------------------------------------------------------------------------
  // Entries

  /**
   * Posts a balanced entry: checks the lines, inserts the header and locks every touched balance in
   * one ordered statement, checks floors against the locked figures, then writes the postings (with
   * running balances and versions) and the new balances. The database repeats the checks.
   */
  async postEntry(trx: Trx, input: PostEntryInput, options: PostOptions = {}): Promise<PostedEntry> {
    return this.post(trx, input, options);
  }

  /**
   * Posts many entries of one fund and one effective date together, in the caller's transaction:
   * the daily loan job's accruals, thousands of lines. The same rules as postEntry: checked in code
   * on the input, then by one set-based statement on the balances it locks, in account-id order
   * (repo.postBatchAtomically), which writes the batch whole or not at all. When it cannot write it
   * whole (a key used before, or a rule failing for some entry), the batch is undone to a savepoint
   * and its entries are posted one by one, so that each replays, or is refused with its own typed
   * error, exactly as postEntry would. Entries need an idempotency key each; no holds, no
   * currency assertion.
   */
  async postEntries(trx: Trx, inputs: readonly PostEntryInput[]): Promise<BatchPosted> {
    const first = inputs[0];
    assert(first !== undefined && inputs.length <= BATCH_ENTRIES_MAX, `a batch has 1 to ${BATCH_ENTRIES_MAX} entries`);
    assert(
      inputs.every((input) => input.fundId === first.fundId && input.effectiveDate === first.effectiveDate),
      'a batch posts to one fund on one effective date',
    );
    const keys = inputs.map((input) => input.idempotencyKey);
    assert(
      keys.every((key) => key !== undefined) && new Set(keys).size === keys.length,
      'every entry of a batch has its own idempotency key',
    );
    assert(
      inputs.every((input) => input.currency === undefined),
      'a batch takes no currency assertion',
    );
    const lines: repo.BatchLineRow[] = [];
    let debits = ZERO;
    let credits = ZERO;
    inputs.forEach((input, entryNo) => {
      checkHeader(input);
      for (const line of parseLines(input.lines)) {
        assert(line.ref.id !== undefined, 'batch lines name their accounts by id');
        if (line.side === 'debit') debits = debits.plus(line.amount);
        else credits = credits.plus(line.amount);
        lines.push({
          entryNo,
          lineNo: line.lineNo,
          accountId: line.ref.id,
          side: line.side,
          amount: formatAmount(line.amount),
          memo: line.memo,
        });
      }
    });
    assert(lines.length <= BATCH_LINES_MAX, `a batch has at most ${BATCH_LINES_MAX} lines, not ${lines.length}`);

    const written = await trx
      .transaction(async (savepoint) => {
        const result = await repo
          .postBatchAtomically(
            savepoint,
            {
              fundId: first.fundId,
              effectiveDate: first.effectiveDate,
              actorId: first.actor.userId,
              requestId: first.requestId ?? null,
              now: this.clock.now(),
            },
            inputs.map((input) => ({ kind: input.kind, memo: input.memo, idempotencyKey: input.idempotencyKey! })),
            lines,
          )
          .catch((error: unknown) => {
            throw periodClosedError(error, first.effectiveDate) ?? error;
          });
        if (!result.written) throw new BatchNotWritten();
        // What the database wrote must be what the input says: every line, and its money.
        assert(
          result.entries.length === inputs.length &&
            result.postings === lines.length &&
            new Money(result.debitAdded).eq(debits) &&
            new Money(result.creditAdded).eq(credits),
          `batch of ${inputs.length} entries: the database wrote ${result.postings} postings, ` +
            `+${result.debitAdded} / +${result.creditAdded}; the input has ${lines.length}, ` +
            `${formatAmount(debits)} / ${formatAmount(credits)}`,
        );
        return result.entries.map((entry) => entry.id);
      })
      .catch((error: unknown) => {
        if (error instanceof BatchNotWritten) return undefined;
        throw error;
      });
    if (written) return { entryIds: written, replayed: false, oneStatement: true };

    const posted: PostedEntry[] = [];
    for (const input of inputs) posted.push(await this.postEntry(trx, input));
    return {
      entryIds: posted.map((one) => one.entry.id),
      replayed: posted.every((one) => one.replayed),
      oneStatement: false,
    };
  }

  /**
   * An administrator's entry (opening balances, bank charges, adjustments): lines may name accounts
   * by id or chart code, and may touch only the fund book; the memo book belongs to the guarantee
   * and loan features.
   */
  async postManualEntry(
    trx: Trx,
    input: Omit<PostEntryInput, 'lines'> & { lines: readonly ManualLineInput[] },
  ): Promise<PostedEntry> {
    return this.post(trx, input, { fundBookOnly: true });
  }

  private async post(
    trx: Trx,
    input: Omit<PostEntryInput, 'lines'> & { lines: readonly LineInput[] },
    options: PostOptions & { fundBookOnly?: boolean },
  ): Promise<PostedEntry> {
    const parsed = parseLines(input.lines);
    checkHeader(input);
    const now = this.clock.now();
    const releasedHolds = [...(options.releasedHolds ?? new Map<string, Money>())];
    const result = await repo
      .postEntryAtomically(
        trx,
        {
          fundId: input.fundId,
          kind: input.kind,
          effectiveDate: input.effectiveDate,
          memo: input.memo,
          idempotencyKey: input.idempotencyKey ?? null,
          reversesEntryId: options.reversesEntryId ?? null,
          actorId: input.actor.userId,
          requestId: input.requestId ?? null,
        },
        parsed.map((line) => ({
          lineNo: line.lineNo,
          accountId: line.ref.id ?? null,
          accountCode: line.ref.code ?? null,
          side: line.side,
          amount: formatAmount(line.amount),
          memo: line.memo,
        })),
        {
          currency: input.currency ?? null,
          now,
          fundBookOnly: options.fundBookOnly === true,
          releasedHolds: releasedHolds.map(([accountId, amount]) => ({ accountId, amount: formatAmount(amount) })),
        },
      )
      .catch((error: unknown) => {
        throw periodClosedError(error, input.effectiveDate) ?? error;
      });
    // A replay locks nothing: the statement takes no lock once the header insert found its key used.
    if (!result.header) return this.replay(trx, input, parsed);
    const header = result.header;
    const locked = result.accounts;
    const lines = resolveAccounts(parsed, locked, input.fundId);

    // The same rules again, from the rows as they were locked: a refusal says what the database
    // declined to write, and what it wrote must be what these figures say.
    const byId = new Map(locked.map((row) => [row.account_id, row]));
    let computed: ReturnType<typeof applyLines>;
    try {
      computed = checkRules(lines, byId, input, now, options);
    } catch (error) {
      assert(!result.written, `the database wrote an entry the service refuses: ${String(error)}`);
      throw error;
    }
    assertWrittenAsComputed(result, computed);
    const entry = journalEntryOf(header, input, options.reversesEntryId ?? null, computed.postings, byId);
    return { entry, replayed: false };
  }

  /** The entry already posted under this idempotency key, if it says the same; a conflict if not. */
  private async replay(
    trx: Trx,
    input: Pick<PostEntryInput, 'fundId' | 'idempotencyKey' | 'kind' | 'effectiveDate'>,
    lines: readonly ParsedLine[],
  ): Promise<PostedEntry> {
    const key = input.idempotencyKey;
    assert(key !== undefined, 'an entry insert without idempotency key cannot conflict');
    const existingId = await repo.findEntryIdByIdempotencyKey(trx, input.fundId, key);
    const existing = existingId && (await repo.getEntry(trx, input.fundId, existingId));
    assert(existing, `entry with idempotency key ${key} vanished`);
    // Lines may name accounts by code: read codes through the postings of the entry found.
    const idOfCode = new Map(existing.postings.map((posting) => [posting.accountCode, posting.accountId]));
    const fingerprint = (entries: { accountId: string | undefined; side: Side; amount: string }[]): string =>
      entries
        .map((line) => `${line.accountId}|${line.side}|${new Money(line.amount).toFixed(2)}`)
        .sort()
        .join(';');
    const same =
      existing.kind === input.kind &&
      existing.effectiveDate === input.effectiveDate &&
      fingerprint(existing.postings) ===
        fingerprint(
          lines.map((line) => ({
            accountId: line.ref.id ?? idOfCode.get(line.ref.code ?? ''),
            side: line.side,
            amount: line.amount.toFixed(2),
          })),
        );
    if (!same) {
      throw ledgerError(
        'ledger_idempotency_conflict',
        `Idempotency key ${JSON.stringify(key)} was used for entry ${existing.id} with other lines.`,
        { entryId: existing.id },
      );
    }
    return { entry: existing, replayed: true };
  }

  /**
   * Posts the mirror of an entry, dated `effectiveDate` (never before the original), and links the
   * two. An entry is reversed at most once and a reversal is not itself reversed: post a new entry.
   */
  async reverseEntry(
    trx: Trx,
    input: {
      fundId: string;
      entryId: string;
      effectiveDate: string;
      memo: string;
      actor: Actor;
      idempotencyKey?: string | undefined;
      requestId?: string | undefined;
      /**
       * Kinds this caller may reverse. The manual reversal passes the manual kinds: an entry a
       * feature posted (a contribution, a close) is corrected through that feature, which keeps
       * its own records in step with the ledger.
       */
      onlyKinds?: readonly string[] | undefined;
    },
  ): Promise<PostedEntry> {
    if (!isIsoDate(input.effectiveDate)) {
      throw ledgerError('invalid_effective_date', `${JSON.stringify(input.effectiveDate)} is not a date.`);
    }
    // Serializes concurrent reversals of the same entry; the unique index is the backstop.
    if (!(await repo.lockEntry(trx, input.fundId, input.entryId))) {
      throw ledgerError('entry_not_found', `Entry ${input.entryId} does not exist in this fund.`);
    }
    const original = await repo.getEntry(trx, input.fundId, input.entryId);
    assert(original, `locked entry ${input.entryId} not found`);
    if (input.onlyKinds && original.kind !== 'reversal' && !input.onlyKinds.includes(original.kind)) {
      throw ledgerError(
        'entry_owned_by_feature',
        `Entry ${original.id} is a ${original.kind} entry: correct it through the feature that posted it (for a contribution, POST …/contributions/{id}/reverse), which keeps its records in step.`,
        { kind: original.kind },
      );
    }
    const lines: EntryLineInput[] = original.postings.map((posting) => ({
      accountId: posting.accountId,
      side: posting.side === 'debit' ? 'credit' : 'debit',
      amount: posting.amount,
      memo: posting.memo ?? undefined,
    }));
    const entryInput: PostEntryInput = {
      fundId: input.fundId,
      lines,
      effectiveDate: input.effectiveDate,
      kind: 'reversal',
      memo: input.memo,
      idempotencyKey: input.idempotencyKey,
      actor: input.actor,
      requestId: input.requestId,
    };
    if (original.reversedByEntryId) {
      if (input.idempotencyKey) {
        const prior = await repo.findEntryIdByIdempotencyKey(trx, input.fundId, input.idempotencyKey);
        if (prior === original.reversedByEntryId) return this.postEntry(trx, entryInput);
      }
      throw ledgerError(
        'entry_already_reversed',
        `Entry ${original.id} was already reversed by entry ${original.reversedByEntryId}.`,
        { reversedByEntryId: original.reversedByEntryId },
      );
    }
    if (original.reversesEntryId) {
      throw ledgerError(
        'entry_is_reversal',
        `Entry ${original.id} reverses entry ${original.reversesEntryId}; post a new entry instead.`,
        { reversesEntryId: original.reversesEntryId },
      );
    }
    if (input.effectiveDate < original.effectiveDate) {
      throw ledgerError(
        'reversal_before_original',
        `The reversal date ${input.effectiveDate} is before the entry's effective date ${original.effectiveDate}.`,
        { originalEffectiveDate: original.effectiveDate },
      );
    }
    return this.postEntry(trx, entryInput, { reversesEntryId: original.id });
  }

  // -------------------------------------------------------------------------------------------
  // Holds

  /** Reserves `amount` on an account until `expiresAt`; the account's floor counts it. */
  async placeHold(
    trx: Trx,
    input: {
      fundId: string;
      accountId: string;
      amount: string;
      expiresAt: Date;
      reason: string;
      reference?: string | undefined;
      idempotencyKey?: string | undefined;
      actor: Actor;
    },
  ): Promise<{ hold: Hold; replayed: boolean }> {
    const amount = parsePositiveAmount(input.amount, 'amount');
    const now = this.clock.now();
    const latest = new Date(now.getTime() + HOLD_DURATION_DAYS_MAX * 86_400_000);
    if (!(input.expiresAt > now) || input.expiresAt > latest) {
      throw ledgerError(
        'invalid_hold_expiry',
        `A hold must expire after now and within ${HOLD_DURATION_DAYS_MAX} days.`,
        { expiresAt: input.expiresAt.toISOString() },
      );
    }
    const hold = await repo.insertHold(trx, {
      fundId: input.fundId,
      accountId: input.accountId,
      amount: amount.toFixed(2),
      reason: input.reason,
      reference: input.reference ?? null,
      expiresAt: input.expiresAt,
      idempotencyKey: input.idempotencyKey ?? null,
      createdBy: input.actor.userId,
      createdAt: now,
    });
    if (!hold) {
      const existing = await repo.findHoldByIdempotencyKey(trx, input.fundId, input.idempotencyKey!);
      assert(existing, 'conflicting hold not found');
      if (existing.accountId !== input.accountId || !new Money(existing.amount).eq(amount)) {
        throw ledgerError(
          'ledger_idempotency_conflict',
          `Idempotency key ${JSON.stringify(input.idempotencyKey)} was used for hold ${existing.id}.`,
          { holdId: existing.id },
        );
      }
      return { hold: existing, replayed: true };
    }
    const [balance] = await repo.lockBalances(trx, input.fundId, [input.accountId]);
    if (!balance) {
      throw ledgerError('account_not_in_fund', `Account ${input.accountId} does not belong to this fund.`, {
        accountIds: [input.accountId],
      });
    }
    const availableAfter = new Money(balance.balance).minus(balance.held).minus(amount);
    if (balance.floor !== null && availableAfter.lt(balance.floor)) {
      throw floorCrossed(balance, availableAfter.plus(amount), amount);
    }
    await repo.adjustHeld(trx, input.fundId, [{ accountId: input.accountId, delta: amount.toFixed(2) }]);
    return { hold, replayed: false };
  }

  /** Gives a pending hold back to the account. */
  async releaseHold(trx: Trx, fundId: string, holdId: string): Promise<Hold> {
    const hold = await this.lockPendingHold(trx, fundId, holdId);
    await repo.lockBalances(trx, fundId, [hold.accountId]);
    await repo.adjustHeld(trx, fundId, [{ accountId: hold.accountId, delta: `-${hold.amount}` }]);
    const now = this.clock.now();
    await repo.resolveHolds(trx, fundId, [hold.id], 'released', null, now);
    return { ...hold, status: 'released', resolvedAt: now };
  }

  /**
   * Posts a pending hold in full: the entry must take exactly the held amount out of the held
   * account (credit it, for a debit-normal account); the hold is consumed by the same entry.
   */
  async postHold(trx: Trx, holdId: string, input: PostEntryInput): Promise<PostedEntry & { hold: Hold }> {
    const hold = await this.lockPendingHold(trx, input.fundId, holdId);
    const account = await repo.findAccount(trx, input.fundId, hold.accountId);
    assert(account, `hold ${hold.id} is on a missing account`);
    const lines = parseLines(input.lines);
    const outflow = sumAmounts(
      lines
        .filter((line) => line.ref.id === hold.accountId)
        .map((line) => (line.side === account.normalSide ? line.amount.neg() : line.amount)),
    );
    if (!outflow.eq(hold.amount)) {
      throw ledgerError(
        'hold_amount_mismatch',
        `The entry moves ${formatAmount(outflow)} out of account ${account.code}; the hold is ${hold.amount}.`,
        { held: hold.amount, moved: formatAmount(outflow) },
      );
    }
    const posted = await this.postEntry(trx, input, {
      releasedHolds: new Map([[hold.accountId, new Money(hold.amount)]]),
    });
    const now = this.clock.now();
    await repo.resolveHolds(trx, input.fundId, [hold.id], 'posted', posted.entry.id, now);
    return { ...posted, hold: { ...hold, status: 'posted', entryId: posted.entry.id, resolvedAt: now } };
  }

  /** Releases up to HOLD_EXPIRY_BATCH_MAX expired holds of one fund; returns what it released. */
  async expireHolds(trx: Trx, fundId: string): Promise<Hold[]> {
    const now = this.clock.now();
    const holds = await repo.lockExpiredHolds(trx, fundId, now, HOLD_EXPIRY_BATCH_MAX);
    if (holds.length === 0) return [];
    const perAccount = new Map<string, Money>();
    for (const hold of holds) {
      perAccount.set(hold.accountId, (perAccount.get(hold.accountId) ?? ZERO).plus(hold.amount));
    }
    await repo.lockBalances(trx, fundId, [...perAccount.keys()]);
    await repo.adjustHeld(
      trx,
      fundId,
      [...perAccount].map(([accountId, total]) => ({ accountId, delta: total.neg().toFixed(2) })),
    );
    const resolved = await repo.resolveHolds(
      trx,
      fundId,
      holds.map((hold) => hold.id),
      'expired',
      null,
      now,
    );
    assert(resolved === holds.length, `expired ${resolved} of ${holds.length} locked holds`);
    return holds.map((hold) => ({ ...hold, status: 'expired', resolvedAt: now }));
  }

  private async lockPendingHold(trx: Trx, fundId: string, holdId: string): Promise<Hold> {
    const hold = await repo.getHold(trx, fundId, holdId, true);
    if (!hold) throw ledgerError('hold_not_found', `Hold ${holdId} does not exist in this fund.`);
    if (hold.status !== 'pending') {
      throw ledgerError('hold_not_pending', `Hold ${holdId} is already ${hold.status}.`, {
        status: hold.status,
      });
    }
    if (hold.expiresAt <= this.clock.now()) {
      throw ledgerError('hold_expired', `Hold ${holdId} expired at ${hold.expiresAt.toISOString()}.`, {
        expiresAt: hold.expiresAt.toISOString(),
      });
    }
    return hold;
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  async listAccounts(db: Db, fundId: string, filter: repo.ListAccountsFilter): Promise<AccountWithBalance[]> {
    const rows = await repo.listAccountsWithBalances(db, fundId, filter);
    return rows.map((row) => ({ ...repo.rowToAccount(row), balance: balanceOf(row, row.normal_side) }));
  }

  async getAccount(db: Db, fundId: string, accountId: string): Promise<AccountWithBalance> {
    const account = await repo.findAccount(db, fundId, accountId);
    const row = account && (await repo.currentBalance(db, account.id));
    if (!account || !row) throw ledgerError('account_not_found', `Account ${accountId} does not exist in this fund.`);
    return { ...account, balance: balanceOf(row, account.normalSide) };
  }

  async getEntry(db: Db, fundId: string, entryId: string): Promise<JournalEntry> {
    const entry = await repo.getEntry(db, fundId, entryId);
    if (!entry) throw ledgerError('entry_not_found', `Entry ${entryId} does not exist in this fund.`);
    return entry;
  }

  listEntries(db: Db, fundId: string, filter: repo.ListEntriesFilter): Promise<JournalEntry[]> {
    return repo.listEntries(db, fundId, filter);
  }

  accountPostings(
    db: Db,
    fundId: string,
    accountId: string,
    filter: repo.AccountPostingsFilter,
  ): Promise<repo.AccountPostingRow[]> {
    return repo.accountPostings(db, fundId, accountId, filter);
  }

  listHolds(db: Db, fundId: string, filter: Parameters<typeof repo.listHolds>[2]): Promise<Hold[]> {
    return repo.listHolds(db, fundId, filter);
  }

  async balanceAsOf(db: Db, fundId: string, account: Account, asOf: string): Promise<BalanceFigures> {
    const [row] = await repo.totalsAsOf(db, fundId, asOf, [account.id]);
    assert(row, `no as-of totals for account ${account.id}`);
    return asOfFigures(row, account.normalSide);
  }

  /**
   * Balances of whole chart codes (every loan's 1201, every member's 3001…) at the end of each of
   * `dates`, in one statement (ADR 0003's as-of totals per account and date): per date, per code,
   * the sum of the normal-side balances and how many accounts are not at zero. Every code asked
   * for is answered for every date, zero when it has no accounts yet.
   */
  async balancesByCodeAsOf(
    db: Db,
    fundId: string,
    baseCodes: readonly string[],
    dates: readonly string[],
  ): Promise<Map<string, Map<string, CodeBalance>>> {
    assert(dates.every(isIsoDate), `as-of dates ${dates.join(', ')}`);
    const rows = await repo.balancesByCodeAsOf(db, fundId, baseCodes, dates);
    const byDate = new Map<string, Map<string, CodeBalance>>();
    for (const date of dates) {
      byDate.set(date, new Map(baseCodes.map((code) => [code, { balance: ZERO, accountsNonZero: 0 }])));
    }
    for (const row of rows) {
      const codes = byDate.get(row.as_of);
      assert(codes !== undefined && codes.has(row.base_code), `${row.base_code} on ${row.as_of} was not asked for`);
      codes.set(row.base_code, { balance: new Money(row.balance), accountsNonZero: row.accounts_nonzero });
    }
    return byDate;
  }

  /**
   * What holds reserved on a fund-level account (pool cash, 1001) at the end of `date` in the
   * fund's time zone, by the clock: holds have no value date. For today, the account's `held`.
   */
  async heldAtEndOf(db: Db, fund: { id: string; timezone: string }, code: string, date: string): Promise<Money> {
    const account = await repo.findAccountByCode(db, fund.id, code);
    assert(account, `fund ${fund.id} has no account ${code}`);
    return new Money(await repo.heldAtEndOf(db, fund.id, account.id, date, fund.timezone));
  }

  /**
   * The trial balance, now or at the end of `asOf`, proved in the statement that reads it: an
   * account is off when its figures are not the sums of its postings (up to the date), an entry
   * when its postings do not balance within a book; `verified` when none is. The full check, with
   * what is off and by how much, is `verify`.
   */
  async trialBalance(db: Db, fundId: string, asOf?: string): Promise<TrialBalance> {
    const rows = await repo.trialBalanceRows(db, fundId, asOf);
    let accountsOff = 0;
    const lines: TrialBalanceLine[] = rows.map((row) => {
      const figures = asOf
        ? asOfFigures(row, row.normal_side)
        : figuresFrom(row.debit_total, row.credit_total, row.normal_side);
      if (
        !new Money(figures.debitTotal).eq(row.posted_debits) ||
        !new Money(figures.creditTotal).eq(row.posted_credits)
      ) {
        accountsOff += 1;
      }
      const net = new Money(figures.debitTotal).minus(figures.creditTotal);
      return {
        accountId: row.id,
        code: row.code,
        name: row.name,
        type: row.type,
        book: row.book,
        normalSide: row.normal_side,
        memberId: row.member_id,
        loanId: row.loan_id,
        ...figures,
        debitBalance: formatAmount(net.gt(0) ? net : ZERO),
        creditBalance: formatAmount(net.lt(0) ? net.neg() : ZERO),
      };
    });
    const entriesOff = Number(rows[0]?.unbalanced_entries ?? 0);
    const books = (['fund', 'memo'] as const).map((book) => bookTotals(book, lines));
    return {
      asOf: asOf ?? null,
      lines,
      books,
      balanced: books.every((book) => book.balanced),
      verified: accountsOff === 0 && entriesOff === 0,
      discrepancies: { accounts: accountsOff, entries: entriesOff },
    };
  }

  /**
   * Every check of LEDGER_CHECKS on one fund, from one snapshot of its rows (a read-only,
   * repeatable-read transaction): what it checked, each check's findings, and the first of them.
   */
  async verify(db: Knex, fundId: string): Promise<LedgerVerification> {
    const order = LEDGER_CHECK_ORDER;
    const limit = FINDINGS_LISTED_MAX;
    return db.transaction(
      async (trx) => {
        const books = await verificationRepo.checkBooks(trx, fundId, order, limit);
        const accounts = await verificationRepo.checkAccounts(trx, fundId, order, limit);
        const entries = await verificationRepo.checkEntries(trx, fundId, order, limit);
        const running = await verificationRepo.checkRunningTotals(trx, fundId, order, limit);
        const checked = {
          accounts: Number(accounts.accounts),
          entries: Number(entries.entries),
          postings: Number(accounts.postings),
          pendingHolds: Number(accounts.pendingHolds),
        };
        return verificationOf(fundId, checked, [books, accounts, entries, running]);
      },
      { isolationLevel: 'repeatable read', readOnly: true },
    );
  }
}

/** A chart code's accounts together on a day: Σ balance, and how many are not at zero. */
export interface CodeBalance {
  balance: Money;
  accountsNonZero: number;
}

export interface AccountWithBalance extends Account {
  balance: AccountBalance;
}

export interface TrialBalanceLine extends BalanceFigures {
  accountId: string;
  code: string;
  name: string;
  type: string;
  book: Book;
  normalSide: Side;
  memberId: string | null;
  loanId: string | null;
  /** Net debit balance (debits − credits when positive), else 0.00. */
  debitBalance: string;
  /** Net credit balance (credits − debits when positive), else 0.00. */
  creditBalance: string;
}

export interface BookTotals {
  book: Book;
  debitTotal: string;
  creditTotal: string;
  debitBalances: string;
  creditBalances: string;
  /** Σ debits − Σ credits: zero when the book balances. */
  difference: string;
  balanced: boolean;
}

export interface TrialBalance {
  asOf: string | null;
  lines: TrialBalanceLine[];
  books: BookTotals[];
  balanced: boolean;
  /** Every line's figures are the sums of its postings, and every entry's postings balance. */
  verified: boolean;
  discrepancies: { accounts: number; entries: number };
}

function bookTotals(book: Book, lines: readonly TrialBalanceLine[]): BookTotals {
  const inBook = lines.filter((line) => line.book === book);
  const sum = (pick: (line: TrialBalanceLine) => string): Money =>
    sumAmounts(inBook.map((line) => new Money(pick(line))));
  const debitTotal = sum((line) => line.debitTotal);
  const creditTotal = sum((line) => line.creditTotal);
  const debitBalances = sum((line) => line.debitBalance);
  const creditBalances = sum((line) => line.creditBalance);
  const difference = debitTotal.minus(creditTotal);
  return {
    book,
    debitTotal: formatAmount(debitTotal),
    creditTotal: formatAmount(creditTotal),
    debitBalances: formatAmount(debitBalances),
    creditBalances: formatAmount(creditBalances),
    difference: formatAmount(difference),
    balanced: difference.isZero() && debitBalances.eq(creditBalances),
  };
}

/**
 * The database refuses entries dated inside a closed period (trigger journal_entries_period_open,
 * SQLSTATE HZ002); the refusal becomes the ledger's own typed error.
 */
function periodClosedError(error: unknown, effectiveDate: string) {
  const pgError = error as { code?: string; message?: string };
  if (pgError.code !== 'HZ002') return undefined;
  const closedThrough = /period to (\d{4}-\d{2}-\d{2})/.exec(pgError.message ?? '')?.[1] ?? null;
  return ledgerError(
    'period_closed',
    `The books are closed through ${closedThrough ?? 'a later date'}: no entry may be dated ${effectiveDate}. Date it after the closed period.`,
    { effectiveDate, closedThrough },
  );
}

export function figuresFrom(debitTotal: string, creditTotal: string, normalSide: Side): BalanceFigures {
  return figuresOf(new Money(debitTotal), new Money(creditTotal), normalSide);
}

function figuresOf(debits: Money, credits: Money, normalSide: Side): BalanceFigures {
  const balance = normalSide === 'debit' ? debits.minus(credits) : credits.minus(debits);
  return {
    debitTotal: formatAmount(debits),
    creditTotal: formatAmount(credits),
    balance: formatAmount(balance),
  };
}

function asOfFigures(
  row: Pick<repo.AsOfTotalsRow, 'base_debit_total' | 'base_credit_total' | 'late_debits' | 'late_credits'>,
  normalSide: Side,
): BalanceFigures {
  const debits = new Money(row.base_debit_total ?? 0).plus(row.late_debits ?? 0);
  const credits = new Money(row.base_credit_total ?? 0).plus(row.late_credits ?? 0);
  return figuresOf(debits, credits, normalSide);
}

export function balanceOf(row: repo.BalanceRow, normalSide: Side): AccountBalance {
  const figures = figuresFrom(row.debit_total, row.credit_total, normalSide);
  assert(new Money(figures.balance).eq(row.balance), `stored balance of ${row.account_id} disagrees with its totals`);
  return {
    ...figures,
    held: formatAmount(new Money(row.held)),
    available: formatAmount(new Money(row.balance).minus(row.held)),
    version: row.version,
  };
}

// ---------------------------------------------------------------------------------------------
// Checks on the input, before anything is read or written.

function parseLines(lines: readonly LineInput[]): ParsedLine[] {
  if (lines.length < 2) {
    throw ledgerError('too_few_lines', `An entry needs at least two lines; it has ${lines.length}.`, {
      lines: lines.length,
    });
  }
  if (lines.length > ENTRY_LINES_MAX) {
    throw ledgerError('too_many_lines', `An entry has at most ${ENTRY_LINES_MAX} lines; it has ${lines.length}.`, {
      lines: lines.length,
      limit: ENTRY_LINES_MAX,
    });
  }
  const parsed = lines.map((line, index) => {
    if (line.side !== 'debit' && line.side !== 'credit') {
      throw ledgerError('invalid_line', `Line ${index + 1}: side must be debit or credit.`, { line: index + 1 });
    }
    const code = 'accountCode' in line ? line.accountCode : undefined;
    if ((line.accountId === undefined) === (code === undefined)) {
      throw ledgerError('invalid_line', `Line ${index + 1}: name the account by id or by code, not both or neither.`, {
        line: index + 1,
      });
    }
    if (line.memo !== undefined && line.memo.length > MEMO_LENGTH_MAX) {
      throw ledgerError('memo_too_long', `Line ${index + 1}: the memo exceeds ${MEMO_LENGTH_MAX} characters.`, {
        line: index + 1,
        limit: MEMO_LENGTH_MAX,
      });
    }
    return {
      lineNo: index + 1,
      ref: { id: line.accountId, code },
      side: line.side,
      amount: parsePositiveAmount(line.amount, `line ${index + 1}`, index + 1),
      memo: line.memo ?? null,
    };
  });
  const debits = sumAmounts(parsed.filter((line) => line.side === 'debit').map((line) => line.amount));
  const credits = sumAmounts(parsed.filter((line) => line.side === 'credit').map((line) => line.amount));
  if (!debits.eq(credits)) {
    throw ledgerError(
      'entry_unbalanced',
      `Debits ${formatAmount(debits)} do not equal credits ${formatAmount(credits)}.`,
      { debits: formatAmount(debits), credits: formatAmount(credits) },
    );
  }
  return parsed;
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

/** Every line's account among the locked rows of this fund, by id or by code; else a refusal. */
function resolveAccounts(
  lines: readonly ParsedLine[],
  locked: readonly repo.LockedBalanceRow[],
  fundId: string,
): ResolvedLine[] {
  const byId = new Map(locked.map((row) => [row.account_id, row]));
  const byCode = new Map(locked.map((row) => [row.code, row]));
  const missingIds = unique(
    lines.flatMap((line) => (line.ref.id !== undefined && !byId.has(line.ref.id) ? [line.ref.id] : [])),
  );
  const missingCodes = unique(
    lines.flatMap((line) => (line.ref.code !== undefined && !byCode.has(line.ref.code) ? [line.ref.code] : [])),
  );
  if (missingIds.length > 0 || missingCodes.length > 0) {
    const missing = [...missingIds, ...missingCodes];
    throw ledgerError(
      'account_not_in_fund',
      `Account${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ${missing.length > 1 ? 'do' : 'does'} not belong to fund ${fundId}.`,
      {
        ...(missingIds.length > 0 ? { accountIds: missingIds } : {}),
        ...(missingCodes.length > 0 ? { accountCodes: missingCodes } : {}),
      },
    );
  }
  return lines.map(({ ref, ...line }) => ({
    ...line,
    accountId: ref.id ?? byCode.get(ref.code!)!.account_id,
  }));
}

function checkFundBookOnly(lines: readonly ResolvedLine[], byId: Map<string, repo.LockedBalanceRow>): void {
  const memo = unique(
    lines
      .map((line) => byId.get(line.accountId)!)
      .filter((row) => row.book !== 'fund')
      .map((row) => row.code),
  );
  if (memo.length > 0) {
    throw ledgerError(
      'book_not_allowed',
      `Manual entries post to the fund book only; ${memo.join(', ')} ${memo.length > 1 ? 'are' : 'is'} in the memo book.`,
      { accountCodes: memo },
    );
  }
}

function parsePositiveAmount(input: string | Money, what: string, line?: number): Money {
  let amount: Money;
  try {
    amount = parseAmount(input, CURRENCIES.CNY.scale);
  } catch (error) {
    if (!(error instanceof AmountError)) throw error;
    const reason = {
      not_a_decimal: 'is not a decimal number written as a string',
      too_many_decimals: `has more than ${CURRENCIES.CNY.scale} decimal places`,
      too_large: 'is too large',
    }[error.problem];
    throw ledgerError('invalid_amount', `The amount of ${what} ${reason}.`, {
      ...(line === undefined ? {} : { line }),
      reason: error.problem,
    });
  }
  if (amount.lte(0)) {
    throw ledgerError('amount_not_positive', `The amount of ${what} must be greater than zero.`, {
      ...(line === undefined ? {} : { line }),
      amount: amount.toFixed(),
    });
  }
  return amount;
}

function checkHeader(input: Pick<PostEntryInput, 'effectiveDate' | 'kind' | 'memo'>): void {
  if (!isIsoDate(input.effectiveDate)) {
    throw ledgerError('invalid_effective_date', `${JSON.stringify(input.effectiveDate)} is not a date (YYYY-MM-DD).`);
  }
  if (!KIND_PATTERN.test(input.kind) || input.kind.length > KIND_LENGTH_MAX) {
    throw ledgerError('invalid_kind', `${JSON.stringify(input.kind)} is not a valid entry kind.`, {
      pattern: KIND_PATTERN.source,
    });
  }
  if (input.memo.length > MEMO_LENGTH_MAX) {
    throw ledgerError('memo_too_long', `The memo exceeds ${MEMO_LENGTH_MAX} characters.`, {
      limit: MEMO_LENGTH_MAX,
    });
  }
}

function checkCurrencies(
  asserted: string | undefined,
  fundCurrency: string,
  locked: readonly repo.LockedBalanceRow[],
): void {
  if (asserted !== undefined && asserted !== fundCurrency) {
    throw ledgerError(
      'currency_mismatch',
      `The entry is in ${asserted}; the fund keeps its books in ${fundCurrency}.`,
      {
        currency: asserted,
        fundCurrency,
      },
    );
  }
  const foreign = locked.filter((row) => row.currency !== fundCurrency);
  if (foreign.length > 0) {
    throw ledgerError(
      'currency_mismatch',
      `Account ${foreign[0]!.code} is in ${foreign[0]!.currency}; the fund keeps its books in ${fundCurrency}.`,
      { accountIds: foreign.map((row) => row.account_id), fundCurrency },
    );
  }
}

function checkBalancedPerBook(lines: readonly ResolvedLine[], byId: Map<string, repo.LockedBalanceRow>): void {
  const net = new Map<Book, Money>();
  for (const line of lines) {
    const book = byId.get(line.accountId)!.book;
    const signed = line.side === 'debit' ? line.amount : line.amount.neg();
    net.set(book, (net.get(book) ?? ZERO).plus(signed));
  }
  for (const [book, difference] of net) {
    if (!difference.isZero()) {
      throw ledgerError(
        'entry_unbalanced',
        `Debits and credits differ by ${formatAmount(difference.abs())} in the ${book} book; each book must balance on its own.`,
        { book, difference: formatAmount(difference) },
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Applying lines to locked balances.

interface AccountState {
  debitTotal: Money;
  creditTotal: Money;
  version: bigint;
  watermark: string | null;
}

function applyLines(
  lines: readonly ResolvedLine[],
  byId: Map<string, repo.LockedBalanceRow>,
  effectiveDate: string,
  releasedHolds: ReadonlyMap<string, Money> | undefined,
): { postings: repo.NewPosting[]; updates: repo.BalanceUpdate[] } {
  const states = new Map<string, AccountState>();
  for (const [id, row] of byId) {
    states.set(id, {
      debitTotal: new Money(row.debit_total),
      creditTotal: new Money(row.credit_total),
      version: BigInt(row.version),
      watermark: row.effective_watermark,
    });
  }
  const postings = lines.map((line): repo.NewPosting => {
    const state = states.get(line.accountId)!;
    const row = byId.get(line.accountId)!;
    const backdated = state.watermark !== null && effectiveDate < state.watermark;
    if (line.side === 'debit') state.debitTotal = state.debitTotal.plus(line.amount);
    else state.creditTotal = state.creditTotal.plus(line.amount);
    state.version += 1n;
    state.watermark = state.watermark !== null && state.watermark > effectiveDate ? state.watermark : effectiveDate;
    const figures = figuresOf(state.debitTotal, state.creditTotal, row.normal_side);
    return {
      lineNo: line.lineNo,
      accountId: line.accountId,
      side: line.side,
      amount: formatAmount(line.amount),
      memo: line.memo,
      debitTotalAfter: figures.debitTotal,
      creditTotalAfter: figures.creditTotal,
      balanceAfter: figures.balance,
      versionAfter: state.version.toString(),
      watermarkAfter: state.watermark,
      backdated,
    };
  });
  const updates = [...states].map(([accountId, state]): repo.BalanceUpdate => {
    const row = byId.get(accountId)!;
    const figures = figuresOf(state.debitTotal, state.creditTotal, row.normal_side);
    const released = releasedHolds?.get(accountId) ?? ZERO;
    assert(released.lte(row.held), `releasing ${released.toFixed(2)} of ${row.held} held on ${row.code}`);
    assert(state.watermark !== null, `account ${row.code} posted without a watermark`);
    return {
      accountId,
      debitTotal: figures.debitTotal,
      creditTotal: figures.creditTotal,
      balance: figures.balance,
      heldReleased: formatAmount(released),
      version: state.version.toString(),
      watermark: state.watermark,
    };
  });
  return { postings, updates };
}

/** Every rule an entry must meet against the locked rows; returns the postings and new balances. */
function checkRules(
  lines: readonly ResolvedLine[],
  byId: Map<string, repo.LockedBalanceRow>,
  input: Pick<PostEntryInput, 'currency' | 'effectiveDate'>,
  now: Date,
  options: PostOptions & { fundBookOnly?: boolean },
): ReturnType<typeof applyLines> {
  const first = byId.values().next().value as repo.LockedBalanceRow;
  if (options.fundBookOnly) checkFundBookOnly(lines, byId);
  checkCurrencies(input.currency, first.fund_currency, [...byId.values()]);
  const today = dateIn(first.fund_timezone, now);
  if (input.effectiveDate > today) {
    throw ledgerError(
      'effective_date_in_future',
      `The effective date ${input.effectiveDate} is after today (${today} in the fund's time zone).`,
      { effectiveDate: input.effectiveDate, today },
    );
  }
  checkBalancedPerBook(lines, byId);
  const computed = applyLines(lines, byId, input.effectiveDate, options.releasedHolds);
  checkFloors(computed.updates, byId);
  return computed;
}

function journalEntryOf(
  header: repo.EntryHeader,
  input: Omit<PostEntryInput, 'lines'>,
  reversesEntryId: string | null,
  postings: readonly repo.NewPosting[],
  byId: Map<string, repo.LockedBalanceRow>,
): JournalEntry {
  return {
    id: header.id,
    seq: header.seq,
    fundId: input.fundId,
    kind: input.kind,
    effectiveDate: input.effectiveDate,
    postedAt: header.posted_at,
    memo: input.memo,
    idempotencyKey: input.idempotencyKey ?? null,
    reversesEntryId,
    reversedByEntryId: null,
    actorId: input.actor.userId,
    requestId: input.requestId ?? null,
    postings: postings.map((posting) => {
      const account = byId.get(posting.accountId)!;
      return {
        lineNo: posting.lineNo,
        accountId: posting.accountId,
        accountCode: account.code,
        accountName: account.name,
        memberId: account.member_id,
        side: posting.side,
        amount: posting.amount,
        memo: posting.memo,
        balanceAfter: posting.balanceAfter,
        versionAfter: posting.versionAfter,
      };
    }),
  };
}

/** Pairs the database's arithmetic with ours: same postings, same new totals and versions. */
function assertWrittenAsComputed(result: repo.AtomicPostResult, computed: ReturnType<typeof applyLines>): void {
  assert(result.written, 'the database declined an entry the service accepts');
  assert(
    result.postings === computed.postings.length,
    `wrote ${result.postings} postings, computed ${computed.postings.length}`,
  );
  const written = new Map(result.accounts.map((row) => [row.account_id, row]));
  for (const update of computed.updates) {
    const row = written.get(update.accountId);
    assert(
      row?.new_version === update.version &&
        new Money(row.new_debit_total ?? NaN).eq(update.debitTotal) &&
        new Money(row.new_credit_total ?? NaN).eq(update.creditTotal) &&
        new Money(row.new_balance ?? NaN).eq(update.balance) &&
        new Money(row.new_held ?? NaN).eq(new Money(row.held).minus(update.heldReleased)),
      `account ${update.accountId}: the database wrote other figures than the service computed`,
    );
  }
}

function checkFloors(updates: readonly repo.BalanceUpdate[], byId: Map<string, repo.LockedBalanceRow>): void {
  for (const update of updates) {
    const row = byId.get(update.accountId)!;
    if (row.floor === null) continue;
    const held = new Money(row.held).minus(update.heldReleased);
    const availableAfter = new Money(update.balance).minus(held);
    if (availableAfter.lt(row.floor)) {
      const availableBefore = new Money(row.balance).minus(row.held);
      throw floorCrossed(row, availableBefore, availableBefore.minus(availableAfter));
    }
  }
}

function floorCrossed(row: repo.LockedBalanceRow, available: Money, requested: Money) {
  const floor = new Money(row.floor!);
  return ledgerError(
    'floor_crossed',
    `Account ${row.code} has ${formatAmount(available)} available and may not go below ${formatAmount(floor)}; ` +
      `${formatAmount(requested)} was asked for.`,
    {
      accountId: row.account_id,
      accountCode: row.code,
      floor: formatAmount(floor),
      balance: formatAmount(new Money(row.balance)),
      held: formatAmount(new Money(row.held)),
      available: formatAmount(available),
      requested: formatAmount(requested),
      shortfall: formatAmount(requested.minus(available.minus(floor))),
    },
  );
}
