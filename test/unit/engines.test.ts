import fs from 'node:fs';
import path from 'node:path';

/**
 * package.json says which Node the service runs on; every package the lockfile installs must accept
 * it, or `npm ci` warns (EBADENGINE) about a dependency that may not run there. Checked for the
 * oldest Node that package.json allows.
 */

const root = path.resolve(__dirname, '../..');
const read = (file: string): unknown => JSON.parse(fs.readFileSync(path.join(root, file), 'utf8'));

type Version = [number, number, number];

function parseVersion(text: string): { version: Version; parts: number } {
  const numbers = text
    .replace(/^v/, '')
    .split('.')
    .filter((part) => part !== '' && part !== 'x' && part !== '*');
  if (numbers.length === 0 || numbers.length > 3 || numbers.some((part) => !/^\d+$/.test(part))) {
    throw new Error(`not a version: ${text}`);
  }
  const [major = 0, minor = 0, patch = 0] = numbers.map(Number);
  return { version: [major, minor, patch], parts: numbers.length };
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/**
 * The comparators the lockfile's `engines.node` ranges use: `>=V`, `^V` and a bare (partial)
 * version, joined by spaces (and) and `||` (or). Anything else fails the test rather than pass
 * unchecked.
 */
function satisfies(version: Version, range: string): boolean {
  return range.split('||').some((alternative) =>
    alternative
      .trim()
      .replace(/>=\s+/g, '>=')
      .split(/\s+/)
      .every((comparator) => {
        if (comparator.startsWith('>=')) return compare(version, parseVersion(comparator.slice(2)).version) >= 0;
        if (comparator.startsWith('^')) {
          const floor = parseVersion(comparator.slice(1)).version;
          if (floor[0] === 0) throw new Error(`unsupported range ${range}`);
          return version[0] === floor[0] && compare(version, floor) >= 0;
        }
        if (/^[<>=~]/.test(comparator)) throw new Error(`unsupported range ${range}`);
        const { version: prefix, parts } = parseVersion(comparator);
        return prefix.slice(0, parts).every((part, index) => version[index] === part);
      }),
  );
}

test('when the lockfile is installed on the oldest Node that package.json supports, then every package accepts that Node', () => {
  const manifest = read('package.json') as { engines: { node: string } };
  const oldest = /^>=\s*(\d+(?:\.\d+){0,2})$/.exec(manifest.engines.node);
  expect(oldest).not.toBeNull();
  const version = parseVersion(oldest![1]!).version;
  const lock = read('package-lock.json') as {
    packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
  };
  const refusing = Object.entries(lock.packages)
    .filter(([name, entry]) => name !== '' && !Array.isArray(entry.engines) && entry.engines?.node !== undefined)
    .filter(([, entry]) => !satisfies(version, (entry.engines as { node: string }).node))
    .map(([name, entry]) => `${name}@${entry.version} wants node ${(entry.engines as { node: string }).node}`);
  expect(refusing).toEqual([]);
});

test('when a range is read, then its comparators mean what npm means by them', () => {
  expect(satisfies([20, 19, 0], '>=20.19')).toBe(true);
  expect(satisfies([20, 19, 0], '>=22.14.0')).toBe(false);
  expect(satisfies([20, 19, 0], '^18.18.0 || ^20.9.0 || >=21.1.0')).toBe(true);
  expect(satisfies([20, 19, 0], '^20.20.0 || >=22')).toBe(false);
  expect(satisfies([20, 19, 0], '18 || 20 || >=22')).toBe(true);
  expect(satisfies([20, 19, 0], '6.* || 8.* || >= 10.*')).toBe(true);
  expect(satisfies([20, 19, 0], '>=16 || 14 >=14.17')).toBe(true);
  expect(satisfies([14, 16, 0], '>=16 || 14 >=14.17')).toBe(false);
  expect(satisfies([20, 19, 0], '>= v0.10.32')).toBe(true);
  expect(() => satisfies([20, 19, 0], '<21')).toThrow('unsupported range');
});
