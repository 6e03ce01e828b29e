import type { Request, RequestHandler } from 'express';
import { rateLimit, ipKeyGenerator } from 'express-rate-limit';
import { z } from 'zod';
import type { Config } from '../config';
import { AppError } from '../errors';
import { defineRoute, ok, type AnyRoute } from '../http/route';
import { timestamp, uuid } from '../http/schemas';
import { AUTH_ERRORS } from './auth.errors';
import { normalizeUsername, type UserView } from './auth.service';
import type { LoginOutcome, LoginThrottle } from './login-throttle';
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
      'Failures take the same time and give the same answer for an unknown user and a wrong password. Attempts are limited per client address (429 with Retry-After). Past a few failures of one username from one address, or many from all addresses, answers are slowed (a wait that doubles with each failure, up to a few seconds); a username is never locked out.',
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
 * In front of the login route: attempts per client address are limited (429 problem+json with
 * Retry-After); then failures slow attempts down per username and address, and per username
 * (LoginThrottle), without ever refusing one.
 */
export function loginThrottles(config: Config, throttle: LoginThrottle): RequestHandler[] {
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
    keyGenerator: (req) => clientAddress(req),
    handler: refuse,
  });
  const slowDown: RequestHandler = async (req, res, next) => {
    const username = (req.body as { username?: unknown } | undefined)?.username;
    // Without a username there is nothing to count: validation refuses the body.
    if (typeof username !== 'string') {
      next();
      return;
    }
    const attempt = throttle.begin(normalizeUsername(username).slice(0, 64), clientAddress(req));
    // Settled by the answer actually sent; an attempt whose answer never finishes stays a failure.
    res.once('finish', () => attempt.settle(outcomeOf(res.statusCode)));
    if (attempt.delayMs > 0) await throttle.wait(attempt.delayMs);
    next();
  };
  return [perIp, slowDown];
}

/** The address a limit is keyed by: an IPv6 client is its /56 network, as it could use any address in it. */
function clientAddress(req: Request): string {
  return ipKeyGenerator(req.ip ?? 'unknown');
}

function outcomeOf(status: number): LoginOutcome {
  if (status === 200) return 'succeeded';
  // The login route answers 401 only for a wrong username or password.
  if (status === 401) return 'failed';
  return 'void';
}
