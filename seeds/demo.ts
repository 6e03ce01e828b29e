import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import pino, { type Logger } from 'pino';
import type { Role } from '../src/auth/principal';
import { dateIn, type Clock } from '../src/clock';
import type { Config } from '../src/config';
import { creditCodeCheckChar } from '../src/members/credit-code';
import { DemoApi, DemoClock, type Person } from './demo/api';
import { atHour, DEMO_TIME_ZONE, demoCalendar, type DemoCalendar } from './demo/calendar';
import {
  bankChapter,
  capitalChapter,
  earlyLoansChapter,
  LATE_JOINER,
  periodChapter,
  recentLoansChapter,
} from './demo/chapters';
import { Story } from './demo/story';

/**
 * The demo fund `npm start` creates on first start in demo mode: a ceramics-park alliance of
 * twelve enterprises (fictional names, valid credit codes) a little over a year into its mutual-aid
 * fund, its history built through the API on a clock set back to the fund's establishment (the
 * story: README, "The demo fund"; the chapters: seeds/demo/chapters.ts). The passwords below are
 * for the demo only and are printed at start-up; the fund's other users (committee seats and
 * enterprise representatives) get random passwords nobody is told.
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
  relatedGroup?: string;
  /** The user who acts for it: `committee` for a seat on the loan committee, else `member`. */
  representative: { username: string; role: 'committee' | 'member' };
  phone: string;
}

/** The first is the lead enterprise. Subscriptions add up to 3,000,000.00. */
export const DEMO_MEMBERS: readonly DemoMember[] = [
  {
    name: '景德镇华瓷陶瓷有限公司',
    legalRepresentative: '陈国华',
    industry: '日用陶瓷',
    subscribed: '600000.00',
    representative: { username: 'committee', role: 'committee' },
    phone: '0798-8201101',
  },
  {
    name: '昌南窑业股份有限公司',
    legalRepresentative: '李昌明',
    industry: '建筑陶瓷',
    subscribed: '450000.00',
    relatedGroup: '昌南集团',
    representative: { username: 'member', role: 'member' },
    phone: '0798-8201102',
  },
  {
    name: '青花釉料科技有限公司',
    legalRepresentative: '王青',
    industry: '釉料色料',
    subscribed: '300000.00',
    representative: { username: 'wangqing', role: 'committee' },
    phone: '0798-8201103',
  },
  {
    name: '瓷都包装材料有限公司',
    legalRepresentative: '张海',
    industry: '包装材料',
    subscribed: '250000.00',
    representative: { username: 'zhanghai', role: 'member' },
    phone: '0798-8201104',
  },
  {
    name: '浮梁高岭土矿业有限公司',
    legalRepresentative: '刘岭',
    industry: '原料开采',
    subscribed: '250000.00',
    representative: { username: 'liuling', role: 'committee' },
    phone: '0798-8201105',
  },
  {
    name: '珠山日用瓷制造有限公司',
    legalRepresentative: '周珠',
    industry: '日用陶瓷',
    subscribed: '200000.00',
    representative: { username: 'zhouzhu', role: 'member' },
    phone: '0798-8201106',
  },
  {
    name: '乐平窑炉设备有限公司',
    legalRepresentative: '吴乐平',
    industry: '窑炉设备',
    subscribed: '200000.00',
    representative: { username: 'wuleping', role: 'committee' },
    phone: '0798-8201107',
  },
  {
    name: '瑶里陶瓷文创有限公司',
    legalRepresentative: '郑瑶',
    industry: '文创陶瓷',
    subscribed: '150000.00',
    representative: { username: 'zhengyao', role: 'member' },
    phone: '0798-8201108',
  },
  {
    name: '昌江建筑陶瓷有限公司',
    legalRepresentative: '李昌江',
    industry: '建筑陶瓷',
    subscribed: '200000.00',
    relatedGroup: '昌南集团',
    representative: { username: 'lichangjiang', role: 'committee' },
    phone: '0798-8201109',
  },
  {
    name: '御窑颜料化工有限公司',
    legalRepresentative: '孙御',
    industry: '釉料色料',
    subscribed: '150000.00',
    representative: { username: 'sunyu', role: 'member' },
    phone: '0798-8201110',
  },
  {
    name: '景华物流有限公司',
    legalRepresentative: '钱景华',
    industry: '物流',
    subscribed: '150000.00',
    representative: { username: 'qianjinghua', role: 'member' },
    phone: '0798-8201111',
  },
  {
    name: '陶溪川电商服务有限公司',
    legalRepresentative: '冯溪',
    industry: '电子商务',
    subscribed: '100000.00',
    representative: { username: 'fengxi', role: 'member' },
    phone: '0798-8201112',
  },
];

/** The member indices of the committee seats, in the order they chair the monthly meetings. */
const SEATS = DEMO_MEMBERS.flatMap((member, index) => (member.representative.role === 'committee' ? [index] : []));

/** A valid code (GB 32100-2015) for demo member `index`: enterprise, Jingdezhen (360200). */
export function demoCreditCode(index: number): string {
  const body = `91360200MA35${String(index + 1).padStart(2, '0')}K7Q`;
  return body + creditCodeCheckChar(body);
}

export interface SeedDeps {
  db: Knex;
  config: Config;
  /** The real time: the story's last day is the day before today (in the fund's time zone). */
  clock: Clock;
  /** The service's logger; without it the seed logs nothing. */
  logger?: Logger;
}

export interface SeedResult {
  seeded: boolean;
  fundId?: string;
}

/** Seeds once: does nothing when the `admin` user already exists. */
export async function seedDemo(deps: SeedDeps): Promise<SeedResult> {
  const existing = await deps.db('users').where({ username: 'admin' }).first('id');
  if (existing) return { seeded: false };
  const endAt = deps.clock.now();
  const calendar = demoCalendar(dateIn(DEMO_TIME_ZONE, endAt));
  const clock = new DemoClock(atHour(calendar.establishedOn, 8));
  // The seed's own requests are not the service's traffic: only failures are logged.
  const logger = deps.logger ? deps.logger.child({ demoSeed: true }, { level: 'warn' }) : pino({ level: 'silent' });
  const api = await DemoApi.start({ db: deps.db, config: deps.config, logger, clock });
  try {
    const { story, founders } = await establish(api, calendar);
    capitalChapter(story, DEMO_MEMBERS, () => addMember(founders, LATE_JOINER));
    bankChapter(story);
    periodChapter(story);
    earlyLoansChapter(story);
    recentLoansChapter(story);
    await story.play(endAt);
    await verifyBooks(api, founders);
    return { seeded: true, fundId: story.fundId };
  } catch (error) {
    // What was done stays (the books are append-only) and a later start will not seed again.
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`${reason}\nThe demo seed did not finish: start again with an empty data directory.`, {
      cause: error,
    });
  } finally {
    await api.close();
  }
}

interface Founders {
  api: DemoApi;
  admin: Person;
  fundId: string;
  /** By member index (the late joiner's slot fills when it joins). */
  memberIds: string[];
  representatives: Person[];
}

/**
 * The day the fund is established: the platform administrator (created as the CLI would, there
 * being nobody yet to create it), the fund with its policy, the founding members, the users and
 * the committee's rotation.
 */
async function establish(api: DemoApi, calendar: DemoCalendar): Promise<{ story: Story; founders: Founders }> {
  const platform = DEMO_USERS[0]!;
  const created = await api.services.users.create({
    username: platform.username,
    password: platform.password,
    role: platform.role,
  });
  const admin: Person = { id: created.id, username: created.username, role: created.role };
  const fund = await api.post<{ id: string }>(admin, '/funds', {
    name: '陶瓷产业园互助基金 (demo)',
    allianceName: '陶瓷产业园企业互助联盟',
    currency: 'CNY',
    timezone: DEMO_TIME_ZONE,
    establishedOn: calendar.establishedOn,
    // 3.65 % a year on ACT/365 is 0.01 % a day; a 0.1 % service fee; the rest are the defaults.
    policy: { rateAnnual: '0.0365', dayCount: 'ACT/365', serviceFeeRate: '0.001' },
  });
  const founders: Founders = { api, admin, fundId: fund.id, memberIds: [], representatives: [] };
  const founding = [...DEMO_MEMBERS.keys()].filter((index) => index !== LATE_JOINER);
  for (const index of founding) await registerMember(founders, index);
  // Each password is hashed with scrypt (tens of milliseconds): the users are created side by side.
  const [checker] = await Promise.all([
    addUser(founders, 'checker', 'admin'),
    addUser(founders, 'auditor', 'auditor'),
    ...founding.map((index) => addRepresentative(founders, index)),
  ]);
  const story = new Story(api, calendar, fund.id, founders.memberIds, {
    admin,
    checker,
    representatives: founders.representatives,
    seats: SEATS,
  });
  await story.setRotation(monthsFrom(calendar.establishedOn, calendar.daysAgo(-62)));
  return { story, founders };
}

/** A member joins today, with the user who will act for it. */
async function addMember(founders: Founders, index: number): Promise<void> {
  await registerMember(founders, index);
  await addRepresentative(founders, index);
}

async function registerMember(founders: Founders, index: number): Promise<void> {
  const member = DEMO_MEMBERS[index]!;
  const view = await founders.api.post<{ id: string }>(founders.admin, `/funds/${founders.fundId}/members`, {
    name: member.name,
    creditCode: demoCreditCode(index),
    legalRepresentative: member.legalRepresentative,
    contact: { name: member.legalRepresentative, phone: member.phone },
    industry: member.industry,
    allianceRole: index === 0 ? 'lead' : 'member',
    relatedGroup: member.relatedGroup,
    subscribedAmount: member.subscribed,
  });
  founders.memberIds[index] = view.id;
}

async function addRepresentative(founders: Founders, index: number): Promise<Person> {
  const { username, role } = DEMO_MEMBERS[index]!.representative;
  const person = await addUser(founders, username, role, founders.memberIds[index]);
  founders.representatives[index] = person;
  return person;
}

async function addUser(founders: Founders, username: string, role: Role, memberId?: string): Promise<Person> {
  const password = DEMO_USERS.find((demo) => demo.username === username)?.password ?? randomPassword();
  const view = await founders.api.post<{ id: string }>(founders.admin, `/funds/${founders.fundId}/users`, {
    username,
    password,
    role,
    memberId,
  });
  return { id: view.id, username, role };
}

function randomPassword(): string {
  return randomBytes(18).toString('base64url');
}

/** The months `YYYY-MM` from the month of `from` through the month of `to`. */
function monthsFrom(from: string, to: string): string[] {
  const months: string[] = [];
  let [year, month] = [Number(from.slice(0, 4)), Number(from.slice(5, 7))];
  const last = to.slice(0, 7);
  for (;;) {
    const name = `${year}-${String(month).padStart(2, '0')}`;
    months.push(name);
    if (name >= last) return months;
    [year, month] = month === 12 ? [year + 1, 1] : [year, month + 1];
  }
}

/** The seed's last word: the books balance and prove out, the ledger and the audit chain verify. */
async function verifyBooks(api: DemoApi, founders: Founders): Promise<void> {
  const path = `/funds/${founders.fundId}`;
  const trial = await api.get<{ balanced: boolean; verified: boolean }>(founders.admin, `${path}/trial-balance`);
  const ledger = await api.get<{ ok: boolean; findings: unknown[] }>(founders.admin, `${path}/ledger/verify`);
  const audit = await api.get<{ ok: boolean; firstBrokenId: string | null }>(founders.admin, `${path}/audit/verify`);
  if (!trial.balanced || !trial.verified || !ledger.ok || !audit.ok) {
    throw new Error(
      `demo seed: the books do not verify: trial balance ${JSON.stringify({ balanced: trial.balanced, verified: trial.verified })}, ledger ${JSON.stringify(ledger.findings)}, audit chain broken at ${audit.firstBrokenId}`,
    );
  }
}
