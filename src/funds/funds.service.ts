import { z } from 'zod';
import { assert } from '../assert';
import type { Clock } from '../clock';
import { dateIn } from '../clock';
import type { Db, Trx } from '../db/knex';
import * as auditRepo from '../audit/audit.repo';
import { authError } from '../auth/auth.errors';
import { canSeeFund } from '../auth/permissions';
import type { Actor, Principal } from '../auth/principal';
import type { LedgerService } from '../ledger/ledger.service';
import type { Currency } from '../money/money';
import type { FieldError } from '../http/validation';
import { findMember } from '../members/members.repo';
import { fundError } from './funds.errors';
import * as repo from './funds.repo';
import { amendPolicy, policySchema, type FundPolicy, type PolicyInput } from './policy';

export interface Fund {
  id: string;
  name: string;
  currency: string;
  timezone: string;
  allianceName: string | null;
  establishedOn: string;
  closedThrough: string | null;
  createdAt: Date;
  createdBy: string | null;
}

export function toFund(row: repo.FundRow): Fund {
  return {
    id: row.id,
    name: row.name,
    currency: row.currency,
    timezone: row.timezone,
    allianceName: row.alliance_name,
    establishedOn: row.established_on,
    closedThrough: row.closed_through,
    createdAt: row.created_at instanceof Date ? row.created_at : new Date(row.created_at),
    createdBy: row.created_by,
  };
}

/** The fund if the principal may see it; a missing fund and a hidden one look the same. */
export function visibleFund(principal: Principal, fundId: string, row: repo.FundRow | undefined): Fund {
  if (!row || !canSeeFund(principal, fundId)) {
    throw authError('fund_not_found', `Fund ${fundId} does not exist or is not yours to see.`);
  }
  return toFund(row);
}

export interface NewFund {
  name: string;
  currency: Currency;
  timezone: string;
  allianceName?: string | undefined;
  /** The day the fund started; its first policy version is in force from then. Default: today. */
  establishedOn?: string | undefined;
  policy: PolicyInput;
}

export interface FundChanges {
  name?: string | undefined;
  allianceName?: string | null | undefined;
  leadMemberId?: string | undefined;
}

export interface PolicyVersion {
  version: number;
  effectiveDate: string;
  policy: FundPolicy;
  reason: string | null;
  createdBy: string | null;
  createdAt: Date;
}

export interface PolicyChange {
  effectiveDate: string;
  reason: string;
  change: Record<string, unknown>;
}

function toPolicyVersion(row: repo.PolicyVersionRow): PolicyVersion {
  // Stored versions were validated when written; parsing again fills defaults added since.
  return {
    version: row.version,
    effectiveDate: row.effective_date,
    policy: policySchema.parse(row.policy),
    reason: row.reason,
    createdBy: row.created_by,
    createdAt: row.created_at,
  };
}

/** zod issues as the problem document's `errors` member, in the shape validation failures use. */
function issuesOf(error: z.ZodError): FieldError[] {
  return error.issues.slice(0, 50).map((issue) => ({
    in: 'body',
    pointer: ['/policy', ...issue.path.map((part) => `/${String(part).replace(/~/g, '~0').replace(/\//g, '~1')}`)].join(
      '',
    ),
    message: issue.message,
  }));
}

export class FundService {
  constructor(
    private readonly ledger: LedgerService,
    readonly clock: Clock,
  ) {}

  today(fund: Pick<Fund, 'timezone'>): string {
    return dateIn(fund.timezone, this.clock.now());
  }

  /** A fund with its chart of accounts, its first policy version and an empty audit chain. */
  async create(trx: Trx, input: NewFund, actor: Actor): Promise<Fund & { policy: PolicyVersion }> {
    const today = dateIn(input.timezone, this.clock.now());
    const establishedOn = input.establishedOn ?? today;
    if (establishedOn > today) {
      throw fundError('established_on_in_future', `A fund cannot be established after today (${today}).`, {
        establishedOn,
        today,
      });
    }
    const row = await repo.insertFund(trx, {
      name: input.name,
      currency: input.currency,
      timezone: input.timezone,
      alliance_name: input.allianceName ?? null,
      established_on: establishedOn,
      created_by: actor.userId,
    });
    const policy = await repo.insertPolicyVersion(trx, {
      fund_id: row.id,
      version: 1,
      effective_date: establishedOn,
      policy: policySchema.parse(input.policy),
      reason: 'Policy at the fund’s establishment',
      created_by: actor.userId,
    });
    await auditRepo.createChain(trx, row.id);
    await this.ledger.createChartOfAccounts(trx, row.id, input.currency);
    return { ...toFund(row), policy: toPolicyVersion(policy) };
  }

  async list(db: Db, principal: Principal, page: { afterId?: string | undefined; limit: number }): Promise<Fund[]> {
    const rows = await repo.listFunds(db, {
      onlyId: principal.fundId ?? undefined,
      afterId: page.afterId,
      limit: page.limit,
    });
    return rows.map(toFund);
  }

  /** Name, alliance name and lead enterprise. Returns the fund and the lead it replaced, if any. */
  async update(
    trx: Trx,
    fund: Fund,
    changes: FundChanges,
  ): Promise<{ fund: Fund; replacedLeadMemberId: string | null }> {
    await repo.lockFund(trx, fund.id);
    let replacedLeadMemberId: string | null = null;
    if (changes.leadMemberId !== undefined) {
      const member = await findMember(trx, fund.id, changes.leadMemberId);
      if (!member) {
        throw fundError('member_not_found', `Member ${changes.leadMemberId} does not exist in this fund.`);
      }
      if (member.status !== 'active') {
        throw fundError(
          'lead_member_not_active',
          `Member ${member.name} is ${member.status}; a lead enterprise must be active.`,
          {
            memberId: member.id,
            memberStatus: member.status,
          },
        );
      }
      replacedLeadMemberId = await repo.setLeadMember(trx, fund.id, member.id);
    }
    const columns = {
      ...(changes.name === undefined ? {} : { name: changes.name }),
      ...(changes.allianceName === undefined ? {} : { alliance_name: changes.allianceName }),
    };
    const row =
      Object.keys(columns).length > 0
        ? await repo.updateFund(trx, fund.id, columns)
        : await repo.lockFund(trx, fund.id);
    assert(row, `fund ${fund.id} vanished while locked`);
    return { fund: toFund(row), replacedLeadMemberId };
  }

  leadMemberId(db: Db, fundId: string): Promise<string | null> {
    return repo.leadMemberId(db, fundId);
  }

  /** The policy in force on a day (default: today in the fund's time zone). */
  async policyInForce(db: Db, fund: Pick<Fund, 'id' | 'timezone'>, asOf?: string): Promise<PolicyVersion> {
    const date = asOf ?? this.today(fund);
    const row = await repo.policyVersionInForce(db, fund.id, date);
    if (!row) {
      throw fundError('policy_not_in_force', `No policy version of this fund was in force on ${date}.`, { asOf: date });
    }
    return toPolicyVersion(row);
  }

  async policyVersions(
    db: Db,
    fundId: string,
    page: { beforeVersion?: number | undefined; limit: number },
  ): Promise<PolicyVersion[]> {
    return (await repo.listPolicyVersions(db, fundId, page)).map(toPolicyVersion);
  }

  /**
   * A new policy version: the change applied to the version in force on its effective date (or,
   * before the first version, to the first). Effective today or later: a past date would rewrite
   * the rules decisions were already taken under. Versions are numbered under the fund's row lock.
   */
  async changePolicy(trx: Trx, fund: Fund, input: PolicyChange, actor: Actor): Promise<PolicyVersion> {
    const today = this.today(fund);
    if (input.effectiveDate < today) {
      throw fundError(
        'policy_effective_date_past',
        `A policy change takes effect today (${today}) or later, not on ${input.effectiveDate}.`,
        { effectiveDate: input.effectiveDate, today },
      );
    }
    await repo.lockFund(trx, fund.id);
    const base = await this.policyInForce(trx, fund, input.effectiveDate);
    const result = policySchema.safeParse(amendPolicy(base.policy, input.change));
    if (!result.success) {
      throw fundError('policy_invalid', 'The policy this change would produce breaks a rule; nothing was changed.', {
        errors: issuesOf(result.error),
      });
    }
    const version = (await repo.latestPolicyVersion(trx, fund.id)) + 1;
    const row = await repo.insertPolicyVersion(trx, {
      fund_id: fund.id,
      version,
      effective_date: input.effectiveDate,
      policy: result.data,
      reason: input.reason,
      created_by: actor.userId,
    });
    return toPolicyVersion(row);
  }
}
