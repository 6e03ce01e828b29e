import { runCommand } from '../http/command';
import { fundOf } from '../http/context';
import { defineRoute, type AnyRoute } from '../http/route';
import { bankLoanParams, bankRepaymentBody } from './bank-loans.schemas';
import { reportBankRepayment } from './bank-loans.service';
import { repaymentView } from './repayments.schemas';

const TAG = 'Loans';

export const bankLoanRoutes: AnyRoute[] = [
  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/loans/{loanId}/bank-repayments',
    operationId: 'reportBankRepayment',
    summary: 'Report what the borrower of a bank loan paid the bank: principal and interest',
    description:
      'For bank loans only (409 `not_bank_loan` otherwise; a bank loan refuses POST …/repayments with 409 `bank_loan_repayment_reported`). By the borrower’s member users (others taking part get 403 `not_borrower`) or an administrator. The principal is recorded in the memo book (Dr 7202 / Cr 7201:<loan>) and releases the guarantees in proportion (Dr 7002 / Cr 7001:<guarantor>); the interest is the bank’s and is recorded on the instalments only, oldest first. Reports are dated in order (422 `paid_on_*`); principal above what is outstanding is refused whole (422 `bank_principal_exceeds_outstanding`); a bank reference is recorded once per fund (409 `repayment_reference_taken`). The loan is `repaid` when its principal is all reported. An administrator reverses a report with POST …/repayments/{repaymentId}/reverse.',
    tag: TAG,
    permission: 'loans.bank_repayment_report',
    params: bankLoanParams,
    body: bankRepaymentBody,
    idempotency: 'required',
    problems: [403, 404, 409, 422],
    response: { status: 201, description: 'The reported repayment and its allocation', schema: repaymentView },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      const { services } = ctx.app;
      return runCommand(ctx, { idempotency: 'required', claim: 'explicit' }, async (trx) => {
        const outcome = await reportBankRepayment(
          trx,
          {
            ledger: services.ledger,
            audit: services.audit,
            funds: services.funds,
            clock: ctx.app.clock,
            repayments: services.repayments,
          },
          fund,
          ctx.principal,
          params.loanId,
          body,
          ctx.requestId,
        );
        const { view } = outcome;
        return {
          status: 201,
          body: view,
          audit: {
            action: 'loans.bank_repayment.report',
            targetType: 'loan',
            targetId: view.loanId,
            payload: {
              request: body,
              repaymentId: view.id,
              number: view.number,
              paidOn: view.receivedOn,
              allocated: view.allocated,
              closedLoan: view.closedLoan,
              loanStatus: view.loanStatus,
              entries: outcome.entries,
            },
          },
        };
      });
    },
  }),
];
