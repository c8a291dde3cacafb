// One operation, or one result, must never cut an agent's session: before, `scaleManifest` with
// `replicas: 1e12` could not be encoded (13 INTERNAL) and a deploy of a 9 MiB ConfigMap exceeded gRPC's
// 8 MiB (RESOURCE_EXHAUSTED), and either ended the session of every account of the agent, as a
// retryable failure Orca would repeat. Now each fails on its own, with a clear code that is not
// retryable, and the session carries on: the REST layer refuses the bad count first; the hub refuses
// an operation it cannot send; the agent replaces a result it cannot send.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { silentLogger } from '../../src/common/logger.ts';
import { waitFor } from '../../src/common/time.ts';
import { OperationResultSchema, type Operation } from '../../src/protocol/index.ts';
import { SessionRouter } from '../../src/hub/router/session-router.ts';
import { account, liveSessions, startTestHub, TestAgent, type TestHub } from './transport-harness.ts';
import { TestSystem } from '../support/system.ts';

const MIB = 1024 * 1024;
const ACCOUNT = 'limits-1';
const target = { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'c' };

describe('an operation or a result too large for a Session message fails alone', { timeout: 60_000 }, () => {
  let hub: TestHub;
  let agent: TestAgent;
  let router: SessionRouter;

  before(async () => {
    hub = await startTestHub({ grpc: { insecure: true, allowAnyIdentity: true } });
    // The agent answers every operation itself; a `get` of "huge" answers with 9 MiB.
    agent = new TestAgent({ grpc: hub.address, insecure: true }, [account(ACCOUNT)], 'limits-agent', async (operation: Operation) => {
      const huge = operation.request.case === 'get' && operation.request.value.target?.name === 'huge';
      return create(OperationResultSchema, {
        id: operation.id,
        account: operation.account,
        httpStatus: 200,
        body: new TextEncoder().encode(huge ? JSON.stringify({ data: { big: 'x'.repeat(9 * MIB) } }) : '{}'),
      });
    }).start();
    await agent.waitForWelcome();
    router = new SessionRouter({ store: hub.hub.store, registry: hub.hub.registry, logger: silentLogger(), defaultTimeoutMs: 10_000, hubId: 'hub-test' });
  });

  after(async () => {
    await agent?.stop();
    await hub?.close();
  });

  test('replicas out of int32, a 9 MiB manifest and a 9 MiB result each fail with a code of their own; the session survives them all', async () => {
    const [session] = liveSessions(hub.hub);
    assert.ok(session);

    const scale = await router.execute(ACCOUNT, { type: 'scale', target: { ...target, kind: 'Deployment', group: 'apps' }, replicas: 1e12 });
    assert.equal(scale.errorCode, 'OPERATION_TOO_LARGE');
    assert.match(scale.message, /cannot be encoded/);

    const manifest = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big', namespace: 'default' }, data: { big: 'x'.repeat(9 * MIB) } };
    const apply = await router.execute(ACCOUNT, { type: 'apply', manifest, strategy: 'client-side' });
    assert.equal(apply.errorCode, 'OPERATION_TOO_LARGE');
    assert.match(apply.message, /the operation is 9\.0 MiB; one may be at most 7\.9 MiB/);

    const read = await router.execute(ACCOUNT, { type: 'get', target: { ...target, name: 'huge' } });
    assert.equal(read.errorCode, 'OPERATION_RESULT_TOO_LARGE');
    assert.match(read.message, /the result is 9\.0 MiB/);

    // The same session, still serving: an ordinary operation goes through it.
    const ok = await router.execute(ACCOUNT, { type: 'get', target });
    assert.equal(ok.errorCode, null);
    assert.deepEqual(
      liveSessions(hub.hub).map((s) => s.id),
      [session.id],
    );
    assert.equal(agent.welcomes, 1, 'the agent never reconnected');
  });
});

describe('scaleManifest with replicas beyond int32 is refused at the REST API', { timeout: 120_000 }, () => {
  let system: TestSystem;

  before(async () => {
    system = await new TestSystem({ clusters: 1 }).start();
  });

  after(async () => {
    await system?.stop();
  });

  test("replicas: 1e12 is a 400 naming the field; the agent's session is untouched", async () => {
    const refused = await system.rest('/kubernetes/ops', {
      method: 'POST',
      body: [{ scaleManifest: { account: 'cluster-1', manifestName: 'deployment web', location: 'default', replicas: 1e12 } }],
    });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.match(JSON.stringify(refused.body), /replicas: must be at most 2147483647/);
    await waitFor(async () => (await system.agentStatuses()).get('cluster-1') === 'connected', { timeoutMs: 5_000, what: 'the account to be served' });
    assert.equal((system.group.output('hub').match(/agent connected with/g) ?? []).length, 1);
  });
});
