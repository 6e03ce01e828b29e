import { z } from 'zod';
import { normalizeUsername, USERNAME_PATTERN } from '../auth/auth.service';
import { PASSWORD_LENGTH_MAX, PASSWORD_LENGTH_MIN } from '../auth/password';
import { ROLES } from '../auth/principal';
import { cursorParam, limitParam } from '../http/pagination';
import { amountOutput, isoDate, timestamp, uuid } from '../http/schemas';
import { AMOUNT_INTEGER_DIGITS_MAX, amountProblem } from '../money/money';
import { creditCodeProblem } from './credit-code';

// ---------------------------------------------------------------------------------------------
// Fields. Lengths repeat the table's CHECK constraints, so bad input is a 400 rather than a
// constraint violation.

export const MEMBER_STATUSES = ['active', 'suspended', 'exited'] as const;
export const ALLIANCE_ROLES = ['lead', 'member'] as const;
export const STATUS_REASON_LENGTH_MAX = 500;

const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max);

/** The registered (Chinese) name: it must contain at least one Han character. */
const memberName = text(200)
  .regex(/\p{Script=Han}/u, 'must be the registered Chinese name (at least one Chinese character)')
  .meta({ example: '福州陶瓷制品有限公司' });

/**
 * Upper-cased at the edge (a code is printed in upper case; a lower-case copy is the same code),
 * then checked against GB 32100-2015: length, charset, digits at 3–8 and the check character.
 */
export const creditCodeInput = z
  .string()
  .max(40)
  .toUpperCase()
  .superRefine((code, ctx) => {
    const problem = creditCodeProblem(code);
    if (problem !== null)
      ctx.addIssue({ code: 'custom', message: `not a valid unified social credit code: ${problem}` });
  })
  .meta({
    description:
      'Unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters, check character last. Lower case is accepted and stored upper-cased.',
    example: '91350100M000100Y43',
  });

/** An amount ≥ 0 with at most 2 decimals, written as a string; never rounded. */
const nonNegativeAmount = z
  .string()
  .max(40)
  .superRefine((value, ctx) => {
    const problem = amountProblem(value);
    if (problem === 'too_many_decimals') ctx.addIssue({ code: 'custom', message: 'must have at most 2 decimals' });
    else if (problem === 'too_large') {
      ctx.addIssue({ code: 'custom', message: `must have at most ${AMOUNT_INTEGER_DIGITS_MAX} integer digits` });
    } else if (problem !== null)
      ctx.addIssue({ code: 'custom', message: 'must be a decimal string such as "500000.00"' });
    else if (value.startsWith('-')) ctx.addIssue({ code: 'custom', message: 'must not be negative' });
  })
  .meta({ description: 'Decimal string ≥ 0 with at most 2 decimals.', example: '500000.00' });

const contactInput = z
  .strictObject({
    name: text(100).optional(),
    phone: z
      .string()
      .trim()
      .regex(/^\+?[0-9][0-9 ()-]{2,39}$/, 'must be a phone number: digits, spaces, "-", "(" and ")", 3–40 characters')
      .max(40)
      .optional(),
    email: z.email('must be an e-mail address').max(254).optional(),
  })
  .meta({ description: 'The enterprise’s contact person.' });

const version = z
  .int()
  .min(1)
  .meta({ description: 'The member version you read; a stale one is a 409 member_version_conflict.' });

// ---------------------------------------------------------------------------------------------
// Requests

export const memberParams = z.strictObject({ fundId: uuid, memberId: uuid });

export const createMemberBody = z
  .strictObject({
    name: memberName,
    nameEn: text(200).optional(),
    creditCode: creditCodeInput,
    legalRepresentative: text(100).optional(),
    contact: contactInput.optional(),
    industry: text(100).optional(),
    allianceRole: z
      .enum(ALLIANCE_ROLES)
      .default('member')
      .meta({ description: 'One lead enterprise per fund (“1+X”); change the lead with PATCH /funds/{fundId}.' }),
    relatedGroup: text(100)
      .optional()
      .meta({ description: 'Enterprises under the same controller share a group name.' }),
    joinedOn: isoDate
      .optional()
      .meta({ description: 'Default today in the fund’s time zone; not in the future nor before the fund began.' }),
    subscribedAmount: nonNegativeAmount.default('0.00').meta({ description: 'Subscribed capital (认缴).' }),
  })
  .meta({
    id: 'CreateMemberRequest',
    example: {
      name: '福州陶瓷制品有限公司',
      creditCode: '91350100M000100Y43',
      legalRepresentative: '林建国',
      contact: { name: '陈红', phone: '0591-87654321', email: 'chen@example.com' },
      industry: '陶瓷制造',
      subscribedAmount: '500000.00',
    },
  });

export const updateMemberBody = z
  .strictObject({
    version: version.optional(),
    name: memberName.optional(),
    nameEn: text(200).nullable().optional(),
    creditCode: creditCodeInput.optional(),
    legalRepresentative: text(100).nullable().optional(),
    contact: contactInput.nullable().optional().meta({ description: 'Replaces the whole contact; null clears it.' }),
    industry: text(100).nullable().optional(),
    allianceRole: z.enum(ALLIANCE_ROLES).optional(),
    relatedGroup: text(100).nullable().optional(),
    subscribedAmount: nonNegativeAmount.optional().meta({ description: 'Not below the paid-in capital.' }),
  })
  .refine(
    (body) => Object.entries(body).some(([field, value]) => field !== 'version' && value !== undefined),
    'name at least one field to change',
  )
  .meta({ id: 'UpdateMemberRequest', example: { version: 3, subscribedAmount: '800000.00' } });

export const memberStatusBody = z
  .strictObject({
    status: z.enum(MEMBER_STATUSES).meta({
      description: 'active or suspended. "exited" is refused here: a member exits through the exit procedure.',
    }),
    reason: text(STATUS_REASON_LENGTH_MAX).meta({ description: 'Why, e.g. the committee resolution.' }),
    version: version.optional(),
  })
  .meta({ id: 'MemberStatusRequest', example: { status: 'suspended', reason: '逾期未缴出资，联席会议决定暂停' } });

export const listMembersQuery = z.strictObject({
  status: z.enum(MEMBER_STATUSES).optional(),
  allianceRole: z.enum(ALLIANCE_ROLES).optional(),
  relatedGroup: z.string().trim().min(1).max(100).optional(),
  q: z.string().trim().min(1).max(100).optional().meta({ description: 'Part of the Chinese or English name.' }),
  limit: limitParam,
  cursor: cursorParam,
});

export const memberCursor = z.object({ name: z.string().min(1).max(200), id: uuid });

const username = z
  .string()
  .max(100)
  .overwrite(normalizeUsername)
  .regex(USERNAME_PATTERN, 'must be 2–64 of a–z, 0–9, ".", "_" or "-", starting with a letter or digit')
  .meta({ description: 'Trimmed and lower-cased before it is checked and stored.' });

export const createUserBody = z
  .strictObject({
    username,
    password: z
      .string()
      .min(PASSWORD_LENGTH_MIN, `must be at least ${PASSWORD_LENGTH_MIN} characters`)
      .max(PASSWORD_LENGTH_MAX, `must be at most ${PASSWORD_LENGTH_MAX} characters`)
      .meta({ format: 'password' }),
    role: z.enum(ROLES),
    memberId: uuid.optional().meta({
      description:
        'The enterprise the user acts for: required for member users, optional for committee users, refused for admin and auditor users.',
    }),
  })
  .superRefine((body, ctx) => {
    if (body.role === 'member' && body.memberId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['memberId'], message: 'a member user must be bound to a member' });
    }
    if ((body.role === 'admin' || body.role === 'auditor') && body.memberId !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['memberId'], message: `a ${body.role} user is not bound to a member` });
    }
  })
  .meta({
    id: 'CreateUserRequest',
    example: {
      username: 'chen.hong',
      password: 'a long passphrase',
      role: 'member',
      memberId: '0b8f5a43-2c55-4f0e-9a51-3f2d6c1e7a90',
    },
  });

export const listUsersQuery = z.strictObject({ limit: limitParam, cursor: cursorParam });
export const userCursor = z.object({ username: z.string().regex(USERNAME_PATTERN) });

// ---------------------------------------------------------------------------------------------
// Responses

export const memberView = z
  .object({
    id: uuid,
    fundId: uuid,
    name: z.string(),
    nameEn: z.string().nullable(),
    creditCode: z.string().nullable().meta({ description: 'Null only for members registered before this field.' }),
    legalRepresentative: z.string().nullable(),
    contact: z.object({ name: z.string().nullable(), phone: z.string().nullable(), email: z.string().nullable() }),
    industry: z.string().nullable(),
    allianceRole: z.enum(ALLIANCE_ROLES),
    relatedGroup: z.string().nullable(),
    joinedOn: isoDate,
    status: z.enum(MEMBER_STATUSES),
    statusReason: z.string().nullable(),
    statusChangedAt: timestamp.nullable(),
    subscribedAmount: amountOutput.meta({ description: 'Subscribed capital (认缴).' }),
    paidInAmount: amountOutput.meta({ description: 'Paid-in capital (实缴): the balance of account 3001:<member>.' }),
    flags: z.object({
      overdueCapitalCall: z.boolean().meta({ description: 'A capital call due before today is not fully paid.' }),
    }),
    version: z.int(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Member' });

export const userView = z
  .object({
    id: uuid,
    username: z.string(),
    role: z.enum(ROLES),
    fundId: uuid.nullable(),
    memberId: uuid.nullable(),
    disabled: z.boolean(),
    createdAt: timestamp,
  })
  .meta({ id: 'FundUser' });

export type CreateMemberInput = z.output<typeof createMemberBody>;
export type UpdateMemberInput = z.output<typeof updateMemberBody>;
export type MemberStatusInput = z.output<typeof memberStatusBody>;
export type CreateUserInput = z.output<typeof createUserBody>;
export type MemberView = z.input<typeof memberView>;
export type UserViewBody = z.input<typeof userView>;
