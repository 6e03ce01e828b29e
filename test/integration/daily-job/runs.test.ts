import pino from 'pino';
import type request from 'supertest';
import { runDailyJob } from '../../../src/jobs/jobs';
import { addDays } from '../../../src/clock';
import { makeUser, startHarness, TEST_TODAY, type Harness } from '../../helpers/harness';
import { snapshot } from '../../helpers/invariants';
import { expectProblem } from '../auth/problem';
import { balanceOf } from '../disbursements/disbursements.helpers';
import { disbursedLoan, lendingWorld, randomUUID, ranJob, runJob, setToday, type JobDay } from './daily-job.helpers';

let h: Harness;
let client: ReturnType<typeof request>;
beforeAll(async () => {
  h = await startHarness();
  client = h.http;
});
afterEach(() => {
  setToday(h, TEST_TODAY);
});
afterAll(async () => {
  await h.close();
});

const POLICY = {
  rateAnnual: '0.0435',
  dayCount: 'ACT/365',
  defaultAfterDaysOverdue: 5,
  classification: { specialMentionDaysMax: 2, substandardDaysMax: 4, doubtfulDaysMax: 6 },
};

/** A day's figures without the entry ids, which differ between funds. */
const figures = ({ entryIds: _ids, ...rest }: JobDay) => rest;

async function ledgerCounts(fundId: string): Promise<Record<string, number>> {
  const count = async (table: string) =>
    Number(((await h.db(table).where({ fund_id: fundId }).count({ n: '*' }))[0] as { n: string }).n);
  return { entries: await count('journal_entries'), postings: await count('postings'), runs: await count('job_runs') };
}

describe('runs of the daily job', () => {
  test('when a day that already ran is run again, then nothing changes and the stored figures come back', async () => {
    const w = await lendingWorld(h, POLICY);
    await disbursedLoan(h, w, { amount: '90000.00', termDays: 30, repaymentMethod: 'bullet' });
    setToday(h, addDays(TEST_TODAY, 5));
    const first = await ranJob(h, client, w.fund.admin, w.fund.id, addDays(TEST_TODAY, 5));
    const before = { counts: await ledgerCounts(w.fund.id), fund: await snapshot(h, w.fund.id) };

    const again = await ranJob(h, client, w.fund.admin, w.fund.id, addDays(TEST_TODAY, 5));
    const earlier = await ranJob(h, client, w.fund.admin, w.fund.id, addDays(TEST_TODAY, 2));

    expect(again.days).toEqual([{ ...first.days.at(-1)!, ranNow: false }]);
    expect(earlier.days).toEqual([{ ...first.days[2]!, ranNow: false }]);
    expect(await ledgerCounts(w.fund.id)).toEqual(before.counts);
    expect(await snapshot(h, w.fund.id)).toEqual(before.fund);
  });

  test('when the same Idempotency-Key is sent again, then the first answer is replayed', async () => {
    const w = await lendingWorld(h, POLICY);
    await disbursedLoan(h, w, { amount: '90000.00', termDays: 30, repaymentMethod: 'bullet' });
    const key = randomUUID();
    const first = await runJob(h, client, w.fund.admin, w.fund.id, TEST_TODAY, key);
    const counts = await ledgerCounts(w.fund.id);

    const replay = await runJob(h, client, w.fund.admin, w.fund.id, TEST_TODAY, key);

    expect(first.status).toBe(200);
    expect(first.body.days).toHaveLength(1);
    expect(first.body.days[0]).toMatchObject({ date: TEST_TODAY, ranNow: true, loansAccrued: 1 });
    expect(replay.status).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect(await ledgerCounts(w.fund.id)).toEqual(counts);
    const audit = await h.db('audit_log').where({ fund_id: w.fund.id, action: 'loans.daily_job.run' });
    expect(audit).toHaveLength(1);
  });

  test('when ten missed days are caught up in one run, then the books and figures are those of ten single runs', async () => {
    const caughtUp = await lendingWorld(h, POLICY);
    const single = await lendingWorld(h, POLICY);
    const loanA = await disbursedLoan(h, caughtUp, { amount: '90000.00', termDays: 5, repaymentMethod: 'bullet' });
    const loanB = await disbursedLoan(h, single, { amount: '90000.00', termDays: 5, repaymentMethod: 'bullet' });
    const last = addDays(TEST_TODAY, 9);
    setToday(h, last);

    const once = await ranJob(h, client, caughtUp.fund.admin, caughtUp.fund.id, last);
    const daily: JobDay[] = [];
    for (let day = 0; day < 10; day += 1) {
      const body = await ranJob(h, client, single.fund.admin, single.fund.id, addDays(TEST_TODAY, day));
      expect(body.days).toHaveLength(1);
      daily.push(body.days[0]!);
    }

    expect(once.days.map(figures)).toEqual(daily.map(figures));
    // The loan fell due on day 5: some days had penalty interest and tier changes.
    expect(once.days.some((day) => day.penaltyTotal !== '0.00' && day.classificationChanges > 0)).toBe(true);
    for (const code of ['4001', '4003']) {
      expect(await balanceOf(h, caughtUp.fund.id, code)).toBe(await balanceOf(h, single.fund.id, code));
    }
    expect(await balanceOf(h, caughtUp.fund.id, `1203:${loanA}`)).toBe(
      await balanceOf(h, single.fund.id, `1203:${loanB}`),
    );
    const audits = await h.db('audit_log').where({ fund_id: caughtUp.fund.id, action: 'loans.daily_job.run' });
    expect(audits).toHaveLength(10);
  });

  test('when a fund has no loans, then its first run is the day asked for and posts nothing', async () => {
    const w = await lendingWorld(h, POLICY);
    const body = await ranJob(h, client, w.fund.admin, w.fund.id, TEST_TODAY);
    expect(body.days).toEqual([
      expect.objectContaining({ date: TEST_TODAY, ranNow: true, loansAccrued: 0, interestTotal: '0.00', entryIds: [] }),
    ]);
  });
});

describe('the CLI job', () => {
  test('when jobs daily runs for funds, then each catches up to the date, and a fund that fails does not stop the others', async () => {
    const w = await lendingWorld(h, POLICY);
    const loanId = await disbursedLoan(h, w, { amount: '90000.00', termDays: 30, repaymentMethod: 'bullet' });
    const empty = await lendingWorld(h, POLICY);
    await ranJob(h, client, empty.fund.admin, empty.fund.id, TEST_TODAY);
    setToday(h, addDays(TEST_TODAY, 3));
    const deps = { db: h.db, clock: h.clock, services: h.services, logger: pino({ level: 'silent' }) };

    const result = await runDailyJob(deps, addDays(TEST_TODAY, 3), [w.fund.id, randomUUID(), empty.fund.id]);

    expect(result.runs.map((run) => [run.fundId, run.days.map((day) => day.date)])).toEqual([
      [w.fund.id, [0, 1, 2, 3].map((day) => addDays(TEST_TODAY, day))],
      [empty.fund.id, [1, 2, 3].map((day) => addDays(TEST_TODAY, day))],
    ]);
    expect(result.failures).toEqual([{ fundId: expect.any(String), error: expect.stringMatching(/does not exist/) }]);
    expect(await balanceOf(h, w.fund.id, `1202:${loanId}`)).not.toBe('0.00');
    const again = await runDailyJob(deps, addDays(TEST_TODAY, 3), [w.fund.id]);
    expect(again.runs[0]!.days).toEqual([{ ...result.runs[0]!.days.at(-1)!, ranNow: false }]);
  });
});

describe('refusals', () => {
  test('when the day has not come yet, then the answer is 422 daily_job_date_in_future and nothing changes', async () => {
    const w = await lendingWorld(h, POLICY);
    await disbursedLoan(h, w, { amount: '90000.00', termDays: 30, repaymentMethod: 'bullet' });
    const before = await snapshot(h, w.fund.id);

    const response = await runJob(h, client, w.fund.admin, w.fund.id, addDays(TEST_TODAY, 1));

    expectProblem(response, 422, 'daily_job_date_in_future');
    expect(response.body).toMatchObject({ date: addDays(TEST_TODAY, 1), today: TEST_TODAY });
    expect(await snapshot(h, w.fund.id)).toEqual(before);
    expect(await ledgerCounts(w.fund.id)).toMatchObject({ runs: 0 });
  });

  test('when a day before the first run is asked for, then the answer is 409 daily_job_date_before_first_run', async () => {
    const w = await lendingWorld(h, POLICY);
    await ranJob(h, client, w.fund.admin, w.fund.id, TEST_TODAY);

    const response = await runJob(h, client, w.fund.admin, w.fund.id, addDays(TEST_TODAY, -1));

    expectProblem(response, 409, 'daily_job_date_before_first_run');
    expect(response.body).toMatchObject({ firstRunDate: TEST_TODAY });
  });

  test('when the date is not a calendar date, then the answer is 400 and nothing runs', async () => {
    const w = await lendingWorld(h, POLICY);
    const response = await runJob(h, client, w.fund.admin, w.fund.id, '2026-02-30');
    expect(response.status).toBe(400);
    expect(await ledgerCounts(w.fund.id)).toMatchObject({ runs: 0 });
  });

  test.each(['committee', 'member', 'auditor'] as const)(
    'when a %s user runs the job, then the answer is 403 forbidden and nothing runs',
    async (role) => {
      const w = await lendingWorld(h, POLICY);
      const user = role === 'member' ? w.users.borrower : await makeUser(h, role, { fundId: w.fund.id });
      const response = await runJob(h, client, user, w.fund.id, TEST_TODAY);
      expectProblem(response, 403, 'forbidden');
      expect(await ledgerCounts(w.fund.id)).toMatchObject({ runs: 0 });
    },
  );
});
