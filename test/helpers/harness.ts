import { randomBytes } from 'node:crypto';
import type { Express } from 'express';
import type { Knex } from 'knex';
import pg from 'pg';
import pino from 'pino';
import request from 'supertest';
import { createApp, createServices } from '../../src/app';
import type { UserService } from '../../src/auth/auth.service';
import type { Role } from '../../src/auth/principal';
import type { Clock } from '../../src/clock';
import { loadConfig, type Config } from '../../src/config';
import { createDb } from '../../src/db/knex';
import type { Services } from '../../src/http/context';

/** A clock tests move by hand. It starts at a fixed instant so dates in tests never depend on today. */
export class TestClock implements Clock {
  constructor(private current = new Date('2026-06-15T04:00:00.000Z')) {}
  now(): Date {
    return new Date(this.current.getTime());
  }
  set(instant: Date | string): void {
    this.current = new Date(instant);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

/** "Today" of TestClock's default instant, in Asia/Shanghai. */
export const TEST_TODAY = '2026-06-15';

export const TEST_JWT_KEY = { kid: 'test-1', secret: 'test-secret-that-is-at-least-32-bytes-long!!' };

export interface Harness {
  db: Knex;
  /** Connection string of this file's database: tests that go behind the service's back use it. */
  databaseUrl: string;
  app: Express;
  config: Config;
  clock: TestClock;
  services: Services;
  users: UserService;
  http: ReturnType<typeof request>;
  close(): Promise<void>;
}

/**
 * A database copied from the migrated template, and the real app on it. One per test file; tests
 * in a file share it, so each builds its own fund and users with unique names.
 */
export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const adminUrl = process.env.HUZHU_TEST_ADMIN_URL;
  const template = process.env.HUZHU_TEST_TEMPLATE;
  if (!adminUrl || !template) throw new Error('integration tests need the global setup (run them with jest)');
  const name = `${template.replace('template', 'test')}_${process.env.JEST_WORKER_ID ?? '0'}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();

  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    JWT_SECRET: TEST_JWT_KEY.secret,
    JWT_KID: TEST_JWT_KEY.kid,
    LOGIN_MAX_PER_IP: '100000',
    LOGIN_DELAY_AFTER_FAILURES_PER_USERNAME_AND_IP: '1000',
    LOGIN_DELAY_AFTER_FAILURES_PER_USERNAME: '100000',
    HOLD_SWEEP_SECONDS: '0',
    ...env,
  });
  const db = createDb({ connectionString: databaseUrl, poolMax: 10 });
  const clock = new TestClock();
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const services = createServices(db, config, clock, config.jwt.current!);
  const app = createApp({ db, config, logger, clock, services });
  const harness: Harness = {
    db,
    databaseUrl,
    app,
    config,
    clock,
    services,
    users: services.users,
    http: request(app),
    close: async () => {
      OPEN_HARNESSES.delete(harness);
      await db.destroy();
      const cleanup = new pg.Client({ connectionString: adminUrl });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.end();
    },
  };
  OPEN_HARNESSES.add(harness);
  return harness;
}

/** Every harness not yet closed: after each test, the funds it changed are checked (consistency.ts). */
export const OPEN_HARNESSES = new Set<Harness>();

let sequence = 0;
/** A name no other test in the run uses. */
export function unique(prefix: string): string {
  sequence += 1;
  return `${prefix}${process.env.JEST_WORKER_ID ?? '0'}x${sequence}x${randomBytes(2).toString('hex')}`;
}

export interface TestUser {
  id: string;
  username: string;
  role: Role;
  token: string;
  auth: { Authorization: string };
}

/** A user created through the real user service, with a token issued the way login issues them. */
/** A bearer header for `user` issued at the harness clock's time: tests move the clock past a token's lifetime. */
export function authNow(h: Harness, user: Pick<TestUser, 'id' | 'role'>): { Authorization: string } {
  const { token } = h.services.tokens.issue({ sub: user.id, role: user.role, tv: 1 });
  return { Authorization: `Bearer ${token}` };
}

/** Gives each user a token issued at the harness clock's time, after a test moved the clock. */
export function reissueTokens(h: Harness, users: Iterable<TestUser>): void {
  for (const user of users) {
    user.auth = authNow(h, user);
    user.token = user.auth.Authorization.slice('Bearer '.length);
  }
}

export async function makeUser(
  h: Harness,
  role: Role,
  scope: { fundId?: string; memberId?: string } = {},
): Promise<TestUser> {
  const username = unique(role.slice(0, 3)).toLowerCase();
  const user = await h.users.create({ username, password: 'correct horse battery', role, ...scope });
  const { token } = h.services.tokens.issue({ sub: user.id, role: user.role, tv: 1 });
  return { id: user.id, username, role, token, auth: { Authorization: `Bearer ${token}` } };
}
