import makeKnex from 'knex/lib/knex-builder/make-knex.js';
import { assert } from '../assert';

/*
 * The object a knex transaction hands its callback (the "transactor"), built for a fraction of what
 * knex pays. knex builds each one as a new knex instance: a function given a hundred-odd method
 * closures, property definitions and an event emitter of its own, about 27 KB and 50 µs per
 * transaction, more than the statements of a posting cost this process. Every one of those methods
 * and properties works through `this` (its `context`), so here they are made once, on a prototype
 * taken from a real knex instance, and a transactor is a function with that prototype and its own
 * context. What knex's makeTransactor adds (commit, rollback, savepoints, isTransaction…) is added
 * the same way. knex's transaction tests, run against this, are in test/integration/db.
 *
 * A transactor emits no events of its own: listen on the knex instance, which hears every query of
 * every transaction (knex's transaction client relays them there).
 */

/** The knex internals this file builds on (knex 3.x, src/execution/transaction.js). */
interface KnexTransactionInternals {
  client: KnexClient;
  trxClient: KnexClient | undefined;
  outerTx: KnexTransactionInternals | null;
  transactor?: Transactor;
  userParams?: Record<string, unknown>;
  isCompleted(): boolean;
  commit(connection: unknown, value?: unknown): Promise<unknown>;
  release(connection: unknown, value?: unknown): Promise<unknown>;
  rollback(connection: unknown, error?: unknown): Promise<unknown>;
  rollbackTo(connection: unknown, error?: unknown): Promise<unknown>;
}

interface KnexClient {
  transacting?: boolean;
}

interface KnexContext {
  client: KnexClient;
  userParams: Record<string, unknown>;
  queryBuilder(): { table(name: unknown, options: unknown): unknown };
  _transaction(container: unknown, options: unknown, outerTx: unknown): unknown;
  transaction?: unknown;
  withUserParams?: unknown;
}

/** What a transactor carries of its own; everything else comes from the shared prototype. */
export interface Transactor {
  (tableName?: unknown, options?: unknown): unknown;
  context: KnexContext;
  isTransaction: true;
  executionPromise?: Promise<unknown>;
  parentTransaction?: Transactor;
  savepoint(container: unknown, options?: unknown): unknown;
  transaction(container: unknown, options?: unknown): unknown;
  commit(value?: unknown): Promise<unknown>;
  rollback(error?: unknown): Promise<unknown>;
  isCompleted(): boolean;
}

/** Own properties of a knex instance that are its state rather than its behaviour. */
const INSTANCE_STATE = new Set([
  'context',
  '_events',
  '_eventsCount',
  '_maxListeners',
  '_internalListeners',
  'length',
  'name',
  'prototype',
]);

interface Template {
  prototype: object;
  context: KnexContext;
}

/**
 * One per knex client (the pool's, not each transaction's): the methods and accessors of a knex
 * instance, and its context's methods.
 */
const templates = new WeakMap<object, Template>();

function templateFor(client: KnexClient): Template {
  let template = templates.get(client);
  if (template === undefined) {
    const instance = makeKnex(client) as unknown as Record<string, unknown> & { context: KnexContext };
    const shared = Object.getOwnPropertyDescriptors(instance) as Record<string, PropertyDescriptor>;
    for (const key of INSTANCE_STATE) delete shared[key];
    assert('raw' in shared && 'select' in shared && 'client' in shared, 'knex instances no longer look as expected');
    template = { prototype: Object.create(Function.prototype, shared) as object, context: instance.context };
    templates.set(client, template);
  }
  return template;
}

/** The top-level transaction of a transaction or of a savepoint (itself, for a top-level one). */
export function outermostOf<T extends { outerTx: T | null }>(trx: T): T {
  let outermost = trx;
  while (outermost.outerTx) outermost = outermost.outerTx;
  return outermost;
}

/** knex's makeTransactor, with the knex instance made from the shared template. */
function makeTransactor(trx: KnexTransactionInternals, connection: unknown, trxClient: KnexClient): Transactor {
  // A savepoint's client is its outer transaction's; the template is the outermost one's client's.
  const template = templateFor(outermostOf(trx).client);
  const transactor = function (tableName?: unknown, options?: unknown): unknown {
    const builder = transactor.context.queryBuilder();
    return tableName ? builder.table(tableName, options) : builder;
  } as Transactor;
  Object.setPrototypeOf(transactor, template.prototype);
  const context = Object.create(template.context) as KnexContext;
  context.client = trxClient;
  context.userParams = trx.userParams ?? {};
  context.withUserParams = () => {
    throw new Error('Cannot set user params on a transaction - it can only inherit params from main knex instance');
  };
  context.transaction = function (
    this: KnexContext,
    container: unknown,
    options?: { doNotRejectOnRollback?: boolean },
  ) {
    const settings = options ? { ...options } : {};
    if (settings.doNotRejectOnRollback === undefined) settings.doNotRejectOnRollback = true;
    return this._transaction(container, settings, trx);
  };
  transactor.context = context;
  transactor.isTransaction = true;
  transactor.savepoint = (container, options) => transactor.transaction(container, options);
  if (trx.client.transacting) {
    transactor.commit = (value) => trx.release(connection, value);
    transactor.rollback = (error) => trx.rollbackTo(connection, error);
  } else {
    transactor.commit = (value) => trx.commit(connection, value);
    transactor.rollback = (error) => trx.rollback(connection, error);
  }
  transactor.isCompleted = () => trx.isCompleted();
  return transactor;
}

/** knex's Transaction, as much of it as onAcquire drives. */
export interface KnexTransaction extends KnexTransactionInternals {
  txid: string;
  _resolver(value?: unknown): void;
  _rejecter(error: unknown): void;
  begin(connection: unknown): Promise<unknown>;
  savepoint(connection: unknown): Promise<unknown>;
  emit(event: string, ...args: unknown[]): boolean;
}

interface EmittingClient extends KnexClient {
  constructor: { prototype: object };
  version?: unknown;
  config?: unknown;
  driver?: unknown;
  connectionSettings?: unknown;
  valueForUndefined?: unknown;
  logger?: unknown;
  on(event: string, listener: (...args: unknown[]) => void): void;
  emit(event: string, ...args: unknown[]): boolean;
  query(connection: unknown, statement: unknown): Promise<unknown>;
  stream(connection: unknown, statement: unknown, stream: unknown, options: unknown): Promise<unknown>;
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<unknown>;
}

const RELAYED_EVENTS = ['start', 'query', 'query-error', 'query-response'] as const;

/**
 * knex's makeTxClient: a client that always hands out the transaction's one connection, refuses
 * statements once the transaction is over, and relays its events to the transaction and the client.
 */
function makeTxClient(trx: KnexTransaction, client: EmittingClient, connection: unknown): EmittingClient {
  const trxClient = Object.create(client.constructor.prototype) as EmittingClient;
  trxClient.version = client.version;
  trxClient.config = client.config;
  trxClient.driver = client.driver;
  trxClient.connectionSettings = client.connectionSettings;
  trxClient.transacting = true;
  trxClient.valueForUndefined = client.valueForUndefined;
  trxClient.logger = client.logger;
  for (const event of RELAYED_EVENTS) {
    trxClient.on(event, (...args: unknown[]) => {
      trx.emit(event, ...args);
      client.emit(event, ...args);
    });
  }
  const checked =
    <Args extends unknown[]>(run: (conn: unknown, statement: unknown, ...rest: Args) => Promise<unknown>) =>
    (conn: unknown, statement: unknown, ...rest: Args): Promise<unknown> => {
      const completed = trx.isCompleted();
      return new Promise((resolve) => {
        if (conn !== connection) throw new Error('Invalid connection for transaction query.');
        if (completed) {
          throw new Error('Transaction query already complete, run with DEBUG=knex:tx for more info');
        }
        resolve(run.call(trxClient, conn, statement, ...rest));
      });
    };
  trxClient.query = checked(trxClient.query);
  trxClient.stream = checked(trxClient.stream);
  trxClient.acquireConnection = () => Promise.resolve(connection);
  trxClient.releaseConnection = () => Promise.resolve();
  return trxClient;
}

/**
 * knex's Transaction#_onAcquire with the transactor above: begin (or set a savepoint), hand the
 * transactor to the container, then commit when its promise resolves or roll back when it rejects.
 * Resolves or rejects with the transaction's outcome.
 */
export function onAcquire(
  trx: KnexTransaction,
  container: (transactor: Transactor) => unknown,
  connection: unknown,
): Promise<unknown> {
  const trxClient = makeTxClient(trx, trx.client as EmittingClient, connection);
  trx.trxClient = trxClient;
  const init = trx.client.transacting ? trx.savepoint(connection) : trx.begin(connection);
  const executionPromise = new Promise((resolve, reject) => {
    trx._resolver = resolve;
    trx._rejecter = reject;
  });
  init
    .then(() => {
      const transactor = makeTransactor(trx, connection, trxClient);
      trx.transactor = transactor;
      if (trx.outerTx) transactor.parentTransaction = trx.outerTx.transactor!;
      transactor.executionPromise = executionPromise;
      let result: unknown;
      try {
        result = container(transactor);
      } catch (error) {
        result = Promise.reject(error);
      }
      if (result && typeof (result as Promise<unknown>).then === 'function') {
        (result as Promise<unknown>)
          .then((value) => transactor.commit(value))
          .catch((error: unknown) => transactor.rollback(error));
      }
      return null;
    })
    .catch((error: unknown) => trx._rejecter(error));
  return executionPromise;
}
