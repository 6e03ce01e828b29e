import { z } from 'zod';
import { positiveAmountInput } from '../capital/capital.schemas';
import { cursorParam, limitParam } from '../http/pagination';
import { amountOutput, isoDate, timestamp, uuid } from '../http/schemas';
import { LOAN_STATES } from './disbursements.schemas';
import { LENDERS } from './loans.schemas';
import { COMPONENTS } from './repayments.allocation';

/** Request and response shapes of repayments, their reversal and the payoff figure. */

export const REPAYMENT_REFERENCE_LENGTH_MAX = 200;

// ---------------------------------------------------------------------------------------------
// Requests

export const repaymentParams = z.strictObject({ fundId: uuid, loanId: uuid, repaymentId: uuid });

export const repaymentBody = z
  .strictObject({
    amount: positiveAmountInput,
    receivedOn: isoDate.meta({
      description:
        'Day the money reached the fund (for a peer loan, the lender); not in the future, not before the disbursement nor before the latest repayment.',
    }),
    reference: z
      .string()
      .trim()
      .min(1, 'give the bank’s reference of the transfer')
      .max(REPAYMENT_REFERENCE_LENGTH_MAX)
      .meta({ description: 'The bank’s reference of the transfer; recorded once per fund.' }),
  })
  .meta({
    id: 'RepaymentRequest',
    example: { amount: '30512.33', receivedOn: '2026-07-15', reference: 'ICBC-20260715-0042' },
  });

export const reverseRepaymentBody = z
  .strictObject({
    reversedOn: isoDate
      .optional()
      .meta({ description: 'Value date of the reversing entries; default today, not before the money was received.' }),
    reason: z.string().trim().min(1).max(500).meta({ description: 'Why the repayment was recorded by mistake.' }),
  })
  .meta({ id: 'ReverseRepaymentRequest', example: { reason: '银行退票：款项未到账' } });

export const listRepaymentsQuery = z.strictObject({ limit: limitParam, cursor: cursorParam });

export const payoffQuery = z.strictObject({
  asOf: isoDate.optional().meta({ description: 'Default today in the fund’s time zone; not in the future.' }),
});

// ---------------------------------------------------------------------------------------------
// Responses

const allocationView = z
  .object({
    component: z.enum(COMPONENTS),
    scheduleVersion: z.int().nullable(),
    instalmentNumber: z.int().nullable().meta({
      description: 'null for the fee, penalty interest, and interest accrued beyond the scheduled interest.',
    }),
    amount: amountOutput,
    prepayment: z.boolean().meta({ description: 'Principal of an instalment not yet due on the day received.' }),
  })
  .meta({ id: 'RepaymentAllocation' });

const componentsView = z.object({
  fee: amountOutput,
  penaltyInterest: amountOutput,
  interest: amountOutput,
  principal: amountOutput,
});

export const repaymentView = z
  .object({
    id: uuid,
    fundId: uuid,
    loanId: uuid,
    number: z.int().meta({ description: '1, 2, 3 … per loan, in the order recorded.' }),
    status: z.enum(['recorded', 'reversed']),
    amount: amountOutput,
    receivedOn: isoDate,
    reference: z.string(),
    allocated: componentsView,
    allocations: z.array(allocationView),
    guaranteeReleases: z.array(
      z.object({
        guaranteeId: uuid,
        amount: amountOutput,
        releasedTotal: amountOutput.meta({
          description: 'Of this guarantee, released by the repayments up to this one.',
        }),
      }),
    ),
    closedLoan: z.boolean().meta({ description: 'This repayment repaid the loan in full.' }),
    entryId: uuid.nullable(),
    guaranteeEntryId: uuid.nullable(),
    recordedBy: uuid,
    recordedAt: timestamp,
    reversal: z
      .object({
        reversedAt: timestamp,
        reversedOn: isoDate,
        reversedBy: uuid,
        reason: z.string(),
        entryId: uuid.nullable(),
        guaranteeEntryId: uuid.nullable(),
      })
      .nullable(),
    accrualAdjustments: z
      .array(
        z.object({
          cause: z.enum(['repayment', 'reversal']),
          fromDay: isoDate,
          throughDay: isoDate,
          interest: amountOutput.meta({ description: 'Signed: negative when accrued interest was taken back.' }),
          penaltyInterest: amountOutput.meta({ description: 'Signed, as `interest`.' }),
          entryIds: z.array(uuid),
        }),
      )
      .meta({
        description:
          'When the repayment (or its reversal) was dated in days the daily job had already run: those days of the loan were run again and each day’s difference was posted dated that day (kind `loan.accrual_adjustment`).',
      }),
    loanStatus: z.enum(LOAN_STATES).meta({ description: 'The loan’s status now.' }),
  })
  .meta({ id: 'Repayment' });

export const payoffView = z
  .object({
    loanId: uuid,
    asOf: isoDate,
    lender: z.enum(LENDERS),
    fee: amountOutput.meta({ description: 'Balance of 1204:<loan>.' }),
    penaltyInterest: amountOutput.meta({
      description: 'Balance of 1203:<loan>, at the start of asOf as for interest.',
    }),
    interest: amountOutput.meta({
      description:
        'Pool loan: balance of 1202:<loan> as of asOf less the daily job’s accrual for asOf itself: the interest owed at the start of the day (money received on asOf stops interest that day). Peer and bank loans: scheduled interest of the instalments due by asOf, unpaid.',
    }),
    principal: amountOutput.meta({
      description: 'Balance of 1201:<loan> (peer loan: of the memo account 7101:<loan>; bank loan: of 7201:<loan>).',
    }),
    total: amountOutput.meta({ description: 'The most a repayment received on asOf can be.' }),
  })
  .meta({ id: 'LoanPayoff' });

export type RepaymentInput = z.output<typeof repaymentBody>;
export type ReverseRepaymentInput = z.output<typeof reverseRepaymentBody>;
export type RepaymentView = z.infer<typeof repaymentView>;
export type PayoffView = z.infer<typeof payoffView>;
