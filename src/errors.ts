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
