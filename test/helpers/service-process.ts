import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';

/**
 * The service as `npm start` runs it (`src/server.ts`, compiled on the fly by tsx's loader), in a
 * child process of the test. Node itself is the child, not the tsx command, which would run the
 * service in a grandchild: a SIGKILL meant for the service would leave that one running.
 */

const root = path.resolve(__dirname, '../..');

/**
 * How long a first start may take: initdb, every migration and the demo seed. On a 2-core machine
 * busy with other test workers that took more than a minute (seen at a load average of 13).
 */
export const COLD_START_MS = 150_000;

export interface ServiceProcess {
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output: () => string;
  /** Only what it wrote to stderr. */
  errors: () => string;
  exited: Promise<number | null>;
}

export function startService(env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', HOLD_SWEEP_SECONDS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let errors = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    errors += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, errors: () => errors, exited };
}

/** Until the service's output matches `pattern`; fails if it exits first or after `timeoutMs`. */
export async function waitForOutput(
  service: ServiceProcess,
  pattern: RegExp,
  timeoutMs = 60_000,
): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const match = pattern.exec(service.output());
    if (match) return match;
    if (service.child.exitCode !== null) throw new Error(`the service exited early:\n${service.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${pattern}:\n${service.output()}`);
}

/** Until GET `url` answers `status`; fails after `timeoutMs` with the last answer. */
export async function waitForStatus(url: string, status: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.status === status) return;
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms; last: ${last}`);
}

/** The embedded server the service runs in `dataDir`: its postmaster's pid and its port. */
export function embeddedServer(dataDir: string): { pid: number; port: number } {
  const [pidLine, , , portLine] = fs.readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n');
  return { pid: Number(pidLine), port: Number(portLine) };
}

/**
 * A session on the service's embedded database, from outside the service. Its 'error' event is
 * handled: the tests using it end the server under it.
 */
export async function embeddedSession(dataDir: string): Promise<pg.Client> {
  const password = fs.readFileSync(path.join(dataDir, 'postgres.password'), 'utf8').trim();
  const { port } = embeddedServer(dataDir);
  const client = new pg.Client({ connectionString: `postgres://huzhu:${password}@127.0.0.1:${port}/huzhu` });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Logs in as the demo administrator: the bearer header. */
export async function demoAdmin(base: string): Promise<{ authorization: string }> {
  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: 'demo-admin-pass' }),
  });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${await login.text()}`);
  const { token } = (await login.json()) as { token: string };
  return { authorization: `Bearer ${token}` };
}
