import type { Knex } from 'knex';
import type { Actor } from '../src/auth/principal';
import type { Role } from '../src/auth/principal';
import { dateIn, type Clock } from '../src/clock';
import { inTransaction } from '../src/db/transaction';
import type { Services } from '../src/http/context';
import { POOL_CASH } from '../src/ledger/chart';
import type { PostEntryInput } from '../src/ledger/ledger.types';
import { insertMember } from '../src/members/members.repo';

/**
 * The demo fund `npm start` creates on first start in demo mode: a ceramics-park alliance with a
 * few member enterprises, their paid-in capital, one bank charge, and one user per role. The names
 * are fictional. The passwords below are for the demo only and are printed at start-up.
 */
export const DEMO_USERS: readonly { username: string; password: string; role: Role; member?: number }[] = [
  { username: 'admin', password: 'demo-admin-pass', role: 'admin' },
  { username: 'committee', password: 'demo-committee-pass', role: 'committee', member: 0 },
  { username: 'member', password: 'demo-member-pass', role: 'member', member: 1 },
  { username: 'auditor', password: 'demo-auditor-pass', role: 'auditor' },
];

const DEMO_MEMBERS: readonly { name: string; paidIn: string }[] = [
  { name: '景德镇华瓷陶瓷有限公司', paidIn: '800000.00' },
  { name: '昌南窑业股份有限公司', paidIn: '600000.00' },
  { name: '青花釉料科技有限公司', paidIn: '450000.00' },
  { name: '瓷都包装材料有限公司', paidIn: '350000.00' },
];

const SEED_ACTOR: Actor = { userId: null, username: 'seed', role: 'system' };

export interface SeedDeps {
  db: Knex;
  clock: Clock;
  services: Services;
}

/** Seeds once: does nothing when the `admin` user already exists. */
export async function seedDemo(deps: SeedDeps): Promise<{ seeded: boolean; fundId?: string }> {
  const existing = await deps.db('users').where({ username: 'admin' }).first('id');
  if (existing) return { seeded: false };
  const { ledger, audit, funds } = deps.services;

  const { fundId, memberIds, capitalIds } = await inTransaction(deps.db, async (trx) => {
    const fund = await funds.create(
      trx,
      { name: '陶瓷产业园互助基金 (demo)', currency: 'CNY', timezone: 'Asia/Shanghai', policy: {} },
      SEED_ACTOR,
    );
    const members: string[] = [];
    const capital: string[] = [];
    for (const member of DEMO_MEMBERS) {
      const { id } = await insertMember(trx, fund.id, member.name);
      members.push(id);
      capital.push((await ledger.ensureSubAccount(trx, fund.id, '3001', { memberId: id })).id);
    }
    await audit.record(trx, {
      fundId: fund.id,
      actor: SEED_ACTOR,
      action: 'funds.fund.create',
      targetType: 'fund',
      targetId: fund.id,
      payload: { name: fund.name, members: DEMO_MEMBERS.map((member) => member.name) },
      requestId: null,
    });
    return { fundId: fund.id, memberIds: members, capitalIds: capital };
  });

  const today = deps.clock.now();
  const daysAgo = (days: number): string => dateIn('Asia/Shanghai', new Date(today.getTime() - days * 86_400_000));
  const accounts = new Map(
    ((await deps.db('accounts').where({ fund_id: fundId }).select('code', 'id')) as { code: string; id: string }[]).map(
      (row) => [row.code, row.id],
    ),
  );
  /** One entry and its audit row in one transaction, as every money movement is written. */
  const post = (entry: Omit<PostEntryInput, 'fundId' | 'actor'>) =>
    inTransaction(deps.db, async (trx) => {
      const { entry: posted } = await ledger.postEntry(trx, { ...entry, fundId, actor: SEED_ACTOR });
      await audit.record(trx, {
        fundId,
        actor: SEED_ACTOR,
        action: 'ledger.entry.post',
        targetType: 'journal_entry',
        targetId: posted.id,
        payload: { kind: posted.kind, memo: posted.memo },
        requestId: null,
      });
    });

  for (const [index, member] of DEMO_MEMBERS.entries()) {
    await post({
      kind: 'manual.opening_balance',
      effectiveDate: daysAgo(90 - index * 10),
      memo: `Paid-in capital of ${member.name}`,
      lines: [
        { accountId: accounts.get(POOL_CASH)!, side: 'debit', amount: member.paidIn },
        { accountId: capitalIds[index]!, side: 'credit', amount: member.paidIn },
      ],
      idempotencyKey: `demo-capital-${index}`,
    });
  }
  await post({
    kind: 'manual.bank_charge',
    effectiveDate: daysAgo(5),
    memo: 'Bank transfer fees',
    lines: [
      { accountId: accounts.get('5002')!, side: 'debit', amount: '35.00' },
      { accountId: accounts.get(POOL_CASH)!, side: 'credit', amount: '35.00' },
    ],
    idempotencyKey: 'demo-bank-charge',
  });

  const users = deps.services.users;
  for (const user of DEMO_USERS) {
    const platform = user.role === 'admin';
    await users.create(
      {
        username: user.username,
        password: user.password,
        role: user.role,
        fundId: platform ? undefined : fundId,
        memberId: user.member === undefined ? undefined : memberIds[user.member],
      },
      SEED_ACTOR,
    );
  }
  return { seeded: true, fundId };
}
