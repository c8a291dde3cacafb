import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { SyncRequestSchema, type SyncRequest } from '../../protocol/index.ts';
import { batchBytes, CHANGE_OVERHEAD_BYTES } from './shared-sync-handler.ts';

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
  const bytes = batchBytes(batch(deletes as unknown as Changes));
  // Per delete: the overhead and its four strings, two bytes per unit.
  assert.equal(bytes, 1000 * (CHANGE_OVERHEAD_BYTES + 2 * (2 + 200 + 1 + 1)));
});

test('an upsert counts its object bytes, its strings and the overhead', () => {
  const object = new Uint8Array(5000);
  const upsert = { feed: 1, kind: { case: 'upsert' as const, value: { namespace: 'a', name: 'b', uid: 'c', resourceVersion: 'd', object } } };
  assert.equal(batchBytes(batch([upsert] as unknown as Changes)), CHANGE_OVERHEAD_BYTES + 5000 + 2 * 4);
});

test("a skipped object's message is counted, and a request that is not a batch costs nothing", () => {
  const message = 'x'.repeat(10_000);
  const skipped = { feed: 1, kind: { case: 'skipped' as const, value: { namespace: '', name: 'big', resourceVersion: '1', code: 'TOO_LARGE', message } } };
  assert.ok(batchBytes(batch([skipped] as unknown as Changes)) > 2 * message.length);
  assert.equal(batchBytes(create(SyncRequestSchema, { kind: { case: 'open', value: { account: 'a' } } })), 0);
});
