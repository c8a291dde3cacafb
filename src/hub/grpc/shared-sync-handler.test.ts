// The SharedSync stream's bookkeeping with a scripted call: a replacement channel held behind the one it
// replaces, what happens when either ends early, and the memory budget held batches count against.
// (test/hub/shared-sync-channels.test.ts runs the same handler over a real gRPC connection.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { create } from '@bufbuild/protobuf';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { silentLogger } from '../../common/logger.ts';
import { SyncRequestSchema, SyncResponseSchema, type SharedSyncRequest, type SharedSyncResponse, type SyncRequest } from '../../protocol/index.ts';
import { MAX_PENDING_BYTES_PER_STREAM, SharedSyncHandler } from './shared-sync-handler.ts';
import type { SyncCall } from './sync-handler.ts';

const MAX_UNACKED = 4;

/** The call as the handler uses it: requests come in as 'data', and pause/resume are recorded. */
class ScriptedCall extends EventEmitter {
  paused = false;
  writableEnded = false;
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  write(): boolean {
    return true;
  }
  end(): void {
    this.writableEnded = true;
  }
  getPeer(): string {
    return 'test';
  }
  send(...requests: Array<{ channel: number; request?: SyncRequest; close?: boolean }>): void {
    this.emit('data', { requests: requests.map((r) => ({ close: false, ...r })) } as unknown as SharedSyncRequest);
  }
}

const open = (account: string) => create(SyncRequestSchema, { kind: { case: 'open', value: { account } } });
/** A batch of one upsert whose object is `bytes` long. */
const batch = (seq: number, bytes: number) =>
  create(SyncRequestSchema, {
    kind: {
      case: 'batch',
      value: {
        seq: BigInt(seq),
        changes: [
          { feed: 0, kind: { case: 'upsert', value: { namespace: 'ns', name: `o${seq}`, uid: 'u', resourceVersion: '1', object: new Uint8Array(bytes) } } },
        ],
      },
    },
  });
const ack = (seq: number) => create(SyncResponseSchema, { kind: { case: 'ack', value: { seq: BigInt(seq), committedUnixMs: 0n, divergences: [] } } });

/** A handler whose SyncHandler records the channels it serves (and what they receive) instead of committing. */
function start() {
  const call = new ScriptedCall();
  const served = new Map<number, { channel: SyncCall & EventEmitter; received: SyncRequest[]; errors: string[] }>();
  const handler = new SharedSyncHandler({
    logger: silentLogger(),
    maxUnackedBatches: MAX_UNACKED,
    sync: {
      handleChannel: (channel: SyncCall) => {
        const entry = { channel: channel as SyncCall & EventEmitter, received: [] as SyncRequest[], errors: [] as string[] };
        served.set((channel as unknown as { id: number }).id, entry);
        entry.channel.on('data', (request: SyncRequest) => entry.received.push(request));
        entry.channel.on('error', (err: Error) => entry.errors.push(err.message));
      },
    },
  });
  handler.handle(call as unknown as ServerDuplexStream<SharedSyncRequest, SharedSyncResponse>);
  return { call, served };
}

const BIG = 24 * 1024 * 1024;

test('the stream ending while a replacement channel is held ends both quietly (nothing listens to the held one)', () => {
  const { call, served } = start();
  call.send({ channel: 1, request: open('a') });
  call.send({ channel: 1, close: true }, { channel: 2, request: open('a') });
  assert.deepEqual([...served.keys()], [1]);
  assert.doesNotThrow(() => call.emit('close'));
  assert.deepEqual([...served.keys()], [1], 'the held channel is never served once the stream is gone');
  assert.equal(served.get(1)!.errors.length, 1);
});

test('a held channel that breaks the rules leaves its successor waiting for the channel still committing', () => {
  const { call, served } = start();
  call.send({ channel: 1, request: open('a') });
  call.send({ channel: 1, close: true }, { channel: 2, request: open('a') });
  // More than the held channel may collect: a protocol violation ends channel 2.
  for (let seq = 1; seq <= MAX_UNACKED + 2; seq++) call.send({ channel: 2, request: batch(seq, 10) });
  call.send({ channel: 3, request: open('a') });
  assert.deepEqual([...served.keys()], [1], 'channel 3 must not run beside channel 1');
  served.get(1)!.channel.end();
  assert.deepEqual([...served.keys()], [1, 3], 'channel 3 starts once channel 1 ended');
  assert.equal(served.get(3)!.received[0]!.kind.case, 'open');
});

test('held batches count against the budget until they are acknowledged, and a violation gives their bytes back', () => {
  const { call, served } = start();
  call.send({ channel: 1, request: open('a') });
  call.send({ channel: 1, close: true }, { channel: 2, request: open('a') });
  const held = Math.floor(MAX_PENDING_BYTES_PER_STREAM / BIG) + 1;
  assert.ok(held <= MAX_UNACKED, 'the test needs the held batches within the unacknowledged limit');
  for (let seq = 1; seq <= held; seq++) call.send({ channel: 2, request: batch(seq, BIG) });
  assert.equal(call.paused, true, 'held batches over the budget pause the stream');

  // Channel 1 ends: channel 2 starts with what it held, still counted until the acknowledgements.
  served.get(1)!.channel.end();
  const second = served.get(2)!;
  assert.deepEqual(
    second.received.map((r) => r.kind.case),
    ['open', ...Array<string>(held).fill('batch')],
  );
  assert.equal(call.paused, true);
  for (let seq = 1; seq <= held; seq++) second.channel.write(ack(seq));
  assert.equal(call.paused, false, 'acknowledged batches free the budget');

  // A held channel's bytes go back when it is ended for a violation.
  call.send({ channel: 2, close: true }, { channel: 3, request: open('a') });
  for (let seq = 1; seq <= held; seq++) call.send({ channel: 3, request: batch(seq, BIG) });
  assert.equal(call.paused, true);
  for (let seq = held + 1; seq <= MAX_UNACKED + 2; seq++) call.send({ channel: 3, request: batch(seq, 10) });
  assert.equal(call.paused, false, 'the violated channel no longer holds its batches');
});
