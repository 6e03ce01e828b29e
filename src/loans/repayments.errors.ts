import { errorFactory, type ErrorTable } from '../errors';

/** Refusals of repayments, their reversal and the payoff figure. */
export const REPAYMENT_ERRORS = {
  loan_not_found: { status: 404, title: 'Loan not found' },
  repayment_not_found: { status: 404, title: 'Repayment not found' },
  loan_not_repayable: { status: 409, title: 'The loan is not being repaid' },
  loan_not_disbursed: { status: 409, title: 'The loan has not been disbursed' },
  repayment_reference_taken: { status: 409, title: 'This bank reference is already recorded' },
  repayment_not_latest: { status: 409, title: 'Only the latest repayment of a loan can be reversed' },
  repayment_already_reversed: { status: 409, title: 'The repayment is already reversed' },
  repayment_before_extension: { status: 409, title: 'The loan was extended after this repayment' },
  repayment_before_recovery_step: { status: 409, title: 'The loan’s recovery case has taken a step' },
  repayment_exceeds_payoff: { status: 422, title: 'The amount is more than the loan’s payoff' },
  received_on_in_future: { status: 422, title: 'The day received is in the future' },
  received_on_before_disbursement: { status: 422, title: 'The day received is before the disbursement' },
  received_on_before_last_repayment: { status: 422, title: 'The day received is before the latest repayment' },
  received_on_before_last_reversal: { status: 422, title: 'The day received is before the latest reversal' },
  received_on_before_extension: { status: 422, title: 'The day received is before the extended schedule' },
  reversed_on_in_future: { status: 422, title: 'The reversal date is in the future' },
  reversed_on_before_receipt: { status: 422, title: 'The reversal date is before the money was received' },
  reversed_on_before_last_reversal: { status: 422, title: 'The reversal date is before the latest reversal' },
  as_of_in_future: { status: 422, title: 'The payoff date is in the future' },
  as_of_before_disbursement: { status: 422, title: 'The payoff date is before the disbursement' },
} as const satisfies ErrorTable<string>;

export type RepaymentErrorCode = keyof typeof REPAYMENT_ERRORS;

export const repaymentError = errorFactory<RepaymentErrorCode>(REPAYMENT_ERRORS);
