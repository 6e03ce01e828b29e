import { createHash } from 'node:crypto';
import { canonicalJson } from '../../../src/audit/canonical-json';
import {
  bankCharge,
  capitalAccount,
  createFund,
  createMember,
  entryBody,
  fundPool,
  postEntry,
  randomUUID,
  type TestFund,
} from '../../helpers/factories';
import { makeUser, startHarness, type Harness } from '../../helpers/harness';
import { expectFundConsistent, snapshot } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});
afterEach(() => {
  h.clock.set('2026-06-15T04:00:00.000Z');
});

/** Shanghai noon of a date: "today" for the fund is that date. */
const noonOf = (date: string) => `${date}T04:00:00.000Z`;

/** Moves the clock to a day and returns a platform administrator whose token is valid then. */
async function adminOn(date: string) {
  h.clock.set(noonOf(date));
  return makeUser(h, 'admin');
}

function close(fund: TestFund, period: string, key: string = randomUUID(), user = fund.admin) {
  return h.http.post(`/api/v1/funds/${fund.id}/periods/${period}/close`).set(user.auth).set('Idempotency-Key', key);
}

function otherIncome(amount: string, effectiveDate: string) {
  return entryBody(
    [
      { accountCode: '1001', side: 'debit', amount },
      { accountCode: '4005', side: 'credit', amount },
    ],
    { kind: 'manual.bank_interest', effectiveDate },
  );
}

async function post(fund: TestFund, body: Record<string, unknown>): Promise<string> {
  const response = await postEntry(h, fund.admin, fund.id, body);
  expect({ status: response.status, body: response.status === 201 ? null : response.body }).toEqual({
    status: 201,
    body: null,
  });
  return response.body.id as string;
}

async function balanceOf(accountId: string): Promise<string> {
  const row = (await h.db('account_balances').where({ account_id: accountId }).first('balance')) as { balance: string };
  return row.balance;
}

async function balanceOfCode(fund: TestFund, code: string): Promise<string> {
  return balanceOf(fund.accounts[code]!);
}

describe('closing a year with a surplus', () => {
  let fund: TestFund;
  let early: string;
  let late: string;
  let earlyCapital: string;
  let lateCapital: string;
  let incomeEntryId: string;
  let closeResponse: Awaited<ReturnType<typeof close>>;

  beforeAll(async () => {
    h.clock.set(noonOf('2027-01-05'));
    fund = await createFund(h);
    early = await createMember(h, fund.id);
    late = await createMember(h, fund.id);
    earlyCapital = await fundPool(h, fund, '1000.00', early, '2026-01-01');
    // Paid in on 2 July: 183 of the year's 365 days.
    lateCapital = await fundPool(h, fund, '1000.00', late, '2026-07-02');
    incomeEntryId = await post(fund, otherIncome('300.00', '2026-12-01'));
    await post(fund, bankCharge('30.00', { effectiveDate: '2026-11-01' }));
    closeResponse = await close(fund, '2026');
  });
  beforeEach(() => {
    h.clock.set(noonOf('2027-01-05'));
  });

  test('when the year is closed, then the net income is shared by time-weighted capital and adds up exactly', async () => {
    expect(closeResponse.status).toBe(201);
    const [first, second] = [early, late].sort();
    expect(closeResponse.body).toMatchObject({
      period: '2026',
      startsOn: '2026-01-01',
      endsOn: '2026-12-31',
      netIncome: '270.00',
      settledAtExits: '0.00',
      entryId: expect.any(String),
      snapshotSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const byMember = Object.fromEntries(
      (closeResponse.body.allocation as { memberId: string; weight: string; share: string }[]).map((item) => [
        item.memberId,
        item,
      ]),
    );
    expect(Object.keys(byMember).sort()).toEqual([first, second]);
    // Weights 1000 × 365 and 1000 × 183: 270 × 365/548 = 179.8357…, 270 × 183/548 = 90.1642….
    expect(byMember[early]).toMatchObject({ weight: '1000.00', share: '179.84' });
    expect(byMember[late]).toMatchObject({ weight: '501.37', share: '90.16' });
    expect(await balanceOf(earlyCapital)).toBe('1179.84');
    expect(await balanceOf(lateCapital)).toBe('1090.16');
  });

  test('when the year is closed, then one period.close entry dated its last day empties income and expenses', async () => {
    const entry = await h.http
      .get(`/api/v1/funds/${fund.id}/entries/${closeResponse.body.entryId}`)
      .set(fund.admin.auth);
    expect(entry.status).toBe(200);
    expect(entry.body).toMatchObject({ kind: 'period.close', effectiveDate: '2026-12-31' });
    const lines = (entry.body.postings as { accountCode: string; side: string; amount: string }[]).map((p) => [
      p.accountCode,
      p.side,
      p.amount,
    ]);
    expect(lines).toEqual(
      expect.arrayContaining([
        ['4005', 'debit', '300.00'],
        ['5002', 'credit', '30.00'],
        [`3001:${early}`, 'credit', '179.84'],
        [`3001:${late}`, 'credit', '90.16'],
      ]),
    );
    expect(lines).toHaveLength(4);
    expect(await balanceOfCode(fund, '4005')).toBe('0.00');
    expect(await balanceOfCode(fund, '5002')).toBe('0.00');
    const row = (await h.db('funds').where({ id: fund.id }).first('closed_through')) as { closed_through: string };
    expect(row.closed_through).toBe('2026-12-31');
    await expectFundConsistent(h, fund.id);
  });

  test('when the close is read back, then its snapshot hashes to the stored SHA-256, which the audit chain carries', async () => {
    const read = await h.http.get(`/api/v1/funds/${fund.id}/periods/2026`).set(fund.admin.auth);
    expect(read.status).toBe(200);
    const hash = createHash('sha256').update(canonicalJson(read.body.snapshot), 'utf8').digest('hex');
    expect(read.body.snapshotSha256).toBe(hash);
    expect(closeResponse.body.snapshotSha256).toBe(hash);
    expect(read.body.snapshot).toMatchObject({ asOf: '2026-12-31', balanced: true });
    const lines = read.body.snapshot.lines as { code: string; balance: string }[];
    expect(lines.find((line) => line.code === '4005')?.balance).toBe('0.00');
    expect(lines.find((line) => line.code === `3001:${early}`)?.balance).toBe('1179.84');

    const audit = (await h.db('audit_log').where({ fund_id: fund.id, action: 'periods.period.close' })) as {
      payload: Record<string, unknown>;
      target_id: string;
    }[];
    expect(audit).toHaveLength(1);
    expect(audit[0]!.target_id).toBe('2026');
    expect(audit[0]!.payload).toMatchObject({ snapshotSha256: hash, netIncome: '270.00', period: '2026' });
    expect(await h.services.audit.verify(h.db, fund.id)).toMatchObject({ ok: true });

    const list = await h.http.get(`/api/v1/funds/${fund.id}/periods`).set(fund.admin.auth);
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([expect.objectContaining({ period: '2026', snapshotSha256: hash })]);
    expect(list.body.items[0]).not.toHaveProperty('snapshot');
  });

  test('when an entry is dated inside the closed year, then it is refused with period_closed and nothing changes', async () => {
    const before = await snapshot(h, fund.id);
    const response = await postEntry(h, fund.admin, fund.id, otherIncome('5.00', '2026-12-15'));
    expectProblem(response, 422, 'period_closed');
    expect(response.body).toMatchObject({ closedThrough: '2026-12-31', effectiveDate: '2026-12-15' });
    const lastDay = await postEntry(h, fund.admin, fund.id, bankCharge('1.00', { effectiveDate: '2026-12-31' }));
    expectProblem(lastDay, 422, 'period_closed');
    expect(await snapshot(h, fund.id)).toEqual(before);
  });

  test('when an entry is dated after the closed year, or reverses one from inside it, then it is posted', async () => {
    const after = await postEntry(h, fund.admin, fund.id, otherIncome('5.00', '2027-01-01'));
    expect(after.status).toBe(201);
    const reversal = await h.http
      .post(`/api/v1/funds/${fund.id}/entries/${incomeEntryId}/reverse`)
      .set(fund.admin.auth)
      .set('Idempotency-Key', randomUUID())
      .send({ effectiveDate: '2027-01-03', memo: 'Bank interest booked twice' });
    expect(reversal.status).toBe(201);
    expect(reversal.body).toMatchObject({ kind: 'reversal', effectiveDate: '2027-01-03' });
    await expectFundConsistent(h, fund.id);
  });

  test('when the same year is closed again, or a period overlapping it, then it is a conflict and nothing changes', async () => {
    const before = await snapshot(h, fund.id);
    expectProblem(await close(fund, '2026'), 409, 'period_already_closed');
    expectProblem(await close(fund, '2026-H2'), 409, 'period_overlaps');
    expectProblem(await close(fund, '2026-12'), 409, 'period_overlaps');
    expect(await snapshot(h, fund.id)).toEqual(before);
  });

  test('when the close is replayed with its Idempotency-Key, then the first response comes back', async () => {
    const key = randomUUID();
    const admin = await adminOn('2027-02-03');
    const first = await close(fund, '2027-01', key, admin);
    expect(first.status).toBe(201);
    const before = await snapshot(h, fund.id);
    const again = await close(fund, '2027-01', key, admin);
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await snapshot(h, fund.id)).toEqual(before);
    await expectFundConsistent(h, fund.id);
  });
});

describe('closing a period with a loss', () => {
  test('when expenses exceed income, then the loss is charged to the members’ capital by weight', async () => {
    h.clock.set(noonOf('2026-07-05'));
    const fund = await createFund(h);
    const small = await fundPool(h, fund, '1000.00', undefined, '2026-01-01');
    const large = await fundPool(h, fund, '3000.00', undefined, '2026-01-01');
    await post(fund, bankCharge('450.00', { effectiveDate: '2026-05-01' }));
    await post(fund, otherIncome('50.00', '2026-06-30'));
    const response = await close(fund, '2026-H1');
    expect(response.status).toBe(201);
    expect(response.body.netIncome).toBe('-400.00');
    expect((response.body.allocation as { share: string }[]).map((item) => item.share).sort()).toEqual([
      '-100.00',
      '-300.00',
    ]);
    expect(await balanceOf(small)).toBe('900.00');
    expect(await balanceOf(large)).toBe('2700.00');
    expect(await balanceOfCode(fund, '5002')).toBe('0.00');
    expect(await balanceOfCode(fund, '4005')).toBe('0.00');
    await expectFundConsistent(h, fund.id);
  });

  test('when a loss exceeds a member’s capital, then its capital account goes negative (3001 has no floor): a claim on the member', async () => {
    h.clock.set(noonOf('2026-04-05'));
    const fund = await createFund(h);
    const leaving = await createMember(h, fund.id);
    const leavingCapital = await fundPool(h, fund, '1000.00', leaving, '2026-01-01');
    const staying = await fundPool(h, fund, '1000.00', undefined, '2026-01-01');
    // 900 of the first member's capital goes back to it two days before the quarter ends: its
    // average capital stays high, its balance falls to 100.
    await post(
      fund,
      entryBody(
        [
          { accountId: leavingCapital, side: 'debit', amount: '900.00' },
          { accountCode: '1001', side: 'credit', amount: '900.00' },
        ],
        { kind: 'manual.adjustment', effectiveDate: '2026-03-30' },
      ),
    );
    await post(fund, bankCharge('1000.00', { effectiveDate: '2026-03-31' }));
    const response = await close(fund, '2026-Q1');
    expect(response.status).toBe(201);
    // Weights 1000 × 90 − 900 × 2 = 88200 and 90000: −1000 × 88200/178200 = −494.949…
    const byMember = Object.fromEntries(
      (response.body.allocation as { memberId: string; share: string }[]).map((item) => [item.memberId, item.share]),
    );
    expect(byMember[leaving]).toBe('-494.95');
    expect(await balanceOf(leavingCapital)).toBe('-394.95');
    expect(await balanceOf(staying)).toBe('494.95');
    await expectFundConsistent(h, fund.id);
  });
});

describe('refusing a close', () => {
  test('when the period has not ended at least one full day ago, then it is refused and nothing changes', async () => {
    const fund = await createFund(h);
    await fundPool(h, fund, '100.00', undefined, '2026-05-01');
    await post(fund, otherIncome('10.00', '2026-05-10'));
    const before = await snapshot(h, fund.id);
    expectProblem(await close(fund, '2026-H1'), 422, 'period_not_ended');
    const dayAfter = await close(fund, '2026-05', randomUUID(), await adminOn('2026-06-01'));
    expectProblem(dayAfter, 422, 'period_not_ended');
    expect(dayAfter.body).toMatchObject({ endsOn: '2026-05-31', closableFrom: '2026-06-02' });
    expect(await snapshot(h, fund.id)).toEqual(before);
    const closed = await close(fund, '2026-05', randomUUID(), await adminOn('2026-06-02'));
    expect(closed.status).toBe(201);
    expect(closed.body.netIncome).toBe('10.00');
    await expectFundConsistent(h, fund.id);
  });

  test('when an earlier period is still open, then it is refused with earlier_period_open', async () => {
    h.clock.set(noonOf('2026-10-05'));
    const fund = await createFund(h);
    await fundPool(h, fund, '100.00', undefined, '2026-01-01');
    await post(fund, otherIncome('10.00', '2026-02-10'));
    const before = await snapshot(h, fund.id);
    const skipped = await close(fund, '2026-Q2');
    expectProblem(skipped, 422, 'earlier_period_open');
    expect(skipped.body).toMatchObject({ firstIncomeOrExpenseOn: '2026-02-10' });
    expect(await snapshot(h, fund.id)).toEqual(before);
    expect((await close(fund, '2026-Q1')).status).toBe(201);
    const gap = await close(fund, '2026-08');
    expectProblem(gap, 422, 'earlier_period_open');
    expect(gap.body).toMatchObject({ closedThrough: '2026-03-31', expectedStart: '2026-04-01' });
    expect((await close(fund, '2026-Q2')).status).toBe(201);
    await expectFundConsistent(h, fund.id);
  });

  test('when the period is not a period name, or the key is missing, or the user is not an administrator, then it is refused', async () => {
    const fund = await createFund(h);
    for (const period of ['2026-Q5', '2026-7', '26', '2026-h1']) {
      expectProblem(await close(fund, period), 400, 'validation_failed');
    }
    const noKey = await h.http.post(`/api/v1/funds/${fund.id}/periods/2025/close`).set(fund.admin.auth);
    expectProblem(noKey, 400, 'idempotency_key_required');
    const committee = await makeUser(h, 'committee', { fundId: fund.id });
    expectProblem(await close(fund, '2025', randomUUID(), committee), 403, 'forbidden');
    const member = await makeUser(h, 'member', { fundId: fund.id, memberId: await createMember(h, fund.id) });
    expectProblem(await h.http.get(`/api/v1/funds/${fund.id}/periods`).set(member.auth), 403, 'forbidden');
    expectProblem(
      await h.http.get(`/api/v1/funds/${fund.id}/periods/2025`).set(fund.admin.auth),
      404,
      'period_not_found',
    );
  });

  test('when there is a result and no member holds capital, then it is refused with no_capital_to_allocate', async () => {
    const fund = await createFund(h);
    await post(
      fund,
      entryBody(
        [
          { accountCode: '1001', side: 'debit', amount: '50.00' },
          { accountCode: '4005', side: 'credit', amount: '50.00' },
        ],
        { kind: 'manual.bank_interest', effectiveDate: '2026-02-01' },
      ),
    );
    const admin = await adminOn('2026-04-05');
    const before = await snapshot(h, fund.id);
    expectProblem(await close(fund, '2026-Q1', randomUUID(), admin), 422, 'no_capital_to_allocate');
    expect(await snapshot(h, fund.id)).toEqual(before);
  });
});

describe('closing without a result', () => {
  test('when nothing was earned or spent, then the period closes without an entry, and the remainder rule holds otherwise', async () => {
    h.clock.set(noonOf('2026-04-05'));
    const fund = await createFund(h);
    const members = [await createMember(h, fund.id), await createMember(h, fund.id), await createMember(h, fund.id)];
    for (const member of members) await fundPool(h, fund, '500.00', member, '2026-01-01');
    const empty = await close(fund, '2026-01');
    expect(empty.status).toBe(201);
    expect(empty.body).toMatchObject({ netIncome: '0.00', entryId: null });
    await post(fund, otherIncome('100.00', '2026-02-10'));
    const shared = await close(fund, '2026-02');
    expect(shared.status).toBe(201);
    // Equal weights: 33.33 each and the remainder fen to the lowest member id.
    const [lowest, ...others] = [...members].sort();
    const byMember = Object.fromEntries(
      (shared.body.allocation as { memberId: string; share: string }[]).map((item) => [item.memberId, item.share]),
    );
    expect(byMember).toEqual({ [lowest!]: '33.34', [others[0]!]: '33.33', [others[1]!]: '33.33' });
    expect(await balanceOf(await capitalAccount(h, fund.id, lowest!))).toBe('533.34');
    await expectFundConsistent(h, fund.id);
  });
});
