import { z } from 'zod';
import { positiveAmountInput } from '../capital/capital.schemas';
import { cursorParam, limitParam } from '../http/pagination';
import { amountOutput, isoDate, timestamp, uuid } from '../http/schemas';
import { amountProblem } from '../money/money';
import { ACTION_STATUSES, ACTIONS, STEP_KINDS } from './recovery.repo';

/** Request and response shapes of recovery cases (docs/adr/0018-default-waterfall.md). */

const reference = z
  .string()
  .trim()
  .min(1, 'give the bank’s reference of the transfer')
  .max(200)
  .meta({ description: 'The bank’s reference of the transfer; recorded once per fund.' });
const reason = z.string().trim().min(1).max(500);

/** An amount ≥ 0 with at most 2 decimals (sale costs may be nil). */
const nonNegativeAmountInput = z
  .string()
  .max(40)
  .superRefine((text, ctx) => {
    if (amountProblem(text) !== null || text.startsWith('-'))
      ctx.addIssue({ code: 'custom', message: 'a decimal ≥ 0 with at most 2 decimals' });
  })
  .meta({ description: 'Decimal string ≥ 0 with at most 2 decimals.', example: '5000.00' });

// ---------------------------------------------------------------------------------------------
// Requests

export const caseParams = z.strictObject({ fundId: uuid, caseId: uuid });
export const loanParams = z.strictObject({ fundId: uuid, loanId: uuid });
export const actionParams = z.strictObject({ fundId: uuid, actionId: uuid });
export const collateralParams = z.strictObject({ fundId: uuid, caseId: uuid, collateralId: uuid });
export const callParams = z.strictObject({ fundId: uuid, caseId: uuid, callId: uuid });

export const listCasesQuery = z.strictObject({
  status: z.enum(['open', 'closed']).optional(),
  loanId: uuid.optional(),
  limit: limitParam,
  cursor: cursorParam,
});

export const declareDefaultBody = z
  .strictObject({
    action: z.literal('declare_default'),
    reason: reason.meta({ description: 'Why the loan should be declared in default.' }),
  })
  .meta({ id: 'DeclareDefaultProposal', example: { action: 'declare_default', reason: '借款人停产，逾期无法归还' } });

/** The steps whose resolution may waive the guarantees still standing (rule W-stand). */
const WAIVING_ACTIONS: readonly string[] = ['capital_offset', 'write_off'];

export const caseActionBody = z
  .strictObject({
    action: z.enum(['call_guarantees', 'capital_offset', 'write_off', 'close_case']),
    reason: reason.meta({ description: 'Why the committee should take the step.' }),
    waiveStandingGuarantees: z
      .strictObject({
        reason: reason.meta({ description: 'Why the fund gives up calling the guarantors still standing.' }),
      })
      .optional()
      .meta({
        description:
          'A capital offset or write-off only: the resolution also waives the guarantees still standing behind the loan (the joint-and-several ones before the offset, the general ones before the write-off), listed with their amounts in the proposal, the motion, the resolution and the minutes. Without it such a step is refused while a guarantor stands (422 `guarantor_still_stands`).',
      }),
  })
  .superRefine((body, ctx) => {
    if (body.waiveStandingGuarantees !== undefined && !WAIVING_ACTIONS.includes(body.action)) {
      ctx.addIssue({
        code: 'custom',
        path: ['waiveStandingGuarantees'],
        message: 'only a capital_offset or a write_off waives the guarantees still standing',
      });
    }
  })
  .meta({ id: 'RecoveryActionProposal', example: { action: 'call_guarantees', reason: '抵押物已处置完毕' } });

export type CaseActionInput = z.output<typeof caseActionBody>;
export type ProposalInput = CaseActionInput | z.output<typeof declareDefaultBody>;

export const realisationBody = z
  .discriminatedUnion('outcome', [
    z.strictObject({
      outcome: z.literal('realised'),
      takenOn: isoDate.meta({ description: 'Day the net proceeds reached the fund.' }),
      grossProceeds: positiveAmountInput,
      costs: nonNegativeAmountInput.default('0.00'),
      reference,
      note: reason,
    }),
    z.strictObject({
      outcome: z.literal('worthless'),
      takenOn: isoDate.meta({ description: 'Day the item was found worthless.' }),
      note: reason,
    }),
  ])
  .meta({
    id: 'CollateralRealisation',
    example: {
      outcome: 'realised',
      takenOn: '2026-11-20',
      grossProceeds: '60000.00',
      costs: '5000.00',
      reference: 'AUCTION-2026-118',
      note: '司法拍卖',
    },
  });

export type RealisationInput = z.output<typeof realisationBody>;

export const callPaymentBody = z
  .strictObject({ amount: positiveAmountInput, receivedOn: isoDate, reference })
  .meta({ id: 'GuarantorPayment', example: { amount: '50000.00', receivedOn: '2026-12-01', reference: 'CCB-881' } });

export type CallPaymentInput = z.output<typeof callPaymentBody>;

export const callFailureBody = z
  .strictObject({ failedOn: isoDate.meta({ description: 'After the call’s due date.' }), reason })
  .meta({ id: 'GuarantorFailure', example: { failedOn: '2026-12-20', reason: '担保人拒绝履行' } });

export type CallFailureInput = z.output<typeof callFailureBody>;

export const recoveryReceiptBody = z
  .strictObject({
    amount: positiveAmountInput,
    receivedOn: isoDate,
    reference,
    payer: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .meta({ description: 'Who paid: the borrower, a guarantor, a liquidator…' }),
  })
  .meta({
    id: 'RecoveryReceipt',
    example: { amount: '8000.00', receivedOn: '2027-03-01', reference: 'BOC-77', payer: '破产管理人' },
  });

export type RecoveryReceiptInput = z.output<typeof recoveryReceiptBody>;

// ---------------------------------------------------------------------------------------------
// Responses

const receivablesView = z.object({
  fee: amountOutput,
  penaltyInterest: amountOutput,
  interest: amountOutput,
  principal: amountOutput,
  total: amountOutput,
});

const failureView = z.looseObject({ rule: z.string(), detail: z.string() });

const standingGuaranteeView = z.object({
  guaranteeId: uuid,
  guarantorMemberId: uuid,
  guarantorName: z.string(),
  type: z.enum(['joint_and_several', 'general']),
  standing: amountOutput,
});

const waiverView = z.object({ reason: z.string(), guarantees: z.array(standingGuaranteeView) }).meta({
  id: 'StandingGuaranteeWaiver',
  description:
    'The guarantees the resolution waives, each with what it stood behind when the step was proposed (rule W-stand).',
});

export const actionView = z
  .object({
    id: uuid,
    caseId: uuid.nullable(),
    loanId: uuid,
    action: z.enum(ACTIONS),
    status: z.enum(ACTION_STATUSES),
    reason: z.string(),
    proposedBy: uuid.nullable(),
    proposedAt: timestamp,
    decisionItemId: uuid.nullable(),
    resolution: z.string().nullable(),
    decidedOn: isoDate.nullable(),
    failures: z.array(failureView).nullable(),
    result: z.record(z.string(), z.unknown()).nullable(),
    waiver: waiverView.nullable(),
  })
  .meta({ id: 'RecoveryAction' });

export type ActionView = z.infer<typeof actionView>;

const stepView = z.object({
  seq: z.int(),
  kind: z.enum(STEP_KINDS),
  takenOn: isoDate,
  actionId: uuid.nullable(),
  entryIds: z.array(uuid),
  details: z.record(z.string(), z.unknown()),
  recordedBy: uuid.nullable(),
  recordedAt: timestamp,
});

const collateralView = z.object({
  collateralId: uuid,
  description: z.string(),
  valuation: amountOutput,
  outcome: z.enum(['realised', 'worthless']).nullable(),
  takenOn: isoDate.nullable(),
  grossProceeds: amountOutput.nullable(),
  costs: amountOutput.nullable(),
  netProceeds: amountOutput.nullable(),
  reference: z.string().nullable(),
  repaymentId: uuid.nullable(),
});

const guaranteeView = z.object({
  guaranteeId: uuid,
  guarantorMemberId: uuid,
  guarantorName: z.string(),
  type: z.enum(['joint_and_several', 'general']),
  status: z.string(),
  amount: amountOutput,
  released: amountOutput,
  paid: amountOutput,
  standing: amountOutput,
});

const callView = z.object({
  id: uuid,
  round: z.int(),
  actionId: uuid,
  guaranteeId: uuid,
  guarantorMemberId: uuid,
  guaranteeType: z.enum(['joint_and_several', 'general']),
  standing: amountOutput,
  amount: amountOutput,
  paid: amountOutput,
  unpaid: amountOutput,
  cancelled: amountOutput,
  status: z.enum(['called', 'paid', 'failed']),
  calledOn: isoDate,
  dueOn: isoDate,
  failedOn: isoDate.nullable(),
  failureReason: z.string().nullable(),
});

const claimView = z.object({ guarantorMemberId: uuid, borrowerMemberId: uuid, amount: amountOutput });

const receiptView = z.object({
  id: uuid,
  amount: amountOutput,
  receivedOn: isoDate,
  reference: z.string(),
  payer: z.string(),
  entryId: uuid,
});

export const caseSummaryView = z
  .object({
    id: uuid,
    number: z.int(),
    loanId: uuid,
    loanNumber: z.int(),
    borrowerMemberId: uuid,
    status: z.enum(['open', 'closed']),
    openedOn: isoDate,
    openedBy: z.enum(['daily_job', 'resolution']),
    closedOn: isoDate.nullable(),
    outcome: z.enum(['repaid', 'recovered', 'written_off']).nullable(),
  })
  .meta({ id: 'RecoveryCaseSummary' });

export type CaseSummaryView = z.infer<typeof caseSummaryView>;

export const caseView = caseSummaryView
  .extend({
    loanStatus: z.string(),
    outstanding: receivablesView,
    collateral: z.array(collateralView),
    guarantees: z.array(guaranteeView),
    calls: z.array(callView),
    subrogatedClaims: z.array(claimView),
    receipts: z.array(receiptView),
    actions: z.array(actionView),
    steps: z.array(stepView),
  })
  .meta({ id: 'RecoveryCase' });

export type CaseView = z.infer<typeof caseView>;
