import knex, { type Knex } from 'knex';
import pg from 'pg';
import { assert } from '../assert';
import { PipelinedClient, runOnTransaction, type StatementOptions } from './pipelined';

export type Db = Knex | Knex.Transaction;
export type Trx = Knex.Transaction;

// Amounts stay strings end to end (NUMERIC → string → Decimal), dates stay `YYYY-MM-DD` strings so
// that no time zone can shift a value date, and BIGINT stays a string rather than losing precision.
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (value) => value);
pg.types.setTypeParser(pg.types.builtins.DATE, (value) => value);
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => value);

/** `?` placeholders to `$1…$n`, once per statement name. Named SQL never contains a literal `?`. */
const positionalText = new Map<string, string>();

function positional(name: string, sql: string, bindingCount: number): string {
  let text = positionalText.get(name);
  if (text === undefined) {
    let index = 0;
    text = sql.replace(/\?/g, () => `$${(index += 1)}`);
    assert(index === bindingCount, `statement ${name} has ${index} placeholders for ${bindingCount} values`);
    positionalText.set(name, text);
  }
  return text;
}

/** A named statement to run just before another, in the same round trip (see `prepared`). */
export interface Leading {
  name: string;
  sql: string;
  bindings: readonly unknown[];
}

export interface PreparedOptions {
  /** The transaction's last statement: COMMIT is sent with it and the transaction ends. */
  commit?: boolean;
  /** Named statements run just before this one, in the same round trip; their rows are dropped. */
  leading?: readonly Leading[];
}

/**
 * Runs constant SQL as a named server-side prepared statement, parsed and planned once per
 * connection instead of on every call: for the statements every request runs. The name must be
 * unique to the text. Inside a transaction it goes straight to the transaction's connection,
 * skipping knex's per-query work, which costs more than the statement on a hot path; it carries
 * the transaction's BEGIN if no statement has run yet, the statements of `options.leading` before
 * it, and its COMMIT when `options.commit` says it is the last (ADR 0020). (Behind PgBouncer
 * in transaction mode this needs version 1.21 or later.)
 */
export async function prepared<Result>(
  db: Db,
  name: string,
  sql: string,
  bindings: readonly unknown[],
  options: PreparedOptions = {},
): Promise<Result> {
  const leading = options.leading ?? [];
  for (const statement of [{ name, bindings }, ...leading]) {
    assert(!statement.bindings.includes(undefined), `statement ${statement.name} got an undefined value`);
  }
  if (!db.isTransaction) {
    assert(!options.commit, `statement ${name} commits, outside a transaction`);
    assert(leading.length === 0, `statement ${name} has leading statements, outside a transaction`);
    return db.raw(sql, bindings as Knex.RawBinding[]).options({ name }) as unknown as Promise<Result>;
  }
  const trx = db as Knex.Transaction;
  assert(!trx.isCompleted(), `statement ${name} after its transaction ended`);
  // The client of a knex transaction hands out the one connection the transaction runs on.
  const connection = await (trx.client as unknown as { acquireConnection(): Promise<pg.Client> }).acquireConnection();
  const query = { name, text: positional(name, sql, bindings.length), values: [...bindings] };
  const statementOptions: StatementOptions = {
    commit: options.commit,
    leading: leading.map((statement) => ({
      name: statement.name,
      text: positional(statement.name, statement.sql, statement.bindings.length),
      values: statement.bindings,
    })),
  };
  return (await runOnTransaction(connection, trx.client, query, statementOptions)) as Result;
}

export interface DbOptions {
  connectionString: string;
  poolMax: number;
  applicationName?: string;
  /** Where knex's own warnings go (a connection found dead, a failed connect); the console if absent. */
  onLog?: (level: 'warn' | 'error', message: string) => void;
}

export function createDb(options: DbOptions): Knex {
  return knex({
    client: PipelinedClient as unknown as typeof Knex.Client,
    connection: {
      connectionString: options.connectionString,
      application_name: options.applicationName ?? 'huzhu',
    },
    pool: {
      min: 0,
      max: options.poolMax,
      // Every session works in UTC; value dates are plain DATEs and never converted. Its planner
      // prices a page read by index as what it is here, a page in memory (random_page_cost 1.1,
      // PostgreSQL's default 4 is for spinning disks): at 4, a plan kept for a prepared statement
      // would rather read a thousand balance rows than look up ten (ADR 0022).
      afterCreate: (connection: pg.Client, done: (error: Error | null, connection: pg.Client) => void) => {
        connection.query("SET TIME ZONE 'UTC'; SET statement_timeout = '30s'; SET random_page_cost = 1.1", (error) =>
          done(error ?? null, connection),
        );
      },
    },
    acquireConnectionTimeout: 10_000,
    ...(options.onLog === undefined ? {} : { log: knexLog(options.onLog) }),
  });
}

function knexLog(onLog: NonNullable<DbOptions['onLog']>): Knex.Config['log'] {
  const text = (message: unknown): string => (message instanceof Error ? message.message : String(message));
  return {
    warn: (message: unknown) => onLog('warn', text(message)),
    error: (message: unknown) => onLog('error', text(message)),
    deprecate: (method: string, alternative: string) => onLog('warn', `${method} is deprecated; use ${alternative}`),
  };
}
