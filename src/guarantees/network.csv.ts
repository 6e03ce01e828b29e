import { amountCell, toCsv, type CsvCell } from '../capital/statement.csv';
import type { NetworkView } from './guarantees.schemas';

/**
 * The guarantee network as CSV, one row per edge, with the rules of the member statement (UTF-8
 * with a byte-order mark, CRLF, RFC 4180 quoting, no formula injection; statement.csv.ts).
 */

export const NETWORK_CSV_HEADER = [
  '担保人 Guarantor',
  '担保人名称 Guarantor name',
  '借款人 Borrower',
  '借款人名称 Borrower name',
  '担保余额 Amount outstanding',
  '借款 Loans',
  '互保圈 In a circle',
  '已标记 Flagged',
  '联保小组 Joint groups',
] as const;

export function networkCsv(network: NetworkView): string {
  const names = new Map(network.nodes.map((node) => [node.id, node.name]));
  const rows: CsvCell[][] = [
    [...NETWORK_CSV_HEADER],
    ...network.edges.map((edge): CsvCell[] => [
      edge.guarantorId,
      names.get(edge.guarantorId) ?? null,
      edge.borrowerId,
      names.get(edge.borrowerId) ?? null,
      amountCell(edge.amount),
      edge.loans.map((loan) => `#${loan.number}`).join(' '),
      edge.inCycle ? 'yes' : 'no',
      edge.loans.some((loan) => loan.circleFlagged) ? 'yes' : 'no',
      [...new Set(edge.loans.flatMap((loan) => loan.jointGroupId ?? []))].join(' '),
    ]),
  ];
  return toCsv(rows);
}

export function networkContentDisposition(network: NetworkView): string {
  return `attachment; filename="guarantee-network-${network.asOf}.csv"`;
}
