import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startService } from '../../helpers/service-process';

/**
 * A setting that parses but cannot work stops start-up within seconds, with one line on stderr that
 * names the variable and says what to do: no stack, no hang.
 */

/** Generous, as the machine is shared: the point is that start-up does not hang. */
const STOP_WITHIN_MS = 20_000;
const SECRET = 'a-secret-that-is-at-least-32-bytes-long!';

interface Outcome {
  code: number | null;
  stderr: string;
  elapsedMs: number;
}

async function startUpFails(env: Record<string, string>): Promise<Outcome> {
  const started = Date.now();
  const service = startService(env);
  const timedOut = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), STOP_WITHIN_MS).unref());
  try {
    const code = await Promise.race([service.exited, timedOut]);
    if (code === 'timeout') throw new Error(`start-up did not stop within ${STOP_WITHIN_MS} ms:\n${service.output()}`);
    return { code, stderr: service.errors(), elapsedMs: Date.now() - started };
  } finally {
    if (service.child.exitCode === null) service.child.kill('SIGKILL');
  }
}

function expectOneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/^\s+at /m);
  return lines[0]!;
}

/** A port on 127.0.0.1 that nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

let scratch: string;
beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'huzhu-start-'));
});
afterAll(() => {
  fs.rmSync(scratch, { recursive: true, force: true });
});

test('when DATABASE_URL points where no PostgreSQL answers, then start-up stops with one line naming the variable and the fix', async () => {
  const port = await closedPort();
  const outcome = await startUpFails({
    DATABASE_URL: `postgres://huzhu:not-to-be-printed@127.0.0.1:${port}/huzhu`,
    JWT_SECRET: SECRET,
  });
  expect(outcome.code).toBe(2);
  const line = expectOneLine(outcome.stderr);
  expect(line).toBe(
    `DATABASE_URL: cannot connect to 127.0.0.1:${port} (ECONNREFUSED); check that PostgreSQL is running and the URL is right`,
  );
  expect(outcome.stderr).not.toContain('not-to-be-printed');
  expect(outcome.elapsedMs).toBeLessThan(STOP_WITHIN_MS);
});

test('when HUZHU_DATA_DIR is a file, then start-up stops with one line naming the variable and the fix', async () => {
  const file = path.join(scratch, 'a-file');
  fs.writeFileSync(file, 'not a directory\n');
  const outcome = await startUpFails({ HUZHU_DATA_DIR: file });
  expect(outcome.code).toBe(2);
  expect(expectOneLine(outcome.stderr)).toBe(
    `HUZHU_DATA_DIR: ${file} is a file, not a directory; point HUZHU_DATA_DIR at a directory (it is created if missing)`,
  );
  expect(fs.readFileSync(file, 'utf8')).toBe('not a directory\n');
});

test('when HUZHU_DATA_DIR cannot be created (/proc/nope), then start-up stops at once with one line naming the variable and the fix', async () => {
  const outcome = await startUpFails({ HUZHU_DATA_DIR: '/proc/nope' });
  expect(outcome.code).toBe(2);
  expect(expectOneLine(outcome.stderr)).toBe(
    'HUZHU_DATA_DIR: cannot create /proc/nope (ENOENT); point HUZHU_DATA_DIR at a directory you can write to',
  );
  expect(outcome.elapsedMs).toBeLessThan(STOP_WITHIN_MS);
});
