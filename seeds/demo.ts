import type { Knex } from 'knex';
import type { Actor, Role } from '../src/auth/principal';
import { dateIn, type Clock } from '../src/clock';
import { inTransaction } from '../src/db/transaction';
import type { Fund } from '../src/funds/funds.service';
import type { Services } from '../src/http/context';
import { POOL_CASH } from '../src/ledger/chart';
import { creditCodeCheckChar } from '../src/members/credit-code';

/**
 * The demo fund `npm start` creates on first start in demo mode, modelled on a ceramics-park
 * alliance: a lead enterprise and eleven members (fictional names, valid credit codes), ¥3,000,000
 * subscribed and ¥2,800,000 paid in, a second capital call for the rest with one payment against
 * it, a little bank interest and a bank charge, and one user per role. The passwords below are for
 * the demo only and are printed at start-up.
 */
export const DEMO_USERS: readonly { username: string; password: string; role: Role; member?: number }[] = [
  { username: 'admin', password: 'demo-admin-pass', role: 'admin' },
  { username: 'committee', password: 'demo-committee-pass', role: 'committee', member: 0 },
  { username: 'member', password: 'demo-member-pass', role: 'member', member: 1 },
  { username: 'auditor', password: 'demo-auditor-pass', role: 'auditor' },
];

interface DemoMember {
  name: string;
  legalRepresentative: string;
  industry: string;
  subscribed: string;
  paidIn: string;
  relatedGroup?: string;
}

/** The first is the lead enterprise. Subscriptions add up to 3,000,000.00, paid-in to 2,800,000.00. */
export const DEMO_MEMBERS: readonly DemoMember[] = [
  {
    name: '景德镇华瓷陶瓷有限公司',
    legalRepresentative: '陈国华',
    industry: '日用陶瓷',
    subscribed: '600000.00',
    paidIn: '600000.00',
  },
  {
    name: '昌南窑业股份有限公司',
    legalRepresentative: '李昌明',
    industry: '建筑陶瓷',
    subscribed: '450000.00',
    paidIn: '450000.00',
    relatedGroup: '昌南集团',
  },
  {
    name: '青花釉料科技有限公司',
    legalRepresentative: '王青',
    industry: '釉料色料',
    subscribed: '300000.00',
    paidIn: '300000.00',
  },
  {
    name: '瓷都包装材料有限公司',
    legalRepresentative: '张海',
    industry: '包装材料',
    subscribed: '250000.00',
    paidIn: '200000.00',
  },
  {
    name: '浮梁高岭土矿业有限公司',
    legalRepresentative: '刘岭',
    industry: '原料开采',
    subscribed: '250000.00',
    paidIn: '250000.00',
  },
  {
    name: '珠山日用瓷制造有限公司',
    legalRepresentative: '周珠',
    industry: '日用陶瓷',
    subscribed: '200000.00',
    paidIn: '150000.00',
  },
  {
    name: '乐平窑炉设备有限公司',
    legalRepresentative: '吴乐平',
    industry: '窑炉设备',
    subscribed: '200000.00',
    paidIn: '200000.00',
  },
  {
    name: '瑶里陶瓷文创有限公司',
    legalRepresentative: '郑瑶',
    industry: '文创陶瓷',
    subscribed: '150000.00',
    paidIn: '100000.00',
  },
  {
    name: '昌江建筑陶瓷有限公司',
    legalRepresentative: '李昌江',
    industry: '建筑陶瓷',
    subscribed: '200000.00',
    paidIn: '200000.00',
    relatedGroup: '昌南集团',
  },
  {
    name: '御窑颜料化工有限公司',
    legalRepresentative: '孙御',
    industry: '釉料色料',
    subscribed: '150000.00',
    paidIn: '120000.00',
  },
  {
    name: '景华物流有限公司',
    legalRepresentative: '钱景华',
    industry: '物流',
    subscribed: '150000.00',
    paidIn: '150000.00',
  },
  {
    name: '陶溪川电商服务有限公司',
    legalRepresentative: '冯溪',
    industry: '电子商务',
    subscribed: '100000.00',
    paidIn: '80000.00',
  },
];

/** A valid code (GB 32100-2015) for demo member `index`: enterprise, Jingdezhen (360200). */
export function demoCreditCode(index: number): string {
  const body = `91360200MA35${String(index + 1).padStart(2, '0')}K7Q`;
  return body + creditCodeCheckChar(body);
}

const SEED_ACTOR: Actor = { userId: null, username: 'seed', role: 'system' };
const TIME_ZONE = 'Asia/Shanghai';
const ESTABLISHED_DAYS_AGO = 420;

export interface SeedDeps {
  db: Knex;
  clock: Clock;
  services: Services;
}

/** Seeds once: does nothing when the `admin` user already exists. */
export async function seedDemo(deps: SeedDeps): Promise<{ seeded: boolean; fundId?: string }> {
  const existing = await deps.db('users').where({ username: 'admin' }).first('id');
  if (existing) return { seeded: false };
  const { services, clock } = deps;
  const daysAgo = (days: number): string => dateIn(TIME_ZONE, new Date(clock.now().getTime() - days * 86_400_000));

  /** Each step commits with its audit row, as a request would. */
  const step = <T>(
    action: string,
    targetType: string,
    work: (trx: Knex.Transaction) => Promise<{ result: T; targetId: string; payload: Record<string, unknown> }>,
    fundId?: () => string,
  ): Promise<T> =>
    inTransaction(deps.db, async (trx) => {
      const { result, targetId, payload } = await work(trx);
      await services.audit.record(trx, {
        fundId: fundId ? fundId() : targetId,
        actor: SEED_ACTOR,
        action,
        targetType,
        targetId,
        payload,
        requestId: null,
      });
      return result;
    });

  const fund: Fund = await step('funds.fund.create', 'fund', async (trx) => {
    const created = await services.funds.create(
      trx,
      {
        name: '陶瓷产业园互助基金 (demo)',
        allianceName: '陶瓷产业园企业互助联盟',
        currency: 'CNY',
        timezone: TIME_ZONE,
        establishedOn: daysAgo(ESTABLISHED_DAYS_AGO),
        policy: {},
      },
      SEED_ACTOR,
    );
    return { result: created, targetId: created.id, payload: { name: created.name, demo: true } };
  });
  const inFund = () => fund.id;

  const memberIds: string[] = [];
  for (const [index, member] of DEMO_MEMBERS.entries()) {
    const joinedOn = daysAgo(ESTABLISHED_DAYS_AGO - index * 5);
    const created = await step(
      'members.member.create',
      'member',
      async (trx) => {
        const { row } = await services.members.create(trx, fund, {
          name: member.name,
          creditCode: demoCreditCode(index),
          legalRepresentative: member.legalRepresentative,
          industry: member.industry,
          allianceRole: index === 0 ? 'lead' : 'member',
          relatedGroup: member.relatedGroup,
          joinedOn,
          subscribedAmount: member.subscribed,
        });
        return { result: row, targetId: row.id, payload: { name: member.name, demo: true } };
      },
      inFund,
    );
    memberIds.push(created.id);
    await step(
      'capital.contribution.record',
      'contribution',
      async (trx) => {
        const contribution = await services.capital.recordContribution(trx, {
          fund,
          memberId: created.id,
          amount: member.paidIn,
          receivedOn: joinedOn,
          bankReference: `DEMO-${joinedOn.replaceAll('-', '')}-${String(index + 1).padStart(3, '0')}`,
          memo: '首期出资',
          actor: SEED_ACTOR,
        });
        return { result: contribution, targetId: contribution.id, payload: { amount: member.paidIn, demo: true } };
      },
      inFund,
    );
  }

  // The second call asks for what is still unpaid; one member has paid part of it.
  await step(
    'capital.call.create',
    'capital_call',
    async (trx) => {
      const call = await services.capital.createCall(trx, {
        fund,
        percent: '100',
        calledOn: daysAgo(20),
        dueOn: daysAgo(-25),
        memo: '第二期出资：认缴余额',
        actor: SEED_ACTOR,
      });
      return { result: call, targetId: call.id, payload: { percent: '100', demo: true } };
    },
    inFund,
  );
  await step(
    'capital.contribution.record',
    'contribution',
    async (trx) => {
      const contribution = await services.capital.recordContribution(trx, {
        fund,
        memberId: memberIds[3]!,
        amount: '30000.00',
        receivedOn: daysAgo(6),
        bankReference: `DEMO-${daysAgo(6).replaceAll('-', '')}-CALL2-004`,
        memo: '第二期出资（部分）',
        actor: SEED_ACTOR,
      });
      return { result: contribution, targetId: contribution.id, payload: { amount: '30000.00', demo: true } };
    },
    inFund,
  );

  const accounts = new Map(
    (
      (await deps.db('accounts').where({ fund_id: fund.id }).select('code', 'id')) as { code: string; id: string }[]
    ).map((row) => [row.code, row.id]),
  );
  const manual = (
    key: string,
    kind: string,
    date: string,
    memo: string,
    debit: string,
    credit: string,
    amount: string,
  ) =>
    step(
      'ledger.entry.post',
      'journal_entry',
      async (trx) => {
        const { entry } = await services.ledger.postEntry(trx, {
          fundId: fund.id,
          kind,
          effectiveDate: date,
          memo,
          lines: [
            { accountId: accounts.get(debit)!, side: 'debit', amount },
            { accountId: accounts.get(credit)!, side: 'credit', amount },
          ],
          idempotencyKey: key,
          actor: SEED_ACTOR,
        });
        return { result: entry, targetId: entry.id, payload: { kind, memo, demo: true } };
      },
      inFund,
    );
  await manual(
    'demo-bank-interest',
    'manual.bank_interest',
    daysAgo(30),
    'Bank interest on pool cash',
    POOL_CASH,
    '4005',
    '1836.42',
  );
  await manual('demo-bank-charge', 'manual.bank_charge', daysAgo(5), 'Bank transfer fees', '5002', POOL_CASH, '35.00');

  for (const user of DEMO_USERS) {
    const platform = user.role === 'admin';
    await services.users.create(
      {
        username: user.username,
        password: user.password,
        role: user.role,
        fundId: platform ? undefined : fund.id,
        memberId: user.member === undefined ? undefined : memberIds[user.member],
      },
      SEED_ACTOR,
    );
  }
  return { seeded: true, fundId: fund.id };
}
