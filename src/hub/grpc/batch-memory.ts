import type { SyncRequest } from '../../protocol/index.ts';

/**
 * What a decoded change (or feed-table or progress entry) costs in memory besides its strings'
 * characters and object bytes: the Change, its oneof and the inner message, each a small JS object, and
 * the strings' headers. On Node 20 a
 * decoded delete of an ordinary object (75 bytes on the wire, 61 characters of strings) takes about 300
 * bytes of heap; this and two bytes per character count it as about 380.
 */
export const CHANGE_OVERHEAD_BYTES = 256;

/** V8 stores a string in one or two bytes per UTF-16 unit: count two, the most an agent can make it cost. */
const BYTES_PER_STRING_UNIT = 2;

type Change = Extract<SyncRequest['kind'], { case: 'batch' }>['value']['changes'][number];

function stringUnits(change: Change): number {
  const kind = change.kind;
  switch (kind.case) {
    case 'upsert':
    case 'delete':
      return kind.value.namespace.length + kind.value.name.length + kind.value.uid.length + kind.value.resourceVersion.length;
    case 'touch':
      return kind.value.namespace.length + kind.value.name.length + kind.value.resourceVersion.length;
    case 'skipped':
      return kind.value.namespace.length + kind.value.name.length + kind.value.resourceVersion.length + kind.value.code.length + kind.value.message.length;
    case 'snapshotBegin':
      return kind.value.snapshotId.length;
    case 'snapshotEnd':
      return kind.value.snapshotId.length + kind.value.resourceVersion.length;
    case 'feedDropped':
      return kind.value.reason.length;
    default:
      return 0;
  }
}

/**
 * The memory a pending batch holds once it owns its objects (ownObjects): per change the overhead, its
 * strings and an upsert's object bytes, and per entry of its feed table and of its progress the same
 * overhead and strings. A batch of deletes or touches, which carries no object bytes, counts, and so
 * does one of a few million empty feeds and no change.
 */
export function batchBytes(request: SyncRequest): number {
  if (request.kind.case !== 'batch') return 0;
  const { changes, feeds, progress } = request.kind.value;
  let bytes = 0;
  for (const change of changes) {
    bytes += CHANGE_OVERHEAD_BYTES + BYTES_PER_STRING_UNIT * stringUnits(change);
    if (change.kind.case === 'upsert') bytes += change.kind.value.object.byteLength;
  }
  for (const feed of feeds) {
    const units = feed.group.length + feed.version.length + feed.kind.length + feed.resource.length + feed.namespace.length;
    bytes += CHANGE_OVERHEAD_BYTES + BYTES_PER_STRING_UNIT * units;
  }
  for (const entry of progress) bytes += CHANGE_OVERHEAD_BYTES + BYTES_PER_STRING_UNIT * entry.resourceVersion.length;
  return bytes;
}

/**
 * Copies a batch's object bytes into one buffer of the batch's own. Decoded, an upsert's object is a view
 * into the whole message it arrived in (up to the message limit, with every other account's batches and
 * whatever unknown fields the agent added), and a batch waiting for its turn would keep all of that
 * alive while only its own objects count against the stream's budget. One copy per batch makes what it
 * holds what batchBytes counts.
 */
export function ownObjects(request: SyncRequest): void {
  if (request.kind.case !== 'batch') return;
  let total = 0;
  let first: Uint8Array | undefined;
  for (const change of request.kind.value.changes) {
    if (change.kind.case !== 'upsert') continue;
    first ??= change.kind.value.object;
    total += change.kind.value.object.byteLength;
  }
  // Owned already (a held batch served later) when its objects are all their buffer holds: a decoded
  // message is always larger than its objects (tags, lengths, the rest of the batch).
  if (first === undefined || total === 0 || first.buffer.byteLength === total) return;
  // Not from Node's shared pool: a pooled slice would keep its 8 KiB slab (and its other users) alive.
  const own = Buffer.allocUnsafeSlow(total);
  let offset = 0;
  for (const change of request.kind.value.changes) {
    if (change.kind.case !== 'upsert') continue;
    const object = change.kind.value.object;
    own.set(object, offset);
    change.kind.value.object = own.subarray(offset, offset + object.byteLength);
    offset += object.byteLength;
  }
}
