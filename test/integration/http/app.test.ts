import express from 'express';
import request from 'supertest';
import { z } from 'zod';
import pino from 'pino';
import { createApp, ROUTES } from '../../../src/app';
import { PROBLEM_CODES } from '../../../src/errors.registry';
import { problemHandler, requestLogger } from '../../../src/http/middleware';
import { defineRoute, mountRoutes } from '../../../src/http/route';
import { CHART_OF_ACCOUNTS } from '../../../src/ledger/chart';
import { DEFAULT_POLICY } from '../../../src/funds/policy';
import { createFund } from '../../helpers/factories';
import { makeUser, startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

describe('health', () => {
  test('when the process is up and the database reachable, then /healthz and /readyz say so', async () => {
    expect((await h.http.get('/healthz')).body).toEqual({ status: 'ok' });
    const ready = await h.http.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready' });
  });

  test('when the server is draining, then /readyz answers 503 so no new traffic is sent', async () => {
    const draining = createApp({
      db: h.db,
      config: h.config,
      logger: pino({ level: 'silent' }),
      clock: h.clock,
      services: h.services,
      isDraining: () => true,
    });
    const response = await request(draining).get('/readyz');
    expect(response.status).toBe(503);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((await request(draining).get('/healthz')).status).toBe(200);
  });
});

describe('the HTTP edge', () => {
  test('when a route does not exist, then it is a problem+json 404', async () => {
    for (const [method, url] of [
      ['get', '/nowhere'],
      ['get', '/api/v1/nowhere'],
      ['delete', '/api/v1/funds'],
    ] as const) {
      const response = await h.http[method](url);
      expect(response.status).toBe(404);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body.code).toBe('route_not_found');
    }
  });

  test('when a request id is sent, then it is echoed; when it is unusable, then a new one is made', async () => {
    const kept = await h.http.get('/healthz').set('X-Request-Id', 'trace-123.abc');
    expect(kept.headers['x-request-id']).toBe('trace-123.abc');
    const replaced = await h.http.get('/healthz').set('X-Request-Id', 'bad id with spaces');
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const problem = await h.http.get('/api/v1/funds').set('X-Request-Id', 'trace-456');
    expect(problem.body.requestId).toBe('trace-456');
  });

  test('when any response is sent, then the security headers are set', async () => {
    const response = await h.http.get('/healthz');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['x-powered-by']).toBeUndefined();
    expect(response.headers['content-security-policy']).toContain("default-src 'self'");
  });
});

describe('API documentation', () => {
  test('when the OpenAPI document is fetched, then it is 3.1 and describes every route with its schemas', async () => {
    const response = await h.http.get('/api/v1/openapi.json');
    expect(response.status).toBe(200);
    const document = response.body;
    expect(document.openapi).toBe('3.1.0');
    expect(document.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(document.components.schemas.Problem).toBeDefined();
    for (const route of ROUTES) {
      const operation = document.paths[route.path]?.[route.method];
      expect({ route: `${route.method} ${route.path}`, found: operation !== undefined }).toEqual({
        route: `${route.method} ${route.path}`,
        found: true,
      });
      expect(operation.operationId).toBe(route.operationId);
      expect(operation.responses[String(route.response.status)]).toBeDefined();
      expect(operation.responses['400'].content['application/problem+json']).toBeDefined();
    }
    const manual = document.paths['/funds/{fundId}/entries'].post;
    expect(manual.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ in: 'header', name: 'idempotency-key', required: true }),
        expect.objectContaining({ in: 'path', name: 'fundId', required: true }),
      ]),
    );
    expect(manual.requestBody.content['application/json'].schema).toBeDefined();
  });

  test('when the OpenAPI document is fetched, then Problem.code is the enum of every code of the error tables', async () => {
    const document = (await h.http.get('/api/v1/openapi.json')).body;
    const problem = document.components.schemas.Problem;
    expect(problem.properties.code.enum).toEqual([...PROBLEM_CODES]);
    expect(problem.required).toEqual(expect.arrayContaining(['type', 'title', 'status', 'detail', 'code']));
    for (const extension of ['errors', 'rule', 'limit', 'actual', 'failures', 'retryAfterSeconds', 'pointer']) {
      expect({ extension, declared: problem.properties[extension] !== undefined }).toEqual({
        extension,
        declared: true,
      });
    }
  });

  test('when the OpenAPI document is fetched, then every route answers its problems, and any other, as Problem', async () => {
    const document = (await h.http.get('/api/v1/openapi.json')).body;
    const problemRef = { $ref: '#/components/schemas/Problem' };
    for (const route of ROUTES) {
      const responses = document.paths[route.path][route.method].responses as Record<
        string,
        { content: Record<string, { schema: unknown }> }
      >;
      const problems = Object.entries(responses).filter(([status]) => status === 'default' || /^[45]/.test(status));
      expect(problems.map(([status]) => status)).toEqual(expect.arrayContaining(['400', 'default']));
      if (route.permission !== 'public') {
        expect(problems.map(([status]) => status)).toEqual(expect.arrayContaining(['401', '403']));
      }
      for (const [status, response] of problems) {
        expect({ route: `${route.method} ${route.path}`, status, content: response.content }).toEqual({
          route: `${route.method} ${route.path}`,
          status,
          content: { 'application/problem+json': { schema: problemRef } },
        });
      }
    }
  });

  test('when a route can answer CSV or Markdown, then the document declares that format beside JSON', async () => {
    const document = (await h.http.get('/api/v1/openapi.json')).body;
    const formats = (path: string) =>
      Object.keys(document.paths[path].get.responses['200'].content as Record<string, unknown>).sort();
    const csv = ['application/json', 'text/csv'];
    expect(formats('/funds/{fundId}/members/{memberId}/statement')).toEqual(csv);
    expect(formats('/funds/{fundId}/reports/loan-book')).toEqual(csv);
    expect(formats('/funds/{fundId}/reports/portfolio-at-risk')).toEqual(csv);
    expect(formats('/funds/{fundId}/reports/exposure')).toEqual(csv);
    expect(formats('/funds/{fundId}/reports/guarantee-network')).toEqual(csv);
    expect(formats('/funds/{fundId}/meetings/{meetingId}/minutes')).toEqual(['application/json', 'text/markdown']);
    const statement = document.paths['/funds/{fundId}/members/{memberId}/statement'].get.responses['200'].content;
    expect(statement['text/csv'].schema.type).toBe('string');
  });

  test('when a route answers in a format it does not declare, then the answer is a 500 outside production', async () => {
    const route = defineRoute({
      method: 'get',
      path: '/undeclared-csv',
      operationId: 'undeclaredCsv',
      summary: 'A route that answers CSV without declaring it',
      tag: 'Test',
      permission: 'public',
      response: { status: 200, description: 'JSON only, it says', schema: z.object({}) },
      handler: async () => ({ status: 200, body: 'a,b\r\n', contentType: 'text/csv; charset=utf-8' }),
    });
    const declared = { ...route, path: '/declared-csv', response: { ...route.response, alternatives: ['text/csv'] } };
    const logger = pino({ level: 'silent' });
    const router = express.Router();
    mountRoutes(router, { db: h.db, config: h.config, logger, clock: h.clock, services: h.services }, [
      route,
      declared as typeof route,
    ]);
    const app = express();
    app.use(requestLogger(logger));
    app.use(router);
    app.use(problemHandler());
    const undeclared = await request(app).get('/undeclared-csv');
    expect({ status: undeclared.status, code: undeclared.body.code }).toEqual({ status: 500, code: 'internal_error' });
    const ok = await request(app).get('/declared-csv');
    expect({ status: ok.status, type: ok.type, text: ok.text }).toEqual({
      status: 200,
      type: 'text/csv',
      text: 'a,b\r\n',
    });
  });

  test('when /docs is opened, then Swagger UI is served', async () => {
    const response = await h.http.get('/docs/');
    expect(response.status).toBe(200);
    expect(response.text).toContain('swagger-ui');
  });
});

describe('funds', () => {
  test('when a platform administrator creates a fund, then it gets the whole chart of accounts and an audit chain', async () => {
    const admin = await makeUser(h, 'admin');
    const response = await h.http
      .post('/api/v1/funds')
      .set(admin.auth)
      .send({
        name: '陶瓷产业园互助基金',
        allianceName: '陶瓷产业园企业互助联盟',
        policy: { loanLimitPaidInMultiple: '4' },
      });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      name: '陶瓷产业园互助基金',
      allianceName: '陶瓷产业园企业互助联盟',
      currency: 'CNY',
      timezone: 'Asia/Shanghai',
      establishedOn: TEST_TODAY,
      closedThrough: null,
      leadMemberId: null,
      policy: {
        version: 1,
        effectiveDate: TEST_TODAY,
        policy: { ...DEFAULT_POLICY, loanLimitPaidInMultiple: '4' },
      },
    });
    const codes = (await h.db('accounts').where({ fund_id: response.body.id }).pluck('code')) as string[];
    const expected = CHART_OF_ACCOUNTS.filter((template) => template.scope === 'fund').map((template) => template.code);
    expect(codes.sort()).toEqual([...expected].sort());
    const audit = await h
      .db('audit_log as a')
      .join('audit_links as l', 'l.audit_id', 'a.id')
      .where({ 'a.fund_id': response.body.id })
      .select('l.seq', 'a.action', 'a.actor_id');
    expect(audit).toEqual([{ seq: '1', action: 'funds.fund.create', actor_id: admin.id }]);
    const read = await h.http.get(`/api/v1/funds/${response.body.id}`).set(admin.auth);
    expect(read.body).toEqual(response.body);
  });

  test.each([
    ['no name', {}],
    ['another currency', { name: 'F', currency: 'USD' }],
    ['an unknown time zone', { name: 'F', timezone: 'Mars/Olympus' }],
    ['a policy that is not an object', { name: 'F', policy: [1, 2] }],
    ['a policy field nobody knows', { name: 'F', policy: { loanLimitMultiple: '3' } }],
    ['a policy percentage over 100', { name: 'F', policy: { singleBorrowerLimitPct: '120' } }],
    ['a policy rate as a JSON number', { name: 'F', policy: { rateAnnual: 0.05 } }],
  ])('when a fund is created with %s, then it is a 400 and no fund appears', async (_name, body) => {
    const admin = await makeUser(h, 'admin');
    const before = await h.db('funds').count({ n: '*' });
    const response = await h.http.post('/api/v1/funds').set(admin.auth).send(body);
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('validation_failed');
    expect(await h.db('funds').count({ n: '*' })).toEqual(before);
  });

  test('when a fund is created with an Idempotency-Key twice, then one fund is created', async () => {
    const fund = await createFund(h);
    const send = () =>
      h.http.post('/api/v1/funds').set(fund.admin.auth).set('Idempotency-Key', 'fund-once').send({ name: 'Once' });
    const first = await send();
    const again = await send();
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    expect(await h.db('funds').where({ name: 'Once' }).count({ n: '*' })).toEqual([{ n: '1' }]);
  });
});
