import type { Knex } from 'knex';
import type { Trx } from './knex';

/** SQLSTATEs after which the whole transaction can safely run again. */
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);

export const TRANSACTION_ATTEMPTS_MAX = 5;

export function isRetryable(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    RETRYABLE_SQLSTATES.has(String((error as { code: unknown }).code))
  );
}

export class TransactionRetriesExhausted extends Error {
  constructor(
    readonly attempts: number,
    readonly lastError: unknown,
  ) {
    super(`transaction failed ${attempts} times with a serialization failure or deadlock`);
    this.name = 'TransactionRetriesExhausted';
  }
}

/**
 * Runs `work` in one transaction and runs it again, from the start, after a serialization failure
 * or a deadlock, at most TRANSACTION_ATTEMPTS_MAX times with jittered backoff. `work` must do all
 * its reads inside the transaction so that a retry sees fresh data.
 */
export async function inTransaction<T>(
  db: Knex,
  work: (trx: Trx) => Promise<T>,
  options: { attempts?: number; onRetry?: (attempt: number, error: unknown) => void } = {},
): Promise<T> {
  const attempts = options.attempts ?? TRANSACTION_ATTEMPTS_MAX;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    try {
      return await db.transaction(work);
    } catch (error) {
      if (!isRetryable(error)) throw error;
      lastError = error;
      options.onRetry?.(attempt, error);
      if (attempt < attempts) await sleep(backoffMs(attempt));
    }
  }
  throw new TransactionRetriesExhausted(attempts, lastError);
}

function backoffMs(attempt: number): number {
  const ceiling = Math.min(200, 5 * 2 ** attempt);
  return Math.floor(Math.random() * ceiling) + 1;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
