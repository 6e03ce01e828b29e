import type { Knex } from 'knex';
import type { Actor } from '../src/auth/principal';
import { UserService } from '../src/auth/auth.service';
import type { Role } from '../src/auth/principal';
import { dateIn, type Clock } from '../src/clock';
import { inTransaction } from '../src/db/transaction';
import type { Services } from '../src/http/context';
import { POOL_CASH } from '../src/ledger/chart';
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

  const { fundId, memberIds } = await inTransaction(deps.db, async (trx) => {
    const fund = await funds.create(
      trx,
      { name: '陶瓷产业园互助基金 (demo)', currency: 'CNY', timezone: 'Asia/Shanghai', policy: {} },
      SEED_ACTOR,
    );
    const ids: string[] = [];
    for (const member of DEMO_MEMBERS) ids.push((await insertMember(trx, fund.id, member.name)).id);
    await audit.record(trx, {
      fundId: fund.id,
      actor: SEED_ACTOR,
      action: 'funds.fund.create',
      targetType: 'fund',
      targetId: fund.id,
      payload: { name: fund.name, members: DEMO_MEMBERS.map((member) => member.name) },
      requestId: null,
    });
    return { fundId: fund.id, memberIds: ids };
  });

  const today = deps.clock.now();
  const daysAgo = (days: number): string => dateIn('Asia/Shanghai', new Date(today.getTime() - days * 86_400_000));
  const [pool] = await deps.db('accounts').where({ fund_id: fundId, code: POOL_CASH }).pluck('id');
  for (const [index, member] of DEMO_MEMBERS.entries()) {
    await inTransaction(deps.db, async (trx) => {
      const capital = await ledger.ensureSubAccount(trx, fundId, '3001', { memberId: memberIds[index]! });
      const { entry } = await ledger.postEntry(trx, {
        fundId,
        kind: 'manual.opening_balance',
        effectiveDate: daysAgo(90 - index * 10),
        memo: `Paid-in capital of ${member.name}`,
        lines: [
          { accountId: pool as string, side: 'debit', amount: member.paidIn },
          { accountId: capital.id, side: 'credit', amount: member.paidIn },
        ],
        idempotencyKey: `demo-capital-${index}`,
        actor: SEED_ACTOR,
      });
      await audit.record(trx, {
        fundId,
        actor: SEED_ACTOR,
        action: 'ledger.entry.post',
        targetType: 'journal_entry',
        targetId: entry.id,
        payload: { kind: entry.kind, amount: member.paidIn },
        requestId: null,
      });
    });
  }
  await inTransaction(deps.db, async (trx) => {
    const [charges] = await trx('accounts').where({ fund_id: fundId, code: '5002' }).pluck('id');
    const { entry } = await ledger.postEntry(trx, {
      fundId,
      kind: 'manual.bank_charge',
      effectiveDate: daysAgo(5),
      memo: 'Bank transfer fees',
      lines: [
        { accountId: charges as string, side: 'debit', amount: '35.00' },
        { accountId: pool as string, side: 'credit', amount: '35.00' },
      ],
      idempotencyKey: 'demo-bank-charge',
      actor: SEED_ACTOR,
    });
    await audit.record(trx, {
      fundId,
      actor: SEED_ACTOR,
      action: 'ledger.entry.post',
      targetType: 'journal_entry',
      targetId: entry.id,
      payload: { kind: entry.kind, amount: '35.00' },
      requestId: null,
    });
  });

  const users = new UserService(deps.db, audit);
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
