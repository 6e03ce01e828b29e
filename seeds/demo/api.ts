import { randomBytes, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { API_PREFIX, createApp, createServices } from '../../src/app';
import type { Role } from '../../src/auth/principal';
import type { Clock } from '../../src/clock';
import type { Config } from '../../src/config';
import type { Services } from '../../src/http/context';

/**
 * How the demo seed acts: as the fund's people, through the HTTP API, on the real app (routes,
 * validation, permissions, units of work, idempotency, audit), served on a loopback port for the
 * seed alone and closed after it. The app runs on the seed's own clock, which the story sets back
 * and moves forward; its tokens are signed with a key made for this run, so none of them is good
 * anywhere else.
 */

/** A clock the seed moves by hand: every service of the seed's app reads it. */
export class DemoClock implements Clock {
  private current: Date;
  constructor(start: Date) {
    this.current = new Date(start.getTime());
  }
  now(): Date {
    return new Date(this.current.getTime());
  }
  set(instant: Date): void {
    this.current = new Date(instant.getTime());
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

/** Someone the seed acts as. */
export interface Person {
  id: string;
  username: string;
  role: Role;
}

/** A request the API refused: the seed stops, naming the request and the problem. */
export class DemoSeedError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly problem: unknown,
  ) {
    const code = (problem as { code?: string } | null)?.code;
    const detail = (problem as { detail?: string } | null)?.detail;
    super(
      `demo seed: ${method} ${path} answered ${status}${code ? ` ${code}` : ''}: ${detail ?? JSON.stringify(problem)}`,
    );
  }
}

/** Each request moves the seed's clock on by this much, so the records of a day keep their order. */
const REQUEST_STEP_MS = 20_000;

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH';

export class DemoApi {
  private constructor(
    private readonly server: Server,
    private readonly base: string,
    readonly services: Services,
    readonly clock: DemoClock,
  ) {}

  /** The app on 127.0.0.1 (a free port), on `clock`, with services of its own. */
  static async start(deps: { db: Knex; config: Config; logger: Logger; clock: DemoClock }): Promise<DemoApi> {
    const key = { kid: 'demo-seed', secret: randomBytes(32).toString('hex') };
    const config: Config = { ...deps.config, jwt: { ...deps.config.jwt, current: key, previous: [] } };
    const services = createServices(deps.db, config, deps.clock, key);
    const app = createApp({ db: deps.db, config, logger: deps.logger, clock: deps.clock, services });
    const server = await new Promise<Server>((resolve, reject) => {
      const listening = app.listen(0, '127.0.0.1', (error?: Error) => (error ? reject(error) : resolve(listening)));
    });
    const address = server.address();
    if (address === null || typeof address !== 'object') throw new Error('demo seed: the app has no address');
    return new DemoApi(server, `http://127.0.0.1:${address.port}${API_PREFIX}`, services, deps.clock);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  get<T>(as: Person, path: string): Promise<T> {
    return this.request<T>('GET', as, path);
  }

  /** Every write carries an Idempotency-Key, as a careful client sends on each. */
  post<T>(as: Person, path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', as, path, body);
  }

  put<T>(as: Person, path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', as, path, body);
  }

  private async request<T>(method: Method, as: Person, path: string, body?: unknown): Promise<T> {
    this.clock.advance(REQUEST_STEP_MS);
    // Issued at the seed's time, as a login then would have (tokens live an hour, the story a year);
    // the seed's users are new, so their token version is the first.
    const { token } = this.services.tokens.issue({ sub: as.id, role: as.role, tv: 1 });
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (method !== 'GET') {
      headers['content-type'] = 'application/json';
      headers['idempotency-key'] = randomUUID();
    }
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const parsed: unknown = text === '' ? null : JSON.parse(text);
    if (!response.ok) throw new DemoSeedError(method, path, response.status, parsed);
    return parsed as T;
  }
}
