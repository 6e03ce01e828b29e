import jwt from 'jsonwebtoken';
import type { Response } from 'supertest';
import type { Harness } from '../../helpers/harness';

/** The password makeUser gives every user. */
export const PASSWORD = 'correct horse battery';

/**
 * Asserts an RFC 9457 problem document: the media type, the five members every error carries, and
 * the status and code the caller expects.
 */
export function expectProblem(response: Response, status: number, code: string): void {
  expect({ status: response.status, code: (response.body as { code?: unknown }).code }).toEqual({ status, code });
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json(;|$)/);
  expect(response.body).toEqual(
    expect.objectContaining({
      type: `urn:huzhu:problem:${code}`,
      title: expect.stringMatching(/\S/),
      status,
      detail: expect.stringMatching(/\S/),
      code,
    }),
  );
}

/** A problem body without the members that differ on every request. */
export function stableProblem(response: Response): Record<string, unknown> {
  const { requestId: _requestId, instance: _instance, ...rest } = response.body as Record<string, unknown>;
  return rest;
}

/** Seconds since the epoch on the harness clock: what the service checks `iat`/`exp` against. */
export function clockSeconds(h: Harness): number {
  return Math.floor(h.clock.now().getTime() / 1000);
}

export interface HandMadeToken {
  secret: string;
  kid?: string | undefined;
  issuer?: string;
  audience?: string;
  algorithm?: jwt.Algorithm;
  claims: Record<string, unknown>;
  iat: number;
  exp: number;
}

/** A token signed by hand with jsonwebtoken, not by the service's token code. */
export function signToken(token: HandMadeToken): string {
  return jwt.sign({ ...token.claims, iat: token.iat, exp: token.exp }, token.secret, {
    algorithm: token.algorithm ?? 'HS256',
    ...(token.kid === undefined ? {} : { keyid: token.kid }),
    issuer: token.issuer ?? 'huzhu',
    audience: token.audience ?? 'huzhu-api',
  });
}
