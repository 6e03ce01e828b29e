import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { dateIn } from '../../../src/clock';
import {
  COLD_START_MS,
  demoAdmin,
  embeddedServer,
  embeddedSession,
  isAlive,
  startService,
  waitForOutput,
  waitForStatus,
  type ServiceProcess,
} from '../../helpers/service-process';
import { waitForLockWaiters } from '../../helpers/waits';

/**
 * The embedded PostgreSQL dies under the service (kill -9 of its postmaster). The service restarts
 * it on the same data directory and port, PostgreSQL recovers from its WAL, and the service is
 * ready again without being restarted; when the server cannot be brought back, /healthz says so,
 * for a supervisor to restart the service.
 */

let dataDir: string;
beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'huzhu-crash-'));
  // The server may run as the postgres user (when we are root): let it through the directory.
  fs.chmodSync(dataDir, 0o755);
});
afterEach(() => {
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function stopService(service: ServiceProcess): Promise<number | null> {
  if (service.child.exitCode !== null) return service.child.exitCode;
  service.child.kill('SIGTERM');
  return service.exited;
}

function bankCharge(amount: string): string {
  return JSON.stringify({
    effectiveDate: dateIn('Asia/Shanghai', new Date()),
    memo: 'bank charge',
    kind: 'manual.bank_charge',
    lines: [
      { accountCode: '5002', side: 'debit', amount },
      { accountCode: '1001', side: 'credit', amount },
    ],
  });
}

/** Occupies 127.0.0.1:`port` as soon as the dead server has let go of it. */
async function occupy(port: number): Promise<net.Server> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const server = net.createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (bound) return server;
    if (Date.now() > deadline) throw new Error(`port ${port} stayed taken`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test(
  'when the embedded PostgreSQL is killed, then the request in flight gets 503, the service restarts it on the same data and port, becomes ready again, and the retry posts once',
  async () => {
    const service = startService({ HUZHU_DATA_DIR: dataDir });
    try {
      const [, base] = await waitForOutput(service, /Huzhu is running at (http:\/\/\S+)/, COLD_START_MS);
      const auth = await demoAdmin(base!);
      const funds = (await (await fetch(`${base}/api/v1/funds`, { headers: auth })).json()) as {
        items: { id: string }[];
      };
      const fundId = funds.items[0]!.id;
      const before = embeddedServer(dataDir);

      // An entry waits in the database, on pool cash's balance row held from outside, when the server dies.
      const blocker = await embeddedSession(dataDir);
      const observer = await embeddedSession(dataDir);
      await blocker.query('BEGIN');
      await blocker.query(
        `SELECT 1 FROM account_balances b JOIN accounts a ON a.id = b.account_id
        WHERE a.fund_id = $1 AND a.code = '1001' FOR UPDATE OF b`,
        [fundId],
      );
      const key = randomUUID();
      const post = () =>
        fetch(`${base}/api/v1/funds/${fundId}/entries`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': key },
          body: bankCharge('3.00'),
        });
      const inFlight = post();
      await waitForLockWaiters(observer);
      process.kill(before.pid, 'SIGKILL');

      const failed = await inFlight;
      expect(failed.status).toBe(503);
      expect(failed.headers.get('retry-after')).toBe('1');
      expect(((await failed.json()) as { code: string }).code).toBe('database_unavailable');
      await blocker.end().catch(() => undefined);
      await observer.end().catch(() => undefined);
      // The process itself is fine: liveness holds while the database comes back.
      expect((await fetch(`${base}/healthz`)).status).toBe(200);

      await waitForStatus(`${base}/readyz`, 200);
      const after = embeddedServer(dataDir);
      expect(after.pid).not.toBe(before.pid);
      expect(after.port).toBe(before.port);
      expect(isAlive(before.pid)).toBe(false);
      expect(service.output()).toMatch(/PostgreSQL exited unexpectedly/);

      const retried = await post();
      expect(retried.status).toBe(201);
      const replayed = await post();
      expect(replayed.status).toBe(201);
      expect(replayed.headers.get('idempotent-replayed')).toBe('true');
      const check = await embeddedSession(dataDir);
      try {
        const posted = await check.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM journal_entries WHERE fund_id = $1 AND idempotency_key LIKE $2',
          [fundId, `%:${key}`],
        );
        expect(posted.rows[0]!.n).toBe(1);
      } finally {
        await check.end();
      }
      const trial = (await (await fetch(`${base}/api/v1/funds/${fundId}/trial-balance`, { headers: auth })).json()) as {
        balanced: boolean;
      };
      expect(trial.balanced).toBe(true);

      expect(await stopService(service)).toBe(0);
      expect(isAlive(after.pid)).toBe(false);
    } finally {
      if (service.child.exitCode === null) service.child.kill('SIGKILL');
    }
  },
  COLD_START_MS + 90_000,
);

test(
  'when the service adopted a PostgreSQL that a killed service left running, then it restarts that server too when it dies',
  async () => {
    const first = startService({ HUZHU_DATA_DIR: dataDir });
    let second: ServiceProcess | undefined;
    try {
      await waitForOutput(first, /Huzhu is running at/, COLD_START_MS);
      first.child.kill('SIGKILL');
      await first.exited;
      const leftBehind = embeddedServer(dataDir);
      expect(isAlive(leftBehind.pid)).toBe(true);

      second = startService({ HUZHU_DATA_DIR: dataDir });
      const [, base] = await waitForOutput(second, /Huzhu is running at (http:\/\/\S+)/);
      process.kill(leftBehind.pid, 'SIGKILL');
      await waitForOutput(second, /PostgreSQL exited unexpectedly/);
      await waitForStatus(`${base}/readyz`, 200);
      const restarted = embeddedServer(dataDir);
      expect(restarted.pid).not.toBe(leftBehind.pid);
      expect(restarted.port).toBe(leftBehind.port);

      expect(await stopService(second)).toBe(0);
      expect(isAlive(restarted.pid)).toBe(false);
    } finally {
      for (const service of [first, second]) {
        if (service && service.child.exitCode === null) service.child.kill('SIGKILL');
      }
    }
  },
  COLD_START_MS + 90_000,
);

test(
  'when the embedded PostgreSQL cannot be restarted (its port was taken), then /healthz answers 503 after the bounded restarts and the log says why',
  async () => {
    const service = startService({ HUZHU_DATA_DIR: dataDir, EMBEDDED_RESTARTS_MAX: '2' });
    let squatter: net.Server | undefined;
    try {
      const [, base] = await waitForOutput(service, /Huzhu is running at (http:\/\/\S+)/, COLD_START_MS);
      const { pid, port } = embeddedServer(dataDir);
      process.kill(pid, 'SIGKILL');
      squatter = await occupy(port);

      await waitForStatus(`${base}/healthz`, 503);
      const health = await fetch(`${base}/healthz`);
      expect(health.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(((await health.json()) as { code: string }).code).toBe('service_unrecoverable');
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
      expect(service.output()).toContain(`port ${port} is taken by another process`);
      expect(service.output()).toMatch(/could not be restarted after 2 attempts/);

      expect(await stopService(service)).toBe(0);
    } finally {
      squatter?.close();
      if (service.child.exitCode === null) service.child.kill('SIGKILL');
    }
  },
  COLD_START_MS + 90_000,
);
