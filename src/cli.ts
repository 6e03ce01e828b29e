import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { seedDemo } from '../seeds/demo';
import { createServices } from './app';
import { ROLES, type Role } from './auth/principal';
import { isIsoDate, systemClock } from './clock';
import { ConfigError, loadConfig, SettingError, type Config } from './config';
import { openDatabase, resolveJwtKey, type Database } from './db/bootstrap';
import { migrateLatest, rollbackLast } from './db/migrate';
import { AppError } from './errors';
import { releaseExpiredHolds, runDailyJob } from './jobs/jobs';

const USAGE = `Usage: npm run cli -- <command> [options]

  user create --username U --role admin|committee|member|auditor [--fund ID] [--member ID]
  user set-password --username U
      The password is read from HUZHU_PASSWORD, or from standard input with --password-stdin;
      without either, a random one is generated and printed once.
  user disable --username U          (revokes the user's tokens)
  user enable --username U
  user list
  audit verify [--fund ID]           verify one fund's chain, or every chain; exit 1 if broken
  ledger check [--fund ID]           verify the ledger (as GET …/ledger/verify); exit 1 if anything is off
  jobs release-holds                 release holds past their expiry
  jobs daily --date YYYY-MM-DD [--fund ID]
      the daily loan job (accrual, overdue, penalty, classification, expired holds) for every
      fund or one; missed days run first, in order; a day already run is not run again
  db migrate | db rollback | db seed

With no DATABASE_URL the embedded PostgreSQL in HUZHU_DATA_DIR is used (attached to if the
server is running).`;

const out = (text: string): void => void process.stdout.write(`${text}\n`);

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      username: { type: 'string' },
      role: { type: 'string' },
      fund: { type: 'string' },
      member: { type: 'string' },
      date: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [group, command] = positionals;
  if (values.help || !group || !command) {
    out(USAGE);
    return values.help ? 0 : 2;
  }
  const config = loadConfig();
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2));
  const database = await openDatabase(config, logger, { whenRunning: 'attach' });
  try {
    if (group === 'db' && command === 'migrate') {
      const applied = await migrateLatest(database.db);
      out(applied.length ? `applied: ${applied.join(', ')}` : 'already up to date');
      return 0;
    }
    if (group === 'db' && command === 'rollback') {
      out(`rolled back: ${(await rollbackLast(database.db)).join(', ') || 'nothing'}`);
      return 0;
    }
    await migrateLatest(database.db);
    const services = createServices(database.db, config, systemClock, resolveJwtKey(config));
    return await run(group, command, values, { database, services, config });
  } finally {
    await database.close();
  }
}

async function run(
  group: string,
  command: string,
  values: {
    username?: string;
    role?: string;
    fund?: string;
    member?: string;
    date?: string;
    'password-stdin'?: boolean;
  },
  { database, services, config }: { database: Database; services: ReturnType<typeof createServices>; config: Config },
): Promise<number> {
  const db = database.db;
  const users = services.users;
  switch (`${group} ${command}`) {
    case 'user create': {
      const role = values.role as Role;
      if (!values.username || !(ROLES as readonly string[]).includes(role)) {
        out('user create needs --username and --role (admin, committee, member or auditor)');
        return 2;
      }
      const { password, generated } = await passwordInput(values['password-stdin'] === true);
      const user = await users.create({
        username: values.username,
        password,
        role,
        fundId: values.fund,
        memberId: values.member,
      });
      out(JSON.stringify(user));
      if (generated) out(`password: ${password}   (shown once; store it now)`);
      return 0;
    }
    case 'user set-password': {
      if (!values.username) return usage('user set-password needs --username');
      const { password, generated } = await passwordInput(values['password-stdin'] === true);
      out(JSON.stringify(await users.setPassword(values.username, password)));
      if (generated) out(`password: ${password}   (shown once; store it now)`);
      return 0;
    }
    case 'user disable':
    case 'user enable':
      if (!values.username) return usage(`user ${command} needs --username`);
      out(JSON.stringify(await users.setDisabled(values.username, command === 'disable')));
      return 0;
    case 'user list':
      for (const user of await users.list()) out(JSON.stringify(user));
      return 0;
    case 'audit verify': {
      const chains = values.fund
        ? [values.fund]
        : ((await db('audit_chain_heads').orderBy('chain').pluck('fund_id')) as (string | null)[]);
      let intact = true;
      for (const fundId of chains) {
        const result = await services.audit.verify(db, fundId);
        intact &&= result.ok;
        out(JSON.stringify({ chain: fundId ?? 'system', ...result }));
      }
      return intact ? 0 : 1;
    }
    case 'ledger check': {
      const fundIds = values.fund ? [values.fund] : ((await db('funds').orderBy('id').pluck('id')) as string[]);
      let consistent = true;
      for (const fundId of fundIds) {
        // The same verification as GET …/ledger/verify.
        const verification = await services.ledger.verify(db, fundId);
        consistent &&= verification.ok;
        out(JSON.stringify(verification));
      }
      out(JSON.stringify({ funds: fundIds.length, consistent }));
      return consistent ? 0 : 1;
    }
    case 'jobs release-holds': {
      const logger = pino({ level: 'warn' }, pino.destination(2));
      out(JSON.stringify(await releaseExpiredHolds({ db, clock: systemClock, services, logger })));
      return 0;
    }
    case 'jobs daily': {
      if (!values.date || !isIsoDate(values.date)) return usage('jobs daily needs --date YYYY-MM-DD');
      const logger = pino({ level: 'warn' }, pino.destination(2));
      const result = await runDailyJob(
        { db, clock: systemClock, services, logger },
        values.date,
        values.fund ? [values.fund] : undefined,
      );
      for (const run of result.runs) out(JSON.stringify(run));
      for (const failure of result.failures) out(JSON.stringify({ ...failure, failed: true }));
      out(JSON.stringify({ date: values.date, funds: result.runs.length, failed: result.failures.length }));
      return result.failures.length === 0 ? 0 : 1;
    }
    case 'db seed': {
      const result = await seedDemo({
        db,
        config,
        clock: systemClock,
        logger: pino({ level: 'warn' }, pino.destination(2)),
      });
      out(result.seeded ? `demo fund seeded: ${result.fundId}` : 'demo data already present');
      return 0;
    }
    default:
      return usage(`unknown command: ${group} ${command}`);
  }
}

function usage(message: string): number {
  out(`${message}\n\n${USAGE}`);
  return 2;
}

async function passwordInput(fromStdin: boolean): Promise<{ password: string; generated: boolean }> {
  if (fromStdin) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return {
      password: Buffer.concat(chunks)
        .toString('utf8')
        .replace(/\r?\n$/, ''),
      generated: false,
    };
  }
  const fromEnv = process.env.HUZHU_PASSWORD;
  if (fromEnv) return { password: fromEnv, generated: false };
  return { password: randomBytes(18).toString('base64url'), generated: true };
}

main(process.argv.slice(2))
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    if (error instanceof ConfigError || error instanceof SettingError || error instanceof AppError)
      process.stderr.write(`${error.message}\n`);
    else process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
