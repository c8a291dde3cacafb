import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { silentLogger } from '../../common/logger.ts';
import { waitFor } from '../../common/time.ts';
import { agentHubDefinition, SyncResponseSchema, type SyncRequest, type SyncResponse } from '../../protocol/index.ts';
import { decodeSyncRequest } from '../../protocol/sync-request-decoder.ts';
import { FeedQueue } from './feed-queue.ts';
import { SendWindow } from './send-window.ts';
import { SyncStream } from './sync-stream.ts';

/** The client side of a Sync stream, answered by the test. */
class FakeCall extends EventEmitter {
  readonly written: SyncRequest[] = [];
  ended = false;
  /** As the hub reads it (batches arrive pre-encoded). */
  write(request: SyncRequest): boolean {
    this.written.push(decodeSyncRequest(agentHubDefinition.Sync.requestSerialize(request)));
    return true;
  }
  end(): void {
    this.ended = true;
  }
  cancel(): void {}
  answer(kind: MessageInitShape<typeof SyncResponseSchema>['kind']): void {
    this.emit('data', create(SyncResponseSchema, { kind }));
  }
}

/** A feed of `kind` with one object per name, at resourceVersions 1, 2, 3… */
function queueOf(kind: string, names: string[]): FeedQueue {
  const queue = new FeedQueue({
    feed: { group: '', version: 'v1', kind, resource: `${kind.toLowerCase()}s`, namespace: '', namespaced: true },
    maxObjectBytes: 100_000,
    onPending: () => undefined,
  });
  for (const [i, name] of names.entries())
    queue.onEvent('ADDED', { apiVersion: 'v1', kind, metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: String(i + 1) } });
  return queue;
}

function setup(queues = [queueOf('ConfigMap', ['a', 'b', 'c'])], maxUnackedBatches = 2) {
  const queue = queues[0]!;
  const call = new FakeCall();
  const closed: string[] = [];
  const stream = new SyncStream({
    account: 'k8s',
    sessionId: 's1',
    open: () => call as unknown as ClientDuplexStream<SyncRequest, SyncResponse>,
    queues: () => queues,
    // One change per batch, two in flight (by default): batches 1 and 2 go out, 3 waits.
    limits: { maxBatchBytes: 1_000_000, maxBatchChanges: 1, maxUnackedBatches },
    logger: silentLogger(),
    onReady: () => undefined,
    onClosed: (reason) => closed.push(reason),
    window: new SendWindow(),
  });
  stream.start();
  call.answer({ case: 'ready', value: { resume: [] } });
  return { queue, call, stream, closed };
}

const batches = (call: FakeCall) => call.written.filter((r) => r.kind.case === 'batch');

test('SyncStream keeps at most maxUnackedBatches in flight and sends the next as each is acknowledged in order', async () => {
  const { queue, call, stream } = setup();
  await waitFor(() => batches(call).length === 2, { timeoutMs: 2_000, what: 'two batches' });
  assert.equal(stream.unacked, 2);
  call.answer({ case: 'ack', value: { seq: 1n, divergences: [] } });
  await waitFor(() => batches(call).length === 3, { timeoutMs: 2_000, what: 'the third batch' });
  assert.equal(queue.ackedProgress, '1');
  assert.equal(stream.unacked, 2);
});

test('SyncStream closes on an acknowledgement out of order and puts what was in flight back, ahead of newer changes', async () => {
  const { queue, call, stream, closed } = setup();
  await waitFor(() => batches(call).length === 2, { timeoutMs: 2_000, what: 'two batches' });
  assert.equal(queue.pendingCount, 1);
  call.answer({ case: 'ack', value: { seq: 2n, divergences: [] } });
  assert.equal(closed.length, 1);
  assert.match(closed[0]!, /hub acknowledged batch 2 but the oldest unacknowledged batch is 1/);
  assert.equal(stream.unacked, 0);
  assert.equal(call.ended, true);
  // a and b (in flight) are pending again, before c.
  const { entries } = queue.take(1_000_000, 10);
  assert.deepEqual(
    entries.map((e) => ('name' in e ? e.name : e.type)),
    ['a', 'b', 'c'],
  );
});

/** Whether `promise` has settled once everything already due has run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
}

test('SyncStream acknowledges nothing on an acknowledgement out of order: no progress, no write reported read', async () => {
  const { queue, call, closed } = setup();
  await waitFor(() => batches(call).length === 2, { timeoutMs: 2_000, what: 'two batches' });
  const writeOfB = queue.waitForSync('ns', 'b', '2', 5_000);
  call.answer({ case: 'ack', value: { seq: 2n, divergences: [] } });
  assert.equal(closed.length, 1);
  assert.equal(queue.ackedProgress, '');
  assert.equal(await settled(writeOfB), false);
  // b goes out again, and only its acknowledgement tells the write it is read.
  const again = queue.take(1_000_000, 10);
  again.ack();
  assert.equal(await writeOfB, true);
});

test('SyncStream closes on an acknowledgement repeated; what it acknowledged before stays acknowledged', async () => {
  const { queue, call, stream, closed } = setup();
  await waitFor(() => batches(call).length === 2, { timeoutMs: 2_000, what: 'two batches' });
  call.answer({ case: 'ack', value: { seq: 1n, divergences: [] } });
  await waitFor(() => batches(call).length === 3, { timeoutMs: 2_000, what: 'the third batch' });
  call.answer({ case: 'ack', value: { seq: 1n, divergences: [] } });
  assert.equal(closed.length, 1);
  assert.match(closed[0]!, /hub acknowledged batch 1 but the oldest unacknowledged batch is 2/);
  assert.equal(stream.unacked, 0);
  assert.equal(queue.ackedProgress, '1');
  // b and c were in flight: pending again, in order; a is not sent again.
  const { entries } = queue.take(1_000_000, 10);
  assert.deepEqual(
    entries.map((e) => ('name' in e ? e.name : e.type)),
    ['b', 'c'],
  );
});

test('SyncStream puts back what was in flight together: an object in two lost batches comes back once, newest, where it was first', async () => {
  const queue = queueOf('ConfigMap', ['a', 'b']);
  const { call, stream, closed } = setup([queue], 3);
  await waitFor(() => batches(call).length === 2, { timeoutMs: 2_000, what: 'two batches' });
  queue.onEvent('MODIFIED', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'ns', uid: 'uid-a', resourceVersion: '3' } });
  stream.schedulePump();
  await waitFor(() => batches(call).length === 3, { timeoutMs: 2_000, what: 'the third batch' });
  call.emit('error', new Error('connection reset'));
  assert.equal(closed.length, 1);
  const { entries } = queue.take(1_000_000, 10);
  assert.deepEqual(
    entries.map((e) => ('name' in e ? `${e.name}@${e.resourceVersion}` : e.type)),
    ['a@3', 'b@2'],
  );
});

test('SyncStream starts each batch at the next feed, so a busy kind cannot keep a quiet one waiting', async () => {
  const busy = queueOf('ConfigMap', ['a', 'b', 'c']);
  const quiet = queueOf('Secret', ['s']);
  const { call } = setup([busy, quiet], 4);
  await waitFor(() => batches(call).length === 4, { timeoutMs: 2_000, what: 'four batches' });
  const kinds = batches(call).map((r) => (r.kind.case === 'batch' ? r.kind.value.feeds.map((f) => f.kind).join() : ''));
  assert.deepEqual(kinds, ['ConfigMap', 'Secret', 'ConfigMap', 'ConfigMap']);
});
