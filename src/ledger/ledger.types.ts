import type Decimal from 'decimal.js';
import type { Actor } from '../auth/principal';

export type Side = 'debit' | 'credit';
export type AccountType = 'asset' | 'liability' | 'equity' | 'income' | 'expense';
export type Book = 'fund' | 'memo';

export const SIDES: readonly Side[] = ['debit', 'credit'];
export const BOOKS: readonly Book[] = ['fund', 'memo'];
export const ACCOUNT_TYPES: readonly AccountType[] = ['asset', 'liability', 'equity', 'income', 'expense'];

/** Limits on one entry: enough for a period close over hundreds of members, small enough to check. */
export const ENTRY_LINES_MAX = 1000;
export const MEMO_LENGTH_MAX = 500;
export const KIND_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;
export const KIND_LENGTH_MAX = 64;

export interface EntryLineInput {
  accountId: string;
  side: Side;
  amount: string | Decimal;
  memo?: string | undefined;
}

export interface PostEntryInput {
  fundId: string;
  lines: readonly EntryLineInput[];
  /** Value date, `YYYY-MM-DD`; interest and as-of reports follow it. */
  effectiveDate: string;
  kind: string;
  memo: string;
  /** Optional currency assertion: refused unless it is the fund's currency. */
  currency?: string | undefined;
  /** Scoped to the fund: posting again with the same key returns the first entry. */
  idempotencyKey?: string | undefined;
  actor: Actor;
  requestId?: string | undefined;
}

export interface Account {
  id: string;
  fundId: string;
  code: string;
  baseCode: string;
  name: string;
  type: AccountType;
  book: Book;
  normalSide: Side;
  currency: string;
  memberId: string | null;
  loanId: string | null;
  floor: string | null;
  createdAt: Date;
}

export interface BalanceFigures {
  debitTotal: string;
  creditTotal: string;
  /** Normal-side balance: debits − credits for debit-normal accounts, the reverse otherwise. */
  balance: string;
}

export interface AccountBalance extends BalanceFigures {
  held: string;
  /** balance − held: what can still leave the account. */
  available: string;
  version: string;
}

export interface Posting {
  lineNo: number;
  accountId: string;
  accountCode: string;
  accountName: string;
  memberId: string | null;
  side: Side;
  amount: string;
  memo: string | null;
  balanceAfter: string;
  versionAfter: string;
}

export interface JournalEntry {
  id: string;
  seq: string;
  fundId: string;
  kind: string;
  effectiveDate: string;
  postedAt: Date;
  memo: string;
  idempotencyKey: string | null;
  reversesEntryId: string | null;
  reversedByEntryId: string | null;
  actorId: string | null;
  requestId: string | null;
  postings: Posting[];
}

export interface PostedEntry {
  entry: JournalEntry;
  /** True when an entry with the same idempotency key already existed and was returned instead. */
  replayed: boolean;
}

export type HoldStatus = 'pending' | 'posted' | 'released' | 'expired';

export interface Hold {
  id: string;
  seq: string;
  fundId: string;
  accountId: string;
  amount: string;
  status: HoldStatus;
  reason: string;
  reference: string | null;
  expiresAt: Date;
  createdAt: Date;
  createdBy: string | null;
  resolvedAt: Date | null;
  entryId: string | null;
}
