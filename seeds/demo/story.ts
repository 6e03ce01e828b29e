import { addDays } from '../../src/clock';
import { formatAmount, Money, sumAmounts } from '../../src/money/money';
import type { DemoApi, Person } from './api';
import { atHour, type DemoCalendar } from './calendar';

/**
 * The machinery of the demo's story: events on dates, played in order on the seed's clock, with
 * the daily loan job run for every day before each day that has events, as it runs every night in
 * a fund in use. The story itself (who borrows, who guarantees, what the committee decides) is in
 * chapters.ts; this file knows how each step is done through the API.
 */

export type RepaymentMethod = 'bullet' | 'equal_installment' | 'equal_principal';

export interface GuarantorPlan {
  member: number;
  amount: string;
  /** The guarantor has not answered yet: the application waits for its consent. */
  pending?: boolean;
}

export interface CollateralPlan {
  description: string;
  kind: 'real_estate' | 'equipment' | 'vehicle' | 'inventory' | 'receivables' | 'deposit' | 'equity' | 'other';
  valuation: string;
  haircutPct: string;
}

export type LenderPlan =
  | { type: 'pool' }
  | { type: 'peer'; member: number }
  | { type: 'bank'; bankName: string; contractNumber: string; rateAnnual: string; startOn: string; maturityOn: string };

export interface LoanPlan {
  key: string;
  borrower: number;
  /** The borrower's member user drafts it, or an administrator for a borrower represented on the committee. */
  draftedBy: 'borrower' | 'admin';
  amount: string;
  termDays: number;
  method: RepaymentMethod;
  purpose: string;
  emergency?: boolean;
  lender?: LenderPlan;
  guarantors?: GuarantorPlan[];
  collateral?: CollateralPlan[];
  /** The key of the joint guarantee group backing the loan. */
  jointGroup?: string;
  appliedOn: string;
  /** Left out: the application stays a draft. */
  submittedOn?: string;
  wantedOn: string;
  /** Left out: the loan is not disbursed in the story. */
  disbursedOn?: string;
  /** Instalments the borrower pays on their due dates (before today): all of them, or the first n. */
  pays?: 'all' | number;
}

export interface MeetingPlan {
  heldOn: string;
  /** When it is convened; default the day it is held. A meeting held after today is only convened. */
  convenedOn?: string;
  applications?: string[];
  extensions?: string[];
  jointGroups?: string[];
  recoveryActions?: string[];
  /** Committee seats (member indices) away that day. */
  absent?: number[];
  /** A seat that votes otherwise on an item, with its reason (only where the item still passes). */
  dissent?: { item: string; seat: number; vote: 'reject' | 'abstain'; comment: string };
}

interface StoryEvent {
  on: string;
  hour: number;
  sequence: number;
  what: string;
  run: () => Promise<unknown>;
}

interface LoanRecord {
  plan: LoanPlan;
  id: string;
  number: number;
  guarantees: { id: string; memberId: string }[];
}

interface InstalmentView {
  number: number;
  dueOn: string;
  outstanding: { principal: string; interest: string; total: string };
}

interface ItemView {
  id: string;
  kind: string;
  status: string;
  loan: { id: string } | null;
  recusals: { userId: string }[];
  failures: unknown[] | null;
}

const VOTE_COMMENTS = [
  '同意。用途清楚，担保足额。',
  '同意，请财务按期跟踪还款。',
  '同意。',
  '同意，建议贷后一个月回访企业经营情况。',
  '同意，符合互助金章程。',
];

export interface Cast {
  admin: Person;
  /** The second administrator who confirms disbursements above the maker-checker threshold. */
  checker: Person;
  /** Each member's representative: its committee user where it has a seat, else its member user. */
  representatives: Person[];
  /** The member indices of the committee seats, in the order the chair rotates. */
  seats: number[];
}

export class Story {
  private readonly events: StoryEvent[] = [];
  private sequence = 0;
  private day: string | undefined;
  private firstDisbursedOn: string | undefined;
  private lastJobDay: string | undefined;
  private readonly loans = new Map<string, LoanRecord>();
  private readonly extensions = new Map<string, string>();
  private readonly groups = new Map<string, string>();
  private readonly recoveryActions = new Map<string, string>();
  private readonly chairs = new Map<string, number>();

  constructor(
    private readonly api: DemoApi,
    readonly calendar: DemoCalendar,
    readonly fundId: string,
    readonly memberIds: readonly string[],
    private readonly cast: Cast,
  ) {}

  // -------------------------------------------------------------------------------------------
  // The timeline

  /** Something that happens on `on` at `hour` (fund time); events of one hour keep their order. */
  at(on: string, hour: number, what: string, run: () => Promise<unknown>): void {
    if (this.day !== undefined && on < this.day) {
      throw new Error(`demo story: "${what}" on ${on} is scheduled after ${this.day} has begun`);
    }
    this.sequence += 1;
    this.events.push({ on, hour, sequence: this.sequence, what, run });
  }

  /** Plays every event in date order (events may schedule later ones), then runs the job through yesterday. */
  async play(endAt: Date): Promise<void> {
    for (let next = this.takeNext(); next !== undefined; next = this.takeNext()) {
      if (next.on >= this.calendar.today) throw new Error(`demo story: "${next.what}" is not in the past`);
      if (next.on !== this.day) await this.beginDay(next.on);
      this.moveClockTo(atHour(next.on, next.hour));
      try {
        await next.run();
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`demo story, ${next.on} ${next.what}: ${reason}`, { cause: error });
      }
    }
    // The morning the seed runs: last night's job, as on any day.
    this.moveClockTo(endAt);
    await this.runJobThrough(addDays(this.calendar.today, -1));
  }

  /** Forward only: two events of one hour run one after the other, and so do their records. */
  private moveClockTo(instant: Date): void {
    if (instant > this.api.clock.now()) this.api.clock.set(instant);
  }

  private takeNext(): StoryEvent | undefined {
    if (this.events.length === 0) return undefined;
    const earlier = (a: StoryEvent, b: StoryEvent): boolean =>
      a.on !== b.on ? a.on < b.on : a.hour !== b.hour ? a.hour < b.hour : a.sequence < b.sequence;
    let best = 0;
    this.events.forEach((event, index) => {
      if (earlier(event, this.events[best]!)) best = index;
    });
    return this.events.splice(best, 1)[0];
  }

  /** Early on `date`: the daily job for the days before it, once any loan has been disbursed. */
  private async beginDay(date: string): Promise<void> {
    this.day = date;
    this.moveClockTo(atHour(date, 6));
    await this.runJobThrough(addDays(date, -1));
  }

  private async runJobThrough(date: string): Promise<void> {
    if (this.firstDisbursedOn === undefined || date < this.firstDisbursedOn) return;
    if (this.lastJobDay !== undefined && date <= this.lastJobDay) return;
    await this.api.post(this.cast.admin, this.path('/jobs/daily'), { date });
    this.lastJobDay = date;
  }

  // -------------------------------------------------------------------------------------------
  // People and paths

  path(suffix: string): string {
    return `/funds/${this.fundId}${suffix}`;
  }

  member(index: number): string {
    const id = this.memberIds[index];
    if (id === undefined) throw new Error(`demo story: no member ${index}`);
    return id;
  }

  representative(index: number): Person {
    const person = this.cast.representatives[index];
    if (!person) throw new Error(`demo story: member ${index} has no representative`);
    return person;
  }

  get admin(): Person {
    return this.cast.admin;
  }

  loan(key: string): LoanRecord {
    const loan = this.loans.get(key);
    if (!loan) throw new Error(`demo story: loan ${key} does not exist yet`);
    return loan;
  }

  /** The chair of each month: the seats in turn, from the month of the establishment. */
  async setRotation(months: string[]): Promise<void> {
    const seats = this.cast.seats;
    const rotation = months.map((month, index) => {
      const seat = seats[index % seats.length]!;
      this.chairs.set(month, seat);
      return { month, chairUserId: this.representative(seat).id };
    });
    await this.api.put(this.admin, this.path('/committee/rotation'), { months: rotation });
  }

  chairOn(date: string): Person {
    const seat = this.chairs.get(date.slice(0, 7));
    if (seat === undefined) throw new Error(`demo story: no chair for ${date.slice(0, 7)}`);
    return this.representative(seat);
  }

  // -------------------------------------------------------------------------------------------
  // Loans: application, consents, submission, disbursement, repayments

  /** Schedules a loan's own steps; its approval is a meeting's (or a fast track's) business. */
  loanThread(plan: LoanPlan): void {
    this.at(plan.appliedOn, 9, `${plan.key}: application drafted`, () => this.draft(plan));
    this.at(plan.appliedOn, 11, `${plan.key}: guarantors consent`, () => this.consents(plan.key));
    if (plan.submittedOn !== undefined) {
      this.at(plan.submittedOn, 15, `${plan.key}: application submitted`, () => this.submit(plan.key));
    }
    if (plan.disbursedOn !== undefined) {
      this.at(plan.disbursedOn, 10, `${plan.key}: disbursed`, () => this.disburse(plan.key));
    }
  }

  private async draft(plan: LoanPlan): Promise<void> {
    const lender = plan.lender ?? { type: 'pool' };
    const body = {
      borrowerMemberId: this.member(plan.borrower),
      amount: plan.amount,
      purpose: plan.purpose,
      termDays: plan.termDays,
      repaymentMethod: plan.method,
      emergency: plan.emergency ?? false,
      wantedOn: plan.wantedOn,
      lender: lender.type === 'peer' ? { type: 'peer', memberId: this.member(lender.member) } : lender,
      guarantors: (plan.guarantors ?? []).map((g) => ({
        memberId: this.member(g.member),
        amount: g.amount,
        type: 'joint_and_several',
      })),
      collateral: (plan.collateral ?? []).map((c) => ({ ...c, valuedOn: plan.appliedOn })),
      ...(plan.jointGroup === undefined ? {} : { jointGroupId: this.group(plan.jointGroup) }),
    };
    const drafter = plan.draftedBy === 'admin' ? this.admin : this.representative(plan.borrower);
    const view = await this.api.post<{ id: string; number: number; guarantees: { id: string; memberId: string }[] }>(
      drafter,
      this.path('/loan-applications'),
      body,
    );
    this.loans.set(plan.key, { plan, id: view.id, number: view.number, guarantees: view.guarantees });
  }

  /** Every guarantor not marked pending accepts, and a peer lender agrees, each through its own user. */
  private async consents(key: string): Promise<void> {
    const loan = this.loan(key);
    for (const guarantor of loan.plan.guarantors ?? []) {
      if (guarantor.pending) continue;
      const guarantee = loan.guarantees.find((g) => g.memberId === this.member(guarantor.member));
      if (!guarantee) throw new Error(`demo story: ${key} has no guarantee of member ${guarantor.member}`);
      await this.api.post(
        this.representative(guarantor.member),
        this.path(`/loan-applications/${loan.id}/guarantees/${guarantee.id}/consent`),
        { decision: 'accept' },
      );
    }
    const lender = loan.plan.lender;
    if (lender?.type === 'peer') {
      await this.api.post(
        this.representative(lender.member),
        this.path(`/loan-applications/${loan.id}/lender-consent`),
        {
          decision: 'accept',
        },
      );
    }
  }

  private async submit(key: string): Promise<void> {
    const loan = this.loan(key);
    const submitter = loan.plan.draftedBy === 'admin' ? this.admin : this.representative(loan.plan.borrower);
    await this.api.post(submitter, this.path(`/loan-applications/${loan.id}/submit`));
  }

  /** An administrator pays out (a bank loan: registers the drawdown); a second one confirms above the threshold. */
  private async disburse(key: string): Promise<void> {
    const loan = this.loan(key);
    const today = this.today();
    const request = await this.api.post<{ id: string; status: string }>(
      this.admin,
      this.path(`/loans/${loan.id}/disbursements`),
      { bankReference: `${loan.plan.lender?.type === 'bank' ? 'DRAW' : 'PAY'}-${compact(today)}-${loan.number}` },
    );
    if (request.status === 'awaiting_confirmation') {
      await this.api.post(this.cast.checker, this.path(`/loans/${loan.id}/disbursements/${request.id}/confirm`));
    }
    this.firstDisbursedOn ??= today;
    await this.scheduleRepayments(loan);
  }

  /** The instalments the plan pays, each on its due date, if that is before today. */
  private async scheduleRepayments(loan: LoanRecord): Promise<void> {
    const { pays } = loan.plan;
    if (pays === undefined) return;
    const schedule = await this.api.get<{ instalments: InstalmentView[] }>(
      this.admin,
      this.path(`/loans/${loan.id}/schedule`),
    );
    const count = pays === 'all' ? schedule.instalments.length : pays;
    for (const instalment of schedule.instalments.slice(0, count)) {
      if (instalment.dueOn >= this.calendar.today) break;
      const last = instalment.number === schedule.instalments.length;
      this.at(instalment.dueOn, 14, `${loan.plan.key}: instalment ${instalment.number} paid`, () =>
        loan.plan.lender?.type === 'bank' ? this.reportBankInstalment(loan, instalment.number) : this.repay(loan, last),
      );
    }
  }

  /**
   * What falls due today, received today: the fee and any penalty first, then the instalments due
   * (allocation order, ADR 0009). The last instalment pays the payoff figure, so the loan closes.
   */
  private async repay(loan: LoanRecord, last: boolean): Promise<void> {
    const today = this.today();
    const payoff = await this.api.get<{ fee: string; penaltyInterest: string; total: string }>(
      this.admin,
      this.path(`/loans/${loan.id}/payoff`),
    );
    let amount: Money;
    if (last) amount = new Money(payoff.total);
    else {
      const schedule = await this.api.get<{ instalments: InstalmentView[] }>(
        this.admin,
        this.path(`/loans/${loan.id}/schedule`),
      );
      const due = schedule.instalments.filter((i) => i.dueOn <= today).map((i) => new Money(i.outstanding.total));
      amount = sumAmounts([new Money(payoff.fee), new Money(payoff.penaltyInterest), ...due]);
    }
    const body = { amount: formatAmount(amount), receivedOn: today, reference: `RCV-${compact(today)}-${loan.number}` };
    const paid = await this.api.post<{ closedLoan: boolean }>(
      this.admin,
      this.path(`/loans/${loan.id}/repayments`),
      body,
    );
    if (last && !paid.closedLoan) throw new Error(`demo story: the last instalment of ${loan.plan.key} left it open`);
  }

  /** The borrower pays the bank its instalment; the administrator records the report (ADR 0017). */
  private async reportBankInstalment(loan: LoanRecord, number: number): Promise<void> {
    const today = this.today();
    const schedule = await this.api.get<{ instalments: InstalmentView[] }>(
      this.admin,
      this.path(`/loans/${loan.id}/schedule`),
    );
    const instalment = schedule.instalments.find((i) => i.number === number);
    if (!instalment) throw new Error(`demo story: ${loan.plan.key} has no instalment ${number}`);
    await this.api.post(this.admin, this.path(`/loans/${loan.id}/bank-repayments`), {
      paidOn: today,
      principal: instalment.outstanding.principal,
      interest: instalment.outstanding.interest,
      reference: `BANK-${compact(today)}-${loan.number}`,
    });
  }

  // -------------------------------------------------------------------------------------------
  // The committee

  /** Convenes a meeting; one held by today also records attendance, the votes and the decisions. */
  meeting(plan: MeetingPlan): void {
    const convenedOn = plan.convenedOn ?? plan.heldOn;
    this.at(convenedOn, 14, `meeting of ${plan.heldOn}`, async () => {
      const meeting = await this.api.post<{ id: string; chair: { userId: string }; items: ItemView[] }>(
        this.admin,
        this.path('/meetings'),
        {
          heldOn: plan.heldOn,
          applicationIds: (plan.applications ?? []).map((key) => this.loan(key).id),
          extensionIds: (plan.extensions ?? []).map((key) => this.required(this.extensions, key, 'extension')),
          jointGroupIds: (plan.jointGroups ?? []).map((key) => this.group(key)),
          recoveryActionIds: (plan.recoveryActions ?? []).map((key) =>
            this.required(this.recoveryActions, key, 'recovery action'),
          ),
        },
      );
      if (plan.heldOn > this.today()) return;
      await this.holdMeeting(plan, meeting);
    });
  }

  private async holdMeeting(
    plan: MeetingPlan,
    meeting: { id: string; chair: { userId: string }; items: ItemView[] },
  ): Promise<void> {
    const present = this.cast.seats.filter((seat) => !(plan.absent ?? []).includes(seat));
    const base = `/meetings/${meeting.id}`;
    await this.api.post(this.admin, this.path(`${base}/attendance`), {
      userIds: present.map((seat) => this.representative(seat).id),
    });
    for (const [position, item] of meeting.items.entries()) {
      const recused = new Set(item.recusals.map((recusal) => recusal.userId));
      const dissent = plan.dissent && this.itemKey(item) === plan.dissent.item ? plan.dissent : undefined;
      for (const [turn, seat] of present.entries()) {
        const voter = this.representative(seat);
        if (recused.has(voter.id)) continue;
        const differs = dissent?.seat === seat;
        await this.api.post(voter, this.path(`${base}/items/${item.id}/votes`), {
          vote: differs ? dissent.vote : 'approve',
          comment: differs ? dissent.comment : VOTE_COMMENTS[(position + turn) % VOTE_COMMENTS.length],
        });
      }
      // The chair closes the item, unless it represents a party to it: then the secretary does.
      const decider = recused.has(meeting.chair.userId)
        ? this.admin
        : this.cast.representatives.find((person) => person.id === meeting.chair.userId);
      const decided = await this.api.post<ItemView>(
        decider ?? this.admin,
        this.path(`${base}/items/${item.id}/decide`),
      );
      if (decided.status !== 'approved' && decided.status !== 'ratified') {
        throw new Error(
          `demo story: item ${item.kind} of the meeting of ${plan.heldOn} was ${decided.status}: ${JSON.stringify(decided.failures)}`,
        );
      }
    }
  }

  private itemKey(item: ItemView): string | undefined {
    for (const [key, loan] of this.loans) if (item.loan?.id === loan.id) return key;
    return undefined;
  }

  /** The chair of the month and an administrator approve an emergency application the same day. */
  fastTrack(key: string, on: string): void {
    this.at(on, 9, `${key}: fast-tracked`, async () => {
      const loan = this.loan(key);
      await this.api.post(this.chairOn(on), this.path(`/loan-applications/${loan.id}/fast-track`));
      const approved = await this.api.post<{ state: string }>(
        this.admin,
        this.path(`/loan-applications/${loan.id}/fast-track`),
      );
      if (approved.state !== 'approved') throw new Error(`demo story: ${key} was not approved by fast track`);
    });
  }

  /** The borrower asks to extend the maturity (展期) and every guarantor agrees the next day. */
  extension(key: string, on: string, newMaturityDate: string, reason: string): void {
    this.at(on, 10, `${key}: extension requested`, async () => {
      const loan = this.loan(key);
      const requested = await this.api.post<{
        id: string;
        consents: { guaranteeId: string; guarantorMemberId: string }[];
      }>(this.representative(loan.plan.borrower), this.path(`/loans/${loan.id}/extensions`), {
        newMaturityDate,
        reason,
      });
      this.extensions.set(key, requested.id);
      this.at(addDays(on, 1), 10, `${key}: guarantors consent to the extension`, async () => {
        for (const consent of requested.consents) {
          const guarantor = this.memberIds.indexOf(consent.guarantorMemberId);
          await this.api.post(
            this.representative(guarantor),
            this.path(`/loans/${loan.id}/extensions/${requested.id}/guarantees/${consent.guaranteeId}/consent`),
            { decision: 'accept' },
          );
        }
      });
    });
  }

  // -------------------------------------------------------------------------------------------
  // Joint groups and recovery

  /** A member proposes a joint guarantee group (agreeing by proposing); the others agree the next day. */
  jointGroup(key: string, on: string, proposer: number, others: number[], name: string, limit: string): void {
    this.at(on, 10, `${key}: joint group proposed`, async () => {
      const group = await this.api.post<{ id: string }>(this.representative(proposer), this.path('/joint-groups'), {
        name,
        limit,
        memberIds: [proposer, ...others].map((index) => this.member(index)),
      });
      this.groups.set(key, group.id);
    });
    this.at(addDays(on, 1), 10, `${key}: members agree`, async () => {
      for (const index of others) {
        await this.api.post(this.representative(index), this.path(`/joint-groups/${this.group(key)}/consent`), {
          decision: 'accept',
        });
      }
    });
  }

  group(key: string): string {
    return this.required(this.groups, key, 'joint group');
  }

  /** An administrator proposes calling the defaulted loan's guarantors (the committee decides). */
  proposeGuarantorCall(key: string, on: string, reason: string): void {
    this.at(on, 10, `${key}: guarantor call proposed`, async () => {
      const recoveryCase = await this.caseOf(key);
      const action = await this.api.post<{ id: string }>(
        this.admin,
        this.path(`/recovery-cases/${recoveryCase.id}/actions`),
        { action: 'call_guarantees', reason },
      );
      this.recoveryActions.set(key, action.id);
    });
  }

  /** A called guarantor pays its share in full. */
  guarantorPays(key: string, on: string, guarantor: number): void {
    this.at(on, 11, `${key}: member ${guarantor} pays its call`, async () => {
      const recoveryCase = await this.caseOf(key);
      const call = recoveryCase.calls.find((c) => c.guarantorMemberId === this.member(guarantor));
      if (!call) throw new Error(`demo story: member ${guarantor} was not called for ${key}`);
      const today = this.today();
      await this.api.post(this.admin, this.path(`/recovery-cases/${recoveryCase.id}/calls/${call.id}/payments`), {
        amount: call.amount,
        receivedOn: today,
        reference: `CALL-${compact(today)}-${this.loan(key).number}`,
      });
    });
  }

  private async caseOf(
    key: string,
  ): Promise<{ id: string; calls: { id: string; guarantorMemberId: string; amount: string }[] }> {
    const list = await this.api.get<{ items: { id: string }[] }>(
      this.admin,
      this.path(`/recovery-cases?loanId=${this.loan(key).id}`),
    );
    const first = list.items[0];
    if (!first) throw new Error(`demo story: ${key} has no recovery case`);
    return this.api.get(this.admin, this.path(`/recovery-cases/${first.id}`));
  }

  // -------------------------------------------------------------------------------------------

  today(): string {
    if (this.day === undefined) throw new Error('demo story: no day has begun');
    return this.day;
  }

  /** A read by the fund's administrator. */
  get<T>(suffix: string): Promise<T> {
    return this.api.get<T>(this.admin, this.path(suffix));
  }

  post<T>(as: Person, suffix: string, body: unknown = {}): Promise<T> {
    return this.api.post<T>(as, this.path(suffix), body);
  }

  private required(map: Map<string, string>, key: string, what: string): string {
    const id = map.get(key);
    if (id === undefined) throw new Error(`demo story: ${what} ${key} does not exist yet`);
    return id;
  }
}

/** `2026-06-15` → `20260615`, for bank references. */
export function compact(date: string): string {
  return date.replaceAll('-', '');
}
