import type { z } from 'zod';
import { assert } from '../assert';
import { codeName, ENTRY_KIND_NAMES, STATEMENT_ROW_NAMES } from '../code-names';
import type { statementView } from './capital.schemas';
import type { Reply } from '../http/command';

/**
 * A member statement as CSV, for Excel as our members use it:
 *  - UTF-8 with a byte-order mark, or Excel reads Chinese names as mojibake;
 *  - CRLF line endings and RFC 4180 quoting: a field with a comma, a double quote, CR or LF is
 *    quoted, and quotes inside it are doubled;
 *  - no formula injection: a text field starting with =, +, -, @, TAB or CR gets a leading single
 *    quote, so Excel shows it as text instead of running it. Amounts are typed cells and stay plain
 *    numbers, so "-12.50" is still a number a spreadsheet can add.
 * Pure functions, so the rules are tested without HTTP.
 */

export type Statement = z.infer<typeof statementView>;

export const CSV_MEDIA_TYPE = 'text/csv; charset=utf-8';
const BOM = '\uFEFF';
const CRLF = '\r\n';
const AMOUNT_PATTERN = /^-?\d+\.\d{2}$/;
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** An amount cell: written as the number it is, never guarded or quoted. */
export interface AmountCell {
  amount: string;
}

/** Text, an amount, or an empty cell. */
export type CsvCell = string | AmountCell | null;

export function amountCell(amount: string): AmountCell {
  assert(AMOUNT_PATTERN.test(amount), `CSV amount ${JSON.stringify(amount)} is not a 2-decimal amount`);
  return { amount };
}

/** One field as it goes into the file. */
export function csvField(cell: CsvCell): string {
  if (cell === null) return '';
  if (typeof cell !== 'string') {
    assert(AMOUNT_PATTERN.test(cell.amount), `CSV amount ${JSON.stringify(cell.amount)} is not a 2-decimal amount`);
    return cell.amount;
  }
  const guarded = FORMULA_START.test(cell) ? `'${cell}` : cell;
  return NEEDS_QUOTES.test(guarded) ? `"${guarded.replace(/"/g, '""')}"` : guarded;
}

/** The whole file: BOM, then every row ended by CRLF (RFC 4180 allows the last one too). */
export function toCsv(rows: readonly (readonly CsvCell[])[]): string {
  return BOM + rows.map((row) => row.map(csvField).join(',') + CRLF).join('');
}

export const STATEMENT_CSV_HEADER = [
  '成员 Member',
  '统一社会信用代码 Credit code',
  '日期 Date',
  '凭证 Entry',
  '类型 Kind',
  '类型中文名 Kind in Chinese',
  '摘要 Memo',
  '借方 Debit',
  '贷方 Credit',
  '余额 Balance',
] as const;

/**
 * One table: the opening balance, every movement with its running balance, the period's totals and
 * the closing balance, each row naming the member, so the file sorts and filters in a spreadsheet.
 * Each row's kind is followed by its Chinese name (src/code-names.ts); an entry kind the table does
 * not know (only tests post such) leaves that cell empty.
 */
export function statementCsv(statement: Statement): string {
  const who: CsvCell[] = [statement.member.name, statement.member.creditCode];
  const rows: CsvCell[][] = [
    [...STATEMENT_CSV_HEADER],
    [
      ...who,
      statement.period.from,
      null,
      'opening_balance',
      STATEMENT_ROW_NAMES.opening_balance,
      '期初余额 Opening balance',
      null,
      null,
      amountCell(statement.openingBalance),
    ],
    ...statement.movements.map((movement): CsvCell[] => [
      ...who,
      movement.date,
      movement.entryId,
      movement.kind,
      codeName(ENTRY_KIND_NAMES, movement.kind) ?? null,
      movement.memo,
      movement.side === 'debit' ? amountCell(movement.amount) : null,
      movement.side === 'credit' ? amountCell(movement.amount) : null,
      amountCell(movement.balance),
    ]),
    [
      ...who,
      statement.period.to,
      null,
      'period_totals',
      STATEMENT_ROW_NAMES.period_totals,
      '本期合计 Totals for the period',
      amountCell(statement.totals.out),
      amountCell(statement.totals.in),
      null,
    ],
    [
      ...who,
      statement.period.to,
      null,
      'closing_balance',
      STATEMENT_ROW_NAMES.closing_balance,
      '期末余额 Closing balance',
      null,
      null,
      amountCell(statement.closingBalance),
    ],
  ];
  return toCsv(rows);
}

/** RFC 5987 / 8187 encoding of a UTF-8 filename parameter. */
function extValue(text: string): string {
  return encodeURIComponent(text).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * `attachment` with an ASCII filename (credit code or member id, and the dates) for old clients and
 * the member's own name in `filename*` for the rest.
 */
export function statementContentDisposition(statement: Statement): string {
  const { member, period } = statement;
  const ascii = `statement-${member.creditCode ?? member.id}-${period.from}-${period.to}.csv`;
  const named = `${member.name}-对账单-${period.from}-${period.to}.csv`;
  return `attachment; filename="${ascii}"; filename*=UTF-8''${extValue(named)}`;
}

/**
 * Whether the client asked for CSV: `text/csv` is named in Accept with a weight above zero and at
 * least that of `application/json` (ties go to the one named first). Anything else gets JSON.
 */
export function prefersCsv(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  const ranges = accept.split(',').map((part, index) => {
    const [type = '', ...params] = part.split(';').map((piece) => piece.trim().toLowerCase());
    const q = params.find((param) => param.startsWith('q='));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    return { type, weight: Number.isFinite(weight) ? weight : 0, index };
  });
  const csv = ranges.find((range) => range.type === 'text/csv');
  if (csv === undefined || csv.weight <= 0) return false;
  const json = ranges.find((range) => range.type === 'application/json');
  return json === undefined || csv.weight > json.weight || (csv.weight === json.weight && csv.index < json.index);
}

/**
 * The reply of a URL that answers in two formats: JSON, or CSV when the client prefers it
 * (`prefersCsv`). Both vary on Accept, so caches key on it; the CSV comes as a download.
 */
export function jsonOrCsv<T>(
  accept: string | undefined,
  view: T,
  csv: (view: T) => { text: string; contentDisposition: string },
): Reply {
  if (!prefersCsv(accept)) return { status: 200, body: view, headers: { Vary: 'Accept' } };
  const { text, contentDisposition } = csv(view);
  return {
    status: 200,
    body: text,
    contentType: CSV_MEDIA_TYPE,
    headers: { Vary: 'Accept', 'Content-Disposition': contentDisposition },
  };
}
