import { runCommand } from '../http/command';
import { fundOf } from '../http/context';
import { beforeNumberOf, numberedPage } from '../http/pagination';
import { defineRoute, ok, type AnyRoute } from '../http/route';
import { fundIdParams, pageOf } from '../http/schemas';
import {
  groupConsentBody,
  groupMemberParams,
  groupParams,
  groupSummaryView,
  groupView,
  listGroupsQuery,
  proposeGroupBody,
  withdrawGroupBody,
} from './joint-groups.schemas';

const TAG = 'Joint guarantee groups';

// No money moves in any of these: an Idempotency-Key is optional everywhere.
export const jointGroupRoutes: AnyRoute[] = [
  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/joint-groups',
    operationId: 'proposeJointGroup',
    summary: 'Propose a joint guarantee group (联保小组) of 3–5 members with a limit',
    description:
      'A member user proposes a group its own enterprise is in (403 `joint_group_proposer_not_member` otherwise) and agrees to it by proposing; an administrator may propose any. The members must exist (422 `joint_group_member_unknown`), be active (422 `joint_group_member_inactive`) and no two of one related group (422 `joint_group_related_members`, naming them). Each other member’s users then agree or decline; once all agreed the committee decides on it (a meeting’s `jointGroupIds`).',
    tag: TAG,
    permission: 'joint_groups.propose',
    params: fundIdParams,
    body: proposeGroupBody,
    idempotency: 'optional',
    problems: [403, 422],
    response: { status: 201, description: 'The proposed group', schema: groupView },
    handler: async ({ body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const view = await ctx.app.services.jointGroups.propose(trx, fund, ctx.principal, body);
        return {
          status: 201,
          body: view,
          audit: {
            action: 'joint_groups.group.propose',
            targetType: 'joint_guarantee_group',
            targetId: view.id,
            payload: { request: body, number: view.number },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/joint-groups/{groupId}/consent',
    operationId: 'decideJointGroup',
    summary: 'A member agrees to the proposed group, or declines',
    description:
      'By a user bound to a member of the group (member or committee role; anybody else 403 `joint_group_not_consenter`), once per member (409 `joint_group_consent_already_decided`). A decline ends the proposal: the group becomes `declined`.',
    tag: TAG,
    permission: 'joint_groups.consent',
    params: groupParams,
    body: groupConsentBody,
    idempotency: 'optional',
    problems: [403, 404, 409],
    response: { status: 200, description: 'The group with the decision', schema: groupView },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const { view, memberId } = await ctx.app.services.jointGroups.consent(
          trx,
          fund,
          ctx.principal,
          params.groupId,
          body,
        );
        return {
          status: 200,
          body: view,
          audit: {
            action: `joint_groups.consent.${body.decision}`,
            targetType: 'joint_guarantee_group',
            targetId: view.id,
            payload: { request: body, memberId, groupStatus: view.status },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/joint-groups/{groupId}/withdraw',
    operationId: 'withdrawJointGroup',
    summary: 'Withdraw a proposed group before the committee decides',
    description:
      'By the proposing member’s users (403 `joint_group_not_proposer` for other members) or an administrator, while the group is proposed (409 `joint_group_not_proposed`). An open agenda item naming it closes as withdrawn.',
    tag: TAG,
    permission: 'joint_groups.propose',
    params: groupParams,
    body: withdrawGroupBody,
    idempotency: 'optional',
    problems: [403, 404, 409],
    response: { status: 200, description: 'The withdrawn group', schema: groupView },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const view = await ctx.app.services.jointGroups.withdraw(trx, fund, ctx.principal, params.groupId, body.reason);
        return {
          status: 200,
          body: view,
          audit: {
            action: 'joint_groups.group.withdraw',
            targetType: 'joint_guarantee_group',
            targetId: view.id,
            payload: { request: body },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/joint-groups/{groupId}/members/{memberId}/leave',
    operationId: 'leaveJointGroup',
    summary: 'A member leaves an approved group',
    description:
      'By the member’s users (403 `joint_group_not_leaver` for another member) or an administrator. Refused with 409 `joint_group_loans_outstanding` (naming the loans) while any loan backed by the group is not rejected, repaid, withdrawn or cancelled — a written-off loan counts: its guarantors stay liable. A group left with fewer than three members is dissolved and backs no new loan.',
    tag: TAG,
    permission: 'joint_groups.leave',
    params: groupMemberParams,
    idempotency: 'optional',
    problems: [403, 404, 409],
    response: { status: 200, description: 'The group after the member left', schema: groupView },
    handler: async ({ params, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const { view, dissolved } = await ctx.app.services.jointGroups.leave(
          trx,
          fund,
          ctx.principal,
          params.groupId,
          params.memberId,
        );
        return {
          status: 200,
          body: view,
          audit: {
            action: 'joint_groups.member.leave',
            targetType: 'joint_guarantee_group',
            targetId: view.id,
            payload: { memberId: params.memberId, dissolved, groupStatus: view.status },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/joint-groups',
    operationId: 'listJointGroups',
    summary: 'Joint guarantee groups, newest first',
    description:
      'Filter by status and by a member that is or was in the group. Member users see only the groups their enterprise is or was in.',
    tag: TAG,
    permission: 'joint_groups.read',
    params: fundIdParams,
    query: listGroupsQuery,
    response: { status: 200, description: 'A page of groups', schema: pageOf(groupSummaryView) },
    handler: async ({ query, ctx }) => {
      const fund = fundOf(ctx);
      const items = await ctx.app.services.jointGroups.list(ctx.app.db, fund, ctx.principal, {
        status: query.status,
        memberId: query.memberId,
        beforeNumber: beforeNumberOf(query.cursor),
        limit: query.limit + 1,
      });
      return ok(numberedPage(items, query.limit, (item) => item.number));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/joint-groups/{groupId}',
    operationId: 'getJointGroup',
    summary: 'One group with its members, consents, decision, the loans it backs and its used and free limit',
    tag: TAG,
    permission: 'joint_groups.read',
    params: groupParams,
    problems: [404],
    response: { status: 200, description: 'The group', schema: groupView },
    handler: async ({ params, ctx }) => {
      const fund = fundOf(ctx);
      return ok(await ctx.app.services.jointGroups.get(ctx.app.db, fund, ctx.principal, params.groupId));
    },
  }),
];
