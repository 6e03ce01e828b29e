import fc from 'fast-check';
import { Money, sumAmounts } from '../../src/money/money';
import { addDays, daysInclusive } from '../../src/clock';
import { allocate, NoCapitalToAllocate, periodRange, type Weight } from '../../src/periods/allocation';

const w = (memberId: string, weight: string): Weight => ({ memberId, weight: new Money(weight) });
const shares = (result: { memberId: string; share: Money }[]) =>
  Object.fromEntries(result.map((entry) => [entry.memberId, entry.share.toFixed(2)]));

describe('allocate: examples', () => {
  test('when 100.00 is shared over three equal weights, then the remainder fen goes to the lowest member id among the tied largest shares', () => {
    const result = allocate(new Money('100.00'), [w('c', '1000'), w('a', '1000'), w('b', '1000')]);
    // 33.33 each, remainder 0.01; all shares and weights tie, so the lowest id ("a") takes it.
    expect(shares(result)).toEqual({ a: '33.34', b: '33.33', c: '33.33' });
    expect(result.map((entry) => entry.memberId)).toEqual(['a', 'b', 'c']);
  });

  test('when shares tie but weights differ, then the larger weight takes the remainder', () => {
    // Exact 0.3333322, 0.3333356, 0.3333322: all round to 0.33 (sum 0.99); the remainder 0.01 goes
    // to the larger weight (b), although "a" has the lower id.
    const result = allocate(new Money('1.00'), [w('a', '1'), w('b', '1.00001'), w('c', '1')]);
    expect(shares(result)).toEqual({ a: '0.33', b: '0.34', c: '0.33' });
  });

  test('when one share is largest, then it takes the whole remainder', () => {
    const result = allocate(new Money('10.00'), [w('a', '1'), w('b', '1'), w('c', '4')]);
    // Exact 1.6667, 1.6667, 6.6667 → 1.67, 1.67, 6.67 = 10.01; remainder −0.01 to the largest (c).
    expect(shares(result)).toEqual({ a: '1.67', b: '1.67', c: '6.66' });
  });

  test('when the result is a loss, then every share is a loss and the remainder goes to the largest by absolute value', () => {
    const result = allocate(new Money('-100.00'), [w('a', '1'), w('b', '2'), w('c', '3')]);
    // −16.6667, −33.3333, −50 → −16.67, −33.33, −50.00 = −100.00 exactly.
    expect(shares(result)).toEqual({ a: '-16.67', b: '-33.33', c: '-50.00' });
    const odd = allocate(new Money('-1.00'), [w('a', '1'), w('b', '1'), w('c', '1')]);
    expect(shares(odd)).toEqual({ a: '-0.34', b: '-0.33', c: '-0.33' });
  });

  test('when the remainder would carry the largest share past zero, then the excess goes to the next members and no share changes sign', () => {
    // 0.02 over four equal weights: exact 0.005 each rounds half-up to 0.01 (sum 0.04).
    const result = allocate(new Money('0.02'), [w('a', '1'), w('b', '1'), w('c', '1'), w('d', '1')]);
    expect(shares(result)).toEqual({ a: '0.00', b: '0.00', c: '0.01', d: '0.01' });
  });

  test('when a member has no weight, then it gets nothing', () => {
    expect(shares(allocate(new Money('50.00'), [w('a', '0'), w('b', '7')]))).toEqual({ a: '0.00', b: '50.00' });
  });

  test('when the amount is zero, then every share is zero even without capital', () => {
    expect(shares(allocate(new Money('0'), [w('a', '0'), w('b', '0')]))).toEqual({ a: '0.00', b: '0.00' });
  });

  test('when there is a result and no weight at all, then it is refused', () => {
    expect(() => allocate(new Money('1.00'), [w('a', '0')])).toThrow(NoCapitalToAllocate);
    expect(() => allocate(new Money('-1.00'), [])).toThrow(NoCapitalToAllocate);
  });

  test('when a weight is negative or a member appears twice, then it is a programming error', () => {
    expect(() => allocate(new Money('1.00'), [w('a', '-1')])).toThrow(/negative weight/);
    expect(() => allocate(new Money('1.00'), [w('a', '1'), w('a', '2')])).toThrow(/duplicate/);
  });
});

// ---------------------------------------------------------------------------------------------

const cents = fc
  .bigInt({ min: -10_000_000_000n, max: 10_000_000_000n })
  .map((value) => new Money(value.toString()).div(100));
const weightValue = fc.oneof(
  fc.constant(new Money(0)),
  fc.bigInt({ min: 0n, max: 1_000_000_000_000n }).map((value) => new Money(value.toString()).div(100)),
);
const weightsArb = fc
  .uniqueArray(fc.uuid(), { minLength: 1, maxLength: 30 })
  .chain((ids) => fc.tuple(fc.constant(ids), fc.array(weightValue, { minLength: ids.length, maxLength: ids.length })))
  .map(([ids, values]) => ids.map((memberId, index) => ({ memberId, weight: values[index]! })))
  .filter((weights) => weights.some((entry) => entry.weight.gt(0)));

describe('allocate: properties', () => {
  test('the shares add up to the amount exactly, and have 2 decimals', () => {
    fc.assert(
      fc.property(cents, weightsArb, (amount, weights) => {
        const result = allocate(amount, weights);
        expect(sumAmounts(result.map((entry) => entry.share)).eq(amount)).toBe(true);
        for (const entry of result) expect(entry.share.decimalPlaces()).toBeLessThanOrEqual(2);
      }),
    );
  });

  test('each share is within half a fen of its exact value, except those that took the remainder, and the total deviation is at most half a fen per member', () => {
    fc.assert(
      fc.property(cents, weightsArb, (amount, weights) => {
        const result = allocate(amount, weights);
        const total = sumAmounts(weights.map((entry) => entry.weight));
        const deviations = result.map((entry) => entry.share.minus(amount.times(entry.weight).div(total)).abs());
        const far = deviations.filter((deviation) => deviation.gt('0.005'));
        const totalDeviation = sumAmounts(deviations);
        expect(totalDeviation.lte(new Money('0.01').times(result.length))).toBe(true);
        if (far.length > 1) {
          // Spreading only happens when the amount is a few fen spread over many members.
          expect(amount.abs().lt(new Money('0.005').times(result.length ** 2))).toBe(true);
        }
      }),
    );
  });

  test('for amounts large against the number of members, only the one remainder holder strays more than half a fen', () => {
    fc.assert(
      fc.property(cents, weightsArb, (amount, weights) => {
        fc.pre(amount.abs().gte(new Money('0.005').times(weights.length ** 2)));
        const result = allocate(amount, weights);
        const total = sumAmounts(weights.map((entry) => entry.weight));
        const far = result.filter((entry) =>
          entry.share.minus(amount.times(entry.weight).div(total)).abs().gt('0.005'),
        );
        expect(far.length).toBeLessThanOrEqual(1);
        for (const entry of far) {
          expect(
            entry.share.minus(amount.times(entry.weight).div(total)).abs().lte(new Money('0.005').times(result.length)),
          ).toBe(true);
        }
      }),
    );
  });

  test('every share has the sign of the amount, or is zero', () => {
    fc.assert(
      fc.property(cents, weightsArb, (amount, weights) => {
        for (const entry of allocate(amount, weights)) {
          if (!entry.share.isZero()) expect(entry.share.isNegative()).toBe(amount.isNegative());
        }
      }),
    );
  });

  test('the result does not depend on the order of the weights', () => {
    const withShuffle = weightsArb.chain((weights) =>
      fc.tuple(
        fc.constant(weights),
        fc.shuffledSubarray(weights, { minLength: weights.length, maxLength: weights.length }),
      ),
    );
    fc.assert(
      fc.property(cents, withShuffle, (amount, [weights, shuffled]) => {
        const first = allocate(amount, weights).map((entry) => [entry.memberId, entry.share.toFixed(2)]);
        const second = allocate(amount, shuffled).map((entry) => [entry.memberId, entry.share.toFixed(2)]);
        expect(second).toEqual(first);
      }),
    );
  });

  test('scaling every weight by the same factor (the number of days) changes nothing', () => {
    fc.assert(
      fc.property(cents, weightsArb, fc.integer({ min: 1, max: 366 }), (amount, weights, days) => {
        const scaled = weights.map((entry) => ({ ...entry, weight: entry.weight.times(days) }));
        expect(shares(allocate(amount, scaled))).toEqual(shares(allocate(amount, weights)));
      }),
    );
  });
});

describe('periods and dates', () => {
  test.each([
    ['2026', '2026-01-01', '2026-12-31'],
    ['2026-H1', '2026-01-01', '2026-06-30'],
    ['2026-H2', '2026-07-01', '2026-12-31'],
    ['2026-Q1', '2026-01-01', '2026-03-31'],
    ['2024-Q1', '2024-01-01', '2024-03-31'],
    ['2026-Q4', '2026-10-01', '2026-12-31'],
    ['2024-02', '2024-02-01', '2024-02-29'],
    ['2026-02', '2026-02-01', '2026-02-28'],
    ['2026-12', '2026-12-01', '2026-12-31'],
  ])('when the period is %s, then it runs from %s to %s', (period, startsOn, endsOn) => {
    expect(periodRange(period)).toEqual({ period, startsOn, endsOn });
  });

  test.each(['26', '2026-13', '2026-Q5', '2026-H3', '2026-00', '2026-1', '2026-q1', '1899', '3000', ' 2026'])(
    'when the period is %j, then it is not a period',
    (period) => {
      expect(periodRange(period)).toBeUndefined();
    },
  );

  test('days are counted inclusively and added across month and leap-year ends', () => {
    expect(daysInclusive('2026-01-01', '2026-12-31')).toBe(365);
    expect(daysInclusive('2024-01-01', '2024-12-31')).toBe(366);
    expect(daysInclusive('2026-06-15', '2026-06-15')).toBe(1);
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2024-03-01', -1)).toBe('2024-02-29');
  });
});
