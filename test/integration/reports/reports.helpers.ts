import { createMember, fundPool } from '../../helpers/factories';
import { makeUser, TEST_TODAY, type Harness, type TestUser } from '../../helpers/harness';
import { ranJob } from '../daily-job/daily-job.helpers';
import { approveByContract, disburse, randomUUID } from '../disbursements/disbursements.helpers';
import {
  api,
  applicationBody,
  changePolicy,
  consented,
  drafted,
  loanWorld,
  submit,
  type LoanWorld,
} from '../loans/loans.helpers';
import { repay, setToday } from '../repayments/repayments.helpers';

/** Shared pieces of the report tests (not a test file itself). */

/**
 * Figures chosen so that every amount of the portfolio is exact by hand: 3.6 % a year on ACT/360
 * is 0.01 % of the principal a day, and the penalty rate (× 1.5) 0.015 % a day. Tiers: 关注 to 10
 * days past due, 次级 to 30, 可疑 to 60, 损失 beyond; default from 60 days.
 */
export const POLICY = {
  rateAnnual: '0.036',
  dayCount: 'ACT/360',
  penaltyUpliftPct: '50',
  serviceFeeRate: '0',
  defaultAfterDaysOverdue: 60,
  classification: { specialMentionDaysMax: 10, substandardDaysMax: 30, doubtfulDaysMax: 60 },
};

/**
 * The hand-made portfolio, all loans from TEST_TODAY (2026-06-15) unless said:
 *  - L1 pool, borrower B, 30,000.00 bullet 30 days (due 07-15), never repaid; G1 joint 20,000.00;
 *    collateral 40,000.00 less 25 % = 30,000.00.
 *  - L2 pool, borrower C, 60,000.00 equal principal 90 days (20,000.00 due 07-15, 08-15, 09-13);
 *    the first instalment paid late on 07-20; G1 joint 30,000.00 and G2 general 10,000.00;
 *    collateral 100,000.00 less 40 % = 60,000.00.
 *  - L3 pool, borrower D, 20,000.00 bullet 60 days (due 08-14), never repaid; G2 joint 5,000.00;
 *    collateral 30,000.00 less 50 % = 15,000.00.
 *  - L4 peer, lent by BIG to B, 40,000.00 bullet 30 days (due 07-15), never repaid; G1 general
 *    10,000.00; collateral 45,000.00 less 10 % = 40,500.00.
 *  - L5 pool, borrower D, disbursed 06-20, 10,000.00 bullet 30 days, repaid in full on 07-10;
 *    G2 general 3,000.00; collateral 20,000.00 less 50 % = 10,000.00.
 * The daily job runs every day from 06-15 through 07-20 and no further.
 */
export interface Portfolio {
  w: LoanWorld;
  c: string;
  d: string;
  users: { c: TestUser; d: TestUser };
  loans: { l1: string; l2: string; l3: string; l4: string; l5: string };
}

function collateral(valuation: string, haircutPct: string) {
  return [{ description: '厂房设备', kind: 'equipment', valuation, valuedOn: '2026-06-01', haircutPct }];
}

/** A loan drafted by the fund's administrator, consented by its guarantors (and lender), approved and disbursed. */
export async function disbursed(
  h: Harness,
  w: LoanWorld,
  body: Record<string, unknown>,
  consenting: Record<string, TestUser>,
): Promise<string> {
  const draft = await drafted(h, w.fund.admin, w.fund.id, applicationBody(w, body));
  const lender = body.lender as { type: string; memberId?: string };
  if (lender.type === 'peer') {
    const agreed = await h.http
      .post(api(`/funds/${w.fund.id}/loan-applications/${draft.id}/lender-consent`))
      .set(consenting[lender.memberId!]!.auth)
      .send({ decision: 'accept' });
    if (agreed.status !== 200) throw new Error(`lender consent failed: ${agreed.status} ${agreed.text}`);
  }
  await consented(h, w.fund.id, draft, consenting);
  const submitted = await submit(h, w.fund.admin, w.fund.id, draft.id);
  if (submitted.status !== 200) throw new Error(`submit failed: ${submitted.status} ${submitted.text}`);
  await approveByContract(h, w.fund.id, draft.id);
  const paid = await disburse(h, w.fund.admin, w.fund.id, draft.id, { bankReference: `DISB-${draft.id}` });
  if (paid.status !== 201 || paid.body.status !== 'executed') {
    throw new Error(`disbursement failed: ${paid.status} ${paid.text}`);
  }
  return draft.id;
}

/** Records a repayment through the API and fails the test unless it is accepted; its id. */
export async function repaid(
  h: Harness,
  w: LoanWorld,
  loanId: string,
  amount: string,
  receivedOn: string,
): Promise<string> {
  const response = await repay(h, w.fund.admin, w.fund.id, loanId, {
    amount,
    receivedOn,
    reference: `REPAY-${randomUUID()}`,
  });
  if (response.status !== 201) throw new Error(`repayment failed: ${response.status} ${response.text}`);
  return (response.body as { id: string }).id;
}

export async function portfolio(h: Harness): Promise<Portfolio> {
  setToday(h, TEST_TODAY);
  const w = await loanWorld(h);
  const changed = await changePolicy(h, w.fund, POLICY);
  if (changed.status !== 201) throw new Error(`policy change failed: ${changed.status} ${changed.text}`);
  const c = await createMember(h, w.fund.id);
  const d = await createMember(h, w.fund.id);
  await fundPool(h, w.fund, '50000.00', c);
  await fundPool(h, w.fund, '50000.00', d);
  const users = {
    c: await makeUser(h, 'member', { fundId: w.fund.id, memberId: c }),
    d: await makeUser(h, 'member', { fundId: w.fund.id, memberId: d }),
  };
  const parties = { [w.g1]: w.users.g1, [w.g2]: w.users.g2, [w.big]: w.users.big };
  const pool = { type: 'pool' };
  const l1 = await disbursed(
    h,
    w,
    {
      amount: '30000.00',
      termDays: 30,
      repaymentMethod: 'bullet',
      lender: pool,
      guarantors: [{ memberId: w.g1, amount: '20000.00', type: 'joint_and_several' }],
      collateral: collateral('40000.00', '25'),
    },
    parties,
  );
  const l2 = await disbursed(
    h,
    w,
    {
      borrowerMemberId: c,
      amount: '60000.00',
      termDays: 90,
      repaymentMethod: 'equal_principal',
      lender: pool,
      guarantors: [
        { memberId: w.g1, amount: '30000.00', type: 'joint_and_several' },
        { memberId: w.g2, amount: '10000.00', type: 'general' },
      ],
      collateral: collateral('100000.00', '40'),
    },
    parties,
  );
  const l3 = await disbursed(
    h,
    w,
    {
      borrowerMemberId: d,
      amount: '20000.00',
      termDays: 60,
      repaymentMethod: 'bullet',
      lender: pool,
      guarantors: [{ memberId: w.g2, amount: '5000.00', type: 'joint_and_several' }],
      collateral: collateral('30000.00', '50'),
    },
    parties,
  );
  const l4 = await disbursed(
    h,
    w,
    {
      amount: '40000.00',
      termDays: 30,
      repaymentMethod: 'bullet',
      lender: { type: 'peer', memberId: w.big },
      guarantors: [{ memberId: w.g1, amount: '10000.00', type: 'general' }],
      collateral: collateral('45000.00', '10'),
    },
    parties,
  );

  setToday(h, '2026-06-20', w, users.c, users.d);
  const l5 = await disbursed(
    h,
    w,
    {
      borrowerMemberId: d,
      amount: '10000.00',
      termDays: 30,
      repaymentMethod: 'bullet',
      lender: pool,
      guarantors: [{ memberId: w.g2, amount: '3000.00', type: 'general' }],
      collateral: collateral('20000.00', '50'),
    },
    parties,
  );

  // L5 repaid in full on 07-10: 10,000.00 and its interest of 20 days (06-20 … 07-09) at 1.00.
  setToday(h, '2026-07-10', w, users.c, users.d);
  await ranJob(h, h.http, w.fund.admin, w.fund.id, '2026-07-09');
  await repaid(h, w, l5, '10020.00', '2026-07-10');

  // L2's first instalment paid 5 days late, on 07-20: penalty 12.00 (4 days × 20,000.00 × 0.015 %),
  // interest 200.00 (180.00 of the first period, 5 days × 4.00 of the second), principal 20,000.00.
  setToday(h, '2026-07-20', w, users.c, users.d);
  await ranJob(h, h.http, w.fund.admin, w.fund.id, '2026-07-19');
  await repaid(h, w, l2, '20212.00', '2026-07-20');
  setToday(h, '2026-07-21', w, users.c, users.d);
  await ranJob(h, h.http, w.fund.admin, w.fund.id, '2026-07-20');

  return { w, c, d, users, loans: { l1, l2, l3, l4, l5 } };
}

export function report(
  h: Harness,
  user: TestUser,
  fundId: string,
  name: 'loan-book' | 'portfolio-at-risk',
  asOf?: string,
) {
  const query = asOf === undefined ? '' : `?asOf=${asOf}`;
  return h.http.get(api(`/funds/${fundId}/reports/${name}${query}`)).set(user.auth);
}

/** RFC 4180 fields of a CSV answer (after its byte-order mark), row by row. */
export function parseCsv(text: string): string[][] {
  expect(text.startsWith('\uFEFF')).toBe(true);
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const body = text.slice(1);
  for (let index = 0; index < body.length; index += 1) {
    const char = body[index]!;
    if (quoted) {
      if (char === '"' && body[index + 1] === '"') {
        field += '"';
        index += 1;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(field);
      field = '';
    } else if (char === '\r' && body[index + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      index += 1;
    } else field += char;
  }
  expect({ field, row }).toEqual({ field: '', row: [] });
  return rows;
}

export { api, collateral, setToday };
