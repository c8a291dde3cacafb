import type { FeedDescriptor } from './feed.ts';
import { fieldTag, varintSize, WIRE_LEN, WIRE_VARINT } from '../../protocol/wire-sizes.ts';
import type { PendingEntry } from './feed-queue.ts';

/**
 * Writes a `SyncRequest { batch: ChangeBatch }` (proto/scaleagent/v1/agent_hub.proto) straight into one
 * buffer: every size is computed first, then every byte written once, object bodies directly from their
 * JSON text. The generic protobuf-es encoder builds a message object per change and copies each body
 * twice (into its chunk list, then into the result); on the initial sync that was a tenth of the agent's
 * time. The output is what protobuf-es writes for the same message (fields in number order, proto3
 * defaults omitted, oneof members always present) — batch-encoder.test.ts decodes it with protobuf-es.
 */
export interface BatchPart {
  feed: FeedDescriptor;
  entries: readonly PendingEntry[];
  progress: string | undefined;
}

const tag = fieldTag;

// SyncRequest
const SYNC_REQUEST_BATCH = tag(2, WIRE_LEN);
// ChangeBatch
const BATCH_SEQ = tag(1, WIRE_VARINT);
const BATCH_FEEDS = tag(2, WIRE_LEN);
const BATCH_CHANGES = tag(3, WIRE_LEN);
const BATCH_PROGRESS = tag(4, WIRE_LEN);
// Change
const CHANGE_FEED = tag(1, WIRE_VARINT);
const CHANGE_KIND: Record<PendingEntry['type'], number> = {
  upsert: tag(2, WIRE_LEN),
  delete: tag(3, WIRE_LEN),
  touch: tag(4, WIRE_LEN),
  snapshotBegin: tag(5, WIRE_LEN),
  snapshotEnd: tag(6, WIRE_LEN),
  feedDropped: tag(7, WIRE_LEN),
  skipped: tag(8, WIRE_LEN),
  digest: tag(9, WIRE_LEN),
};
// FeedDigest
const DIGEST_COUNT = tag(1, WIRE_VARINT);
const DIGEST_HASH_HIGH = tag(2, WIRE_VARINT);
const DIGEST_HASH_LOW = tag(3, WIRE_VARINT);
// ObjectUpsert (fields 1–4 are its strings, see memberStringsSize; 5 the body)
const UPSERT_METADATA_OFFSET = tag(6, WIRE_VARINT);
const UPSERT_METADATA_LENGTH = tag(7, WIRE_VARINT);
// FeedProgress
const PROGRESS_FEED = tag(1, WIRE_VARINT);
// Feed
const FEED_NAMESPACED = tag(6, WIRE_VARINT);

/** Strings up to this long are measured and written character by character (see utf8Size, Writer.string). */
const SHORT_STRING_CHARS = 64;

/** UTF-8 bytes of a string; short ASCII ones (names, resourceVersions) without a native call. */
function utf8Size(text: string): number {
  if (text.length > SHORT_STRING_CHARS) return Buffer.byteLength(text, 'utf8');
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return Buffer.byteLength(text, 'utf8');
  return text.length;
}

/** Size of a string field with its tag and length; 0 for '' (a proto3 default is not written). */
function stringFieldSize(text: string): number {
  if (text === '') return 0;
  const n = utf8Size(text);
  return 1 + varintSize(n) + n;
}

/** Size of the string fields of one change's oneof member (fields 1 to 5, in field order). */
function memberStringsSize(entry: PendingEntry): number {
  switch (entry.type) {
    case 'upsert':
    case 'delete':
      return stringFieldSize(entry.namespace) + stringFieldSize(entry.name) + stringFieldSize(entry.uid) + stringFieldSize(entry.resourceVersion);
    case 'touch':
      return stringFieldSize(entry.namespace) + stringFieldSize(entry.name) + stringFieldSize(entry.resourceVersion);
    case 'skipped':
      return (
        stringFieldSize(entry.namespace) +
        stringFieldSize(entry.name) +
        stringFieldSize(entry.resourceVersion) +
        stringFieldSize(entry.code) +
        stringFieldSize(entry.message)
      );
    case 'snapshotBegin':
      return stringFieldSize(entry.snapshotId);
    case 'snapshotEnd':
      return stringFieldSize(entry.snapshotId) + stringFieldSize(entry.resourceVersion);
    case 'feedDropped':
      return stringFieldSize(entry.reason);
    case 'digest':
      return 0;
  }
}

/** Writes the string fields memberStringsSize counts. */
function writeMemberStrings(w: Writer, entry: PendingEntry): void {
  switch (entry.type) {
    case 'upsert':
    case 'delete':
      w.string(1, entry.namespace);
      w.string(2, entry.name);
      w.string(3, entry.uid);
      w.string(4, entry.resourceVersion);
      return;
    case 'touch':
      w.string(1, entry.namespace);
      w.string(2, entry.name);
      w.string(3, entry.resourceVersion);
      return;
    case 'skipped':
      w.string(1, entry.namespace);
      w.string(2, entry.name);
      w.string(3, entry.resourceVersion);
      w.string(4, entry.code);
      w.string(5, entry.message);
      return;
    case 'snapshotBegin':
      w.string(1, entry.snapshotId);
      return;
    case 'snapshotEnd':
      w.string(1, entry.snapshotId);
      w.string(2, entry.resourceVersion);
      return;
    case 'feedDropped':
      w.string(1, entry.reason);
      return;
    case 'digest':
      return;
  }
}

/** Size of a uint32 field with its tag; 0 for 0 (a proto3 default is not written). */
function uintFieldSize(value: number): number {
  return value === 0 ? 0 : 1 + varintSize(value);
}

/** A digest's fields: three uint32s. */
function digestSize(entry: Extract<PendingEntry, { type: 'digest' }>): number {
  return uintFieldSize(entry.count) + uintFieldSize(entry.hashHigh) + uintFieldSize(entry.hashLow);
}

/** An upsert's fields after its strings: its body and the range of its metadata. */
function upsertExtraSize(entry: Extract<PendingEntry, { type: 'upsert' }>): number {
  let size = entry.bodyBytes > 0 ? 1 + varintSize(entry.bodyBytes) + entry.bodyBytes : 0;
  if (entry.metadata !== undefined) size += uintFieldSize(entry.metadata.offset) + uintFieldSize(entry.metadata.length);
  return size;
}

function feedFields(feed: FeedDescriptor): string[] {
  return [feed.group, feed.version, feed.kind, feed.resource, feed.namespace];
}

class Writer {
  offset = 0;
  constructor(readonly buf: Buffer) {}

  varint(value: number): void {
    const buf = this.buf;
    while (value >= 0x80) {
      buf[this.offset++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    buf[this.offset++] = value;
  }

  /** A uint32 field (tag, varint); nothing for 0. */
  uint(fieldTag: number, value: number): void {
    if (value === 0) return;
    this.buf[this.offset++] = fieldTag;
    this.varint(value);
  }

  /** A string field (tag, length, bytes); nothing for ''. `size` is its UTF-8 size when known. */
  string(field: number, text: string, size = -1): void {
    if (text === '') return;
    const n = size >= 0 ? size : utf8Size(text);
    this.buf[this.offset++] = tag(field, WIRE_LEN);
    this.varint(n);
    if (n !== text.length) {
      this.offset += this.buf.write(text, this.offset, n, 'utf8');
    } else if (n <= SHORT_STRING_CHARS) {
      // ASCII (as many bytes as characters), and short: names, uids, resourceVersions, written here
      // rather than through a call into Node for each.
      const buf = this.buf;
      const at = this.offset;
      for (let i = 0; i < n; i++) buf[at + i] = text.charCodeAt(i);
      this.offset = at + n;
    } else {
      // ASCII, whose UTF-8 is its Latin-1: copied, not encoded.
      this.offset += this.buf.write(text, this.offset, n, 'latin1');
    }
  }
}

/**
 * The encoded SyncRequest carrying a batch of `seq` with `parts` (one per feed, in the order given: feed
 * index = position). `entries` of upserts carry their body as JSON text and its UTF-8 size.
 */
export function encodeBatchRequest(seq: bigint, parts: readonly BatchPart[]): Buffer {
  // Pass 1: sizes. Each change's member size is kept for pass 2 (its length prefix).
  const seqNumber = Number(seq);
  let batchSize = seqNumber === 0 ? 0 : 1 + varintSize(seqNumber);
  const feedSizes: number[] = [];
  const memberSizes: number[] = [];
  for (let f = 0; f < parts.length; f++) {
    const part = parts[f]!;
    let feedSize = 0;
    for (const text of feedFields(part.feed)) feedSize += stringFieldSize(text);
    if (part.feed.namespaced) feedSize += 2;
    feedSizes.push(feedSize);
    batchSize += 1 + varintSize(feedSize) + feedSize;
    const feedFieldSize = f === 0 ? 0 : 1 + varintSize(f);
    for (const entry of part.entries) {
      let member = memberStringsSize(entry);
      if (entry.type === 'upsert') member += upsertExtraSize(entry);
      else if (entry.type === 'digest') member += digestSize(entry);
      memberSizes.push(member);
      const change = feedFieldSize + 1 + varintSize(member) + member;
      batchSize += 1 + varintSize(change) + change;
    }
    if (part.progress !== undefined) {
      const progress = feedFieldSize + stringFieldSize(part.progress);
      batchSize += 1 + varintSize(progress) + progress;
    }
  }
  const total = 1 + varintSize(batchSize) + batchSize;

  // Pass 2: bytes.
  const w = new Writer(Buffer.allocUnsafe(total));
  w.buf[w.offset++] = SYNC_REQUEST_BATCH;
  w.varint(batchSize);
  if (seqNumber !== 0) {
    w.buf[w.offset++] = BATCH_SEQ;
    w.varint(seqNumber);
  }
  for (let f = 0; f < parts.length; f++) {
    const feed = parts[f]!.feed;
    w.buf[w.offset++] = BATCH_FEEDS;
    w.varint(feedSizes[f]!);
    const texts = feedFields(feed);
    for (let i = 0; i < texts.length; i++) w.string(i + 1, texts[i]!);
    if (feed.namespaced) {
      w.buf[w.offset++] = FEED_NAMESPACED;
      w.buf[w.offset++] = 1;
    }
  }
  let m = 0;
  for (let f = 0; f < parts.length; f++) {
    const feedFieldSize = f === 0 ? 0 : 1 + varintSize(f);
    for (const entry of parts[f]!.entries) {
      const member = memberSizes[m++]!;
      w.buf[w.offset++] = BATCH_CHANGES;
      w.varint(feedFieldSize + 1 + varintSize(member) + member);
      if (f !== 0) {
        w.buf[w.offset++] = CHANGE_FEED;
        w.varint(f);
      }
      w.buf[w.offset++] = CHANGE_KIND[entry.type];
      w.varint(member);
      writeMemberStrings(w, entry);
      if (entry.type === 'upsert') {
        if (entry.bodyBytes > 0) w.string(5, entry.body, entry.bodyBytes);
        if (entry.metadata !== undefined) {
          w.uint(UPSERT_METADATA_OFFSET, entry.metadata.offset);
          w.uint(UPSERT_METADATA_LENGTH, entry.metadata.length);
        }
      } else if (entry.type === 'digest') {
        w.uint(DIGEST_COUNT, entry.count);
        w.uint(DIGEST_HASH_HIGH, entry.hashHigh);
        w.uint(DIGEST_HASH_LOW, entry.hashLow);
      }
    }
  }
  for (let f = 0; f < parts.length; f++) {
    const progress = parts[f]!.progress;
    if (progress === undefined) continue;
    const feedFieldSize = f === 0 ? 0 : 1 + varintSize(f);
    w.buf[w.offset++] = BATCH_PROGRESS;
    w.varint(feedFieldSize + stringFieldSize(progress));
    if (f !== 0) {
      w.buf[w.offset++] = PROGRESS_FEED;
      w.varint(f);
    }
    w.string(2, progress);
  }
  if (w.offset !== total) throw new Error(`batch encoder wrote ${w.offset} bytes, expected ${total}`);
  return w.buf;
}
