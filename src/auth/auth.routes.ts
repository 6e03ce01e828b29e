import type { RequestHandler } from 'express';
import { rateLimit, ipKeyGenerator } from 'express-rate-limit';
import { z } from 'zod';
import type { Config } from '../config';
import { AppError } from '../errors';
import { defineRoute, ok, type AnyRoute } from '../http/route';
import { timestamp, uuid } from '../http/schemas';
import { AUTH_ERRORS } from './auth.errors';
import { normalizeUsername, type UserView } from './auth.service';
import { ROLES } from './principal';
import { PASSWORD_LENGTH_MAX } from './password';

const TAG = 'Auth';

export const loginBody = z
  .strictObject({
    username: z.string().min(1).max(64),
    password: z.string().min(1).max(PASSWORD_LENGTH_MAX),
  })
  .meta({ id: 'LoginRequest', example: { username: 'admin', password: '…' } });

export const userView = z
  .object({
    id: uuid,
    username: z.string(),
    role: z.enum(ROLES),
    fundId: uuid.nullable(),
    memberId: uuid.nullable(),
  })
  .meta({ id: 'User' });

export const loginView = z
  .object({ token: z.string(), tokenType: z.literal('Bearer'), expiresAt: timestamp, user: userView })
  .meta({ id: 'LoginResponse' });

function toUser(user: UserView): z.input<typeof userView> {
  return { id: user.id, username: user.username, role: user.role, fundId: user.fundId, memberId: user.memberId };
}

export const authRoutes: AnyRoute[] = [
  defineRoute({
    method: 'post',
    path: '/auth/login',
    operationId: 'login',
    summary: 'Exchange a username and password for a bearer token (valid one hour at most)',
    description:
      'Failures take the same time and give the same answer for an unknown user and a wrong password. Attempts are limited per client address and per username (429 with Retry-After).',
    tag: TAG,
    permission: 'public',
    body: loginBody,
    problems: [401, 429],
    response: { status: 200, description: 'A token', schema: loginView },
    handler: async ({ body, ctx }) => {
      const session = await ctx.app.services.auth.login(body.username, body.password);
      return ok({
        token: session.token,
        tokenType: 'Bearer' as const,
        expiresAt: session.expiresAt.toISOString(),
        user: toUser(session.user),
      });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/auth/me',
    operationId: 'whoAmI',
    summary: 'The user behind the token',
    tag: TAG,
    permission: 'session.read',
    response: { status: 200, description: 'The user', schema: userView },
    handler: async ({ ctx }) =>
      ok(
        toUser({
          id: ctx.principal.userId,
          username: ctx.principal.username,
          role: ctx.principal.role,
          fundId: ctx.principal.fundId,
          memberId: ctx.principal.memberId,
          disabled: false,
          createdAt: new Date(0),
        }),
      ),
  }),
];

/**
 * Two limits in front of the login route: attempts per client address, and failed attempts per
 * username (successful logins do not count). Both answer 429 problem+json with Retry-After.
 */
export function loginRateLimits(config: Config): RequestHandler[] {
  const windowMs = config.login.windowSeconds * 1000;
  const refuse: RequestHandler = (req, res, next) => {
    const resetTime = (req as { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
    const retryAfter = Math.max(1, Math.ceil(((resetTime?.getTime() ?? Date.now() + windowMs) - Date.now()) / 1000));
    res.set('Retry-After', String(retryAfter));
    next(
      new AppError(
        'too_many_login_attempts',
        AUTH_ERRORS.too_many_login_attempts,
        `Too many login attempts; try again in ${retryAfter} s.`,
        {
          retryAfterSeconds: retryAfter,
        },
      ),
    );
  };
  const perIp = rateLimit({
    windowMs,
    limit: config.login.maxPerIp,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (req) => ipKeyGenerator(req.ip ?? 'unknown'),
    handler: refuse,
  });
  const perUsername = rateLimit({
    windowMs,
    limit: config.login.maxFailuresPerUsername,
    standardHeaders: false,
    legacyHeaders: false,
    skipSuccessfulRequests: true,
    keyGenerator: (req) => {
      const username = (req.body as { username?: unknown } | undefined)?.username;
      return `user:${typeof username === 'string' ? normalizeUsername(username).slice(0, 64) : ''}`;
    },
    handler: refuse,
  });
  return [perIp, perUsername];
}
