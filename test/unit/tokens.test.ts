import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import jwt from 'jsonwebtoken';
import { TokenService, VERIFIED_TOKENS_MAX, type TokenSettings } from '../../src/auth/tokens';
import { AppError } from '../../src/errors';

const K1_SECRET = 'k1-current-secret-0123456789abcdef-XYZ';
const K0_SECRET = 'k0-previous-secret-fedcba9876543210-UVW';
const OTHER_SECRET = 'kx-unknown-secret-00112233445566778899';
const SETTINGS: TokenSettings = {
  current: { kid: 'k1', secret: K1_SECRET },
  previous: [{ kid: 'k0', secret: K0_SECRET }],
  issuer: 'huzhu',
  audience: 'huzhu-api',
  ttlSeconds: 3600,
};
const START = new Date('2026-06-14T08:00:00.000Z');
const START_S = START.getTime() / 1000;
const SUB = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';

class FakeClock {
  current = START;
  now = (): Date => this.current;
  advanceSeconds(seconds: number): void {
    this.current = new Date(this.current.getTime() + seconds * 1000);
  }
}

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/** Claims as the service itself would write them, for tokens the tests sign by hand. */
function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sub: SUB,
    role: 'member',
    tv: 1,
    iat: START_S,
    exp: START_S + 3600,
    iss: 'huzhu',
    aud: 'huzhu-api',
    ...overrides,
  };
}

/** An HS256 token over arbitrary header and payload, so any header can be forged. */
function hmacToken(header: Record<string, unknown>, payload: Record<string, unknown>, secret = K1_SECRET): string {
  const signingInput = `${b64url(header)}.${b64url(payload)}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

function invalidTokenError(action: () => unknown): AppError {
  try {
    action();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected the token to be refused, but it verified');
}

describe('TokenService', () => {
  let clock: FakeClock;
  let tokens: TokenService;

  beforeEach(() => {
    clock = new FakeClock();
    tokens = new TokenService(SETTINGS, clock);
  });

  function expectRefused(token: string): void {
    const error = invalidTokenError(() => tokens.verify(token));
    expect(error.code).toBe('invalid_token');
    expect(error.status).toBe(401);
  }

  describe('issue and verify', () => {
    it('when a token is issued and verified, then the claims come back exactly', () => {
      const issued = tokens.issue({ sub: SUB, role: 'committee', tv: 7 });
      expect(issued.expiresAt).toEqual(new Date('2026-06-14T09:00:00.000Z'));
      expect(tokens.verify(issued.token)).toEqual({ sub: SUB, role: 'committee', tv: 7 });
    });

    it('when a token is issued, then its header names HS256 and the current kid, and its claims are complete', () => {
      const { token } = tokens.issue({ sub: SUB, role: 'member', tv: 0 });
      const decoded = jwt.decode(token, { complete: true });
      expect(decoded?.header).toEqual({ alg: 'HS256', typ: 'JWT', kid: 'k1' });
      expect(decoded?.payload).toEqual({
        sub: SUB,
        role: 'member',
        tv: 0,
        iat: START_S,
        exp: START_S + 3600,
        iss: 'huzhu',
        aud: 'huzhu-api',
        jti: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      });
    });

    it('when the clock is 4 s past expiry, then the token is still accepted (5 s tolerance)', () => {
      const { token } = tokens.issue({ sub: SUB, role: 'member', tv: 1 });
      clock.advanceSeconds(3600 + 4);
      expect(tokens.verify(token).sub).toBe(SUB);
    });

    it('when a token was signed with the previous key k0, then it still verifies (rotation)', () => {
      const token = jwt.sign(claims({ role: 'auditor', tv: 2 }), K0_SECRET, { algorithm: 'HS256', keyid: 'k0' });
      expect(tokens.verify(token)).toEqual({ sub: SUB, role: 'auditor', tv: 2 });
    });

    it('when keys are rotated back (k0 current, k1 previous), then a token signed with k1 still verifies', () => {
      const rotatedBack = new TokenService(
        { ...SETTINGS, current: { kid: 'k0', secret: K0_SECRET }, previous: [{ kid: 'k1', secret: K1_SECRET }] },
        clock,
      );
      const { token } = tokens.issue({ sub: SUB, role: 'admin', tv: 3 });
      expect(rotatedBack.verify(token)).toEqual({ sub: SUB, role: 'admin', tv: 3 });
    });
  });

  describe('refusals', () => {
    it('when the token uses alg "none" with an empty signature, then it is refused', () => {
      const token = `${b64url({ alg: 'none', typ: 'JWT', kid: 'k1' })}.${b64url(claims({ role: 'admin' }))}.`;
      expectRefused(token);
    });

    it('when the payload is changed to role admin and the signature kept, then it is refused', () => {
      const { token } = tokens.issue({ sub: SUB, role: 'member', tv: 1 });
      const [header, payload, signature] = token.split('.');
      const claimsIn = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
      expect(claimsIn.role).toBe('member');
      expectRefused(`${header}.${b64url({ ...claimsIn, role: 'admin' })}.${signature}`);
    });

    it('when one character of the signature is changed, then it is refused', () => {
      const { token } = tokens.issue({ sub: SUB, role: 'member', tv: 1 });
      const last = token.slice(-2, -1);
      expectRefused(`${token.slice(0, -2)}${last === 'A' ? 'B' : 'A'}${token.slice(-1)}`);
    });

    it('when the signature is removed, then it is refused', () => {
      const { token } = tokens.issue({ sub: SUB, role: 'member', tv: 1 });
      expectRefused(token.slice(0, token.lastIndexOf('.') + 1));
    });

    it('when the token is signed with an unknown kid, then it is refused', () => {
      expectRefused(jwt.sign(claims(), OTHER_SECRET, { algorithm: 'HS256', keyid: 'k9' }));
    });

    it('when the token names kid k1 but is signed with another secret, then it is refused', () => {
      expectRefused(jwt.sign(claims(), OTHER_SECRET, { algorithm: 'HS256', keyid: 'k1' }));
    });

    it('when the token has no kid, then it is refused', () => {
      expectRefused(jwt.sign(claims(), K1_SECRET, { algorithm: 'HS256' }));
    });

    it('when the clock is past exp plus the 5 s tolerance, then the token is refused as expired', () => {
      const { token } = tokens.issue({ sub: SUB, role: 'member', tv: 1 });
      clock.advanceSeconds(3600 + 6);
      const error = invalidTokenError(() => tokens.verify(token));
      expect(error.code).toBe('invalid_token');
      expect(error.status).toBe(401);
      expect(error.detail).toBe('The token has expired.');
    });

    it('when the audience is wrong, then the token is refused', () => {
      expectRefused(jwt.sign(claims({ aud: 'other-api' }), K1_SECRET, { algorithm: 'HS256', keyid: 'k1' }));
    });

    it('when the audience is missing, then the token is refused', () => {
      expectRefused(jwt.sign(claims({ aud: undefined }), K1_SECRET, { algorithm: 'HS256', keyid: 'k1' }));
    });

    it('when the issuer is wrong, then the token is refused', () => {
      expectRefused(jwt.sign(claims({ iss: 'evil' }), K1_SECRET, { algorithm: 'HS256', keyid: 'k1' }));
    });

    it('when exp − iat is 3601 s, then the token is refused as living too long', () => {
      const token = jwt.sign(claims({ exp: START_S + 3601 }), K1_SECRET, { algorithm: 'HS256', keyid: 'k1' });
      const error = invalidTokenError(() => tokens.verify(token));
      expect(error.code).toBe('invalid_token');
      expect(error.detail).toBe('The token lacks required claims or lives too long.');
    });

    it('when exp − iat is exactly 3600 s, then the token is accepted', () => {
      const token = jwt.sign(claims({ exp: START_S + 3600 }), K1_SECRET, { algorithm: 'HS256', keyid: 'k1' });
      expect(tokens.verify(token).sub).toBe(SUB);
    });

    it('when iat lies a year ahead so that exp − iat is one hour, then the token is refused (it would live a year)', () => {
      const aYear = 365 * 86_400;
      const token = jwt.sign(claims({ iat: START_S + aYear, exp: START_S + aYear + 3600 }), K1_SECRET, {
        algorithm: 'HS256',
        keyid: 'k1',
      });
      expectRefused(token);
    });

    it.each<[string, Record<string, unknown>]>([
      ['tv is missing', { tv: undefined }],
      ['tv is a string', { tv: '1' }],
      ['tv is a fraction', { tv: 1.5 }],
      ['sub is not a uuid', { sub: 'admin' }],
      ['sub is an upper-case uuid', { sub: SUB.toUpperCase() }],
      ['sub is missing', { sub: undefined }],
      ['role is unknown', { role: 'superuser' }],
      ['role is missing', { role: undefined }],
    ])('when %s, then the token is refused', (_, overrides) => {
      expectRefused(jwt.sign(claims(overrides), K1_SECRET, { algorithm: 'HS256', keyid: 'k1' }));
    });

    it.each(['iat', 'exp'])('when %s is missing (signed by hand), then the token is refused', (claim) => {
      const token = hmacToken({ alg: 'HS256', typ: 'JWT', kid: 'k1' }, claims({ [claim]: undefined }));
      expect(Object.keys(jwt.decode(token, { json: true }) ?? {})).not.toContain(claim);
      expectRefused(token);
    });

    it('when the header says HS384 (signed with the right secret), then it is refused', () => {
      expectRefused(jwt.sign(claims(), K1_SECRET, { algorithm: 'HS384', keyid: 'k1' }));
    });

    it('when the header says RS256 over an HMAC signature (algorithm confusion), then it is refused', () => {
      expectRefused(hmacToken({ alg: 'RS256', typ: 'JWT', kid: 'k1' }, claims()));
    });

    it('when a hand-made HS256 token is otherwise right, then it verifies (so the forgeries above fail only on alg)', () => {
      expect(tokens.verify(hmacToken({ alg: 'HS256', typ: 'JWT', kid: 'k1' }, claims())).sub).toBe(SUB);
    });

    it('when a validly signed token is longer than 4096 characters, then it is refused', () => {
      const token = jwt.sign(claims({ pad: 'x'.repeat(4000) }), K1_SECRET, { algorithm: 'HS256', keyid: 'k1' });
      expect(token.length).toBeGreaterThan(4096);
      const error = invalidTokenError(() => tokens.verify(token));
      expect(error.code).toBe('invalid_token');
      expect(error.detail).toBe('The token is too long.');
    });

    it.each(['', 'not-a-token', 'a.b.c', '..'])('when the token is %p, then it is refused', (token) => {
      expectRefused(token);
    });
  });

  describe('remembered tokens', () => {
    /** The claims a service verifies the token to, or the code and detail of its refusal. */
    function outcome(service: TokenService, token: string): unknown {
      try {
        return service.verify(token);
      } catch (error) {
        if (error instanceof AppError) return { code: error.code, detail: error.detail };
        throw error;
      }
    }

    const answer = (token: string): unknown => outcome(tokens, token);
    /** What a service that has never seen the token answers at the clock's current time. */
    const freshAnswer = (token: string): unknown => outcome(new TokenService(SETTINGS, clock), token);

    it('when a verified token is used again past its expiry plus tolerance, then it is refused as expired', () => {
      const { token } = tokens.issue({ sub: SUB, role: 'member', tv: 1 });
      expect(tokens.verify(token).sub).toBe(SUB);
      clock.advanceSeconds(3600 + 4);
      expect(tokens.verify(token).sub).toBe(SUB);
      clock.advanceSeconds(2);
      expect(answer(token)).toEqual({ code: 'invalid_token', detail: 'The token has expired.' });
    });

    it("when the clock goes back before a remembered token's nbf or iat, then it is refused as a fresh check would", () => {
      const notBefore = jwt.sign(claims({ nbf: START_S + 60 }), K1_SECRET, { algorithm: 'HS256', keyid: 'k1' });
      const issuedLater = jwt.sign(claims({ iat: START_S + 60, exp: START_S + 3660 }), K1_SECRET, {
        algorithm: 'HS256',
        keyid: 'k1',
      });
      clock.advanceSeconds(60);
      expect(tokens.verify(notBefore).sub).toBe(SUB);
      expect(tokens.verify(issuedLater).sub).toBe(SUB);
      clock.advanceSeconds(-60);
      expect(answer(notBefore)).toEqual({ code: 'invalid_token', detail: 'The token is not valid.' });
      expect(answer(issuedLater)).toEqual({
        code: 'invalid_token',
        detail: 'The token lacks required claims or lives too long.',
      });
      expect(answer(notBefore)).toEqual(freshAnswer(notBefore));
      expect(answer(issuedLater)).toEqual(freshAnswer(issuedLater));
    });

    it('when tokens are used at any times in any order, then every answer is what a fresh service gives', () => {
      const signed = (overrides: Record<string, unknown>, secret = K1_SECRET): string =>
        jwt.sign(claims(overrides), secret, { algorithm: 'HS256', keyid: 'k1' });
      const candidates = [
        signed({}),
        signed({ role: 'admin', tv: 4 }),
        signed({ nbf: START_S + 1800 }),
        signed({ iat: START_S + 900, exp: START_S + 4500 }),
        signed({ exp: START_S + 60 }),
        signed({ iss: 'evil' }),
        signed({}, OTHER_SECRET),
      ];
      fc.assert(
        fc.property(
          fc.array(
            fc.record({
              token: fc.integer({ min: 0, max: candidates.length - 1 }),
              atSeconds: fc.integer({ min: -120, max: 4800 }),
            }),
            { minLength: 1, maxLength: 30 },
          ),
          (uses) => {
            tokens = new TokenService(SETTINGS, clock);
            for (const use of uses) {
              clock.current = new Date((START_S + use.atSeconds) * 1000);
              const token = candidates[use.token]!;
              expect(answer(token)).toEqual(freshAnswer(token));
            }
          },
        ),
      );
    });

    it('when a token is refused, then it is not remembered', () => {
      expectRefused(jwt.sign(claims(), OTHER_SECRET, { algorithm: 'HS256', keyid: 'k1' }));
      expectRefused(jwt.sign(claims({ iss: 'evil' }), K1_SECRET, { algorithm: 'HS256', keyid: 'k1' }));
      expect(tokens.verifiedCount).toBe(0);
      tokens.verify(tokens.issue({ sub: SUB, role: 'member', tv: 1 }).token);
      expect(tokens.verifiedCount).toBe(1);
    });

    it('when more distinct tokens than the limit are verified, then only the limit is remembered and the oldest still verifies', () => {
      const first = tokens.issue({ sub: SUB, role: 'member', tv: 1 }).token;
      tokens.verify(first);
      for (let index = 0; index < VERIFIED_TOKENS_MAX; index += 1) {
        tokens.verify(tokens.issue({ sub: SUB, role: 'member', tv: 1 }).token);
      }
      expect(tokens.verifiedCount).toBe(VERIFIED_TOKENS_MAX);
      // Forgotten, so verified in full again: still valid, and remembered in place of another.
      expect(tokens.verify(first).sub).toBe(SUB);
      expect(tokens.verifiedCount).toBe(VERIFIED_TOKENS_MAX);
    });
  });

  it('when ttlSeconds is above 3600, then the service cannot be built', () => {
    expect(() => new TokenService({ ...SETTINGS, ttlSeconds: 3601 }, clock)).toThrow('token lifetime above one hour');
  });
});
