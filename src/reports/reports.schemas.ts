import { z } from 'zod';
import { cursorParam, limitParam } from '../http/pagination';
import { amountOutput, isoDate, uuid } from '../http/schemas';
import { CLASSIFICATIONS } from '../loans/daily-job.repo';
import { HISTORY_REASONS, LENDERS, PAR_THRESHOLDS_DAYS } from './delinquency';
import { EXPOSURE_MEASURES } from './exposure';

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
    type: z.enum(LENDERS),
    memberId: uuid.nullable().meta({ description: 'The lending member of a peer loan; null for the pool and banks.' }),
    name: z.string().nullable().meta({ description: 'The lending member’s name, or the bank’s; null for the pool.' }),
  }),
  disbursedOn: isoDate,
  maturityDate: isoDate.meta({ description: 'The maturity in force on asOf (before any later extension).' }),
  amount: amountOutput,
  principalOutstanding: amountOutput.meta({
    description:
      'Principal still owed on asOf, by the borrower or by guarantors called for it: owedBy.borrowerPrincipal + owedBy.guarantorsPrincipal. A call moves the receivable from the borrower to the guarantors, not out of the fund’s risk.',
  }),
  owedBy: z
    .object({
      borrowerPrincipal: amountOutput.meta({
        description:
          'Balance as of asOf of 1201:<loan> (pool), or of the memo account 7101:<loan> (peer) or 7201:<loan> (bank).',
      }),
      guarantorsPrincipal: amountOutput.meta({
        description:
          'The principal part of what guarantors called for the loan still owe on asOf: per call round, what its calls leave unpaid, principal first (rule W-restore of ADR 0018: payments are deemed to pay fee, penalty and interest first), up to the principal the round took less what failures gave back. Pool loans only; 0.00 otherwise.',
      }),
      guarantorsOwed: amountOutput.meta({ description: 'Σ guarantors[].owed: principal and the rest.' }),
      guarantors: z
        .array(
          z.object({
            memberId: uuid,
            name: z.string(),
            owed: amountOutput.meta({
              description:
                'What its calls on this loan put on 1301:<guarantor>, less what it paid on them and what its failure gave back to the loan, from the ledger as of asOf.',
            }),
          }),
        )
        .meta({ description: 'Each guarantor called for the loan that still owes on asOf, by name.' }),
    })
    .meta({
      description:
        'Who owes the loan’s principal on asOf. Interest and penalty receivable above are the borrower’s; what a call moved onto a guarantor is in its `owed`.',
    }),
  interestReceivable: amountOutput.meta({
    description:
      'Pool loan: balance of 1202:<loan> as of asOf — what the daily job had booked (days it has not run yet have no accrual). Peer and bank loan: the interest is the lender’s and the fund books none; this is the scheduled interest of instalments due on or before asOf, less what was paid (or reported paid to the bank) by then.',
  }),
  penaltyReceivable: amountOutput.nullable().meta({
    description:
      'Pool loan: balance of 1203:<loan> as of asOf. Peer and bank loan: null — the fund computes no penalty interest for a loan it does not lend.',
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
      'Interest totals add the pool loans’ receivable and the interest peer and bank loans owe their lenders; penalty totals only pool loans (the others have none).',
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
  lender: z.enum(['all', ...LENDERS]),
  loans: z.int(),
  principalOutstanding: amountOutput,
  thresholds: z.array(parThreshold).meta({ description: 'PAR1, PAR30, PAR90.' }),
});

export const portfolioAtRiskView = z
  .object({
    fundId: uuid,
    asOf: isoDate,
    scope: scopeView,
    portfolios: z
      .array(parPortfolio)
      .meta({ description: 'The whole portfolio, then pool loans, peer loans and bank loans.' }),
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

const limitCheck = z.object({
  measure: z.enum(EXPOSURE_MEASURES).meta({
    description:
      'pool_loans_paid_in_multiple: pool loans owed against `loanLimitPaidInMultiple` × paid-in capital; single_borrower: pool loans owed against `singleBorrowerLimitPct` of pool capital; guarantor_capacity: guarantees given (own + joint-group share) against `guarantorCapacityPaidInMultiple` × paid-in capital; related_group: the group’s pool loans against `relatedGroupLimitPct` of pool capital.',
  }),
  limit: amountOutput.meta({ description: 'Under the policy in force on asOf, floored to the fen.' }),
  actual: amountOutput,
  breached: z.boolean().meta({ description: 'actual > limit.' }),
  excess: amountOutput.meta({ description: 'actual − limit when breached, else "0.00".' }),
});

const exposureFigures = {
  poolLoans: amountOutput.meta({ description: 'Principal owed to the pool (1201:<loan>) as of asOf.' }),
  peerLoansBorrowed: amountOutput.meta({ description: 'Principal owed on peer loans (memo 7101:<loan>).' }),
  peerLoansLent: amountOutput.meta({ description: 'Principal of peer loans it lent, still owed to it (7101:<loan>).' }),
  bankLoans: amountOutput.meta({
    description: 'Principal owed to banks on loans registered with the fund (memo 7201:<loan>).',
  }),
  guaranteesGiven: z
    .object({
      own: amountOutput.meta({ description: 'Its own pledges: amount less releases by asOf.' }),
      jointGroupShare: amountOutput.meta({
        description:
          'Its share of joint-group guarantees: each standing amount divided equally among the loan’s guarantors from the group, ROUND_HALF_UP to the fen.',
      }),
      total: amountOutput,
    })
    .meta({ description: 'Guarantees standing at the end of asOf (active by then, less releases by then).' }),
  collateralPledged: z
    .object({
      valuation: amountOutput,
      counted: amountOutput.meta({ description: 'Valuation less haircut, each item rounded down to the fen.' }),
    })
    .meta({ description: 'Collateral of its loans outstanding on asOf.' }),
  limits: z.array(limitCheck),
};

const memberExposure = z.object({
  member: z.object({
    memberId: uuid,
    name: z.string(),
    relatedGroup: z.string().nullable(),
    status: z.string(),
  }),
  paidInCapital: amountOutput.meta({ description: 'Balance of 3001:<member> as of asOf.' }),
  ...exposureFigures,
});

const groupExposure = z.object({
  relatedGroup: z.string(),
  memberIds: z.array(uuid),
  ...exposureFigures,
});

const breach = z.object({
  scope: z.enum(['member', 'related_group']),
  memberId: uuid.nullable(),
  relatedGroup: z.string().nullable(),
  measure: z.enum(EXPOSURE_MEASURES),
  limit: amountOutput,
  actual: amountOutput,
  excess: amountOutput,
});

export const exposureView = z
  .object({
    fundId: uuid,
    asOf: isoDate,
    policyVersion: z.int().meta({ description: 'The policy version in force on asOf, whose limits apply.' }),
    scope: scopeView,
    poolCapital: amountOutput.meta({ description: 'Σ member capital (3001:<member>) as of asOf.' }),
    members: z.array(memberExposure).meta({
      description: 'Members not exited, and exited ones with anything still outstanding; by name.',
    }),
    relatedGroups: z.array(groupExposure).meta({ description: 'Every related group with a member listed; by name.' }),
    breaches: z.array(breach).meta({ description: 'Every limit breached on asOf, members first.' }),
  })
  .meta({ id: 'Exposure' });

export type ExposureView = z.infer<typeof exposureView>;
export type LoanBookView = z.infer<typeof loanBookView>;
export type LoanBookLineView = z.infer<typeof loanBookLine>;
export type PortfolioAtRiskView = z.infer<typeof portfolioAtRiskView>;
export type ClassificationHistoryView = z.infer<typeof classificationHistoryView>;
