import { formatAmount, Money, roundHalfUp, sumAmounts } from '../../../src/money/money';
import { startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import {
  api,
  balances,
  caseOf,
  disbursedLoan,
  expectBalancedBooks,
  jobThrough,
  post,
  proposed,
  recoveryWorld,
  resolved,
  today,
} from './recovery.helpers';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterEach(() => {
  h.clock.set(`${TEST_TODAY}T04:00:00.000Z`);
});

afterAll(async () => {
  await h.close();
});

/**
 * The whole waterfall on one loan, every figure worked out here by hand.
 *
 * 200,000.00 disbursed 2026-07-01, bullet, due 07-31; fee 0.5 % = 1,000.00. Interest 3.65 % ACT/365
 * = 20.00 a day for the 30 days 07-01..07-30 = 600.00. Overdue from 08-01: penalty 5.475 % = 30.00 a
 * day; on 08-05 the loan is 5 days past due: defaulted, and the job opens its case with 150.00 of
 * penalty (08-01..08-05). Owed then: 1,000.00 + 150.00 + 600.00 + 200,000.00 = 201,750.00.
 */
test('when a defaulted loan goes through the whole waterfall, then every balance, memo balance and the period close follow it', async () => {
  const w = await recoveryWorld(h);
  const { loanId, collateralId } = await disbursedLoan(h, w, '2026-07-01');
  const loan = (code: string) => `${code}:${loanId}`;
  const receivables = [loan('1201'), loan('1202'), loan('1203'), loan('1204')];
  const memo = [`7001:${w.g1}`, `7001:${w.g2}`, '7002', `7401:${w.g1}`, `7401:${w.g2}`, '7402'];
  const cash = async () => (await balances(h, w.fund.id, ['1001']))['1001'];
  const cashAtStart = new Money('2000000.00').minus('200000.00');
  expect(await cash()).toBe(formatAmount(cashAtStart));

  // ---- The daily job marks the loan defaulted on 08-05 and opens the case the same day.
  await jobThrough(h, w, '2026-08-05', '2026-08-06');
  const opened = await caseOf(h, w, loanId);
  expect(opened).toMatchObject({
    status: 'open',
    openedOn: '2026-08-05',
    openedBy: 'daily_job',
    loanStatus: 'defaulted',
    outstanding: {
      fee: '1000.00',
      penaltyInterest: '150.00',
      interest: '600.00',
      principal: '200000.00',
      total: '201750.00',
    },
  });
  expect(opened.steps.map((s: { kind: string }) => s.kind)).toEqual(['opened']);
  const caseId = opened.id as string;
  const base = `/funds/${w.fund.id}/recovery-cases/${caseId}`;

  // ---- 1. Collateral sold on 08-07: 44,000.00 gross, 4,000.00 costs, 40,000.00 net, applied as a
  // repayment: fee 1,000.00, penalty 150.00, interest 600.00, principal 38,250.00 → 161,750.00 left.
  // Guarantees released in proportion (R-release): G1 140,000 × 38,250 / 200,000 = 26,775.00,
  // G2 90,000 × 38,250 / 200,000 = 17,212.50. Still standing: 113,225.00 and 72,787.50.
  today(h, w, '2026-08-07');
  const realised = await post(h, w.admin, `${base}/collateral/${collateralId}/realisation`, {
    outcome: 'realised',
    takenOn: '2026-08-07',
    grossProceeds: '44000.00',
    costs: '4000.00',
    reference: 'AUCTION-0807',
    note: '司法拍卖成交',
  });
  expect(realised.status).toBe(201);
  expect(realised.body.outstanding).toEqual({
    fee: '0.00',
    penaltyInterest: '0.00',
    interest: '0.00',
    principal: '161750.00',
    total: '161750.00',
  });
  expect(await balances(h, w.fund.id, [...receivables, ...memo])).toEqual({
    [loan('1201')]: '161750.00',
    [loan('1202')]: '0.00',
    [loan('1203')]: '0.00',
    [loan('1204')]: '0.00',
    [`7001:${w.g1}`]: '113225.00',
    [`7001:${w.g2}`]: '72787.50',
    '7002': '186012.50',
    [`7401:${w.g1}`]: '0.00',
    [`7401:${w.g2}`]: '0.00',
    '7402': '0.00',
  });
  expect(await cash()).toBe(formatAmount(cashAtStart.plus('40000.00')));
  await expectBalancedBooks(h, w);

  // ---- 2. Call the joint-and-several guarantors (meeting 08-10). They stand behind 186,012.50,
  // more than the 161,750.00 outstanding: scaled down, pro rata to what each still stands behind.
  // G1: 161,750 × 113,225 / 186,012.50 = 98,456.5217… → 98,456.52; G2: 161,750 × 72,787.50 /
  // 186,012.50 = 63,293.4782… → 63,293.48; together 161,750.00 exactly. Due 15 days later, 08-25.
  const call1 = await proposed(h, w, `${base}/actions`, 'call_guarantees');
  expect((await resolved(h, w, call1, '2026-08-10')).status).toBe('approved');
  const called = await caseOf(h, w, loanId);
  const round1 = called.calls as { id: string; guarantorMemberId: string; amount: string; dueOn: string }[];
  const callOf = (member: string) => round1.find((c) => c.guarantorMemberId === member)!;
  expect(callOf(w.g1)).toMatchObject({ round: 1, amount: '98456.52', status: 'called', dueOn: '2026-08-25' });
  expect(callOf(w.g2)).toMatchObject({ round: 1, amount: '63293.48', status: 'called', dueOn: '2026-08-25' });
  expect(await balances(h, w.fund.id, [loan('1201'), `1301:${w.g1}`, `1301:${w.g2}`])).toEqual({
    [loan('1201')]: '0.00',
    [`1301:${w.g1}`]: '98456.52',
    [`1301:${w.g2}`]: '63293.48',
  });
  // The principal the call discharged is in the schedule's paid column: 38,250.00 + 161,750.00.
  const paidColumn = async () =>
    ((await h.db('loan_instalments').where({ loan_id: loanId }).first('principal_paid')) as { principal_paid: string })
      .principal_paid;
  expect(await paidColumn()).toBe('200000.00');
  await expectBalancedBooks(h, w);

  // While calls are unpaid, the capital offset is refused with the step expected.
  const early = await post(h, w.admin, `${base}/actions`, { action: 'capital_offset', reason: '太早' });
  expect(early.status).toBe(422);
  expect(early.body).toMatchObject({ code: 'guarantor_calls_pending', expected: 'guarantor_payment' });

  // G1 pays in full on 08-20: cash in, its guarantee down by what it paid, and a subrogated claim.
  today(h, w, '2026-08-20');
  const paid = await post(h, w.admin, `${base}/calls/${callOf(w.g1).id}/payments`, {
    amount: '98456.52',
    receivedOn: '2026-08-20',
    reference: 'G1-PAY-1',
  });
  expect(paid.status).toBe(201);
  expect(await balances(h, w.fund.id, [`1301:${w.g1}`, `7001:${w.g1}`, `7401:${w.g1}`, '7402'])).toEqual({
    [`1301:${w.g1}`]: '0.00',
    [`7001:${w.g1}`]: formatAmount(new Money('113225.00').minus('98456.52')),
    [`7401:${w.g1}`]: '98456.52',
    '7402': '98456.52',
  });
  expect(await cash()).toBe(formatAmount(cashAtStart.plus('40000.00').plus('98456.52')));

  // G2 pays nothing: a failure before the due date is refused; after it, its call goes back onto
  // the loan (the round took principal only): 1201 = 63,293.48 again.
  today(h, w, '2026-08-26');
  const tooEarly = await post(h, w.admin, `${base}/calls/${callOf(w.g2).id}/failure`, {
    failedOn: '2026-08-25',
    reason: '拒付',
  });
  expect(tooEarly.status).toBe(422);
  expect(tooEarly.body).toMatchObject({ code: 'call_not_due', dueOn: '2026-08-25' });
  const failed = await post(h, w.admin, `${base}/calls/${callOf(w.g2).id}/failure`, {
    failedOn: '2026-08-26',
    reason: '担保人拒绝履行',
  });
  expect(failed.status).toBe(201);
  expect(await balances(h, w.fund.id, [loan('1201'), `1301:${w.g2}`, `7001:${w.g2}`])).toEqual({
    [loan('1201')]: '63293.48',
    [`1301:${w.g2}`]: '0.00',
    // A failed guarantor stays liable: its guarantee stands until the case closes.
    [`7001:${w.g2}`]: '72787.50',
  });
  // …and out of the schedule's paid column again: 200,000.00 − 63,293.48.
  expect(await paidColumn()).toBe('136706.52');
  await expectBalancedBooks(h, w);

  // Re-called onto G1 (meeting 08-28), within what its guarantee still stands behind:
  // 113,225.00 − 98,456.52 = 14,768.48, less than 63,293.48 → 14,768.48. G2 is not called again.
  const call2 = await proposed(h, w, `${base}/actions`, 'call_guarantees');
  expect((await resolved(h, w, call2, '2026-08-28')).status).toBe('approved');
  const recalled = await caseOf(h, w, loanId);
  const round2 = (recalled.calls as { round: number; guarantorMemberId: string; amount: string; id: string }[]).filter(
    (c) => c.round === 2,
  );
  expect(round2).toEqual([expect.objectContaining({ guarantorMemberId: w.g1, amount: '14768.48', status: 'called' })]);
  today(h, w, '2026-09-05');
  expect(
    (
      await post(h, w.admin, `${base}/calls/${round2[0]!.id}/payments`, {
        amount: '14768.48',
        receivedOn: '2026-09-05',
        reference: 'G1-PAY-2',
      })
    ).status,
  ).toBe(201);
  // 63,293.48 − 14,768.48 = 48,525.00 owed; G1 has paid its whole standing 113,225.00.
  expect(await balances(h, w.fund.id, [loan('1201'), `7001:${w.g1}`, `7401:${w.g1}`, '7402'])).toEqual({
    [loan('1201')]: '48525.00',
    [`7001:${w.g1}`]: '0.00',
    [`7401:${w.g1}`]: '113225.00',
    '7402': '113225.00',
  });

  // The borrower's and the guarantor's statements show the claim.
  for (const member of [w.borrower, w.g1]) {
    const statement = await h.http
      .get(api(`/funds/${w.fund.id}/members/${member}/statement?from=2026-07-01&to=2026-09-05`))
      .set(w.admin.auth);
    expect(statement.status).toBe(200);
    expect(statement.body.subrogatedClaims).toEqual([
      expect.objectContaining({ guarantorMemberId: w.g1, borrowerMemberId: w.borrower, amount: '113225.00' }),
    ]);
  }

  // ---- 3. Capital offset (meeting 09-08): the borrower's 20,000.00 → 28,525.00 left.
  const offset = await proposed(h, w, `${base}/actions`, 'capital_offset');
  expect((await resolved(h, w, offset, '2026-09-08')).status).toBe('approved');
  expect(await balances(h, w.fund.id, [loan('1201'), `3001:${w.borrower}`])).toEqual({
    [loan('1201')]: '28525.00',
    [`3001:${w.borrower}`]: '0.00',
  });

  // ---- 4. Write-off (meeting 09-10): Dr 5001 28,525.00 / Cr 1201; guarantees NOT released.
  const writeOff = await proposed(h, w, `${base}/actions`, 'write_off');
  expect((await resolved(h, w, writeOff, '2026-09-10')).status).toBe('approved');
  expect(await balances(h, w.fund.id, [loan('1201'), '5001', `7001:${w.g2}`])).toEqual({
    [loan('1201')]: '0.00',
    '5001': '28525.00',
    [`7001:${w.g2}`]: '72787.50',
  });
  const loanRow = (await h.db('loans').where({ id: loanId }).first('status')) as { status: string };
  expect(loanRow.status).toBe('written_off');
  await expectBalancedBooks(h, w);

  // ---- 5. 5,000.00 recovered on 09-20: recovery income.
  today(h, w, '2026-09-20');
  const recovered = await post(h, w.admin, `${base}/recoveries`, {
    amount: '5000.00',
    receivedOn: '2026-09-20',
    reference: 'LIQ-0920',
    payer: '破产管理人',
  });
  expect(recovered.status).toBe(201);
  expect(await balances(h, w.fund.id, ['4004'])).toEqual({ '4004': '5000.00' });

  // Closing (meeting 09-25) releases what G2's guarantee still stands behind, 72,787.50.
  const close = await proposed(h, w, `${base}/actions`, 'close_case');
  expect((await resolved(h, w, close, '2026-09-25')).status).toBe('approved');
  expect(await balances(h, w.fund.id, memo)).toEqual({
    [`7001:${w.g1}`]: '0.00',
    [`7001:${w.g2}`]: '0.00',
    '7002': '0.00',
    [`7401:${w.g1}`]: '113225.00',
    [`7401:${w.g2}`]: '0.00',
    '7402': '113225.00',
  });
  const closed = await caseOf(h, w, loanId);
  expect(closed).toMatchObject({
    status: 'closed',
    closedOn: '2026-09-25',
    outcome: 'written_off',
    loanStatus: 'written_off',
  });
  expect(closed.steps.map((s: { kind: string }) => s.kind)).toEqual([
    'opened',
    'collateral_realised',
    'guarantees_called',
    'guarantor_paid',
    'guarantor_failed',
    'guarantees_called',
    'guarantor_paid',
    'capital_offset',
    'written_off',
    'recovery_received',
    'closed',
  ]);
  expect(await balances(h, w.fund.id, ['1001', '4001', '4002', '4003', '4004', '5001'])).toEqual({
    '1001': formatAmount(cashAtStart.plus('40000.00').plus('98456.52').plus('14768.48').plus('5000.00')),
    '4001': '600.00',
    '4002': '1000.00',
    '4003': '150.00',
    '4004': '5000.00',
    '5001': '28525.00',
  });

  // ---- The period close of 2026-Q3 shares the result among the members by time-weighted capital.
  // Net income: 600 + 1,000 + 150 + 5,000 − 28,525 = −21,775.00. Capital-days over the 92 days:
  // B 20,000 × 92 − 20,000 × 23 (offset on 09-08, 23 days to 09-30) = 1,380,000; G1 9,200,000;
  // G2 4,600,000; X 1,830,000 × 92 = 168,360,000; seats hold none.
  today(h, w, '2026-10-02');
  const net = new Money('-21775.00');
  const weights = [
    [w.borrower, new Money('1380000')],
    [w.g1, new Money('9200000')],
    [w.g2, new Money('4600000')],
    [w.big, new Money('168360000')],
  ] as const;
  const total = sumAmounts(weights.map(([, weight]) => weight));
  const shares = new Map(weights.map(([member, weight]) => [member, roundHalfUp(net.times(weight).div(total))]));
  // Rule R1: the remainder goes to the largest share, X's.
  const remainder = net.minus(sumAmounts([...shares.values()]));
  shares.set(w.big, shares.get(w.big)!.plus(remainder));
  const capitalBefore = await balances(
    h,
    w.fund.id,
    weights.map(([member]) => `3001:${member}`),
  );
  const closedPeriod = await post(h, w.admin, `/funds/${w.fund.id}/periods/2026-Q3/close`, {});
  expect(closedPeriod.status).toBe(201);
  expect(closedPeriod.body.netIncome).toBe('-21775.00');
  const capitalAfter = await balances(
    h,
    w.fund.id,
    weights.map(([member]) => `3001:${member}`),
  );
  for (const [member] of weights) {
    const expected = new Money(capitalBefore[`3001:${member}`]!).plus(shares.get(member)!);
    expect([member, capitalAfter[`3001:${member}`]]).toEqual([member, formatAmount(expected)]);
  }
  expect(await balances(h, w.fund.id, ['4001', '4002', '4003', '4004', '5001'])).toEqual({
    '4001': '0.00',
    '4002': '0.00',
    '4003': '0.00',
    '4004': '0.00',
    '5001': '0.00',
  });
  await expectBalancedBooks(h, w);
});
