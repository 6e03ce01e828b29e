import Decimal from 'decimal.js';
import { assert } from '../assert';
import { addDays } from '../clock';
import { CLASSIFICATIONS, type Classification, type ClassificationBands } from '../loans/daily-job.repo';
import { Money, sumAmounts, ZERO } from '../money/money';

/**
 * The rules of the delinquency reports, pure: no database, no clock (docs/adr/0014). The SQL of
 * reports.repo.ts reads the facts as of a day (balances, paid amounts, the oldest overdue due
 * date); these functions turn them into tiers, statuses, ratios and totals.
 */

export type ServicedStatus = 'active' | 'overdue' | 'defaulted';
export const LENDERS = ['pool', 'peer', 'bank'] as const;
export type Lender = (typeof LENDERS)[number];

/** The thresholds of portfolio at risk: PAR1, PAR30, PAR90 (days past due strictly above). */
export const PAR_THRESHOLDS_DAYS = [1, 30, 90] as const;

/** Decimals of every ratio the reports give. */
export const RATIO_DECIMALS = 4;

/**
 * Rounding point RP-ratio: a ratio is numerator / denominator rounded ROUND_HALF_UP to 4 decimals,
 * once, from the exact 2-decimal amounts; a zero denominator gives "0.0000" (an empty portfolio
 * has nothing at risk), never a division error.
 */
export function ratio(numerator: Decimal, denominator: Decimal): string {
  assert(
    numerator.gte(0) && denominator.gte(0),
    `ratio of negative amounts ${numerator.toFixed()} / ${denominator.toFixed()}`,
  );
  if (denominator.isZero()) return ZERO.toFixed(RATIO_DECIMALS);
  return numerator.div(denominator).toDecimalPlaces(RATIO_DECIMALS, Decimal.ROUND_HALF_UP).toFixed(RATIO_DECIMALS);
}

/** The tier by days past due alone, with the bands of the policy in force (the daily job's rule). */
export function classByDays(daysPastDue: number, bands: ClassificationBands): Classification {
  assert(Number.isInteger(daysPastDue) && daysPastDue >= 0, `days past due ${daysPastDue}`);
  if (daysPastDue === 0) return 'normal';
  if (daysPastDue <= bands.specialMentionDaysMax) return 'special_mention';
  if (daysPastDue <= bands.substandardDaysMax) return 'substandard';
  if (daysPastDue <= bands.doubtfulDaysMax) return 'doubtful';
  return 'loss';
}

/** The worse of two tiers: a restructured loan is classified at least at its floor (ADR 0013). */
export function worseOf(a: Classification, b: Classification | null): Classification {
  if (b === null) return a;
  return CLASSIFICATIONS.indexOf(b) > CLASSIFICATIONS.indexOf(a) ? b : a;
}

/**
 * The status on a day, by the daily job's rule: nothing overdue is active; from the policy's
 * default threshold, defaulted; a loan the job last recorded as defaulted stays defaulted while
 * anything is overdue, even when a partial payment brought its days past due under the threshold.
 */
export function statusAsOf(
  daysPastDue: number,
  defaultAfterDaysOverdue: number,
  lastRecordedStatus: string | null,
): ServicedStatus {
  if (daysPastDue === 0) return 'active';
  if (daysPastDue >= defaultAfterDaysOverdue || lastRecordedStatus === 'defaulted') return 'defaulted';
  return 'overdue';
}

/** What the totals and PAR need of one loan of the book. */
export interface BookFigures {
  lender: Lender;
  borrowerMemberId: string;
  principal: Money;
  /** Null when the loan has no such figure (a peer loan's penalty). */
  interest: Money | null;
  penalty: Money | null;
  daysPastDue: number;
  classification: Classification;
}

export interface ClassTotals {
  classification: Classification;
  count: number;
  principal: Money;
  interest: Money;
  penalty: Money;
}

export interface BookTotals {
  byClass: ClassTotals[];
  all: Omit<ClassTotals, 'classification'>;
}

/** Count and sums per tier (every tier listed, best first) and over the whole book; nulls add nothing. */
export function bookTotals(loans: readonly BookFigures[]): BookTotals {
  const sum = (rows: readonly BookFigures[]) => ({
    count: rows.length,
    principal: sumAmounts(rows.map((row) => row.principal)),
    interest: sumAmounts(rows.map((row) => row.interest ?? ZERO)),
    penalty: sumAmounts(rows.map((row) => row.penalty ?? ZERO)),
  });
  return {
    byClass: CLASSIFICATIONS.map((classification) => ({
      classification,
      ...sum(loans.filter((row) => row.classification === classification)),
    })),
    all: sum(loans),
  };
}

export type ParDays = (typeof PAR_THRESHOLDS_DAYS)[number];

export interface ParThreshold {
  days: ParDays;
  /** The whole outstanding principal of the loans more than `days` days past due. */
  atRiskPrincipal: Money;
  atRiskLoans: number;
  ratio: string;
}

export interface ParPortfolio {
  lender: 'all' | Lender;
  loans: number;
  principal: Money;
  thresholds: ParThreshold[];
}

/**
 * Portfolio at risk over the whole portfolio and per lender: for N in 1, 30, 90, the whole
 * outstanding principal of the loans with any instalment more than N days late (days past due > N)
 * over the outstanding principal of the portfolio. Not the arrears rate: a loan one instalment late
 * puts all its principal at risk.
 */
export function portfolioAtRisk(loans: readonly BookFigures[]): ParPortfolio[] {
  const portfolio = (lender: ParPortfolio['lender'], rows: readonly BookFigures[]): ParPortfolio => {
    const principal = sumAmounts(rows.map((row) => row.principal));
    return {
      lender,
      loans: rows.length,
      principal,
      thresholds: PAR_THRESHOLDS_DAYS.map((days) => {
        const late = rows.filter((row) => row.daysPastDue > days);
        const atRisk = sumAmounts(late.map((row) => row.principal));
        return { days, atRiskPrincipal: atRisk, atRiskLoans: late.length, ratio: ratio(atRisk, principal) };
      }),
    };
  };
  return [
    portfolio('all', loans),
    ...LENDERS.map((lender) =>
      portfolio(
        lender,
        loans.filter((row) => row.lender === lender),
      ),
    ),
  ];
}

/** Why a loan moved between tiers or statuses (a row of its classification history). */
export const HISTORY_REASONS = [
  'restructured',
  'observation_ended',
  'overdue',
  'defaulted',
  'cured',
  'days_past_due',
] as const;
export type HistoryReason = (typeof HISTORY_REASONS)[number];

export interface HistoryChange {
  changedOn: string;
  fromClassification: Classification | null;
  toClassification: Classification;
  fromStatus: string;
  toStatus: string;
  daysPastDue: number;
}

/** An approved extension of the loan, as far as the history's reasons need it. */
export interface ApprovedExtension {
  effectiveOn: string;
  observationEndsOn: string;
  classificationFloor: Classification;
}

/**
 * The reason of a history row. The extension's approval writes one on its effective date (to
 * active, 0 days past due, the floor); the first day after the observation period the job lets
 * the floor go; every other row is the daily job moving the loan by its days past due: into
 * arrears, into default, out of arrears (cured), or to another tier within the same status.
 */
export function historyReason(change: HistoryChange, extensions: readonly ApprovedExtension[]): HistoryReason {
  const restructuring = extensions.some(
    (e) =>
      e.effectiveOn === change.changedOn &&
      change.toStatus === 'active' &&
      change.daysPastDue === 0 &&
      change.toClassification === e.classificationFloor,
  );
  if (restructuring) return 'restructured';
  const floorLifted = extensions.some(
    (e) =>
      addDays(e.observationEndsOn, 1) === change.changedOn &&
      change.fromClassification === e.classificationFloor &&
      CLASSIFICATIONS.indexOf(change.toClassification) < CLASSIFICATIONS.indexOf(e.classificationFloor),
  );
  if (floorLifted) return 'observation_ended';
  if (change.fromStatus !== 'defaulted' && change.toStatus === 'defaulted') return 'defaulted';
  if (change.fromStatus === 'active' && change.toStatus === 'overdue') return 'overdue';
  if (change.fromStatus !== 'active' && change.toStatus === 'active') return 'cured';
  return 'days_past_due';
}
