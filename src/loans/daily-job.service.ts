import { assert } from '../assert';
import type { AuditService } from '../audit/audit.service';
import type { Actor } from '../auth/principal';
import { addDays, daysBetween, type Clock } from '../clock';
import type { Db, Trx } from '../db/knex';
import { inTransaction } from '../db/transaction';
import type { Fund, FundService } from '../funds/funds.service';
import { accountTemplate } from '../ledger/chart';
import { insertAccounts, type NewAccount } from '../ledger/ledger.repo';
import type { LedgerService } from '../ledger/ledger.service';
import { ENTRY_LINES_MAX, type EntryLineInput, type PostEntryInput } from '../ledger/ledger.types';
import { formatAmount, Money, sumAmounts, ZERO } from '../money/money';
import { openCasesOnDefault } from '../recovery/recovery.service';
import { dailyJobError } from './daily-job.errors';
import * as repo from './daily-job.repo';

/**
 * The daily loan job (docs/adr/0012-daily-job.md): for one fund and one day, accrues contract
 * interest (Dr 1202:<loan> / Cr 4001) and penalty interest on overdue principal (Dr 1203:<loan> /
 * Cr 4003), marks loans overdue or defaulted and classifies them into the five tiers. Each day runs
 * once per fund, in order, in its own transaction; the SQL works on all loans of the fund at once.
 */

/** Days one run may catch up; a fund further behind runs an earlier date first. */
export const CATCH_UP_DAYS_MAX = 400;
/** Sub-accounts created per statement when loans first need their receivable accounts. */
const ACCOUNTS_PER_INSERT_MAX = 5000;

export const INTEREST_ACCRUAL_KIND = 'loan.interest_accrual';
export const PENALTY_ACCRUAL_KIND = 'loan.penalty_accrual';

export interface DailyJobDeps {
  ledger: LedgerService;
  audit: AuditService;
  funds: FundService;
  clock: Clock;
}

/** What one fund day did. Amounts are strings with 2 decimals. */
export interface DailyJobDay {
  date: string;
  policyVersion: number;
  /** Loans with a contract interest line, and the day's total (Cr 4001). */
  loansAccrued: number;
  interestTotal: string;
  /** Loans with a penalty interest line, and the day's total (Cr 4003). */
  loansPenalized: number;
  penaltyTotal: string;
  /** Loans that went from active to overdue (or straight to defaulted) this day. */
  newlyOverdue: number;
  newlyDefaulted: number;
  /** Overdue or defaulted loans with nothing overdue any more: back to active. */
  cured: number;
  classificationChanges: number;
  entryIds: string[];
}

export interface DayOutcome {
  day: DailyJobDay;
  /** False when the day had already run: `day` is what that run stored. */
  ranNow: boolean;
}

export interface DailyJobPlan {
  /** The requested day, already run: nothing to do. */
  stored: DailyJobDay | undefined;
  /** The days to run, in order (the last is the requested day); empty when stored. */
  days: string[];
}

export class DailyJobService {
  constructor(private readonly deps: DailyJobDeps) {}

  /**
   * Which days a run for `date` must do: nothing when it ran already; otherwise every day from the
   * one after the last run (or, on the first run, from the earliest disbursement, at most `date`)
   * through `date`. A day that has not come yet, a day before the first run and a catch-up longer
   * than CATCH_UP_DAYS_MAX are refused.
   */
  async plan(db: Db, fund: Fund, date: string): Promise<DailyJobPlan> {
    const today = this.deps.funds.today(fund);
    if (date > today) {
      throw dailyJobError(
        'daily_job_date_in_future',
        `The daily job for ${date} cannot run before the day is over; today is ${today} in the fund's time zone.`,
        { date, today },
      );
    }
    const stored = await repo.findRun(db, fund.id, date);
    if (stored) return { stored: stored.result as DailyJobDay, days: [] };
    const bounds = await repo.runBounds(db, fund.id);
    if (bounds.first !== null && date < bounds.first) {
      throw dailyJobError(
        'daily_job_date_before_first_run',
        `The daily job of this fund started on ${bounds.first}; ${date} is before it and was never run.`,
        { date, firstRunDate: bounds.first },
      );
    }
    let from: string;
    if (bounds.last !== null) from = addDays(bounds.last, 1);
    else {
      const earliest = await repo.earliestDisbursement(db, fund.id);
      from = earliest !== null && earliest < date ? earliest : date;
    }
    const count = daysBetween(from, date) + 1;
    assert(count >= 1, `daily job plan from ${from} to ${date} is empty`);
    if (count > CATCH_UP_DAYS_MAX) {
      throw dailyJobError(
        'daily_job_catch_up_too_long',
        `The daily job would have to run ${count} days (${from} to ${date}); one run catches up at most ${CATCH_UP_DAYS_MAX}. Run it for ${addDays(from, CATCH_UP_DAYS_MAX - 1)} first.`,
        { from, date, days: count, daysMax: CATCH_UP_DAYS_MAX },
      );
    }
    return { stored: undefined, days: Array.from({ length: count }, (_, index) => addDays(from, index)) };
  }

  /**
   * Runs the days of a plan but the last, each in its own transaction with its audit row; returns
   * what each did. The caller runs the last day (the route, inside its command).
   */
  async runDays(db: Db, fund: Fund, days: readonly string[], actor: Actor, requestId: string | null) {
    const outcomes: DayOutcome[] = [];
    for (const date of days) {
      outcomes.push(
        await inTransaction(db, async (trx) => {
          const outcome = await this.runDay(trx, fund, date, actor, requestId);
          if (outcome.ranNow) await this.deps.audit.record(trx, { ...auditOf(fund, outcome), actor, requestId });
          return outcome;
        }),
      );
    }
    return outcomes;
  }

  /**
   * One fund day, in the caller's transaction (which it serializes with every other run of the
   * fund). A day already run returns what it stored; otherwise it must be the day after the last
   * run (or the fund's first).
   */
  async runDay(trx: Trx, fund: Fund, date: string, actor: Actor, requestId: string | null): Promise<DayOutcome> {
    await repo.lockFundJob(trx, fund.id);
    const stored = await repo.findRun(trx, fund.id, date);
    if (stored) return { day: stored.result as DailyJobDay, ranNow: false };
    const bounds = await repo.runBounds(trx, fund.id);
    assert(
      bounds.last === null || addDays(bounds.last, 1) === date,
      `daily job of fund ${fund.id}: ${date} is not the day after the last run ${String(bounds.last)}`,
    );
    const { version, policy } = await this.deps.funds.policyInForce(trx, fund, date);

    const accruals = await repo.accrueDay(trx, fund.id, date);
    await this.ensureAccounts(trx, fund, accruals);
    const incomeIds = await repo.fundAccountIds(trx, fund.id, ['4001', '4003']);
    const post = { fund, date, actor, requestId, incomeIds };
    const interest = accrualEntries(post, accruals, 'interest');
    const penalty = accrualEntries(post, accruals, 'penalty');
    // One batch for the day: a handful of statements whatever the number of loans.
    const entries = [...interest.entries, ...penalty.entries];
    const { entryIds } = entries.length === 0 ? { entryIds: [] } : await this.deps.ledger.postEntries(trx, entries);
    assert(entryIds.length === entries.length, `posted ${entryIds.length} of ${entries.length} accrual entries`);

    const counts = await repo.classifyDay(
      trx,
      fund.id,
      date,
      { defaultAfterDaysOverdue: policy.defaultAfterDaysOverdue, ...policy.classification },
      this.deps.clock.now(),
    );
    // A pool loan the day left defaulted gets its recovery case the same day (ADR 0018).
    await openCasesOnDefault(trx, this.deps, fund, date, { actor, requestId });
    const day: DailyJobDay = {
      date,
      policyVersion: version,
      loansAccrued: interest.loans,
      interestTotal: formatAmount(interest.total),
      loansPenalized: penalty.loans,
      penaltyTotal: formatAmount(penalty.total),
      newlyOverdue: counts.newly_overdue,
      newlyDefaulted: counts.newly_defaulted,
      cured: counts.cured,
      classificationChanges: counts.classification_changes,
      entryIds,
    };
    await repo.insertRun(trx, {
      fundId: fund.id,
      date,
      ranAt: this.deps.clock.now(),
      actorId: actor.userId,
      result: day,
    });
    return { day, ranNow: true };
  }

  /** Creates, in a few statements, the 1202 / 1203 accounts of loans that post to them for the first time. */
  private async ensureAccounts(trx: Trx, fund: Fund, rows: repo.AccrualRow[]): Promise<void> {
    const wanted: NewAccount[] = [];
    for (const row of rows) {
      if (row.interest_account_id === null && new Money(row.interest).gt(0))
        wanted.push(loanAccount(fund, '1202', row));
      if (row.penalty_account_id === null && new Money(row.penalty).gt(0)) wanted.push(loanAccount(fund, '1203', row));
    }
    const ids = new Map<string, string>();
    for (let start = 0; start < wanted.length; start += ACCOUNTS_PER_INSERT_MAX) {
      for (const account of await insertAccounts(trx, wanted.slice(start, start + ACCOUNTS_PER_INSERT_MAX))) {
        ids.set(account.code, account.id);
      }
    }
    for (const row of rows) {
      row.interest_account_id ??= ids.get(`1202:${row.loan_id}`) ?? null;
      row.penalty_account_id ??= ids.get(`1203:${row.loan_id}`) ?? null;
    }
  }
}

/**
 * The entries of one fund day and kind, dated the day: Dr the loan's receivable per loan with a
 * non-zero amount, Cr the income account with their total; split into entries of at most
 * ENTRY_LINES_MAX lines when more loans accrue.
 */
function accrualEntries(
  post: { fund: Fund; date: string; actor: Actor; requestId: string | null; incomeIds: Map<string, string> },
  rows: readonly repo.AccrualRow[],
  part: 'interest' | 'penalty',
): { loans: number; total: Money; entries: PostEntryInput[] } {
  const lines: EntryLineInput[] = [];
  for (const row of rows) {
    const amount = new Money(row[part]);
    assert(amount.gte(0), `negative ${part} accrual ${row[part]} for loan ${row.loan_id}`);
    if (amount.isZero()) continue;
    const accountId = part === 'interest' ? row.interest_account_id : row.penalty_account_id;
    assert(accountId !== null, `loan ${row.loan_id} has no ${part} receivable account`);
    lines.push({ accountId, side: 'debit', amount: formatAmount(amount) });
  }
  if (lines.length === 0) return { loans: 0, total: ZERO, entries: [] };
  const incomeCode = part === 'interest' ? '4001' : '4003';
  const incomeId = post.incomeIds.get(incomeCode);
  assert(incomeId, `fund ${post.fund.id} has no account ${incomeCode}`);
  const perEntry = ENTRY_LINES_MAX - 1;
  const count = Math.ceil(lines.length / perEntry);
  const entries: PostEntryInput[] = [];
  let total = ZERO;
  for (let index = 0; index < count; index += 1) {
    const debits = lines.slice(index * perEntry, (index + 1) * perEntry);
    const sum = sumAmounts(debits.map((line) => new Money(line.amount as string)));
    total = total.plus(sum);
    const what = part === 'interest' ? 'Interest' : 'Penalty interest on overdue principal';
    entries.push({
      fundId: post.fund.id,
      effectiveDate: post.date,
      kind: part === 'interest' ? INTEREST_ACCRUAL_KIND : PENALTY_ACCRUAL_KIND,
      memo: `${what} accrued for ${post.date}: ${debits.length} loans (entry ${index + 1} of ${count})`,
      idempotencyKey: `loans.daily_job:${post.date}:${part}:${index + 1}`,
      actor: post.actor,
      requestId: post.requestId ?? undefined,
      lines: [...debits, { accountId: incomeId, side: 'credit', amount: formatAmount(sum) }],
    });
  }
  return { loans: lines.length, total, entries };
}

function loanAccount(fund: Fund, baseCode: '1202' | '1203', row: repo.AccrualRow): NewAccount {
  const template = accountTemplate(baseCode);
  assert(template && template.scope === 'loan', `no per-loan account template ${baseCode}`);
  return {
    fundId: fund.id,
    code: `${baseCode}:${row.loan_id}`,
    name: template.name,
    type: template.type,
    book: template.book,
    normalSide: template.normalSide,
    currency: fund.currency,
    memberId: null,
    loanId: row.loan_id,
    floor: template.floor,
  };
}

/** The audit row of a day run: the day's figures (per-loan detail is in the ledger and the history). */
export function auditOf(fund: Fund, outcome: DayOutcome) {
  return {
    fundId: fund.id,
    action: 'loans.daily_job.run',
    targetType: 'fund',
    targetId: fund.id,
    payload: { ...outcome.day },
  };
}
