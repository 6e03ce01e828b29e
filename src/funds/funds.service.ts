import type { Clock } from '../clock';
import type { Db, Trx } from '../db/knex';
import * as auditRepo from '../audit/audit.repo';
import { authError } from '../auth/auth.errors';
import { canSeeFund } from '../auth/permissions';
import type { Actor, Principal } from '../auth/principal';
import type { LedgerService } from '../ledger/ledger.service';
import type { Currency } from '../money/money';
import * as repo from './funds.repo';

export interface Fund {
  id: string;
  name: string;
  currency: string;
  timezone: string;
  policy: Record<string, unknown>;
  createdAt: Date;
  createdBy: string | null;
}

export function toFund(row: repo.FundRow): Fund {
  return {
    id: row.id,
    name: row.name,
    currency: row.currency,
    timezone: row.timezone,
    policy: row.policy,
    createdAt: row.created_at,
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
  policy: Record<string, unknown>;
}

export class FundService {
  constructor(
    private readonly ledger: LedgerService,
    readonly clock: Clock,
  ) {}

  /** A fund with its chart of accounts and an empty audit chain, in the caller's transaction. */
  async create(trx: Trx, input: NewFund, actor: Actor): Promise<Fund> {
    const row = await repo.insertFund(trx, {
      name: input.name,
      currency: input.currency,
      timezone: input.timezone,
      policy: input.policy,
      created_by: actor.userId,
    });
    await auditRepo.createChain(trx, row.id);
    await this.ledger.createChartOfAccounts(trx, row.id, input.currency);
    return toFund(row);
  }

  async list(db: Db, principal: Principal, page: { afterId?: string | undefined; limit: number }): Promise<Fund[]> {
    const rows = await repo.listFunds(db, {
      onlyId: principal.fundId ?? undefined,
      afterId: page.afterId,
      limit: page.limit,
    });
    return rows.map(toFund);
  }
}
