import { hashPassword } from '../auth/password';
import { memberScope } from '../auth/permissions';
import { runCommand } from '../http/command';
import { fundOf } from '../http/context';
import { decodeCursor, pageOf as paginate } from '../http/pagination';
import { defineRoute, ok, type AnyRoute } from '../http/route';
import { fundIdParams, pageOf } from '../http/schemas';
import {
  createMemberBody,
  createUserBody,
  listMembersQuery,
  listUsersQuery,
  memberCursor,
  memberParams,
  memberStatusBody,
  memberView,
  updateMemberBody,
  userCursor,
  userView,
} from './members.schemas';
import { detailsOf, toMemberView, toUserView } from './members.views';

const TAG = 'Members';

export const membersRoutes: AnyRoute[] = [
  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/members',
    operationId: 'createMember',
    summary: 'Register a member enterprise',
    description:
      'The credit code is checked against GB 32100-2015 and is unique within the fund; a fund has at most one lead enterprise. The member starts active.',
    tag: TAG,
    permission: 'members.create',
    params: fundIdParams,
    body: createMemberBody,
    idempotency: 'optional',
    problems: [409],
    response: { status: 201, description: 'The member', schema: memberView },
    handler: async ({ body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const member = await ctx.app.services.members.create(trx, fund, body);
        const { row } = member;
        return {
          status: 201,
          body: toMemberView(member),
          audit: {
            action: 'members.member.create',
            targetType: 'member',
            targetId: row.id,
            payload: { member: { ...detailsOf(row), joinedOn: row.joined_on, status: row.status } },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/members',
    operationId: 'listMembers',
    summary: 'List member enterprises with their capital figures',
    description: 'By name. Member users see only their own enterprise.',
    tag: TAG,
    permission: 'members.read',
    params: fundIdParams,
    query: listMembersQuery,
    response: { status: 200, description: 'A page of members, by name', schema: pageOf(memberView) },
    handler: async ({ query, ctx }) => {
      const fund = fundOf(ctx);
      const after = decodeCursor(query.cursor, memberCursor);
      const members = await ctx.app.services.members.list(ctx.app.db, fund, {
        onlyId: memberScope(ctx.principal),
        status: query.status,
        allianceRole: query.allianceRole,
        relatedGroup: query.relatedGroup,
        nameContains: query.q,
        after,
        limit: query.limit + 1,
      });
      return ok(paginate(members, query.limit, toMemberView, ({ row }) => ({ name: row.name, id: row.id })));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/members/{memberId}',
    operationId: 'getMember',
    summary: 'One member enterprise with its capital figures',
    tag: TAG,
    permission: 'members.read',
    params: memberParams,
    response: { status: 200, description: 'The member', schema: memberView },
    handler: async ({ params, ctx }) => {
      const fund = fundOf(ctx);
      const member = await ctx.app.services.members.get(ctx.app.db, fund, params.memberId, memberScope(ctx.principal));
      return ok(toMemberView(member));
    },
  }),

  defineRoute({
    method: 'patch',
    path: '/funds/{fundId}/members/{memberId}',
    operationId: 'updateMember',
    summary: 'Edit a member’s details',
    description:
      'Send `version` (from the member you read) to refuse the edit if someone changed the member meanwhile. Status and joining date are not edited here; the lead enterprise is swapped with PATCH /funds/{fundId}.',
    tag: TAG,
    permission: 'members.update',
    params: memberParams,
    body: updateMemberBody,
    idempotency: 'optional',
    problems: [409, 422],
    response: { status: 200, description: 'The member as changed', schema: memberView },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const { member, changes } = await ctx.app.services.members.update(trx, fund, params.memberId, body);
        return {
          status: 200,
          body: toMemberView(member),
          audit: {
            action: 'members.member.update',
            targetType: 'member',
            targetId: member.row.id,
            payload: { changes, version: member.row.version },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/members/{memberId}/status',
    operationId: 'setMemberStatus',
    summary: 'Suspend or reactivate a member',
    description:
      'active → suspended and suspended → active, with a reason. A member exits through the exit procedure, not here.',
    tag: TAG,
    permission: 'members.status',
    params: memberParams,
    body: memberStatusBody,
    idempotency: 'optional',
    problems: [409, 422],
    response: { status: 200, description: 'The member with its new status', schema: memberView },
    handler: async ({ params, body, ctx }) => {
      const fund = fundOf(ctx);
      return runCommand(ctx, { idempotency: 'optional' }, async (trx) => {
        const { member, from } = await ctx.app.services.members.setStatus(trx, fund, params.memberId, body);
        return {
          status: 200,
          body: toMemberView(member),
          audit: {
            action: 'members.member.status',
            targetType: 'member',
            targetId: member.row.id,
            payload: { from, to: member.row.status, reason: body.reason, version: member.row.version },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/funds/{fundId}/users',
    operationId: 'createFundUser',
    summary: 'Create a user of this fund',
    description:
      'Member users act for one member enterprise (required); committee users may name the enterprise they represent. An Idempotency-Key, if sent, is bound to the request without its password.',
    tag: TAG,
    permission: 'users.create',
    params: fundIdParams,
    body: createUserBody,
    idempotency: 'optional',
    problems: [409],
    response: { status: 201, description: 'The user (never its password)', schema: userView },
    handler: async ({ body, ctx }) => {
      const fund = fundOf(ctx);
      // Hashed before the transaction (tens of milliseconds), and only the hash goes further.
      const passwordHash = await hashPassword(body.password);
      // The idempotency fingerprint is a plain SHA-256 of the body: it must not cover the password.
      const { password: _password, ...withoutPassword } = (ctx.rawBody ?? {}) as Record<string, unknown>;
      return runCommand({ ...ctx, rawBody: withoutPassword }, { idempotency: 'optional' }, async (trx) => {
        const user = await ctx.app.services.members.createUser(trx, fund, {
          username: body.username,
          passwordHash,
          role: body.role,
          memberId: body.memberId,
        });
        return {
          status: 201,
          body: toUserView(user),
          audit: {
            action: 'auth.user.create',
            targetType: 'user',
            targetId: user.id,
            payload: { username: user.username, role: user.role, fundId: user.fund_id, memberId: user.member_id },
          },
        };
      });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/funds/{fundId}/users',
    operationId: 'listFundUsers',
    summary: 'List the users of this fund',
    tag: TAG,
    permission: 'users.read',
    params: fundIdParams,
    query: listUsersQuery,
    response: { status: 200, description: 'A page of users, by username', schema: pageOf(userView) },
    handler: async ({ query, ctx }) => {
      const fund = fundOf(ctx);
      const after = decodeCursor(query.cursor, userCursor);
      const users = await ctx.app.services.members.listUsers(ctx.app.db, fund, {
        afterUsername: after?.username,
        limit: query.limit + 1,
      });
      return ok(paginate(users, query.limit, toUserView, (user) => ({ username: user.username })));
    },
  }),
];
