import { z } from 'zod';
import { cursorParam, limitParam } from '../http/pagination';
import { amountOutput, isoDate, timestamp, uuid } from '../http/schemas';
import { bankTermsView } from './bank-loans.schemas';
import { CLASSIFICATIONS } from './daily-job.repo';
import {
  approvalFields,
  collateralView,
  guaranteeView,
  LENDERS,
  RATIFICATION_STATUSES,
  REPAYMENT_METHODS,
} from './loans.schemas';

/** Request and response shapes of disbursements and of loans after approval. */

export const BANK_REFERENCE_LENGTH_MAX = 200;

export const LOAN_STATES = [
  'approved',
  'active',
  'overdue',
  'repaid',
  'defaulted',
  'written_off',
  'cancelled',
] as const;
export const REQUEST_STATUSES = ['awaiting_confirmation', 'executed', 'cancelled'] as const;

// ---------------------------------------------------------------------------------------------
// Requests

export const servicedLoanParams = z.strictObject({ fundId: uuid, loanId: uuid });
export const requestParams = z.strictObject({ fundId: uuid, loanId: uuid, requestId: uuid });

export const disbursementBody = z
  .strictObject({
    disbursedOn: isoDate.optional().meta({
      description:
        'Value date of the payment; default today in the fund’s time zone (a bank loan: the contract’s start); never in the future. A bank loan’s drawdown is on or after its contract’s start and before its maturity.',
    }),
    bankReference: z.string().trim().min(1).max(BANK_REFERENCE_LENGTH_MAX).meta({
      description:
        'The bank’s reference of the transfer to the borrower (for a peer loan, between members; for a bank loan, of the bank’s drawdown).',
    }),
  })
  .meta({ id: 'DisbursementRequest', example: { disbursedOn: '2026-11-10', bankReference: 'ICBC-20261110-000123' } });

const booleanParam = z
  .enum(['true', 'false'])
  .transform((text) => text === 'true')
  .meta({ description: '`true`: only loans with an instalment past due and unpaid; `false`: only the others.' });

export const MEMBER_ROLES = ['borrower', 'guarantor', 'lender'] as const;

export const listLoansQuery = z
  .strictObject({
    status: z.enum(LOAN_STATES).optional(),
    memberId: uuid
      .optional()
      .meta({ description: 'Loans this member takes part in: borrower, guarantor or peer lender.' }),
    memberRole: z.enum(MEMBER_ROLES).optional().meta({
      description:
        'With `memberId`: only the loans it borrows, guarantees (a guarantee it gave or was asked for, not one it declined or that was withdrawn) or lends (peer loans).',
    }),
    overdue: booleanParam.optional(),
    lender: z.enum(LENDERS).optional().meta({ description: 'Only loans of this lender: pool, peer or bank.' }),
    ratification: z.enum(RATIFICATION_STATUSES).optional().meta({
      description:
        'Fast-tracked loans by ratification: `pending` (waiting for the next meeting), `ratified`, or `failed` (the committee did not ratify; the loan stands and the exception stays visible).',
    }),
    limit: limitParam,
    cursor: cursorParam,
  })
  .refine((query) => query.memberRole === undefined || query.memberId !== undefined, {
    message: 'memberRole needs memberId',
    path: ['memberRole'],
  });

// ---------------------------------------------------------------------------------------------
// Responses

export const disbursementView = z
  .object({
    id: uuid,
    fundId: uuid,
    loanId: uuid,
    status: z.enum(REQUEST_STATUSES).meta({
      description:
        'executed: the money moved; awaiting_confirmation: at or above the maker-checker threshold, a second administrator must confirm; cancelled: the loan was cancelled first.',
    }),
    amount: amountOutput,
    disbursedOn: isoDate,
    bankReference: z.string(),
    requiresConfirmation: z.boolean(),
    requestedBy: uuid,
    requestedAt: timestamp,
    confirmedBy: uuid.nullable(),
    confirmedAt: timestamp.nullable(),
    cancelledAt: timestamp.nullable(),
    cancellationReason: z.string().nullable(),
    entryId: uuid.nullable().meta({ description: 'The principal entry, once executed.' }),
    loanStatus: z.enum(LOAN_STATES),
  })
  .meta({ id: 'Disbursement' });

const termsView = z
  .object({
    disbursedOn: isoDate,
    maturityDate: isoDate,
    rateAnnual: z.string().meta({ description: 'Contract rate per year as a fraction: "0.0435" is 4.35 %.' }),
    dayCount: z.enum(['ACT/360', 'ACT/365']),
    penaltyUpliftPct: z.string(),
    serviceFee: amountOutput,
    scheduleVersion: z.int(),
  })
  .meta({ id: 'LoanTerms' });

const holdSummary = z
  .object({
    id: uuid,
    amount: amountOutput,
    status: z.enum(['pending', 'posted', 'released', 'expired']),
    expiresAt: timestamp,
    createdAt: timestamp,
    resolvedAt: timestamp.nullable(),
    entryId: uuid.nullable(),
  })
  .meta({ id: 'LoanHold' });

const loanSummaryFields = {
  id: uuid,
  fundId: uuid,
  number: z.int(),
  status: z.enum(LOAN_STATES),
  borrowerMemberId: uuid,
  lender: z.object({
    type: z.enum(LENDERS),
    memberId: uuid.nullable(),
    bank: bankTermsView.optional().meta({ description: 'A bank loan’s contract; absent for pool and peer loans.' }),
  }),
  amount: amountOutput,
  termDays: z.int(),
  repaymentMethod: z.enum(REPAYMENT_METHODS),
  emergency: z.boolean(),
  restructured: z.boolean(),
  ...approvalFields,
  policyVersion: z
    .int()
    .meta({ description: 'The policy version the loan was approved under; its terms come from it.' }),
  disbursedOn: isoDate.nullable(),
  maturityDate: isoDate.nullable(),
  repaidOn: isoDate.nullable().meta({ description: 'The day the last repayment closed the loan.' }),
  classification: z.enum(CLASSIFICATIONS).nullable().meta({
    description:
      'Five tiers by days past due, set by the daily job: 正常 normal, 关注 special_mention, 次级 substandard, 可疑 doubtful, 损失 loss. null until the job first sees the disbursed loan.',
  }),
  daysPastDue: z.int().nullable().meta({
    description: 'Days since the oldest unpaid instalment fell due, as of the last day the daily job ran.',
  }),
  principalOutstanding: amountOutput.meta({
    description:
      'Balance of 1201:<loan> (for a peer loan, of the memo account 7101:<loan>; for a bank loan, of 7201:<loan>).',
  }),
  overdue: z.boolean().meta({ description: 'An instalment fell due before today and is not fully paid.' }),
};

export const loanSummaryView = z.object(loanSummaryFields).meta({ id: 'LoanSummary' });

export const loanView = z
  .object({
    ...loanSummaryFields,
    purpose: z.string(),
    terms: termsView.nullable().meta({ description: 'Fixed at disbursement; null before.' }),
    balances: z.object({
      principalOutstanding: amountOutput,
      interestReceivable: amountOutput.meta({ description: 'Balance of 1202:<loan>.' }),
      penaltyInterestReceivable: amountOutput,
      feeReceivable: amountOutput.meta({ description: 'Balance of 1204:<loan>: the service fee not yet repaid.' }),
    }),
    guarantees: z.array(guaranteeView),
    collateral: z.array(collateralView),
    holds: z.array(holdSummary).meta({ description: 'Holds on pool cash placed for this loan, newest first.' }),
    disbursements: z.array(disbursementView).meta({ description: 'Disbursement requests, newest first.' }),
    cancelledAt: timestamp.nullable(),
    cancellationReason: z.string().nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
    version: z.int(),
  })
  .meta({ id: 'Loan' });

const paidView = z.object({ principal: amountOutput, interest: amountOutput, total: amountOutput });

export const scheduleView = z
  .object({
    loanId: uuid,
    scheduleVersion: z.int().nullable().meta({ description: 'null until the loan is disbursed.' }),
    instalments: z.array(
      z.object({
        number: z.int(),
        periodStart: isoDate,
        dueOn: isoDate,
        days: z.int(),
        principal: amountOutput,
        interest: amountOutput.meta({
          description:
            'Interest due: once the period ended, what it accrued (a prepayment lowers it); before, as scheduled.',
        }),
        interestScheduled: amountOutput.meta({ description: 'The interest the schedule set for the period.' }),
        total: amountOutput,
        paid: paidView,
        outstanding: paidView,
        overdue: z.boolean(),
      }),
    ),
    totals: z.object({
      principal: amountOutput,
      interest: amountOutput,
      total: amountOutput,
      paid: amountOutput,
      outstanding: amountOutput,
    }),
    serviceFee: amountOutput.nullable(),
  })
  .meta({ id: 'LoanSchedule' });

export type DisbursementInput = z.output<typeof disbursementBody>;
export type DisbursementView = z.infer<typeof disbursementView>;
export type LoanSummaryView = z.infer<typeof loanSummaryView>;
export type LoanView = z.infer<typeof loanView>;
export type ScheduleView = z.infer<typeof scheduleView>;
