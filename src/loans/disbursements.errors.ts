import { errorFactory, type ErrorTable } from '../errors';

/** Refusals of disbursement and loan reading; the eligibility rules keep `loan_ineligible` (loans.errors). */
export const DISBURSEMENT_ERRORS = {
  loan_not_found: { status: 404, title: 'Loan not found' },
  disbursement_request_not_found: { status: 404, title: 'Disbursement request not found' },
  loan_not_approved: { status: 409, title: 'Only an approved loan can be disbursed' },
  disbursement_request_pending: { status: 409, title: 'A disbursement of this loan already awaits confirmation' },
  disbursement_request_not_pending: { status: 409, title: 'The disbursement request no longer awaits confirmation' },
  loan_hold_expired: { status: 409, title: 'The approval hold on pool cash has expired' },
  maker_checker_same_admin: { status: 403, title: 'A disbursement is confirmed by another administrator' },
  disbursed_on_in_future: { status: 422, title: 'The disbursement date is in the future' },
  disbursed_on_before_submission: { status: 422, title: 'The disbursement date is before the application' },
} as const satisfies ErrorTable<string>;

export type DisbursementErrorCode = keyof typeof DISBURSEMENT_ERRORS;

export const disbursementError = errorFactory<DisbursementErrorCode>(DISBURSEMENT_ERRORS);
