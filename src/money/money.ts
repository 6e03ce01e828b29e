import Decimal from 'decimal.js';

/**
 * Money is a decimal with a fixed scale per currency, never a JS number. Amounts enter as strings
 * (or Decimals built from strings), are checked for scale without rounding, and leave as strings
 * with exactly `scale` decimals. Rounding happens only through `roundHalfUp`, at points the caller
 * names; see docs/adr/0001-money.md.
 */
export const Money = Decimal.clone({
  // 40 significant digits hold any amount we accept (≤ 15 integer digits) times any rate with room
  // to spare, so intermediate products are exact before the named rounding point.
  precision: 40,
  rounding: Decimal.ROUND_HALF_UP,
  toExpNeg: -40,
  toExpPos: 40,
});
export type Money = Decimal;

export const CURRENCIES = { CNY: { scale: 2, name: 'Chinese yuan' } } as const;
export type Currency = keyof typeof CURRENCIES;

/** Largest absolute amount accepted anywhere: 10^15 − 0.01, well inside NUMERIC and Decimal. */
export const AMOUNT_INTEGER_DIGITS_MAX = 15;

const AMOUNT_PATTERN = /^-?(0|[1-9]\d*)(\.\d+)?$/;

export type AmountProblem = 'not_a_decimal' | 'too_many_decimals' | 'too_large';

export class AmountError extends Error {
  constructor(
    readonly problem: AmountProblem,
    readonly input: string,
  ) {
    super(`${JSON.stringify(input.slice(0, 40))} is not a valid amount: ${problem}`);
    this.name = 'AmountError';
  }
}

/** Which problem, if any, the text has as an amount of the given scale. */
export function amountProblem(text: string, scale = CURRENCIES.CNY.scale): AmountProblem | null {
  if (!AMOUNT_PATTERN.test(text)) return 'not_a_decimal';
  const [integerPart = '', fraction = ''] = text.replace('-', '').split('.');
  if (fraction.length > scale) return 'too_many_decimals';
  if (integerPart.length > AMOUNT_INTEGER_DIGITS_MAX) return 'too_large';
  return null;
}

/**
 * Parses an amount without rounding: "12.5" and "12.50" are accepted, "12.505" is refused, as are
 * exponents, signs other than a leading minus, spaces and JS numbers.
 */
export function parseAmount(input: string | Decimal, scale = CURRENCIES.CNY.scale): Money {
  if (Decimal.isDecimal(input)) {
    const value = new Money(input);
    if (!value.isFinite()) throw new AmountError('not_a_decimal', input.toString());
    if (value.decimalPlaces() > scale) throw new AmountError('too_many_decimals', value.toFixed());
    if (value.abs().gte(new Money(10).pow(AMOUNT_INTEGER_DIGITS_MAX))) {
      throw new AmountError('too_large', value.toFixed());
    }
    return value;
  }
  if (typeof input !== 'string') throw new AmountError('not_a_decimal', String(input));
  const problem = amountProblem(input, scale);
  if (problem !== null) throw new AmountError(problem, input);
  return new Money(input);
}

/** The one output format: exactly `scale` decimals, no exponent, "-" for negatives, never "-0.00". */
export function formatAmount(value: Decimal, scale = CURRENCIES.CNY.scale): string {
  if (value.decimalPlaces() > scale) {
    // Formatting must never round silently: a value with more decimals is a bug upstream.
    throw new Error(`formatAmount: ${value.toFixed()} has more than ${scale} decimals`);
  }
  const text = value.toFixed(scale);
  return value.isZero() ? new Money(0).toFixed(scale) : text;
}

/**
 * Rounding rule R1 (docs/adr/0001-money.md): half away from zero to the currency scale. Callers
 * name the point at which they round and book any remainder themselves.
 */
export function roundHalfUp(value: Decimal, scale = CURRENCIES.CNY.scale): Money {
  return new Money(value).toDecimalPlaces(scale, Decimal.ROUND_HALF_UP);
}

export function sumAmounts(values: readonly Decimal[]): Money {
  return values.reduce<Money>((total, value) => total.plus(value), new Money(0));
}

export const ZERO: Money = new Money(0);
