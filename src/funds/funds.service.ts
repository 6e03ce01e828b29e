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
import {
  policyAsOf,
  policySchema,
  type FundPolicy,
  type PolicyDecision,
  type PolicyInput,
  type PolicyOrigins,
} from './policy';

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
  /** The decision that opens this version; null on versions written before decisions were kept. */
  decision: number | null;
  /** The decision whose recording wrote this version; null as above. */
  recordedWith: number | null;
  /** The later version written for the same date, in force instead of this one. */
  supersededBy: number | null;
  /** Field path → the decision that set it; null as above. */
  setBy: PolicyOrigins | null;
  createdBy: string | null;
  createdAt: Date;
}

/** A recorded policy decision: its own version, and the scheduled versions restated to carry it. */
export interface RecordedPolicyChange {
  decision: number;
  version: PolicyVersion;
  restated: PolicyVersion[];
}

/** A decision as the service applies it: the pure fields and the reason its versions carry. */
interface RecordedDecision extends PolicyDecision {
  reason: string | null;
}

const ESTABLISHMENT_REASON = 'Policy at the fund’s establishment';

export interface PolicyChange {
  effectiveDate: string;
  reason: string;
  change: Record<string, unknown>;
}

function toPolicyVersion(row: repo.PolicyVersionReadRow): PolicyVersion {
  // Stored versions were validated when written; parsing again fills defaults added since.
  return {
    version: row.version,
    effectiveDate: row.effective_date,
    policy: policySchema.parse(row.policy),
    reason: row.reason,
    decision: row.decision,
    recordedWith: row.recorded_with,
    supersededBy: row.superseded_by,
    setBy: row.set_by,
    createdBy: row.created_by,
    createdAt: row.created_at,
  };
}

function decisionColumns(decision: RecordedDecision) {
  return {
    decision: decision.decision,
    effective_date: decision.effectiveDate,
    changes: decision.changes,
    reason: decision.reason,
  };
}

function toDecision(row: repo.PolicyDecisionRow): RecordedDecision {
  return { decision: row.decision, effectiveDate: row.effective_date, changes: row.changes, reason: row.reason };
}

/**
 * The versions recording `recorded` writes, each validated before any is written: one from its own
 * date, and one for every later date a decision is scheduled on, restated so that it carries the
 * new decision wherever no decision dated after it changes the same field. Ascending by date.
 */
function versionsFor(
  decisions: readonly RecordedDecision[],
  recorded: RecordedDecision,
): Omit<repo.NewPolicyVersionRow, 'fund_id' | 'version' | 'created_by'>[] {
  const later = decisions.filter((decision) => decision.effectiveDate > recorded.effectiveDate);
  const dates = [recorded.effectiveDate, ...new Set(later.map((decision) => decision.effectiveDate))].sort();
  return dates.map((date) => {
    const { policy, setBy } = policyAsOf(decisions, date);
    const result = policySchema.safeParse(policy);
    if (!result.success) {
      const detail =
        date === recorded.effectiveDate
          ? 'The policy this change would produce breaks a rule; nothing was changed.'
          : `Carried into the policy scheduled from ${date}, this change would break a rule there; nothing was changed.`;
      throw fundError('policy_invalid', detail, { effectiveDate: date, errors: issuesOf(result.error) });
    }
    // The version's own decision: the last recorded of those dated on its date.
    const opening = decisions
      .filter((decision) => decision.effectiveDate === date)
      .reduce((last, decision) => (decision.decision > last.decision ? decision : last));
    return {
      effective_date: date,
      policy: result.data,
      reason: opening.reason,
      decision: opening.decision,
      recorded_with: recorded.decision,
      set_by: setBy,
    };
  });
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
    // The establishment is decision 1: it sets every field, defaults included.
    const establishment: RecordedDecision = {
      decision: 1,
      effectiveDate: establishedOn,
      changes: policySchema.parse(input.policy),
      reason: ESTABLISHMENT_REASON,
    };
    const [first] = versionsFor([establishment], establishment);
    assert(first, 'a decision writes at least its own version');
    await repo.insertPolicyDecision(trx, {
      fund_id: row.id,
      ...decisionColumns(establishment),
      created_by: actor.userId,
    });
    const policy = await repo.insertPolicyVersion(trx, {
      fund_id: row.id,
      version: 1,
      ...first,
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
   * Records a decision: some fields, from a date (today or later: a past date would rewrite the
   * rules decisions were already taken under). It writes the policy from its date and restates
   * every version scheduled after it, so each field keeps the latest decision dated on or before the
   * day, whichever order they were recorded in. Versions in force are never written again: a loan
   * keeps reading the version it was approved under. Numbered under the fund's row lock.
   */
  async changePolicy(trx: Trx, fund: Fund, input: PolicyChange, actor: Actor): Promise<RecordedPolicyChange> {
    const today = this.today(fund);
    if (input.effectiveDate < today) {
      throw fundError(
        'policy_effective_date_past',
        `A policy change takes effect today (${today}) or later, not on ${input.effectiveDate}.`,
        { effectiveDate: input.effectiveDate, today },
      );
    }
    await repo.lockFund(trx, fund.id);
    const earlier = (await repo.policyDecisions(trx, fund.id)).map(toDecision);
    if (!earlier.some((decision) => decision.effectiveDate <= input.effectiveDate)) {
      throw fundError('policy_not_in_force', `No policy version of this fund was in force on ${input.effectiveDate}.`, {
        asOf: input.effectiveDate,
      });
    }
    const recorded: RecordedDecision = {
      decision: Math.max(...earlier.map((decision) => decision.decision)) + 1,
      effectiveDate: input.effectiveDate,
      changes: input.change,
      reason: input.reason,
    };
    const versions = versionsFor([...earlier, recorded], recorded);
    assert(
      versions.slice(1).every((version) => version.effective_date > today),
      'only versions not yet in force are restated',
    );
    await repo.insertPolicyDecision(trx, { fund_id: fund.id, ...decisionColumns(recorded), created_by: actor.userId });
    let number = await repo.latestPolicyVersion(trx, fund.id);
    const written: PolicyVersion[] = [];
    for (const version of versions) {
      number += 1;
      const row = await repo.insertPolicyVersion(trx, {
        fund_id: fund.id,
        version: number,
        ...version,
        created_by: actor.userId,
      });
      written.push(toPolicyVersion(row));
    }
    const [own, ...restated] = written;
    assert(own, 'a decision writes at least its own version');
    return { decision: recorded.decision, version: own, restated };
  }
}
