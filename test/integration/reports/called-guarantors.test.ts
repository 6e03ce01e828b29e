import { startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import {
  api,
  calledThenG1PaysAndG2Fails,
  caseOf,
  disbursedLoan,
  expectBalancedBooks,
  jobThrough,
  recoveryWorld,
  type RecoveryWorld,
} from '../recovery/recovery.helpers';
import { parseCsv } from './reports.helpers';

/**
 * A defaulted loan whose receivable the recovery moved onto its guarantors (ADR 0018) is still the
 * fund's credit risk: the loan book keeps it, with what is owed by whom, and PAR counts it.
 *
 * The recovery world (recovery.helpers.ts): 200,000.00 from the pool on 2026-07-01, bullet, due
 * 07-31, fee 1,000.00, interest 20.00 a day (600.00 to 07-30), penalty 30.00 a day from 08-01;
 * defaulted by the daily job on 08-05 (5 days past due), owing 201,750.00. Guaranteed jointly and
 * severally by G1 for 140,000.00 and G2 for 90,000.00; no collateral. Classification bands of the
 * default policy: 关注 up to 90 days past due.
 *
 *  - 08-10 the committee calls both for the whole 201,750.00, pro rata to 140,000 : 90,000:
 *    G1 122,804.347… → 122,804.35, G2 78,945.652… → 78,945.65. The call takes fee, penalty,
 *    interest, then principal (W-order): the borrower's 1201 goes to 0.00.
 *  - 08-20 G1 pays in full. Its payment is deemed to have paid fee, penalty and interest (1,750.00)
 *    first (W-restore), so what G2 still owes is principal: 78,945.65.
 *  - 08-26 G2's failure (due 08-25) puts its 78,945.65 back onto the loan's principal.
 */

let h: Harness;
let w: RecoveryWorld;
let loanId: string;

beforeAll(async () => {
  h = await startHarness();
  w = await recoveryWorld(h);
  ({ loanId } = await disbursedLoan(h, w, '2026-07-01', { collateral: [] }));
  await jobThrough(h, w, '2026-08-05', '2026-08-06');
  const kase = await caseOf(h, w, loanId);
  const base = `/funds/${w.fund.id}/recovery-cases/${kase.id}`;
  await calledThenG1PaysAndG2Fails(h, w, loanId, base);
  await expectBalancedBooks(h, w);
});

afterAll(async () => {
  h.clock.set(`${TEST_TODAY}T04:00:00.000Z`);
  await h.close();
});

interface OwedBy {
  borrowerPrincipal: string;
  guarantorsPrincipal: string;
  guarantorsOwed: string;
  guarantors: { memberId: string; name: string; owed: string }[];
}

interface BookLine {
  loanId: string;
  principalOutstanding: string;
  interestReceivable: string;
  penaltyReceivable: string | null;
  owedBy: OwedBy;
  daysPastDue: number;
  classification: string;
  status: string;
}

async function loanBook(asOf: string) {
  const response = await h.http.get(api(`/funds/${w.fund.id}/reports/loan-book?asOf=${asOf}`)).set(w.admin.auth);
  expect(response.status).toBe(200);
  return response.body as { loans: BookLine[]; totals: { all: Record<string, unknown> } };
}

async function lineOf(asOf: string): Promise<BookLine | undefined> {
  return (await loanBook(asOf)).loans.find((line) => line.loanId === loanId);
}

async function poolPar(asOf: string) {
  const response = await h.http
    .get(api(`/funds/${w.fund.id}/reports/portfolio-at-risk?asOf=${asOf}`))
    .set(w.admin.auth);
  expect(response.status).toBe(200);
  return (response.body as { portfolios: { lender: string }[] }).portfolios.find((p) => p.lender === 'pool');
}

async function nameOf(memberId: string): Promise<string> {
  return ((await h.db('members').where({ id: memberId }).first('name')) as { name: string }).name;
}

/** By name, then id, in code-point order: the order the report lists guarantors in. */
function byName(a: { name: string; memberId: string }, b: { name: string; memberId: string }): number {
  const first = a.name === b.name ? a.memberId : a.name;
  const second = a.name === b.name ? b.memberId : b.name;
  return first < second ? -1 : first > second ? 1 : 0;
}

function par(loans: number, principal: string, atRisk: [string, number, string][]) {
  return {
    lender: 'pool',
    loans,
    principalOutstanding: principal,
    thresholds: ([1, 30, 90] as const).map((days, index) => ({
      days,
      atRiskPrincipal: atRisk[index]![0],
      atRiskLoans: atRisk[index]![1],
      ratio: atRisk[index]![2],
    })),
  };
}

describe('a loan whose guarantors were called', () => {
  test('when the day is before the call, then the borrower owes everything and no guarantor is named', async () => {
    expect(await lineOf('2026-08-09')).toMatchObject({
      principalOutstanding: '200000.00',
      interestReceivable: '600.00',
      penaltyReceivable: '150.00',
      owedBy: { borrowerPrincipal: '200000.00', guarantorsPrincipal: '0.00', guarantorsOwed: '0.00', guarantors: [] },
      daysPastDue: 9,
      classification: 'special_mention',
      status: 'defaulted',
    });
  });

  test('when the call moved the whole receivable to the guarantors, then the loan stays in the book with what each guarantor owes, and in PAR', async () => {
    const line = await lineOf('2026-08-10');
    expect(line).toMatchObject({
      principalOutstanding: '200000.00',
      interestReceivable: '0.00',
      penaltyReceivable: '0.00',
      owedBy: { borrowerPrincipal: '0.00', guarantorsPrincipal: '200000.00', guarantorsOwed: '201750.00' },
      daysPastDue: 10,
      classification: 'special_mention',
      status: 'defaulted',
    });
    expect(line!.owedBy.guarantors).toEqual(
      [
        { memberId: w.g1, name: await nameOf(w.g1), owed: '122804.35' },
        { memberId: w.g2, name: await nameOf(w.g2), owed: '78945.65' },
      ].sort(byName),
    );
    expect((await loanBook('2026-08-10')).totals.all).toEqual({
      count: 1,
      principalOutstanding: '200000.00',
      interestReceivable: '0.00',
      penaltyReceivable: '0.00',
    });
    expect(await poolPar('2026-08-10')).toEqual(
      par(1, '200000.00', [
        ['200000.00', 1, '1.0000'],
        ['0.00', 0, '0.0000'],
        ['0.00', 0, '0.0000'],
      ]),
    );
  });

  test('when one guarantor paid its call, then the other still owes its part, deemed principal, until its failure gives it back to the borrower', async () => {
    const g2 = { memberId: w.g2, name: await nameOf(w.g2), owed: '78945.65' };
    for (const [day, daysPastDue] of [
      ['2026-08-20', 20],
      ['2026-08-25', 25],
    ] as const) {
      expect([day, await lineOf(day)]).toEqual([
        day,
        expect.objectContaining({
          principalOutstanding: '78945.65',
          owedBy: {
            borrowerPrincipal: '0.00',
            guarantorsPrincipal: '78945.65',
            guarantorsOwed: '78945.65',
            guarantors: [g2],
          },
          daysPastDue,
          status: 'defaulted',
        }),
      ]);
    }
    expect(await poolPar('2026-08-25')).toEqual(
      par(1, '78945.65', [
        ['78945.65', 1, '1.0000'],
        ['0.00', 0, '0.0000'],
        ['0.00', 0, '0.0000'],
      ]),
    );
    expect(await lineOf('2026-08-26')).toMatchObject({
      principalOutstanding: '78945.65',
      owedBy: { borrowerPrincipal: '78945.65', guarantorsPrincipal: '0.00', guarantorsOwed: '0.00', guarantors: [] },
      daysPastDue: 26,
      status: 'defaulted',
    });
  });

  test('when a guarantor called reads the book, then it sees the loan it guarantees with what it owes', async () => {
    const response = await h.http
      .get(api(`/funds/${w.fund.id}/reports/loan-book?asOf=2026-08-20`))
      .set(w.users.g2.auth);
    expect(response.status).toBe(200);
    const lines = (response.body as { loans: BookLine[] }).loans;
    expect(lines.map((line) => [line.loanId, line.owedBy.guarantors.map((g) => [g.memberId, g.owed])])).toEqual([
      [loanId, [[w.g2, '78945.65']]],
    ]);
  });

  test('when the book is asked for as CSV, then the row carries what the borrower and the guarantors owe', async () => {
    const json = await lineOf('2026-08-10');
    const response = await h.http
      .get(api(`/funds/${w.fund.id}/reports/loan-book?asOf=2026-08-10`))
      .set(w.admin.auth)
      .set('Accept', 'text/csv');
    expect(response.status).toBe(200);
    const [header, ...rows] = parseCsv(response.text);
    const column = (name: string) => {
      const index = header!.indexOf(name);
      expect([name, index >= 0]).toEqual([name, true]);
      return index;
    };
    const row = rows.find((cells) => cells.includes(loanId))!;
    expect(row[column('未偿本金 Principal outstanding')]).toBe('200000.00');
    expect(row[column('借款人所欠本金 Principal owed by borrower')]).toBe('0.00');
    expect(row[column('担保人所欠本金 Principal owed by guarantors')]).toBe('200000.00');
    expect(row[column('担保人应付合计 Owed by guarantors')]).toBe('201750.00');
    expect(row[column('担保人应付明细 Owed by each guarantor')]).toBe(
      json!.owedBy.guarantors.map((g) => `${g.name}: ${g.owed}`).join('; '),
    );
  });
});
