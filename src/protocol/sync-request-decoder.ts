import type {
  Change,
  ChangeBatch,
  Feed,
  FeedDigest,
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
  return decodeSyncRequestAt(r, r.length);
}

/** A SyncRequest embedded in another message (a version 2 ChannelRequest), from `r.pos` to `end`. */
export function decodeSyncRequestAt(r: WireReader, end: number, target?: SyncRequest): SyncRequest {
  const message: SyncRequest = target ?? { $typeName: 'scaleagent.v1.SyncRequest', kind: { case: undefined } };
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
const PACKAGE_PREFIX = 'scaleagent.v1.';

export function readTag(r: WireReader, end: number): number {
  const tag = r.uint32(end);
  if (tag >>> 3 === 0) r.fail(`field number 0 (tag ${tag})`);
  return tag;
}

function expect(r: WireReader, field: string, wireType: number, expected: number): true {
  if (wireType !== expected) r.fail(`${field} has wire type ${wireType}, expected ${expected}`);
  return true;
}

export function expectDelimited(r: WireReader, field: string, wireType: number): true {
  return expect(r, field, wireType, WireType.lengthDelimited);
}

export function expectVarint(r: WireReader, field: string, wireType: number): true {
  return expect(r, field, wireType, WireType.varint);
}

function decodeSyncOpen(r: WireReader, end: number, target?: SyncOpen): SyncOpen {
  return decodeStringFields(r, end, target ?? { $typeName: 'scaleagent.v1.SyncOpen', sessionId: '', account: '' }, ['sessionId', 'account']);
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
  return decodeStringFields(r, end, m, ['group', 'version', 'kind', 'resource', 'namespace'], (fieldNo, wireType) => {
    if (fieldNo !== 6 || !expectVarint(r, 'Feed.namespaced', wireType)) return false;
    m.namespaced = r.bool(end);
    return true;
  });
}

function decodeFeedProgress(r: WireReader, end: number): FeedProgress {
  const m: FeedProgress = { $typeName: 'scaleagent.v1.FeedProgress', feed: 0, resourceVersion: '' };
  return decodeStringFields(r, end, m, [undefined, 'resourceVersion'], (fieldNo, wireType) => {
    if (fieldNo !== 1 || !expectVarint(r, 'FeedProgress.feed', wireType)) return false;
    m.feed = r.uint32(end);
    return true;
  });
}

/** Change's oneof members by field number: the case and its decoder (which merges into `target`). */
type MemberDecoder = (r: WireReader, end: number, target?: never) => Change['kind']['value'];
const CHANGE_MEMBERS: ReadonlyArray<readonly [NonNullable<Change['kind']['case']>, MemberDecoder] | undefined> = [
  undefined,
  undefined,
  ['upsert', decodeObjectUpsert as MemberDecoder],
  ['delete', decodeObjectDelete as MemberDecoder],
  ['touch', decodeObjectTouch as MemberDecoder],
  ['snapshotBegin', decodeSnapshotBegin as MemberDecoder],
  ['snapshotEnd', decodeSnapshotEnd as MemberDecoder],
  ['feedDropped', decodeFeedDropped as MemberDecoder],
  ['skipped', decodeObjectSkipped as MemberDecoder],
  ['digest', decodeFeedDigest as MemberDecoder],
];

function decodeChange(r: WireReader, end: number): Change {
  const m: Change = { $typeName: 'scaleagent.v1.Change', feed: 0, kind: { case: undefined } };
  while (r.pos < end) {
    const tag = readTag(r, end);
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    const member = CHANGE_MEMBERS[fieldNo];
    if (fieldNo === 1) {
      expectVarint(r, 'Change.feed', wireType);
      m.feed = r.uint32(end);
    } else if (member !== undefined) {
      const [which, decode] = member;
      expectDelimited(r, `Change.${which}`, wireType);
      // A member given again merges into the one before; another member replaces it.
      const target = (m.kind.case === which ? m.kind.value : undefined) as never;
      m.kind = { case: which, value: decode(r, r.delimitedEnd(end), target) } as Change['kind'];
    } else {
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
  return decodeStringFields(r, end, target ?? { $typeName: 'scaleagent.v1.ObjectDelete', namespace: '', name: '', uid: '', resourceVersion: '' }, [
    'namespace',
    'name',
    'uid',
    'resourceVersion',
  ]);
}

function decodeObjectTouch(r: WireReader, end: number, target?: ObjectTouch): ObjectTouch {
  return decodeStringFields(r, end, target ?? { $typeName: 'scaleagent.v1.ObjectTouch', namespace: '', name: '', resourceVersion: '' }, [
    'namespace',
    'name',
    'resourceVersion',
  ]);
}

function decodeSnapshotBegin(r: WireReader, end: number, target?: SnapshotBegin): SnapshotBegin {
  return decodeStringFields(r, end, target ?? { $typeName: 'scaleagent.v1.SnapshotBegin', snapshotId: '' }, ['snapshotId']);
}

function decodeSnapshotEnd(r: WireReader, end: number, target?: SnapshotEnd): SnapshotEnd {
  return decodeStringFields(r, end, target ?? { $typeName: 'scaleagent.v1.SnapshotEnd', snapshotId: '', resourceVersion: '' }, [
    'snapshotId',
    'resourceVersion',
  ]);
}

function decodeFeedDropped(r: WireReader, end: number, target?: FeedDropped): FeedDropped {
  return decodeStringFields(r, end, target ?? { $typeName: 'scaleagent.v1.FeedDropped', reason: '' }, ['reason']);
}

function decodeFeedDigest(r: WireReader, end: number, target?: FeedDigest): FeedDigest {
  const m: FeedDigest = target ?? { $typeName: 'scaleagent.v1.FeedDigest', count: 0, hashHigh: 0, hashLow: 0 };
  const fields = ['count', 'hashHigh', 'hashLow'] as const;
  return decodeStringFields(r, end, m, [], (fieldNo, wireType) => {
    const field = fields[fieldNo - 1];
    if (field === undefined || !expectVarint(r, `FeedDigest.${field}`, wireType)) return false;
    m[field] = r.uint32(end);
    return true;
  });
}

function decodeObjectSkipped(r: WireReader, end: number, target?: ObjectSkipped): ObjectSkipped {
  return decodeStringFields(
    r,
    end,
    target ?? { $typeName: 'scaleagent.v1.ObjectSkipped', namespace: '', name: '', resourceVersion: '', code: '', message: '' },
    ['namespace', 'name', 'resourceVersion', 'code', 'message'],
  );
}

/**
 * A message whose fields are strings, numbered from 1 in the order of `fields` (the property names;
 * undefined where a field is not a string), and for the others `other`, which reads the field and says
 * so, or leaves it to be skipped: the messages that are not per change, which need no hand-unrolled
 * loop of their own.
 */
function decodeStringFields<M extends { $typeName: string }>(
  r: WireReader,
  end: number,
  message: M,
  fields: ReadonlyArray<(keyof M & string) | undefined>,
  other?: (fieldNo: number, wireType: number) => boolean,
): M {
  const target = message as unknown as Record<string, unknown>;
  while (r.pos < end) {
    const tag = readTag(r, end);
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    const field = fields[fieldNo - 1];
    if (field !== undefined && expectDelimited(r, `${message.$typeName.slice(PACKAGE_PREFIX.length)}.${field}`, wireType)) target[field] = r.string(end);
    else if (other === undefined || !other(fieldNo, wireType)) r.skip(wireType, fieldNo, end);
  }
  return message;
}
