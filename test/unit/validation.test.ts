import { z } from 'zod';
import { AppError } from '../../src/errors';
import { parseInput } from '../../src/http/validation';

const entrySchema = z.object({
  memo: z.string().min(1),
  lines: z.array(z.object({ accountId: z.uuid(), side: z.enum(['debit', 'credit']), amount: z.string() })).min(2),
});

function validationError(schema: z.ZodType, value: unknown, location: 'path' | 'query' | 'body' | 'header'): AppError {
  try {
    parseInput(schema, value, location);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected the input to be refused, but it parsed');
}

const ACCOUNT = 'c56a4180-65aa-42ec-a945-5fd21dec0538';

describe('parseInput', () => {
  it('when the input is valid, then the parsed data is returned', () => {
    const input = {
      memo: '入股',
      lines: [
        { accountId: ACCOUNT, side: 'debit', amount: '10.00' },
        { accountId: ACCOUNT, side: 'credit', amount: '10.00' },
      ],
    };
    expect(parseInput(entrySchema, input, 'body')).toEqual(input);
  });

  it('when the schema transforms, then the transformed output is returned', () => {
    const schema = z.object({ limit: z.coerce.number().int().default(50) });
    expect(parseInput(schema, { limit: '20' }, 'query')).toEqual({ limit: 20 });
    expect(parseInput(schema, {}, 'query')).toEqual({ limit: 50 });
  });

  it('when several fields are wrong, then a 400 validation_failed lists each with its location and JSON Pointer', () => {
    const error = validationError(
      entrySchema,
      {
        memo: '',
        lines: [
          { accountId: ACCOUNT, side: 'debit', amount: 10 },
          { accountId: 'nope', side: 'sideways', amount: '10.00' },
        ],
      },
      'body',
    );
    expect(error.code).toBe('validation_failed');
    expect(error.status).toBe(400);
    const errors = error.extensions.errors as { in: string; pointer: string; message: string }[];
    expect(errors.map(({ in: location, pointer }) => [location, pointer])).toEqual([
      ['body', '/memo'],
      ['body', '/lines/0/amount'],
      ['body', '/lines/1/accountId'],
      ['body', '/lines/1/side'],
    ]);
    for (const fieldError of errors) {
      expect(typeof fieldError.message).toBe('string');
      expect(fieldError.message.length).toBeGreaterThan(0);
    }
    expect(error.detail).toBe(`body /memo: ${errors[0]?.message} (and 3 more)`);
  });

  it('when exactly one field is wrong, then the detail names it without a count', () => {
    const error = validationError(z.object({ fundId: z.uuid() }), { fundId: 'x' }, 'path');
    const errors = error.extensions.errors as { in: string; pointer: string; message: string }[];
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ in: 'path', pointer: '/fundId' });
    expect(error.detail).toBe(`path /fundId: ${errors[0]?.message}`);
  });

  it('when a required field is missing, then it is listed with its pointer', () => {
    const error = validationError(entrySchema, { lines: [] }, 'body');
    const pointers = (error.extensions.errors as { pointer: string }[]).map((fieldError) => fieldError.pointer);
    expect(pointers).toEqual(['/memo', '/lines']);
  });

  it('when a key contains "/" or "~", then the pointer escapes them as ~1 and ~0 (RFC 6901)', () => {
    const schema = z.object({ 'a/b': z.object({ 'c~d': z.string() }) });
    const error = validationError(schema, { 'a/b': { 'c~d': 1 } }, 'query');
    expect(error.extensions.errors).toEqual([{ in: 'query', pointer: '/a~1b/c~0d', message: expect.any(String) }]);
  });

  it('when the whole input has the wrong type, then the pointer is "" (the whole document, RFC 6901)', () => {
    const error = validationError(entrySchema, 'not an object', 'body');
    const errors = error.extensions.errors as { in: string; pointer: string }[];
    expect(errors.map(({ in: location, pointer }) => [location, pointer])).toEqual([['body', '']]);
  });

  it('when more than 50 fields are wrong, then the first 50 are listed', () => {
    const schema = z.array(z.string());
    const error = validationError(
      schema,
      Array.from({ length: 60 }, (_, i) => i),
      'body',
    );
    const pointers = (error.extensions.errors as { pointer: string }[]).map((fieldError) => fieldError.pointer);
    expect(pointers).toHaveLength(50);
    expect(pointers[0]).toBe('/0');
    expect(pointers[49]).toBe('/49');
  });
});
