/**
 * I-JSON (RFC 7493 §2.3): no object names a member twice. JSON.parse keeps the last of two equal
 * names and says nothing, so `{"amount":"1.00","amount":"999999.00"}` would be read as 999,999.00
 * by us and as 1.00 by anyone who reads the text first. The parsed value cannot show a duplicate,
 * so this scans the raw UTF-8 text once, before it is parsed.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OBJECT_OPEN = 0x7b;
const OBJECT_CLOSE = 0x7d;
const ARRAY_OPEN = 0x5b;
const ARRAY_CLOSE = 0x5d;

interface ObjectFrame {
  kind: 'object';
  names: Set<string>;
  /** The member whose value the scan is in: a segment of the pointer to anything inside it. */
  name: string;
  /** True after `{` or `,`: the next string is a member name, not a value. */
  expectsName: boolean;
}

interface ArrayFrame {
  kind: 'array';
  index: number;
}

type Frame = ObjectFrame | ArrayFrame;

/**
 * The JSON Pointer (RFC 6901) of the first member name repeated within one object of `json`, or
 * undefined. Names are compared as JSON.parse would after unescaping, so "a" and "\u0061" are the
 * same name. One linear pass over the bytes: every structural character of JSON is ASCII, and
 * UTF-8 never puts an ASCII byte inside a multi-byte character.
 *
 * The answer is meaningful only for valid JSON; the caller parses the text too and refuses a text
 * that is not JSON first. On any input the scan ends in linear time and never throws. It stops
 * (answering undefined) once more than `containersMax` objects and arrays are open at once, so a
 * deep text cannot make it hold a long stack: the caller refuses such a text for its depth.
 */
export function findDuplicateKey(json: Uint8Array, containersMax: number): string | undefined {
  const frames: Frame[] = [];
  let at = 0;
  while (at < json.length) {
    const byte = json[at];
    if (byte === QUOTE) {
      const close = closingQuote(json, at);
      const top = frames[frames.length - 1];
      if (top?.kind === 'object' && top.expectsName) {
        const name = decodeName(json, at, close);
        if (name === undefined) return undefined;
        if (top.names.has(name)) return pointerTo(frames, name);
        top.names.add(name);
        top.name = name;
        top.expectsName = false;
      }
      at = close + 1;
      continue;
    }
    if (byte === OBJECT_OPEN || byte === ARRAY_OPEN) {
      if (frames.length >= containersMax) return undefined;
      frames.push(
        byte === OBJECT_OPEN
          ? { kind: 'object', names: new Set(), name: '', expectsName: true }
          : { kind: 'array', index: 0 },
      );
    } else if (byte === OBJECT_CLOSE || byte === ARRAY_CLOSE) {
      frames.pop();
    } else if (byte === COMMA) {
      const top = frames[frames.length - 1];
      if (top?.kind === 'object') top.expectsName = true;
      else if (top?.kind === 'array') top.index += 1;
    }
    at += 1;
  }
  return undefined;
}

/** The index of the quote that closes the string opening at `open`, or the length if none does. */
function closingQuote(json: Uint8Array, open: number): number {
  let at = open + 1;
  while (at < json.length) {
    const byte = json[at];
    if (byte === QUOTE) return at;
    // The escaped character is skipped whole: `\"` does not close, and `\uXXXX` holds no quote.
    at += byte === BACKSLASH ? 2 : 1;
  }
  return json.length;
}

const decoder = new TextDecoder('utf-8');

/** The name between two quotes as JSON.parse reads it, or undefined if it is not a JSON string. */
function decodeName(json: Uint8Array, open: number, close: number): string | undefined {
  if (close >= json.length) return undefined;
  const raw = json.subarray(open + 1, close);
  if (!raw.includes(BACKSLASH)) return decoder.decode(raw);
  // Escapes are rare in names: JSON.parse of the string literal is the definition of its value.
  try {
    const value: unknown = JSON.parse(decoder.decode(json.subarray(open, close + 1)));
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

function pointerTo(frames: readonly Frame[], duplicate: string): string {
  const segments = frames.slice(0, -1).map((frame) => (frame.kind === 'object' ? frame.name : String(frame.index)));
  segments.push(duplicate);
  return segments.map((segment) => `/${segment.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}
