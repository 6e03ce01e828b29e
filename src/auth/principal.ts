export const ROLES = ['admin', 'committee', 'member', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

/** The authenticated user behind a request, as loaded from the database for that request. */
export interface Principal {
  userId: string;
  username: string;
  role: Role;
  /** NULL: every fund (platform operators). */
  fundId: string | null;
  /** The member enterprise the user acts for (member users always, committee users usually). */
  memberId: string | null;
}

/** Who did something, as recorded on entries and audit rows: a user, or the service's own jobs. */
export interface Actor {
  userId: string | null;
  username: string;
  role: Role | 'system';
}

export function actorOf(principal: Principal): Actor {
  return { userId: principal.userId, username: principal.username, role: principal.role };
}

export const SYSTEM_ACTOR: Actor = { userId: null, username: 'system', role: 'system' };
