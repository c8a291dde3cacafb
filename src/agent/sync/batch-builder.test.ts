import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentHubDefinition } from '../../protocol/index.ts';
import { decodeSyncRequest } from '../../protocol/sync-request-decoder.ts';
import { buildBatch } from './batch-builder.ts';
import { FeedQueue } from './feed-queue.ts';

const feed = (kind: string) => ({ group: '', version: 'v1', kind, resource: `${kind.toLowerCase()}s`, namespace: '', namespaced: true });

function queueWith(kind: string, names: string[]): FeedQueue {
  const queue = new FeedQueue({ feed: feed(kind), maxObjectBytes: 100_000, onPending: () => undefined });
  names.forEach((name, i) =>
    queue.onEvent('ADDED', { apiVersion: 'v1', kind, metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: String(i + 1) } }),
  );
  return queue;
}

const kindsOf = (batch: NonNullable<ReturnType<typeof buildBatch>>) => batch.parts.map((p) => p.queue.feed.kind);

test('buildBatch takes the feeds round-robin from the cursor, so one busy kind cannot keep the others waiting', () => {
  const queues = [queueWith('A', ['a1', 'a2', 'a3']), queueWith('B', ['b1']), queueWith('C', ['c1'])];
  // Room for two changes: the batch starting at B takes B's and C's, not A's first two.
  const fromB = buildBatch(1n, queues, 1, { maxBytes: 1_000_000, maxChanges: 2 })!;
  assert.deepEqual(kindsOf(fromB), ['B', 'C']);
  assert.equal(fromB.changeCount, 2);
  const fromA = buildBatch(2n, queues, 0, { maxBytes: 1_000_000, maxChanges: 2 })!;
  assert.deepEqual(kindsOf(fromA), ['A']);
  assert.deepEqual(
    fromA.parts[0]!.lease.entries.map((e) => ('name' in e ? e.name : e.type)),
    ['a1', 'a2'],
  );
});

test('buildBatch wraps around from the last feed to the first', () => {
  const queues = [queueWith('A', ['a1']), queueWith('B', ['b1']), queueWith('C', ['c1', 'c2'])];
  const fromC = buildBatch(1n, queues, 2, { maxBytes: 1_000_000, maxChanges: 3 })!;
  assert.deepEqual(kindsOf(fromC), ['C', 'A']);
  assert.deepEqual(
    fromC.parts.map((p) => p.lease.entries.length),
    [2, 1],
  );
  // B, left out for want of room, comes first in the batch that starts after C.
  const fromA = buildBatch(2n, queues, 0, { maxBytes: 1_000_000, maxChanges: 3 })!;
  assert.deepEqual(kindsOf(fromA), ['B']);
});

test('buildBatch skips feeds without work, stops at the byte budget (but never below one change), and encodes what the hub decodes', () => {
  const idle = queueWith('Idle', []);
  const busy = queueWith('Busy', ['x1', 'x2']);
  assert.equal(buildBatch(1n, [idle], 0, { maxBytes: 1_000_000, maxChanges: 10 }), undefined);
  // A byte budget smaller than one entry still takes one (a batch never stalls on a large object).
  const tight = buildBatch(2n, [idle, busy], 0, { maxBytes: 1, maxChanges: 10 })!;
  assert.equal(tight.changeCount, 1);
  assert.equal(tight.digestCount, 0);
  // The request is pre-encoded: what goes on the wire is what the service serialises.
  const decoded = decodeSyncRequest(agentHubDefinition.Sync.requestSerialize(tight.request));
  assert.equal(decoded.kind.case, 'batch');
  assert.equal(decoded.kind.case === 'batch' ? decoded.kind.value.seq : undefined, 2n);
  assert.equal(decoded.kind.case === 'batch' ? decoded.kind.value.changes.length : 0, 1);
});
