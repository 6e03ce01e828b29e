import { assert } from '../assert';
import type { Actor } from '../auth/principal';
import { addDays } from '../clock';
import type { Trx } from '../db/knex';
import type { LedgerService } from '../ledger/ledger.service';
import type { EntryLineInput } from '../ledger/ledger.types';
import { formatAmount, Money, sumAmounts, ZERO } from '../money/money';
import * as repo from './daily-job.repo';

/**
 * Repayments and reversals dated in days the daily job has already run (docs/adr/0012-daily-job.md,
 * "Repayments dated in days already run"). The job accrued those days on balances that no longer
 * hold: a repayment received on day R stops interest on the principal it repays from R on, and a
 * reversal dated V makes it bear interest again from V. So the loan's days from that date are run
 * again with the job's own SQL, restricted to the loan, and the difference of each day is posted
 * dated that day. The books then say, for every day, what they would have said had the money been
 * recorded on the day it came.
 *
 * In two steps, both on the caller's transaction, which holds the fund's job lock (shared), the
 * loan row and its receivables: `rewind` before the repayment is allocated (so it is allocated on
 * what was owed the day before it came) and `rerun` once it is booked.
 */

export const ACCRUAL_ADJUSTMENT_KIND = 'loan.accrual_adjustment';

/** What the job had posted for the loan from `fromDay` on, before the rewind. */
export interface Rewound {
  loanId: string;
  fromDay: string;
  throughDay: string;
  posted: ReadonlyMap<string, { interest: Money; penalty: Money }>;
}

/** What a rerun changed: the differences posted, signed (negative: taken back). */
export interface Rerun {
  fromDay: string;
  throughDay: string;
  interest: Money;
  penalty: Money;
  entryIds: string[];
}

/**
 * Puts the loan's accrual back to the end of the day before `fromDay`, remembering what each later
 * day had posted. Null when the job has not run `fromDay` for the loan: nothing to do again.
 */
export async function rewind(
  trx: Trx,
  loan: { fund_id: string; id: string; schedule_version: number | null },
  fromDay: string,
): Promise<Rewound | null> {
  const throughDay = await repo.accruedThrough(trx, loan.fund_id, loan.id);
  if (throughDay === null || throughDay < fromDay) return null;
  assert(loan.schedule_version !== null, `serviced loan ${loan.id} has no schedule`);
  const days = await repo.accrualDaysFrom(trx, loan.fund_id, loan.id, fromDay);
  await repo.rewindAccrual(trx, loan.fund_id, loan.id, loan.schedule_version, fromDay);
  const posted = new Map(
    days.map((day) => [
      day.accrued_on,
      { interest: new Money(day.interest_accrued_day), penalty: new Money(day.penalty_accrued_day) },
    ]),
  );
  return { loanId: loan.id, fromDay, throughDay, posted };
}

/**
 * Runs the rewound days again for the loan alone and posts each day's difference, dated that day,
 * as one entry `loan.accrual_adjustment`: Dr 1202:<loan> / Cr 4001 for interest owed on top of
 * what was accrued (Cr / Dr for interest taken back), the same with 1203 / 4003 for penalty.
 */
export async function rerun(
  trx: Trx,
  ledger: LedgerService,
  loan: { fund_id: string; id: string; number: number },
  rewound: Rewound,
  post: { actor: Actor; requestId: string; idempotencyKey: string; cause: string },
): Promise<Rerun> {
  const accounts = await adjustmentAccounts(trx, ledger, loan);
  const entryIds: string[] = [];
  const interestDiffs: Money[] = [ZERO];
  const penaltyDiffs: Money[] = [ZERO];
  for (let day = rewound.fromDay; day <= rewound.throughDay; day = addDays(day, 1)) {
    const [row] = await repo.accrueDay(trx, loan.fund_id, day, loan.id);
    const before = rewound.posted.get(day);
    const interest = new Money(row?.interest ?? '0').minus(before?.interest ?? ZERO);
    const penalty = new Money(row?.penalty ?? '0').minus(before?.penalty ?? ZERO);
    interestDiffs.push(interest);
    penaltyDiffs.push(penalty);
    if (interest.isZero() && penalty.isZero()) continue;
    const lines = [
      ...(await differenceLines(accounts, '1202', '4001', interest)),
      ...(await differenceLines(accounts, '1203', '4003', penalty)),
    ];
    const { entry } = await ledger.postEntry(trx, {
      fundId: loan.fund_id,
      effectiveDate: day,
      kind: ACCRUAL_ADJUSTMENT_KIND,
      memo: `Loan #${loan.number}: accrual of ${day} run again after ${post.cause} (interest ${signed(interest)}, penalty interest ${signed(penalty)})`.slice(
        0,
        500,
      ),
      idempotencyKey: `${post.idempotencyKey}:${day}`,
      lines,
      actor: post.actor,
      requestId: post.requestId,
    });
    entryIds.push(entry.id);
  }
  return {
    fromDay: rewound.fromDay,
    throughDay: rewound.throughDay,
    interest: sumAmounts(interestDiffs),
    penalty: sumAmounts(penaltyDiffs),
    entryIds,
  };
}

type AccountIdOf = (code: '1202' | '1203' | '4001' | '4003') => Promise<string>;

/**
 * The accounts a rerun posts to, resolved once: the fund's income accounts at once, the loan's
 * receivables the first time a difference needs them (a penalty account may not exist yet).
 */
async function adjustmentAccounts(
  trx: Trx,
  ledger: LedgerService,
  loan: { fund_id: string; id: string },
): Promise<AccountIdOf> {
  const ids = await repo.fundAccountIds(trx, loan.fund_id, ['4001', '4003']);
  return async (code) => {
    let id = ids.get(code);
    if (id === undefined) {
      assert(code === '1202' || code === '1203', `fund ${loan.fund_id} has no account ${code}`);
      id = (await ledger.ensureSubAccount(trx, loan.fund_id, code, { loanId: loan.id })).id;
      ids.set(code, id);
    }
    return id;
  };
}

async function differenceLines(
  accountIdOf: AccountIdOf,
  receivableCode: '1202' | '1203',
  incomeCode: '4001' | '4003',
  difference: Money,
): Promise<EntryLineInput[]> {
  if (difference.isZero()) return [];
  const amount = formatAmount(difference.abs());
  const owedMore = difference.gt(0);
  return [
    { accountId: await accountIdOf(receivableCode), side: owedMore ? 'debit' : 'credit', amount },
    { accountId: await accountIdOf(incomeCode), side: owedMore ? 'credit' : 'debit', amount },
  ];
}

function signed(amount: Money): string {
  return amount.gt(0) ? `+${formatAmount(amount)}` : formatAmount(amount);
}
