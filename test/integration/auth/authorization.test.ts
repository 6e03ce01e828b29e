import type { Test } from 'supertest';
import { ROUTES } from '../../../src/app';
import type { Role } from '../../../src/auth/principal';
import {
  createFund,
  createMember,
  fundPool,
  postEntry,
  randomUUID,
  type TestFund,
  bankCharge,
  entryBody,
} from '../../helpers/factories';
import {
  authNow,
  makeUser,
  startHarness,
  TEST_TODAY,
  unique,
  type Harness,
  type TestUser,
} from '../../helpers/harness';
import { expectFundConsistent, snapshot } from '../../helpers/invariants';
import { expectProblem, PASSWORD } from './problem';
import { approveByContract } from '../disbursements/disbursements.helpers';
import { SYSTEM_ACTOR } from '../../../src/auth/principal';
import { inTransaction } from '../../../src/db/transaction';
import { creditCodeCheckChar } from '../../../src/members/credit-code';
import type { FundRow } from '../../../src/funds/funds.repo';
import { toFund } from '../../../src/funds/funds.service';
import { openCasesOnDefault } from '../../../src/recovery/recovery.service';

const ALL: readonly Role[] = ['admin', 'committee', 'member', 'auditor'];
const OVERSIGHT: readonly Role[] = ['admin', 'committee', 'auditor'];
const ADMIN: readonly Role[] = ['admin'];

/**
 * Who may call what, written down here independently of src/auth/permissions.ts. `public` routes
 * need no token at all. A route missing from this table fails the coverage test below.
 */
const EXPECTED: Record<string, readonly Role[] | 'public'> = {
  'post /auth/login': 'public',
  'get /auth/me': ALL,
  'post /funds': ADMIN,
  'get /funds': ALL,
  'get /funds/{fundId}': ALL,
  'patch /funds/{fundId}': ADMIN,
  'get /funds/{fundId}/policy': ALL,
  'get /funds/{fundId}/policy/versions': ALL,
  'post /funds/{fundId}/policy': ADMIN,
  'post /funds/{fundId}/members': ADMIN,
  'get /funds/{fundId}/members': ALL,
  'get /funds/{fundId}/members/{memberId}': ALL,
  'patch /funds/{fundId}/members/{memberId}': ADMIN,
  'post /funds/{fundId}/members/{memberId}/status': ADMIN,
  'post /funds/{fundId}/users': ADMIN,
  'get /funds/{fundId}/users': ADMIN,

  'post /funds/{fundId}/members/{memberId}/contributions': ADMIN,
  'get /funds/{fundId}/members/{memberId}/contributions': ALL,
  'get /funds/{fundId}/contributions': ALL,
  'post /funds/{fundId}/contributions/{contributionId}/reverse': ADMIN,
  'post /funds/{fundId}/capital-calls': ADMIN,
  'get /funds/{fundId}/capital-calls': ALL,
  'get /funds/{fundId}/capital-calls/{callId}': ALL,
  'get /funds/{fundId}/members/{memberId}/statement': ALL,
  'post /funds/{fundId}/members/{memberId}/exit': ['admin', 'member'],
  'post /funds/{fundId}/exits/{exitId}/pay': ADMIN,
  'get /funds/{fundId}/exits': ALL,
  'get /funds/{fundId}/exits/{exitId}': ALL,
  'post /funds/{fundId}/periods/{period}/close': ADMIN,
  'get /funds/{fundId}/periods': OVERSIGHT,
  'get /funds/{fundId}/periods/{period}': OVERSIGHT,
  'post /funds/{fundId}/loans/{loanId}/disbursements': ADMIN,
  'post /funds/{fundId}/loans/{loanId}/disbursements/{requestId}/confirm': ADMIN,
  'get /funds/{fundId}/loans': ALL,
  'get /funds/{fundId}/loans/{loanId}': ALL,
  'get /funds/{fundId}/loans/{loanId}/schedule': ALL,
  'get /funds/{fundId}/loans/{loanId}/classification-history': ALL,
  'get /funds/{fundId}/reports/loan-book': ALL,
  'get /funds/{fundId}/reports/portfolio-at-risk': ALL,
  'get /funds/{fundId}/reports/guarantee-network': ALL,

  'put /funds/{fundId}/committee/rotation': ADMIN,
  'get /funds/{fundId}/committee/rotation': OVERSIGHT,
  'post /funds/{fundId}/meetings': ADMIN,
  'get /funds/{fundId}/meetings': OVERSIGHT,
  'get /funds/{fundId}/meetings/{meetingId}': OVERSIGHT,
  'get /funds/{fundId}/meetings/{meetingId}/minutes': OVERSIGHT,
  'post /funds/{fundId}/meetings/{meetingId}/attendance': ADMIN,
  'post /funds/{fundId}/meetings/{meetingId}/items/{itemId}/votes': ['committee'],
  'post /funds/{fundId}/meetings/{meetingId}/items/{itemId}/decide': ['admin', 'committee'],
  'post /funds/{fundId}/loan-applications/{loanId}/fast-track': ['admin', 'committee'],
  'get /funds/{fundId}/committee/ratifications': OVERSIGHT,
  'post /funds/{fundId}/loans/{loanId}/repayments': ADMIN,
  'post /funds/{fundId}/loans/{loanId}/repayments/{repaymentId}/reverse': ADMIN,
  'get /funds/{fundId}/loans/{loanId}/repayments': ALL,
  'get /funds/{fundId}/loans/{loanId}/payoff': ALL,
  'post /funds/{fundId}/jobs/daily': ADMIN,
  'get /funds/{fundId}/accounts': ALL,
  'get /funds/{fundId}/accounts/{accountId}': ALL,
  'get /funds/{fundId}/accounts/{accountId}/postings': ALL,
  'get /funds/{fundId}/entries': ALL,
  'get /funds/{fundId}/entries/{entryId}': ALL,
  'post /funds/{fundId}/entries': ADMIN,
  'post /funds/{fundId}/entries/{entryId}/reverse': ADMIN,
  'get /funds/{fundId}/trial-balance': OVERSIGHT,
  'get /funds/{fundId}/holds': OVERSIGHT,
  'get /funds/{fundId}/audit': OVERSIGHT,
  'get /funds/{fundId}/audit/verify': OVERSIGHT,
  'get /funds/{fundId}/ledger/verify': OVERSIGHT,
  'post /funds/{fundId}/loan-applications': ['admin', 'member'],
  'patch /funds/{fundId}/loan-applications/{loanId}': ['admin', 'member'],
  'post /funds/{fundId}/loan-applications/{loanId}/submit': ['admin', 'member'],
  'post /funds/{fundId}/loan-applications/{loanId}/withdraw': ['admin', 'member'],
  'post /funds/{fundId}/loan-applications/{loanId}/guarantees/{guaranteeId}/consent': ['committee', 'member'],
  'post /funds/{fundId}/loan-applications/{loanId}/lender-consent': ['committee', 'member'],
  'get /funds/{fundId}/loan-applications': ALL,
  'get /funds/{fundId}/loan-applications/{loanId}': ALL,
  'post /funds/{fundId}/loans/{loanId}/extensions': ['admin', 'member'],
  'post /funds/{fundId}/loans/{loanId}/extensions/{extensionId}/withdraw': ['admin', 'member'],
  'post /funds/{fundId}/loans/{loanId}/extensions/{extensionId}/guarantees/{guaranteeId}/consent': [
    'committee',
    'member',
  ],
  'get /funds/{fundId}/loans/{loanId}/extensions': ALL,
  'get /funds/{fundId}/loans/{loanId}/extensions/{extensionId}': ALL,
  'post /funds/{fundId}/joint-groups': ['admin', 'member'],
  'post /funds/{fundId}/joint-groups/{groupId}/consent': ['committee', 'member'],
  'post /funds/{fundId}/joint-groups/{groupId}/withdraw': ['admin', 'member'],
  'post /funds/{fundId}/joint-groups/{groupId}/members/{memberId}/leave': ['admin', 'member'],
  'get /funds/{fundId}/joint-groups': ALL,
  'get /funds/{fundId}/joint-groups/{groupId}': ALL,
  'post /funds/{fundId}/loans/{loanId}/bank-repayments': ['admin', 'member'],
  'get /funds/{fundId}/recovery-cases': ALL,
  'get /funds/{fundId}/recovery-cases/{caseId}': ALL,
  'post /funds/{fundId}/loans/{loanId}/recovery-actions': ADMIN,
  'post /funds/{fundId}/recovery-cases/{caseId}/actions': ADMIN,
  'get /funds/{fundId}/recovery-actions/{actionId}': ALL,
  'post /funds/{fundId}/recovery-actions/{actionId}/withdraw': ADMIN,
  'post /funds/{fundId}/recovery-cases/{caseId}/collateral/{collateralId}/realisation': ADMIN,
  'post /funds/{fundId}/recovery-cases/{caseId}/calls/{callId}/payments': ADMIN,
  'post /funds/{fundId}/recovery-cases/{caseId}/calls/{callId}/failure': ADMIN,
  'post /funds/{fundId}/recovery-cases/{caseId}/recoveries': ADMIN,
  'get /funds/{fundId}/reports/exposure': ALL,
  'get /funds/{fundId}/overview': OVERSIGHT,
  'get /funds/{fundId}/overview/series': OVERSIGHT,
};

const ROUTE_KEYS = ROUTES.map((route) => `${route.method} ${route.path}`);

interface World {
  fund: TestFund;
  memberId: string;
  /** The member's capital account, credited by `entryId`. */
  capitalId: string;
  /** An entry that touches the member's capital account, so the member user may read it. */
  entryId: string;
  /** A capital call with an item for the world's member. */
  callId: string;
  users: Record<Role, TestUser>;
}

interface Call {
  /** State the call needs that must be fresh each time (an entry to reverse), for the calling role. */
  prepare?: (world: World, role: Role) => Promise<Record<string, string>>;
  send: (user: TestUser, world: World, prepared: Record<string, string>) => Test;
  /** What an allowed role gets back. */
  success: 200 | 201;
  /** Whether the call may change anything: refused calls are checked to change nothing. */
  writes: boolean;
}

let h: Harness;
const api = (path: string): string => `/api/v1${path}`;
/** One well-formed request per route, with real ids from the users' own fund. */
const CALLS: Record<string, Call> = {
  'post /auth/login': {
    send: (user) => h.http.post(api('/auth/login')).send({ username: user.username, password: PASSWORD }),
    success: 200,
    writes: false,
  },
  'get /auth/me': { send: (user) => h.http.get(api('/auth/me')).set(user.auth), success: 200, writes: false },
  'post /funds': {
    send: (user) =>
      h.http
        .post(api('/funds'))
        .set(user.auth)
        .set('Idempotency-Key', randomUUID())
        .send({ name: unique('Fund ') }),
    success: 201,
    writes: true,
  },
  'get /funds': { send: (user) => h.http.get(api('/funds')).set(user.auth), success: 200, writes: false },
  'get /funds/{fundId}': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'patch /funds/{fundId}': {
    send: (user, w) =>
      h.http
        .patch(api(`/funds/${w.fund.id}`))
        .set(user.auth)
        .send({ allianceName: unique('联盟 ') }),
    success: 200,
    writes: true,
  },
  'get /funds/{fundId}/policy': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/policy`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/policy/versions': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/policy/versions`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'post /funds/{fundId}/policy': {
    send: (user, w) =>
      h.http
        .post(api(`/funds/${w.fund.id}/policy`))
        .set(user.auth)
        .send({ effectiveDate: TEST_TODAY, reason: 'authorization matrix', changes: { termDaysMax: 90 } }),
    success: 201,
    writes: true,
  },
  'post /funds/{fundId}/members': {
    send: (user, w) =>
      h.http
        .post(api(`/funds/${w.fund.id}/members`))
        .set(user.auth)
        .send({ name: unique('会员企业'), creditCode: freshCreditCode() }),
    success: 201,
    writes: true,
  },
  'get /funds/{fundId}/members': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/members`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/members/{memberId}': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/members/${w.memberId}`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'patch /funds/{fundId}/members/{memberId}': {
    send: (user, w) =>
      h.http
        .patch(api(`/funds/${w.fund.id}/members/${w.memberId}`))
        .set(user.auth)
        .send({ industry: unique('行业') }),
    success: 200,
    writes: true,
  },
  'post /funds/{fundId}/members/{memberId}/status': {
    prepare: async (w) => ({ memberId: await createMember(h, w.fund.id) }),
    send: (user, w, prepared) =>
      h.http
        .post(api(`/funds/${w.fund.id}/members/${prepared.memberId}/status`))
        .set(user.auth)
        .send({ status: 'suspended', reason: 'suspended by the authorization matrix' }),
    success: 200,
    writes: true,
  },
  'post /funds/{fundId}/users': {
    send: (user, w) =>
      h.http
        .post(api(`/funds/${w.fund.id}/users`))
        .set(user.auth)
        .send({ username: unique('u').toLowerCase(), password: PASSWORD, role: 'auditor' }),
    success: 201,
    writes: true,
  },
  'get /funds/{fundId}/users': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/users`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'post /funds/{fundId}/members/{memberId}/contributions': {
    send: (user, w) =>
      h.http
        .post(api(`/funds/${w.fund.id}/members/${w.memberId}/contributions`))
        .set(user.auth)
        .set('Idempotency-Key', randomUUID())
        .send({ amount: '1.00', receivedOn: TEST_TODAY, bankReference: unique('BANK-') }),
    success: 201,
    writes: true,
  },
  'get /funds/{fundId}/members/{memberId}/contributions': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/members/${w.memberId}/contributions`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'post /funds/{fundId}/contributions/{contributionId}/reverse': {
    prepare: async (w) => {
      const recorded = await h.http
        .post(api(`/funds/${w.fund.id}/members/${w.memberId}/contributions`))
        .set(w.fund.admin.auth)
        .set('Idempotency-Key', randomUUID())
        .send({ amount: '1.00', receivedOn: TEST_TODAY, bankReference: unique('BANK-') });
      if (recorded.status !== 201) throw new Error(`contribution not recorded: ${recorded.status} ${recorded.text}`);
      return { contributionId: recorded.body.id as string };
    },
    send: (user, w, prepared) =>
      h.http
        .post(api(`/funds/${w.fund.id}/contributions/${prepared.contributionId}/reverse`))
        .set(user.auth)
        .set('Idempotency-Key', randomUUID())
        .send({ reason: 'reversed by the authorization matrix' }),
    success: 201,
    writes: true,
  },
  'get /funds/{fundId}/contributions': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/contributions`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'post /funds/{fundId}/capital-calls': {
    send: (user, w) =>
      h.http
        .post(api(`/funds/${w.fund.id}/capital-calls`))
        .set(user.auth)
        .send({ percent: '1', dueOn: '2026-07-15' }),
    success: 201,
    writes: true,
  },
  'get /funds/{fundId}/capital-calls': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/capital-calls`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/capital-calls/{callId}': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/capital-calls/${w.callId}`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/members/{memberId}/statement': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/members/${w.memberId}/statement`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'post /funds/{fundId}/members/{memberId}/exit': {
    // A member of its own (no capital, no calls): each allowed exit leaves the shared world intact.
    prepare: async (w, role) => leavingMember(w, role),
    send: (user, w, prepared) =>
      h.http
        .post(api(`/funds/${w.fund.id}/members/${prepared.memberId}/exit`))
        .set(prepared.auth ? { Authorization: prepared.auth } : user.auth)
        .set('Idempotency-Key', randomUUID())
        .send({ reason: 'exit by the authorization matrix' }),
    success: 201,
    writes: true,
  },
  'post /funds/{fundId}/exits/{exitId}/pay': {
    prepare: async (w) => exitAwaitingLiquidity(w),
    send: (user, _w, prepared) =>
      h.http
        .post(api(`/funds/${prepared.fundId}/exits/${prepared.exitId}/pay`))
        .set(user.auth)
        .set('Idempotency-Key', randomUUID())
        .send({}),
    success: 201,
    writes: true,
  },
  'get /funds/{fundId}/exits': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/exits`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/exits/{exitId}': {
    prepare: async (w, role) => {
      const leaving = await leavingMember(w, role);
      const exit = await h.http
        .post(api(`/funds/${w.fund.id}/members/${leaving.memberId}/exit`))
        .set(w.fund.admin.auth)
        .set('Idempotency-Key', randomUUID())
        .send({ reason: 'exit to read' });
      if (exit.status !== 201) throw new Error(`exit not recorded: ${exit.status} ${exit.text}`);
      return { ...leaving, exitId: exit.body.id as string };
    },
    send: (user, w, prepared) =>
      h.http
        .get(api(`/funds/${w.fund.id}/exits/${prepared.exitId}`))
        .set(prepared.auth ? { Authorization: prepared.auth } : user.auth),
    success: 200,
    writes: false,
  },
  'post /funds/{fundId}/periods/{period}/close': {
    prepare: async () => {
      // A fund of its own with a May to close: closing locks dates, which the shared world needs.
      const fund = await createFund(h);
      await fundPool(h, fund, '1000.00', undefined, '2026-05-01');
      const income = await postEntry(
        h,
        fund.admin,
        fund.id,
        entryBody(
          [
            { accountCode: '1001', side: 'debit', amount: '12.34' },
            { accountCode: '4005', side: 'credit', amount: '12.34' },
          ],
          { kind: 'manual.bank_interest', effectiveDate: '2026-05-20' },
        ),
      );
      if (income.status !== 201) throw new Error(`income not posted: ${income.status} ${income.text}`);
      return { fundId: fund.id };
    },
    send: (user, _w, prepared) =>
      h.http
        .post(api(`/funds/${prepared.fundId}/periods/2026-05/close`))
        .set(user.auth)
        .set('Idempotency-Key', randomUUID())
        .send({}),
    success: 201,
    writes: true,
  },
  'get /funds/{fundId}/periods': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/periods`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/periods/{period}': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/periods/${CLOSED_PERIOD}`)).set(user.auth),
    success: 200,
    writes: false,
  },

  'post /funds/{fundId}/loans/{loanId}/disbursements': {
    // A loan of 100.00, approved in a lending fund of its own (fresh per call: a disbursement is once).
    prepare: async (w) => {
      const { fund, borrower } = await lendingFundOf(w);
      return { fundId: fund.id, loanId: await approvedLoanIn(w, fund.id, borrower, '100.00') };
    },
    send: (user, _w, prepared) =>
      h.http
        .post(api(`/funds/${prepared.fundId}/loans/${prepared.loanId}/disbursements`))
        .set(user.auth)
        .set('Idempotency-Key', randomUUID())
        .send({ bankReference: 'AUTHZ-DISBURSE' }),
    success: 201,
    writes: true,
  },
  'post /funds/{fundId}/loans/{loanId}/disbursements/{requestId}/confirm': {
    // 100,000.00 is at the maker-checker threshold: another administrator (the maker) asks first.
    prepare: async (w) => {
      const { fund, borrower } = await lendingFundOf(w);
      const loanId = await approvedLoanIn(w, fund.id, borrower, '100000.00');
      const maker = await makeUser(h, 'admin');
      const asked = await h.http
        .post(api(`/funds/${fund.id}/loans/${loanId}/disbursements`))
        .set(maker.auth)
        .set('Idempotency-Key', randomUUID())
        .send({ bankReference: 'AUTHZ-MAKER' });
      if (asked.status !== 201 || asked.body.status !== 'awaiting_confirmation') {
        throw new Error(`disbursement request not made: ${asked.status} ${asked.text}`);
      }
      return { fundId: fund.id, loanId, requestId: asked.body.id as string };
    },
    send: (user, _w, prepared) =>
      h.http
        .post(api(`/funds/${prepared.fundId}/loans/${prepared.loanId}/disbursements/${prepared.requestId}/confirm`))
        .set(user.auth)
        .set('Idempotency-Key', randomUUID())
        .send(),
    success: 200,
    writes: true,
  },
  'get /funds/{fundId}/loans': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/loans`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/loans/{loanId}': {
    prepare: async (w) => ({ loanId: await worldLoanOf(w) }),
    send: (user, w, prepared) => h.http.get(api(`/funds/${w.fund.id}/loans/${prepared.loanId}`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/loans/{loanId}/schedule': {
    prepare: async (w) => ({ loanId: await worldLoanOf(w) }),
    send: (user, w, prepared) =>
      h.http.get(api(`/funds/${w.fund.id}/loans/${prepared.loanId}/schedule`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/loans/{loanId}/classification-history': {
    // A disbursed loan of the world's member, so its member user may read it (no history yet: 200, empty).
    prepare: async (w) => ({ loanId: await worldDisbursedLoanOf(w) }),
    send: (user, w, prepared) =>
      h.http.get(api(`/funds/${w.fund.id}/loans/${prepared.loanId}/classification-history`)).set(user.auth),
    success: 200,
    writes: false,
  },
  // No asOf: today in the fund's time zone, never before the world fund was established.
  'get /funds/{fundId}/reports/loan-book': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/reports/loan-book`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/accounts/{accountId}/postings': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/accounts/${w.capitalId}/postings`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/overview': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/overview`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/overview/series': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/overview/series?months=3`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/reports/portfolio-at-risk': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/reports/portfolio-at-risk`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/reports/guarantee-network': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/reports/guarantee-network`)).set(user.auth),
    success: 200,
    writes: false,
  },

  'put /funds/{fundId}/committee/rotation': {
    prepare: async (w) => ({ chairUserId: (await committeeSeat(w)).userId }),
    send: (user, w, prepared) =>
      h.http
        .put(api(`/funds/${w.fund.id}/committee/rotation`))
        .set(user.auth)
        .send({ months: [{ month: '2026-09', chairUserId: prepared.chairUserId }] }),
    success: 200,
    writes: true,
  },
  'get /funds/{fundId}/committee/rotation': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/committee/rotation`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'post /funds/{fundId}/meetings': {
    prepare: async (w) => ({ loanId: await submittedLoan(w), chairUserId: (await committeeSeat(w)).userId }),
    send: (user, w, prepared) =>
      h.http
        .post(api(`/funds/${w.fund.id}/meetings`))
        .set(user.auth)
        .send({ heldOn: TEST_TODAY, chairUserId: prepared.chairUserId, applicationIds: [prepared.loanId] }),
    success: 201,
    writes: true,
  },
  'get /funds/{fundId}/meetings': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/meetings`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/meetings/{meetingId}': {
    prepare: async (w) => meetingOnAgenda(w),
    send: (user, w, prepared) => h.http.get(api(`/funds/${w.fund.id}/meetings/${prepared.meetingId}`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/meetings/{meetingId}/minutes': {
    prepare: async (w) => meetingOnAgenda(w),
    send: (user, w, prepared) =>
      h.http
        .get(api(`/funds/${w.fund.id}/meetings/${prepared.meetingId}/minutes`))
        .set(user.auth)
        .set('Accept', 'text/markdown'),
    success: 200,
    writes: false,
  },
  'post /funds/{fundId}/meetings/{meetingId}/attendance': {
    prepare: async (w) => {
      const meeting = await meetingOnAgenda(w);
      return { ...meeting, attendeeId: (await committeeSeat(w)).userId };
    },
    send: (user, w, prepared) =>
      h.http
        .post(api(`/funds/${w.fund.id}/meetings/${prepared.meetingId}/attendance`))
        .set(user.auth)
        .send({ userIds: [prepared.attendeeId] }),
    success: 200,
    writes: true,
  },
  'post /funds/{fundId}/meetings/{meetingId}/items/{itemId}/votes': {
    // A fresh meeting with a present committee member bound to a member of its own; the committee
    // caller votes as that member.
    prepare: async (w) => {
      const meeting = await meetingOnAgenda(w);
      const seat = await committeeSeat(w);
      const attended = await h.http
        .post(api(`/funds/${w.fund.id}/meetings/${meeting.meetingId}/attendance`))
        .set(w.fund.admin.auth)
        .send({ userIds: [seat.userId] });
      if (attended.status !== 200) throw new Error(`attendance not recorded: ${attended.status} ${attended.text}`);
      return { ...meeting, auth: seat.auth };
    },
    send: (user, w, prepared) =>
      h.http
        .post(api(`/funds/${w.fund.id}/meetings/${prepared.meetingId}/items/${prepared.itemId}/votes`))
        .set(user.role === 'committee' ? { Authorization: prepared.auth! } : user.auth)
        .send({ vote: 'approve', comment: 'authorization matrix' }),
    success: 201,
    writes: true,
  },
  'post /funds/{fundId}/meetings/{meetingId}/items/{itemId}/decide': {
    // No votes: the item closes as "no quorum", the loan stays under review. A committee caller is
    // the meeting's chair (only the chair, among committee members, may close an item).
    prepare: async (w, role) => meetingOnAgenda(w, role),
    send: (user, w, prepared) =>
      h.http
        .post(api(`/funds/${w.fund.id}/meetings/${prepared.meetingId}/items/${prepared.itemId}/decide`))
        .set(prepared.auth ? { Authorization: prepared.auth } : user.auth)
        .set('Idempotency-Key', randomUUID())
        .send({}),
    success: 200,
    writes: true,
  },
  'post /funds/{fundId}/loan-applications/{loanId}/fast-track': {
    // An emergency application; the committee caller is made chair of the month first. The first of
    // the two approvals is recorded (no hold yet).
    prepare: async (w, role): Promise<Record<string, string>> => {
      const loanId = await submittedLoan(w, { emergency: true });
      if (role !== 'committee') return { loanId };
      const seat = await committeeSeat(w);
      const rotation = await h.http
        .put(api(`/funds/${w.fund.id}/committee/rotation`))
        .set(w.fund.admin.auth)
        .send({ months: [{ month: TEST_TODAY.slice(0, 7), chairUserId: seat.userId }] });
      if (rotation.status !== 200) throw new Error(`rotation not set: ${rotation.status} ${rotation.text}`);
      return { loanId, auth: seat.auth };
    },
    send: (user, w, prepared) =>
      h.http
        .post(api(`/funds/${w.fund.id}/loan-applications/${prepared.loanId}/fast-track`))
        .set(prepared.auth ? { Authorization: prepared.auth } : user.auth)
        .set('Idempotency-Key', randomUUID())
        .send(),
    success: 200,
    writes: true,
  },
  'get /funds/{fundId}/committee/ratifications': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/committee/ratifications?status=failed`)).set(user.auth),
    success: 200,
    writes: false,
  },

  'post /funds/{fundId}/loans/{loanId}/repayments': {
    // A disbursed loan of 100.00 in the lending fund (fresh per call); 1.00 repaid.
    prepare: async (w) => {
      const { fund, borrower } = await lendingFundOf(w);
      return { fundId: fund.id, loanId: await disbursedLoanIn(w, fund.id, borrower) };
    },
    send: (user, _w, prepared) =>
      h.http
        .post(api(`/funds/${prepared.fundId}/loans/${prepared.loanId}/repayments`))
        .set(user.auth)
        .set('Idempotency-Key', randomUUID())
        .send({ amount: '1.00', receivedOn: TEST_TODAY, reference: `AUTHZ-REPAY-${randomUUID()}` }),
    success: 201,
    writes: true,
  },
  'post /funds/{fundId}/loans/{loanId}/repayments/{repaymentId}/reverse': {
    // A disbursed loan with one repayment of 1.00, recorded by another administrator.
    prepare: async (w) => {
      const { fund, borrower } = await lendingFundOf(w);
      const loanId = await disbursedLoanIn(w, fund.id, borrower);
      const repaid = await h.http
        .post(api(`/funds/${fund.id}/loans/${loanId}/repayments`))
        .set(w.fund.admin.auth)
        .set('Idempotency-Key', randomUUID())
        .send({ amount: '1.00', receivedOn: TEST_TODAY, reference: `AUTHZ-REV-${randomUUID()}` });
      if (repaid.status !== 201) throw new Error(`repayment not recorded: ${repaid.status} ${repaid.text}`);
      return { fundId: fund.id, loanId, repaymentId: repaid.body.id as string };
    },
    send: (user, _w, prepared) =>
      h.http
        .post(api(`/funds/${prepared.fundId}/loans/${prepared.loanId}/repayments/${prepared.repaymentId}/reverse`))
        .set(user.auth)
        .set('Idempotency-Key', randomUUID())
        .send({ reason: 'authorization matrix' }),
    success: 200,
    writes: true,
  },
  'get /funds/{fundId}/loans/{loanId}/repayments': {
    prepare: async (w) => ({ loanId: await worldDisbursedLoanOf(w) }),
    send: (user, w, prepared) =>
      h.http.get(api(`/funds/${w.fund.id}/loans/${prepared.loanId}/repayments`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/loans/{loanId}/payoff': {
    prepare: async (w) => ({ loanId: await worldDisbursedLoanOf(w) }),
    send: (user, w, prepared) => h.http.get(api(`/funds/${w.fund.id}/loans/${prepared.loanId}/payoff`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'post /funds/{fundId}/jobs/daily': {
    // TEST_TODAY is never in the future; a day already run answers 200 with its stored figures, so
    // each role's call is served or refused the same way whatever ran before. The world fund has
    // no disbursed loan, so the run posts nothing (its closed period is never touched).
    send: (user, w) =>
      h.http
        .post(api(`/funds/${w.fund.id}/jobs/daily`))
        .set(user.auth)
        .send({ date: TEST_TODAY }),
    success: 200,
    writes: true,
  },
  'get /funds/{fundId}/accounts': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/accounts`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/accounts/{accountId}': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/accounts/${w.capitalId}`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/entries': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/entries`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/entries/{entryId}': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/entries/${w.entryId}`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'post /funds/{fundId}/entries': {
    send: (user, w) => postEntry(h, user, w.fund.id, bankCharge('1.00')),
    success: 201,
    writes: true,
  },
  'post /funds/{fundId}/entries/{entryId}/reverse': {
    prepare: async (w) => {
      const posted = await postEntry(h, w.fund.admin, w.fund.id, bankCharge('2.00'));
      if (posted.status !== 201) throw new Error(`entry to reverse not posted: ${posted.status} ${posted.text}`);
      return { entryId: posted.body.id as string };
    },
    send: (user, w, prepared) =>
      h.http
        .post(api(`/funds/${w.fund.id}/entries/${prepared.entryId}/reverse`))
        .set(user.auth)
        .set('Idempotency-Key', randomUUID())
        .send({ effectiveDate: TEST_TODAY, memo: 'reversed by the authorization matrix' }),
    success: 201,
    writes: true,
  },
  'get /funds/{fundId}/trial-balance': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/trial-balance`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/holds': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/holds`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/audit': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/audit`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/audit/verify': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/audit/verify`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/ledger/verify': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/ledger/verify`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'post /funds/{fundId}/loan-applications': {
    send: (user, w) =>
      h.http
        .post(api(`/funds/${w.fund.id}/loan-applications`))
        .set(user.auth)
        .send(loanApplicationBody(w)),
    success: 201,
    writes: true,
  },
  'patch /funds/{fundId}/loan-applications/{loanId}': {
    prepare: async (w) => ({ loanId: (await draftLoan(w)).loanId }),
    send: (user, w, prepared) =>
      h.http
        .patch(api(`/funds/${w.fund.id}/loan-applications/${prepared.loanId}`))
        .set(user.auth)
        .send({ purpose: 'changed by the authorization matrix' }),
    success: 200,
    writes: true,
  },
  'post /funds/{fundId}/loan-applications/{loanId}/submit': {
    prepare: async (w) => ({ loanId: (await draftLoan(w)).loanId }),
    send: (user, w, prepared) =>
      h.http
        .post(api(`/funds/${w.fund.id}/loan-applications/${prepared.loanId}/submit`))
        .set(user.auth)
        .send(),
    success: 200,
    writes: true,
  },
  'post /funds/{fundId}/loan-applications/{loanId}/withdraw': {
    prepare: async (w) => ({ loanId: (await draftLoan(w)).loanId }),
    send: (user, w, prepared) =>
      h.http
        .post(api(`/funds/${w.fund.id}/loan-applications/${prepared.loanId}/withdraw`))
        .set(user.auth)
        .send({ reason: 'withdrawn by the authorization matrix' }),
    success: 200,
    writes: true,
  },
  'post /funds/{fundId}/loan-applications/{loanId}/guarantees/{guaranteeId}/consent': {
    // A guarantor of its own; the member and committee callers are users bound to it.
    prepare: async (w, role) => {
      const party = await partyMember(w, role);
      const { loanId, guaranteeId } = await draftLoan(w, {
        guarantors: [{ memberId: party.memberId, amount: '10.00', type: 'general' }],
      });
      return { ...party, loanId, guaranteeId: guaranteeId! };
    },
    send: (user, w, prepared) =>
      h.http
        .post(
          api(`/funds/${w.fund.id}/loan-applications/${prepared.loanId}/guarantees/${prepared.guaranteeId}/consent`),
        )
        .set(prepared.auth ? { Authorization: prepared.auth } : user.auth)
        .send({ decision: 'accept' }),
    success: 200,
    writes: true,
  },
  'post /funds/{fundId}/loan-applications/{loanId}/lender-consent': {
    prepare: async (w, role) => {
      const party = await partyMember(w, role);
      const { loanId } = await draftLoan(w, { lender: { type: 'peer', memberId: party.memberId } });
      return { ...party, loanId };
    },
    send: (user, w, prepared) =>
      h.http
        .post(api(`/funds/${w.fund.id}/loan-applications/${prepared.loanId}/lender-consent`))
        .set(prepared.auth ? { Authorization: prepared.auth } : user.auth)
        .send({ decision: 'accept' }),
    success: 200,
    writes: true,
  },
  'get /funds/{fundId}/loan-applications': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/loan-applications`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/loan-applications/{loanId}': {
    prepare: async (w) => ({ loanId: (await draftLoan(w)).loanId }),
    send: (user, w, prepared) =>
      h.http.get(api(`/funds/${w.fund.id}/loan-applications/${prepared.loanId}`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'post /funds/{fundId}/loans/{loanId}/extensions': {
    // A fresh 30-day loan of the world's member, disbursed today (matures 2026-07-15): one
    // extension in progress per loan, so each call gets its own.
    prepare: async (w) => ({ loanId: await disbursedLoanIn(w, w.fund.id, w.memberId, '1.00') }),
    send: (user, w, prepared) =>
      h.http
        .post(api(`/funds/${w.fund.id}/loans/${prepared.loanId}/extensions`))
        .set(user.auth)
        .set('Idempotency-Key', randomUUID())
        .send({ newMaturityDate: '2026-08-01', reason: 'authorization matrix' }),
    success: 201,
    writes: true,
  },
  'post /funds/{fundId}/loans/{loanId}/extensions/{extensionId}/withdraw': {
    prepare: async (w) => extensionOfWorldLoan(w),
    send: (user, w, prepared) =>
      h.http
        .post(api(`/funds/${w.fund.id}/loans/${prepared.loanId}/extensions/${prepared.extensionId}/withdraw`))
        .set(user.auth)
        .send({ reason: 'authorization matrix' }),
    success: 200,
    writes: true,
  },
  'post /funds/{fundId}/loans/{loanId}/extensions/{extensionId}/guarantees/{guaranteeId}/consent': {
    // A loan of the world's member guaranteed by a fresh member; member and committee callers are
    // users bound to that guarantor.
    prepare: async (w, role) => {
      const party = await partyMember(w, role);
      // Paid-in capital: the guarantee is within the guarantor's capacity, and the pool large enough
      // for the world's borrower, who takes one such loan per call.
      await fundPool(h, w.fund, '5000.00', party.memberId);
      const { loanId, guaranteeId } = await draftLoan(w, {
        guarantors: [{ memberId: party.memberId, amount: '10.00', type: 'general' }],
      });
      const consenter = await makeUser(h, 'member', { fundId: w.fund.id, memberId: party.memberId });
      const accepted = await h.http
        .post(api(`/funds/${w.fund.id}/loan-applications/${loanId}/guarantees/${guaranteeId!}/consent`))
        .set(consenter.auth)
        .send({ decision: 'accept' });
      if (accepted.status !== 200) throw new Error(`guarantee not accepted: ${accepted.status} ${accepted.text}`);
      const submitted = await h.http
        .post(api(`/funds/${w.fund.id}/loan-applications/${loanId}/submit`))
        .set(w.fund.admin.auth)
        .send();
      if (submitted.status !== 200) throw new Error(`not submitted: ${submitted.status} ${submitted.text}`);
      await approveByContract(h, w.fund.id, loanId);
      const paid = await h.http
        .post(api(`/funds/${w.fund.id}/loans/${loanId}/disbursements`))
        .set(w.fund.admin.auth)
        .set('Idempotency-Key', randomUUID())
        .send({ bankReference: `AUTHZ-EXT-${loanId}` });
      if (paid.status !== 201) throw new Error(`not disbursed: ${paid.status} ${paid.text}`);
      const extension = await requestedExtension(w, loanId);
      return { ...party, loanId, guaranteeId: guaranteeId!, extensionId: extension };
    },
    send: (user, w, prepared) =>
      h.http
        .post(
          api(
            `/funds/${w.fund.id}/loans/${prepared.loanId}/extensions/${prepared.extensionId}/guarantees/${prepared.guaranteeId}/consent`,
          ),
        )
        .set(prepared.auth ? { Authorization: prepared.auth } : user.auth)
        .send({ decision: 'accept' }),
    success: 200,
    writes: true,
  },
  'get /funds/{fundId}/loans/{loanId}/extensions': {
    prepare: async (w) => ({ loanId: await worldDisbursedLoanOf(w) }),
    send: (user, w, prepared) =>
      h.http.get(api(`/funds/${w.fund.id}/loans/${prepared.loanId}/extensions`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/loans/{loanId}/extensions/{extensionId}': {
    prepare: async (w) => extensionOfWorldLoan(w),
    send: (user, w, prepared) =>
      h.http.get(api(`/funds/${w.fund.id}/loans/${prepared.loanId}/extensions/${prepared.extensionId}`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'post /funds/{fundId}/joint-groups': {
    // The world's member with two fresh members: a member user proposes a group its enterprise is in.
    prepare: async (w) => ({ first: await createMember(h, w.fund.id), second: await createMember(h, w.fund.id) }),
    send: (user, w, prepared) =>
      h.http
        .post(api(`/funds/${w.fund.id}/joint-groups`))
        .set(user.auth)
        .send({ name: unique('联保小组 '), limit: '100.00', memberIds: [w.memberId, prepared.first, prepared.second] }),
    success: 201,
    writes: true,
  },
  'post /funds/{fundId}/joint-groups/{groupId}/consent': {
    // A group an administrator proposed of a fresh member and two others; member and committee
    // callers are users bound to that member.
    prepare: async (w, role) => {
      const party = await partyMember(w, role);
      const groupId = await proposedGroup(w, w.fund.admin, [party.memberId!]);
      return { ...party, groupId };
    },
    send: (user, w, prepared) =>
      h.http
        .post(api(`/funds/${w.fund.id}/joint-groups/${prepared.groupId}/consent`))
        .set(prepared.auth ? { Authorization: prepared.auth } : user.auth)
        .send({ decision: 'accept' }),
    success: 200,
    writes: true,
  },
  'post /funds/{fundId}/joint-groups/{groupId}/withdraw': {
    // Proposed by the world's member user: the member caller is its proposer.
    prepare: async (w) => ({ groupId: await proposedGroup(w, w.users.member, [w.memberId]) }),
    send: (user, w, prepared) =>
      h.http
        .post(api(`/funds/${w.fund.id}/joint-groups/${prepared.groupId}/withdraw`))
        .set(user.auth)
        .send({ reason: 'authorization matrix' }),
    success: 200,
    writes: true,
  },
  'post /funds/{fundId}/joint-groups/{groupId}/members/{memberId}/leave': {
    // An approved group of the world's member and three fresh members, backing no loan: the
    // world's member leaves (the member caller is its user).
    prepare: async (w) => ({ groupId: await approvedGroupOf(w) }),
    send: (user, w, prepared) =>
      h.http
        .post(api(`/funds/${w.fund.id}/joint-groups/${prepared.groupId}/members/${w.memberId}/leave`))
        .set(user.auth)
        .send(),
    success: 200,
    writes: true,
  },
  'get /funds/{fundId}/joint-groups': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/joint-groups`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/joint-groups/{groupId}': {
    // The world's member is in the group, so its member user may read it.
    prepare: async (w) => ({ groupId: await proposedGroup(w, w.users.member, [w.memberId]) }),
    send: (user, w, prepared) => h.http.get(api(`/funds/${w.fund.id}/joint-groups/${prepared.groupId}`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'post /funds/{fundId}/loans/{loanId}/bank-repayments': {
    // A fresh bank loan of the world's member (so its member user is the borrower), drawn today;
    // 0.50 of principal reported paid to the bank.
    prepare: async (w) => ({ loanId: await drawnBankLoanOf(w) }),
    send: (user, w, prepared) =>
      h.http
        .post(api(`/funds/${w.fund.id}/loans/${prepared.loanId}/bank-repayments`))
        .set(user.auth)
        .set('Idempotency-Key', randomUUID())
        .send({ paidOn: TEST_TODAY, principal: '0.50', interest: '0.00', reference: `AUTHZ-BANK-${randomUUID()}` }),
    success: 201,
    writes: true,
  },
  'get /funds/{fundId}/recovery-cases': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/recovery-cases?status=open`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'get /funds/{fundId}/recovery-cases/{caseId}': {
    // The world's member guarantees the loan, so its member user may read the case.
    prepare: async (w) => caseIds(await worldCase(w)),
    send: (user, w, prepared) =>
      h.http.get(api(`/funds/${w.fund.id}/recovery-cases/${prepared.caseId}`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'post /funds/{fundId}/loans/{loanId}/recovery-actions': {
    // A fresh overdue pool loan: a declaration of default proposed.
    prepare: async (w) => {
      const { fund, borrower } = await lendingFundOf(w);
      const loanId = await disbursedLoanIn(w, fund.id, borrower);
      await h.db('loans').where({ id: loanId }).update({ status: 'overdue' });
      return { fundId: fund.id, loanId };
    },
    send: (user, _w, prepared) =>
      h.http
        .post(api(`/funds/${prepared.fundId}/loans/${prepared.loanId}/recovery-actions`))
        .set(user.auth)
        .send({ action: 'declare_default', reason: 'authorization matrix' }),
    success: 201,
    writes: true,
  },
  'post /funds/{fundId}/recovery-cases/{caseId}/actions': {
    // A fresh case whose loan has no collateral: the joint-and-several call may be proposed.
    prepare: async (w) => caseIds(await worldCase(w)),
    send: (user, _w, prepared) =>
      h.http
        .post(api(`/funds/${prepared.fundId}/recovery-cases/${prepared.caseId}/actions`))
        .set(user.auth)
        .send({ action: 'call_guarantees', reason: 'authorization matrix' }),
    success: 201,
    writes: true,
  },
  'get /funds/{fundId}/recovery-actions/{actionId}': {
    prepare: async (w) => ({ fundId: w.fund.id, actionId: await proposedCall(w) }),
    send: (user, _w, prepared) =>
      h.http.get(api(`/funds/${prepared.fundId}/recovery-actions/${prepared.actionId}`)).set(user.auth),
    success: 200,
    writes: false,
  },
  'post /funds/{fundId}/recovery-actions/{actionId}/withdraw': {
    prepare: async (w) => ({ fundId: w.fund.id, actionId: await proposedCall(w) }),
    send: (user, _w, prepared) =>
      h.http
        .post(api(`/funds/${prepared.fundId}/recovery-actions/${prepared.actionId}/withdraw`))
        .set(user.auth)
        .send(),
    success: 200,
    writes: true,
  },
  'post /funds/{fundId}/recovery-cases/{caseId}/collateral/{collateralId}/realisation': {
    // A case of a loan covered by a deposit: the item is found worthless.
    prepare: async (w) => {
      const c = await worldCase(w, true);
      const item = (await h.db('loan_collateral').where({ loan_id: c.loanId }).first('id')) as { id: string };
      return { ...caseIds(c), collateralId: item.id };
    },
    send: (user, _w, prepared) =>
      h.http
        .post(
          api(
            `/funds/${prepared.fundId}/recovery-cases/${prepared.caseId}/collateral/${prepared.collateralId}/realisation`,
          ),
        )
        .set(user.auth)
        .set('Idempotency-Key', randomUUID())
        .send({ outcome: 'worthless', takenOn: TEST_TODAY, note: 'authorization matrix' }),
    success: 201,
    writes: true,
  },
  'post /funds/{fundId}/recovery-cases/{caseId}/calls/{callId}/payments': {
    prepare: async (w) => calledCase(w, 0),
    send: (user, _w, prepared) =>
      h.http
        .post(api(`/funds/${prepared.fundId}/recovery-cases/${prepared.caseId}/calls/${prepared.callId}/payments`))
        .set(user.auth)
        .set('Idempotency-Key', randomUUID())
        .send({ amount: '1.00', receivedOn: TEST_TODAY, reference: `AUTHZ-CALL-${randomUUID()}` }),
    success: 201,
    writes: true,
  },
  'post /funds/{fundId}/recovery-cases/{caseId}/calls/{callId}/failure': {
    // Called 20 days ago: the call fell due 15 days after its meeting.
    prepare: async (w) => calledCase(w, 20),
    send: (user, _w, prepared) =>
      h.http
        .post(api(`/funds/${prepared.fundId}/recovery-cases/${prepared.caseId}/calls/${prepared.callId}/failure`))
        .set(user.auth)
        .set('Idempotency-Key', randomUUID())
        .send({ failedOn: TEST_TODAY, reason: 'authorization matrix' }),
    success: 201,
    writes: true,
  },
  'post /funds/{fundId}/recovery-cases/{caseId}/recoveries': {
    // Covered by a deposit found worthless; the borrower's 5.00 of capital offset; 5.00 written off.
    prepare: async (w) => {
      const c = await caseWithCommittee(w, { guaranteed: false, paidIn: '5.00', collateral: true });
      const item = (await h.db('loan_collateral').where({ loan_id: c.loanId }).first('id')) as { id: string };
      const worthless = await h.http
        .post(api(`/funds/${c.fund.id}/recovery-cases/${c.caseId}/collateral/${item.id}/realisation`))
        .set(c.fund.admin.auth)
        .set('Idempotency-Key', randomUUID())
        .send({ outcome: 'worthless', takenOn: TEST_TODAY, note: 'authorization matrix' });
      if (worthless.status !== 201) throw new Error(`not settled: ${worthless.status} ${worthless.text}`);
      await resolved(c, 'capital_offset');
      await resolved(c, 'write_off');
      return caseIds(c);
    },
    send: (user, _w, prepared) =>
      h.http
        .post(api(`/funds/${prepared.fundId}/recovery-cases/${prepared.caseId}/recoveries`))
        .set(user.auth)
        .set('Idempotency-Key', randomUUID())
        .send({ amount: '1.00', receivedOn: TEST_TODAY, reference: `AUTHZ-REC-${randomUUID()}`, payer: 'authz' }),
    success: 201,
    writes: true,
  },
  'get /funds/{fundId}/reports/exposure': {
    send: (user, w) => h.http.get(api(`/funds/${w.fund.id}/reports/exposure`)).set(user.auth),
    success: 200,
    writes: false,
  },
};

/**
 * A loan application the world's member could submit: 100.00 from the pool for 30 days (the
 * matrix's policy change caps terms at 90), covered by collateral alone.
 */
function loanApplicationBody(w: World, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    borrowerMemberId: w.memberId,
    amount: '100.00',
    purpose: 'authorization matrix',
    termDays: 30,
    repaymentMethod: 'bullet',
    wantedOn: TEST_TODAY,
    lender: { type: 'pool' },
    collateral: [{ description: '存单', kind: 'deposit', valuation: '100.00', valuedOn: TEST_TODAY, haircutPct: '0' }],
    ...overrides,
  };
}

/** A draft by the fund's administrator for the world's member. */
async function draftLoan(
  w: World,
  overrides: Record<string, unknown> = {},
): Promise<{ loanId: string; guaranteeId: string | undefined }> {
  const response = await h.http
    .post(api(`/funds/${w.fund.id}/loan-applications`))
    .set(w.fund.admin.auth)
    .send(loanApplicationBody(w, overrides));
  if (response.status !== 201) throw new Error(`draft not made: ${response.status} ${response.text}`);
  const guarantees = response.body.guarantees as { id: string }[];
  return { loanId: response.body.id as string, guaranteeId: guarantees[0]?.id };
}

/** A fresh member to guarantee or lend; member and committee callers act as users bound to it. */
async function partyMember(w: World, role: Role): Promise<Record<string, string>> {
  const memberId = await createMember(h, w.fund.id);
  if (role !== 'member' && role !== 'committee') return { memberId };
  const user = await makeUser(h, role, { fundId: w.fund.id, memberId });
  return { memberId, auth: user.auth.Authorization };
}

/** A valid credit code no other call uses (GB 32100-2015 check character computed by the module). */
let codeSequence = 0;
function freshCreditCode(): string {
  codeSequence += 1;
  const body = `91350100M${String(codeSequence).padStart(8, '0')}`;
  return body + creditCodeCheckChar(body);
}

/** The world fund's closed period (May 2026, nothing to allocate): the period reads need one. */
const CLOSED_PERIOD = '2026-05';

/** A fresh member without capital; for the member role, the bearer token of a user bound to it. */
async function leavingMember(w: World, role: Role): Promise<Record<string, string>> {
  const memberId = await createMember(h, w.fund.id);
  if (role !== 'member') return { memberId };
  const user = await makeUser(h, 'member', { fundId: w.fund.id, memberId });
  return { memberId, auth: user.auth.Authorization };
}

/**
 * An exit waiting for liquidity, in a fund of its own: a hold (a loan approval) leaves too little
 * pool cash to refund 100.00 above the 10 % reserve; releasing it lets the payment through.
 */
async function exitAwaitingLiquidity(w: World): Promise<Record<string, string>> {
  const fund = await createFund(h, w.fund.admin);
  const leaving = await createMember(h, fund.id);
  await fundPool(h, fund, '1000.00');
  await fundPool(h, fund, '100.00', leaving);
  const { hold } = await inTransaction(h.db, (trx) =>
    h.services.ledger.placeHold(trx, {
      fundId: fund.id,
      accountId: fund.accounts['1001']!,
      amount: '1000.00',
      expiresAt: new Date(h.clock.now().getTime() + 86_400_000),
      reason: 'Loan approval',
      actor: SYSTEM_ACTOR,
    }),
  );
  const exit = await h.http
    .post(api(`/funds/${fund.id}/members/${leaving}/exit`))
    .set(fund.admin.auth)
    .set('Idempotency-Key', randomUUID())
    .send({ reason: 'waiting for liquidity' });
  if (exit.status !== 201 || exit.body.status !== 'awaiting_liquidity') {
    throw new Error(`exit not waiting: ${exit.status} ${exit.text}`);
  }
  await inTransaction(h.db, (trx) => h.services.ledger.releaseHold(trx, fund.id, hold.id));
  return { fundId: fund.id, exitId: exit.body.id as string };
}

/**
 * A pool loan for `borrower` drafted and submitted by the fund's administrator (covered by a
 * deposit, 30 days, bullet), then approved by the approval contract directly (no committee).
 */
async function approvedLoanIn(w: World, fundId: string, borrower: string, amount: string): Promise<string> {
  const draft = await h.http
    .post(api(`/funds/${fundId}/loan-applications`))
    .set(w.fund.admin.auth)
    .send({
      borrowerMemberId: borrower,
      amount,
      purpose: 'authorization matrix',
      termDays: 30,
      repaymentMethod: 'bullet',
      wantedOn: TEST_TODAY,
      lender: { type: 'pool' },
      collateral: [{ description: '存单', kind: 'deposit', valuation: amount, valuedOn: TEST_TODAY, haircutPct: '0' }],
    });
  if (draft.status !== 201) throw new Error(`draft not made: ${draft.status} ${draft.text}`);
  const loanId = draft.body.id as string;
  const submitted = await h.http
    .post(api(`/funds/${fundId}/loan-applications/${loanId}/submit`))
    .set(w.fund.admin.auth)
    .send();
  if (submitted.status !== 200) throw new Error(`not submitted: ${submitted.status} ${submitted.text}`);
  await approveByContract(h, fundId, loanId);
  return loanId;
}

/**
 * A fund of its own with 2,000,000.00 of capital: disbursements leave the world's pool alone. Each
 * call borrows as a fresh member with 100,000.00 paid in, so no borrower's limits fill up.
 */
let lendingFund: Promise<TestFund> | undefined;
async function lendingFundOf(w: World): Promise<{ fund: TestFund; borrower: string }> {
  lendingFund ??= (async () => {
    const fund = await createFund(h, w.fund.admin);
    await fundPool(h, fund, '2000000.00');
    return fund;
  })();
  const fund = await lendingFund;
  const borrower = await createMember(h, fund.id);
  await fundPool(h, fund, '100000.00', borrower);
  return { fund, borrower };
}

/** One approved loan of 1.00 borrowed by the world's member, so its member user may read it. */
let worldLoan: Promise<string> | undefined;
function worldLoanOf(w: World): Promise<string> {
  worldLoan ??= approvedLoanIn(w, w.fund.id, w.memberId, '1.00');
  return worldLoan;
}

/** A committee user bound to a fresh member: a seat on the world's committee. */
async function committeeSeat(w: World): Promise<{ userId: string; auth: string }> {
  const memberId = await createMember(h, w.fund.id);
  const user = await makeUser(h, 'committee', { fundId: w.fund.id, memberId });
  return { userId: user.id, auth: user.auth.Authorization };
}

/** A submitted application (collateral only: nobody has to consent) of the world's member. */
async function submittedLoan(w: World, overrides: Record<string, unknown> = {}): Promise<string> {
  const { loanId } = await draftLoan(w, overrides);
  const response = await h.http
    .post(api(`/funds/${w.fund.id}/loan-applications/${loanId}/submit`))
    .set(w.fund.admin.auth)
    .send();
  if (response.status !== 200) throw new Error(`not submitted: ${response.status} ${response.text}`);
  return loanId;
}

/** A meeting with one submitted application on its agenda, chaired by a fresh committee seat. */
async function meetingOnAgenda(w: World, role?: Role): Promise<Record<string, string>> {
  const loanId = await submittedLoan(w);
  const chair = await committeeSeat(w);
  const response = await h.http
    .post(api(`/funds/${w.fund.id}/meetings`))
    .set(w.fund.admin.auth)
    .send({ heldOn: TEST_TODAY, chairUserId: chair.userId, applicationIds: [loanId] });
  if (response.status !== 201) throw new Error(`meeting not convened: ${response.status} ${response.text}`);
  const ids = { meetingId: response.body.id as string, itemId: response.body.items[0].id as string };
  return role === 'committee' ? { ...ids, auth: chair.auth } : ids;
}

/** An extension to 2026-08-01 asked for by the fund's administrator; its id. */
async function requestedExtension(w: World, loanId: string): Promise<string> {
  const response = await h.http
    .post(api(`/funds/${w.fund.id}/loans/${loanId}/extensions`))
    .set(w.fund.admin.auth)
    .set('Idempotency-Key', randomUUID())
    .send({ newMaturityDate: '2026-08-01', reason: 'authorization matrix' });
  if (response.status !== 201) throw new Error(`extension not requested: ${response.status} ${response.text}`);
  return response.body.id as string;
}

/** A fresh disbursed loan of the world's member (so its member user may act) with an extension asked for. */
async function extensionOfWorldLoan(w: World): Promise<Record<string, string>> {
  const loanId = await disbursedLoanIn(w, w.fund.id, w.memberId, '1.00');
  return { loanId, extensionId: await requestedExtension(w, loanId) };
}

/** A pool loan of `amount` approved (approvedLoanIn) and disbursed today by the world's administrator. */
async function disbursedLoanIn(w: World, fundId: string, borrower: string, amount = '100.00'): Promise<string> {
  const loanId = await approvedLoanIn(w, fundId, borrower, amount);
  const paid = await h.http
    .post(api(`/funds/${fundId}/loans/${loanId}/disbursements`))
    .set(w.fund.admin.auth)
    .set('Idempotency-Key', randomUUID())
    .send({ bankReference: `AUTHZ-DISB-${loanId}` });
  if (paid.status !== 201 || paid.body.status !== 'executed') {
    throw new Error(`not disbursed: ${paid.status} ${paid.text}`);
  }
  return loanId;
}

/** One disbursed loan of 1.00 borrowed by the world's member, so its member user may read it. */
let worldDisbursedLoan: Promise<string> | undefined;
function worldDisbursedLoanOf(w: World): Promise<string> {
  worldDisbursedLoan ??= disbursedLoanIn(w, w.fund.id, w.memberId, '1.00');
  return worldDisbursedLoan;
}

/** A joint guarantee group of `members` and fresh members up to three, proposed by `by`; its id. */
async function proposedGroup(w: World, by: TestUser, members: string[]): Promise<string> {
  const memberIds = [...members];
  while (memberIds.length < 3) memberIds.push(await createMember(h, w.fund.id));
  const response = await h.http
    .post(api(`/funds/${w.fund.id}/joint-groups`))
    .set(by.auth)
    .send({ name: unique('联保小组 '), limit: '100.00', memberIds });
  if (response.status !== 201) throw new Error(`group not proposed: ${response.status} ${response.text}`);
  return response.body.id as string;
}

/**
 * A group of the world's member and three fresh members, every member agreeing, put on a meeting's
 * agenda and approved by the committee's motion contract applied directly (the matrix world's
 * committee is too large for one seat's vote to make a quorum); its id.
 */
async function approvedGroupOf(w: World): Promise<string> {
  const others = [await createMember(h, w.fund.id), await createMember(h, w.fund.id), await createMember(h, w.fund.id)];
  const groupId = await proposedGroup(w, w.users.member, [w.memberId, ...others]);
  for (const memberId of others) {
    const user = await makeUser(h, 'member', { fundId: w.fund.id, memberId });
    const agreed = await h.http
      .post(api(`/funds/${w.fund.id}/joint-groups/${groupId}/consent`))
      .set(user.auth)
      .send({ decision: 'accept' });
    if (agreed.status !== 200) throw new Error(`consent refused: ${agreed.status} ${agreed.text}`);
  }
  const chair = await committeeSeat(w);
  const convened = await h.http
    .post(api(`/funds/${w.fund.id}/meetings`))
    .set(w.fund.admin.auth)
    .send({ heldOn: TEST_TODAY, chairUserId: chair.userId, jointGroupIds: [groupId] });
  if (convened.status !== 201) throw new Error(`meeting not convened: ${convened.status} ${convened.text}`);
  const itemId = (convened.body.items as { id: string; kind: string }[]).find((i) => i.kind === 'joint_group')!.id;
  await inTransaction(h.db, async (trx) => {
    const fund = toFund((await trx('funds').where({ id: w.fund.id }).first()) as FundRow);
    const decision = await h.services.jointGroups.decide(trx, fund, groupId, {
      itemId,
      resolution: `${TEST_TODAY}-99`,
      decidedOn: TEST_TODAY,
      passed: true,
      actor: SYSTEM_ACTOR,
      requestId: null,
    });
    if (decision.status !== 'approved') throw new Error(`group not approved: ${JSON.stringify(decision)}`);
  });
  return groupId;
}

/**
 * A bank loan of 1.00 borrowed by the world's member: 30 days on the bank's contract from today
 * (covered by a deposit: nobody has to consent), approved by the approval contract and its drawdown
 * registered today by the world's administrator. A fresh one per call: the reports of one loan are
 * dated in order and its principal runs out.
 */
async function drawnBankLoanOf(w: World): Promise<string> {
  const { loanId } = await draftLoan(w, {
    amount: '1.00',
    lender: {
      type: 'bank',
      bankName: 'authorization matrix bank',
      contractNumber: `AUTHZ-BANK-${randomUUID()}`,
      rateAnnual: '0.0435',
      startOn: TEST_TODAY,
      maturityOn: '2026-07-15',
    },
    collateral: [{ description: '存单', kind: 'deposit', valuation: '1.00', valuedOn: TEST_TODAY, haircutPct: '0' }],
  });
  const submitted = await h.http
    .post(api(`/funds/${w.fund.id}/loan-applications/${loanId}/submit`))
    .set(w.fund.admin.auth)
    .send();
  if (submitted.status !== 200) throw new Error(`not submitted: ${submitted.status} ${submitted.text}`);
  await approveByContract(h, w.fund.id, loanId);
  const drawn = await h.http
    .post(api(`/funds/${w.fund.id}/loans/${loanId}/disbursements`))
    .set(w.fund.admin.auth)
    .set('Idempotency-Key', randomUUID())
    .send({ bankReference: `AUTHZ-DRAW-${loanId}` });
  if (drawn.status !== 201 || drawn.body.status !== 'executed') {
    throw new Error(`drawdown not registered: ${drawn.status} ${drawn.text}`);
  }
  return loanId;
}

/** The world's administrator with a token issued at the harness's time (set back by some fixtures). */
function adminNow(w: World): TestUser {
  const auth = authNow(h, w.fund.admin);
  return { ...w.fund.admin, token: auth.Authorization.slice('Bearer '.length), auth };
}

/** The harness's day: its clock stands at 04:00 UTC, the same day in the fund's time zone. */
const harnessToday = (): string => h.clock.now().toISOString().slice(0, 10);

interface DefaultedCase {
  fund: TestFund;
  loanId: string;
  caseId: string;
}

const caseIds = (c: DefaultedCase): Record<string, string> => ({ fundId: c.fund.id, caseId: c.caseId });

/**
 * A pool loan of 10.00 in `fund`, borrowed by a fresh member with `paidIn` of capital, disbursed on
 * the harness's day; guaranteed in full by `guarantor` (joint and several) and/or covered by a
 * deposit; put in default and its recovery case opened by the daily job's own function.
 */
async function defaultedCase(
  fund: TestFund,
  options: { guarantor: string | null; paidIn: string; collateral: boolean },
): Promise<DefaultedCase> {
  const today = harnessToday();
  const borrower = await createMember(h, fund.id);
  await fundPool(h, fund, options.paidIn, borrower, today);
  await fundPool(h, fund, '100.00', undefined, today);
  const draft = await h.http
    .post(api(`/funds/${fund.id}/loan-applications`))
    .set(fund.admin.auth)
    .send({
      borrowerMemberId: borrower,
      amount: '10.00',
      purpose: 'authorization matrix',
      termDays: 30,
      repaymentMethod: 'bullet',
      wantedOn: today,
      lender: { type: 'pool' },
      guarantors:
        options.guarantor === null ? [] : [{ memberId: options.guarantor, amount: '10.00', type: 'joint_and_several' }],
      collateral: options.collateral
        ? [{ description: '存单', kind: 'deposit', valuation: '10.00', valuedOn: today, haircutPct: '0' }]
        : [],
    });
  if (draft.status !== 201) throw new Error(`draft not made: ${draft.status} ${draft.text}`);
  const loanId = draft.body.id as string;
  if (options.guarantor !== null) {
    const consenting = await makeUser(h, 'member', { fundId: fund.id, memberId: options.guarantor });
    const guaranteeId = (draft.body.guarantees as { id: string }[])[0]!.id;
    const agreed = await h.http
      .post(api(`/funds/${fund.id}/loan-applications/${loanId}/guarantees/${guaranteeId}/consent`))
      .set(consenting.auth)
      .send({ decision: 'accept' });
    if (agreed.status !== 200) throw new Error(`consent refused: ${agreed.status} ${agreed.text}`);
  }
  const submitted = await h.http
    .post(api(`/funds/${fund.id}/loan-applications/${loanId}/submit`))
    .set(fund.admin.auth)
    .send();
  if (submitted.status !== 200) throw new Error(`not submitted: ${submitted.status} ${submitted.text}`);
  await approveByContract(h, fund.id, loanId);
  const paid = await h.http
    .post(api(`/funds/${fund.id}/loans/${loanId}/disbursements`))
    .set(fund.admin.auth)
    .set('Idempotency-Key', randomUUID())
    .send({ bankReference: `AUTHZ-DISB-${loanId}` });
  if (paid.status !== 201 || paid.body.status !== 'executed') {
    throw new Error(`not disbursed: ${paid.status} ${paid.text}`);
  }
  // In default as the daily job would leave it, and its case opened by the job's own function.
  await h.db('loans').where({ id: loanId }).update({ status: 'defaulted' });
  await inTransaction(h.db, async (trx) => {
    const row = toFund((await trx('funds').where({ id: fund.id }).first()) as FundRow);
    await openCasesOnDefault(trx, h.services.recovery.deps, row, today, { actor: SYSTEM_ACTOR, requestId: null });
  });
  const kase = (await h.db('recovery_cases').where({ fund_id: fund.id, loan_id: loanId }).first('id')) as {
    id: string;
  };
  return { fund, loanId, caseId: kase.id };
}

/** A case in the world's fund guaranteed by the world's member, so its member user may read it. */
function worldCase(w: World, collateral = false): Promise<DefaultedCase> {
  return defaultedCase({ ...w.fund, admin: adminNow(w) }, { guarantor: w.memberId, paidIn: '100.00', collateral });
}

/**
 * A case in a fund of its own, whose one committee seat (bound to a member that is no party to
 * the loan) makes the quorum by itself.
 */
async function caseWithCommittee(
  w: World,
  options: { guaranteed: boolean; paidIn: string; collateral: boolean },
): Promise<DefaultedCase & { seat: TestUser }> {
  const admin = adminNow(w);
  const fund = { ...(await createFund(h, admin)), admin };
  await fundPool(h, fund, '1000.00', undefined, harnessToday());
  const guarantor = options.guaranteed ? await createMember(h, fund.id) : null;
  if (guarantor !== null) await fundPool(h, fund, '100.00', guarantor, harnessToday());
  const c = await defaultedCase(fund, { guarantor, paidIn: options.paidIn, collateral: options.collateral });
  const seat = await makeUser(h, 'committee', { fundId: fund.id, memberId: await createMember(h, fund.id) });
  return { ...c, seat };
}

/** Proposes a step of the case and has the committee pass it at a meeting held that day. */
async function resolved(
  c: DefaultedCase & { seat: TestUser },
  action: 'call_guarantees' | 'capital_offset' | 'write_off',
): Promise<void> {
  const admin = c.fund.admin;
  const proposed = await h.http
    .post(api(`/funds/${c.fund.id}/recovery-cases/${c.caseId}/actions`))
    .set(admin.auth)
    .send({ action, reason: 'authorization matrix' });
  if (proposed.status !== 201) throw new Error(`${action} not proposed: ${proposed.status} ${proposed.text}`);
  const meeting = await h.http
    .post(api(`/funds/${c.fund.id}/meetings`))
    .set(admin.auth)
    .send({ heldOn: harnessToday(), chairUserId: c.seat.id, recoveryActionIds: [proposed.body.id] });
  if (meeting.status !== 201) throw new Error(`meeting not convened: ${meeting.status} ${meeting.text}`);
  const meetingPath = `/funds/${c.fund.id}/meetings/${meeting.body.id as string}`;
  const itemId = (meeting.body.items as { id: string }[])[0]!.id;
  const steps = [
    h.http
      .post(api(`${meetingPath}/attendance`))
      .set(admin.auth)
      .send({ userIds: [c.seat.id] }),
    h.http
      .post(api(`${meetingPath}/items/${itemId}/votes`))
      .set(c.seat.auth)
      .send({ vote: 'approve' }),
    h.http
      .post(api(`${meetingPath}/items/${itemId}/decide`))
      .set(admin.auth)
      .set('Idempotency-Key', randomUUID())
      .send({}),
  ];
  for (const step of steps) {
    const response = await step;
    if (response.status >= 300) throw new Error(`${action} not resolved: ${response.status} ${response.text}`);
  }
  const decided = (await h.db('committee_items').where({ id: itemId }).first('status')) as { status: string };
  if (decided.status !== 'approved') throw new Error(`${action} not approved: ${decided.status}`);
}

/**
 * A call on the guarantor of a fresh defaulted loan, made `daysAgo` days ago (the harness's clock
 * is set back for the setup, then forward again): its fund, case and call.
 */
async function calledCase(w: World, daysAgo: number): Promise<Record<string, string>> {
  const now = h.clock.now();
  h.clock.set(new Date(now.getTime() - daysAgo * 86_400_000));
  try {
    const c = await caseWithCommittee(w, { guaranteed: true, paidIn: '100.00', collateral: false });
    await resolved(c, 'call_guarantees');
    const call = (await h.db('recovery_calls').where({ fund_id: c.fund.id, case_id: c.caseId }).first('id')) as {
      id: string;
    };
    return { ...caseIds(c), callId: call.id };
  } finally {
    h.clock.set(now);
  }
}

/** A call_guarantees step proposed on a fresh case of the world's fund: its action id. */
async function proposedCall(w: World): Promise<string> {
  const c = await worldCase(w);
  const proposed = await h.http
    .post(api(`/funds/${c.fund.id}/recovery-cases/${c.caseId}/actions`))
    .set(c.fund.admin.auth)
    .send({ action: 'call_guarantees', reason: 'authorization matrix' });
  if (proposed.status !== 201) throw new Error(`not proposed: ${proposed.status} ${proposed.text}`);
  return proposed.body.id as string;
}

/** Platform-wide counts: a refused POST /funds has no fund of its own to snapshot. */
async function platformCounts(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of ['funds', 'journal_entries', 'postings', 'audit_log', 'idempotency_keys', 'accounts']) {
    counts[table] = Number(((await h.db(table).count({ n: '*' }))[0] as { n: string }).n);
  }
  return counts;
}

let world: World;

beforeAll(async () => {
  h = await startHarness();
  const fund = await createFund(h);
  const memberId = await createMember(h, fund.id);
  const capitalId = await fundPool(h, fund, '1000.00', memberId);
  const entry = (await h.db('journal_entries').where({ fund_id: fund.id }).first('id')) as { id: string };
  await h.db('members').where({ id: memberId }).update({ subscribed_amount: '1000000.00' });
  const call = await h.http
    .post(api(`/funds/${fund.id}/capital-calls`))
    .set(fund.admin.auth)
    .send({ percent: '1', dueOn: '2026-07-15' });
  if (call.status !== 201) throw new Error(`call not made: ${call.status} ${call.text}`);
  const closed = await h.http
    .post(api(`/funds/${fund.id}/periods/${CLOSED_PERIOD}/close`))
    .set(fund.admin.auth)
    .set('Idempotency-Key', randomUUID())
    .send({});
  if (closed.status !== 201) throw new Error(`period not closed: ${closed.status} ${closed.text}`);
  world = {
    fund,
    memberId,
    capitalId,
    entryId: entry.id,
    callId: call.body.id as string,
    users: {
      admin: fund.admin,
      committee: await makeUser(h, 'committee', { fundId: fund.id }),
      member: await makeUser(h, 'member', { fundId: fund.id, memberId }),
      auditor: await makeUser(h, 'auditor', { fundId: fund.id }),
    },
  };
});
afterAll(async () => {
  await h.close();
});

test('when the routes are listed, then the expected table and the requests cover exactly those routes', () => {
  expect(Object.keys(EXPECTED).sort()).toEqual([...ROUTE_KEYS].sort());
  expect(Object.keys(CALLS).sort()).toEqual([...ROUTE_KEYS].sort());
  expect(new Set(ROUTE_KEYS).size).toBe(ROUTE_KEYS.length);
});

test('when a route is public in the table, then the route declares no permission, and the reverse', () => {
  const publicInTable = Object.entries(EXPECTED)
    .filter(([, roles]) => roles === 'public')
    .map(([key]) => key)
    .sort();
  const publicInCode = ROUTES.filter((route) => route.permission === 'public')
    .map((route) => `${route.method} ${route.path}`)
    .sort();
  expect(publicInCode).toEqual(publicInTable);
});

const CASES = ROUTE_KEYS.flatMap((key) =>
  ALL.map((role) => {
    const expected = EXPECTED[key];
    const allowed = expected === undefined ? false : expected === 'public' || expected.includes(role);
    const outcome = allowed ? 'it is served' : 'it is refused with 403 forbidden and changes nothing';
    return { key, role, allowed, outcome };
  }),
);

describe.each(ROUTE_KEYS)('%s', (key) => {
  test.each(CASES.filter((entry) => entry.key === key))(
    'when the $role user calls it, then $outcome',
    async ({ role, allowed }) => {
      const call = CALLS[key];
      if (!call) throw new Error(`no request for ${key}: add one to CALLS`);
      const user = world.users[role];
      const prepared = call.prepare ? await call.prepare(world, role) : {};
      const before = call.writes ? { fund: await snapshot(h, world.fund.id), platform: await platformCounts() } : null;

      const response = await call.send(user, world, prepared);

      if (allowed) {
        expect({ role, status: response.status, body: response.status >= 400 ? response.body : undefined }).toEqual({
          role,
          status: call.success,
          body: undefined,
        });
        if (call.writes) await expectFundConsistent(h, world.fund.id);
        return;
      }
      expectProblem(response, 403, 'forbidden');
      expect(response.body).toMatchObject({ role });
      if (before) {
        expect(await snapshot(h, world.fund.id)).toEqual(before.fund);
        expect(await platformCounts()).toEqual(before.platform);
      }
    },
  );
});

test('when an administrator bound to a fund creates a fund, then the answer is 403 forbidden and nothing changes', async () => {
  const boundAdmin = await makeUser(h, 'admin', { fundId: world.fund.id });
  const before = { fund: await snapshot(h, world.fund.id), platform: await platformCounts() };

  const response = await h.http
    .post(api('/funds'))
    .set(boundAdmin.auth)
    .set('Idempotency-Key', randomUUID())
    .send({ name: unique('Fund ') });

  expectProblem(response, 403, 'forbidden');
  expect(await snapshot(h, world.fund.id)).toEqual(before.fund);
  expect(await platformCounts()).toEqual(before.platform);
});
