import { canonicalize } from 'json-canonicalize';

/**
 * RFC 8785 (JCS) canonical JSON: sorted keys, no whitespace, ECMAScript number formatting. The
 * audit hash covers this text, so the same record always hashes the same, whatever key order the
 * database hands it back in.
 */
export function canonicalJson(value: unknown): string {
  return canonicalize(value);
}

/**
 * True when `value` survives a round trip through PostgreSQL jsonb unchanged: no NUL characters or
 * unpaired surrogates in strings, only finite numbers, plain objects and arrays. Audit payloads
 * must, or their hash would not verify after being read back.
 */
export function isStorableJson(value: unknown, depth = 0): boolean {
  if (depth > 32) return false;
  if (value === null || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (typeof value === 'string') return isStorableText(value);
  if (Array.isArray(value)) {
    // A hole ([1, , 2]) would be hashed as absent but stored and read back as null.
    for (let index = 0; index < value.length; index += 1) {
      if (!(index in value) || !isStorableJson(value[index], depth + 1)) return false;
    }
    return true;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.entries(value).every(
      ([key, item]) => isStorableText(key) && item !== undefined && isStorableJson(item, depth + 1),
    );
  }
  return false;
}

/** PostgreSQL text cannot hold NUL, and a lone surrogate cannot be encoded as UTF-8. */
export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && !LONE_SURROGATE.test(text);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
