import * as policyDecisions from '../../../migrations/20261203000200_policy_decisions';
import { SYSTEM_ACTOR } from '../../../src/auth/principal';
import type { FundRow } from '../../../src/funds/funds.repo';
import { toFund } from '../../../src/funds/funds.service';
import { DEFAULT_POLICY } from '../../../src/funds/policy';
import { createFund } from '../../helpers/factories';
import { startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

const MARCH_CHANGES = { termDaysMax: 90, rateAnnual: '0.02', committee: { passThreshold: '2/3' } };
const JANUARY_CHANGES = { singleBorrowerLimitPct: '15', committee: { quorum: '2/3' } };

describe('migration 20261203000200: policy decisions', () => {
  test('when versions were written before decisions were kept, then each becomes a decision of the fields it changed, and the next decision restates the schedule', async () => {
    const fund = await createFund(h);
    const trx = await h.db.transaction();
    try {
      // The schema as it was, and what the old code wrote for March then January: each version
      // amended the one in force on its own date, so March's snapshot lacks January's change.
      await policyDecisions.down(trx);
      await trx('fund_policy_versions').insert([
        {
          fund_id: fund.id,
          version: 2,
          effective_date: '2027-03-01',
          policy: {
            ...DEFAULT_POLICY,
            ...MARCH_CHANGES,
            committee: { ...DEFAULT_POLICY.committee, passThreshold: '2/3' },
          },
          reason: 'March',
        },
        {
          fund_id: fund.id,
          version: 3,
          effective_date: '2027-01-01',
          policy: { ...DEFAULT_POLICY, ...JANUARY_CHANGES, committee: { ...DEFAULT_POLICY.committee, quorum: '2/3' } },
          reason: 'January',
        },
      ]);
      await policyDecisions.up(trx);

      const decisions = await trx('fund_policy_decisions')
        .where({ fund_id: fund.id })
        .orderBy('decision')
        .select('decision', 'effective_date', 'changes', 'reason');
      expect(decisions).toEqual([
        {
          decision: 1,
          effective_date: TEST_TODAY,
          changes: DEFAULT_POLICY,
          reason: 'Policy at the fund’s establishment',
        },
        { decision: 2, effective_date: '2027-03-01', changes: MARCH_CHANGES, reason: 'March' },
        { decision: 3, effective_date: '2027-01-01', changes: JANUARY_CHANGES, reason: 'January' },
      ]);
      // The versions stay as written; their provenance was never recorded.
      const legacy = await trx('fund_policy_versions')
        .where({ fund_id: fund.id })
        .orderBy('version')
        .select('version', 'decision', 'recorded_with', 'set_by');
      expect(legacy).toEqual(
        [1, 2, 3].map((version) => ({ version, decision: null, recorded_with: null, set_by: null })),
      );

      // The next decision dated before March restates March from the decisions: January's change holds there.
      const row = (await trx('funds').where({ id: fund.id }).first()) as FundRow;
      const { decision, restated } = await h.services.funds.changePolicy(
        trx,
        toFund(row),
        { effectiveDate: '2027-02-01', reason: 'February', change: { dayCount: 'ACT/365' } },
        SYSTEM_ACTOR,
      );
      expect(decision).toBe(4);
      expect(restated).toEqual([
        expect.objectContaining({
          version: 5,
          effectiveDate: '2027-03-01',
          decision: 2,
          recordedWith: 4,
          policy: {
            ...DEFAULT_POLICY,
            ...MARCH_CHANGES,
            ...JANUARY_CHANGES,
            dayCount: 'ACT/365',
            committee: { ...DEFAULT_POLICY.committee, quorum: '2/3', passThreshold: '2/3' },
          },
        }),
      ]);
    } finally {
      await trx.rollback();
    }
  });
});
