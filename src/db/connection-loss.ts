/**
 * Telling "the database went away" from every other failure (ADR 0006, "When the database goes
 * away"). A request that fails because its connection was lost did nothing that stays: its
 * transaction never committed, or committed together with its Idempotency-Key, so retrying with the
 * same key is safe. The HTTP edge answers it 503 `database_unavailable` with Retry-After; it is
 * never an internal error.
 *
 * pg gives a lost connection no SQLSTATE ("Connection terminated unexpectedly", "Client has
 * encountered a connection error and is not queryable"), and knex, rolling back on the dead
 * connection, reports the ROLLBACK's failure rather than the statement's. So the nature of a
 * failure is read from the connection it happened on, where one is at hand (`onConnection`), and
 * from the error's code otherwise (`isDatabaseUnavailable`); never from its message.
 */

/** Thrown in place of a failure caused by losing the database connection, or by not getting one. */
export class DatabaseUnavailable extends Error {
  constructor(override readonly cause: unknown) {
    super(`the database is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'DatabaseUnavailable';
  }
}

/**
 * SQLSTATEs that say the server cannot serve this session: class 08 (connection exception) and
 * these of classes 57 (operator intervention) and 53 (insufficient resources).
 */
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown: pg_terminate_backend, or a fast shutdown
  '57P02', // crash_shutdown: another backend crashed and the server is resetting
  '57P03', // cannot_connect_now: starting up, in recovery, or shutting down
  '53300', // too_many_connections
]);

/** Socket-level failures of Node's net and dns modules: the server cannot be reached. */
const SOCKET_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);

const SQLSTATE = /^[0-9A-Z]{5}$/;

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** Whether `error` says the database cannot be reached or cannot serve us right now. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof DatabaseUnavailable) return true;
  const code = codeOf(error);
  if (code === undefined) return false;
  if (SOCKET_ERROR_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code)) return true;
  return SQLSTATE.test(code) && code.startsWith('08');
}

/** The state pg keeps on a client (not in its published types). */
interface ClientState {
  /** False once the socket failed: nothing more can run on it. */
  _queryable?: boolean;
  /** True once the socket closed. */
  _ended?: boolean;
  /** Set by knex when the client emitted 'error' or 'end'. */
  __knex__disposed?: unknown;
}

/** Whether the connection can no longer run anything: its socket failed or closed. */
export function isConnectionLost(connection: unknown): boolean {
  if (typeof connection !== 'object' || connection === null) return false;
  const state = connection as ClientState;
  return state._queryable === false || state._ended === true || state.__knex__disposed !== undefined;
}

/**
 * The failure of `work`, which ran on `connection`, as DatabaseUnavailable when the connection was
 * lost (pg fails a statement only after it has marked its client so) or the error's code says so.
 */
export async function onConnection<T>(connection: unknown, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (!(error instanceof DatabaseUnavailable) && (isConnectionLost(connection) || isDatabaseUnavailable(error))) {
      throw new DatabaseUnavailable(error);
    }
    throw error;
  }
}

/**
 * A failure to open a connection, as DatabaseUnavailable unless the server itself refused us for a
 * reason of its own (wrong password, no such database: a SQLSTATE outside the classes above), which
 * a retry would not mend.
 */
export function connectFailure(error: unknown): unknown {
  if (error instanceof DatabaseUnavailable) return error;
  const code = codeOf(error);
  const refusedByServer = code !== undefined && SQLSTATE.test(code) && !isDatabaseUnavailable(error);
  return refusedByServer ? error : new DatabaseUnavailable(error);
}
