/**
 * npm run bench:ledger — entries per second posted three ways, each by 4 concurrent clients:
 *   a  the minimal equivalent raw SQL through `pg` (entry header, postings, balances, commit);
 *   b  LedgerService.postEntry inside inTransaction, through knex;
 *   c  POST /api/v1/funds/{fundId}/entries on the real app over HTTP (bearer token, Idempotency-Key).
 * Each path runs on two workloads: "spread" (transfers between random member capital accounts among
 * 1,000) and "hot" (every entry touches pool cash 1001, one row). It prints the rates and the ratios
 * b/a and c/a against the targets, then exits 0: it is a report, not a test, and asserts no timings.
 *
 * One embedded PostgreSQL, durable (fsync and synchronous commit on), on 127.0.0.1 only. A template
 * database is migrated and seeded once; every (path, workload) pair runs on its own copy of it, so
 * each starts from the same rows and no run sees another's. After the runs each copy is checked: it
 * gained exactly the entries reported committed, its trial balance balances, no stored balance
 * drifted from its postings (and, for HTTP, the audit chain verifies).
 *
 * Each path gets a 1 s warm-up and BENCH_SECONDS (default 8) measured, cut into ROUNDS slices that
 * alternate with the other paths'. Besides the rates it prints latency and CPU time per entry (of
 * this process and of the PostgreSQL server), which load from elsewhere on the machine moves less.
 * BENCH_PROFILE=1 also counts and times every SQL statement per entry (see statement-profile.ts).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http, { type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import pg from 'pg';
import pino from 'pino';
import { createApp, createServices, API_PREFIX } from '../src/app';
import { AuditService } from '../src/audit/audit.service';
import type { Actor } from '../src/auth/principal';
import { dateIn, systemClock } from '../src/clock';
import { loadConfig, type Config } from '../src/config';
import { EmbeddedPostgres } from '../src/db/embedded';
import { createDb } from '../src/db/knex';
import { migrateLatest } from '../src/db/migrate';
import { inTransaction, isRetryable, TRANSACTION_ATTEMPTS_MAX } from '../src/db/transaction';
import { POOL_CASH } from '../src/ledger/chart';
import { LedgerService } from '../src/ledger/ledger.service';
import type { Side } from '../src/ledger/ledger.types';
import { insertMember } from '../src/members/members.repo';
import { cpuTimes, formatProfile, StatementProfile, type CpuTimes, type StatementStats } from './statement-profile';

const CLIENTS = 4;
const MEMBERS = 1000;
const WARMUP_MS = 1000;
const MEASURE_SECONDS_DEFAULT = 8;
const MEASURE_SECONDS_MAX = 120;
/**
 * The measured time of each path is cut into this many slices, run in rotating order (a b c, b c a,
 * c a b, a b c), so that load from elsewhere on the machine drifting during the run falls on the
 * three paths alike instead of on whichever ran last.
 */
const ROUNDS = 4;
/** A run stops early after this many failed entries: something is wrong, not slow. */
const FAILURES_MAX = 50;
/** Every member's opening capital; entries move at most 10.00, so no floor ever refuses. */
const OPENING_CAPITAL = '1000000.00';
const AMOUNT_CENTS_MAX = 1000;
const TIME_ZONE = 'Asia/Shanghai';
const ENTRY_KIND = 'manual.adjustment';
const ENTRY_MEMO = 'ledger benchmark transfer';
const TARGET_B_OVER_A_MIN = 0.6;
const TARGET_C_OVER_A_MIN = 0.4;
/** Whatever happens, the benchmark ends: 4 minutes beyond what the runs themselves need. */
const WATCHDOG_MARGIN_MS = 240_000;

const PATHS = ['a', 'b', 'c'] as const;
type PathName = (typeof PATHS)[number];
const PATH_TITLES: Record<PathName, string> = { a: 'a raw SQL', b: 'b service', c: 'c HTTP' };
const WORKLOADS = ['spread', 'hot'] as const;
type Workload = (typeof WORKLOADS)[number];

interface Seed {
  fundId: string;
  poolCashId: string;
  capitalIds: string[];
  admin: Actor & { userId: string };
  effectiveDate: string;
}

interface Line {
  accountId: string;
  side: Side;
  amount: string;
}

/** Posts one entry and resolves once it is committed; rejects if it was not. */
type Post = (lines: readonly Line[]) => Promise<void>;

interface Poster {
  post: Post;
  /** Checks that only this path can make, beyond the ledger's own (the audit chain for HTTP). */
  extraCheck?: (db: Knex) => Promise<{ ok: boolean; text: string }>;
  /** Transactions run again after a deadlock or serialization failure (a and b; c retries inside the app). */
  retries?: () => number;
  /** Idempotent. */
  close(): Promise<void>;
}

/** What one path accumulates over its slices of one workload. */
interface Tally {
  measuredEntries: number;
  measuredSeconds: number;
  /** Every entry reported committed, warm-up and the tail of each slice included. */
  committed: number;
  failed: number;
  firstError: unknown;
  latenciesMs: number[];
  /** Summed latency of every committed entry (warm-up and tails too), to compare with `statements`. */
  latencyAllMs: number;
  /** Entries per second in each round, to show how much the machine's load moved the figures. */
  roundRates: number[];
  statements: StatementStats;
  /** CPU spent during this path's slices, warm-up included (like `committed`). */
  cpu: CpuTimes;
}

interface PathRun {
  pathName: PathName;
  poster: Poster;
  checkDb: Knex;
  entriesBefore: number;
  /** One generator per client, continued from slice to slice. */
  randoms: (() => number)[];
  tally: Tally;
}

interface PathResult {
  perSecond: number;
  roundRates: number[];
  verified: boolean;
}

let interrupted = false;

// ---------------------------------------------------------------------------------------------
// Entries: a seeded generator per client, so every path is offered the same sequence.

function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An amount from 0.01 to 10.00 written from integer cents: no floating-point money. */
function amountOf(random: () => number): string {
  const cents = 1 + Math.floor(random() * AMOUNT_CENTS_MAX);
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

function nextEntry(workload: Workload, seed: Seed, random: () => number): Line[] {
  const amount = amountOf(random);
  const first = Math.floor(random() * MEMBERS);
  if (workload === 'spread') {
    let second = Math.floor(random() * (MEMBERS - 1));
    if (second >= first) second += 1;
    return [
      { accountId: seed.capitalIds[first]!, side: 'debit', amount },
      { accountId: seed.capitalIds[second]!, side: 'credit', amount },
    ];
  }
  // Hot: a member pays in (Dr pool cash) or is paid out (Cr pool cash); pool cash is every entry.
  const payIn = random() < 0.5;
  return [
    { accountId: payIn ? seed.poolCashId : seed.capitalIds[first]!, side: 'debit', amount },
    { accountId: payIn ? seed.capitalIds[first]! : seed.poolCashId, side: 'credit', amount },
  ];
}

// ---------------------------------------------------------------------------------------------
// Setup: the template database, migrated and seeded once.

function benchConfig(databaseUrl: string, jwtSecret: string): Config {
  return loadConfig({
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    JWT_SECRET: jwtSecret,
    LOG_LEVEL: 'silent',
    HOLD_SWEEP_SECONDS: '0',
  });
}

/** A fund, 1,000 members each with a capital sub-account and an opening entry, and an admin. */
async function seedTemplate(databaseUrl: string, jwtSecret: string): Promise<Seed> {
  const db = createDb({ connectionString: databaseUrl, poolMax: 2, applicationName: 'huzhu-bench-seed' });
  try {
    await migrateLatest(db);
    const config = benchConfig(databaseUrl, jwtSecret);
    const services = createServices(db, config, systemClock, config.jwt.current!);
    const user = await services.users.create({
      username: 'bench-admin',
      password: randomBytes(16).toString('hex'),
      role: 'admin',
    });
    const admin = { userId: user.id, username: user.username, role: user.role };
    const effectiveDate = dateIn(TIME_ZONE, systemClock.now());
    return await inTransaction(db, async (trx) => {
      const fund = await services.funds.create(
        trx,
        { name: 'Ledger benchmark', currency: 'CNY', timezone: TIME_ZONE, policy: {} },
        admin,
      );
      const [poolCashId] = (await trx('accounts').where({ fund_id: fund.id, code: POOL_CASH }).pluck('id')) as string[];
      if (poolCashId === undefined) throw new Error('the new fund has no pool cash account');
      const capitalIds: string[] = [];
      for (let index = 0; index < MEMBERS; index += 1) {
        const member = await insertMember(trx, {
          fund_id: fund.id,
          name: `Benchmark member ${index + 1}`,
          joined_on: effectiveDate,
        });
        const capital = await services.ledger.ensureSubAccount(trx, fund.id, '3001', { memberId: member.id });
        await services.ledger.postEntry(trx, {
          fundId: fund.id,
          kind: 'manual.opening_balance',
          effectiveDate,
          memo: `Opening capital of member ${index + 1}`,
          lines: [
            { accountId: poolCashId, side: 'debit', amount: OPENING_CAPITAL },
            { accountId: capital.id, side: 'credit', amount: OPENING_CAPITAL },
          ],
          actor: admin,
        });
        capitalIds.push(capital.id);
      }
      return { fundId: fund.id, poolCashId, capitalIds, admin, effectiveDate };
    });
  } finally {
    await db.destroy();
  }
}

function once(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => (closing ??= close());
}

// ---------------------------------------------------------------------------------------------
// a: the minimal equivalent in raw SQL.

const RAW_INSERT_ENTRY = `INSERT INTO journal_entries (fund_id, kind, effective_date, memo, actor_id)
  VALUES ($1, $2, $3, $4, $5) RETURNING id`;

/**
 * One statement: lock the balance rows in account-id order (as the service does, so two entries
 * never deadlock), add the lines to the totals, and insert the postings with the running figures
 * the UPDATE returns. The CHECK constraints (floor, balance = totals) and the deferred balanced-
 * entry triggers apply exactly as they do to the service. One line per account per entry.
 */
const RAW_POST_LINES = `WITH lines AS (
    SELECT * FROM unnest($4::uuid[], $5::text[], $6::numeric[]) WITH ORDINALITY AS l(account_id, side, amount, line_no)
  ), locked AS (
    SELECT b.account_id FROM account_balances b
     WHERE b.fund_id = $1 AND b.account_id = ANY($4::uuid[])
     ORDER BY b.account_id
       FOR UPDATE
  ), updated AS (
    UPDATE account_balances b
       SET debit_total = b.debit_total + CASE l.side WHEN 'debit' THEN l.amount ELSE 0 END,
           credit_total = b.credit_total + CASE l.side WHEN 'credit' THEN l.amount ELSE 0 END,
           balance = b.balance + CASE WHEN l.side = b.normal_side THEN l.amount ELSE -l.amount END,
           version = b.version + 1,
           effective_watermark = greatest(b.effective_watermark, $3::date),
           updated_at = now()
      FROM lines l JOIN locked k ON k.account_id = l.account_id
     WHERE b.account_id = l.account_id
    RETURNING b.account_id, b.debit_total, b.credit_total, b.balance, b.version, b.effective_watermark,
              l.side, l.amount, l.line_no
  )
  INSERT INTO postings (fund_id, entry_id, line_no, account_id, side, amount, effective_date,
                        debit_total_after, credit_total_after, balance_after, version_after,
                        watermark_after, backdated)
  SELECT $1, $2, u.line_no, u.account_id, u.side, u.amount, $3, u.debit_total, u.credit_total, u.balance,
         u.version, u.effective_watermark, u.effective_watermark > $3::date
    FROM updated u`;

async function postRaw(client: pg.PoolClient, seed: Seed, lines: readonly Line[]): Promise<void> {
  await client.query('BEGIN');
  const header = await client.query<{ id: string }>(RAW_INSERT_ENTRY, [
    seed.fundId,
    ENTRY_KIND,
    seed.effectiveDate,
    ENTRY_MEMO,
    seed.admin.userId,
  ]);
  const entryId = header.rows[0]?.id;
  if (entryId === undefined) throw new Error('raw insert of an entry returned no id');
  const written = await client.query(RAW_POST_LINES, [
    seed.fundId,
    entryId,
    seed.effectiveDate,
    lines.map((line) => line.accountId),
    lines.map((line) => line.side),
    lines.map((line) => line.amount),
  ]);
  if (written.rowCount !== lines.length) {
    throw new Error(`raw posting wrote ${written.rowCount} postings for ${lines.length} lines`);
  }
  await client.query('COMMIT');
}

function rawPoster(databaseUrl: string, seed: Seed): Poster {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: CLIENTS,
    // Between its slices this path waits while the others run: keep the connections (knex keeps 30 s).
    idleTimeoutMillis: 60_000,
    application_name: 'huzhu-bench-raw',
  });
  let retries = 0;
  const post: Post = async (lines) => {
    // Retried like inTransaction retries, so that a deadlock costs a and b alike.
    for (let attempt = 1; ; attempt += 1, retries += 1) {
      const client = await pool.connect();
      try {
        await postRaw(client, seed, lines);
        client.release();
        return;
      } catch (error) {
        const rolledBack = await client.query('ROLLBACK').then(
          () => true,
          () => false,
        );
        client.release(!rolledBack);
        if (!isRetryable(error) || attempt >= TRANSACTION_ATTEMPTS_MAX) throw error;
      }
    }
  };
  return { post, retries: () => retries, close: once(() => pool.end()) };
}

// ---------------------------------------------------------------------------------------------
// b: the service layer.

function servicePoster(databaseUrl: string, seed: Seed): Poster {
  const db = createDb({ connectionString: databaseUrl, poolMax: CLIENTS, applicationName: 'huzhu-bench-service' });
  const ledger = new LedgerService(systemClock);
  let retries = 0;
  const post: Post = async (lines) => {
    await inTransaction(
      db,
      (trx) =>
        ledger.postEntry(trx, {
          fundId: seed.fundId,
          kind: ENTRY_KIND,
          effectiveDate: seed.effectiveDate,
          memo: ENTRY_MEMO,
          lines,
          actor: seed.admin,
        }),
      { onRetry: () => (retries += 1) },
    );
  };
  return { post, retries: () => retries, close: once(() => db.destroy()) };
}

// ---------------------------------------------------------------------------------------------
// c: the HTTP API of the real app.

function listen(app: ReturnType<typeof createApp>): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1', (error?: Error) => (error ? reject(error) : resolve(server)));
    server.once('error', reject);
  });
}

async function httpPoster(databaseUrl: string, seed: Seed, jwtSecret: string, runId: string): Promise<Poster> {
  const config = benchConfig(databaseUrl, jwtSecret);
  const db = createDb({
    connectionString: databaseUrl,
    poolMax: config.dbPoolMax,
    applicationName: 'huzhu-bench-http',
  });
  const services = createServices(db, config, systemClock, config.jwt.current!);
  const app = createApp({ db, config, logger: pino({ level: 'silent' }), clock: systemClock, services });
  const server = await listen(app);
  // Between its slices this path waits while the others run: keep the client's sockets open.
  server.keepAliveTimeout = 60_000;
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('the app is not listening on a TCP port');
  const url = `http://127.0.0.1:${address.port}${API_PREFIX}/funds/${seed.fundId}/entries`;
  const { token } = services.tokens.issue({ sub: seed.admin.userId, role: 'admin', tv: 1 });
  let requests = 0;
  // node:http with a keep-alive agent: the lightest client in the same process, so that the figures
  // measure the service rather than the benchmark's own HTTP client.
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  const target = new URL(url);
  const post: Post = async (lines) => {
    requests += 1;
    const body = JSON.stringify({ effectiveDate: seed.effectiveDate, kind: ENTRY_KIND, memo: ENTRY_MEMO, lines });
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'idempotency-key': `bench-${runId}-${requests}`,
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
          );
          response.on('error', reject);
        },
      );
      request.on('error', reject);
      request.end(body);
    });
    if (status !== 201) throw new Error(`HTTP ${status}: ${text.slice(0, 300)}`);
  };
  const extraCheck = async (checkDb: Knex): Promise<{ ok: boolean; text: string }> => {
    const audit = await new AuditService(systemClock).verify(checkDb, seed.fundId);
    return {
      ok: audit.ok,
      text: audit.ok ? `audit chain intact (${audit.checked} rows)` : `AUDIT CHAIN BROKEN (${audit.reason})`,
    };
  };
  const close = once(async () => {
    agent.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await db.destroy();
  });
  return { post, extraCheck, close };
}

// ---------------------------------------------------------------------------------------------
// Measuring.

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

/**
 * One slice: CLIENTS workers post back to back for `warmupMs` (not counted), then `seconds`. The
 * rate counts entries committed inside the measured window; entries in flight when it closes finish
 * and count in `committed` (which the check compares with the database), not in the rate.
 */
async function runSlice(workload: Workload, seed: Seed, run: PathRun, seconds: number, warmupMs: number) {
  const tally = run.tally;
  let phase: 'warmup' | 'measure' | 'done' = warmupMs > 0 ? 'warmup' : 'measure';
  let committed = 0;
  const worker = async (random: () => number): Promise<void> => {
    while (phase !== 'done' && !interrupted && tally.failed < FAILURES_MAX) {
      const lines = nextEntry(workload, seed, random);
      const started = performance.now();
      try {
        await run.poster.post(lines);
        committed += 1;
        const latencyMs = performance.now() - started;
        tally.latencyAllMs += latencyMs;
        if (phase === 'measure') tally.latenciesMs.push(latencyMs);
      } catch (error) {
        tally.failed += 1;
        tally.firstError ??= error;
      }
    }
  };
  const workers = run.randoms.map((random) => worker(random));
  if (warmupMs > 0) await sleep(warmupMs);
  const startCount = committed;
  const startMs = performance.now();
  phase = 'measure';
  await sleep(seconds * 1000);
  const entries = committed - startCount;
  const elapsedSeconds = (performance.now() - startMs) / 1000;
  phase = 'done';
  await Promise.all(workers);
  tally.measuredEntries += entries;
  tally.measuredSeconds += elapsedSeconds;
  tally.committed += committed;
  tally.roundRates.push(entries / elapsedSeconds);
}

async function entryCount(db: Knex, fundId: string): Promise<number> {
  const row = (await db('journal_entries').where({ fund_id: fundId }).count({ n: '*' }).first()) as { n: string };
  return Number(row.n);
}

/** After the runs: the fund gained exactly the entries reported committed, and it still balances. */
async function verifyRun(run: PathRun, seed: Seed): Promise<{ ok: boolean; text: string }> {
  const after = await entryCount(run.checkDb, seed.fundId);
  const ledger = new LedgerService(systemClock);
  const trial = await ledger.trialBalance(run.checkDb, seed.fundId);
  const verification = await ledger.verify(run.checkDb, seed.fundId);
  const extra = run.poster.extraCheck ? await run.poster.extraCheck(run.checkDb) : undefined;
  const added = after - run.entriesBefore;
  const countOk = added === run.tally.committed;
  const ok = countOk && trial.balanced && verification.ok && (extra === undefined || extra.ok);
  const parts = [
    `${added} new entries ${countOk ? '=' : '≠'} ${run.tally.committed} committed`,
    trial.balanced ? 'trial balance balanced' : 'TRIAL BALANCE DOES NOT BALANCE',
    verification.ok ? 'ledger verified' : `${verification.findingsTotal} LEDGER FINDINGS`,
    ...(extra === undefined ? [] : [extra.text]),
  ];
  return { ok, text: parts.join(', ') };
}

// ---------------------------------------------------------------------------------------------
// Orchestration.

interface Context {
  server: EmbeddedPostgres;
  admin: pg.Client;
  template: string;
  seed: Seed;
  jwtSecret: string;
  seconds: number;
  profile: StatementProfile | undefined;
  postmasterPid: number | undefined;
}

async function openPathRun(ctx: Context, workload: Workload, pathName: PathName): Promise<PathRun> {
  const name = `bench_${workload}_${pathName}`;
  await ctx.admin.query(`CREATE DATABASE ${ctx.admin.escapeIdentifier(name)} TEMPLATE ${ctx.template}`);
  const databaseUrl = ctx.server.connectionString(name);
  const checkDb = createDb({ connectionString: databaseUrl, poolMax: 1, applicationName: 'huzhu-bench-check' });
  const poster =
    pathName === 'a'
      ? rawPoster(databaseUrl, ctx.seed)
      : pathName === 'b'
        ? servicePoster(databaseUrl, ctx.seed)
        : await httpPoster(databaseUrl, ctx.seed, ctx.jwtSecret, name);
  return {
    pathName,
    poster,
    checkDb,
    entriesBefore: await entryCount(checkDb, ctx.seed.fundId),
    randoms: Array.from({ length: CLIENTS }, (_, index) => generator(index + 1)),
    tally: {
      measuredEntries: 0,
      measuredSeconds: 0,
      committed: 0,
      failed: 0,
      firstError: undefined,
      latenciesMs: [],
      latencyAllMs: 0,
      roundRates: [],
      statements: new Map(),
      cpu: { nodeMs: 0, postgresMs: 0 },
    },
  };
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]!.slice(0, 300) : String(error);
}

async function reportPath(ctx: Context, workload: Workload, run: PathRun): Promise<PathResult> {
  const { tally } = run;
  await run.poster.close();
  const check = await verifyRun(run, ctx.seed);
  const perSecond = tally.measuredEntries / tally.measuredSeconds;
  const latencies = [...tally.latenciesMs].sort((x, y) => x - y);
  console.log(
    `  ${workload.padEnd(6)} ${PATH_TITLES[run.pathName].padEnd(10)} ${perSecond.toFixed(1).padStart(8)} entries/s ` +
      `(${tally.measuredEntries} in ${tally.measuredSeconds.toFixed(1)} s; latency p50 ` +
      `${percentile(latencies, 0.5).toFixed(1)} ms, p99 ${percentile(latencies, 0.99).toFixed(1)} ms)` +
      `${(run.poster.retries?.() ?? 0) > 0 ? `, ${run.poster.retries?.()} retried` : ''}` +
      `${tally.failed > 0 ? `, ${tally.failed} FAILED` : ''}`,
  );
  if (tally.failed > 0) console.log(`      first failure: ${describeError(tally.firstError)}`);
  const perEntry = (ms: number | undefined): string =>
    ms === undefined ? 'n/a' : `${(ms / Math.max(1, tally.committed)).toFixed(2)} ms`;
  console.log(
    `      CPU per entry: node ${perEntry(tally.cpu.nodeMs)}` +
      `${run.pathName === 'c' ? ' (app and its HTTP clients)' : ''}, postgres ${perEntry(tally.cpu.postgresMs)}`,
  );
  console.log(`      check: ${check.ok ? 'ok' : 'FAILED'}: ${check.text}`);
  if (ctx.profile) {
    // Statements, `committed` and `latencyAllMs` all include the warm-up and the slices' tails.
    const meanMs = tally.latencyAllMs / Math.max(1, tally.committed);
    for (const line of formatProfile(tally.statements, tally.committed, meanMs)) console.log(line);
  }
  return { perSecond, roundRates: tally.roundRates, verified: check.ok && tally.failed === 0 };
}

function addCpu(total: CpuTimes, before: CpuTimes, after: CpuTimes): void {
  total.nodeMs += after.nodeMs - before.nodeMs;
  total.postgresMs =
    total.postgresMs === undefined || before.postgresMs === undefined || after.postgresMs === undefined
      ? undefined
      : total.postgresMs + after.postgresMs - before.postgresMs;
}

/** The three paths on one workload, each on its own copy of the template, interleaved by round. */
async function runWorkload(ctx: Context, workload: Workload): Promise<Map<PathName, PathResult>> {
  const runs: PathRun[] = [];
  try {
    for (const pathName of PATHS) runs.push(await openPathRun(ctx, workload, pathName));
    for (let round = 0; round < ROUNDS && !interrupted; round += 1) {
      const order = runs.map((_, index) => runs[(index + round) % runs.length]!);
      for (const run of order) {
        if (interrupted) break;
        const cpuBefore = cpuTimes(ctx.postmasterPid);
        ctx.profile?.resume(run.tally.statements);
        await runSlice(workload, ctx.seed, run, ctx.seconds / ROUNDS, round === 0 ? WARMUP_MS : 0);
        ctx.profile?.pause();
        addCpu(run.tally.cpu, cpuBefore, cpuTimes(ctx.postmasterPid));
      }
    }
    const results = new Map<PathName, PathResult>();
    for (const run of runs) results.set(run.pathName, await reportPath(ctx, workload, run));
    return results;
  } finally {
    for (const run of runs) {
      await run.poster.close().catch(() => undefined);
      await run.checkDb.destroy();
    }
  }
}

function ratioText(value: number): string {
  return Number.isFinite(value) ? value.toFixed(2) : '—';
}

/** Lowest and highest ratio over the rounds: how far load elsewhere moved the figures. */
function roundRange(top: readonly number[], bottom: readonly number[]): string {
  const ratios = top.map((rate, round) => rate / bottom[round]!).filter(Number.isFinite);
  if (ratios.length === 0) return '—';
  return `${ratioText(Math.min(...ratios))}–${ratioText(Math.max(...ratios))}`;
}

function printTable(results: Map<Workload, Map<PathName, PathResult>>): void {
  const header =
    `workload ${PATHS.map((p) => PATH_TITLES[p].padStart(11)).join('')}    b/a    c/a   ` +
    `targets b/a ≥ ${TARGET_B_OVER_A_MIN.toFixed(2)}, c/a ≥ ${TARGET_C_OVER_A_MIN.toFixed(2)}`;
  const lines = ['', header];
  const spreads: string[] = [];
  for (const [workload, byPath] of results) {
    const [a, b, c] = PATHS.map((p) => byPath.get(p)!);
    if (!a || !b || !c) continue;
    const bOverA = b.perSecond / a.perSecond;
    const cOverA = c.perSecond / a.perSecond;
    const missed = [
      ...(bOverA >= TARGET_B_OVER_A_MIN ? [] : ['b/a']),
      ...(cOverA >= TARGET_C_OVER_A_MIN ? [] : ['c/a']),
    ];
    const verdict = missed.length === 0 ? 'ok' : `MISSED ${missed.join(', ')}`;
    const unverified = [a, b, c].some((result) => !result.verified) ? ' (A CHECK FAILED: see above)' : '';
    lines.push(
      `${workload.padEnd(8)} ${[a, b, c].map((result) => `${result.perSecond.toFixed(0)}/s`.padStart(11)).join('')}` +
        `${ratioText(bOverA).padStart(7)}${ratioText(cOverA).padStart(7)}   ${verdict}${unverified}`,
    );
    spreads.push(
      `${workload} b/a ${roundRange(b.roundRates, a.roundRates)}, c/a ${roundRange(c.roundRates, a.roundRates)}`,
    );
  }
  lines.push(`ratios per round (lowest–highest of ${ROUNDS}): ${spreads.join('; ')}`);
  for (const line of lines) console.log(line);
}

async function printMachine(admin: pg.Client, seconds: number): Promise<void> {
  const setting = async (name: string): Promise<string> =>
    (await admin.query<{ value: string }>('SELECT current_setting($1) AS value', [name])).rows[0]?.value ?? '?';
  const cpus = os.cpus();
  console.log(
    `node ${process.version}, ${cpus.length} CPU (${cpus[0]?.model.trim() ?? 'unknown'}), ${os.platform()} ${os.arch()}`,
  );
  console.log(
    `PostgreSQL ${await setting('server_version')} (embedded, 127.0.0.1), durable=true: ` +
      `fsync=${await setting('fsync')}, synchronous_commit=${await setting('synchronous_commit')}, ` +
      `wal_sync_method=${await setting('wal_sync_method')}`,
  );
  console.log(
    `${CLIENTS} concurrent clients per path, ${MEMBERS} member capital accounts; per path and workload ` +
      `${WARMUP_MS / 1000} s warm-up + ${seconds} s measured (BENCH_SECONDS) in ${ROUNDS} interleaved slices`,
  );
  console.log(
    'c runs the app as createApp builds it (NODE_ENV=production, LOG_LEVEL=silent, its default DB_POOL_MAX); ' +
      'its HTTP clients (node:http, keep-alive) run in this same process',
  );
  console.log(`load average at start ${loadAverage()}`);
}

function loadAverage(): string {
  return os
    .loadavg()
    .map((load) => load.toFixed(2))
    .join(' ');
}

function measureSeconds(): number {
  const text = process.env.BENCH_SECONDS;
  if (text === undefined || text === '') return MEASURE_SECONDS_DEFAULT;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > MEASURE_SECONDS_MAX) {
    throw new Error(`BENCH_SECONDS must be a number of seconds from 1 to ${MEASURE_SECONDS_MAX}, not ${text}`);
  }
  return seconds;
}

async function runAll(
  server: EmbeddedPostgres,
  seconds: number,
  profile: StatementProfile | undefined,
  postmasterPid: number | undefined,
): Promise<void> {
  const admin = new pg.Client({ connectionString: server.connectionString('postgres') });
  await admin.connect();
  try {
    await printMachine(admin, seconds);
    const template = 'bench_template';
    const jwtSecret = randomBytes(32).toString('hex');
    await admin.query(`CREATE DATABASE ${template}`);
    const seedStartedMs = performance.now();
    const seed = await seedTemplate(server.connectionString(template), jwtSecret);
    console.log(
      `seeded the template in ${((performance.now() - seedStartedMs) / 1000).toFixed(1)} s: one fund, ` +
        `${MEMBERS} members with capital ${OPENING_CAPITAL} each; every path and workload runs on a copy\n`,
    );
    const ctx: Context = { server, admin, template, seed, jwtSecret, seconds, profile, postmasterPid };
    const results = new Map<Workload, Map<PathName, PathResult>>();
    for (const workload of WORKLOADS) {
      if (!interrupted) results.set(workload, await runWorkload(ctx, workload));
    }
    printTable(results);
    console.log(`load average at end ${loadAverage()}`);
  } finally {
    await admin.end();
  }
}

/** The server's pid from postmaster.pid, to read its CPU time; undefined if it cannot be read. */
function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8'), 10);
    return Number.isSafeInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const startedMs = performance.now();
  let seconds: number;
  try {
    seconds = measureSeconds();
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 2;
    return;
  }
  const profile = process.env.BENCH_PROFILE === '1' ? new StatementProfile() : undefined;
  profile?.install();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'huzhu-bench-'));
  // When we are root the server runs as `postgres`, which must be able to enter the directory.
  fs.chmodSync(dataDir, 0o755);
  const runsMs = WORKLOADS.length * PATHS.length * (WARMUP_MS + seconds * 1000);
  const watchdog = setTimeout(() => {
    console.error(`the benchmark did not finish within ${(runsMs + WATCHDOG_MARGIN_MS) / 1000} s: giving up`);
    fs.rmSync(dataDir, { recursive: true, force: true });
    process.exit(1);
  }, runsMs + WATCHDOG_MARGIN_MS);
  watchdog.unref();
  process.once('SIGINT', () => {
    console.log('\ninterrupted: ending the current slice, then cleaning up (Ctrl-C again to abort)');
    interrupted = true;
  });
  let server: EmbeddedPostgres | undefined;
  try {
    server = await EmbeddedPostgres.start({ dataDir, durable: true });
    await runAll(server, seconds, profile, postmasterPid(dataDir));
  } finally {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(`total run time ${((performance.now() - startedMs) / 1000).toFixed(1)} s`);
}

main().catch((error: unknown) => {
  console.error(
    `the ledger benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  process.exitCode = 1;
});
