import { z } from 'zod';
import { cursorParam, limitParam } from '../http/pagination';
import { amountOutput, isoDate, timestamp, uuid } from '../http/schemas';
import { CLASSIFICATIONS } from './daily-job.repo';
import { REPAYMENT_METHODS } from './loans.schemas';

/** Request and response shapes of the loan extension routes. */

export const EXTENSION_STATUSES = ['submitted', 'under_review', 'approved', 'rejected', 'withdrawn'] as const;
export const CONSENT_STATUSES = ['pending', 'accepted', 'declined'] as const;
export const REASON_LENGTH_MAX = 1000;

export const extensionParams = z.strictObject({ fundId: uuid, loanId: uuid, extensionId: uuid });
export const extensionGuaranteeParams = z.strictObject({
  fundId: uuid,
  loanId: uuid,
  extensionId: uuid,
  guaranteeId: uuid,
});

export const requestExtensionBody = z
  .strictObject({
    newMaturityDate: isoDate.meta({
      description:
        'The maturity asked for: after the current maturity and after today; the whole term from disbursement within the policy’s termDaysMax.',
    }),
    repaymentMethod: z
      .enum(REPAYMENT_METHODS)
      .optional()
      .meta({ description: 'Of the new schedule; the loan’s own method when left out.' }),
    reason: z.string().trim().min(1).max(REASON_LENGTH_MAX),
  })
  .meta({ id: 'LoanExtensionRequest' });

export const withdrawExtensionBody = z
  .strictObject({ reason: z.string().trim().min(1).max(500) })
  .meta({ id: 'LoanExtensionWithdrawal' });

export const listExtensionsQuery = z.strictObject({ limit: limitParam, cursor: cursorParam });

const consentView = z.object({
  guaranteeId: uuid,
  guarantorMemberId: uuid,
  status: z.enum(CONSENT_STATUSES),
  decidedBy: uuid.nullable(),
  decidedAt: timestamp.nullable(),
  declineReason: z.string().nullable(),
});

const restructuringView = z
  .object({
    effectiveOn: isoDate.meta({ description: 'The first day of the new schedule.' }),
    scheduleVersionBefore: z.int(),
    scheduleVersionAfter: z.int(),
    maturityDateBefore: isoDate,
    maturityDateAfter: isoDate,
    principalRescheduled: amountOutput.meta({ description: 'Principal outstanding, spread over the new schedule.' }),
    pastDuePrincipal: amountOutput.meta({ description: 'Part of it that was past due and is rescheduled.' }),
    interestCarried: amountOutput.meta({
      description: 'Interest accrued (or, for a peer loan, earned) and unpaid, added to the first new instalment.',
    }),
    penaltyOutstanding: amountOutput.meta({
      description: 'Penalty interest still owed: taken first from any repayment.',
    }),
    feeOutstanding: amountOutput.meta({ description: 'Service fee still owed: taken first from any repayment.' }),
    loanStatusBefore: z.enum(['active', 'overdue', 'defaulted']),
    classificationBefore: z.enum(CLASSIFICATIONS).nullable(),
    classificationFloor: z.enum(CLASSIFICATIONS),
    observationEndsOn: isoDate,
  })
  .meta({ id: 'LoanRestructuring' });

export const extensionView = z
  .object({
    id: uuid,
    loanId: uuid,
    number: z.int(),
    status: z.enum(EXTENSION_STATUSES),
    requestedMaturityDate: isoDate,
    repaymentMethod: z.enum(REPAYMENT_METHODS),
    reason: z.string(),
    maturityDateBefore: isoDate,
    repaymentMethodBefore: z.enum(REPAYMENT_METHODS),
    consents: z.array(consentView),
    requestedBy: uuid,
    requestedAt: timestamp,
    withdrawnAt: timestamp.nullable(),
    withdrawalReason: z.string().nullable(),
    decisionItemId: uuid.nullable(),
    decidedAt: timestamp.nullable(),
    rejectedReason: z.string().nullable(),
    restructuring: restructuringView.nullable(),
  })
  .meta({ id: 'LoanExtension' });

export type RequestExtensionInput = z.output<typeof requestExtensionBody>;
export type ExtensionView = z.output<typeof extensionView>;
export type ConsentView = z.output<typeof consentView>;
