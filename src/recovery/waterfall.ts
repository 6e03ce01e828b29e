import { assert } from '../assert';
import { formatAmount, Money, roundHalfUp, sumAmounts, ZERO } from '../money/money';

/**
 * The arithmetic of the default waterfall (docs/adr/0018-default-waterfall.md). Pure: no database,
 * no clock. Amounts are Money with at most 2 decimals in and out.
 */

/** The loan's receivables, by account: fee 1204, penalty interest 1203, interest 1202, principal 1201. */
export const RECEIVABLE_CODES = ['1204', '1203', '1202', '1201'] as const;
export type ReceivableCode = (typeof RECEIVABLE_CODES)[number];
export type Receivables = Record<ReceivableCode, Money>;

export const NAMES: Record<ReceivableCode, string> = {
  '1204': 'fee',
  '1203': 'penaltyInterest',
  '1202': 'interest',
  '1201': 'principal',
};

export function totalOf(parts: Receivables): Money {
  return sumAmounts(RECEIVABLE_CODES.map((code) => parts[code]));
}

export function noReceivables(): Receivables {
  return { '1204': ZERO, '1203': ZERO, '1202': ZERO, '1201': ZERO };
}

/** Plain JSON of a split: `{ fee, penaltyInterest, interest, principal, total }`, 2 decimals each. */
export function receivablesJson(parts: Receivables): Record<string, string> {
  const json: Record<string, string> = {};
  for (const code of RECEIVABLE_CODES) json[NAMES[code]] = formatAmount(parts[code]);
  json.total = formatAmount(totalOf(parts));
  return json;
}

/**
 * Takes `amount` from what is owed in the order of PRC Civil Code art. 561, as repayments do: fee,
 * penalty interest, interest, principal. Rule W-order: money the fund recovers from anyone other
 * than the borrower's own repayment (a guarantor's call, the borrower's capital) discharges the
 * loan in the same order.
 */
export function takeInOrder(amount: Money, owed: Receivables): Receivables {
  assert(amount.gte(0) && amount.decimalPlaces() <= 2, `takeInOrder: ${amount.toFixed()}`);
  assert(amount.lte(totalOf(owed)), `takeInOrder: ${amount.toFixed(2)} is more than what is owed`);
  const taken = noReceivables();
  let left = amount;
  for (const code of RECEIVABLE_CODES) {
    const part = Money.min(left, owed[code]);
    taken[code] = part;
    left = left.minus(part);
  }
  assert(left.isZero(), 'takeInOrder: amount left over');
  return taken;
}

/**
 * What a failed guarantor's unpaid call gives back to the loan. Rule W-restore: the other
 * guarantors' payments are deemed to have discharged fee, penalty and interest first (W-order), so
 * what a call leaves unpaid is the last of its round in that order: principal first, then interest,
 * penalty, fee — each at most what the round took of it less what earlier failures of the round
 * already gave back.
 */
export function restoreInReverse(amount: Money, takenByRound: Receivables, restoredSoFar: Receivables): Receivables {
  const restored = noReceivables();
  let left = amount;
  for (const code of [...RECEIVABLE_CODES].reverse()) {
    const room = takenByRound[code].minus(restoredSoFar[code]);
    assert(room.gte(0), `restoreInReverse: ${code} restored beyond what was taken`);
    const part = Money.min(left, room);
    restored[code] = part;
    left = left.minus(part);
  }
  assert(left.isZero(), `restoreInReverse: ${amount.toFixed(2)} is more than the round took`);
  return restored;
}

export interface Guarantor {
  guaranteeId: string;
  /** What the guarantee still stands behind: amount less releases less what calls were paid. */
  standing: Money;
}

export interface CallShare extends Guarantor {
  amount: Money;
}

/**
 * Each guarantor's call. Rule W-call: the round calls C = min(outstanding, Σ standing); each
 * guarantor's share is ROUND_HALF_UP(C × standing_i / Σ standing) to the fen (pro rata to what its
 * guarantee still stands behind, scaled down when those exceed what is outstanding; never more than
 * its standing, since C ≤ Σ standing). The remainder C − Σ shares (at most half a fen per
 * guarantor, either sign) is booked on the largest share (ties: the lower guarantee id), which takes
 * it within its standing and down to zero; what it cannot take goes to the next in that order. The
 * shares add up to C exactly. Guarantors with a zero share are left out.
 */
export function callShares(outstanding: Money, guarantors: readonly Guarantor[]): CallShare[] {
  assert(outstanding.gte(0) && outstanding.decimalPlaces() <= 2, `callShares: outstanding ${outstanding.toFixed()}`);
  for (const g of guarantors) assert(g.standing.gt(0), `callShares: guarantee ${g.guaranteeId} stands behind nothing`);
  const standingTotal = sumAmounts(guarantors.map((g) => g.standing));
  if (standingTotal.isZero() || outstanding.isZero()) return [];
  const called = Money.min(outstanding, standingTotal);
  const shares = guarantors.map((g) => ({ ...g, amount: roundHalfUp(called.times(g.standing).div(standingTotal)) }));
  let remainder = called.minus(sumAmounts(shares.map((share) => share.amount)));
  const order = [...shares].sort(
    (a, b) =>
      b.amount.comparedTo(a.amount) || (a.guaranteeId < b.guaranteeId ? -1 : a.guaranteeId > b.guaranteeId ? 1 : 0),
  );
  for (const holder of order) {
    if (remainder.isZero()) break;
    const room = remainder.gt(0) ? holder.standing.minus(holder.amount) : holder.amount;
    const taken = remainder.gt(0) ? Money.min(remainder, room) : Money.max(remainder, room.neg());
    holder.amount = holder.amount.plus(taken);
    remainder = remainder.minus(taken);
  }
  assert(remainder.isZero(), `callShares: ${remainder.toFixed(2)} could not be booked`);
  assert(sumAmounts(shares.map((share) => share.amount)).eq(called), 'callShares: shares do not add up');
  return shares.filter((share) => share.amount.gt(0));
}

/** A guarantee standing behind the loan, as rule W-stand reads it and a waiver names it. */
export interface StandingGuarantee {
  guaranteeId: string;
  guarantorMemberId: string;
  guarantorName: string;
  type: 'joint_and_several' | 'general';
  /** What it still stands behind: amount − R-release releases − paid under calls, 2 decimals. */
  standing: string;
}

/** A resolution's waiver of the guarantees standing when it was proposed, with its reason. */
export interface Waiver {
  reason: string;
  guarantees: StandingGuarantee[];
}

/** A standing guarantee a waiver does not cover, with what the waiver names of it (0.00: nothing). */
export type UnwaivedGuarantee = StandingGuarantee & { waived: string };

/**
 * Rule W-stand: the guarantees standing behind the loan that the waiver does not cover — not
 * named in it, or standing behind more than the figure it named (the committee waived that much,
 * no more).
 */
export function notWaived(
  standing: readonly StandingGuarantee[],
  waived: readonly StandingGuarantee[],
): UnwaivedGuarantee[] {
  const cover = new Map(waived.map((g) => [g.guaranteeId, new Money(g.standing)]));
  return standing.flatMap((g) => {
    const named = cover.get(g.guaranteeId) ?? ZERO;
    return new Money(g.standing).gt(named) ? [{ ...g, waived: formatAmount(named) }] : [];
  });
}
