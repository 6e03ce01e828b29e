import { randomUUID } from 'node:crypto';
import type { Harness, TestUser } from '../../helpers/harness';
import { snapshot } from '../../helpers/invariants';
import { committeeWorld, seat, type CommitteeWorld, type Seat } from '../committee/committee.helpers';
import { api, changePolicy } from '../loans/loans.helpers';

/** Shared pieces of the loan extension tests (not a test file itself). */

/**
 * The committee world (four seats bound to members of their own, the first chairing June 2026),
 * lending at 4.35 % a year (ACT/365) with a 0.5 % service fee, plus a fifth seat bound to the
 * guarantor G1: the representative a recusal test needs.
 */
export interface ExtensionWorld extends CommitteeWorld {
  guarantorSeat: Seat;
}

export async function extensionWorld(h: Harness): Promise<ExtensionWorld> {
  const w = await committeeWorld(h, 4);
  const changed = await changePolicy(h, w.fund, { rateAnnual: '0.0435', serviceFeeRate: '0.005', dayCount: 'ACT/365' });
  if (changed.status !== 201) throw new Error(`policy change failed: ${changed.status} ${changed.text}`);
  return { ...w, guarantorSeat: await seat(h, w.fund.id, w.g1) };
}

export function requestExtension(
  h: Harness,
  user: TestUser,
  fundId: string,
  loanId: string,
  body: Record<string, unknown>,
  key: string | null = randomUUID(),
) {
  const call = h.http.post(api(`/funds/${fundId}/loans/${loanId}/extensions`)).set(user.auth);
  if (key !== null) call.set('Idempotency-Key', key);
  return call.send(body);
}

export interface ExtensionBody {
  id: string;
  loanId: string;
  number: number;
  status: string;
  consents: { guaranteeId: string; guarantorMemberId: string; status: string }[];
  restructuring: Record<string, unknown> | null;
  [key: string]: unknown;
}

/** Requests an extension and fails the test unless it is accepted. */
export async function requested(
  h: Harness,
  user: TestUser,
  fundId: string,
  loanId: string,
  body: Record<string, unknown>,
): Promise<ExtensionBody> {
  const response = await requestExtension(h, user, fundId, loanId, body);
  if (response.status !== 201) throw new Error(`extension not requested: ${response.status} ${response.text}`);
  return response.body as ExtensionBody;
}

export function consentTo(
  h: Harness,
  user: TestUser,
  fundId: string,
  extension: ExtensionBody,
  body: Record<string, unknown> = { decision: 'accept' },
  guaranteeId = extension.consents[0]!.guaranteeId,
) {
  return h.http
    .post(
      api(`/funds/${fundId}/loans/${extension.loanId}/extensions/${extension.id}/guarantees/${guaranteeId}/consent`),
    )
    .set(user.auth)
    .send(body);
}

export function withdrawExtension(h: Harness, user: TestUser, fundId: string, extension: ExtensionBody) {
  return h.http
    .post(api(`/funds/${fundId}/loans/${extension.loanId}/extensions/${extension.id}/withdraw`))
    .set(user.auth)
    .send({ reason: '资金已到位' });
}

/** Everything an extension request, consent or refusal could touch, as a refusal must leave it. */
export async function extensionTables(h: Harness, fundId: string): Promise<Record<string, unknown>> {
  const rows = (table: string, order: string[]) => h.db(table).where({ fund_id: fundId }).orderBy(order).select('*');
  return {
    fund: await snapshot(h, fundId),
    loans: await rows('loans', ['id']),
    instalments: await rows('loan_instalments', ['loan_id', 'schedule_version', 'number']),
    extensions: await rows('loan_extensions', ['id']),
    consents: await rows('loan_extension_consents', ['extension_id', 'guarantee_id']),
    items: await rows('committee_items', ['id']),
    history: await rows('loan_classification_history', ['id']),
  };
}

export { api, randomUUID };
