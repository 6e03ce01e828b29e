import { runCommand, type Reply } from '../http/command';
import { fundOf } from '../http/context';
import { decodeCursor, pageOf as paginate, beforeNumberOf, numberedPage } from '../http/pagination';
import { defineRoute, ok, type AnyRoute } from '../http/route';
import { fundIdParams, pageOf } from '../http/schemas';
import { loanParams } from '../loans/loans.schemas';
import {
  attendanceBody,
  createMeetingBody,
  decideBody,
  fastTrackView,
  itemParams,
  itemView,
  listMeetingsQuery,
  listRatificationsQuery,
  meetingCursor,
  meetingParams,
  meetingSummaryView,
  meetingView,
  ratificationView,
  rotationBody,
  rotationView,
  voteBody,
  voteView,
} from './committee.schemas';
import { MARKDOWN_MEDIA_TYPE, minutesMarkdown, prefersMarkdown } from './minutes';

const TAG = 'Committee';

export const committeeRoutes: AnyRoute[] = [
  defineRoute({
    method: 'put',
    path: '/funds/{fundId}/committee/rotation',
    operationId: 'setCommitteeRotation',
    summary: 'Name the chair of each month',
    description:
      'Each chair must be an enabled committee user of the fund bound to a member enterprise (422 `not_committee_member`). Months given are set; other months keep their chair.',
    tag: TAG,
    permission: 'committee.rotation.write',
    params: fundIdParams,
    body: rotationBody,
    idempotency: 'optional',
    problems: [422],
    response: { status: 200, description: 'The whole rotation', schema: rotationView },
    handler: async ({ body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const view = await ctx.app.services.committee.setRotation(trx, fund, ctx.principal, body);
        return {
          status: 200,
          body: view,
          audit: {
            action: 'committee.rotation.set',
            targetType: 'fund',
            targetId: fund.id,
            payload: { request: body },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/committee/rotation',
    operationId: 'getCommitteeRotation',
    summary: 'The chair of each month',
    tag: TAG,
    permission: 'committee.rotation.read',
    params: fundIdParams,
    response: { status: 200, description: 'The rotation, by month', schema: rotationView },
    handler: async ({ ctx }) => ok(await ctx.app.services.committee.rotation(ctx.app.db, fundOf(ctx))),
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/meetings',
    operationId: 'createMeeting',
    summary: 'Convene a committee meeting with its agenda',
    description:
      'The chair is the rotation’s chair of the meeting’s month unless `chairUserId` names another committee member (422 `no_chair` when neither). The agenda: the applications named (submitted ones move to under_review; one left undecided by an earlier meeting may be named again), then the loan extensions named (`extensionIds`; one a guarantor declined is refused with 409 `extension_consent_declined`), then the motions named — joint guarantee groups to approve (`jointGroupIds`) and steps of recovery cases (`recoveryActionIds`), each refused by its own service when it cannot be decided now and with 409 `motion_already_on_agenda` when an open item names it — then every fast-tracked loan waiting for ratification, automatically.',
    tag: TAG,
    permission: 'meetings.manage',
    params: fundIdParams,
    body: createMeetingBody,
    idempotency: 'optional',
    problems: [409, 422],
    response: { status: 201, description: 'The meeting', schema: meetingView },
    handler: async ({ body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const view = await ctx.app.services.committee.createMeeting(trx, fund, ctx.principal, body);
        return {
          status: 201,
          body: view,
          audit: {
            action: 'committee.meeting.create',
            targetType: 'committee_meeting',
            targetId: view.id,
            payload: {
              request: body,
              chairUserId: view.chair.userId,
              items: view.items.map((item) => ({
                id: item.id,
                kind: item.kind,
                loanId: item.loan?.id ?? null,
                ...(item.extension ? { extensionId: item.extension.id } : {}),
                ...(item.motion ? { motionId: item.motion.id } : {}),
              })),
            },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/meetings',
    operationId: 'listMeetings',
    summary: 'Committee meetings, newest first',
    tag: TAG,
    permission: 'meetings.read',
    params: fundIdParams,
    query: listMeetingsQuery,
    response: { status: 200, description: 'A page of meetings', schema: pageOf(meetingSummaryView) },
    handler: async ({ query, ctx }) => {
      const after = decodeCursor(query.cursor, meetingCursor);
      const rows = await ctx.app.services.committee.listMeetings(ctx.app.db, fundOf(ctx), {
        before: after === undefined ? undefined : { heldOn: after.heldOn, number: Number(after.number) },
        limit: query.limit + 1,
      });
      return ok(
        paginate(
          rows,
          query.limit,
          (row) => ({
            id: row.id,
            number: row.number,
            heldOn: row.held_on,
            chairUserId: row.chair_user_id,
            createdAt: row.created_at.toISOString(),
          }),
          (row) => ({ heldOn: row.held_on, number: String(row.number) }),
        ),
      );
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/meetings/{meetingId}',
    operationId: 'getMeeting',
    summary: 'One meeting: chair, attendance and the agenda with votes, recusals and outcomes',
    tag: TAG,
    permission: 'meetings.read',
    params: meetingParams,
    problems: [404],
    response: { status: 200, description: 'The meeting', schema: meetingView },
    handler: async ({ params, ctx }) =>
      ok(await ctx.app.services.committee.meeting(ctx.app.db, fundOf(ctx), params.meetingId)),
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/meetings/{meetingId}/minutes',
    operationId: 'getMeetingMinutes',
    summary: 'The minutes of a meeting (JSON, or Markdown with Accept: text/markdown)',
    description:
      'Attendance, each item with its votes and comments, the recusals with their reasons, the tally, the outcome and its resolution number.',
    tag: TAG,
    permission: 'meetings.read',
    params: meetingParams,
    problems: [404],
    response: { status: 200, description: 'The minutes', schema: meetingView, alternatives: ['text/markdown'] },
    handler: async ({ params, ctx }): Promise<Reply> => {
      const view = await ctx.app.services.committee.meeting(ctx.app.db, fundOf(ctx), params.meetingId);
      // The same URL answers in two formats: caches must key on Accept.
      if (!prefersMarkdown(ctx.headers.accept)) return { status: 200, body: view, headers: { Vary: 'Accept' } };
      return {
        status: 200,
        body: minutesMarkdown(view),
        contentType: MARKDOWN_MEDIA_TYPE,
        headers: { Vary: 'Accept' },
      };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/meetings/{meetingId}/attendance',
    operationId: 'recordMeetingAttendance',
    summary: 'Record which committee members are present',
    description:
      'Adds to those already recorded; each must be a committee member of the fund (422 `not_committee_member`).',
    tag: TAG,
    permission: 'meetings.manage',
    params: meetingParams,
    body: attendanceBody,
    idempotency: 'optional',
    problems: [404, 422],
    response: { status: 200, description: 'The meeting', schema: meetingView },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const view = await ctx.app.services.committee.recordAttendance(
          trx,
          fund,
          ctx.principal,
          params.meetingId,
          body.userIds,
        );
        return {
          status: 200,
          body: view,
          audit: {
            action: 'committee.meeting.attendance',
            targetType: 'committee_meeting',
            targetId: view.id,
            payload: { request: body },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/meetings/{meetingId}/items/{itemId}/votes',
    operationId: 'castVote',
    summary: 'A committee member votes approve, reject or abstain, with a comment',
    description:
      'One vote per committee member per item (409 `already_voted`); only members recorded present (422 `not_present`). Recusal is automatic: the representative of the borrower, a guarantor, the peer lender or a member of the borrower’s related group gets 403 `recused` with the reason.',
    tag: TAG,
    permission: 'meetings.vote',
    params: itemParams,
    body: voteBody,
    idempotency: 'optional',
    problems: [403, 404, 409, 422],
    response: { status: 201, description: 'The vote', schema: voteView },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const view = await ctx.app.services.committee.vote(trx, fund, ctx.principal, params, body);
        return {
          status: 201,
          body: view,
          audit: {
            action: 'committee.vote.cast',
            targetType: 'committee_item',
            targetId: params.itemId,
            payload: { request: body, meetingId: params.meetingId, memberId: view.memberId },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/meetings/{meetingId}/items/{itemId}/decide',
    operationId: 'decideItem',
    summary: 'Close an item on its votes: approve (hold on pool cash), reject, or no quorum',
    description:
      'Quorum: more than `committee.quorum` of the non-recused committee members present and voting (abstentions count as voting). Pass: more approvals than rejections (`passThreshold`), and for loans of at least `largeLoanAmount` approvals of at least `largeLoanPassThreshold` of all votes cast. An approval runs the approval contract (eligibility at approval, status approved, policy version, hold on pool cash); if a rule fails the item is recorded `ineligible` with the failures and the loan stays under review. Extension items: an approval (every active guarantee consented, the borrower active, the extended term within the policy) regenerates the loan’s schedule from its outstanding principal and flags it restructured; otherwise the item is `ineligible` with the failures. Motions (a joint guarantee group, a recovery step): the group’s or the case’s service acts on the outcome in the same transaction — withdrawn when the matter no longer waits for a decision, `ineligible` with the failures when a rule refuses what the committee passed. Resolution numbers are `<meeting date>-<n>`. An administrator or the meeting’s chair closes an item (another committee member: 403 `not_chair`). Places a hold: an Idempotency-Key is required.',
    tag: TAG,
    permission: 'meetings.decide',
    params: itemParams,
    body: decideBody,
    idempotency: 'required',
    problems: [403, 404, 409],
    response: { status: 200, description: 'The decided item', schema: itemView },
    handler: async ({ params, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'required' }, async (trx) => {
        const { item, loanStatus } = await ctx.app.services.committee.decide(
          trx,
          fund,
          ctx.principal,
          params,
          ctx.requestId,
        );
        return {
          status: 200,
          body: item,
          audit: {
            action: `committee.item.${item.status}`,
            targetType: 'committee_item',
            targetId: item.id,
            payload: {
              meetingId: item.meetingId,
              loanId: item.loan?.id ?? null,
              resolutionNumber: item.resolutionNumber,
              tally: item.tally,
              failures: item.failures,
              loanStatus,
              ...(item.extension ? { extension: item.extension } : {}),
              ...(item.motion
                ? { motion: { id: item.motion.id, kind: item.motion.kind, title: item.motion.title } }
                : {}),
            },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/loan-applications/{loanId}/fast-track',
    operationId: 'fastTrackLoan',
    summary: 'Fast-track an emergency application: the month’s chair and an administrator approve the same day',
    description:
      'Emergency applications of at most `committee.fastTrackAmountMax`, still submitted. The first call records one approval; the other role’s call the same fund day completes it: the approval contract runs (hold on pool cash), the loan is marked fast-tracked with ratification pending, and goes on the next meeting’s agenda for ratification. Refusals: 422 `not_emergency`, 422 `fast_track_amount_exceeded`, 403 `not_chair`, 403 `recused`, 409 `loan_not_fast_trackable`, 409 `fast_track_already_approved`, 422 `loan_ineligible`. Places a hold: an Idempotency-Key is required.',
    tag: TAG,
    permission: 'loans.fast_track',
    params: loanParams,
    idempotency: 'required',
    problems: [403, 409, 422],
    response: { status: 200, description: 'The approvals so far', schema: fastTrackView },
    handler: async ({ params, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'required' }, async (trx) => {
        const view = await ctx.app.services.committee.fastTrack.approve(
          trx,
          fund,
          ctx.principal,
          params.loanId,
          ctx.requestId,
        );
        return {
          status: 200,
          body: view,
          audit: {
            action: view.state === 'approved' ? 'loans.fast_track.approved' : 'loans.fast_track.first_approval',
            targetType: 'loan',
            targetId: view.loanId,
            payload: {
              approvals: view.approvals.map((a) => ({ capacity: a.capacity, userId: a.userId })),
              policyVersion: view.policyVersion,
              holdId: view.holdId,
              ratificationMeetingId: view.ratificationMeetingId,
            },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/committee/ratifications',
    operationId: 'listRatifications',
    summary: 'Fast-tracked loans and their ratification, newest first',
    description: 'Filter `status=failed` for the exceptions flagged for the committee.',
    tag: TAG,
    permission: 'meetings.read',
    params: fundIdParams,
    query: listRatificationsQuery,
    response: { status: 200, description: 'A page of fast-tracked loans', schema: pageOf(ratificationView) },
    handler: async ({ query, ctx }) => {
      const items = await ctx.app.services.committee.ratifications(ctx.app.db, fundOf(ctx), {
        status: query.status,
        beforeNumber: beforeNumberOf(query.cursor),
        limit: query.limit + 1,
      });
      return ok(numberedPage(items, query.limit, (item) => item.loanNumber));
    },
  }),
];
