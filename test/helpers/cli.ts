import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { TEST_JWT_KEY, type Harness } from './harness';

const root = path.resolve(__dirname, '../..');

/**
 * `npm run cli -- <args>` against the harness's database, as an operator runs it: its exit code
 * and what it printed on stdout. `env` adds to (or overrides) the environment it is given.
 */
export async function runCli(
  h: Harness,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await promisify(execFile)(path.join(root, 'node_modules/.bin/tsx'), ['src/cli.ts', ...args], {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: h.databaseUrl,
        JWT_SECRET: TEST_JWT_KEY.secret,
        LOG_LEVEL: 'silent',
        ...env,
      },
    });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '' };
  }
}
