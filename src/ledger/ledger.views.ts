import type { z } from 'zod';
import type { Principal } from '../auth/principal';
import { memberScope } from '../auth/permissions';
import { formatAmount, Money } from '../money/money';
import type { accountView, entryView, holdView } from './ledger.schemas';
import type { AccountWithBalance } from './ledger.service';
import type { BalanceFigures, Hold, JournalEntry } from './ledger.types';

/** Domain objects → the JSON the API promises. Dates become ISO strings here and nowhere else. */

export function toAccountView(
  account: AccountWithBalance,
  asOf?: { date: string; figures: BalanceFigures },
): z.input<typeof accountView> {
  return {
    id: account.id,
    code: account.code,
    baseCode: account.baseCode,
    name: account.name,
    type: account.type,
    book: account.book,
    normalSide: account.normalSide,
    currency: account.currency,
    memberId: account.memberId,
    loanId: account.loanId,
    floor: account.floor === null ? null : formatAmount(new Money(account.floor)),
    createdAt: account.createdAt.toISOString(),
    balance: account.balance,
    ...(asOf ? { asOf: { date: asOf.date, ...asOf.figures } } : {}),
  };
}

/**
 * A member user sees the postings on its own enterprise's accounts and on the fund's shared
 * accounts, never those on another member's accounts; it learns only how many were left out.
 */
export function toEntryView(entry: JournalEntry, principal: Principal): z.input<typeof entryView> {
  const member = memberScope(principal);
  const visible =
    member === undefined
      ? entry.postings
      : entry.postings.filter((posting) => posting.memberId === null || posting.memberId === member);
  return {
    id: entry.id,
    seq: entry.seq,
    fundId: entry.fundId,
    kind: entry.kind,
    effectiveDate: entry.effectiveDate,
    postedAt: entry.postedAt.toISOString(),
    memo: entry.memo,
    reversesEntryId: entry.reversesEntryId,
    reversedByEntryId: entry.reversedByEntryId,
    actorId: entry.actorId,
    requestId: entry.requestId,
    postings: visible.map((posting) => ({
      lineNo: posting.lineNo,
      accountId: posting.accountId,
      accountCode: posting.accountCode,
      accountName: posting.accountName,
      side: posting.side,
      amount: formatAmount(new Money(posting.amount)),
      memo: posting.memo,
      balanceAfter: formatAmount(new Money(posting.balanceAfter)),
      versionAfter: posting.versionAfter,
    })),
    hiddenPostings: entry.postings.length - visible.length,
  };
}

export function toHoldView(hold: Hold): z.input<typeof holdView> {
  return {
    id: hold.id,
    accountId: hold.accountId,
    amount: formatAmount(new Money(hold.amount)),
    status: hold.status,
    reason: hold.reason,
    reference: hold.reference,
    expiresAt: hold.expiresAt.toISOString(),
    createdAt: hold.createdAt.toISOString(),
    resolvedAt: hold.resolvedAt?.toISOString() ?? null,
    entryId: hold.entryId,
  };
}
