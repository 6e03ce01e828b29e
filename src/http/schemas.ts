import { z } from 'zod';
import { isIsoDate } from '../clock';

/** Shared request and response pieces. Amounts are strings; see docs/adr/0001-money.md. */

export const uuid = z.uuid();

export const isoDate = z
  .string()
  .refine(isIsoDate, 'must be a calendar date written YYYY-MM-DD')
  .meta({ format: 'date', example: '2026-11-03' });

export const timestamp = z.iso.datetime().meta({ example: '2026-11-03T08:30:00.000Z' });

/**
 * An amount as the client sends it. Only the shape is checked here; the ledger refuses more than 2
 * decimals, zero and negative amounts with its own codes (`invalid_amount`, `amount_not_positive`).
 */
export const amountInput = z.string().max(40).meta({
  description: 'Decimal string with at most 2 decimals.',
  example: '1250.00',
  pattern: '^\\d{1,15}(\\.\\d{1,2})?$',
});

export const amountOutput = z
  .string()
  .regex(/^-?\d+\.\d{2}$/)
  .meta({ description: 'Decimal string with exactly 2 decimals.', example: '1250.00' });

export const fundIdParams = z.strictObject({ fundId: uuid });

export const orderParam = z
  .enum(['asc', 'desc'])
  .default('desc')
  .meta({ description: 'By sequence; newest first by default.' });

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

const BIGINT_MAX = 9_223_372_036_854_775_807n;

/** A position in a BIGINT sequence: digits, and no more than PostgreSQL's BIGINT can hold. */
export const seqCursor = z.object({
  seq: z
    .string()
    // Aborts when not digits: zod would otherwise run the refinement, and BigInt throws on such text.
    .regex(/^\d{1,19}$/, { abort: true })
    .refine((seq) => BigInt(seq) <= BIGINT_MAX),
});
