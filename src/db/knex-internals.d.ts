// The parts of knex's PostgreSQL dialect that `pipelined.ts` extends. knex publishes no types for
// them; these declare only what is used there.

declare module 'knex/lib/dialects/postgres/index.js' {
  class ClientPg {
    constructor(config: unknown);
    transaction(...args: unknown[]): unknown;
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
  }
  export default TransactionPg;
}
