import fs from 'node:fs';
import path from 'node:path';
import { ERROR_TABLES, PROBLEM_CODES } from '../../src/errors.registry';

const SRC = path.resolve(__dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/**
 * Every error table declared in src/, by file and constant name: a `const` that `satisfies
 * ErrorTable<…>` or is annotated `: ErrorTable<…>`. The definition of the type itself (src/errors.ts)
 * and imports are not tables.
 */
function declaredTables(): { file: string; name: string }[] {
  const found: { file: string; name: string }[] = [];
  for (const file of sourceFiles(SRC)) {
    const relative = path.relative(SRC, file);
    if (relative === 'errors.ts') continue;
    const text = fs.readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(satisfies|:)\s*ErrorTable</g)) {
      // The table is the last `const` declared before the `satisfies` (or the annotated one).
      const before = [...text.slice(0, match.index).matchAll(/\bconst\s+(\w+)\b/g)].pop();
      if (before === undefined) throw new Error(`${relative}: an ErrorTable without a const before it`);
      found.push({ file: relative, name: before[1]! });
    }
  }
  return found;
}

test('when src/ declares an error table, then the registry holds that very table', async () => {
  const tables = declaredTables();
  expect(tables.length).toBeGreaterThanOrEqual(19);
  const registered = new Set<object>(ERROR_TABLES);
  const missing: string[] = [];
  for (const { file, name } of tables) {
    const module = (await import(path.join(SRC, file))) as Record<string, unknown>;
    const table = module[name];
    if (typeof table !== 'object' || table === null || !registered.has(table)) missing.push(`${file}: ${name}`);
  }
  expect(missing).toEqual([]);
  expect(ERROR_TABLES.length).toBe(tables.length);
});

test('when the problem codes are listed, then they are every key of every table, each once, sorted', () => {
  const keys = new Set(ERROR_TABLES.flatMap((table) => Object.keys(table)));
  expect([...PROBLEM_CODES]).toEqual([...keys].sort());
  expect(new Set(PROBLEM_CODES).size).toBe(PROBLEM_CODES.length);
  expect(PROBLEM_CODES).toEqual(expect.arrayContaining(['validation_failed', 'forbidden', 'loan_ineligible']));
  for (const code of PROBLEM_CODES) expect(code).toMatch(/^[a-z][a-z0-9_]*$/);
});

test('when a code is in several tables, then it is one code of the enum', () => {
  const owners = ERROR_TABLES.filter((table) => 'loan_not_found' in table);
  expect(owners.length).toBeGreaterThan(1);
  expect(PROBLEM_CODES.filter((code) => code === 'loan_not_found')).toEqual(['loan_not_found']);
});
