import { randomUUID } from 'node:crypto';
import { Money } from '../../../src/money/money';
import { capitalAccount, createMember } from '../../helpers/factories';
import type { Harness, TestUser } from '../../helpers/harness';
import { snapshot, type FundSnapshot } from '../../helpers/invariants';

/** Shared pieces of the capital tests (not a test file itself). */

export const api = (path: string): string => `/api/v1${path}`;

/**
 * A member with a subscription. The members API is built elsewhere, so the factory inserts the row
 * and the subscription (and status) are set in SQL.
 */
export async function memberWith(
  h: Harness,
  fundId: string,
  subscribed: string,
  status: 'active' | 'suspended' | 'exited' = 'active',
): Promise<string> {
  const memberId = await createMember(h, fundId);
  await h.db('members').where({ fund_id: fundId, id: memberId }).update({ subscribed_amount: subscribed, status });
  return memberId;
}

let bankSequence = 0;
/** A bank reference no other test uses. */
export function bankRef(): string {
  bankSequence += 1;
  return `BANK-${process.env.JEST_WORKER_ID ?? '0'}-${bankSequence}-${randomUUID().slice(0, 8)}`;
}

export function contributionBody(amount: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { amount, receivedOn: '2026-06-01', bankReference: bankRef(), ...overrides };
}

export function contribute(
  h: Harness,
  user: TestUser,
  fundId: string,
  memberId: string,
  body: Record<string, unknown>,
  key: string = randomUUID(),
) {
  return h.http
    .post(api(`/funds/${fundId}/members/${memberId}/contributions`))
    .set(user.auth)
    .set('Idempotency-Key', key)
    .send(body);
}

/** POSTs a contribution and fails the test unless it is accepted. */
export async function contributed(
  h: Harness,
  user: TestUser,
  fundId: string,
  memberId: string,
  amount: string,
  overrides: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const response = await contribute(h, user, fundId, memberId, contributionBody(amount, overrides));
  if (response.status !== 201) throw new Error(`contribution failed: ${response.status} ${response.text}`);
  return response.body as Record<string, unknown>;
}

export function createCall(h: Harness, user: TestUser, fundId: string, body: Record<string, unknown>, key?: string) {
  const request = h.http.post(api(`/funds/${fundId}/capital-calls`)).set(user.auth);
  if (key !== undefined) request.set('Idempotency-Key', key);
  return request.send(body);
}

export async function called(
  h: Harness,
  user: TestUser,
  fundId: string,
  body: Record<string, unknown>,
): Promise<CallBody> {
  const response = await createCall(h, user, fundId, body);
  if (response.status !== 201) throw new Error(`call failed: ${response.status} ${response.text}`);
  return response.body as CallBody;
}

export interface CallItemBody {
  memberId: string;
  memberName: string;
  due: string;
  paid: string;
  outstanding: string;
  overdue: boolean;
}

export interface CallBody {
  id: string;
  number: number;
  status: string;
  dueOn: string;
  totals: { due: string; paid: string; outstanding: string };
  items: CallItemBody[];
}

export function itemOf(call: CallBody, memberId: string): CallItemBody | undefined {
  return call.items.find((item) => item.memberId === memberId);
}

/** Balance of the member's capital account, read from the table (0.00 when it has none). */
export async function capitalBalance(h: Harness, fundId: string, memberId: string): Promise<string> {
  const row = (await h
    .db('accounts as a')
    .join('account_balances as b', 'b.account_id', 'a.id')
    .where({ 'a.fund_id': fundId, 'a.member_id': memberId, 'a.base_code': '3001' })
    .first('b.balance')) as { balance: string } | undefined;
  return new Money(row?.balance ?? 0).toFixed(2);
}

export async function poolCash(h: Harness, fundId: string): Promise<string> {
  const row = (await h
    .db('accounts as a')
    .join('account_balances as b', 'b.account_id', 'a.id')
    .where({ 'a.fund_id': fundId, 'a.code': '1001' })
    .first('b.balance')) as { balance: string };
  return new Money(row.balance).toFixed(2);
}

export interface CapitalSnapshot extends FundSnapshot {
  contributions: number;
  allocations: number;
  calls: number;
  callItems: number;
  accounts: number;
}

/** What a refused capital request must leave as it was: the ledger, audit and keys, and this feature's rows. */
export async function capitalSnapshot(h: Harness, fundId: string): Promise<CapitalSnapshot> {
  const count = async (query: PromiseLike<unknown[]>): Promise<number> => Number(((await query)[0] as { n: string }).n);
  return {
    ...(await snapshot(h, fundId)),
    contributions: await count(h.db('contributions').where({ fund_id: fundId }).count({ n: '*' })),
    allocations: await count(
      h
        .db('contribution_allocations as al')
        .join('contributions as k', 'k.id', 'al.contribution_id')
        .where('k.fund_id', fundId)
        .count({ n: '*' }),
    ),
    calls: await count(h.db('capital_calls').where({ fund_id: fundId }).count({ n: '*' })),
    callItems: await count(h.db('capital_call_items').where({ fund_id: fundId }).count({ n: '*' })),
    accounts: await count(h.db('accounts').where({ fund_id: fundId }).count({ n: '*' })),
  };
}

export { capitalAccount, randomUUID };
