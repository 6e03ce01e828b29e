import type { Db } from '../db/knex';
import type { CheckReport } from './verification';

/**
 * The ledger's verification in SQL: one statement per group of checks, each one pass over the
 * fund's rows, no round trip per row. A statement's `findings` CTE yields the rows that fail, with
 * the columns of FINDING_COLUMNS; reportOf counts them per check and lists the first `limit` in
 * check order. Figures stay numerics until the service writes them.
 */

/** check_name, account_id, account_code, entry_id, line_no, book, figure, expected, stored and the sort keys. */
const FINDING_COLUMNS = `check_name, account_id, account_code, entry_id, line_no, book, figure, expected, stored,
  position, ordinal`;

/**
 * Counts and lists a `findings` CTE. Bindings: the check order (text[]) and the limit. Findings are
 * listed by check, then account code, then position (an entry's seq, a posting's version), then
 * book, then the figure's ordinal within its check.
 */
function reportOf(): string {
  return `, listed AS (
       SELECT ${FINDING_COLUMNS} FROM findings
        ORDER BY array_position(?::text[], check_name), account_code NULLS FIRST, position NULLS FIRST,
                 book NULLS FIRST, ordinal
        LIMIT ?
     )
     SELECT (SELECT coalesce(json_object_agg(check_name, n), '{}'::json)
               FROM (SELECT check_name, count(*) AS n FROM findings GROUP BY check_name) t) AS totals,
            (SELECT coalesce(json_agg(json_build_object(
                      'check', l.check_name, 'accountId', l.account_id, 'accountCode', l.account_code,
                      'entryId', l.entry_id, 'entrySeq', e.seq::text, 'lineNo', l.line_no, 'book', l.book,
                      'figure', l.figure, 'expected', l.expected::text, 'stored', l.stored::text)
                    ORDER BY array_position(?::text[], l.check_name), l.account_code NULLS FIRST,
                             l.position NULLS FIRST, l.book NULLS FIRST, l.ordinal), '[]'::json)
               FROM listed l LEFT JOIN journal_entries e ON e.id = l.entry_id) AS findings`;
}

interface ReportRow {
  totals: Record<string, number>;
  findings: CheckReport['findings'];
}

export interface AccountChecks extends CheckReport {
  accounts: string;
  postings: string;
  pendingHolds: string;
}

/**
 * account_totals, account_last_posting, account_held and account_floor: each account's balance row
 * against the sum and count of its postings (one pass over them), its last posting (one index
 * lookup), its pending holds and its floor. Also counts what it read.
 */
export async function checkAccounts(
  db: Db,
  fundId: string,
  order: readonly string[],
  limit: number,
): Promise<AccountChecks> {
  const result = await db.raw<{ rows: (ReportRow & { accounts: string; postings: string; pending_holds: string })[] }>(
    `WITH posted AS (
       SELECT p.account_id,
              sum(p.amount) FILTER (WHERE p.side = 'debit') AS debits,
              sum(p.amount) FILTER (WHERE p.side = 'credit') AS credits,
              count(*) AS postings
         FROM accounts a JOIN postings p ON p.account_id = a.id
        WHERE a.fund_id = ?
        GROUP BY p.account_id
     ), pending AS (
       SELECT account_id, sum(amount) AS held, count(*) AS holds
         FROM holds WHERE fund_id = ? AND status = 'pending'
        GROUP BY account_id
     ), findings AS MATERIALIZED (
       SELECT c.check_name, a.id AS account_id, a.code AS account_code, NULL::uuid AS entry_id,
              NULL::int AS line_no, NULL::text AS book, c.figure, c.expected, c.stored,
              NULL::numeric AS position, c.ordinal
         FROM accounts a
         LEFT JOIN account_balances b ON b.account_id = a.id
         LEFT JOIN posted s ON s.account_id = a.id
         LEFT JOIN pending h ON h.account_id = a.id
         LEFT JOIN LATERAL (
           SELECT p.debit_total_after, p.credit_total_after, p.version_after
             FROM postings p WHERE p.account_id = a.id
            ORDER BY p.version_after DESC
            LIMIT 1
         ) l ON true
        CROSS JOIN LATERAL (VALUES
           ('account_totals', 1, 'debitTotal', coalesce(s.debits, 0), b.debit_total, false),
           ('account_totals', 2, 'creditTotal', coalesce(s.credits, 0), b.credit_total, false),
           ('account_totals', 3, 'version', coalesce(s.postings, 0)::numeric, b.version::numeric, false),
           ('account_last_posting', 1, 'debitTotal', coalesce(l.debit_total_after, 0), b.debit_total, false),
           ('account_last_posting', 2, 'creditTotal', coalesce(l.credit_total_after, 0), b.credit_total, false),
           ('account_last_posting', 3, 'version', coalesce(l.version_after, 0)::numeric, b.version::numeric, false),
           ('account_held', 1, 'held', coalesce(h.held, 0), b.held, false),
           ('account_floor', 1, 'floor', a.floor, b.floor, false),
           -- A least value, not an equality: available may be anything at or above the floor.
           ('account_floor', 2, 'available', a.floor, b.balance - b.held, true)
        ) AS c(check_name, ordinal, figure, expected, stored, at_least)
        WHERE a.fund_id = ?
          AND CASE WHEN c.at_least THEN c.stored < c.expected ELSE c.stored IS DISTINCT FROM c.expected END
     )${reportOf()},
            (SELECT count(*) FROM accounts WHERE fund_id = ?) AS accounts,
            (SELECT coalesce(sum(postings), 0) FROM posted) AS postings,
            (SELECT coalesce(sum(holds), 0) FROM pending) AS pending_holds`,
    [fundId, fundId, fundId, [...order], limit, [...order], fundId],
  );
  const row = result.rows[0]!;
  return {
    totals: row.totals,
    findings: row.findings,
    accounts: row.accounts,
    postings: row.postings,
    pendingHolds: row.pending_holds,
  };
}

export interface EntryChecks extends CheckReport {
  entries: string;
}

/**
 * entry_balanced and entry_postings: every entry's postings summed per book, in one pass over the
 * fund's entries and their postings. An entry without postings counts as one posting-less book.
 */
export async function checkEntries(
  db: Db,
  fundId: string,
  order: readonly string[],
  limit: number,
): Promise<EntryChecks> {
  const result = await db.raw<{ rows: (ReportRow & { entries: string })[] }>(
    `WITH books AS (
       SELECT e.id AS entry_id, e.seq, a.book,
              coalesce(sum(p.amount) FILTER (WHERE p.side = 'debit'), 0) AS debits,
              coalesce(sum(p.amount) FILTER (WHERE p.side = 'credit'), 0) AS credits,
              sum(count(p.id)) OVER (PARTITION BY e.id) AS postings
         FROM journal_entries e
         LEFT JOIN postings p ON p.entry_id = e.id
         LEFT JOIN accounts a ON a.id = p.account_id
        WHERE e.fund_id = ?
        GROUP BY e.id, e.seq, a.book
     ), findings AS MATERIALIZED (
       SELECT c.check_name, NULL::uuid AS account_id, NULL::text AS account_code, b.entry_id,
              NULL::int AS line_no, c.book, c.figure, c.expected, c.stored, b.seq::numeric AS position,
              c.ordinal
         FROM books b
        CROSS JOIN LATERAL (VALUES
           ('entry_balanced', 1, b.book, 'credits', b.debits, b.credits, b.debits <> b.credits),
           -- At most one book row has fewer than two postings in all: the entry's only one.
           ('entry_postings', 2, NULL, 'postings', 2::numeric, b.postings, b.postings < 2)
        ) AS c(check_name, ordinal, book, figure, expected, stored, broken)
        WHERE c.broken
     )${reportOf()},
            (SELECT count(*) FROM journal_entries WHERE fund_id = ?) AS entries`,
    [fundId, [...order], limit, [...order], fundId],
  );
  const row = result.rows[0]!;
  return { totals: row.totals, findings: row.findings, entries: row.entries };
}

/**
 * posting_running_totals: each posting against the one before it on its account (in version
 * order), in one pass over the fund's postings. The as-of balances (ADR 0003) are read from these
 * running figures, so they hold only if every link does.
 */
export async function checkRunningTotals(
  db: Db,
  fundId: string,
  order: readonly string[],
  limit: number,
): Promise<CheckReport> {
  const result = await db.raw<{ rows: ReportRow[] }>(
    `WITH chain AS (
       SELECT p.entry_id, p.line_no, p.account_id, a.code, a.normal_side, p.side, p.amount,
              p.debit_total_after, p.credit_total_after, p.balance_after, p.version_after,
              coalesce(lag(p.debit_total_after) OVER running, 0) AS debit_total_before,
              coalesce(lag(p.credit_total_after) OVER running, 0) AS credit_total_before,
              coalesce(lag(p.version_after) OVER running, 0) AS version_before
         FROM accounts a JOIN postings p ON p.account_id = a.id
        WHERE a.fund_id = ?
       WINDOW running AS (PARTITION BY p.account_id ORDER BY p.version_after)
     ), findings AS MATERIALIZED (
       SELECT 'posting_running_totals'::text AS check_name, c.account_id, c.code AS account_code, c.entry_id,
              c.line_no::int AS line_no, NULL::text AS book, f.figure, f.expected, f.stored,
              c.version_after::numeric AS position, f.ordinal
         FROM chain c
        CROSS JOIN LATERAL (VALUES
           (1, 'debitTotalAfter', c.debit_total_before + CASE c.side WHEN 'debit' THEN c.amount ELSE 0 END,
               c.debit_total_after),
           (2, 'creditTotalAfter', c.credit_total_before + CASE c.side WHEN 'credit' THEN c.amount ELSE 0 END,
               c.credit_total_after),
           (3, 'balanceAfter', CASE c.normal_side WHEN 'debit' THEN c.debit_total_after - c.credit_total_after
                                                  ELSE c.credit_total_after - c.debit_total_after END,
               c.balance_after),
           (4, 'versionAfter', (c.version_before + 1)::numeric, c.version_after::numeric)
        ) AS f(ordinal, figure, expected, stored)
        WHERE f.stored IS DISTINCT FROM f.expected
     )${reportOf()}`,
    [fundId, [...order], limit, [...order]],
  );
  const row = result.rows[0]!;
  return { totals: row.totals, findings: row.findings };
}

/** book_balanced: each book's stored totals, summed over its accounts' balance rows. */
export async function checkBooks(
  db: Db,
  fundId: string,
  order: readonly string[],
  limit: number,
): Promise<CheckReport> {
  const result = await db.raw<{ rows: ReportRow[] }>(
    `WITH books AS (
       SELECT a.book, coalesce(sum(b.debit_total), 0) AS debits, coalesce(sum(b.credit_total), 0) AS credits
         FROM accounts a JOIN account_balances b ON b.account_id = a.id
        WHERE a.fund_id = ?
        GROUP BY a.book
     ), findings AS MATERIALIZED (
       SELECT 'book_balanced'::text AS check_name, NULL::uuid AS account_id, NULL::text AS account_code,
              NULL::uuid AS entry_id, NULL::int AS line_no, book, 'creditTotal'::text AS figure,
              debits AS expected, credits AS stored, NULL::numeric AS position, 1 AS ordinal
         FROM books
        WHERE debits <> credits
     )${reportOf()}`,
    [fundId, [...order], limit, [...order]],
  );
  const row = result.rows[0]!;
  return { totals: row.totals, findings: row.findings };
}
