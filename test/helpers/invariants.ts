import type { Harness } from './harness';

/**
 * Everything that must hold for a fund after any sequence of operations, checked from the raw
 * tables rather than through the code under test:
 *  - every book balances (Σ debits = Σ credits over postings);
 *  - each account's stored totals, balance and version equal what its postings add up to, and its
 *    last posting carries the same running figures;
 *  - the held amount equals the sum of pending holds and the floor is respected;
 *  - the service's own trial balance agrees, and the audit chain verifies.
 */
export async function expectFundConsistent(h: Harness, fundId: string): Promise<void> {
  const books = await h.db.raw<{ rows: { book: string; debits: string; credits: string }[] }>(
    `SELECT a.book,
            coalesce(sum(p.amount) FILTER (WHERE p.side = 'debit'), 0)::text AS debits,
            coalesce(sum(p.amount) FILTER (WHERE p.side = 'credit'), 0)::text AS credits
       FROM postings p JOIN accounts a ON a.id = p.account_id
      WHERE p.fund_id = ?
      GROUP BY a.book`,
    [fundId],
  );
  for (const book of books.rows)
    expect({ book: book.book, sum: book.debits }).toEqual({ book: book.book, sum: book.credits });

  const mismatches = await h.db.raw<{ rows: unknown[] }>(
    `WITH sums AS (
       SELECT a.id,
              coalesce(sum(p.amount) FILTER (WHERE p.side = 'debit'), 0) AS debits,
              coalesce(sum(p.amount) FILTER (WHERE p.side = 'credit'), 0) AS credits,
              count(p.id) AS postings
         FROM accounts a LEFT JOIN postings p ON p.account_id = a.id
        WHERE a.fund_id = ?
        GROUP BY a.id
     ), last_posting AS (
       SELECT DISTINCT ON (account_id) account_id, balance_after, version_after
         FROM postings WHERE fund_id = ? ORDER BY account_id, version_after DESC
     ), pending AS (
       SELECT account_id, sum(amount) AS held FROM holds WHERE fund_id = ? AND status = 'pending' GROUP BY account_id
     )
     SELECT b.account_id, b.debit_total, s.debits, b.credit_total, s.credits, b.version, s.postings,
            b.balance, l.balance_after, b.held, coalesce(h.held, 0) AS pending_held
       FROM account_balances b
       JOIN sums s ON s.id = b.account_id
       LEFT JOIN last_posting l ON l.account_id = b.account_id
       LEFT JOIN pending h ON h.account_id = b.account_id
      WHERE b.debit_total <> s.debits OR b.credit_total <> s.credits OR b.version <> s.postings
         OR (l.account_id IS NOT NULL AND (l.balance_after <> b.balance OR l.version_after <> b.version))
         OR b.held <> coalesce(h.held, 0)
         OR (b.floor IS NOT NULL AND b.balance - b.held < b.floor)`,
    [fundId, fundId, fundId],
  );
  expect(mismatches.rows).toEqual([]);

  const trial = await h.services.ledger.trialBalance(h.db, fundId);
  expect(trial.balanced).toBe(true);
  const audit = await h.services.audit.verify(h.db, fundId);
  expect(audit).toMatchObject({ ok: true, firstBrokenId: null });
}

export interface FundSnapshot {
  balances: unknown[];
  entries: number;
  postings: number;
  audit: number;
  holds: unknown[];
  idempotencyKeys: number;
  fund: unknown;
  members: unknown[];
  policyVersions: number;
  policyDecisions: number;
  capitalCalls: number;
  capitalCallItems: number;
  contributions: number;
  exits: unknown[];
  periods: number;
}

/** What a refused request must leave exactly as it was. */
export async function snapshot(h: Harness, fundId: string): Promise<FundSnapshot> {
  const count = async (table: string): Promise<number> =>
    Number(((await h.db(table).where({ fund_id: fundId }).count({ n: '*' }))[0] as { n: string }).n);
  return {
    balances: await h.db('account_balances').where({ fund_id: fundId }).orderBy('account_id').select('*'),
    entries: await count('journal_entries'),
    postings: await count('postings'),
    audit: await count('audit_log'),
    holds: await h.db('holds').where({ fund_id: fundId }).orderBy('id').select('*'),
    idempotencyKeys: await count('idempotency_keys'),
    fund: await h.db('funds').where({ id: fundId }).first(),
    members: await h.db('members').where({ fund_id: fundId }).orderBy('id').select('*'),
    policyVersions: await count('fund_policy_versions'),
    policyDecisions: await count('fund_policy_decisions'),
    capitalCalls: await count('capital_calls'),
    capitalCallItems: await count('capital_call_items'),
    contributions: await count('contributions'),
    exits: await h.db('member_exits').where({ fund_id: fundId }).orderBy('id').select('*'),
    periods: await count('fund_periods'),
  };
}
