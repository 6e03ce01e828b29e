import { expectProblem } from '../auth/problem';
import {
  circleWorld,
  disbursed,
  drafted,
  guaranteeTables,
  randomUUID,
  submitLoan,
  type CircleWorld,
} from '../guarantees/guarantees.helpers';
import { api, changePolicy } from '../loans/loans.helpers';
import { approveByContract, disburse } from '../disbursements/disbursements.helpers';
import { setToday } from '../repayments/repayments.helpers';
import { makeUser, startHarness, TEST_TODAY, type Harness, type TestUser } from '../../helpers/harness';

/**
 * The exposure report: every member's and related group's loans, peer lending, guarantees and
 * collateral as of a day, against the policy limits. Figures below are worked out by hand from
 * the world of guarantees.helpers.ts: members A, B, C, D with 100,000.00 paid in each and BIG with
 * 2,000,000.00 (pool capital 2,400,000.00). A and B form related group "G1".
 *
 * Loans, all disbursed on TEST_TODAY (2026-06-15), interest-free, each covered by a deposit worth
 * its amount (haircut 0):
 *  - L1 pool, A borrows 90,000.00; C guarantees 90,000.00.
 *  - L2 pool, B borrows 80,000.00; C guarantees 60,000.00 and D 20,000.00.
 *  - L3 peer, D lends A 40,000.00; B guarantees 40,000.00.
 * On 06-25 B repays 40,000.00 of L2: half its principal, so half of each L2 guarantee is released
 * (C 30,000.00, D 10,000.00).
 */

let h: Harness;
let w: CircleWorld;
let l2: string;
let auditor: TestUser;

const REPAID_ON = '2026-06-25';

beforeAll(async () => {
  h = await startHarness();
  w = await circleWorld(h);
  for (const letter of ['A', 'B'] as const) {
    const response = await h.http
      .patch(api(`/funds/${w.fund.id}/members/${w.ids[letter]}`))
      .set(w.fund.admin.auth)
      .send({ relatedGroup: 'G1' });
    expect(response.status).toBe(200);
  }
  await disbursed(h, w, { borrower: 'A', amount: '90000.00', guarantors: [{ by: 'C', amount: '90000.00' }] });
  l2 = (
    await disbursed(h, w, {
      borrower: 'B',
      amount: '80000.00',
      guarantors: [
        { by: 'C', amount: '60000.00' },
        { by: 'D', amount: '20000.00' },
      ],
    })
  ).id;
  await peerLoan();
  auditor = await makeUser(h, 'auditor', { fundId: w.fund.id });
});

afterAll(async () => {
  await h.close();
});

/** L3: D lends A 40,000.00, B guarantees it; every consent given, approved, disbursed today. */
async function peerLoan(): Promise<void> {
  const loan = await drafted(h, w, {
    borrower: 'A',
    amount: '40000.00',
    guarantors: [{ by: 'B', amount: '40000.00' }],
    lender: { type: 'peer', memberId: w.ids.D },
  });
  const lender = await h.http
    .post(api(`/funds/${w.fund.id}/loan-applications/${loan.id}/lender-consent`))
    .set(w.users.D.auth)
    .send({ decision: 'accept' });
  expect(lender.status).toBe(200);
  const guarantee = loan.guarantees[0]!;
  const consent = await h.http
    .post(api(`/funds/${w.fund.id}/loan-applications/${loan.id}/guarantees/${guarantee.id}/consent`))
    .set(w.users.B.auth)
    .send({ decision: 'accept' });
  expect(consent.status).toBe(200);
  expect((await submitLoan(h, w, loan.id)).status).toBe(200);
  await approveByContract(h, w.fund.id, loan.id);
  const paid = await disburse(h, w.fund.admin, w.fund.id, loan.id, { bankReference: `PEER-${loan.id}` });
  expect(paid.status).toBe(201);
}

function exposure(user: TestUser, asOf?: string, accept?: string) {
  const request = h.http.get(api(`/funds/${w.fund.id}/reports/exposure`)).set(user.auth);
  if (asOf !== undefined) request.query({ asOf });
  if (accept !== undefined) request.set('Accept', accept);
  return request;
}

interface LimitLine {
  measure: string;
  limit: string;
  actual: string;
  breached: boolean;
  excess: string;
}
interface Figures {
  poolLoans: string;
  peerLoansBorrowed: string;
  peerLoansLent: string;
  bankLoans: string;
  guaranteesGiven: { own: string; jointGroupShare: string; total: string };
  collateralPledged: { valuation: string; counted: string };
  limits: LimitLine[];
}
interface MemberLine extends Figures {
  member: { memberId: string; name: string; relatedGroup: string | null; status: string };
  paidInCapital: string;
}
interface ExposureBody {
  asOf: string;
  poolCapital: string;
  scope: { memberId: string | null };
  members: MemberLine[];
  relatedGroups: (Figures & { relatedGroup: string; memberIds: string[] })[];
  breaches: Record<string, unknown>[];
}

function limit(measure: string, limitAmount: string, actual: string): LimitLine {
  const excess = Number(actual) > Number(limitAmount) ? (Number(actual) - Number(limitAmount)).toFixed(2) : '0.00';
  return { measure, limit: limitAmount, actual, breached: excess !== '0.00', excess };
}

function memberOf(body: ExposureBody, letter: 'A' | 'B' | 'C' | 'D'): MemberLine {
  const line = body.members.find((row) => row.member.memberId === w.ids[letter]);
  if (!line) throw new Error(`no line for ${letter}`);
  return line;
}

const nothing = { own: '0.00', jointGroupShare: '0.00', total: '0.00' };

describe('exposure as of a day', () => {
  test('when the loans are outstanding, then each member shows what it borrows, lends, guarantees and pledges, against its limits', async () => {
    const response = await exposure(auditor);
    expect(response.status).toBe(200);
    const body = response.body as ExposureBody;
    expect(body).toMatchObject({ asOf: TEST_TODAY, poolCapital: '2400000.00', scope: { memberId: null } });
    // Default policy: 3 × paid-in (300,000.00), 20 % of pool capital (480,000.00), capacity
    // 2 × paid-in (200,000.00), related group 30 % (720,000.00).
    expect(memberOf(body, 'A')).toMatchObject({
      member: { name: w.names.A, relatedGroup: 'G1', status: 'active' },
      paidInCapital: '100000.00',
      poolLoans: '90000.00',
      peerLoansBorrowed: '40000.00',
      peerLoansLent: '0.00',
      bankLoans: '0.00',
      guaranteesGiven: nothing,
      collateralPledged: { valuation: '130000.00', counted: '130000.00' },
      limits: [
        limit('pool_loans_paid_in_multiple', '300000.00', '90000.00'),
        limit('single_borrower', '480000.00', '90000.00'),
        limit('guarantor_capacity', '200000.00', '0.00'),
      ],
    });
    expect(memberOf(body, 'B')).toMatchObject({
      poolLoans: '80000.00',
      peerLoansBorrowed: '0.00',
      guaranteesGiven: { own: '40000.00', jointGroupShare: '0.00', total: '40000.00' },
      collateralPledged: { valuation: '80000.00', counted: '80000.00' },
    });
    expect(memberOf(body, 'C')).toMatchObject({
      poolLoans: '0.00',
      guaranteesGiven: { own: '150000.00', jointGroupShare: '0.00', total: '150000.00' },
      collateralPledged: { valuation: '0.00', counted: '0.00' },
      limits: [
        limit('pool_loans_paid_in_multiple', '300000.00', '0.00'),
        limit('single_borrower', '480000.00', '0.00'),
        limit('guarantor_capacity', '200000.00', '150000.00'),
      ],
    });
    expect(memberOf(body, 'D')).toMatchObject({
      peerLoansLent: '40000.00',
      guaranteesGiven: { own: '20000.00', jointGroupShare: '0.00', total: '20000.00' },
    });
    expect(body.relatedGroups).toEqual([
      {
        relatedGroup: 'G1',
        memberIds: expect.arrayContaining([w.ids.A, w.ids.B]),
        poolLoans: '170000.00',
        peerLoansBorrowed: '40000.00',
        peerLoansLent: '0.00',
        bankLoans: '0.00',
        guaranteesGiven: { own: '40000.00', jointGroupShare: '0.00', total: '40000.00' },
        collateralPledged: { valuation: '210000.00', counted: '210000.00' },
        limits: [limit('related_group', '720000.00', '170000.00')],
      },
    ]);
    expect(body.relatedGroups[0]!.memberIds).toHaveLength(2);
    expect(body.breaches).toEqual([]);
  });

  test('when principal is repaid, then the report as of a later day shows it and its released guarantees, and the earlier day is unchanged', async () => {
    const before = (await exposure(auditor, TEST_TODAY)).body as ExposureBody;
    setToday(h, REPAID_ON, undefined, w.fund.admin, auditor);
    try {
      const paid = await h.http
        .post(api(`/funds/${w.fund.id}/loans/${l2}/repayments`))
        .set(w.fund.admin.auth)
        .set('Idempotency-Key', randomUUID())
        .send({ amount: '40000.00', receivedOn: REPAID_ON, reference: `BANK-${randomUUID()}` });
      expect(paid.status).toBe(201);

      const later = (await exposure(auditor, REPAID_ON)).body as ExposureBody;
      expect(memberOf(later, 'B')).toMatchObject({ poolLoans: '40000.00' });
      // Half of L2 repaid: C's 60,000.00 on it stands at 30,000.00 (+ 90,000.00 on L1), D's at 10,000.00.
      expect(memberOf(later, 'C').guaranteesGiven).toEqual({
        own: '120000.00',
        jointGroupShare: '0.00',
        total: '120000.00',
      });
      expect(memberOf(later, 'D').guaranteesGiven).toEqual({
        own: '10000.00',
        jointGroupShare: '0.00',
        total: '10000.00',
      });
      expect(later.relatedGroups[0]).toMatchObject({ poolLoans: '130000.00' });
      // The day before the repayment still reads as it did.
      expect((await exposure(auditor, '2026-06-24')).body).toEqual({ ...before, asOf: '2026-06-24' });
    } finally {
      setToday(h, TEST_TODAY, undefined, w.fund.admin, auditor);
    }
  });

  test('when the policy lowers the limits, then every breach is listed with its excess', async () => {
    const changed = await changePolicy(h, w.fund, {
      singleBorrowerLimitPct: '3.5',
      relatedGroupLimitPct: '6',
      guarantorCapacityPaidInMultiple: '1.4',
    });
    expect(changed.status).toBe(201);
    const body = (await exposure(auditor, TEST_TODAY)).body as ExposureBody;
    // 3.5 % of 2,400,000.00 = 84,000.00; 6 % = 144,000.00; 1.4 × 100,000.00 = 140,000.00.
    expect(memberOf(body, 'A').limits).toEqual([
      limit('pool_loans_paid_in_multiple', '300000.00', '90000.00'),
      limit('single_borrower', '84000.00', '90000.00'),
      limit('guarantor_capacity', '140000.00', '0.00'),
    ]);
    expect(memberOf(body, 'B').limits[1]).toEqual(limit('single_borrower', '84000.00', '80000.00'));
    expect(body.breaches).toHaveLength(3);
    expect(body.breaches).toEqual(
      expect.arrayContaining([
        {
          scope: 'member',
          memberId: w.ids.A,
          relatedGroup: null,
          measure: 'single_borrower',
          limit: '84000.00',
          actual: '90000.00',
          excess: '6000.00',
        },
        {
          scope: 'member',
          memberId: w.ids.C,
          relatedGroup: null,
          measure: 'guarantor_capacity',
          limit: '140000.00',
          actual: '150000.00',
          excess: '10000.00',
        },
      ]),
    );
    expect(body.breaches[2]).toEqual({
      scope: 'related_group',
      memberId: null,
      relatedGroup: 'G1',
      measure: 'related_group',
      limit: '144000.00',
      actual: '170000.00',
      excess: '26000.00',
    });
    // Members are listed by name: the breaches follow that order, whatever the names drawn.
    const memberBreaches = body.breaches.filter((row) => row.scope === 'member').map((row) => row.memberId);
    const order = body.members.map((row) => row.member.memberId).filter((id) => memberBreaches.includes(id));
    expect(memberBreaches).toEqual(order);
  });
});

describe('exposure scoping, CSV and refusals', () => {
  test('when a member user asks, then it gets its own row and its related group only', async () => {
    const body = (await exposure(w.users.A, TEST_TODAY)).body as ExposureBody;
    expect(body.scope).toEqual({ memberId: w.ids.A });
    expect(body.members.map((row) => row.member.memberId)).toEqual([w.ids.A]);
    expect(body.relatedGroups.map((row) => row.relatedGroup)).toEqual(['G1']);
    expect(body.breaches.every((row) => row.memberId === w.ids.A || row.relatedGroup === 'G1')).toBe(true);

    const other = (await exposure(w.users.C, TEST_TODAY)).body as ExposureBody;
    expect(other.members.map((row) => row.member.memberId)).toEqual([w.ids.C]);
    expect(other.relatedGroups).toEqual([]);
  });

  // Under the lowered limits of the policy change above.
  test('when CSV is asked for, then each member and related group is a row with its figures and limits', async () => {
    const response = await exposure(auditor, TEST_TODAY, 'text/csv');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/csv/);
    expect(response.headers['content-disposition']).toBe(
      `attachment; filename="exposure-${w.fund.id}-${TEST_TODAY}.csv"`,
    );
    const lines = response.text
      .replace(/^\uFEFF/, '')
      .trimEnd()
      .split('\r\n');
    const json = (await exposure(auditor, TEST_TODAY)).body as ExposureBody;
    expect(lines).toHaveLength(1 + json.members.length + json.relatedGroups.length);
    expect(lines[0]!.split(',')).toHaveLength(17 + 4 * 3);
    expect(lines[0]!.split(',').slice(2, 4)).toEqual(['范围 Scope', '范围中文名 Scope in Chinese']);
    const rowOfC = lines.find((line) => line.includes(w.ids.C))!.split(',');
    // The scope's code, then its Chinese name.
    expect(rowOfC.slice(2, 8)).toEqual(['member', '会员', w.ids.C, w.names.C, '', '100000.00']);
    // own, share, total, then the collateral, then limit/actual/breached per measure.
    expect(rowOfC.slice(12, 15)).toEqual(['150000.00', '0.00', '150000.00']);
    expect(rowOfC.slice(23, 26)).toEqual(['140000.00', '150000.00', 'true']);
    expect(rowOfC.slice(26, 29)).toEqual(['', '', '']);
    const group = lines.find((line) => line.includes(',related_group,'))!.split(',');
    expect(group.slice(2, 4)).toEqual(['related_group', '关联集团']);
    expect(group.slice(26, 29)).toEqual(['144000.00', '170000.00', 'true']);
  });

  test('when the day is after today or before the fund, then it is a 422 and nothing changes', async () => {
    const before = await guaranteeTables(h, w.fund.id);
    expectProblem(await exposure(auditor, '2026-06-16'), 422, 'as_of_in_future');
    expectProblem(await exposure(auditor, '2000-01-01'), 422, 'as_of_before_fund');
    expectProblem(await exposure(auditor, '2026-02-30'), 400, 'validation_failed');
    expect(await guaranteeTables(h, w.fund.id)).toEqual(before);
  });
});
