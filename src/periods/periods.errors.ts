import { errorFactory, type ErrorTable } from '../errors';

export const PERIOD_ERRORS = {
  period_not_found: { status: 404, title: 'The period is not closed' },
  period_not_ended: { status: 422, title: 'The period has not ended at least one full day ago' },
  earlier_period_open: { status: 422, title: 'An earlier period is still open' },
  period_already_closed: { status: 409, title: 'The period is already closed' },
  period_overlaps: { status: 409, title: 'The period overlaps a closed period' },
  no_capital_to_allocate: { status: 422, title: 'No member holds capital to share the result by' },
} as const satisfies ErrorTable<string>;

export type PeriodErrorCode = keyof typeof PERIOD_ERRORS;

export const periodError = errorFactory<PeriodErrorCode>(PERIOD_ERRORS);
