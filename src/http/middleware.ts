import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { isStorableText } from '../audit/canonical-json';
import { AppError } from '../errors';
import { isDatabaseUnavailable } from '../db/connection-loss';
import { TransactionRetriesExhausted } from '../db/transaction';
import { findDuplicateKey } from './duplicate-keys';
import { httpError } from './http.errors';
import { problemDocument } from './problem';

export const BODY_LIMIT = '1mb';
const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Structured request logs; every line logged through req.log carries the request id. */
export function requestLogger(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    quietReqLogger: true,
    genReqId: (req, res) => {
      const incoming = req.headers['x-request-id'];
      const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
    serializers: {
      req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  });
}

/**
 * JSON bodies only, at most 1 MB, as I-JSON (RFC 7493): UTF-8, no member named twice in one object,
 * and no text PostgreSQL could not store.
 */
export function jsonBody(): RequestHandler[] {
  // Found while the raw bytes are at hand, refused once they have parsed: text that is not JSON at
  // all is a malformed_json, whatever it repeats.
  const duplicateKeys = new WeakMap<object, string>();
  const verify = (req: object, _res: unknown, body: Buffer, encoding: string): void => {
    if (encoding !== 'utf-8') {
      throw httpError('unsupported_media_type', `Send JSON as UTF-8 (RFC 8259 §8.1), not ${encoding}.`);
    }
    const pointer = findDuplicateKey(body, JSON_DEPTH_MAX + 1);
    if (pointer !== undefined) duplicateKeys.set(req, pointer);
  };
  const refuseDuplicateKeys: RequestHandler = (req, _res, next) => {
    const pointer = duplicateKeys.get(req);
    if (pointer !== undefined) {
      next(
        httpError('duplicate_json_key', `The member at ${pointer} is named more than once in its object.`, {
          pointer,
        }),
      );
      return;
    }
    next();
  };
  const requireJson: RequestHandler = (req, _res, next) => {
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (hasBody && !req.is('application/json') && !req.is('application/*+json')) {
      next(
        httpError(
          'unsupported_media_type',
          `Send JSON with Content-Type: application/json, not ${req.get('content-type') ?? 'nothing'}.`,
        ),
      );
      return;
    }
    next();
  };
  const checkText: RequestHandler = (req, _res, next) => {
    if (depthOf(req.body) > JSON_DEPTH_MAX) {
      next(httpError('bad_request', `The body is nested more than ${JSON_DEPTH_MAX} levels deep.`));
      return;
    }
    const bad = findUnstorableText(req.body) ?? findUnstorableText(req.query);
    if (bad !== undefined) {
      next(
        httpError('invalid_text', `The value at ${bad} contains a NUL character or an unpaired surrogate.`, {
          pointer: bad,
        }),
      );
      return;
    }
    next();
  };
  return [
    requireJson,
    express.json({ limit: BODY_LIMIT, type: ['application/json', 'application/*+json'], verify }),
    refuseDuplicateKeys,
    checkText,
  ];
}

/**
 * Deeper bodies are refused before anything walks them; no request of ours nests near this. A text
 * with more than JSON_DEPTH_MAX + 1 containers open at once holds a value deeper than this, so the
 * duplicate scan stops there.
 */
const JSON_DEPTH_MAX = 32;

function depthOf(value: unknown, depth = 0): number {
  if (value === null || typeof value !== 'object' || depth > JSON_DEPTH_MAX) return depth;
  let deepest = depth;
  for (const item of Object.values(value)) deepest = Math.max(deepest, depthOf(item, depth + 1));
  return deepest;
}

function findUnstorableText(value: unknown, pointer = ''): string | undefined {
  if (typeof value === 'string') return isStorableText(value) ? undefined : pointer;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, item] of Object.entries(value)) {
    const here = `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (!isStorableText(key)) return here;
    const found = findUnstorableText(item, here);
    if (found !== undefined) return found;
  }
  return undefined;
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(httpError('route_not_found', `No route ${req.method} ${req.path}. The API lives under /api/v1; see /docs.`));
};

/** Renders every error as RFC 9457 problem details; unknown errors are logged and hidden. */
export function problemHandler(): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const problem = toAppError(error);
    if (problem.status >= 500) req.log.error({ err: error }, 'request failed');
    else req.log.info({ code: problem.code }, problem.detail);
    if (problem.status === 401)
      res.set(
        'WWW-Authenticate',
        `Bearer realm="huzhu"${problem.code === 'invalid_token' ? ', error="invalid_token"' : ''}`,
      );
    if (problem.status === 503) res.set('Retry-After', '1');
    res
      .status(problem.status)
      .type('application/problem+json')
      .send(problemDocument(problem, { instance: req.originalUrl, requestId: String(req.id) }));
  };
}

function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof TransactionRetriesExhausted) {
    return httpError('busy', 'The request kept colliding with others; retry it with the same Idempotency-Key.');
  }
  const bodyError = error as { type?: string; status?: number; code?: string; message?: string };
  switch (bodyError.type) {
    case 'entity.too.large':
      return httpError('payload_too_large', `The body is larger than ${BODY_LIMIT}.`);
    case 'entity.parse.failed':
      return httpError('malformed_json', 'The body could not be parsed as JSON.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return httpError('unsupported_media_type', 'Send the body as UTF-8 JSON.');
    default:
      break;
  }
  if (typeof bodyError.status === 'number' && bodyError.status >= 400 && bodyError.status < 500) {
    return httpError('bad_request', 'The request could not be read.');
  }
  if (isDatabaseUnavailable(error)) {
    return httpError(
      'database_unavailable',
      'The database is not reachable right now; retry shortly with the same Idempotency-Key (work already done is not done twice).',
    );
  }
  if (bodyError.message?.includes('Knex: Timeout acquiring a connection')) {
    return httpError('busy', 'All database connections are busy; retry shortly.');
  }
  return httpError('internal_error', 'Something went wrong on our side; the request id identifies it in our logs.');
}
