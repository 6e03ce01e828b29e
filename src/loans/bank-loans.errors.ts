import { errorFactory, type ErrorTable } from '../errors';

/** Refusals about bank loans: their contract on the application, the drawdown and reported repayments. */
export const BANK_LOAN_ERRORS = {
  bank_term_mismatch: { status: 422, title: "The term is not the days from the bank contract's start to its maturity" },
  bank_contract_taken: { status: 409, title: 'This bank contract is already registered in the fund' },
  not_bank_loan: { status: 409, title: 'The loan is not a bank loan' },
  bank_loan_repayment_reported: {
    status: 409,
    title: 'A bank loan is repaid to the bank: its borrower reports the repayments',
  },
  not_borrower: { status: 403, title: "Only the borrower's users or an administrator may report its repayments" },
  drawdown_before_contract_start: { status: 422, title: "The drawdown is dated before the bank contract's start" },
  drawdown_not_before_maturity: { status: 422, title: "The drawdown is dated on or after the contract's maturity" },
  paid_on_in_future: { status: 422, title: 'The day paid is in the future' },
  paid_on_before_drawdown: { status: 422, title: 'The day paid is before the drawdown' },
  paid_on_before_last_report: { status: 422, title: 'The day paid is before the latest reported repayment' },
  paid_on_before_last_reversal: { status: 422, title: 'The day paid is before the latest reversal' },
  bank_principal_exceeds_outstanding: { status: 422, title: 'The principal reported is more than is outstanding' },
} as const satisfies ErrorTable<string>;

export type BankLoanErrorCode = keyof typeof BANK_LOAN_ERRORS;

export const bankLoanError = errorFactory<BankLoanErrorCode>(BANK_LOAN_ERRORS);
