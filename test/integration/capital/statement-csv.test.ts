import {
  amountCell,
  csvField,
  prefersCsv,
  statementContentDisposition,
  statementCsv,
  toCsv,
  type Statement,
} from '../../../src/capital/statement.csv';

/** The CSV rules as pure functions: no database, no HTTP. */

describe('CSV fields', () => {
  test('when text is plain, then it is written as it is, Chinese included', () => {
    expect(csvField('杭州互助科技有限公司')).toBe('杭州互助科技有限公司');
    expect(csvField('2026-06-15')).toBe('2026-06-15');
    expect(csvField(null)).toBe('');
    expect(csvField('')).toBe('');
  });

  test('when text has a comma, a quote, CR or LF, then it is quoted with inner quotes doubled (RFC 4180)', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('two\r\nlines')).toBe('"two\r\nlines"');
  });

  test('when text starts with =, +, -, @, TAB or CR, then a single quote makes it inert', () => {
    expect(csvField('=1+2')).toBe("'=1+2");
    expect(csvField('+86 571')).toBe("'+86 571");
    expect(csvField('-5 adjustment')).toBe("'-5 adjustment");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('\tx')).toBe("'\tx");
    expect(csvField('\rx')).toBe('"\'\rx"');
    expect(csvField('=HYPERLINK("http://x","y")')).toBe('"\'=HYPERLINK(""http://x"",""y"")"');
    expect(csvField('a=b')).toBe('a=b');
  });

  test('when a cell is an amount, then it stays a plain number, negative ones too', () => {
    expect(csvField(amountCell('-12.50'))).toBe('-12.50');
    expect(csvField(amountCell('1000000.00'))).toBe('1000000.00');
    expect(() => amountCell('=1+2')).toThrow(/not a 2-decimal amount/);
    expect(() => amountCell('12.5')).toThrow(/not a 2-decimal amount/);
  });

  test('when rows are joined, then the file starts with a BOM and every row ends in CRLF', () => {
    expect(
      toCsv([
        ['a', 'b,c'],
        [null, amountCell('-1.00')],
      ]),
    ).toBe('\uFEFFa,"b,c"\r\n,-1.00\r\n');
  });
});

describe('statement CSV', () => {
  const statement: Statement = {
    member: {
      id: '6f1c1a52-3a55-4d43-9a38-0d1d0e6c2f11',
      name: '宁波"甬"兴, 有限公司',
      creditCode: null,
      status: 'active',
    },
    period: { from: '2026-01-01', to: '2026-06-30' },
    currency: 'CNY',
    generatedOn: '2026-06-30',
    subscribedAmount: '1000.00',
    capitalAccountId: null,
    openingBalance: '0.00',
    movements: [
      {
        date: '2026-02-01',
        entryId: '0b5c2c5e-8f0e-4d8e-9d0c-7f0c7d7e2a10',
        kind: 'manual.adjustment',
        memo: '@cmd\nsecond line',
        side: 'debit',
        amount: '10.00',
        balance: '-10.00',
      },
    ],
    totals: { in: '0.00', out: '10.00' },
    closingBalance: '-10.00',
    calls: [],
    contributions: [],
    loans: [],
    guarantees: [],
  };

  test('when a statement is rendered, then names are quoted as needed, memos defused and amounts left as numbers', () => {
    const name = '"宁波""甬""兴, 有限公司"';
    expect(statementCsv(statement).split('\r\n')).toEqual([
      '\uFEFF成员 Member,统一社会信用代码 Credit code,日期 Date,凭证 Entry,类型 Kind,类型中文名 Kind in Chinese,摘要 Memo,借方 Debit,贷方 Credit,余额 Balance',
      `${name},,2026-01-01,,opening_balance,期初余额,期初余额 Opening balance,,,0.00`,
      `${name},,2026-02-01,0b5c2c5e-8f0e-4d8e-9d0c-7f0c7d7e2a10,manual.adjustment,调整分录,"'@cmd\nsecond line",10.00,,-10.00`,
      `${name},,2026-06-30,,period_totals,本期合计,本期合计 Totals for the period,10.00,0.00,`,
      `${name},,2026-06-30,,closing_balance,期末余额,期末余额 Closing balance,,,-10.00`,
      '',
    ]);
  });

  test('when the file is named, then the ASCII name has the member and dates and filename* the Chinese name', () => {
    const disposition = statementContentDisposition({
      ...statement,
      member: { ...statement.member, name: '杭州(互助)', creditCode: '91330100MA27XYZ12K' },
    });
    expect(disposition).toBe(
      `attachment; filename="statement-91330100MA27XYZ12K-2026-01-01-2026-06-30.csv"; filename*=UTF-8''${encodeURIComponent('杭州')}%28${encodeURIComponent('互助')}%29-${encodeURIComponent('对账单')}-2026-01-01-2026-06-30.csv`,
    );
  });
});

describe('choosing CSV from Accept', () => {
  test.each([
    [undefined, false],
    ['application/json', false],
    ['*/*', false],
    ['text/csv', true],
    ['TEXT/CSV; charset=utf-8', true],
    ['text/csv;q=0', false],
    ['application/json, text/csv', false],
    ['text/csv, application/json', true],
    ['application/json;q=0.5, text/csv', true],
    ['application/json, text/csv;q=0.9', false],
  ])('when Accept is %p, then CSV is %p', (accept, expected) => {
    expect(prefersCsv(accept)).toBe(expected);
  });
});
