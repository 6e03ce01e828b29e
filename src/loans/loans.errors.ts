import { errorFactory, type ErrorTable } from '../errors';

export const LOAN_ERRORS = {
  loan_application_not_found: { status: 404, title: 'Loan application not found' },
  guarantee_not_found: { status: 404, title: 'Guarantee not found' },
  borrower_not_own: { status: 403, title: 'A member user applies only for its own enterprise' },
  not_borrower: { status: 403, title: "Only the borrower's users or an administrator may do this" },
  not_guarantor: { status: 403, title: "Only the guarantor's users may decide on a guarantee" },
  not_peer_lender: { status: 403, title: "Only the peer lender's users may agree to lend" },
  member_not_in_fund: { status: 422, title: 'A member named in the application does not exist in this fund' },
  guarantor_is_borrower: { status: 422, title: 'The borrower cannot guarantee its own loan' },
  peer_lender_is_borrower: { status: 422, title: 'The borrower cannot lend to itself' },
  peer_lender_is_guarantor: { status: 422, title: 'The peer lender cannot also guarantee the loan' },
  peer_lender_required: { status: 400, title: 'A peer loan names its lending member; a pool loan names none' },
  wanted_on_in_past: { status: 422, title: 'The wanted disbursement date is in the past' },
  valued_on_in_future: { status: 422, title: 'A collateral valuation cannot be dated in the future' },
  application_not_draft: { status: 409, title: 'Only a draft application can be changed or submitted' },
  application_version_conflict: { status: 409, title: 'The application was changed since the version you read' },
  application_not_withdrawable: { status: 409, title: 'The application can no longer be withdrawn' },
  application_closed: { status: 409, title: 'The application is no longer open for consents' },
  guarantee_already_decided: { status: 409, title: 'The guarantor has already decided on this guarantee' },
  guarantee_withdrawn: { status: 409, title: 'The guarantee was withdrawn from the application' },
  not_peer_loan: { status: 409, title: 'The application is not a peer loan' },
  lender_consent_already_decided: { status: 409, title: 'The peer lender has already decided' },
  loan_ineligible: { status: 422, title: 'The loan does not meet the fund’s lending rules' },
} as const satisfies ErrorTable<string>;

export type LoanErrorCode = keyof typeof LOAN_ERRORS;

export const loanError = errorFactory<LoanErrorCode>(LOAN_ERRORS);
