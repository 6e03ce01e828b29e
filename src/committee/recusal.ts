import type * as repo from './committee.repo';
import type { RecusalView } from './committee.schemas';

/**
 * Automatic recusal: the representative (users.member_id) of the borrower, of a guarantor, of the
 * peer lender or of a member in the borrower's related group may not vote on the loan and does
 * not count towards the quorum of its item (committee.repo.ts loanParties says who the parties are).
 * For a motion the matter's service names the parties (motions.ts): for a joint group's formation,
 * its members and the members of their related groups.
 */

export type PartyRole = repo.PartyRow['role'];

const ROLE_WORDS: Record<PartyRole, string> = {
  borrower: 'the borrower',
  guarantor: 'a guarantor of the loan',
  peer_lender: 'the peer lender',
  related_group: 'in the same related group as the borrower',
  group_member: 'a member of the joint guarantee group',
  group_related: 'in the same related group as a member of the joint guarantee group',
};

/** Why a committee member may not vote on a loan, or undefined. */
export function recusalOf(member: repo.CommitteeMemberRow, parties: readonly repo.PartyRow[]): RecusalView | undefined {
  const mine = parties.filter((party) => party.member_id === member.member_id);
  if (mine.length === 0) return undefined;
  const reasons = [...new Set(mine.map((party) => party.role))];
  const name = mine[0]!.member_name;
  return {
    userId: member.user_id,
    username: member.username,
    memberId: member.member_id,
    memberName: name,
    reasons,
    detail: `You represent ${name}, which is ${reasons.map((r) => ROLE_WORDS[r]).join(' and ')}: you are recused from this item and do not count towards its quorum.`,
  };
}

export function recusalsOf(
  committee: readonly repo.CommitteeMemberRow[],
  parties: readonly repo.PartyRow[],
): RecusalView[] {
  return committee.flatMap((member) => {
    const recusal = recusalOf(member, parties);
    return recusal ? [recusal] : [];
  });
}
