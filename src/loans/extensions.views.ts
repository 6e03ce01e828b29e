import { assert } from '../assert';
import { formatAmount, Money } from '../money/money';
import type { ConsentRow, ExtensionRow } from './extensions.repo';
import type { ConsentView, ExtensionView } from './extensions.schemas';

/** Extension rows as the API shows them. */

export function toConsentView(row: ConsentRow): ConsentView {
  return {
    guaranteeId: row.guarantee_id,
    guarantorMemberId: row.guarantor_member_id,
    status: row.status,
    decidedBy: row.decided_by,
    decidedAt: row.decided_at ? row.decided_at.toISOString() : null,
    declineReason: row.decline_reason,
  };
}

const amount = (value: string | null): string => formatAmount(new Money(value ?? '0'));

export function toExtensionView(row: ExtensionRow, consents: readonly ConsentRow[]): ExtensionView {
  return {
    id: row.id,
    loanId: row.loan_id,
    number: row.number,
    status: row.status,
    requestedMaturityDate: row.requested_maturity_date,
    repaymentMethod: row.repayment_method,
    reason: row.reason,
    maturityDateBefore: row.maturity_date_before,
    repaymentMethodBefore: row.repayment_method_before,
    consents: consents.filter((c) => c.extension_id === row.id).map(toConsentView),
    requestedBy: row.requested_by,
    requestedAt: row.requested_at.toISOString(),
    withdrawnAt: row.withdrawn_at ? row.withdrawn_at.toISOString() : null,
    withdrawalReason: row.withdrawal_reason,
    decisionItemId: row.decision_item_id,
    decidedAt: row.decided_at ? row.decided_at.toISOString() : null,
    rejectedReason: row.rejected_reason,
    restructuring: row.status === 'approved' ? restructuringOf(row) : null,
  };
}

function restructuringOf(row: ExtensionRow): NonNullable<ExtensionView['restructuring']> {
  assert(
    row.effective_on !== null &&
      row.schedule_version_before !== null &&
      row.schedule_version_after !== null &&
      row.loan_status_before !== null &&
      row.classification_floor !== null &&
      row.observation_ends_on !== null,
    `approved extension ${row.id} lacks its restructuring figures`,
  );
  const status = row.loan_status_before;
  assert(status === 'active' || status === 'overdue' || status === 'defaulted', `extension ${row.id}: ${status}`);
  return {
    effectiveOn: row.effective_on,
    scheduleVersionBefore: row.schedule_version_before,
    scheduleVersionAfter: row.schedule_version_after,
    maturityDateBefore: row.maturity_date_before,
    maturityDateAfter: row.requested_maturity_date,
    principalRescheduled: amount(row.principal_rescheduled),
    pastDuePrincipal: amount(row.past_due_principal),
    interestCarried: amount(row.interest_carried),
    penaltyOutstanding: amount(row.penalty_outstanding),
    feeOutstanding: amount(row.fee_outstanding),
    loanStatusBefore: status,
    classificationBefore: row.classification_before,
    classificationFloor: row.classification_floor,
    observationEndsOn: row.observation_ends_on,
  };
}
