import { z } from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject } from 'zod-openapi';
import { PROBLEM_CODES, type ProblemCode } from '../errors.registry';
import type { AlternativeMediaType, AnyRoute } from './route';

const fieldError = z
  .object({
    in: z.enum(['path', 'query', 'body', 'header']),
    pointer: z.string().meta({ description: 'JSON Pointer (RFC 6901) to the field within its location.' }),
    message: z.string(),
  })
  .meta({ id: 'ProblemFieldError' });

const limitFigure = z.union([z.string(), z.number()]);

const failedRule = z
  .object({
    rule: z.string().meta({ description: 'The stable name of the rule (an eligibility rule, a recovery step rule…).' }),
    detail: z.string().meta({ description: 'Its own sentence, with its figures (English).' }),
    limit: limitFigure.optional(),
    actual: limitFigure.optional(),
  })
  .catchall(z.unknown())
  .meta({ id: 'ProblemFailedRule' });

/**
 * RFC 9457 problem details: the members every problem has, `code` as the enum of every code the
 * error tables hold (src/errors.registry.ts), and the extensions clients branch on or translate
 * with. Other extensions (ids, dates a refusal names) are allowed and described by each route.
 */
export const problemSchema = z
  .object({
    type: z.string().meta({ example: 'urn:huzhu:problem:floor_crossed' }),
    title: z.string().meta({ description: 'The title of the code (English); the same for every problem of a code.' }),
    status: z.number().int(),
    detail: z.string().meta({ description: 'This refusal in a sentence, with its figures (English).' }),
    code: z.enum(PROBLEM_CODES as [ProblemCode, ...ProblemCode[]]).meta({
      description:
        'Stable machine-readable code; branch on this, and translate by it. The enum is every code of every error table of the service.',
    }),
    instance: z.string().optional().meta({ description: 'The path and query of the request refused.' }),
    requestId: z.string().optional().meta({ description: 'The X-Request-Id of the request, for the logs.' }),
    errors: z
      .array(fieldError)
      .optional()
      .meta({ description: 'validation_failed, policy_invalid: every field at fault.' }),
    pointer: z
      .string()
      .optional()
      .meta({ description: 'duplicate_json_key, invalid_text: the member of the body at fault (RFC 6901).' }),
    rule: z
      .string()
      .optional()
      .meta({ description: 'The (first) rule the request fails, e.g. `pool_cash_available`.' }),
    limit: limitFigure.optional().meta({
      description:
        'The figure the rule allows: an amount or count as a string (`"150000.00"`), or a number for size limits.',
    }),
    actual: limitFigure.optional().meta({ description: 'The request’s figure for the rule.' }),
    failures: z
      .array(failedRule)
      .optional()
      .meta({ description: 'loan_ineligible: every rule the loan fails, each with its limit and actual figure.' }),
    blockers: z
      .array(z.object({ code: z.string(), detail: z.string() }))
      .optional()
      .meta({ description: 'Exit refusals: every blocker of the exit, the first of which is `code`.' }),
    retryAfterSeconds: z
      .number()
      .int()
      .optional()
      .meta({ description: 'too_many_login_attempts: seconds to wait (also the Retry-After header).' }),
    role: z.string().optional().meta({ description: 'forbidden: the caller’s role.' }),
    permission: z.string().optional().meta({ description: 'forbidden: the permission the route needs.' }),
  })
  .catchall(z.unknown())
  .meta({ id: 'Problem', description: 'RFC 9457 problem details.' });

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (see `code` and `errors`)',
  401: 'Missing, invalid, expired or revoked token',
  403: 'The role may not do this',
  404: 'Not found, or not visible to this user',
  409: 'Conflict with the current state or a reused Idempotency-Key',
  413: 'Body larger than 1 MB',
  415: 'Body is not application/json',
  422: 'Well-formed but breaks a ledger rule',
  429: 'Rate limited',
};

/** The schemas of the other formats a route can answer in (RouteSpec.response.alternatives). */
const ALTERNATIVE_SCHEMAS: Record<AlternativeMediaType, z.ZodType> = {
  'text/csv': z.string().meta({
    description:
      'CSV (RFC 4180), UTF-8 with a byte-order mark, CRLF line endings; asked for with `Accept: text/csv`; sent as a download (Content-Disposition).',
  }),
  'text/markdown': z.string().meta({ description: 'Markdown (UTF-8); asked for with `Accept: text/markdown`.' }),
};

function problemResponse(description: string) {
  return { description, content: { 'application/problem+json': { schema: problemSchema } } };
}

export function buildOpenApiDocument(routes: readonly AnyRoute[], version: string): ReturnType<typeof createDocument> {
  const paths: ZodOpenApiPathsObject = {};
  for (const route of routes) {
    const statuses = new Set<number>([
      400,
      ...(route.permission === 'public' ? [] : [401, 403]),
      ...(route.problems ?? []),
    ]);
    if (route.path.includes('{fundId}')) statuses.add(404);
    if (route.body) [413, 415].forEach((status) => statuses.add(status));
    if (route.idempotency) statuses.add(409);
    const responses: ZodOpenApiOperationObject['responses'] = {
      [String(route.response.status)]: {
        description: route.response.description,
        content: {
          'application/json': { schema: route.response.schema },
          ...Object.fromEntries(
            (route.response.alternatives ?? []).map((mediaType) => [
              mediaType,
              { schema: ALTERNATIVE_SCHEMAS[mediaType] },
            ]),
          ),
        },
      },
    };
    for (const status of [...statuses].sort()) {
      responses[`${status}` as `4${string}`] = problemResponse(PROBLEM_DESCRIPTIONS[status] ?? 'Problem');
    }
    // Any request may also meet the refusals no route declares: 408 and 431 from the HTTP parser,
    // 500 (a bug), 503 (busy, database unavailable; retry with the same Idempotency-Key).
    responses.default = problemResponse(
      'Any other problem: 408 or 431 before the route is reached, 500 internal_error, 503 busy or database_unavailable (with Retry-After).',
    );
    const operation: ZodOpenApiOperationObject = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [route.tag],
      security: route.permission === 'public' ? [] : [{ bearerAuth: [] }],
      ...(route.permission === 'public' ? {} : { 'x-permission': route.permission }),
      requestParams: {
        ...(route.params ? { path: route.params } : {}),
        ...(route.query ? { query: route.query } : {}),
        ...(route.idempotency
          ? {
              header: z.object({
                'idempotency-key': (route.idempotency === 'required' ? z.string() : z.string().optional()).meta({
                  description:
                    'Unique per request (a UUID). Retrying with the same key returns the original response with `Idempotent-Replayed: true`; the same key with a different body is a 409.',
                }),
              }),
            }
          : {}),
      } as ZodOpenApiOperationObject['requestParams'],
      ...(route.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: route.body } } } }
        : {}),
      responses,
    };
    paths[route.path] = { ...paths[route.path], [route.method]: operation };
  }
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Huzhu API',
      version,
      description:
        'A mutual-aid fund on a double-entry ledger. Amounts are decimal strings with 2 decimals ("1250.00"); dates are YYYY-MM-DD; errors are RFC 9457 problem details with a stable `code`.',
    },
    servers: [{ url: '/api/v1' }],
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
    paths,
  });
}
