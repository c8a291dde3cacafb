import type { KubeObject, ObjectMeta } from '../common/kube-object.ts';
import type { KubeList } from './pager.ts';
import { SlimItem } from './slim-item.ts';
import { LAST_APPLIED_ANNOTATION } from './slim.ts';
import type { WatchEvent, WatchEventType } from './watch-event.ts';

/**
 * Slims a list page from its bytes: each item becomes the JSON that slimObject and the agent's
 * serialisation in kubectl's member order would make of it — kind, apiVersion, metadata without
 * managedFields and the last-applied annotation, then the rest as the server wrote it, a Secret without
 * `data` and `stringData` — cut and pasted from the page's bytes, with no tree of the object built and no
 * JSON written again. On the initial sync, parsing every item into objects, slimming them and serialising
 * them again was most of the agent's CPU per object (docs/performance.md, "scale").
 *
 * The scanner validates the page as JSON.parse would (strings, escapes, numbers, literals, structure);
 * what it forwards parses to the same values as the slimmed tree would, member order aside within
 * metadata's maps (JSON.parse puts integer-like keys first) and escapes written as the server wrote them.
 * An item it cannot take on this path — not an object, no metadata object, kind or apiVersion not a
 * string, a member it reads given twice, invalid UTF-8 — is parsed into a tree instead, for the caller
 * to slim (slimObject); a page it cannot scan is parsed whole, so that a malformed page fails as before.
 *
 * A Secret's values are never copied out of the page: the members holding them are left out of the
 * bytes the item's JSON is made from, and the page's bytes are overwritten by the next page.
 *
 * A watch line's object is slimmed the same way (slimWatchLineDecoder): the line is scanned as a page of
 * one item.
 */

/** The kind and apiVersion of the listed resource: typed lists leave them out of their items. */
export interface SlimListDefaults {
  kind: string;
  apiVersion: string;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const LOWER_U = 0x75;
const FIRST_PRINTABLE = 0x20;
const FIRST_NON_ASCII = 0x80;
const SENTINEL = 0x00;

/** Thrown inside the scanner: the page is not one it takes (or not JSON); the caller parses it instead. */
class NotScanned extends Error {}
const NOT_SCANNED = new NotScanned('list page not scanned');

/** Member names the scanner acts on, by level. */
const enum Tag {
  Other,
  Kind,
  ApiVersion,
  Metadata,
  Data,
  StringData,
  Items,
  ManagedFields,
  Annotations,
  Name,
  Namespace,
  Uid,
  ResourceVersion,
  LastApplied,
  EventType,
  EventObject,
}

/** A member name the scanner acts on: its bytes, and its text for keys written with escapes. */
interface Name {
  readonly text: string;
  readonly bytes: Uint8Array;
  readonly tag: Tag;
}

const ascii = (text: string): Uint8Array => Buffer.from(text, 'latin1');
const names = (list: Array<[string, Tag]>): readonly Name[] => list.map(([text, tag]) => ({ text, bytes: ascii(text), tag }));
const ITEM_NAMES = names([
  ['kind', Tag.Kind],
  ['apiVersion', Tag.ApiVersion],
  ['metadata', Tag.Metadata],
  ['data', Tag.Data],
  ['stringData', Tag.StringData],
]);
const PAGE_NAMES = names([
  ['metadata', Tag.Metadata],
  ['items', Tag.Items],
]);
const METADATA_NAMES = names([
  ['managedFields', Tag.ManagedFields],
  ['annotations', Tag.Annotations],
  ['name', Tag.Name],
  ['namespace', Tag.Namespace],
  ['uid', Tag.Uid],
  ['resourceVersion', Tag.ResourceVersion],
]);
const ANNOTATION_NAMES = names([[LAST_APPLIED_ANNOTATION, Tag.LastApplied]]);
const EVENT_NAMES = names([
  ['type', Tag.EventType],
  ['object', Tag.EventObject],
]);
/** The watch events whose object is a resource (BOOKMARK and ERROR carry a bare resourceVersion or a Status). */
const OBJECT_EVENT_TYPES: ReadonlySet<string> = new Set<WatchEventType>(['ADDED', 'MODIFIED', 'DELETED']);
const HEAD_KIND = ascii('{"kind":');
const HEAD_API_VERSION = ascii(',"apiVersion":');
const HEAD_METADATA = ascii(',"metadata":');
const TRUE = ascii('true');
const FALSE = ascii('false');
const NULL = ascii('null');

/** Characters of an integer part up to which a number without exponent is always a finite double (one up to 1e308). */
const MAX_EXACT_INTEGER_DIGITS = 300;
/** Nesting a page may have before it is parsed whole instead (JSON.parse has no such limit). */
const MAX_DEPTH = 1024;
/** Members one level may hold before an item is parsed as a tree instead (far above any real object's). */
const MAX_MEMBERS = 256;
/** Bytes written around an item's own: kind, apiVersion and metadata keys, braces, commas. */
const HEAD_BYTES = 64;
/** The first size of the reused page buffer; it grows to the largest page seen (kept up to MAX_RETAINED_BUFFER_BYTES). */
const INITIAL_BUFFER_BYTES = 1 << 20;
/**
 * The largest page buffer kept between pages. The buffer is the process's (every reflector's): one
 * unusually large page (big ConfigMaps or CRDs, 500 to a page) must not pin twice its size for the
 * agent's lifetime, outside the list budget (list-budget.ts) that bounds pages in flight; a buffer grown
 * beyond this is let go once its page is decoded, as the text of the JSON.parse path was.
 */
const MAX_RETAINED_BUFFER_BYTES = 32 << 20;

/** The members of one object level: where each starts (its key) and ends (its value), and what it is. */
class Members {
  count = 0;
  readonly start = new Int32Array(MAX_MEMBERS);
  readonly valueStart = new Int32Array(MAX_MEMBERS);
  readonly end = new Int32Array(MAX_MEMBERS);
  readonly tag = new Uint8Array(MAX_MEMBERS);
  /** Whether a value's string had escapes. */
  readonly escaped = new Uint8Array(MAX_MEMBERS);

  add(start: number, valueStart: number, end: number, tag: Tag, escaped: boolean): void {
    const n = this.count;
    if (n === MAX_MEMBERS) throw NOT_AN_ITEM;
    this.start[n] = start;
    this.valueStart[n] = valueStart;
    this.end[n] = end;
    this.tag[n] = tag;
    this.escaped[n] = escaped ? 1 : 0;
    this.count = n + 1;
  }

  /** Index of the member tagged `tag`, -1 if none. */
  find(tag: Tag): number {
    for (let i = 0; i < this.count; i++) if (this.tag[i] === tag) return i;
    return -1;
  }
}

/** Thrown for one item the slim path does not take: it is parsed as a tree instead. */
class NotAnItem extends Error {}
const NOT_AN_ITEM = new NotAnItem('list item not scanned');

// The scanner's state: one page at a time, synchronously, so module-level.
let buf: Buffer = Buffer.allocUnsafe(INITIAL_BUFFER_BYTES);
/** End of the page's bytes in `buf`; the sentinel follows, then the item being written. */
let end = 0;
/** Bytes of every string since the item began, OR-ed: ≥ 0x80 when the item is not ASCII. */
let high = 0;
/** Whether the string scanned last had escapes. */
let escapes = false;
/**
 * Whether a number since the item began is one JSON.stringify would write as another value (beyond a
 * double's range: null; a negative zero: 0): the item is then parsed as a tree instead.
 */
let unlike = false;
/** Where the next byte of the item being written goes. */
let out = 0;
const itemMembers = new Members();
const metadataMembers = new Members();
const annotationMembers = new Members();

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= DIGIT_0 && c <= DIGIT_9;
}

function whitespace(i: number): number {
  const b = buf;
  let c = b[i];
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
  return i;
}

/** `i` at a string's opening quote; returns the index after its closing quote. Sets `escapes`, adds to `high`. */
function string(i: number): number {
  const b = buf;
  const stop = end;
  let bits = 0;
  let escaped = false;
  for (i++; i < stop;) {
    const c = b[i]!;
    if (c === QUOTE) {
      high |= bits;
      escapes = escaped;
      return i + 1;
    }
    if (c === BACKSLASH) {
      i = escape(i);
      escaped = true;
    } else {
      if (c < FIRST_PRINTABLE) throw NOT_SCANNED;
      bits |= c;
      i++;
    }
  }
  throw NOT_SCANNED;
}

/** `i` at a backslash; returns the index after the escape. */
function escape(i: number): number {
  switch (buf[i + 1]) {
    case QUOTE:
    case BACKSLASH:
    case 0x2f: // /
    case 0x62: // b
    case 0x66: // f
    case 0x6e: // n
    case 0x72: // r
    case 0x74: // t
      return i + 2;
    case LOWER_U:
      for (let k = i + 2; k < i + 6; k++) {
        const c = buf[k];
        const hex = c !== undefined && ((c >= DIGIT_0 && c <= DIGIT_9) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46));
        if (!hex || k >= end) throw NOT_SCANNED;
      }
      return i + 6;
    default:
      throw NOT_SCANNED;
  }
}

function number(i: number): number {
  const start = i;
  const negative = buf[i] === MINUS;
  if (negative) i++;
  // Only a negative zero, an exponent or a long integer part can be a value JSON.stringify writes otherwise.
  let rare = negative && buf[i] === DIGIT_0;
  if (buf[i] === DIGIT_0) i++;
  else if (isDigit(buf[i])) while (isDigit(buf[++i]));
  else throw NOT_SCANNED;
  if (i - start > MAX_EXACT_INTEGER_DIGITS) rare = true;
  if (buf[i] === DOT) {
    if (!isDigit(buf[++i])) throw NOT_SCANNED;
    while (isDigit(buf[++i]));
  }
  if (buf[i] === LOWER_E || buf[i] === UPPER_E) {
    rare = true;
    i++;
    if (buf[i] === PLUS || buf[i] === MINUS) i++;
    if (!isDigit(buf[i])) throw NOT_SCANNED;
    while (isDigit(buf[++i]));
  }
  if (i > end) throw NOT_SCANNED;
  if (rare) {
    const parsed = Number(buf.toString('latin1', start, i));
    if (!Number.isFinite(parsed) || Object.is(parsed, -0)) unlike = true;
  }
  return i;
}

function literal(i: number, word: Uint8Array): number {
  if (i + word.length > end) throw NOT_SCANNED;
  for (let k = 0; k < word.length; k++) if (buf[i + k] !== word[k]) throw NOT_SCANNED;
  return i + word.length;
}

/** Open containers of the value being skipped, by depth (their opening byte). */
const open = new Uint8Array(MAX_DEPTH);

/** `i` at an object member's key; returns the index of its value (whitespace skipped). */
function key(i: number): number {
  if (buf[i] !== QUOTE) throw NOT_SCANNED;
  i = whitespace(string(i));
  if (buf[i] !== COLON) throw NOT_SCANNED;
  return whitespace(i + 1);
}

/**
 * `i` at a value's first byte; returns the index after it. One loop over the value with a stack of the
 * containers it is in, rather than a call per nested value: most of a page's bytes are in values only
 * skipped (managedFields, spec, status), and this touches each byte once.
 */
function value(i: number): number {
  const b = buf;
  let depth = 0;
  for (;;) {
    // A value starts at i.
    const c = b[i];
    if (c === QUOTE) i = string(i);
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (depth === MAX_DEPTH) throw NOT_SCANNED;
      open[depth++] = c;
      i = whitespace(i + 1);
      if (b[i] !== c + 2) {
        // Not empty ('}' and ']' are two after '{' and '['): its first value.
        if (c === OPEN_BRACE) i = key(i);
        continue;
      }
      depth--;
      i++;
    } else if (c === 0x74) i = literal(i, TRUE);
    else if (c === 0x66) i = literal(i, FALSE);
    else if (c === 0x6e) i = literal(i, NULL);
    else i = number(i);
    // After a value: close what ends here, up to the next value.
    for (;;) {
      if (depth === 0) return i;
      i = whitespace(i);
      const after = b[i];
      const container = open[depth - 1]!;
      if (after === COMMA) {
        i = whitespace(i + 1);
        if (container === OPEN_BRACE) i = key(i);
        break;
      }
      if (after !== container + 2) throw NOT_SCANNED;
      depth--;
      i++;
    }
  }
}

/** What the key in [start, stop) (quotes included) names among `names`. */
function tagOf(start: number, stop: number, escaped: boolean, names: readonly Name[]): Tag {
  if (escaped) {
    const key = JSON.parse(buf.toString('utf8', start, stop)) as string;
    for (const name of names) if (key === name.text) return name.tag;
    return Tag.Other;
  }
  const b = buf;
  const length = stop - start - 2;
  const first = b[start + 1];
  for (let n = 0; n < names.length; n++) {
    const name = names[n]!;
    const bytes = name.bytes;
    if (bytes.length !== length || bytes[0] !== first) continue;
    let k = 1;
    while (k < length && b[start + 1 + k] === bytes[k]) k++;
    if (k === length) return name.tag;
  }
  return Tag.Other;
}

/** What the key taggedKey read last names among its `names`. */
let keyTag: Tag = Tag.Other;

/** `i` at an object member's key; returns the index of its value (whitespace skipped) and sets keyTag. */
function taggedKey(i: number, names: readonly Name[]): number {
  if (buf[i] !== QUOTE) throw NOT_SCANNED;
  const stop = string(i);
  keyTag = tagOf(i, stop, escapes, names);
  i = whitespace(stop);
  if (buf[i] !== COLON) throw NOT_SCANNED;
  return whitespace(i + 1);
}

/**
 * Scans an object's members into `members`, tagging those named in `names`; `nested` scans the value of
 * a tagged member that is an object (metadata, annotations). `i` at the opening brace; returns the index
 * after the closing one. A tagged member given twice makes the item NOT_AN_ITEM (which one counts is
 * JSON.parse's business: the last).
 */
function members(i: number, into: Members, names: readonly Name[], nested?: (tag: Tag, i: number) => number): number {
  into.count = 0;
  i = whitespace(i + 1);
  if (buf[i] === CLOSE_BRACE) return i + 1;
  for (;;) {
    const start = i;
    const valueStart = taggedKey(i, names);
    const tag = keyTag;
    escapes = false;
    i = tag !== Tag.Other && nested !== undefined && buf[valueStart] === OPEN_BRACE ? nested(tag, valueStart) : value(valueStart);
    const valueEscaped = escapes && buf[valueStart] === QUOTE;
    if (tag !== Tag.Other && tag !== Tag.ManagedFields && tag !== Tag.LastApplied && tag !== Tag.Data && tag !== Tag.StringData && into.find(tag) >= 0)
      throw NOT_AN_ITEM;
    into.add(start, valueStart, i, tag, valueEscaped);
    i = whitespace(i);
    const c = buf[i];
    if (c === COMMA) i = whitespace(i + 1);
    else if (c === CLOSE_BRACE) return i + 1;
    else throw NOT_SCANNED;
  }
}

function nestedInMetadata(tag: Tag, i: number): number {
  return tag === Tag.Annotations ? members(i, annotationMembers, ANNOTATION_NAMES) : value(i);
}

function nestedInItem(tag: Tag, i: number): number {
  return tag === Tag.Metadata ? members(i, metadataMembers, METADATA_NAMES, nestedInMetadata) : value(i);
}

// --- writing an item --------------------------------------------------------------------------------

function ensureRoom(bytes: number): void {
  if (out + bytes <= buf.length) return;
  const grown = Buffer.allocUnsafe(Math.max(buf.length * 2, out + bytes));
  buf.copy(grown, 0, 0, out);
  buf = grown;
}

function write(bytes: Uint8Array): void {
  buf.set(bytes, out);
  out += bytes.length;
}

/** Copies the page's bytes [start, stop) to the item being written. */
function copy(start: number, stop: number): void {
  buf.copyWithin(out, start, stop);
  out += stop - start;
}

/**
 * Writes the members of `from` that `keep` keeps, comma-separated, copying runs of adjacent members in
 * one piece (with the separators between them as the server wrote them). Returns how many it wrote.
 */
function writeMembers(from: Members, keep: (index: number) => boolean, first: boolean): boolean {
  let runStart = -1;
  let runEnd = -1;
  for (let m = 0; m < from.count; m++) {
    if (!keep(m)) {
      if (runStart >= 0) {
        if (!first) buf[out++] = COMMA;
        copy(runStart, runEnd);
        first = false;
        runStart = -1;
      }
      continue;
    }
    if (runStart < 0) runStart = from.start[m]!;
    runEnd = from.end[m]!;
  }
  if (runStart >= 0) {
    if (!first) buf[out++] = COMMA;
    copy(runStart, runEnd);
    first = false;
  }
  return first;
}

let secret = false;
const keepInItem = (m: number): boolean => {
  const tag = itemMembers.tag[m];
  return tag === Tag.Other || (!secret && (tag === Tag.Data || tag === Tag.StringData));
};
const keepInMetadata = (m: number): boolean => {
  const tag = metadataMembers.tag[m];
  return tag !== Tag.ManagedFields && !(tag === Tag.Annotations && rewriteAnnotations(m));
};
const keepAnnotation = (m: number): boolean => annotationMembers.tag[m] !== Tag.LastApplied;

/** Whether the metadata member `m` (annotations) is written by writeAnnotations instead of copied. */
function rewriteAnnotations(m: number): boolean {
  return buf[metadataMembers.valueStart[m]!] === OPEN_BRACE && annotationMembers.find(Tag.LastApplied) >= 0;
}

/** The annotations without the last-applied one; nothing when none is left (slimObject deletes the empty map). */
function writeAnnotations(m: number, first: boolean): boolean {
  let others = 0;
  for (let a = 0; a < annotationMembers.count; a++) if (annotationMembers.tag[a] !== Tag.LastApplied) others++;
  if (others === 0) return first;
  if (!first) buf[out++] = COMMA;
  copy(metadataMembers.start[m]!, metadataMembers.valueStart[m]!);
  buf[out++] = OPEN_BRACE;
  writeMembers(annotationMembers, keepAnnotation, true);
  buf[out++] = CLOSE_BRACE;
  return false;
}

function writeMetadata(): void {
  buf[out++] = OPEN_BRACE;
  const annotations = metadataMembers.find(Tag.Annotations);
  if (annotations < 0 || !rewriteAnnotations(annotations)) {
    writeMembers(metadataMembers, keepInMetadata, true);
  } else {
    // Members before the annotations, the annotations rewritten, the members after them.
    let first = writeMembers(metadataMembers, (m) => m < annotations && keepInMetadata(m), true);
    first = writeAnnotations(annotations, first);
    writeMembers(metadataMembers, (m) => m > annotations && keepInMetadata(m), first);
  }
  buf[out++] = CLOSE_BRACE;
}

/** A string member's value, decoded. */
function stringValue(from: Members, m: number, isAscii: boolean): string {
  const start = from.valueStart[m]!;
  const stop = from.end[m]!;
  if (from.escaped[m] === 1) return JSON.parse(buf.toString('utf8', start, stop)) as string;
  return buf.toString(isAscii ? 'latin1' : 'utf8', start + 1, stop - 1);
}

/** A string member's value, or '' when the member is absent; NOT_AN_ITEM when it is not a string. */
function optionalString(from: Members, tag: Tag, isAscii: boolean): string {
  const m = from.find(tag);
  if (m < 0) return '';
  if (buf[from.valueStart[m]!] !== QUOTE) throw NOT_AN_ITEM;
  return stringValue(from, m, isAscii);
}

/** The value of the item's kind or apiVersion member, or `fallback` when it has none; NOT_AN_ITEM when it is not a string. */
function typeMember(tag: Tag, fallback: string, isAscii: boolean): string {
  const m = itemMembers.find(tag);
  if (m < 0) return fallback;
  if (buf[itemMembers.valueStart[m]!] !== QUOTE) throw NOT_AN_ITEM;
  return stringValue(itemMembers, m, isAscii);
}

/** Writes the value of the item's kind or apiVersion member as the server wrote it, or `fallback` (JSON) when it has none. */
function writeTypeMember(tag: Tag, fallback: Uint8Array): void {
  const m = itemMembers.find(tag);
  if (m < 0) write(fallback);
  else copy(itemMembers.valueStart[m]!, itemMembers.end[m]!);
}

/**
 * Scans the loaded bytes as one JSON object: hands each member's tag among `names` and the index of its
 * value to `member`, which returns the index after that value. NOT_SCANNED unless the bytes are exactly
 * one object (whitespace around it aside).
 */
function topLevelObject(names: readonly Name[], member: (tag: Tag, valueStart: number) => number): void {
  let i = whitespace(0);
  if (buf[i] !== OPEN_BRACE) throw NOT_SCANNED;
  i = whitespace(i + 1);
  if (buf[i] !== CLOSE_BRACE) {
    for (;;) {
      const valueStart = taggedKey(i, names);
      i = whitespace(member(keyTag, valueStart));
      const c = buf[i];
      if (c === COMMA) i = whitespace(i + 1);
      else if (c === CLOSE_BRACE) break;
      else throw NOT_SCANNED;
    }
  }
  if (whitespace(i + 1) !== end) throw NOT_SCANNED;
}

/** Copies `bytes` bytes of `chunks` into the scanner's buffer, which it grows to hold them and an item written after them. */
function load(chunks: readonly Buffer[], bytes: number): void {
  if (buf.length < bytes * 2 + HEAD_BYTES) buf = Buffer.allocUnsafe(Math.max(buf.length * 2, bytes * 2 + HEAD_BYTES));
  let at = 0;
  for (const chunk of chunks) {
    buf.set(chunk, at);
    at += chunk.length;
  }
  end = bytes;
  // A byte no scanning loop goes past (not whitespace, a digit, a value's start or a structural
  // character): whatever an earlier page left beyond this one is never read as part of it.
  buf[end] = SENTINEL;
}

function releaseLargeBuffer(): void {
  if (buf.length > MAX_RETAINED_BUFFER_BYTES) buf = Buffer.allocUnsafe(INITIAL_BUFFER_BYTES);
}

/** The scanner declined the bytes (not a shape it takes, not JSON, or an index past the buffer): the caller parses them instead. */
function scannerRefusal(err: unknown): boolean {
  return err instanceof NotScanned || err instanceof NotAnItem || err instanceof RangeError;
}

class SlimDecoder {
  private readonly kindJson: Uint8Array;
  private readonly apiVersionJson: Uint8Array;
  /** The defaults' bytes OR-ed, like `high`: an item they are written into is not ASCII when they are not. */
  private readonly defaultsHigh: number;

  constructor(private readonly defaults: SlimListDefaults) {
    this.kindJson = Buffer.from(JSON.stringify(defaults.kind), 'utf8');
    this.apiVersionJson = Buffer.from(JSON.stringify(defaults.apiVersion), 'utf8');
    this.defaultsHigh = [...this.kindJson, ...this.apiVersionJson].reduce((bits, byte) => bits | byte, 0);
  }

  decode(chunks: readonly Buffer[], bytes: number): KubeList | undefined {
    if (bytes === 0) return undefined;
    load(chunks, bytes);
    try {
      return this.page();
    } catch (err) {
      if (!scannerRefusal(err)) throw err;
      // Not a page this scanner takes (or not JSON at all): parsed whole, so that it fails, or slims, as before.
      return JSON.parse(buf.toString('utf8', 0, bytes)) as KubeList;
    } finally {
      releaseLargeBuffer();
    }
  }

  /**
   * One watch line as an event whose object is a SlimItem, or undefined when the line is not one this
   * path takes (a BOOKMARK or ERROR, an object it cannot take, anything malformed): the caller parses
   * that line as it always did, so that it fails, or slims, as before.
   */
  decodeEvent(line: Buffer): WatchEvent | undefined {
    load([line], line.length);
    try {
      return this.event();
    } catch (err) {
      if (!scannerRefusal(err)) throw err;
      return undefined;
    } finally {
      releaseLargeBuffer();
    }
  }

  private event(): WatchEvent | undefined {
    let type: WatchEventType | undefined;
    let object: SlimItem | undefined;
    topLevelObject(EVENT_NAMES, (tag, valueStart) => {
      if (tag === Tag.EventType) {
        if (type !== undefined || buf[valueStart] !== QUOTE) throw NOT_SCANNED;
        const i = string(valueStart);
        const text = escapes ? '' : buf.toString('latin1', valueStart + 1, i - 1);
        // Only the three types whose object is a resource, written without escapes; the rest is parsed.
        if (!OBJECT_EVENT_TYPES.has(text)) throw NOT_SCANNED;
        type = text as WatchEventType;
        return i;
      }
      if (tag === Tag.EventObject) {
        if (object !== undefined || buf[valueStart] !== OPEN_BRACE) throw NOT_SCANNED;
        high = 0;
        unlike = false;
        const i = members(valueStart, itemMembers, ITEM_NAMES, nestedInItem);
        object = this.item(valueStart, i);
        return i;
      }
      return value(valueStart);
    });
    if (type === undefined || object === undefined) throw NOT_SCANNED;
    return { type, object: object as unknown as KubeObject };
  }

  private page(): KubeList {
    let metadata: KubeList['metadata'];
    let items: KubeList['items'];
    let seenMetadata = false;
    topLevelObject(PAGE_NAMES, (tag, valueStart) => {
      if (tag === Tag.Items) {
        if (items !== undefined) throw NOT_SCANNED;
        if (buf[valueStart] === OPEN_BRACKET) {
          items = [];
          return this.items(valueStart, items);
        }
        const i = value(valueStart);
        items = JSON.parse(buf.toString('utf8', valueStart, i)) as KubeList['items'];
        return i;
      }
      const i = value(valueStart);
      if (tag === Tag.Metadata) {
        if (seenMetadata) throw NOT_SCANNED;
        seenMetadata = true;
        metadata = JSON.parse(buf.toString('utf8', valueStart, i)) as KubeList['metadata'];
      }
      return i;
    });
    const page: KubeList = {};
    if (metadata !== undefined) page.metadata = metadata;
    if (items !== undefined) page.items = items;
    return page;
  }

  private items(i: number, items: NonNullable<KubeList['items']>): number {
    i = whitespace(i + 1);
    if (buf[i] === CLOSE_BRACKET) return i + 1;
    for (;;) {
      const start = i;
      if (buf[i] === OPEN_BRACE) {
        high = 0;
        unlike = false;
        try {
          i = members(i, itemMembers, ITEM_NAMES, nestedInItem);
          items.push(this.item(start, i) as unknown as KubeObject);
        } catch (err) {
          if (!(err instanceof NotAnItem)) throw err;
          i = value(start);
          items.push(JSON.parse(buf.toString('utf8', start, i)) as KubeObject);
        }
      } else {
        i = value(i);
        items.push(JSON.parse(buf.toString('utf8', start, i)) as KubeObject);
      }
      i = whitespace(i);
      const c = buf[i];
      if (c === COMMA) i = whitespace(i + 1);
      else if (c === CLOSE_BRACKET) return i + 1;
      else throw NOT_SCANNED;
    }
  }

  /** The scanned item [start, stop) as a SlimItem. */
  private item(start: number, stop: number): SlimItem {
    const m = itemMembers.find(Tag.Metadata);
    if (m < 0 || buf[itemMembers.valueStart[m]!] !== OPEN_BRACE || unlike) throw NOT_AN_ITEM;
    const isAscii = (high | this.defaultsHigh) < FIRST_NON_ASCII;
    const kind = typeMember(Tag.Kind, this.defaults.kind, isAscii);
    const apiVersion = typeMember(Tag.ApiVersion, this.defaults.apiVersion, isAscii);
    const namespace = optionalString(metadataMembers, Tag.Namespace, isAscii);
    const name = optionalString(metadataMembers, Tag.Name, isAscii);
    const uid = optionalString(metadataMembers, Tag.Uid, isAscii);
    const resourceVersion = optionalString(metadataMembers, Tag.ResourceVersion, isAscii);
    secret = kind === 'Secret';

    out = end + 1;
    ensureRoom(stop - start + this.kindJson.length + this.apiVersionJson.length + HEAD_BYTES);
    const bodyStart = out;
    write(HEAD_KIND);
    writeTypeMember(Tag.Kind, this.kindJson);
    write(HEAD_API_VERSION);
    writeTypeMember(Tag.ApiVersion, this.apiVersionJson);
    write(HEAD_METADATA);
    const metadataStart = out;
    writeMetadata();
    const metadataEnd = out;
    writeMembers(itemMembers, keepInItem, false);
    buf[out++] = CLOSE_BRACE;

    const bodyBytes = out - bodyStart;
    const range = { offset: metadataStart - bodyStart, length: metadataEnd - metadataStart };
    if (isAscii) {
      const json = { body: buf.toString('latin1', bodyStart, out), bodyBytes, metadata: range };
      return new SlimItem(kind, apiVersion, namespace, name, uid, resourceVersion, json);
    }
    const body = buf.toString('utf8', bodyStart, out);
    // Invalid UTF-8 turns into replacement characters, whose bytes differ: the tree path measures them.
    if (Buffer.byteLength(body, 'utf8') !== bodyBytes) throw NOT_AN_ITEM;
    const metadata = JSON.parse(buf.toString('utf8', metadataStart, metadataEnd)) as ObjectMeta;
    return new SlimItem(kind, apiVersion, namespace, name, uid, resourceVersion, { body, bodyBytes, metadata: range }, metadata);
  }
}

/** Bytes of the page buffer kept for the next page (tests: a large page's buffer is not kept). */
export function retainedPageBufferBytes(): number {
  return buf.length;
}

/**
 * A decoder of list pages for a reflector that slims (see above): joins a page's chunks into a buffer it
 * reuses and returns the page with its items as SlimItems, or as objects for the caller to slim where the
 * slim path does not take them. Synchronous: the buffer is the next page's once it returns.
 */
export function slimListDecoder(defaults: SlimListDefaults): (chunks: readonly Buffer[], bytes: number) => KubeList | undefined {
  const decoder = new SlimDecoder(defaults);
  return (chunks, bytes) => decoder.decode(chunks, bytes);
}

/**
 * A decoder of watch lines for a reflector that slims: an ADDED, MODIFIED or DELETED event's object
 * becomes a SlimItem made from the line's bytes as a list item is (the same rules, the same Secret rule:
 * no value of a Secret's data becomes a string). Returns undefined for a line it does not take, which the
 * caller parses whole (parseWatchLine), so BOOKMARKs, ERRORs and malformed lines keep their old path.
 * On a busy feed, parsing each event whole and serialising the slimmed object again was the agent's
 * largest cost per change (docs/performance.md, "Performance v2").
 */
export function slimWatchLineDecoder(defaults: SlimListDefaults): (line: Buffer) => WatchEvent | undefined {
  const decoder = new SlimDecoder(defaults);
  return (line) => decoder.decodeEvent(line);
}
