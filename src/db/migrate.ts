import type { Knex } from 'knex';
import { MIGRATIONS } from '../../migrations';

type Entry = (typeof MIGRATIONS)[number];

export const migrationSource: Knex.MigrationSource<Entry> = {
  getMigrations: async () => [...MIGRATIONS],
  getMigrationName: (migration) => migration.name,
  getMigration: async (migration) => migration.module,
};

export const MIGRATIONS_TABLE = 'knex_migrations';

export async function migrateLatest(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource, tableName: MIGRATIONS_TABLE })) as [number, string[]];
  return applied;
}

export async function rollbackLast(db: Knex): Promise<string[]> {
  const [, rolledBack] = (await db.migrate.rollback({ migrationSource, tableName: MIGRATIONS_TABLE })) as [
    number,
    string[],
  ];
  return rolledBack;
}
