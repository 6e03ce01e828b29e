import type { CollateralRow } from '../loans/loans.repo';
import { formatAmount, Money } from '../money/money';
import type * as repo from './recovery.repo';
import type { ActionView, CaseSummaryView, CaseView } from './recovery.schemas';
import { receivablesJson, type Receivables } from './waterfall';

const amount = (value: string): string => formatAmount(new Money(value));

export function toActionView(row: repo.ActionRow): ActionView {
  return {
    id: row.id,
    caseId: row.case_id,
    loanId: row.loan_id,
    action: row.action,
    status: row.status,
    reason: row.reason,
    proposedBy: row.proposed_by,
    proposedAt: row.proposed_at.toISOString(),
    decisionItemId: row.decision_item_id,
    resolution: row.resolution,
    decidedOn: row.decided_on,
    failures: row.failures,
    result: row.result,
    waiver: row.waiver,
  };
}

export function toCaseSummary(row: repo.CaseRow): CaseSummaryView {
  return {
    id: row.id,
    number: row.number,
    loanId: row.loan_id,
    loanNumber: row.loan_number,
    borrowerMemberId: row.borrower_member_id,
    status: row.status,
    openedOn: row.opened_on,
    openedBy: row.opened_by,
    closedOn: row.closed_on,
    outcome: row.outcome,
  };
}

export interface CaseParts {
  kase: repo.CaseRow;
  loanStatus: string;
  owed: Receivables;
  collateral: readonly CollateralRow[];
  outcomes: readonly repo.CollateralOutcomeRow[];
  guarantees: readonly repo.StandingRow[];
  calls: readonly repo.CallRow[];
  payments: readonly repo.PaymentRow[];
  receipts: readonly repo.ReceiptRow[];
  actions: readonly repo.ActionRow[];
  steps: readonly repo.StepRow[];
}

export function toCaseView(parts: CaseParts): CaseView {
  const outcomeOf = new Map(parts.outcomes.map((row) => [row.collateral_id, row]));
  const claims = new Map<string, Money>();
  for (const payment of parts.payments) {
    claims.set(
      payment.guarantor_member_id,
      (claims.get(payment.guarantor_member_id) ?? new Money(0)).plus(payment.amount),
    );
  }
  return {
    ...toCaseSummary(parts.kase),
    loanStatus: parts.loanStatus,
    outstanding: receivablesJson(parts.owed) as CaseView['outstanding'],
    collateral: parts.collateral.map((item) => {
      const settled = outcomeOf.get(item.id);
      return {
        collateralId: item.id,
        description: item.description,
        valuation: amount(item.valuation),
        outcome: settled?.outcome ?? null,
        takenOn: settled?.taken_on ?? null,
        grossProceeds: settled ? amount(settled.gross_proceeds) : null,
        costs: settled ? amount(settled.costs) : null,
        netProceeds: settled ? amount(settled.net_proceeds) : null,
        reference: settled?.reference ?? null,
        repaymentId: settled?.repayment_id ?? null,
      };
    }),
    guarantees: parts.guarantees.map((g) => ({
      guaranteeId: g.guarantee_id,
      guarantorMemberId: g.guarantor_member_id,
      guarantorName: g.guarantor_name,
      type: g.type,
      status: g.status,
      amount: amount(g.amount),
      released: amount(g.released),
      paid: amount(g.paid),
      standing: amount(g.standing),
    })),
    calls: parts.calls.map((call) => ({
      id: call.id,
      round: call.round,
      actionId: call.action_id,
      guaranteeId: call.guarantee_id,
      guarantorMemberId: call.guarantor_member_id,
      guaranteeType: call.guarantee_type,
      standing: amount(call.standing),
      amount: amount(call.amount),
      paid: amount(call.paid),
      unpaid: formatAmount(new Money(call.amount).minus(call.paid).minus(call.cancelled)),
      cancelled: amount(call.cancelled),
      status: call.status,
      calledOn: call.called_on,
      dueOn: call.due_on,
      failedOn: call.failed_on,
      failureReason: call.failure_reason,
    })),
    subrogatedClaims: [...claims].map(([guarantorMemberId, total]) => ({
      guarantorMemberId,
      borrowerMemberId: parts.kase.borrower_member_id,
      amount: formatAmount(total),
    })),
    receipts: parts.receipts.map((row) => ({
      id: row.id,
      amount: amount(row.amount),
      receivedOn: row.received_on,
      reference: row.reference,
      payer: row.payer,
      entryId: row.entry_id,
    })),
    actions: parts.actions.map(toActionView),
    steps: parts.steps.map((step) => ({
      seq: step.seq,
      kind: step.kind,
      takenOn: step.taken_on,
      actionId: step.action_id,
      entryIds: step.entry_ids,
      details: step.details,
      recordedBy: step.recorded_by,
      recordedAt: step.recorded_at.toISOString(),
    })),
  };
}
