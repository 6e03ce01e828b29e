import type { Knex } from 'knex';
import * as foundation from './20261121000100_foundation';
import * as capital from './20261122000100_capital';
import * as loanApplications from './20261123000100_loan_applications';
import * as committee from './20261124000100_committee';
import * as disbursements from './20261124000200_disbursements';
import * as dailyJob from './20261125000100_daily_job';
import * as repayments from './20261125000200_repayments';
import * as loanExtensions from './20261126000100_loan_extensions';
import * as periodInterest from './20261126000200_period_interest';
import * as accrualDays from './20261127000100_accrual_days';
import * as guaranteeCircles from './20261127000200_guarantee_circles';
import * as motions from './20261128000100_motions';
import * as jointGroups from './20261128000200_joint_groups';
import * as bankLoans from './20261128000300_bank_loans';
import * as recovery from './20261128000400_recovery';
import * as updateHeavyTables from './20261129000100_update_heavy_tables';
import * as entryCheckLookups from './20261130000100_entry_check_lookups';
import * as guaranteeCapacityShare from './20261203000100_guarantee_capacity_share';
import * as policyDecisions from './20261203000200_policy_decisions';
import * as guardChainHeadsAndIdempotencyKeys from './20261203000300_guard_chain_heads_and_idempotency_keys';
import * as recoveryWaivers from './20261203000400_recovery_waivers';
import * as auditRequestIndex from './20261204000100_audit_request_index';

/**
 * Every migration, in order. Listed by hand so that the same list runs from TypeScript (tests,
 * tsx) and from the compiled build; a test checks that no file in this folder is missing here.
 * A merged migration is never edited: change the schema with a new one.
 */
export const MIGRATIONS: readonly { name: string; module: Knex.Migration }[] = [
  { name: '20261121000100_foundation', module: foundation },
  { name: '20261122000100_capital', module: capital },
  { name: '20261123000100_loan_applications', module: loanApplications },
  { name: '20261124000100_committee', module: committee },
  { name: '20261124000200_disbursements', module: disbursements },
  { name: '20261125000100_daily_job', module: dailyJob },
  { name: '20261125000200_repayments', module: repayments },
  { name: '20261126000100_loan_extensions', module: loanExtensions },
  { name: '20261126000200_period_interest', module: periodInterest },
  { name: '20261127000100_accrual_days', module: accrualDays },
  { name: '20261127000200_guarantee_circles', module: guaranteeCircles },
  { name: '20261128000100_motions', module: motions },
  { name: '20261128000200_joint_groups', module: jointGroups },
  { name: '20261128000300_bank_loans', module: bankLoans },
  { name: '20261128000400_recovery', module: recovery },
  { name: '20261129000100_update_heavy_tables', module: updateHeavyTables },
  { name: '20261130000100_entry_check_lookups', module: entryCheckLookups },
  { name: '20261203000100_guarantee_capacity_share', module: guaranteeCapacityShare },
  { name: '20261203000200_policy_decisions', module: policyDecisions },
  { name: '20261203000300_guard_chain_heads_and_idempotency_keys', module: guardChainHeadsAndIdempotencyKeys },
  { name: '20261203000400_recovery_waivers', module: recoveryWaivers },
  { name: '20261204000100_audit_request_index', module: auditRequestIndex },
];
