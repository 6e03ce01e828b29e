import fc from 'fast-check';
import { findDuplicateKey } from '../../src/http/duplicate-keys';

const CONTAINERS_MAX = 33;
const SIBLING = '~sibling';

function duplicateIn(text: string, containersMax = CONTAINERS_MAX): string | undefined {
  return findDuplicateKey(Buffer.from(text, 'utf8'), containersMax);
}

/** A member name written with every character escaped as \uXXXX: the same name to JSON.parse. */
function escapedFully(name: string): string {
  return `"${[...name]
    .map((char) =>
      char
        .split('')
        .map((unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`)
        .join(''),
    )
    .join('')}"`;
}

function pointerSegment(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}

describe('findDuplicateKey', () => {
  test.each([
    ['a flat object', '{"amount":"1.00","amount":"999999.00"}', '/amount'],
    ['an object in an array in an object', '{"lines":[{"a":1},{"a":1,"b":2,"a":3}]}', '/lines/1/a'],
    ['a deep object', '{"x":{"y":[[],[{"z":{"k":1,"k":2}}]]}}', '/x/y/1/0/z/k'],
    ['an object with an escaped spelling of a name', '{"amount":1,"\\u0061mount":2}', '/amount'],
    ['an object whose names hold escaped quotes', '{"a\\"b":1,"a\\u0022b":2}', '/a"b'],
    ['an object under a name that needs pointer escapes', '{"a/b~c":{"x":1,"x":1}}', '/a~1b~0c/x'],
    ['an object with a non-ASCII name', '{"金额":"1.00","金额":"2.00"}', '/金额'],
    ['an object with an empty name', '{"":1,"":2}', '/'],
    ['an object with values that look like names', '{"a":"\\"b\\":","b":{},"b":1}', '/b'],
    ['an object with whitespace everywhere', ' { "a" : 1 ,\n\t"a" : 2 } ', '/a'],
  ])('when %s repeats a name, then the pointer names it', (_case, text, pointer) => {
    expect(duplicateIn(text)).toBe(pointer);
  });

  test.each([
    ['the same name is in sibling objects', '[{"a":1},{"a":2}]'],
    ['the same name is in a parent and a child', '{"a":{"a":{"a":1}}}'],
    ['a name equals a string value', '{"a":"b","b":"a"}'],
    ['names differ only in case', '{"amount":1,"Amount":2}'],
    ['a value is an escaped copy of a name', '{"a":"\\u0061","b":"a"}'],
    ['there is no object at all', '[1,"a","a",true,null]'],
    ['the body is empty', ''],
  ])('when %s, then there is no duplicate', (_case, text) => {
    expect(duplicateIn(text)).toBeUndefined();
  });

  test.each([
    ['an unterminated string', '{"a":1,"a'],
    ['a bad escape in a name', '{"a":1,"\\x61":2}'],
    ['stray closing brackets', ']]]}}}{"a":1}'],
    ['a lone quote', '"'],
  ])('when the text is not JSON (%s), then the scan ends without throwing', (_case, text) => {
    expect(() => duplicateIn(text)).not.toThrow();
  });

  test('when more containers are open than the limit, then the scan stops without an answer', () => {
    const deep = `${'['.repeat(40)}{"a":1,"a":2}${']'.repeat(40)}`;
    expect(duplicateIn(deep, CONTAINERS_MAX)).toBeUndefined();
    expect(duplicateIn(deep, 41)).toBe(`${'/0'.repeat(40)}/a`);
  });

  test('when any JSON value is serialized by JSON.stringify, then no duplicate is found', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(duplicateIn(JSON.stringify(value), 1_000)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  test('when a member of any object is repeated, plainly or escaped, then the pointer names that member', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 6 }), { maxLength: 4 }),
        fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 5 }),
        fc.nat(),
        fc.boolean(),
        (path, object, pick, escaped) => {
          fc.pre(!path.includes(SIBLING));
          const names = Object.keys(object);
          const repeated = names[pick % names.length]!;
          const members = names.map((name) => `${JSON.stringify(name)}:${JSON.stringify(object[name])}`);
          const again = `${escaped ? escapedFully(repeated) : JSON.stringify(repeated)}:null`;
          let text = `{${[...members, again].join(',')}}`;
          // Nest the object under a path of members, each beside a sibling that repeats nothing.
          for (const name of [...path].reverse()) text = `{"${SIBLING}":[1],${JSON.stringify(name)}:${text}}`;

          expect(duplicateIn(text, 1_000)).toBe([...path, repeated].map((name) => `/${pointerSegment(name)}`).join(''));
        },
      ),
      { numRuns: 300 },
    );
  });
});
