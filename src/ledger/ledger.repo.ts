import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { prepared, type Db, type Trx } from '../db/knex';
import type { Account, AccountType, Book, Hold, HoldStatus, JournalEntry, Posting, Side } from './ledger.types';

/** SQL of the ledger. Every function takes the connection or transaction first; no rules here. */

interface AccountRow {
  id: string;
  fund_id: string;
  code: string;
  base_code: string;
  name: string;
  type: AccountType;
  book: Book;
  normal_side: Side;
  currency: string;
  member_id: string | null;
  loan_id: string | null;
  floor: string | null;
  created_at: Date;
}

const ACCOUNT_COLUMNS = `a.id, a.fund_id, a.code, a.base_code, a.name, a.type, a.book, a.normal_side,
  a.currency, a.member_id, a.loan_id, a.floor, a.created_at`;

export function rowToAccount(row: AccountRow): Account {
  return {
    id: row.id,
    fundId: row.fund_id,
    code: row.code,
    baseCode: row.base_code,
    name: row.name,
    type: row.type,
    book: row.book,
    normalSide: row.normal_side,
    currency: row.currency,
    memberId: row.member_id,
    loanId: row.loan_id,
    floor: row.floor,
    createdAt: row.created_at,
  };
}

export interface NewAccount {
  fundId: string;
  code: string;
  name: string;
  type: AccountType;
  book: Book;
  normalSide: Side;
  currency: string;
  memberId: string | null;
  loanId: string | null;
  floor: string | null;
}

/**
 * Inserts accounts with their balance rows; accounts whose code already exists in the fund are
 * left as they are. Returns every requested account, new or existing.
 */
export async function insertAccounts(trx: Trx, accounts: readonly NewAccount[]): Promise<Account[]> {
  if (accounts.length === 0) return [];
  const fundIds = new Set(accounts.map((account) => account.fundId));
  if (fundIds.size !== 1) throw new Error('insertAccounts: all accounts must belong to one fund');
  const fundId = accounts[0]!.fundId;
  await trx.raw(
    `WITH input AS (
       SELECT * FROM jsonb_to_recordset(?::jsonb) AS x(
         code text, name text, type text, book text, normal_side text, currency text,
         member_id uuid, loan_id uuid, floor numeric)
     ), inserted AS (
       INSERT INTO accounts (fund_id, code, name, type, book, normal_side, currency, member_id, loan_id, floor)
       SELECT ?, code, name, type, book, normal_side, currency, member_id, loan_id, floor FROM input
       ON CONFLICT (fund_id, code) DO NOTHING
       RETURNING id, fund_id, normal_side, floor
     )
     INSERT INTO account_balances (account_id, fund_id, normal_side, floor)
     SELECT id, fund_id, normal_side, floor FROM inserted`,
    [
      JSON.stringify(
        accounts.map((account) => ({
          code: account.code,
          name: account.name,
          type: account.type,
          book: account.book,
          normal_side: account.normalSide,
          currency: account.currency,
          member_id: account.memberId,
          loan_id: account.loanId,
          floor: account.floor,
        })),
      ),
      fundId,
    ],
  );
  const found = await trx.raw<{ rows: AccountRow[] }>(
    `SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.fund_id = ? AND a.code = ANY(?::text[])`,
    [fundId, accounts.map((account) => account.code)],
  );
  return found.rows.map(rowToAccount);
}

export async function findAccount(db: Db, fundId: string, accountId: string): Promise<Account | undefined> {
  const result = await db.raw<{ rows: AccountRow[] }>(
    `SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.fund_id = ? AND a.id = ?`,
    [fundId, accountId],
  );
  return result.rows[0] && rowToAccount(result.rows[0]);
}

/** A fund-level account by its chart code (1001, 3101…). */
export async function findAccountByCode(db: Db, fundId: string, code: string): Promise<Account | undefined> {
  const result = await db.raw<{ rows: AccountRow[] }>(
    `SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.fund_id = ? AND a.code = ?`,
    [fundId, code],
  );
  return result.rows[0] && rowToAccount(result.rows[0]);
}

export interface BalanceRow {
  account_id: string;
  debit_total: string;
  credit_total: string;
  balance: string;
  held: string;
  floor: string | null;
  version: string;
  effective_watermark: string | null;
}

export interface AccountWithBalanceRow extends AccountRow, BalanceRow {}

export interface ListAccountsFilter {
  book?: Book | undefined;
  type?: AccountType | undefined;
  baseCode?: string | undefined;
  memberId?: string | undefined;
  afterCode?: string | undefined;
  limit: number;
}

export async function listAccountsWithBalances(
  db: Db,
  fundId: string,
  filter: ListAccountsFilter,
): Promise<AccountWithBalanceRow[]> {
  const query = db
    .select(
      db.raw(ACCOUNT_COLUMNS),
      'b.debit_total',
      'b.credit_total',
      'b.balance',
      'b.held',
      'b.version',
      'b.effective_watermark',
    )
    .from({ a: 'accounts' })
    .join({ b: 'account_balances' }, 'b.account_id', 'a.id')
    .where('a.fund_id', fundId)
    .orderBy('a.code')
    .limit(filter.limit);
  if (filter.book) query.andWhere('a.book', filter.book);
  if (filter.type) query.andWhere('a.type', filter.type);
  if (filter.baseCode) query.andWhere('a.base_code', filter.baseCode);
  if (filter.memberId) query.andWhere('a.member_id', filter.memberId);
  if (filter.afterCode) query.andWhere('a.code', '>', filter.afterCode);
  return (await query) as AccountWithBalanceRow[];
}

export async function currentBalance(db: Db, accountId: string): Promise<BalanceRow | undefined> {
  const result = await db.raw<{ rows: BalanceRow[] }>(
    `SELECT account_id, debit_total, credit_total, balance, held, floor, version, effective_watermark
       FROM account_balances WHERE account_id = ?`,
    [accountId],
  );
  return result.rows[0];
}

export interface LockedBalanceRow extends BalanceRow {
  fund_id: string;
  code: string;
  name: string;
  member_id: string | null;
  book: Book;
  normal_side: Side;
  currency: string;
  fund_currency: string;
  fund_timezone: string;
}

/**
 * Every statement of a posting finds its rows one by one, by key: a balance row by its account id,
 * an account by its id or by (fund, chart code). A posting names a few accounts of a fund that may
 * have thousands (a sub-account per member and per loan), and the plan a prepared statement keeps
 * expects ten rows or so from an array, too few, by its costs, to be worth an index: joined the
 * usual way it reads the whole table, while it holds the lock on the fund's cash account that every
 * entry waits for. A subquery that PostgreSQL cannot merge into a join (its FOR UPDATE or LIMIT
 * keeps it apart) runs once per key and uses the key's index whatever the statistics say.
 */

/**
 * The ids of the accounts with the chart codes of `codes` (a FROM item with a column `code`;
 * nulls are skipped) in one fund, one lookup per code.
 */
function codeIdsSelect(fundId: string, codes: string): string {
  return `SELECT (SELECT a.id FROM accounts a WHERE a.fund_id = ${fundId} AND a.code = c.code)
            FROM ${codes} WHERE c.code IS NOT NULL`;
}

/**
 * The balance rows of the accounts in the uuid[] expression `accountIds` that belong to
 * `fundId`, locked one by one in account-id order, so that two entries touching the same accounts
 * always queue instead of deadlocking: a FROM list in which `b` is the locked row. `condition`
 * (on nothing locked yet) can stop it before it locks anything.
 */
function lockedBalancesFrom(accountIds: string, fundId: string, condition = 'true'): string {
  return `(SELECT DISTINCT w.id FROM unnest(${accountIds}) AS w(id)
              WHERE w.id IS NOT NULL AND ${condition}
              ORDER BY w.id) w
      CROSS JOIN LATERAL (
              SELECT b.* FROM account_balances b WHERE b.account_id = w.id AND b.fund_id = ${fundId}
                 FOR UPDATE) b`;
}

/** The rows of lockedBalancesFrom, each with its account and fund. */
function lockBalancesSelect(accountIds: string, fundId: string, condition = 'true'): string {
  return `SELECT b.account_id, b.debit_total, b.credit_total, b.balance, b.held, b.floor, b.version,
            b.effective_watermark, a.fund_id, a.code, a.name, a.member_id, a.book, a.normal_side, a.currency,
            a.fund_currency, a.fund_timezone
       FROM ${lockedBalancesFrom(accountIds, fundId, condition)}
      CROSS JOIN LATERAL (
              SELECT a.fund_id, a.code, a.name, a.member_id, a.book, a.normal_side, a.currency,
                     f.currency AS fund_currency, f.timezone AS fund_timezone
                FROM accounts a JOIN funds f ON f.id = a.fund_id
               WHERE a.id = b.account_id
               LIMIT 1) a`;
}

/** Locks the balance rows of the given accounts of one fund in one statement (lockBalancesSelect). */
export async function lockBalances(
  trx: Trx,
  fundId: string,
  accountIds: readonly string[],
): Promise<LockedBalanceRow[]> {
  const result = await prepared<{ rows: LockedBalanceRow[] }>(
    trx,
    'ledger_lock_balances',
    `${lockBalancesSelect('?::uuid[]', '?')} ORDER BY b.account_id`,
    [[...accountIds], fundId],
  );
  return result.rows;
}

export interface NewEntry {
  fundId: string;
  kind: string;
  effectiveDate: string;
  memo: string;
  idempotencyKey: string | null;
  reversesEntryId: string | null;
  actorId: string | null;
  requestId: string | null;
}

export interface EntryHeader {
  id: string;
  seq: string;
  posted_at: Date;
}

export interface EntryLineRow {
  lineNo: number;
  accountId: string | null;
  accountCode: string | null;
  side: Side;
  amount: string;
  memo: string | null;
}

/** What the rules need to know about the entry, checked in SQL before writing (see postEntryAtomically). */
export interface PostingGuards {
  /** The currency the caller asserted, if any. */
  currency: string | null;
  /** The caller's clock: the effective date may not be after its date in the fund's time zone. */
  now: Date;
  fundBookOnly: boolean;
  /** Holds this entry consumes, per account. */
  releasedHolds: readonly { accountId: string; amount: string }[];
}

export interface PostedAccountRow extends LockedBalanceRow {
  /** After the write, or null when nothing was written. */
  new_debit_total: string | null;
  new_credit_total: string | null;
  new_balance: string | null;
  new_held: string | null;
  new_version: string | null;
}

export interface AtomicPostResult {
  header: EntryHeader | undefined;
  /** The locked balance rows as they were before the entry, with their new figures when written. */
  accounts: PostedAccountRow[];
  /** Whether the database found every rule met and wrote the postings and balances. */
  written: boolean;
  postings: number;
}

/** Entries with more lines than this are planned on every call rather than once (see below). */
export const GENERIC_PLAN_LINES_MAX = 16;

/**
 * The first statement of a posting: the header, then the locks. Only once the header is in: a
 * replay (its key used already) locks nothing, and two postings with one key queue on the header
 * before either locks a balance. The rows are found by their ids, the lines' own and those of the
 * chart codes they name, and locked in id order (lockedBalancesFrom, without the account and fund,
 * which the posting statement reads); an unknown code matches nothing.
 * Returns the locked ids, which the caller drops.
 */
const ENTRY_AND_LOCKS_SQL = `WITH entry AS (
       INSERT INTO journal_entries
         (id, fund_id, kind, effective_date, memo, idempotency_key, reverses_entry_id, actor_id, request_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (fund_id, idempotency_key) DO NOTHING
       RETURNING fund_id
     )
     SELECT b.account_id
       FROM ${lockedBalancesFrom(
         `?::uuid[] || ARRAY(${codeIdsSelect('(SELECT fund_id FROM entry)', 'unnest(?::text[]) AS c(code)')})`,
         '(SELECT fund_id FROM entry)',
       )}`;

/**
 * For entries of many lines: each line's account id, lines naming a chart code resolved by one
 * index lookup each, so that the lines join their locked rows on the id alone. An unknown code
 * resolves to null and matches nothing.
 */
const RESOLVED_LINES_CTE = `
     resolved AS MATERIALIZED (
       SELECT i.line_no, coalesce(i.account_id, a.id) AS account_id
         FROM input i
         LEFT JOIN accounts a
           ON i.account_id IS NULL AND a.fund_id = (SELECT fund_id FROM params) AND a.code = i.account_code
     ),`;

/**
 * The whole posting in one round trip, as two statements sent together (ADR 0021):
 *  1. (ENTRY_AND_LOCKS_SQL) insert the header (nothing when its idempotency key was used already),
 *     then lock the balance rows of every account the lines name, by id or chart code, in id order;
 *  2. (the posting statement) compute each posting's running totals, balance, version and watermark
 *     from the locked rows and the lines before it (in line order, per account); then, only if every
 *     rule holds (accounts found, currency, each book balanced, effective date not in the future,
 *     floors with holds counted, fund book only when asked), update the balances and insert the
 *     postings.
 * Two statements because each takes its snapshot when it starts: the second starts once the first
 * holds the locks, so it reads the rows as they are and never has to re-read one that a concurrent
 * entry changed while it waited. One statement that waited would re-evaluate itself for every such
 * row (EvalPlanQual), setting up its whole plan again, while holding the hot account's lock.
 * It returns the locked rows before and after. The service re-derives the same figures and rules
 * from the rows before, raises the typed refusal when a rule fails, and asserts that what the
 * database wrote is what it computed. The CHECKs and triggers hold whatever these statements do,
 * and the posting statement locks the rows itself too, so it stays right on its own.
 */
export async function postEntryAtomically(
  trx: Trx,
  entry: NewEntry,
  lines: readonly EntryLineRow[],
  guards: PostingGuards,
): Promise<AtomicPostResult> {
  type Result = {
    rows: (Partial<PostedAccountRow> & {
      entry_id: string | null;
      entry_seq: string | null;
      entry_posted_at: Date | null;
      written: boolean;
      postings: string;
    })[];
  };
  // Lines match their locked rows by id, or by chart code: a join with an OR, which is cheapest
  // for a few lines and quadratic for many; those resolve their codes first (RESOLVED_LINES_CTE).
  const large = lines.length > GENERIC_PLAN_LINES_MAX;
  const sql = `WITH entry AS (
       SELECT id, seq, posted_at FROM journal_entries WHERE id = ? AND fund_id = ?
     ), params AS (
       SELECT ?::uuid AS fund_id, ?::date AS effective_date, ?::text AS currency, ?::timestamptz AS now,
              ?::boolean AS fund_book_only
     ), input AS (
       SELECT * FROM unnest(?::int[], ?::uuid[], ?::text[], ?::text[], ?::numeric[], ?::text[])
                  AS l(line_no, account_id, account_code, side, amount, memo)
     ), released AS (
       SELECT * FROM unnest(?::uuid[], ?::numeric[]) AS r(account_id, amount)
     ),${large ? RESOLVED_LINES_CTE : ''} locked AS MATERIALIZED (
       -- The first statement has locked these rows already, when it inserted the header (a replay
       -- finds no header, and locks nothing). Locking them again costs nothing and keeps this
       -- statement right on its own.
       ${lockBalancesSelect(
         `ARRAY(SELECT account_id FROM input WHERE account_id IS NOT NULL)
          || ARRAY(${codeIdsSelect('(SELECT fund_id FROM params)', '(SELECT account_code FROM input) AS c(code)')})`,
         '(SELECT fund_id FROM params)',
         'EXISTS (SELECT 1 FROM entry)',
       )}
     ), lines AS (
       SELECT i.line_no, k.account_id, i.side, i.amount, i.memo, k.normal_side, k.book, k.effective_watermark,
              k.debit_total + sum(CASE i.side WHEN 'debit' THEN i.amount ELSE 0 END) OVER running AS debit_total_after,
              k.credit_total + sum(CASE i.side WHEN 'credit' THEN i.amount ELSE 0 END) OVER running AS credit_total_after,
              k.version + row_number() OVER running AS version_after
         FROM input i
         ${large ? 'JOIN resolved r ON r.line_no = i.line_no JOIN locked k ON k.account_id = r.account_id' : 'JOIN locked k ON k.account_id = i.account_id OR (i.account_id IS NULL AND k.code = i.account_code)'}
       WINDOW running AS (PARTITION BY k.account_id ORDER BY i.line_no ROWS UNBOUNDED PRECEDING)
     ), totals AS (
       SELECT k.account_id, k.normal_side, k.held, k.floor,
              k.debit_total + sum(CASE l.side WHEN 'debit' THEN l.amount ELSE 0 END) AS debit_total,
              k.credit_total + sum(CASE l.side WHEN 'credit' THEN l.amount ELSE 0 END) AS credit_total,
              k.version + count(*) AS version,
              greatest(k.effective_watermark, (SELECT effective_date FROM params)) AS watermark,
              coalesce((SELECT sum(r.amount) FROM released r WHERE r.account_id = k.account_id), 0) AS held_released
         FROM locked k JOIN lines l ON l.account_id = k.account_id
        GROUP BY k.account_id, k.normal_side, k.held, k.floor, k.debit_total, k.credit_total, k.version,
                 k.effective_watermark
     ), figures AS (
       SELECT t.*,
              CASE t.normal_side WHEN 'debit' THEN t.debit_total - t.credit_total
                                 ELSE t.credit_total - t.debit_total END AS balance
         FROM totals t
     ), verdict AS (
       SELECT (SELECT count(*) FROM entry) = 1
          AND (SELECT count(*) FROM lines) = (SELECT count(*) FROM input)
          AND NOT EXISTS (SELECT 1 FROM locked WHERE currency <> fund_currency)
          AND ((SELECT currency FROM params) IS NULL
               OR NOT EXISTS (SELECT 1 FROM locked WHERE fund_currency <> (SELECT currency FROM params)))
          AND NOT EXISTS (SELECT 1 FROM lines GROUP BY book
                          HAVING sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) <> 0)
          AND (SELECT effective_date FROM params)
              <= ((SELECT now FROM params) AT TIME ZONE (SELECT fund_timezone FROM locked LIMIT 1))::date
          AND NOT EXISTS (SELECT 1 FROM figures
                          WHERE floor IS NOT NULL AND balance - (held - held_released) < floor)
          AND NOT ((SELECT fund_book_only FROM params) AND EXISTS (SELECT 1 FROM lines WHERE book <> 'fund'))
          AS ok
     ), updated AS (
       -- Every new value comes from the locked row, none from b: when a concurrent commit makes
       -- PostgreSQL re-read the row (EvalPlanQual), the CHECKs have already been evaluated on a
       -- tuple built from the statement's snapshot, and a value taken from b would be stale there.
       UPDATE account_balances b
          SET debit_total = f.debit_total, credit_total = f.credit_total, balance = f.balance,
              held = f.held - f.held_released, version = f.version, effective_watermark = f.watermark,
              updated_at = now()
         FROM figures f
        WHERE b.account_id = f.account_id AND (SELECT ok FROM verdict)
       RETURNING b.account_id, b.debit_total, b.credit_total, b.balance, b.held, b.version
     ), inserted AS (
       INSERT INTO postings (fund_id, entry_id, line_no, account_id, side, amount, effective_date, memo,
                             debit_total_after, credit_total_after, balance_after, version_after,
                             watermark_after, backdated)
       SELECT (SELECT fund_id FROM params), e.id, l.line_no, l.account_id, l.side, l.amount,
              (SELECT effective_date FROM params), l.memo, l.debit_total_after, l.credit_total_after,
              CASE l.normal_side WHEN 'debit' THEN l.debit_total_after - l.credit_total_after
                                 ELSE l.credit_total_after - l.debit_total_after END,
              l.version_after,
              greatest(l.effective_watermark, (SELECT effective_date FROM params)),
              coalesce(l.effective_watermark > (SELECT effective_date FROM params), false)
         FROM lines l CROSS JOIN entry e
        WHERE (SELECT ok FROM verdict)
       RETURNING 1
     )
     SELECT k.*, u.debit_total AS new_debit_total, u.credit_total AS new_credit_total, u.balance AS new_balance,
            u.held AS new_held, u.version AS new_version,
            e.id AS entry_id, e.seq AS entry_seq, e.posted_at AS entry_posted_at,
            (SELECT ok FROM verdict) AS written, (SELECT count(*) FROM inserted) AS postings
       FROM (SELECT 1) AS one
       LEFT JOIN entry e ON true
       LEFT JOIN locked k ON true
       LEFT JOIN updated u ON u.account_id = k.account_id
      ORDER BY k.account_id`;
  // Chosen here, so that both statements can name the entry.
  const entryId = randomUUID();
  const accountIds = lines.map((line) => line.accountId);
  const accountCodes = lines.map((line) => line.accountCode);
  const bindings = [
    entryId,
    entry.fundId,
    entry.fundId,
    entry.effectiveDate,
    guards.currency,
    guards.now,
    guards.fundBookOnly,
    lines.map((line) => line.lineNo),
    accountIds,
    accountCodes,
    lines.map((line) => line.side),
    lines.map((line) => line.amount),
    lines.map((line) => line.memo),
    guards.releasedHolds.map((hold) => hold.accountId),
    guards.releasedHolds.map((hold) => hold.amount),
  ];
  const entryAndLocks = {
    name: 'ledger_post_entry_header_and_locks',
    sql: ENTRY_AND_LOCKS_SQL,
    bindings: [
      entryId,
      entry.fundId,
      entry.kind,
      entry.effectiveDate,
      entry.memo,
      entry.idempotencyKey,
      entry.reversesEntryId,
      entry.actorId,
      entry.requestId,
      accountIds,
      accountCodes,
    ],
  };
  // A prepared statement's generic plan assumes one row per array parameter: right for the two to
  // six lines of almost every entry, but for a batch entry of hundreds of lines it joins by nested
  // loops, quadratic in the lines. Those are planned for their real size on every call, after the
  // header and locks in a round trip of their own.
  let result: Result;
  if (lines.length <= GENERIC_PLAN_LINES_MAX) {
    result = await prepared<Result>(trx, 'ledger_post_entry', sql, bindings, { leading: [entryAndLocks] });
  } else {
    await prepared(trx, entryAndLocks.name, entryAndLocks.sql, entryAndLocks.bindings);
    result = (await trx.raw(sql, bindings as Knex.RawBinding[])) as unknown as Result;
  }
  const first = result.rows[0];
  const header =
    first?.entry_id && first.entry_seq && first.entry_posted_at
      ? { id: first.entry_id, seq: first.entry_seq, posted_at: first.entry_posted_at }
      : undefined;
  const accounts = result.rows
    .filter((row) => row.account_id !== null && row.account_id !== undefined)
    .map(
      ({ entry_id: _id, entry_seq: _seq, entry_posted_at: _at, written: _written, postings: _postings, ...row }) =>
        row as PostedAccountRow,
    );
  return { header, accounts, written: first?.written === true, postings: Number(first?.postings ?? 0) };
}

export interface BatchEntryHeader {
  kind: string;
  memo: string;
  idempotencyKey: string;
}

export interface BatchLineRow {
  /** Index of the line's entry in the batch, from 0. */
  entryNo: number;
  lineNo: number;
  accountId: string;
  side: Side;
  amount: string;
  memo: string | null;
}

export interface BatchPostResult {
  /** Whether every header was new and every rule held, so that everything was written. */
  written: boolean;
  /** The new headers in batch order (all of them when written). */
  entries: EntryHeader[];
  postings: number;
  accounts: number;
  /** What the statement added to the debit and credit totals of the balances it updated. */
  debitAdded: string;
  creditAdded: string;
}

/**
 * Many entries of one fund and one effective date in one statement: the set-based form of
 * postEntryAtomically, for jobs that post thousands of lines at once. Lines name accounts by id;
 * no holds are consumed. The running totals of an account run through the batch in entry then
 * line order, as if the entries had been posted one after the other, and the floor is checked
 * where each entry leaves each account. Nothing is written unless every header is new (no key
 * used before) and every rule holds for every entry; the caller then posts the entries one by
 * one, which replays or refuses each precisely.
 */
export async function postBatchAtomically(
  trx: Trx,
  batch: { fundId: string; effectiveDate: string; actorId: string | null; requestId: string | null; now: Date },
  headers: readonly BatchEntryHeader[],
  lines: readonly BatchLineRow[],
): Promise<BatchPostResult> {
  const result = await trx.raw<{
    rows: {
      written: boolean;
      entries: { id: string; seq: string; posted_at: string }[] | null;
      postings: string;
      accounts: string;
      debit_added: string | null;
      credit_added: string | null;
    }[];
  }>(
    `WITH params AS (
       SELECT ?::uuid AS fund_id, ?::date AS effective_date, ?::uuid AS actor_id, ?::text AS request_id,
              ?::timestamptz AS now
     ), headers AS (
       SELECT * FROM unnest(?::int[], ?::text[], ?::text[], ?::text[]) AS h(entry_no, kind, memo, idempotency_key)
     ), entry AS (
       INSERT INTO journal_entries (fund_id, kind, effective_date, memo, idempotency_key, actor_id, request_id)
       SELECT p.fund_id, h.kind, p.effective_date, h.memo, h.idempotency_key, p.actor_id, p.request_id
         FROM headers h CROSS JOIN params p
        ORDER BY h.entry_no
       ON CONFLICT (fund_id, idempotency_key) DO NOTHING
       RETURNING id, seq, posted_at, idempotency_key
     ), numbered AS MATERIALIZED (
       SELECT h.entry_no, e.id, e.seq, e.posted_at FROM headers h JOIN entry e ON e.idempotency_key = h.idempotency_key
     ), input AS (
       SELECT * FROM unnest(?::int[], ?::int[], ?::uuid[], ?::text[], ?::numeric[], ?::text[])
                  AS l(entry_no, line_no, account_id, side, amount, memo)
     ), fund AS (
       SELECT f.currency, f.timezone FROM funds f WHERE f.id = (SELECT fund_id FROM params)
     ), locked AS MATERIALIZED (
       -- The columns the rules need, without the fund's row on each (it is the same one).
       SELECT b.account_id, b.debit_total, b.credit_total, b.held, b.floor, b.version, b.effective_watermark,
              a.book, a.normal_side, a.currency
         FROM account_balances b
         JOIN accounts a ON a.id = b.account_id
        -- Only when every header is new: a batch with a key used before locks nothing.
        WHERE (SELECT count(*) FROM numbered) = (SELECT count(*) FROM headers)
          AND b.fund_id = (SELECT fund_id FROM params)
          AND b.account_id IN (SELECT DISTINCT account_id FROM input)
        ORDER BY b.account_id
          FOR UPDATE OF b
     ), lines AS MATERIALIZED (
       SELECT i.entry_no, i.line_no, k.account_id, i.side, i.amount, i.memo, k.normal_side, k.book, k.floor, k.held,
              k.effective_watermark,
              k.debit_total + sum(CASE i.side WHEN 'debit' THEN i.amount ELSE 0 END) OVER running AS debit_total_after,
              k.credit_total + sum(CASE i.side WHEN 'credit' THEN i.amount ELSE 0 END) OVER running AS credit_total_after,
              k.version + row_number() OVER running AS version_after,
              -- The account's last line in this entry: where the entry leaves it, and its floor is checked.
              lead(i.entry_no) OVER running IS DISTINCT FROM i.entry_no AS leaves_entry,
              lead(i.entry_no) OVER running IS NULL AS last_of_account
         FROM input i
         JOIN locked k ON k.account_id = i.account_id
       WINDOW running AS (PARTITION BY k.account_id ORDER BY i.entry_no, i.line_no ROWS UNBOUNDED PRECEDING)
     ), figures AS (
       SELECT l.*,
              CASE l.normal_side WHEN 'debit' THEN l.debit_total_after - l.credit_total_after
                                 ELSE l.credit_total_after - l.debit_total_after END AS balance_after
         FROM lines l
     ), verdict AS (
       SELECT (SELECT count(*) FROM numbered) = (SELECT count(*) FROM headers)
          AND (SELECT count(*) FROM lines) = (SELECT count(*) FROM input)
          AND NOT EXISTS (SELECT 1 FROM locked WHERE currency <> (SELECT currency FROM fund))
          AND (SELECT count(*) FROM lines) >= 2 * (SELECT count(*) FROM headers)
          AND NOT EXISTS (SELECT 1 FROM lines GROUP BY entry_no HAVING count(*) < 2)
          AND NOT EXISTS (SELECT 1 FROM lines GROUP BY entry_no, book
                          HAVING sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) <> 0)
          AND (SELECT effective_date FROM params)
              <= ((SELECT now FROM params) AT TIME ZONE (SELECT timezone FROM fund))::date
          AND NOT EXISTS (SELECT 1 FROM figures
                          WHERE leaves_entry AND floor IS NOT NULL AND balance_after - held < floor)
          AS ok
     ), updated AS (
       -- Every new value comes from the locked row and the lines, none from b (see postEntryAtomically).
       UPDATE account_balances b
          SET debit_total = f.debit_total_after, credit_total = f.credit_total_after, balance = f.balance_after,
              version = f.version_after,
              effective_watermark = greatest(f.effective_watermark, (SELECT effective_date FROM params)),
              updated_at = now()
         FROM figures f
        WHERE f.last_of_account AND b.account_id = f.account_id AND (SELECT ok FROM verdict)
       RETURNING b.account_id
     ), added AS (
       SELECT sum(f.debit_total_after - k.debit_total) AS debit_added,
              sum(f.credit_total_after - k.credit_total) AS credit_added
         FROM figures f JOIN locked k ON k.account_id = f.account_id
        WHERE f.last_of_account AND (SELECT ok FROM verdict)
     ), inserted AS (
       INSERT INTO postings (fund_id, entry_id, line_no, account_id, side, amount, effective_date, memo,
                             debit_total_after, credit_total_after, balance_after, version_after,
                             watermark_after, backdated)
       SELECT (SELECT fund_id FROM params), n.id, f.line_no, f.account_id, f.side, f.amount,
              (SELECT effective_date FROM params), f.memo, f.debit_total_after, f.credit_total_after,
              f.balance_after, f.version_after,
              greatest(f.effective_watermark, (SELECT effective_date FROM params)),
              coalesce(f.effective_watermark > (SELECT effective_date FROM params), false)
         FROM figures f JOIN numbered n ON n.entry_no = f.entry_no
        WHERE (SELECT ok FROM verdict)
       RETURNING 1
     )
     SELECT (SELECT ok FROM verdict) AS written,
            (SELECT json_agg(json_build_object('id', id, 'seq', seq::text, 'posted_at', posted_at) ORDER BY entry_no)
               FROM numbered) AS entries,
            (SELECT count(*) FROM inserted) AS postings, (SELECT count(*) FROM updated) AS accounts,
            (SELECT debit_added::text FROM added) AS debit_added, (SELECT credit_added::text FROM added) AS credit_added`,
    [
      batch.fundId,
      batch.effectiveDate,
      batch.actorId,
      batch.requestId,
      batch.now,
      headers.map((_, index) => index),
      headers.map((header) => header.kind),
      headers.map((header) => header.memo),
      headers.map((header) => header.idempotencyKey),
      lines.map((line) => line.entryNo),
      lines.map((line) => line.lineNo),
      lines.map((line) => line.accountId),
      lines.map((line) => line.side),
      lines.map((line) => line.amount),
      lines.map((line) => line.memo),
    ] as Knex.RawBinding[],
  );
  const row = result.rows[0];
  return {
    written: row?.written === true,
    entries: (row?.entries ?? []).map((entry) => ({
      id: entry.id,
      seq: entry.seq,
      posted_at: new Date(entry.posted_at),
    })),
    postings: Number(row?.postings ?? 0),
    accounts: Number(row?.accounts ?? 0),
    debitAdded: row?.debit_added ?? '0',
    creditAdded: row?.credit_added ?? '0',
  };
}

export async function findEntryIdByIdempotencyKey(db: Db, fundId: string, key: string): Promise<string | undefined> {
  const result = await db.raw<{ rows: { id: string }[] }>(
    'SELECT id FROM journal_entries WHERE fund_id = ? AND idempotency_key = ?',
    [fundId, key],
  );
  return result.rows[0]?.id;
}

export interface NewPosting {
  lineNo: number;
  accountId: string;
  side: Side;
  amount: string;
  memo: string | null;
  debitTotalAfter: string;
  creditTotalAfter: string;
  balanceAfter: string;
  versionAfter: string;
  watermarkAfter: string;
  backdated: boolean;
}

export interface BalanceUpdate {
  accountId: string;
  debitTotal: string;
  creditTotal: string;
  balance: string;
  /** Amount of holds posted by this entry, taken off `held`. */
  heldReleased: string;
  version: string;
  watermark: string;
}

interface EntryRow {
  id: string;
  seq: string;
  fund_id: string;
  kind: string;
  effective_date: string;
  posted_at: Date;
  memo: string;
  idempotency_key: string | null;
  reverses_entry_id: string | null;
  reversed_by_entry_id: string | null;
  actor_id: string | null;
  request_id: string | null;
}

interface PostingRow {
  entry_id: string;
  line_no: number;
  account_id: string;
  account_code: string;
  account_name: string;
  member_id: string | null;
  side: Side;
  amount: string;
  memo: string | null;
  balance_after: string;
  version_after: string;
}

const ENTRY_COLUMNS = `e.id, e.seq, e.fund_id, e.kind, e.effective_date, e.posted_at, e.memo,
  e.idempotency_key, e.reverses_entry_id, e.actor_id, e.request_id,
  (SELECT r.id FROM journal_entries r
    WHERE r.fund_id = e.fund_id AND r.reverses_entry_id = e.id) AS reversed_by_entry_id`;

export interface ListEntriesFilter {
  accountId?: string | undefined;
  /** Only entries with a posting on an account of this member (what a member user may see). */
  memberId?: string | undefined;
  kind?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  afterSeq?: string | undefined;
  order: 'asc' | 'desc';
  limit: number;
}

export async function listEntries(db: Db, fundId: string, filter: ListEntriesFilter): Promise<JournalEntry[]> {
  const query = db
    .select(db.raw(ENTRY_COLUMNS))
    .from({ e: 'journal_entries' })
    .where('e.fund_id', fundId)
    .orderBy('e.seq', filter.order)
    .limit(filter.limit);
  if (filter.kind) query.andWhere('e.kind', filter.kind);
  if (filter.from) query.andWhere('e.effective_date', '>=', filter.from);
  if (filter.to) query.andWhere('e.effective_date', '<=', filter.to);
  if (filter.afterSeq) query.andWhere('e.seq', filter.order === 'asc' ? '>' : '<', filter.afterSeq);
  if (filter.accountId) {
    query.whereExists(
      db
        .select(db.raw('1'))
        .from({ p: 'postings' })
        .whereRaw('p.entry_id = e.id')
        .andWhere('p.account_id', filter.accountId),
    );
  }
  if (filter.memberId) {
    query.whereExists(
      db
        .select(db.raw('1'))
        .from({ p: 'postings' })
        .join({ a: 'accounts' }, 'a.id', 'p.account_id')
        .whereRaw('p.entry_id = e.id')
        .andWhere('a.member_id', filter.memberId),
    );
  }
  const rows = (await query) as EntryRow[];
  return attachPostings(db, rows);
}

export async function getEntry(db: Db, fundId: string, entryId: string): Promise<JournalEntry | undefined> {
  const result = await db.raw<{ rows: EntryRow[] }>(
    `SELECT ${ENTRY_COLUMNS} FROM journal_entries e WHERE e.fund_id = ? AND e.id = ?`,
    [fundId, entryId],
  );
  const [entry] = await attachPostings(db, result.rows);
  return entry;
}

/** Locks the entry row against a concurrent reversal (entries are never updated, only locked). */
export async function lockEntry(trx: Trx, fundId: string, entryId: string): Promise<boolean> {
  const result = await trx.raw<{ rows: unknown[] }>(
    'SELECT 1 FROM journal_entries WHERE fund_id = ? AND id = ? FOR UPDATE',
    [fundId, entryId],
  );
  return result.rows.length === 1;
}

async function attachPostings(db: Db, rows: EntryRow[]): Promise<JournalEntry[]> {
  if (rows.length === 0) return [];
  const postings = await db.raw<{ rows: PostingRow[] }>(
    `SELECT p.entry_id, p.line_no, p.account_id, a.code AS account_code, a.name AS account_name,
            a.member_id, p.side, p.amount, p.memo, p.balance_after, p.version_after
       FROM postings p JOIN accounts a ON a.id = p.account_id
      WHERE p.entry_id = ANY(?::uuid[])
      ORDER BY p.entry_id, p.line_no`,
    [rows.map((row) => row.id)],
  );
  const byEntry = new Map<string, Posting[]>();
  for (const row of postings.rows) {
    const list = byEntry.get(row.entry_id) ?? [];
    list.push({
      lineNo: row.line_no,
      accountId: row.account_id,
      accountCode: row.account_code,
      accountName: row.account_name,
      memberId: row.member_id,
      side: row.side,
      amount: row.amount,
      memo: row.memo,
      balanceAfter: row.balance_after,
      versionAfter: row.version_after,
    });
    byEntry.set(row.entry_id, list);
  }
  return rows.map((row) => ({
    id: row.id,
    seq: row.seq,
    fundId: row.fund_id,
    kind: row.kind,
    effectiveDate: row.effective_date,
    postedAt: row.posted_at,
    memo: row.memo,
    idempotencyKey: row.idempotency_key,
    reversesEntryId: row.reverses_entry_id,
    reversedByEntryId: row.reversed_by_entry_id,
    actorId: row.actor_id,
    requestId: row.request_id,
    postings: byEntry.get(row.id) ?? [],
  }));
}

export interface AccountPostingRow {
  entry_id: string;
  entry_seq: string;
  entry_kind: string;
  entry_memo: string;
  posted_at: Date;
  reverses_entry_id: string | null;
  line_no: number;
  side: Side;
  amount: string;
  memo: string | null;
  effective_date: string;
  balance_after: string;
  version_after: string;
  backdated: boolean;
}

export interface AccountPostingsFilter {
  from?: string | undefined;
  to?: string | undefined;
  /** Keyset position: the version of the last posting of the previous page. */
  afterVersion?: string | undefined;
  order: 'asc' | 'desc';
  limit: number;
}

/**
 * One account's postings in the order they were posted (its versions: postings_account_version_key),
 * each with its entry and the running balance after it; optionally only those dated in [from, to].
 */
export async function accountPostings(
  db: Db,
  fundId: string,
  accountId: string,
  filter: AccountPostingsFilter,
): Promise<AccountPostingRow[]> {
  const where = ['p.fund_id = ?', 'p.account_id = ?'];
  const bindings: (string | number)[] = [fundId, accountId];
  if (filter.from !== undefined) {
    where.push('p.effective_date >= ?');
    bindings.push(filter.from);
  }
  if (filter.to !== undefined) {
    where.push('p.effective_date <= ?');
    bindings.push(filter.to);
  }
  if (filter.afterVersion !== undefined) {
    where.push(`p.version_after ${filter.order === 'asc' ? '>' : '<'} ?`);
    bindings.push(filter.afterVersion);
  }
  const result = await db.raw<{ rows: AccountPostingRow[] }>(
    `SELECT p.entry_id, e.seq AS entry_seq, e.kind AS entry_kind, e.memo AS entry_memo, e.posted_at,
            e.reverses_entry_id, p.line_no, p.side, p.amount, p.memo, p.effective_date, p.balance_after,
            p.version_after, p.backdated
       FROM postings p JOIN journal_entries e ON e.fund_id = p.fund_id AND e.id = p.entry_id
      WHERE ${where.join(' AND ')}
      ORDER BY p.version_after ${filter.order === 'asc' ? 'ASC' : 'DESC'}
      LIMIT ?`,
    [...bindings, filter.limit],
  );
  return result.rows;
}

export interface AsOfTotalsRow {
  account_id: string;
  base_debit_total: string | null;
  base_credit_total: string | null;
  late_debits: string | null;
  late_credits: string | null;
  version_after: string | null;
}

/**
 * The as-of totals of account `a` at the end of a value date (two bindings: the date, twice), as
 * the lateral joins `base` and `late`. The last posting whose watermark is on or before the date
 * carries the totals of every posting before it (all of which are dated on or before it);
 * back-dated postings made after it and dated on or before the date are added from the partial
 * index. See docs/adr/0003-as-of-balances.md.
 */
const AS_OF_TOTALS_JOINS = `
       LEFT JOIN LATERAL (
         SELECT p.debit_total_after, p.credit_total_after, p.version_after
           FROM postings p
          WHERE p.account_id = a.id AND p.watermark_after <= ?
          ORDER BY p.watermark_after DESC, p.version_after DESC
          LIMIT 1
       ) base ON true
       LEFT JOIN LATERAL (
         SELECT sum(p.amount) FILTER (WHERE p.side = 'debit') AS debits,
                sum(p.amount) FILTER (WHERE p.side = 'credit') AS credits
           FROM postings p
          WHERE p.account_id = a.id AND p.backdated AND p.effective_date <= ?
            AND p.version_after > coalesce(base.version_after, 0)
       ) late ON true`;

const AS_OF_TOTALS_COLUMNS = `base.debit_total_after AS base_debit_total, base.credit_total_after AS base_credit_total,
            base.version_after, late.debits AS late_debits, late.credits AS late_credits`;

/** Debit and credit totals of accounts as of the end of a value date (AS_OF_TOTALS_JOINS). */
export async function totalsAsOf(
  db: Db,
  fundId: string,
  asOf: string,
  accountIds?: readonly string[],
): Promise<AsOfTotalsRow[]> {
  const result = await db.raw<{ rows: AsOfTotalsRow[] }>(
    `SELECT a.id AS account_id, ${AS_OF_TOTALS_COLUMNS}
       FROM accounts a ${AS_OF_TOTALS_JOINS}
      WHERE a.fund_id = ? ${accountIds ? 'AND a.id = ANY(?::uuid[])' : ''}`,
    accountIds ? [asOf, asOf, fundId, [...accountIds]] : [asOf, asOf, fundId],
  );
  return result.rows;
}

export interface BaseCodeBalanceRow {
  as_of: string;
  base_code: string;
  /** Σ normal-side balances of the code's accounts at the end of `as_of`. */
  balance: string;
  /** How many of those accounts have a balance other than zero then. */
  accounts_nonzero: number;
}

/**
 * The balances of every account of the given chart codes (e.g. all loans' 1201) at the end of
 * each of the given value dates, summed per code and date, in one statement: for each account and
 * date the as-of totals of ADR 0003 (the last posting whose watermark is on or before the date, plus
 * the back-dated postings after it), as in AS_OF_TOTALS_JOINS. A code without accounts has no rows.
 */
export async function balancesByCodeAsOf(
  db: Db,
  fundId: string,
  baseCodes: readonly string[],
  dates: readonly string[],
): Promise<BaseCodeBalanceRow[]> {
  const result = await db.raw<{ rows: BaseCodeBalanceRow[] }>(
    `WITH figures AS (
       SELECT d.d, a.base_code,
              (coalesce(base.debit_total_after, 0) + coalesce(late.debits, 0)
               - coalesce(base.credit_total_after, 0) - coalesce(late.credits, 0))
              * CASE a.normal_side WHEN 'debit' THEN 1 ELSE -1 END AS balance
         FROM unnest(?::date[]) AS d(d)
         CROSS JOIN accounts a
         LEFT JOIN LATERAL (
           SELECT p.debit_total_after, p.credit_total_after, p.version_after
             FROM postings p
            WHERE p.account_id = a.id AND p.watermark_after <= d.d
            ORDER BY p.watermark_after DESC, p.version_after DESC
            LIMIT 1
         ) base ON true
         LEFT JOIN LATERAL (
           SELECT sum(p.amount) FILTER (WHERE p.side = 'debit') AS debits,
                  sum(p.amount) FILTER (WHERE p.side = 'credit') AS credits
             FROM postings p
            WHERE p.account_id = a.id AND p.backdated AND p.effective_date <= d.d
              AND p.version_after > coalesce(base.version_after, 0)
         ) late ON true
        WHERE a.fund_id = ? AND a.base_code = ANY(?::text[])
     )
     SELECT to_char(f.d, 'YYYY-MM-DD') AS as_of, f.base_code, sum(f.balance)::text AS balance,
            (count(*) FILTER (WHERE f.balance <> 0))::int AS accounts_nonzero
       FROM figures f
      GROUP BY f.d, f.base_code
      ORDER BY f.d, f.base_code`,
    [[...dates], fundId, [...baseCodes]],
  );
  return result.rows;
}

export interface TrialBalanceRow extends AccountRow {
  /** The stored totals now. */
  debit_total: string;
  credit_total: string;
  held: string;
  /** With an as-of date: the totals at its end (AsOfTotalsRow), else null. */
  base_debit_total: string | null;
  base_credit_total: string | null;
  late_debits: string | null;
  late_credits: string | null;
  /** The sums of the account's postings, up to the as-of date when there is one. */
  posted_debits: string;
  posted_credits: string;
  /** Entries (up to the as-of date) whose postings do not balance within a book; the same on every row. */
  unbalanced_entries: string;
}

/**
 * Every account of the fund with the totals a trial balance shows (stored now, or as of the end of
 * a value date) and, in the same statement and so from the same snapshot, what proves them: the
 * sums of each account's postings and the number of entries whose postings do not balance, both
 * up to the date. One pass over the fund's postings grouped two ways (GROUPING SETS); only the
 * accounts' sums and the unbalanced entries are kept.
 */
export async function trialBalanceRows(db: Db, fundId: string, asOf?: string): Promise<TrialBalanceRow[]> {
  const result = await db.raw<{ rows: TrialBalanceRow[] }>(
    `WITH posted AS (
       SELECT p.account_id, p.entry_id, GROUPING(p.account_id) AS per_entry,
              coalesce(sum(p.amount) FILTER (WHERE p.side = 'debit'), 0) AS debits,
              coalesce(sum(p.amount) FILTER (WHERE p.side = 'credit'), 0) AS credits
         FROM accounts a JOIN postings p ON p.account_id = a.id
        WHERE a.fund_id = ? ${asOf ? 'AND p.effective_date <= ?' : ''}
        GROUP BY GROUPING SETS ((p.account_id), (p.entry_id, a.book))
       HAVING GROUPING(p.account_id) = 0
           OR coalesce(sum(p.amount) FILTER (WHERE p.side = 'debit'), 0)
              <> coalesce(sum(p.amount) FILTER (WHERE p.side = 'credit'), 0)
     )
     SELECT ${ACCOUNT_COLUMNS}, b.debit_total, b.credit_total, b.held,
            ${asOf ? AS_OF_TOTALS_COLUMNS : 'NULL AS base_debit_total, NULL AS base_credit_total, NULL AS late_debits, NULL AS late_credits'},
            coalesce(s.debits, 0) AS posted_debits, coalesce(s.credits, 0) AS posted_credits,
            (SELECT count(DISTINCT entry_id) FROM posted WHERE per_entry = 1) AS unbalanced_entries
       FROM accounts a
       JOIN account_balances b ON b.account_id = a.id
       ${asOf ? AS_OF_TOTALS_JOINS : ''}
       LEFT JOIN posted s ON s.per_entry = 0 AND s.account_id = a.id
      WHERE a.fund_id = ?
      ORDER BY a.book, a.code`,
    asOf ? [fundId, asOf, asOf, asOf, fundId] : [fundId, fundId],
  );
  return result.rows;
}

// ---------------------------------------------------------------------------------------------
// Holds

interface HoldRow {
  id: string;
  seq: string;
  fund_id: string;
  account_id: string;
  amount: string;
  status: HoldStatus;
  reason: string;
  reference: string | null;
  expires_at: Date;
  created_at: Date;
  created_by: string | null;
  resolved_at: Date | null;
  entry_id: string | null;
}

const HOLD_COLUMNS = `id, seq, fund_id, account_id, amount, status, reason, reference, expires_at,
  created_at, created_by, resolved_at, entry_id`;

function rowToHold(row: HoldRow): Hold {
  return {
    id: row.id,
    seq: row.seq,
    fundId: row.fund_id,
    accountId: row.account_id,
    amount: row.amount,
    status: row.status,
    reason: row.reason,
    reference: row.reference,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
    createdBy: row.created_by,
    resolvedAt: row.resolved_at,
    entryId: row.entry_id,
  };
}

export interface NewHold {
  fundId: string;
  accountId: string;
  amount: string;
  reason: string;
  reference: string | null;
  expiresAt: Date;
  idempotencyKey: string | null;
  createdBy: string | null;
  /** The service clock's now: a hold is dated by the app's clock, like everything the app records. */
  createdAt: Date;
}

/**
 * What holds on an account reserved at the end of a day in a time zone: those placed before the
 * next midnight there and not resolved (posted, released or expired) before it, by the times the
 * ledger recorded on them (its clock). Holds have no value date (ADR 0003), so this is as of the
 * clock, not of effective dates; for today it is what `account_balances.held` holds now.
 */
export async function heldAtEndOf(
  db: Db,
  fundId: string,
  accountId: string,
  date: string,
  timeZone: string,
): Promise<string> {
  const result = await db.raw<{ rows: { held: string }[] }>(
    `SELECT coalesce(sum(h.amount), 0)::text AS held
       FROM holds h CROSS JOIN (SELECT ((?::date + 1)::timestamp AT TIME ZONE ?) AS t) e
      WHERE h.fund_id = ? AND h.account_id = ? AND h.created_at < e.t AND (h.resolved_at IS NULL OR h.resolved_at >= e.t)`,
    [date, timeZone, fundId, accountId],
  );
  return result.rows[0]!.held;
}

export async function insertHold(trx: Trx, hold: NewHold): Promise<Hold | undefined> {
  const result = await trx.raw<{ rows: HoldRow[] }>(
    `INSERT INTO holds (fund_id, account_id, amount, status, reason, reference, expires_at,
                        idempotency_key, created_by, created_at)
     VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?)
     ON CONFLICT (fund_id, idempotency_key) DO NOTHING
     RETURNING ${HOLD_COLUMNS}`,
    [
      hold.fundId,
      hold.accountId,
      hold.amount,
      hold.reason,
      hold.reference,
      hold.expiresAt,
      hold.idempotencyKey,
      hold.createdBy,
      hold.createdAt,
    ],
  );
  return result.rows[0] && rowToHold(result.rows[0]);
}

export async function findHoldByIdempotencyKey(db: Db, fundId: string, key: string): Promise<Hold | undefined> {
  const result = await db.raw<{ rows: HoldRow[] }>(
    `SELECT ${HOLD_COLUMNS} FROM holds WHERE fund_id = ? AND idempotency_key = ?`,
    [fundId, key],
  );
  return result.rows[0] && rowToHold(result.rows[0]);
}

export async function getHold(db: Db, fundId: string, holdId: string, lock = false): Promise<Hold | undefined> {
  const result = await db.raw<{ rows: HoldRow[] }>(
    `SELECT ${HOLD_COLUMNS} FROM holds WHERE fund_id = ? AND id = ? ${lock ? 'FOR UPDATE' : ''}`,
    [fundId, holdId],
  );
  return result.rows[0] && rowToHold(result.rows[0]);
}

export async function listHolds(
  db: Db,
  fundId: string,
  filter: {
    accountId?: string | undefined;
    status?: HoldStatus | undefined;
    afterSeq?: string | undefined;
    limit: number;
  },
): Promise<Hold[]> {
  const query = db
    .select(db.raw(HOLD_COLUMNS))
    .from('holds')
    .where('fund_id', fundId)
    .orderBy('seq')
    .limit(filter.limit);
  if (filter.accountId) query.andWhere('account_id', filter.accountId);
  if (filter.status) query.andWhere('status', filter.status);
  if (filter.afterSeq) query.andWhere('seq', '>', filter.afterSeq);
  return ((await query) as HoldRow[]).map(rowToHold);
}

export async function resolveHolds(
  trx: Trx,
  fundId: string,
  holdIds: readonly string[],
  status: Exclude<HoldStatus, 'pending'>,
  entryId: string | null,
  resolvedAt: Date,
): Promise<number> {
  const result = await trx.raw<{ rowCount: number }>(
    `UPDATE holds SET status = ?, resolved_at = ?, entry_id = ?
      WHERE fund_id = ? AND id = ANY(?::uuid[]) AND status = 'pending'`,
    [status, resolvedAt, entryId, fundId, [...holdIds]],
  );
  return result.rowCount;
}

/** Adds (positive) or removes (negative) held amounts on locked balance rows. */
export async function adjustHeld(
  trx: Trx,
  fundId: string,
  changes: readonly { accountId: string; delta: string }[],
): Promise<void> {
  const result = await trx.raw<{ rowCount: number }>(
    `UPDATE account_balances b SET held = b.held + c.delta, updated_at = now()
       FROM jsonb_to_recordset(?::jsonb) AS c(account_id uuid, delta numeric)
      WHERE b.account_id = c.account_id AND b.fund_id = ?`,
    [JSON.stringify(changes.map((change) => ({ account_id: change.accountId, delta: change.delta }))), fundId],
  );
  if (result.rowCount !== changes.length) {
    throw new Error(`adjustHeld: updated ${result.rowCount} balances, expected ${changes.length}`);
  }
}

/** Pending holds past their expiry in one fund, locked; SKIP LOCKED leaves ones being posted alone. */
export async function lockExpiredHolds(trx: Trx, fundId: string, now: Date, limit: number): Promise<Hold[]> {
  const result = await trx.raw<{ rows: HoldRow[] }>(
    `SELECT ${HOLD_COLUMNS} FROM holds
      WHERE fund_id = ? AND status = 'pending' AND expires_at <= ?
      ORDER BY id
      LIMIT ?
        FOR UPDATE SKIP LOCKED`,
    [fundId, now, limit],
  );
  return result.rows.map(rowToHold);
}

export async function fundsWithExpiredHolds(db: Db, now: Date): Promise<string[]> {
  const result = await db.raw<{ rows: { fund_id: string }[] }>(
    `SELECT DISTINCT fund_id FROM holds WHERE status = 'pending' AND expires_at <= ?`,
    [now],
  );
  return result.rows.map((row) => row.fund_id);
}

export async function fundCurrencyAndZone(
  db: Db,
  fundId: string,
): Promise<{ currency: string; timezone: string } | undefined> {
  const result = await db.raw<{ rows: { currency: string; timezone: string }[] }>(
    'SELECT currency, timezone FROM funds WHERE id = ?',
    [fundId],
  );
  return result.rows[0];
}
