import {
  codeName,
  ITEM_KIND_NAMES,
  ITEM_STATUS_NAMES,
  LENDER_NAMES,
  REPAYMENT_METHOD_NAMES,
  VOTE_NAMES,
} from '../code-names';
import type { ItemView, MeetingView } from './committee.schemas';

export const MARKDOWN_MEDIA_TYPE = 'text/markdown; charset=utf-8';

/** Whether the client asked for Markdown (Accept names text/markdown) rather than JSON. */
export function prefersMarkdown(accept: string | undefined): boolean {
  return accept !== undefined && /(^|,)\s*text\/markdown\s*(;|,|$)/i.test(accept);
}

const VOTE_WORDS = { approve: 'approve', reject: 'reject', abstain: 'abstain' } as const;

/**
 * A coded value as the minutes write it: its Chinese name (src/code-names.ts), then the English
 * word the minutes use for it — the code itself where there is no other. A code without a name
 * (a view field typed as plain text) is written alone.
 */
function named(name: string | undefined, words: string): string {
  return name === undefined ? words : `${name} ${words}`;
}

const OUTCOME_WORDS: Record<ItemView['status'], string> = {
  open: 'Open — not yet decided',
  approved: 'Approved',
  rejected: 'Rejected',
  ineligible: 'Voted for, but refused by the rules when it was to take effect',
  no_quorum: 'No quorum — carried over to a later meeting',
  withdrawn: 'Withdrawn before the decision',
  ratified: 'Fast-track approval ratified',
  ratification_failed: 'Ratification FAILED — flagged for the committee (the loan is not undone)',
};

/** What an extension item asks for and, once approved, what it did. */
function extensionMarkdown(extension: NonNullable<ItemView['extension']>): string[] {
  const lines = [
    `Extension ${extension.number}: maturity ${extension.maturityDateBefore} → ${extension.requestedMaturityDate}; repayment ${repaymentMethod(extension.repaymentMethodBefore)} → ${repaymentMethod(extension.repaymentMethod)}. Reason: ${cell(extension.reason)}`,
    '',
  ];
  if (extension.effectiveOn !== null) {
    lines.push(
      `New schedule (version ${String(extension.scheduleVersionAfter)}, replacing ${String(extension.scheduleVersionBefore)}) from ${extension.effectiveOn}; the loan is restructured.`,
      '',
    );
  }
  return lines;
}

function repaymentMethod(code: string): string {
  return named(codeName(REPAYMENT_METHOD_NAMES, code), code);
}

/** Text placed in a Markdown table cell or line: no pipes or line breaks that would break it. */
function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** The minutes of a meeting as Markdown: attendance, then each item with its votes, recusals and outcome. */
export function minutesMarkdown(meeting: MeetingView): string {
  const lines: string[] = [];
  lines.push(`# Minutes of committee meeting ${meeting.number} — ${meeting.heldOn}`, '');
  const chairOf = meeting.chair.memberName ? ` (${cell(meeting.chair.memberName)})` : '';
  lines.push(`Chair: ${cell(meeting.chair.username)}${chairOf}`, '');
  lines.push('## Attendance', '');
  if (meeting.attendance.length === 0) lines.push('Nobody was recorded present.');
  for (const person of meeting.attendance) {
    lines.push(`- ${cell(person.username)} — ${cell(person.memberName ?? '')}`);
  }
  lines.push('');
  for (const item of meeting.items) lines.push(...itemMarkdown(item));
  return `${lines.join('\n').trimEnd()}\n`;
}

const KIND_WORDS: Record<ItemView['kind'], string> = {
  application: 'Loan application',
  ratification: 'Ratification of fast-tracked loan',
  extension: 'Extension of loan',
  joint_group: 'Joint guarantee group',
  recovery_action: 'Recovery of loan',
};

function itemMarkdown(item: ItemView): string[] {
  const subject = item.loan ? ` ${item.loan.number}` : '';
  const lines = [`## Item ${item.position}: ${named(ITEM_KIND_NAMES[item.kind], KIND_WORDS[item.kind])}${subject}`, ''];
  if (item.loan) {
    lines.push(
      `Borrower: ${cell(item.loan.borrowerName)}; amount ${item.loan.amount}; lender: ${named(codeName(LENDER_NAMES, item.loan.lender), item.loan.lender)}${item.loan.emergency ? '; emergency' : ''}.`,
      '',
    );
  }
  if (item.motion) {
    const amount = item.motion.amount === null ? '' : ` (${item.motion.amount})`;
    lines.push(`Motion: ${cell(item.motion.title)}${amount}.`, '');
    if (item.motion.clauses.length > 0) {
      lines.push('The motion also resolves (同时决议):', '');
      for (const clause of item.motion.clauses) lines.push(`- ${cell(clause)}`);
      lines.push('');
    }
  }
  if (item.extension) lines.push(...extensionMarkdown(item.extension));
  if (item.recusals.length > 0) {
    lines.push('Recusals:', '');
    for (const recusal of item.recusals) lines.push(`- ${cell(recusal.username)}: ${cell(recusal.detail)}`);
    lines.push('');
  }
  if (item.votes.length > 0) {
    lines.push('| Member | Vote | Comment |', '|---|---|---|');
    for (const vote of item.votes) {
      lines.push(
        `| ${cell(vote.username)} | ${named(VOTE_NAMES[vote.vote], VOTE_WORDS[vote.vote])} | ${cell(vote.comment ?? '')} |`,
      );
    }
    lines.push('');
  } else {
    lines.push('No votes were cast.', '');
  }
  if (item.tally) {
    const t = item.tally;
    lines.push(
      `Tally: ${t.approve} for, ${t.reject} against, ${t.abstain} abstaining; ${t.voting} of ${t.eligible} non-recused committee members voting (quorum: more than ${t.quorumRatio}: ${t.quorumMet ? 'met' : 'not met'}).`,
      '',
    );
  }
  const resolution = item.resolutionNumber ? ` — resolution ${item.resolutionNumber}` : '';
  lines.push(`Outcome: **${named(ITEM_STATUS_NAMES[item.status], OUTCOME_WORDS[item.status])}**${resolution}`, '');
  for (const failure of item.failures ?? []) lines.push(failureLine(failure));
  if (item.failures) lines.push('');
  return lines;
}

/**
 * One rule a decided item failed: the rule's own sentence, then its limit and figure where the rule
 * has them (a joint group's rules name members instead, a recovery step's state).
 */
function failureLine(failure: Record<string, unknown>): string {
  const figures = [
    failure.limit === undefined ? undefined : `limit ${String(failure.limit)}`,
    failure.actual === undefined ? undefined : `actual ${String(failure.actual)}`,
  ].filter((figure) => figure !== undefined);
  const detail = typeof failure.detail === 'string' ? `: ${failure.detail}` : '';
  return `- rule ${String(failure.rule)}${detail}${figures.length > 0 ? ` (${figures.join(', ')})` : ''}`;
}
