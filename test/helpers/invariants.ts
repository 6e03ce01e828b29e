import type { Harness } from './harness';

/**
 * Everything that must hold for a fund after any sequence of operations:
 *  - the ledger verifies: every book balances, each account's stored totals and version equal its
 *    postings and its last posting's running figures, held amounts equal pending holds, floors are
 *    kept, every entry balances, every posting's running totals follow from the one before (the
 *    same verification as GET …/ledger/verify and `ledger check`, whose own tests break each
 *    check on purpose: test/integration/ledger/verify.test.ts);
 *  - the service's own trial balance balances and proves out, and the audit chain verifies.
 */
export async function expectFundConsistent(h: Harness, fundId: string): Promise<void> {
  const verification = await h.services.ledger.verify(h.db, fundId);
  expect({ ok: verification.ok, findings: verification.findings }).toEqual({ ok: true, findings: [] });

  const trial = await h.services.ledger.trialBalance(h.db, fundId);
  expect({ balanced: trial.balanced, verified: trial.verified }).toEqual({ balanced: true, verified: true });
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
