// The Sync stream under caching leases: it opens only for the session the database assigns the account
// to, every batch carries the lease's epoch as its fence, and a batch the store refuses as stale
// (CACHING_EPOCH_STALE: another replica took the account over) ends the stream with a refusal after the
// agent was told that it no longer caches the account.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { create } from '@bufbuild/protobuf';
import { Errors, ScaleAgentError } from '../../common/errors.ts';
import { silentLogger } from '../../common/logger.ts';
import { waitFor } from '../../common/time.ts';
import { SyncRequestSchema, type HubMessage, type SyncResponse } from '../../protocol/index.ts';
import { CachingLeases } from '../replicas/caching-leases.ts';
import { ManualClock, MemoryAssignmentStore } from '../replicas/testing/memory-assignments.ts';
import { EmptyIngestStore } from '../store/testing/empty-ingest-store.ts';
import type { IngestOutcome, StoreBatch } from '../store/types.ts';
import { AgentSession } from './agent-session.ts';
import { SessionRegistry } from './session-registry.ts';
import { SyncHandler } from './sync-handler.ts';

const WAIT = { timeoutMs: 5_000, intervalMs: 5 };
const LEASE_MS = 15_000;
const ACCOUNT = 'shared';

/** The ingest store, fencing as the SQL store does: a batch whose fence is not the account's current epoch is refused whole. */
class FencingIngestStore extends EmptyIngestStore {
  readonly committed: StoreBatch[] = [];

  constructor(private readonly assignments: MemoryAssignmentStore) {
    super();
  }

  override async applyBatch(batch: StoreBatch): Promise<IngestOutcome> {
    const epoch = (await this.assignments.getAssignment(batch.account))?.epoch;
    if (batch.fence !== undefined && batch.fence !== epoch)
      throw new ScaleAgentError(Errors.CACHING_EPOCH_STALE, `batch fenced at epoch ${batch.fence}; account ${batch.account} is at epoch ${epoch}`);
    this.committed.push(batch);
    return super.applyBatch(batch);
  }
}

/** The server side of a Session or Sync call: what the hub writes, and whether it ended the call. */
class FakeCall extends EventEmitter {
  readonly written: Array<HubMessage | SyncResponse> = [];
  writableEnded = false;
  destroyed: Error | undefined;

  getPeer(): string {
    return 'peer';
  }

  write(message: HubMessage | SyncResponse): boolean {
    this.written.push(message);
    return true;
  }

  end(): void {
    this.writableEnded = true;
  }

  destroy(err: Error): void {
    this.destroyed = err;
  }
}

function setUp() {
  const assignments = new MemoryAssignmentStore();
  const clock = new ManualClock();
  const store = new FencingIngestStore(assignments);
  const registry = new SessionRegistry();
  const leases = new CachingLeases({ store: assignments, hubId: 'hub-1', leaseMs: LEASE_MS, logger: silentLogger(), clock: clock.now });
  const lost: string[] = [];
  leases.setHost({ standbys: () => [], takeOver: () => false, lose: (account) => lost.push(account) });
  const sessionCall = new FakeCall();
  const session = new AgentSession('session-a', 'agent-a', 'test', 'peer', sessionCall as never);
  registry.add(session);
  registry.attach(session, ACCOUNT);
  const handler = new SyncHandler({ store, registry, logger: silentLogger(), leases });
  const open = () => {
    const call = new FakeCall();
    handler.handle(call as never);
    call.emit('data', create(SyncRequestSchema, { kind: { case: 'open', value: { sessionId: session.id, account: ACCOUNT } } }));
    return call;
  };
  const sendBatch = (call: FakeCall, seq: bigint) => call.emit('data', create(SyncRequestSchema, { kind: { case: 'batch', value: { seq } } }));
  const kinds = (call: FakeCall) => call.written.map((m) => m.kind.case);
  const refusal = (call: FakeCall) => {
    const found = call.written.find((m) => m.kind.case === 'refusal');
    return found?.kind.case === 'refusal' ? found.kind.value : undefined;
  };
  return { assignments, clock, store, leases, lost, session, open, sendBatch, kinds, refusal };
}

test('a sync stream of a session that holds no lease for the account is refused at open', async () => {
  const { open, refusal, store } = setUp();
  const call = open();
  await waitFor(() => refusal(call), { ...WAIT, what: 'the refusal' });
  assert.equal(refusal(call)?.code, Errors.NOT_CACHING_OWNER.code);
  assert.match(refusal(call)?.message ?? '', /does not hold the caching assignment/);
  assert.equal(store.committed.length, 0);
});

test("the holder's batches carry the epoch of its lease as their fence", async () => {
  const { leases, session, open, sendBatch, kinds, store } = setUp();
  await leases.claim(ACCOUNT, { sessionId: session.id, agentId: session.agentId });
  const call = open();
  await waitFor(() => kinds(call).includes('ready'), { ...WAIT, what: 'the stream to open' });
  sendBatch(call, 1n);
  await waitFor(() => kinds(call).includes('ack'), { ...WAIT, what: 'the batch to be acknowledged' });
  assert.deepEqual(
    store.committed.map((b) => b.fence),
    [1],
  );
});

test('a batch refused as stale (another replica took the account over) loses the account here and ends the stream', async () => {
  const { assignments, clock, leases, lost, session, open, sendBatch, kinds, refusal, store } = setUp();
  await leases.claim(ACCOUNT, { sessionId: session.id, agentId: session.agentId });
  const call = open();
  await waitFor(() => kinds(call).includes('ready'), { ...WAIT, what: 'the stream to open' });
  // This replica stalled past its lease; another replica's session claimed the account (epoch 2).
  clock.advance(LEASE_MS);
  assert.equal((await assignments.claimCaching(ACCOUNT, { hubId: 'hub-2', sessionId: 'session-b', agentId: 'agent-b' }, clock.now(), LEASE_MS)).granted, true);
  sendBatch(call, 1n);
  await waitFor(() => refusal(call), { ...WAIT, what: 'the refusal' });
  assert.equal(refusal(call)?.code, Errors.NOT_CACHING_OWNER.code);
  assert.match(refusal(call)?.message ?? '', /CACHING_EPOCH_STALE|epoch/);
  assert.equal(call.writableEnded, true);
  assert.equal(call.destroyed, undefined, 'a refusal, not a stream error the agent would retry');
  assert.deepEqual(lost, [ACCOUNT]);
  assert.equal(leases.epoch(ACCOUNT, session.id), undefined);
  assert.equal(store.committed.length, 0);
});
