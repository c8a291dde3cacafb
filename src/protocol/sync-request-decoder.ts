import type {
  Change,
  ChangeBatch,
  Feed,
  FeedDropped,
  FeedProgress,
  ObjectDelete,
  ObjectSkipped,
  ObjectTouch,
  ObjectUpsert,
  SnapshotBegin,
  SnapshotEnd,
  SyncOpen,
  SyncRequest,
} from './gen/scaleagent/v1/agent_hub_pb.ts';
import { WireReader, WireType } from './wire-reader.ts';

/**
 * Decodes a `SyncRequest` (proto/scaleagent/v1/agent_hub.proto) into the same message objects
 * protobuf-es's `fromBinary` returns, written out field by field. Every change of every account passes
 * through here on the hub; the generic decoder walks the schema's reflection for each field, which cost
 * the hub more per one-change batch than committing it did its share of SQL. Semantics follow protobuf:
 * fields in any order, the last value of a scalar wins, a repeated message field appends, a message field
 * given twice is merged, a oneof keeps its last member, and fields this version does not know are
 * skipped (their values are not kept). sync-request-decoder.test.ts checks it against `fromBinary`.
 */
export function decodeSyncRequest(bytes: Uint8Array): SyncRequest {
  const r = new WireReader(bytes);
  const end = r.length;
  const message: SyncRequest = { $typeName: 'scaleagent.v1.SyncRequest', kind: { case: undefined } };
  while (r.pos < end) {
    const tag = readTag(r, end);
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    if (fieldNo === 1 && expectDelimited(r, 'SyncRequest.open', wireType)) {
      const target = message.kind.case === 'open' ? message.kind.value : undefined;
      message.kind = { case: 'open', value: decodeSyncOpen(r, r.delimitedEnd(end), target) };
    } else if (fieldNo === 2 && expectDelimited(r, 'SyncRequest.batch', wireType)) {
      const target = message.kind.case === 'batch' ? message.kind.value : undefined;
      message.kind = { case: 'batch', value: decodeChangeBatch(r, r.delimitedEnd(end), target) };
    } else {
      r.skip(wireType, fieldNo, end);
    }
  }
  return message;
}

/** A field's tag: its number (tag >>> 3) and wire type (tag & 7). */
function readTag(r: WireReader, end: number): number {
  const tag = r.uint32(end);
  if (tag >>> 3 === 0) r.fail(`field number 0 (tag ${tag})`);
  return tag;
}

function expect(r: WireReader, field: string, wireType: number, expected: number): true {
  if (wireType !== expected) r.fail(`${field} has wire type ${wireType}, expected ${expected}`);
  return true;
}

function expectDelimited(r: WireReader, field: string, wireType: number): true {
  return expect(r, field, wireType, WireType.lengthDelimited);
}

function expectVarint(r: WireReader, field: string, wireType: number): true {
  return expect(r, field, wireType, WireType.varint);
}

function decodeSyncOpen(r: WireReader, end: number, target?: SyncOpen): SyncOpen {
  const m: SyncOpen = target ?? { $typeName: 'scaleagent.v1.SyncOpen', sessionId: '', account: '' };
  while (r.pos < end) {
    const tag = readTag(r, end);
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    if (fieldNo === 1 && expectDelimited(r, 'SyncOpen.session_id', wireType)) m.sessionId = r.string(end);
    else if (fieldNo === 2 && expectDelimited(r, 'SyncOpen.account', wireType)) m.account = r.string(end);
    else r.skip(wireType, fieldNo, end);
  }
  return m;
}

function decodeChangeBatch(r: WireReader, end: number, target?: ChangeBatch): ChangeBatch {
  const m: ChangeBatch = target ?? { $typeName: 'scaleagent.v1.ChangeBatch', seq: 0n, feeds: [], changes: [], progress: [] };
  while (r.pos < end) {
    const tag = readTag(r, end);
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    switch (fieldNo) {
      case 1:
        expectVarint(r, 'ChangeBatch.seq', wireType);
        m.seq = r.uint64(end);
        break;
      case 2:
        expectDelimited(r, 'ChangeBatch.feeds', wireType);
        m.feeds.push(decodeFeed(r, r.delimitedEnd(end)));
        break;
      case 3:
        expectDelimited(r, 'ChangeBatch.changes', wireType);
        m.changes.push(decodeChange(r, r.delimitedEnd(end)));
        break;
      case 4:
        expectDelimited(r, 'ChangeBatch.progress', wireType);
        m.progress.push(decodeFeedProgress(r, r.delimitedEnd(end)));
        break;
      default:
        r.skip(wireType, fieldNo, end);
    }
  }
  return m;
}

function decodeFeed(r: WireReader, end: number): Feed {
  const m: Feed = { $typeName: 'scaleagent.v1.Feed', group: '', version: '', kind: '', resource: '', namespace: '', namespaced: false };
  while (r.pos < end) {
    const tag = readTag(r, end);
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    switch (fieldNo) {
      case 1:
        expectDelimited(r, 'Feed.group', wireType);
        m.group = r.string(end);
        break;
      case 2:
        expectDelimited(r, 'Feed.version', wireType);
        m.version = r.string(end);
        break;
      case 3:
        expectDelimited(r, 'Feed.kind', wireType);
        m.kind = r.string(end);
        break;
      case 4:
        expectDelimited(r, 'Feed.resource', wireType);
        m.resource = r.string(end);
        break;
      case 5:
        expectDelimited(r, 'Feed.namespace', wireType);
        m.namespace = r.string(end);
        break;
      case 6:
        expectVarint(r, 'Feed.namespaced', wireType);
        m.namespaced = r.bool(end);
        break;
      default:
        r.skip(wireType, fieldNo, end);
    }
  }
  return m;
}

function decodeFeedProgress(r: WireReader, end: number): FeedProgress {
  const m: FeedProgress = { $typeName: 'scaleagent.v1.FeedProgress', feed: 0, resourceVersion: '' };
  while (r.pos < end) {
    const tag = readTag(r, end);
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    if (fieldNo === 1 && expectVarint(r, 'FeedProgress.feed', wireType)) m.feed = r.uint32(end);
    else if (fieldNo === 2 && expectDelimited(r, 'FeedProgress.resource_version', wireType)) m.resourceVersion = r.string(end);
    else r.skip(wireType, fieldNo, end);
  }
  return m;
}

function decodeChange(r: WireReader, end: number): Change {
  const m: Change = { $typeName: 'scaleagent.v1.Change', feed: 0, kind: { case: undefined } };
  while (r.pos < end) {
    const tag = readTag(r, end);
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    if (fieldNo === 1) {
      expectVarint(r, 'Change.feed', wireType);
      m.feed = r.uint32(end);
      continue;
    }
    const kind = m.kind;
    switch (fieldNo) {
      case 2:
        expectDelimited(r, 'Change.upsert', wireType);
        m.kind = { case: 'upsert', value: decodeObjectUpsert(r, r.delimitedEnd(end), kind.case === 'upsert' ? kind.value : undefined) };
        break;
      case 3:
        expectDelimited(r, 'Change.delete', wireType);
        m.kind = { case: 'delete', value: decodeObjectDelete(r, r.delimitedEnd(end), kind.case === 'delete' ? kind.value : undefined) };
        break;
      case 4:
        expectDelimited(r, 'Change.touch', wireType);
        m.kind = { case: 'touch', value: decodeObjectTouch(r, r.delimitedEnd(end), kind.case === 'touch' ? kind.value : undefined) };
        break;
      case 5:
        expectDelimited(r, 'Change.snapshot_begin', wireType);
        m.kind = { case: 'snapshotBegin', value: decodeSnapshotBegin(r, r.delimitedEnd(end), kind.case === 'snapshotBegin' ? kind.value : undefined) };
        break;
      case 6:
        expectDelimited(r, 'Change.snapshot_end', wireType);
        m.kind = { case: 'snapshotEnd', value: decodeSnapshotEnd(r, r.delimitedEnd(end), kind.case === 'snapshotEnd' ? kind.value : undefined) };
        break;
      case 7:
        expectDelimited(r, 'Change.feed_dropped', wireType);
        m.kind = { case: 'feedDropped', value: decodeFeedDropped(r, r.delimitedEnd(end), kind.case === 'feedDropped' ? kind.value : undefined) };
        break;
      case 8:
        expectDelimited(r, 'Change.skipped', wireType);
        m.kind = { case: 'skipped', value: decodeObjectSkipped(r, r.delimitedEnd(end), kind.case === 'skipped' ? kind.value : undefined) };
        break;
      default:
        r.skip(wireType, fieldNo, end);
    }
  }
  return m;
}

function decodeObjectUpsert(r: WireReader, end: number, target?: ObjectUpsert): ObjectUpsert {
  const m: ObjectUpsert = target ?? {
    $typeName: 'scaleagent.v1.ObjectUpsert',
    namespace: '',
    name: '',
    uid: '',
    resourceVersion: '',
    object: new Uint8Array(0),
    metadataOffset: 0,
    metadataLength: 0,
  };
  while (r.pos < end) {
    const tag = readTag(r, end);
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    switch (fieldNo) {
      case 1:
        expectDelimited(r, 'ObjectUpsert.namespace', wireType);
        m.namespace = r.string(end);
        break;
      case 2:
        expectDelimited(r, 'ObjectUpsert.name', wireType);
        m.name = r.string(end);
        break;
      case 3:
        expectDelimited(r, 'ObjectUpsert.uid', wireType);
        m.uid = r.string(end);
        break;
      case 4:
        expectDelimited(r, 'ObjectUpsert.resource_version', wireType);
        m.resourceVersion = r.string(end);
        break;
      case 5:
        expectDelimited(r, 'ObjectUpsert.object', wireType);
        m.object = r.bytes(end);
        break;
      case 6:
        expectVarint(r, 'ObjectUpsert.metadata_offset', wireType);
        m.metadataOffset = r.uint32(end);
        break;
      case 7:
        expectVarint(r, 'ObjectUpsert.metadata_length', wireType);
        m.metadataLength = r.uint32(end);
        break;
      default:
        r.skip(wireType, fieldNo, end);
    }
  }
  return m;
}

function decodeObjectDelete(r: WireReader, end: number, target?: ObjectDelete): ObjectDelete {
  const m: ObjectDelete = target ?? { $typeName: 'scaleagent.v1.ObjectDelete', namespace: '', name: '', uid: '', resourceVersion: '' };
  while (r.pos < end) {
    const tag = readTag(r, end);
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    if (fieldNo === 1 && expectDelimited(r, 'ObjectDelete.namespace', wireType)) m.namespace = r.string(end);
    else if (fieldNo === 2 && expectDelimited(r, 'ObjectDelete.name', wireType)) m.name = r.string(end);
    else if (fieldNo === 3 && expectDelimited(r, 'ObjectDelete.uid', wireType)) m.uid = r.string(end);
    else if (fieldNo === 4 && expectDelimited(r, 'ObjectDelete.resource_version', wireType)) m.resourceVersion = r.string(end);
    else r.skip(wireType, fieldNo, end);
  }
  return m;
}

function decodeObjectTouch(r: WireReader, end: number, target?: ObjectTouch): ObjectTouch {
  const m: ObjectTouch = target ?? { $typeName: 'scaleagent.v1.ObjectTouch', namespace: '', name: '', resourceVersion: '' };
  while (r.pos < end) {
    const tag = readTag(r, end);
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    if (fieldNo === 1 && expectDelimited(r, 'ObjectTouch.namespace', wireType)) m.namespace = r.string(end);
    else if (fieldNo === 2 && expectDelimited(r, 'ObjectTouch.name', wireType)) m.name = r.string(end);
    else if (fieldNo === 3 && expectDelimited(r, 'ObjectTouch.resource_version', wireType)) m.resourceVersion = r.string(end);
    else r.skip(wireType, fieldNo, end);
  }
  return m;
}

function decodeSnapshotBegin(r: WireReader, end: number, target?: SnapshotBegin): SnapshotBegin {
  const m: SnapshotBegin = target ?? { $typeName: 'scaleagent.v1.SnapshotBegin', snapshotId: '' };
  while (r.pos < end) {
    const tag = readTag(r, end);
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    if (fieldNo === 1 && expectDelimited(r, 'SnapshotBegin.snapshot_id', wireType)) m.snapshotId = r.string(end);
    else r.skip(wireType, fieldNo, end);
  }
  return m;
}

function decodeSnapshotEnd(r: WireReader, end: number, target?: SnapshotEnd): SnapshotEnd {
  const m: SnapshotEnd = target ?? { $typeName: 'scaleagent.v1.SnapshotEnd', snapshotId: '', resourceVersion: '' };
  while (r.pos < end) {
    const tag = readTag(r, end);
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    if (fieldNo === 1 && expectDelimited(r, 'SnapshotEnd.snapshot_id', wireType)) m.snapshotId = r.string(end);
    else if (fieldNo === 2 && expectDelimited(r, 'SnapshotEnd.resource_version', wireType)) m.resourceVersion = r.string(end);
    else r.skip(wireType, fieldNo, end);
  }
  return m;
}

function decodeFeedDropped(r: WireReader, end: number, target?: FeedDropped): FeedDropped {
  const m: FeedDropped = target ?? { $typeName: 'scaleagent.v1.FeedDropped', reason: '' };
  while (r.pos < end) {
    const tag = readTag(r, end);
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    if (fieldNo === 1 && expectDelimited(r, 'FeedDropped.reason', wireType)) m.reason = r.string(end);
    else r.skip(wireType, fieldNo, end);
  }
  return m;
}

function decodeObjectSkipped(r: WireReader, end: number, target?: ObjectSkipped): ObjectSkipped {
  const m: ObjectSkipped = target ?? { $typeName: 'scaleagent.v1.ObjectSkipped', namespace: '', name: '', resourceVersion: '', code: '', message: '' };
  while (r.pos < end) {
    const tag = readTag(r, end);
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    if (fieldNo === 1 && expectDelimited(r, 'ObjectSkipped.namespace', wireType)) m.namespace = r.string(end);
    else if (fieldNo === 2 && expectDelimited(r, 'ObjectSkipped.name', wireType)) m.name = r.string(end);
    else if (fieldNo === 3 && expectDelimited(r, 'ObjectSkipped.resource_version', wireType)) m.resourceVersion = r.string(end);
    else if (fieldNo === 4 && expectDelimited(r, 'ObjectSkipped.code', wireType)) m.code = r.string(end);
    else if (fieldNo === 5 && expectDelimited(r, 'ObjectSkipped.message', wireType)) m.message = r.string(end);
    else r.skip(wireType, fieldNo, end);
  }
  return m;
}
