/**
 * npm run bench:jobs — the daily loan job (src/loans/daily-job.service.ts) on a fund with 100,000
 * active pool loans:
 *   1  one day: the first day the job meets the loans (it also creates their 1202 / 1203 receivable
 *      accounts), then
 *   2  a 30-day catch-up (30 days in one run, each day its own transaction), and per day;
 *   0  the baseline: one plain INSERT … SELECT writing as many rows into a copy of the postings
 *      table (same columns, constraints and indexes) as the job wrote, by PostgreSQL's counters of
 *      rows inserted, updated and deleted (postings, entries, balances, accrual states, loans,
 *      classification history, new accounts): once for the first day, once for an average
 *      catch-up day; and, for comparison, for the first day's postings alone.
 * Each timed phase starts on a CHECKPOINT, so that none pays for writing out what came before it.
 * It prints the times and the ratios against the targets (one day < 30 s, ≤ 5 × baseline), then
 * exits 0: it is a report, not a test, and asserts no timings. BENCH_PROFILE=1 also times every SQL
 * statement of the first day (statement-profile.ts). After the runs the fund is checked:
 * trial balance balanced, no stored balance drifted from its postings.
 *
 * One embedded PostgreSQL, durable (fsync and synchronous commit on), on 127.0.0.1 only. The loans,
 * their 1201 accounts and balances, their one bullet instalment each, the disbursement entries and
 * the accrual state through the day before are seeded with INSERT … SELECT over generate_series.
 * 90 % of the loans are in their period (contract interest); 10 % fell due 10 days before the
 * first day and are unpaid (penalty interest, overdue, classification changes).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import pg from 'pg';
import { createServices } from '../src/app';
import type { Actor } from '../src/auth/principal';
import { SYSTEM_ACTOR } from '../src/auth/principal';
import { addDays, dateIn, type Clock } from '../src/clock';
import { loadConfig, type Config } from '../src/config';
import { EmbeddedPostgres } from '../src/db/embedded';
import { createDb } from '../src/db/knex';
import { migrateLatest } from '../src/db/migrate';
import { inTransaction } from '../src/db/transaction';
import { toFund } from '../src/funds/funds.service';
import type { FundRow } from '../src/funds/funds.repo';
import { POOL_CASH } from '../src/ledger/chart';
import type { DayOutcome } from '../src/loans/daily-job.service';
import { insertMember } from '../src/members/members.repo';
import { formatProfile, StatementProfile, type StatementStats } from './statement-profile';

const LOANS = 100_000;
/** Loans per disbursement entry (the ledger's limit is 1,000 lines per entry). */
const LOANS_PER_ENTRY = 999;
/** Days of the catch-up run: BENCH_DAYS, default 30. */
const CATCH_UP_DAYS = Number(process.env.BENCH_DAYS ?? 30);
/** Loans 1 … RECENT_LOANS are in their period; the rest fell due before the first day. */
const RECENT_LOANS = (LOANS * 9) / 10;
/** The disbursement entry of a loan: entries never mix the two disbursement dates. */
const GROUP_OF =
  'CASE WHEN l.number <= :recent THEN (l.number - 1) / :per ELSE 1000000 + (l.number - :recent - 1) / :per END';
const TIME_ZONE = 'Asia/Shanghai';
const TARGET_DAY_SECONDS_MAX = 30;
const TARGET_OVER_BASELINE_MAX = 5;
/** Whatever happens, the benchmark ends. */
const WATCHDOG_MS = 30 * 60_000;

function benchConfig(databaseUrl: string, jwtSecret: string): Config {
  return loadConfig({
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    JWT_SECRET: jwtSecret,
    LOG_LEVEL: 'silent',
    HOLD_SWEEP_SECONDS: '0',
  });
}

function seconds(fromMs: number): number {
  return (performance.now() - fromMs) / 1000;
}

interface Seed {
  fundId: string;
  /** The first day the job runs; the seeded state is through the day before. */
  firstDay: string;
}

/**
 * A fund, one borrower, capital to lend, and LOANS disbursed bullet loans of 10,000.00 to
 * 109,900.00 at 4.35 % (ACT/360) over 90 days, written set-based. The state through the day before
 * the first day is what the job would have left.
 */
async function seed(db: Knex, config: Config, clock: Clock, firstDay: string): Promise<Seed> {
  const services = createServices(db, config, clock, config.jwt.current!);
  const user = await services.users.create({
    username: 'bench-admin',
    password: randomBytes(16).toString('hex'),
    role: 'admin',
  });
  const admin: Actor = { userId: user.id, username: user.username, role: user.role };
  const establishedOn = addDays(firstDay, -200);
  return inTransaction(db, async (trx) => {
    const fund = await services.funds.create(
      trx,
      { name: 'Jobs benchmark', currency: 'CNY', timezone: TIME_ZONE, establishedOn, policy: { rateAnnual: '0.0435' } },
      admin,
    );
    const member = await insertMember(trx, { fund_id: fund.id, name: 'Benchmark borrower', joined_on: establishedOn });
    const capital = await services.ledger.ensureSubAccount(trx, fund.id, '3001', { memberId: member.id });
    const [poolCash] = (await trx('accounts').where({ fund_id: fund.id, code: POOL_CASH }).pluck('id')) as string[];
    await services.ledger.postEntry(trx, {
      fundId: fund.id,
      kind: 'manual.opening_balance',
      effectiveDate: establishedOn,
      memo: 'Opening capital',
      lines: [
        { accountId: poolCash!, side: 'debit', amount: '100000000000.00' },
        { accountId: capital.id, side: 'credit', amount: '100000000000.00' },
      ],
      actor: admin,
    });
    // Every value below is ours (ids the database made, a date, constants): written as literals.
    const values: Record<string, string> = {
      fund: `'${fund.id}'::uuid`,
      member: `'${member.id}'::uuid`,
      pool: `'${poolCash!}'::uuid`,
      d0: `'${firstDay}'::date`,
      loans: String(LOANS),
      per: String(LOANS_PER_ENTRY),
      recent: String(RECENT_LOANS),
    };
    const sql = (text: string) =>
      trx.raw(text.replace(/:(fund|member|pool|d0|loans|per|recent)\b/g, (_, name: string) => values[name]!));
    await sql(
      `INSERT INTO loans (fund_id, number, borrower_member_id, lender, amount, purpose, term_days, repayment_method,
                          wanted_on, status, submitted_at, policy_version, disbursed_on, maturity_date, rate_annual,
                          day_count, penalty_uplift_pct, service_fee, schedule_version, classification, days_past_due)
       SELECT :fund, n, :member, 'pool', 10000 + (n % 1000) * 100, 'benchmark', 90, 'bullet', x.d, 'active', now(), 1,
              x.d, x.d + 90, 0.0435, 'ACT/360', 50, 0, 1, 'normal', 0
         FROM generate_series(1, :loans) n
        CROSS JOIN LATERAL (SELECT CASE WHEN n > :recent THEN :d0 - 100 ELSE :d0 - 60 END AS d) x`,
    );
    await sql(
      `INSERT INTO loan_instalments (fund_id, loan_id, schedule_version, number, period_start, due_on, days, principal, interest)
       SELECT fund_id, id, 1, 1, disbursed_on, maturity_date, 90, amount, loan_interest_fen(amount, rate_annual, 90, 360)
         FROM loans WHERE fund_id = :fund`,
    );
    await sql(
      `WITH inserted AS (
         INSERT INTO accounts (fund_id, code, name, type, book, normal_side, currency, loan_id, floor)
         SELECT fund_id, '1201:' || id, 'Loan principal receivable', 'asset', 'fund', 'debit', 'CNY', id, 0
           FROM loans WHERE fund_id = :fund
         RETURNING id, fund_id, loan_id
       )
       INSERT INTO account_balances (account_id, fund_id, normal_side, floor, debit_total, balance, version,
                                     effective_watermark)
       SELECT i.id, i.fund_id, 'debit', 0, l.amount, l.amount, 1, l.disbursed_on
         FROM inserted i JOIN loans l ON l.id = i.loan_id`,
    );
    // Disbursement entries: LOANS_PER_ENTRY loans each, oldest first, Dr 1201:<loan> / Cr pool cash.
    await sql(
      `CREATE TEMP TABLE bench_groups ON COMMIT DROP AS
       SELECT ${GROUP_OF} AS g, min(l.disbursed_on) AS d, sum(l.amount) AS total
         FROM loans l WHERE l.fund_id = :fund GROUP BY 1`,
    );
    await sql(
      `ALTER TABLE bench_groups ADD COLUMN entry_id uuid NOT NULL DEFAULT gen_random_uuid();
       INSERT INTO journal_entries (id, fund_id, kind, effective_date, memo)
       SELECT entry_id, :fund, 'loan.disbursement', d, 'benchmark disbursements' FROM bench_groups ORDER BY d, g`,
    );
    // Both sides in one statement: the ledger's trigger checks each entry balances per statement.
    await sql(
      `WITH opening AS (SELECT debit_total, version FROM account_balances WHERE account_id = :pool),
       running AS (
         SELECT g.*, sum(g.total) OVER (ORDER BY g.d, g.g) AS credited, row_number() OVER (ORDER BY g.d, g.g) AS k
           FROM bench_groups g
       ), lines AS (
         SELECT l.fund_id, g.entry_id, row_number() OVER (PARTITION BY g.g ORDER BY l.number) AS line_no,
                a.id AS account_id, 'debit' AS side, l.amount, l.disbursed_on AS effective_date,
                l.amount AS debit_total_after, 0 AS credit_total_after, l.amount AS balance_after,
                1::bigint AS version_after, l.disbursed_on AS watermark_after
           FROM loans l
           JOIN bench_groups g ON g.g = ${GROUP_OF}
           JOIN accounts a ON a.fund_id = l.fund_id AND a.code = '1201:' || l.id
          WHERE l.fund_id = :fund
         UNION ALL
         SELECT :fund, r.entry_id, :per + 1, :pool, 'credit', r.total, r.d, o.debit_total, r.credited,
                o.debit_total - r.credited, o.version + r.k, r.d
           FROM running r CROSS JOIN opening o
       ), inserted AS (
         INSERT INTO postings (fund_id, entry_id, line_no, account_id, side, amount, effective_date, debit_total_after,
                               credit_total_after, balance_after, version_after, watermark_after, backdated)
         SELECT fund_id, entry_id, line_no, account_id, side, amount, effective_date, debit_total_after,
                credit_total_after, balance_after, version_after, watermark_after, false
           FROM lines
         RETURNING side, amount
       )
       UPDATE account_balances b
          SET credit_total = b.credit_total + x.total, balance = b.balance - x.total, version = b.version + x.n,
              effective_watermark = greatest(b.effective_watermark, :d0 - 60)
         FROM (SELECT sum(amount) AS total, count(*) AS n FROM inserted WHERE side = 'credit') x
        WHERE b.account_id = :pool`,
    );
    // Where the job would stand after the day before: interest segments from disbursement, and for
    // the loans past due, penalty from the day after their due date.
    await sql(
      `INSERT INTO loan_accrual_state (fund_id, loan_id, accrued_through, interest_period_due_on, interest_segment_start,
                                       interest_segment_balance, interest_segment_accrued, interest_period_accrued,
                                       penalty_segment_start, penalty_segment_principal, penalty_segment_accrued,
                                       interest_accrued_day, penalty_accrued_day)
       SELECT l.fund_id, l.id, :d0 - 1,
              CASE WHEN l.maturity_date > :d0 - 1 THEN l.maturity_date END,
              CASE WHEN l.maturity_date > :d0 - 1 THEN l.disbursed_on END,
              CASE WHEN l.maturity_date > :d0 - 1 THEN l.amount END,
              CASE WHEN l.maturity_date > :d0 - 1
                   THEN loan_interest_fen(l.amount, l.rate_annual, :d0 - l.disbursed_on, 360) END,
              CASE WHEN l.maturity_date > :d0 - 1
                   THEN loan_interest_fen(l.amount, l.rate_annual, :d0 - l.disbursed_on, 360) END,
              CASE WHEN l.maturity_date < :d0 - 1 THEN l.maturity_date + 1 END,
              CASE WHEN l.maturity_date < :d0 - 1 THEN l.amount END,
              CASE WHEN l.maturity_date < :d0 - 1
                   THEN loan_penalty_fen(l.amount, l.rate_annual, 50, :d0 - 1 - l.maturity_date, 360) END,
              0, 0
         FROM loans l WHERE l.fund_id = :fund`,
    );
    await sql(`INSERT INTO job_runs (fund_id, run_date, ran_at, result) VALUES (:fund, :d0 - 1, now(), '{}')`);
    await trx.raw('ANALYZE');
    return { fundId: fund.id, firstDay };
  });
}

async function runDays(db: Knex, config: Config, clock: Clock, fundId: string, last: string): Promise<DayOutcome[]> {
  const services = createServices(db, config, clock, config.jwt.current!);
  const job = services.dailyJob;
  const fund = toFund((await db('funds').where({ id: fundId }).first()) as FundRow);
  const plan = await job.plan(db, fund, last);
  return job.runDays(db, fund, plan.days, SYSTEM_ACTOR, null);
}

/** Lines per entry in the baseline: any number works, this keeps line numbers within smallint. */
const BASELINE_LINES_PER_ENTRY = 30_000;

/**
 * One INSERT … SELECT of `rows` rows into a fresh copy of the postings table (its columns, CHECKs,
 * unique keys and indexes), spread over the fund's existing entries.
 */
async function baseline(db: Knex, fundId: string, rows: number): Promise<number> {
  await db.raw('DROP TABLE IF EXISTS bench_postings');
  await db.raw('CREATE TABLE bench_postings (LIKE postings INCLUDING ALL)');
  const account = (await db('accounts').where({ fund_id: fundId, code: '4001' }).first('id')) as { id: string };
  await db.raw('CHECKPOINT');
  const startedMs = performance.now();
  await db.raw(
    `WITH entries AS (SELECT array_agg(id ORDER BY seq) AS ids FROM journal_entries WHERE fund_id = ?)
     INSERT INTO bench_postings (fund_id, entry_id, line_no, account_id, side, amount, effective_date, debit_total_after,
                                 credit_total_after, balance_after, version_after, watermark_after, backdated)
     SELECT ?, e.ids[1 + n / ${BASELINE_LINES_PER_ENTRY}], 1 + n % ${BASELINE_LINES_PER_ENTRY}, ?, 'debit', 12.34,
            current_date, 12.34 * n, 0, 12.34 * n, n + 1, current_date, false
       FROM generate_series(0, ?::int - 1) n CROSS JOIN entries e`,
    [fundId, fundId, account.id, rows],
  );
  const seconds_ = seconds(startedMs);
  await db.raw('DROP TABLE bench_postings');
  return seconds_;
}

/**
 * Rows inserted, updated and deleted in the database so far, by PostgreSQL's own counters. A
 * backend reports its counters when it ends: callers close the pool that did the work first, and
 * this waits until two readings agree.
 */
async function rowsWritten(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const read = async () =>
      Number(
        (
          await client.query<{ n: string }>(
            'SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::text AS n FROM pg_stat_user_tables',
          )
        ).rows[0]!.n,
      );
    let last = await read();
    for (let attempt = 0; attempt < 50; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const next = await read();
      if (next === last) return next;
      last = next;
    }
    return last;
  } finally {
    await client.end();
  }
}

/** Runs the job through `last` on a pool of its own, closed afterwards so that its row counts are reported. */
async function measuredRun(url: string, config: Config, clock: Clock, fundId: string, last: string) {
  const before = await rowsWritten(url);
  const db = createDb({ connectionString: url, poolMax: 4, applicationName: 'huzhu-bench-jobs-run' });
  await db.raw('CHECKPOINT');
  const startedMs = performance.now();
  let days: DayOutcome[];
  try {
    days = await runDays(db, config, clock, fundId, last);
  } finally {
    await db.destroy();
  }
  const elapsed = seconds(startedMs);
  return { days, seconds: elapsed, rows: (await rowsWritten(url)) - before };
}

function dayLine(outcome: DayOutcome): string {
  const day = outcome.day;
  return (
    `${day.date}: interest ${day.loansAccrued} loans ${day.interestTotal}, penalty ${day.loansPenalized} loans ` +
    `${day.penaltyTotal}, newly overdue ${day.newlyOverdue}, defaulted ${day.newlyDefaulted}, ` +
    `classification changes ${day.classificationChanges}, ${day.entryIds.length} entries`
  );
}

async function runAll(server: EmbeddedPostgres, profile: StatementProfile | undefined): Promise<void> {
  const admin = new pg.Client({ connectionString: server.connectionString('postgres') });
  await admin.connect();
  const setting = async (name: string): Promise<string> =>
    (await admin.query<{ value: string }>('SELECT current_setting($1) AS value', [name])).rows[0]?.value ?? '?';
  const cpus = os.cpus();
  console.log(
    `node ${process.version}, ${cpus.length} CPU (${cpus[0]?.model.trim() ?? 'unknown'}), ${os.platform()} ${os.arch()}`,
  );
  console.log(
    `PostgreSQL ${await setting('server_version')} (embedded, 127.0.0.1), durable=true: ` +
      `fsync=${await setting('fsync')}, synchronous_commit=${await setting('synchronous_commit')}`,
  );
  console.log(
    `load average at start ${os
      .loadavg()
      .map((load) => load.toFixed(2))
      .join(' ')}`,
  );
  await admin.query('CREATE DATABASE bench_jobs');
  await admin.end();
  const url = server.connectionString('bench_jobs');
  const config = benchConfig(url, randomBytes(32).toString('hex'));
  // The clock stands on the last day of the catch-up, so every day run is in the past.
  const today = dateIn(TIME_ZONE, new Date());
  const firstDay = addDays(today, -CATCH_UP_DAYS);
  const clock: Clock = { now: () => new Date() };
  const db = createDb({ connectionString: url, poolMax: 4, applicationName: 'huzhu-bench-jobs' });
  try {
    await migrateLatest(db);
    const seedStartedMs = performance.now();
    const { fundId } = await seed(db, config, clock, firstDay);
    console.log(
      `seeded in ${seconds(seedStartedMs).toFixed(1)} s: ${LOANS} active pool loans (90 % in their period, 10 % ` +
        `unpaid since 10 days before ${firstDay}), their accounts, balances, instalments and disbursement entries\n`,
    );

    const stats: StatementStats = new Map();
    profile?.resume(stats);
    const one = await measuredRun(url, config, clock, fundId, firstDay);
    const first = one.days[0]!;
    profile?.pause();
    console.log(`1  one day       ${one.seconds.toFixed(2)} s   ${one.rows} rows written   ${dayLine(first)}`);
    if (profile) for (const line of formatProfile(stats, 1, one.seconds * 1000)) console.log(line);
    const postingsOfDay = Number(
      ((await db('postings').whereIn('entry_id', first.day.entryIds).count({ n: '*' }))[0] as { n: string }).n,
    );

    const catchUp = await measuredRun(url, config, clock, fundId, addDays(firstDay, CATCH_UP_DAYS));
    const perDay = catchUp.seconds / catchUp.days.length;
    const rowsPerDay = Math.round(catchUp.rows / catchUp.days.length);
    console.log(
      `2  ${CATCH_UP_DAYS}-day catch-up ${catchUp.seconds.toFixed(2)} s   ` +
        `(${perDay.toFixed(2)} s and ${rowsPerDay} rows written per day, ${catchUp.days.length} days)`,
    );
    console.log(`   first: ${dayLine(catchUp.days[0]!)}`);
    console.log(`   last:  ${dayLine(catchUp.days.at(-1)!)}`);

    // The baseline writes as many rows as the job did, by PostgreSQL's counters (postings, entries,
    // balances, accrual states, loans, history, accounts: everything); the postings alone are shown too.
    const baseOne = await baseline(db, fundId, one.rows);
    const baseDay = await baseline(db, fundId, rowsPerDay);
    const basePostings = await baseline(db, fundId, postingsOfDay);
    console.log(
      `0  baseline      ${baseOne.toFixed(2)} s   one INSERT … SELECT of ${one.rows} rows (the first day's) into a copy of postings`,
    );
    console.log(`   baseline      ${baseDay.toFixed(2)} s   the same for ${rowsPerDay} rows (a catch-up day's)`);
    console.log(
      `   baseline      ${basePostings.toFixed(2)} s   the same for ${postingsOfDay} rows (the first day's postings alone)\n`,
    );

    const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
    console.log(
      `one day ${one.seconds.toFixed(2)} s (target < ${TARGET_DAY_SECONDS_MAX} s: ${verdict(one.seconds < TARGET_DAY_SECONDS_MAX)}); ` +
        `one day / baseline ${(one.seconds / baseOne).toFixed(1)} × (target ≤ ${TARGET_OVER_BASELINE_MAX} ×: ` +
        `${verdict(one.seconds / baseOne <= TARGET_OVER_BASELINE_MAX)}); catch-up day / baseline ` +
        `${(perDay / baseDay).toFixed(1)} × (${verdict(perDay / baseDay <= TARGET_OVER_BASELINE_MAX)}); ` +
        `one day / postings-only baseline ${(one.seconds / basePostings).toFixed(1)} ×`,
    );

    const services = createServices(db, config, clock, config.jwt.current!);
    const trial = await services.ledger.trialBalance(db, fundId);
    const verification = await services.ledger.verify(db, fundId);
    console.log(
      `check: ${trial.balanced && verification.ok ? 'ok' : 'FAILED'}: trial balance ${trial.balanced ? 'balanced' : 'OFF'}, ${verification.findingsTotal} ledger findings`,
    );
  } finally {
    await db.destroy();
  }
}

async function main(): Promise<void> {
  const startedMs = performance.now();
  const profile = process.env.BENCH_PROFILE === '1' ? new StatementProfile() : undefined;
  profile?.install();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'huzhu-bench-jobs-'));
  // When we are root the server runs as `postgres`, which must be able to enter the directory.
  fs.chmodSync(dataDir, 0o755);
  const watchdog = setTimeout(() => {
    console.error(`the benchmark did not finish within ${WATCHDOG_MS / 1000} s: giving up`);
    fs.rmSync(dataDir, { recursive: true, force: true });
    process.exit(1);
  }, WATCHDOG_MS);
  watchdog.unref();
  let server: EmbeddedPostgres | undefined;
  try {
    server = await EmbeddedPostgres.start({ dataDir, durable: true });
    await runAll(server, profile);
  } finally {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(`total run time ${seconds(startedMs).toFixed(1)} s`);
}

main().catch((error: unknown) => {
  console.error(
    `the jobs benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  process.exitCode = 1;
});
