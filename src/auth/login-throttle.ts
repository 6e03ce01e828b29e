import { assert } from '../assert';
import type { Clock } from '../clock';
import type { LoginLimits } from '../config';

/**
 * Failed logins slow later attempts down; they never lock a username out (docs/adr/0005-auth.md).
 * Two counts of failures, each over a fixed window:
 * - per username and client address: past its budget, attempts from that address wait, so a
 *   guesser slows only itself and the owner elsewhere logs in at once;
 * - per username from all addresses, with a much larger budget: against guessing spread over many
 *   addresses, attempts from anywhere wait, which slows the owner too but never refuses them.
 * The wait doubles with each failure past the budget, from `delayBaseMs` up to `delayMaxMs`.
 * In memory, per process, like the per-address limit in front of it.
 */
export class LoginThrottle {
  private readonly perUsernameAndAddress: FailureWindows;
  private readonly perUsername: FailureWindows;

  constructor(
    private readonly limits: Omit<LoginLimits, 'maxPerIp'>,
    private readonly clock: Clock,
    /** How an attempt waits: tests pass one that records the wait instead of sleeping through it. */
    readonly wait: (ms: number) => Promise<void> = sleep,
  ) {
    assert(limits.delayBaseMs > 0 && limits.delayMaxMs >= limits.delayBaseMs, 'login delays out of order');
    const windowMs = limits.windowSeconds * 1000;
    this.perUsernameAndAddress = new FailureWindows(windowMs, FAILURE_KEYS_MAX);
    this.perUsername = new FailureWindows(windowMs, FAILURE_KEYS_MAX);
  }

  /**
   * Counts an attempt the moment it arrives, as a failure until settled otherwise, and says how long
   * it waits before its password is checked. Counting on arrival makes attempts sent side by side
   * wait longer and longer, as they would one after another; and a client that hangs up before the
   * answer cannot make a guess free.
   */
  begin(username: string, address: string): LoginAttempt {
    const now = this.clock.now().getTime();
    const pair = JSON.stringify([username, address]);
    const delayMs = Math.max(
      this.delayAfter(this.perUsernameAndAddress.count(pair, now), this.limits.delayAfterFailuresPerUsernameAndIp),
      this.delayAfter(this.perUsername.count(username, now), this.limits.delayAfterFailuresPerUsername),
    );
    this.perUsernameAndAddress.add(pair, now);
    this.perUsername.add(username, now);
    let settled = false;
    return {
      delayMs,
      settle: (outcome) => {
        if (settled) return;
        settled = true;
        if (outcome === 'failed') return;
        // Not a wrong password after all: take the attempt back. A success also clears the
        // address's failures; the count over all addresses keeps the others, or every login of the
        // owner would hand a spread attack a fresh budget.
        const at = this.clock.now().getTime();
        this.perUsername.subtract(username, at);
        if (outcome === 'succeeded') this.perUsernameAndAddress.forget(pair);
        else this.perUsernameAndAddress.subtract(pair, at);
      },
    };
  }

  /** No wait within the budget; then the base, doubled for each failure past it, up to the maximum. */
  private delayAfter(failures: number, budget: number): number {
    if (failures < budget) return 0;
    const doublings = Math.min(failures - budget, DOUBLINGS_MAX);
    return Math.min(this.limits.delayBaseMs * 2 ** doublings, this.limits.delayMaxMs);
  }
}

export type LoginOutcome = 'succeeded' | 'failed' | 'void';

export interface LoginAttempt {
  /** How long the attempt waits before its password is checked. */
  readonly delayMs: number;
  /** `failed`: a wrong password; `void`: refused before any password was checked. Once only. */
  settle(outcome: LoginOutcome): void;
}

/** Past this many the wait is at its maximum anyway; it keeps 2 ** n a small integer. */
const DOUBLINGS_MAX = 30;
/**
 * Keys each count holds at most. Windows all have the same length, so the oldest key is the one
 * whose window ends first; a full map drops it. Filling the map takes this many distinct usernames
 * or addresses, which the per-address limit in front slows down.
 */
const FAILURE_KEYS_MAX = 100_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Failures per key over a fixed window that starts at the key's first failure. */
class FailureWindows {
  private readonly windows = new Map<string, { failures: number; endsAtMs: number }>();

  constructor(
    private readonly windowMs: number,
    private readonly keysMax: number,
  ) {}

  count(key: string, nowMs: number): number {
    const window = this.windows.get(key);
    return window !== undefined && window.endsAtMs > nowMs ? window.failures : 0;
  }

  add(key: string, nowMs: number): void {
    const window = this.windows.get(key);
    if (window !== undefined && window.endsAtMs > nowMs) {
      window.failures += 1;
      return;
    }
    // A new window goes to the end of the map, which keeps the map ordered by end of window.
    this.windows.delete(key);
    while (this.windows.size >= this.keysMax) this.dropOldest();
    this.windows.set(key, { failures: 1, endsAtMs: nowMs + this.windowMs });
  }

  subtract(key: string, nowMs: number): void {
    const window = this.windows.get(key);
    if (window !== undefined && window.endsAtMs > nowMs && window.failures > 0) window.failures -= 1;
  }

  forget(key: string): void {
    this.windows.delete(key);
  }

  private dropOldest(): void {
    const oldest = this.windows.keys().next();
    if (!oldest.done) this.windows.delete(oldest.value);
  }
}
