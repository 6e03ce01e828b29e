import type { TestUser, Harness } from '../../helpers/harness';
import { api } from '../loans/loans.helpers';

/** Shared pieces of the fund overview tests (not a test file itself). */

export interface Alert {
  kind: string;
  basis: 'as_of' | 'now';
  count: number;
  amount: string | null;
  loanIds: string[];
  memberIds: string[];
  caseIds: string[];
  relatedGroups: string[];
  truncated: boolean;
}

export interface Overview {
  asOf: string;
  pool: Record<string, string>;
  capital: { members: number; subscribed: string; paidIn: string };
  loansOutstanding: Record<'pool' | 'peer' | 'bank' | 'total', { principal: string; loans: number }>;
  income: {
    from: string;
    to: string;
    closedPeriod: string | null;
    accounts: { code: string; amount: string }[];
    total: string;
  };
  loanBook: unknown;
  portfolioAtRisk: { lender: string; thresholds: unknown[] }[];
  repaymentsDue: {
    days: number;
    instalments: number;
    loans: number;
    principal: string;
    interest: string;
    total: string;
    byLender: { lender: string; principal: string; interest: string; instalments: number }[];
  }[];
  alerts: Alert[];
  verification: {
    auditChain: { ok: boolean; recordsChecked: number; firstBrokenId: string | null; reason: string | null };
    ledger: { ok: boolean; findingsTotal: number };
  };
  [key: string]: unknown;
}

export function getOverview(h: Harness, user: TestUser, fundId: string, asOf?: string) {
  return h.http
    .get(api(`/funds/${fundId}/overview`))
    .query(asOf === undefined ? {} : { asOf })
    .set(user.auth);
}

export async function overviewOf(h: Harness, user: TestUser, fundId: string, asOf?: string): Promise<Overview> {
  const response = await getOverview(h, user, fundId, asOf);
  if (response.status !== 200) throw new Error(`overview failed: ${response.status} ${response.text}`);
  return response.body as Overview;
}

export function getSeries(h: Harness, user: TestUser, fundId: string, query: Record<string, string | number>) {
  return h.http
    .get(api(`/funds/${fundId}/overview/series`))
    .query(query)
    .set(user.auth);
}

/** GET of another endpoint of the API, as `user`; fails the test unless it is a 200. */
export async function read<T = Record<string, unknown>>(h: Harness, user: TestUser, path: string): Promise<T> {
  const response = await h.http.get(api(path)).set(user.auth);
  if (response.status !== 200) throw new Error(`GET ${path} failed: ${response.status} ${response.text}`);
  return response.body as T;
}

export function alertOf(overview: Overview, kind: string): Alert {
  const found = overview.alerts.find((alert) => alert.kind === kind);
  if (!found) throw new Error(`no ${kind} alert`);
  return found;
}

export { api };
