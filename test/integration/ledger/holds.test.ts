import pino from 'pino';
import type { Actor } from '../../../src/auth/principal';
import { inTransaction } from '../../../src/db/transaction';
import { AppError } from '../../../src/errors';
import { releaseExpiredHolds } from '../../../src/jobs/jobs';
import type { PostEntryInput } from '../../../src/ledger/ledger.types';
import { createFund, entryBody, fundPool, postEntry, type TestFund } from '../../helpers/factories';
import { startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { expectFundConsistent, snapshot } from '../../helpers/invariants';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const actor: Actor = { userId: null, username: 'test', role: 'system' };
const DAY_MS = 86_400_000;

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof AppError)) throw new Error(`expected a refusal, got ${String(error)}`);
  return error;
}

function placeHold(fund: TestFund, amount: string, days = 14, key?: string) {
  return inTransaction(h.db, (trx) =>
    h.services.ledger.placeHold(trx, {
      fundId: fund.id,
      accountId: fund.accounts['1001']!,
      amount,
      expiresAt: new Date(h.clock.now().getTime() + days * DAY_MS),
      reason: 'loan approval',
      reference: 'loan:test',
      idempotencyKey: key,
      actor,
    }),
  );
}

function disbursement(fund: TestFund, amount: string): PostEntryInput {
  return {
    fundId: fund.id,
    effectiveDate: TEST_TODAY,
    kind: 'loan.disbursement',
    memo: 'disburse the approved loan',
    lines: [
      { accountId: fund.accounts['5002']!, side: 'debit', amount },
      { accountId: fund.accounts['1001']!, side: 'credit', amount },
    ],
    actor,
  };
}

/** Read through the service: tokens issued before the clock moves on would have expired. */
async function pool(fund: TestFund) {
  return (await h.services.ledger.getAccount(h.db, fund.id, fund.accounts['1001']!)).balance;
}

describe('holds on pool cash', () => {
  let fund: TestFund;
  beforeEach(async () => {
    h.clock.set('2026-06-15T04:00:00.000Z');
    fund = await createFund(h);
    await fundPool(h, fund, '1000.00');
  });

  test('when a hold is placed, then available drops by the hold and the posted balance does not', async () => {
    const { hold, replayed } = await placeHold(fund, '600.00');
    expect(replayed).toBe(false);
    expect(hold).toMatchObject({ status: 'pending', amount: '600.00', reference: 'loan:test' });
    expect(await pool(fund)).toMatchObject({ balance: '1000.00', held: '600.00', available: '400.00' });
    await expectFundConsistent(h, fund.id);
  });

  test('when an entry would spend held cash, then the floor counts the hold and refuses it', async () => {
    await placeHold(fund, '600.00');
    const before = await snapshot(h, fund.id);
    const spend = await postEntry(
      h,
      fund.admin,
      fund.id,
      entryBody([
        { accountCode: '5002', side: 'debit', amount: '400.01' },
        { accountCode: '1001', side: 'credit', amount: '400.01' },
      ]),
    );
    expect(spend.status).toBe(422);
    expect(spend.body).toMatchObject({ code: 'floor_crossed', held: '600.00', available: '400.00' });
    expect(await snapshot(h, fund.id)).toEqual(before);
  });

  test('when two holds together would promise more than the pool has, then the second is refused', async () => {
    await placeHold(fund, '700.00');
    const error = await refusal(placeHold(fund, '300.01'));
    expect(error.code).toBe('floor_crossed');
    expect(error.extensions).toMatchObject({ available: '300.00', requested: '300.01' });
    expect(await pool(fund)).toMatchObject({ held: '700.00', available: '300.00' });
  });

  test('when a hold is posted, then the entry takes exactly the held amount and the hold is consumed', async () => {
    const { hold } = await placeHold(fund, '250.00');
    const posted = await inTransaction(h.db, (trx) =>
      h.services.ledger.postHold(trx, hold.id, disbursement(fund, '250.00')),
    );
    expect(posted.hold).toMatchObject({ status: 'posted', entryId: posted.entry.id });
    expect(await pool(fund)).toMatchObject({ balance: '750.00', held: '0.00', available: '750.00' });
    const stored = await h.db('holds').where({ id: hold.id }).first();
    expect(stored).toMatchObject({ status: 'posted', entry_id: posted.entry.id });
    await expectFundConsistent(h, fund.id);
  });

  test('when a hold is posted for another amount, or posted twice, then it is refused', async () => {
    const { hold } = await placeHold(fund, '250.00');
    const before = await snapshot(h, fund.id);
    const partial = await refusal(
      inTransaction(h.db, (trx) => h.services.ledger.postHold(trx, hold.id, disbursement(fund, '249.99'))),
    );
    expect(partial.code).toBe('hold_amount_mismatch');
    expect(await snapshot(h, fund.id)).toEqual(before);
    await inTransaction(h.db, (trx) => h.services.ledger.postHold(trx, hold.id, disbursement(fund, '250.00')));
    const twice = await refusal(
      inTransaction(h.db, (trx) => h.services.ledger.postHold(trx, hold.id, disbursement(fund, '250.00'))),
    );
    expect(twice.code).toBe('hold_not_pending');
  });

  test('when a hold is released, then the amount is available again and the hold cannot be posted', async () => {
    const { hold } = await placeHold(fund, '250.00');
    await inTransaction(h.db, (trx) => h.services.ledger.releaseHold(trx, fund.id, hold.id));
    expect(await pool(fund)).toMatchObject({ balance: '1000.00', held: '0.00' });
    const late = await refusal(
      inTransaction(h.db, (trx) => h.services.ledger.postHold(trx, hold.id, disbursement(fund, '250.00'))),
    );
    expect(late.code).toBe('hold_not_pending');
    await expectFundConsistent(h, fund.id);
  });

  test('when a hold has expired, then it cannot be posted, and the expiry job releases it with an audit record', async () => {
    const { hold } = await placeHold(fund, '250.00', 14);
    h.clock.advance(14 * DAY_MS + 1000);
    const late = await refusal(
      inTransaction(h.db, (trx) => h.services.ledger.postHold(trx, hold.id, disbursement(fund, '250.00'))),
    );
    expect(late.code).toBe('hold_expired');
    expect(await pool(fund)).toMatchObject({ held: '250.00' });

    const result = await releaseExpiredHolds({
      db: h.db,
      clock: h.clock,
      services: h.services,
      logger: pino({ level: 'silent' }),
    });
    expect(result.holds).toBeGreaterThanOrEqual(1);
    expect(await pool(fund)).toMatchObject({ balance: '1000.00', held: '0.00', available: '1000.00' });
    expect(await h.db('holds').where({ id: hold.id }).first()).toMatchObject({ status: 'expired' });
    const audit = await h.db('audit_log').where({ fund_id: fund.id, action: 'ledger.holds.expire' });
    expect(audit).toHaveLength(1);
    expect(audit[0].payload.holds).toEqual([{ id: hold.id, accountId: fund.accounts['1001'], amount: '250.00' }]);
    expect(audit[0]).toMatchObject({ actor_role: 'system', actor_name: 'system' });
    await expectFundConsistent(h, fund.id);
  });

  test('when a hold is placed again with the same idempotency key, then the first hold comes back', async () => {
    const first = await placeHold(fund, '100.00', 14, 'approval-1');
    const again = await placeHold(fund, '100.00', 14, 'approval-1');
    expect(again).toMatchObject({ replayed: true, hold: { id: first.hold.id } });
    expect(await pool(fund)).toMatchObject({ held: '100.00' });
    const conflict = await refusal(placeHold(fund, '100.01', 14, 'approval-1'));
    expect(conflict.code).toBe('ledger_idempotency_conflict');
  });

  test('when a hold has no future expiry or a bad amount, then it is refused', async () => {
    expect((await refusal(placeHold(fund, '10.00', 0))).code).toBe('invalid_hold_expiry');
    expect((await refusal(placeHold(fund, '10.00', 400))).code).toBe('invalid_hold_expiry');
    expect((await refusal(placeHold(fund, '10.001'))).code).toBe('invalid_amount');
    expect((await refusal(placeHold(fund, '0.00'))).code).toBe('amount_not_positive');
    expect(await pool(fund)).toMatchObject({ held: '0.00' });
  });

  test('when holds are listed, then each shows its status, newest last', async () => {
    const { hold: kept } = await placeHold(fund, '10.00');
    const { hold: released } = await placeHold(fund, '20.00');
    await inTransaction(h.db, (trx) => h.services.ledger.releaseHold(trx, fund.id, released.id));
    const response = await h.http.get(`/api/v1/funds/${fund.id}/holds`).set(fund.admin.auth);
    expect(response.status).toBe(200);
    expect(response.body.items.map((item: { id: string; status: string }) => [item.id, item.status])).toEqual([
      [kept.id, 'pending'],
      [released.id, 'released'],
    ]);
    const pending = await h.http
      .get(`/api/v1/funds/${fund.id}/holds`)
      .query({ status: 'pending' })
      .set(fund.admin.auth);
    expect(pending.body.items).toHaveLength(1);
  });
});
