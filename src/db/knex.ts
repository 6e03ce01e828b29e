import knex, { type Knex } from 'knex';
import pg from 'pg';

export type Db = Knex | Knex.Transaction;
export type Trx = Knex.Transaction;

// Amounts stay strings end to end (NUMERIC → string → Decimal), dates stay `YYYY-MM-DD` strings so
// that no time zone can shift a value date, and BIGINT stays a string rather than losing precision.
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (value) => value);
pg.types.setTypeParser(pg.types.builtins.DATE, (value) => value);
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => value);

export interface DbOptions {
  connectionString: string;
  poolMax: number;
  applicationName?: string;
}

export function createDb(options: DbOptions): Knex {
  return knex({
    client: 'pg',
    connection: {
      connectionString: options.connectionString,
      application_name: options.applicationName ?? 'huzhu',
    },
    pool: {
      min: 0,
      max: options.poolMax,
      // Every session works in UTC; value dates are plain DATEs and never converted.
      afterCreate: (connection: pg.Client, done: (error: Error | null, connection: pg.Client) => void) => {
        connection.query("SET TIME ZONE 'UTC'; SET statement_timeout = '30s'", (error) =>
          done(error ?? null, connection),
        );
      },
    },
    acquireConnectionTimeout: 10_000,
  });
}
