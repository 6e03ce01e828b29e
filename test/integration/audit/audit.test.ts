import pg from 'pg';
import { tamperedWith } from '../../helpers/consistency';
import { canonicalOfStored, chainHash } from '../../../src/audit/audit.service';
import { bankCharge, createFund, fundPool, postEntry, type TestFund } from '../../helpers/factories';
import { startHarness, type Harness } from '../../helpers/harness';
import { runCli } from '../../helpers/cli';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

interface AuditItem {
  id: string;
  seq: string;
  action: string;
  actor: { id: string | null; name: string; role: string };
  target: { type: string; id: string | null };
  payload: { request?: unknown };
  requestId: string | null;
  prevHash: string;
  hash: string;
}

async function auditOf(fund: TestFund, query: Record<string, string | number> = {}): Promise<AuditItem[]> {
  const response = await h.http
    .get(`/api/v1/funds/${fund.id}/audit`)
    .query({ order: 'asc', ...query })
    .set(fund.admin.auth);
  expect(response.status).toBe(200);
  return response.body.items as AuditItem[];
}

async function verify(fund: TestFund) {
  const response = await h.http.get(`/api/v1/funds/${fund.id}/audit/verify`).set(fund.admin.auth);
  expect(response.status).toBe(200);
  return response.body as { ok: boolean; checked: number; firstBrokenId: string | null; reason: string | null };
}

/** Changes audit rows the way an intruder with the database owner's password would. */
async function tamper(...statements: [string, unknown[]][]): Promise<void> {
  const owner = new pg.Client({ connectionString: h.databaseUrl });
  await owner.connect();
  try {
    await owner.query('BEGIN');
    await owner.query('ALTER TABLE audit_log DISABLE TRIGGER USER');
    await owner.query('ALTER TABLE audit_links DISABLE TRIGGER USER');
    for (const [sql, bindings] of statements) await owner.query(sql, bindings);
    await owner.query('ALTER TABLE audit_log ENABLE TRIGGER USER');
    await owner.query('ALTER TABLE audit_links ENABLE TRIGGER USER');
    await owner.query('COMMIT');
  } finally {
    await owner.end();
  }
}

describe('the audit log', () => {
  test('when a fund is created and an entry posted, then each leaves one chained record with actor, role, request id and payload', async () => {
    const fund = await createFund(h);
    const body = bankCharge('0.01');
    await fundPool(h, fund, '10.00');
    const posted = await postEntry(h, fund.admin, fund.id, body);
    const records = await auditOf(fund);
    expect(records.map((record) => [record.seq, record.action])).toEqual([
      ['1', 'funds.fund.create'],
      ['2', 'ledger.entry.post'],
      ['3', 'ledger.entry.post'],
    ]);
    const last = records[2]!;
    expect(last).toMatchObject({
      actor: { id: fund.admin.id, name: fund.admin.username, role: 'admin' },
      target: { type: 'journal_entry', id: posted.body.id },
      requestId: posted.headers['x-request-id'],
    });
    expect(last.payload.request).toEqual(body);
    expect(records[0]!.prevHash).toBe('0'.repeat(64));
    expect(records[1]!.prevHash).toBe(records[0]!.hash);
    expect(records[2]!.prevHash).toBe(records[1]!.hash);
    expect(await verify(fund)).toEqual(
      expect.objectContaining({ ok: true, checked: 3, firstBrokenId: null, reason: null }),
    );
  });

  test('when a request is refused or replayed, then no audit record is written', async () => {
    const fund = await createFund(h);
    await fundPool(h, fund, '10.00');
    const key = 'replay-me';
    await postEntry(h, fund.admin, fund.id, bankCharge('1.00'), key);
    const before = (await auditOf(fund)).length;
    await postEntry(h, fund.admin, fund.id, bankCharge('1.00'), key);
    await postEntry(h, fund.admin, fund.id, bankCharge('99.00'));
    expect(await auditOf(fund)).toHaveLength(before);
  });

  test('when the log is read by filter and page, then the pages cover the records once', async () => {
    const fund = await createFund(h);
    await fundPool(h, fund, '10.00');
    for (let index = 0; index < 3; index += 1) await postEntry(h, fund.admin, fund.id, bankCharge('1.00'));
    const posts = await auditOf(fund, { action: 'ledger.entry.post' });
    expect(posts).toHaveLength(4);
    const firstPage = await h.http.get(`/api/v1/funds/${fund.id}/audit`).query({ limit: 3 }).set(fund.admin.auth);
    const secondPage = await h.http
      .get(`/api/v1/funds/${fund.id}/audit`)
      .query({ limit: 3, cursor: firstPage.body.nextCursor })
      .set(fund.admin.auth);
    const seqs = [...firstPage.body.items, ...secondPage.body.items].map((item: AuditItem) => item.seq);
    expect(seqs).toEqual(['5', '4', '3', '2', '1']);
    expect(secondPage.body.nextCursor).toBeNull();
  });
});

describe('the audit record of an entry', () => {
  test('when the log is filtered by an entry’s request id, then it gives the one record of the request that posted it', async () => {
    const fund = await createFund(h);
    await fundPool(h, fund, '10.00');
    const first = await postEntry(h, fund.admin, fund.id, bankCharge('1.00'));
    const second = await h.http
      .post(`/api/v1/funds/${fund.id}/entries`)
      .set(fund.admin.auth)
      .set('Idempotency-Key', `key-${first.body.id as string}`)
      .set('X-Request-Id', 'console-trace-42')
      .send(bankCharge('2.00'));
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.body.requestId).toBe('console-trace-42');

    for (const entry of [first.body, second.body] as { id: string; requestId: string }[]) {
      const records = await auditOf(fund, { requestId: entry.requestId });
      expect(records.map((record) => [record.action, record.target, record.requestId])).toEqual([
        ['ledger.entry.post', { type: 'journal_entry', id: entry.id }, entry.requestId],
      ]);
    }
    expect(await auditOf(fund, { requestId: 'no-such-request' })).toEqual([]);
  });

  test('when another fund’s request id is asked for, then this fund’s log has nothing', async () => {
    const fund = await createFund(h);
    const other = await createFund(h);
    await fundPool(h, other, '10.00');
    const posted = await postEntry(h, other.admin, other.id, bankCharge('1.00'));

    expect(await auditOf(fund, { requestId: posted.body.requestId as string })).toEqual([]);
    expect(await auditOf(other, { requestId: posted.body.requestId as string })).toHaveLength(1);
  });
});

describe('verifying the chain', () => {
  let fund: TestFund;
  beforeEach(async () => {
    fund = await createFund(h);
    // Every test here breaks the fund's chain on purpose.
    tamperedWith(h, fund.id);
    await fundPool(h, fund, '10.00');
    for (let index = 0; index < 3; index += 1) await postEntry(h, fund.admin, fund.id, bankCharge('1.00'));
  });

  test('when a record is edited behind the service, then verify names it as the first broken record', async () => {
    const records = await auditOf(fund);
    const victim = records[2]!;
    await tamper([
      `UPDATE audit_log SET payload = jsonb_set(payload, '{request,memo}', '"nothing to see"') WHERE id = $1`,
      [victim.id],
    ]);
    expect(await verify(fund)).toEqual(
      expect.objectContaining({ ok: false, firstBrokenId: victim.id, reason: 'hash_mismatch', checked: 3 }),
    );
    // The command-line check says the same, and fails.
    const cli = await runCli(h, ['audit', 'verify', '--fund', fund.id]);
    expect(cli.code).toBe(1);
    expect(JSON.parse(cli.stdout.trim())).toMatchObject({ ok: false, firstBrokenId: victim.id });
  });

  test('when an intruder also recomputes the edited record’s hash, then the next record breaks the chain', async () => {
    const records = await auditOf(fund);
    const victim = records[1]!;
    const row = (
      await h.db.raw(
        `SELECT a.*, l.seq, l.prev_hash, l.hash FROM audit_log a JOIN audit_links l ON l.audit_id = a.id WHERE a.id = ?`,
        [victim.id],
      )
    ).rows[0];
    // The algorithm is no secret: a forger can rehash the row they changed, but not the rows after it.
    const forged = canonicalOfStored({ ...row, actor_name: 'someone else' });
    await tamper(
      [`UPDATE audit_log SET actor_name = 'someone else', canonical = $2 WHERE id = $1`, [victim.id, forged]],
      ['UPDATE audit_links SET hash = $2 WHERE audit_id = $1', [victim.id, chainHash(row.prev_hash, row.seq, forged)]],
    );
    expect(await verify(fund)).toEqual(
      expect.objectContaining({ ok: false, firstBrokenId: records[2]!.id, reason: 'prev_hash_mismatch' }),
    );
  });

  test('when a record is deleted, then the gap is found at the record after it', async () => {
    const records = await auditOf(fund);
    await tamper(
      ['DELETE FROM audit_links WHERE audit_id = $1', [records[1]!.id]],
      ['DELETE FROM audit_log WHERE id = $1', [records[1]!.id]],
    );
    expect(await verify(fund)).toEqual(
      expect.objectContaining({ ok: false, firstBrokenId: records[2]!.id, reason: 'sequence_gap' }),
    );
  });

  test('when the newest record is deleted, then the chain head no longer matches', async () => {
    const records = await auditOf(fund);
    const newest = records[records.length - 1]!.id;
    await tamper(
      ['DELETE FROM audit_links WHERE audit_id = $1', [newest]],
      ['DELETE FROM audit_log WHERE id = $1', [newest]],
    );
    expect(await verify(fund)).toEqual(
      expect.objectContaining({ ok: false, firstBrokenId: null, reason: 'head_mismatch' }),
    );
  });

  test('when a record is slipped in with the link trigger disabled, then verify finds it outside the chain', async () => {
    const [stranger] = await h.db.transaction(async (trx) => {
      await trx.raw('ALTER TABLE audit_log DISABLE TRIGGER audit_log_link');
      const rows = (await trx('audit_log')
        .insert({
          chain: fund.id,
          fund_id: fund.id,
          actor_name: 'nobody',
          actor_role: 'admin',
          action: 'ledger.entry.post',
          target_type: 'journal_entry',
          payload: JSON.stringify({ forged: true }),
          created_at: new Date(),
          canonical: '{}',
        })
        .returning('id')) as { id: string }[];
      await trx.raw('ALTER TABLE audit_log ENABLE TRIGGER audit_log_link');
      return rows;
    });
    expect(await verify(fund)).toEqual(
      expect.objectContaining({ ok: false, firstBrokenId: stranger!.id, reason: 'unlinked_row' }),
    );
  });

  test('when nothing was touched, then the command-line check passes', async () => {
    const cli = await runCli(h, ['audit', 'verify', '--fund', fund.id]);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout.trim())).toMatchObject({ ok: true, checked: 5 });
  });
});
