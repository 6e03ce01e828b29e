import { z } from 'zod';
import { isStorableJson } from '../audit/canonical-json';
import { httpError } from './http.errors';

export const PAGE_LIMIT_MAX = 200;
export const PAGE_LIMIT_DEFAULT = 50;

export const limitParam = z.coerce
  .number()
  .int()
  .min(1)
  .max(PAGE_LIMIT_MAX)
  .default(PAGE_LIMIT_DEFAULT)
  .meta({ description: `Page size, 1–${PAGE_LIMIT_MAX}.` });

/**
 * Longer than any cursor this service issues. The longest is the member register's: a name of up to
 * 200 UTF-16 units, each at most 6 bytes once JSON-escaped, and an id: under 1,300 bytes of JSON,
 * under 1,750 characters of base64url.
 */
export const CURSOR_LENGTH_MAX = 2048;

/**
 * The length is checked by decodeCursor, not here, so that a cursor this service did not issue
 * gets one answer however it is wrong: invalid_cursor, "start again without it".
 */
export const cursorParam = z
  .string()
  .optional()
  .meta({ description: 'Opaque cursor from the previous page’s `nextCursor`.', maxLength: CURSOR_LENGTH_MAX });

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Cursors are opaque to clients: base64url JSON of the last row's sort key. */
export function encodeCursor(position: Record<string, string>): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

export function decodeCursor<S extends z.ZodType>(cursor: string | undefined, schema: S): z.output<S> | undefined {
  if (cursor === undefined) return undefined;
  try {
    if (cursor.length > CURSOR_LENGTH_MAX) throw new RangeError('longer than any cursor issued');
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    // The query-string check cannot see inside base64: refuse text the database cannot take here.
    const parsed = isStorableJson(decoded) ? schema.safeParse(decoded) : undefined;
    if (parsed?.success) return parsed.data;
  } catch {
    // Fall through: any undecodable cursor gets the same answer.
  }
  throw httpError('invalid_cursor', 'The cursor is not one this endpoint issued; start again without it.');
}

/** Builds a page from `limit + 1` fetched rows: the extra row only says whether there is more. */
export function pageOf<Row, Item>(
  rows: readonly Row[],
  limit: number,
  toItem: (row: Row) => Item,
  positionOf: (row: Row) => Record<string, string>,
): Page<Item> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items: items.map(toItem),
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(positionOf(last)) : null,
  };
}

/** The cursor of lists ordered by a number (loans, repayments, calls), newest first: the last one shown. */
const numberCursor = z.object({ number: z.string().regex(/^\d{1,9}$/) });

/** The number a page lists before, from a number cursor; undefined for the first page. */
export function beforeNumberOf(cursor: string | undefined): number | undefined {
  const after = decodeCursor(cursor, numberCursor);
  return after === undefined ? undefined : Number(after.number);
}

/** A page of rows fetched `limit + 1`, newest first by `numberOf` (see pageOf). */
export function numberedPage<Row>(rows: readonly Row[], limit: number, numberOf: (row: Row) => number): Page<Row> {
  return pageOf(
    rows,
    limit,
    (row) => row,
    (row) => ({ number: String(numberOf(row)) }),
  );
}
