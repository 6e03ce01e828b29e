import pg from 'pg';
import { Money, sumAmounts } from '../../../src/money/money';
import { tamperedWith } from '../../helpers/consistency';
import { bankCharge, createFund, fundPool, postEntry } from '../../helpers/factories';
import { startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { fastTrack } from '../committee/committee.helpers';
import { applicationBody, changePolicy, consented, drafted, submit } from '../loans/loans.helpers';
import {
  caseOf,
  disbursedLoan,
  jobThrough,
  today,
  recoveryWorld,
  type RecoveryWorld,
} from '../recovery/recovery.helpers';
import { disbursed } from '../reports/reports.helpers';
import { alertOf, api, overviewOf, read } from './overview.helpers';

/**
 * The overview's alerts on a fund with something of every kind to attend to, built through the
 * API (the recovery world of recovery.helpers.ts: default after 5 days overdue, guarantee circles
 * flagged rather than refused):
 *  - L1, 200,000.00 from the pool to B on 06-15, due 07-15, guaranteed by G1 (140,000.00) and G2
 *    (90,000.00), never repaid: the daily job through 07-21 finds it 6 days late, defaults it and
 *    opens its recovery case;
 *  - L2, 30,000.00 from the pool to G1 on 06-15, guaranteed by B: with L1 a circle B ↔ G1 (互保圈);
 *  - L3, an emergency application of BIG fast-tracked on 07-22 by the chair and an administrator:
 *    approved with a hold on pool cash, waiting for the committee to ratify it;
 *  - from 07-22 the policy lowers guarantor capacity to 1 × paid-in capital: G1 (100,000.00 paid in),
 *    G2 (50,000.00) and B (20,000.00) each stand behind more than that.
 * Each alert is checked against the endpoint that owns the facts.
 */

const NOW = '2026-07-22';

let h: Harness;
let w: RecoveryWorld;
let l1: string;
let l2: string;
let l3: string;

beforeAll(async () => {
  h = await startHarness();
  w = await recoveryWorld(h);
  const flag = await changePolicy(h, w.fund, { guaranteeCircleMode: 'flag' });
  if (flag.status !== 201) throw new Error(`policy change failed: ${flag.status} ${flag.text}`);
  l1 = (await disbursedLoan(h, w, TEST_TODAY)).loanId;
  l2 = await disbursed(
    h,
    w,
    {
      borrowerMemberId: w.g1,
      amount: '30000.00',
      termDays: 90,
      repaymentMethod: 'bullet',
      wantedOn: TEST_TODAY,
      lender: { type: 'pool' },
      guarantors: [{ memberId: w.borrower, amount: '30000.00', type: 'joint_and_several' }],
    },
    { [w.borrower]: w.users.borrower },
  );
  await jobThrough(h, w, '2026-07-21', NOW);
  const draft = await drafted(
    h,
    w.admin,
    w.fund.id,
    applicationBody(w, { borrowerMemberId: w.big, guarantors: [], wantedOn: NOW }),
  );
  const submitted = await submit(h, w.admin, w.fund.id, (await consented(h, w.fund.id, draft, {})).id);
  if (submitted.status !== 200) throw new Error(`submit failed: ${submitted.status} ${submitted.text}`);
  for (const user of [w.seats[0]!.user, w.admin]) {
    const approval = await fastTrack(h, w, user, draft.id);
    if (approval.status !== 200) throw new Error(`fast track failed: ${approval.status} ${approval.text}`);
  }
  l3 = draft.id;
  const lowered = await h.http
    .post(api(`/funds/${w.fund.id}/policy`))
    .set(w.admin.auth)
    .send({
      effectiveDate: NOW,
      reason: 'guarantors stand behind too much',
      changes: { guarantorCapacityPaidInMultiple: '1' },
    });
  if (lowered.status !== 201) throw new Error(`policy change failed: ${lowered.status} ${lowered.text}`);
});
beforeEach(() => {
  today(h, w, NOW);
});
afterAll(async () => {
  await h.close();
});

const fundPath = () => `/funds/${w.fund.id}`;

describe('alerts', () => {
  test('when something of every kind needs attention, then each alert counts it, with its amount and ids, as the owning endpoint gives it', async () => {
    const overview = await overviewOf(h, w.admin, w.fund.id);
    const book = await read<{ loans: { loanId: string; daysPastDue: number; principalOutstanding: string }[] }>(
      h,
      w.admin,
      `${fundPath()}/reports/loan-book`,
    );
    const ratifications = await read<{ items: { loanId: string; amount: string }[] }>(
      h,
      w.admin,
      `${fundPath()}/committee/ratifications?status=pending`,
    );
    const exposure = await read<{ breaches: { memberId: string | null; excess: string }[] }>(
      h,
      w.admin,
      `${fundPath()}/reports/exposure`,
    );
    const network = await read<{
      cycles: { members: { id: string }[] }[];
      edges: { inCycle: boolean; amount: string }[];
    }>(h, w.admin, `${fundPath()}/reports/guarantee-network`);
    const cases = await read<{ items: { id: string; loanId: string }[] }>(
      h,
      w.admin,
      `${fundPath()}/recovery-cases?status=open`,
    );
    const cashAccount = await read<{ balance: { held: string } }>(
      h,
      w.admin,
      `${fundPath()}/accounts/${w.fund.accounts['1001']}`,
    );

    const overdue = book.loans.filter((line) => line.daysPastDue > 0);
    expect(alertOf(overview, 'overdue_loans')).toMatchObject({
      count: overdue.length,
      amount: sumAmounts(overdue.map((line) => new Money(line.principalOutstanding))).toFixed(2),
      loanIds: overdue.map((line) => line.loanId),
    });
    expect(alertOf(overview, 'overdue_loans')).toMatchObject({ count: 1, amount: '200000.00', loanIds: [l1] });

    expect(alertOf(overview, 'pending_ratifications')).toMatchObject({
      basis: 'now',
      count: ratifications.items.length,
      amount: sumAmounts(ratifications.items.map((item) => new Money(item.amount))).toFixed(2),
      loanIds: ratifications.items.map((item) => item.loanId),
    });
    expect(alertOf(overview, 'pending_ratifications')).toMatchObject({ count: 1, amount: '200000.00', loanIds: [l3] });
    // The fast-tracked loan's approval holds pool cash: held is what the account holds.
    expect(overview.pool.held).toBe(cashAccount.balance.held);
    expect(overview.pool.held).toBe('200000.00');

    expect(alertOf(overview, 'exposure_breaches')).toMatchObject({
      count: exposure.breaches.length,
      amount: sumAmounts(exposure.breaches.map((breach) => new Money(breach.excess))).toFixed(2),
    });
    expect(alertOf(overview, 'exposure_breaches').memberIds.sort()).toEqual([w.borrower, w.g1, w.g2].sort());
    // Excess over 1 × paid-in: G1 140,000.00 − 100,000.00; G2 90,000.00 − 50,000.00; B 30,000.00 − 20,000.00.
    expect(alertOf(overview, 'exposure_breaches')).toMatchObject({ count: 3, amount: '90000.00' });

    expect(alertOf(overview, 'guarantee_circles')).toMatchObject({
      basis: 'now',
      count: network.cycles.length,
      amount: sumAmounts(network.edges.filter((e) => e.inCycle).map((e) => new Money(e.amount))).toFixed(2),
    });
    expect(alertOf(overview, 'guarantee_circles')).toMatchObject({ count: 1, amount: '170000.00' });
    expect(alertOf(overview, 'guarantee_circles').memberIds.sort()).toEqual([w.borrower, w.g1].sort());
    expect(alertOf(overview, 'guarantee_circles').loanIds.sort()).toEqual([l1, l2].sort());

    const opened = await caseOf(h, w, l1);
    expect(alertOf(overview, 'open_recovery_cases')).toMatchObject({
      basis: 'as_of',
      count: cases.items.length,
      caseIds: cases.items.map((item) => item.id),
      loanIds: cases.items.map((item) => item.loanId),
      amount: '200000.00',
    });
    expect(alertOf(overview, 'open_recovery_cases').caseIds).toEqual([opened.id]);

    expect([alertOf(overview, 'audit_chain').count, alertOf(overview, 'ledger_verification').count]).toEqual([0, 0]);
  });

  test('when asked as of a day before the loan fell due, then nothing was late and no case was open; the queue and the network are as they are now', async () => {
    const before = await overviewOf(h, w.admin, w.fund.id, '2026-07-14');

    expect(alertOf(before, 'overdue_loans')).toMatchObject({ count: 0, amount: '0.00', loanIds: [] });
    expect(alertOf(before, 'open_recovery_cases')).toMatchObject({ count: 0, caseIds: [], loanIds: [] });
    expect(alertOf(before, 'exposure_breaches').count).toBe(0);
    expect(alertOf(before, 'pending_ratifications')).toMatchObject({ basis: 'now', count: 1 });
    expect(alertOf(before, 'guarantee_circles')).toMatchObject({ basis: 'now', count: 1 });
    // The fast track's hold was placed on 07-22: on 07-14 nothing was held.
    expect(before.pool.held).toBe('0.00');
  });
});

describe('verification alerts', () => {
  /** Runs statements as the database owner with every trigger off, as an intruder could. */
  async function behindTheServicesBack(...statements: [string, unknown[]][]): Promise<void> {
    const owner = new pg.Client({ connectionString: h.databaseUrl });
    await owner.connect();
    try {
      await owner.query('BEGIN');
      await owner.query('SET LOCAL session_replication_role = replica');
      for (const [sql, bindings] of statements) await owner.query(sql, bindings);
      await owner.query('COMMIT');
    } finally {
      await owner.end();
    }
  }

  test('when an audit record and a posting are edited behind the service, then both alerts count it and say what the verify endpoints say', async () => {
    const fund = await createFund(h, w.admin);
    tamperedWith(h, fund.id);
    await fundPool(h, fund, '1000.00', undefined, NOW);
    const charge = await postEntry(h, fund.admin, fund.id, bankCharge('10.00', { effectiveDate: NOW }));
    expect(charge.status).toBe(201);
    const victim = (await h.db('audit_log').where({ fund_id: fund.id, target_id: charge.body.id }).first('id')) as {
      id: string;
    };
    await behindTheServicesBack(
      [
        `UPDATE audit_log SET payload = jsonb_set(payload, '{request,memo}', '"nothing to see"') WHERE id = $1`,
        [victim.id],
      ],
      [`UPDATE postings SET amount = 15.00 WHERE entry_id = $1 AND side = 'debit'`, [charge.body.id]],
    );

    const overview = await overviewOf(h, fund.admin, fund.id);
    const audit = await read<{ ok: boolean; checked: number; firstBrokenId: string; reason: string }>(
      h,
      fund.admin,
      `/funds/${fund.id}/audit/verify`,
    );
    const ledger = await read<{ ok: boolean; findingsTotal: number }>(h, fund.admin, `/funds/${fund.id}/ledger/verify`);

    expect(audit).toMatchObject({ ok: false, firstBrokenId: victim.id, reason: 'hash_mismatch' });
    expect(overview.verification.auditChain).toMatchObject({
      ok: false,
      recordsChecked: audit.checked,
      firstBrokenId: victim.id,
      reason: 'hash_mismatch',
    });
    expect(alertOf(overview, 'audit_chain')).toMatchObject({ basis: 'now', count: 1 });
    expect(ledger.ok).toBe(false);
    expect(overview.verification.ledger).toMatchObject({ ok: false, findingsTotal: ledger.findingsTotal });
    expect(alertOf(overview, 'ledger_verification').count).toBe(ledger.findingsTotal);
    expect(ledger.findingsTotal).toBeGreaterThan(0);
  });
});
