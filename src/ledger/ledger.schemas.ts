import { z } from 'zod';
import { amountInput, amountOutput, isoDate, orderParam, timestamp, uuid } from '../http/schemas';
import { cursorParam, limitParam } from '../http/pagination';
import { ACCOUNT_TYPES, BOOKS, ENTRY_LINES_MAX, MEMO_LENGTH_MAX } from './ledger.types';
import { FINDINGS_LISTED_MAX, LEDGER_CHECK_ORDER, type LedgerCheck } from './verification';

const side = z.enum(['debit', 'credit']).meta({ description: 'debit or credit' });
export const accountCode = z
  .string()
  .regex(/^\d{4}(:[0-9a-f-]{36})?$/, 'must be a chart code such as 1001 or 3001:<member id>')
  .meta({ example: '1001' });

// ---------------------------------------------------------------------------------------------
// Requests

export const MANUAL_ENTRY_KINDS = [
  'manual.opening_balance',
  'manual.bank_charge',
  'manual.bank_interest',
  'manual.adjustment',
] as const;

export const manualEntryLine = z
  .strictObject({
    accountId: uuid.optional(),
    accountCode: accountCode.optional(),
    side,
    amount: amountInput,
    memo: z.string().max(MEMO_LENGTH_MAX).optional(),
  })
  .refine((line) => (line.accountId === undefined) !== (line.accountCode === undefined), {
    message: 'give exactly one of accountId or accountCode',
  });

export const manualEntryBody = z
  .strictObject({
    effectiveDate: isoDate,
    kind: z.enum(MANUAL_ENTRY_KINDS).default('manual.adjustment'),
    memo: z.string().trim().min(1, 'say what the entry is for').max(MEMO_LENGTH_MAX),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/)
      .optional()
      .meta({ description: 'If given, must be the fund’s currency.' }),
    lines: z.array(manualEntryLine).max(ENTRY_LINES_MAX),
  })
  .meta({
    id: 'ManualEntryRequest',
    example: {
      effectiveDate: '2026-11-03',
      kind: 'manual.bank_charge',
      memo: 'Bank transfer fees, October',
      lines: [
        { accountCode: '5002', side: 'debit', amount: '35.00' },
        { accountCode: '1001', side: 'credit', amount: '35.00' },
      ],
    },
  });

export const reverseEntryBody = z
  .strictObject({
    effectiveDate: isoDate.meta({ description: 'Value date of the reversal; not before the original’s.' }),
    memo: z.string().trim().min(1, 'say why the entry is reversed').max(MEMO_LENGTH_MAX),
  })
  .meta({ id: 'ReverseEntryRequest' });

export const entryParams = z.strictObject({ fundId: uuid, entryId: uuid });
export const accountParams = z.strictObject({ fundId: uuid, accountId: uuid });

export const listAccountsQuery = z.strictObject({
  book: z.enum(BOOKS as [string, ...string[]]).optional(),
  type: z.enum(ACCOUNT_TYPES as [string, ...string[]]).optional(),
  baseCode: z
    .string()
    .regex(/^\d{4}$/)
    .optional()
    .meta({ description: 'All sub-accounts of one chart code, e.g. 3001.' }),
  memberId: uuid.optional(),
  limit: limitParam,
  cursor: cursorParam,
});

export const accountQuery = z.strictObject({
  asOf: isoDate.optional().meta({ description: 'Also report the balance at the end of this value date.' }),
});

export const listEntriesQuery = z.strictObject({
  accountId: uuid.optional(),
  kind: z.string().max(64).optional(),
  from: isoDate.optional().meta({ description: 'Effective date on or after.' }),
  to: isoDate.optional().meta({ description: 'Effective date on or before.' }),
  order: orderParam,
  limit: limitParam,
  cursor: cursorParam,
});

export const accountPostingsQuery = z
  .strictObject({
    from: isoDate.optional().meta({ description: 'Effective date on or after.' }),
    to: isoDate.optional().meta({ description: 'Effective date on or before.' }),
    order: z
      .enum(['asc', 'desc'])
      .default('desc')
      .meta({ description: 'By the order posted (the account’s version); newest first by default.' }),
    limit: limitParam,
    cursor: cursorParam,
  })
  .refine((query) => query.from === undefined || query.to === undefined || query.from <= query.to, {
    message: 'from must not be after to',
    path: ['from'],
  });

export const trialBalanceQuery = z.strictObject({
  asOf: isoDate.optional().meta({ description: 'Balances at the end of this value date; today’s when absent.' }),
});

export const listHoldsQuery = z.strictObject({
  accountId: uuid.optional(),
  status: z.enum(['pending', 'posted', 'released', 'expired']).optional(),
  limit: limitParam,
  cursor: cursorParam,
});

// ---------------------------------------------------------------------------------------------
// Responses

export const balanceView = z.object({
  debitTotal: amountOutput,
  creditTotal: amountOutput,
  balance: amountOutput.meta({ description: 'Normal-side balance.' }),
  held: amountOutput,
  available: amountOutput.meta({ description: 'balance − held.' }),
  version: z.string().meta({ description: 'Postings so far on this account.' }),
});

export const accountView = z
  .object({
    id: uuid,
    code: z.string(),
    baseCode: z.string(),
    name: z.string(),
    type: z.string(),
    book: z.string(),
    normalSide: z.string(),
    currency: z.string(),
    memberId: uuid.nullable(),
    loanId: uuid.nullable(),
    floor: amountOutput.nullable().meta({ description: 'Lowest balance allowed, holds included; null: none.' }),
    createdAt: timestamp,
    balance: balanceView,
    asOf: z
      .object({ date: isoDate, debitTotal: amountOutput, creditTotal: amountOutput, balance: amountOutput })
      .nullable()
      .optional(),
  })
  .meta({ id: 'Account' });

export const postingView = z.object({
  lineNo: z.number().int(),
  accountId: uuid,
  accountCode: z.string(),
  accountName: z.string(),
  side,
  amount: amountOutput,
  memo: z.string().nullable(),
  balanceAfter: amountOutput,
  versionAfter: z.string(),
});

export const entryView = z
  .object({
    id: uuid,
    seq: z.string(),
    fundId: uuid,
    kind: z.string(),
    effectiveDate: isoDate,
    postedAt: timestamp,
    memo: z.string(),
    reversesEntryId: uuid.nullable(),
    reversedByEntryId: uuid.nullable(),
    actorId: uuid.nullable(),
    requestId: z.string().nullable(),
    postings: z.array(postingView),
    hiddenPostings: z
      .number()
      .int()
      .meta({ description: 'Postings on other members’ accounts, not shown to member users.' }),
  })
  .meta({ id: 'JournalEntry' });

export const accountPostingView = z
  .object({
    entryId: uuid,
    entrySeq: z.string(),
    entryKind: z.string(),
    entryMemo: z.string(),
    reversesEntryId: uuid.nullable().meta({ description: 'Set when the entry is a reversal of another.' }),
    postedAt: timestamp,
    effectiveDate: isoDate,
    lineNo: z.int(),
    side,
    amount: amountOutput,
    memo: z.string().nullable().meta({ description: 'The line’s own memo, if it has one.' }),
    balanceAfter: amountOutput.meta({
      description:
        'The account’s balance (normal side) after this posting, in the order posted: the running balance. A back-dated posting counts from when it was posted; the balance as of a value date is `GET …/accounts/{accountId}?asOf=`.',
    }),
    version: z.string().meta({ description: 'The account’s posting count after this one: its position.' }),
    backdated: z.boolean().meta({ description: 'Dated before a posting the account already had.' }),
  })
  .meta({ id: 'AccountPosting' });

export const trialBalanceLineView = z.object({
  accountId: uuid,
  code: z.string(),
  name: z.string(),
  type: z.string(),
  book: z.string(),
  normalSide: z.string(),
  memberId: uuid.nullable(),
  loanId: uuid.nullable(),
  debitTotal: amountOutput,
  creditTotal: amountOutput,
  balance: amountOutput,
  debitBalance: amountOutput,
  creditBalance: amountOutput,
});

export const trialBalanceView = z
  .object({
    fundId: uuid,
    currency: z.string(),
    asOf: isoDate.nullable(),
    lines: z.array(trialBalanceLineView),
    books: z.array(
      z.object({
        book: z.string(),
        debitTotal: amountOutput,
        creditTotal: amountOutput,
        debitBalances: amountOutput,
        creditBalances: amountOutput,
        difference: amountOutput,
        balanced: z.boolean(),
      }),
    ),
    balanced: z.boolean().meta({ description: 'Every book’s debits equal its credits.' }),
    verified: z.boolean().meta({
      description:
        'The figures prove out against the postings they sum: every account’s debit and credit totals are the sums of its postings (up to `asOf`), and every entry’s postings balance within each book. `GET …/ledger/verify` says what is off.',
    }),
    discrepancies: z
      .object({
        accounts: z.number().int().meta({ description: 'Accounts whose figures are not the sums of their postings.' }),
        entries: z.number().int().meta({ description: 'Entries whose postings do not balance within a book.' }),
      })
      .meta({ description: 'What keeps the trial balance from being verified; zero and zero when it is.' }),
  })
  .meta({ id: 'TrialBalance' });

const ledgerCheck = z.enum(LEDGER_CHECK_ORDER as [LedgerCheck, ...LedgerCheck[]]);

export const ledgerFindingView = z
  .object({
    check: ledgerCheck,
    accountId: uuid.nullable(),
    accountCode: z.string().nullable(),
    entryId: uuid.nullable(),
    entrySeq: z.string().nullable(),
    lineNo: z.number().int().nullable().meta({ description: 'The posting’s line in its entry.' }),
    book: z.enum(['fund', 'memo']).nullable(),
    figure: z.string().meta({ description: 'The figure that does not prove out, e.g. `debitTotal`.' }),
    expected: z.string().meta({
      description:
        'What the other rows prove the figure must be (money with two decimals, or a count); for `available`, its least value.',
    }),
    stored: z.string().nullable().meta({ description: 'The figure as stored; null when missing.' }),
  })
  .meta({ id: 'LedgerFinding' });

export const ledgerVerificationView = z
  .object({
    fundId: uuid,
    ok: z.boolean().meta({ description: 'Every check passed.' }),
    checked: z.object({
      accounts: z.number().int(),
      entries: z.number().int(),
      postings: z.number().int(),
      pendingHolds: z.number().int(),
    }),
    checks: z.array(z.object({ check: ledgerCheck, description: z.string(), findings: z.number().int() })),
    findings: z.array(ledgerFindingView).meta({
      description: `The first ${FINDINGS_LISTED_MAX} findings, by check, then account, entry and posting.`,
    }),
    findingsTotal: z.number().int(),
    truncated: z.boolean().meta({ description: 'More findings than are listed.' }),
  })
  .meta({ id: 'LedgerVerification' });

export const holdView = z
  .object({
    id: uuid,
    accountId: uuid,
    amount: amountOutput,
    status: z.enum(['pending', 'posted', 'released', 'expired']),
    reason: z.string(),
    reference: z.string().nullable(),
    expiresAt: timestamp,
    createdAt: timestamp,
    resolvedAt: timestamp.nullable(),
    entryId: uuid.nullable(),
  })
  .meta({ id: 'Hold' });
