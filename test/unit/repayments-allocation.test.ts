import fc from 'fast-check';
import { InvariantError } from '../../src/assert';
import { Money } from '../../src/money/money';
import {
  allocate,
  componentTotal,
  COMPONENTS,
  payoffOf,
  peerInterestDue,
  releasedTotal,
  type AllocationLine,
  type InstalmentState,
  type Owed,
} from '../../src/loans/repayments.allocation';

const m = (text: string): Money => new Money(text);

function owed(fee: string, penalty: string, interest: string, principal: string): Owed {
  return { fee: m(fee), penalty: m(penalty), interest: m(interest), principal: m(principal) };
}

function instalment(
  number: number,
  dueOn: string,
  principal: string,
  interest: string,
  paid: { principal?: string; interest?: string } = {},
): InstalmentState {
  return {
    scheduleVersion: 1,
    number,
    dueOn,
    principal: m(principal),
    interest: m(interest),
    principalPaid: m(paid.principal ?? '0'),
    interestPaid: m(paid.interest ?? '0'),
  };
}

/** Lines as plain tuples: component, instalment number (null: none), amount, prepayment. */
const plain = (lines: readonly AllocationLine[]) =>
  lines.map((line) => [line.component, line.instalmentNumber, line.amount.toFixed(2), line.prepayment]);

/**
 * 90,000.00 over three months, equal principal: 30,000.00 each; scheduled interest 321.78, 221.67,
 * 103.68. Given out of order on purpose: the allocation sorts them by due date.
 */
const SCHEDULE = [
  instalment(3, '2026-09-13', '30000.00', '103.68'),
  instalment(1, '2026-07-15', '30000.00', '321.78'),
  instalment(2, '2026-08-15', '30000.00', '221.67'),
];

describe('allocate: order and instalments', () => {
  test('when a repayment covers part of the interest, then the fee, the penalty and the oldest instalment’s interest come first, and nothing reaches principal', () => {
    const lines = allocate(m('500.00'), owed('450.00', '12.34', '321.78', '90000.00'), SCHEDULE, '2026-07-20');
    // 450.00 fee, 12.34 penalty, the 37.66 left to the interest of instalment 1.
    expect(plain(lines)).toEqual([
      ['fee', null, '450.00', false],
      ['penalty', null, '12.34', false],
      ['interest', 1, '37.66', false],
    ]);
  });

  test('when a repayment covers the first instalment and part of the second, then interest goes oldest first before any principal, and principal not yet due is a prepayment', () => {
    // On 2026-08-20 instalments 1 and 2 are due; accrued interest covers both periods plus 5 days of the third.
    const lines = allocate(m('40000.00'), owed('0', '0', '560.00', '90000.00'), SCHEDULE, '2026-08-20');
    // 560.00 interest: 321.78 (1) + 221.67 (2) + 16.55 (3); 39,440.00 principal: 30,000.00 (1) + 9,440.00 (2).
    expect(plain(lines)).toEqual([
      ['interest', 1, '321.78', false],
      ['interest', 2, '221.67', false],
      ['interest', 3, '16.55', false],
      ['principal', 1, '30000.00', false],
      ['principal', 2, '9440.00', false],
    ]);
  });

  test('when instalments are partly paid, then only what is unpaid of each is taken, and an instalment due on the day received is not a prepayment', () => {
    const partly = [
      instalment(1, '2026-07-15', '30000.00', '321.78', { principal: '30000.00', interest: '321.78' }),
      instalment(2, '2026-08-15', '30000.00', '221.67', { principal: '29999.99', interest: '200.00' }),
      instalment(3, '2026-09-13', '30000.00', '103.68'),
    ];
    const lines = allocate(m('50.00'), owed('0', '0', '21.68', '30000.01'), partly, '2026-08-15');
    // 21.67 of interest is unpaid on instalment 2; the 0.01 more accrued belongs to instalment 3.
    expect(plain(lines)).toEqual([
      ['interest', 2, '21.67', false],
      ['interest', 3, '0.01', false],
      ['principal', 2, '0.01', false],
      ['principal', 3, '28.31', true],
    ]);
  });

  test('when interest accrued beyond the schedule (past maturity), then the excess belongs to no instalment', () => {
    const lines = allocate(
      m('150.00'),
      owed('0', '0', '120.00', '30000.00'),
      [instalment(1, '2026-07-15', '30000.00', '100.00', { interest: '0.00' })],
      '2026-09-01',
    );
    expect(plain(lines)).toEqual([
      ['interest', 1, '100.00', false],
      ['interest', null, '20.00', false],
      ['principal', 1, '30.00', false],
    ]);
  });

  test('when a prepayment comes before any instalment is due, then every principal line is a prepayment, the oldest instalment first', () => {
    const lines = allocate(m('45000.00'), owed('0', '0', '0', '90000.00'), SCHEDULE, '2026-06-20');
    expect(plain(lines)).toEqual([
      ['principal', 1, '30000.00', true],
      ['principal', 2, '15000.00', true],
    ]);
  });
});

describe('allocate: payoff and fen edges', () => {
  const OWED = owed('450.00', '3.21', '543.45', '90000.00');

  test('when the payoff is paid exactly, then every component is paid in full and every instalment’s principal is cleared', () => {
    const payoff = payoffOf(OWED);
    expect(payoff.toFixed(2)).toBe('90996.66');
    const lines = allocate(payoff, OWED, SCHEDULE, '2026-08-20');
    expect(componentTotal(lines, 'fee').toFixed(2)).toBe('450.00');
    expect(componentTotal(lines, 'penalty').toFixed(2)).toBe('3.21');
    expect(componentTotal(lines, 'interest').toFixed(2)).toBe('543.45');
    expect(componentTotal(lines, 'principal').toFixed(2)).toBe('90000.00');
    expect(lines.filter((l) => l.component === 'principal').map((l) => [l.instalmentNumber, l.prepayment])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
  });

  test('when one fen less than the payoff is paid, then the last instalment keeps exactly one fen of principal', () => {
    const lines = allocate(payoffOf(OWED).minus('0.01'), OWED, SCHEDULE, '2026-08-20');
    const last = lines.filter((l) => l.component === 'principal' && l.instalmentNumber === 3);
    expect(last.map((l) => l.amount.toFixed(2))).toEqual(['29999.99']);
    expect(componentTotal(lines, 'interest').toFixed(2)).toBe('543.45');
  });

  test('when one fen is paid, then it is one fen of the fee; with no fee nor penalty, one fen of the oldest interest', () => {
    expect(plain(allocate(m('0.01'), OWED, SCHEDULE, '2026-08-20'))).toEqual([['fee', null, '0.01', false]]);
    expect(plain(allocate(m('0.01'), owed('0', '0', '5.00', '90000.00'), SCHEDULE, '2026-08-20'))).toEqual([
      ['interest', 1, '0.01', false],
    ]);
  });

  test('when more than the payoff, zero or less is given, then the allocation refuses it (the service answers 422 first)', () => {
    const payoff = payoffOf(OWED);
    expect(() => allocate(payoff.plus('0.01'), OWED, SCHEDULE, '2026-08-20')).toThrow(InvariantError);
    expect(() => allocate(m('0'), OWED, SCHEDULE, '2026-08-20')).toThrow(InvariantError);
    expect(() => allocate(m('-5.00'), OWED, SCHEDULE, '2026-08-20')).toThrow(InvariantError);
  });

  test('when the principal owed is more than the schedule’s unpaid principal, then the inconsistency is an invariant failure, not a silent remainder', () => {
    expect(() => allocate(m('90000.01'), owed('0', '0', '0', '90000.01'), SCHEDULE, '2026-08-20')).toThrow(
      /exceeds the schedule's unpaid principal/,
    );
  });
});

describe('guarantee release and peer interest', () => {
  test('when principal is repaid in parts, then the cumulative release is rounded half up each time and reaches the whole guarantee at the end', () => {
    // 150,000.00 × 30,000.00 / 90,000.00 = 50,000.00; 100,000.00 × 1 / 3 = 33,333.333… → 33,333.33;
    // 100,000.00 × 0.05 / 90,000.00 = 0.0555… → 0.06; 0.005 exactly → 0.01 (half up).
    expect(releasedTotal(m('150000.00'), m('30000.00'), m('90000.00')).toFixed(2)).toBe('50000.00');
    expect(releasedTotal(m('100000.00'), m('30000.00'), m('90000.00')).toFixed(2)).toBe('33333.33');
    expect(releasedTotal(m('100000.00'), m('0.05'), m('90000.00')).toFixed(2)).toBe('0.06');
    expect(releasedTotal(m('1.00'), m('0.50'), m('100.00')).toFixed(2)).toBe('0.01');
    expect(releasedTotal(m('100000.00'), m('90000.00'), m('90000.00')).toFixed(2)).toBe('100000.00');
    expect(() => releasedTotal(m('1.00'), m('90000.01'), m('90000.00'))).toThrow(InvariantError);
  });

  test('when a peer loan is repaid, then the interest due is the unpaid scheduled interest of instalments due on or before the day', () => {
    const partly = [
      instalment(1, '2026-07-15', '30000.00', '321.78', { interest: '300.00' }),
      ...SCHEDULE.filter((i) => i.number > 1),
    ];
    expect(peerInterestDue(partly, '2026-07-14').toFixed(2)).toBe('0.00');
    expect(peerInterestDue(partly, '2026-07-15').toFixed(2)).toBe('21.78');
    expect(peerInterestDue(partly, '2026-08-15').toFixed(2)).toBe('243.45');
  });
});

// ---------------------------------------------------------------------------------------------
// Property

const fen = (max: number) => fc.integer({ min: 0, max }).map((n) => new Money(n).div(100));

/** A schedule of 1–6 instalments, some partly paid, and what is owed consistent with it. */
const world = fc
  .array(
    fc.record({
      principal: fen(5_000_000),
      interest: fen(100_000),
      principalPaidShare: fc.integer({ min: 0, max: 4 }),
      interestPaidShare: fc.integer({ min: 0, max: 4 }),
    }),
    { minLength: 1, maxLength: 6 },
  )
  .chain((rows) => {
    const instalments = rows.map((row, index) =>
      instalment(
        index + 1,
        `2026-${String(index + 7).padStart(2, '0')}-15`,
        row.principal.toFixed(2),
        row.interest.toFixed(2),
        {
          // Paid quarters, truncated to the fen: never more than the instalment.
          principal: row.principal.times(row.principalPaidShare).div(4).toDecimalPlaces(2, Money.ROUND_DOWN).toFixed(2),
          interest: row.interest.times(row.interestPaidShare).div(4).toDecimalPlaces(2, Money.ROUND_DOWN).toFixed(2),
        },
      ),
    );
    const unpaidPrincipal = instalments.reduce((sum, i) => sum.plus(i.principal).minus(i.principalPaid), m('0'));
    return fc.record({
      instalments: fc.constant(instalments),
      owed: fc.record({
        fee: fen(200_000),
        penalty: fen(200_000),
        interest: fen(800_000),
        principal: fc.constant(unpaidPrincipal),
      }),
      receivedMonth: fc.integer({ min: 6, max: 13 }),
      share: fc.integer({ min: 1, max: 1_000_000 }),
    });
  })
  .filter(({ owed: o }) => payoffOf(o).gt(0));

describe('allocate: properties', () => {
  test('when any amount up to the payoff is allocated, then the lines sum to it, no bucket or instalment gets more than it owes, and a later bucket gets nothing until the earlier ones are paid', () => {
    fc.assert(
      fc.property(world, ({ instalments, owed: o, receivedMonth, share }) => {
        const payoff = payoffOf(o);
        // share / 1,000,000 of the payoff, at least one fen, truncated to the fen.
        const amount = Money.max(m('0.01'), payoff.times(share).div(1_000_000).toDecimalPlaces(2, Money.ROUND_DOWN));
        const receivedOn = receivedMonth > 12 ? '2027-01-01' : `2026-${String(receivedMonth).padStart(2, '0')}-20`;
        const lines = allocate(amount, o, instalments, receivedOn);

        const total = lines.reduce((sum, line) => sum.plus(line.amount), m('0'));
        expect(total.toFixed(2)).toBe(amount.toFixed(2));
        for (const line of lines) {
          expect(line.amount.gt(0)).toBe(true);
          expect(line.amount.decimalPlaces()).toBeLessThanOrEqual(2);
        }
        let earlierPaidInFull = true;
        for (const component of COMPONENTS) {
          const paid = componentTotal(lines, component);
          expect(paid.lte(o[component])).toBe(true);
          if (!earlierPaidInFull) expect(paid.isZero()).toBe(true);
          earlierPaidInFull = earlierPaidInFull && paid.eq(o[component]);
        }
        for (const i of instalments) {
          const of = (component: 'interest' | 'principal') =>
            lines
              .filter((line) => line.component === component && line.instalmentNumber === i.number)
              .reduce((sum, line) => sum.plus(line.amount), m('0'));
          expect(of('interest').lte(i.interest.minus(i.interestPaid))).toBe(true);
          expect(of('principal').lte(i.principal.minus(i.principalPaid))).toBe(true);
        }
        for (const line of lines.filter((l) => l.component === 'principal')) {
          const due = instalments.find((i) => i.number === line.instalmentNumber)!.dueOn;
          expect(line.prepayment).toBe(due > receivedOn);
        }
        // Oldest first: an instalment gets principal only once every older one is cleared.
        const principalLines = lines.filter((l) => l.component === 'principal');
        principalLines.slice(0, -1).forEach((line) => {
          const i = instalments.find((x) => x.number === line.instalmentNumber)!;
          expect(line.amount.eq(i.principal.minus(i.principalPaid))).toBe(true);
        });
      }),
      { numRuns: 300 },
    );
  });

  test('when the payoff itself is allocated, then every component is paid exactly', () => {
    fc.assert(
      fc.property(world, ({ instalments, owed: o }) => {
        const lines = allocate(payoffOf(o), o, instalments, '2026-12-31');
        for (const component of COMPONENTS) expect(componentTotal(lines, component).eq(o[component])).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
