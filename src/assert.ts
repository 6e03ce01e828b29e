/**
 * Asserts an invariant the code relies on. A failure is a bug, never a user error: it surfaces as a
 * 500 with the message logged, and stops the operation before anything is written.
 */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

export class InvariantError extends Error {
  constructor(message: string) {
    super(`invariant violated: ${message}`);
    this.name = 'InvariantError';
  }
}
