import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { AuditService } from '../audit/audit.service';
import type { AuthService, UserService } from '../auth/auth.service';
import type { Principal } from '../auth/principal';
import type { TokenService } from '../auth/tokens';
import type { Clock } from '../clock';
import type { Config } from '../config';
import type { ExitService } from '../exits/exits.service';
import type { Fund, FundService } from '../funds/funds.service';
import type { CapitalService } from '../capital/capital.service';
import type { LedgerService } from '../ledger/ledger.service';
import type { CommitteeService } from '../committee/committee.service';
import type { DisbursementService } from '../loans/disbursements.service';
import type { DailyJobService } from '../loans/daily-job.service';
import type { ExtensionService } from '../loans/extensions.service';
import type { LoanService } from '../loans/loans.service';
import type { RepaymentService } from '../loans/repayments.service';
import type { MemberService } from '../members/members.service';
import type { PeriodService } from '../periods/periods.service';
import type { GuaranteeService } from '../guarantees/guarantees.service';
import type { JointGroupService } from '../guarantees/joint-groups.service';
import type { RecoveryService } from '../recovery/recovery.service';
import type { OverviewService } from '../overview/overview.service';
import type { ReportService } from '../reports/reports.service';

export interface Services {
  ledger: LedgerService;
  audit: AuditService;
  auth: AuthService;
  users: UserService;
  tokens: TokenService;
  funds: FundService;
  members: MemberService;
  capital: CapitalService;
  exits: ExitService;
  periods: PeriodService;
  loans: LoanService;
  committee: CommitteeService;
  disbursements: DisbursementService;
  repayments: RepaymentService;
  dailyJob: DailyJobService;
  extensions: ExtensionService;
  guarantees: GuaranteeService;
  jointGroups: JointGroupService;
  recovery: RecoveryService;
  reports: ReportService;
  overview: OverviewService;
}

/** What the whole app shares: built once in createApp. */
export interface AppContext {
  db: Knex;
  config: Config;
  logger: Logger;
  clock: Clock;
  services: Services;
}

/** What one request sees. `fund` is set for routes under /funds/{fundId}. */
export interface RequestContext {
  app: AppContext;
  principal: Principal;
  requestId: string;
  log: Logger;
  fund: Fund | undefined;
  method: string;
  /** Path and query as requested, for idempotency fingerprints. */
  url: string;
  headers: {
    idempotencyKey: string | undefined;
    /** The Accept header, for the few routes that also answer in another format (CSV). */
    accept: string | undefined;
  };
  /** The raw parsed body, before validation: what an idempotency key is bound to. */
  rawBody: unknown;
}

/** The fund of a route under /funds/{fundId}: mountRoutes loads it before any handler runs. */
export function fundOf(ctx: RequestContext): Fund {
  if (!ctx.fund) throw new Error('fund route without a fund');
  return ctx.fund;
}
