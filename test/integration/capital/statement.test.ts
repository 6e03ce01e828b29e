import type { Response } from 'supertest';
import { STATEMENT_CSV_HEADER } from '../../../src/capital/statement.csv';
import { capitalAccount, createFund, entryBody, postEntry, type TestFund } from '../../helpers/factories';
import { startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { expectFundConsistent } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';
import { api, called, contributed, memberWith, randomUUID } from './capital.helpers';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const INJECTION_MEMO = '=HYPERLINK("http://x.example","click"), now';

/** Takes money out of a member's capital: Dr 3001:<member> / Cr pool cash, dated `effectiveDate`. */
async function debitCapital(fund: TestFund, memberId: string, amount: string, effectiveDate: string, memo: string) {
  const capital = await capitalAccount(h, fund.id, memberId);
  const response = await postEntry(
    h,
    fund.admin,
    fund.id,
    entryBody(
      [
        { accountId: capital, side: 'debit', amount },
        { accountCode: '1001', side: 'credit', amount },
      ],
      { effectiveDate, memo },
    ),
  );
  if (response.status !== 201) throw new Error(`adjustment failed: ${response.status} ${response.text}`);
  return response.body.id as string;
}

function statement(fund: TestFund, memberId: string, query: Record<string, string> = {}) {
  return h.http
    .get(api(`/funds/${fund.id}/members/${memberId}/statement`))
    .query(query)
    .set(fund.admin.auth);
}

/** The CSV answer as the raw bytes sent, so the byte-order mark and line endings are seen as they are. */
function statementCsvBytes(fund: TestFund, memberId: string, query: Record<string, string>) {
  return statement(fund, memberId, query)
    .set('Accept', 'text/csv')
    .buffer(true)
    .parse((res, callback) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => callback(null, Buffer.concat(chunks)));
    });
}

function csvRows(response: Response): string[] {
  const text = (response.body as Buffer).toString('utf8');
  expect(text.startsWith('\uFEFF')).toBe(true);
  expect(text.endsWith('\r\n')).toBe(true);
  expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
  return text.slice(1, -2).split('\r\n');
}

describe('a member statement', () => {
  let fund: TestFund;
  let member: string;
  let name: string;
  let callId: string;
  const entries: Record<string, string> = {};
  beforeAll(async () => {
    fund = await createFund(h);
    member = await memberWith(h, fund.id, '100000.00');
    name = ((await h.db('members').where({ id: member }).first('name')) as { name: string }).name;
    callId = (await called(h, fund.admin, fund.id, { percent: '10', calledOn: '2026-02-01', dueOn: '2026-04-30' })).id;
    // Recorded out of date order: the 10 January money is booked after the 5 March money.
    entries.mar = (await contributed(h, fund.admin, fund.id, member, '2000.00', { receivedOn: '2026-03-05' }))
      .entryId as string;
    entries.jan = (await contributed(h, fund.admin, fund.id, member, '1000.00', { receivedOn: '2026-01-10' }))
      .entryId as string;
    entries.apr = await debitCapital(fund, member, '500.00', '2026-04-01', INJECTION_MEMO);
    entries.may = (await contributed(h, fund.admin, fund.id, member, '3000.00', { receivedOn: '2026-05-20' }))
      .entryId as string;
    entries.jun = (await contributed(h, fund.admin, fund.id, member, '4000.00', { receivedOn: '2026-06-10' }))
      .entryId as string;
    await expectFundConsistent(h, fund.id);
  });

  test('when a period is asked for, then the opening balance is the day before, movements run in date order and the closing balance adds up', async () => {
    const response = await statement(fund, member, { from: '2026-03-01', to: '2026-05-31' });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.body).toMatchObject({
      member: { id: member, name, creditCode: null, status: 'active' },
      period: { from: '2026-03-01', to: '2026-05-31' },
      currency: 'CNY',
      generatedOn: TEST_TODAY,
      subscribedAmount: '100000.00',
      openingBalance: '1000.00',
      totals: { in: '5000.00', out: '500.00' },
      closingBalance: '5500.00',
      loans: [],
      guarantees: [],
    });
    expect(response.body.movements).toEqual([
      {
        date: '2026-03-05',
        entryId: entries.mar,
        kind: 'capital.contribution',
        memo: expect.stringContaining('bank ref'),
        side: 'credit',
        amount: '2000.00',
        balance: '3000.00',
      },
      {
        date: '2026-04-01',
        entryId: entries.apr,
        kind: 'manual.adjustment',
        memo: INJECTION_MEMO,
        side: 'debit',
        amount: '500.00',
        balance: '2500.00',
      },
      {
        date: '2026-05-20',
        entryId: entries.may,
        kind: 'capital.contribution',
        memo: expect.stringContaining('bank ref'),
        side: 'credit',
        amount: '3000.00',
        balance: '5500.00',
      },
    ]);
    // The call as it stood at the end of 31 May: the June money had not come yet.
    expect(response.body.calls).toEqual([
      {
        callId,
        callNumber: 1,
        percent: '10',
        calledOn: '2026-02-01',
        dueOn: '2026-04-30',
        due: '10000.00',
        paid: '6000.00',
        outstanding: '4000.00',
        overdue: true,
      },
    ]);
    expect((response.body.contributions as { receivedOn: string }[]).map((c) => c.receivedOn)).toEqual([
      '2026-03-05',
      '2026-05-20',
    ]);
  });

  test('when no period is given, then it runs from 1 January to today', async () => {
    const response = await statement(fund, member);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      period: { from: '2026-01-01', to: TEST_TODAY },
      openingBalance: '0.00',
      totals: { in: '10000.00', out: '500.00' },
      closingBalance: '9500.00',
    });
    expect((response.body.movements as { entryId: string }[]).map((m) => m.entryId)).toEqual([
      entries.jan,
      entries.mar,
      entries.apr,
      entries.may,
      entries.jun,
    ]);
    expect(response.body.calls[0]).toMatchObject({ paid: '10000.00', outstanding: '0.00', overdue: false });
  });

  test('when the period has no movements, then opening and closing are the same balance', async () => {
    const response = await statement(fund, member, { from: '2026-04-02', to: '2026-05-19' });
    expect(response.body).toMatchObject({ openingBalance: '2500.00', closingBalance: '2500.00', movements: [] });
    expect(response.body.totals).toEqual({ in: '0.00', out: '0.00' });
  });

  test('when the member never had a capital account, then the statement is all zeros', async () => {
    const newcomer = await memberWith(h, fund.id, '5000.00');
    const response = await statement(fund, newcomer, { from: '2026-01-01', to: '2026-06-15' });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      capitalAccountId: null,
      openingBalance: '0.00',
      closingBalance: '0.00',
      movements: [],
      calls: [],
      contributions: [],
    });
  });

  test('when the period is backwards, longer than 10 years or not a date, then it is a 400', async () => {
    expectProblem(
      await statement(fund, member, { from: '2026-05-01', to: '2026-04-30' }),
      400,
      'statement_range_invalid',
    );
    expectProblem(
      await statement(fund, member, { from: '2016-06-15', to: '2026-06-15' }),
      400,
      'statement_range_invalid',
    );
    expect((await statement(fund, member, { from: '2016-06-16', to: '2026-06-15' })).status).toBe(200);
    expectProblem(await statement(fund, member, { from: '2026-13-01' }), 400, 'validation_failed');
    expectProblem(await statement(fund, member, { from: '2026-01-01', extra: '1' }), 400, 'validation_failed');
  });

  test('when the member does not exist in the fund, then it is a 404', async () => {
    expectProblem(await statement(fund, randomUUID()), 404, 'member_not_found');
  });

  test('when CSV is asked for, then it is UTF-8 with a BOM, CRLF lines, a header row, the Chinese name intact and formulas defused', async () => {
    const response = await statementCsvBytes(fund, member, { from: '2026-03-01', to: '2026-05-31' });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.headers.vary).toMatch(/Accept/);
    const bytes = response.body as Buffer;
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const disposition = response.headers['content-disposition'] as string;
    expect(disposition).toMatch(/^attachment; /);
    expect(disposition).toContain(`filename="statement-${member}-2026-03-01-2026-05-31.csv"`);
    expect(disposition).toContain(`filename*=UTF-8''${encodeURIComponent(name)}`);

    const rows = csvRows(response);
    expect(rows[0]).toBe(STATEMENT_CSV_HEADER.join(','));
    expect(rows.slice(1)).toEqual([
      // Each kind's code, then its Chinese name.
      `${name},,2026-03-01,,opening_balance,期初余额,期初余额 Opening balance,,,1000.00`,
      expect.stringMatching(
        new RegExp(`^${name},,2026-03-05,${entries.mar},capital\\.contribution,实缴出资,.*,,2000\\.00,3000\\.00$`),
      ),
      `${name},,2026-04-01,${entries.apr},manual.adjustment,调整分录,"'=HYPERLINK(""http://x.example"",""click""), now",500.00,,2500.00`,
      expect.stringMatching(
        new RegExp(`^${name},,2026-05-20,${entries.may},capital\\.contribution,实缴出资,.*,,3000\\.00,5500\\.00$`),
      ),
      `${name},,2026-05-31,,period_totals,本期合计,本期合计 Totals for the period,500.00,5000.00,`,
      `${name},,2026-05-31,,closing_balance,期末余额,期末余额 Closing balance,,,5500.00`,
    ]);
  });

  test('when JSON is preferred over CSV in Accept, then the answer is JSON', async () => {
    const response = await statement(fund, member).set('Accept', 'application/json, text/csv;q=0.5');
    expect(response.headers['content-type']).toMatch(/^application\/json/);
  });
});

describe('a statement with a negative balance', () => {
  test('when capital is below zero, then CSV keeps negative amounts as plain numbers', async () => {
    const fund = await createFund(h);
    const payer = await memberWith(h, fund.id, '1000.00');
    await contributed(h, fund.admin, fund.id, payer, '1000.00', { receivedOn: '2026-06-01' });
    const loser = await memberWith(h, fund.id, '1000.00');
    await debitCapital(fund, loser, '100.00', '2026-06-02', '-loss share @ period end');
    const json = await statement(fund, loser, { from: '2026-06-01', to: '2026-06-15' });
    expect(json.body).toMatchObject({ openingBalance: '0.00', closingBalance: '-100.00' });
    const rows = csvRows(await statementCsvBytes(fund, loser, { from: '2026-06-01', to: '2026-06-15' }));
    expect(rows[2]).toMatch(/,manual\.adjustment,调整分录,'-loss share @ period end,100\.00,,-100\.00$/);
    expect(rows[rows.length - 1]).toMatch(/,closing_balance,期末余额,期末余额 Closing balance,,,-100\.00$/);
    await expectFundConsistent(h, fund.id);
  });
});
