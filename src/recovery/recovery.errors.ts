import { errorFactory, type ErrorTable } from '../errors';

/** Refusals of the default waterfall: recovery cases, their steps and the motions on them. */
export const RECOVERY_ERRORS = {
  loan_not_found: { status: 404, title: 'Loan not found' },
  recovery_case_not_found: { status: 404, title: 'Recovery case not found' },
  recovery_action_not_found: { status: 404, title: 'Recovery action not found' },
  collateral_not_found: { status: 404, title: 'Collateral item not found' },
  guarantor_call_not_found: { status: 404, title: 'Guarantor call not found' },
  recovery_case_closed: { status: 409, title: 'The recovery case is closed' },
  recovery_case_exists: { status: 409, title: 'The loan already has a recovery case' },
  recovery_action_pending: { status: 409, title: 'Another action of this loan waits for the committee' },
  recovery_action_not_proposed: { status: 409, title: 'The action is no longer proposed' },
  recovery_reference_taken: { status: 409, title: 'This bank reference is already recorded' },
  collateral_already_settled: { status: 409, title: 'The collateral item was already realised or written off' },
  call_already_settled: { status: 409, title: 'The call is already paid or failed' },
  loan_not_in_default: { status: 422, title: 'The loan cannot be declared in default' },
  recovery_not_for_lender: { status: 422, title: 'Only pool loans have recovery cases' },
  recovery_step_out_of_order: { status: 422, title: 'The recovery step is out of order' },
  collateral_pending: { status: 422, title: 'Collateral must be settled first' },
  guarantor_calls_pending: { status: 422, title: 'Guarantor calls must be settled first' },
  capital_offset_pending: { status: 422, title: 'The capital offset must come first' },
  write_off_pending: { status: 422, title: 'The loan must be written off first' },
  realisation_exceeds_owed: { status: 422, title: 'The net proceeds are more than the loan owes' },
  payment_exceeds_call: { status: 422, title: 'The payment is more than the call left unpaid' },
  call_not_due: { status: 422, title: 'The call is not yet due' },
  date_in_future: { status: 422, title: 'The date is in the future' },
  date_before_case: { status: 422, title: 'The date is before the step it follows' },
  nothing_to_recover: { status: 422, title: 'Nothing is owed' },
  guarantor_still_stands: { status: 422, title: 'A guarantor still stands behind the loan' },
  nothing_to_waive: { status: 422, title: 'No guarantor stands behind the loan to waive' },
  invalid_amounts: { status: 422, title: 'The amounts do not add up' },
} as const satisfies ErrorTable<string>;

export type RecoveryErrorCode = keyof typeof RECOVERY_ERRORS;

export const recoveryError = errorFactory<RecoveryErrorCode>(RECOVERY_ERRORS);
