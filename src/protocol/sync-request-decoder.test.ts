import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, equals, fromBinary, toBinary } from '@bufbuild/protobuf';
import { isScaleAgentError } from '../common/errors.ts';
import { SyncRequestSchema, type SyncRequest } from './gen/scaleagent/v1/agent_hub_pb.ts';
import { decodeSyncRequest } from './sync-request-decoder.ts';

const FEED = { group: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments', namespace: 'web', namespaced: true };

function batchRequest(): SyncRequest {
  return create(SyncRequestSchema, {
    kind: {
      case: 'batch',
      value: {
        seq: 123_456_789_012n,
        feeds: [FEED, { group: '', version: 'v1', kind: 'Namespace', resource: 'namespaces', namespace: '', namespaced: false }],
        changes: [
          { feed: 0, kind: { case: 'snapshotBegin', value: { snapshotId: '01J0SNAP' } } },
          {
            feed: 0,
            kind: {
              case: 'upsert',
              value: {
                namespace: 'web',
                name: 'frontend',
                uid: 'u-1',
                resourceVersion: '42',
                object: new TextEncoder().encode('{"kind":"Deployment","metadata":{"name":"frontend"}}'),
                metadataOffset: 22,
                metadataLength: 21,
              },
            },
          },
          { feed: 0, kind: { case: 'delete', value: { namespace: 'web', name: 'old', uid: 'u-2', resourceVersion: '43' } } },
          { feed: 1, kind: { case: 'touch', value: { namespace: '', name: 'kube-system', resourceVersion: '7' } } },
          { feed: 0, kind: { case: 'snapshotEnd', value: { snapshotId: '01J0SNAP', resourceVersion: '44' } } },
          { feed: 1, kind: { case: 'feedDropped', value: { reason: 'kind removed' } } },
          {
            feed: 0,
            kind: {
              case: 'skipped',
              value: { namespace: 'web', name: 'huge', resourceVersion: '45', code: 'OBJECT_TOO_LARGE', message: 'ünïcödé 🚀 message' },
            },
          },
          { feed: 1, kind: { case: 'digest', value: { count: 4_000_000_000, hashHigh: 0xffffffff, hashLow: 1 } } },
          // A change with no member and defaults everywhere: nothing of it is on the wire but its tag.
          { feed: 0 },
          { feed: 4_000_000_000, kind: { case: 'upsert', value: {} } },
        ],
        progress: [
          { feed: 0, resourceVersion: '44' },
          { feed: 1, resourceVersion: '' },
        ],
      },
    },
  });
}

function assertSameAsProtobufEs(bytes: Uint8Array): SyncRequest {
  const ours = decodeSyncRequest(bytes);
  const theirs = fromBinary(SyncRequestSchema, bytes);
  assert.ok(equals(SyncRequestSchema, ours, theirs), `decoded differently:\n${JSON.stringify(ours, replacer)}\n${JSON.stringify(theirs, replacer)}`);
  // equals() compares field values; the handler also relies on the message shapes (oneof cases, types).
  assert.deepEqual(JSON.parse(JSON.stringify(ours, replacer)), JSON.parse(JSON.stringify(theirs, replacer)));
  return ours;
}

function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  // The raw value: a Buffer's toJSON has already run on `value`.
  const raw = this[key];
  if (key === '$unknown') return undefined;
  if (typeof raw === 'bigint') return `${raw}n`;
  if (raw instanceof Uint8Array) return `bytes:${Buffer.from(raw).toString('hex')}`;
  return value;
}

/** Raw wire bytes from (field, wire type, payload) triples; payload = varint value or bytes. */
function wire(...fields: Array<[number, 0, number | bigint] | [number, 2, Uint8Array | string]>): Uint8Array {
  const out: number[] = [];
  const varint = (v: bigint) => {
    let n = BigInt.asUintN(64, v);
    do {
      const b = Number(n & 0x7fn);
      n >>= 7n;
      out.push(n > 0n ? b | 0x80 : b);
    } while (n > 0n);
  };
  for (const [field, type, payload] of fields) {
    varint(BigInt((field << 3) | type));
    if (type === 0) varint(BigInt(payload));
    else {
      const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
      varint(BigInt(bytes.length));
      out.push(...bytes);
    }
  }
  return Uint8Array.from(out);
}

/** A field's tag as varint bytes. */
function tagBytes(field: number, wireType: number): number[] {
  const out: number[] = [];
  let tag = (field << 3) | wireType;
  while (tag >= 0x80) {
    out.push((tag & 0x7f) | 0x80);
    tag >>>= 7;
  }
  out.push(tag);
  return out;
}

test('decodes every change kind, feed and progress as protobuf-es does', () => {
  const decoded = assertSameAsProtobufEs(toBinary(SyncRequestSchema, batchRequest()));
  assert.equal(decoded.kind.case, 'batch');
  assert.equal(decoded.kind.value.changes.length, 10);
  assert.equal(decoded.kind.value.seq, 123_456_789_012n);
});

test('decodes open, an empty request, and a batch from a Buffer slice of a larger buffer', () => {
  assertSameAsProtobufEs(toBinary(SyncRequestSchema, create(SyncRequestSchema, { kind: { case: 'open', value: { sessionId: 's-1', account: 'prod-east' } } })));
  assertSameAsProtobufEs(new Uint8Array(0));
  const bytes = toBinary(SyncRequestSchema, batchRequest());
  const padded = Buffer.alloc(bytes.length + 20, 0xff);
  padded.set(bytes, 10);
  assertSameAsProtobufEs(padded.subarray(10, 10 + bytes.length));
});

test('skips fields it does not know, of every wire type, at every level', () => {
  const unknownFields = [
    ...wire([99, 0, 2n ** 63n], [98, 2, 'future']),
    // fixed64 (field 97), fixed32 (field 96) and a group (start 13, a varint inside, end 13)
    ...tagBytes(97, 1),
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    ...tagBytes(96, 5),
    1,
    2,
    3,
    4,
    ...tagBytes(13, 3),
    ...tagBytes(1, 0),
    5,
    ...tagBytes(13, 4),
  ];
  const upsert = [...wire([1, 2, 'ns'], [2, 2, 'name'], [5, 2, '{}']), ...unknownFields];
  const change = [...wire([1, 0, 1], [2, 2, Uint8Array.from(upsert)]), ...unknownFields];
  const feed = [...wire([3, 2, 'ConfigMap'], [6, 0, 1]), ...unknownFields];
  const batch = [...wire([1, 0, 5], [2, 2, Uint8Array.from(feed)], [3, 2, Uint8Array.from(change)]), ...unknownFields];
  const request = Uint8Array.from([...unknownFields, ...wire([2, 2, Uint8Array.from(batch)]), ...unknownFields]);
  const decoded = assertSameAsProtobufEs(request);
  assert.equal(decoded.kind.case === 'batch' && decoded.kind.value.changes[0]!.kind.case, 'upsert');
});

test('follows protobuf for repeated and merged fields: last scalar wins, a message given twice merges, a oneof keeps its last member', () => {
  const request = wire(
    [2, 2, wire([1, 0, 1], [3, 2, wire([1, 0, 0], [2, 2, wire([1, 2, 'a'], [4, 2, '1'])])])],
    // The same batch field again: merged into the first (seq replaced, changes appended).
    [2, 2, wire([1, 0, 2], [3, 2, wire([2, 2, wire([2, 2, 'b'])], [3, 2, wire([2, 2, 'c'])], [2, 2, wire([4, 2, '2'])], [2, 2, wire([3, 2, 'u'])])])],
    [2, 2, wire([3, 2, wire([4, 2, wire([2, 2, 'd'])], [2, 2, wire([2, 2, 'e'])])])],
  );
  const decoded = assertSameAsProtobufEs(request);
  assert.equal(decoded.kind.case, 'batch');
  const batch = decoded.kind.value;
  assert.equal(batch.seq, 2n);
  assert.equal(batch.changes.length, 3);
  // upsert b, delete c, upsert rv 2, upsert uid u: the delete replaces the first upsert, the last two merge.
  const merged = batch.changes[1]!.kind;
  assert.equal(merged.case, 'upsert');
  assert.deepEqual([merged.value.name, merged.value.resourceVersion, merged.value.uid], ['', '2', 'u']);
  assert.equal(batch.changes[2]!.kind.case, 'upsert');
  // The open member and then the batch: the oneof keeps the batch.
  assertSameAsProtobufEs(wire([1, 2, wire([1, 2, 's'])], [2, 2, wire([1, 0, 3])]));
  // uint32 fields keep the low 32 bits of a longer varint, bools any non-zero value.
  assertSameAsProtobufEs(wire([2, 2, wire([3, 2, wire([1, 0, 2n ** 40n + 7n])], [2, 2, wire([6, 0, 2n ** 35n])])]));
});

test('malformed input fails with PROTOCOL_VIOLATION and where, never reads past the message', () => {
  const good = toBinary(SyncRequestSchema, batchRequest());
  const cases: Array<[string, Uint8Array]> = [
    ['truncated', good.subarray(0, good.length - 3)],
    ['a length past the end', wire([2, 2, wire([3, 2, Uint8Array.from([0x12, 0x7f, 0x01])])])],
    ['field number 0', Uint8Array.from([0x00, 0x01])],
    ['a varint of eleven bytes', Uint8Array.from([0x08, ...Array(10).fill(0xff), 0x01])],
    ['the wrong wire type for a known field', wire([2, 0, 5])],
    ['an end group without a start', Uint8Array.from([(5 << 3) | 4])],
    ['an unterminated group', Uint8Array.from([(5 << 3) | 3, 0x08, 0x01])],
    ['wire type 7', Uint8Array.from([(5 << 3) | 7])],
    ['a string that is not UTF-8', wire([1, 2, wire([2, 2, Uint8Array.from([0x61, 0xc3, 0x28])])])],
    ['a string cut inside a character', wire([2, 2, wire([2, 2, wire([1, 2, Uint8Array.from([0xe2, 0x82])])])])],
  ];
  for (const [what, bytes] of cases) {
    assert.throws(
      () => decodeSyncRequest(bytes),
      (err: unknown) => isScaleAgentError(err, 'PROTOCOL_VIOLATION') && /malformed protobuf message/.test((err as Error).message),
      what,
    );
    assert.throws(() => fromBinary(SyncRequestSchema, bytes), Error, `protobuf-es refuses ${what} too`);
  }
});

test('random batches decode as protobuf-es decodes them', () => {
  let seed = 7;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const text = () => ['', 'a', 'web', 'ünï', '🚀x', 'x'.repeat(200), 'a\uFFFDb'][Math.floor(random() * 7)]!;
  for (let round = 0; round < 200; round++) {
    const changes = Array.from({ length: Math.floor(random() * 6) }, () => {
      const feed = Math.floor(random() * 3);
      switch (Math.floor(random() * 4)) {
        case 0:
          return {
            feed,
            kind: {
              case: 'upsert' as const,
              value: {
                namespace: text(),
                name: text(),
                uid: text(),
                resourceVersion: text(),
                object: new TextEncoder().encode(text()),
                metadataOffset: Math.floor(random() * 1000),
                metadataLength: Math.floor(random() * 1000),
              },
            },
          };
        case 1:
          return { feed, kind: { case: 'delete' as const, value: { namespace: text(), name: text(), uid: text(), resourceVersion: text() } } };
        case 2:
          return { feed, kind: { case: 'touch' as const, value: { namespace: text(), name: text(), resourceVersion: text() } } };
        default:
          return { feed, kind: { case: 'snapshotEnd' as const, value: { snapshotId: text(), resourceVersion: text() } } };
      }
    });
    const request = create(SyncRequestSchema, {
      kind: { case: 'batch', value: { seq: BigInt(Math.floor(random() * 2 ** 53)), feeds: [FEED], changes, progress: [{ feed: 0, resourceVersion: text() }] } },
    });
    assertSameAsProtobufEs(toBinary(SyncRequestSchema, request));
  }
});
