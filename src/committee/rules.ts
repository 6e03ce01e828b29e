import { parseRatio } from '../funds/policy';
import { Money } from '../money/money';

/**
 * The committee's counting rules, pure. Every comparison of a share is done on integers —
 * `count × denominator` against `base × numerator` — never with fractions or floats.
 *
 * - Quorum ("a majority of the non-recused committee members present and voting"): the base is
 *   every non-recused committee member of the fund (committee users bound to a member), and what
 *   counts is those who were recorded present AND cast a vote; an abstention is a vote cast, so it
 *   counts towards quorum. The quorum is met when voting × d > eligible × n for the policy's
 *   `committee.quorum` ratio n/d — STRICTLY more: with "1/2", exactly half is not a majority.
 * - Pass: more approvals than rejections, generalised to `committee.passThreshold` n/d as
 *   approve × d > (approve + reject) × n; abstentions count neither way. A tie is a rejection.
 * - Large loans (amount ≥ `committee.largeLoanAmount`) also need approve × d ≥ cast × n for
 *   `committee.largeLoanPassThreshold` ("2/3": two thirds of the votes cast, abstentions included,
 *   reached or exceeded).
 */

export interface CountInput {
  /** Non-recused committee members of the fund. */
  eligible: number;
  approve: number;
  reject: number;
  abstain: number;
  /** The figure the large-loan threshold compares; null: the simple threshold only. */
  amount: string | null;
  committee: { quorum: string; passThreshold: string; largeLoanAmount: string; largeLoanPassThreshold: string };
}

export interface CountResult {
  voting: number;
  quorumMet: boolean;
  largeLoan: boolean;
  passed: boolean;
}

/** count/base strictly above n/d. */
export function above(count: number, base: number, ratio: string): boolean {
  const { numerator, denominator } = parseRatio(ratio);
  return count * denominator > base * numerator;
}

/** count/base at or above n/d. */
export function atLeast(count: number, base: number, ratio: string): boolean {
  const { numerator, denominator } = parseRatio(ratio);
  return count * denominator >= base * numerator;
}

export function count(input: CountInput): CountResult {
  const voting = input.approve + input.reject + input.abstain;
  const quorumMet = input.eligible > 0 && above(voting, input.eligible, input.committee.quorum);
  const largeLoan = input.amount !== null && new Money(input.amount).gte(input.committee.largeLoanAmount);
  const majority = above(input.approve, input.approve + input.reject, input.committee.passThreshold);
  const large = !largeLoan || atLeast(input.approve, voting, input.committee.largeLoanPassThreshold);
  return { voting, quorumMet, largeLoan, passed: quorumMet && majority && large };
}
