import { errorFactory, type ErrorTable } from '../errors';

export const CAPITAL_ERRORS = {
  member_not_found: { status: 404, title: 'Member not found' },
  member_exited: { status: 422, title: 'The member has exited the fund' },
  received_on_in_future: { status: 400, title: 'Money cannot be received in the future' },
  bank_reference_taken: { status: 409, title: 'This bank reference was already recorded in this fund' },
  contribution_exceeds_subscription: {
    status: 422,
    title: "The contribution would take the member's paid-in capital above its subscription",
  },
  received_before_joining: { status: 422, title: 'Money cannot be received before the member joined' },
  contribution_not_found: { status: 404, title: 'Contribution not found' },
  contribution_already_reversed: { status: 409, title: 'The contribution has already been reversed' },
  reversed_on_in_future: { status: 400, title: 'A reversal cannot be dated in the future' },
  capital_call_not_found: { status: 404, title: 'Capital call not found' },
  called_on_in_future: { status: 400, title: 'A capital call cannot be dated in the future' },
  due_before_call: { status: 400, title: 'A capital call cannot fall due before it is made' },
  nothing_to_call: { status: 422, title: 'No member has uncalled capital to call' },
  statement_range_invalid: { status: 400, title: 'The statement period is not valid' },
  statement_too_long: { status: 422, title: 'The statement has too many movements; ask for a shorter period' },
} as const satisfies ErrorTable<string>;

export type CapitalErrorCode = keyof typeof CAPITAL_ERRORS;

export const capitalError = errorFactory<CapitalErrorCode>(CAPITAL_ERRORS);
