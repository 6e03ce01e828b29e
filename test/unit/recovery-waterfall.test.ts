import { formatAmount, Money } from '../../src/money/money';
import {
  callShares,
  noReceivables,
  notWaived,
  restoreInReverse,
  takeInOrder,
  type Receivables,
  type StandingGuarantee,
} from '../../src/recovery/waterfall';

/** The pure rules of the waterfall (W-order, W-restore, W-call), against figures worked out by hand. */

const owed = (fee: string, penalty: string, interest: string, principal: string): Receivables => ({
  '1204': new Money(fee),
  '1203': new Money(penalty),
  '1202': new Money(interest),
  '1201': new Money(principal),
});
const plain = (parts: Receivables) => Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, formatAmount(v)]));
const shares = (outstanding: string, standing: [string, string][]) =>
  callShares(
    new Money(outstanding),
    standing.map(([guaranteeId, amount]) => ({ guaranteeId, standing: new Money(amount) })),
  ).map((share) => [share.guaranteeId, formatAmount(share.amount)]);

describe('W-order: fee, penalty, interest, principal', () => {
  test('when 1,500.00 is taken from 1,000 fee, 150 penalty, 600 interest and principal, then fee and penalty go whole and interest takes the rest', () => {
    expect(plain(takeInOrder(new Money('1500.00'), owed('1000.00', '150.00', '600.00', '5000.00')))).toEqual({
      '1204': '1000.00',
      '1203': '150.00',
      '1202': '350.00',
      '1201': '0.00',
    });
  });

  test('when more than is owed is taken, then it throws', () => {
    expect(() => takeInOrder(new Money('10.01'), owed('0', '0', '0', '10.00'))).toThrow();
  });
});

describe('W-restore: a failed call gives back principal first', () => {
  test('when 700.00 of a round that took 100 fee, 50 interest and 600 principal is given back, then principal 600 then interest 50 then fee 50', () => {
    const taken = owed('100.00', '0.00', '50.00', '600.00');
    expect(plain(restoreInReverse(new Money('700.00'), taken, noReceivables()))).toEqual({
      '1204': '50.00',
      '1203': '0.00',
      '1202': '50.00',
      '1201': '600.00',
    });
  });

  test('when an earlier failure of the round gave principal back, then the next starts where it stopped', () => {
    const taken = owed('0.00', '0.00', '50.00', '600.00');
    const earlier = owed('0.00', '0.00', '0.00', '600.00');
    expect(plain(restoreInReverse(new Money('50.00'), taken, earlier))).toMatchObject({
      '1202': '50.00',
      '1201': '0.00',
    });
    expect(() => restoreInReverse(new Money('50.01'), taken, earlier)).toThrow();
  });
});

describe('W-call: pro rata to what each guarantee stands behind', () => {
  test('when the guarantees stand behind less than is outstanding, then each is called for all it stands behind', () => {
    expect(
      shares('1000.00', [
        ['a', '300.00'],
        ['b', '200.00'],
      ]),
    ).toEqual([
      ['a', '300.00'],
      ['b', '200.00'],
    ]);
  });

  test('when they stand behind more, then the shares are scaled down: 100.00 over 1:1:1 is 33.33 each and the fen left on the largest (lowest id on a tie)', () => {
    expect(
      shares('100.00', [
        ['c', '50.00'],
        ['a', '50.00'],
        ['b', '50.00'],
      ]),
    ).toEqual([
      ['c', '33.33'],
      ['a', '33.34'],
      ['b', '33.33'],
    ]);
  });

  test('when rounding half up overshoots, then the largest share gives the fen back: 0.05 over 1:1 rounds to 0.03 + 0.03', () => {
    // 0.05 × ½ = 0.025 → 0.03 each, 0.06 in all: the largest (tie: lower id "a") gives 0.01 back.
    expect(
      shares('0.05', [
        ['a', '1.00'],
        ['b', '1.00'],
      ]),
    ).toEqual([
      ['a', '0.02'],
      ['b', '0.03'],
    ]);
  });

  test('when nothing is outstanding or nobody stands behind the loan, then nobody is called', () => {
    expect(shares('0.00', [['a', '1.00']])).toEqual([]);
    expect(shares('10.00', [])).toEqual([]);
  });
});

describe('W-stand: the standing guarantees a waiver does not cover', () => {
  const standing = (guaranteeId: string, amount: string): StandingGuarantee => ({
    guaranteeId,
    guarantorMemberId: `member-${guaranteeId}`,
    guarantorName: `Guarantor ${guaranteeId}`,
    type: 'joint_and_several',
    standing: amount,
  });
  const left = (now: StandingGuarantee[], waived: StandingGuarantee[]) =>
    notWaived(now, waived).map((g) => [g.guaranteeId, g.standing, g.waived]);

  test('when there is no waiver, then every standing guarantee is left, with 0.00 waived', () => {
    expect(left([standing('a', '17195.65'), standing('b', '0.01')], [])).toEqual([
      ['a', '17195.65', '0.00'],
      ['b', '0.01', '0.00'],
    ]);
  });

  test('when the waiver names a guarantee at what it stands behind or more, then it is covered', () => {
    expect(
      left([standing('a', '17195.65'), standing('b', '10.00')], [standing('a', '17195.65'), standing('b', '12.00')]),
    ).toEqual([]);
  });

  test('when a guarantee stands behind one fen more than the waiver named, or is not named, then it is left', () => {
    expect(left([standing('a', '100.01'), standing('b', '5.00')], [standing('a', '100.00')])).toEqual([
      ['a', '100.01', '100.00'],
      ['b', '5.00', '0.00'],
    ]);
  });

  test('when nothing stands, then nothing is left, whatever the waiver names', () => {
    expect(left([], [standing('a', '1.00')])).toEqual([]);
  });
});
