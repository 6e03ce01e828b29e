import { z } from 'zod';
import { positiveAmountInput } from '../capital/capital.schemas';
import { RATIFICATION_STATUSES } from '../committee/committee.schemas';
import { circleFlagView } from '../guarantees/guarantees.schemas';
import { cursorParam, limitParam } from '../http/pagination';
import { amountOutput, isoDate, timestamp, uuid } from '../http/schemas';
import { Money } from '../money/money';
import { bankLenderInput, bankTermsView } from './bank-loans.schemas';

/** Request and response shapes of loan applications, their guarantees and collateral. */

export const TERM_DAYS_MAX = 3650;
export const GUARANTORS_MAX = 20;
export const COLLATERAL_ITEMS_MAX = 50;
export const PURPOSE_LENGTH_MAX = 1000;
export const REASON_LENGTH_MAX = 500;

export const LOAN_STATUSES = [
  'draft',
  'submitted',
  'under_review',
  'approved',
  'rejected',
  'active',
  'overdue',
  'repaid',
  'defaulted',
  'written_off',
  'withdrawn',
  'cancelled',
] as const;
export const LENDERS = ['pool', 'peer', 'bank'] as const;
export const REPAYMENT_METHODS = ['bullet', 'equal_installment', 'equal_principal'] as const;
export const APPROVAL_ROUTES = ['committee', 'fast_track'] as const;
export { RATIFICATION_STATUSES };
export const GUARANTEE_TYPES = ['joint_and_several', 'general'] as const;
export const GUARANTEE_STATUSES = ['proposed', 'accepted', 'declined', 'active', 'released', 'withdrawn'] as const;
export const COLLATERAL_KINDS = [
  'real_estate',
  'equipment',
  'vehicle',
  'inventory',
  'receivables',
  'deposit',
  'equity',
  'other',
] as const;

const HAIRCUT_PATTERN = /^(0|[1-9]\d{0,2})(\.\d{1,2})?$/;

/** A haircut 0 ≤ p ≤ 100 with at most 2 decimals, as loan_collateral.haircut_pct holds it. */
export const haircutInput = z
  .string()
  .max(10)
  .superRefine((text, ctx) => {
    if (!HAIRCUT_PATTERN.test(text)) {
      ctx.addIssue({ code: 'custom', message: 'must be a decimal string with at most 2 decimals, such as "30"' });
    } else if (new Money(text).gt(100)) {
      ctx.addIssue({ code: 'custom', message: 'must be at most 100' });
    }
  })
  .meta({ description: 'Share of the valuation not counted: "30" means 30 %.', example: '30' });

// ---------------------------------------------------------------------------------------------
// Requests

export const loanParams = z.strictObject({ fundId: uuid, loanId: uuid });
export const guaranteeParams = z.strictObject({ fundId: uuid, loanId: uuid, guaranteeId: uuid });

export const lenderInput = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('pool') }),
    z.strictObject({
      type: z.literal('peer'),
      memberId: uuid.meta({ description: 'The lending member; it must agree (lender-consent).' }),
    }),
    bankLenderInput,
  ])
  .meta({
    description:
      'Who lends: the pool, one member to another (peer loan), or a bank whose contract members guarantee (bank loan).',
  });

export const guarantorInput = z.strictObject({
  memberId: uuid,
  amount: positiveAmountInput.meta({ description: 'The most the guarantor answers for.' }),
  type: z.enum(GUARANTEE_TYPES).meta({ description: 'joint_and_several 连带责任保证, general 一般保证.' }),
});

export const collateralInput = z.strictObject({
  description: z.string().trim().min(1).max(500),
  kind: z.enum(COLLATERAL_KINDS),
  valuation: positiveAmountInput,
  valuedOn: isoDate.meta({ description: 'Day of the valuation; not in the future.' }),
  haircutPct: haircutInput,
});

const guarantorsInput = z
  .array(guarantorInput)
  .max(GUARANTORS_MAX)
  .refine((list) => new Set(list.map((item) => item.memberId)).size === list.length, {
    message: 'a member guarantees at most once per loan',
  });

const collateralListInput = z.array(collateralInput).max(COLLATERAL_ITEMS_MAX);

const jointGroupIdInput = uuid.meta({
  description:
    'A joint guarantee group (联保小组) backing the loan: an approved group the borrower is a current member of. At submission its other members guarantee the loan, jointly and severally, for its whole amount.',
});

const termFields = {
  amount: positiveAmountInput.meta({ description: 'Principal asked for.' }),
  purpose: z.string().trim().min(1).max(PURPOSE_LENGTH_MAX),
  termDays: z.int().min(1).max(TERM_DAYS_MAX).meta({ description: 'Term in days; the policy sets the maximum.' }),
  repaymentMethod: z
    .enum(REPAYMENT_METHODS)
    .meta({ description: 'bullet (one payment), equal_installment 等额本息, equal_principal 等额本金.' }),
  emergency: z.boolean(),
  wantedOn: isoDate.meta({ description: 'Wanted disbursement date; not in the past.' }),
  lender: lenderInput,
};

export const createApplicationBody = z
  .strictObject({
    borrowerMemberId: uuid.meta({ description: 'The borrowing member; a member user names its own enterprise.' }),
    ...termFields,
    emergency: termFields.emergency.default(false),
    guarantors: guarantorsInput.default([]),
    collateral: collateralListInput.default([]),
    jointGroupId: jointGroupIdInput.optional(),
  })
  .meta({
    id: 'LoanApplicationRequest',
    example: {
      borrowerMemberId: '6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e',
      amount: '500000.00',
      purpose: '支付原材料货款（疫情停产后复工）',
      termDays: 90,
      repaymentMethod: 'equal_principal',
      emergency: true,
      wantedOn: '2026-11-10',
      lender: { type: 'pool' },
      guarantors: [
        { memberId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', amount: '300000.00', type: 'joint_and_several' },
      ],
      collateral: [
        {
          description: '数控机床 2 台',
          kind: 'equipment',
          valuation: '400000.00',
          valuedOn: '2026-11-01',
          haircutPct: '40',
        },
      ],
    },
  });

export const updateApplicationBody = z
  .strictObject({
    ...termFields,
    guarantors: guarantorsInput.meta({ description: 'Replaces the list; unchanged guarantees keep their consent.' }),
    collateral: collateralListInput.meta({ description: 'Replaces the list.' }),
    jointGroupId: jointGroupIdInput.nullable().meta({ description: 'The backing group; null: none.' }),
    version: z.int().min(1).meta({ description: 'The version you read; refused if the draft changed since.' }),
  })
  .partial()
  .refine((body) => Object.keys(body).some((key) => key !== 'version'), { message: 'change at least one field' })
  .meta({ id: 'LoanApplicationChange' });

export const withdrawBody = z
  .strictObject({ reason: z.string().trim().min(1).max(REASON_LENGTH_MAX) })
  .meta({ id: 'LoanApplicationWithdrawal' });

export const consentBody = z
  .strictObject({
    decision: z.enum(['accept', 'decline']),
    reason: z.string().trim().min(1).max(REASON_LENGTH_MAX).optional().meta({ description: 'Why, when declining.' }),
  })
  .refine((body) => body.decision === 'decline' || body.reason === undefined, {
    message: 'a reason is given only with a decline',
    path: ['reason'],
  })
  .meta({ id: 'ConsentDecision' });

export const listApplicationsQuery = z.strictObject({
  status: z.enum(LOAN_STATUSES).optional(),
  memberId: uuid.optional().meta({ description: 'Loans this member takes part in: borrower, guarantor or lender.' }),
  limit: limitParam,
  cursor: cursorParam,
});

// ---------------------------------------------------------------------------------------------
// Responses

/** How and when a loan was approved: the same fields in the application and in the loan. */
export const approvalFields = {
  policyVersion: z.int().nullable().meta({
    description: 'The policy version the loan was approved under (its terms come from it); null before approval.',
  }),
  approvedAt: timestamp.nullable(),
  approvalRoute: z.enum(APPROVAL_ROUTES).nullable().meta({
    description: 'committee: decided at a meeting; fast_track: the chair and an administrator; null before approval.',
  }),
  fastTracked: z.boolean(),
  ratificationStatus: z.enum(RATIFICATION_STATUSES).nullable().meta({
    description:
      'A fast-tracked loan waits for (pending), passed (ratified) or failed ratification at the next meeting; null when not fast-tracked. A failed ratification does not undo the loan.',
  }),
};

const consentView = z.object({
  status: z.enum(['pending', 'accepted', 'declined']),
  decidedBy: uuid.nullable(),
  decidedAt: timestamp.nullable(),
  reason: z.string().nullable(),
});

export const guaranteeView = z
  .object({
    id: uuid,
    memberId: uuid,
    amount: amountOutput,
    type: z.enum(GUARANTEE_TYPES),
    status: z.enum(GUARANTEE_STATUSES).meta({
      description: 'proposed until the guarantor decides; only accepted (and, from disbursement, active) count.',
    }),
    decidedBy: uuid.nullable(),
    decidedAt: timestamp.nullable(),
    declineReason: z.string().nullable(),
    circle: circleFlagView.optional(),
    jointGroupId: uuid.optional().meta({
      description:
        'Given as a member of this joint guarantee group: accepted by its consent to the group; absent otherwise.',
    }),
  })
  .meta({ id: 'LoanGuarantee' });

export const collateralView = z
  .object({
    id: uuid,
    description: z.string(),
    kind: z.enum(COLLATERAL_KINDS),
    valuation: amountOutput,
    valuedOn: isoDate,
    haircutPct: z.string(),
    counted: amountOutput.meta({ description: 'valuation × (1 − haircut %), rounded down to the fen.' }),
  })
  .meta({ id: 'LoanCollateral' });

export const coverageView = z
  .object({
    guarantees: amountOutput.meta({
      description: 'Σ accepted and active guarantees; a joint guarantee group’s guarantees count once, for the loan.',
    }),
    collateral: amountOutput.meta({ description: 'Σ collateral after haircut.' }),
    total: amountOutput,
    proposed: amountOutput.meta({ description: 'Σ guarantees still waiting for the guarantor; not counted.' }),
    requiredPct: z.string().meta({ description: 'guaranteeCoveragePct of the policy in force.' }),
    required: amountOutput.meta({ description: 'requiredPct × amount, rounded up to the fen.' }),
    sufficient: z.boolean(),
  })
  .meta({ id: 'LoanCoverage' });

export const applicationView = z
  .object({
    id: uuid,
    fundId: uuid,
    number: z.int(),
    status: z.enum(LOAN_STATUSES),
    borrowerMemberId: uuid,
    lender: z.object({
      type: z.enum(LENDERS),
      memberId: uuid.nullable(),
      consent: consentView.nullable().meta({ description: 'The peer lender’s agreement; null for pool loans.' }),
      bank: bankTermsView.optional().meta({ description: 'A bank loan’s contract; absent for pool and peer loans.' }),
    }),
    amount: amountOutput,
    purpose: z.string(),
    termDays: z.int(),
    repaymentMethod: z.enum(REPAYMENT_METHODS),
    emergency: z.boolean(),
    wantedOn: isoDate,
    restructured: z.boolean(),
    jointGroupId: uuid.nullable().meta({ description: 'The joint guarantee group backing the loan; null: none.' }),
    ...approvalFields,
    guarantees: z.array(guaranteeView),
    collateral: z.array(collateralView),
    coverage: coverageView,
    submittedAt: timestamp.nullable(),
    withdrawal: z.object({ at: timestamp, by: uuid, reason: z.string().nullable() }).nullable(),
    createdBy: uuid.nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
    version: z.int(),
  })
  .meta({ id: 'LoanApplication' });

export type CreateApplicationInput = z.output<typeof createApplicationBody>;
export type UpdateApplicationInput = z.output<typeof updateApplicationBody>;
export type GuarantorInput = z.output<typeof guarantorInput>;
export type CollateralInput = z.output<typeof collateralInput>;
export type LenderInput = z.output<typeof lenderInput>;
export type ApplicationView = z.infer<typeof applicationView>;
export type ApprovalFieldsView = Pick<ApplicationView, keyof typeof approvalFields>;
