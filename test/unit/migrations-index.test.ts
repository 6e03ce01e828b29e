import fs from 'node:fs';
import path from 'node:path';
import { MIGRATIONS } from '../../migrations';

test('when a migration file exists, then the ordered list runs it, in file-name order', () => {
  const files = fs
    .readdirSync(path.resolve(__dirname, '../../migrations'))
    .filter((file) => /^\d{14}_.+\.ts$/.test(file))
    .map((file) => file.replace(/\.ts$/, ''))
    .sort();
  expect(MIGRATIONS.map((migration) => migration.name)).toEqual(files);
  for (const migration of MIGRATIONS) {
    expect(typeof migration.module.up).toBe('function');
    expect(typeof migration.module.down).toBe('function');
  }
});
