import { z } from 'zod';
import { memberScope } from '../auth/permissions';
import { actorOf } from '../auth/principal';
import { runCommand } from '../http/command';
import { fundOf, type RequestContext } from '../http/context';
import { decodeCursor, pageOf as paginate } from '../http/pagination';
import { defineRoute, ok, type AnyRoute } from '../http/route';
import { fundIdParams, pageOf, seqCursor } from '../http/schemas';
import { formatAmount, Money } from '../money/money';
import { ledgerError } from './ledger.errors';
import {
  accountCode,
  accountParams,
  accountPostingsQuery,
  accountPostingView,
  accountQuery,
  accountView,
  entryParams,
  entryView,
  holdView,
  ledgerVerificationView,
  listAccountsQuery,
  listEntriesQuery,
  listHoldsQuery,
  MANUAL_ENTRY_KINDS,
  manualEntryBody,
  reverseEntryBody,
  trialBalanceQuery,
  trialBalanceView,
} from './ledger.schemas';
import type { Book, AccountType, HoldStatus, JournalEntry } from './ledger.types';
import { toAccountView, toEntryView, toHoldView } from './ledger.views';

const TAG = 'Ledger';

const entryResponse = (ctx: RequestContext, entry: JournalEntry) => toEntryView(entry, ctx.principal);

export const ledgerRoutes: AnyRoute[] = [
  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/accounts',
    operationId: 'listAccounts',
    summary: 'List accounts with their balances',
    description: 'Member users see only their own enterprise’s accounts.',
    tag: TAG,
    permission: 'accounts.read',
    params: fundIdParams,
    query: listAccountsQuery,
    response: { status: 200, description: 'A page of accounts, by code', schema: pageOf(accountView) },
    handler: async ({ query, ctx }) => {
      const fund = fundOf(ctx);
      const after = decodeCursor(query.cursor, z.object({ code: accountCode }));
      const rows = await ctx.app.services.ledger.listAccounts(ctx.app.db, fund.id, {
        book: query.book as Book | undefined,
        type: query.type as AccountType | undefined,
        baseCode: query.baseCode,
        memberId: memberScope(ctx.principal) ?? query.memberId,
        afterCode: after?.code,
        limit: query.limit + 1,
      });
      return ok(
        paginate(
          rows,
          query.limit,
          (row) => toAccountView(row),
          (row) => ({ code: row.code }),
        ),
      );
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/accounts/{accountId}',
    operationId: 'getAccount',
    summary: 'One account, its balance now and optionally as of a value date',
    tag: TAG,
    permission: 'accounts.read',
    params: accountParams,
    query: accountQuery,
    response: { status: 200, description: 'The account', schema: accountView },
    handler: async ({ params, query, ctx }) => {
      const fund = fundOf(ctx);
      const { ledger } = ctx.app.services;
      const account = await ledger.getAccount(ctx.app.db, fund.id, params.accountId);
      const member = memberScope(ctx.principal);
      if (member !== undefined && account.memberId !== member) {
        throw ledgerError('account_not_found', `Account ${params.accountId} does not exist in this fund.`);
      }
      const asOf = query.asOf
        ? { date: query.asOf, figures: await ledger.balanceAsOf(ctx.app.db, fund.id, account, query.asOf) }
        : undefined;
      return ok(toAccountView(account, asOf));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/accounts/{accountId}/postings',
    operationId: 'listAccountPostings',
    summary: 'An account’s postings with the running balance after each',
    description:
      'In the order posted (newest first unless `order=asc`), optionally only those dated from `from` to `to`: each with its entry (seq, kind, memo, the entry it reverses), its value date, side, amount and the account’s balance after it. Member users see only their own enterprise’s accounts (any other is 404 `account_not_found`).',
    tag: TAG,
    permission: 'accounts.read',
    params: accountParams,
    query: accountPostingsQuery,
    problems: [404],
    response: { status: 200, description: 'A page of postings', schema: pageOf(accountPostingView) },
    handler: async ({ params, query, ctx }) => {
      const fund = fundOf(ctx);
      const { ledger } = ctx.app.services;
      const account = await ledger.getAccount(ctx.app.db, fund.id, params.accountId);
      const member = memberScope(ctx.principal);
      if (member !== undefined && account.memberId !== member) {
        throw ledgerError('account_not_found', `Account ${params.accountId} does not exist in this fund.`);
      }
      const after = decodeCursor(query.cursor, seqCursor);
      const rows = await ledger.accountPostings(ctx.app.db, fund.id, account.id, {
        from: query.from,
        to: query.to,
        afterVersion: after?.seq,
        order: query.order,
        limit: query.limit + 1,
      });
      return ok(
        paginate(
          rows,
          query.limit,
          (row) => ({
            entryId: row.entry_id,
            entrySeq: row.entry_seq,
            entryKind: row.entry_kind,
            entryMemo: row.entry_memo,
            reversesEntryId: row.reverses_entry_id,
            postedAt: row.posted_at.toISOString(),
            effectiveDate: row.effective_date,
            lineNo: row.line_no,
            side: row.side,
            amount: formatAmount(new Money(row.amount)),
            memo: row.memo,
            balanceAfter: formatAmount(new Money(row.balance_after)),
            version: row.version_after,
            backdated: row.backdated,
          }),
          (row) => ({ seq: row.version_after }),
        ),
      );
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/entries',
    operationId: 'listEntries',
    summary: 'List journal entries',
    description:
      'Filter by account, kind and effective-date range. Member users see only entries touching their accounts.',
    tag: TAG,
    permission: 'entries.read',
    params: fundIdParams,
    query: listEntriesQuery,
    response: { status: 200, description: 'A page of entries with their postings', schema: pageOf(entryView) },
    handler: async ({ query, ctx }) => {
      const fund = fundOf(ctx);
      const after = decodeCursor(query.cursor, seqCursor);
      const entries = await ctx.app.services.ledger.listEntries(ctx.app.db, fund.id, {
        accountId: query.accountId,
        memberId: memberScope(ctx.principal),
        kind: query.kind,
        from: query.from,
        to: query.to,
        afterSeq: after?.seq,
        order: query.order,
        limit: query.limit + 1,
      });
      return ok(
        paginate(
          entries,
          query.limit,
          (entry) => entryResponse(ctx, entry),
          (entry) => ({ seq: entry.seq }),
        ),
      );
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/entries/{entryId}',
    operationId: 'getEntry',
    summary: 'One journal entry with its postings',
    tag: TAG,
    permission: 'entries.read',
    params: entryParams,
    response: { status: 200, description: 'The entry', schema: entryView },
    handler: async ({ params, ctx }) => {
      const fund = fundOf(ctx);
      const entry = await ctx.app.services.ledger.getEntry(ctx.app.db, fund.id, params.entryId);
      const member = memberScope(ctx.principal);
      if (member !== undefined && !entry.postings.some((posting) => posting.memberId === member)) {
        throw ledgerError('entry_not_found', `Entry ${params.entryId} does not exist in this fund.`);
      }
      return ok(entryResponse(ctx, entry));
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/entries',
    operationId: 'postManualEntry',
    summary: 'Post a manual journal entry (opening balances, bank charges, adjustments)',
    description:
      'Lines name accounts by id or chart code and touch the fund book only. Debits must equal credits; amounts are positive strings with at most 2 decimals; no account may cross its floor.',
    tag: TAG,
    permission: 'entries.post',
    params: fundIdParams,
    body: manualEntryBody,
    idempotency: 'required',
    problems: [422],
    response: { status: 201, description: 'The posted entry', schema: entryView },
    handler: async ({ body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'required', claim: 'ledger-entry' }, async (trx, claim) => {
        const { entry, replayed } = await ctx.app.services.ledger.postManualEntry(trx, {
          fundId: fund.id,
          effectiveDate: body.effectiveDate,
          kind: body.kind,
          memo: body.memo,
          currency: body.currency,
          lines: body.lines,
          idempotencyKey: claim.entryKey,
          actor: actorOf(ctx.principal),
          requestId: ctx.requestId,
        });
        return {
          status: 201,
          body: entryResponse(ctx, entry),
          replayed,
          audit: {
            action: 'ledger.entry.post',
            targetType: 'journal_entry',
            targetId: entry.id,
            payload: { request: body },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/entries/{entryId}/reverse',
    operationId: 'reverseEntry',
    summary: 'Reverse an entry with a mirror entry',
    description:
      'Posts the mirror image of a manual entry, dated `effectiveDate` (not before the original), and links the two. An entry is reversed at most once; a reversal is not itself reversed. Entries other features posted (contributions, exits, closes) are corrected through those features.',
    tag: TAG,
    permission: 'entries.reverse',
    params: entryParams,
    body: reverseEntryBody,
    idempotency: 'required',
    problems: [422],
    response: { status: 201, description: 'The reversing entry', schema: entryView },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'required', claim: 'ledger-entry' }, async (trx, claim) => {
        const { entry, replayed } = await ctx.app.services.ledger.reverseEntry(trx, {
          fundId: fund.id,
          entryId: params.entryId,
          effectiveDate: body.effectiveDate,
          memo: body.memo,
          onlyKinds: MANUAL_ENTRY_KINDS,
          idempotencyKey: claim.entryKey,
          actor: actorOf(ctx.principal),
          requestId: ctx.requestId,
        });
        return {
          status: 201,
          body: entryResponse(ctx, entry),
          replayed,
          audit: {
            action: 'ledger.entry.reverse',
            targetType: 'journal_entry',
            targetId: entry.id,
            payload: { reversedEntryId: params.entryId, request: body },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/trial-balance',
    operationId: 'getTrialBalance',
    summary: 'Trial balance of every account, per book',
    description:
      'With `asOf`, balances at the end of that value date. `balanced` says whether every book sums to zero; `verified` whether the figures are the sums of the postings they stand for and every entry balances (up to `asOf`).',
    tag: TAG,
    permission: 'trial_balance.read',
    params: fundIdParams,
    query: trialBalanceQuery,
    response: { status: 200, description: 'The trial balance', schema: trialBalanceView },
    handler: async ({ query, ctx }) => {
      const fund = fundOf(ctx);
      const trial = await ctx.app.services.ledger.trialBalance(ctx.app.db, fund.id, query.asOf);
      if (!trial.balanced) ctx.log.error({ fundId: fund.id, books: trial.books }, 'trial balance does not balance');
      if (!trial.verified) {
        ctx.log.error({ fundId: fund.id, discrepancies: trial.discrepancies }, 'trial balance does not prove out');
      }
      return ok({ fundId: fund.id, currency: fund.currency, ...trial });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/ledger/verify',
    operationId: 'verifyLedger',
    summary: 'Verify the fund’s ledger against its own rows',
    description:
      'Proves the books from their rows, from one snapshot: each book’s stored totals balance; each account’s stored totals and version equal the sum and count of its postings and its last posting’s running figures; held amounts equal pending holds; floors are kept; every entry has at least two postings and balances within each book; every posting’s running totals follow from the one before it. Lists the first findings, each naming the account, entry or posting with the figure expected and the figure stored. Beside `audit/verify`, which checks the audit chain.',
    tag: TAG,
    permission: 'ledger.verify',
    params: fundIdParams,
    response: { status: 200, description: 'The verification', schema: ledgerVerificationView },
    handler: async ({ ctx }) => {
      const fund = fundOf(ctx);
      const verification = await ctx.app.services.ledger.verify(ctx.app.db, fund.id);
      if (!verification.ok) {
        ctx.log.error(
          { fundId: fund.id, findings: verification.findingsTotal },
          'ledger verification found discrepancies',
        );
      }
      return ok(verification);
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/holds',
    operationId: 'listHolds',
    summary: 'List holds (amounts reserved on accounts)',
    tag: TAG,
    permission: 'holds.read',
    params: fundIdParams,
    query: listHoldsQuery,
    response: { status: 200, description: 'A page of holds, oldest first', schema: pageOf(holdView) },
    handler: async ({ query, ctx }) => {
      const fund = fundOf(ctx);
      const after = decodeCursor(query.cursor, seqCursor);
      const holds = await ctx.app.services.ledger.listHolds(ctx.app.db, fund.id, {
        accountId: query.accountId,
        status: query.status as HoldStatus | undefined,
        afterSeq: after?.seq,
        limit: query.limit + 1,
      });
      return ok(paginate(holds, query.limit, toHoldView, (hold) => ({ seq: hold.seq })));
    },
  }),
];
