import { errorFactory, type ErrorTable } from '../errors';

export const EXIT_ERRORS = {
  member_not_found: { status: 404, title: 'Member not found' },
  exit_not_found: { status: 404, title: 'Exit not found' },
  member_exited: { status: 409, title: 'The member has already exited' },
  exit_date_in_future: { status: 422, title: 'An exit cannot be dated in the future' },
  exit_in_closed_period: { status: 422, title: 'An exit cannot be dated inside a closed period' },
  exit_lockup: { status: 422, title: "The member's capital is still in its lock-up" },
  exit_unpaid_call: { status: 422, title: 'The member has an unpaid capital call' },
  exit_obligations: { status: 422, title: 'The member still has obligations to the fund' },
  exit_open_loans: { status: 422, title: 'The member is party to loans that are not closed' },
  exit_capital_deficit: { status: 422, title: "The member's capital is negative: it owes the fund" },
  exit_already_paid: { status: 409, title: 'The refund has already been paid' },
  exit_reserve_breach: { status: 422, title: 'Paying the refund would take pool cash below the liquidity reserve' },
} as const satisfies ErrorTable<string>;

export type ExitErrorCode = keyof typeof EXIT_ERRORS;

export const exitError = errorFactory<ExitErrorCode>(EXIT_ERRORS);
