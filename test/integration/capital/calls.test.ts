import { createFund, type TestFund } from '../../helpers/factories';
import { makeUser, startHarness, TEST_TODAY, type Harness, type TestUser } from '../../helpers/harness';
import { expectFundConsistent } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';
import { callItemsOfMember } from '../../../src/capital/capital.repo';
import {
  api,
  called,
  capitalSnapshot,
  contributed,
  createCall,
  itemOf,
  memberWith,
  randomUUID,
  type CallBody,
} from './capital.helpers';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const DEFAULT_INSTANT = '2026-06-15T04:00:00.000Z';

async function getCall(fund: TestFund, callId: string, user: TestUser = fund.admin): Promise<CallBody> {
  const response = await h.http.get(api(`/funds/${fund.id}/capital-calls/${callId}`)).set(user.auth);
  expect(response.status).toBe(200);
  return response.body as CallBody;
}

describe('making a capital call', () => {
  test('when a call is made, then each member owes subscription × percent rounded half up to the cent', async () => {
    const fund = await createFund(h);
    const halfCent = await memberWith(h, fund.id, '100.05'); // 50 % → 50.025 → 50.03 (half up, not to even)
    const thirds = await memberWith(h, fund.id, '333.33'); // 33.3333 % → 111.109... → 111.11
    const round = await memberWith(h, fund.id, '1000000.00');
    const response = await createCall(h, fund.admin, fund.id, { percent: '50', dueOn: '2026-07-31', memo: '第一期' });
    expect(response.status).toBe(201);
    const call = response.body as CallBody;
    expect(call).toMatchObject({
      fundId: fund.id,
      number: 1,
      percent: '50',
      calledOn: TEST_TODAY,
      dueOn: '2026-07-31',
      memo: '第一期',
      status: 'open',
      createdBy: fund.admin.id,
      totals: { due: '500216.70', paid: '0.00', outstanding: '500216.70' },
    });
    expect(itemOf(call, halfCent)).toEqual({
      memberId: halfCent,
      memberName: expect.stringMatching(/^会员企业/),
      due: '50.03',
      paid: '0.00',
      outstanding: '50.03',
      overdue: false,
    });
    expect(itemOf(call, round)?.due).toBe('500000.00');
    expect(itemOf(call, thirds)?.due).toBe('166.67'); // 333.33 × 50 % = 166.665 → 166.67

    const second = await called(h, fund.admin, fund.id, { percent: '33.3333', dueOn: '2026-08-31' });
    expect(second.number).toBe(2);
    expect(itemOf(second, thirds)?.due).toBe('111.11');
    expect(itemOf(second, halfCent)?.due).toBe('33.35'); // 100.05 × 33.3333 % = 33.349... → 33.35
    expect(await getCall(fund, call.id)).toEqual(call);
    const audit = await h.db('audit_log').where({ fund_id: fund.id, target_id: call.id }).first();
    expect(audit).toMatchObject({ action: 'capital.call.create', target_type: 'capital_call' });
    await expectFundConsistent(h, fund.id);
  });

  test('when a member has little uncalled room, then its due amount is capped at subscription − paid-in − outstanding', async () => {
    const fund = await createFund(h);
    const mostlyPaid = await memberWith(h, fund.id, '1000.00');
    await contributed(h, fund.admin, fund.id, mostlyPaid, '900.00');
    const fresh = await memberWith(h, fund.id, '1000.00');
    const first = await called(h, fund.admin, fund.id, { percent: '60', dueOn: '2026-07-31' });
    expect(itemOf(first, mostlyPaid)?.due).toBe('100.00');
    expect(itemOf(first, fresh)?.due).toBe('600.00');

    // The fresh member still owes 600.00 on the first call: only 400.00 is left to call.
    const second = await called(h, fund.admin, fund.id, { percent: '60', dueOn: '2026-08-31' });
    expect(itemOf(second, fresh)?.due).toBe('400.00');
    expect(itemOf(second, mostlyPaid)).toBeUndefined();
    expect(second.items).toHaveLength(1);
    await expectFundConsistent(h, fund.id);
  });

  test('when members have exited or subscribed nothing, then they get no item; suspended members do', async () => {
    const fund = await createFund(h);
    const active = await memberWith(h, fund.id, '1000.00');
    const suspended = await memberWith(h, fund.id, '1000.00', 'suspended');
    const exited = await memberWith(h, fund.id, '1000.00', 'exited');
    const nothing = await memberWith(h, fund.id, '0.00');
    const call = await called(h, fund.admin, fund.id, { percent: '10', dueOn: '2026-07-31' });
    expect(call.items.map((item) => item.memberId).sort()).toEqual([active, suspended].sort());
    expect(itemOf(call, exited)).toBeUndefined();
    expect(itemOf(call, nothing)).toBeUndefined();
  });

  test('when nobody has room left, then the call is refused with a 422 and nothing changes', async () => {
    const fund = await createFund(h);
    const paid = await memberWith(h, fund.id, '500.00');
    await contributed(h, fund.admin, fund.id, paid, '500.00');
    await memberWith(h, fund.id, '500.00', 'exited');
    const before = await capitalSnapshot(h, fund.id);
    const response = await createCall(h, fund.admin, fund.id, { percent: '10', dueOn: '2026-07-31' });
    expectProblem(response, 422, 'nothing_to_call');
    expect(await capitalSnapshot(h, fund.id)).toEqual(before);
  });

  test('when the input is not valid, then it is a 400 naming the field and nothing changes', async () => {
    const fund = await createFund(h);
    await memberWith(h, fund.id, '1000.00');
    const before = await capitalSnapshot(h, fund.id);
    const cases: [Record<string, unknown>, string][] = [
      [{ percent: '12.34567', dueOn: '2026-07-31' }, '/percent'],
      [{ percent: '0', dueOn: '2026-07-31' }, '/percent'],
      [{ percent: '100.01', dueOn: '2026-07-31' }, '/percent'],
      [{ percent: 10, dueOn: '2026-07-31' }, '/percent'],
      [{ percent: '10', dueOn: '2026-02-30' }, '/dueOn'],
      [{ percent: '10' }, '/dueOn'],
      [{ percent: '10', dueOn: '2026-07-31', extra: true }, ''],
    ];
    for (const [body, pointer] of cases) {
      const response = await createCall(h, fund.admin, fund.id, body);
      expectProblem(response, 400, 'validation_failed');
      expect((response.body.errors as { pointer: string }[])[0]!.pointer).toBe(pointer);
    }
    expectProblem(
      await createCall(h, fund.admin, fund.id, { percent: '10', calledOn: '2026-06-10', dueOn: '2026-06-09' }),
      400,
      'due_before_call',
    );
    expectProblem(
      await createCall(h, fund.admin, fund.id, { percent: '10', calledOn: '2026-06-16', dueOn: '2026-07-31' }),
      400,
      'called_on_in_future',
    );
    expect(await capitalSnapshot(h, fund.id)).toEqual(before);
  });

  test('when a call is sent again with the same Idempotency-Key, then the first call is replayed, not made twice', async () => {
    const fund = await createFund(h);
    await memberWith(h, fund.id, '1000.00');
    const key = randomUUID();
    const body = { percent: '10', dueOn: '2026-07-31' };
    const first = await createCall(h, fund.admin, fund.id, body, key);
    const again = await createCall(h, fund.admin, fund.id, body, key);
    expect([first.status, again.status]).toEqual([201, 201]);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await h.db('capital_calls').where({ fund_id: fund.id }).count({ n: '*' })).toEqual([{ n: '1' }]);
  });

  test('when two calls are made at once, then they get consecutive numbers and the second respects the first', async () => {
    const fund = await createFund(h);
    const member = await memberWith(h, fund.id, '1000.00');
    const responses = await Promise.all([
      createCall(h, fund.admin, fund.id, { percent: '70', dueOn: '2026-07-31' }),
      createCall(h, fund.admin, fund.id, { percent: '70', dueOn: '2026-07-31' }),
    ]);
    expect(responses.map((response) => response.status)).toEqual([201, 201]);
    const calls = responses.map((response) => response.body as CallBody).sort((a, b) => a.number - b.number);
    expect(calls.map((call) => call.number)).toEqual([1, 2]);
    expect(calls.map((call) => itemOf(call, member)?.due)).toEqual(['700.00', '300.00']);
  });
});

describe('a call as contributions come in and time passes', () => {
  let fund: TestFund;
  let alpha: string;
  let beta: string;
  let call: CallBody;
  beforeAll(async () => {
    fund = await createFund(h);
    alpha = await memberWith(h, fund.id, '10000.00');
    beta = await memberWith(h, fund.id, '20000.00');
    call = await called(h, fund.admin, fund.id, { percent: '25', dueOn: '2026-06-30' });
  });
  afterEach(() => {
    h.clock.set(DEFAULT_INSTANT);
  });

  test('when members pay, then paid and outstanding follow, and the call is settled once nothing is owed', async () => {
    await contributed(h, fund.admin, fund.id, alpha, '1000.00');
    let now = await getCall(fund, call.id);
    expect(itemOf(now, alpha)).toMatchObject({ due: '2500.00', paid: '1000.00', outstanding: '1500.00' });
    expect(now.totals).toEqual({ due: '7500.00', paid: '1000.00', outstanding: '6500.00' });
    expect(now.status).toBe('open');

    await contributed(h, fund.admin, fund.id, alpha, '2000.00');
    await contributed(h, fund.admin, fund.id, beta, '5000.00');
    now = await getCall(fund, call.id);
    expect(itemOf(now, alpha)).toMatchObject({ paid: '2500.00', outstanding: '0.00', overdue: false });
    expect(itemOf(now, beta)).toMatchObject({ paid: '5000.00', outstanding: '0.00' });
    expect(now.status).toBe('settled');
    expect(await callItemsOfMember(h.db, fund.id, alpha)).toEqual([
      {
        callId: call.id,
        callNumber: 1,
        percent: '25',
        calledOn: TEST_TODAY,
        dueOn: '2026-06-30',
        memo: null,
        due: '2500.00',
        paid: '2500.00',
        outstanding: '0.00',
      },
    ]);
    // As of a day before the call was made, there was no call to owe on.
    expect(await callItemsOfMember(h.db, fund.id, alpha, '2026-05-31')).toEqual([]);
    await expectFundConsistent(h, fund.id);
  });

  test('when the clock passes the due date with money still owed, then the item and the call are overdue', async () => {
    const late = await called(h, fund.admin, fund.id, { percent: '10', dueOn: '2026-06-20' });
    await contributed(h, fund.admin, fund.id, alpha, '1000.00');
    // Tokens live shorter than days: each moment gets a user whose token was issued then.
    h.clock.set('2026-06-20T15:59:00.000Z'); // 23:59 on the due date in Shanghai: not yet overdue
    let now = await getCall(fund, late.id, await makeUser(h, 'admin'));
    expect(now.status).toBe('open');
    expect(itemOf(now, beta)?.overdue).toBe(false);

    h.clock.set('2026-06-20T16:00:00.000Z'); // 00:00 the day after, in Shanghai
    const admin = await makeUser(h, 'admin');
    now = await getCall(fund, late.id, admin);
    expect(now.status).toBe('overdue');
    expect(itemOf(now, alpha)).toMatchObject({ outstanding: '0.00', overdue: false });
    expect(itemOf(now, beta)).toMatchObject({ due: '2000.00', outstanding: '2000.00', overdue: true });
    const list = await h.http.get(api(`/funds/${fund.id}/capital-calls`)).set(admin.auth);
    expect((list.body.items as { number: number; status: string }[]).map((item) => [item.number, item.status])).toEqual(
      [
        [late.number, 'overdue'],
        [call.number, 'settled'],
      ],
    );
  });

  test('when calls are listed page by page, then each comes once, newest first, with its totals', async () => {
    const numbers: number[] = [];
    let cursor: string | null = null;
    do {
      const response = await h.http
        .get(api(`/funds/${fund.id}/capital-calls`))
        .query({ limit: 1, ...(cursor ? { cursor } : {}) })
        .set(fund.admin.auth);
      expect(response.status).toBe(200);
      numbers.push(...(response.body.items as { number: number }[]).map((item) => item.number));
      cursor = response.body.nextCursor as string | null;
    } while (cursor !== null);
    expect(numbers).toEqual([2, 1]);
  });

  test('when a call does not exist in the fund, then it is a 404', async () => {
    const response = await h.http.get(api(`/funds/${fund.id}/capital-calls/${randomUUID()}`)).set(fund.admin.auth);
    expectProblem(response, 404, 'capital_call_not_found');
  });
});
