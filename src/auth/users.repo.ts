import type { Db, Trx } from '../db/knex';
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

export async function findUserById(db: Db, id: string): Promise<UserRow | undefined> {
  return db<UserRow>('users').where({ id }).first();
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
