import { DEFAULT_POLICY } from '../../../src/funds/policy';
import { createFund, createMember, type TestFund } from '../../helpers/factories';
import { makeUser, startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { expectFundConsistent } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';
import { approvedLoan, disburse } from '../disbursements/disbursements.helpers';
import { loanWorld } from '../loans/loans.helpers';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

function changePolicy(fund: TestFund, body: Record<string, unknown>) {
  return h.http.post(`/api/v1/funds/${fund.id}/policy`).set(fund.admin.auth).send(body);
}

function asOf(fund: TestFund, date: string) {
  return h.http.get(`/api/v1/funds/${fund.id}/policy?asOf=${date}`).set(fund.admin.auth);
}

async function policyRows(fundId: string) {
  return h.db('fund_policy_versions').where({ fund_id: fundId }).orderBy('version');
}

async function auditActions(fundId: string): Promise<string[]> {
  // In chain order: the test clock stands still, so timestamps tie.
  return (await h
    .db('audit_log as a')
    .join('audit_links as l', 'l.audit_id', 'a.id')
    .where({ 'a.fund_id': fundId })
    .orderBy('l.seq')
    .pluck('a.action')) as string[];
}

describe('fund policy', () => {
  test('when a fund is created without a policy, then version 1 holds every documented default from its establishment', async () => {
    const fund = await createFund(h);
    const response = await h.http.get(`/api/v1/funds/${fund.id}/policy`).set(fund.admin.auth);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ version: 1, effectiveDate: TEST_TODAY, policy: DEFAULT_POLICY });
    expect(DEFAULT_POLICY).toMatchObject({
      loanLimitPaidInMultiple: '3',
      singleBorrowerLimitPct: '20',
      relatedGroupLimitPct: '30',
      liquidityReservePct: '10',
      termDaysMax: 180,
      rateAnnual: '0',
      serviceFeeRate: '0',
      dayCount: 'ACT/360',
      penaltyUpliftPct: '50',
      guaranteeCoveragePct: '100',
      guarantorCapacityPaidInMultiple: '2',
      defaultAfterDaysOverdue: 90,
      exitLockupDays: 365,
      classification: { specialMentionDaysMax: 90, substandardDaysMax: 270, doubtfulDaysMax: 360 },
    });
  });

  test('when the policy changes from a later date, then both versions stay readable by date and the change is audited', async () => {
    const fund = await createFund(h);
    const response = await changePolicy(fund, {
      effectiveDate: '2026-07-01',
      reason: '第3次联席会议决议',
      changes: { singleBorrowerLimitPct: '15', committee: { quorum: '2/3' } },
    });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      version: 2,
      effectiveDate: '2026-07-01',
      reason: '第3次联席会议决议',
      policy: {
        ...DEFAULT_POLICY,
        singleBorrowerLimitPct: '15',
        committee: { ...DEFAULT_POLICY.committee, quorum: '2/3' },
      },
    });

    const on = (date?: string) =>
      h.http.get(`/api/v1/funds/${fund.id}/policy${date ? `?asOf=${date}` : ''}`).set(fund.admin.auth);
    expect((await on()).body.version).toBe(1);
    expect((await on('2026-06-30')).body.version).toBe(1);
    expect((await on('2026-07-01')).body).toMatchObject({ version: 2, policy: { singleBorrowerLimitPct: '15' } });
    expect((await on('2027-01-01')).body.version).toBe(2);
    expectProblem(await on('2026-01-01'), 404, 'policy_not_in_force');

    const versions = await h.http.get(`/api/v1/funds/${fund.id}/policy/versions?limit=1`).set(fund.admin.auth);
    expect(versions.body.items.map((item: { version: number }) => item.version)).toEqual([2]);
    const older = await h.http
      .get(`/api/v1/funds/${fund.id}/policy/versions?limit=1&cursor=${versions.body.nextCursor}`)
      .set(fund.admin.auth);
    expect(older.body).toMatchObject({ items: [{ version: 1 }], nextCursor: null });

    expect(await auditActions(fund.id)).toContain('funds.policy.change');
    const audit = await h.db('audit_log').where({ fund_id: fund.id, action: 'funds.policy.change' }).first();
    expect(audit.target_id).toBe('2');
    expect(audit.payload.request.reason).toBe('第3次联席会议决议');
  });

  test('when a change is dated before a scheduled one, then its own version leaves the later change out and the scheduled version carries it', async () => {
    const fund = await createFund(h);
    await changePolicy(fund, { effectiveDate: '2026-09-01', reason: 'r1', changes: { termDaysMax: 90 } });
    const response = await changePolicy(fund, {
      effectiveDate: '2026-07-01',
      reason: 'r2',
      changes: { rateAnnual: '0.0435' },
    });
    expect(response.status).toBe(201);
    // Version 3 is the policy from 2026-07-01: September's change is not yet in force then.
    expect(response.body).toMatchObject({ version: 3, policy: { termDaysMax: 180, rateAnnual: '0.0435' } });
    // Version 4 restates September: July's change holds there too, as no decision changed that field since.
    const september = await asOf(fund, '2026-09-01');
    expect(september.body).toMatchObject({
      version: 4,
      reason: 'r1',
      policy: { termDaysMax: 90, rateAnnual: '0.0435' },
    });
  });

  /** Two decisions scheduled ahead; they change one field in common (rateAnnual) and one nested group. */
  const JANUARY = {
    effectiveDate: '2027-01-01',
    reason: '第5次联席会议决议',
    changes: { singleBorrowerLimitPct: '15', rateAnnual: '0.01', committee: { quorum: '2/3' } },
  };
  const MARCH = {
    effectiveDate: '2027-03-01',
    reason: '第6次联席会议决议',
    changes: { termDaysMax: 90, rateAnnual: '0.02', committee: { passThreshold: '2/3' } },
  };
  const FROM_JANUARY = {
    ...DEFAULT_POLICY,
    singleBorrowerLimitPct: '15',
    rateAnnual: '0.01',
    committee: { ...DEFAULT_POLICY.committee, quorum: '2/3' },
  };
  const FROM_MARCH = {
    ...FROM_JANUARY,
    termDaysMax: 90,
    rateAnnual: '0.02',
    committee: { ...FROM_JANUARY.committee, passThreshold: '2/3' },
  };
  const MARCH_ALONE = {
    ...DEFAULT_POLICY,
    termDaysMax: 90,
    rateAnnual: '0.02',
    committee: { ...DEFAULT_POLICY.committee, passThreshold: '2/3' },
  };

  /** Every field of the policy as its path in `setBy`: "termDaysMax", "committee.quorum". */
  function fieldPaths(policy: Record<string, unknown>): string[] {
    return Object.entries(policy).flatMap(([field, value]) =>
      typeof value === 'object' && value !== null ? Object.keys(value).map((inner) => `${field}.${inner}`) : [field],
    );
  }

  /** Every field set by the establishment (decision 1), then the named fields by the given decisions. */
  function setBy(...decisions: [number, string, string[]][]) {
    const origins: Record<string, { decision: number; effectiveDate: string }> = Object.fromEntries(
      fieldPaths(DEFAULT_POLICY).map((path) => [path, { decision: 1, effectiveDate: TEST_TODAY }]),
    );
    for (const [decision, effectiveDate, paths] of decisions) {
      for (const path of paths) origins[path] = { decision, effectiveDate };
    }
    return origins;
  }
  const JANUARY_FIELDS = ['singleBorrowerLimitPct', 'rateAnnual', 'committee.quorum'];
  const MARCH_FIELDS = ['termDaysMax', 'rateAnnual', 'committee.passThreshold'];

  async function allVersions(fund: TestFund) {
    const response = await h.http.get(`/api/v1/funds/${fund.id}/policy/versions?limit=200`).set(fund.admin.auth);
    expect(response.status).toBe(200);
    return response.body.items as Record<string, unknown>[];
  }

  test.each([
    ['March then January', [MARCH, JANUARY]],
    ['January then March', [JANUARY, MARCH]],
  ])(
    'when changes are recorded %s, then the policy as of each day keeps each field’s latest decision dated on or before it',
    async (_order, decisions) => {
      const fund = await createFund(h);
      for (const decision of decisions) expect((await changePolicy(fund, decision)).status).toBe(201);
      const expected: [string, unknown][] = [
        [TEST_TODAY, DEFAULT_POLICY],
        ['2026-12-31', DEFAULT_POLICY],
        ['2027-01-01', FROM_JANUARY],
        ['2027-02-28', FROM_JANUARY],
        ['2027-03-01', FROM_MARCH],
        ['2027-12-31', FROM_MARCH],
      ];
      for (const [date, policy] of expected) {
        const response = await asOf(fund, date);
        expect({ date, status: response.status, policy: response.body.policy }).toEqual({ date, status: 200, policy });
      }
    },
  );

  test('when a January change is recorded after a March one, then the version list restates March and names the decision behind each field', async () => {
    const fund = await createFund(h);
    const version1 = await policyRows(fund.id);
    expect((await changePolicy(fund, MARCH)).status).toBe(201);
    const january = await changePolicy(fund, JANUARY);
    expect(january.status).toBe(201);
    // The January decision's own version: March is not in force yet on its date.
    expect(january.body).toMatchObject({ version: 3, decision: 3, recordedWith: 3, policy: FROM_JANUARY });

    expect(await allVersions(fund)).toEqual([
      expect.objectContaining({
        version: 4,
        effectiveDate: '2027-03-01',
        reason: MARCH.reason,
        decision: 2,
        recordedWith: 3,
        supersededBy: null,
        policy: FROM_MARCH,
        setBy: setBy([3, '2027-01-01', JANUARY_FIELDS], [2, '2027-03-01', MARCH_FIELDS]),
      }),
      expect.objectContaining({
        version: 3,
        effectiveDate: '2027-01-01',
        reason: JANUARY.reason,
        decision: 3,
        recordedWith: 3,
        supersededBy: null,
        policy: FROM_JANUARY,
        setBy: setBy([3, '2027-01-01', JANUARY_FIELDS]),
      }),
      expect.objectContaining({
        version: 2,
        effectiveDate: '2027-03-01',
        reason: MARCH.reason,
        decision: 2,
        recordedWith: 2,
        supersededBy: 4,
        policy: MARCH_ALONE,
        setBy: setBy([2, '2027-03-01', MARCH_FIELDS]),
      }),
      expect.objectContaining({
        version: 1,
        effectiveDate: TEST_TODAY,
        decision: 1,
        recordedWith: 1,
        supersededBy: null,
        policy: DEFAULT_POLICY,
        setBy: setBy(),
      }),
    ]);
    expect((await asOf(fund, '2027-03-01')).body).toMatchObject({ version: 4, decision: 2, supersededBy: null });
    // The version in force today is untouched: a restatement only ever writes versions not yet in force.
    expect((await policyRows(fund.id)).slice(0, 1)).toEqual(version1);
  });

  test('when a January change is recorded before a March one, then nothing is restated and each field names its decision', async () => {
    const fund = await createFund(h);
    expect((await changePolicy(fund, JANUARY)).status).toBe(201);
    expect((await changePolicy(fund, MARCH)).status).toBe(201);
    expect(await allVersions(fund)).toEqual([
      expect.objectContaining({
        version: 3,
        effectiveDate: '2027-03-01',
        decision: 3,
        recordedWith: 3,
        supersededBy: null,
        policy: FROM_MARCH,
        setBy: setBy([2, '2027-01-01', JANUARY_FIELDS], [3, '2027-03-01', MARCH_FIELDS]),
      }),
      expect.objectContaining({
        version: 2,
        effectiveDate: '2027-01-01',
        decision: 2,
        recordedWith: 2,
        supersededBy: null,
        policy: FROM_JANUARY,
        setBy: setBy([2, '2027-01-01', JANUARY_FIELDS]),
      }),
      expect.objectContaining({ version: 1, decision: 1, supersededBy: null, setBy: setBy() }),
    ]);
  });

  test('when a change carried into a scheduled version would break a rule there, then it is refused naming that date and nothing is recorded', async () => {
    const fund = await createFund(h);
    const march = {
      effectiveDate: '2027-03-01',
      reason: 'r1',
      changes: { classification: { substandardDaysMax: 100 } },
    };
    expect((await changePolicy(fund, march)).status).toBe(201);
    const before = await policyRows(fund.id);
    const auditBefore = await auditActions(fund.id);
    // Valid in January (150 < 270); carried into March it would exceed March's substandard 100.
    const response = await changePolicy(fund, {
      effectiveDate: '2027-01-01',
      reason: 'r2',
      changes: { classification: { specialMentionDaysMax: 150 } },
    });
    expectProblem(response, 422, 'policy_invalid');
    expect(response.body).toMatchObject({
      effectiveDate: '2027-03-01',
      errors: [expect.objectContaining({ pointer: '/policy/classification' })],
    });
    expect(await policyRows(fund.id)).toEqual(before);
    expect(await h.db('fund_policy_decisions').where({ fund_id: fund.id }).count({ n: '*' })).toEqual([{ n: '2' }]);
    expect(await auditActions(fund.id)).toEqual(auditBefore);
  });

  test.each([
    [
      'a date in the past',
      { effectiveDate: '2026-06-14', reason: 'r', changes: { termDaysMax: 90 } },
      422,
      'policy_effective_date_past',
    ],
    [
      'classification bands that do not rise',
      { effectiveDate: TEST_TODAY, reason: 'r', changes: { classification: { specialMentionDaysMax: 300 } } },
      422,
      'policy_invalid',
    ],
    [
      'an unknown field',
      { effectiveDate: TEST_TODAY, reason: 'r', changes: { loanLimit: '3' } },
      400,
      'validation_failed',
    ],
    [
      'a rate as a number',
      { effectiveDate: TEST_TODAY, reason: 'r', changes: { rateAnnual: 0.05 } },
      400,
      'validation_failed',
    ],
    [
      'a ratio above one',
      { effectiveDate: TEST_TODAY, reason: 'r', changes: { committee: { quorum: '3/2' } } },
      400,
      'validation_failed',
    ],
    ['no reason', { effectiveDate: TEST_TODAY, changes: { termDaysMax: 90 } }, 400, 'validation_failed'],
  ])('when a policy change has %s, then it is refused and no version appears', async (_name, body, status, code) => {
    const fund = await createFund(h);
    const before = await policyRows(fund.id);
    const auditBefore = await auditActions(fund.id);
    expectProblem(await changePolicy(fund, body), status, code);
    expect(await policyRows(fund.id)).toEqual(before);
    expect(await auditActions(fund.id)).toEqual(auditBefore);
  });

  // Each malformed value once per field: an empty string, words, and a ratio with no denominator.
  const MALFORMED_POLICY_FIELDS: [string, Record<string, unknown>][] = [
    ['committee/quorum', { committee: { quorum: '' } }],
    ['committee/passThreshold', { committee: { passThreshold: 'two thirds' } }],
    ['committee/largeLoanPassThreshold', { committee: { largeLoanPassThreshold: '2/' } }],
    ['rateAnnual', { rateAnnual: '' }],
    ['singleBorrowerLimitPct', { singleBorrowerLimitPct: 'twenty' }],
  ];

  test.each(MALFORMED_POLICY_FIELDS)(
    'when a fund is created with a malformed %s, then it is a 400 naming the field and no fund appears',
    async (field, policy) => {
      const admin = await makeUser(h, 'admin');
      const name = `Malformed ${field} ${Date.now()}`;
      const response = await h.http.post('/api/v1/funds').set(admin.auth).send({ name, policy });
      expectProblem(response, 400, 'validation_failed');
      expect(response.body.errors).toEqual([expect.objectContaining({ in: 'body', pointer: `/policy/${field}` })]);
      expect(await h.db('funds').where({ name }).count({ n: '*' })).toEqual([{ n: '0' }]);
    },
  );

  test.each(MALFORMED_POLICY_FIELDS)(
    'when a policy change has a malformed %s, then it is a 400 naming the field and no version appears',
    async (field, changes) => {
      const fund = await createFund(h);
      const before = await policyRows(fund.id);
      const response = await changePolicy(fund, { effectiveDate: TEST_TODAY, reason: 'r', changes });
      expectProblem(response, 400, 'validation_failed');
      expect(response.body.errors).toEqual([expect.objectContaining({ in: 'body', pointer: `/changes/${field}` })]);
      expect(await policyRows(fund.id)).toEqual(before);
    },
  );

  test('when a stored policy version or decision is edited behind the service, then the database refuses', async () => {
    const fund = await createFund(h);
    await expect(
      h.db('fund_policy_versions').where({ fund_id: fund.id }).update({ effective_date: '2020-01-01' }),
    ).rejects.toThrow(/append-only/);
    await expect(
      h.db('fund_policy_decisions').where({ fund_id: fund.id }).update({ effective_date: '2020-01-01' }),
    ).rejects.toThrow(/append-only/);
    await expect(h.db('fund_policy_decisions').where({ fund_id: fund.id }).delete()).rejects.toThrow(/append-only/);
  });

  test('when changes are scheduled out of order after a loan was approved, then the loan is disbursed on the terms of the version it was approved under', async () => {
    const w = await loanWorld(h);
    const lending = {
      effectiveDate: TEST_TODAY,
      reason: 'r',
      changes: { rateAnnual: '0.0435', serviceFeeRate: '0.005' },
    };
    expect((await changePolicy(w.fund, lending)).status).toBe(201);
    const loan = await approvedLoan(h, w, { amount: '90000.00' });
    expect(await h.db('loans').where({ id: loan.id }).first('policy_version')).toEqual({ policy_version: 2 });
    const inForce = await policyRows(w.fund.id);

    expect((await changePolicy(w.fund, { ...MARCH, changes: { rateAnnual: '0.05' } })).status).toBe(201);
    expect((await changePolicy(w.fund, { ...JANUARY, changes: { serviceFeeRate: '0.01' } })).status).toBe(201);
    // Versions 3 to 5 are written; none of those in force before is touched.
    expect((await policyRows(w.fund.id)).slice(0, inForce.length)).toEqual(inForce);
    expect((await asOf(w.fund, '2027-03-01')).body).toMatchObject({
      version: 5,
      policy: { rateAnnual: '0.05', serviceFeeRate: '0.01' },
    });

    const disbursed = await disburse(h, w.fund.admin, w.fund.id, loan.id, { bankReference: 'ICBC-20260615-77' });
    expect(disbursed.status).toBe(201);
    expect(await h.db('loans').where({ id: loan.id }).first('policy_version', 'rate_annual', 'service_fee')).toEqual({
      policy_version: 2,
      rate_annual: '0.043500',
      service_fee: '450.00',
    });
    await expectFundConsistent(h, w.fund.id);
  });

  test('when a committee, member or auditor user changes the policy, then it is forbidden; each may read it', async () => {
    const fund = await createFund(h);
    const memberId = await createMember(h, fund.id);
    for (const role of ['committee', 'member', 'auditor'] as const) {
      const user = await makeUser(h, role, { fundId: fund.id, memberId: role === 'member' ? memberId : undefined });
      const change = await h.http
        .post(`/api/v1/funds/${fund.id}/policy`)
        .set(user.auth)
        .send({ effectiveDate: TEST_TODAY, reason: 'r', changes: { termDaysMax: 90 } });
      expectProblem(change, 403, 'forbidden');
      expect((await h.http.get(`/api/v1/funds/${fund.id}/policy`).set(user.auth)).status).toBe(200);
    }
  });
});

describe('fund details', () => {
  test('when the lead enterprise is set and then moved, then exactly one member leads and both changes are audited', async () => {
    const fund = await createFund(h);
    const first = await createMember(h, fund.id);
    const second = await createMember(h, fund.id);
    const patch = (body: Record<string, unknown>) =>
      h.http.patch(`/api/v1/funds/${fund.id}`).set(fund.admin.auth).send(body);

    const named = await patch({ leadMemberId: first, allianceName: '陶瓷产业园企业互助联盟' });
    expect(named.status).toBe(200);
    expect(named.body).toMatchObject({ leadMemberId: first, allianceName: '陶瓷产业园企业互助联盟' });
    const moved = await patch({ leadMemberId: second });
    expect(moved.body.leadMemberId).toBe(second);
    const leads = await h.db('members').where({ fund_id: fund.id, alliance_role: 'lead' }).pluck('id');
    expect(leads).toEqual([second]);
    const audits = await h
      .db('audit_log as a')
      .join('audit_links as l', 'l.audit_id', 'a.id')
      .where({ 'a.fund_id': fund.id, 'a.action': 'funds.fund.update' })
      .orderBy('l.seq')
      .select('a.payload');
    expect(
      audits.map((row: { payload: { replacedLeadMemberId?: string } }) => row.payload.replacedLeadMemberId),
    ).toEqual([null, first]);
    expect((await h.http.get(`/api/v1/funds/${fund.id}`).set(fund.admin.auth)).body.leadMemberId).toBe(second);
  });

  test.each([
    ['a member of no fund', () => '00000000-0000-4000-8000-000000000000', 404, 'member_not_found'],
    ['an empty change', undefined, 400, 'validation_failed'],
  ])(
    'when the fund is patched with %s, then it is refused and nothing changes',
    async (_name, member, status, code) => {
      const fund = await createFund(h);
      const before = await h.db('funds').where({ id: fund.id }).first();
      const body = member ? { leadMemberId: member() } : {};
      expectProblem(await h.http.patch(`/api/v1/funds/${fund.id}`).set(fund.admin.auth).send(body), status, code);
      expect(await h.db('funds').where({ id: fund.id }).first()).toEqual(before);
    },
  );

  test('when a suspended member is made lead, then it is refused', async () => {
    const fund = await createFund(h);
    const memberId = await createMember(h, fund.id);
    await h.db('members').where({ id: memberId }).update({ status: 'suspended' });
    const response = await h.http
      .patch(`/api/v1/funds/${fund.id}`)
      .set(fund.admin.auth)
      .send({ leadMemberId: memberId });
    expectProblem(response, 422, 'lead_member_not_active');
    expect(await h.db('members').where({ fund_id: fund.id, alliance_role: 'lead' }).count({ n: '*' })).toEqual([
      { n: '0' },
    ]);
  });

  test('when a member of another fund is named lead, then it is a 404', async () => {
    const fund = await createFund(h);
    const other = await createFund(h);
    const stranger = await createMember(h, other.id);
    const response = await h.http
      .patch(`/api/v1/funds/${fund.id}`)
      .set(fund.admin.auth)
      .send({ leadMemberId: stranger });
    expectProblem(response, 404, 'member_not_found');
  });
});
