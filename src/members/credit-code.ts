/**
 * The unified social credit code (统一社会信用代码) of GB 32100-2015: 18 characters
 *   1     registration authority        (charset)
 *   2     organization category         (charset)
 *   3–8   administrative division code  (digits, GB/T 2260)
 *   9–17  organization code             (charset)
 *   18    check character               (charset)
 * over the 31 characters "0123456789ABCDEFGHJKLMNPQRTUWXY" (no I, O, S, V, Z). The check
 * character is C18 = 31 − (Σ value(cᵢ) × wᵢ mod 31) for i = 1..17, with wᵢ = 3^(i−1) mod 31, and
 * C18 = 31 is written '0'; value() is the index in the charset.
 *
 * Case: the standard writes codes in upper case only, and so does this module: "a" is not a
 * character of the code. The API edge upper-cases what clients send (codes are printed in upper
 * case on business licences, so a lower-case code is the same code typed differently); everything
 * stored and compared is upper case.
 */
export const CREDIT_CODE_CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
export const CREDIT_CODE_LENGTH = 18;

const MODULUS = CREDIT_CODE_CHARSET.length;

/** wᵢ = 3^(i−1) mod 31 for i = 1..17: 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28. */
export const CREDIT_CODE_WEIGHTS: readonly number[] = Array.from({ length: CREDIT_CODE_LENGTH - 1 }, (_, index) => {
  let weight = 1;
  for (let step = 0; step < index; step += 1) weight = (weight * 3) % MODULUS;
  return weight;
});

/** Positions 3–8 (1-based): the administrative division, digits only. */
const DIVISION_FIRST = 3;
const DIVISION_LAST = 8;

function valueOf(char: string): number {
  return CREDIT_CODE_CHARSET.indexOf(char);
}

function isDivisionPosition(position: number): boolean {
  return position >= DIVISION_FIRST && position <= DIVISION_LAST;
}

/**
 * The check character for the first 17 characters of a code. Throws if they are not 17 characters
 * of the charset with digits at positions 3–8: a check character of anything else means nothing.
 */
export function creditCodeCheckChar(first17: string): string {
  const problem = bodyProblem(first17);
  if (problem !== null) throw new Error(`creditCodeCheckChar: ${problem}`);
  let sum = 0;
  for (let index = 0; index < first17.length; index += 1) {
    sum += valueOf(first17[index]!) * CREDIT_CODE_WEIGHTS[index]!;
  }
  const check = MODULUS - (sum % MODULUS);
  return check === MODULUS ? '0' : CREDIT_CODE_CHARSET[check]!;
}

/** What is wrong with the first 17 characters, or null. */
function bodyProblem(first17: string): string | null {
  if (first17.length !== CREDIT_CODE_LENGTH - 1) {
    return `the body of a code is ${CREDIT_CODE_LENGTH - 1} characters, not ${first17.length}`;
  }
  return charactersProblem(first17);
}

function charactersProblem(text: string): string | null {
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index]!;
    const position = index + 1;
    if (/[a-z]/.test(char)) {
      return `character ${position} (${JSON.stringify(char)}) is lower case: a credit code is written in upper case`;
    }
    if (valueOf(char) < 0) {
      return `character ${position} (${JSON.stringify(char)}) is not used in credit codes: only digits and the letters A–Y without I, O, S, V and Z`;
    }
    if (isDivisionPosition(position) && !/[0-9]/.test(char)) {
      return `character ${position} (${JSON.stringify(char)}) must be a digit: characters ${DIVISION_FIRST}–${DIVISION_LAST} are the administrative division code`;
    }
  }
  return null;
}

/**
 * Why `code` is not a valid credit code, as a sentence fragment ("must be 18 characters…"), or null
 * when it is valid. The expected check character is deliberately not given: a wrong check
 * character usually means a mistyped character elsewhere, which "fixing" the last one would hide.
 */
export function creditCodeProblem(code: string): string | null {
  if (code.length !== CREDIT_CODE_LENGTH) {
    return `must be ${CREDIT_CODE_LENGTH} characters, not ${code.length}`;
  }
  const characters = charactersProblem(code);
  if (characters !== null) return characters;
  const body = code.slice(0, CREDIT_CODE_LENGTH - 1);
  if (creditCodeCheckChar(body) !== code[CREDIT_CODE_LENGTH - 1]) {
    return 'the check character (the 18th) does not match the first 17 characters: one of them is probably mistyped';
  }
  return null;
}

/** True only for an 18-character upper-case code whose check character matches (GB 32100-2015). */
export function isValidCreditCode(code: string): boolean {
  return creditCodeProblem(code) === null;
}
