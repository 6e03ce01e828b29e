import { assert } from './assert';

/**
 * A refusal the caller can act on. Each feature lists its codes with their HTTP status and title in
 * an exhaustive table (`x.errors.ts`), so a new code does not compile without a status. The HTTP
 * layer renders these as RFC 9457 problem details; anything else is an internal error.
 */
export interface ErrorSpec {
  status: number;
  title: string;
}

export type ErrorTable<Code extends string> = Record<Code, ErrorSpec>;

export class AppError<Code extends string = string> extends Error {
  readonly status: number;
  readonly title: string;

  constructor(
    readonly code: Code,
    spec: ErrorSpec,
    readonly detail: string,
    /** Extra members of the problem document: the rule, the limit, the actual figure… */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'AppError';
    this.status = spec.status;
    this.title = spec.title;
  }
}

/** Builds the `fail(code, detail, extensions)` function of a feature from its error table. */
export function errorFactory<Code extends string>(table: ErrorTable<Code>) {
  return (code: Code, detail: string, extensions: Record<string, unknown> = {}): AppError<Code> =>
    new AppError(code, table[code], detail, extensions);
}

/** One failed rule (or blocker) of a refusal: its stable name and its own sentence with the figures. */
export interface NamedFailure {
  name: string;
  detail: string;
}

/**
 * The `detail` of a refusal built from a list of failures. A person reads the detail, not the
 * list: so when more than one rule fails, the sentence names every one of them, numbered, each
 * with its own sentence and figures — not only the first. One failure is its own sentence. The
 * problem keeps its first `rule` (or `code`) and the whole list for programs.
 */
export function detailNamingEach(opening: string, failures: readonly NamedFailure[]): string {
  const [first] = failures;
  assert(first, 'a refusal names at least one failure');
  if (failures.length === 1) return first.detail;
  const each = failures.map((failure, index) => `(${index + 1}) ${failure.name} — ${failure.detail}`);
  return `${opening}: ${each.join(' ')}`;
}
