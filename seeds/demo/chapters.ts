import { addDays } from '../../src/clock';
import { formatAmount, Money } from '../../src/money/money';
import { CLOSE_AFTER_DAYS, type DemoCalendar } from './calendar';
import { compact, type LoanPlan, type Story } from './story';

/**
 * The demo fund's year, chapter by chapter. Members are named by their index in DEMO_MEMBERS:
 *
 *  0 华瓷 (lead)   1 昌南窑业    2 青花釉料   3 瓷都包装   4 浮梁高岭土   5 珠山日用瓷
 *  6 乐平窑炉      7 瑶里文创    8 昌江建陶   9 御窑颜料   10 景华物流    11 陶溪川电商
 *
 * Committee seats: 0, 2, 4, 6, 8 (1 and 8 are one related group, 昌南集团). `s(d)` is d days after
 * the establishment, `ago(r)` r days before today. The early loans are decided by s(60) and repaid
 * by s(180); the late ones begin at ago(222), which is s(158) or later (the history is at least 380
 * days): where the two meet, nothing in one depends on the other. Limits checked by hand against
 * the policy (pool capital about ¥2.3–3.0 million): a borrower's pool loans ≤ 3 × its paid-in
 * capital and ≤ 20 % of pool capital, a guarantor's standing guarantees ≤ 2 × its paid-in capital.
 * The guarantee graph has no circle until the policy flags them (ago 100; before, a circle would be
 * refused and stop the seed), and exactly one after: 青花 → 浮梁 → 昌南 → 青花, which the application
 * on the next meeting's agenda closes.
 */

export interface MemberCapital {
  subscribed: string;
}

/** Share of each subscription paid on joining; the rest is called later in the year. */
export const FIRST_PAYMENT_PERCENT = '80';
export const CALL_PERCENT = '20';
/** 陶溪川电商 joins six weeks after the others… */
export const LATE_JOINER = 11;
/** …and never pays the capital call: the member late on it. */
const LATE_PAYER = 11;

const percentOf = (amount: string, percent: string): string => formatAmount(new Money(amount).times(percent).div(100));

export function capitalChapter(
  story: Story,
  capital: readonly MemberCapital[],
  addLateJoiner: () => Promise<void>,
): void {
  const { calendar } = story;
  const pay = (member: number, amount: string, memo: string, reference: string) =>
    story.post(story.admin, `/members/${story.member(member)}/contributions`, {
      amount,
      receivedOn: story.today(),
      bankReference: reference,
      memo,
    });

  capital.forEach((member, index) => {
    if (index === LATE_JOINER) return;
    const on = calendar.sinceStart(1 + (index % 3));
    story.at(on, 10, `member ${index} pays its first instalment of capital`, () =>
      pay(
        index,
        percentOf(member.subscribed, FIRST_PAYMENT_PERCENT),
        '首期出资（认缴额的80%）',
        `CAP1-${compact(on)}-${index + 1}`,
      ),
    );
  });
  story.at(calendar.sinceStart(45), 9, 'a new member joins', addLateJoiner);
  story.at(calendar.sinceStart(46), 10, 'the new member pays its first instalment', () =>
    pay(
      LATE_JOINER,
      percentOf(capital[LATE_JOINER]!.subscribed, FIRST_PAYMENT_PERCENT),
      '首期出资（认缴额的80%）',
      `CAP1-${compact(calendar.sinceStart(46))}-${LATE_JOINER + 1}`,
    ),
  );

  // The second call: the rest of each subscription, due in thirty days. One member never pays it.
  const callOn = callDay(calendar, capital.length);
  let callId = '';
  story.at(callOn, 9, 'the fund calls the rest of the subscriptions', async () => {
    const call = await story.post<{ id: string }>(story.admin, '/capital-calls', {
      percent: CALL_PERCENT,
      dueOn: addDays(callOn, CALL_DUE_DAYS),
      memo: '第二期出资：认缴额其余部分，30日内缴清',
    });
    callId = call.id;
  });
  capital.forEach((_member, index) => {
    if (index === LATE_PAYER) return;
    const on = addDays(callOn, callPaymentDay(index));
    story.at(on, 10, `member ${index} pays the call`, async () => {
      // What the call asks of it: its subscription less what it holds already (shares of surplus count).
      const call = await story.get<{ items: { memberId: string; outstanding: string }[] }>(`/capital-calls/${callId}`);
      const item = call.items.find((i) => i.memberId === story.member(index));
      if (!item) throw new Error(`demo story: member ${index} has nothing to pay on the call`);
      await pay(index, item.outstanding, '第二期出资', `CAP2-${compact(on)}-${index + 1}`);
    });
  });
}

const CALL_DUE_DAYS = 30;
/** Members pay the call two days apart, in their order, every one before it is due. */
const callPaymentDay = (index: number): number => 2 + 2 * index;

/**
 * 150 days ago, unless the later half-year's close falls between the call and its last payment:
 * then the day after that close. A close credits each member's share of the surplus to its
 * capital account, which counts as paid in; a call item fixed before it would then ask for more
 * than the subscription still admits, and its payment would be refused.
 */
function callDay(calendar: DemoCalendar, members: number): string {
  const paidWithin = callPaymentDay(members - 1);
  if (paidWithin >= CALL_DUE_DAYS) throw new Error('demo story: the call payments would run past its due date');
  const planned = calendar.daysAgo(150);
  const close = addDays(calendar.closedHalves[1].endsOn, CLOSE_AFTER_DAYS);
  const inWindow = close >= planned && close <= addDays(planned, paidWithin);
  return inWindow ? addDays(close, 1) : planned;
}

/** The bank credits interest on pool cash on the 21st of the last month of each quarter, and charges fees. */
export function bankChapter(story: Story): void {
  const { calendar } = story;
  const interest = ['1836.42', '2104.17', '1978.60', '2210.35', '2051.88', '1893.26'];
  let quarter = 0;
  for (let date = calendar.sinceStart(1); date < calendar.today; date = addDays(date, 1)) {
    if (!date.endsWith('-21') || !['03', '06', '09', '12'].includes(date.slice(5, 7))) continue;
    const amount = interest[quarter % interest.length]!;
    quarter += 1;
    story.at(date, 16, 'bank interest and charges', async () => {
      await manualEntry(story, 'manual.bank_interest', '银行存款季度结息', '1001', '4005', amount);
      await manualEntry(story, 'manual.bank_charge', '银行转账手续费（季度）', '5002', '1001', '86.00');
    });
  }
  story.at(calendar.sinceStart(2), 16, 'account fee', () =>
    manualEntry(story, 'manual.bank_charge', '基本存款账户开户及网银年费', '5002', '1001', '300.00'),
  );
}

function manualEntry(story: Story, kind: string, memo: string, debit: string, credit: string, amount: string) {
  return story.post(story.admin, '/entries', {
    effectiveDate: story.today(),
    kind,
    memo,
    lines: [
      { accountCode: debit, side: 'debit', amount },
      { accountCode: credit, side: 'credit', amount },
    ],
  });
}

/** Each half-year is closed ten days after it ends: its surplus is shared among the members by capital. */
export function periodChapter(story: Story): void {
  for (const half of story.calendar.closedHalves) {
    story.at(addDays(half.endsOn, CLOSE_AFTER_DAYS), 16, `${half.period} closed`, () =>
      story.post(story.admin, `/periods/${half.period}/close`),
    );
  }
}

/** The first months: three loans through the committee, one emergency fast-tracked and ratified. */
export function earlyLoansChapter(story: Story): void {
  const s = story.calendar.sinceStart;
  const loans: LoanPlan[] = [
    {
      key: 'first-loan',
      borrower: 2,
      draftedBy: 'admin',
      amount: '300000.00',
      termDays: 90,
      method: 'equal_principal',
      purpose: '旺季备货：采购釉料原料与钴料',
      guarantors: [
        { member: 3, amount: '150000.00' },
        { member: 5, amount: '150000.00' },
      ],
      appliedOn: s(5),
      submittedOn: s(6),
      wantedOn: s(9),
      disbursedOn: s(9),
      pays: 'all',
    },
    {
      key: 'gas-bill',
      borrower: 5,
      draftedBy: 'borrower',
      amount: '200000.00',
      termDays: 60,
      method: 'bullet',
      purpose: '支付天然气费与电费，保障隧道窑连续烧成',
      guarantors: [{ member: 0, amount: '200000.00' }],
      appliedOn: s(24),
      submittedOn: s(25),
      wantedOn: s(29),
      disbursedOn: s(29),
      pays: 'all',
    },
    {
      key: 'kiln-repair',
      borrower: 8,
      draftedBy: 'admin',
      amount: '150000.00',
      termDays: 45,
      method: 'bullet',
      purpose: '辊道窑传动系统突发故障，紧急抢修恢复生产',
      emergency: true,
      guarantors: [
        { member: 9, amount: '80000.00' },
        { member: 10, amount: '70000.00' },
      ],
      appliedOn: s(49),
      submittedOn: s(49),
      wantedOn: s(50),
      disbursedOn: s(50),
      pays: 'all',
    },
    {
      key: 'kaolin-mine',
      borrower: 4,
      draftedBy: 'admin',
      amount: '250000.00',
      termDays: 120,
      method: 'equal_installment',
      purpose: '矿区排水设备更新',
      guarantors: [
        { member: 7, amount: '120000.00' },
        { member: 1, amount: '130000.00' },
      ],
      appliedOn: s(54),
      submittedOn: s(55),
      wantedOn: s(60),
      disbursedOn: s(60),
      pays: 'all',
    },
  ];
  loans.forEach((plan) => story.loanThread(plan));
  story.meeting({ heldOn: s(8), applications: ['first-loan'] });
  story.meeting({ heldOn: s(28), applications: ['gas-bill'] });
  // s(50) falls in the rotation's second or third month: 青花 or 浮梁 chairs, neither a party.
  story.fastTrack('kiln-repair', s(50));
  // The fast-tracked loan joins this agenda by itself, as a ratification.
  story.meeting({ heldOn: s(58), applications: ['kaolin-mine'], absent: [6] });
}

/** A bank's one-year working-capital loan: the term is the contract's (ADR 0017). */
const BANK_TERM_DAYS = 365;

/**
 * The last seven months, relative to today: a loan that defaulted and is in recovery, a bank loan
 * and a peer loan, one extended, one overdue in 关注, the member user's own loan, a joint group
 * and its loan, the policy change to flag guarantee circles, and what is pending today.
 */
export function recentLoansChapter(story: Story): void {
  const { calendar } = story;
  const ago = calendar.daysAgo;
  const bankStart = ago(120);
  const loans: LoanPlan[] = [
    {
      key: 'defaulted',
      borrower: 9,
      draftedBy: 'borrower',
      amount: '180000.00',
      termDays: 60,
      method: 'bullet',
      purpose: '出口订单备料（颜料中间体）',
      guarantors: [
        { member: 10, amount: '90000.00' },
        { member: 3, amount: '90000.00' },
      ],
      appliedOn: ago(222),
      submittedOn: ago(221),
      wantedOn: ago(215),
      disbursedOn: ago(215),
    },
    {
      key: 'extended',
      borrower: 3,
      draftedBy: 'borrower',
      amount: '250000.00',
      termDays: 120,
      method: 'bullet',
      purpose: '采购瓦楞纸板与包装辅料',
      guarantors: [
        { member: 6, amount: '150000.00' },
        { member: 0, amount: '100000.00' },
      ],
      appliedOn: ago(146),
      submittedOn: ago(145),
      wantedOn: ago(140),
      disbursedOn: ago(140),
    },
    {
      key: 'bank-loan',
      borrower: 2,
      draftedBy: 'admin',
      amount: '1000000.00',
      termDays: BANK_TERM_DAYS,
      method: 'equal_installment',
      purpose: '新建釉料研磨车间（银行流动资金贷款，联盟成员担保）',
      lender: {
        type: 'bank',
        bankName: '中国工商银行景德镇分行',
        contractNumber: `ICBC-JDZ-${compact(bankStart).slice(0, 6)}-0087`,
        rateAnnual: '0.0345',
        startOn: bankStart,
        maturityOn: addDays(bankStart, BANK_TERM_DAYS),
      },
      guarantors: [
        { member: 0, amount: '400000.00' },
        { member: 1, amount: '300000.00' },
        { member: 3, amount: '300000.00' },
      ],
      appliedOn: ago(132),
      submittedOn: ago(131),
      wantedOn: bankStart,
      disbursedOn: bankStart,
      pays: 'all',
    },
    {
      key: 'overdue',
      borrower: 10,
      draftedBy: 'borrower',
      amount: '150000.00',
      termDays: 90,
      method: 'equal_principal',
      purpose: '购置两台冷链运输车辆',
      guarantors: [
        { member: 5, amount: '100000.00' },
        { member: 1, amount: '50000.00' },
      ],
      appliedOn: ago(106),
      submittedOn: ago(105),
      wantedOn: ago(100),
      disbursedOn: ago(100),
      pays: 1,
    },
    {
      key: 'member-loan',
      borrower: 1,
      draftedBy: 'borrower',
      amount: '400000.00',
      termDays: 180,
      method: 'equal_installment',
      purpose: '抛光砖生产线节能改造',
      guarantors: [
        { member: 0, amount: '200000.00' },
        { member: 4, amount: '200000.00' },
      ],
      appliedOn: ago(82),
      submittedOn: ago(81),
      wantedOn: ago(75),
      disbursedOn: ago(75),
      pays: 'all',
    },
    {
      key: 'peer-loan',
      borrower: 5,
      draftedBy: 'borrower',
      amount: '200000.00',
      termDays: 120,
      method: 'bullet',
      purpose: '向龙头企业拆借：支付高白釉日用瓷订单的定制模具款',
      lender: { type: 'peer', member: 0 },
      collateral: [
        { description: '全自动滚压成型机 2 台', kind: 'equipment', valuation: '400000.00', haircutPct: '50' },
      ],
      appliedOn: ago(82),
      submittedOn: ago(81),
      wantedOn: ago(76),
      disbursedOn: ago(76),
    },
    {
      key: 'group-loan',
      borrower: 7,
      draftedBy: 'borrower',
      amount: '120000.00',
      termDays: 120,
      method: 'equal_principal',
      purpose: '文创陶瓷新品开发与展会参展',
      jointGroup: 'first-group',
      appliedOn: ago(60),
      submittedOn: ago(60),
      wantedOn: ago(50),
      disbursedOn: ago(50),
      pays: 'all',
    },
    {
      key: 'with-hold',
      borrower: 6,
      draftedBy: 'admin',
      amount: '200000.00',
      termDays: 120,
      method: 'equal_principal',
      purpose: '窑炉耐火材料更换',
      guarantors: [
        { member: 8, amount: '120000.00' },
        { member: 0, amount: '80000.00' },
      ],
      appliedOn: ago(7),
      submittedOn: ago(6),
      wantedOn: ago(-5),
    },
    {
      key: 'on-agenda',
      borrower: 4,
      draftedBy: 'admin',
      amount: '180000.00',
      termDays: 90,
      method: 'equal_principal',
      purpose: '采购爆破与运输服务（新采区剥离）',
      guarantors: [
        { member: 2, amount: '100000.00' },
        { member: 8, amount: '80000.00' },
      ],
      appliedOn: ago(4),
      submittedOn: ago(2),
      wantedOn: ago(-10),
    },
    {
      key: 'awaiting-consent',
      borrower: 0,
      draftedBy: 'admin',
      amount: '250000.00',
      termDays: 180,
      method: 'equal_installment',
      purpose: '高端骨瓷生产线模具开发',
      guarantors: [
        { member: 5, amount: '150000.00' },
        { member: 8, amount: '100000.00', pending: true },
      ],
      appliedOn: ago(2),
      wantedOn: ago(-20),
    },
  ];
  loans.forEach((plan) => story.loanThread(plan));

  story.meeting({ heldOn: ago(218), applications: ['defaulted'] });
  story.meeting({ heldOn: ago(142), applications: ['extended'] });
  story.meeting({ heldOn: ago(125), applications: ['bank-loan'] });
  story.meeting({
    heldOn: ago(102),
    applications: ['overdue'],
    absent: [8],
    dissent: { item: 'overdue', seat: 4, vote: 'reject', comment: '物流行业回款周期长，第一还款来源偏弱，不同意。' },
  });
  story.at(ago(100), 9, 'the policy flags guarantee circles instead of refusing them', () =>
    story.post(story.admin, '/policy', {
      effectiveDate: story.today(),
      reason: '联席会议决议：互保圈由拒绝改为预警标记，由委员会逐笔审议',
      changes: { guaranteeCircleMode: 'flag' },
    }),
  );
  story.jointGroup('first-group', ago(86), 7, [5, 10], '陶瓷产业园第一联保小组', '300000.00');
  story.meeting({ heldOn: ago(77), applications: ['member-loan', 'peer-loan'], jointGroups: ['first-group'] });
  story.meeting({ heldOn: ago(55), applications: ['group-loan'] });

  const extended = ago(140);
  story.extension('extended', ago(30), addDays(extended, 178), '下游客户回款延迟，申请展期至旺季回款后归还');
  story.meeting({ heldOn: ago(25), extensions: ['extended'] });

  story.proposeGuarantorCall(
    'defaulted',
    ago(14),
    '借款人已停产，逾期超过90天，无抵押物可处置：按连带责任向保证人追偿',
  );
  story.meeting({ heldOn: ago(10), recoveryActions: ['defaulted'] });
  story.guarantorPays('defaulted', ago(4), 3);

  story.meeting({ heldOn: ago(3), applications: ['with-hold'] });
  story.meeting({ heldOn: ago(-6), convenedOn: ago(1), applications: ['on-agenda'] });
}
