import { assert } from '../assert';
import { formatAmount, Money } from '../money/money';
import type { Book } from './ledger.types';

/**
 * What `GET …/ledger/verify`, `npm run cli -- ledger check` and the tests' consistency check prove
 * about one fund, from its raw rows (docs/adr/0025-ledger-verification.md). In report order.
 */
export const LEDGER_CHECKS = {
  book_balanced: 'Each book’s stored debit totals equal its stored credit totals.',
  account_totals: 'Each account’s stored debit and credit totals and version equal the sum and count of its postings.',
  account_last_posting: 'Each account’s stored totals and version equal the running figures of its last posting.',
  account_held: 'Each account’s held amount equals the sum of its pending holds.',
  account_floor:
    'Each account’s balance row keeps the account’s floor, and its available amount (balance − held) is at least that floor.',
  entry_balanced: 'Each entry’s debits equal its credits within each book.',
  entry_postings: 'Each entry has at least two postings.',
  posting_running_totals:
    'Each posting’s running totals and version follow from the posting before it on its account and its own amount; its balance follows from its totals.',
} as const;

export type LedgerCheck = keyof typeof LEDGER_CHECKS;

export const LEDGER_CHECK_ORDER = Object.keys(LEDGER_CHECKS) as LedgerCheck[];

/** Findings listed in one answer, at most: the rest are counted. */
export const FINDINGS_LISTED_MAX = 100;

/** The figures a finding can name, and how each is written: money with two decimals, or a count. */
const FIGURE_UNITS = {
  debitTotal: 'amount',
  creditTotal: 'amount',
  version: 'count',
  held: 'amount',
  floor: 'amount',
  available: 'amount',
  credits: 'amount',
  postings: 'count',
  debitTotalAfter: 'amount',
  creditTotalAfter: 'amount',
  balanceAfter: 'amount',
  versionAfter: 'count',
} as const;

export type Figure = keyof typeof FIGURE_UNITS;

/** One thing that does not prove out, with what the rows say it should be and what is stored. */
export interface LedgerFinding {
  check: LedgerCheck;
  accountId: string | null;
  accountCode: string | null;
  entryId: string | null;
  entrySeq: string | null;
  lineNo: number | null;
  book: Book | null;
  figure: Figure;
  /** What the other rows prove the figure must be (for account_floor's `available`, its least value). */
  expected: string;
  /** The figure as stored; null when the row or value is missing. */
  stored: string | null;
}

export interface LedgerVerification {
  fundId: string;
  ok: boolean;
  checked: { accounts: number; entries: number; postings: number; pendingHolds: number };
  checks: { check: LedgerCheck; description: string; findings: number }[];
  findings: LedgerFinding[];
  findingsTotal: number;
  truncated: boolean;
}

/** A finding as the SQL reports it: figures as PostgreSQL writes numerics. */
export interface RawFinding {
  check: string;
  accountId: string | null;
  accountCode: string | null;
  entryId: string | null;
  entrySeq: string | number | null;
  lineNo: number | null;
  book: string | null;
  figure: string;
  expected: string | null;
  stored: string | null;
}

/** What one verification statement returns: findings per check, and the first of them in order. */
export interface CheckReport {
  totals: Record<string, number | string>;
  findings: RawFinding[];
}

/**
 * The verification from the reports of its statements: every check counted, the findings merged in
 * check order and cut at FINDINGS_LISTED_MAX. Each statement lists its findings in that order and
 * at most that many, so the first ones overall are among them.
 */
export function verificationOf(
  fundId: string,
  checked: LedgerVerification['checked'],
  reports: readonly CheckReport[],
): LedgerVerification {
  const totals = new Map<LedgerCheck, number>(LEDGER_CHECK_ORDER.map((check) => [check, 0]));
  for (const report of reports) {
    for (const [check, count] of Object.entries(report.totals)) {
      assert(isCheck(check), `verification reported an unknown check ${check}`);
      totals.set(check, totals.get(check)! + Number(count));
    }
  }
  const rank = (finding: LedgerFinding): number => LEDGER_CHECK_ORDER.indexOf(finding.check);
  const findings = reports
    .flatMap((report) => report.findings.map(toFinding))
    // Stable: each statement's own order within a check is kept.
    .sort((left, right) => rank(left) - rank(right))
    .slice(0, FINDINGS_LISTED_MAX);
  const findingsTotal = [...totals.values()].reduce((sum, count) => sum + count, 0);
  return {
    fundId,
    ok: findingsTotal === 0,
    checked,
    checks: LEDGER_CHECK_ORDER.map((check) => ({
      check,
      description: LEDGER_CHECKS[check],
      findings: totals.get(check)!,
    })),
    findings,
    findingsTotal,
    truncated: findingsTotal > findings.length,
  };
}

function isCheck(name: string): name is LedgerCheck {
  return Object.hasOwn(LEDGER_CHECKS, name);
}

function isFigure(name: string): name is Figure {
  return Object.hasOwn(FIGURE_UNITS, name);
}

function toFinding(raw: RawFinding): LedgerFinding {
  assert(isCheck(raw.check), `verification reported an unknown check ${raw.check}`);
  assert(isFigure(raw.figure), `verification reported an unknown figure ${raw.figure}`);
  assert(raw.expected !== null, `finding of ${raw.check} without an expected ${raw.figure}`);
  const unit = FIGURE_UNITS[raw.figure];
  // Exactly as stored: a figure edited to more decimals than money has is shown with all of them.
  const write = (value: string): string => {
    const figure = new Money(value);
    return unit === 'amount' && figure.decimalPlaces() <= 2 ? formatAmount(figure) : figure.toFixed();
  };
  return {
    check: raw.check,
    accountId: raw.accountId,
    accountCode: raw.accountCode,
    entryId: raw.entryId,
    entrySeq: raw.entrySeq === null ? null : String(raw.entrySeq),
    lineNo: raw.lineNo,
    book: raw.book as Book | null,
    figure: raw.figure,
    expected: write(raw.expected),
    stored: raw.stored === null ? null : write(raw.stored),
  };
}
