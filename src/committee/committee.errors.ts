import { errorFactory, type ErrorTable } from '../errors';

export const COMMITTEE_ERRORS = {
  meeting_not_found: { status: 404, title: 'Meeting not found' },
  agenda_item_not_found: { status: 404, title: 'Agenda item not found' },
  not_committee_member: {
    status: 422,
    title: 'The user is not a committee member of this fund bound to a member enterprise',
  },
  not_a_committee_voter: {
    status: 403,
    title: 'Only a committee user of this fund bound to a member enterprise may vote',
  },
  rotation_month_duplicated: { status: 422, title: 'A month appears more than once in the rotation' },
  no_chair: { status: 422, title: 'The meeting has no chair: the rotation names none for its month' },
  agenda_empty: { status: 422, title: 'The meeting has nothing on its agenda' },
  agenda_loan_not_found: { status: 422, title: 'An application on the agenda does not exist in this fund' },
  agenda_loan_duplicated: { status: 422, title: 'An application appears more than once on the agenda' },
  loan_not_reviewable: { status: 409, title: 'The application is not awaiting a committee decision' },
  loan_already_on_agenda: { status: 409, title: 'The application is already on an open agenda item' },
  agenda_motion_duplicated: { status: 422, title: 'A motion appears more than once on the agenda' },
  motion_already_on_agenda: { status: 409, title: 'The motion is already on an open agenda item' },
  not_present: { status: 422, title: 'Only a committee member recorded as present may vote' },
  recused: { status: 403, title: 'The committee member is recused from this item' },
  already_voted: { status: 409, title: 'The committee member has already voted on this item' },
  item_closed: { status: 409, title: 'The agenda item has already been decided' },
  not_emergency: { status: 422, title: 'Only emergency applications may be fast-tracked' },
  fast_track_amount_exceeded: { status: 422, title: 'The amount is above the fast-track limit of the policy' },
  loan_not_fast_trackable: { status: 409, title: 'The application cannot be fast-tracked in its current state' },
  not_chair: { status: 403, title: 'Only the chair (or an administrator) may do this' },
  fast_track_already_approved: { status: 409, title: 'This approval was already given today' },
} as const satisfies ErrorTable<string>;

export type CommitteeErrorCode = keyof typeof COMMITTEE_ERRORS;

export const committeeError = errorFactory<CommitteeErrorCode>(COMMITTEE_ERRORS);
