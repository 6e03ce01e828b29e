import { errorFactory, type ErrorTable } from '../errors';

export const MEMBER_ERRORS = {
  member_not_found: { status: 404, title: 'Member not found' },
  credit_code_taken: { status: 409, title: 'Another member of this fund has this credit code' },
  lead_member_exists: { status: 409, title: 'The fund already has a lead enterprise' },
  lead_member_not_active: { status: 422, title: 'The lead enterprise must be an active member' },
  member_version_conflict: { status: 409, title: 'The member was changed since the version you read' },
  member_exited: { status: 409, title: 'The member has exited the fund' },
  member_status_unchanged: { status: 409, title: 'The member already has this status' },
  status_not_settable: { status: 422, title: 'This status is not set by this request' },
  subscription_below_paid_in: { status: 422, title: 'The subscription cannot be less than the paid-in capital' },
  joined_on_in_future: { status: 400, title: 'The joining date is in the future' },
  joined_on_before_fund: { status: 400, title: 'The joining date is before the fund was established' },
} as const satisfies ErrorTable<string>;

export type MemberErrorCode = keyof typeof MEMBER_ERRORS;

export const memberError = errorFactory<MemberErrorCode>(MEMBER_ERRORS);
