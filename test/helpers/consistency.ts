import { OPEN_HARNESSES, type Harness } from './harness';
import { expectFundConsistent } from './invariants';

/**
 * After every integration test, every fund that gained journal entries during it is checked with
 * expectFundConsistent: books balance, stored balances equal their postings (pool cash included),
 * holds and floors agree, the audit chain verifies. A test that moves money cannot forget to check,
 * and one that corrupts a fund on purpose says so with `tamperedWith`.
 */
const seen = new WeakMap<Harness, Map<string, string>>();
const tampered = new WeakMap<Harness, Set<string>>();

/** Marks a fund a test corrupts on purpose (behind the service's back): it is not checked. */
export function tamperedWith(h: Harness, fundId: string): void {
  const funds = tampered.get(h) ?? new Set<string>();
  funds.add(fundId);
  tampered.set(h, funds);
}

async function latestEntries(h: Harness): Promise<Map<string, string>> {
  const rows = (await h.db('journal_entries').groupBy('fund_id').select('fund_id').max('seq as seq')) as {
    fund_id: string;
    seq: string;
  }[];
  return new Map(rows.map((row) => [row.fund_id, row.seq]));
}

beforeEach(async () => {
  for (const h of OPEN_HARNESSES) seen.set(h, await latestEntries(h));
});

afterEach(async () => {
  for (const h of OPEN_HARNESSES) {
    const before = seen.get(h) ?? new Map<string, string>();
    const skipped = tampered.get(h) ?? new Set<string>();
    for (const [fundId, seq] of await latestEntries(h)) {
      if (before.get(fundId) === seq || skipped.has(fundId)) continue;
      await expectFundConsistent(h, fundId);
    }
  }
});
