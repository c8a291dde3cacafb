import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, toBinary } from '@bufbuild/protobuf';
import { SharedSyncRequestSchema, SyncRequestSchema, type SyncRequest } from '../../protocol/index.ts';
import { decodeSharedSyncRequest } from '../../protocol/shared-sync-codec.ts';
import { batchBytes, CHANGE_OVERHEAD_BYTES, ownObjects } from './batch-memory.ts';

type Changes = Extract<SyncRequest['kind'], { case: 'batch' }>['value']['changes'];

function batch(changes: Changes): SyncRequest {
  return create(SyncRequestSchema, { kind: { case: 'batch', value: { seq: 1n, changes } } });
}

test('a batch of deletes counts against the budget though it carries no object bytes', () => {
  const name = 'n'.repeat(200);
  const deletes = Array.from({ length: 1000 }, () => ({
    feed: 1,
    kind: { case: 'delete' as const, value: { namespace: 'ns', name, uid: 'u', resourceVersion: '7' } },
  }));
  // Per delete: the overhead and its four strings, two bytes per unit.
  assert.equal(batchBytes(batch(deletes as unknown as Changes)), 1000 * (CHANGE_OVERHEAD_BYTES + 2 * (2 + 200 + 1 + 1)));
});

test("an upsert counts its object bytes, its strings and the overhead; a skipped object's message counts", () => {
  const upsert = {
    feed: 1,
    kind: { case: 'upsert' as const, value: { namespace: 'a', name: 'b', uid: 'c', resourceVersion: 'd', object: new Uint8Array(5000) } },
  };
  assert.equal(batchBytes(batch([upsert] as unknown as Changes)), CHANGE_OVERHEAD_BYTES + 5000 + 2 * 4);
  const message = 'x'.repeat(10_000);
  const skipped = { feed: 1, kind: { case: 'skipped' as const, value: { namespace: '', name: 'big', resourceVersion: '1', code: 'TOO_LARGE', message } } };
  assert.equal(batchBytes(batch([skipped] as unknown as Changes)), CHANGE_OVERHEAD_BYTES + 2 * (3 + 1 + 9 + message.length));
  assert.equal(batchBytes(create(SyncRequestSchema, { kind: { case: 'open', value: { account: 'a' } } })), 0);
});

test('a decoded batch owns its objects afterwards: it no longer keeps the message (and its padding) alive', () => {
  const objects = ['{"kind":"ConfigMap"}', '{"kind":"Secret","metadata":{}}'].map((text) => new TextEncoder().encode(text));
  const upserts = objects.map((object, i) => ({
    feed: 1,
    kind: { case: 'upsert' as const, value: { namespace: 'ns', name: `o${i}`, uid: `u${i}`, resourceVersion: '1', object } },
  }));
  const request = batch([
    ...upserts,
    { feed: 1, kind: { case: 'delete' as const, value: { namespace: 'ns', name: 'gone', uid: 'u', resourceVersion: '2' } } },
  ] as unknown as Changes);
  const encoded = toBinary(SharedSyncRequestSchema, create(SharedSyncRequestSchema, { requests: [{ channel: 1, request }] }));
  // An unknown field of a megabyte after the request, which the decoder skips.
  const padding = new Uint8Array(1 << 20);
  const message = new Uint8Array([...encoded, 0xfa, 0x3f, 0x80, 0x80, 0x40, ...padding]);
  const decoded = decodeSharedSyncRequest(message).requests[0]!.request!;
  const views = () => (decoded.kind.value as { changes: Changes }).changes.flatMap((c) => (c.kind.case === 'upsert' ? [c.kind.value.object] : []));
  assert.equal(views()[0]!.buffer, message.buffer, 'decoded objects are views into the message');
  ownObjects(decoded);
  const owned = views();
  assert.deepEqual(
    owned.map((o) => new TextDecoder().decode(o)),
    ['{"kind":"ConfigMap"}', '{"kind":"Secret","metadata":{}}'],
  );
  assert.notEqual(owned[0]!.buffer, message.buffer);
  assert.equal(owned[0]!.buffer, owned[1]!.buffer, 'one buffer per batch');
  assert.equal(owned[0]!.buffer.byteLength, objects[0]!.byteLength + objects[1]!.byteLength);
  ownObjects(decoded);
  assert.equal(views()[0]!.buffer, owned[0]!.buffer, 'a batch that owns its objects is not copied again');
});

test('a batch of feeds and progress without changes counts too', () => {
  const feeds = Array.from({ length: 1000 }, () => ({
    group: 'apps',
    version: 'v1',
    kind: 'Deployment',
    resource: 'deployments',
    namespace: '',
    namespaced: true,
  }));
  const progress = [{ feed: 0, resourceVersion: '12345' }];
  const request = create(SyncRequestSchema, { kind: { case: 'batch', value: { seq: 1n, changes: [], feeds, progress } } });
  assert.equal(batchBytes(request), 1000 * (CHANGE_OVERHEAD_BYTES + 2 * (4 + 2 + 10 + 11)) + CHANGE_OVERHEAD_BYTES + 2 * 5);
});
