import { errorFactory, type ErrorTable } from '../errors';

/** Refusals that belong to the HTTP edge rather than to a feature. */
export const HTTP_ERRORS = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  malformed_json: { status: 400, title: 'The body is not valid JSON' },
  duplicate_json_key: { status: 400, title: 'The body names a member twice in one object' },
  invalid_text: { status: 400, title: 'Text contains characters that cannot be stored' },
  invalid_cursor: { status: 400, title: 'The cursor is not valid' },
  bad_request: { status: 400, title: 'Bad request' },
  malformed_request: { status: 400, title: 'The request is not valid HTTP' },
  request_timeout: { status: 408, title: 'The request did not arrive in time' },
  headers_too_large: { status: 431, title: 'The request headers are too large' },
  idempotency_key_required: { status: 400, title: 'This request needs an Idempotency-Key header' },
  idempotency_key_invalid: { status: 400, title: 'The Idempotency-Key header is not valid' },
  idempotency_key_reused: {
    status: 409,
    title: 'The Idempotency-Key was already used for a different request',
  },
  route_not_found: { status: 404, title: 'No such route' },
  payload_too_large: { status: 413, title: 'The body is too large' },
  unsupported_media_type: { status: 415, title: 'Send the body as application/json' },
  too_many_requests: { status: 429, title: 'Too many requests' },
  busy: { status: 503, title: 'The service is busy; try again' },
  database_unavailable: { status: 503, title: 'The database is not reachable' },
  service_unrecoverable: { status: 503, title: 'The service cannot recover by itself; restart it' },
  internal_error: { status: 500, title: 'Internal error' },
} as const satisfies ErrorTable<string>;

export type HttpErrorCode = keyof typeof HTTP_ERRORS;

export const httpError = errorFactory<HttpErrorCode>(HTTP_ERRORS);
