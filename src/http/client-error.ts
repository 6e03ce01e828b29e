import { randomUUID } from 'node:crypto';
import { maxHeaderSize, STATUS_CODES, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { AppError } from '../errors';
import { httpError } from './http.errors';
import { problemDocument } from './problem';

/**
 * Node's HTTP parser refuses some requests before Express sees them: a control character in a
 * header, headers over the size limit, a request line that is not HTTP, a request that does not
 * arrive in time. Node's own answer is a bare status line; ours is the same problem+json every other
 * refusal gets, so a client can tell these apart and read why.
 */
export function answerClientErrors(server: Server, logger: Logger): void {
  server.on('clientError', (error: Error, socket: Duplex) => answerClientError(error, socket, logger));
}

/** Sockets already answered: the parser reports every later chunk on them again. */
const answered = new WeakSet<Duplex>();

/**
 * Writes a problem+json response on the socket and closes it, unless the peer is gone (then the
 * socket is only destroyed, as Node does). When a response to an earlier request on this
 * connection is still being written, ours follows it: mixed into it, it would corrupt it, and sent
 * before it, it would be read as the answer to the earlier request.
 */
export function answerClientError(error: Error, socket: Duplex, logger: Logger): void {
  if (answered.has(socket)) return;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  answered.add(socket);
  const problem = problemFor(error);
  const requestId = randomUUID();
  logger.info({ requestId, code: problem.code, parserError: code }, problem.detail);
  const response = problemResponse(problem, requestId);
  const send = (): void => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    // Destroyed only once the answer is flushed: destroying at once could drop it.
    socket.end(response, () => socket.destroy());
  };
  // The response in flight on this connection, if any: Node keeps it on the socket.
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (inFlight && !inFlight.writableFinished) inFlight.once('finish', send);
  else send();
}

function problemResponse(problem: AppError, requestId: string): string {
  const body = problemDocument(problem, { requestId });
  const head = [
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ''}`,
    'Content-Type: application/problem+json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    'X-Content-Type-Options: nosniff',
    `X-Request-Id: ${requestId}`,
  ];
  return `${head.join('\r\n')}\r\n\r\n${body}`;
}

/** The refusal for a parser error, with the statuses Node itself would answer. */
function problemFor(error: Error): AppError {
  const { code, reason } = error as Error & { code?: string; reason?: unknown };
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return httpError('headers_too_large', `The request's headers are larger than ${maxHeaderSize} bytes.`);
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return httpError('payload_too_large', 'The chunk extensions of the body are larger than the server reads.');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return httpError('request_timeout', 'The request did not arrive in time.');
    default: {
      // llhttp's reason is a fixed phrase ("Invalid header value char"), never text of the request.
      const why = typeof reason === 'string' && reason.length <= 100 ? `: ${reason}` : '';
      return httpError('malformed_request', `The request is not valid HTTP/1.1${why}.`);
    }
  }
}
