import { daysBetween } from '../clock';
import { Money } from '../money/money';
import { bankLoanError } from './bank-loans.errors';
import type { BankLenderInput, BankTermsView } from './bank-loans.schemas';
import type { LoanRow } from './loans.repo';

/**
 * The bank contract of a bank loan on the loans row (migration 20261128000300): its columns from
 * an application's lender, back to the lender of the API, and the rule that binds it to the term.
 */

type BankColumns = Pick<
  LoanRow,
  'bank_name' | 'bank_contract_number' | 'bank_rate_annual' | 'bank_start_on' | 'bank_maturity_on'
>;

/** The bank columns of a lender: the contract for a bank, nulls for the pool or a peer. */
export function bankColumns(lender: { type: string } | BankLenderInput): BankColumns {
  if (!isBankLender(lender)) {
    return {
      bank_name: null,
      bank_contract_number: null,
      bank_rate_annual: null,
      bank_start_on: null,
      bank_maturity_on: null,
    };
  }
  return {
    bank_name: lender.bankName,
    bank_contract_number: lender.contractNumber,
    bank_rate_annual: new Money(lender.rateAnnual).toFixed(),
    bank_start_on: lender.startOn,
    bank_maturity_on: lender.maturityOn,
  };
}

function isBankLender(lender: { type: string } | BankLenderInput): lender is BankLenderInput {
  return lender.type === 'bank';
}

/** A loan row's lender and bank columns: all the contract's readers need. */
type WithContract = Pick<LoanRow, 'lender'> & BankColumns;

/** The lender of a stored bank loan, as an application names it. */
export function bankLenderOf(loan: WithContract): BankLenderInput {
  return {
    type: 'bank',
    bankName: loan.bank_name!,
    contractNumber: loan.bank_contract_number!,
    rateAnnual: new Money(loan.bank_rate_annual!).toFixed(),
    startOn: loan.bank_start_on!,
    maturityOn: loan.bank_maturity_on!,
  };
}

/** Whether a stored loan has exactly this bank contract (the guarantors agreed to it). */
export function sameBankContract(loan: LoanRow, lender: BankLenderInput): boolean {
  const next = bankColumns(lender);
  return (
    loan.bank_name === next.bank_name &&
    loan.bank_contract_number === next.bank_contract_number &&
    loan.bank_rate_annual !== null &&
    new Money(loan.bank_rate_annual).eq(next.bank_rate_annual!) &&
    loan.bank_start_on === next.bank_start_on &&
    loan.bank_maturity_on === next.bank_maturity_on
  );
}

/**
 * A bank loan's term is its contract's: the days from start to maturity, which must come after the
 * start. The application states both, so they must agree (the guarantors consent to both).
 */
export function checkBankTerm(lender: { type: string } | BankLenderInput, termDays: number): void {
  if (!isBankLender(lender)) return;
  const days = daysBetween(lender.startOn, lender.maturityOn);
  if (days < 1 || days !== termDays) {
    throw bankLoanError(
      'bank_term_mismatch',
      days < 1
        ? `The contract matures on ${lender.maturityOn}, not after its start on ${lender.startOn}.`
        : `The contract runs ${days} days from ${lender.startOn} to ${lender.maturityOn}; the application says ${termDays}.`,
      { termDays, contractDays: days, startOn: lender.startOn, maturityOn: lender.maturityOn },
    );
  }
}

/** The contract as the views show it; null for the pool and peer loans. */
export function bankTermsOf(loan: WithContract): BankTermsView | null {
  if (loan.lender !== 'bank') return null;
  const lender = bankLenderOf(loan);
  return {
    bankName: lender.bankName,
    contractNumber: lender.contractNumber,
    rateAnnual: lender.rateAnnual,
    startOn: lender.startOn,
    maturityOn: lender.maturityOn,
  };
}

/** The `bank` field of a view: the contract of a bank loan; absent for pool and peer loans. */
export function bankFieldOf(loan: WithContract): { bank?: BankTermsView } {
  const bank = bankTermsOf(loan);
  return bank === null ? {} : { bank };
}

/** A unique violation of the one-registration-per-contract index, as the problem the caller gets. */
export function contractTakenOr(error: unknown, lender: { type: string } | BankLenderInput): unknown {
  const pgError = error as { code?: string; constraint?: string };
  if (pgError.code === '23505' && pgError.constraint === 'loans_bank_contract_key' && isBankLender(lender)) {
    return bankLoanError(
      'bank_contract_taken',
      `Contract ${JSON.stringify(lender.contractNumber)} of ${lender.bankName} is already registered in this fund by another application or loan.`,
      { bankName: lender.bankName, contractNumber: lender.contractNumber },
    );
  }
  return error;
}

/**
 * The drawdown date of a bank loan: as given, by default the contract's start; refused before the
 * start or on or after the maturity (the schedule runs from the drawdown to the maturity).
 */
export function bankDrawdownOn(loan: WithContract, given: string | undefined): string {
  const { startOn, maturityOn } = bankLenderOf(loan);
  const drawnOn = given ?? startOn;
  if (drawnOn < startOn) {
    throw bankLoanError(
      'drawdown_before_contract_start',
      `The drawdown on ${drawnOn} is before the contract's start on ${startOn}.`,
      { disbursedOn: drawnOn, startOn },
    );
  }
  if (drawnOn >= maturityOn) {
    throw bankLoanError(
      'drawdown_not_before_maturity',
      `The drawdown on ${drawnOn} is not before the contract's maturity on ${maturityOn}.`,
      { disbursedOn: drawnOn, maturityOn },
    );
  }
  return drawnOn;
}

/** The schedule terms of a bank loan drawn on `drawnOn`: the bank's rate, the days to the contract's maturity. */
export function bankScheduleTerms(loan: WithContract, drawnOn: string): { rateAnnual: string; termDays: number } {
  const { rateAnnual, maturityOn } = bankLenderOf(loan);
  return { rateAnnual, termDays: daysBetween(drawnOn, maturityOn) };
}
