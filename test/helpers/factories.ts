import { randomUUID } from 'node:crypto';
import { SYSTEM_ACTOR } from '../../src/auth/principal';
import { inTransaction } from '../../src/db/transaction';
import type { PostEntryInput } from '../../src/ledger/ledger.types';
import { insertMember } from '../../src/members/members.repo';
import { type Harness, makeUser, TEST_TODAY, type TestUser, unique } from './harness';

export interface TestFund {
  id: string;
  /** Account ids by chart code, for the fund-level accounts. */
  accounts: Record<string, string>;
  /** A platform administrator (not bound to a fund). */
  admin: TestUser;
}

/** A fund created through the API by a platform administrator. */
export async function createFund(h: Harness, admin?: TestUser): Promise<TestFund> {
  const platformAdmin = admin ?? (await makeUser(h, 'admin'));
  const response = await h.http
    .post('/api/v1/funds')
    .set(platformAdmin.auth)
    .send({ name: unique('Fund ') });
  if (response.status !== 201) throw new Error(`fund creation failed: ${response.status} ${response.text}`);
  const fundId = response.body.id as string;
  return { id: fundId, accounts: await accountIdsByCode(h, fundId), admin: platformAdmin };
}

export async function accountIdsByCode(h: Harness, fundId: string): Promise<Record<string, string>> {
  const rows = (await h.db('accounts').where({ fund_id: fundId }).select('id', 'code')) as {
    id: string;
    code: string;
  }[];
  return Object.fromEntries(rows.map((row) => [row.code, row.id]));
}

/**
 * A member row written straight to the table (no credit code, joined long before TEST_TODAY so no
 * lock-up applies): for tests about other features. Member tests use the API.
 */
export async function createMember(h: Harness, fundId: string, joinedOn = '2020-01-01'): Promise<string> {
  return inTransaction(
    h.db,
    async (trx) => (await insertMember(trx, { fund_id: fundId, name: unique('会员企业'), joined_on: joinedOn })).id,
  );
}

/** The member's capital account (3001:<member>), created on demand like the services do. */
export async function capitalAccount(h: Harness, fundId: string, memberId: string): Promise<string> {
  return inTransaction(
    h.db,
    async (trx) => (await h.services.ledger.ensureSubAccount(trx, fundId, '3001', { memberId })).id,
  );
}

export interface Line {
  accountId?: string;
  accountCode?: string;
  side: 'debit' | 'credit';
  amount: string;
  memo?: string;
}

export function entryBody(lines: Line[], overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { effectiveDate: TEST_TODAY, kind: 'manual.adjustment', memo: 'test entry', lines, ...overrides };
}

/** A bank charge paid from pool cash: the simplest entry that moves money out of the pool. */
export function bankCharge(amount: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return entryBody(
    [
      { accountCode: '5002', side: 'debit', amount },
      { accountCode: '1001', side: 'credit', amount },
    ],
    { kind: 'manual.bank_charge', ...overrides },
  );
}

/** The same bank charge as an input to the ledger service (Dr 5002 / Cr 1001), by the system. */
export function bankChargeInput(fund: TestFund, amount: string, idempotencyKey?: string): PostEntryInput {
  return {
    fundId: fund.id,
    effectiveDate: TEST_TODAY,
    kind: 'manual.bank_charge',
    memo: `bank charge ${amount}`,
    idempotencyKey,
    actor: SYSTEM_ACTOR,
    lines: [
      { accountId: fund.accounts['5002']!, side: 'debit', amount },
      { accountId: fund.accounts['1001']!, side: 'credit', amount },
    ],
  };
}

/** POSTs a manual entry with a fresh Idempotency-Key unless one is given. */
export function postEntry(
  h: Harness,
  user: TestUser,
  fundId: string,
  body: Record<string, unknown>,
  key: string = randomUUID(),
) {
  return h.http.post(`/api/v1/funds/${fundId}/entries`).set(user.auth).set('Idempotency-Key', key).send(body);
}

/** Cash into the pool against a member's capital: the usual way money enters a test fund. */
export async function fundPool(
  h: Harness,
  fund: TestFund,
  amount: string,
  memberId?: string,
  effectiveDate = TEST_TODAY,
): Promise<string> {
  const member = memberId ?? (await createMember(h, fund.id));
  const capital = await capitalAccount(h, fund.id, member);
  const response = await postEntry(
    h,
    fund.admin,
    fund.id,
    entryBody(
      [
        { accountCode: '1001', side: 'debit', amount },
        { accountId: capital, side: 'credit', amount },
      ],
      { kind: 'manual.opening_balance', effectiveDate },
    ),
  );
  if (response.status !== 201) throw new Error(`funding failed: ${response.status} ${response.text}`);
  return capital;
}

export { randomUUID };
