import express, { Router } from 'express';
import helmet from 'helmet';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import swaggerUi from 'swagger-ui-express';
import { auditRoutes } from './audit/audit.routes';
import { AuditService } from './audit/audit.service';
import { authRoutes, loginThrottles } from './auth/auth.routes';
import { AuthService, UserService } from './auth/auth.service';
import { LoginThrottle } from './auth/login-throttle';
import { TokenService } from './auth/tokens';
import type { Clock } from './clock';
import type { Config, JwtKey } from './config';
import type { DatabaseHealth } from './db/bootstrap';
import { exitsRoutes } from './exits/exits.routes';
import { ExitService } from './exits/exits.service';
import { fundRoutes } from './funds/funds.routes';
import { FundService } from './funds/funds.service';
import type { AppContext, Services } from './http/context';
import { httpError } from './http/http.errors';
import { jsonBody, notFound, problemHandler, requestLogger } from './http/middleware';
import { buildOpenApiDocument } from './http/openapi';
import { mountRoutes, type AnyRoute } from './http/route';
import { capitalRoutes } from './capital/capital.routes';
import { CapitalService } from './capital/capital.service';
import { ledgerRoutes } from './ledger/ledger.routes';
import { committeeRoutes } from './committee/committee.routes';
import { CommitteeService } from './committee/committee.service';
import { disbursementRoutes } from './loans/disbursements.routes';
import { DisbursementService } from './loans/disbursements.service';
import { loansRoutes } from './loans/loans.routes';
import { LoanService } from './loans/loans.service';
import { dailyJobRoutes } from './loans/daily-job.routes';
import { DailyJobService } from './loans/daily-job.service';
import { extensionRoutes } from './loans/extensions.routes';
import { ExtensionService } from './loans/extensions.service';
import { repaymentRoutes } from './loans/repayments.routes';
import { RepaymentService } from './loans/repayments.service';
import { loanStatementSection } from './loans/statement-section';
import { LedgerService } from './ledger/ledger.service';
import { membersRoutes } from './members/members.routes';
import { MemberService } from './members/members.service';
import { periodsRoutes } from './periods/periods.routes';
import { PeriodService } from './periods/periods.service';
import { guaranteeRoutes } from './guarantees/guarantees.routes';
import { GuaranteeService } from './guarantees/guarantees.service';
import { jointGroupRoutes } from './guarantees/joint-groups.routes';
import { JointGroupService } from './guarantees/joint-groups.service';
import { bankLoanRoutes } from './loans/bank-loans.routes';
import { recoveryRoutes } from './recovery/recovery.routes';
import { RecoveryService } from './recovery/recovery.service';
import { overviewRoutes } from './overview/overview.routes';
import { OverviewService } from './overview/overview.service';
import { reportRoutes } from './reports/reports.routes';
import { ReportService } from './reports/reports.service';

export const API_PREFIX = '/api/v1';
export const API_VERSION = '0.1.0';

export const ROUTES: readonly AnyRoute[] = [
  ...authRoutes,
  ...fundRoutes,
  ...membersRoutes,
  ...capitalRoutes,
  ...exitsRoutes,
  ...periodsRoutes,
  ...loansRoutes,
  ...committeeRoutes,
  ...disbursementRoutes,
  ...repaymentRoutes,
  ...extensionRoutes,
  ...bankLoanRoutes,
  ...dailyJobRoutes,
  ...guaranteeRoutes,
  ...jointGroupRoutes,
  ...recoveryRoutes,
  ...reportRoutes,
  ...overviewRoutes,
  ...ledgerRoutes,
  ...auditRoutes,
];

export function createServices(db: Knex, config: Config, clock: Clock, jwtKey: JwtKey): Services {
  const ledger = new LedgerService(clock);
  const audit = new AuditService(clock);
  const tokens = new TokenService(
    {
      current: jwtKey,
      previous: config.jwt.previous,
      issuer: config.jwt.issuer,
      audience: config.jwt.audience,
      ttlSeconds: config.jwt.ttlSeconds,
    },
    clock,
  );
  const auth = new AuthService(db, tokens);
  const users = new UserService(db, audit, (userId) => auth.forget(userId));
  const funds = new FundService(ledger, clock);
  const deps = { ledger, audit, funds, clock };
  const loans = new LoanService(deps);
  const extensions = new ExtensionService(deps);
  const capital = new CapitalService(deps);
  const repayments = new RepaymentService(deps);
  const jointGroups = new JointGroupService(deps);
  const recovery = new RecoveryService(deps);
  const members = new MemberService(deps);
  const periods = new PeriodService(deps);
  const committee = new CommitteeService({
    ...deps,
    loans,
    extensions,
    motions: { joint_group: jointGroups, recovery_action: recovery },
  });
  const guarantees = new GuaranteeService(deps);
  const reports = new ReportService(deps);
  // Member statements list the member's loans and guarantees.
  capital.addStatementSection(loanStatementSection);
  return {
    ledger,
    audit,
    tokens,
    auth,
    users,
    funds,
    members,
    capital,
    exits: new ExitService(deps),
    periods,
    loans,
    committee,
    disbursements: new DisbursementService({ ...deps, loans }),
    repayments,
    dailyJob: new DailyJobService(deps),
    extensions,
    guarantees,
    jointGroups,
    recovery,
    reports,
    overview: new OverviewService({ ...deps, members, periods, reports, committee, recovery, guarantees }),
  };
}

export interface AppDeps {
  db: Knex;
  config: Config;
  logger: Logger;
  clock: Clock;
  services: Services;
  /** Set while the server drains on shutdown: /readyz answers 503 so no new traffic is sent. */
  isDraining?: () => boolean;
  /** Failed logins and the waits they impose; by default one for this app, from the config. */
  loginThrottle?: LoginThrottle;
  /** The embedded database's supervision: /healthz fails once it cannot recover (bootstrap.ts). */
  databaseHealth?: () => DatabaseHealth;
}

/** The Express app, without listen(): the server and the tests both use it. */
export function createApp(deps: AppDeps): express.Express {
  const context: AppContext = {
    db: deps.db,
    config: deps.config,
    logger: deps.logger,
    clock: deps.clock,
    services: deps.services,
  };
  const app = express();
  app.disable('x-powered-by');
  // Responses are per-user and mostly to POSTs: hashing every body for an ETag buys nothing.
  app.set('etag', false);
  app.set('trust proxy', deps.config.trustProxy);
  app.set('query parser', 'simple');
  app.use(requestLogger(deps.logger));
  // TLS is terminated in front of the service; upgrading subresources to https would break /docs
  // when it is reached over plain http on a private network.
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));

  // Liveness fails only when restarting the process is what it takes: the embedded database
  // could not be brought back. A database merely down or restarting is a matter of readiness.
  app.get('/healthz', (_req, res, next) => {
    if (deps.databaseHealth?.() === 'unrecoverable') {
      next(
        httpError(
          'service_unrecoverable',
          'The embedded PostgreSQL died and could not be restarted; restart the service (see its log for why).',
        ),
      );
      return;
    }
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res, next) => {
    if (deps.isDraining?.()) {
      next(httpError('database_unavailable', 'The server is shutting down.'));
      return;
    }
    const health = deps.databaseHealth?.() ?? 'up';
    if (health !== 'up') {
      next(
        httpError(
          'database_unavailable',
          health === 'recovering'
            ? 'The embedded PostgreSQL is being restarted.'
            : 'The embedded PostgreSQL could not be restarted.',
        ),
      );
      return;
    }
    try {
      await deps.db.raw('SELECT 1');
      res.json({ status: 'ready' });
    } catch (error) {
      deps.logger.warn({ err: error }, 'readiness check failed');
      next(httpError('database_unavailable', 'The database is not reachable.'));
    }
  });

  const openApi = buildOpenApiDocument(ROUTES, API_VERSION);
  app.get(`${API_PREFIX}/openapi.json`, (_req, res) => {
    res.json(openApi);
  });
  app.use(
    '/docs',
    swaggerUi.serve,
    swaggerUi.setup(undefined, { swaggerOptions: { url: `${API_PREFIX}/openapi.json` } }),
  );

  const api = Router();
  api.use(jsonBody());
  api.post(
    '/auth/login',
    loginThrottles(deps.config, deps.loginThrottle ?? new LoginThrottle(deps.config.login, deps.clock)),
  );
  mountRoutes(api, context, ROUTES);
  app.use(API_PREFIX, api);

  app.use(notFound);
  app.use(problemHandler());
  return app;
}
