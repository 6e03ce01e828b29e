import { DEFAULT_POLICY } from '../../../src/funds/policy';
import { createFund, createMember, type TestFund } from '../../helpers/factories';
import { makeUser, startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { expectProblem } from '../auth/problem';

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

  test('when a change builds on a later scheduled version, then it amends the version in force on its own date', async () => {
    const fund = await createFund(h);
    await changePolicy(fund, { effectiveDate: '2026-09-01', reason: 'r1', changes: { termDaysMax: 90 } });
    const response = await changePolicy(fund, {
      effectiveDate: '2026-07-01',
      reason: 'r2',
      changes: { rateAnnual: '0.0435' },
    });
    expect(response.status).toBe(201);
    // Version 3 starts from version 1 (in force on 2026-07-01), not from the scheduled version 2.
    expect(response.body.policy).toMatchObject({ termDaysMax: 180, rateAnnual: '0.0435' });
    const september = await h.http.get(`/api/v1/funds/${fund.id}/policy?asOf=2026-09-01`).set(fund.admin.auth);
    expect(september.body).toMatchObject({ version: 2, policy: { termDaysMax: 90, rateAnnual: '0' } });
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

  test('when a stored policy version is edited behind the service, then the database refuses', async () => {
    const fund = await createFund(h);
    await expect(
      h.db('fund_policy_versions').where({ fund_id: fund.id }).update({ effective_date: '2020-01-01' }),
    ).rejects.toThrow(/append-only/);
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
