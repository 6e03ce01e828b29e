import Decimal from 'decimal.js';
import { z } from 'zod';
import { Money } from '../money/money';

/**
 * A fund's policy: its lending limits, rates, committee rules and capital rules. Every figure that
 * is not a count of days is a decimal string (never a JS number): percentages as "20" for 20 %,
 * rates as fractions ("0.0435" is 4.35 % a year), vote thresholds as exact ratios ("2/3").
 * Omitted fields take the documented defaults below, so `{}` is a complete, valid policy.
 */

const DECIMAL_PATTERN = /^(0|[1-9]\d{0,8})(\.\d{1,6})?$/;

/*
 * zod runs a string's later checks even after its pattern failed, unless the pattern check aborts.
 * The refinements below read the text as the pattern promises (a Decimal, a ratio's two numbers),
 * so each pattern aborts: malformed text is a 400 naming the field, never a throw inside a check.
 */

/** A non-negative decimal string with at most 6 decimals, bounded by `max`. */
function decimalText(description: string, max: string) {
  return z
    .string()
    .regex(DECIMAL_PATTERN, {
      message: 'must be a decimal string such as "20" or "0.0435" (at most 6 decimals)',
      abort: true,
    })
    .refine((text) => new Decimal(text).lte(max), `must be at most ${max}`)
    .meta({ description });
}

const percent = (description: string) => decimalText(`${description} Percent: "20" means 20 %.`, '100');
const percentUncapped = (description: string) =>
  decimalText(`${description} Percent: "50" means 50 %; may exceed 100.`, '1000');
const multiple = (description: string) => decimalText(`${description} A multiple: "3" means 3×.`, '100');
const rate = (description: string) => decimalText(`${description} A fraction: "0.0435" means 4.35 %.`, '1');
const days = (description: string, max: number) => z.int().min(0).max(max).meta({ description });
const amount = (description: string) =>
  z
    .string()
    .regex(/^(0|[1-9]\d{0,14})(\.\d{1,2})?$/, 'must be an amount with at most 2 decimals, such as "500000.00"')
    .meta({ description });

const RATIO_PATTERN = /^([1-9]\d{0,2})\/([1-9]\d{0,2})$/;

/** An exact vote threshold "n/d" with 0 < n/d ≤ 1: "1/2" is a simple majority, "2/3" two thirds. */
const ratio = (description: string) =>
  z
    .string()
    .regex(RATIO_PATTERN, { message: 'must be a ratio such as "1/2" or "2/3"', abort: true })
    .refine((text) => {
      const { numerator, denominator } = parseRatio(text);
      return numerator <= denominator;
    }, 'must not exceed 1')
    .meta({ description });

/** Every field's schema without its default: the base of both the policy and a policy change. */
const committeeFields = {
  quorum: ratio(
    'Quorum: the non-recused committee members present and voting must be strictly more than this share of all non-recused members.',
  ),
  passThreshold: ratio('Share of the votes cast that must be in favour (strictly more than).'),
  largeLoanAmount: amount('Loans of at least this principal need the large-loan threshold.'),
  largeLoanPassThreshold: ratio('Share of the votes cast in favour a large loan needs (at least).'),
  fastTrackAmountMax: amount(
    'Emergency loans up to this principal may be fast-tracked (chair + administrator) and ratified at the next meeting.',
  ),
};

const classificationFields = {
  specialMentionDaysMax: days('关注 (special mention): from 1 up to this many days past due.', 3650),
  substandardDaysMax: days('次级 (substandard): up to this many days past due.', 3650),
  doubtfulDaysMax: days('可疑 (doubtful): up to this many days past due; beyond it 损失 (loss).', 3650),
};

const topFields = {
  loanLimitPaidInMultiple: multiple("A borrower's loans may total at most this multiple of its paid-in capital."),
  singleBorrowerLimitPct: percent("One borrower's loans may total at most this share of pool capital."),
  relatedGroupLimitPct: percent('Loans to one related group may total at most this share of pool capital.'),
  liquidityReservePct: percent('Pool cash kept back from lending and exit refunds, as a share of pool capital.'),
  termDaysMax: days('Longest loan term, in days.', 3650),
  rateAnnual: rate('Contract interest rate per year (many funds lend interest-free: "0").'),
  serviceFeeRate: rate('One-time service fee on the principal at disbursement.'),
  dayCount: z.enum(['ACT/360', 'ACT/365']).meta({ description: 'Day count for interest.' }),
  penaltyUpliftPct: percentUncapped('Overdue principal bears the contract rate raised by this share.'),
  guaranteeCoveragePct: percentUncapped('Guarantees must cover this share of the principal.'),
  guarantorCapacityPaidInMultiple: multiple(
    "A guarantor's guarantees may total at most this multiple of its paid-in capital.",
  ),
  guaranteeCircleMode: z.enum(['refuse', 'flag']).meta({
    description:
      'A guarantee that closes a guarantee circle (互保圈: A guarantees B, B guarantees C, C guarantees A): `refuse` answers 422 `guarantee_circle` naming the cycle; `flag` lets it go ahead and records the cycle on the guarantee (ADR 0015).',
  }),
  makerCheckerAmountMin: amount('Disbursements of at least this amount need a second administrator.'),
  approvalHoldDays: days('Pool cash reserved by an approval is released after this many days.', 366),
  defaultAfterDaysOverdue: days('A loan overdue this many days is in default.', 3650),
  exitLockupDays: days('Capital is locked in for this many days after joining before a member may exit.', 3650),
};

/** The documented defaults (README, "Fund policy"). */
export const POLICY_DEFAULTS = {
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
  // Versions stored before the field existed read as 'refuse' (parsing fills the default).
  guaranteeCircleMode: 'refuse',
  makerCheckerAmountMin: '100000.00',
  approvalHoldDays: 14,
  defaultAfterDaysOverdue: 90,
  exitLockupDays: 365,
  committee: {
    quorum: '1/2',
    passThreshold: '1/2',
    largeLoanAmount: '500000.00',
    largeLoanPassThreshold: '2/3',
    fastTrackAmountMax: '200000.00',
  },
  classification: { specialMentionDaysMax: 90, substandardDaysMax: 270, doubtfulDaysMax: 360 },
} as const;

type Fields = Record<string, z.ZodType>;

function withDefaults<T extends Fields>(fields: T, defaults: { [K in keyof T]: unknown }) {
  return Object.fromEntries(
    Object.entries(fields).map(([name, schema]) => [name, schema.default(defaults[name] as never)]),
  ) as { [K in keyof T]: z.ZodDefault<T[K]> };
}

const bandsRise = (bands: { specialMentionDaysMax: number; substandardDaysMax: number; doubtfulDaysMax: number }) =>
  bands.specialMentionDaysMax >= 1 &&
  bands.specialMentionDaysMax < bands.substandardDaysMax &&
  bands.substandardDaysMax < bands.doubtfulDaysMax;

const BANDS_MESSAGE = 'bands must rise: 1 ≤ specialMentionDaysMax < substandardDaysMax < doubtfulDaysMax';

export const committeePolicySchema = z
  .strictObject(withDefaults(committeeFields, POLICY_DEFAULTS.committee))
  .meta({ id: 'CommitteePolicy' });

export const classificationPolicySchema = z
  .strictObject(withDefaults(classificationFields, POLICY_DEFAULTS.classification))
  .refine(bandsRise, BANDS_MESSAGE)
  .meta({
    id: 'ClassificationPolicy',
    description: 'Five-tier loan classification by days past due: 正常 0, 关注, 次级, 可疑, and 损失 beyond doubtful.',
  });

export const policySchema = z
  .strictObject({
    ...withDefaults(topFields, POLICY_DEFAULTS),
    committee: committeePolicySchema.prefault({}),
    classification: classificationPolicySchema.prefault({}),
  })
  .meta({ id: 'FundPolicy' });

export type FundPolicy = z.output<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;

/** The policy a fund gets when it states none: every default above. */
export const DEFAULT_POLICY: FundPolicy = policySchema.parse({});

/** A policy change: any subset of the fields, nested groups included; the rest is kept. */
export const policyChangeSchema = z
  .strictObject({
    ...topFields,
    committee: z.strictObject(committeeFields).partial(),
    classification: z.strictObject(classificationFields).partial(),
  })
  .partial()
  .meta({ id: 'FundPolicyChange' });

/** A change applied to the policy it amends; the result is validated as a whole by the caller. */
export function amendPolicy(base: Record<string, unknown>, change: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(change)) {
    if (value === undefined) continue;
    const current = merged[key];
    merged[key] =
      typeof value === 'object' && value !== null && typeof current === 'object' && current !== null
        ? { ...current, ...value }
        : value;
  }
  return merged;
}

/** A decision about the policy: the fields it sets (nested as a policy change is), from a date. */
export interface PolicyDecision {
  /** Numbered per fund in the order recorded; the fund's establishment is decision 1. */
  decision: number;
  effectiveDate: string;
  changes: Record<string, unknown>;
}

/** The decision that set a field last, as of some day. */
export interface FieldOrigin {
  decision: number;
  effectiveDate: string;
}

/**
 * Field path ("termDaysMax", "committee.quorum") → the decision that set it. A field no decision
 * set (one added to the policy after every decision of the fund) is absent: it holds its default.
 */
export type PolicyOrigins = Record<string, FieldOrigin>;

/** The paths of the fields a change names: a group's fields one by one ("committee.quorum"). */
export function changedFieldPaths(change: Record<string, unknown>): string[] {
  return Object.entries(change).flatMap(([field, value]) => {
    if (value === undefined) return [];
    if (typeof value === 'object' && value !== null) {
      return Object.entries(value)
        .filter(([, inner]) => inner !== undefined)
        .map(([inner]) => `${field}.${inner}`);
    }
    return [field];
  });
}

/** Decisions in the order they apply: effective date, then the order recorded. */
export function byEffectiveDateThenRecorded(a: PolicyDecision, b: PolicyDecision): number {
  if (a.effectiveDate !== b.effectiveDate) return a.effectiveDate < b.effectiveDate ? -1 : 1;
  return a.decision - b.decision;
}

/**
 * The policy as of `date`: the documented defaults, then every decision dated on or before it,
 * applied field by field in order of effective date (ties: in the order recorded). Each field keeps
 * the latest decision on it, so a change holds until a decision changes that field again, whether
 * that decision was recorded before or after it. The caller validates the result as a whole.
 */
export function policyAsOf(
  decisions: readonly PolicyDecision[],
  date: string,
): { policy: Record<string, unknown>; setBy: PolicyOrigins } {
  let policy: Record<string, unknown> = DEFAULT_POLICY;
  const setBy: PolicyOrigins = {};
  const inForce = decisions.filter((decision) => decision.effectiveDate <= date).sort(byEffectiveDateThenRecorded);
  for (const { decision, effectiveDate, changes } of inForce) {
    policy = amendPolicy(policy, changes);
    for (const path of changedFieldPaths(changes)) setBy[path] = { decision, effectiveDate };
  }
  return { policy, setBy };
}

/** `"2/3"` as numerator and denominator. */
export function parseRatio(text: string): { numerator: number; denominator: number } {
  const match = RATIO_PATTERN.exec(text);
  if (!match) throw new Error(`not a ratio: ${text}`);
  return { numerator: Number(match[1]), denominator: Number(match[2]) };
}

/** A percentage field as a fraction: "20" → 0.2, exactly. */
export function percentAsFraction(text: string): Money {
  return new Money(text).div(100);
}
