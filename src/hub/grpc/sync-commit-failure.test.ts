// A batch the store cannot commit (the database connection was cut) ends the Sync stream with status
// UNAVAILABLE over a real gRPC connection, so the agent reopens it and sends the batch again. Found by
// the HA chaos test: the stream used to be destroyed without a status, and the agent's stream hung with
// its batches unacknowledged until the connection itself broke.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { credentials, Server, ServerCredentials, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { Errors, ScaleAgentError } from '../../common/errors.ts';
import { silentLogger } from '../../common/logger.ts';
import { waitFor } from '../../common/time.ts';
import { AgentHubClient, agentHubServerDefinition, SyncRequestSchema, type SyncRequest, type SyncResponse } from '../../protocol/index.ts';
import { EmptyIngestStore } from '../store/testing/empty-ingest-store.ts';
import type { IngestOutcome } from '../store/types.ts';
import { AgentSession } from './agent-session.ts';
import { SessionRegistry } from './session-registry.ts';
import { SyncHandler } from './sync-handler.ts';

const ACCOUNT = 'k8s';
const WAIT = { timeoutMs: 5_000, intervalMs: 5 };

/** A store whose connection is gone: every commit fails as the SQL store reports it. */
class UnreachableIngestStore extends EmptyIngestStore {
  override async applyBatch(): Promise<IngestOutcome> {
    throw new ScaleAgentError(Errors.STORE_ERROR, 'store applyBatch failed: Connection terminated unexpectedly');
  }
}

test('a batch the store cannot commit ends the stream with UNAVAILABLE, and the agent hears it', async (t) => {
  const registry = new SessionRegistry();
  const sessionCall = Object.assign(new EventEmitter(), { write: () => true, end: () => undefined, getPeer: () => 'peer' });
  const session = new AgentSession('session-1', 'agent-1', 'test', 'peer', sessionCall as never);
  registry.add(session);
  registry.attach(session, ACCOUNT);
  const handler = new SyncHandler({ store: new UnreachableIngestStore(), registry, logger: silentLogger() });

  const server = new Server();
  server.addService(agentHubServerDefinition, {
    Session: () => undefined,
    Sync: (call: Parameters<SyncHandler['handle']>[0]) => handler.handle(call),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  const client = new AgentHubClient(`127.0.0.1:${port}`, credentials.createInsecure());
  t.after(() => {
    client.close();
    server.forceShutdown();
  });

  const call = (client as unknown as { Sync(): import('@grpc/grpc-js').ClientDuplexStream<SyncRequest, SyncResponse> }).Sync();
  const received: SyncResponse[] = [];
  let ended: ServiceError | undefined;
  call.on('data', (response: SyncResponse) => received.push(response));
  call.on('error', (err: ServiceError) => {
    ended = err;
  });
  call.write(create(SyncRequestSchema, { kind: { case: 'open', value: { sessionId: session.id, account: ACCOUNT } } }));
  await waitFor(() => received.some((r) => r.kind.case === 'ready'), { ...WAIT, what: 'the stream to open' });
  call.write(create(SyncRequestSchema, { kind: { case: 'batch', value: { seq: 1n } } }));

  await waitFor(() => ended, { ...WAIT, what: 'the stream to end with a status' });
  assert.equal(ended?.code, GrpcStatus.UNAVAILABLE);
  assert.match(ended?.details ?? '', /failed to commit a batch: store applyBatch failed: Connection terminated unexpectedly/);
  assert.ok(!received.some((r) => r.kind.case === 'ack'), 'nothing was acknowledged');
});
