import { z } from 'zod';
import { AppError } from '../../src/errors';
import {
  beforeNumberOf,
  CURSOR_LENGTH_MAX,
  decodeCursor,
  encodeCursor,
  numberedPage,
  pageOf,
} from '../../src/http/pagination';
import { seqCursor } from '../../src/http/schemas';
import { memberCursor } from '../../src/members/members.schemas';

const positionSchema = z.object({ postedAt: z.string(), id: z.uuid() });
const ID = '0f8fad5b-d9cb-469f-a165-70867728950e';

function cursorError(cursor: string): AppError {
  try {
    decodeCursor(cursor, positionSchema);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected the cursor to be refused, but it decoded');
}

describe('encodeCursor and decodeCursor', () => {
  it('when a position is encoded and decoded, then it comes back equal', () => {
    const position = { postedAt: '2026-06-14T08:30:00.123Z', id: ID };
    const cursor = encodeCursor(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, positionSchema)).toEqual(position);
  });

  it('when the position holds Chinese text, then it round-trips', () => {
    const schema = z.object({ name: z.string() });
    expect(decodeCursor(encodeCursor({ name: '景德镇华瓷陶瓷有限公司' }), schema)).toEqual({
      name: '景德镇华瓷陶瓷有限公司',
    });
  });

  it('when the longest member-register position is encoded, then it is within the limit and decodes', () => {
    // 200 units that JSON escapes as six bytes each: the largest name the register's cursor carries.
    const position = { name: '\u0001'.repeat(200), id: ID };
    const cursor = encodeCursor(position);
    expect(cursor.length).toBeLessThanOrEqual(CURSOR_LENGTH_MAX);
    expect(decodeCursor(cursor, memberCursor)).toEqual(position);
  });

  it('when there is no cursor, then the result is undefined (first page)', () => {
    expect(decodeCursor(undefined, positionSchema)).toBeUndefined();
  });

  it.each([
    ['garbage', '!!!not a cursor!!!'],
    ['an empty string', ''],
    ['base64url of text that is not JSON', Buffer.from('hello, world', 'utf8').toString('base64url')],
    ['base64url of JSON of the wrong shape', encodeCursor({ page: '2' })],
    ['base64url of JSON with a field of the wrong type', Buffer.from('{"postedAt":1,"id":"x"}').toString('base64url')],
    ['base64url of a JSON array', Buffer.from('["2026-06-14", "x"]').toString('base64url')],
    ['base64url of JSON null', Buffer.from('null').toString('base64url')],
    [
      'longer than any cursor issued, even of the right shape',
      encodeCursor({ postedAt: 'x'.repeat(CURSOR_LENGTH_MAX), id: ID }),
    ],
  ])('when the cursor is %s, then it is refused as invalid_cursor (400)', (_, cursor) => {
    const error = cursorError(cursor);
    expect(error.code).toBe('invalid_cursor');
    expect(error.status).toBe(400);
  });
});

describe('pageOf', () => {
  interface Row {
    id: string;
    n: number;
  }
  const rows = (count: number): Row[] => Array.from({ length: count }, (_, i) => ({ id: `row-${i + 1}`, n: i + 1 }));
  const toItem = (row: Row): number => row.n;
  const positionOf = (row: Row): Record<string, string> => ({ id: row.id });

  it('when there is one row more than the limit, then the extra row is dropped and nextCursor points at the last item', () => {
    const page = pageOf(rows(4), 3, toItem, positionOf);
    expect(page.items).toEqual([1, 2, 3]);
    expect(page.nextCursor).toBe(encodeCursor({ id: 'row-3' }));
    expect(decodeCursor(page.nextCursor ?? undefined, z.object({ id: z.string() }))).toEqual({ id: 'row-3' });
  });

  it('when there are exactly limit rows, then there is no next cursor', () => {
    expect(pageOf(rows(3), 3, toItem, positionOf)).toEqual({ items: [1, 2, 3], nextCursor: null });
  });

  it('when there are fewer rows than the limit, then there is no next cursor', () => {
    expect(pageOf(rows(2), 3, toItem, positionOf)).toEqual({ items: [1, 2], nextCursor: null });
  });

  it('when there are no rows, then the page is empty', () => {
    expect(pageOf(rows(0), 3, toItem, positionOf)).toEqual({ items: [], nextCursor: null });
  });
});

describe('lists ordered by number', () => {
  test('when a page is cut, then its cursor names the last number shown and the next page lists before it', () => {
    const rows = [{ number: 9 }, { number: 7 }, { number: 4 }];
    const page = numberedPage(rows, 2, (row) => row.number);
    expect(page.items).toEqual([{ number: 9 }, { number: 7 }]);
    expect(beforeNumberOf(page.nextCursor!)).toBe(7);
    expect(numberedPage(rows, 3, (row) => row.number).nextCursor).toBeNull();
    expect(beforeNumberOf(undefined)).toBeUndefined();
  });

  test('when a number cursor is forged, then it is refused', () => {
    expect(() => beforeNumberOf(encodeCursor({ number: '-1' }))).toThrow(
      expect.objectContaining({ code: 'invalid_cursor' }),
    );
    expect(() => beforeNumberOf(encodeCursor({ number: '1234567890' }))).toThrow(
      expect.objectContaining({ code: 'invalid_cursor' }),
    );
  });
});

describe('sequence cursors', () => {
  test('when a sequence position is not digits, then its schema refuses it rather than throwing', () => {
    // decodeCursor would turn a throw into invalid_cursor too; the schema itself must not throw.
    for (const seq of ['', 'abc', '1.5', '-1']) {
      expect(seqCursor.safeParse({ seq }).success).toBe(false);
    }
    expect(seqCursor.safeParse({ seq: '9223372036854775808' }).success).toBe(false);
    expect(seqCursor.safeParse({ seq: '9223372036854775807' }).success).toBe(true);
  });
});
