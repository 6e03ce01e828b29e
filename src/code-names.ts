import type { ITEM_STATUSES, ItemView, VOTES } from './committee/committee.schemas';
import type { MANUAL_ENTRY_KINDS } from './ledger/ledger.schemas';
import type { Classification } from './loans/daily-job.repo';
import type { LENDERS, LOAN_STATUSES, REPAYMENT_METHODS } from './loans/loans.schemas';
import type { ExposureView } from './reports/reports.schemas';

/**
 * The Chinese names of the codes the exports show, one table per code set, in one place, so that
 * every CSV and the Markdown minutes call a code the same (issue 15, point 13). Codes stay what
 * they are — machines and the JSON answers read them — and the name goes **beside** the code:
 *
 *  - CSV: the code's column is unchanged and the next column holds its name, headed
 *    `<中文>中文名 <English> in Chinese`;
 *  - Markdown minutes: the name, then the word the minutes use for the code (`同意 approve`,
 *    `通过 Approved`, `互助金出借 pool`).
 *
 * Each table is a `Record` over its set's type, so a code added to a set does not compile until it
 * has a name; `test/unit/code-names.test.ts` checks every name against the set's runtime list.
 */

type Names<Code extends string> = Readonly<Record<Code, string>>;

/** The five tiers of loan classification (贷款五级分类), best first. */
export const CLASSIFICATION_NAMES: Names<Classification> = {
  normal: '正常',
  special_mention: '关注',
  substandard: '次级',
  doubtful: '可疑',
  loss: '损失',
};

export const LOAN_STATUS_NAMES: Names<(typeof LOAN_STATUSES)[number]> = {
  draft: '草稿',
  submitted: '已提交',
  under_review: '审议中',
  approved: '已批准',
  rejected: '已否决',
  active: '正常还款',
  overdue: '逾期',
  repaid: '已结清',
  defaulted: '违约',
  written_off: '已核销',
  withdrawn: '已撤回',
  cancelled: '已取消',
};

export const LENDER_NAMES: Names<(typeof LENDERS)[number]> = {
  pool: '互助金出借',
  peer: '会员间借贷',
  bank: '银行借款',
};

/** The portfolios of the PAR report: the whole, then one per lender. */
export const PORTFOLIO_NAMES: Names<'all' | (typeof LENDERS)[number]> = { all: '全部', ...LENDER_NAMES };

export const REPAYMENT_METHOD_NAMES: Names<(typeof REPAYMENT_METHODS)[number]> = {
  bullet: '到期一次还本付息',
  equal_installment: '等额本息',
  equal_principal: '等额本金',
};

export const EXPOSURE_SCOPE_NAMES: Names<ExposureView['breaches'][number]['scope']> = {
  member: '会员',
  related_group: '关联集团',
};

export const VOTE_NAMES: Names<(typeof VOTES)[number]> = {
  approve: '同意',
  reject: '反对',
  abstain: '弃权',
};

export const ITEM_STATUS_NAMES: Names<(typeof ITEM_STATUSES)[number]> = {
  open: '待决',
  approved: '通过',
  rejected: '否决',
  ineligible: '表决通过但不符合规则',
  no_quorum: '未达法定人数',
  withdrawn: '决定前撤回',
  ratified: '已追认',
  ratification_failed: '追认未通过',
};

export const ITEM_KIND_NAMES: Names<ItemView['kind']> = {
  application: '借款申请',
  ratification: '紧急借款追认',
  extension: '展期',
  joint_group: '联保小组',
  recovery_action: '追偿处置',
};

/** The rows of a member statement that are not entries. */
export const STATEMENT_ROW_NAMES: Names<'opening_balance' | 'period_totals' | 'closing_balance'> = {
  opening_balance: '期初余额',
  period_totals: '本期合计',
  closing_balance: '期末余额',
};

/**
 * Every kind of journal entry the service posts. The ledger takes any kind that matches its
 * pattern (tests post their own), so this set is not a type the ledger enforces: the unit test
 * reads the source for the kinds posted and fails on one without a name here.
 */
export const ENTRY_KIND_NAMES: Names<
  | (typeof MANUAL_ENTRY_KINDS)[number]
  | 'reversal'
  | 'capital.contribution'
  | 'capital.exit'
  | 'capital.exit_settlement'
  | 'capital.exit_refund'
  | 'loan.disbursement'
  | 'loan.peer_disbursement'
  | 'loan.bank_drawdown'
  | 'loan.service_fee'
  | 'loan.guarantee_activation'
  | 'loan.guarantee_release'
  | 'loan.repayment'
  | 'loan.peer_repayment'
  | 'loan.bank_repayment'
  | 'loan.interest_accrual'
  | 'loan.penalty_accrual'
  | 'loan.accrual_adjustment'
  | 'period.close'
  | 'recovery.guarantor_call'
  | 'recovery.guarantor_payment'
  | 'recovery.subrogation'
  | 'recovery.call_cancelled'
  | 'recovery.capital_offset'
  | 'recovery.write_off'
  | 'recovery.receipt'
  | 'recovery.guarantee_release'
> = {
  'manual.opening_balance': '期初余额录入',
  'manual.bank_charge': '银行手续费',
  'manual.bank_interest': '银行利息收入',
  'manual.adjustment': '调整分录',
  reversal: '冲正',
  'capital.contribution': '实缴出资',
  'capital.exit': '会员退出',
  'capital.exit_settlement': '退出结算',
  'capital.exit_refund': '退出退款',
  'loan.disbursement': '放款',
  'loan.peer_disbursement': '会员间借款登记',
  'loan.bank_drawdown': '银行借款提款登记',
  'loan.service_fee': '服务费',
  'loan.guarantee_activation': '担保生效',
  'loan.guarantee_release': '担保解除',
  'loan.repayment': '还款',
  'loan.peer_repayment': '会员间借款还款',
  'loan.bank_repayment': '银行借款还款登记',
  'loan.interest_accrual': '利息计提',
  'loan.penalty_accrual': '罚息计提',
  'loan.accrual_adjustment': '计提调整',
  'period.close': '期末结转',
  'recovery.guarantor_call': '向担保人追偿',
  'recovery.guarantor_payment': '担保人代偿',
  'recovery.subrogation': '代位追偿权',
  'recovery.call_cancelled': '担保人未履行，转回借款',
  'recovery.capital_offset': '以出资抵扣',
  'recovery.write_off': '核销',
  'recovery.receipt': '核销后收回',
  'recovery.guarantee_release': '结案解除担保',
};

/**
 * The name of a code read as plain text (a database column, a view typed `string`); undefined for
 * a code the table does not have — an export then shows the code alone rather than failing.
 */
export function codeName<Code extends string>(names: Names<Code>, code: string): string | undefined {
  return Object.hasOwn(names, code) ? names[code as Code] : undefined;
}
