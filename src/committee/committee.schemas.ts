import { z } from 'zod';
import { cursorParam, limitParam } from '../http/pagination';
import { amountOutput, isoDate, timestamp, uuid } from '../http/schemas';
import { MOTION_KINDS } from './motions';

/** Request and response shapes of the committee routes. */

export const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
export const VOTES = ['approve', 'reject', 'abstain'] as const;
export const ITEM_STATUSES = [
  'open',
  'approved',
  'rejected',
  'ineligible',
  'no_quorum',
  'withdrawn',
  'ratified',
  'ratification_failed',
] as const;
export const RATIFICATION_STATUSES = ['pending', 'ratified', 'failed'] as const;

export const meetingParams = z.strictObject({ fundId: uuid, meetingId: uuid });
export const itemParams = z.strictObject({ fundId: uuid, meetingId: uuid, itemId: uuid });

export const rotationBody = z.strictObject({
  months: z
    .array(
      z.strictObject({
        month: z.string().regex(MONTH, 'must be a month written YYYY-MM').meta({ example: '2026-11' }),
        chairUserId: uuid.meta({ description: 'A committee user of the fund bound to a member.' }),
      }),
    )
    .min(1)
    .max(36)
    .meta({ description: 'Chairs of the months given; other months keep theirs.' }),
});

export const rotationView = z
  .object({
    months: z.array(
      z.object({
        month: z.string(),
        chairUserId: uuid,
        chairUsername: z.string(),
        updatedAt: timestamp,
      }),
    ),
  })
  .meta({ id: 'CommitteeRotation' });

export const createMeetingBody = z.strictObject({
  heldOn: isoDate,
  chairUserId: uuid.optional().meta({ description: 'Overrides the chair the rotation names for the month.' }),
  applicationIds: z
    .array(uuid)
    .max(50)
    .default([])
    .meta({ description: 'Submitted applications (or ones left undecided) to put on the agenda.' }),
  extensionIds: z
    .array(uuid)
    .max(50)
    .default([])
    .meta({ description: 'Loan extensions in progress to put on the agenda, after the applications.' }),
  jointGroupIds: z.array(uuid).max(50).default([]).meta({
    description: 'Joint guarantee groups every member agreed to, for the committee to approve; after the extensions.',
  }),
  recoveryActionIds: z
    .array(uuid)
    .max(50)
    .default([])
    .meta({ description: 'Proposed steps of recovery cases (default waterfall) to resolve; after the joint groups.' }),
});

export const attendanceBody = z.strictObject({
  userIds: z.array(uuid).min(1).max(100).meta({ description: 'Committee users present; added to those recorded.' }),
});

export const voteBody = z.strictObject({
  vote: z.enum(VOTES),
  comment: z.string().trim().min(1).max(2000).optional(),
});

export const decideBody = z.strictObject({}).optional();

const personView = z.object({
  userId: uuid,
  username: z.string(),
  memberId: uuid.nullable(),
  memberName: z.string().nullable(),
});

const recusalView = z.object({
  userId: uuid,
  username: z.string(),
  memberId: uuid,
  memberName: z.string(),
  reasons: z.array(z.enum(['borrower', 'guarantor', 'peer_lender', 'related_group', 'group_member', 'group_related'])),
  detail: z.string(),
});

const tallyView = z
  .object({
    committee: z.int(),
    recused: z.int(),
    eligible: z.int().meta({ description: 'Non-recused committee members: the base of the quorum.' }),
    present: z.int().meta({ description: 'Non-recused committee members present.' }),
    voting: z.int().meta({ description: 'Non-recused members present who voted (abstentions included).' }),
    approve: z.int(),
    reject: z.int(),
    abstain: z.int(),
    quorumRatio: z.string(),
    quorumMet: z.boolean(),
    largeLoan: z.boolean(),
    passThreshold: z.string(),
    largeLoanPassThreshold: z.string().nullable(),
    passed: z.boolean(),
    policyVersion: z.int(),
  })
  .meta({ id: 'CommitteeTally' });

export const voteView = z
  .object({
    id: uuid,
    itemId: uuid,
    userId: uuid,
    username: z.string(),
    memberId: uuid,
    vote: z.enum(VOTES),
    comment: z.string().nullable(),
    castAt: timestamp,
  })
  .meta({ id: 'CommitteeVote' });

export const itemView = z
  .object({
    id: uuid,
    meetingId: uuid,
    position: z.int(),
    kind: z.enum(['application', 'ratification', 'extension', ...MOTION_KINDS]),
    status: z.enum(ITEM_STATUSES),
    resolutionNumber: z.string().nullable(),
    loan: z
      .object({
        id: uuid,
        number: z.int(),
        borrowerMemberId: uuid,
        borrowerName: z.string(),
        amount: amountOutput,
        lender: z.string(),
        emergency: z.boolean(),
        status: z.string(),
        fastTracked: z.boolean(),
        ratificationStatus: z.enum(RATIFICATION_STATUSES).nullable(),
      })
      .nullable()
      .meta({ description: 'The loan the item concerns; null for a joint guarantee group.' }),
    motion: z
      .object({
        id: uuid,
        kind: z.enum(MOTION_KINDS),
        title: z.string(),
        amount: amountOutput.nullable().meta({
          description: 'The figure the large-item threshold compares (`committee.largeLoanAmount`); null: none.',
        }),
        details: z.record(z.string(), z.unknown()),
        clauses: z.array(z.string()).meta({
          description:
            'What the resolution decides besides its title, one sentence each (a recovery step’s waiver of the guarantees still standing); the minutes list them.',
        }),
      })
      .nullable()
      .meta({ description: 'The matter a motion decides (a joint group, a recovery step); null for the other kinds.' }),
    extension: z
      .object({
        id: uuid,
        number: z.int(),
        status: z.string(),
        maturityDateBefore: isoDate,
        requestedMaturityDate: isoDate,
        repaymentMethodBefore: z.string(),
        repaymentMethod: z.string(),
        reason: z.string(),
        effectiveOn: isoDate.nullable(),
        scheduleVersionBefore: z.int().nullable(),
        scheduleVersionAfter: z.int().nullable(),
      })
      .nullable()
      .meta({ description: 'What an extension item decides; null for the other kinds.' }),
    votes: z.array(voteView),
    recusals: z.array(recusalView),
    tally: tallyView.nullable(),
    failures: z.array(z.record(z.string(), z.unknown())).nullable(),
    decidedAt: timestamp.nullable(),
    decidedBy: uuid.nullable(),
  })
  .meta({ id: 'CommitteeItem' });

export const meetingView = z
  .object({
    id: uuid,
    number: z.int(),
    heldOn: isoDate,
    chair: personView,
    attendance: z.array(personView.extend({ recordedAt: timestamp })),
    items: z.array(itemView),
    createdAt: timestamp,
  })
  .meta({ id: 'CommitteeMeeting' });

export const meetingSummaryView = z
  .object({
    id: uuid,
    number: z.int(),
    heldOn: isoDate,
    chairUserId: uuid,
    createdAt: timestamp,
  })
  .meta({ id: 'CommitteeMeetingSummary' });

export const listMeetingsQuery = z.strictObject({ limit: limitParam, cursor: cursorParam });
export const meetingCursor = z.object({
  heldOn: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  number: z.string().regex(/^\d{1,9}$/),
});

export const fastTrackView = z
  .object({
    loanId: uuid,
    loanNumber: z.int(),
    state: z.enum(['awaiting_second_approval', 'approved']),
    approvals: z.array(
      z.object({ capacity: z.enum(['chair', 'admin']), userId: uuid, username: z.string(), approvedAt: timestamp }),
    ),
    loanStatus: z.string(),
    fastTracked: z.boolean(),
    ratificationStatus: z.enum(RATIFICATION_STATUSES).nullable(),
    policyVersion: z.int().nullable(),
    holdId: uuid.nullable(),
    ratificationMeetingId: uuid.nullable(),
  })
  .meta({ id: 'FastTrack' });

export const listRatificationsQuery = z.strictObject({
  status: z.enum(RATIFICATION_STATUSES).optional(),
  limit: limitParam,
  cursor: cursorParam,
});

export const ratificationView = z
  .object({
    loanId: uuid,
    loanNumber: z.int(),
    borrowerMemberId: uuid,
    amount: amountOutput,
    loanStatus: z.string(),
    approvedAt: timestamp,
    ratificationStatus: z.enum(RATIFICATION_STATUSES),
    meetingId: uuid.nullable(),
    itemId: uuid.nullable(),
    resolutionNumber: z.string().nullable(),
  })
  .meta({ id: 'Ratification' });

export type RotationInput = z.output<typeof rotationBody>;
export type CreateMeetingInput = z.output<typeof createMeetingBody>;
export type VoteInput = z.output<typeof voteBody>;
export type MeetingView = z.output<typeof meetingView>;
export type ItemView = z.output<typeof itemView>;
export type VoteView = z.output<typeof voteView>;
export type TallyView = z.output<typeof tallyView>;
export type RecusalView = z.output<typeof recusalView>;
export type FastTrackView = z.output<typeof fastTrackView>;
export type RotationView = z.output<typeof rotationView>;
export type RatificationView = z.output<typeof ratificationView>;
