import { accountTemplate, CHART_OF_ACCOUNTS, POOL_CASH } from '../../src/ledger/chart';
import { ACCOUNT_TYPES, BOOKS, SIDES } from '../../src/ledger/ledger.types';

/** The chart table of ARCHITECTURE.md: code, type, book and scope (`:<member>` / `:<loan>` rows). */
const DOCUMENTED: [code: string, type: string, book: string, scope: string][] = [
  ['1001', 'asset', 'fund', 'fund'],
  ['1201', 'asset', 'fund', 'loan'],
  ['1202', 'asset', 'fund', 'loan'],
  ['1203', 'asset', 'fund', 'loan'],
  // Not in ARCHITECTURE.md's table: the service fee owed since disbursement.
  ['1204', 'asset', 'fund', 'loan'],
  ['1231', 'asset', 'fund', 'fund'],
  ['1301', 'asset', 'fund', 'member'],
  ['2001', 'liability', 'fund', 'member'],
  ['3001', 'equity', 'fund', 'member'],
  ['3101', 'equity', 'fund', 'fund'],
  ['4001', 'income', 'fund', 'fund'],
  ['4002', 'income', 'fund', 'fund'],
  ['4003', 'income', 'fund', 'fund'],
  ['4004', 'income', 'fund', 'fund'],
  ['5001', 'expense', 'fund', 'fund'],
];

/** Memo rows: the table gives their type as "memo"; each per-item account has a fund-level contra. */
const MEMO_PAIRS: [item: string, contra: string, scope: string][] = [
  ['7001', '7002', 'member'],
  ['7101', '7102', 'loan'],
  ['7201', '7202', 'loan'],
  ['7301', '7302', 'loan'],
];

describe('CHART_OF_ACCOUNTS', () => {
  it.each(DOCUMENTED)(
    'when code %s is looked up, then it is a %s account in book %s, scoped per %s',
    (code, type, book, scope) => {
      expect(accountTemplate(code)).toMatchObject({ code, type, book, scope });
    },
  );

  it.each(MEMO_PAIRS)(
    'when memo pair %s / %s is looked up, then the %s-scoped item is a debit asset and the contra a fund-level credit liability, both in book memo',
    (item, contra, scope) => {
      expect(accountTemplate(item)).toMatchObject({ book: 'memo', scope, type: 'asset', normalSide: 'debit' });
      expect(accountTemplate(contra)).toMatchObject({
        book: 'memo',
        scope: 'fund',
        type: 'liability',
        normalSide: 'credit',
      });
    },
  );

  it('when codes are listed, then every code is unique', () => {
    const codes = CHART_OF_ACCOUNTS.map((template) => template.code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('when codes are read, then each is four digits', () => {
    for (const template of CHART_OF_ACCOUNTS) expect(template.code).toMatch(/^\d{4}$/);
  });

  it('when an account is in the memo book, then its code starts with 7, and every 7xxx code is in the memo book', () => {
    for (const template of CHART_OF_ACCOUNTS) {
      expect([template.code, template.book === 'memo']).toEqual([template.code, template.code.startsWith('7')]);
    }
  });

  it('when the loan loss allowance 1231 is read, then it is a credit-normal contra asset', () => {
    expect(accountTemplate('1231')).toMatchObject({ type: 'asset', normalSide: 'credit', book: 'fund' });
  });

  it('when any other asset or expense is read, then it is debit-normal; liabilities, equity and income are credit-normal', () => {
    for (const template of CHART_OF_ACCOUNTS.filter((t) => t.code !== '1231')) {
      const expected = template.type === 'asset' || template.type === 'expense' ? 'debit' : 'credit';
      expect([template.code, template.normalSide]).toEqual([template.code, expected]);
    }
  });

  it('when types, books and sides are read, then each is one of the allowed values', () => {
    for (const template of CHART_OF_ACCOUNTS) {
      expect(ACCOUNT_TYPES).toContain(template.type);
      expect(BOOKS).toContain(template.book);
      expect(SIDES).toContain(template.normalSide);
    }
  });

  it('when pool cash is read, then it is 1001 with a floor of 0.00', () => {
    expect(POOL_CASH).toBe('1001');
    expect(accountTemplate(POOL_CASH)).toMatchObject({ name: 'Pool cash', floor: '0.00', scope: 'fund' });
  });

  it('when member capital 3001 is read, then it has no floor', () => {
    expect(accountTemplate('3001')?.floor).toBeNull();
  });

  it('when a code is not in the chart, then the lookup finds nothing', () => {
    expect(accountTemplate('9999')).toBeUndefined();
    expect(accountTemplate('3001:0f8fad5b-d9cb-469f-a165-70867728950e')).toBeUndefined();
  });
});
