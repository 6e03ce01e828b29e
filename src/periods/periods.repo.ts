import type { Db, Trx } from '../db/knex';

/** SQL of period closes, also used by exits to share the open period's result. `trx` first; no rules here. */

export interface LockedFundRow {
  id: string;
  timezone: string;
  established_on: string;
  closed_through: string | null;
}

/**
 * The fund's row, locked FOR UPDATE. Back-dated entries take a share lock on it as they are
 * inserted (trigger journal_entries_period_open), so this waits for those in flight.
 */
export async function lockFundRow(trx: Trx, fundId: string): Promise<LockedFundRow | undefined> {
  const result = await trx.raw<{ rows: LockedFundRow[] }>(
    `SELECT id, timezone, established_on, closed_through FROM funds WHERE id = ? FOR UPDATE`,
    [fundId],
  );
  return result.rows[0];
}

export interface MovementRow {
  account_id: string;
  code: string;
  type: 'income' | 'expense';
  /** Σ credits − Σ debits of the postings dated in the range. */
  movement: string;
}

/** Each income and expense account's movement over [from, to]; net income is their sum. */
export async function profitAndLossMovements(db: Db, fundId: string, from: string, to: string): Promise<MovementRow[]> {
  const result = await db.raw<{ rows: MovementRow[] }>(
    `SELECT a.id AS account_id, a.code, a.type,
            sum(CASE p.side WHEN 'credit' THEN p.amount ELSE -p.amount END) AS movement
       FROM postings p
       JOIN accounts a ON a.id = p.account_id
      WHERE p.fund_id = ? AND a.fund_id = ? AND a.type IN ('income', 'expense')
        AND p.effective_date BETWEEN ? AND ?
      GROUP BY a.id, a.code, a.type
      ORDER BY a.code`,
    [fundId, fundId, from, to],
  );
  return result.rows;
}

/** The value date of the fund's first income or expense posting, if any. */
export async function firstProfitAndLossDate(db: Db, fundId: string): Promise<string | null> {
  const result = await db.raw<{ rows: { first: string | null }[] }>(
    `SELECT min(p.effective_date) AS first
       FROM postings p JOIN accounts a ON a.id = p.account_id
      WHERE p.fund_id = ? AND a.type IN ('income', 'expense')`,
    [fundId],
  );
  return result.rows[0]?.first ?? null;
}

export interface CapitalDaysRow {
  member_id: string;
  member_name: string;
  account_id: string;
  /**
   * Time-weighted capital × days: opening balance (day before `from`) × N + Σ signed amount ×
   * (to − value date + 1) over the postings dated in [from, to]. Dividing by N gives the average.
   */
  capital_days: string;
}

/**
 * Every member's time-weighted capital over [from, to] (N days), in one set-based statement: each
 * posting to `3001:<member>` dated on or before `to` counts its signed amount (credit +, debit −)
 * for the days it was held in the range — all N days when dated before `from` (the opening
 * balance), else `to − value date + 1`. Members that have exited are left out, as are members
 * without a capital account. A period's close entry is posted only after this is read, so it never
 * counts itself; earlier closes' allocations are dated before `from` and count as capital.
 */
export async function capitalDays(db: Db, fundId: string, from: string, to: string): Promise<CapitalDaysRow[]> {
  const result = await db.raw<{ rows: CapitalDaysRow[] }>(
    `SELECT m.id AS member_id, m.name AS member_name, a.id AS account_id,
            coalesce(sum(
              CASE p.side WHEN 'credit' THEN p.amount ELSE -p.amount END
              * CASE WHEN p.effective_date < ?::date THEN (?::date - ?::date + 1)
                     ELSE (?::date - p.effective_date + 1) END
            ), 0) AS capital_days
       FROM members m
       JOIN accounts a ON a.fund_id = m.fund_id AND a.member_id = m.id AND a.base_code = '3001'
       LEFT JOIN postings p ON p.account_id = a.id AND p.effective_date <= ?::date
      WHERE m.fund_id = ? AND m.status <> 'exited'
      GROUP BY m.id, m.name, a.id
      ORDER BY m.id`,
    [from, to, from, to, to, fundId],
  );
  return result.rows;
}

/**
 * Σ of the period shares settled by exits since the last close, up to `to`: the part of the open
 * period's result already given to members who left (and posted against 3101).
 */
export async function settledAtExits(
  db: Db,
  fundId: string,
  closedThrough: string | null,
  to: string,
): Promise<string> {
  const result = await db.raw<{ rows: { settled: string }[] }>(
    `SELECT coalesce(sum(period_share), 0) AS settled
       FROM member_exits
      WHERE fund_id = ? AND period_start IS NOT NULL
        AND (?::date IS NULL OR period_start > ?::date) AND period_start <= ?::date`,
    [fundId, closedThrough, closedThrough, to],
  );
  return result.rows[0]!.settled;
}

export async function setClosedThrough(trx: Trx, fundId: string, endsOn: string): Promise<void> {
  await trx('funds').where({ id: fundId }).update({ closed_through: endsOn });
}

export interface AllocationItem {
  memberId: string;
  memberName: string;
  /** Capital × days over the period: the exact weight (the number of days cancels in the shares). */
  capitalDays: string;
  /** Time-weighted average capital, rounded half-up to the fen for display only. */
  weight: string;
  share: string;
}

export interface FundPeriodRow {
  fund_id: string;
  period: string;
  starts_on: string;
  ends_on: string;
  net_income: string;
  settled_at_exits: string;
  entry_id: string | null;
  allocation: AllocationItem[];
  snapshot: Record<string, unknown>;
  snapshot_sha256: string;
  closed_by: string | null;
  closed_at: Date;
}

export async function findPeriod(db: Db, fundId: string, period: string): Promise<FundPeriodRow | undefined> {
  return (await db('fund_periods').where({ fund_id: fundId, period }).first()) as FundPeriodRow | undefined;
}

/** Closed periods that share a day with [startsOn, endsOn]. */
export async function overlappingPeriods(
  db: Db,
  fundId: string,
  startsOn: string,
  endsOn: string,
): Promise<{ period: string; starts_on: string; ends_on: string }[]> {
  return (await db('fund_periods')
    .where({ fund_id: fundId })
    .andWhere('starts_on', '<=', endsOn)
    .andWhere('ends_on', '>=', startsOn)
    .orderBy('ends_on')
    .select('period', 'starts_on', 'ends_on')) as { period: string; starts_on: string; ends_on: string }[];
}

export async function insertPeriod(trx: Trx, row: Omit<FundPeriodRow, 'closed_at'>): Promise<FundPeriodRow> {
  const rows = (await trx('fund_periods')
    .insert({ ...row, allocation: JSON.stringify(row.allocation), snapshot: JSON.stringify(row.snapshot) })
    .returning('*')) as FundPeriodRow[];
  return rows[0]!;
}

export async function listPeriods(
  db: Db,
  fundId: string,
  page: { afterEndsOn?: string | undefined; limit: number },
): Promise<Omit<FundPeriodRow, 'snapshot'>[]> {
  const query = db('fund_periods')
    .where({ fund_id: fundId })
    .orderBy('ends_on')
    .limit(page.limit)
    .select(
      'fund_id',
      'period',
      'starts_on',
      'ends_on',
      'net_income',
      'settled_at_exits',
      'entry_id',
      'allocation',
      'snapshot_sha256',
      'closed_by',
      'closed_at',
    );
  if (page.afterEndsOn) query.andWhere('ends_on', '>', page.afterEndsOn);
  return (await query) as Omit<FundPeriodRow, 'snapshot'>[];
}

/** The last closed period starting on or before `date` (the one holding it, or an earlier one). */
export async function closedPeriodFrom(
  db: Db,
  fundId: string,
  date: string,
): Promise<{ period: string; starts_on: string; ends_on: string } | undefined> {
  return (await db('fund_periods')
    .where({ fund_id: fundId })
    .andWhere('starts_on', '<=', date)
    .orderBy('ends_on', 'desc')
    .first('period', 'starts_on', 'ends_on')) as { period: string; starts_on: string; ends_on: string } | undefined;
}

export interface IncomeRow {
  account_id: string;
  code: string;
  name: string;
  /** Σ credits − Σ debits of its postings dated in the range, close entries left out. */
  amount: string;
}

/**
 * Every income account of the fund with what it earned over [from, to]: the entries dated in the
 * range (journal_entries_fund_effective_idx) other than period closes, which move income to the
 * members and are not income themselves.
 */
export async function incomeBetween(db: Db, fundId: string, from: string, to: string): Promise<IncomeRow[]> {
  const result = await db.raw<{ rows: IncomeRow[] }>(
    `SELECT a.id AS account_id, a.code, a.name, coalesce(m.amount, 0)::text AS amount
       FROM accounts a
       LEFT JOIN (
         SELECT p.account_id, sum(CASE p.side WHEN 'credit' THEN p.amount ELSE -p.amount END) AS amount
           FROM journal_entries e
           JOIN postings p ON p.fund_id = e.fund_id AND p.entry_id = e.id
          WHERE e.fund_id = ? AND e.effective_date BETWEEN ? AND ? AND e.kind <> ?
          GROUP BY p.account_id
       ) m ON m.account_id = a.id
      WHERE a.fund_id = ? AND a.type = 'income'
      ORDER BY a.code`,
    [fundId, from, to, PERIOD_CLOSE_KIND, fundId],
  );
  return result.rows;
}

export const PERIOD_CLOSE_KIND = 'period.close';
