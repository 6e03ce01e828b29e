import { z } from 'zod';
import { cursorParam, limitParam } from '../http/pagination';
import { amountOutput, isoDate, uuid } from '../http/schemas';
import { CLASSIFICATIONS } from '../loans/daily-job.repo';
import { HISTORY_REASONS, PAR_THRESHOLDS_DAYS } from './delinquency';

/** Requests and responses of the delinquency reports (docs/adr/0014-delinquency-reports.md). */

export const reportQuery = z.strictObject({
  asOf: isoDate.optional().meta({
    description:
      'The report is as of the end of this day. Default: today in the fund’s time zone. Not after today, not before the fund was established (422).',
  }),
});

export const historyParams = z.strictObject({ fundId: uuid, loanId: uuid });

export const historyQuery = z.strictObject({ limit: limitParam, cursor: cursorParam });

const ratioOutput = z
  .string()
  .regex(/^\d+\.\d{4}$/)
  .meta({ description: 'A ratio rounded ROUND_HALF_UP to 4 decimals.', example: '0.4286' });

const classification = z.enum(CLASSIFICATIONS);

const scopeView = z
  .object({
    memberId: uuid.nullable().meta({ description: 'The member a member user’s answer is limited to; null: the fund.' }),
  })
  .meta({ description: 'Whose loans the report covers.' });

const guaranteeTotal = z.object({ count: z.int(), total: amountOutput });

const loanBookLine = z.object({
  loanId: uuid,
  number: z.int(),
  borrower: z.object({ memberId: uuid, name: z.string() }),
  lender: z.object({
    type: z.enum(['pool', 'peer']),
    memberId: uuid.nullable().meta({ description: 'The lending member of a peer loan; null for the pool.' }),
    name: z.string().nullable(),
  }),
  disbursedOn: isoDate,
  maturityDate: isoDate.meta({ description: 'The maturity in force on asOf (before any later extension).' }),
  amount: amountOutput,
  principalOutstanding: amountOutput.meta({
    description: 'Balance as of asOf of 1201:<loan> (pool) or of the memo account 7101:<loan> (peer).',
  }),
  interestReceivable: amountOutput.meta({
    description:
      'Pool loan: balance of 1202:<loan> as of asOf — what the daily job had booked (days it has not run yet have no accrual). Peer loan: the interest is the lender’s and the fund books none; this is the scheduled interest of instalments due on or before asOf, less what was paid by then (what the payoff of a peer loan counts).',
  }),
  penaltyReceivable: amountOutput.nullable().meta({
    description:
      'Pool loan: balance of 1203:<loan> as of asOf. Peer loan: null — the fund computes no penalty interest for a loan it does not lend.',
  }),
  daysPastDue: z.int().meta({
    description:
      'asOf − the due date of the oldest instalment overdue on asOf (the daily job’s rule, with what repayments received on or before asOf and not reversed by then had paid); 0 when none.',
  }),
  classification: classification.meta({
    description:
      'Five tiers by days past due with the bands of the policy in force on asOf, at least the floor of an extension whose observation period covers asOf.',
  }),
  status: z.enum(['active', 'overdue', 'defaulted']).meta({
    description:
      'On asOf: active with nothing overdue; defaulted from the policy’s default threshold, or when the daily job last recorded it defaulted and something is still overdue; otherwise overdue.',
  }),
  restructured: z.boolean().meta({ description: 'An extension had taken effect on or before asOf.' }),
  guarantees: z
    .object({
      count: z.int(),
      total: amountOutput,
      byType: z.object({ joint_and_several: guaranteeTotal, general: guaranteeTotal }),
    })
    .meta({
      description:
        'Guarantees standing on asOf: accepted or active, or released after asOf (a loan outstanding on asOf closed later), at their pledged amounts.',
    }),
  collateral: z.object({
    count: z.int(),
    valuation: amountOutput,
    counted: amountOutput.meta({
      description: 'Σ valuation × (100 − haircut %) / 100, each item rounded down to the fen (the eligibility rule).',
    }),
  }),
  coverageRatio: ratioOutput.meta({
    description: '(guarantees total + collateral counted) / principal outstanding, ROUND_HALF_UP to 4 decimals.',
  }),
});

const classTotals = z.object({
  count: z.int(),
  principalOutstanding: amountOutput,
  interestReceivable: amountOutput,
  penaltyReceivable: amountOutput,
});

export const loanBookView = z
  .object({
    fundId: uuid,
    asOf: isoDate,
    policyVersion: z.int().meta({ description: 'The policy version in force on asOf, whose bands classify.' }),
    scope: scopeView,
    loans: z.array(loanBookLine).meta({ description: 'By loan number.' }),
    totals: z.object({
      byClass: z
        .array(classTotals.extend({ classification }))
        .meta({ description: 'Every tier, best first, even when empty.' }),
      all: classTotals,
    }),
  })
  .meta({
    id: 'LoanBook',
    description:
      'Interest totals add the pool loans’ receivable and the peer loans’ interest due to their lenders; penalty totals only pool loans (peer loans have none).',
  });

const parThreshold = z.object({
  days: z.literal([...PAR_THRESHOLDS_DAYS]),
  atRiskPrincipal: amountOutput.meta({
    description: 'The whole principal outstanding of the loans more than `days` days past due.',
  }),
  atRiskLoans: z.int(),
  ratio: ratioOutput.meta({
    description:
      'atRiskPrincipal / principalOutstanding, ROUND_HALF_UP to 4 decimals; "0.0000" for an empty portfolio.',
  }),
});

const parPortfolio = z.object({
  lender: z.enum(['all', 'pool', 'peer']),
  loans: z.int(),
  principalOutstanding: amountOutput,
  thresholds: z.array(parThreshold).meta({ description: 'PAR1, PAR30, PAR90.' }),
});

export const portfolioAtRiskView = z
  .object({
    fundId: uuid,
    asOf: isoDate,
    scope: scopeView,
    portfolios: z.array(parPortfolio).meta({ description: 'The whole portfolio, then pool loans, then peer loans.' }),
  })
  .meta({ id: 'PortfolioAtRisk' });

const historyItem = z.object({
  changedOn: isoDate,
  fromClassification: classification.nullable().meta({ description: 'null: the loan had not been classified yet.' }),
  toClassification: classification,
  fromStatus: z.string(),
  toStatus: z.string(),
  daysPastDue: z.int(),
  reason: z.enum(HISTORY_REASONS).meta({
    description:
      'restructured: an extension took effect (classified at least at its floor); observation_ended: the floor of a restructuring lapsed; overdue: an instalment fell overdue; defaulted: days past due reached the policy’s default threshold; cured: nothing overdue any more; days_past_due: another tier by days past due.',
  }),
});

export const classificationHistoryView = z
  .object({
    loanId: uuid,
    number: z.int(),
    items: z.array(historyItem).meta({ description: 'Oldest first.' }),
    nextCursor: z.string().nullable(),
  })
  .meta({ id: 'LoanClassificationHistory' });

export type LoanBookView = z.infer<typeof loanBookView>;
export type LoanBookLineView = z.infer<typeof loanBookLine>;
export type PortfolioAtRiskView = z.infer<typeof portfolioAtRiskView>;
export type ClassificationHistoryView = z.infer<typeof classificationHistoryView>;
