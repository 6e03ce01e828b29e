import Decimal from 'decimal.js';
import fc from 'fast-check';
import {
  AMOUNT_INTEGER_DIGITS_MAX,
  AmountError,
  type AmountProblem,
  amountProblem,
  formatAmount,
  parseAmount,
  roundHalfUp,
  sumAmounts,
} from '../../src/money/money';

/** Largest amount accepted, in fen: 15 integer digits and 2 decimals, all nines. */
const FEN_MAX = 10n ** BigInt(AMOUNT_INTEGER_DIGITS_MAX + 2) - 1n;

/** The expected text of an amount held as an integer number of fen, computed without decimal.js. */
function fenText(fen: bigint): string {
  const magnitude = fen < 0n ? -fen : fen;
  const yuan = magnitude / 100n;
  const cents = (magnitude % 100n).toString().padStart(2, '0');
  return `${fen < 0n ? '-' : ''}${yuan}.${cents}`;
}

function amountErrorOf(action: () => unknown): AmountError {
  try {
    action();
  } catch (error) {
    if (error instanceof AmountError) return error;
    throw error;
  }
  throw new Error('expected an AmountError, but nothing was thrown');
}

describe('parseAmount', () => {
  it.each([
    ['12.5', '12.50'],
    ['12.50', '12.50'],
    ['12', '12.00'],
    ['0', '0.00'],
    ['0.01', '0.01'],
    ['-0.01', '-0.01'],
    ['-12.3', '-12.30'],
    ['999999999999999.99', '999999999999999.99'],
    ['-999999999999999.99', '-999999999999999.99'],
  ])('when the text is %p, then it parses to the amount %p', (text, formatted) => {
    expect(formatAmount(parseAmount(text))).toBe(formatted);
  });

  it.each<[string, AmountProblem]>([
    ['12.505', 'too_many_decimals'],
    ['12.500', 'too_many_decimals'],
    ['0.001', 'too_many_decimals'],
    ['1e3', 'not_a_decimal'],
    ['1E3', 'not_a_decimal'],
    ['+1', 'not_a_decimal'],
    ['+1.00', 'not_a_decimal'],
    [' 1', 'not_a_decimal'],
    ['1 ', 'not_a_decimal'],
    ['1 000', 'not_a_decimal'],
    ['1,000.00', 'not_a_decimal'],
    ['', 'not_a_decimal'],
    ['.5', 'not_a_decimal'],
    ['5.', 'not_a_decimal'],
    ['01.00', 'not_a_decimal'],
    ['00', 'not_a_decimal'],
    ['-', 'not_a_decimal'],
    ['--1', 'not_a_decimal'],
    ['NaN', 'not_a_decimal'],
    ['Infinity', 'not_a_decimal'],
    ['-Infinity', 'not_a_decimal'],
    ['0x10', 'not_a_decimal'],
    ['１２', 'not_a_decimal'],
    ['12.5\n', 'not_a_decimal'],
    ['1000000000000000', 'too_large'],
    ['1000000000000000.00', 'too_large'],
    ['-1000000000000000', 'too_large'],
    ['12345678901234567890', 'too_large'],
  ])('when the text is %p, then it is refused as %p', (text, problem) => {
    const error = amountErrorOf(() => parseAmount(text));
    expect(error.problem).toBe(problem);
    expect(error.input).toBe(text);
    expect(error.name).toBe('AmountError');
  });

  it('when a JS number slips through as input, then it is refused as not_a_decimal', () => {
    const error = amountErrorOf(() => parseAmount(12.5 as unknown as string));
    expect(error.problem).toBe('not_a_decimal');
  });

  it('when the input is very long, then the error message quotes only its first 40 characters', () => {
    const text = `${'9'.repeat(60)}x`;
    const error = amountErrorOf(() => parseAmount(text));
    expect(error.message).toBe(`"${'9'.repeat(40)}" is not a valid amount: not_a_decimal`);
  });

  it.each([
    ['12.34', '12.34'],
    ['1e3', '1000.00'],
    ['-0.5', '-0.50'],
    ['999999999999999.99', '999999999999999.99'],
  ])('when a Decimal %p is given, then it is accepted as %p', (value, formatted) => {
    expect(formatAmount(parseAmount(new Decimal(value)))).toBe(formatted);
  });

  it.each<[Decimal, AmountProblem]>([
    [new Decimal('12.345'), 'too_many_decimals'],
    [new Decimal('0.001'), 'too_many_decimals'],
    [new Decimal('-2.345'), 'too_many_decimals'],
    [new Decimal(NaN), 'not_a_decimal'],
    [new Decimal(Infinity), 'not_a_decimal'],
    [new Decimal(-Infinity), 'not_a_decimal'],
    [new Decimal('1e15'), 'too_large'],
    [new Decimal('-1e15'), 'too_large'],
  ])('when a Decimal %s is given, then it is refused as %p', (value, problem) => {
    expect(amountErrorOf(() => parseAmount(value)).problem).toBe(problem);
  });
});

describe('amountProblem', () => {
  it.each<[string, AmountProblem | null]>([
    ['12.50', null],
    ['-0.01', null],
    ['12.505', 'too_many_decimals'],
    ['1e3', 'not_a_decimal'],
    ['1000000000000000', 'too_large'],
  ])('when the text is %p, then the problem is %p', (text, problem) => {
    expect(amountProblem(text)).toBe(problem);
  });
});

describe('formatAmount', () => {
  it.each([
    ['12.5', '12.50'],
    ['12', '12.00'],
    ['1.500', '1.50'],
    ['0', '0.00'],
    ['-0', '0.00'],
    ['-0.00', '0.00'],
    ['-7.1', '-7.10'],
    ['1e20', '100000000000000000000.00'],
    ['1e-2', '0.01'],
  ])('when the value is %p, then the text is %p', (value, text) => {
    expect(formatAmount(new Decimal(value))).toBe(text);
  });

  it('when a product of amounts has no extra decimals, then it formats exactly', () => {
    expect(formatAmount(parseAmount('0.10').times(3))).toBe('0.30');
  });

  it.each(['2.345', '1.005', '-0.001', '0.999'])(
    'when the value %p has more than 2 decimals, then formatting throws instead of rounding',
    (value) => {
      expect(() => formatAmount(new Decimal(value))).toThrow(`formatAmount: ${value} has more than 2 decimals`);
    },
  );
});

describe('roundHalfUp', () => {
  it.each([
    ['2.345', '2.35'],
    ['-2.345', '-2.35'],
    ['2.344', '2.34'],
    ['-2.344', '-2.34'],
    ['2.3449999', '2.34'],
    ['2.355', '2.36'],
    ['0.005', '0.01'],
    ['-0.005', '-0.01'],
    ['1.995', '2.00'],
    ['-0.004', '0.00'],
    ['12.5', '12.50'],
    ['123456789012345.675', '123456789012345.68'],
  ])('when %p is rounded, then it becomes %p', (value, rounded) => {
    expect(formatAmount(roundHalfUp(new Decimal(value)))).toBe(rounded);
  });
});

describe('sumAmounts', () => {
  it('when there is nothing to sum, then the total is zero', () => {
    expect(formatAmount(sumAmounts([]))).toBe('0.00');
  });

  it('when 0.10 and 0.20 are summed, then the total is exactly 0.30', () => {
    expect(formatAmount(sumAmounts([parseAmount('0.10'), parseAmount('0.20')]))).toBe('0.30');
  });

  it('when amounts cancel out, then the total formats as 0.00, never -0.00', () => {
    expect(formatAmount(sumAmounts([parseAmount('-5.25'), parseAmount('5.25')]))).toBe('0.00');
  });
});

describe('money properties', () => {
  const fen = fc.bigInt({ min: -FEN_MAX, max: FEN_MAX });

  it('when any whole number of fen is formatted and parsed back, then it round-trips exactly', () => {
    fc.assert(
      fc.property(fen, (value) => {
        const text = fenText(value);
        const amount = parseAmount(text);
        expect(formatAmount(amount)).toBe(text);
        expect(parseAmount(formatAmount(amount)).eq(amount)).toBe(true);
      }),
    );
  });

  it('when a text has exactly 3 decimals ending in a non-zero digit, then it is refused as too_many_decimals', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.bigInt({ min: 0n, max: 10n ** 20n }),
        fc.integer({ min: 0, max: 99 }),
        fc.integer({ min: 1, max: 9 }),
        (negative, integerPart, firstTwo, last) => {
          const text = `${negative ? '-' : ''}${integerPart}.${String(firstTwo).padStart(2, '0')}${last}`;
          const error = amountErrorOf(() => parseAmount(text));
          expect(error.problem).toBe('too_many_decimals');
        },
      ),
    );
  });

  it('when parsed amounts are summed, then the total equals the sum of their fen as integers', () => {
    fc.assert(
      fc.property(fc.array(fen, { maxLength: 50 }), (values) => {
        const total = values.reduce((sum, value) => sum + value, 0n);
        const parsed = values.map((value) => parseAmount(fenText(value)));
        expect(formatAmount(sumAmounts(parsed))).toBe(fenText(total));
      }),
    );
  });
});
