import { z } from 'zod';
import { cursorParam, limitParam } from '../http/pagination';
import { amountOutput, isoDate, timestamp, uuid } from '../http/schemas';
import { bankTermsView } from '../loans/bank-loans.schemas';
import { amountProblem, Money } from '../money/money';

/** Request and response shapes of contributions, capital calls and member statements. */

export const BANK_REFERENCE_LENGTH_MAX = 100;
/** Short enough that the entry memo (with the bank reference) stays within the ledger's 500. */
export const CONTRIBUTION_MEMO_LENGTH_MAX = 300;
export const CALL_MEMO_LENGTH_MAX = 500;

const AMOUNT_PROBLEMS = {
  not_a_decimal: 'must be a decimal number written as a string, such as "50000.00"',
  too_many_decimals: 'must have at most 2 decimals',
  too_large: 'is too large',
} as const;

/** A positive amount with at most 2 decimals; anything else is a 400 naming the field, never rounded. */
export const positiveAmountInput = z
  .string()
  .max(40)
  .superRefine((text, ctx) => {
    const problem = amountProblem(text);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: AMOUNT_PROBLEMS[problem] });
    else if (!new Money(text).gt(0)) ctx.addIssue({ code: 'custom', message: 'must be greater than zero' });
  })
  .meta({ description: 'Decimal string > 0 with at most 2 decimals.', example: '50000.00' });

const PERCENT_PATTERN = /^(0|[1-9]\d{0,2})(\.\d{1,4})?$/;

/** A percentage 0 < p ≤ 100 with at most 4 decimals ("12.5" is 12.5 %), as capital_calls.percent holds it. */
export const percentInput = z
  .string()
  .max(10)
  .superRefine((text, ctx) => {
    if (!PERCENT_PATTERN.test(text)) {
      ctx.addIssue({ code: 'custom', message: 'must be a decimal string with at most 4 decimals, such as "25"' });
    } else if (!new Money(text).gt(0) || new Money(text).gt(100)) {
      ctx.addIssue({ code: 'custom', message: 'must be greater than 0 and at most 100' });
    }
  })
  .meta({ description: 'Percent of each subscription called: "25" means 25 %.', example: '25' });

// ---------------------------------------------------------------------------------------------
// Requests

export const memberParams = z.strictObject({ fundId: uuid, memberId: uuid });
export const callParams = z.strictObject({ fundId: uuid, callId: uuid });
export const contributionParams = z.strictObject({ fundId: uuid, contributionId: uuid });

export const reverseContributionBody = z
  .strictObject({
    reversedOn: isoDate
      .optional()
      .meta({ description: 'Value date of the reversing entry; default today, not before the money was received.' }),
    reason: z.string().trim().min(1).max(500).meta({ description: 'Why it was booked by mistake.' }),
  })
  .meta({ id: 'ReverseContributionRequest', example: { reason: '误记：应为瓷都包装材料有限公司的出资' } });

export const contributionBody = z
  .strictObject({
    amount: positiveAmountInput,
    receivedOn: isoDate.meta({ description: 'Day the money reached the fund’s bank account; not in the future.' }),
    bankReference: z
      .string()
      .trim()
      .min(1, 'give the bank’s reference of the transfer')
      .max(BANK_REFERENCE_LENGTH_MAX)
      .meta({ description: 'The bank’s reference of the transfer; recorded once per fund.' }),
    memo: z.string().trim().max(CONTRIBUTION_MEMO_LENGTH_MAX).optional(),
  })
  .meta({
    id: 'ContributionRequest',
    example: { amount: '50000.00', receivedOn: '2026-11-03', bankReference: 'CMB20261103-0042' },
  });

export const callBody = z
  .strictObject({
    percent: percentInput,
    calledOn: isoDate.optional().meta({ description: 'Day the call is made; default today; not in the future.' }),
    dueOn: isoDate.meta({ description: 'Day the money is due; not before calledOn.' }),
    memo: z.string().trim().max(CALL_MEMO_LENGTH_MAX).optional(),
  })
  .meta({ id: 'CapitalCallRequest', example: { percent: '25', dueOn: '2026-12-31', memo: 'Second tranche' } });

export const memberContributionsQuery = z.strictObject({ limit: limitParam, cursor: cursorParam });

export const fundContributionsQuery = z
  .strictObject({
    memberId: uuid.optional(),
    from: isoDate.optional().meta({ description: 'Received on or after this day.' }),
    to: isoDate.optional().meta({ description: 'Received on or before this day.' }),
    limit: limitParam,
    cursor: cursorParam,
  })
  .refine((query) => query.from === undefined || query.to === undefined || query.from <= query.to, {
    message: 'from must not be after to',
    path: ['from'],
  });

export const listCallsQuery = z.strictObject({ limit: limitParam, cursor: cursorParam });

export const statementQuery = z.strictObject({
  from: isoDate.optional().meta({ description: 'First day; default 1 January of this year.' }),
  to: isoDate.optional().meta({ description: 'Last day; default today.' }),
});

export const contributionCursor = z.object({ receivedOn: isoDate, id: uuid });

// ---------------------------------------------------------------------------------------------
// Responses

export const allocationView = z.object({
  callId: uuid,
  callNumber: z.int(),
  amount: amountOutput,
});

export const contributionView = z
  .object({
    id: uuid,
    fundId: uuid,
    memberId: uuid,
    amount: amountOutput,
    receivedOn: isoDate,
    bankReference: z.string(),
    memo: z.string().nullable(),
    entryId: uuid,
    allocations: z.array(allocationView),
    unallocated: amountOutput.meta({ description: 'Paid-in capital not tied to a call.' }),
    reversal: z.object({ entryId: uuid, reversedOn: isoDate, reason: z.string() }).nullable().meta({
      description:
        'Set when the contribution was reversed: it no longer counts as paid-in capital nor against any call.',
    }),
    createdBy: uuid.nullable(),
    createdAt: timestamp,
  })
  .meta({ id: 'Contribution' });

const callStatus = z
  .enum(['open', 'overdue', 'settled'])
  .meta({ description: 'settled: nothing outstanding; overdue: outstanding after the due date; else open.' });

const totals = z.object({ due: amountOutput, paid: amountOutput, outstanding: amountOutput });

export const callItemView = z.object({
  memberId: uuid,
  memberName: z.string(),
  due: amountOutput,
  paid: amountOutput,
  outstanding: amountOutput,
  overdue: z.boolean(),
});

const callFields = {
  id: uuid,
  fundId: uuid,
  number: z.int(),
  percent: z.string(),
  calledOn: isoDate,
  dueOn: isoDate,
  memo: z.string().nullable(),
  status: callStatus,
  totals,
  createdBy: uuid.nullable(),
  createdAt: timestamp,
};

export const callView = z
  .object({ ...callFields, items: z.array(callItemView) })
  .meta({ id: 'CapitalCall', description: 'Member users see only their own item.' });

export const callSummaryView = z.object({ ...callFields, itemCount: z.int() }).meta({ id: 'CapitalCallSummary' });

const statementMovement = z.object({
  date: isoDate,
  entryId: uuid,
  kind: z.string(),
  memo: z.string(),
  side: z.enum(['debit', 'credit']),
  amount: amountOutput,
  balance: amountOutput.meta({ description: 'Running balance of the capital account after this line.' }),
});

const statementCall = z.object({
  callId: uuid,
  callNumber: z.int(),
  percent: z.string(),
  calledOn: isoDate,
  dueOn: isoDate,
  due: amountOutput,
  paid: amountOutput,
  outstanding: amountOutput,
  overdue: z.boolean(),
});

export const statementView = z
  .object({
    member: z.object({
      id: uuid,
      name: z.string(),
      creditCode: z.string().nullable(),
      status: z.enum(['active', 'suspended', 'exited']),
    }),
    period: z.object({ from: isoDate, to: isoDate }),
    currency: z.string(),
    generatedOn: isoDate,
    subscribedAmount: amountOutput,
    capitalAccountId: uuid.nullable(),
    openingBalance: amountOutput.meta({ description: 'Capital account at the end of the day before `from`.' }),
    movements: z.array(statementMovement),
    totals: z.object({ in: amountOutput, out: amountOutput }),
    closingBalance: amountOutput.meta({ description: 'Capital account at the end of `to`.' }),
    calls: z.array(statementCall),
    contributions: z.array(contributionView),
    loans: z.array(
      z.object({
        loanId: uuid,
        number: z.int(),
        lender: z.enum(['pool', 'peer', 'bank']),
        role: z.enum(['borrower', 'peer_lender']),
        status: z.string(),
        amount: amountOutput,
        disbursedOn: isoDate.nullable(),
        maturityDate: isoDate.nullable(),
        bank: bankTermsView.optional().meta({ description: 'A bank loan’s contract; absent for pool and peer loans.' }),
        principalOutstanding: amountOutput.meta({ description: 'At the end of the statement’s last day.' }),
      }),
    ),
    guarantees: z.array(
      z.object({
        guaranteeId: uuid,
        loanId: uuid,
        loanNumber: z.int(),
        borrowerMemberId: uuid,
        type: z.enum(['joint_and_several', 'general']),
        status: z.string(),
        amount: amountOutput,
      }),
    ),
    subrogatedClaims: z
      .array(
        z.object({
          caseId: uuid,
          caseNumber: z.int(),
          loanId: uuid,
          loanNumber: z.int(),
          guarantorMemberId: uuid,
          borrowerMemberId: uuid,
          amount: amountOutput.meta({
            description: 'What the guarantor paid under calls by the statement’s last day.',
          }),
        }),
      )
      .optional()
      .meta({
        description:
          'Claims a guarantor acquired against a borrower by paying a recovery call (subrogation): held by the member as guarantor, or owed by it as borrower. Always present in answers.',
      }),
  })
  .meta({ id: 'MemberStatement' });
