import { bankCharge, createFund, postEntry, type TestFund } from '../../helpers/factories';
import { makeUser, startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { expectFundConsistent, snapshot } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';
import {
  api,
  called,
  capitalBalance,
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

function reverse(fund: TestFund, contributionId: string, body: Record<string, unknown>, key: string = randomUUID()) {
  return h.http
    .post(api(`/funds/${fund.id}/contributions/${contributionId}/reverse`))
    .set(fund.admin.auth)
    .set('Idempotency-Key', key)
    .send(body);
}

describe('reversing a contribution', () => {
  test('when a contribution booked by mistake is reversed, then the money, the call and the bank reference are as before it', async () => {
    const fund = await createFund(h);
    const member = await memberWith(h, fund.id, '10000.00');
    const call = await called(h, fund.admin, fund.id, { percent: '50', calledOn: '2026-06-01', dueOn: '2026-06-30' });
    const wrong = await contributed(h, fund.admin, fund.id, member, '3000.00', { bankReference: 'ICBC-20260610-77' });
    const paid = await h.http.get(api(`/funds/${fund.id}/capital-calls/${call.id}`)).set(fund.admin.auth);
    expect(itemOf(paid.body, member)).toMatchObject({ paid: '3000.00', outstanding: '2000.00' });

    const response = await reverse(fund, wrong.id as string, { reason: '金额误记：应为 2000.00' });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      id: wrong.id,
      reversal: { reversedOn: TEST_TODAY, reason: '金额误记：应为 2000.00' },
    });
    expect(await capitalBalance(h, fund.id, member)).toBe('0.00');
    expect(await poolCash(h, fund.id)).toBe('0.00');
    const entry = await h.http
      .get(api(`/funds/${fund.id}/entries/${response.body.reversal.entryId}`))
      .set(fund.admin.auth);
    expect(entry.body).toMatchObject({ kind: 'reversal', reversesEntryId: wrong.entryId });

    const again = await h.http.get(api(`/funds/${fund.id}/capital-calls/${call.id}`)).set(fund.admin.auth);
    expect(itemOf(again.body, member)).toMatchObject({ due: '5000.00', paid: '0.00', outstanding: '5000.00' });

    // The same transfer is booked again, correctly, under its own bank reference.
    const right = await contributed(h, fund.admin, fund.id, member, '2000.00', { bankReference: 'ICBC-20260610-77' });
    expect(right.allocations).toEqual([{ callId: call.id, callNumber: 1, amount: '2000.00' }]);
    expect(await capitalBalance(h, fund.id, member)).toBe('2000.00');
    await expectFundConsistent(h, fund.id);

    const audit = await h.db('audit_log').where({ fund_id: fund.id, action: 'capital.contribution.reverse' });
    expect(audit).toHaveLength(1);
    expect(audit[0].payload.request.reason).toBe('金额误记：应为 2000.00');
  });

  test('when the reversal is sent again with its key, then it is replayed; a second reversal is a 409', async () => {
    const fund = await createFund(h);
    const member = await memberWith(h, fund.id, '1000.00');
    const contribution = await contributed(h, fund.admin, fund.id, member, '100.00');
    const first = await reverse(fund, contribution.id as string, { reason: 'duplicate' }, 'undo-once');
    const replay = await reverse(fund, contribution.id as string, { reason: 'duplicate' }, 'undo-once');
    expect(replay.status).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
    const before = await snapshot(h, fund.id);
    expectProblem(
      await reverse(fund, contribution.id as string, { reason: 'again' }),
      409,
      'contribution_already_reversed',
    );
    expect(await snapshot(h, fund.id)).toEqual(before);
    await expectFundConsistent(h, fund.id);
  });

  test.each([
    ['no reason', () => ({}), 400, 'validation_failed'],
    ['a date in the future', () => ({ reason: 'r', reversedOn: '2026-06-16' }), 400, 'reversed_on_in_future'],
    [
      'a date before the money came',
      () => ({ reason: 'r', reversedOn: '2026-05-31' }),
      400,
      'reversal_before_original',
    ],
  ])('when the reversal has %s, then it is refused and nothing changes', async (_name, body, status, code) => {
    const fund = await createFund(h);
    const member = await memberWith(h, fund.id, '1000.00');
    const contribution = await contributed(h, fund.admin, fund.id, member, '100.00');
    const before = await snapshot(h, fund.id);
    expectProblem(await reverse(fund, contribution.id as string, body()), status, code);
    expect(await snapshot(h, fund.id)).toEqual(before);
  });

  test('when the money has been spent, then the reversal would overdraw pool cash and is refused', async () => {
    const fund = await createFund(h);
    const member = await memberWith(h, fund.id, '1000.00');
    const contribution = await contributed(h, fund.admin, fund.id, member, '100.00');
    expect((await postEntry(h, fund.admin, fund.id, bankCharge('60.00'))).status).toBe(201);
    const before = await snapshot(h, fund.id);
    expectProblem(await reverse(fund, contribution.id as string, { reason: 'r' }), 422, 'floor_crossed');
    expect(await snapshot(h, fund.id)).toEqual(before);
  });

  test('when an unknown contribution or one of another fund is reversed, then it is a 404', async () => {
    const fund = await createFund(h);
    const other = await createFund(h);
    const member = await memberWith(h, other.id, '1000.00');
    const theirs = await contributed(h, other.admin, other.id, member, '100.00');
    expectProblem(await reverse(fund, randomUUID(), { reason: 'r' }), 404, 'contribution_not_found');
    expectProblem(await reverse(fund, theirs.id as string, { reason: 'r' }), 404, 'contribution_not_found');
  });

  test('when a committee user reverses a contribution, then it is forbidden', async () => {
    const fund = await createFund(h);
    const member = await memberWith(h, fund.id, '1000.00');
    const contribution = await contributed(h, fund.admin, fund.id, member, '100.00');
    const committee = await makeUser(h, 'committee', { fundId: fund.id });
    const response = await h.http
      .post(api(`/funds/${fund.id}/contributions/${contribution.id as string}/reverse`))
      .set(committee.auth)
      .set('Idempotency-Key', randomUUID())
      .send({ reason: 'r' });
    expectProblem(response, 403, 'forbidden');
  });

  test('when a contribution entry is reversed as a manual entry, then it is refused: its feature corrects it', async () => {
    const fund = await createFund(h);
    const member = await memberWith(h, fund.id, '1000.00');
    const contribution = await contributed(h, fund.admin, fund.id, member, '100.00');
    const before = await snapshot(h, fund.id);
    const response = await h.http
      .post(api(`/funds/${fund.id}/entries/${contribution.entryId as string}/reverse`))
      .set(fund.admin.auth)
      .set('Idempotency-Key', randomUUID())
      .send({ effectiveDate: TEST_TODAY, memo: 'undo' });
    expectProblem(response, 422, 'entry_owned_by_feature');
    expect(await snapshot(h, fund.id)).toEqual(before);
  });
});

describe('a contribution dated before the member joined', () => {
  test('when money is recorded as received before the joining date, then it is refused and nothing changes', async () => {
    const fund = await createFund(h);
    const member = await memberWith(h, fund.id, '1000.00');
    await h.db('members').where({ id: member }).update({ joined_on: '2026-06-10' });
    const before = await snapshot(h, fund.id);
    const response = await contribute(
      h,
      fund.admin,
      fund.id,
      member,
      contributionBody('100.00', { receivedOn: '2026-06-09' }),
    );
    expectProblem(response, 422, 'received_before_joining');
    expect(await snapshot(h, fund.id)).toEqual(before);
  });
});
