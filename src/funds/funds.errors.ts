import { errorFactory, type ErrorTable } from '../errors';

export const FUND_ERRORS = {
  policy_invalid: { status: 422, title: 'The policy that would result is not valid' },
  policy_effective_date_past: { status: 422, title: 'A policy change cannot take effect in the past' },
  policy_not_in_force: { status: 404, title: 'No policy was in force on that date' },
  member_not_found: { status: 404, title: 'Member not found' },
  lead_member_not_active: { status: 422, title: 'The lead enterprise must be an active member' },
  established_on_in_future: { status: 400, title: 'A fund cannot be established in the future' },
} as const satisfies ErrorTable<string>;

export type FundErrorCode = keyof typeof FUND_ERRORS;

export const fundError = errorFactory<FundErrorCode>(FUND_ERRORS);
