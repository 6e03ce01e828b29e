import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
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
} from '../../helpers/service-process';
import { rawExchange } from '../../helpers/raw-http';
import { waitForLockWaiters } from '../../helpers/waits';

/**
 * The service as `npm start` runs it: its own embedded PostgreSQL under HUZHU_DATA_DIR, migrated and
 * seeded with the demo fund, then stopped by SIGTERM after the request in flight has finished.
 */

describe('the server process', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'huzhu-server-'));
    fs.chmodSync(dataDir, 0o755);
  });
  afterAll(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test(
    'when started without DATABASE_URL, then it runs the demo fund on embedded PostgreSQL and SIGTERM drains, then stops everything',
    async () => {
      const server = startService({ HUZHU_DATA_DIR: dataDir });
      try {
        const [, base] = await waitForOutput(server, /Huzhu is running at (http:\/\/\S+)/, COLD_START_MS);
        expect(server.output()).toMatch(/admin\s+admin\s+demo-admin-pass/);
        expect(server.output()).toContain('/docs');

        // A request Node's parser refuses gets the service's problem+json, not a bare status line.
        const refused = await rawExchange(
          Number(new URL(base!).port),
          'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: \u0001\r\n\r\n',
        );
        expect(refused).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
        expect(refused).toContain('\r\nContent-Type: application/problem+json\r\n');
        expect(refused).toContain('"code":"malformed_request"');

        const auth = await demoAdmin(base!);
        const funds = (await (await fetch(`${base}/api/v1/funds`, { headers: auth })).json()) as {
          items: { id: string }[];
        };
        expect(funds.items).toHaveLength(1);
        const fundId = funds.items[0]!.id;
        const trial = (await (
          await fetch(`${base}/api/v1/funds/${fundId}/trial-balance`, { headers: auth })
        ).json()) as {
          balanced: boolean;
        };
        expect(trial.balanced).toBe(true);

        // Hold the pool's balance row from outside, so the next entry waits in flight.
        const clusterDir = path.join(dataDir, 'postgres');
        const postmaster = embeddedServer(dataDir);
        const blocker = await embeddedSession(dataDir);
        const observer = await embeddedSession(dataDir);
        await blocker.query('BEGIN');
        await blocker.query(
          `SELECT 1 FROM account_balances b JOIN accounts a ON a.id = b.account_id
          WHERE a.fund_id = $1 AND a.code = '1001' FOR UPDATE OF b`,
          [fundId],
        );
        const inFlight = fetch(`${base}/api/v1/funds/${fundId}/entries`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
          body: JSON.stringify({
            effectiveDate: dateIn('Asia/Shanghai', new Date()),
            memo: 'posted while the server drains',
            kind: 'manual.bank_charge',
            lines: [
              { accountCode: '5002', side: 'debit', amount: '1.00' },
              { accountCode: '1001', side: 'credit', amount: '1.00' },
            ],
          }),
        });
        // The entry is in the server, waiting for the row, when SIGTERM arrives.
        await waitForLockWaiters(observer);
        await observer.end();
        server.child.kill('SIGTERM');
        await waitForOutput(server, /shutting down: draining requests/);
        await blocker.query('ROLLBACK');
        await blocker.end();

        const response = await inFlight;
        // The request that was in flight when SIGTERM arrived still completes.
        expect(response.status).toBe(201);
        expect(await server.exited).toBe(0);
        expect(server.output()).toContain('"msg":"stopped"');
        expect(isAlive(postmaster.pid)).toBe(false);
        expect(fs.existsSync(path.join(clusterDir, 'postmaster.pid'))).toBe(false);
      } finally {
        if (server.child.exitCode === null) server.child.kill('SIGKILL');
      }
    },
    COLD_START_MS + 60_000,
  );

  test('when a setting is invalid, then start-up stops with a message naming the variable', async () => {
    const server = startService({ HUZHU_DATA_DIR: dataDir, PORT: 'eighty' });
    expect(await server.exited).toBe(2);
    expect(server.output()).toMatch(/PORT: /);
  });
});
