import { Money } from '../../src/money/money';
import {
  bookTotals,
  classByDays,
  historyReason,
  portfolioAtRisk,
  ratio,
  statusAsOf,
  worseOf,
  type ApprovedExtension,
  type BookFigures,
  type HistoryChange,
} from '../../src/reports/delinquency';

const BANDS = { defaultAfterDaysOverdue: 60, specialMentionDaysMax: 10, substandardDaysMax: 30, doubtfulDaysMax: 60 };

describe('ratio (ROUND_HALF_UP to 4 decimals)', () => {
  test.each([
    ['1', '3', '0.3333'],
    ['2', '3', '0.6667'],
    // 1 / 16 = 0.0625 exactly; 1 / 32 = 0.03125 is a half on the 4th decimal: up.
    ['1', '32', '0.0313'],
    ['1', '16', '0.0625'],
    ['130000.00', '150000.00', '0.8667'],
    ['90000.00', '130000.00', '0.6923'],
    ['3', '2', '1.5000'],
    ['0.00', '150000.00', '0.0000'],
  ])('when %s is divided by %s, then the ratio is %s', (numerator, denominator, expected) => {
    expect(ratio(new Money(numerator), new Money(denominator))).toBe(expected);
  });

  test('when the portfolio is empty, then every ratio is 0.0000 and nothing is divided by zero', () => {
    expect(ratio(new Money(0), new Money(0))).toBe('0.0000');
  });

  test('when an amount is negative, then it is refused as a bug', () => {
    expect(() => ratio(new Money(-1), new Money(10))).toThrow(/negative/);
  });
});

describe('classification by days past due', () => {
  test.each([
    [0, 'normal'],
    [1, 'special_mention'],
    [10, 'special_mention'],
    [11, 'substandard'],
    [30, 'substandard'],
    [31, 'doubtful'],
    [60, 'doubtful'],
    [61, 'loss'],
  ])('when a loan is %i days past due, then it is %s', (days, tier) => {
    expect(classByDays(days, BANDS)).toBe(tier);
  });

  test('when a restructured loan has a floor, then the worse of the floor and the tier by days applies', () => {
    expect(worseOf('normal', 'substandard')).toBe('substandard');
    expect(worseOf('loss', 'substandard')).toBe('loss');
    expect(worseOf('doubtful', null)).toBe('doubtful');
  });
});

describe('status as of a day', () => {
  test('when nothing is overdue, then the loan is active, even if it was defaulted before', () => {
    expect(statusAsOf(0, 60, 'defaulted')).toBe('active');
  });

  test('when days past due reach the default threshold, then it is defaulted', () => {
    expect(statusAsOf(59, 60, 'overdue')).toBe('overdue');
    expect(statusAsOf(60, 60, 'overdue')).toBe('defaulted');
    expect(statusAsOf(60, 60, null)).toBe('defaulted');
  });

  test('when a defaulted loan is still late but under the threshold, then it stays defaulted', () => {
    expect(statusAsOf(5, 60, 'defaulted')).toBe('defaulted');
    expect(statusAsOf(5, 60, 'active')).toBe('overdue');
  });
});

function loan(lender: 'pool' | 'peer' | 'bank', principal: string, daysPastDue: number, borrower = 'b'): BookFigures {
  return {
    lender,
    borrowerMemberId: borrower,
    principal: new Money(principal),
    interest: lender === 'pool' ? new Money('1.00') : new Money('2.00'),
    penalty: lender === 'pool' ? new Money('0.50') : null,
    daysPastDue,
    classification: classByDays(daysPastDue, BANDS),
  };
}

describe('portfolio at risk', () => {
  const book = [
    loan('pool', '1000.00', 0),
    loan('pool', '2000.00', 1),
    loan('pool', '3000.00', 30),
    loan('pool', '4000.00', 31),
    loan('peer', '5000.00', 90),
    loan('peer', '6000.00', 91),
    loan('bank', '8000.00', 2),
  ];

  test('when loans are exactly N days late, then they are not in PAR N; one more day and their whole principal is', () => {
    const [all, pool, peer, bank] = portfolioAtRisk(book);
    // Total 29,000. Beyond 1 day: 3,000 + 4,000 + 5,000 + 6,000 + 8,000 = 26,000; beyond 30: 4,000 +
    // 5,000 + 6,000 = 15,000; beyond 90: 6,000.
    expect(all).toEqual({
      lender: 'all',
      loans: 7,
      principal: new Money('29000.00'),
      thresholds: [
        { days: 1, atRiskPrincipal: new Money('26000.00'), atRiskLoans: 5, ratio: '0.8966' },
        { days: 30, atRiskPrincipal: new Money('15000.00'), atRiskLoans: 3, ratio: '0.5172' },
        { days: 90, atRiskPrincipal: new Money('6000.00'), atRiskLoans: 1, ratio: '0.2069' },
      ],
    });
    // Pool 10,000: 7,000 / 4,000 / 0; peer 11,000: 11,000 / 11,000 / 6,000.
    expect(pool!.thresholds.map((t) => [t.atRiskPrincipal.toFixed(2), t.ratio])).toEqual([
      ['7000.00', '0.7000'],
      ['4000.00', '0.4000'],
      ['0.00', '0.0000'],
    ]);
    expect(peer!.thresholds.map((t) => [t.atRiskPrincipal.toFixed(2), t.ratio])).toEqual([
      ['11000.00', '1.0000'],
      ['11000.00', '1.0000'],
      ['6000.00', '0.5455'],
    ]);
    // Bank 8,000, two days late: at risk beyond 1 day only.
    expect(bank!.thresholds.map((t) => [t.atRiskPrincipal.toFixed(2), t.ratio])).toEqual([
      ['8000.00', '1.0000'],
      ['0.00', '0.0000'],
      ['0.00', '0.0000'],
    ]);
    expect(bank!.lender).toBe('bank');
  });

  test('when there is no loan, then every portfolio is empty with ratios of 0.0000', () => {
    for (const portfolio of portfolioAtRisk([])) {
      expect(portfolio.loans).toBe(0);
      expect(portfolio.thresholds.map((t) => t.ratio)).toEqual(['0.0000', '0.0000', '0.0000']);
    }
  });
});

describe('totals of the book', () => {
  test('when loans sit in several tiers, then each tier and the whole book add their count and amounts; a missing penalty adds nothing', () => {
    const totals = bookTotals([loan('pool', '1000.00', 0), loan('peer', '2000.00', 0), loan('pool', '3000.00', 61)]);
    expect(totals.byClass.map((row) => [row.classification, row.count, row.principal.toFixed(2)])).toEqual([
      ['normal', 2, '3000.00'],
      ['special_mention', 0, '0.00'],
      ['substandard', 0, '0.00'],
      ['doubtful', 0, '0.00'],
      ['loss', 1, '3000.00'],
    ]);
    expect(totals.byClass[0]!.interest.toFixed(2)).toBe('3.00');
    expect(totals.byClass[0]!.penalty.toFixed(2)).toBe('0.50');
    expect([totals.all.count, totals.all.principal.toFixed(2), totals.all.interest.toFixed(2)]).toEqual([
      3,
      '6000.00',
      '4.00',
    ]);
    expect(totals.all.penalty.toFixed(2)).toBe('1.00');
  });
});

describe('reasons of the classification history', () => {
  const change = (overrides: Partial<HistoryChange>): HistoryChange => ({
    changedOn: '2026-08-01',
    fromClassification: 'normal',
    toClassification: 'special_mention',
    fromStatus: 'active',
    toStatus: 'overdue',
    daysPastDue: 1,
    ...overrides,
  });
  const extension: ApprovedExtension = {
    effectiveOn: '2026-09-01',
    observationEndsOn: '2027-09-15',
    classificationFloor: 'substandard',
  };

  test('when the job moves a loan by its days past due, then the reason names the move', () => {
    expect(historyReason(change({}), [])).toBe('overdue');
    expect(historyReason(change({ fromStatus: 'active', toStatus: 'defaulted', daysPastDue: 90 }), [])).toBe(
      'defaulted',
    );
    expect(historyReason(change({ fromStatus: 'overdue', toStatus: 'defaulted', daysPastDue: 90 }), [])).toBe(
      'defaulted',
    );
    expect(historyReason(change({ fromStatus: 'defaulted', toStatus: 'active', daysPastDue: 0 }), [])).toBe('cured');
    expect(
      historyReason(
        change({ fromClassification: 'special_mention', toClassification: 'substandard', fromStatus: 'overdue' }),
        [],
      ),
    ).toBe('days_past_due');
  });

  test('when an extension takes effect, then its row is the restructuring; the day after the observation, the floor lapsing', () => {
    const restructured = change({
      changedOn: '2026-09-01',
      fromClassification: 'special_mention',
      toClassification: 'substandard',
      fromStatus: 'overdue',
      toStatus: 'active',
      daysPastDue: 0,
    });
    expect(historyReason(restructured, [extension])).toBe('restructured');
    // Without the extension the same row is a cure.
    expect(historyReason(restructured, [])).toBe('cured');
    const lapsed = change({
      changedOn: '2027-09-16',
      fromClassification: 'substandard',
      toClassification: 'normal',
      fromStatus: 'active',
      toStatus: 'active',
      daysPastDue: 0,
    });
    expect(historyReason(lapsed, [extension])).toBe('observation_ended');
    expect(historyReason({ ...lapsed, changedOn: '2027-09-15' }, [extension])).toBe('days_past_due');
  });
});
