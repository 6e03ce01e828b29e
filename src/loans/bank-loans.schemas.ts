import { z } from 'zod';
import { uuid, isoDate } from '../http/schemas';
import { amountProblem, Money } from '../money/money';

/**
 * Request and response shapes of bank loans: the bank's contract an application names as its
 * lender, and the repayments the borrower reports to have paid the bank.
 */

export const BANK_NAME_LENGTH_MAX = 200;
export const BANK_CONTRACT_NUMBER_LENGTH_MAX = 100;
export const BANK_REPORT_REFERENCE_LENGTH_MAX = 200;

const RATE_PATTERN = /^(0|[1-9]\d{0,8})(\.\d{1,6})?$/;

/** A rate per year as a fraction with at most 6 decimals, 0 ≤ r ≤ 1, as loans.bank_rate_annual holds it. */
export const bankRateInput = z
  .string()
  .max(20)
  .superRefine((text, ctx) => {
    if (!RATE_PATTERN.test(text)) {
      ctx.addIssue({ code: 'custom', message: 'must be a decimal string such as "0.0435" (at most 6 decimals)' });
    } else if (new Money(text).gt(1)) {
      ctx.addIssue({ code: 'custom', message: 'must be at most 1' });
    }
  })
  .meta({ description: 'The bank\'s contract rate per year as a fraction: "0.0435" is 4.35 %.', example: '0.0435' });

/** A non-negative amount with at most 2 decimals; anything else is a 400 naming the field. */
const partInput = z
  .string()
  .max(40)
  .superRefine((text, ctx) => {
    const problem = amountProblem(text);
    if (problem === 'too_many_decimals') ctx.addIssue({ code: 'custom', message: 'must have at most 2 decimals' });
    else if (problem === 'too_large') ctx.addIssue({ code: 'custom', message: 'is too large' });
    else if (problem !== null) {
      ctx.addIssue({ code: 'custom', message: 'must be a decimal number written as a string, such as "0.00"' });
    } else if (new Money(text).lt(0)) ctx.addIssue({ code: 'custom', message: 'must not be negative' });
  })
  .meta({ description: 'Decimal string ≥ 0 with at most 2 decimals.', example: '30000.00' });

export const bankLenderInput = z.strictObject({
  type: z.literal('bank'),
  bankName: z.string().trim().min(1).max(BANK_NAME_LENGTH_MAX).meta({ example: '中国工商银行苏州分行' }),
  contractNumber: z
    .string()
    .trim()
    .min(1)
    .max(BANK_CONTRACT_NUMBER_LENGTH_MAX)
    .meta({ description: 'The loan contract number; registered once per fund.', example: 'ICBC-SZ-2026-0815' }),
  rateAnnual: bankRateInput,
  startOn: isoDate.meta({ description: "The contract's start: the earliest drawdown date." }),
  maturityOn: isoDate.meta({
    description: "The contract's maturity, after its start; termDays must be the days from start to maturity.",
  }),
});

export const bankTermsView = z
  .object({
    bankName: z.string(),
    contractNumber: z.string(),
    rateAnnual: z.string().meta({ description: 'Per year as a fraction: "0.0435" is 4.35 %.' }),
    startOn: isoDate,
    maturityOn: isoDate,
  })
  .meta({ id: 'BankLoanContract' });

export const bankRepaymentBody = z
  .strictObject({
    paidOn: isoDate.meta({
      description:
        'Day the borrower paid the bank; not in the future, not before the drawdown nor before the latest report.',
    }),
    principal: partInput.meta({ description: 'Principal paid to the bank; at most what is outstanding.' }),
    interest: partInput.meta({ description: "Interest paid to the bank (the bank's income; no entry in the books)." }),
    reference: z
      .string()
      .trim()
      .min(1, 'give the bank’s reference of the payment')
      .max(BANK_REPORT_REFERENCE_LENGTH_MAX)
      .meta({ description: 'The bank’s reference of the payment; recorded once per fund.' }),
  })
  .refine(
    (body) => [body.principal, body.interest].some((part) => amountProblem(part) === null && new Money(part).gt(0)),
    {
      message: 'report a principal or an interest above zero',
      path: ['principal'],
    },
  )
  .meta({
    id: 'BankRepaymentReport',
    example: { paidOn: '2026-07-15', principal: '100000.00', interest: '3625.00', reference: 'ICBC-HK-20260715-7' },
  });

export const bankLoanParams = z.strictObject({ fundId: uuid, loanId: uuid });

export type BankLenderInput = z.output<typeof bankLenderInput>;
export type BankTermsView = z.infer<typeof bankTermsView>;
export type BankRepaymentInput = z.output<typeof bankRepaymentBody>;
