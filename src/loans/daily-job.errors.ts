import { errorFactory, type ErrorTable } from '../errors';

/** Refusals of the daily loan job (docs/adr/0012-daily-job.md). */
export const DAILY_JOB_ERRORS = {
  daily_job_date_in_future: { status: 422, title: 'The daily job does not run for a day that has not come' },
  daily_job_date_before_first_run: { status: 409, title: 'The daily job started after this day' },
  daily_job_catch_up_too_long: { status: 422, title: 'Too many days to catch up in one run' },
} as const satisfies ErrorTable<string>;

export type DailyJobErrorCode = keyof typeof DAILY_JOB_ERRORS;

export const dailyJobError = errorFactory<DailyJobErrorCode>(DAILY_JOB_ERRORS);
