import { isDeepStrictEqual } from 'node:util';
import type { AuditService } from '../audit/audit.service';
import { authError } from '../auth/auth.errors';
import type { Clock } from '../clock';
import type { Db, Trx } from '../db/knex';
import { lockFund } from '../funds/funds.repo';
import type { Fund, FundService } from '../funds/funds.service';
import type { LedgerService } from '../ledger/ledger.service';
import { formatAmount, Money, parseAmount } from '../money/money';
import { insertUser } from '../auth/users.repo';
import { memberError } from './members.errors';
import * as repo from './members.repo';
import type { CreateMemberInput, CreateUserInput, MemberStatusInput, UpdateMemberInput } from './members.schemas';
import { detailsOf, type MemberDetails, type MemberWithCapital } from './members.views';

export interface MemberServiceDeps {
  ledger: LedgerService;
  audit: AuditService;
  funds: FundService;
  clock: Clock;
}

/** One changed field of a member, as the audit log records it. */
export interface FieldChange {
  before: unknown;
  after: unknown;
}

export type MemberChanges = Partial<Record<keyof MemberDetails, FieldChange>>;

export interface MemberFilter {
  /** Set for member users: they see their own enterprise only. */
  onlyId?: string | undefined;
  status?: repo.MemberStatus | undefined;
  allianceRole?: repo.AllianceRole | undefined;
  relatedGroup?: string | undefined;
  nameContains?: string | undefined;
  after?: { name: string; id: string } | undefined;
  limit: number;
}

/** A user to create in a fund; the password arrives already hashed, so it never enters this layer. */
export interface NewFundUser {
  username: string;
  passwordHash: string;
  role: CreateUserInput['role'];
  memberId?: string | undefined;
}

/**
 * The member register: enterprises, their identity (credit code), their place in the alliance
 * (one lead per fund), their status and subscribed capital, and the users that act for them.
 * Every write runs in the caller's transaction (runCommand), which also writes the audit row.
 */
export class MemberService {
  constructor(readonly deps: MemberServiceDeps) {}

  async create(trx: Trx, fund: Fund, input: CreateMemberInput): Promise<MemberWithCapital> {
    const joinedOn = input.joinedOn ?? this.deps.funds.today(fund);
    this.checkJoinedOn(fund, joinedOn);
    if (input.allianceRole === 'lead') await this.refuseSecondLead(trx, fund, undefined);
    await refuseTakenCreditCode(trx, fund.id, input.creditCode, undefined);
    const now = this.deps.clock.now();
    const row = await withUniqueRefusals(() =>
      repo.insertMember(trx, {
        fund_id: fund.id,
        name: input.name,
        name_en: input.nameEn ?? null,
        credit_code: input.creditCode,
        legal_representative: input.legalRepresentative ?? null,
        ...contactColumns(input.contact),
        industry: input.industry ?? null,
        alliance_role: input.allianceRole,
        related_group: input.relatedGroup ?? null,
        joined_on: joinedOn,
        subscribed_amount: formatAmount(parseAmount(input.subscribedAmount)),
        created_at: now,
        updated_at: now,
      }),
    );
    return (await this.withCapital(trx, fund, [row]))[0]!;
  }

  async list(db: Db, fund: Fund, filter: MemberFilter): Promise<MemberWithCapital[]> {
    return this.withCapital(db, fund, await repo.listMembers(db, fund.id, filter));
  }

  /** One member; for member users (`onlyId`), any other member does not exist. */
  /** How many members the fund had on `date` and their subscribed capital (members.repo subscribedOn). */
  async subscribedOn(db: Db, fund: Fund, date: string): Promise<{ members: number; subscribed: Money }> {
    const row = await repo.subscribedOn(db, fund.id, date);
    return { members: row.members, subscribed: new Money(row.subscribed) };
  }

  async get(db: Db, fund: Fund, memberId: string, onlyId?: string): Promise<MemberWithCapital> {
    const row = onlyId !== undefined && onlyId !== memberId ? undefined : await repo.findMember(db, fund.id, memberId);
    if (!row) throw notFound(memberId);
    return (await this.withCapital(db, fund, [row]))[0]!;
  }

  /**
   * Edits a member's details under its row lock. `version`, when given, must be the current one.
   * Returns the member and the fields that changed (none: the row and its version are untouched).
   */
  async update(
    trx: Trx,
    fund: Fund,
    memberId: string,
    input: UpdateMemberInput,
  ): Promise<{ member: MemberWithCapital; changes: MemberChanges }> {
    // The fund's row first, as PATCH /funds/{fundId} takes it before it swaps leads.
    if (input.allianceRole === 'lead') await lockFund(trx, fund.id);
    const row = await this.lockEditable(trx, fund, memberId, input.version);
    const changes = diff(detailsOf(row), input);
    if (changes.allianceRole?.after === 'lead') {
      if (row.status !== 'active') {
        throw memberError(
          'lead_member_not_active',
          `Member ${row.name} is ${row.status}; a lead enterprise must be active.`,
          {
            memberId: row.id,
            status: row.status,
          },
        );
      }
      await this.refuseSecondLead(trx, fund, row.id);
    }
    if (changes.creditCode !== undefined) await refuseTakenCreditCode(trx, fund.id, input.creditCode!, row.id);
    if (changes.subscribedAmount !== undefined) await this.refuseBelowPaidIn(trx, fund, row, input.subscribedAmount!);
    if (Object.keys(changes).length === 0) return { member: (await this.withCapital(trx, fund, [row]))[0]!, changes };
    const updated = await withUniqueRefusals(() =>
      repo.updateMember(trx, fund.id, row.id, columnsOf(input, changes), this.deps.clock.now()),
    );
    return { member: (await this.withCapital(trx, fund, [updated]))[0]!, changes };
  }

  /**
   * Suspends or reactivates a member. "exited" is the exit procedure's to set: it settles the
   * member's capital, which a status change alone would not.
   */
  async setStatus(
    trx: Trx,
    fund: Fund,
    memberId: string,
    input: MemberStatusInput,
  ): Promise<{ member: MemberWithCapital; from: repo.MemberStatus }> {
    if (input.status === 'exited') {
      throw memberError(
        'status_not_settable',
        'A member exits through the exit procedure, which settles its capital and sets the status itself; only "active" and "suspended" are set here.',
        { status: input.status },
      );
    }
    const row = await this.lockEditable(trx, fund, memberId, input.version);
    if (row.status === input.status) {
      throw memberError('member_status_unchanged', `Member ${row.name} is already ${row.status}.`, {
        memberId: row.id,
        status: row.status,
      });
    }
    const updated = await repo.updateMember(
      trx,
      fund.id,
      row.id,
      { status: input.status, status_reason: input.reason, status_changed_at: this.deps.clock.now() },
      this.deps.clock.now(),
    );
    return { member: (await this.withCapital(trx, fund, [updated]))[0]!, from: row.status };
  }

  /**
   * A user of this fund, written in the caller's transaction so that it commits with its audit
   * row. A bound member must be of this fund and not have exited; its row is locked so an exit
   * cannot slip in between.
   */
  async createUser(trx: Trx, fund: Fund, input: NewFundUser): Promise<repo.FundUserRow> {
    if (input.memberId !== undefined) {
      const member = await repo.lockMember(trx, fund.id, input.memberId);
      if (!member) throw notFound(input.memberId);
      if (member.status === 'exited') throw exited(member);
    }
    const row = await insertUser(trx, {
      username: input.username,
      password_hash: input.passwordHash,
      role: input.role,
      fund_id: fund.id,
      member_id: input.memberId ?? null,
    });
    if (!row) throw authError('username_taken', `The username ${input.username} is taken.`);
    return {
      id: row.id,
      username: row.username,
      role: row.role,
      fund_id: row.fund_id,
      member_id: row.member_id,
      disabled: row.disabled,
      created_at: row.created_at,
    };
  }

  listUsers(db: Db, fund: Fund, page: { afterUsername?: string | undefined; limit: number }) {
    return repo.listFundUsers(db, fund.id, page);
  }

  // -------------------------------------------------------------------------------------------

  private checkJoinedOn(fund: Fund, joinedOn: string): void {
    const today = this.deps.funds.today(fund);
    if (joinedOn > today) {
      throw memberError('joined_on_in_future', `A member cannot join after today (${today}).`, { joinedOn, today });
    }
    if (joinedOn < fund.establishedOn) {
      throw memberError(
        'joined_on_before_fund',
        `A member cannot join before the fund was established (${fund.establishedOn}).`,
        { joinedOn, establishedOn: fund.establishedOn },
      );
    }
  }

  /** The member locked for a change: it must exist, not have exited, and be at `version` if given. */
  private async lockEditable(
    trx: Trx,
    fund: Fund,
    memberId: string,
    version: number | undefined,
  ): Promise<repo.MemberRow> {
    const row = await repo.lockMember(trx, fund.id, memberId);
    if (!row) throw notFound(memberId);
    if (row.status === 'exited') throw exited(row);
    if (version !== undefined && version !== row.version) {
      throw memberError(
        'member_version_conflict',
        `Member ${row.name} is at version ${row.version}, not ${version}: read it again and reapply your change.`,
        { memberId: row.id, currentVersion: row.version, yourVersion: version },
      );
    }
    return row;
  }

  /** Under the fund's row lock, which PATCH /funds/{fundId} also takes to swap leads. */
  private async refuseSecondLead(trx: Trx, fund: Fund, self: string | undefined): Promise<void> {
    await lockFund(trx, fund.id);
    const lead = await repo.findLeadMember(trx, fund.id);
    if (lead && lead.id !== self) {
      throw memberError(
        'lead_member_exists',
        `${lead.name} is this fund’s lead enterprise; make another member the lead with PATCH /funds/{fundId} (leadMemberId).`,
        { leadMemberId: lead.id, leadMemberName: lead.name },
      );
    }
  }

  /** Paid-in is read under the member's row lock, on which contributions queue. */
  private async refuseBelowPaidIn(trx: Trx, fund: Fund, row: repo.MemberRow, subscribed: string): Promise<void> {
    const paidIn = new Money((await repo.paidInAmounts(trx, fund.id, [row.id])).get(row.id) ?? '0');
    if (parseAmount(subscribed).lt(paidIn)) {
      throw memberError(
        'subscription_below_paid_in',
        `Member ${row.name} has paid in ${formatAmount(paidIn)}; its subscription cannot be less.`,
        {
          memberId: row.id,
          subscribedAmount: formatAmount(parseAmount(subscribed)),
          paidInAmount: formatAmount(paidIn),
        },
      );
    }
  }

  private async withCapital(db: Db, fund: Fund, rows: readonly repo.MemberRow[]): Promise<MemberWithCapital[]> {
    const ids = rows.map((row) => row.id);
    // Sequential: `db` may be a transaction, whose one connection runs one query at a time.
    const paidIn = await repo.paidInAmounts(db, fund.id, ids);
    const overdue = await repo.membersWithOverdueCalls(db, fund.id, this.deps.funds.today(fund), ids);
    const overdueIds = new Set(overdue.map((item) => item.memberId));
    return rows.map((row) => ({
      row,
      paidIn: paidIn.get(row.id) ?? '0',
      overdueCapitalCall: overdueIds.has(row.id),
    }));
  }
}

function notFound(memberId: string) {
  return memberError('member_not_found', `Member ${memberId} does not exist in this fund.`, { memberId });
}

function exited(row: repo.MemberRow) {
  return memberError('member_exited', `Member ${row.name} has exited the fund; its record is closed.`, {
    memberId: row.id,
    status: row.status,
  });
}

async function refuseTakenCreditCode(db: Db, fundId: string, code: string, self: string | undefined): Promise<void> {
  const holder = await repo.findMemberByCreditCode(db, fundId, code);
  if (holder && holder.id !== self) throw creditCodeTaken(code, holder.id);
}

function creditCodeTaken(code: string, holderId?: string) {
  return memberError('credit_code_taken', `Another member of this fund is registered with credit code ${code}.`, {
    creditCode: code,
    ...(holderId === undefined ? {} : { memberId: holderId }),
  });
}

/**
 * The unique indexes still decide between two concurrent requests that both passed the checks:
 * the second waits for the first and then fails here, with the same refusal as the check.
 */
async function withUniqueRefusals<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const index = repo.violatedUniqueIndex(error);
    if (index === repo.MEMBER_CREDIT_CODE_KEY) {
      throw memberError('credit_code_taken', 'Another member of this fund was just registered with this credit code.');
    }
    if (index === repo.MEMBER_ONE_LEAD_KEY) {
      throw memberError('lead_member_exists', 'Another member was just made this fund’s lead enterprise.');
    }
    throw error;
  }
}

function contactColumns(contact: CreateMemberInput['contact'] | null | undefined) {
  return {
    contact_name: contact?.name ?? null,
    contact_phone: contact?.phone ?? null,
    contact_email: contact?.email ?? null,
  };
}

/** The fields of `input` whose value differs from the member's, with before and after. */
function diff(current: MemberDetails, input: UpdateMemberInput): MemberChanges {
  const next: Partial<MemberDetails> = {};
  if (input.name !== undefined) next.name = input.name;
  if (input.nameEn !== undefined) next.nameEn = input.nameEn;
  if (input.creditCode !== undefined) next.creditCode = input.creditCode;
  if (input.legalRepresentative !== undefined) next.legalRepresentative = input.legalRepresentative;
  if (input.contact !== undefined) {
    const columns = contactColumns(input.contact);
    next.contact = { name: columns.contact_name, phone: columns.contact_phone, email: columns.contact_email };
  }
  if (input.industry !== undefined) next.industry = input.industry;
  if (input.allianceRole !== undefined) next.allianceRole = input.allianceRole;
  if (input.relatedGroup !== undefined) next.relatedGroup = input.relatedGroup;
  if (input.subscribedAmount !== undefined) next.subscribedAmount = formatAmount(parseAmount(input.subscribedAmount));
  const changes: MemberChanges = {};
  for (const [field, after] of Object.entries(next) as [keyof MemberDetails, unknown][]) {
    const before = current[field];
    if (!isDeepStrictEqual(before, after)) changes[field] = { before, after };
  }
  return changes;
}

/** The columns to write for the changed fields. */
function columnsOf(input: UpdateMemberInput, changes: MemberChanges): Partial<repo.MemberDetailsColumns> {
  const columns: Partial<repo.MemberDetailsColumns> = {};
  if (changes.name) columns.name = input.name!;
  if (changes.nameEn) columns.name_en = input.nameEn ?? null;
  if (changes.creditCode) columns.credit_code = input.creditCode!;
  if (changes.legalRepresentative) columns.legal_representative = input.legalRepresentative ?? null;
  if (changes.contact) Object.assign(columns, contactColumns(input.contact));
  if (changes.industry) columns.industry = input.industry ?? null;
  if (changes.allianceRole) columns.alliance_role = input.allianceRole!;
  if (changes.relatedGroup) columns.related_group = input.relatedGroup ?? null;
  if (changes.subscribedAmount) columns.subscribed_amount = formatAmount(parseAmount(input.subscribedAmount!));
  return columns;
}
