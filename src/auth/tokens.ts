import { createSecretKey, randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Clock } from '../clock';
import type { JwtKey } from '../config';
import { authError } from './auth.errors';
import { ROLES, type Role } from './principal';

/** Longest token lifetime accepted, whatever a token says about itself. */
export const TOKEN_TTL_SECONDS_MAX = 3600;
const CLOCK_TOLERANCE_SECONDS = 5;
const TOKEN_LENGTH_MAX = 4096;
/**
 * Verified tokens remembered at most. A user's requests in an hour carry one token; this many
 * covers every user of a large park several times over (each entry a few hundred bytes).
 */
export const VERIFIED_TOKENS_MAX = 10_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface TokenSettings {
  current: JwtKey;
  /** Keys still accepted for verification after a rotation. */
  previous: readonly JwtKey[];
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

export interface TokenClaims {
  sub: string;
  role: Role;
  /** The user's token version when issued: bumping it in the database revokes the token. */
  tv: number;
}

/** A token that passed every check, with the times its validity depends on. */
interface VerifiedToken {
  claims: Readonly<TokenClaims>;
  issuedAtSeconds: number;
  notBeforeSeconds: number | undefined;
  expiresSeconds: number;
}

/**
 * HS256 JWTs with a `kid`, so a new key can sign while old tokens still verify under the previous
 * key. Verification pins the algorithm and the key by `kid`, and requires issuer, audience, expiry
 * and a lifetime no longer than an hour.
 *
 * A token is verified in full once; its claims are then remembered by its exact text (an HMAC
 * costs more than the rest of authenticating a request), and a later use checks only the times,
 * as the full verification would. Everything else a verification checks is fixed by the text and
 * the keys, and the keys do not change while the service runs. Whether the user is still enabled
 * and the token still current (`tv`) is the caller's check, made on every request.
 */
export class TokenService {
  /** KeyObjects, not strings: jsonwebtoken would otherwise try to parse a string as a public key on every verify. */
  private readonly keys: Map<string, KeyObject>;
  private readonly signingKey: KeyObject;
  /** Oldest first: when full, the oldest is forgotten (and verified again if it comes back). */
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(
    private readonly settings: TokenSettings,
    private readonly clock: Clock,
  ) {
    if (settings.ttlSeconds > TOKEN_TTL_SECONDS_MAX) throw new Error('token lifetime above one hour');
    const keyOf = (secret: string): KeyObject => createSecretKey(Buffer.from(secret, 'utf8'));
    this.keys = new Map([settings.current, ...settings.previous].map((key) => [key.kid, keyOf(key.secret)]));
    this.signingKey = keyOf(settings.current.secret);
  }

  issue(claims: TokenClaims): { token: string; expiresAt: Date } {
    const iat = Math.floor(this.clock.now().getTime() / 1000);
    const exp = iat + this.settings.ttlSeconds;
    const token = jwt.sign({ ...claims, iat, exp }, this.signingKey, {
      algorithm: 'HS256',
      keyid: this.settings.current.kid,
      issuer: this.settings.issuer,
      audience: this.settings.audience,
      jwtid: randomUUID(),
    });
    return { token, expiresAt: new Date(exp * 1000) };
  }

  verify(token: string): Readonly<TokenClaims> {
    if (token.length > TOKEN_LENGTH_MAX) throw authError('invalid_token', 'The token is too long.');
    const now = Math.floor(this.clock.now().getTime() / 1000);
    const remembered = this.verified.get(token);
    if (remembered !== undefined) {
      this.checkTimes(remembered, now);
      return remembered.claims;
    }
    const verified = this.verifyInFull(token, now);
    if (this.verified.size >= VERIFIED_TOKENS_MAX) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, verified);
    return verified.claims;
  }

  /**
   * The checks of a full verification that depend on the time, in the same order and words:
   * jsonwebtoken's nbf and exp, then the issue time below.
   */
  private checkTimes(token: VerifiedToken, now: number): void {
    if (token.notBeforeSeconds !== undefined && token.notBeforeSeconds > now + CLOCK_TOLERANCE_SECONDS) {
      throw authError('invalid_token', 'The token is not valid.');
    }
    if (now >= token.expiresSeconds + CLOCK_TOLERANCE_SECONDS) {
      throw authError('invalid_token', 'The token has expired.');
    }
    // Issued in the future would stretch the lifetime past an hour from now.
    if (token.issuedAtSeconds > now + CLOCK_TOLERANCE_SECONDS) {
      throw authError('invalid_token', 'The token lacks required claims or lives too long.');
    }
  }

  /** Tokens remembered as verified (bounded by VERIFIED_TOKENS_MAX). */
  get verifiedCount(): number {
    return this.verified.size;
  }

  private verifyInFull(token: string, now: number): VerifiedToken {
    const decoded = jwt.decode(token, { complete: true });
    const kid = decoded?.header.kid;
    const secret = kid === undefined ? undefined : this.keys.get(kid);
    if (!decoded || secret === undefined) {
      throw authError('invalid_token', 'The token is malformed or signed with an unknown key.');
    }
    let payload: jwt.JwtPayload | string;
    try {
      payload = jwt.verify(token, secret, {
        algorithms: ['HS256'],
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        clockTimestamp: now,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      });
    } catch (error) {
      const reason = error instanceof jwt.TokenExpiredError ? 'The token has expired.' : 'The token is not valid.';
      throw authError('invalid_token', reason);
    }
    if (typeof payload === 'string') throw authError('invalid_token', 'The token has no claims.');
    const { sub, role, tv, iat, exp, nbf } = payload as jwt.JwtPayload & { role?: unknown; tv?: unknown };
    const wellFormed =
      typeof sub === 'string' &&
      UUID.test(sub) &&
      typeof role === 'string' &&
      (ROLES as readonly string[]).includes(role) &&
      Number.isSafeInteger(tv) &&
      typeof iat === 'number' &&
      typeof exp === 'number' &&
      exp - iat <= TOKEN_TTL_SECONDS_MAX;
    if (!wellFormed) throw authError('invalid_token', 'The token lacks required claims or lives too long.');
    const verified: VerifiedToken = {
      claims: Object.freeze({ sub, role: role as Role, tv: tv as number }),
      issuedAtSeconds: iat,
      // jsonwebtoken has refused an nbf that is present and not a number.
      notBeforeSeconds: typeof nbf === 'number' ? nbf : undefined,
      expiresSeconds: exp,
    };
    // jsonwebtoken has checked nbf and exp; the issue time is this service's own rule.
    this.checkTimes(verified, now);
    return verified;
  }
}
