import { z } from 'zod';
import { amountOutput, isoDate, timestamp, uuid } from '../http/schemas';
import { LENDERS } from '../reports/delinquency';
import { loanBookView, portfolioAtRiskView } from '../reports/reports.schemas';

/** Requests and responses of the fund at a glance (docs/adr/0026-fund-overview.md). */

/** The horizons of the repayments due, in days after the as-of day. */
export const DUE_HORIZONS_DAYS = [30, 60, 90] as const;
/** Ids an alert lists at most (the newest, or the most urgent, first). */
export const ALERT_IDS_MAX = 20;
export const SERIES_MONTHS_MAX = 36;
export const SERIES_MONTHS_DEFAULT = 12;

const asOfParam = isoDate.optional().meta({
  description:
    'The figures are as of the end of this day. Default: today in the fund’s time zone. Not after today (422 `as_of_in_future`), not before the fund was established (422 `as_of_before_fund`).',
});

export const overviewQuery = z.strictObject({ asOf: asOfParam });

export const seriesQuery = z.strictObject({
  months: z.coerce
    .number()
    .int()
    .min(1)
    .max(SERIES_MONTHS_MAX)
    .default(SERIES_MONTHS_DEFAULT)
    .meta({ description: `How many months, 1–${SERIES_MONTHS_MAX}; default ${SERIES_MONTHS_DEFAULT}.` }),
  asOf: asOfParam,
});

const lenderLoans = z.object({
  principal: amountOutput,
  loans: z.int().meta({ description: 'Loans with principal outstanding on the day (their account not at zero).' }),
});

export const loansOutstandingView = z
  .object({
    pool: lenderLoans.meta({ description: 'Σ 1201:<loan>: what borrowers owe the pool.' }),
    peer: lenderLoans.meta({ description: 'Σ memo 7101:<loan>: what borrowers owe lending members.' }),
    bank: lenderLoans.meta({
      description: 'Σ memo 7201:<loan>: what borrowers owe banks on loans the fund registered.',
    }),
    total: lenderLoans,
  })
  .meta({
    id: 'LoansOutstandingByLender',
    description:
      'Principal owed by borrowers at the end of the day, from the loans’ principal accounts as of the day (ADR 0003). Principal a recovery moved onto called guarantors is not in it (the loan book counts it: `owedBy`).',
  });

const dueByLender = z.object({
  lender: z.enum(LENDERS),
  instalments: z.int(),
  loans: z.int(),
  principal: amountOutput,
  interest: amountOutput,
});

const repaymentsDue = z.object({
  days: z.literal([...DUE_HORIZONS_DAYS]),
  dueAfter: isoDate.meta({ description: 'Due after this day (asOf) …' }),
  dueBy: isoDate.meta({ description: '… and on or before this one (asOf + days).' }),
  instalments: z.int(),
  loans: z.int(),
  principal: amountOutput.meta({ description: 'Principal of those instalments not paid by asOf.' }),
  interest: amountOutput.meta({
    description:
      'Scheduled interest of those instalments not paid by asOf (a peer or bank loan’s interest is its lender’s).',
  }),
  total: amountOutput,
  byLender: z.array(dueByLender).meta({ description: 'Pool, peer and bank loans, each even when empty.' }),
});

export const ALERT_KINDS = [
  'overdue_loans',
  'pending_ratifications',
  'exposure_breaches',
  'guarantee_circles',
  'open_recovery_cases',
  'audit_chain',
  'ledger_verification',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

const alertView = z
  .object({
    kind: z.enum(ALERT_KINDS).meta({
      description:
        'overdue_loans: loans of the book with an instalment past due on asOf (amount: their principal outstanding); pending_ratifications: fast-tracked loans waiting for the committee to ratify them (amount: their amounts); exposure_breaches: limits the exposure report finds exceeded on asOf (amount: Σ excess); guarantee_circles: circles (互保圈) in the live guarantee network (no amount); open_recovery_cases: recovery cases open on asOf (amount: principal outstanding of their loans in the loan book); audit_chain: 1 when the audit hash chain is broken (see `verification`); ledger_verification: the findings of the ledger’s check of itself.',
    }),
    basis: z.enum(['as_of', 'now']).meta({
      description:
        '`as_of`: as of the end of asOf; `now`: the state when the overview was drawn up, whatever asOf (the ratification queue, the guarantee network and the verifications have no past view).',
    }),
    count: z.int().meta({ description: 'How many things need attention; 0: nothing.' }),
    amount: amountOutput.nullable().meta({ description: 'What is at stake, where an amount means something.' }),
    loanIds: z.array(uuid),
    memberIds: z.array(uuid),
    caseIds: z.array(uuid),
    relatedGroups: z.array(z.string()),
    truncated: z.boolean().meta({ description: `More than the ${ALERT_IDS_MAX} ids listed in some list.` }),
  })
  .meta({ id: 'OverviewAlert' });

const verificationView = z
  .object({
    auditChain: z.object({
      ok: z.boolean(),
      checkedAt: timestamp,
      recordsChecked: z.int(),
      firstBrokenId: uuid.nullable(),
      firstBrokenSeq: z.string().nullable(),
      reason: z.string().nullable().meta({ description: 'As `GET …/audit/verify` gives it.' }),
    }),
    ledger: z.object({
      ok: z.boolean(),
      checkedAt: timestamp,
      findingsTotal: z.int(),
      checked: z.object({
        accounts: z.int(),
        entries: z.int(),
        postings: z.int(),
        pendingHolds: z.int(),
      }),
    }),
  })
  .meta({
    description:
      'The audit chain and the ledger verified when the overview was drawn up (`GET …/audit/verify`, `GET …/ledger/verify` say what is off).',
  });

export const overviewView = z
  .object({
    fundId: uuid,
    asOf: isoDate,
    policyVersion: z.int().meta({ description: 'The policy version in force on asOf (reserve, tiers).' }),
    pool: z.object({
      cash: amountOutput.meta({ description: 'Balance of 1001 at the end of asOf.' }),
      held: amountOutput.meta({
        description:
          'Pool cash reserved by approvals: holds on 1001 placed and not yet posted, released or expired at the end of asOf, by the clock (holds have no value date).',
      }),
      liquidityReservePct: z.string(),
      liquidityReserve: amountOutput.meta({
        description:
          'liquidityReservePct of pool capital (Σ 3001:<member> on asOf), rounded half-up to the fen: the rule lending and exits apply.',
      }),
      availableToLend: amountOutput.meta({
        description: 'cash − held − liquidityReserve, floored at 0.00: never a negative amount to lend.',
      }),
      shortOfReserve: amountOutput.meta({
        description: 'How far cash − held is below the reserve (liquidityReserve − (cash − held)), else 0.00.',
      }),
    }),
    capital: z.object({
      members: z.int().meta({ description: 'Members joined by asOf and not exited by then.' }),
      subscribed: amountOutput.meta({
        description: 'Σ their subscribed capital (认缴), at today’s subscription amounts (they keep no history).',
      }),
      paidIn: amountOutput.meta({ description: 'Σ 3001:<member> at the end of asOf: paid-in capital (实缴).' }),
    }),
    loansOutstanding: loansOutstandingView,
    income: z
      .object({
        from: isoDate,
        to: isoDate,
        closedPeriod: z
          .string()
          .nullable()
          .meta({ description: 'The closed period asOf falls in; null: the open period.' }),
        accounts: z.array(z.object({ accountId: uuid, code: z.string(), name: z.string(), amount: amountOutput })),
        total: amountOutput,
      })
      .meta({
        description:
          'Income of the period running on asOf, from its first day (the day after the books were last closed, or the fund’s establishment) to asOf, per income account (4001–4005); period-close entries left out.',
      }),
    loanBook: loanBookView.shape.totals.meta({
      description: 'The loan book’s totals as of asOf (`GET …/reports/loan-book`): per tier and over the book.',
    }),
    portfolioAtRisk: portfolioAtRiskView.shape.portfolios.meta({
      description: 'PAR1, PAR30, PAR90 as of asOf (`GET …/reports/portfolio-at-risk`): all loans, then per lender.',
    }),
    repaymentsDue: z.array(repaymentsDue).meta({
      description: 'Instalments falling due in the 30, 60 and 90 days after asOf (each horizon includes the shorter).',
    }),
    alerts: z.array(alertView).meta({ description: 'Every kind, in this order, even when its count is 0.' }),
    verification: verificationView,
  })
  .meta({ id: 'FundOverview' });

const seriesPoint = z.object({
  date: isoDate,
  monthEnd: z.boolean().meta({ description: 'false for the last point when asOf is not a month end.' }),
  poolCash: amountOutput.meta({ description: 'Balance of 1001 at the end of the day.' }),
  memberCapitalPaidIn: amountOutput.meta({ description: 'Σ 3001:<member> at the end of the day.' }),
  loansOutstanding: loansOutstandingView,
  portfolioAtRisk: portfolioAtRiskView.shape.portfolios.element.meta({
    description: 'PAR1, PAR30, PAR90 of the whole portfolio on the day, as the PAR report gives them.',
  }),
});

export const seriesView = z
  .object({
    fundId: uuid,
    asOf: isoDate,
    months: z.int(),
    points: z.array(seriesPoint).meta({
      description:
        'The last day of each month, oldest first, the last point being asOf; months before the fund was established are left out.',
    }),
  })
  .meta({ id: 'FundOverviewSeries' });

export type OverviewView = z.infer<typeof overviewView>;
export type OverviewAlertView = z.infer<typeof alertView>;
export type SeriesView = z.infer<typeof seriesView>;
export type LoansOutstandingView = z.infer<typeof loansOutstandingView>;
