import type { AccountType, Book, Side } from './ledger.types';

/**
 * The chart of accounts every fund gets (ARCHITECTURE.md). `scope` says where an account exists:
 * once per fund, or once per member or loan, created on demand as `<code>:<member or loan id>`.
 * `floor` is the lowest normal-side balance allowed, holds included; `null` means no floor.
 */
export interface AccountTemplate {
  code: string;
  name: string;
  type: AccountType;
  book: Book;
  normalSide: Side;
  scope: 'fund' | 'member' | 'loan';
  floor: string | null;
}

const fund = (
  code: string,
  name: string,
  type: AccountType,
  normalSide: Side,
  floor: string | null,
  book: Book = 'fund',
): AccountTemplate => ({ code, name, type, book, normalSide, scope: 'fund', floor });

const per = (
  scope: 'member' | 'loan',
  code: string,
  name: string,
  type: AccountType,
  normalSide: Side,
  floor: string | null,
  book: Book = 'fund',
): AccountTemplate => ({ code, name, type, book, normalSide, scope, floor });

export const CHART_OF_ACCOUNTS: readonly AccountTemplate[] = [
  fund('1001', 'Pool cash', 'asset', 'debit', '0.00'),
  per('loan', '1201', 'Loan principal receivable', 'asset', 'debit', '0.00'),
  per('loan', '1202', 'Interest receivable', 'asset', 'debit', '0.00'),
  per('loan', '1203', 'Penalty interest receivable', 'asset', 'debit', '0.00'),
  // The one-time service fee charged at disbursement, owed by the borrower until repaid.
  per('loan', '1204', 'Fee receivable', 'asset', 'debit', '0.00'),
  // A contra asset: it carries a credit balance against the receivables.
  fund('1231', 'Loan loss allowance', 'asset', 'credit', '0.00'),
  per('member', '1301', 'Guarantor receivable (called, unpaid)', 'asset', 'debit', '0.00'),
  per('member', '2001', 'Refunds payable to exiting members', 'liability', 'credit', '0.00'),
  per('member', '3001', 'Member capital', 'equity', 'credit', null),
  fund('3101', 'Undistributed surplus', 'equity', 'credit', null),
  fund('4001', 'Interest income', 'income', 'credit', null),
  fund('4002', 'Fee income', 'income', 'credit', null),
  fund('4003', 'Penalty interest income', 'income', 'credit', null),
  fund('4004', 'Recovery income', 'income', 'credit', null),
  fund('4005', 'Other income (bank interest)', 'income', 'credit', null),
  fund('5001', 'Loan losses', 'expense', 'debit', null),
  fund('5002', 'Bank charges', 'expense', 'debit', null),
  // Memo book: off-balance records, each kept against its own contra account.
  per('member', '7001', 'Guarantees given', 'asset', 'debit', '0.00', 'memo'),
  fund('7002', 'Guarantee obligations (contra)', 'liability', 'credit', '0.00', 'memo'),
  per('loan', '7101', 'Peer loans outstanding', 'asset', 'debit', '0.00', 'memo'),
  fund('7102', 'Peer loans (contra)', 'liability', 'credit', '0.00', 'memo'),
  per('loan', '7201', 'Bank loans guaranteed', 'asset', 'debit', '0.00', 'memo'),
  fund('7202', 'Bank loans guaranteed (contra)', 'liability', 'credit', '0.00', 'memo'),
  per('loan', '7301', 'Collateral held', 'asset', 'debit', '0.00', 'memo'),
  fund('7302', 'Collateral held (contra)', 'liability', 'credit', '0.00', 'memo'),
  // A guarantor that paid a call steps into the fund's claim against the borrower for what it paid
  // (subrogation): kept per guarantor, against its contra, until the guarantor recovers it itself.
  per('member', '7401', 'Subrogated claims held', 'asset', 'debit', '0.00', 'memo'),
  fund('7402', 'Subrogated claims (contra)', 'liability', 'credit', '0.00', 'memo'),
];

export function accountTemplate(code: string): AccountTemplate | undefined {
  return CHART_OF_ACCOUNTS.find((template) => template.code === code);
}

export const POOL_CASH = '1001';
