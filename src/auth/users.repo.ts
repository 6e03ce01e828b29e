import { prepared, type Db, type Trx } from '../db/knex';
import type { FundRow } from '../funds/funds.repo';
import type { Role } from './principal';

export interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  role: Role;
  fund_id: string | null;
  member_id: string | null;
  disabled: boolean;
  token_version: number;
  created_at: Date;
  updated_at: Date;
}

// Named statements list their columns: a cached plan of `SELECT *` fails once a column is added.
const USER_COLUMNS = `u.id, u.username, u.password_hash, u.role, u.fund_id, u.member_id, u.disabled, u.token_version,
  u.created_at, u.updated_at`;

export async function findUserById(db: Db, id: string): Promise<UserRow | undefined> {
  const result = await prepared<{ rows: UserRow[] }>(
    db,
    'users_by_id',
    `SELECT ${USER_COLUMNS} FROM users u WHERE u.id = ?`,
    [id],
  );
  return result.rows[0];
}

/**
 * The user and, in the same round trip, the fund a request names (undefined when it does not
 * exist): every authenticated request under /funds/{fundId} needs both.
 */
export async function findUserAndFund(
  db: Db,
  userId: string,
  fundId: string,
): Promise<{ user: UserRow; fund: FundRow | undefined } | undefined> {
  const result = await prepared<{ rows: (UserRow & { fund: FundRow | null })[] }>(
    db,
    'users_by_id_with_fund',
    `SELECT ${USER_COLUMNS}, (SELECT row_to_json(f) FROM funds f WHERE f.id = ?) AS fund FROM users u WHERE u.id = ?`,
    [fundId, userId],
  );
  const row = result.rows[0];
  if (!row) return undefined;
  const { fund, ...user } = row;
  return { user, fund: fund ? { ...fund, created_at: new Date(fund.created_at) } : undefined };
}

export async function findUserByUsername(db: Db, username: string): Promise<UserRow | undefined> {
  return db<UserRow>('users').where({ username }).first();
}

export async function insertUser(
  trx: Trx,
  user: Pick<UserRow, 'username' | 'password_hash' | 'role' | 'fund_id' | 'member_id'>,
): Promise<UserRow | undefined> {
  const rows = (await trx('users').insert(user).onConflict('username').ignore().returning('*')) as UserRow[];
  return rows[0];
}

export async function updateUser(
  trx: Trx,
  id: string,
  changes: Partial<Pick<UserRow, 'password_hash' | 'disabled'>>,
): Promise<UserRow | undefined> {
  // Any change to credentials or status invalidates every token issued so far.
  const rows = (await trx('users')
    .where({ id })
    .update({ ...changes, token_version: trx.raw('token_version + 1'), updated_at: trx.fn.now() })
    .returning('*')) as UserRow[];
  return rows[0];
}

export async function listUsers(db: Db): Promise<UserRow[]> {
  return db<UserRow>('users').orderBy('username').limit(10_000);
}

export async function memberExists(db: Db, fundId: string, memberId: string): Promise<boolean> {
  const row = await db('members').where({ fund_id: fundId, id: memberId }).first('id');
  return row !== undefined;
}

export async function fundExists(db: Db, fundId: string): Promise<boolean> {
  const row = await db('funds').where({ id: fundId }).first('id');
  return row !== undefined;
}
