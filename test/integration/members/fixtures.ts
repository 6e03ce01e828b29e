import { randomBytes } from 'node:crypto';
import type { Response } from 'supertest';
import { CREDIT_CODE_CHARSET, creditCodeCheckChar } from '../../../src/members/credit-code';
import { accountIdsByCode, type TestFund } from '../../helpers/factories';
import { type Harness, makeUser, type TestUser, unique } from '../../helpers/harness';
import { snapshot } from '../../helpers/invariants';

export const api = (path: string): string => `/api/v1${path}`;

/** A valid credit code no other test uses: a Fuzhou division and 9 random charset characters. */
export function creditCode(): string {
  const organization = [...randomBytes(9)].map((byte) => CREDIT_CODE_CHARSET[byte % CREDIT_CODE_CHARSET.length]);
  const body = `91350100${organization.join('')}`;
  return body + creditCodeCheckChar(body);
}

/** The same code with its check character replaced by another one: well-formed, wrong check. */
export function withWrongCheck(code: string): string {
  const check = code[17]!;
  const other = CREDIT_CODE_CHARSET[(CREDIT_CODE_CHARSET.indexOf(check) + 1) % CREDIT_CODE_CHARSET.length]!;
  return code.slice(0, 17) + other;
}

export function memberBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: unique('福州陶瓷有限公司'), creditCode: creditCode(), ...overrides };
}

/** A fund established on 2024-01-01, so members may be registered with past joining dates. */
export async function createOldFund(h: Harness, admin?: TestUser): Promise<TestFund> {
  const platformAdmin = admin ?? (await makeUser(h, 'admin'));
  const response = await h.http
    .post(api('/funds'))
    .set(platformAdmin.auth)
    .send({ name: unique('Fund '), establishedOn: '2024-01-01' });
  if (response.status !== 201) throw new Error(`fund creation failed: ${response.status} ${response.text}`);
  const fundId = response.body.id as string;
  return { id: fundId, accounts: await accountIdsByCode(h, fundId), admin: platformAdmin };
}

export function postMember(h: Harness, user: TestUser, fundId: string, body: Record<string, unknown>) {
  return h.http
    .post(api(`/funds/${fundId}/members`))
    .set(user.auth)
    .send(body);
}

/** Registers a member through the API and returns its view. */
export async function registerMember(
  h: Harness,
  fund: TestFund,
  overrides: Record<string, unknown> = {},
): Promise<Record<string, unknown> & { id: string; version: number }> {
  const response = await postMember(h, fund.admin, fund.id, memberBody(overrides));
  if (response.status !== 201) throw new Error(`member registration failed: ${response.status} ${response.text}`);
  return response.body as Record<string, unknown> & { id: string; version: number };
}

/** Everything a refused member request must leave as it was: the register, users and the fund. */
export async function memberState(h: Harness, fundId: string) {
  return {
    fund: await snapshot(h, fundId),
    members: await h.db('members').where({ fund_id: fundId }).orderBy('id').select('*'),
    users: await h.db('users').where({ fund_id: fundId }).orderBy('id').select('*'),
  };
}

export async function auditRows(h: Harness, fundId: string, action: string, targetId: string) {
  // In chain order: the test clock stands still, so timestamps tie.
  return (await h
    .db('audit_log as a')
    .join('audit_links as l', 'l.audit_id', 'a.id')
    .where({ 'a.fund_id': fundId, 'a.action': action, 'a.target_id': targetId })
    .orderBy('l.seq')
    .select('a.action', 'a.target_type', 'a.payload', 'a.actor_id')) as {
    action: string;
    target_type: string;
    payload: Record<string, unknown>;
    actor_id: string | null;
  }[];
}

/** The JSON Pointers a validation failure names. */
export function pointersOf(response: Response): string[] {
  return ((response.body as { errors?: { pointer: string }[] }).errors ?? []).map((error) => error.pointer);
}
