import type { Principal, Role } from './principal';

/**
 * Which roles may do what. Routes name one permission each; the authorization tests hold their
 * own copy of the expected matrix, so a change here without a test change fails.
 */
export const PERMISSIONS = {
  'funds.create': ['admin'],
  'funds.read': ['admin', 'committee', 'member', 'auditor'],
  'accounts.read': ['admin', 'committee', 'member', 'auditor'],
  'entries.read': ['admin', 'committee', 'member', 'auditor'],
  'entries.post': ['admin'],
  'entries.reverse': ['admin'],
  'trial_balance.read': ['admin', 'committee', 'auditor'],
  'holds.read': ['admin', 'committee', 'auditor'],
  'audit.read': ['admin', 'committee', 'auditor'],
  'audit.verify': ['admin', 'committee', 'auditor'],
  'ledger.verify': ['admin', 'committee', 'auditor'],
  'session.read': ['admin', 'committee', 'member', 'auditor'],
  'funds.update': ['admin'],
  'policy.read': ['admin', 'committee', 'member', 'auditor'],
  'policy.change': ['admin'],
  // Member users see only their own enterprise (memberScope); the services enforce it.
  'members.read': ['admin', 'committee', 'member', 'auditor'],
  'members.create': ['admin'],
  'members.update': ['admin'],
  'members.status': ['admin'],
  'users.read': ['admin'],
  'users.create': ['admin'],
  'contributions.read': ['admin', 'committee', 'member', 'auditor'],
  'contributions.record': ['admin'],
  'contributions.reverse': ['admin'],
  'capital_calls.read': ['admin', 'committee', 'member', 'auditor'],
  'capital_calls.create': ['admin'],
  'statements.read': ['admin', 'committee', 'member', 'auditor'],
  'exits.read': ['admin', 'committee', 'member', 'auditor'],
  'exits.request': ['admin', 'member'],
  'exits.pay': ['admin'],
  'periods.read': ['admin', 'committee', 'auditor'],
  'periods.close': ['admin'],
  // Loan applications: member users act for their own enterprise only (the loans service checks
  // it); consents are given by the users bound to the guarantor or the peer lender.
  'loan_applications.read': ['admin', 'committee', 'member', 'auditor'],
  'loan_applications.create': ['admin', 'member'],
  'loan_applications.update': ['admin', 'member'],
  'loan_applications.submit': ['admin', 'member'],
  'loan_applications.withdraw': ['admin', 'member'],
  'loan_guarantees.consent': ['committee', 'member'],
  'loan_applications.lender_consent': ['committee', 'member'],
  // Committee: admins keep the rotation and convene meetings; committee members attend and vote.
  'committee.rotation.read': ['admin', 'committee', 'auditor'],
  'committee.rotation.write': ['admin'],
  'meetings.read': ['admin', 'committee', 'auditor'],
  'meetings.manage': ['admin'],
  'meetings.vote': ['committee'],
  // An administrator, or the meeting's chair (the service checks the chair).
  'meetings.decide': ['admin', 'committee'],
  'loans.fast_track': ['admin', 'committee'],
  // Loans after approval: member users see their own (borrower, guarantor, peer lender).
  'loans.read': ['admin', 'committee', 'member', 'auditor'],
  'loans.disburse': ['admin'],
  // Repayments are recorded and reversed by administrators (money received at the bank).
  'loans.repay': ['admin'],
  'loans.repayment_reverse': ['admin'],
  // Extensions (展期): the borrower (or an admin for it) asks; guarantors consent; the committee decides.
  'loan_extensions.read': ['admin', 'committee', 'member', 'auditor'],
  'loan_extensions.request': ['admin', 'member'],
  'loan_extensions.withdraw': ['admin', 'member'],
  // Bank loans arranged through the alliance: the borrower's users report repayments to the bank
  // (the service checks the borrower); administrators record them too.
  'loans.bank_repayment_report': ['admin', 'member'],
  // Joint guarantee groups (联保小组): a member (or an admin for it) proposes one; each member's
  // users agree; the committee approves it as a motion; a member leaves by its users or an admin.
  'joint_groups.read': ['admin', 'committee', 'member', 'auditor'],
  'joint_groups.propose': ['admin', 'member'],
  'joint_groups.consent': ['committee', 'member'],
  'joint_groups.leave': ['admin', 'member'],
  // Recovery of defaulted loans: administrators record realisations and receipts and propose the
  // committee's steps; member users see the cases of loans they borrowed or guarantee.
  'recovery.read': ['admin', 'committee', 'member', 'auditor'],
  'recovery.manage': ['admin'],
  // Reports (loan book, portfolio at risk, exposure, guarantee network): member users see only
  // their own rows; the services scope them.
  'reports.read': ['admin', 'committee', 'member', 'auditor'],
  // The fund at a glance: figures of the whole fund, so oversight roles only (no member users).
  'overview.read': ['admin', 'committee', 'auditor'],
  // The daily loan job (accrual, overdue, classification): run by administrators or the CLI.
  'jobs.run': ['admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

export function roleMay(role: Role, permission: Permission): boolean {
  return (PERMISSIONS[permission] as readonly Role[]).includes(role);
}

/** Users bound to a fund see only that fund; platform users (no fund) see every fund. */
export function canSeeFund(principal: Principal, fundId: string): boolean {
  return principal.fundId === null || principal.fundId === fundId;
}

/** Member users see only their own enterprise's accounts and the entries that touch them. */
export function memberScope(principal: Principal): string | undefined {
  return principal.role === 'member' ? (principal.memberId ?? undefined) : undefined;
}
