import { errorFactory, type ErrorTable } from '../errors';

/** Refusals of the delinquency reports (docs/adr/0014-delinquency-reports.md). */
export const REPORT_ERRORS = {
  as_of_in_future: { status: 422, title: 'A report cannot be drawn up for a day that has not come' },
  as_of_before_fund: { status: 422, title: 'The report date is before the fund was established' },
  loan_book_too_large: { status: 422, title: 'The loan book has more loans than one answer may hold' },
} as const satisfies ErrorTable<string>;

export type ReportErrorCode = keyof typeof REPORT_ERRORS;

export const reportError = errorFactory<ReportErrorCode>(REPORT_ERRORS);
