import fc from 'fast-check';
import { canonicalJson, isStorableJson, isStorableText } from '../../src/audit/canonical-json';

/** A small deterministic generator, so a shuffle is reproducible from the seed fast-check reports. */
function shuffler(seed: number): <T>(items: T[]) => T[] {
  let state = seed >>> 0 || 1;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  return <T>(items: T[]): T[] => {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i -= 1) {
      const j = next() % (i + 1);
      [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
    }
    return copy;
  };
}

/** The same JSON value with the keys of every object inserted in another order. */
function reorderKeys(value: unknown, shuffle: <T>(items: T[]) => T[]): unknown {
  if (Array.isArray(value)) return value.map((item) => reorderKeys(item, shuffle));
  if (value !== null && typeof value === 'object') {
    // fromEntries defines properties, so a "__proto__" key stays an ordinary key.
    return Object.fromEntries(shuffle(Object.entries(value)).map(([key, item]) => [key, reorderKeys(item, shuffle)]));
  }
  return value;
}

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

describe('canonicalJson', () => {
  it('when an object is nested, then keys are sorted at every level and there is no whitespace', () => {
    const value = { b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } };
    expect(canonicalJson(value)).toBe('{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
  });

  it('when keys include non-ASCII characters, then they sort by UTF-16 code units (RFC 8785 §3.2.3)', () => {
    const value = { '\uFB33': 'hebrew', '\u{1F600}': 'emoji', '\u20AC': 'euro', '\r': 'cr', '1': 'one', a: 'a' };
    expect(canonicalJson(value)).toBe(
      '{"\\r":"cr","1":"one","a":"a","\u20AC":"euro","\u{1F600}":"emoji","\uFB33":"hebrew"}',
    );
  });

  it('when numbers are written, then they use ECMAScript formatting', () => {
    expect(canonicalJson([1.0, 0.1, -0, 1e21, 1e-7, 100, -5.5])).toBe('[1,0.1,0,1e+21,1e-7,100,-5.5]');
  });

  it('when Chinese text is written, then it stays as is rather than being escaped', () => {
    expect(canonicalJson({ name: '景德镇华瓷陶瓷有限公司' })).toBe('{"name":"景德镇华瓷陶瓷有限公司"}');
  });

  it('when any JSON value has its keys reordered, then the canonical text is identical', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer(), (value, seed) => {
        const reordered = reorderKeys(value, shuffler(seed));
        expect(canonicalJson(reordered)).toBe(canonicalJson(value));
      }),
    );
  });

  it('when an object of JSON values has its keys reordered, then the canonical text is identical', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.integer(), (value, seed) => {
        expect(canonicalJson(reorderKeys(value, shuffler(seed)))).toBe(canonicalJson(value));
      }),
    );
  });

  it('when canonical text is parsed and canonicalised again, then it does not change', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
      }),
    );
  });
});

describe('isStorableText', () => {
  it.each([
    ['ordinary Chinese text', '景德镇华瓷陶瓷有限公司'],
    ['an emoji (a valid surrogate pair)', '贷款 \u{1F600} ok'],
    ['an empty string', ''],
    ['tabs and newlines', 'line one\n\tline two'],
  ])('when the text is %s, then it is storable', (_, text) => {
    expect(isStorableText(text)).toBe(true);
  });

  it.each([
    ['a NUL character', 'abc\u0000def'],
    ['a lone high surrogate', '\uD800'],
    ['a lone high surrogate before text', '\uD83Dabc'],
    ['a lone low surrogate', 'abc\uDE00'],
    ['a reversed surrogate pair', '\uDE00\uD83D'],
  ])('when the text has %s, then it is not storable', (_, text) => {
    expect(isStorableText(text)).toBe(false);
  });
});

describe('isStorableJson', () => {
  it.each([
    ['null', null],
    ['a boolean', false],
    ['a finite number', -12.5],
    ['Chinese text', '景德镇华瓷陶瓷有限公司'],
    ['an emoji', '\u{1F389}'],
    ['a nested plain object', { member: { name: '华瓷', amounts: ['1.00', '2.50'] }, ok: true }],
    ['an empty array', []],
    ['an empty object', {}],
  ])('when the value is %s, then it is storable', (_, value) => {
    expect(isStorableJson(value)).toBe(true);
  });

  it.each([
    ['a string with NUL', { memo: 'a\u0000b' }],
    ['a key with NUL', { 'a\u0000b': 1 }],
    ['a lone surrogate', { memo: '\uD800' }],
    ['a key with a lone surrogate', { '\uDC00': 1 }],
    ['an undefined value', { memo: undefined }],
    ['undefined itself', undefined],
    ['undefined in an array', [1, undefined]],
    ['a function', { run: () => 1 }],
    ['a Date', { at: new Date('2026-01-01T00:00:00Z') }],
    ['a class instance', { point: new Point(1, 2) }],
    ['a Map', new Map([['a', 1]])],
    ['NaN', { rate: NaN }],
    ['Infinity', { rate: Infinity }],
    ['-Infinity', [-Infinity]],
    ['a bigint', { fen: 10n }],
    ['a symbol', { tag: Symbol('x') }],
  ])('when the value holds %s, then it is not storable', (_, value) => {
    expect(isStorableJson(value)).toBe(false);
  });

  it('when nesting is deeper than 32 levels, then it is not storable', () => {
    let shallow: unknown = 'leaf';
    for (let level = 0; level < 32; level += 1) shallow = [shallow];
    expect(isStorableJson(shallow)).toBe(true);
    expect(isStorableJson([shallow])).toBe(false);
  });

  it('when fast-check generates JSON values, then every one is storable', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => isStorableJson(value)));
  });

  it('when an array has a hole, then it is refused or hashed as jsonb reads it back ([1,null,2])', () => {
    // eslint-disable-next-line no-sparse-arrays
    const payload = { items: [1, , 2] };
    // PostgreSQL stores what JSON.stringify writes; the audit hash must verify against that.
    const readBack: unknown = JSON.parse(JSON.stringify(payload));
    const hashed = isStorableJson(payload) ? canonicalJson(payload) : 'refused';
    expect(['refused', canonicalJson(readBack)]).toContain(hashed);
  });
});
