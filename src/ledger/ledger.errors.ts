import { errorFactory, type ErrorTable } from '../errors';

export const LEDGER_ERRORS = {
  too_few_lines: { status: 400, title: 'An entry needs at least two lines' },
  too_many_lines: { status: 400, title: 'An entry has too many lines' },
  invalid_line: { status: 400, title: 'A line of the entry is not valid' },
  invalid_amount: { status: 400, title: 'An amount is not a valid decimal of the currency' },
  amount_not_positive: { status: 400, title: 'Amounts must be greater than zero' },
  entry_unbalanced: { status: 400, title: 'Debits do not equal credits' },
  invalid_effective_date: { status: 400, title: 'The effective date is not a valid date' },
  effective_date_in_future: { status: 400, title: 'The effective date is in the future' },
  period_closed: { status: 422, title: 'The effective date falls in a closed period' },
  invalid_kind: { status: 400, title: 'The entry kind is not valid' },
  memo_too_long: { status: 400, title: 'The memo is too long' },
  account_not_in_fund: { status: 422, title: 'An account does not belong to this fund' },
  currency_mismatch: { status: 422, title: 'An account or the entry is in another currency' },
  floor_crossed: { status: 422, title: 'The entry would take an account below its floor' },
  book_not_allowed: { status: 422, title: 'This kind of entry cannot post to that account' },
  ledger_idempotency_conflict: {
    status: 409,
    title: 'The idempotency key was used for a different entry',
  },
  fund_not_found: { status: 404, title: 'Fund not found' },
  account_not_found: { status: 404, title: 'Account not found' },
  entry_not_found: { status: 404, title: 'Journal entry not found' },
  entry_already_reversed: { status: 409, title: 'The entry has already been reversed' },
  entry_owned_by_feature: { status: 422, title: 'This entry is corrected through the feature that posted it' },
  entry_is_reversal: { status: 422, title: 'A reversal cannot itself be reversed' },
  reversal_before_original: {
    status: 400,
    title: 'A reversal cannot take effect before the entry it reverses',
  },
  hold_not_found: { status: 404, title: 'Hold not found' },
  hold_not_pending: { status: 409, title: 'The hold is no longer pending' },
  hold_expired: { status: 409, title: 'The hold has expired' },
  hold_amount_mismatch: {
    status: 422,
    title: 'Posting a hold must move exactly the held amount out of the held account',
  },
  invalid_hold_expiry: { status: 400, title: 'A hold must expire in the future' },
} as const satisfies ErrorTable<string>;

export type LedgerErrorCode = keyof typeof LEDGER_ERRORS;

export const ledgerError = errorFactory<LedgerErrorCode>(LEDGER_ERRORS);
