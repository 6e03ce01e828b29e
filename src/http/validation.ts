import type { z } from 'zod';
import { httpError } from './http.errors';

export type InputLocation = 'path' | 'query' | 'body' | 'header';

export interface FieldError {
  in: InputLocation;
  /** JSON Pointer (RFC 6901) to the field within its location. */
  pointer: string;
  message: string;
}

/** Parses request input with a zod schema; a failure is a 400 that lists every field at fault. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, location: InputLocation): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors: FieldError[] = result.error.issues.slice(0, 50).map((issue) => ({
    in: location,
    // RFC 6901: "" is the whole document, "/a/0" a member of it.
    pointer: issue.path.map((part) => `/${String(part).replace(/~/g, '~0').replace(/\//g, '~1')}`).join(''),
    message: issue.message,
  }));
  const first = errors[0];
  throw httpError(
    'validation_failed',
    first
      ? `${location}${first.pointer ? ` ${first.pointer}` : ''}: ${first.message}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`
      : `The ${location} is not valid.`,
    { errors },
  );
}
