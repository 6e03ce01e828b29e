import { formatAmount, Money } from '../money/money';
import type { FundUserRow, MemberRow } from './members.repo';
import type { MemberView, UserViewBody } from './members.schemas';

/** A member with the capital figures its view shows, read in the same request. */
export interface MemberWithCapital {
  row: MemberRow;
  /** Balance of 3001:<member>, NUMERIC text; "0" when the account does not exist yet. */
  paidIn: string;
  overdueCapitalCall: boolean;
}

/** The member's editable details as the API names them: what PATCH compares and audits. */
export interface MemberDetails {
  name: string;
  nameEn: string | null;
  creditCode: string | null;
  legalRepresentative: string | null;
  contact: { name: string | null; phone: string | null; email: string | null };
  industry: string | null;
  allianceRole: MemberRow['alliance_role'];
  relatedGroup: string | null;
  subscribedAmount: string;
}

export function detailsOf(row: MemberRow): MemberDetails {
  return {
    name: row.name,
    nameEn: row.name_en,
    creditCode: row.credit_code,
    legalRepresentative: row.legal_representative,
    contact: { name: row.contact_name, phone: row.contact_phone, email: row.contact_email },
    industry: row.industry,
    allianceRole: row.alliance_role,
    relatedGroup: row.related_group,
    subscribedAmount: formatAmount(new Money(row.subscribed_amount)),
  };
}

export function toMemberView(member: MemberWithCapital): MemberView {
  const { row } = member;
  return {
    id: row.id,
    fundId: row.fund_id,
    ...detailsOf(row),
    joinedOn: row.joined_on,
    status: row.status,
    statusReason: row.status_reason,
    statusChangedAt: row.status_changed_at?.toISOString() ?? null,
    paidInAmount: formatAmount(new Money(member.paidIn)),
    flags: { overdueCapitalCall: member.overdueCapitalCall },
    version: row.version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export function toUserView(row: FundUserRow): UserViewBody {
  return {
    id: row.id,
    username: row.username,
    role: row.role,
    fundId: row.fund_id,
    memberId: row.member_id,
    disabled: row.disabled,
    createdAt: row.created_at.toISOString(),
  };
}
