// Protocol version 2 end to end over a real gRPC connection: the agent's SharedSync (one call, many
// accounts' channels, requests coalesced into messages) against the hub's SharedSyncHandler serving each
// channel with the SyncHandler. What must hold: each channel opens and is acknowledged in its own order,
// batches of several accounts share a message, one account's failure or misbehaviour ends only its
// channel, and leftovers for an ended channel go nowhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { credentials, Server, ServerCredentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { Errors, ScaleAgentError } from '../../src/common/errors.ts';
import { silentLogger } from '../../src/common/logger.ts';
import { waitFor } from '../../src/common/time.ts';
import {
  AgentHubClient,
  agentHubServerDefinition,
  SyncRequestSchema,
  type SharedSyncRequest,
  type SharedSyncResponse,
  type SyncResponse,
} from '../../src/protocol/index.ts';
import { SharedSync } from '../../src/agent/session/shared-sync.ts';
import type { SyncChannelCall } from '../../src/agent/sync/sync-stream.ts';
import { EmptyIngestStore } from '../../src/hub/store/testing/empty-ingest-store.ts';
import type { FeedInfo, IngestOutcome, StoreBatch } from '../../src/hub/store/types.ts';
import { AgentSession } from '../../src/hub/grpc/agent-session.ts';
import { SessionRegistry } from '../../src/hub/grpc/session-registry.ts';
import { SharedSyncHandler } from '../../src/hub/grpc/shared-sync-handler.ts';
import { SyncHandler } from '../../src/hub/grpc/sync-handler.ts';

const WAIT = { timeoutMs: 5_000, intervalMs: 5 };
const MAX_UNACKED = 4;
/** Long enough that every request a test writes in one go shares one message. */
const COALESCE_MS = 30;

/** Records each commit; an account named `broken-*` fails its commits as a lost connection would. */
class RecordingStore extends EmptyIngestStore {
  readonly committed: Array<{ account: string; seq: number }> = [];
  /** While set, commits of `slow-*` accounts wait for it. */
  gate: Promise<void> | undefined;
  readonly started: string[] = [];
  /** What the store was asked, in order: a channel's open reads the resume points, then commits start and end. */
  readonly events: string[] = [];
  override async applyBatch(batch: StoreBatch): Promise<IngestOutcome> {
    if (batch.account.startsWith('broken-')) throw new ScaleAgentError(Errors.STORE_ERROR, 'store applyBatch failed: Connection terminated unexpectedly');
    this.started.push(batch.account);
    this.events.push('commit started');
    if (batch.account.startsWith('slow-')) await this.gate;
    this.events.push('commit done');
    this.committed.push({ account: batch.account, seq: batch.changes.length });
    return super.applyBatch(batch);
  }

  override async resumePoints(): Promise<Array<{ feed: FeedInfo; resourceVersion: string }>> {
    this.events.push('open');
    return [];
  }
}

interface Channel {
  call: SyncChannelCall;
  received: SyncResponse[];
  ended: string | undefined;
}

async function harness(t: { after: (fn: () => void) => void }, accounts: string[]) {
  const registry = new SessionRegistry();
  const sessionCall = Object.assign(new EventEmitter(), { write: () => true, end: () => undefined, getPeer: () => 'peer' });
  const session = new AgentSession('session-1', 'agent-1', 'test', 'peer', sessionCall as never);
  registry.add(session);
  for (const account of accounts) registry.attach(session, account);
  const store = new RecordingStore();
  const sync = new SyncHandler({ store, registry, logger: silentLogger() });
  const shared = new SharedSyncHandler({ sync, logger: silentLogger(), maxUnackedBatches: MAX_UNACKED });
  const server = new Server();
  server.addService(agentHubServerDefinition, {
    Session: () => undefined,
    Sync: (call: Parameters<SyncHandler['handle']>[0]) => sync.handle(call),
    SharedSync: (call: Parameters<SharedSyncHandler['handle']>[0]) => shared.handle(call),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  const client = new AgentHubClient(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as {
    SharedSync(): ClientDuplexStream<SharedSyncRequest, SharedSyncResponse>;
    close(): void;
  };
  const mux = new SharedSync({ open: () => client.SharedSync(), coalesceMs: COALESCE_MS, logger: silentLogger() });
  t.after(() => {
    mux.close('test done');
    client.close();
    server.forceShutdown();
  });
  const open = (account: string): Channel => {
    const channel: Channel = { call: mux.openChannel(), received: [], ended: undefined };
    channel.call.on('data', (r) => channel.received.push(r));
    channel.call.on('error', (err) => (channel.ended = err.message));
    channel.call.on('end', () => (channel.ended = 'end'));
    channel.call.write(create(SyncRequestSchema, { kind: { case: 'open', value: { sessionId: session.id, account } } }));
    return channel;
  };
  const batch = (channel: Channel, seq: number) => channel.call.write(create(SyncRequestSchema, { kind: { case: 'batch', value: { seq: BigInt(seq) } } }));
  const acks = (channel: Channel) => channel.received.filter((r) => r.kind.case === 'ack').map((r) => (r.kind.case === 'ack' ? Number(r.kind.value.seq) : 0));
  return { mux, store, open, batch, acks };
}

test('channels of several accounts share messages; each is acknowledged in its own order', async (t) => {
  const { mux, store, open, batch, acks } = await harness(t, ['a', 'b', 'c']);
  const channels = ['a', 'b', 'c'].map(open);
  await waitFor(() => channels.every((c) => c.received.some((r) => r.kind.case === 'ready')), { ...WAIT, what: 'every channel ready' });
  assert.equal(mux.messagesSent, 1, 'the three opens left in one message');

  for (let seq = 1; seq <= 3; seq++) for (const channel of channels) batch(channel, seq);
  await waitFor(() => channels.every((c) => acks(c).length === 3), { ...WAIT, what: 'every batch acknowledged' });
  for (const channel of channels) assert.deepEqual(acks(channel), [1, 2, 3]);
  assert.equal(mux.messagesSent, 2, 'nine batches of three accounts left in one message');
  assert.equal(mux.requestsSent, 12);
  assert.equal(store.committed.length, 9);
});

test("one account's failed commit ends its channel only; the others keep streaming", async (t) => {
  const { open, batch, acks } = await harness(t, ['ok', 'broken-1']);
  const ok = open('ok');
  const broken = open('broken-1');
  await waitFor(() => [ok, broken].every((c) => c.received.some((r) => r.kind.case === 'ready')), { ...WAIT, what: 'both channels ready' });
  batch(ok, 1);
  batch(broken, 1);
  await waitFor(() => broken.ended, { ...WAIT, what: 'the broken channel to end' });
  assert.match(broken.ended ?? '', /failed to commit a batch: store applyBatch failed: Connection terminated unexpectedly/);
  assert.deepEqual(acks(broken), []);
  batch(ok, 2);
  await waitFor(() => acks(ok).length === 2, { ...WAIT, what: 'the healthy channel acknowledged' });
  assert.equal(ok.ended, undefined);
});

test('a channel with more unacknowledged batches than the limit is ended as a protocol violation; others are not', async (t) => {
  const { open, batch, acks } = await harness(t, ['flood', 'calm']);
  const flood = open('flood');
  const calm = open('calm');
  await waitFor(() => [flood, calm].every((c) => c.received.some((r) => r.kind.case === 'ready')), { ...WAIT, what: 'both channels ready' });
  // Written in one turn: the hub receives them together, before it could acknowledge any.
  for (let seq = 1; seq <= MAX_UNACKED + 3; seq++) batch(flood, seq);
  batch(calm, 1);
  await waitFor(() => flood.ended, { ...WAIT, what: 'the flooding channel to end' });
  assert.match(flood.ended ?? '', /PROTOCOL_VIOLATION: more than 4 unacknowledged batches/);
  await waitFor(() => acks(calm).length === 1, { ...WAIT, what: 'the calm channel acknowledged' });
  assert.equal(calm.ended, undefined);
});

test('a channel whose session does not cache the account is refused alone', async (t) => {
  const { open, acks, batch } = await harness(t, ['mine']);
  const mine = open('mine');
  const theirs = open('not-mine');
  await waitFor(() => theirs.ended, { ...WAIT, what: 'the refused channel to end' });
  assert.equal(theirs.received[0]?.kind.case, 'refusal');
  assert.equal(theirs.received[0]?.kind.case === 'refusal' && theirs.received[0].kind.value.code, Errors.NOT_CACHING_OWNER.code);
  await waitFor(() => mine.received.some((r) => r.kind.case === 'ready'), { ...WAIT, what: 'the other channel ready' });
  batch(mine, 1);
  await waitFor(() => acks(mine).length === 1, { ...WAIT, what: 'the other channel acknowledged' });
});

test('a channel ended as a protocol violation commits none of the batches it had queued', async (t) => {
  const { store, open, batch, acks } = await harness(t, ['flood', 'calm']);
  const flood = open('flood');
  const calm = open('calm');
  await waitFor(() => [flood, calm].every((c) => c.received.some((r) => r.kind.case === 'ready')), { ...WAIT, what: 'both channels ready' });
  // The hub tells the agent the channel is closed, and the agent re-sends its unacknowledged batches on a
  // new one: the old channel's queued batches must not commit alongside (nor keep bytes the stream no
  // longer counts). The flood's batches come first in the message, so they would commit before calm's.
  for (let seq = 1; seq <= MAX_UNACKED + 1; seq++) batch(flood, seq);
  batch(calm, 1);
  await waitFor(() => flood.ended && acks(calm).length === 1, { ...WAIT, what: 'the flood channel ended and the calm one acknowledged' });
  assert.deepEqual(
    store.committed.filter((c) => c.account === 'flood'),
    [],
  );
});

test("a cancelled channel's batches still waiting to be coalesced are not sent (as a cancelled Sync call's)", async (t) => {
  const { store, open, batch, acks } = await harness(t, ['gone', 'calm']);
  const gone = open('gone');
  const calm = open('calm');
  await waitFor(() => [gone, calm].every((c) => c.received.some((r) => r.kind.case === 'ready')), { ...WAIT, what: 'both channels ready' });
  batch(gone, 1);
  batch(gone, 2);
  // A SyncStream closing (SyncStream.close): it has put these batches back in its queues and re-sends
  // them on its next channel; the hub must not commit them on this one too.
  gone.call.end();
  gone.call.cancel();
  batch(calm, 1);
  await waitFor(() => acks(calm).length === 1, { ...WAIT, what: 'the calm channel acknowledged' });
  assert.deepEqual(
    store.committed.filter((c) => c.account === 'gone'),
    [],
  );
});

test("a replacement channel of an account starts only after its predecessor's commits: two channels of one account never commit side by side", async (t) => {
  const { mux, store, open, batch, acks } = await harness(t, ['slow-a', 'other']);
  let release = () => {};
  store.gate = new Promise<void>((resolve) => (release = resolve));
  const first = open('slow-a');
  await waitFor(() => first.received.some((r) => r.kind.case === 'ready'), { ...WAIT, what: 'the first channel ready' });
  batch(first, 1);
  await waitFor(() => store.started.length === 1, { ...WAIT, what: 'the first commit to start' });
  // The agent gives up on the channel (SyncStream.close) and re-sends on a new one at once.
  first.call.end();
  const second = open('slow-a');
  batch(second, 1);
  const sent = mux.messagesSent;
  await waitFor(() => mux.messagesSent > sent, { ...WAIT, what: 'the replacement sent' });
  // A later message's channel answering proves the hub has taken in the replacement's open and batch.
  const later = open('other');
  await waitFor(() => later.received.some((r) => r.kind.case === 'ready'), { ...WAIT, what: 'a later channel ready' });
  assert.deepEqual(store.events, ['open', 'commit started', 'open'], 'the replacement was held while its predecessor committed');
  release();
  await waitFor(() => acks(second).length === 1, { ...WAIT, what: 'the replacement served after its predecessor ended' });
  assert.deepEqual(store.events, ['open', 'commit started', 'open', 'commit done', 'open', 'commit started', 'commit done']);
});
