import { z } from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject } from 'zod-openapi';
import type { AnyRoute } from './route';

export const problemSchema = z
  .object({
    type: z.string().meta({ example: 'urn:huzhu:problem:floor_crossed' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().meta({ description: 'Stable machine-readable code; branch on this.' }),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    errors: z
      .array(z.object({ in: z.string(), pointer: z.string(), message: z.string() }))
      .optional()
      .meta({ description: 'For validation_failed: every field at fault.' }),
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
        content: { 'application/json': { schema: route.response.schema } },
      },
    };
    for (const status of [...statuses].sort()) {
      responses[`${status}` as `4${string}`] = {
        description: PROBLEM_DESCRIPTIONS[status] ?? 'Problem',
        content: { 'application/problem+json': { schema: problemSchema } },
      };
    }
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
