import type { Knex } from 'knex';
import { inTransaction } from '../db/transaction';
import type { AuditService } from '../audit/audit.service';
import type { FundRow } from '../funds/funds.repo';
import { authError } from './auth.errors';
import { decoyHash, hashPassword, passwordProblem, verifyPassword } from './password';
import { SYSTEM_ACTOR, ROLES, type Actor, type Principal, type Role } from './principal';
import type { TokenService } from './tokens';
import * as users from './users.repo';

/** Every failed login takes at least this long, whether the username exists or not. */
export const LOGIN_FAILURE_MS_MIN = 400;
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._-]{1,63}$/;

export interface UserView {
  id: string;
  username: string;
  role: Role;
  fundId: string | null;
  memberId: string | null;
  disabled: boolean;
  createdAt: Date;
}

export function toUserView(row: users.UserRow): UserView {
  return {
    id: row.id,
    username: row.username,
    role: row.role,
    fundId: row.fund_id,
    memberId: row.member_id,
    disabled: row.disabled,
    createdAt: row.created_at,
  };
}

export function normalizeUsername(username: string): string {
  return username.trim().toLowerCase();
}

/**
 * How long a user or fund row read for one request may serve the next ones. Changes made through
 * UserService in this process take effect at once (the row is evicted); a change made by another
 * process (the CLI, another instance) takes effect within this time. See docs/adr/0005-auth.md.
 */
export const PRINCIPAL_CACHE_MS = 1000;
const PRINCIPAL_CACHE_ENTRIES_MAX = 10_000;

/** A small time-bounded cache: at most `entries` rows, each served for at most `ttlMs`. */
class RecentRows<Row> {
  private readonly rows = new Map<string, { row: Row; until: number }>();
  constructor(
    private readonly ttlMs: number,
    private readonly entries: number,
  ) {}
  get(key: string): Row | undefined {
    const hit = this.rows.get(key);
    if (hit === undefined) return undefined;
    if (hit.until > Date.now()) return hit.row;
    this.rows.delete(key);
    return undefined;
  }
  set(key: string, row: Row): void {
    if (this.rows.size >= this.entries) this.rows.clear();
    this.rows.set(key, { row, until: Date.now() + this.ttlMs });
  }
  delete(key: string): void {
    this.rows.delete(key);
  }
}

export class AuthService {
  private readonly recentUsers = new RecentRows<users.UserRow>(PRINCIPAL_CACHE_MS, PRINCIPAL_CACHE_ENTRIES_MAX);
  private readonly recentFunds = new RecentRows<FundRow>(PRINCIPAL_CACHE_MS, PRINCIPAL_CACHE_ENTRIES_MAX);

  constructor(
    private readonly db: Knex,
    private readonly tokens: TokenService,
  ) {}

  /** Drops a user's cached row: called after every change to it. */
  forget(userId: string): void {
    this.recentUsers.delete(userId);
  }

  /**
   * Checks a username and password. Unknown users are checked against a decoy hash and every
   * failure is padded to the same minimum time, so neither timing nor the answer tells which it was.
   */
  async login(username: string, password: string): Promise<{ token: string; expiresAt: Date; user: UserView }> {
    const started = Date.now();
    const user = await users.findUserByUsername(this.db, normalizeUsername(username));
    const matches = await verifyPassword(password, user?.password_hash ?? (await decoyHash()));
    if (!user || !matches || user.disabled) {
      const wait = started + LOGIN_FAILURE_MS_MIN - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      throw authError('invalid_credentials', 'The username or password is wrong.');
    }
    const { token, expiresAt } = this.tokens.issue({ sub: user.id, role: user.role, tv: user.token_version });
    return { token, expiresAt, user: toUserView(user) };
  }

  /**
   * The principal behind an `Authorization: Bearer` header, as the database knows it now, and the
   * fund row the request names (read in the same query).
   */
  async authenticate(
    header: string | undefined,
    fundId?: string,
  ): Promise<{ principal: Principal; fund: FundRow | undefined }> {
    if (!header) throw authError('unauthenticated', 'Send a bearer token: Authorization: Bearer <token>.');
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header.trim());
    if (!match?.[1]) throw authError('invalid_token', 'The Authorization header is not a bearer token.');
    const claims = this.tokens.verify(match[1]);
    let user = this.recentUsers.get(claims.sub);
    let fund = fundId === undefined ? undefined : this.recentFunds.get(fundId);
    // A token newer than the cached row (a password was just changed) needs a fresh read.
    const stale = user !== undefined && user.token_version !== claims.tv;
    if (user === undefined || stale || (fundId !== undefined && fund === undefined)) {
      const found =
        fundId === undefined
          ? { user: await users.findUserById(this.db, claims.sub), fund: undefined }
          : await users.findUserAndFund(this.db, claims.sub, fundId);
      user = found?.user;
      fund = found?.fund;
      if (user) this.recentUsers.set(user.id, user);
      if (fund) this.recentFunds.set(fund.id, fund);
    }
    if (!user || user.disabled || user.token_version !== claims.tv) {
      throw authError('invalid_token', 'The token has been revoked.');
    }
    const principal: Principal = {
      userId: user.id,
      username: user.username,
      role: user.role,
      fundId: user.fund_id,
      memberId: user.member_id,
    };
    return { principal, fund };
  }
}

export interface NewUser {
  username: string;
  password: string;
  role: Role;
  fundId?: string | undefined;
  memberId?: string | undefined;
}

/** User administration (the CLI and the demo seed); each change is audited. */
export class UserService {
  constructor(
    private readonly db: Knex,
    private readonly audit: AuditService,
    /** Told about every user changed, after the change commits (AuthService.forget). */
    private readonly onChanged: (userId: string) => void = () => undefined,
  ) {}

  async create(input: NewUser, actor: Actor = SYSTEM_ACTOR): Promise<UserView> {
    const username = normalizeUsername(input.username);
    if (!USERNAME_PATTERN.test(username)) {
      throw authError(
        'invalid_user',
        'A username is 2–64 of a–z, 0–9, ".", "_" or "-", starting with a letter or digit.',
      );
    }
    if (!(ROLES as readonly string[]).includes(input.role)) {
      throw authError('invalid_user', `The role must be one of ${ROLES.join(', ')}.`);
    }
    const problem = passwordProblem(input.password);
    if (problem) throw authError('invalid_user', `The password ${problem}.`);
    if (input.role === 'member' && (!input.fundId || !input.memberId)) {
      throw authError('invalid_user', 'A member user must be bound to a fund and a member enterprise.');
    }
    if (input.memberId && !input.fundId) {
      throw authError('invalid_user', 'A member binding needs the fund too.');
    }
    if (input.fundId && !(await users.fundExists(this.db, input.fundId))) {
      throw authError('invalid_user', `Fund ${input.fundId} does not exist.`);
    }
    if (input.fundId && input.memberId && !(await users.memberExists(this.db, input.fundId, input.memberId))) {
      throw authError('invalid_user', `Member ${input.memberId} is not in fund ${input.fundId}.`);
    }
    const password_hash = await hashPassword(input.password);
    return inTransaction(this.db, async (trx) => {
      const row = await users.insertUser(trx, {
        username,
        password_hash,
        role: input.role,
        fund_id: input.fundId ?? null,
        member_id: input.memberId ?? null,
      });
      if (!row) throw authError('username_taken', `The username ${username} is taken.`);
      await this.audit.record(trx, {
        fundId: row.fund_id,
        actor,
        action: 'auth.user.create',
        targetType: 'user',
        targetId: row.id,
        payload: { username, role: row.role, fundId: row.fund_id, memberId: row.member_id },
        requestId: null,
      });
      return toUserView(row);
    });
  }

  async setDisabled(username: string, disabled: boolean, actor: Actor = SYSTEM_ACTOR): Promise<UserView> {
    return this.update(username, { disabled }, disabled ? 'auth.user.disable' : 'auth.user.enable', actor);
  }

  async setPassword(username: string, password: string, actor: Actor = SYSTEM_ACTOR): Promise<UserView> {
    const problem = passwordProblem(password);
    if (problem) throw authError('invalid_user', `The password ${problem}.`);
    return this.update(username, { password_hash: await hashPassword(password) }, 'auth.user.set_password', actor);
  }

  async list(): Promise<UserView[]> {
    return (await users.listUsers(this.db)).map(toUserView);
  }

  private async update(
    username: string,
    changes: Partial<Pick<users.UserRow, 'password_hash' | 'disabled'>>,
    action: string,
    actor: Actor,
  ): Promise<UserView> {
    const user = await inTransaction(this.db, async (trx) => {
      const existing = await users.findUserByUsername(trx, normalizeUsername(username));
      if (!existing) throw authError('invalid_user', `No user ${username}.`);
      const row = await users.updateUser(trx, existing.id, changes);
      if (!row) throw authError('invalid_user', `No user ${username}.`);
      await this.audit.record(trx, {
        fundId: row.fund_id,
        actor,
        action,
        targetType: 'user',
        targetId: row.id,
        payload: { username: row.username, ...(changes.disabled === undefined ? {} : { disabled: changes.disabled }) },
        requestId: null,
      });
      return toUserView(row);
    });
    this.onChanged(user.id);
    return user;
  }
}
