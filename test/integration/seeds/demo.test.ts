import { addDays } from '../../../src/clock';
import { isValidCreditCode } from '../../../src/members/credit-code';
import { Money } from '../../../src/money/money';
import { DEMO_MEMBERS, DEMO_USERS, seedDemo } from '../../../seeds/demo';
import { authNow, startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';

/**
 * The demo fund as a newcomer finds it: a year of a ceramics-park fund built through the API on a
 * clock set back, ending "today" (the harness clock's 2026-06-15), with every state the console has
 * a page for. Each check reads the API as its users would.
 */

let h: Harness;
let fundId: string;

beforeAll(async () => {
  h = await startHarness();
  const result = await seedDemo({ db: h.db, config: h.config, clock: h.clock });
  expect(result.seeded).toBe(true);
  fundId = result.fundId!;
}, 180_000);

afterAll(async () => {
  await h.close();
});

async function userNamed(
  username: string,
): Promise<{ id: string; role: 'admin' | 'committee' | 'member' | 'auditor' }> {
  const row = (await h.db('users').where({ username }).first('id', 'role')) as
    { id: string; role: 'admin' | 'committee' | 'member' | 'auditor' } | undefined;
  if (!row) throw new Error(`no user ${username}`);
  return row;
}

async function read<T = Record<string, unknown>>(username: string, path: string): Promise<T> {
  const response = await h.http.get(`/api/v1/funds/${fundId}${path}`).set(authNow(h, await userNamed(username)));
  if (response.status !== 200) throw new Error(`GET ${path} as ${username}: ${response.status} ${response.text}`);
  return response.body as T;
}

interface LoanSummary {
  id: string;
  number: number;
  status: string;
  borrowerMemberId: string;
  lender: { type: string };
  restructured: boolean;
  fastTracked: boolean;
  ratificationStatus: string | null;
  classification: string | null;
  daysPastDue: number | null;
  overdue: boolean;
  disbursedOn: string | null;
}

async function loans(query = ''): Promise<LoanSummary[]> {
  return (await read<{ items: LoanSummary[] }>('auditor', `/loans?limit=200${query}`)).items;
}

const memberId = async (index: number): Promise<string> =>
  ((await h.db('members').where({ fund_id: fundId, name: DEMO_MEMBERS[index]!.name }).first('id')) as { id: string })
    .id;

test('when the demo is seeded, then it is a ceramics-park fund of 12 members with ¥3,000,000 subscribed, a capital call one member is late on, and a user per role', async () => {
  const members = await read<{ items: { creditCode: string; allianceRole: string; subscribedAmount: string }[] }>(
    'auditor',
    '/members?limit=200',
  );
  expect(members.items).toHaveLength(DEMO_MEMBERS.length);
  expect(members.items.every((member) => isValidCreditCode(member.creditCode))).toBe(true);
  expect(members.items.filter((member) => member.allianceRole === 'lead')).toHaveLength(1);
  const subscribed = members.items.reduce((sum, member) => sum.plus(member.subscribedAmount), new Money(0));
  expect(subscribed.toFixed(2)).toBe('3000000.00');

  const calls = await read<{ items: { id: string }[] }>('auditor', '/capital-calls');
  expect(calls.items).toHaveLength(1);
  const call = await read<{ dueOn: string; items: { memberId: string; overdue: boolean; paid: string }[] }>(
    'auditor',
    `/capital-calls/${calls.items[0]!.id}`,
  );
  expect(call.dueOn < TEST_TODAY).toBe(true);
  const late = call.items.filter((item) => item.overdue);
  expect(late).toEqual([expect.objectContaining({ memberId: await memberId(11), paid: '0.00' })]);

  const roles = await h
    .db('users')
    .whereIn(
      'username',
      DEMO_USERS.map((user) => user.username),
    )
    .pluck('role');
  expect(roles.sort()).toEqual(['admin', 'auditor', 'committee', 'member']);
});

test('when the demo is seeded, then its loans are in every state: repaid, active, extended, overdue in 关注, defaulted, approved with a hold, on the next agenda, awaiting consent', async () => {
  const all = await loans();
  const byStatus = (status: string) => all.filter((loan) => loan.status === status);
  expect(byStatus('repaid').length).toBeGreaterThanOrEqual(4);
  expect(byStatus('active').length).toBeGreaterThanOrEqual(4);

  const overdue = byStatus('overdue');
  expect(overdue).toHaveLength(1);
  expect(overdue[0]).toMatchObject({ classification: 'special_mention', overdue: true });
  expect(overdue[0]!.daysPastDue).toBeGreaterThanOrEqual(1);
  expect(overdue[0]!.daysPastDue).toBeLessThanOrEqual(90);

  expect(byStatus('defaulted')).toHaveLength(1);

  const approved = byStatus('approved');
  expect(approved).toHaveLength(1);
  const held = await read<{ holds: { status: string; expiresAt: string }[] }>('auditor', `/loans/${approved[0]!.id}`);
  expect(held.holds).toEqual([expect.objectContaining({ status: 'pending' })]);
  expect(new Date(held.holds[0]!.expiresAt).getTime()).toBeGreaterThan(h.clock.now().getTime());

  const extended = all.filter((loan) => loan.restructured);
  expect(extended).toHaveLength(1);
  expect(extended[0]!.status).toBe('active');
  const extensions = await read<{ items: { status: string }[] }>('auditor', `/loans/${extended[0]!.id}/extensions`);
  expect(extensions.items).toEqual([expect.objectContaining({ status: 'approved' })]);

  const ratified = await read<{ items: { ratificationStatus: string; loanStatus: string }[] }>(
    'auditor',
    '/committee/ratifications',
  );
  expect(ratified.items).toEqual([expect.objectContaining({ ratificationStatus: 'ratified' })]);

  // Applications not yet loans: one under review on an upcoming meeting's agenda, one waiting for a guarantor.
  const applications = (
    await read<{ items: { id: string; status: string; guarantees: { status: string }[] }[] }>(
      'auditor',
      '/loan-applications?limit=200',
    )
  ).items;
  const underReview = applications.filter((application) => application.status === 'under_review');
  expect(underReview).toHaveLength(1);
  const meetings = await read<{ items: { id: string; heldOn: string }[] }>('auditor', '/meetings?limit=200');
  const upcoming = meetings.items.filter((meeting) => meeting.heldOn > TEST_TODAY);
  expect(upcoming).toHaveLength(1);
  const agenda = await read<{ items: { status: string; loan: { id: string } | null }[] }>(
    'auditor',
    `/meetings/${upcoming[0]!.id}`,
  );
  expect(agenda.items).toEqual([
    expect.objectContaining({ status: 'open', loan: expect.objectContaining({ id: underReview[0]!.id }) }),
  ]);
  const drafts = applications.filter((application) => application.status === 'draft');
  expect(drafts).toHaveLength(1);
  expect(drafts[0]!.guarantees.map((guarantee) => guarantee.status).sort()).toEqual(['accepted', 'proposed']);
});

test('when the demo is seeded, then a peer loan and a bank loan are active, and a joint group backs a loan', async () => {
  expect(await loans('&lender=peer')).toEqual([expect.objectContaining({ status: 'active' })]);
  expect(await loans('&lender=bank')).toEqual([expect.objectContaining({ status: 'active' })]);
  const groups = await read<{ items: { id: string; status: string }[] }>('auditor', '/joint-groups');
  expect(groups.items).toEqual([expect.objectContaining({ status: 'approved' })]);
  const group = await read<{ loans: { status: string }[] }>('auditor', `/joint-groups/${groups.items[0]!.id}`);
  expect(group.loans).toEqual([expect.objectContaining({ status: 'active' })]);
});

test('when the demo is seeded, then the defaulted loan has an open recovery case whose guarantors were called and one has paid', async () => {
  const cases = await read<{ items: { id: string; status: string }[] }>('auditor', '/recovery-cases');
  expect(cases.items).toEqual([expect.objectContaining({ status: 'open' })]);
  const recovery = await read<{ loanStatus: string; calls: { status: string; dueOn: string }[] }>(
    'auditor',
    `/recovery-cases/${cases.items[0]!.id}`,
  );
  expect(recovery.loanStatus).toBe('defaulted');
  expect(recovery.calls.map((call) => call.status).sort()).toEqual(['called', 'paid']);
  expect(recovery.calls.find((call) => call.status === 'called')!.dueOn >= TEST_TODAY).toBe(true);
});

test('when the demo is seeded, then the policy flags guarantee circles and the network shows the one the pending application closes', async () => {
  const policy = await read<{ policy: { guaranteeCircleMode: string } }>('auditor', '/policy');
  expect(policy.policy.guaranteeCircleMode).toBe('flag');
  const network = await read<{
    cycles: { members: { id: string }[] }[];
    edges: { loans: { circleFlagged: boolean }[] }[];
  }>('auditor', '/reports/guarantee-network');
  expect(network.cycles).toHaveLength(1);
  expect(new Set(network.cycles[0]!.members.map((member) => member.id))).toEqual(
    new Set([await memberId(2), await memberId(4), await memberId(1)]),
  );
  expect(network.edges.flatMap((edge) => edge.loans).some((loan) => loan.circleFlagged)).toBe(true);
});

test('when the demo is seeded, then two half-years are closed with their surplus shared, and the committee met with minutes', async () => {
  const periods = await read<{ items: { period: string; netIncome: string; allocation: { share: string }[] }[] }>(
    'auditor',
    '/periods',
  );
  expect(periods.items).toHaveLength(2);
  for (const period of periods.items) {
    expect(period.period).toMatch(/^\d{4}-H[12]$/);
    expect(new Money(period.netIncome).gt(0)).toBe(true);
    expect(period.allocation.length).toBeGreaterThan(0);
    expect(period.allocation.every((item) => new Money(item.share).gte(0))).toBe(true);
  }

  const meetings = await read<{ items: { id: string; heldOn: string }[] }>('auditor', '/meetings?limit=200');
  const held = meetings.items.filter((meeting) => meeting.heldOn <= TEST_TODAY);
  expect(held.length).toBeGreaterThanOrEqual(10);
  for (const meeting of held) {
    const view = await read<{
      attendance: unknown[];
      items: { status: string; resolutionNumber: string | null; votes: unknown[] }[];
    }>('auditor', `/meetings/${meeting.id}`);
    expect(view.attendance.length).toBeGreaterThanOrEqual(4);
    for (const item of view.items) {
      expect(['approved', 'ratified']).toContain(item.status);
      expect(item.resolutionNumber).toMatch(new RegExp(`^${meeting.heldOn}-\\d+$`));
      expect(item.votes.length).toBeGreaterThanOrEqual(2);
    }
  }
  const minutes = await read<{ markdown?: string } & Record<string, unknown>>(
    'auditor',
    `/meetings/${held[0]!.id}/minutes`,
  );
  expect(JSON.stringify(minutes)).toContain(`${held[0]!.heldOn}-1`);
});

test('when the demo is seeded, then the member user’s enterprise borrows and guarantees, and it sees only its own loans', async () => {
  const own = await memberId(1);
  const visible = (await read<{ items: LoanSummary[] }>('member', '/loans?limit=200')).items;
  expect(visible.some((loan) => loan.borrowerMemberId === own && loan.status === 'active')).toBe(true);
  const guaranteed = visible.filter((loan) => loan.borrowerMemberId !== own);
  expect(guaranteed.map((loan) => loan.status).sort()).toEqual(expect.arrayContaining(['active', 'overdue']));
  expect(visible.length).toBeLessThan((await loans()).length);
});

test('when the demo is seeded, then its books balance and prove out, and the ledger and the audit chain verify', async () => {
  const trial = await read<{ balanced: boolean; verified: boolean }>('auditor', '/trial-balance');
  expect({ balanced: trial.balanced, verified: trial.verified }).toEqual({ balanced: true, verified: true });
  const ledger = await read<{ ok: boolean; findings: unknown[] }>('auditor', '/ledger/verify');
  expect({ ok: ledger.ok, findings: ledger.findings }).toEqual({ ok: true, findings: [] });
  const audit = await read<{ ok: boolean; checked: number }>('auditor', '/audit/verify');
  expect(audit.ok).toBe(true);
  expect(audit.checked).toBeGreaterThan(500);
  // The daily job ran every day through yesterday.
  const runs = (await h.db('job_runs').where({ fund_id: fundId }).max({ last: 'run_date' }).first()) as {
    last: string;
  };
  expect(String(runs.last)).toBe(addDays(TEST_TODAY, -1));
});

test('when the demo users log in with the printed passwords, then each gets a token', async () => {
  for (const user of DEMO_USERS) {
    const response = await h.http.post('/api/v1/auth/login').send({ username: user.username, password: user.password });
    expect({ username: user.username, status: response.status }).toEqual({ username: user.username, status: 200 });
  }
});

test('when the demo is seeded again, then nothing changes', async () => {
  const entries = await h.db('journal_entries').where({ fund_id: fundId }).count({ n: '*' });
  expect(await seedDemo({ db: h.db, config: h.config, clock: h.clock })).toEqual({ seeded: false });
  expect(await h.db('journal_entries').where({ fund_id: fundId }).count({ n: '*' })).toEqual(entries);
  expect(await h.db('funds').count({ n: '*' })).toEqual([{ n: '1' }]);
});
