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

function setup() {
  const queue = new FeedQueue({ feed: { group: '', version: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespace: '', namespaced: true }, maxObjectBytes: 100_000, onPending: () => undefined });
  for (const [i, name] of ['a', 'b', 'c'].entries()) queue.onEvent('ADDED', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: String(i + 1) } });
  const call = new FakeCall();
  const closed: string[] = [];
  const stream = new SyncStream({
    account: 'k8s',
    sessionId: 's1',
    open: () => call as unknown as ClientDuplexStream<SyncRequest, SyncResponse>,
    queues: () => [queue],
    // One change per batch, two in flight: batches 1 and 2 go out, 3 waits.
    limits: { maxBatchBytes: 1_000_000, maxBatchChanges: 1, maxUnackedBatches: 2 },
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
  assert.deepEqual(entries.map((e) => ('name' in e ? e.name : e.type)), ['a', 'b', 'c']);
});
