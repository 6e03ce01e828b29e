import { errorFactory, type ErrorTable } from '../errors';

export const JOINT_GROUP_ERRORS = {
  joint_group_not_found: { status: 404, title: 'Joint guarantee group not found' },
  joint_group_member_not_found: { status: 404, title: 'The member is not in this joint guarantee group' },
  joint_group_member_unknown: { status: 422, title: 'A member named does not exist in this fund' },
  joint_group_member_inactive: { status: 422, title: 'Only active members form a joint guarantee group' },
  joint_group_related_members: {
    status: 422,
    title: 'Members of one related group cannot form a joint guarantee group together',
  },
  joint_group_proposer_not_member: {
    status: 403,
    title: 'A member user proposes only a group its own enterprise is in',
  },
  joint_group_not_consenter: { status: 403, title: "Only a group member's users may agree to the group" },
  joint_group_not_proposer: {
    status: 403,
    title: "Only the proposing member's users or an administrator may withdraw the proposal",
  },
  joint_group_not_leaver: { status: 403, title: "Only the leaving member's users or an administrator may do this" },
  joint_group_not_proposed: { status: 409, title: 'The joint guarantee group is no longer a proposal' },
  joint_group_consent_already_decided: { status: 409, title: 'The member has already decided on the group' },
  joint_group_consents_pending: { status: 409, title: 'Not every member has agreed to the group yet' },
  joint_group_not_approved: { status: 409, title: 'The joint guarantee group is not approved' },
  joint_group_member_left: { status: 409, title: 'The member has already left the group' },
  joint_group_loans_outstanding: {
    status: 409,
    title: 'A member leaves only when none of the group’s loans is outstanding',
  },
  joint_group_not_usable: { status: 422, title: 'The loan cannot be backed by this joint guarantee group' },
  guarantor_in_joint_group: {
    status: 422,
    title: 'A member of the backing group guarantees the loan as a group member, not separately',
  },
} as const satisfies ErrorTable<string>;

export type JointGroupErrorCode = keyof typeof JOINT_GROUP_ERRORS;

export const jointGroupError = errorFactory<JointGroupErrorCode>(JOINT_GROUP_ERRORS);
