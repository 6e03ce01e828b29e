// The parts of knex's PostgreSQL dialect, and of pg, that `pipelined.ts` and `transactor.ts`
// extend or call. Neither publishes types for them; these declare only what is used there.

declare module 'knex/lib/dialects/postgres/index.js' {
  class ClientPg {
    constructor(config: unknown);
    transaction(...args: unknown[]): unknown;
    /** Runs one statement on a connection of the pool (or of a transaction). */
    _query(connection: unknown, statement: unknown): Promise<unknown>;
    /** Opens one connection for the pool: a pg client, connected. */
    _acquireOnlyConnection(): Promise<unknown>;
  }
  export default ClientPg;
}

declare module 'knex/lib/dialects/postgres/execution/pg-transaction.js' {
  class TransactionPg {
    constructor(...args: unknown[]);
    outerTx: TransactionPg | null;
    isolationLevel?: string;
    readOnly?: boolean;
    trxClient: unknown;
    begin(connection: unknown): Promise<unknown>;
    savepoint(connection: unknown): Promise<unknown>;
    _onAcquire(container: unknown, connection: unknown): Promise<unknown>;
  }
  export default TransactionPg;
}

// Makes a knex instance (the callable query starter with its methods) around a client.
declare module 'knex/lib/knex-builder/make-knex.js' {
  function makeKnex(client: unknown): unknown;
  export default makeKnex;
}

// pg's conversion of a query's values to what the wire protocol carries (arrays to array
// literals, dates to timestamps, buffers as they are), used for statements written by hand.
declare module 'pg/lib/utils.js' {
  export function prepareValue(value: unknown): string | Buffer | null;
}
