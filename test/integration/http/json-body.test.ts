import { randomUUID } from 'node:crypto';
import { createFund, fundPool, type TestFund } from '../../helpers/factories';
import { startHarness, type Harness } from '../../helpers/harness';
import { expectProblem } from '../auth/problem';

/**
 * I-JSON (RFC 7493): a body is UTF-8 and no object in it names a member twice. JSON.parse keeps the
 * last of two equal names without a word, so `{"amount":"1.00","amount":"999999.00"}` would post
 * 999,999.00 while a reviewer of the request, a log or a proxy reads 1.00.
 */

let h: Harness;
let fund: TestFund;
beforeAll(async () => {
  h = await startHarness();
  fund = await createFund(h);
  await fundPool(h, fund, '1000000.00');
});
afterAll(async () => {
  await h.close();
});

/** A bank charge whose first member "amount" a reader sees, and whose repeated one JSON.parse keeps. */
function bankChargeText(amountSeen: string, amountRepeated: string, repeatedName = '"amount"'): string {
  const line = (code: string, side: string) =>
    `{"accountCode":"${code}","side":"${side}","amount":"${amountSeen}",${repeatedName}:"${amountRepeated}"}`;
  return `{"effectiveDate":"2026-06-15","kind":"manual.bank_charge","memo":"charge","lines":[${line('5002', 'debit')},${line('1001', 'credit')}]}`;
}

function postRaw(path: string, text: string, contentType = 'application/json') {
  return h.http
    .post(path)
    .set(fund.admin.auth)
    .set('Idempotency-Key', randomUUID())
    .set('Content-Type', contentType)
    .send(text);
}

async function entryCount(): Promise<number> {
  const [row] = (await h.db('journal_entries').where({ fund_id: fund.id }).count({ n: '*' })) as { n: string }[];
  return Number(row!.n);
}

describe('a JSON body that names a member twice', () => {
  test('when a manual entry repeats "amount" in its lines, then it is a 400 duplicate_json_key naming /lines/0/amount and nothing is posted', async () => {
    const before = await entryCount();

    const response = await postRaw(`/api/v1/funds/${fund.id}/entries`, bankChargeText('1.00', '999999.00'));

    expectProblem(response, 400, 'duplicate_json_key');
    expect(response.body.pointer).toBe('/lines/0/amount');
    expect(response.body.detail).toContain('/lines/0/amount');
    expect(await entryCount()).toBe(before);
  });

  test('when the repeated name is spelled with escapes ("\\u0061mount"), then it is the same name and refused', async () => {
    const before = await entryCount();

    const response = await postRaw(
      `/api/v1/funds/${fund.id}/entries`,
      bankChargeText('1.00', '999999.00', '"\\u0061mount"'),
    );

    expectProblem(response, 400, 'duplicate_json_key');
    expect(response.body.pointer).toBe('/lines/0/amount');
    expect(await entryCount()).toBe(before);
  });

  test('when a nested policy names a rate twice, then the fund is refused with the pointer /policy/rateAnnual and no fund appears', async () => {
    const [before] = await h.db('funds').count({ n: '*' });

    const response = await postRaw(
      '/api/v1/funds',
      '{"name":"Twice","policy":{"rateAnnual":"0.05","loanLimitPaidInMultiple":"3","rateAnnual":"0.36"}}',
    );

    expectProblem(response, 400, 'duplicate_json_key');
    expect(response.body.pointer).toBe('/policy/rateAnnual');
    const [after] = await h.db('funds').count({ n: '*' });
    expect(after).toEqual(before);
  });

  test('when the same name appears once in each of two objects, then the body is accepted', async () => {
    const text = bankChargeText('2.50', 'manual', '"memo"');

    const response = await postRaw(`/api/v1/funds/${fund.id}/entries`, text);

    expect(response.status).toBe(201);
    expect(response.body.postings.map((posting: { amount: string }) => posting.amount)).toEqual(['2.50', '2.50']);
  });

  test('when the body repeats a name and is also not JSON, then it is a 400 malformed_json', async () => {
    const response = await postRaw(`/api/v1/funds/${fund.id}/entries`, '{"memo":"a","memo":"b",');

    expectProblem(response, 400, 'malformed_json');
  });

  test('when a JSON body is sent in UTF-16, then it is a 415 and nothing is posted, so no other encoding slips past the check', async () => {
    const before = await entryCount();
    const utf16 = Buffer.from(bankChargeText('1.00', '999999.00'), 'utf16le');

    const response = await h.http
      .post(`/api/v1/funds/${fund.id}/entries`)
      .set(fund.admin.auth)
      .set('Idempotency-Key', randomUUID())
      .set('Content-Type', 'application/json; charset=utf-16le')
      // The bytes as they are: supertest would otherwise serialize a Buffer as JSON.
      .serialize((bytes: Buffer) => bytes as unknown as string)
      .send(utf16);

    expectProblem(response, 415, 'unsupported_media_type');
    expect(await entryCount()).toBe(before);
  });
});
