import { Money } from '../../../src/money/money';
import { createFund, createMember, fundPool, type TestFund } from '../../helpers/factories';
import { startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { expectFundConsistent } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';
import {
  api,
  called,
  capitalBalance,
  capitalSnapshot,
  contribute,
  contributed,
  contributionBody,
  itemOf,
  memberWith,
  poolCash,
  randomUUID,
} from './capital.helpers';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

describe('recording a contribution', () => {
  let fund: TestFund;
  beforeAll(async () => {
    fund = await createFund(h);
  });

  test('when an administrator records money received, then one entry moves pool cash and member capital and the row links it', async () => {
    const member = await memberWith(h, fund.id, '100000.00');
    const cashBefore = await poolCash(h, fund.id);
    const body = contributionBody('40000.00', { receivedOn: '2026-06-10', memo: '首期实缴' });
    const response = await contribute(h, fund.admin, fund.id, member, body);

    expect(response.status).toBe(201);
    expect(response.body).toEqual({
      id: expect.any(String),
      fundId: fund.id,
      memberId: member,
      amount: '40000.00',
      receivedOn: '2026-06-10',
      bankReference: body.bankReference,
      memo: '首期实缴',
      entryId: expect.any(String),
      allocations: [],
      unallocated: '40000.00',
      reversal: null,
      createdBy: fund.admin.id,
      createdAt: expect.any(String),
    });
    const entry = await h.http.get(api(`/funds/${fund.id}/entries/${response.body.entryId}`)).set(fund.admin.auth);
    expect(entry.status).toBe(200);
    expect(entry.body).toMatchObject({ kind: 'capital.contribution', effectiveDate: '2026-06-10' });
    expect(entry.body.memo).toContain(String(body.bankReference));
    expect(entry.body.memo).toContain('首期实缴');
    expect(
      (entry.body.postings as { accountCode: string; side: string; amount: string }[]).map((p) => [
        p.accountCode,
        p.side,
        p.amount,
      ]),
    ).toEqual([
      ['1001', 'debit', '40000.00'],
      [`3001:${member}`, 'credit', '40000.00'],
    ]);
    expect(await capitalBalance(h, fund.id, member)).toBe('40000.00');
    expect(new Money(await poolCash(h, fund.id)).minus(cashBefore).toFixed(2)).toBe('40000.00');
    const row = await h.db('contributions').where({ id: response.body.id }).first();
    expect(row).toMatchObject({ entry_id: response.body.entryId, amount: '40000.00', member_id: member });
    const audit = await h.db('audit_log').where({ fund_id: fund.id, target_id: response.body.id }).first();
    expect(audit).toMatchObject({ action: 'capital.contribution.record', target_type: 'contribution' });
    await expectFundConsistent(h, fund.id);
  });

  test('when the member has open calls, then the money pays the oldest due date first and the rest is tied to no call', async () => {
    const member = await memberWith(h, fund.id, '100000.00');
    // Call #n (20 %) falls due after call #n+1 (10 %): the later number is matched first.
    const late = await called(h, fund.admin, fund.id, { percent: '20', dueOn: '2026-07-31' });
    const early = await called(h, fund.admin, fund.id, { percent: '10', dueOn: '2026-07-15' });
    expect(itemOf(late, member)?.due).toBe('20000.00');
    expect(itemOf(early, member)?.due).toBe('10000.00');

    const first = await contributed(h, fund.admin, fund.id, member, '25000.00');
    expect(first.allocations).toEqual([
      { callId: early.id, callNumber: early.number, amount: '10000.00' },
      { callId: late.id, callNumber: late.number, amount: '15000.00' },
    ]);
    expect(first.unallocated).toBe('0.00');

    const second = await contributed(h, fund.admin, fund.id, member, '12000.00');
    expect(second.allocations).toEqual([{ callId: late.id, callNumber: late.number, amount: '5000.00' }]);
    expect(second.unallocated).toBe('7000.00');

    const lateNow = await h.http.get(api(`/funds/${fund.id}/capital-calls/${late.id}`)).set(fund.admin.auth);
    expect(itemOf(lateNow.body, member)).toMatchObject({ due: '20000.00', paid: '20000.00', outstanding: '0.00' });
    const earlyNow = await h.http.get(api(`/funds/${fund.id}/capital-calls/${early.id}`)).set(fund.admin.auth);
    expect(itemOf(earlyNow.body, member)).toMatchObject({ due: '10000.00', paid: '10000.00', outstanding: '0.00' });
    expect(await capitalBalance(h, fund.id, member)).toBe('37000.00');
    await expectFundConsistent(h, fund.id);
  });

  test('when the same Idempotency-Key is sent again with the same body, then the first response is replayed and nothing more is posted', async () => {
    const member = await memberWith(h, fund.id, '5000.00');
    const key = randomUUID();
    const body = contributionBody('1000.00');
    const first = await contribute(h, fund.admin, fund.id, member, body, key);
    expect(first.status).toBe(201);
    const before = await capitalSnapshot(h, fund.id);
    const again = await contribute(h, fund.admin, fund.id, member, body, key);
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await capitalSnapshot(h, fund.id)).toEqual(before);
    expect(await capitalBalance(h, fund.id, member)).toBe('1000.00');
    await expectFundConsistent(h, fund.id);
  });

  test('when the same Idempotency-Key comes with another body, then it is a 409 and nothing changes', async () => {
    const member = await memberWith(h, fund.id, '5000.00');
    const key = randomUUID();
    expect((await contribute(h, fund.admin, fund.id, member, contributionBody('100.00'), key)).status).toBe(201);
    const before = await capitalSnapshot(h, fund.id);
    const response = await contribute(h, fund.admin, fund.id, member, contributionBody('200.00'), key);
    expectProblem(response, 409, 'idempotency_key_reused');
    expect(await capitalSnapshot(h, fund.id)).toEqual(before);
  });

  test('when the Idempotency-Key is missing, then it is a 400 and nothing changes', async () => {
    const member = await memberWith(h, fund.id, '5000.00');
    const before = await capitalSnapshot(h, fund.id);
    const response = await h.http
      .post(api(`/funds/${fund.id}/members/${member}/contributions`))
      .set(fund.admin.auth)
      .send(contributionBody('100.00'));
    expectProblem(response, 400, 'idempotency_key_required');
    expect(await capitalSnapshot(h, fund.id)).toEqual(before);
  });

  test('when two contributions for one member arrive together and only one fits the subscription, then exactly one is recorded', async () => {
    const member = await memberWith(h, fund.id, '1000.00');
    const responses = await Promise.all([
      contribute(h, fund.admin, fund.id, member, contributionBody('600.00')),
      contribute(h, fund.admin, fund.id, member, contributionBody('600.00')),
    ]);
    expect(responses.map((response) => response.status).sort()).toEqual([201, 422]);
    const refused = responses.find((response) => response.status === 422)!;
    expectProblem(refused, 422, 'contribution_exceeds_subscription');
    expect(refused.body).toMatchObject({ subscribed: '1000.00', paidIn: '600.00', amount: '600.00' });
    expect(await capitalBalance(h, fund.id, member)).toBe('600.00');
    await expectFundConsistent(h, fund.id);
  });
  test('when two members’ contributions with one bank reference arrive together, then one is recorded and the other is a 409', async () => {
    const [one, two] = [await memberWith(h, fund.id, '1000.00'), await memberWith(h, fund.id, '1000.00')];
    const bankReference = `RACE-${randomUUID()}`;
    const before = await capitalSnapshot(h, fund.id);
    const responses = await Promise.all([
      contribute(h, fund.admin, fund.id, one, contributionBody('100.00', { bankReference })),
      contribute(h, fund.admin, fund.id, two, contributionBody('100.00', { bankReference })),
    ]);
    expect(responses.map((response) => response.status).sort()).toEqual([201, 409]);
    expectProblem(
      responses.find((response) => response.status === 409)!,
      409,
      'bank_reference_taken',
    );
    const after = await capitalSnapshot(h, fund.id);
    expect([after.contributions - before.contributions, after.entries - before.entries]).toEqual([1, 1]);
    await expectFundConsistent(h, fund.id);
  });
});

describe('refused contributions', () => {
  let fund: TestFund;
  let member: string;
  beforeAll(async () => {
    fund = await createFund(h);
    member = await memberWith(h, fund.id, '10000.00');
    await contributed(h, fund.admin, fund.id, member, '9000.00', { bankReference: 'CMB-TAKEN-001' });
  });

  async function expectRefused(
    send: () => Promise<import('supertest').Response>,
    status: number,
    code: string,
  ): Promise<import('supertest').Response> {
    const before = await capitalSnapshot(h, fund.id);
    const response = await send();
    expectProblem(response, status, code);
    expect(await capitalSnapshot(h, fund.id)).toEqual(before);
    await expectFundConsistent(h, fund.id);
    return response;
  }

  test('when paid-in capital would exceed the subscription, then it is a 422 with the figures and nothing changes', async () => {
    const response = await expectRefused(
      () => contribute(h, fund.admin, fund.id, member, contributionBody('1000.01')),
      422,
      'contribution_exceeds_subscription',
    );
    expect(response.body).toMatchObject({
      subscribed: '10000.00',
      paidIn: '9000.00',
      amount: '1000.01',
      room: '1000.00',
    });
    // Exactly up to the subscription is fine.
    await contributed(h, fund.admin, fund.id, member, '1000.00');
    expect(await capitalBalance(h, fund.id, member)).toBe('10000.00');
  });

  test('when paid-in capital includes an earlier period allocation, then the check counts it', async () => {
    const other = await memberWith(h, fund.id, '1000.00');
    // A surplus allocation of 300.00 credited to the member's capital (by a manual entry here).
    await fundPool(h, fund, '300.00', other);
    await expectRefused(
      () => contribute(h, fund.admin, fund.id, other, contributionBody('700.01')),
      422,
      'contribution_exceeds_subscription',
    );
    await contributed(h, fund.admin, fund.id, other, '700.00');
  });

  test('when the member has exited, then it is a 422 and nothing changes', async () => {
    const exited = await memberWith(h, fund.id, '10000.00', 'exited');
    await expectRefused(
      () => contribute(h, fund.admin, fund.id, exited, contributionBody('100.00')),
      422,
      'member_exited',
    );
  });

  test('when the member does not exist in the fund, then it is a 404 and nothing changes', async () => {
    const elsewhere = await createFund(h);
    const foreign = await createMember(h, elsewhere.id);
    for (const id of [randomUUID(), foreign]) {
      await expectRefused(
        () => contribute(h, fund.admin, fund.id, id, contributionBody('100.00')),
        404,
        'member_not_found',
      );
    }
  });

  test('when the amount has 3 decimals, is zero, negative or a number, then it is a 400 naming /amount and nothing changes', async () => {
    for (const amount of ['100.005', '0', '0.00', '-5.00', 100, '1e3', '']) {
      const response = await expectRefused(
        () => contribute(h, fund.admin, fund.id, member, contributionBody('1.00', { amount })),
        400,
        'validation_failed',
      );
      expect(response.body.errors).toEqual([expect.objectContaining({ in: 'body', pointer: '/amount' })]);
    }
  });

  test('when the money is received after today in the fund’s time zone, then it is a 400 and nothing changes', async () => {
    const response = await expectRefused(
      () => contribute(h, fund.admin, fund.id, member, contributionBody('1.00', { receivedOn: '2026-06-16' })),
      400,
      'received_on_in_future',
    );
    expect(response.body).toMatchObject({ receivedOn: '2026-06-16', today: TEST_TODAY });
  });

  test('when the bank reference was recorded before in the fund, for any member, then it is a 409 and nothing changes', async () => {
    const other = await memberWith(h, fund.id, '10000.00');
    for (const who of [member, other]) {
      const response = await expectRefused(
        () => contribute(h, fund.admin, fund.id, who, contributionBody('1.00', { bankReference: 'CMB-TAKEN-001' })),
        409,
        'bank_reference_taken',
      );
      expect(response.body).toMatchObject({ bankReference: 'CMB-TAKEN-001' });
    }
  });

  test('when the bank reference is empty or longer than 100 characters, then it is a 400 and nothing changes', async () => {
    for (const bankReference of ['', '   ', 'x'.repeat(101)]) {
      const response = await expectRefused(
        () => contribute(h, fund.admin, fund.id, member, contributionBody('1.00', { bankReference })),
        400,
        'validation_failed',
      );
      expect(response.body.errors).toEqual([expect.objectContaining({ pointer: '/bankReference' })]);
    }
  });

  test('when the same bank reference is used in another fund, then it is accepted there', async () => {
    const other = await createFund(h);
    const someone = await memberWith(h, other.id, '100.00');
    await contributed(h, other.admin, other.id, someone, '50.00', { bankReference: 'CMB-TAKEN-001' });
    await expectFundConsistent(h, other.id);
  });
});

describe('listing contributions', () => {
  let fund: TestFund;
  let alpha: string;
  let beta: string;
  beforeAll(async () => {
    fund = await createFund(h);
    alpha = await memberWith(h, fund.id, '100000.00');
    beta = await memberWith(h, fund.id, '100000.00');
    await contributed(h, fund.admin, fund.id, alpha, '100.00', { receivedOn: '2026-01-05' });
    await contributed(h, fund.admin, fund.id, alpha, '200.00', { receivedOn: '2026-03-05' });
    await contributed(h, fund.admin, fund.id, alpha, '300.00', { receivedOn: '2026-05-05' });
    await contributed(h, fund.admin, fund.id, beta, '400.00', { receivedOn: '2026-04-05' });
  });

  test('when a member’s contributions are read page by page, then every one comes once, newest first', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const response = await h.http
        .get(api(`/funds/${fund.id}/members/${alpha}/contributions`))
        .query({ limit: 2, ...(cursor ? { cursor } : {}) })
        .set(fund.admin.auth);
      expect(response.status).toBe(200);
      seen.push(...(response.body.items as { amount: string }[]).map((item) => item.amount));
      cursor = response.body.nextCursor as string | null;
    } while (cursor !== null);
    expect(seen).toEqual(['300.00', '200.00', '100.00']);
  });

  test('when the fund’s contributions are filtered by member and dates, then only those match', async () => {
    const all = await h.http.get(api(`/funds/${fund.id}/contributions`)).set(fund.admin.auth);
    expect((all.body.items as { amount: string }[]).map((item) => item.amount)).toEqual([
      '300.00',
      '400.00',
      '200.00',
      '100.00',
    ]);
    const ranged = await h.http
      .get(api(`/funds/${fund.id}/contributions`))
      .query({ from: '2026-03-01', to: '2026-04-30' })
      .set(fund.admin.auth);
    expect((ranged.body.items as { amount: string }[]).map((item) => item.amount)).toEqual(['400.00', '200.00']);
    const ofBeta = await h.http
      .get(api(`/funds/${fund.id}/contributions`))
      .query({ memberId: beta })
      .set(fund.admin.auth);
    expect((ofBeta.body.items as { memberId: string }[]).map((item) => item.memberId)).toEqual([beta]);
    const backwards = await h.http
      .get(api(`/funds/${fund.id}/contributions`))
      .query({ from: '2026-05-01', to: '2026-04-01' })
      .set(fund.admin.auth);
    expectProblem(backwards, 400, 'validation_failed');
  });

  test('when a member does not exist, then its contributions are a 404', async () => {
    const response = await h.http
      .get(api(`/funds/${fund.id}/members/${randomUUID()}/contributions`))
      .set(fund.admin.auth);
    expectProblem(response, 404, 'member_not_found');
  });

  test('when the cursor is not one the endpoint issued, then it is a 400', async () => {
    const response = await h.http
      .get(api(`/funds/${fund.id}/contributions`))
      .query({ cursor: 'bm90LWEtY3Vyc29y' })
      .set(fund.admin.auth);
    expectProblem(response, 400, 'invalid_cursor');
  });
});
