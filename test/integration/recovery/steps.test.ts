import { startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { expectProblem } from '../auth/problem';
import {
  api,
  balances,
  caseOf,
  disbursedLoan,
  everything,
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

test('when an overdue loan is declared in default by resolution, then it is defaulted, its case opens on the meeting day and the job does not cure it', async () => {
  const w = await recoveryWorld(h);
  // Equal principal over 90 days: the first instalment falls due on 07-31.
  const { loanId } = await disbursedLoan(h, w, '2026-07-01', { termDays: 90, repaymentMethod: 'equal_principal' });
  // On 08-02 two days past due: overdue, not yet in default (5 days).
  await jobThrough(h, w, '2026-08-02', '2026-08-03');
  expect(((await h.db('loans').where({ id: loanId }).first('status')) as { status: string }).status).toBe('overdue');

  const actionId = await proposed(h, w, `/funds/${w.fund.id}/loans/${loanId}/recovery-actions`, 'declare_default');
  const decision = await resolved(h, w, actionId, '2026-08-03');
  expect(decision.status).toBe('approved');
  const opened = await caseOf(h, w, loanId);
  expect(opened).toMatchObject({
    status: 'open',
    openedOn: '2026-08-03',
    openedBy: 'resolution',
    loanStatus: 'defaulted',
  });
  expect(opened.actions).toEqual([
    expect.objectContaining({ id: actionId, action: 'declare_default', status: 'approved', caseId: opened.id }),
  ]);
  const history = (await h
    .db('loan_classification_history')
    .where({ loan_id: loanId })
    .orderBy('id')
    .select('changed_on', 'from_status', 'to_status')) as { changed_on: string; to_status: string }[];
  expect(history.at(-1)).toMatchObject({ changed_on: '2026-08-03', from_status: 'overdue', to_status: 'defaulted' });

  // 80,000.00 on 08-04 pays the fee (1,000.00), the penalty and interest accrued and the whole
  // first instalment (a third of 200,000.00), so nothing is overdue any more: without a case the
  // job would cure the loan; in recovery it stays defaulted.
  today(h, w, '2026-08-04');
  const paid = await h.http
    .post(api(`/funds/${w.fund.id}/loans/${loanId}/repayments`))
    .set(w.admin.auth)
    .set('Idempotency-Key', `repay-${loanId}`)
    .send({ amount: '80000.00', receivedOn: '2026-08-04', reference: `PART-${loanId}` });
  expect(paid.status).toBe(201);
  await jobThrough(h, w, '2026-08-05', '2026-08-06');
  expect(await h.db('loans').where({ id: loanId }).first('status', 'days_past_due')).toEqual({
    status: 'defaulted',
    days_past_due: 0,
  });
});

test('when steps are taken out of order, then each is refused with the step expected and nothing changes', async () => {
  const w = await recoveryWorld(h);
  const { loanId, collateralId } = await disbursedLoan(h, w, '2026-07-01');
  await jobThrough(h, w, '2026-08-05', '2026-08-06');
  const kase = await caseOf(h, w, loanId);
  const base = `/funds/${w.fund.id}/recovery-cases/${kase.id}`;
  const before = await everything(h, w);

  // Calls before the collateral is realised; the offset and the write-off before the calls.
  expectProblem(
    await post(h, w.admin, `${base}/actions`, { action: 'call_guarantees', reason: '先催告担保人' }),
    422,
    'collateral_pending',
  );
  const offset = await post(h, w.admin, `${base}/actions`, { action: 'capital_offset', reason: '先抵扣股金' });
  expectProblem(offset, 422, 'collateral_pending');
  expect(offset.body).toMatchObject({ expected: 'collateral_realisation', collateralIds: [collateralId] });
  expectProblem(
    await post(h, w.admin, `${base}/recoveries`, {
      amount: '10.00',
      receivedOn: '2026-08-06',
      reference: 'EARLY-1',
      payer: '借款人',
    }),
    422,
    'write_off_pending',
  );
  expectProblem(
    await post(h, w.admin, `${base}/actions`, { action: 'close_case', reason: '结案' }),
    422,
    'write_off_pending',
  );
  // A second case for the loan; a declaration on a loan in a case.
  expectProblem(
    await post(h, w.admin, `/funds/${w.fund.id}/loans/${loanId}/recovery-actions`, {
      action: 'declare_default',
      reason: '重复',
    }),
    409,
    'recovery_case_exists',
  );
  // More than the loan owes (201,750.00) from the collateral, and costs above the proceeds.
  expectProblem(
    await post(h, w.admin, `${base}/collateral/${collateralId}/realisation`, {
      outcome: 'realised',
      takenOn: '2026-08-06',
      grossProceeds: '201750.01',
      costs: '0.00',
      reference: 'TOO-MUCH',
      note: '拍卖',
    }),
    422,
    'realisation_exceeds_owed',
  );
  expectProblem(
    await post(h, w.admin, `${base}/collateral/${collateralId}/realisation`, {
      outcome: 'realised',
      takenOn: '2026-08-06',
      grossProceeds: '100.00',
      costs: '100.01',
      reference: 'COSTLY',
      note: '拍卖',
    }),
    422,
    'invalid_amounts',
  );
  // Dated before the case opened, or in the future.
  expectProblem(
    await post(h, w.admin, `${base}/collateral/${collateralId}/realisation`, {
      outcome: 'worthless',
      takenOn: '2026-08-04',
      note: '设备灭失',
    }),
    422,
    'date_before_case',
  );
  expectProblem(
    await post(h, w.admin, `${base}/collateral/${collateralId}/realisation`, {
      outcome: 'worthless',
      takenOn: '2026-08-07',
      note: '设备灭失',
    }),
    422,
    'date_in_future',
  );
  // More than 2 decimals is a 400.
  expectProblem(
    await post(h, w.admin, `${base}/collateral/${collateralId}/realisation`, {
      outcome: 'realised',
      takenOn: '2026-08-06',
      grossProceeds: '100.001',
      reference: 'DECIMALS',
      note: '拍卖',
    }),
    400,
    'validation_failed',
  );
  expect(await everything(h, w)).toEqual(before);

  // Worthless collateral settles it: calls may be proposed; the write-off still waits for the offset.
  const worthless = await post(h, w.admin, `${base}/collateral/${collateralId}/realisation`, {
    outcome: 'worthless',
    takenOn: '2026-08-06',
    note: '设备灭失',
  });
  expect(worthless.status).toBe(201);
  expect(await balances(h, w.fund.id, [`1201:${loanId}`])).toEqual({ [`1201:${loanId}`]: '200000.00' });
  const afterWorthless = await everything(h, w);
  const writeOff = await post(h, w.admin, `${base}/actions`, { action: 'write_off', reason: '核销' });
  expectProblem(writeOff, 422, 'capital_offset_pending');
  expect(writeOff.body).toMatchObject({ expected: 'capital_offset' });
  // The joint-and-several guarantors, never called, still stand behind the whole 230,000.00.
  const offsetFirst = await post(h, w.admin, `${base}/actions`, { action: 'capital_offset', reason: '先抵扣' });
  expectProblem(offsetFirst, 422, 'guarantor_still_stands');
  expect(offsetFirst.body).toMatchObject({ expected: 'call_guarantees', limit: '0.00', actual: '230000.00' });
  expect(offsetFirst.body.guarantees.map((g: { guarantorMemberId: string }) => g.guarantorMemberId).sort()).toEqual(
    [w.g1, w.g2].sort(),
  );
  // Only an offset or a write-off waives standing guarantees.
  const waivingCall = await post(h, w.admin, `${base}/actions`, {
    action: 'call_guarantees',
    reason: '催告',
    waiveStandingGuarantees: { reason: '放弃' },
  });
  expectProblem(waivingCall, 400, 'validation_failed');
  expect(waivingCall.body.errors).toEqual([expect.objectContaining({ pointer: '/waiveStandingGuarantees' })]);
  expect(await everything(h, w)).toEqual(afterWorthless);

  // A call proposed, then the state moves on before the meeting: a second proposal waits.
  const call = await proposed(h, w, `${base}/actions`, 'call_guarantees');
  expectProblem(
    await post(h, w.admin, `${base}/actions`, { action: 'call_guarantees', reason: '重复提议' }),
    409,
    'recovery_action_pending',
  );
  // A rejected resolution takes no step.
  const rejected = await resolved(h, w, call, '2026-08-10', 'reject');
  expect(rejected.status).toBe('rejected');
  expect(await balances(h, w.fund.id, [`1201:${loanId}`, `1301:${w.g1}`])).toEqual({
    [`1201:${loanId}`]: '200000.00',
    [`1301:${w.g1}`]: '0.00',
  });
});

test('when a repayment of a loan whose case has taken a step is to be reversed, then it is refused and nothing changes', async () => {
  const w = await recoveryWorld(h);
  const { loanId, collateralId } = await disbursedLoan(h, w, '2026-07-01');
  await jobThrough(h, w, '2026-08-05', '2026-08-06');
  const kase = await caseOf(h, w, loanId);
  const realised = await post(
    h,
    w.admin,
    `/funds/${w.fund.id}/recovery-cases/${kase.id}/collateral/${collateralId}/realisation`,
    {
      outcome: 'realised',
      takenOn: '2026-08-06',
      grossProceeds: '45000.00',
      costs: '5000.00',
      reference: 'AUCTION-REV',
      note: '拍卖',
    },
  );
  expect(realised.status).toBe(201);
  // The net proceeds were applied as a repayment: the loan's one repayment.
  const repayments = (await h.db('repayments').where({ fund_id: w.fund.id, loan_id: loanId })) as { id: string }[];
  expect(repayments).toHaveLength(1);
  const before = await everything(h, w);

  const reversal = await post(
    h,
    w.admin,
    `/funds/${w.fund.id}/loans/${loanId}/repayments/${repayments[0]!.id}/reverse`,
    {
      reason: '误录',
    },
  );

  expectProblem(reversal, 409, 'repayment_before_recovery_step');
  expect(reversal.body).toMatchObject({ recoveryStep: 'collateral_realised', takenOn: '2026-08-06' });
  expect(await everything(h, w)).toEqual(before);
});

test('when member users read recovery cases, then they see only the cases of loans they borrowed or guarantee', async () => {
  const w = await recoveryWorld(h);
  const { loanId } = await disbursedLoan(h, w, '2026-07-01');
  await jobThrough(h, w, '2026-08-05', '2026-08-06');
  const kase = await caseOf(h, w, loanId);
  for (const user of [w.users.borrower, w.users.g1, w.users.g2, w.users.auditor, w.seats[0]!.user]) {
    const found = await h.http.get(api(`/funds/${w.fund.id}/recovery-cases/${kase.id}`)).set(user.auth);
    expect([user.username, found.status]).toEqual([user.username, 200]);
    const listed = await h.http.get(api(`/funds/${w.fund.id}/recovery-cases`)).set(user.auth);
    expect(listed.body.items.map((item: { id: string }) => item.id)).toEqual([kase.id]);
  }
  const outsider = w.users.big;
  expectProblem(
    await h.http.get(api(`/funds/${w.fund.id}/recovery-cases/${kase.id}`)).set(outsider.auth),
    404,
    'recovery_case_not_found',
  );
  const listed = await h.http.get(api(`/funds/${w.fund.id}/recovery-cases`)).set(outsider.auth);
  expect(listed.body).toEqual({ items: [], nextCursor: null });
  // Only administrators act.
  const refused = await post(h, w.users.borrower, `/funds/${w.fund.id}/recovery-cases/${kase.id}/actions`, {
    action: 'call_guarantees',
    reason: '借款人自己提议',
  });
  expectProblem(refused, 403, 'forbidden');
});
