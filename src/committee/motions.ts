import type { Actor } from '../auth/principal';
import type { Db, Trx } from '../db/knex';
import type { Fund } from '../funds/funds.service';

/**
 * Motions: agenda items whose matter belongs to another part of the fund — the formation of a
 * joint guarantee group, a step of a recovery case. The committee does what it does for every
 * item (agenda, attendance, votes, recusal, quorum, pass rule, resolution number, minutes); the
 * matter's own service says who the parties are, what figure the large-item threshold compares,
 * and acts on the outcome inside the same transaction as the decision.
 *
 * An item names its matter by (kind, `motion_id`); the matter's row names the item that decided
 * it (a foreign key of its own table), so both directions are checked by the database.
 */

export const MOTION_KINDS = ['joint_group', 'recovery_action'] as const;
export type MotionKind = (typeof MOTION_KINDS)[number];

/** Why a member enterprise is a party to a matter: its representatives are recused. */
export type MotionPartyRole =
  'borrower' | 'guarantor' | 'peer_lender' | 'related_group' | 'group_member' | 'group_related';

export interface MotionParty {
  memberId: string;
  memberName: string;
  role: MotionPartyRole;
}

/** What an agenda item shows of its matter, and what the count needs. */
export interface MotionSummary {
  id: string;
  kind: MotionKind;
  /** One line for the agenda and the minutes. */
  title: string;
  /** The loan the matter concerns, if any (a recovery step); null for a joint group. */
  loanId: string | null;
  /**
   * The figure compared with `committee.largeLoanAmount`: at or above it, the large-loan pass
   * threshold applies too. Null: the simple pass threshold only.
   */
  amount: string | null;
  /** The matter's own view, as its service shows it (plain JSON). */
  details: Record<string, unknown>;
  /**
   * What the resolution decides besides its title, one sentence each, in the minutes' language
   * (a recovery step's waiver of the guarantees still standing: one per guarantor and amount).
   * The agenda, the item and the minutes show them; empty when there is nothing more.
   */
  clauses: string[];
}

export interface MotionOutcome {
  itemId: string;
  /** The resolution number the decision gets ("2026-11-03-2"). */
  resolution: string;
  /** The meeting's date: the value date of anything the decision posts. */
  decidedOn: string;
  passed: boolean;
  actor: Actor;
  requestId: string | null;
}

/** A rule that refused a passed motion: recorded on the item, which closes as `ineligible`. */
export interface MotionFailure {
  rule: string;
  detail: string;
  [figure: string]: unknown;
}

export type MotionDecision = { status: 'approved' | 'rejected' } | { status: 'ineligible'; failures: MotionFailure[] };

export interface MotionHandler {
  readonly kind: MotionKind;
  /**
   * Locks the matter for a new agenda and checks it may be decided now; throws the matter's own
   * problem (404 when it does not exist in the fund, 409/422 when its state forbids it). The
   * committee has already checked that no open item names it.
   */
  lockForAgenda(trx: Trx, fund: Fund, id: string): Promise<MotionSummary>;
  /**
   * Whether the matter still waits for a decision; when not, its item closes `withdrawn`. Locks the
   * matter, so nothing changes it between this answer and `decide` in the same transaction.
   */
  awaitingDecision(trx: Trx, fund: Fund, id: string): Promise<boolean>;
  /** The member enterprises party to the matter, for recusal. */
  parties(db: Db, fund: Fund, id: string): Promise<MotionParty[]>;
  /**
   * Acts on a decision taken with quorum, in the decision's transaction. A failed vote must
   * answer `rejected`; a passed one `approved`, or `ineligible` with the rules that refused it.
   */
  decide(trx: Trx, fund: Fund, id: string, outcome: MotionOutcome): Promise<MotionDecision>;
  /** Summaries of many matters at once (meeting views and minutes), in any order. */
  summaries(db: Db, fund: Fund, ids: readonly string[]): Promise<MotionSummary[]>;
}

export type MotionHandlers = Readonly<Record<MotionKind, MotionHandler>>;
