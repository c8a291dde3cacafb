/**
 * Finds one member of a JSON object's top level without parsing the rest: the hub derives its indexed
 * columns from an object's metadata, which is a few hundred bytes of a body often ten times that, and
 * parsing whole bodies was the largest share of the hub's own CPU on an initial sync after SQLite
 * (docs/performance.md, "scale"). The scan walks every top-level member (JSON.parse keeps the last of
 * duplicate keys, so does this) and gives up — `undefined`, meaning "parse the whole text" — on anything
 * it does not follow: a key written with escapes, a text that is not an object, brackets or strings that
 * do not close, or an object that does not end where the text does. It does not check numbers and
 * literals outside the member it returns, so a body JSON.parse would refuse for those alone still
 * yields its metadata.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipWhitespace(text: string, i: number): number {
  while (i < text.length && isWhitespace(text.charCodeAt(i))) i++;
  return i;
}

/** The index just past the string that opens at `i` (a quote), or -1 when it does not close. */
function skipString(text: string, i: number): number {
  for (i++; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return -1;
}

/** The index just past the value that starts at `i`, or -1 when its brackets or strings do not close. */
function skipValue(text: string, i: number): number {
  const first = text.charCodeAt(i);
  if (first === QUOTE) return skipString(text, i);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        i = skipString(text, i);
        if (i < 0) return -1;
        i--;
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    return -1;
  }
  // A number, true, false or null: up to the next separator.
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || isWhitespace(c)) break;
    i++;
  }
  return i;
}

/**
 * The text of the value of the top-level member `key` of the JSON object `text`: a string, `null` when
 * the object has no such member, or `undefined` when the text is not one the scan follows (parse it).
 * Values are returned as written; the caller parses the one it needs.
 */
export function topLevelMemberText(text: string, key: string): string | null | undefined {
  let i = skipWhitespace(text, 0);
  if (text.charCodeAt(i) !== OPEN_BRACE) return undefined;
  i = skipWhitespace(text, i + 1);
  let found: string | null = null;
  if (text.charCodeAt(i) === CLOSE_BRACE) return skipWhitespace(text, i + 1) === text.length ? null : undefined;
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) return undefined;
    const keyEnd = skipString(text, i);
    if (keyEnd < 0) return undefined;
    const name = text.slice(i + 1, keyEnd - 1);
    if (name.includes('\\')) return undefined;
    i = skipWhitespace(text, keyEnd);
    if (text.charCodeAt(i) !== COLON) return undefined;
    const valueStart = skipWhitespace(text, i + 1);
    const valueEnd = skipValue(text, valueStart);
    if (valueEnd < 0 || valueEnd === valueStart) return undefined;
    if (name === key) found = text.slice(valueStart, valueEnd);
    i = skipWhitespace(text, valueEnd);
    const c = text.charCodeAt(i);
    if (c === COMMA) {
      i = skipWhitespace(text, i + 1);
      continue;
    }
    if (c === CLOSE_BRACE) return skipWhitespace(text, i + 1) === text.length ? found : undefined;
    return undefined;
  }
}
