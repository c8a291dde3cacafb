import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ChangeBatchSchema, ChangeSchema, FeedSchema, SyncRequestSchema, type Change } from '../../protocol/index.ts';
import { encodeBatchRequest, type BatchPart } from './batch-encoder.ts';
import type { PendingEntry } from './feed-queue.ts';
import { objectJson } from './object-json.ts';

/** The same batch built with protobuf-es, as the agent did before the encoder: the reference. */
function reference(seq: bigint, parts: BatchPart[]): Uint8Array {
  const batch = create(ChangeBatchSchema, { seq });
  parts.forEach((part, feed) => {
    const f = part.feed;
    batch.feeds.push(
      create(FeedSchema, { group: f.group, version: f.version, kind: f.kind, resource: f.resource, namespace: f.namespace, namespaced: f.namespaced }),
    );
    for (const entry of part.entries) batch.changes.push(change(feed, entry));
    if (part.progress !== undefined) batch.progress.push({ $typeName: 'scaleagent.v1.FeedProgress', feed, resourceVersion: part.progress });
  });
  return toBinary(SyncRequestSchema, create(SyncRequestSchema, { kind: { case: 'batch', value: batch } }));
}

function change(feed: number, entry: PendingEntry): Change {
  switch (entry.type) {
    case 'upsert':
      return create(ChangeSchema, {
        feed,
        kind: {
          case: 'upsert',
          value: {
            namespace: entry.namespace,
            name: entry.name,
            uid: entry.uid,
            resourceVersion: entry.resourceVersion,
            object: Buffer.from(entry.body, 'utf8'),
            metadataOffset: entry.metadata?.offset ?? 0,
            metadataLength: entry.metadata?.length ?? 0,
          },
        },
      });
    case 'delete':
      return create(ChangeSchema, {
        feed,
        kind: { case: 'delete', value: { namespace: entry.namespace, name: entry.name, uid: entry.uid, resourceVersion: entry.resourceVersion } },
      });
    case 'touch':
      return create(ChangeSchema, {
        feed,
        kind: { case: 'touch', value: { namespace: entry.namespace, name: entry.name, resourceVersion: entry.resourceVersion } },
      });
    case 'skipped':
      return create(ChangeSchema, {
        feed,
        kind: {
          case: 'skipped',
          value: { namespace: entry.namespace, name: entry.name, resourceVersion: entry.resourceVersion, code: entry.code, message: entry.message },
        },
      });
    case 'snapshotBegin':
      return create(ChangeSchema, { feed, kind: { case: 'snapshotBegin', value: { snapshotId: entry.snapshotId } } });
    case 'snapshotEnd':
      return create(ChangeSchema, { feed, kind: { case: 'snapshotEnd', value: { snapshotId: entry.snapshotId, resourceVersion: entry.resourceVersion } } });
    case 'feedDropped':
      return create(ChangeSchema, { feed, kind: { case: 'feedDropped', value: { reason: entry.reason } } });
    case 'digest':
      return create(ChangeSchema, { feed, kind: { case: 'digest', value: { count: entry.count, hashHigh: entry.hashHigh, hashLow: entry.hashLow } } });
  }
}

function upsert(name: string, body: string, namespace = 'ns'): PendingEntry {
  return {
    type: 'upsert',
    namespace,
    name,
    uid: `uid-${name}`,
    resourceVersion: '17',
    body,
    bodyBytes: Buffer.byteLength(body),
    metadata: undefined,
    resumeFrom: '',
  };
}

/** An upsert as the feed queue makes it: the object's JSON with its metadata range. */
function upsertObject(name: string, object: object): PendingEntry {
  const { body, bodyBytes, metadata } = objectJson(object);
  return { type: 'upsert', namespace: 'ns', name, uid: `uid-${name}`, resourceVersion: '17', body, bodyBytes, metadata, resumeFrom: '' };
}

const apps = { group: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments', namespace: '', namespaced: true };
const nodes = { group: '', version: 'v1', kind: 'Node', resource: 'nodes', namespace: '', namespaced: false };
const scoped = { group: 'example.com', version: 'v1beta1', kind: 'Widget', resource: 'widgets', namespace: 'team-ä', namespaced: true };

test('every change type encodes exactly as protobuf-es does', () => {
  const parts: BatchPart[] = [
    {
      feed: apps,
      entries: [
        { type: 'snapshotBegin', snapshotId: '01J0SNAPSHOT', resumeFrom: '' },
        upsertObject('web', { kind: 'Deployment', metadata: { name: 'web', annotations: { note: 'ünïcödé ✓ 🚀' } } }),
        { type: 'delete', namespace: 'ns', name: 'old', uid: 'uid-old', resourceVersion: '18', resumeFrom: '' },
        { type: 'touch', namespace: 'ns', name: 'same', resourceVersion: '12', resumeFrom: '' },
        { type: 'skipped', namespace: 'ns', name: 'huge', resourceVersion: '19', code: 'OBJECT_TOO_LARGE', message: 'object is 2000000 bytes', resumeFrom: '' },
        { type: 'snapshotEnd', snapshotId: '01J0SNAPSHOT', resourceVersion: '20', resumeFrom: '' },
        { type: 'digest', count: 3, hashHigh: 0xffffffff, hashLow: 0x80000000, resumeFrom: '' },
        { type: 'digest', count: 0, hashHigh: 0, hashLow: 7, resumeFrom: '' },
      ],
      progress: '20',
    },
    { feed: nodes, entries: [upsert('node-1', '{"kind":"Node"}', ''), { type: 'snapshotBegin', snapshotId: '', resumeFrom: '' }], progress: undefined },
    { feed: scoped, entries: [{ type: 'feedDropped', reason: 'the API server no longer serves this kind', resumeFrom: '' }], progress: '5' },
  ];
  const ours = encodeBatchRequest(42n, parts);
  assert.deepEqual(new Uint8Array(ours), reference(42n, parts));
  const decoded = fromBinary(SyncRequestSchema, ours);
  assert.equal(decoded.kind.case, 'batch');
  const batch = decoded.kind.value!;
  assert.equal(batch.seq, 42n);
  assert.equal(batch.feeds.length, 3);
  assert.equal(batch.feeds[2]!.namespace, 'team-ä');
  assert.equal(batch.changes.length, 11);
  const up = batch.changes[1]!.kind;
  assert.equal(up.case, 'upsert');
  assert.match(new TextDecoder().decode(up.value!.object), /🚀/);
  // The metadata range points at the metadata's own JSON, in bytes (the body is not ASCII).
  const { object, metadataOffset, metadataLength } = up.value!;
  assert.ok(metadataOffset > 0 && metadataLength > 0);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(object.subarray(metadataOffset, metadataOffset + metadataLength))), {
    name: 'web',
    annotations: { note: 'ünïcödé ✓ 🚀' },
  });
  const node = batch.changes[8]!.kind;
  assert.equal(node.case, 'upsert');
  assert.equal(node.value!.metadataLength, 0, 'an object without metadata has no range');
  assert.deepEqual(
    batch.progress.map((p) => [p.feed, p.resourceVersion]),
    [
      [0, '20'],
      [2, '5'],
    ],
  );
});

test('large batches, long bodies and sequence numbers past 32 bits encode as protobuf-es does', () => {
  const entries: PendingEntry[] = [];
  for (let i = 0; i < 1000; i++)
    entries.push(upsertObject(`pod-${i}`, { metadata: { name: `pod-${i}`, resourceVersion: String(i * 1_000_003) }, data: 'x'.repeat(i * 37) }));
  entries.push(upsert('big', 'y'.repeat(300_000)));
  const parts: BatchPart[] = Array.from({ length: 200 }, (_, f) => ({
    feed: { ...apps, kind: `Kind${f}` },
    entries: f === 150 ? entries : [],
    progress: String(f * 1000),
  }));
  for (const seq of [1n, 2n ** 35n + 7n]) assert.deepEqual(new Uint8Array(encodeBatchRequest(seq, parts)), reference(seq, parts));
});

test('an empty batch (progress only) and seq 0', () => {
  const parts: BatchPart[] = [{ feed: apps, entries: [], progress: '7' }];
  assert.deepEqual(new Uint8Array(encodeBatchRequest(0n, parts)), reference(0n, parts));
});
