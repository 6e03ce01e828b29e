import { errorFactory, type ErrorTable } from '../errors';

/** Refusals of the fund at a glance (docs/adr/0026-fund-overview.md). */
export const OVERVIEW_ERRORS = {
  as_of_in_future: { status: 422, title: 'The overview cannot be drawn up for a day that has not come' },
  as_of_before_fund: { status: 422, title: 'The overview date is before the fund was established' },
} as const satisfies ErrorTable<string>;

export type OverviewErrorCode = keyof typeof OVERVIEW_ERRORS;

export const overviewError = errorFactory<OverviewErrorCode>(OVERVIEW_ERRORS);
