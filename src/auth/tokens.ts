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

/**
 * HS256 JWTs with a `kid`, so a new key can sign while old tokens still verify under the previous
 * key. Verification pins the algorithm and the key by `kid`, and requires issuer, audience, expiry
 * and a lifetime no longer than an hour.
 */
export class TokenService {
  /** KeyObjects, not strings: jsonwebtoken would otherwise try to parse a string as a public key on every verify. */
  private readonly keys: Map<string, KeyObject>;
  private readonly signingKey: KeyObject;

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

  verify(token: string): TokenClaims {
    if (token.length > TOKEN_LENGTH_MAX) throw authError('invalid_token', 'The token is too long.');
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
        clockTimestamp: Math.floor(this.clock.now().getTime() / 1000),
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      });
    } catch (error) {
      const reason = error instanceof jwt.TokenExpiredError ? 'The token has expired.' : 'The token is not valid.';
      throw authError('invalid_token', reason);
    }
    if (typeof payload === 'string') throw authError('invalid_token', 'The token has no claims.');
    const { sub, role, tv, iat, exp } = payload as jwt.JwtPayload & { role?: unknown; tv?: unknown };
    const now = Math.floor(this.clock.now().getTime() / 1000);
    const wellFormed =
      typeof sub === 'string' &&
      UUID.test(sub) &&
      typeof role === 'string' &&
      (ROLES as readonly string[]).includes(role) &&
      Number.isSafeInteger(tv) &&
      typeof iat === 'number' &&
      typeof exp === 'number' &&
      exp - iat <= TOKEN_TTL_SECONDS_MAX &&
      // Issued in the future would stretch the lifetime past an hour from now.
      iat <= now + CLOCK_TOLERANCE_SECONDS;
    if (!wellFormed) throw authError('invalid_token', 'The token lacks required claims or lives too long.');
    return { sub, role: role as Role, tv: tv as number };
  }
}
