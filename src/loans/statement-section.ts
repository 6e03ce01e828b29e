import type { StatementSectionProvider } from '../capital/capital.service';
import { formatAmount, Money } from '../money/money';
import { claimsOfMember } from '../recovery/recovery.repo';
import { bankFieldOf } from './bank-loans.terms';

interface LoanLine {
  loan_id: string;
  number: number;
  lender: 'pool' | 'peer' | 'bank';
  role: 'borrower' | 'peer_lender';
  bank_name: string | null;
  bank_contract_number: string | null;
  bank_rate_annual: string | null;
  bank_start_on: string | null;
  bank_maturity_on: string | null;
  status: string;
  amount: string;
  disbursed_on: string | null;
  maturity_date: string | null;
  principal_outstanding: string;
}

interface GuaranteeLine {
  guarantee_id: string;
  loan_id: string;
  number: number;
  borrower_member_id: string;
  guarantee_type: 'joint_and_several' | 'general';
  status: string;
  amount: string;
}

/**
 * The loans and guarantees part of a member statement: every loan the member borrows or lends
 * (peer) that was submitted by the statement's last day, with its principal outstanding at the end
 * of that day (postings on 1201:<loan>, or 7101:<loan> for a peer loan and 7201:<loan> for a bank
 * loan, with the bank's contract, dated up to it), and every
 * guarantee it gave on such a loan. Two set-based queries, whatever the number of loans.
 */
export const loanStatementSection: StatementSectionProvider = async (db, { fundId, memberId, to }) => {
  const loans = await db.raw<{ rows: LoanLine[] }>(
    `SELECT l.id AS loan_id, l.number, l.lender,
            CASE WHEN l.borrower_member_id = ? THEN 'borrower' ELSE 'peer_lender' END AS role,
            l.status, l.amount::text AS amount, l.disbursed_on, l.maturity_date, l.bank_name,
            l.bank_contract_number, l.bank_rate_annual::text AS bank_rate_annual, l.bank_start_on, l.bank_maturity_on,
            coalesce((SELECT sum(CASE p.side WHEN 'debit' THEN p.amount ELSE -p.amount END)
                        FROM postings p JOIN accounts a ON a.id = p.account_id
                       WHERE a.fund_id = l.fund_id AND a.loan_id = l.id AND a.base_code IN ('1201', '7101', '7201')
                         AND p.effective_date <= ?::date), 0)::text AS principal_outstanding
       FROM loans l JOIN funds f ON f.id = l.fund_id
      WHERE l.fund_id = ? AND (l.borrower_member_id = ? OR l.peer_lender_member_id = ?)
        AND l.submitted_at IS NOT NULL AND (l.submitted_at AT TIME ZONE f.timezone)::date <= ?::date
      ORDER BY l.number`,
    [memberId, to, fundId, memberId, memberId, to],
  );
  const guarantees = await db.raw<{ rows: GuaranteeLine[] }>(
    `SELECT g.id AS guarantee_id, l.id AS loan_id, l.number, l.borrower_member_id, g.type AS guarantee_type, g.status,
            g.amount::text AS amount
       FROM loan_guarantees g JOIN loans l ON l.id = g.loan_id JOIN funds f ON f.id = l.fund_id
      WHERE g.fund_id = ? AND g.guarantor_member_id = ?
        AND l.submitted_at IS NOT NULL AND (l.submitted_at AT TIME ZONE f.timezone)::date <= ?::date
      ORDER BY l.number`,
    [fundId, memberId, to],
  );
  return {
    loans: loans.rows.map((row) => ({
      loanId: row.loan_id,
      number: row.number,
      lender: row.lender,
      role: row.role,
      status: row.status,
      amount: formatAmount(new Money(row.amount)),
      disbursedOn: row.disbursed_on,
      maturityDate: row.maturity_date,
      ...bankFieldOf(row),
      principalOutstanding: formatAmount(new Money(row.principal_outstanding)),
    })),
    guarantees: guarantees.rows.map((row) => ({
      guaranteeId: row.guarantee_id,
      loanId: row.loan_id,
      loanNumber: row.number,
      borrowerMemberId: row.borrower_member_id,
      type: row.guarantee_type,
      status: row.status,
      amount: formatAmount(new Money(row.amount)),
    })),
    // Subrogated claims from recovery calls the member paid, or that others paid for its loans.
    subrogatedClaims: (await claimsOfMember(db, fundId, memberId, to)).map((row) => ({
      caseId: row.case_id,
      caseNumber: row.case_number,
      loanId: row.loan_id,
      loanNumber: row.loan_number,
      guarantorMemberId: row.guarantor_member_id,
      borrowerMemberId: row.borrower_member_id,
      amount: formatAmount(new Money(row.amount)),
    })),
  };
};
