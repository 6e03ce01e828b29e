import { errorFactory, type ErrorTable } from '../errors';

export const EXTENSION_ERRORS = {
  loan_not_found: { status: 404, title: 'Loan not found' },
  extension_not_found: { status: 404, title: 'Loan extension not found' },
  guarantee_not_found: { status: 404, title: 'The guarantee is not asked to consent to this extension' },
  not_borrower: { status: 403, title: "Only the borrower's users or an administrator may do this" },
  not_guarantor: { status: 403, title: "Only the guarantor's users may consent to an extension" },
  loan_not_extendable: { status: 409, title: 'Only a disbursed loan not yet closed can be extended' },
  bank_loan_not_extendable: { status: 409, title: 'A bank loan is extended by its bank, not by the fund' },
  extension_already_open: { status: 409, title: 'The loan already has an extension in progress' },
  extension_not_withdrawable: { status: 409, title: 'The extension can no longer be withdrawn' },
  extension_closed: { status: 409, title: 'The extension is no longer open for consents' },
  consent_already_decided: { status: 409, title: 'The guarantor has already decided on this extension' },
  extension_not_reviewable: { status: 409, title: 'The extension is not awaiting a committee decision' },
  extension_already_on_agenda: { status: 409, title: 'The extension is already on an open agenda item' },
  extension_consent_declined: { status: 409, title: 'A guarantor declined the extension: it cannot be approved' },
  extension_accrual_pending: {
    status: 409,
    title: 'The daily job has not yet run for every day of the loan before the new schedule would start',
  },
  agenda_extension_not_found: { status: 422, title: 'An extension on the agenda does not exist in this fund' },
  agenda_extension_duplicated: { status: 422, title: 'An extension appears more than once on the agenda' },
  borrower_not_active: { status: 422, title: 'The borrower is suspended or has left the fund' },
  maturity_not_extended: { status: 422, title: 'The new maturity date is not after the current one' },
  maturity_not_after_today: { status: 422, title: 'The new maturity date is not after today' },
  extension_term_exceeds_policy: { status: 422, title: 'The extended term is longer than the policy allows' },
} as const satisfies ErrorTable<string>;

export type ExtensionErrorCode = keyof typeof EXTENSION_ERRORS;

export const extensionError = errorFactory<ExtensionErrorCode>(EXTENSION_ERRORS);
