import type { NextFunction, Request, Response, Router } from 'express';
import { z } from 'zod';
import { authError } from '../auth/auth.errors';
import { roleMay, type Permission } from '../auth/permissions';
import type { Principal } from '../auth/principal';
import type { FundRow } from '../funds/funds.repo';
import { visibleFund } from '../funds/funds.service';
import type { AppContext, RequestContext } from './context';
import type { IdempotencyRule, Reply } from './command';
import { uuid } from './schemas';
import { parseInput } from './validation';

type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';

/** The formats besides JSON a route may answer in (its `Content-Type` without parameters). */
export const ALTERNATIVE_MEDIA_TYPES = ['text/csv', 'text/markdown'] as const;
export type AlternativeMediaType = (typeof ALTERNATIVE_MEDIA_TYPES)[number];

/**
 * One API operation, declared once: the Express handler, its validation and its OpenAPI entry all
 * come from this object, so the documentation cannot drift from what the code accepts.
 */
export interface RouteSpec<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
  R extends z.ZodType = z.ZodType,
> {
  method: Method;
  /** OpenAPI form, relative to /api/v1: `/funds/{fundId}/entries`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /** `public` routes need no token; all others need one and this permission. */
  permission: Permission | 'public';
  params?: P;
  query?: Q;
  body?: B;
  idempotency?: IdempotencyRule;
  response: {
    status: 200 | 201;
    description: string;
    schema: R;
    /**
     * Other formats the handler may answer in besides JSON, by Accept (a CSV download, Markdown
     * minutes). Declared here so the OpenAPI document lists them; outside production a reply in a
     * format the route does not declare is an error, so the declaration cannot fall behind.
     */
    alternatives?: readonly AlternativeMediaType[];
  };
  /** Other statuses this operation answers with, beyond the generic ones. */
  problems?: readonly number[];
  handler: (input: {
    params: z.output<P>;
    query: z.output<Q>;
    body: z.output<B>;
    ctx: RequestContext;
  }) => Promise<Reply>;
}

// A list of routes holds specs of many shapes; each is type-checked where defineRoute is called.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRoute = RouteSpec<any, any, any, any>;

export function defineRoute<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType>(
  spec: RouteSpec<P, Q, B, R>,
): AnyRoute {
  return spec as AnyRoute;
}

export function ok<T>(body: T, status = 200): Reply {
  return { status, body };
}

/** Routes without query parameters refuse any. Built once: a zod schema costs more to build than to run. */
const NO_QUERY = z.strictObject({});

export function expressPath(openApiPath: string): string {
  return openApiPath.replace(/\{(\w+)\}/g, ':$1');
}

/**
 * Mounts routes on a router. For each request: authenticate, check the role's permission, load the
 * fund named in the path (404 if the user may not see it), validate path, query and body, run the
 * handler, and (outside production) check the response against its schema.
 */
export function mountRoutes(router: Router, app: AppContext, routes: readonly AnyRoute[]): void {
  for (const route of routes) {
    router[route.method](expressPath(route.path), async (req: Request, res: Response, next: NextFunction) => {
      // Authenticate first (a 401 before any 400); a well-formed fund id is read in the same query.
      const named = (req.params as Record<string, string | undefined>).fundId;
      const lookup = named !== undefined && uuid.safeParse(named).success ? named : undefined;
      const authorized =
        route.permission === 'public' ? undefined : await authorize(app, req, route.permission, lookup);
      const principal = authorized?.principal;
      const params = route.params ? parseInput(route.params, req.params, 'path') : {};
      const fundId = (params as { fundId?: string }).fundId;
      const fund =
        authorized && fundId !== undefined ? visibleFund(authorized.principal, fundId, authorized.fund) : undefined;
      const query = parseInput(route.query ?? NO_QUERY, req.query, 'query');
      const body = route.body ? parseInput(route.body, req.body, 'body') : undefined;
      const ctx: RequestContext = {
        app,
        principal: principal as Principal,
        requestId: String(req.id),
        log: req.log,
        fund,
        method: req.method,
        url: req.originalUrl,
        headers: { idempotencyKey: req.get('idempotency-key'), accept: req.get('accept') },
        rawBody: req.body,
      };
      const reply = await route.handler({ params, query, body, ctx });
      if (app.config.env !== 'production') {
        const undocumented = undocumentedReply(route, reply);
        if (undocumented !== undefined) {
          next(new Error(`response of ${route.operationId} ${undocumented}`));
          return;
        }
      }
      if (reply.replayed) res.set('Idempotent-Replayed', 'true');
      if (reply.headers) res.set(reply.headers);
      res.status(reply.status);
      if (reply.contentType) res.type(reply.contentType).send(reply.body);
      else res.json(reply.body);
    });
  }
}

/**
 * Why a reply is not what the route documents, or undefined when it is: JSON must match the
 * response schema (a replay is what was stored), another format must be one the route declares.
 */
function undocumentedReply(route: AnyRoute, reply: Reply): string | undefined {
  if (reply.contentType !== undefined) {
    const mediaType = reply.contentType.split(';')[0]!.trim().toLowerCase();
    const declared: readonly string[] = route.response.alternatives ?? [];
    return declared.includes(mediaType) ? undefined : `is ${mediaType}, which the route does not declare`;
  }
  if (reply.replayed) return undefined;
  const checked = route.response.schema.safeParse(reply.body);
  return checked.success ? undefined : `does not match its schema: ${checked.error.message}`;
}

async function authorize(
  app: AppContext,
  req: Request,
  permission: Permission,
  fundId: string | undefined,
): Promise<{ principal: Principal; fund: FundRow | undefined }> {
  const authenticated = await app.services.auth.authenticate(req.get('authorization'), fundId);
  const { principal } = authenticated;
  req.log = req.log.child({ userId: principal.userId });
  if (!roleMay(principal.role, permission)) {
    throw authError('forbidden', `The ${principal.role} role may not do this (${permission}).`, {
      role: principal.role,
      permission,
    });
  }
  return authenticated;
}
