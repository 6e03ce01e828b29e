import { randomUUID } from 'node:crypto';
import { assert } from '../assert';
import type { AuditService } from '../audit/audit.service';
import { memberScope } from '../auth/permissions';
import { actorOf, type Actor, type Principal } from '../auth/principal';
import type { Clock } from '../clock';
import type { Db, Trx } from '../db/knex';
import type { Fund, FundService } from '../funds/funds.service';
import type { LedgerService } from '../ledger/ledger.service';
import type { EntryLineInput } from '../ledger/ledger.types';
import { formatAmount, Money, sumAmounts } from '../money/money';
import * as jobRepo from './daily-job.repo';
import * as servicing from './disbursements.repo';
import * as loansRepo from './loans.repo';
import {
  allocate,
  componentTotal,
  payoffOf,
  peerInterestDue,
  releasedTotal,
  type AllocationLine,
  type InstalmentState,
  type Owed,
} from './repayments.allocation';
import { bankLoanError } from './bank-loans.errors';
import { repaymentError } from './repayments.errors';
import * as repo from './repayments.repo';
import type { PayoffView, RepaymentInput, RepaymentView, ReverseRepaymentInput } from './repayments.schemas';
import { toRepaymentView } from './repayments.views';
import * as reaccrual from './reaccrual';

export interface RepaymentServiceDeps {
  ledger: LedgerService;
  audit: AuditService;
  funds: FundService;
  clock: Clock;
}

/** What a repayment or its reversal did, for the response and the audit row. */
export interface RepaymentOutcome {
  view: RepaymentView;
  entries: Record<string, string>;
}

type Post = { fundId: string; actor: Actor; requestId: string };

/**
 * Repayments of disbursed loans, their reversal, and the payoff figure.
 *
 * Decisions written down here:
 * - What is owed is read from the loan's own accounts (the contract with the daily job): principal
 *   1201:<loan>, interest 1202 (accrued by the job), penalty interest 1203, the service fee 1204.
 *   A repayment never posts accruals; the job never touches the instalments' paid columns. Their
 *   balance rows are locked (after the borrower's member row and the loan row, the order every
 *   loan command takes) so an accrual cannot slip between the allocation and the entry.
 * - Allocation: fee → penalty interest → interest → principal (PRC Civil Code art. 561); interest
 *   and principal to the oldest instalment first; see repayments.allocation.ts. Interest not yet
 *   accrued cannot be paid: a payoff is the fee, penalty and interest **accrued to date** plus the
 *   principal outstanding. Paying it stops interest at once — the job accrues on 1201, which is 0 —
 *   and closes the loan. A repayment above the payoff is refused whole (422
 *   `repayment_exceeds_payoff`, with the payoff and its parts), never partly applied.
 * - What is owed is what was owed at the start of the day received; `receivedOn` dates the entry.
 *   A repayment may not be dated before the latest standing repayment of the loan, nor before the
 *   latest reversal, so repayments are recorded in the order the money came and "the latest" is
 *   both the last recorded and the last received. Dated in a day the daily job has already run,
 *   the loan's days from then are run again (reaccrual.ts, ADR 0012), as for a reversal so dated.
 * - Pool loan: one entry Dr 1001 / Cr 1204, 1203, 1202, 1201:<loan> for the parts.
 * - Peer loan: the money goes to the lending member, outside the fund. The fund keeps no interest,
 *   penalty or fee accounts for it (the interest is the lender's, not fund income): its interest is
 *   the schedule's — the scheduled interest of instalments due on or before the day received,
 *   unpaid — and is recorded only in the allocations and the instalments' paid columns. The
 *   principal part is recorded in the memo book, Dr 7102 / Cr 7101:<loan>; no pool cash moves. A
 *   peer repayment of interest alone posts no entry.
 * - Guarantees: after each repayment every active guarantee's cumulative release is
 *   ROUND_HALF_UP(guarantee × principal repaid / loan amount) (rule R-release in
 *   repayments.allocation.ts); the increment is booked in one memo entry Dr 7002 /
 *   Cr 7001:<guarantor>. When the loan closes the release reaches the whole guarantee and the
 *   guarantees become `released`.
 * - Bank loan (docs/adr/0017-bank-loans.md): the borrower repays the bank, not the fund; money
 *   received is refused here (409 `bank_loan_repayment_reported`) and the borrower reports what it
 *   paid the bank (bank-loans.service.ts), into the same repayments, allocations and releases. Its
 *   payoff is owed like a peer loan's: the scheduled interest due, the principal of 7201:<loan>.
 *   A report is reversed here, as any repayment.
 * - A loan closes (status `repaid`, `repaid_on` = day received) when its principal is 0; by the
 *   allocation order every receivable is then 0 too.
 * - Reversal: only the latest standing repayment of a loan can be reversed (409
 *   `repayment_not_latest` otherwise): reversing an older one would change how every later one
 *   should have been allocated. Reverse the later ones first, then record them again. The reversal
 *   posts the mirror of the repayment entry and of its guarantee-release entry (LedgerService
 *   .reverseEntry, dated `reversedOn`, default today, not before the day received), takes the
 *   allocations back out of the paid columns, gives the bank reference back, and — if the
 *   repayment closed the loan — reopens it in the status it had before and makes its guarantees
 *   active again.
 */
export class RepaymentService {
  constructor(readonly deps: RepaymentServiceDeps) {}

  /** POST …/loans/{loanId}/repayments */
  async record(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    loanId: string,
    input: RepaymentInput,
    requestId: string,
  ): Promise<RepaymentOutcome> {
    const amount = new Money(input.amount);
    assert(amount.gt(0) && amount.decimalPlaces() <= 2, `repayment amount ${input.amount} passed validation`);
    const today = this.deps.funds.today(fund);
    if (input.receivedOn > today) {
      throw repaymentError(
        'received_on_in_future',
        `Money received on ${input.receivedOn} is in the future (today is ${today} in the fund's time zone).`,
        { receivedOn: input.receivedOn, today },
      );
    }
    // Before the loan's locks, as a day run takes it: the job and this repayment never interleave.
    await jobRepo.lockFundJobShared(trx, fund.id);
    const loan = await this.lockLoan(trx, fund, loanId);
    assertRepayable(loan);
    if (loan.lender === 'bank') {
      throw bankLoanError(
        'bank_loan_repayment_reported',
        `Loan #${loan.number} is lent by ${loan.bank_name}: the fund receives nothing; report what the borrower paid the bank with POST …/loans/${loan.id}/bank-repayments.`,
        { lender: loan.lender },
      );
    }
    if (input.receivedOn < loan.disbursed_on!) {
      throw repaymentError(
        'received_on_before_disbursement',
        `Money received on ${input.receivedOn} is before the loan was disbursed (${loan.disbursed_on}).`,
        { receivedOn: input.receivedOn, disbursedOn: loan.disbursed_on },
      );
    }
    const latest = await repo.latestStanding(trx, fund.id, loan.id);
    if (latest && input.receivedOn < latest.received_on) {
      throw repaymentError(
        'received_on_before_last_repayment',
        `Repayment ${latest.number} of this loan was received on ${latest.received_on}; a repayment received earlier must be recorded before it (reverse it first).`,
        { receivedOn: input.receivedOn, latestRepaymentId: latest.id, latestReceivedOn: latest.received_on },
      );
    }
    await this.assertInDateOrder(trx, loan, input.receivedOn);
    const taken = await repo.findByReference(trx, fund.id, input.reference);
    if (taken) throw referenceTaken(input.reference, taken.id);

    await repo.lockReceivables(trx, fund.id, loan.id);
    // Owed at the start of the day received, read before a rewind forgets the job's days from it.
    const receivables = await receivablesAtStartOf(trx, loan, input.receivedOn);
    // Dated in a day the job has already run: those days run again once the money is booked.
    const rewound = loan.lender === 'pool' ? await reaccrual.rewind(trx, loan, input.receivedOn) : null;
    const instalments = await this.instalmentsOf(trx, loan);
    const owed = owedOn(loan, receivables, instalments, input.receivedOn);
    const payoff = payoffOf(owed);
    if (amount.gt(payoff)) {
      throw repaymentError(
        'repayment_exceeds_payoff',
        `${formatAmount(amount)} is more than the loan's payoff of ${formatAmount(payoff)} (fee, penalty and interest accrued to date, and the principal outstanding).`,
        { amount: formatAmount(amount), payoff: payoffFigures(owed) },
      );
    }
    const lines = allocate(amount, owed, instalments, input.receivedOn);

    const id = randomUUID();
    const post: Post = { fundId: fund.id, actor: actorOf(principal), requestId };
    const entries: Record<string, string> = {};
    const entryId = await this.postRepayment(trx, loan, lines, { ...post, id, input });
    if (entryId) entries.repayment = entryId;

    const principalAfter = owed.principal.minus(componentTotal(lines, 'principal'));
    const closes = principalAfter.isZero();
    assert(
      !closes || payoff.eq(amount),
      `loan ${loan.id}: principal repaid in full while other receivables remain (allocation order broken)`,
    );
    const releases = await this.releaseGuarantees(trx, loan, principalAfter, id, {
      ...post,
      effectiveDate: input.receivedOn,
    });
    if (releases.entryId) entries.guaranteeRelease = releases.entryId;

    const row = await repo
      .insertRepayment(trx, {
        id,
        fund_id: fund.id,
        loan_id: loan.id,
        number: await repo.nextNumber(trx, fund.id, loan.id),
        amount: formatAmount(amount),
        received_on: input.receivedOn,
        reference: input.reference,
        loan_status_before: loan.status,
        closed_loan: closes,
        entry_id: entryId ?? null,
        guarantee_entry_id: releases.entryId ?? null,
        schedule_version: loan.schedule_version,
        recorded_by: principal.userId,
        recorded_at: this.deps.clock.now(),
      })
      .catch((error: unknown) => {
        // Another repayment with the same reference committed meanwhile.
        const pgError = error as { code?: string; constraint?: string };
        if (pgError.code === '23505' && pgError.constraint === 'repayments_reference_key') {
          throw referenceTaken(input.reference, null);
        }
        throw error;
      });
    const allocations = lines.map((line, index) => allocationRow(row, line, index + 1));
    await repo.insertAllocations(trx, allocations);
    await repo.insertReleases(trx, releases.rows);
    const touched = new Set(allocations.filter((a) => a.instalment_number !== null).map((a) => a.instalment_number));
    const updated = await repo.applyToInstalments(trx, fund.id, loan.id, id, 1);
    assert(updated === touched.size, `repayment ${id} updated ${updated} of ${touched.size} instalments`);

    let status = loan.status;
    if (closes) {
      const now = this.deps.clock.now();
      await repo.setLoanStatus(trx, fund.id, loan.id, 'repaid', input.receivedOn, now);
      await loansRepo.setGuaranteeStatuses(trx, fund.id, loan.id, ['active'], 'released', now);
      status = 'repaid';
    }
    const adjustments = rewound
      ? [
          await this.runAgain(trx, fund, loan, rewound, {
            ...post,
            repaymentId: id,
            cause: 'repayment',
            what: `repayment ${row.number} received on ${input.receivedOn}`,
            entries,
          }),
        ]
      : [];
    return { view: toRepaymentView(row, allocations, releases.rows, adjustments, status), entries };
  }

  /** POST …/loans/{loanId}/repayments/{repaymentId}/reverse */
  async reverse(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    loanId: string,
    repaymentId: string,
    input: ReverseRepaymentInput,
    requestId: string,
  ): Promise<RepaymentOutcome> {
    await jobRepo.lockFundJobShared(trx, fund.id);
    const loan = await this.lockLoan(trx, fund, loanId);
    const repayment = await repo.lockRepayment(trx, fund.id, loan.id, repaymentId);
    if (!repayment)
      throw repaymentError('repayment_not_found', `Repayment ${repaymentId} does not exist for this loan.`);
    if (repayment.reversed_at !== null) {
      throw repaymentError(
        'repayment_already_reversed',
        `Repayment ${repayment.number} was reversed on ${repayment.reversed_on}.`,
        { reversedOn: repayment.reversed_on, reversalEntryId: repayment.reversal_entry_id },
      );
    }
    const latest = await repo.latestStanding(trx, fund.id, loan.id);
    assert(latest, `loan ${loan.id} has standing repayment ${repayment.id} but no latest one`);
    if (latest.id !== repayment.id) {
      throw repaymentError(
        'repayment_not_latest',
        `Repayment ${latest.number} was recorded after repayment ${repayment.number}: reverse it first (reversing an older repayment would change how the later ones are allocated).`,
        { latestRepaymentId: latest.id, latestNumber: latest.number },
      );
    }
    if (repayment.schedule_version !== loan.schedule_version) {
      // An extension rebuilt the schedule from the balances after this repayment; undoing it now
      // would owe amounts that no instalment of the new schedule contains.
      throw repaymentError(
        'repayment_before_extension',
        `Repayment ${repayment.number} was recorded under schedule version ${String(repayment.schedule_version)}; the loan was extended since (version ${String(loan.schedule_version)}). Book a correcting entry instead.`,
        { repaymentScheduleVersion: repayment.schedule_version, loanScheduleVersion: loan.schedule_version },
      );
    }
    const step = await repo.firstRecoveryStep(trx, fund.id, loan.id);
    if (step) {
      // The waterfall's figures (what was called, offset, written off) were computed from the
      // repayments standing then, and a collateral realisation is itself a repayment of the case.
      throw repaymentError(
        'repayment_before_recovery_step',
        `The loan's recovery case took a step (${step.kind}) on ${step.taken_on}; its repayments are no longer reversed. Book a correcting entry instead.`,
        { recoveryStep: step.kind, takenOn: step.taken_on },
      );
    }
    const today = this.deps.funds.today(fund);
    const reversedOn = input.reversedOn ?? today;
    if (reversedOn > today) {
      throw repaymentError('reversed_on_in_future', `A reversal is dated today (${today}) or earlier.`, {
        reversedOn,
        today,
      });
    }
    if (reversedOn < repayment.received_on) {
      throw repaymentError(
        'reversed_on_before_receipt',
        `The reversal date ${reversedOn} is before the money was received (${repayment.received_on}).`,
        { reversedOn, receivedOn: repayment.received_on },
      );
    }
    const lastReversal = await repo.latestReversalDate(trx, fund.id, loan.id);
    if (lastReversal !== null && reversedOn < lastReversal) {
      throw repaymentError(
        'reversed_on_before_last_reversal',
        `A repayment of this loan was reversed on ${lastReversal}; reversals are dated in the order they happen, so this one cannot be dated ${reversedOn}.`,
        { reversedOn, latestReversedOn: lastReversal },
      );
    }
    await repo.lockReceivables(trx, fund.id, loan.id);
    const actor = actorOf(principal);
    const memo = `Reversal of repayment ${repayment.number} of loan #${loan.number} (bank reference ${repayment.reference}): ${input.reason}`;
    const mirror = async (entryId: string | null, part: string): Promise<string | null> => {
      if (entryId === null) return null;
      const { entry } = await this.deps.ledger.reverseEntry(trx, {
        fundId: fund.id,
        entryId,
        effectiveDate: reversedOn,
        memo: memo.slice(0, 500),
        actor,
        requestId,
        idempotencyKey: `repayment:${repayment.id}:reversal:${part}`,
      });
      return entry.id;
    };
    const reversalEntry = await mirror(repayment.entry_id, 'repayment');
    const guaranteeReversal = await mirror(repayment.guarantee_entry_id, 'guarantees');
    const allocations = await repo.allocationsOf(trx, fund.id, [repayment.id]);
    const touched = new Set(allocations.filter((a) => a.instalment_number !== null).map((a) => a.instalment_number));
    const updated = await repo.applyToInstalments(trx, fund.id, loan.id, repayment.id, -1);
    assert(updated === touched.size, `reversal of ${repayment.id} updated ${updated} of ${touched.size} instalments`);
    const now = this.deps.clock.now();
    const reversed = await repo.markReversed(trx, fund.id, repayment.id, {
      reversed_at: now,
      reversed_on: reversedOn,
      reversed_by: principal.userId,
      reversal_reason: input.reason,
      reversal_entry_id: reversalEntry,
      guarantee_reversal_entry_id: guaranteeReversal,
    });
    let status = loan.status;
    if (repayment.closed_loan) {
      assert(loan.status === 'repaid', `loan ${loan.id} closed by repayment ${repayment.id} is ${loan.status}`);
      status = repayment.loan_status_before;
      await repo.setLoanStatus(trx, fund.id, loan.id, status, null, now);
      await loansRepo.setGuaranteeStatuses(trx, fund.id, loan.id, ['released'], 'active', now);
    }
    const entries: Record<string, string> = {};
    if (reversalEntry) entries.reversal = reversalEntry;
    if (guaranteeReversal) entries.guaranteeReversal = guaranteeReversal;
    // Dated in a day the job has already run: the principal bears interest again from that day.
    const rewound = loan.lender === 'pool' ? await reaccrual.rewind(trx, loan, reversedOn) : null;
    if (rewound) {
      await this.runAgain(trx, fund, loan, rewound, {
        fundId: fund.id,
        actor,
        requestId,
        repaymentId: repayment.id,
        cause: 'reversal',
        what: `reversal of repayment ${repayment.number} on ${reversedOn}`,
        entries,
      });
    }
    const releases = await repo.releasesOf(trx, fund.id, [repayment.id]);
    const adjustments = await repo.accrualAdjustmentsOf(trx, fund.id, [repayment.id]);
    return { view: toRepaymentView(reversed, allocations, releases, adjustments, status), entries };
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  async list(
    db: Db,
    fund: Fund,
    principal: Principal,
    loanId: string,
    page: { beforeNumber?: number | undefined; limit: number },
  ): Promise<RepaymentView[]> {
    const loan = await this.findVisible(db, fund, principal, loanId);
    const rows = await repo.repaymentsOf(db, fund.id, loan.id, page);
    const ids = rows.map((row) => row.id);
    const allocations = await repo.allocationsOf(db, fund.id, ids);
    const releases = await repo.releasesOf(db, fund.id, ids);
    const adjustments = await repo.accrualAdjustmentsOf(db, fund.id, ids);
    return rows.map((row) => toRepaymentView(row, allocations, releases, adjustments, loan.status));
  }

  /** What a repayment received on `asOf` (default today) would have to be to repay the loan in full. */
  async payoff(db: Db, fund: Fund, principal: Principal, loanId: string, asOf?: string): Promise<PayoffView> {
    const loan = await this.findVisible(db, fund, principal, loanId);
    if (loan.disbursed_on === null) {
      throw repaymentError('loan_not_disbursed', `The loan is ${loan.status}; it owes nothing until disbursed.`, {
        loanStatus: loan.status,
      });
    }
    const today = this.deps.funds.today(fund);
    const date = asOf ?? today;
    if (date > today) {
      throw repaymentError('as_of_in_future', `Interest is known to date only: ${date} is after today (${today}).`, {
        asOf: date,
        today,
      });
    }
    if (date < loan.disbursed_on) {
      throw repaymentError('as_of_before_disbursement', `The loan was disbursed on ${loan.disbursed_on}.`, {
        asOf: date,
        disbursedOn: loan.disbursed_on,
      });
    }
    const receivables = await receivablesAtStartOf(db, loan, date);
    const paid = await repo.interestPaidAsOf(db, fund.id, loan.id, date);
    const instalments = (await this.instalmentsOf(db, loan)).map((instalment) => ({
      ...instalment,
      interestPaid: new Money(paid.get(`${instalment.scheduleVersion}:${instalment.number}`) ?? '0'),
    }));
    const owed = owedOn(loan, receivables, instalments, date);
    return { loanId: loan.id, asOf: date, lender: loan.lender, ...payoffFigures(owed) };
  }

  // -------------------------------------------------------------------------------------------
  // Posting

  /** The repayment entry: pool cash in, receivables out; for a peer loan the principal in the memo book. */
  private async postRepayment(
    trx: Trx,
    loan: servicing.ServicedLoanRow,
    lines: readonly AllocationLine[],
    post: Post & { id: string; input: RepaymentInput },
  ): Promise<string | undefined> {
    const { ledger } = this.deps;
    const parts: [string, Money][] = [
      ['1204', componentTotal(lines, 'fee')],
      ['1203', componentTotal(lines, 'penalty')],
      ['1202', componentTotal(lines, 'interest')],
      [loan.lender === 'pool' ? '1201' : '7101', componentTotal(lines, 'principal')],
    ];
    const credits: EntryLineInput[] = [];
    for (const [code, part] of parts) {
      if (loan.lender === 'peer' && code !== '7101') continue;
      if (part.isZero()) continue;
      const account = await ledger.ensureSubAccount(trx, loan.fund_id, code, { loanId: loan.id });
      credits.push({ accountId: account.id, side: 'credit', amount: formatAmount(part) });
    }
    if (credits.length === 0) return undefined;
    const total = formatAmount(sumAmounts(credits.map((line) => new Money(line.amount))));
    const debit = await servicing.fundAccountId(trx, loan.fund_id, loan.lender === 'pool' ? '1001' : '7102');
    const { entry } = await ledger.postEntry(trx, {
      fundId: post.fundId,
      effectiveDate: post.input.receivedOn,
      kind: loan.lender === 'pool' ? 'loan.repayment' : 'loan.peer_repayment',
      memo:
        loan.lender === 'pool'
          ? `Loan #${loan.number} repayment, bank reference ${post.input.reference}`
          : `Peer loan #${loan.number}: principal repaid to member ${loan.peer_lender_member_id} outside the fund, bank reference ${post.input.reference}`,
      idempotencyKey: `repayment:${post.id}:entry`,
      lines: [{ accountId: debit, side: 'debit', amount: total }, ...credits],
      actor: post.actor,
      requestId: post.requestId,
    });
    return entry.id;
  }

  /**
   * Books the increment of each active guarantee's cumulative release (rule R-release) in one memo
   * entry: Dr 7002 for the sum, Cr 7001:<guarantor> for each increment. The repayments a bank
   * loan's borrower reports release guarantees through it too (bank-loans.service.ts).
   */
  async releaseGuarantees(
    trx: Trx,
    loan: servicing.ServicedLoanRow,
    principalAfter: Money,
    repaymentId: string,
    post: Post & { effectiveDate: string },
  ): Promise<{ rows: repo.ReleaseRow[]; entryId?: string }> {
    const active = (await loansRepo.guaranteesOf(trx, loan.fund_id, [loan.id])).filter((g) => g.status === 'active');
    if (active.length === 0) return { rows: [] };
    const loanAmount = new Money(loan.amount);
    const repaid = loanAmount.minus(principalAfter);
    const soFar = await repo.releasedSoFar(trx, loan.fund_id, loan.id);
    const rows: repo.ReleaseRow[] = [];
    const credits: EntryLineInput[] = [];
    for (const guarantee of active) {
      const target = releasedTotal(new Money(guarantee.amount), repaid, loanAmount);
      const increment = target.minus(soFar.get(guarantee.id) ?? '0');
      assert(increment.gte(0), `guarantee ${guarantee.id}: release went down to ${target.toFixed(2)}`);
      if (increment.isZero()) continue;
      rows.push({
        fund_id: loan.fund_id,
        repayment_id: repaymentId,
        guarantee_id: guarantee.id,
        amount: formatAmount(increment),
        released_total: formatAmount(target),
      });
      const given = await this.deps.ledger.ensureSubAccount(trx, loan.fund_id, '7001', {
        memberId: guarantee.guarantor_member_id,
      });
      credits.push({ accountId: given.id, side: 'credit', amount: formatAmount(increment) });
    }
    if (rows.length === 0) return { rows };
    const total = formatAmount(sumAmounts(rows.map((row) => new Money(row.amount))));
    const { entry } = await this.deps.ledger.postEntry(trx, {
      ...post,
      kind: 'loan.guarantee_release',
      memo: `Loan #${loan.number}: guarantees released in proportion to the principal repaid (${formatAmount(repaid)} of ${formatAmount(loanAmount)})`,
      idempotencyKey: `repayment:${repaymentId}:guarantees`,
      lines: [
        { accountId: await servicing.fundAccountId(trx, loan.fund_id, '7002'), side: 'debit', amount: total },
        ...credits,
      ],
    });
    return { rows, entryId: entry.id };
  }

  // -------------------------------------------------------------------------------------------
  // Loans

  /** The borrower's member row, then the loan's: the order every loan command takes them in. */
  /**
   * Money is recorded in the order it moved: not before a reversal already recorded (the paid
   * columns no longer hold the reversed repayment, while the books held it until then), nor before
   * the schedule an extension started (it was built from the balances on that day).
   */
  private async assertInDateOrder(trx: Trx, loan: servicing.ServicedLoanRow, receivedOn: string): Promise<void> {
    const lastReversal = await repo.latestReversalDate(trx, loan.fund_id, loan.id);
    if (lastReversal !== null && receivedOn < lastReversal) {
      throw repaymentError(
        'received_on_before_last_reversal',
        `A repayment of this loan was reversed on ${lastReversal}; money received before that day cannot be recorded after it.`,
        { receivedOn, latestReversedOn: lastReversal },
      );
    }
    assert(loan.schedule_version !== null, `serviced loan ${loan.id} has no schedule`);
    if (loan.schedule_version > 1) {
      const start = await repo.scheduleStart(trx, loan.fund_id, loan.id, loan.schedule_version);
      if (receivedOn < start) {
        throw repaymentError(
          'received_on_before_extension',
          `The loan was extended: its schedule since ${start} was built from the balances on that day, so money received on ${receivedOn} cannot be recorded now. Book a correcting entry instead.`,
          { receivedOn, scheduleStart: start, scheduleVersion: loan.schedule_version },
        );
      }
    }
  }

  /** Runs the rewound days of the loan again, posts the differences and records what they were. */
  private async runAgain(
    trx: Trx,
    fund: Fund,
    loan: servicing.ServicedLoanRow,
    rewound: reaccrual.Rewound,
    post: Post & {
      repaymentId: string;
      cause: 'repayment' | 'reversal';
      what: string;
      entries: Record<string, string>;
    },
  ): Promise<repo.AccrualAdjustmentRow> {
    const rerun = await reaccrual.rerun(trx, this.deps.ledger, loan, rewound, {
      actor: post.actor,
      requestId: post.requestId,
      idempotencyKey: `repayment:${post.repaymentId}:${post.cause}:accrual`,
      cause: post.what,
    });
    rerun.entryIds.forEach((entryId, index) => {
      post.entries[`accrualAdjustment${index + 1}`] = entryId;
    });
    // The loan's standing as the job would have found it on the last day run. The history keeps
    // what was decided on the days between, on what was known then; a change is dated that day.
    const { policy } = await this.deps.funds.policyInForce(trx, fund, rerun.throughDay);
    await jobRepo.classifyDay(
      trx,
      loan.fund_id,
      rerun.throughDay,
      { defaultAfterDaysOverdue: policy.defaultAfterDaysOverdue, ...policy.classification },
      this.deps.clock.now(),
      loan.id,
    );
    return repo.insertAccrualAdjustment(trx, {
      fund_id: loan.fund_id,
      loan_id: loan.id,
      repayment_id: post.repaymentId,
      cause: post.cause,
      from_day: rerun.fromDay,
      through_day: rerun.throughDay,
      interest_difference: formatAmount(rerun.interest),
      penalty_difference: formatAmount(rerun.penalty),
      entry_ids: rerun.entryIds,
      created_at: this.deps.clock.now(),
    });
  }

  private async lockLoan(trx: Trx, fund: Fund, loanId: string): Promise<servicing.ServicedLoanRow> {
    const found = await servicing.findServicedLoan(trx, fund.id, loanId);
    if (!found || !servicing.LOAN_STATES.includes(found.status)) {
      throw repaymentError('loan_not_found', `Loan ${loanId} does not exist in this fund.`);
    }
    return servicing.lockBorrowerThenLoan(trx, fund.id, found);
  }

  private async instalmentsOf(db: Db, loan: servicing.ServicedLoanRow): Promise<InstalmentState[]> {
    if (loan.schedule_version === null) return [];
    const rows = await servicing.instalmentsOf(db, loan.fund_id, loan.id, loan.schedule_version);
    return rows.map((row) => ({
      scheduleVersion: row.schedule_version,
      number: row.number,
      dueOn: row.due_on,
      principal: new Money(row.principal),
      // Once its period ended, an instalment owes the interest the period accrued (ADR 0012).
      interest: new Money(row.interest_accrued ?? row.interest),
      principalPaid: new Money(row.principal_paid),
      interestPaid: new Money(row.interest_paid),
    }));
  }

  /** The loan if it is past approval and the principal may see it; a hidden loan looks missing. */
  private async findVisible(db: Db, fund: Fund, principal: Principal, loanId: string) {
    const loan = await servicing.findServicedLoan(db, fund.id, loanId);
    const member = memberScope(principal);
    const hidden =
      !loan ||
      !servicing.LOAN_STATES.includes(loan.status) ||
      (member !== undefined && !(await loansRepo.involves(db, loan, member)));
    if (hidden) throw repaymentError('loan_not_found', `Loan ${loanId} does not exist in this fund.`);
    return loan;
  }
}

function assertRepayable(loan: servicing.ServicedLoanRow): void {
  if (!servicing.SERVICED_STATES.includes(loan.status)) {
    throw repaymentError(
      'loan_not_repayable',
      `The loan is ${loan.status}; only a disbursed loan not yet closed (active, overdue or defaulted) takes repayments.`,
      { loanStatus: loan.status },
    );
  }
  assert(loan.disbursed_on !== null, `serviced loan ${loan.id} has no disbursement date`);
}

/** What the loan owes on `date`, from its receivable balances (and, for a peer loan, its schedule). */
function owedOn(
  loan: servicing.ServicedLoanRow,
  receivables: Record<repo.ReceivableCode, string>,
  instalments: readonly InstalmentState[],
  date: string,
): Owed {
  if (loan.lender !== 'pool') {
    // Peer and bank loans: the interest is the lender's, owed by the schedule (docs/adr/0017).
    return {
      fee: new Money(0),
      penalty: new Money(0),
      interest: peerInterestDue(instalments, date),
      principal: new Money(receivables[loan.lender === 'peer' ? '7101' : '7201']),
    };
  }
  return {
    fee: new Money(receivables['1204']),
    penalty: new Money(receivables['1203']),
    interest: new Money(receivables['1202']),
    principal: new Money(receivables['1201']),
  };
}

function payoffFigures(owed: Owed) {
  return {
    fee: formatAmount(owed.fee),
    penaltyInterest: formatAmount(owed.penalty),
    interest: formatAmount(owed.interest),
    principal: formatAmount(owed.principal),
    total: formatAmount(payoffOf(owed)),
  };
}

export function allocationRow(row: repo.RepaymentRow, line: AllocationLine, lineNo: number): repo.AllocationRow {
  return {
    fund_id: row.fund_id,
    repayment_id: row.id,
    line_no: lineNo,
    component: line.component,
    schedule_version: line.scheduleVersion,
    instalment_number: line.instalmentNumber,
    amount: formatAmount(line.amount),
    prepayment: line.prepayment,
  };
}

export function referenceTaken(reference: string, repaymentId: string | null) {
  return repaymentError(
    'repayment_reference_taken',
    `Bank reference ${JSON.stringify(reference)} is already recorded${repaymentId ? ` for repayment ${repaymentId}` : ''}; a transfer is recorded once.`,
    { reference, ...(repaymentId ? { repaymentId } : {}) },
  );
}

/**
 * The loan's receivables as of the start of `day`: everything dated on or before it except the
 * daily job's accrual for the day itself (and any rerun's difference for it). Money received on a
 * day pays what was owed at its start, whether the job has run the day yet or not.
 */
async function receivablesAtStartOf(
  db: Db,
  loan: servicing.ServicedLoanRow,
  day: string,
): Promise<Record<repo.ReceivableCode, string>> {
  const receivables = await repo.receivablesAsOf(db, loan.fund_id, loan.id, day);
  const [accrued] = await jobRepo.accrualDaysFrom(db, loan.fund_id, loan.id, day);
  if (accrued?.accrued_on === day) {
    receivables['1202'] = formatAmount(new Money(receivables['1202']).minus(accrued.interest_accrued_day));
    receivables['1203'] = formatAmount(new Money(receivables['1203']).minus(accrued.penalty_accrued_day));
  }
  return receivables;
}
