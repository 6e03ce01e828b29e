import { assert } from '../assert';
import type { AuditService } from '../audit/audit.service';
import { memberScope } from '../auth/permissions';
import { actorOf, type Actor, type Principal } from '../auth/principal';
import { addDays, type Clock } from '../clock';
import { loanParties } from '../committee/committee.repo';
import type {
  MotionDecision,
  MotionFailure,
  MotionHandler,
  MotionOutcome,
  MotionParty,
  MotionSummary,
} from '../committee/motions';
import type { Db, Trx } from '../db/knex';
import { AppError } from '../errors';
import type { Fund, FundService } from '../funds/funds.service';
import type { LedgerService } from '../ledger/ledger.service';
import type { EntryLineInput } from '../ledger/ledger.types';
import * as jobRepo from '../loans/daily-job.repo';
import * as servicing from '../loans/disbursements.repo';
import * as loansRepo from '../loans/loans.repo';
import { RepaymentService } from '../loans/repayments.service';
import { formatAmount, Money, sumAmounts, ZERO } from '../money/money';
import { recoveryError, type RecoveryErrorCode } from './recovery.errors';
import * as repo from './recovery.repo';
import type {
  ActionView,
  CallFailureInput,
  CallPaymentInput,
  CaseActionInput,
  CaseSummaryView,
  CaseView,
  ProposalInput,
  RealisationInput,
  RecoveryReceiptInput,
} from './recovery.schemas';
import { toActionView, toCaseSummary, toCaseView } from './recovery.views';
import {
  callShares,
  noReceivables,
  notWaived,
  RECEIVABLE_CODES,
  receivablesJson,
  restoreInReverse,
  takeInOrder,
  totalOf,
  type Receivables,
  type StandingGuarantee,
  type UnwaivedGuarantee,
  type Waiver,
} from './waterfall';

export interface RecoveryServiceDeps {
  ledger: LedgerService;
  audit: AuditService;
  funds: FundService;
  clock: Clock;
}

/** Days a called guarantor has to pay; a failure can be recorded only after them (ADR 0018). */
export const CALL_PAYMENT_DAYS = 15;

/** Who did a step, for its entries and audit row. */
export interface Doer {
  actor: Actor;
  requestId: string | null;
}

/** A case with what its rules read, loaded under the case's lock. */
interface CaseState {
  kase: repo.CaseRow;
  loan: servicing.ServicedLoanRow;
  owed: Receivables;
  collateral: loansRepo.CollateralRow[];
  outcomes: repo.CollateralOutcomeRow[];
  guarantees: repo.StandingRow[];
  calls: repo.CallRow[];
  steps: repo.StepRow[];
}

const ACTION_TITLES: Record<repo.RecoveryAction, string> = {
  declare_default: 'declare the loan in default and open its recovery case',
  call_guarantees: 'call the guarantors',
  capital_offset: 'offset the borrower’s paid-in capital',
  write_off: 'write off what is still owed',
  close_case: 'close the recovery case and release the guarantees',
};

/** The kinds of guarantee as refusals name them (English) and a resolution's clauses (Chinese, 《民法典》's words). */
const GUARANTEE_TYPE_WORDS = {
  joint_and_several: { en: 'joint-and-several', zh: '连带责任保证' },
  general: { en: 'general', zh: '一般保证' },
} as const satisfies Record<StandingGuarantee['type'], { en: string; zh: string }>;

/**
 * Recovery of defaulted pool loans: the default waterfall (docs/adr/0018-default-waterfall.md).
 *
 * A case per defaulted pool loan, opened by the daily job on the day it marks the loan defaulted
 * or by a `declare_default` resolution. Then, in order: collateral realised (or found worthless)
 * by an administrator, its net proceeds applied as a repayment; guarantor calls by resolution,
 * their payments (with the subrogated claims they give) and failures; the borrower's capital
 * offset by resolution; the write-off by resolution; money recovered after it; the case closed by
 * resolution. Each step posts balanced entries, is recorded in the case's order with an audit row,
 * and is refused with a problem naming the step expected when taken out of order.
 *
 * Locks, in the order every loan command takes them: the fund's job lock (shared), the borrower's
 * member row, the loan row, then the case row, then a call row.
 */
export class RecoveryService implements MotionHandler {
  readonly kind = 'recovery_action' as const;
  private readonly repayments: RepaymentService;

  constructor(readonly deps: RecoveryServiceDeps) {
    this.repayments = new RepaymentService(deps);
  }

  // -------------------------------------------------------------------------------------------
  // Proposals

  /** POST …/loans/{loanId}/recovery-actions: a `declare_default` motion on an overdue pool loan. */
  async proposeDefault(trx: Trx, fund: Fund, principal: Principal, loanId: string, input: ProposalInput) {
    const loan = await this.lockLoan(trx, fund, loanId);
    const failures = await this.defaultFailures(trx, fund, loan);
    if (failures[0]) throw problemOf(failures[0]);
    return this.insertProposal(trx, fund, principal, loan.id, null, input, null);
  }

  /**
   * POST …/recovery-cases/{caseId}/actions: a step of the case the committee decides. A waiver
   * (capital offset, write-off) names the guarantees standing now, with their amounts: what the
   * committee will be asked to give up (rule W-stand).
   */
  async propose(trx: Trx, fund: Fund, principal: Principal, caseId: string, input: CaseActionInput) {
    const state = await this.lockState(trx, fund, caseId);
    const asked = input.waiveStandingGuarantees;
    const waiver: Waiver | null = asked ? { reason: asked.reason, guarantees: standingGuarantees(state) } : null;
    const failures = await this.failuresOf(trx, fund, state, input.action, null, waiver);
    if (failures[0]) throw problemOf(failures[0]);
    if (waiver !== null && waiver.guarantees.length === 0) {
      throw recoveryError(
        'nothing_to_waive',
        'No guarantor stands behind the loan at this step: propose it without waiveStandingGuarantees.',
        { expected: input.action },
      );
    }
    return this.insertProposal(trx, fund, principal, state.loan.id, state.kase.id, input, waiver);
  }

  private async insertProposal(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    loanId: string,
    caseId: string | null,
    input: ProposalInput,
    waiver: Waiver | null,
  ): Promise<ActionView> {
    const pending = await repo.proposedActionOfLoan(trx, fund.id, loanId);
    if (pending) {
      throw recoveryError(
        'recovery_action_pending',
        `Action ${pending.action} (${pending.id}) of this loan waits for the committee; each step depends on the one before, so one is proposed at a time (withdraw it first).`,
        { pendingActionId: pending.id, pendingAction: pending.action },
      );
    }
    const row = await repo.insertAction(trx, {
      fund_id: fund.id,
      loan_id: loanId,
      case_id: caseId,
      action: input.action,
      reason: input.reason,
      proposed_by: principal.userId,
      proposed_at: this.deps.clock.now(),
      waiver,
    });
    return toActionView(row);
  }

  /** POST …/recovery-actions/{actionId}/withdraw: a proposal not yet decided. */
  async withdraw(trx: Trx, fund: Fund, actionId: string): Promise<ActionView> {
    const action = await repo.lockAction(trx, fund.id, actionId);
    if (!action) throw actionNotFound(actionId);
    if (action.status !== 'proposed') throw notProposed(action);
    await repo.settleAction(trx, fund.id, action.id, { status: 'withdrawn' }, this.deps.clock.now());
    return toActionView((await repo.findAction(trx, fund.id, action.id))!);
  }

  // -------------------------------------------------------------------------------------------
  // Steps an administrator records

  /**
   * POST …/collateral/{collateralId}/realisation. Realised: the net proceeds (gross less costs)
   * are applied as a repayment received on `takenOn` (RepaymentService: fee → penalty → interest
   * → principal, guarantees released in proportion); more than the loan owes is refused. Worthless:
   * recorded, nothing posted. A loan repaid in full by it closes its case (`repaid`).
   */
  async realiseCollateral(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    ids: { caseId: string; collateralId: string },
    input: RealisationInput,
    requestId: string,
  ): Promise<CaseView> {
    const state = await this.lockState(trx, fund, ids.caseId);
    this.assertOpen(state);
    const item = state.collateral.find((row) => row.id === ids.collateralId);
    if (!item) {
      throw recoveryError('collateral_not_found', `Collateral item ${ids.collateralId} is not pledged for this loan.`);
    }
    const settled = state.outcomes.find((row) => row.collateral_id === item.id);
    if (settled) {
      throw recoveryError(
        'collateral_already_settled',
        `Collateral item ${item.id} was ${settled.outcome} on ${settled.taken_on}.`,
        { outcome: settled.outcome, takenOn: settled.taken_on },
      );
    }
    await this.assertDate(trx, fund, state, input.takenOn);
    const gross = input.outcome === 'realised' ? new Money(input.grossProceeds) : ZERO;
    const costs = input.outcome === 'realised' ? new Money(input.costs) : ZERO;
    const net = gross.minus(costs);
    if (net.lt(0)) {
      throw recoveryError(
        'invalid_amounts',
        `The costs (${formatAmount(costs)}) are more than the gross proceeds (${formatAmount(gross)}).`,
        { grossProceeds: formatAmount(gross), costs: formatAmount(costs) },
      );
    }
    const repayment =
      input.outcome === 'realised' && net.gt(0)
        ? await this.applyProceeds(trx, fund, principal, state, net, input, requestId)
        : null;
    const step = await this.step(trx, state, {
      kind: input.outcome === 'realised' ? 'collateral_realised' : 'collateral_worthless',
      takenOn: input.takenOn,
      actionId: null,
      entryIds: repayment ? Object.values(repayment.entries) : [],
      details: {
        collateralId: item.id,
        grossProceeds: formatAmount(gross),
        costs: formatAmount(costs),
        netProceeds: formatAmount(net),
        repaymentId: repayment?.view.id ?? null,
        note: input.note,
      },
      recordedBy: principal.userId,
    });
    await repo.insertCollateralOutcome(trx, {
      fund_id: fund.id,
      case_id: state.kase.id,
      collateral_id: item.id,
      outcome: input.outcome,
      taken_on: input.takenOn,
      gross_proceeds: formatAmount(gross),
      costs: formatAmount(costs),
      net_proceeds: formatAmount(net),
      reference: input.outcome === 'realised' ? input.reference : null,
      note: input.note,
      repayment_id: repayment?.view.id ?? null,
      step_id: step.id,
    });
    if (repayment?.view.loanStatus === 'repaid') {
      await this.close(trx, state, 'repaid', input.takenOn, null, [], principal.userId);
    }
    return this.view(trx, fund, state.kase.id);
  }

  private async applyProceeds(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    state: CaseState,
    net: Money,
    input: Extract<RealisationInput, { outcome: 'realised' }>,
    requestId: string,
  ) {
    try {
      return await this.repayments.record(
        trx,
        fund,
        principal,
        state.loan.id,
        { amount: formatAmount(net), receivedOn: input.takenOn, reference: input.reference },
        requestId,
      );
    } catch (error) {
      if (error instanceof AppError && error.code === 'repayment_exceeds_payoff') {
        // The surplus is the pledgor's: it is paid to it outside the fund, never kept (ADR 0018).
        throw recoveryError(
          'realisation_exceeds_owed',
          `Net proceeds of ${formatAmount(net)} are more than the loan owes on ${input.takenOn}; record the net proceeds up to what is owed and pay the surplus back to the pledgor.`,
          { netProceeds: formatAmount(net), ...error.extensions },
        );
      }
      throw error;
    }
  }

  /** POST …/calls/{callId}/payments: Dr 1001 / Cr 1301:<guarantor>, and the subrogated claim. */
  async recordPayment(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    ids: { caseId: string; callId: string },
    input: CallPaymentInput,
    requestId: string,
  ): Promise<CaseView> {
    const state = await this.lockState(trx, fund, ids.caseId);
    const call = await this.lockOpenCall(trx, fund, state, ids.callId);
    const amount = new Money(input.amount);
    const unpaid = new Money(call.amount).minus(call.paid);
    if (amount.gt(unpaid)) {
      throw recoveryError(
        'payment_exceeds_call',
        `${formatAmount(amount)} is more than the ${formatAmount(unpaid)} the call leaves unpaid.`,
        { amount: formatAmount(amount), unpaid: formatAmount(unpaid) },
      );
    }
    await this.assertDate(trx, fund, state, input.receivedOn);
    await this.assertReferenceFree(trx, fund, input.reference);
    const doer = { actor: actorOf(principal), requestId };
    const guarantor = { memberId: call.guarantor_member_id };
    const { ledger } = this.deps;
    const cash = await this.post(trx, fund, doer, {
      kind: 'recovery.guarantor_payment',
      effectiveDate: input.receivedOn,
      memo: `Loan #${state.loan.number}: guarantor ${call.guarantor_member_id} pays its call (bank reference ${input.reference})`,
      lines: [
        { accountId: await servicing.fundAccountId(trx, fund.id, '1001'), side: 'debit', amount: input.amount },
        {
          accountId: (await ledger.ensureSubAccount(trx, fund.id, '1301', guarantor)).id,
          side: 'credit',
          amount: input.amount,
        },
      ],
    });
    // What it paid no longer stands behind the loan, and is now its claim against the borrower.
    const memo = await this.post(trx, fund, doer, {
      kind: 'recovery.subrogation',
      effectiveDate: input.receivedOn,
      memo: `Loan #${state.loan.number}: guarantee reduced by the call paid; subrogated claim against borrower ${state.loan.borrower_member_id}`,
      lines: [
        { accountId: await servicing.fundAccountId(trx, fund.id, '7002'), side: 'debit', amount: input.amount },
        {
          accountId: (await ledger.ensureSubAccount(trx, fund.id, '7001', guarantor)).id,
          side: 'credit',
          amount: input.amount,
        },
        {
          accountId: (await ledger.ensureSubAccount(trx, fund.id, '7401', guarantor)).id,
          side: 'debit',
          amount: input.amount,
        },
        { accountId: await servicing.fundAccountId(trx, fund.id, '7402'), side: 'credit', amount: input.amount },
      ],
    });
    const paid = new Money(call.paid).plus(amount);
    const status = paid.eq(call.amount) ? 'paid' : 'called';
    await repo.updateCall(trx, fund.id, call.id, { paid: formatAmount(paid), status });
    const step = await this.step(trx, state, {
      kind: 'guarantor_paid',
      takenOn: input.receivedOn,
      actionId: null,
      entryIds: [cash, memo],
      details: {
        callId: call.id,
        guarantorMemberId: call.guarantor_member_id,
        amount: formatAmount(amount),
        callStatus: status,
      },
      recordedBy: principal.userId,
    });
    await repo.insertPayment(trx, {
      fund_id: fund.id,
      call_id: call.id,
      amount: formatAmount(amount),
      received_on: input.receivedOn,
      reference: input.reference,
      entry_id: cash,
      memo_entry_id: memo,
      step_id: step.id,
    });
    return this.view(trx, fund, state.kase.id);
  }

  /**
   * POST …/calls/{callId}/failure, after the call's due date: the unpaid call goes back onto the
   * loan (rule W-restore), Dr the receivables / Cr 1301:<guarantor>. The guarantor is not called
   * again; the others may be, by another resolution. Its guarantee stands until the case closes.
   */
  async recordFailure(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    ids: { caseId: string; callId: string },
    input: CallFailureInput,
    requestId: string,
  ): Promise<CaseView> {
    const state = await this.lockState(trx, fund, ids.caseId);
    const call = await this.lockOpenCall(trx, fund, state, ids.callId);
    if (input.failedOn <= call.due_on) {
      throw recoveryError(
        'call_not_due',
        `The call is due on ${call.due_on}; a failure to pay can be recorded from the day after.`,
        { dueOn: call.due_on, failedOn: input.failedOn },
      );
    }
    await this.assertDate(trx, fund, state, input.failedOn);
    const unpaid = new Money(call.amount).minus(call.paid);
    const round = state.calls.filter((row) => row.action_id === call.action_id);
    const action = await repo.findAction(trx, fund.id, call.action_id);
    assert(action?.result, `call ${call.id}: its resolution recorded no result`);
    const taken = receivablesFrom(action.result.taken as Record<string, string>);
    const soFar = noReceivables();
    for (const row of round) {
      for (const code of RECEIVABLE_CODES) soFar[code] = soFar[code].plus(row.restored?.[code] ?? '0');
    }
    const restored = restoreInReverse(unpaid, taken, soFar);
    const doer = { actor: actorOf(principal), requestId };
    const receivableLines = await this.receivableLines(trx, state, restored, 'debit');
    const guarantor = await this.deps.ledger.ensureSubAccount(trx, fund.id, '1301', {
      memberId: call.guarantor_member_id,
    });
    const entryId = await this.post(trx, fund, doer, {
      kind: 'recovery.call_cancelled',
      effectiveDate: input.failedOn,
      memo: `Loan #${state.loan.number}: guarantor ${call.guarantor_member_id} failed to pay its call; the unpaid part goes back onto the loan`,
      lines: [...receivableLines, { accountId: guarantor.id, side: 'credit', amount: formatAmount(unpaid) }],
    });
    await this.shiftPrincipal(trx, state, restored['1201'].neg());
    await repo.updateCall(trx, fund.id, call.id, {
      status: 'failed',
      cancelled: formatAmount(unpaid),
      failed_on: input.failedOn,
      failure_reason: input.reason,
      failure_entry_id: entryId,
      restored: Object.fromEntries(RECEIVABLE_CODES.map((code) => [code, formatAmount(restored[code])])),
    });
    await this.step(trx, state, {
      kind: 'guarantor_failed',
      takenOn: input.failedOn,
      actionId: null,
      entryIds: [entryId],
      details: {
        callId: call.id,
        guarantorMemberId: call.guarantor_member_id,
        unpaid: formatAmount(unpaid),
        restored: receivablesJson(restored),
        reason: input.reason,
      },
      recordedBy: principal.userId,
    });
    return this.view(trx, fund, state.kase.id);
  }

  /** POST …/recoveries: money received after the write-off, Dr 1001 / Cr 4004 Recovery income. */
  async recordRecovery(
    trx: Trx,
    fund: Fund,
    principal: Principal,
    caseId: string,
    input: RecoveryReceiptInput,
    requestId: string,
  ): Promise<CaseView> {
    const state = await this.lockState(trx, fund, caseId);
    this.assertOpen(state);
    if (!state.steps.some((step) => step.kind === 'written_off')) {
      throw recoveryError(
        'write_off_pending',
        'Money received before the write-off is a repayment of the loan (or a guarantor’s payment of its call); recovery income is what comes after the write-off.',
        { expected: 'write_off', loanStatus: state.loan.status },
      );
    }
    await this.assertDate(trx, fund, state, input.receivedOn);
    await this.assertReferenceFree(trx, fund, input.reference);
    const entryId = await this.post(
      trx,
      fund,
      { actor: actorOf(principal), requestId },
      {
        kind: 'recovery.receipt',
        effectiveDate: input.receivedOn,
        memo: `Loan #${state.loan.number} (written off): recovered from ${input.payer}, bank reference ${input.reference}`,
        lines: [
          { accountId: await servicing.fundAccountId(trx, fund.id, '1001'), side: 'debit', amount: input.amount },
          { accountId: await servicing.fundAccountId(trx, fund.id, '4004'), side: 'credit', amount: input.amount },
        ],
      },
    );
    const step = await this.step(trx, state, {
      kind: 'recovery_received',
      takenOn: input.receivedOn,
      actionId: null,
      entryIds: [entryId],
      details: { amount: formatAmount(new Money(input.amount)), payer: input.payer },
      recordedBy: principal.userId,
    });
    await repo.insertReceipt(trx, {
      fund_id: fund.id,
      case_id: state.kase.id,
      amount: formatAmount(new Money(input.amount)),
      received_on: input.receivedOn,
      reference: input.reference,
      payer: input.payer,
      entry_id: entryId,
      step_id: step.id,
    });
    return this.view(trx, fund, state.kase.id);
  }

  // -------------------------------------------------------------------------------------------
  // Motions (committee decisions)

  async lockForAgenda(trx: Trx, fund: Fund, id: string): Promise<MotionSummary> {
    const action = await repo.lockAction(trx, fund.id, id);
    if (!action) throw actionNotFound(id);
    if (action.status !== 'proposed') throw notProposed(action);
    const failures = await this.actionFailures(trx, fund, action, null);
    if (failures[0]) throw problemOf(failures[0]);
    const [summary] = await this.summaries(trx, fund, [id]);
    assert(summary, `recovery action ${id} has no summary`);
    return summary;
  }

  async awaitingDecision(trx: Trx, fund: Fund, id: string): Promise<boolean> {
    const action = await repo.lockAction(trx, fund.id, id);
    assert(action, `recovery action ${id} vanished`);
    return action.status === 'proposed';
  }

  async parties(db: Db, fund: Fund, id: string): Promise<MotionParty[]> {
    const action = await repo.findAction(db, fund.id, id);
    assert(action, `recovery action ${id} vanished`);
    const rows = await loanParties(db, fund.id, action.loan_id);
    return rows.map((row) => ({ memberId: row.member_id, memberName: row.member_name, role: row.role }));
  }

  async decide(trx: Trx, fund: Fund, id: string, outcome: MotionOutcome): Promise<MotionDecision> {
    const found = await repo.findAction(trx, fund.id, id);
    assert(found, `recovery action ${id} vanished`);
    const now = this.deps.clock.now();
    const decided = { decision_item_id: outcome.itemId, resolution: outcome.resolution, decided_on: outcome.decidedOn };
    if (!outcome.passed) {
      await repo.settleAction(trx, fund.id, id, { status: 'rejected', ...decided }, now);
      return { status: 'rejected' };
    }
    // The loan's locks before the action's: the order every loan command takes.
    await jobRepo.lockFundJobShared(trx, fund.id);
    await this.lockLoan(trx, fund, found.loan_id);
    const action = await repo.lockAction(trx, fund.id, id);
    assert(action?.status === 'proposed', `recovery action ${id} is no longer proposed`);
    const state = action.case_id === null ? null : await this.lockState(trx, fund, action.case_id);
    const failures = await this.actionFailures(trx, fund, action, outcome.decidedOn);
    if (failures.length > 0) {
      await repo.settleAction(trx, fund.id, id, { status: 'ineligible', ...decided, failures }, now);
      return { status: 'ineligible', failures };
    }
    const doer = { actor: outcome.actor, requestId: outcome.requestId };
    const result = await this.take(trx, fund, action, state, outcome, doer);
    await repo.settleAction(trx, fund.id, id, { status: 'approved', ...decided, result }, now);
    await this.deps.audit.record(trx, {
      fundId: fund.id,
      actor: outcome.actor,
      action: `recovery.action.${action.action}`,
      targetType: 'recovery_case',
      targetId: (result.caseId as string | undefined) ?? action.case_id,
      payload: { actionId: action.id, resolution: outcome.resolution, decidedOn: outcome.decidedOn, ...result },
      requestId: outcome.requestId,
    });
    return { status: 'approved' };
  }

  async summaries(db: Db, fund: Fund, ids: readonly string[]): Promise<MotionSummary[]> {
    const actions = await repo.actionsByIds(db, fund.id, ids);
    const summaries: MotionSummary[] = [];
    for (const action of actions) {
      const loan = await loansRepo.findLoan(db, fund.id, action.loan_id);
      assert(loan, `loan of recovery action ${action.id} vanished`);
      const owed = receivablesFrom(await repo.receivables(db, fund.id, action.loan_id));
      const waiving = action.waiver === null ? '' : ', waiving the guarantees still standing';
      summaries.push({
        id: action.id,
        kind: 'recovery_action',
        title: `Loan #${loan.number}: ${ACTION_TITLES[action.action]}${waiving}`,
        loanId: action.loan_id,
        amount: formatAmount(totalOf(owed)),
        details: { ...toActionView(action), outstanding: receivablesJson(owed) },
        clauses: waiverClauses(action.waiver),
      });
    }
    return summaries;
  }

  private async take(
    trx: Trx,
    fund: Fund,
    action: repo.ActionRow,
    state: CaseState | null,
    outcome: MotionOutcome,
    doer: Doer,
  ): Promise<Record<string, unknown>> {
    if (action.action === 'declare_default') return this.declareDefault(trx, fund, action, outcome, doer);
    assert(state, `recovery action ${action.id} of kind ${action.action} has no case`);
    switch (action.action) {
      case 'call_guarantees':
        return this.callGuarantees(trx, fund, state, action, outcome, doer);
      case 'capital_offset':
        return this.offsetCapital(trx, fund, state, action, outcome, doer);
      case 'write_off':
        return this.writeOff(trx, fund, state, action, outcome, doer);
      case 'close_case':
        return this.closeByResolution(trx, fund, state, action, outcome, doer);
    }
  }

  /** The resolution marks the overdue loan defaulted (in its history too) and opens its case. */
  private async declareDefault(
    trx: Trx,
    fund: Fund,
    action: repo.ActionRow,
    outcome: MotionOutcome,
    doer: Doer,
  ): Promise<Record<string, unknown>> {
    const loan = await servicing.findServicedLoan(trx, fund.id, action.loan_id);
    assert(loan, `loan ${action.loan_id} vanished`);
    const now = this.deps.clock.now();
    if (loan.status !== 'defaulted') {
      await repo.setLoanStatus(trx, fund.id, loan.id, 'defaulted', null, now);
      await repo.recordDefaultInHistory(trx, fund.id, loan.id, outcome.decidedOn);
    }
    const caseId = await repo.insertCase(trx, {
      fund_id: fund.id,
      loan_id: loan.id,
      borrower_member_id: loan.borrower_member_id,
      opened_on: outcome.decidedOn,
      now,
    });
    await trx('recovery_actions').where({ fund_id: fund.id, id: action.id }).update({ case_id: caseId });
    const state = await this.lockState(trx, fund, caseId);
    await this.step(trx, state, {
      kind: 'opened',
      takenOn: outcome.decidedOn,
      actionId: action.id,
      entryIds: [],
      details: { by: 'resolution', resolution: outcome.resolution, statusBefore: loan.status },
      recordedBy: doer.actor.userId,
    });
    return { caseId, statusBefore: loan.status };
  }

  /**
   * Calls the guarantors of the stage (joint-and-several before the capital offset, general after
   * it) for their shares of what is outstanding (rule W-call), in one entry: Dr 1301:<guarantor>
   * per share / Cr the receivables taken in order (rule W-order).
   */
  private async callGuarantees(
    trx: Trx,
    fund: Fund,
    state: CaseState,
    action: repo.ActionRow,
    outcome: MotionOutcome,
    doer: Doer,
  ): Promise<Record<string, unknown>> {
    const eligible = eligibleGuarantors(state);
    const outstanding = totalOf(state.owed);
    const shares = callShares(
      outstanding,
      eligible.map((g) => ({ guaranteeId: g.guarantee_id, standing: new Money(g.standing) })),
    );
    const called = sumAmounts(shares.map((share) => share.amount));
    const taken = takeInOrder(called, state.owed);
    const byId = new Map(eligible.map((g) => [g.guarantee_id, g]));
    const debits: EntryLineInput[] = [];
    for (const share of shares) {
      const g = byId.get(share.guaranteeId)!;
      const account = await this.deps.ledger.ensureSubAccount(trx, fund.id, '1301', {
        memberId: g.guarantor_member_id,
      });
      debits.push({ accountId: account.id, side: 'debit', amount: formatAmount(share.amount) });
    }
    const entryId = await this.post(trx, fund, doer, {
      kind: 'recovery.guarantor_call',
      effectiveDate: outcome.decidedOn,
      memo: `Loan #${state.loan.number}: guarantors called by resolution ${outcome.resolution}`,
      lines: [...debits, ...(await this.receivableLines(trx, state, taken, 'credit'))],
    });
    await this.shiftPrincipal(trx, state, taken['1201']);
    const round = Math.max(0, ...state.calls.map((call) => call.round)) + 1;
    const dueOn = addDays(outcome.decidedOn, CALL_PAYMENT_DAYS);
    await repo.insertCalls(
      trx,
      shares.map((share) => {
        const g = byId.get(share.guaranteeId)!;
        return {
          fund_id: fund.id,
          case_id: state.kase.id,
          action_id: action.id,
          round,
          guarantee_id: g.guarantee_id,
          guarantor_member_id: g.guarantor_member_id,
          guarantee_type: g.type,
          standing: g.standing,
          amount: formatAmount(share.amount),
          called_on: outcome.decidedOn,
          due_on: dueOn,
          call_entry_id: entryId,
        };
      }),
    );
    const result = {
      caseId: state.kase.id,
      round,
      guaranteeType: eligible[0]!.type,
      outstanding: formatAmount(outstanding),
      called: formatAmount(called),
      dueOn,
      shares: shares.map((share) => ({
        guaranteeId: share.guaranteeId,
        guarantorMemberId: byId.get(share.guaranteeId)!.guarantor_member_id,
        standing: formatAmount(share.standing),
        amount: formatAmount(share.amount),
      })),
      taken: Object.fromEntries(RECEIVABLE_CODES.map((code) => [code, formatAmount(taken[code])])),
      entryId,
    };
    await this.step(trx, state, {
      kind: 'guarantees_called',
      takenOn: outcome.decidedOn,
      actionId: action.id,
      entryIds: [entryId],
      details: result,
      recordedBy: doer.actor.userId,
    });
    return result;
  }

  /**
   * Applies the borrower's paid-in capital to what is still owed: min(3001 balance less holds,
   * outstanding), Dr 3001:<borrower> / Cr the receivables in order (W-order). Nil capital is
   * recorded too: it is what makes the borrower's assets exhausted for the general guarantors.
   */
  private async offsetCapital(
    trx: Trx,
    fund: Fund,
    state: CaseState,
    action: repo.ActionRow,
    outcome: MotionOutcome,
    doer: Doer,
  ): Promise<Record<string, unknown>> {
    const capital = await repo.capitalOf(trx, fund.id, state.loan.borrower_member_id);
    const available = Money.max(new Money(capital.balance).minus(capital.held), ZERO);
    const offset = Money.min(available, totalOf(state.owed));
    const taken = takeInOrder(offset, state.owed);
    let entryId: string | null = null;
    if (offset.gt(0)) {
      assert(capital.accountId, `borrower ${state.loan.borrower_member_id} has capital but no account`);
      entryId = await this.post(trx, fund, doer, {
        kind: 'recovery.capital_offset',
        effectiveDate: outcome.decidedOn,
        memo: `Loan #${state.loan.number}: the borrower's paid-in capital offset by resolution ${outcome.resolution}`,
        lines: [
          { accountId: capital.accountId, side: 'debit', amount: formatAmount(offset) },
          ...(await this.receivableLines(trx, state, taken, 'credit')),
        ],
      });
      await this.shiftPrincipal(trx, state, taken['1201']);
    }
    const result = {
      caseId: state.kase.id,
      capitalAvailable: formatAmount(available),
      offset: formatAmount(offset),
      taken: receivablesJson(taken),
      entryId,
      waiver: waiverTaken(state, action.waiver),
    };
    await this.step(trx, state, {
      kind: 'capital_offset',
      takenOn: outcome.decidedOn,
      actionId: action.id,
      entryIds: entryId ? [entryId] : [],
      details: result,
      recordedBy: doer.actor.userId,
    });
    return result;
  }

  /** The rest, Dr 5001 / Cr each receivable; the loan is written off, its guarantees stand. */
  private async writeOff(
    trx: Trx,
    fund: Fund,
    state: CaseState,
    action: repo.ActionRow,
    outcome: MotionOutcome,
    doer: Doer,
  ): Promise<Record<string, unknown>> {
    const total = totalOf(state.owed);
    const entryId = await this.post(trx, fund, doer, {
      kind: 'recovery.write_off',
      effectiveDate: outcome.decidedOn,
      memo: `Loan #${state.loan.number} written off by resolution ${outcome.resolution}`,
      lines: [
        { accountId: await servicing.fundAccountId(trx, fund.id, '5001'), side: 'debit', amount: formatAmount(total) },
        ...(await this.receivableLines(trx, state, state.owed, 'credit')),
      ],
    });
    await repo.setLoanStatus(trx, fund.id, state.loan.id, 'written_off', null, this.deps.clock.now());
    const result = {
      caseId: state.kase.id,
      writtenOff: receivablesJson(state.owed),
      entryId,
      waiver: waiverTaken(state, action.waiver),
    };
    await this.step(trx, state, {
      kind: 'written_off',
      takenOn: outcome.decidedOn,
      actionId: action.id,
      entryIds: [entryId],
      details: result,
      recordedBy: doer.actor.userId,
    });
    return result;
  }

  private async closeByResolution(
    trx: Trx,
    fund: Fund,
    state: CaseState,
    action: repo.ActionRow,
    outcome: MotionOutcome,
    doer: Doer,
  ): Promise<Record<string, unknown>> {
    const writtenOff = state.steps.some((step) => step.kind === 'written_off');
    // Not written off: guarantors and the borrower's capital paid it all (recovered), or the
    // borrower repaid it through its own repayments (the loan is repaid already).
    const outcomeOfCase: repo.CaseOutcome = writtenOff
      ? 'written_off'
      : state.loan.status === 'repaid'
        ? 'repaid'
        : 'recovered';
    if (outcomeOfCase === 'recovered') {
      await repo.setLoanStatus(trx, fund.id, state.loan.id, 'repaid', outcome.decidedOn, this.deps.clock.now());
    }
    const released = await this.releaseGuarantees(trx, fund, state, outcome.decidedOn, doer);
    await this.close(
      trx,
      state,
      outcomeOfCase,
      outcome.decidedOn,
      action.id,
      released.entryId ? [released.entryId] : [],
      doer.actor.userId,
      released.lines,
    );
    return { caseId: state.kase.id, outcome: outcomeOfCase, released: released.lines };
  }

  /** Dr 7002 / Cr 7001:<guarantor> for what each active guarantee still stands behind; all released. */
  private async releaseGuarantees(trx: Trx, fund: Fund, state: CaseState, on: string, doer: Doer) {
    const standing = state.guarantees.filter((g) => g.status === 'active' && new Money(g.standing).gt(0));
    const lines = standing.map((g) => ({
      guaranteeId: g.guarantee_id,
      guarantorMemberId: g.guarantor_member_id,
      amount: formatAmount(new Money(g.standing)),
    }));
    let entryId: string | null = null;
    if (standing.length > 0) {
      const credits: EntryLineInput[] = [];
      for (const g of standing) {
        const given = await this.deps.ledger.ensureSubAccount(trx, fund.id, '7001', {
          memberId: g.guarantor_member_id,
        });
        credits.push({ accountId: given.id, side: 'credit', amount: formatAmount(new Money(g.standing)) });
      }
      const total = sumAmounts(standing.map((g) => new Money(g.standing)));
      entryId = await this.post(trx, fund, doer, {
        kind: 'recovery.guarantee_release',
        effectiveDate: on,
        memo: `Loan #${state.loan.number}: recovery ended, the guarantees still standing are released`,
        lines: [
          {
            accountId: await servicing.fundAccountId(trx, fund.id, '7002'),
            side: 'debit',
            amount: formatAmount(total),
          },
          ...credits,
        ],
      });
    }
    await loansRepo.setGuaranteeStatuses(trx, fund.id, state.loan.id, ['active'], 'released', this.deps.clock.now());
    return { entryId, lines };
  }

  private async close(
    trx: Trx,
    state: CaseState,
    outcome: repo.CaseOutcome,
    on: string,
    actionId: string | null,
    entryIds: string[],
    recordedBy: string | null,
    released: unknown[] = [],
  ): Promise<void> {
    await repo.closeCase(trx, state.kase.fund_id, state.kase.id, on, outcome, this.deps.clock.now());
    await this.step(trx, state, {
      kind: 'closed',
      takenOn: on,
      actionId,
      entryIds,
      details: { outcome, guaranteesReleased: released },
      recordedBy,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Rules

  /** Why the action cannot be taken now (decided on `on`, when known); empty when it can. */
  private async actionFailures(
    trx: Trx,
    fund: Fund,
    action: repo.ActionRow,
    on: string | null,
  ): Promise<MotionFailure[]> {
    if (action.action === 'declare_default') {
      const loan = await servicing.findServicedLoan(trx, fund.id, action.loan_id);
      assert(loan, `loan ${action.loan_id} vanished`);
      return this.defaultFailures(trx, fund, loan);
    }
    assert(action.case_id, `recovery action ${action.id} has no case`);
    const state = await this.loadState(trx, fund, action.case_id);
    return this.failuresOf(trx, fund, state, action.action, on, action.waiver);
  }

  private async defaultFailures(trx: Trx, fund: Fund, loan: servicing.ServicedLoanRow): Promise<MotionFailure[]> {
    if (loan.lender !== 'pool') {
      return [
        failure(
          'recovery_not_for_lender',
          `Loan #${loan.number} is a ${loan.lender} loan; only pool loans (the fund's own money) have recovery cases.`,
          { lender: loan.lender },
        ),
      ];
    }
    const existing = await repo.caseOfLoan(trx, fund.id, loan.id);
    if (existing) {
      return [
        failure('recovery_case_exists', `Loan #${loan.number} is already in recovery case ${existing.number}.`, {
          caseId: existing.id,
        }),
      ];
    }
    if (loan.status !== 'overdue' && loan.status !== 'defaulted') {
      return [
        failure(
          'loan_not_in_default',
          `Loan #${loan.number} is ${loan.status}; only an overdue loan can be declared in default.`,
          { loanStatus: loan.status },
        ),
      ];
    }
    return [];
  }

  private async failuresOf(
    trx: Trx,
    fund: Fund,
    state: CaseState,
    action: repo.RecoveryAction,
    on: string | null,
    waiver: Waiver | null,
  ): Promise<MotionFailure[]> {
    if (action === 'declare_default') {
      return [
        failure(
          'recovery_case_exists',
          `Loan #${state.loan.number} is already in recovery case ${state.kase.number}.`,
          { caseId: state.kase.id },
        ),
      ];
    }
    const failures = stageFailures(state, action, waiver);
    if (on !== null && failures.length === 0) {
      const latest = await repo.latestStepDate(trx, fund.id, state.kase.id);
      if (on < latest) {
        failures.push(
          failure('date_before_case', `The meeting (${on}) is before the case's latest step (${latest}).`, {
            decidedOn: on,
            latestStepOn: latest,
          }),
        );
      }
    }
    return failures;
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  async list(
    db: Db,
    fund: Fund,
    principal: Principal,
    filter: Omit<repo.ListCasesFilter, 'visibleTo'>,
  ): Promise<CaseSummaryView[]> {
    const rows = await repo.listCases(db, fund.id, { ...filter, visibleTo: memberScope(principal) });
    return rows.map(toCaseSummary);
  }

  /**
   * The cases open at the end of `date` (opened on or before it, closed after it or not yet): how
   * many, the ids of the newest `idsMax`, and the loans of them all; every case, whoever asks (the
   * fund overview, for oversight roles only).
   */
  async openOn(
    db: Db,
    fund: Fund,
    date: string,
    idsMax: number,
  ): Promise<{ count: number; caseIds: string[]; loanIds: string[] }> {
    const row = await repo.casesOpenOn(db, fund.id, date, idsMax);
    return { count: row.count, caseIds: row.case_ids, loanIds: row.loan_ids };
  }

  async get(db: Db, fund: Fund, principal: Principal, caseId: string): Promise<CaseView> {
    const kase = await repo.findCase(db, fund.id, caseId);
    if (!kase || !(await this.visible(db, fund, principal, kase.loan_id))) throw caseNotFound(caseId);
    return this.view(db, fund, caseId);
  }

  async getAction(db: Db, fund: Fund, principal: Principal, actionId: string): Promise<ActionView> {
    const action = await repo.findAction(db, fund.id, actionId);
    if (!action || !(await this.visible(db, fund, principal, action.loan_id))) throw actionNotFound(actionId);
    return toActionView(action);
  }

  private async visible(db: Db, fund: Fund, principal: Principal, loanId: string): Promise<boolean> {
    const member = memberScope(principal);
    if (member === undefined) return true;
    const loan = await loansRepo.findLoan(db, fund.id, loanId);
    return loan !== undefined && (await loansRepo.involves(db, loan, member));
  }

  private async view(db: Db, fund: Fund, caseId: string): Promise<CaseView> {
    const state = await this.loadState(db, fund, caseId);
    return toCaseView({
      ...state,
      loanStatus: state.loan.status,
      payments: await repo.paymentsOf(db, fund.id, caseId),
      receipts: await repo.receiptsOf(db, fund.id, caseId),
      actions: await repo.actionsOfLoan(db, fund.id, state.loan.id),
    });
  }

  // -------------------------------------------------------------------------------------------
  // Loading, locking, posting

  private async loadState(db: Db, fund: Fund, caseId: string): Promise<CaseState> {
    const kase = await repo.findCase(db, fund.id, caseId);
    if (!kase) throw caseNotFound(caseId);
    const loan = await servicing.findServicedLoan(db, fund.id, kase.loan_id);
    assert(loan, `loan of recovery case ${caseId} vanished`);
    return {
      kase,
      loan,
      owed: receivablesFrom(await repo.receivables(db, fund.id, loan.id)),
      collateral: await loansRepo.collateralOf(db, fund.id, [loan.id]),
      outcomes: await repo.collateralOutcomes(db, fund.id, caseId),
      guarantees: await repo.guaranteeStanding(db, fund.id, loan.id),
      calls: await repo.callsOf(db, fund.id, caseId),
      steps: await repo.stepsOf(db, fund.id, caseId),
    };
  }

  /** The job's lock (shared), the borrower, the loan and the case, in that order; then the state. */
  private async lockState(trx: Trx, fund: Fund, caseId: string): Promise<CaseState> {
    const kase = await repo.findCase(trx, fund.id, caseId);
    if (!kase) throw caseNotFound(caseId);
    await jobRepo.lockFundJobShared(trx, fund.id);
    await this.lockLoan(trx, fund, kase.loan_id);
    await repo.lockCase(trx, fund.id, caseId);
    await repo.lockReceivables(trx, fund.id, kase.loan_id);
    return this.loadState(trx, fund, caseId);
  }

  private async lockLoan(trx: Trx, fund: Fund, loanId: string): Promise<servicing.ServicedLoanRow> {
    const found = await servicing.findServicedLoan(trx, fund.id, loanId);
    if (!found || !servicing.LOAN_STATES.includes(found.status)) {
      throw recoveryError('loan_not_found', `Loan ${loanId} does not exist in this fund.`);
    }
    return servicing.lockBorrowerThenLoan(trx, fund.id, found);
  }

  private async lockOpenCall(trx: Trx, fund: Fund, state: CaseState, callId: string): Promise<repo.CallRow> {
    this.assertOpen(state);
    const call = await repo.lockCall(trx, fund.id, state.kase.id, callId);
    if (!call) throw recoveryError('guarantor_call_not_found', `Call ${callId} does not belong to this case.`);
    if (call.status !== 'called') {
      throw recoveryError('call_already_settled', `The call is ${call.status}.`, { callStatus: call.status });
    }
    return call;
  }

  private assertOpen(state: CaseState): void {
    if (state.kase.status === 'closed') {
      throw recoveryError(
        'recovery_case_closed',
        `Recovery case ${state.kase.number} was closed on ${state.kase.closed_on}.`,
        {
          closedOn: state.kase.closed_on,
          outcome: state.kase.outcome,
        },
      );
    }
  }

  /** Not in the future, and not before the case's latest step: steps are dated in their order. */
  private async assertDate(trx: Trx, fund: Fund, state: CaseState, date: string): Promise<void> {
    const today = this.deps.funds.today(fund);
    if (date > today) {
      throw recoveryError('date_in_future', `${date} is in the future (today is ${today} in the fund's time zone).`, {
        date,
        today,
      });
    }
    const latest = await repo.latestStepDate(trx, fund.id, state.kase.id);
    if (date < latest) {
      throw recoveryError(
        'date_before_case',
        `${date} is before the case's latest step (${latest}); steps are dated in the order they are taken.`,
        { date, latestStepOn: latest },
      );
    }
  }

  private async assertReferenceFree(trx: Trx, fund: Fund, reference: string): Promise<void> {
    if (await repo.referenceTaken(trx, fund.id, reference)) {
      throw recoveryError(
        'recovery_reference_taken',
        `Bank reference ${JSON.stringify(reference)} is already recorded; a transfer is recorded once.`,
        { reference },
      );
    }
  }

  private async step(
    trx: Trx,
    state: CaseState,
    step: {
      kind: repo.StepKind;
      takenOn: string;
      actionId: string | null;
      entryIds: string[];
      details: Record<string, unknown>;
      recordedBy: string | null;
    },
  ): Promise<repo.StepRow> {
    return repo.insertStep(trx, {
      fund_id: state.kase.fund_id,
      case_id: state.kase.id,
      kind: step.kind,
      taken_on: step.takenOn,
      action_id: step.actionId,
      entry_ids: step.entryIds,
      details: step.details,
      recorded_by: step.recordedBy,
      recorded_at: this.deps.clock.now(),
    });
  }

  /** One line per non-zero part, on the loan's receivable accounts. */
  private async receivableLines(
    trx: Trx,
    state: CaseState,
    parts: Receivables,
    side: 'debit' | 'credit',
  ): Promise<EntryLineInput[]> {
    const lines: EntryLineInput[] = [];
    for (const code of RECEIVABLE_CODES) {
      if (parts[code].isZero()) continue;
      const account = await this.deps.ledger.ensureSubAccount(trx, state.kase.fund_id, code, { loanId: state.loan.id });
      lines.push({ accountId: account.id, side, amount: formatAmount(parts[code]) });
    }
    return lines;
  }

  private async shiftPrincipal(trx: Trx, state: CaseState, amount: Money): Promise<void> {
    if (amount.isZero() || state.loan.schedule_version === null) return;
    await repo.shiftInstalmentPrincipal(
      trx,
      state.kase.fund_id,
      state.loan.id,
      state.loan.schedule_version,
      formatAmount(amount),
    );
  }

  private async post(
    trx: Trx,
    fund: Fund,
    doer: Doer,
    entry: { kind: string; effectiveDate: string; memo: string; lines: EntryLineInput[] },
  ): Promise<string> {
    const { entry: posted } = await this.deps.ledger.postEntry(trx, {
      fundId: fund.id,
      ...entry,
      actor: doer.actor,
      requestId: doer.requestId ?? undefined,
    });
    return posted.id;
  }
}

/**
 * The daily job's part of the waterfall: opens a case for every pool loan the day left defaulted
 * without one, in the job's transaction (one statement), with an audit row per case opened.
 */
export async function openCasesOnDefault(
  trx: Trx,
  deps: Pick<RecoveryServiceDeps, 'audit' | 'clock'>,
  fund: Fund,
  date: string,
  doer: Doer,
): Promise<repo.OpenedCase[]> {
  const opened = await repo.openCasesForDay(trx, fund.id, date, deps.clock.now());
  for (const kase of opened) {
    await deps.audit.record(trx, {
      fundId: fund.id,
      actor: doer.actor,
      action: 'recovery.case.open',
      targetType: 'recovery_case',
      targetId: kase.id,
      payload: {
        caseNumber: kase.number,
        loanId: kase.loan_id,
        loanNumber: kase.loan_number,
        openedOn: date,
        by: 'daily_job',
      },
      requestId: doer.requestId,
    });
  }
  return opened;
}

// ---------------------------------------------------------------------------------------------
// The order of the waterfall

function failure(rule: RecoveryErrorCode, detail: string, figures: Record<string, unknown> = {}): MotionFailure {
  return { rule, detail, ...figures };
}

function problemOf(found: MotionFailure): AppError {
  const { rule, detail, ...figures } = found;
  return recoveryError(rule as RecoveryErrorCode, detail, figures);
}

/** The guarantors the next call round takes: of the stage's type, standing, never failed. */
function eligibleGuarantors(state: CaseState): repo.StandingRow[] {
  const type = state.steps.some((step) => step.kind === 'capital_offset') ? 'general' : 'joint_and_several';
  const failed = new Set(state.calls.filter((call) => call.status === 'failed').map((call) => call.guarantee_id));
  return state.guarantees.filter(
    (g) => g.type === type && g.status === 'active' && new Money(g.standing).gt(0) && !failed.has(g.guarantee_id),
  );
}

/**
 * Rule W-stand: what still stands behind the loan at the case's stage — the guarantors the next
 * call round would call (joint-and-several before the offset, general after it; standing, never
 * failed). The offset waits for the first, the write-off for the second, unless waived.
 */
function standingGuarantees(state: CaseState): StandingGuarantee[] {
  return eligibleGuarantors(state).map((g) => ({
    guaranteeId: g.guarantee_id,
    guarantorMemberId: g.guarantor_member_id,
    guarantorName: g.guarantor_name,
    type: g.type,
    standing: formatAmount(new Money(g.standing)),
  }));
}

/** What a passed step's waiver gave up: the guarantees standing when it was taken, all covered by it. */
function waiverTaken(state: CaseState, waiver: Waiver | null): Waiver | null {
  if (waiver === null) return null;
  const standing = standingGuarantees(state);
  assert(notWaived(standing, waiver.guarantees).length === 0, 'a step taken with guarantees its waiver does not cover');
  return { reason: waiver.reason, guarantees: standing };
}

/** One sentence per waived guarantee, for the motion and the minutes (in the minutes' Chinese). */
function waiverClauses(waiver: Waiver | null): string[] {
  if (waiver === null) return [];
  return waiver.guarantees.map(
    (g) =>
      `放弃对保证人 ${g.guarantorName} 的${GUARANTEE_TYPE_WORDS[g.type].zh}，不再追偿其仍担保的 ${g.standing} 元；理由：${waiver.reason}`,
  );
}

function stillStands(left: readonly UnwaivedGuarantee[], action: 'capital_offset' | 'write_off'): MotionFailure {
  const each = left.map((g) => {
    const part = g.waived === '0.00' ? '' : ` (the waiver names ${g.waived} of it)`;
    return `${g.guarantorName} (${GUARANTEE_TYPE_WORDS[g.type].en}) ${g.standing}${part}`;
  });
  const who = left.length === 1 ? 'A guarantor still stands' : `${left.length} guarantors still stand`;
  const them = left.length === 1 ? 'it' : 'them';
  return failure(
    'guarantor_still_stands',
    `${who} behind the loan: ${each.join('; ')}. Call ${them} first (call_guarantees), or propose the ${action} with waiveStandingGuarantees so that the committee's resolution waives ${them}.`,
    {
      expected: 'call_guarantees',
      limit: formatAmount(sumAmounts(left.map((g) => new Money(g.waived)))),
      actual: formatAmount(sumAmounts(left.map((g) => new Money(g.standing)))),
      guarantees: left,
    },
  );
}

/**
 * What the case's state says against a step, most basic first: closed; taken already or too
 * late; collateral not settled; calls not settled; the steps before it not taken; nothing owed;
 * guarantors still standing that the proposal does not waive.
 */
function stageFailures(
  state: CaseState,
  action: Exclude<repo.RecoveryAction, 'declare_default'>,
  waiver: Waiver | null,
): MotionFailure[] {
  const { kase, steps } = state;
  if (kase.status === 'closed') {
    return [
      failure('recovery_case_closed', `Recovery case ${kase.number} was closed on ${kase.closed_on}.`, {
        closedOn: kase.closed_on,
      }),
    ];
  }
  const taken = (kind: repo.StepKind) => steps.find((step) => step.kind === kind);
  const writtenOff = taken('written_off');
  const offset = taken('capital_offset');
  const owed = totalOf(state.owed);
  const openCalls = state.calls.filter((call) => call.status === 'called');
  if (action === 'close_case') {
    if (openCalls.length > 0) return [callsPending(openCalls)];
    if (!writtenOff && owed.gt(0)) {
      return [
        failure(
          'write_off_pending',
          `The loan still owes ${formatAmount(owed)}: write it off before the case closes.`,
          { expected: 'write_off', outstanding: formatAmount(owed) },
        ),
      ];
    }
    return [];
  }
  if (writtenOff) {
    return [
      failure(
        'recovery_step_out_of_order',
        `The loan was written off on ${writtenOff.taken_on}; after it only recoveries and the case's close remain.`,
        { expected: 'close_case', writtenOffOn: writtenOff.taken_on },
      ),
    ];
  }
  if (action === 'capital_offset' && offset) {
    return [
      failure(
        'recovery_step_out_of_order',
        `The borrower's capital was offset on ${offset.taken_on}; it is offset once.`,
        { expected: 'write_off', offsetOn: offset.taken_on },
      ),
    ];
  }
  const unsettled = state.collateral.filter((item) => !state.outcomes.some((row) => row.collateral_id === item.id));
  if (unsettled.length > 0) {
    return [
      failure(
        'collateral_pending',
        `${unsettled.length} collateral item(s) are neither realised nor written off as worthless: realise them first.`,
        { expected: 'collateral_realisation', collateralIds: unsettled.map((item) => item.id) },
      ),
    ];
  }
  if (openCalls.length > 0) return [callsPending(openCalls)];
  if (action === 'call_guarantees' && eligibleGuarantors(state).length === 0) {
    return [
      failure(
        'recovery_step_out_of_order',
        offset
          ? 'No general guarantor stands behind the loan any more: propose the write-off.'
          : 'No joint-and-several guarantor stands behind the loan any more: propose the capital offset.',
        { expected: offset ? 'write_off' : 'capital_offset' },
      ),
    ];
  }
  if (action === 'write_off' && !offset) {
    return [
      failure('capital_offset_pending', 'The borrower’s paid-in capital is offset before the rest is written off.', {
        expected: 'capital_offset',
      }),
    ];
  }
  if (owed.isZero()) {
    return [
      failure('nothing_to_recover', 'The loan owes nothing any more: propose closing the case.', {
        expected: 'close_case',
      }),
    ];
  }
  if (action === 'capital_offset' || action === 'write_off') {
    const left = notWaived(standingGuarantees(state), waiver?.guarantees ?? []);
    if (left.length > 0) return [stillStands(left, action)];
  }
  return [];
}

function callsPending(openCalls: readonly repo.CallRow[]): MotionFailure {
  return failure(
    'guarantor_calls_pending',
    `${openCalls.length} guarantor call(s) are neither paid nor recorded as failed.`,
    {
      expected: 'guarantor_payment',
      callIds: openCalls.map((call) => call.id),
    },
  );
}

function receivablesFrom(balances: Record<string, string>): Receivables {
  const parts = noReceivables();
  for (const code of RECEIVABLE_CODES) parts[code] = new Money(balances[code] ?? '0');
  return parts;
}

function caseNotFound(caseId: string) {
  return recoveryError('recovery_case_not_found', `Recovery case ${caseId} does not exist in this fund.`);
}

function actionNotFound(actionId: string) {
  return recoveryError('recovery_action_not_found', `Recovery action ${actionId} does not exist in this fund.`);
}

function notProposed(action: repo.ActionRow) {
  return recoveryError('recovery_action_not_proposed', `The ${action.action} action is ${action.status}.`, {
    actionStatus: action.status,
  });
}
