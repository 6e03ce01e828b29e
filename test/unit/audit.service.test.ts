import { createHash } from 'node:crypto';
import { canonicalRecord, chainHash } from '../../src/audit/audit.service';

type RecordInput = Parameters<typeof canonicalRecord>[0];

const GENESIS = '0'.repeat(64);

function record(overrides: Partial<RecordInput> = {}): RecordInput {
  return {
    chain: 'b3c1f0a2-6d0e-4a51-9b8e-2f7d6c5a4b31',
    fundId: 'b3c1f0a2-6d0e-4a51-9b8e-2f7d6c5a4b31',
    actorId: '5e0c7a9d-1f2b-4c3d-8e4f-a0b1c2d3e4f5',
    actorName: 'admin.li',
    actorRole: 'admin',
    action: 'ledger.entry.post',
    targetType: 'journal_entry',
    targetId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
    payload: { amount: '1200.00', memo: '景德镇华瓷陶瓷有限公司 入股', lines: [{ side: 'debit', code: '1001' }] },
    requestId: 'req-0001',
    createdAt: new Date('2026-06-14T08:30:00.123Z'),
    ...overrides,
  };
}

function hashOf(row: RecordInput, prev = GENESIS, seq = '1'): string {
  return chainHash(prev, seq, canonicalRecord(row));
}

describe('canonicalRecord', () => {
  it('when a record is made canonical, then it is sorted JSON with the timestamp in ISO 8601 milliseconds', () => {
    const text = canonicalRecord(record({ payload: { z: 1, a: 2 } }));
    expect(text).toBe(
      '{"action":"ledger.entry.post",' +
        '"actor":{"id":"5e0c7a9d-1f2b-4c3d-8e4f-a0b1c2d3e4f5","name":"admin.li","role":"admin"},' +
        '"chain":"b3c1f0a2-6d0e-4a51-9b8e-2f7d6c5a4b31",' +
        '"createdAt":"2026-06-14T08:30:00.123Z",' +
        '"fundId":"b3c1f0a2-6d0e-4a51-9b8e-2f7d6c5a4b31",' +
        '"payload":{"a":2,"z":1},' +
        '"requestId":"req-0001",' +
        '"target":{"id":"9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d","type":"journal_entry"}}',
    );
  });

  it('when the system chain records a null fund, actor id and target id, then nulls are kept', () => {
    const text = canonicalRecord(
      record({ chain: 'system', fundId: null, actorId: null, targetId: null, requestId: null, payload: {} }),
    );
    expect(text).toContain('"actor":{"id":null,');
    expect(text).toContain('"fundId":null');
    expect(text).toContain('"requestId":null');
    expect(text).toContain('"target":{"id":null,');
  });
});

describe('chainHash', () => {
  it('when computed, then it is the SHA-256 hex of prev|seq|canonical', () => {
    const canonical = canonicalRecord(record());
    const prev = 'a'.repeat(64);
    const expected = createHash('sha256').update(`${prev}|42|${canonical}`, 'utf8').digest('hex');
    expect(chainHash(prev, '42', canonical)).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
  });

  it('when the payload keys come back in another order, then the hash is the same', () => {
    const original = record({ payload: { amount: '1.00', memo: 'm', nested: { b: 1, a: [{ y: 2, x: 1 }] } } });
    const reordered = record({ payload: { nested: { a: [{ x: 1, y: 2 }], b: 1 }, memo: 'm', amount: '1.00' } });
    expect(hashOf(reordered)).toBe(hashOf(original));
  });

  it('when the same record is hashed twice, then the hash is the same', () => {
    expect(hashOf(record())).toBe(hashOf(record()));
  });

  it.each<[string, Partial<RecordInput>]>([
    ['a payload value', { payload: { amount: '1200.01', memo: '景德镇华瓷陶瓷有限公司 入股', lines: [] } }],
    ['the actor id', { actorId: '5e0c7a9d-1f2b-4c3d-8e4f-a0b1c2d3e4f6' }],
    ['the actor name', { actorName: 'admin.wang' }],
    ['the actor role', { actorRole: 'committee' }],
    ['the action', { action: 'ledger.entry.reverse' }],
    ['the target type', { targetType: 'loan' }],
    ['the target id', { targetId: null }],
    ['the fund', { fundId: null }],
    ['the chain', { chain: 'system' }],
    ['the request id', { requestId: 'req-0002' }],
    ['createdAt by 1 ms', { createdAt: new Date('2026-06-14T08:30:00.124Z') }],
  ])('when %s changes, then the hash changes', (_, change) => {
    expect(hashOf(record(change))).not.toBe(hashOf(record()));
  });

  it('when the seq changes, then the hash changes', () => {
    expect(hashOf(record(), GENESIS, '2')).not.toBe(hashOf(record(), GENESIS, '1'));
  });

  it('when the previous hash changes, then the hash changes', () => {
    expect(hashOf(record(), 'f'.repeat(64), '1')).not.toBe(hashOf(record(), GENESIS, '1'));
  });
});
