import { DEFAULT_POLICY, policyAsOf, type PolicyDecision } from '../../src/funds/policy';

const ESTABLISHMENT: PolicyDecision = { decision: 1, effectiveDate: '2026-06-15', changes: {} };
const MARCH: PolicyDecision = {
  decision: 2,
  effectiveDate: '2027-03-01',
  changes: { rateAnnual: '0.02', committee: { passThreshold: '2/3' } },
};
const JANUARY: PolicyDecision = {
  decision: 3,
  effectiveDate: '2027-01-01',
  changes: { rateAnnual: '0.01', singleBorrowerLimitPct: '15', committee: { quorum: '2/3' } },
};
const MARCH_AGAIN: PolicyDecision = { decision: 4, effectiveDate: '2027-03-01', changes: { rateAnnual: '0.03' } };

describe('policyAsOf', () => {
  test('when decisions are given in any order, then the policy as of each day is the same', () => {
    const decisions = [ESTABLISHMENT, MARCH, JANUARY, MARCH_AGAIN];
    const shuffled = [MARCH_AGAIN, JANUARY, ESTABLISHMENT, MARCH];
    for (const date of ['2026-06-15', '2027-01-01', '2027-02-28', '2027-03-01']) {
      expect(policyAsOf(shuffled, date)).toEqual(policyAsOf(decisions, date));
    }
  });

  test('when decisions are dated before and after each other, then each field keeps the latest dated on or before the day', () => {
    const { policy, setBy } = policyAsOf([ESTABLISHMENT, MARCH, JANUARY], '2027-03-01');
    expect(policy).toEqual({
      ...DEFAULT_POLICY,
      rateAnnual: '0.02',
      singleBorrowerLimitPct: '15',
      committee: { ...DEFAULT_POLICY.committee, quorum: '2/3', passThreshold: '2/3' },
    });
    expect(setBy).toEqual({
      rateAnnual: { decision: 2, effectiveDate: '2027-03-01' },
      singleBorrowerLimitPct: { decision: 3, effectiveDate: '2027-01-01' },
      'committee.quorum': { decision: 3, effectiveDate: '2027-01-01' },
      'committee.passThreshold': { decision: 2, effectiveDate: '2027-03-01' },
    });
  });

  test('when two decisions share a date, then the one recorded later wins the fields both set', () => {
    const { policy, setBy } = policyAsOf([ESTABLISHMENT, MARCH_AGAIN, MARCH], '2027-03-01');
    expect(policy).toMatchObject({ rateAnnual: '0.03', committee: { passThreshold: '2/3' } });
    expect(setBy['rateAnnual']).toEqual({ decision: 4, effectiveDate: '2027-03-01' });
    expect(setBy['committee.passThreshold']).toEqual({ decision: 2, effectiveDate: '2027-03-01' });
  });

  test('when no decision is dated on or before the day, then the policy is the defaults, set by none', () => {
    expect(policyAsOf([MARCH], '2027-02-28')).toEqual({ policy: DEFAULT_POLICY, setBy: {} });
  });
});
