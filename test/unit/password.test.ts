import {
  hashPassword,
  PASSWORD_LENGTH_MAX,
  PASSWORD_LENGTH_MIN,
  passwordProblem,
  verifyPassword,
} from '../../src/auth/password';

const PASSWORD = 'correct horse battery staple';
const HASH_FORMAT = /^scrypt\$32768\$8\$1\$([A-Za-z0-9+/]{22}==)\$([A-Za-z0-9+/]{43}=)$/;

describe('hashPassword and verifyPassword', () => {
  // scrypt costs tens of milliseconds per call: hash twice and share the results.
  let first: string;
  let second: string;
  beforeAll(async () => {
    [first, second] = await Promise.all([hashPassword(PASSWORD), hashPassword(PASSWORD)]);
  });

  it('when a password is hashed, then the hash is scrypt$32768$8$1$<16-byte salt>$<32-byte key>', () => {
    const match = HASH_FORMAT.exec(first);
    expect(match).not.toBeNull();
    expect(Buffer.from(match?.[1] ?? '', 'base64')).toHaveLength(16);
    expect(Buffer.from(match?.[2] ?? '', 'base64')).toHaveLength(32);
  });

  it('when the same password is hashed twice, then the salts (and so the hashes) differ', () => {
    expect(HASH_FORMAT.exec(second)?.[1]).not.toBe(HASH_FORMAT.exec(first)?.[1]);
    expect(second).not.toBe(first);
  });

  it('when the right password is given, then it verifies against either hash', async () => {
    await expect(verifyPassword(PASSWORD, first)).resolves.toBe(true);
    await expect(verifyPassword(PASSWORD, second)).resolves.toBe(true);
  });

  it('when a wrong password is given, then it does not verify', async () => {
    await expect(verifyPassword('correct horse battery stapler', first)).resolves.toBe(false);
    await expect(verifyPassword('', first)).resolves.toBe(false);
  });

  it('when the password is written in full-width letters, then NFKC makes it the same password', async () => {
    const fullWidth = 'ｃｏｒｒｅｃｔ ｈｏｒｓｅ ｂａｔｔｅｒｙ ｓｔａｐｌｅ';
    await expect(verifyPassword(fullWidth, first)).resolves.toBe(true);
  });

  it('when the stored key is altered, then the password does not verify', async () => {
    const parts = first.split('$');
    const key = Buffer.from(parts[5] ?? '', 'base64');
    key[0] = (key[0] ?? 0) ^ 1;
    parts[5] = key.toString('base64');
    await expect(verifyPassword(PASSWORD, parts.join('$'))).resolves.toBe(false);
  });

  it.each([
    ['an empty string', () => ''],
    ['garbage', () => 'not a hash'],
    ['another scheme', (hash: string) => hash.replace(/^scrypt/, 'bcrypt')],
    ['a missing key', (hash: string) => hash.split('$').slice(0, 5).join('$')],
    [
      'an empty salt',
      (hash: string) =>
        hash
          .split('$')
          .map((part, i) => (i === 4 ? '' : part))
          .join('$'),
    ],
    ['a truncated key', (hash: string) => `${hash.split('$').slice(0, 5).join('$')}$AAAA`],
  ])('when the stored hash has %s, then verification returns false', async (_, corrupt) => {
    await expect(verifyPassword(PASSWORD, corrupt(first))).resolves.toBe(false);
  });

  it('when the stored hash has malformed scrypt parameters, then verification returns false rather than throwing', async () => {
    const saltAndKey = 'c2FsdHNhbHRzYWx0c2FsdA==$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=';
    const malformed = [
      `scrypt$abc$8$1$${saltAndKey}`, // N is not a number
      `scrypt$1000$8$1$${saltAndKey}`, // N is not a power of two
      `scrypt$32768$0$1$${saltAndKey}`, // r is zero
    ];
    const outcomes = await Promise.all(
      malformed.map((stored) =>
        verifyPassword(PASSWORD, stored).then(
          (result) => result,
          (error: unknown) => `threw: ${error instanceof Error ? error.message : String(error)}`,
        ),
      ),
    );
    expect(outcomes).toEqual([false, false, false]);
  });
});

describe('passwordProblem', () => {
  it('when the password has 11 characters, then it is too short', () => {
    expect(passwordProblem('a'.repeat(PASSWORD_LENGTH_MIN - 1))).toBe('must be at least 12 characters');
  });

  it('when the password has 12 or 256 characters, then there is no problem', () => {
    expect(passwordProblem('a'.repeat(PASSWORD_LENGTH_MIN))).toBeNull();
    expect(passwordProblem('a'.repeat(PASSWORD_LENGTH_MAX))).toBeNull();
  });

  it('when the password has 257 characters, then it is too long', () => {
    expect(passwordProblem('a'.repeat(PASSWORD_LENGTH_MAX + 1))).toBe('must be at most 256 characters');
  });
});
