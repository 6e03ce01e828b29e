import { AUTH_ERRORS } from './auth/auth.errors';
import { CAPITAL_ERRORS } from './capital/capital.errors';
import { COMMITTEE_ERRORS } from './committee/committee.errors';
import { EXIT_ERRORS } from './exits/exits.errors';
import { FUND_ERRORS } from './funds/funds.errors';
import { GUARANTEE_ERRORS } from './guarantees/guarantees.errors';
import { JOINT_GROUP_ERRORS } from './guarantees/joint-groups.errors';
import { HTTP_ERRORS } from './http/http.errors';
import { LEDGER_ERRORS } from './ledger/ledger.errors';
import { BANK_LOAN_ERRORS } from './loans/bank-loans.errors';
import { DAILY_JOB_ERRORS } from './loans/daily-job.errors';
import { DISBURSEMENT_ERRORS } from './loans/disbursements.errors';
import { EXTENSION_ERRORS } from './loans/extensions.errors';
import { LOAN_ERRORS } from './loans/loans.errors';
import { REPAYMENT_ERRORS } from './loans/repayments.errors';
import { MEMBER_ERRORS } from './members/members.errors';
import { OVERVIEW_ERRORS } from './overview/overview.errors';
import { PERIOD_ERRORS } from './periods/periods.errors';
import { RECOVERY_ERRORS } from './recovery/recovery.errors';
import { REPORT_ERRORS } from './reports/reports.errors';

/**
 * Every error table of the service, in one list: the problem `code`s a client can receive are the
 * keys of these tables and nothing else. The OpenAPI document's `Problem.code` enum is built from
 * this list, and so is the console's check that every code has a translation. A unit test
 * (test/unit/errors-registry.test.ts) scans `src/` for every `ErrorTable` and fails when one is
 * missing here, so a new feature's table cannot be forgotten.
 *
 * Pure data: this module imports nothing but the tables, so the web console's tests can import it.
 */
export const ERROR_TABLES = [
  HTTP_ERRORS,
  AUTH_ERRORS,
  FUND_ERRORS,
  MEMBER_ERRORS,
  CAPITAL_ERRORS,
  EXIT_ERRORS,
  PERIOD_ERRORS,
  LEDGER_ERRORS,
  LOAN_ERRORS,
  DISBURSEMENT_ERRORS,
  REPAYMENT_ERRORS,
  EXTENSION_ERRORS,
  BANK_LOAN_ERRORS,
  DAILY_JOB_ERRORS,
  COMMITTEE_ERRORS,
  GUARANTEE_ERRORS,
  JOINT_GROUP_ERRORS,
  RECOVERY_ERRORS,
  REPORT_ERRORS,
  OVERVIEW_ERRORS,
] as const;

type CodesOf<Table> = Table extends unknown ? keyof Table & string : never;

/** A stable problem code: the key of some feature's error table. */
export type ProblemCode = CodesOf<(typeof ERROR_TABLES)[number]>;

/**
 * Every problem code, each once, sorted. A code several features share (`loan_not_found`,
 * `member_exited`) means the same thing in each; its status may differ by feature (the tables say).
 */
export const PROBLEM_CODES: readonly ProblemCode[] = Object.freeze(
  [...new Set(ERROR_TABLES.flatMap((table) => Object.keys(table) as ProblemCode[]))].sort(),
);
