import ClientPg from 'knex/lib/dialects/postgres/index.js';
import TransactionPg from 'knex/lib/dialects/postgres/execution/pg-transaction.js';
import pg from 'pg';
import { assert } from '../assert';

/*
 * Fewer round trips per transaction (ADR 0020). On this service's hot paths a transaction is a
 * handful of statements, and each round trip to PostgreSQL costs more CPU (two socket writes, two
 * wake-ups) than the statement itself. So:
 *
 * - Opening: a top-level transaction sends no BEGIN of its own. BEGIN travels in front of the
 *   transaction's first statement, in the same protocol message sequence (one Sync), so that an
 *   error in either stops both. A transaction that runs no statement sends nothing at all.
 * - Closing: a statement known to be a transaction's last can carry the COMMIT behind it, again
 *   under one Sync. If the statement fails, PostgreSQL skips the COMMIT and the transaction rolls
 *   back as usual; if the COMMIT fails (a deferred constraint), nothing was committed.
 *
 * This is the extended query protocol used as libpq's pipeline mode uses it. knex still runs the
 * transaction (retries, savepoints, rollback); only when BEGIN and COMMIT are written changes.
 */

/** The parts of pg's Connection (the wire protocol writer) used here. */
interface WireConnection {
  parse(message: { text: string; name?: string; types?: readonly unknown[] }): void;
  bind(message: { portal?: string; statement?: string; values?: readonly unknown[] }): void;
  execute(message: { portal?: string; rows?: number }): void;
  sync(): void;
  parsedStatements: Record<string, string>;
}

interface CommandComplete {
  text: string;
}

/** The members of pg.Query that a query class overrides or calls (pg ships no types for them). */
interface QueryProtocol {
  readonly name?: string;
  readonly portal: string;
  callback?: (error: Error | null | undefined, result?: pg.QueryResult) => void;
  hasBeenParsed(connection: WireConnection): boolean;
  prepare(connection: WireConnection): void;
  _getRows(connection: WireConnection, rows: number | undefined): void;
  handleCommandComplete(message: CommandComplete, connection: WireConnection): void;
  handleError(error: Error, connection: WireConnection): void;
  handleReadyForQuery(connection: WireConnection): void;
}

const QueryBase = pg.Query as unknown as new (config: pg.QueryConfig) => QueryProtocol;

/** An unnamed, parameterless statement (BEGIN, COMMIT) written without a Sync of its own. */
function writeBare(connection: WireConnection, text: string): void {
  connection.parse({ text, name: '', types: [] });
  connection.bind({ portal: '', statement: '', values: [] });
  connection.execute({ portal: '' });
}

/**
 * One statement with BEGIN written before it, COMMIT after it, or both, all under one Sync. The
 * result is the statement's alone. Anything but exactly the expected command tags is an error.
 */
class BracketedQuery extends QueryBase {
  private openingAnswered: boolean;
  private statementAnswered = false;
  private closingTag: string | undefined;
  /** An answer out of the expected sequence, reported when the server is ready again. */
  private protocolError: Error | undefined;
  /** Whether this submission parses the named statement (so a failure must forget it again). */
  private parsesStatement = false;

  constructor(
    config: pg.QueryConfig,
    private readonly opening: string | undefined,
    private readonly closing: boolean,
  ) {
    super(config);
    this.openingAnswered = opening === undefined;
  }

  override prepare(connection: WireConnection): void {
    if (this.opening !== undefined) writeBare(connection, this.opening);
    this.parsesStatement = !this.hasBeenParsed(connection);
    super.prepare(connection);
  }

  /** pg writes the statement's Execute and Sync here; COMMIT goes between them. */
  override _getRows(connection: WireConnection, rows: number | undefined): void {
    assert(rows === undefined, 'a bracketed statement returns all its rows at once');
    connection.execute({ portal: this.portal });
    if (this.closing) writeBare(connection, 'COMMIT');
    connection.sync();
  }

  override handleCommandComplete(message: CommandComplete, connection: WireConnection): void {
    if (!this.openingAnswered) {
      this.openingAnswered = true;
      // Not thrown from here: this runs in pg's message handler. Reported once the server is ready.
      if (message.text !== 'BEGIN') this.protocolError ??= new Error(`expected BEGIN to begin, got ${message.text}`);
    } else if (!this.statementAnswered) {
      this.statementAnswered = true;
      super.handleCommandComplete(message, connection);
    } else {
      this.closingTag = message.text;
    }
  }

  override handleError(error: Error, connection: WireConnection): void {
    // pg records a statement as parsed on the first ParseComplete of the sequence, which may have
    // been BEGIN's: forget it, or this connection would bind a statement the server never kept.
    if (this.parsesStatement && this.name !== undefined) delete connection.parsedStatements[this.name];
    super.handleError(error, connection);
  }

  override handleReadyForQuery(connection: WireConnection): void {
    // COMMIT answers ROLLBACK for a transaction that had already failed: not committed.
    if (this.closing && this.closingTag !== 'COMMIT') {
      this.protocolError ??= new Error(`expected COMMIT to commit, got ${this.closingTag ?? 'no answer'}`);
    }
    if (this.protocolError !== undefined) {
      this.handleError(this.protocolError, connection);
      return;
    }
    super.handleReadyForQuery(connection);
  }

  /** What travels with the statement, for profiles: "BEGIN", "COMMIT" or "BEGIN, COMMIT". */
  get bracket(): string {
    return [this.opening === undefined ? [] : ['BEGIN'], this.closing ? ['COMMIT'] : []].flat().join(', ');
  }
}

/**
 * A knex transaction that writes its BEGIN with its first statement and can be committed by its
 * last. Nested transactions (savepoints) make the outermost one send its BEGIN first.
 */
class PipelinedTransaction extends TransactionPg {
  /** The BEGIN not yet sent; undefined once it has been (or for a savepoint). */
  private opening: string | undefined;
  /** Set once a statement committed the transaction: knex's own COMMIT is then not sent. */
  committedByStatement = false;

  override begin(_connection: unknown): Promise<unknown> {
    const mode = [this.isolationLevel ? `ISOLATION LEVEL ${this.isolationLevel}` : '', this.readOnly ? 'READ ONLY' : '']
      .join(' ')
      .trim();
    this.opening = mode === '' ? 'BEGIN' : `BEGIN TRANSACTION ${mode}`;
    const client = this.trxClient as TransactionClient;
    client.pipelinedTransaction = this;
    const send = client.query.bind(client);
    // Every statement knex itself runs for this transaction passes here: BEGIN first if it is still
    // owed, and the transaction's own COMMIT or ROLLBACK only when there is something to end.
    // Those go straight to the connection: knex's per-query work would hold the transaction's
    // locks a little longer.
    client.query = (conn, statement) => {
      if (statement === 'COMMIT;' || statement === 'ROLLBACK') {
        if (this.opening !== undefined) return Promise.resolve(undefined);
        if (statement === 'COMMIT;' && this.committedByStatement) return Promise.resolve(undefined);
        return (conn as pg.Client).query(statement);
      }
      assert(!this.committedByStatement, 'a statement after its transaction committed');
      const opening = this.takeOpening();
      return opening === undefined
        ? send(conn, statement)
        : (conn as pg.Client).query(opening).then(() => send(conn, statement));
    };
    return Promise.resolve(undefined);
  }

  override savepoint(connection: unknown): Promise<unknown> {
    let outermost = this.outerTx;
    while (outermost?.outerTx) outermost = outermost.outerTx;
    const opening = (outermost as PipelinedTransaction | null)?.takeOpening();
    if (opening === undefined) return super.savepoint(connection);
    return (connection as pg.Client).query(opening).then(() => super.savepoint(connection));
  }

  /** The BEGIN still owed, which the caller now sends; later callers get undefined. */
  takeOpening(): string | undefined {
    const opening = this.opening;
    this.opening = undefined;
    return opening;
  }
}

interface TransactionClient {
  pipelinedTransaction?: PipelinedTransaction;
  query(connection: unknown, statement: unknown): Promise<unknown>;
}

/** knex's PostgreSQL client with PipelinedTransaction as its transaction. */
export class PipelinedClient extends ClientPg {
  override transaction(...args: unknown[]): unknown {
    return new PipelinedTransaction(this, ...args);
  }
}

export interface StatementOptions {
  /** The transaction's last statement: COMMIT is sent with it and the transaction ends. */
  commit?: boolean;
}

/**
 * Runs one named statement on a transaction's connection, with the transaction's BEGIN if it is
 * still owed and with its COMMIT if `options.commit`.
 */
export function runOnTransaction(
  connection: pg.Client,
  transactionClient: unknown,
  query: pg.QueryConfig,
  options: StatementOptions,
): Promise<pg.QueryResult> {
  const transaction = (transactionClient as TransactionClient).pipelinedTransaction;
  assert(!transaction?.committedByStatement, `statement ${query.name} after its transaction committed`);
  assert(!options.commit || transaction !== undefined, `statement ${query.name} cannot commit a savepoint`);
  const opening = transaction?.takeOpening();
  if (opening === undefined && !options.commit) return connection.query(query);
  return new Promise((resolve, reject) => {
    const bracketed = new BracketedQuery(query, opening, options.commit === true);
    bracketed.callback = (error, result) => {
      if (error) {
        reject(error);
        return;
      }
      if (options.commit) transaction!.committedByStatement = true;
      resolve(result!);
    };
    void connection.query(bracketed as unknown as pg.Query);
  });
}
