import { z } from 'zod';
import { positiveAmountInput } from '../capital/capital.schemas';
import { cursorParam, limitParam } from '../http/pagination';
import { amountOutput, isoDate, timestamp, uuid } from '../http/schemas';

/** Request and response shapes of joint guarantee groups (联保小组, ADR 0016). */

export const GROUP_MEMBERS_MIN = 3;
export const GROUP_MEMBERS_MAX = 5;
export const GROUP_NAME_LENGTH_MAX = 200;
export const REASON_LENGTH_MAX = 500;

export const GROUP_STATUSES = ['proposed', 'approved', 'rejected', 'declined', 'withdrawn', 'dissolved'] as const;
export const GROUP_CONSENTS = ['pending', 'accepted', 'declined'] as const;

// ---------------------------------------------------------------------------------------------
// Requests

export const groupParams = z.strictObject({ fundId: uuid, groupId: uuid });
export const groupMemberParams = z.strictObject({ fundId: uuid, groupId: uuid, memberId: uuid });

export const proposeGroupBody = z
  .strictObject({
    name: z.string().trim().min(1).max(GROUP_NAME_LENGTH_MAX),
    limit: positiveAmountInput.meta({
      description: 'The most the group stands behind at once, over all the loans it backs.',
    }),
    memberIds: z
      .array(uuid)
      .min(GROUP_MEMBERS_MIN)
      .max(GROUP_MEMBERS_MAX)
      .refine((ids) => new Set(ids).size === ids.length, { message: 'a member is named at most once' })
      .meta({
        description: `${GROUP_MEMBERS_MIN}–${GROUP_MEMBERS_MAX} distinct active members, no two of one related group. A member user names its own enterprise among them.`,
      }),
  })
  .meta({
    id: 'JointGroupProposal',
    example: {
      name: '工业园区第一联保小组',
      limit: '600000.00',
      memberIds: [
        '6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e',
        '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
        '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b',
      ],
    },
  });

export const groupConsentBody = z
  .strictObject({
    decision: z.enum(['accept', 'decline']),
    reason: z.string().trim().min(1).max(REASON_LENGTH_MAX).optional().meta({ description: 'Why, when declining.' }),
  })
  .refine((body) => body.decision === 'decline' || body.reason === undefined, {
    message: 'a reason is given only with a decline',
    path: ['reason'],
  })
  .meta({ id: 'JointGroupConsent' });

export const withdrawGroupBody = z
  .strictObject({ reason: z.string().trim().min(1).max(REASON_LENGTH_MAX) })
  .meta({ id: 'JointGroupWithdrawal' });

export const listGroupsQuery = z.strictObject({
  status: z.enum(GROUP_STATUSES).optional(),
  memberId: uuid.optional().meta({ description: 'Groups this member is or was in.' }),
  limit: limitParam,
  cursor: cursorParam,
});

// ---------------------------------------------------------------------------------------------
// Responses

const groupMemberView = z.object({
  memberId: uuid,
  name: z.string(),
  position: z.int(),
  consent: z.object({
    status: z.enum(GROUP_CONSENTS),
    decidedBy: uuid.nullable(),
    decidedAt: timestamp.nullable(),
    reason: z.string().nullable(),
  }),
  joinedOn: isoDate.nullable().meta({ description: 'The day the committee approved the group.' }),
  leftOn: isoDate.nullable(),
  current: z.boolean().meta({ description: 'Joined and not left: liable for the loans the group backs.' }),
});

const groupFields = {
  id: uuid,
  fundId: uuid,
  number: z.int(),
  name: z.string(),
  limit: amountOutput,
  status: z.enum(GROUP_STATUSES).meta({
    description:
      'proposed until every member agreed and the committee decided; declined when a member declined; approved or rejected by the committee; withdrawn by its proposer; dissolved when members left it below three.',
  }),
  proposedBy: uuid,
  proposerMemberId: uuid.nullable().meta({ description: 'The member whose user proposed it; null: an administrator.' }),
  proposedAt: timestamp,
  members: z.array(groupMemberView),
  decision: z
    .object({ itemId: uuid, resolution: z.string().nullable(), decidedOn: isoDate })
    .nullable()
    .meta({ description: 'The committee item that approved or rejected the group, with its resolution number.' }),
  declinedAt: timestamp.nullable(),
  withdrawal: z.object({ at: timestamp, by: uuid, reason: z.string().nullable() }).nullable(),
  dissolvedOn: isoDate.nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
  version: z.int(),
};

export const groupSummaryView = z.object(groupFields).meta({ id: 'JointGroupSummary' });

export const groupView = z
  .object({
    ...groupFields,
    loans: z.array(
      z.object({
        id: uuid,
        number: z.int(),
        borrowerMemberId: uuid,
        lender: z.string(),
        status: z.string(),
        amount: amountOutput,
        outstanding: amountOutput.meta({
          description: 'What the group stands behind on the loan now: the principal not yet repaid once disbursed.',
        }),
      }),
    ),
    limitUsed: amountOutput.meta({
      description: 'Σ over the group’s loans approved, or disbursed and not closed, of what it stands behind on them.',
    }),
    limitFree: amountOutput.meta({ description: 'limit − limitUsed, at least 0.00.' }),
  })
  .meta({ id: 'JointGroup' });

export type ProposeGroupInput = z.output<typeof proposeGroupBody>;
export type GroupSummaryView = z.infer<typeof groupSummaryView>;
export type GroupView = z.infer<typeof groupView>;
