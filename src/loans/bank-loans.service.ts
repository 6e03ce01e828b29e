import { randomUUID } from 'node:crypto';
import { assert } from '../assert';
import type { AuditService } from '../audit/audit.service';
import { memberScope } from '../auth/permissions';
import { actorOf, type Principal } from '../auth/principal';
import type { Clock } from '../clock';
import type { Trx } from '../db/knex';
import type { Fund, FundService } from '../funds/funds.service';
import type { LedgerService } from '../ledger/ledger.service';
import { formatAmount, Money } from '../money/money';
import { bankLoanError } from './bank-loans.errors';
import type { BankRepaymentInput } from './bank-loans.schemas';
import * as jobRepo from './daily-job.repo';
import * as servicing from './disbursements.repo';
import * as loansRepo from './loans.repo';
import { allocate, componentTotal, type InstalmentState } from './repayments.allocation';
import { repaymentError } from './repayments.errors';
import * as repo from './repayments.repo';
import { allocationRow, referenceTaken, type RepaymentOutcome, type RepaymentService } from './repayments.service';
import { toRepaymentView } from './repayments.views';

export interface BankLoanDeps {
  ledger: LedgerService;
  audit: AuditService;
  funds: FundService;
  clock: Clock;
  repayments: RepaymentService;
}

/**
 * Repayments of a bank loan, as its borrower reports them (docs/adr/0017-bank-loans.md). The
 * borrower pays the bank, not the fund; the fund records what was paid because its members
 * guarantee what is still owed.
 *
 * Decisions written down here:
 * - A report is a repayment row like any other (repayments, allocations, guarantee releases), so
 *   the guarantee graph, capacity, the repayment list and the reversal read it with no other rule.
 * - Principal posts Dr 7202 / Cr 7201:<loan> in the memo book and releases the guarantees in
 *   proportion to the principal repaid (rule R-release, RepaymentService.releaseGuarantees).
 *   Interest is the bank's income: it posts nothing and is recorded on the instalments, oldest
 *   first up to their scheduled interest unpaid; what the bank charged beyond the schedule (penalty
 *   interest, a rate reset) is recorded on no instalment. Principal goes to the oldest instalments
 *   with principal unpaid, due or not (what is not yet due is a prepayment).
 * - Principal above what 7201:<loan> holds is refused whole (422
 *   `bank_principal_exceeds_outstanding`); the loan is repaid when its principal is all reported,
 *   whatever interest the schedule still shows.
 * - Reports are dated in order: not in the future, not before the drawdown, the latest standing
 *   report or the latest reversal. The locks are those of a repayment: the daily job's shared lock,
 *   the borrower's member row, the loan's row, then its balance rows.
 * - Who reports: the borrower's member users, or an administrator. A member user bound to another
 *   member taking part (a guarantor) gets 403 `not_borrower`; one not taking part sees no loan (404).
 */
export async function reportBankRepayment(
  trx: Trx,
  deps: BankLoanDeps,
  fund: Fund,
  principal: Principal,
  loanId: string,
  input: BankRepaymentInput,
  requestId: string,
): Promise<RepaymentOutcome> {
  const paidPrincipal = new Money(input.principal);
  const paidInterest = new Money(input.interest);
  assert(paidPrincipal.plus(paidInterest).gt(0), 'a bank repayment report passed validation with nothing paid');
  const today = deps.funds.today(fund);
  if (input.paidOn > today) {
    throw bankLoanError(
      'paid_on_in_future',
      `A payment on ${input.paidOn} is in the future (today is ${today} in the fund's time zone).`,
      { paidOn: input.paidOn, today },
    );
  }
  await jobRepo.lockFundJobShared(trx, fund.id);
  const loan = await lockReportable(trx, fund, principal, loanId);
  await assertInOrder(trx, loan, input.paidOn);
  const taken = await repo.findByReference(trx, fund.id, input.reference);
  if (taken) throw referenceTaken(input.reference, taken.id);

  const receivables = await repo.lockReceivables(trx, fund.id, loan.id);
  const outstanding = new Money(receivables['7201']);
  if (paidPrincipal.gt(outstanding)) {
    throw bankLoanError(
      'bank_principal_exceeds_outstanding',
      `${formatAmount(paidPrincipal)} of principal is more than the ${formatAmount(outstanding)} outstanding on the bank loan.`,
      { principal: formatAmount(paidPrincipal), outstanding: formatAmount(outstanding) },
    );
  }
  const instalments = await instalmentsOf(trx, loan);
  const owed = { fee: new Money(0), penalty: new Money(0), interest: paidInterest, principal: paidPrincipal };
  const lines = allocate(paidPrincipal.plus(paidInterest), owed, instalments, input.paidOn);

  const id = randomUUID();
  const post = { fundId: fund.id, actor: actorOf(principal), requestId, effectiveDate: input.paidOn };
  const entries: Record<string, string> = {};
  if (paidPrincipal.gt(0)) {
    const { entry } = await deps.ledger.postEntry(trx, {
      ...post,
      kind: 'loan.bank_repayment',
      memo: `Bank loan #${loan.number}: principal repaid to ${loan.bank_name} as the borrower reports, bank reference ${input.reference}`.slice(
        0,
        500,
      ),
      idempotencyKey: `repayment:${id}:entry`,
      lines: [
        {
          accountId: await servicing.fundAccountId(trx, fund.id, '7202'),
          side: 'debit',
          amount: formatAmount(paidPrincipal),
        },
        {
          accountId: (await deps.ledger.ensureSubAccount(trx, fund.id, '7201', { loanId: loan.id })).id,
          side: 'credit',
          amount: formatAmount(paidPrincipal),
        },
      ],
    });
    entries.repayment = entry.id;
  }
  const principalAfter = outstanding.minus(componentTotal(lines, 'principal'));
  const closes = principalAfter.isZero();
  const releases = await deps.repayments.releaseGuarantees(trx, loan, principalAfter, id, post);
  if (releases.entryId) entries.guaranteeRelease = releases.entryId;

  const row = await repo
    .insertRepayment(trx, {
      id,
      fund_id: fund.id,
      loan_id: loan.id,
      number: await repo.nextNumber(trx, fund.id, loan.id),
      amount: formatAmount(paidPrincipal.plus(paidInterest)),
      received_on: input.paidOn,
      reference: input.reference,
      loan_status_before: loan.status,
      closed_loan: closes,
      entry_id: entries.repayment ?? null,
      guarantee_entry_id: releases.entryId ?? null,
      schedule_version: loan.schedule_version,
      recorded_by: principal.userId,
      recorded_at: deps.clock.now(),
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
  assert(updated === touched.size, `bank repayment ${id} updated ${updated} of ${touched.size} instalments`);

  let status = loan.status;
  if (closes) {
    const now = deps.clock.now();
    await repo.setLoanStatus(trx, fund.id, loan.id, 'repaid', input.paidOn, now);
    await loansRepo.setGuaranteeStatuses(trx, fund.id, loan.id, ['active'], 'released', now);
    status = 'repaid';
  }
  return { view: toRepaymentView(row, allocations, releases.rows, [], status), entries };
}

/**
 * The bank loan locked for a report: visible to the principal, reported by its borrower's users or
 * an administrator, disbursed and not closed. The borrower's member row first, then the loan's.
 */
async function lockReportable(
  trx: Trx,
  fund: Fund,
  principal: Principal,
  loanId: string,
): Promise<servicing.ServicedLoanRow> {
  const found = await servicing.findServicedLoan(trx, fund.id, loanId);
  const scope = memberScope(principal);
  if (
    !found ||
    !servicing.LOAN_STATES.includes(found.status) ||
    (scope !== undefined && !(await loansRepo.involves(trx, found, scope)))
  ) {
    throw repaymentError('loan_not_found', `Loan ${loanId} does not exist in this fund.`);
  }
  if (scope !== undefined && scope !== found.borrower_member_id) {
    throw bankLoanError(
      'not_borrower',
      'Only the borrower’s users or an administrator report its repayments to the bank.',
      {
        borrowerMemberId: found.borrower_member_id,
      },
    );
  }
  if (found.lender !== 'bank') {
    throw bankLoanError(
      'not_bank_loan',
      `Loan #${found.number} is lent by the ${found.lender === 'pool' ? 'pool' : 'peer lender'}: record its repayments with POST …/loans/${found.id}/repayments.`,
      { lender: found.lender },
    );
  }
  const loan = await servicing.lockBorrowerThenLoan(trx, fund.id, found);
  if (!servicing.SERVICED_STATES.includes(loan.status)) {
    throw repaymentError(
      'loan_not_repayable',
      `The loan is ${loan.status}; only a drawn bank loan not yet closed (active, overdue or defaulted) takes repayments.`,
      { loanStatus: loan.status },
    );
  }
  assert(loan.disbursed_on !== null && loan.schedule_version !== null, `serviced loan ${loan.id} has no drawdown`);
  return loan;
}

/** Reports are recorded in the order the money was paid: the drawdown, then each report, then each reversal. */
async function assertInOrder(trx: Trx, loan: servicing.ServicedLoanRow, paidOn: string): Promise<void> {
  if (paidOn < loan.disbursed_on!) {
    throw bankLoanError(
      'paid_on_before_drawdown',
      `A payment on ${paidOn} is before the bank loan was drawn (${loan.disbursed_on}).`,
      { paidOn, disbursedOn: loan.disbursed_on },
    );
  }
  const latest = await repo.latestStanding(trx, loan.fund_id, loan.id);
  if (latest && paidOn < latest.received_on) {
    throw bankLoanError(
      'paid_on_before_last_report',
      `Repayment ${latest.number} of this loan was paid on ${latest.received_on}; a payment made earlier must be reported before it (an administrator reverses it first).`,
      { paidOn, latestRepaymentId: latest.id, latestPaidOn: latest.received_on },
    );
  }
  const lastReversal = await repo.latestReversalDate(trx, loan.fund_id, loan.id);
  if (lastReversal !== null && paidOn < lastReversal) {
    throw bankLoanError(
      'paid_on_before_last_reversal',
      `A repayment of this loan was reversed on ${lastReversal}; a payment made before that day cannot be reported after it.`,
      { paidOn, latestReversedOn: lastReversal },
    );
  }
}

/** The schedule in force. A bank loan accrues nothing: each instalment owes its scheduled interest. */
async function instalmentsOf(trx: Trx, loan: servicing.ServicedLoanRow): Promise<InstalmentState[]> {
  const rows = await servicing.instalmentsOf(trx, loan.fund_id, loan.id, loan.schedule_version!);
  return rows.map((row) => ({
    scheduleVersion: row.schedule_version,
    number: row.number,
    dueOn: row.due_on,
    principal: new Money(row.principal),
    interest: new Money(row.interest_accrued ?? row.interest),
    principalPaid: new Money(row.principal_paid),
    interestPaid: new Money(row.interest_paid),
  }));
}
