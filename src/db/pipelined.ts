import ClientPg from 'knex/lib/dialects/postgres/index.js';
import TransactionPg from 'knex/lib/dialects/postgres/execution/pg-transaction.js';
import pg from 'pg';
import { prepareValue } from 'pg/lib/utils.js';
import { assert } from '../assert';
import { connectFailure, onConnection } from './connection-loss';
import { onAcquire, outermostOf, type KnexTransaction, type Transactor } from './transactor';

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
  on(event: 'parseComplete', listener: () => void): void;
  off(event: 'parseComplete', listener: () => void): void;
  /** Named statements the server has, by name: pg parses a name again only when it is absent. */
  parsedStatements: Record<string, string>;
  /** Named statements whose Parse is on its way. */
  submittedNamedStatements: Record<string, string>;
}

interface CommandComplete {
  text: string;
}

/** The members of pg.Query that a query class overrides or calls (pg ships no types for them). */
interface QueryProtocol {
  readonly name?: string;
  readonly text: string;
  readonly portal: string;
  callback?: (error: Error | null | undefined, result?: pg.QueryResult) => void;
  hasBeenParsed(connection: WireConnection): boolean;
  prepare(connection: WireConnection): void;
  _getRows(connection: WireConnection, rows: number | undefined): void;
  handleDataRow(message: unknown): void;
  handleCommandComplete(message: CommandComplete, connection: WireConnection): void;
  handleError(error: Error, connection: WireConnection): void;
  handleReadyForQuery(connection: WireConnection): void;
}

const QueryBase = pg.Query as unknown as new (config: pg.QueryConfig) => QueryProtocol;

/**
 * A named statement written ahead of another in the same sequence, for its effect (taking locks,
 * say); its rows are read and dropped. An error in it skips everything after it.
 */
export interface LeadingStatement {
  name: string;
  text: string;
  values: readonly unknown[];
}

/** An unnamed, parameterless statement (BEGIN, COMMIT) written without a Sync of its own. */
function writeBare(connection: WireConnection, text: string): void {
  connection.parse({ text, name: '', types: [] });
  connection.bind({ portal: '', statement: '', values: [] });
  connection.execute({ portal: '' });
}

function isKnown(connection: WireConnection, name: string): boolean {
  return connection.parsedStatements[name] !== undefined || connection.submittedNamedStatements[name] !== undefined;
}

type Step = 'opening' | 'leading' | 'statement' | 'closing';

/**
 * One statement with, under the same Sync: BEGIN before it, leading statements before it, COMMIT
 * after it, or any of those. The result is the statement's alone. Anything but exactly the
 * expected command tags is an error.
 */
class BracketedQuery extends QueryBase {
  /** What each CommandComplete still to come answers, in order. */
  private readonly steps: Step[];
  private closingTag: string | undefined;
  /** An answer out of the expected sequence, reported when the server is ready again. */
  private protocolError: Error | undefined;
  /**
   * Every Parse written, in order, with the name and text of the named ones. The server answers
   * each with a ParseComplete, in order, until an error skips the rest; so the count of those
   * answers says which named statements the server now has, whatever fails later.
   */
  private readonly parses: ({ name: string; text: string } | undefined)[] = [];
  private parsesAnswered = 0;
  private readonly countParse = (): void => {
    this.parsesAnswered += 1;
  };
  private connection: WireConnection | undefined;

  constructor(
    config: pg.QueryConfig,
    private readonly opening: string | undefined,
    private readonly leading: readonly LeadingStatement[],
    private readonly closing: boolean,
  ) {
    super(config);
    this.steps = [
      ...(opening === undefined ? [] : (['opening'] as const)),
      ...leading.map(() => 'leading' as const),
      'statement' as const,
      ...(closing ? (['closing'] as const) : []),
    ];
  }

  override prepare(connection: WireConnection): void {
    this.connection = connection;
    connection.on('parseComplete', this.countParse);
    if (this.opening !== undefined) {
      writeBare(connection, this.opening);
      this.parses.push(undefined);
    }
    for (const statement of this.leading) {
      if (!isKnown(connection, statement.name)) {
        connection.parse({ text: statement.text, name: statement.name, types: [] });
        connection.submittedNamedStatements[statement.name] = statement.text;
        this.parses.push({ name: statement.name, text: statement.text });
      }
      connection.bind({ portal: '', statement: statement.name, values: statement.values });
      connection.execute({ portal: '' });
    }
    if (this.name !== undefined && !this.hasBeenParsed(connection))
      this.parses.push({ name: this.name, text: this.text });
    super.prepare(connection);
  }

  /** pg writes the statement's Execute and Sync here; COMMIT goes between them. */
  override _getRows(connection: WireConnection, rows: number | undefined): void {
    assert(rows === undefined, 'a bracketed statement returns all its rows at once');
    connection.execute({ portal: this.portal });
    if (this.closing) writeBare(connection, 'COMMIT');
    connection.sync();
  }

  /** A leading statement's rows are dropped; only the statement's own are the result. */
  override handleDataRow(message: unknown): void {
    if (this.steps[0] === 'statement') super.handleDataRow(message);
  }

  override handleCommandComplete(message: CommandComplete, connection: WireConnection): void {
    const step = this.steps.shift();
    // Not thrown from here: this runs in pg's message handler. Reported once the server is ready.
    if (step === 'opening' && message.text !== 'BEGIN') {
      this.protocolError ??= new Error(`expected BEGIN to begin, got ${message.text}`);
    } else if (step === 'statement') {
      super.handleCommandComplete(message, connection);
    } else if (step === 'closing') {
      this.closingTag = message.text;
    } else if (step === undefined) {
      this.protocolError ??= new Error(`unexpected answer ${message.text} after the whole sequence`);
    }
  }

  override handleError(error: Error, connection: WireConnection): void {
    this.settleParses();
    super.handleError(error, connection);
  }

  override handleReadyForQuery(connection: WireConnection): void {
    this.settleParses();
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

  /**
   * Records which named statements this sequence left on the server. pg marks its query's statement
   * as parsed on any ParseComplete, which may have been BEGIN's, and knows nothing of the leading
   * ones: a statement whose Parse was answered is kept (parsing it again would fail, 42P05), one
   * whose Parse was skipped by an earlier error is forgotten, so that its next use parses it.
   */
  private settleParses(): void {
    const connection = this.connection;
    if (connection === undefined) return;
    this.connection = undefined;
    connection.off('parseComplete', this.countParse);
    this.parses.forEach((parse, index) => {
      if (parse === undefined) return;
      delete connection.submittedNamedStatements[parse.name];
      if (index < this.parsesAnswered) connection.parsedStatements[parse.name] = parse.text;
      else delete connection.parsedStatements[parse.name];
    });
  }

  /** What travels with the statement, for profiles: "BEGIN", "COMMIT", leading names, in order. */
  get bracket(): string {
    return [
      this.opening === undefined ? [] : ['BEGIN'],
      this.leading.map((statement) => statement.name),
      this.closing ? ['COMMIT'] : [],
    ]
      .flat()
      .join(', ');
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
        return onConnection(conn, (conn as pg.Client).query(statement));
      }
      assert(!this.committedByStatement, 'a statement after its transaction committed');
      const opening = this.takeOpening();
      return opening === undefined
        ? send(conn, statement)
        : onConnection(conn, (conn as pg.Client).query(opening)).then(() => send(conn, statement));
    };
    return Promise.resolve(undefined);
  }

  /** knex's own, with a transactor that costs far less to build (transactor.ts). */
  override _onAcquire(container: unknown, connection: unknown): Promise<unknown> {
    return onAcquire(this as unknown as KnexTransaction, container as (transactor: Transactor) => unknown, connection);
  }

  override savepoint(connection: unknown): Promise<unknown> {
    const opening = (outermostOf<TransactionPg>(this) as PipelinedTransaction).takeOpening();
    if (opening === undefined) return super.savepoint(connection);
    return onConnection(connection, (connection as pg.Client).query(opening)).then(() => super.savepoint(connection));
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

/**
 * knex's PostgreSQL client with PipelinedTransaction as its transaction, whose failures on a lost
 * connection, or to open one, are DatabaseUnavailable (connection-loss.ts).
 */
export class PipelinedClient extends ClientPg {
  override transaction(...args: unknown[]): unknown {
    return new PipelinedTransaction(this, ...args);
  }

  override _query(connection: unknown, statement: unknown): Promise<unknown> {
    return onConnection(connection, super._query(connection, statement));
  }

  override _acquireOnlyConnection(): Promise<unknown> {
    return super._acquireOnlyConnection().catch((error: unknown) => {
      throw connectFailure(error);
    });
  }
}

export interface StatementOptions {
  /** The transaction's last statement: COMMIT is sent with it and the transaction ends. */
  commit?: boolean;
  /** Statements run just before this one, in the same round trip (their rows are dropped). */
  leading?: readonly LeadingStatement[];
}

/**
 * Runs one named statement on a transaction's connection, with the transaction's BEGIN if it is
 * still owed, the leading statements of `options.leading`, and its COMMIT if `options.commit`.
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
  // Converted as pg converts a query's values, before anything is written: a value that cannot be
  // sent fails here, with nothing on the wire.
  const leading = (options.leading ?? []).map((statement) => ({
    ...statement,
    values: statement.values.map((value) => prepareValue(value)),
  }));
  const opening = transaction?.takeOpening();
  if (opening === undefined && !options.commit && leading.length === 0) {
    return onConnection(connection, connection.query(query));
  }
  const sent = new Promise<pg.QueryResult>((resolve, reject) => {
    const bracketed = new BracketedQuery(query, opening, leading, options.commit === true);
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
  return onConnection(connection, sent);
}
