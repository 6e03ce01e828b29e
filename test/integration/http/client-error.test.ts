import http, { type Server } from 'node:http';
import net from 'node:net';
import pino from 'pino';
import { answerClientErrors } from '../../../src/http/client-error';
import { startHarness, type Harness } from '../../helpers/harness';
import { rawExchange } from '../../helpers/raw-http';

/**
 * Requests Node's HTTP parser refuses never reach Express. Sent over a raw socket to the real app on
 * a real listening server, set up as src/server.ts sets it up.
 */

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

let h: Harness;
let server: Server;
let port: number;
beforeAll(async () => {
  h = await startHarness();
  server = h.app.listen(0, '127.0.0.1');
  answerClientErrors(server, pino({ level: 'silent' }));
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await h.close();
});

/** Writes `raw` on a fresh connection and reads until the server closes it. */
function exchange(raw: string, to = port): Promise<string> {
  return rawExchange(to, raw);
}

/** The responses in `text`, one after another; every body is sized by Content-Length. */
function responsesIn(text: string): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = text;
  while (rest.length > 0) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd < 0) throw new Error(`a response without an end of headers: ${JSON.stringify(rest)}`);
    const [statusLine, ...headerLines] = rest.slice(0, headEnd).split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine!)?.[1]);
    const headers = Object.fromEntries(
      headerLines.map((line) => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
      }),
    );
    const length = Number(headers['content-length'] ?? 0);
    const bodyBytes = Buffer.from(rest.slice(headEnd + 4), 'utf8');
    responses.push({ status, headers, body: bodyBytes.subarray(0, length).toString('utf8') });
    rest = bodyBytes.subarray(length).toString('utf8');
  }
  return responses;
}

function expectProblemResponse(response: RawResponse, status: number, code: string): void {
  expect({ status: response.status, contentType: response.headers['content-type'] }).toEqual({
    status,
    contentType: 'application/problem+json',
  });
  expect(response.headers.connection).toBe('close');
  expect(Number(response.headers['content-length'])).toBe(Buffer.byteLength(response.body));
  const problem = JSON.parse(response.body) as Record<string, unknown>;
  expect(problem).toEqual({
    type: `urn:huzhu:problem:${code}`,
    title: expect.stringMatching(/\S/),
    status,
    detail: expect.stringMatching(/\S/),
    code,
    requestId: response.headers['x-request-id'],
  });
  expect(problem.requestId).toMatch(/^[0-9a-f-]{36}$/);
}

describe('requests the HTTP parser refuses', () => {
  test('when a header value holds a control character, then the answer is a 400 problem+json and the connection closes', async () => {
    const text = await exchange('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Note: a\u0001b\r\n\r\n');

    const responses = responsesIn(text);
    expect(responses).toHaveLength(1);
    expectProblemResponse(responses[0]!, 400, 'malformed_request');
  });

  test('when the headers are larger than the server reads, then the answer is a 431 problem+json', async () => {
    const text = await exchange(`GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);

    const responses = responsesIn(text);
    expect(responses).toHaveLength(1);
    expectProblemResponse(responses[0]!, 431, 'headers_too_large');
  });

  test('when the request line is not HTTP, then the answer is a 400 problem+json', async () => {
    const text = await exchange('HELLO THERE\r\n\r\n');

    const responses = responsesIn(text);
    expect(responses).toHaveLength(1);
    expectProblemResponse(responses[0]!, 400, 'malformed_request');
  });

  test('when a good request is followed on the same connection by a bad one, then the first is answered and the second gets a problem', async () => {
    const text = await exchange(
      'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\nGET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Note: \u0007\r\n\r\n',
    );

    const responses = responsesIn(text);
    expect(responses.map((response) => response.status)).toEqual([200, 400]);
    expect(JSON.parse(responses[0]!.body)).toEqual({ status: 'ok' });
    expectProblemResponse(responses[1]!, 400, 'malformed_request');
  });

  test('when a bad request follows one still being answered, then the problem comes after that answer, never in its place', async () => {
    // A failed login takes at least 400 ms: the bad request is parsed long before it is answered.
    const login = JSON.stringify({ username: 'nobody-at-all', password: 'not the password' });
    const text = await exchange(
      `POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(login)}\r\n\r\n${login}` +
        'GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Note: \u0007\r\n\r\n',
    );

    const responses = responsesIn(text);
    expect(responses.map((response) => response.status)).toEqual([401, 400]);
    expect(JSON.parse(responses[0]!.body)).toMatchObject({ code: 'invalid_credentials' });
    expectProblemResponse(responses[1]!, 400, 'malformed_request');
  });

  test('when a request does not arrive in time, then the answer is a 408 problem+json', async () => {
    // Node checks for late requests every connectionsCheckingInterval: a short one keeps this quick.
    const strict = http.createServer(
      { requestTimeout: 200, headersTimeout: 200, connectionsCheckingInterval: 50 },
      h.app,
    );
    answerClientErrors(strict, pino({ level: 'silent' }));
    await new Promise<void>((resolve) => strict.listen(0, '127.0.0.1', () => resolve()));
    try {
      const text = await exchange(
        'GET /healthz HTTP/1.1\r\nHost: localhost\r\n',
        (strict.address() as net.AddressInfo).port,
      );

      const responses = responsesIn(text);
      expect(responses).toHaveLength(1);
      expectProblemResponse(responses[0]!, 408, 'request_timeout');
    } finally {
      await new Promise<void>((resolve) => strict.close(() => resolve()));
    }
  });

  test('when a client sends garbage and resets the connection, then the server goes on answering others', async () => {
    await new Promise<void>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write('GET / HTTP/1.1\r\nX-Bad: \u0001');
        socket.resetAndDestroy();
        resolve();
      });
    });

    const responses = responsesIn(
      await exchange('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'),
    );

    expect(responses.map((response) => response.status)).toEqual([200]);
  });
});
