import fs from 'node:fs';
import pg from 'pg';

/**
 * An opt-in profiler for the ledger benchmark (BENCH_PROFILE=1): it wraps pg.Client#query in this
 * process only, so every statement sent by the raw pool, by knex and by the app is counted and
 * timed from send to reply, BEGIN and COMMIT included (also when they travel with a statement).
 * The time of a statement therefore includes waiting for row locks held by other transactions,
 * which is the point: it shows where an entry queues. src/ is not touched.
 */

interface StatementTimes {
  count: number;
  totalMs: number;
  maxMs: number;
}

/** Times per statement label; one map per path, filled over that path's slices. */
export type StatementStats = Map<string, StatementTimes>;

/** Statements are grouped by what they do, recognized by a fragment of their SQL. */
const LABELS: readonly [RegExp, string][] = [
  [/^BEGIN/i, 'BEGIN'],
  [/^COMMIT/i, 'COMMIT (deferred checks, audit link, WAL flush)'],
  [/^ROLLBACK/i, 'ROLLBACK'],
  [/FROM users u WHERE u\.id/i, 'auth: user (and fund), cache misses only'],
  [/INSERT INTO audit_log/i, 'audit: row (with the idempotent response)'],
  [/INSERT INTO idempotency_keys/i, 'idempotency: explicit claim'],
  [/^WITH entry AS/i, 'ledger: post entry (header, locks, postings, balances)'],
  [/^INSERT INTO journal_entries/i, 'raw: insert header'],
  [/^WITH lines AS/i, 'raw: lock + update balances + postings'],
];

function labelOf(text: string): string {
  const trimmed = text.trim();
  for (const [pattern, label] of LABELS) if (pattern.test(trimmed)) return label;
  return trimmed.replace(/\s+/g, ' ').slice(0, 60);
}

/** " + BEGIN, COMMIT" and the like, for a statement sent with BEGIN, COMMIT or leading statements. */
function bracketOf(first: unknown): string {
  const bracket = typeof first === 'object' && first !== null && 'bracket' in first ? String(first.bracket) : '';
  return bracket === '' ? '' : ` + ${bracket}`;
}

function sqlOf(first: unknown): string {
  if (typeof first === 'string') return first;
  if (typeof first === 'object' && first !== null && 'text' in first) return String((first as { text: unknown }).text);
  return '?';
}

export class StatementProfile {
  private stats: StatementStats | undefined;

  /** Wraps pg.Client#query once for the whole process; recording starts with resume(). */
  install(): void {
    type Query = (this: pg.Client, ...args: unknown[]) => unknown;
    const prototype = pg.Client.prototype as unknown as { query: Query };
    const original = prototype.query;
    const record = (label: string, ms: number): void => this.record(label, ms);
    const isOn = (): boolean => this.stats !== undefined;
    prototype.query = function (this: pg.Client, ...args: unknown[]): unknown {
      if (!isOn()) return original.apply(this, args);
      const label = labelOf(sqlOf(args[0])) + bracketOf(args[0]);
      const started = performance.now();
      const submittable = args[0] as { submit?: unknown; callback?: (...callbackArgs: unknown[]) => unknown };
      if (typeof submittable.submit === 'function' && typeof submittable.callback === 'function') {
        // A query object with its own callback (a statement sent with BEGIN or COMMIT, ADR 0020).
        const callback = submittable.callback;
        submittable.callback = (...callbackArgs: unknown[]): unknown => {
          record(label, performance.now() - started);
          return callback(...callbackArgs);
        };
        return original.apply(this, args);
      }
      const last = args[args.length - 1];
      if (typeof last === 'function') {
        const callback = last as (...callbackArgs: unknown[]) => unknown;
        args[args.length - 1] = (...callbackArgs: unknown[]): unknown => {
          record(label, performance.now() - started);
          return callback(...callbackArgs);
        };
        return original.apply(this, args);
      }
      const result = original.apply(this, args);
      if (result instanceof Promise) {
        return result.finally(() => record(label, performance.now() - started));
      }
      return result;
    };
  }

  /** Records into `stats` until pause(). */
  resume(stats: StatementStats): void {
    this.stats = stats;
  }

  pause(): void {
    this.stats = undefined;
  }

  private record(label: string, ms: number): void {
    if (this.stats === undefined) return;
    const times = this.stats.get(label) ?? { count: 0, totalMs: 0, maxMs: 0 };
    times.count += 1;
    times.totalMs += ms;
    times.maxMs = Math.max(times.maxMs, ms);
    this.stats.set(label, times);
  }
}

/** Per committed entry: how many times each statement ran and how long it took on average. */
export function formatProfile(stats: StatementStats, entries: number, latencyMsMean: number): string[] {
  if (entries === 0) return ['    (no entries committed while profiling)'];
  const rows = [...stats].sort((x, y) => y[1].totalMs - x[1].totalMs);
  const perEntryMs = rows.reduce((sum, [, s]) => sum + s.totalMs, 0) / entries;
  const perEntryCalls = rows.reduce((sum, [, s]) => sum + s.count, 0) / entries;
  const lines = rows.map(
    ([label, s]) =>
      `    ${label.padEnd(42)} ${(s.count / entries).toFixed(2).padStart(5)}/entry  ` +
      `mean ${(s.totalMs / s.count).toFixed(2).padStart(7)} ms  max ${s.maxMs.toFixed(1).padStart(7)} ms  ` +
      `${(s.totalMs / entries).toFixed(2).padStart(7)} ms/entry`,
  );
  lines.push(
    `    ${'all statements'.padEnd(42)} ${perEntryCalls.toFixed(2).padStart(5)}/entry  ` +
      `${perEntryMs.toFixed(2)} ms/entry waiting on the database, of ${latencyMsMean.toFixed(2)} ms mean latency ` +
      `(${(latencyMsMean - perEntryMs).toFixed(2)} ms elsewhere: pool, Node, HTTP)`,
  );
  return lines;
}

/** CPU time used so far by this process and by the PostgreSQL server (postmaster and its backends). */
export interface CpuTimes {
  nodeMs: number;
  /** Undefined where /proc cannot be read. */
  postgresMs: number | undefined;
}

const CLOCK_TICKS_PER_SECOND = 100;

/**
 * Reads /proc: the postmaster's own and reaped children's time plus each live child's. Backends of
 * the benchmark's pools live for the whole run, so differences between two readings are what the
 * server spent in between (10 ms resolution per process, plenty over a slice of seconds).
 */
export function cpuTimes(postmasterPid: number | undefined): CpuTimes {
  const usage = process.cpuUsage();
  return { nodeMs: (usage.user + usage.system) / 1000, postgresMs: postgresCpuMs(postmasterPid) };
}

function postgresCpuMs(postmasterPid: number | undefined): number | undefined {
  if (postmasterPid === undefined) return undefined;
  let ticks = 0;
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  for (const pid of entries) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // the process ended while we looked
    }
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map((index) => Number(fields[index]));
    if (Number(pid) === postmasterPid) ticks += utime! + stime! + cutime! + cstime!;
    else if (ppid === postmasterPid) ticks += utime! + stime!;
  }
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}
