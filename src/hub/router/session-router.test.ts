import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { create, fromBinary } from '@bufbuild/protobuf';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { silentLogger } from '../../common/logger.ts';
import { agentHubDefinition, HubMessageSchema, OperationResultSchema, type AgentMessage, type HubMessage, type Operation } from '../../protocol/index.ts';
import { AgentSession } from '../grpc/agent-session.ts';
import { SessionRegistry } from '../grpc/session-registry.ts';
import { openStore } from '../store/open-store.ts';
import type { SqlStore } from '../store/sql-store.ts';
import { accountRecord } from '../store/testing/fixtures.ts';
import { SessionRouter } from './session-router.ts';

/**
 * The router's promises: an operation reaches the agent serving the account and its result comes back
 * with every hop recorded; no agent → a fast, clear failure; an agent that goes away or stays silent →
 * a clear failure at once or at the deadline, never a hang.
 */
class FakeCall {
  readonly written: HubMessage[] = [];
  ended = false;
  /** What goes on the wire: operations arrive pre-encoded (AgentSession encodes them to check their size). */
  write(message: HubMessage): boolean {
    this.written.push(fromBinary(HubMessageSchema, agentHubDefinition.Session.responseSerialize(message)));
    return true;
  }
  end(): void {
    this.ended = true;
  }
  operations(): Operation[] {
    return this.written.flatMap((m) => (m.kind.case === 'operation' ? [m.kind.value] : []));
  }
}

describe('SessionRouter', () => {
  let store: SqlStore;
  let registry: SessionRegistry;
  let router: SessionRouter;
  let call: FakeCall;
  let session: AgentSession;

  before(async () => {
    store = await openStore('sqlite::memory:', silentLogger());
    await store.upsertAccount(accountRecord('k8s'), 1_700_000_000_000);
    await store.upsertAccount(accountRecord('gone', { status: 'disconnected', agentId: 'agent-9', hubId: null }), 1_700_000_000_000);
  });
  after(async () => store.close());

  beforeEach(() => {
    registry = new SessionRegistry();
    router = new SessionRouter({ store, registry, logger: silentLogger(), defaultTimeoutMs: 5_000, hubId: 'hub-1' });
    call = new FakeCall();
    session = new AgentSession('s1', 'agent-1', '1.0.0', 'peer', call as unknown as ServerDuplexStream<AgentMessage, HubMessage>);
    registry.add(session);
    registry.attach(session, 'k8s');
  });

  const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' } };

  test('sends the operation to the session serving the account and returns its result, every hop recorded', async () => {
    const pending = router.execute('k8s', { type: 'apply', manifest: configMap, strategy: 'client-side' }, { taskId: 'T1', timeoutMs: 2_000 });
    await new Promise((resolve) => setImmediate(resolve));
    const [sent] = call.operations();
    assert.ok(sent);
    assert.equal(sent.account, 'k8s');
    assert.equal(sent.request.case, 'apply');
    assert.ok(Number(sent.deadlineUnixMs) > Date.now() + 1_000);
    session.completeOperation(
      create(OperationResultSchema, {
        id: sent.id,
        account: 'k8s',
        httpStatus: 201,
        body: new TextEncoder().encode(JSON.stringify({ ...configMap, metadata: { ...configMap.metadata, resourceVersion: '7' } })),
        written: [{ group: '', kind: 'ConfigMap', namespace: 'default', name: 'c', uid: 'u', resourceVersion: '7', deleted: false }],
        timings: { receivedUnixMs: BigInt(Date.now()), startedUnixMs: BigInt(Date.now()), finishedUnixMs: BigInt(Date.now()) },
        cacheSynced: true,
      }),
    );
    const outcome = await pending;
    assert.equal(outcome.httpStatus, 201);
    assert.equal(outcome.errorCode, null);
    assert.equal((outcome.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion, '7');
    assert.equal(outcome.written[0]!.resourceVersion, '7');
    const [record] = await store.listOperations(1, { taskId: 'T1' });
    assert.equal(record!.status, 'SUCCEEDED');
    assert.equal(record!.agentId, 'agent-1');
    for (const hop of ['receivedAt', 'routedAt', 'sentAt', 'executedAt', 'resultAt'] as const) assert.equal(typeof record![hop], 'number', hop);
  });

  test('no agent for the account fails at once, saying when its agent was last seen', async () => {
    const started = Date.now();
    const outcome = await router.execute('gone', { type: 'get', target: { group: '', version: '', kind: 'Pod', namespace: 'x', name: 'y' } }, { taskId: 'T2' });
    assert.ok(Date.now() - started < 1_000);
    assert.equal(outcome.errorCode, 'ACCOUNT_NOT_CONNECTED');
    assert.match(outcome.message, /^no agent is connected for account gone \(its agent agent-9 was last seen at \d{4}-/);
    const [record] = await store.listOperations(1, { taskId: 'T2' });
    assert.equal(record!.status, 'FAILED');
    assert.equal(record!.errorCode, 'ACCOUNT_NOT_CONNECTED');
    assert.equal(record!.sentAt, null);
    assert.match(
      (await router.execute('unknown', { type: 'get', target: { group: '', version: '', kind: 'Pod', namespace: 'x', name: 'y' } })).message,
      /^no agent is connected for account unknown$/,
    );
  });

  test('an agent that goes away mid-operation fails it at once', async () => {
    const pending = router.execute(
      'k8s',
      { type: 'delete', target: { group: '', version: '', kind: 'Pod', namespace: 'x', name: 'y' }, waitForDeletion: true },
      { taskId: 'T3', timeoutMs: 10_000 },
    );
    await new Promise((resolve) => setImmediate(resolve));
    const started = Date.now();
    session.close('stream error: connection reset');
    const outcome = await pending;
    assert.ok(Date.now() - started < 500);
    assert.equal(outcome.errorCode, 'OPERATION_AGENT_GONE');
    assert.match(outcome.message, /^the session with agent agent-1 ended before it answered: stream error: connection reset$/);
    assert.equal((await store.listOperations(1, { taskId: 'T3' }))[0]!.status, 'FAILED');
  });

  test('an agent that never answers fails at the deadline, and a late answer is ignored', async () => {
    const outcome = await router.execute(
      'k8s',
      { type: 'scale', target: { group: 'apps', version: '', kind: 'Deployment', namespace: 'x', name: 'y' }, replicas: 2 },
      { taskId: 'T4', timeoutMs: 150 },
    );
    assert.equal(outcome.errorCode, 'OPERATION_DEADLINE_EXCEEDED');
    assert.equal(outcome.message, 'the agent agent-1 did not answer within 150 ms');
    const [sent] = call.operations();
    assert.equal(session.completeOperation(create(OperationResultSchema, { id: sent!.id, account: 'k8s', httpStatus: 200 })), false);
    assert.equal(session.pendingOperations, 0);
  });

  test('every operation is reported to the metrics with its type once its outcome is known, however it ended', async () => {
    const seen: Array<{ type: string; code: string | null; seconds: number }> = [];
    const observed = new SessionRouter({
      store,
      registry,
      logger: silentLogger(),
      defaultTimeoutMs: 5_000,
      hubId: 'hub-1',
      metrics: { operationFinished: (type, outcome, seconds) => seen.push({ type, code: outcome.errorCode, seconds }) },
    });
    const target = { group: '', version: '', kind: 'Pod', namespace: 'x', name: 'y' };
    await observed.execute('gone', { type: 'get', target });
    const timeoutMs = 100;
    await observed.execute('k8s', { type: 'scale', target, replicas: 2 }, { timeoutMs });
    assert.deepEqual(
      seen.map(({ type, code }) => [type, code]),
      [
        ['get', 'ACCOUNT_NOT_CONNECTED'],
        ['scale', 'OPERATION_DEADLINE_EXCEEDED'],
      ],
    );
    // From receipt: the deadline's wait is in it (a timer may fire a millisecond early by the wall clock).
    assert.ok(seen[1]!.seconds >= (timeoutMs - 5) / 1000, `${seen[1]!.seconds} s`);
  });

  test('a closed session that is still registered is never sent to', async () => {
    session.close('bye');
    const outcome = await router.execute('k8s', { type: 'get', target: { group: '', version: '', kind: 'Pod', namespace: 'x', name: 'y' } });
    assert.equal(outcome.errorCode, 'ACCOUNT_NOT_CONNECTED');
  });
});
