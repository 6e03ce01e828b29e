import fs from 'node:fs';
import path from 'node:path';
import {
  CLASSIFICATION_NAMES,
  ENTRY_KIND_NAMES,
  EXPOSURE_SCOPE_NAMES,
  ITEM_KIND_NAMES,
  ITEM_STATUS_NAMES,
  LENDER_NAMES,
  LOAN_STATUS_NAMES,
  PORTFOLIO_NAMES,
  REPAYMENT_METHOD_NAMES,
  STATEMENT_ROW_NAMES,
  VOTE_NAMES,
  codeName,
} from '../../src/code-names';
import { ITEM_STATUSES, VOTES } from '../../src/committee/committee.schemas';
import { MOTION_KINDS } from '../../src/committee/motions';
import { MANUAL_ENTRY_KINDS } from '../../src/ledger/ledger.schemas';
import { CLASSIFICATIONS } from '../../src/loans/daily-job.repo';
import { LENDERS, LOAN_STATUSES, REPAYMENT_METHODS } from '../../src/loans/loans.schemas';

/** A name the committee reads: some Chinese, no stray spaces. */
const CHINESE = /^[\u4e00-\u9fff][\u4e00-\u9fff，（）]*$/u;

/** Every code of each set, taken from the code that defines the set, beside its table of names. */
const SETS: [string, readonly string[], Record<string, string>][] = [
  ['a classification', CLASSIFICATIONS, CLASSIFICATION_NAMES],
  ['a loan status', LOAN_STATUSES, LOAN_STATUS_NAMES],
  ['a lender', LENDERS, LENDER_NAMES],
  ['a portfolio', ['all', ...LENDERS], PORTFOLIO_NAMES],
  ['a repayment method', REPAYMENT_METHODS, REPAYMENT_METHOD_NAMES],
  ['an exposure scope', ['member', 'related_group'], EXPOSURE_SCOPE_NAMES],
  ['a vote', VOTES, VOTE_NAMES],
  ['an item status', ITEM_STATUSES, ITEM_STATUS_NAMES],
  ['an item kind', ['application', 'ratification', 'extension', ...MOTION_KINDS], ITEM_KIND_NAMES],
  ['a statement row', ['opening_balance', 'period_totals', 'closing_balance'], STATEMENT_ROW_NAMES],
];

describe('the Chinese names of codes', () => {
  test.each(SETS)('when %s is exported, then every code has its own Chinese name and no other', (_, codes, names) => {
    expect(Object.keys(names).sort()).toEqual([...codes].sort());
    for (const code of codes) expect([code, names[code]]).toEqual([code, expect.stringMatching(CHINESE)]);
    // Two codes of a set never read the same to the committee.
    expect(new Set(Object.values(names)).size).toBe(codes.length);
  });

  test('when the tiers are named, then they are the five of the regulation, best first', () => {
    expect(CLASSIFICATIONS.map((code) => CLASSIFICATION_NAMES[code])).toEqual(['正常', '关注', '次级', '可疑', '损失']);
  });

  test('when the service posts an entry of a kind, then the kind has a Chinese name', () => {
    // Every kind the source posts: `kind: '…'` (also inside a conditional) and the *_KIND constants,
    // the manual kinds and the reversal. A new kind without a name fails here.
    const posted = new Set<string>([...MANUAL_ENTRY_KINDS, 'reversal']);
    for (const file of sourceFiles(path.resolve(__dirname, '../../src'))) {
      const text = fs.readFileSync(file, 'utf8');
      for (const [, expression] of text.matchAll(/\bkind: ([^,}\n]+)/g)) {
        for (const [, literal] of expression!.matchAll(/'([a-z][a-z0-9_]*\.[a-z][a-z0-9_.]*)'/g)) posted.add(literal!);
      }
      for (const [, literal] of text.matchAll(/_KIND = '([^']+)'/g)) posted.add(literal!);
    }
    expect(posted.size).toBeGreaterThan(20);
    const unnamed = [...posted].filter(
      (kind) => !CHINESE.test(ENTRY_KIND_NAMES[kind as keyof typeof ENTRY_KIND_NAMES] ?? ''),
    );
    expect(unnamed).toEqual([]);
    expect(new Set(Object.values(ENTRY_KIND_NAMES)).size).toBe(Object.keys(ENTRY_KIND_NAMES).length);
  });

  test('when a code is looked up, then a known one gives its name and an unknown one nothing', () => {
    expect(codeName(LENDER_NAMES, 'pool')).toBe('互助金出借');
    expect(codeName(LENDER_NAMES, 'toString')).toBeUndefined();
    expect(codeName(ENTRY_KIND_NAMES, 'test.disbursement')).toBeUndefined();
  });
});

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}
