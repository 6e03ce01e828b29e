import fc from 'fast-check';
import {
  CREDIT_CODE_CHARSET,
  CREDIT_CODE_WEIGHTS,
  creditCodeCheckChar,
  creditCodeProblem,
  isValidCreditCode,
} from '../../src/members/credit-code';

/** The charset written out by hand from GB 32100-2015 (no I, O, S, V, Z). */
const CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const DIGITS = '0123456789';

/**
 * An independent reference: the formula of the standard, computed with exponentiation rather than
 * the module's running product, and the '0' for 31 spelled out.
 */
function referenceCheckChar(first17: string): string {
  let sum = 0;
  for (let i = 1; i <= 17; i += 1) sum += CHARSET.indexOf(first17[i - 1]!) * (3 ** (i - 1) % 31);
  const c18 = 31 - (sum % 31);
  return c18 === 31 ? '0' : CHARSET[c18]!;
}

const charsetChar = fc.constantFrom(...CHARSET.split(''));
const digit = fc.constantFrom(...DIGITS.split(''));

/** The first 17 characters of a code: 2 charset characters, a 6-digit division, 9 charset characters. */
const body17 = fc
  .tuple(
    fc.array(charsetChar, { minLength: 2, maxLength: 2 }),
    fc.array(digit, { minLength: 6, maxLength: 6 }),
    fc.array(charsetChar, { minLength: 9, maxLength: 9 }),
  )
  .map(([head, division, organization]) => [...head, ...division, ...organization].join(''));

const validCode = body17.map((body) => body + referenceCheckChar(body));

describe('the constants', () => {
  test('when the charset is compared with the standard, then it is the 31 characters without I, O, S, V, Z', () => {
    expect(CREDIT_CODE_CHARSET).toBe(CHARSET);
    expect(CHARSET).toHaveLength(31);
    for (const letter of ['I', 'O', 'S', 'V', 'Z']) expect(CHARSET).not.toContain(letter);
  });

  test('when the weights are listed, then they are 3^(i−1) mod 31 as the standard tabulates them', () => {
    expect(CREDIT_CODE_WEIGHTS).toEqual([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]);
  });
});

describe('examples checked by hand', () => {
  test('when 91350100M000100Y4 is summed by hand, then the check character is 3', () => {
    // values  9 1 3 5 0 1 0 0 M=21 0 0 0 1 0 0 Y=30 4
    // weights 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28
    // Σ = 9 + 3 + 27 + 135 + 26 + 420 + 8 + 900 + 112 = 1640; 1640 mod 31 = 28; 31 − 28 = 3.
    expect(creditCodeCheckChar('91350100M000100Y4')).toBe('3');
    expect(isValidCreditCode('91350100M000100Y43')).toBe(true);
  });

  test.each([
    // Published codes of well-known companies, each with a check letter rather than a digit.
    '91110000600037341L',
    '91440300708461136T',
    '91110108551385082Q',
  ])('when the published code %s is checked, then it is valid', (code) => {
    expect(isValidCreditCode(code)).toBe(true);
    expect(creditCodeProblem(code)).toBeNull();
  });

  test('when the weighted sum is a multiple of 31, then the check character is 0, not the 32nd character', () => {
    // 1 × 1 + 10 × 3 = 31 ≡ 0, so C18 = 31 − 0 = 31, written '0'.
    const body = '1A000000000000000';
    expect(referenceCheckChar(body)).toBe('0');
    expect(creditCodeCheckChar(body)).toBe('0');
    expect(isValidCreditCode(`${body}0`)).toBe(true);
  });
});

describe('refusals and their reasons', () => {
  test.each([
    ['91350100M000100Y4', /18 characters, not 17/],
    ['91350100M000100Y433', /18 characters, not 19/],
    ['', /18 characters, not 0/],
    ['91350100m000100Y43', /character 9 .*lower case.*upper case/],
    ['91350100I000100Y43', /character 9 .*not used/],
    ['9135010OM000100Y43', /character 8 .*not used/],
    ['9135A100M000100Y43', /character 5 .*must be a digit.*administrative division/],
    ['91350100M000100Y4 ', /character 18 .*not used/],
    ['91350100M000100Y44', /check character .*does not match/],
  ])('when %j is checked, then it is refused: %s', (code, reason) => {
    expect(isValidCreditCode(code)).toBe(false);
    expect(creditCodeProblem(code)).toMatch(reason);
  });

  test('when the check character is wrong, then the message does not reveal the expected one', () => {
    const problem = creditCodeProblem('91350100M000100Y44');
    expect(problem).not.toContain('"3"');
    expect(problem).not.toMatch(/should be|expected/);
  });

  test('when creditCodeCheckChar is given something other than a 17-character body, then it throws', () => {
    expect(() => creditCodeCheckChar('91350100M000100Y')).toThrow(/17 characters/);
    expect(() => creditCodeCheckChar('91350100M000100YZ')).toThrow(/not used/);
    expect(() => creditCodeCheckChar('91A50100M000100Y4')).toThrow(/must be a digit/);
  });
});

describe('properties', () => {
  test('when a code is built with the reference check character, then it is valid and the module computes the same character', () => {
    fc.assert(
      fc.property(body17, (body) => {
        expect(creditCodeCheckChar(body)).toBe(referenceCheckChar(body));
        expect(isValidCreditCode(body + referenceCheckChar(body))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  test('when any one character of a valid code is replaced by any other charset character, then the code is invalid', () => {
    fc.assert(
      fc.property(validCode, (code) => {
        for (let index = 0; index < code.length; index += 1) {
          for (const replacement of CHARSET) {
            if (replacement === code[index]) continue;
            const changed = code.slice(0, index) + replacement + code.slice(index + 1);
            if (isValidCreditCode(changed)) throw new Error(`${changed} (from ${code}) passed`);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  test('when a valid code is lower-cased or gets a character outside the charset, then it is invalid', () => {
    fc.assert(
      fc.property(
        validCode,
        fc.nat({ max: 17 }),
        fc.constantFrom('I', 'O', 'S', 'V', 'Z', 'i', 'a', '-', ' ', '０', '一'),
        (code, index, intruder) => {
          const changed = code.slice(0, index) + intruder + code.slice(index + 1);
          expect(isValidCreditCode(changed)).toBe(false);
          if (/[A-Z]/.test(code)) expect(isValidCreditCode(code.toLowerCase())).toBe(false);
        },
      ),
    );
  });

  test('when two adjacent different characters of a valid code are swapped, then the code is invalid', () => {
    // Adjacent weights differ by a factor of 3 mod 31, so a swap changes the sum unless the
    // characters are equal: the check catches every transposition of neighbours in the body.
    fc.assert(
      fc.property(validCode, fc.nat({ max: 15 }), (code, index) => {
        const [a, b] = [code[index]!, code[index + 1]!];
        fc.pre(a !== b);
        const swapped = code.slice(0, index) + b + a + code.slice(index + 2);
        expect(isValidCreditCode(swapped)).toBe(false);
      }),
    );
  });
});
