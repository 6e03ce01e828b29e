import type { Knex } from 'knex';
import { migrationSource, MIGRATIONS_TABLE } from './src/db/migrate';

/**
 * knex configuration for an external database (DATABASE_URL). The service itself migrates on start
 * and `npm run db:migrate` does the same through src/cli.ts, which also handles the embedded server.
 */
const config: Knex.Config = {
  client: 'pg',
  connection: process.env.DATABASE_URL,
  pool: { min: 0, max: 10 },
  migrations: { migrationSource, tableName: MIGRATIONS_TABLE },
};

export default config;
