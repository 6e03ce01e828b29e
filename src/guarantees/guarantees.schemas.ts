import { z } from 'zod';
import { amountOutput, isoDate, timestamp, uuid } from '../http/schemas';
import { CYCLES_MAX } from './graph';

/** Response shapes of the guarantee graph: circles and the guarantee-network report. */

export const CIRCLE_STAGES = ['proposal', 'consent', 'submission', 'approval', 'disbursement'] as const;

const loanRef = z.object({ id: uuid, number: z.int() });

export const cycleView = z
  .object({
    members: z
      .array(z.object({ id: uuid, name: z.string() }))
      .meta({ description: 'The members of the cycle in order: each guarantees the next, the last the first.' }),
    steps: z
      .array(z.object({ guarantorId: uuid, borrowerId: uuid, loans: z.array(loanRef) }))
      .meta({ description: 'steps[i] is the edge members[i] → members[i + 1], with the loans behind it.' }),
  })
  .meta({ id: 'GuaranteeCycle' });

export const circleFlagView = z
  .object({
    members: cycleView.shape.members,
    steps: cycleView.shape.steps,
    foundAt: z.enum(CIRCLE_STAGES).meta({ description: 'The check that found the cycle.' }),
    flaggedAt: timestamp,
  })
  .meta({
    id: 'GuaranteeCircleFlag',
    description:
      'Under the policy’s `guaranteeCircleMode: flag`: the guarantee circle (互保圈) this guarantee closed when last checked. Absent when no check found one.',
  });

const edgeLoanView = z.object({
  loanId: uuid,
  number: z.int(),
  lender: z.string(),
  guaranteeId: uuid,
  guaranteeStatus: z.enum(['accepted', 'active']),
  amount: amountOutput.meta({
    description: 'Accepted: the pledged amount. Active: the amount less what repayments released.',
  }),
  circleFlagged: z.boolean(),
  jointGroupId: uuid.nullable().meta({
    description: 'The joint guarantee group (联保小组) the guarantee comes from; null for a pledge of its own.',
  }),
});

export const networkView = z
  .object({
    fundId: uuid,
    asOf: isoDate.meta({ description: 'Today in the fund’s time zone: the graph as it stands now.' }),
    nodes: z.array(z.object({ id: uuid, name: z.string(), relatedGroup: z.string().nullable() })),
    edges: z.array(
      z.object({
        guarantorId: uuid,
        borrowerId: uuid,
        amount: amountOutput.meta({ description: 'Σ outstanding of the guarantees behind the edge.' }),
        inCycle: z.boolean(),
        loans: z.array(edgeLoanView),
      }),
    ),
    cycles: z.array(cycleView).meta({
      description:
        'The guarantee circles (互保圈). A cycle made only of the guarantees of one joint guarantee group is the group’s approved mutual structure and is not listed (ADR 0016).',
    }),
    cyclesMax: z.int().meta({ description: `At most ${CYCLES_MAX} cycles are listed.` }),
    cyclesTruncated: z.boolean().meta({ description: 'True when the graph has more cycles than are listed.' }),
  })
  .meta({ id: 'GuaranteeNetwork' });

export type NetworkView = z.infer<typeof networkView>;
export type CircleFlagView = z.infer<typeof circleFlagView>;

/** The flag a guarantee row carries (columns circle, circle_flagged_at), as the loan views show it. */
export function toCircleFlagView(row: {
  circle: { members: CircleFlagView['members']; steps: CircleFlagView['steps']; foundAt: string } | null;
  circle_flagged_at: Date | null;
}): CircleFlagView | null {
  if (row.circle === null || row.circle_flagged_at === null) return null;
  return {
    members: row.circle.members.map((member) => ({ ...member })),
    steps: row.circle.steps.map((step) => ({ ...step, loans: step.loans.map((loan) => ({ ...loan })) })),
    foundAt: row.circle.foundAt as CircleFlagView['foundAt'],
    flaggedAt: new Date(row.circle_flagged_at).toISOString(),
  };
}

/** `{ circle }` for a flagged guarantee, nothing otherwise: the field is absent when no circle was found. */
export function circleOf(row: Parameters<typeof toCircleFlagView>[0]): { circle?: CircleFlagView } {
  const circle = toCircleFlagView(row);
  return circle === null ? {} : { circle };
}
