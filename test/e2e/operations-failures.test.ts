// Spinnaker operations when the path to the cluster fails: the agent holding the account is gone (the
// operation fails fast with the reason, and works again once the agent is back), and the cluster answers
// slower than the hub's operation deadline (the task fails at the deadline, not when the cluster finally
// answers). The hub runs with a short operations.timeoutMs for this.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../src/common/time.ts';
import { TestSystem } from '../support/system.ts';
import {
  createAtSim,
  createNamespace,
  deploymentManifest,
  failOp,
  hubManifest,
  live,
  rolledOut,
  runOp,
  waitForHubManifest,
  waitForLive,
  type Json,
} from '../support/operations.ts';

const ACCOUNT = 'cluster-1';
const CLUSTER = 'cluster-1';
const NS = 'ops-failures';
/** The hub's operation deadline in this file: short, but ample for a healthy sim on a busy machine. */
const OPERATION_TIMEOUT_MS = 3_000;
/** Latency injected at the sim: well past the deadline. */
const SLOW_CLUSTER_MS = 12_000;
/** A failure counts as fast when it comes this long after submission at most. */
const FAST_FAILURE_MS = 8_000;
const STAGE_NOISE = { cloudProvider: 'kubernetes', type: 'op', name: 'Stage', refId: '1' };

function configMap(name: string): Json {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS }, data: { a: '1' } };
}

/** Waits until the hub's /credentials shows the account's agent in that state. */
async function accountStatus(system: TestSystem, status: 'connected' | 'disconnected'): Promise<void> {
  await waitFor(async () => (await system.agentStatuses()).get(ACCOUNT) === status, { timeoutMs: 30_000, what: `account ${ACCOUNT} ${status} at the hub` });
}

async function timed<T>(body: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = Date.now();
  const value = await body();
  return { value, ms: Date.now() - start };
}

describe('operations when the agent is gone or the cluster is too slow', { timeout: 240_000 }, () => {
  let system: TestSystem;

  before(async () => {
    system = await new TestSystem({ clusters: 1, hub: { operations: { timeoutMs: OPERATION_TIMEOUT_MS } } }).start();
    await createNamespace(system, CLUSTER, NS);
    for (const name of ['slow-1', 'slow-2', 'gone-1', 'back-1']) await createAtSim(system, CLUSTER, `/api/v1/namespaces/${NS}/configmaps`, configMap(name));
    await createAtSim(system, CLUSTER, `/apis/apps/v1/namespaces/${NS}/deployments`, deploymentManifest('slow-web', NS, 'web:1', 1));
    await waitForLive(system, CLUSTER, `/apis/apps/v1/namespaces/${NS}/deployments/slow-web`, rolledOut, 'slow-web rolled out');
    for (const name of ['configMap back-1', 'deployment slow-web']) await waitForHubManifest(system, ACCOUNT, NS, name);
  });

  after(async () => {
    await system?.simAdmin('DELETE', `/sim/clusters/${CLUSTER}/faults`).catch(() => undefined);
    await system?.stop();
  });

  test('with the short deadline, operations on a healthy cluster still complete', async () => {
    await runOp(system, 'deleteManifest', { ...STAGE_NOISE, account: ACCOUNT, manifestName: 'configMap slow-2', location: NS, options: {} });
    assert.equal(await live(system, CLUSTER, `/api/v1/namespaces/${NS}/configmaps/slow-2`), undefined);
  });

  test('a delete held by a finalizer fails at the deadline naming the finalizer, not as a retryable timeout', async () => {
    await createAtSim(system, CLUSTER, `/api/v1/namespaces/${NS}/configmaps`, {
      ...configMap('held'),
      metadata: { name: 'held', namespace: NS, finalizers: ['example.com/hold'] },
    });
    await waitForHubManifest(system, ACCOUNT, NS, 'configMap held');
    const { message, outcome } = await failOp(system, 'deleteManifest', {
      ...STAGE_NOISE,
      account: ACCOUNT,
      manifestName: 'configMap held',
      location: NS,
      options: {},
    });
    assert.match(message, /ConfigMap held is being deleted \(since .+\) but finalizers still hold it: example\.com\/hold/);
    assert.ok(outcome.kind === 'task');
    const exception = (outcome.task.resultObjects as Json[]).find((r) => r.type === 'EXCEPTION');
    assert.equal(exception.details.code, 'DELETE_BLOCKED_BY_FINALIZERS');
    assert.equal(exception.retryable, false);
    assert.equal(outcome.task.status.retryable, false);
    const held = await live(system, CLUSTER, `/api/v1/namespaces/${NS}/configmaps/held`);
    assert.ok(held?.metadata?.deletionTimestamp, 'the object is marked for deletion');
  });

  test('a cluster slower than the deadline: the task fails at the deadline with the reason', async () => {
    const latency = await system.simAdmin('POST', `/sim/clusters/${CLUSTER}/faults/latency`, { ms: SLOW_CLUSTER_MS });
    assert.equal(latency.status, 200, JSON.stringify(latency.body));
    try {
      const deletion = await timed(() =>
        failOp(
          system,
          'deleteManifest',
          { ...STAGE_NOISE, account: ACCOUNT, manifestName: 'configMap slow-1', location: NS, options: {} },
          { timeoutMs: SLOW_CLUSTER_MS * 2 },
        ),
      );
      assert.match(deletion.value.message, /deadline|did not answer|timed out|timeout/i);
      assert.ok(deletion.ms >= OPERATION_TIMEOUT_MS - 500, `failed after ${deletion.ms} ms: not before the deadline`);
      assert.ok(deletion.ms < SLOW_CLUSTER_MS, `failed after ${deletion.ms} ms: at the deadline, not when the cluster answered`);

      const scale = await timed(() =>
        failOp(
          system,
          'scaleManifest',
          { ...STAGE_NOISE, account: ACCOUNT, manifestName: 'deployment slow-web', location: NS, replicas: 2 },
          { timeoutMs: SLOW_CLUSTER_MS * 2 },
        ),
      );
      assert.match(scale.value.message, /deadline|did not answer|timed out|timeout/i);
      assert.ok(scale.ms < SLOW_CLUSTER_MS, `failed after ${scale.ms} ms`);
    } finally {
      await system.simAdmin('POST', `/sim/clusters/${CLUSTER}/faults/latency`, { ms: 0 });
    }
  });

  test('the agent gone: operations fail fast with the reason; once it is back they work again', async () => {
    await system.group.stop('agent');
    await accountStatus(system, 'disconnected');
    const gone = await timed(() =>
      failOp(
        system,
        'deleteManifest',
        { ...STAGE_NOISE, account: ACCOUNT, manifestName: 'configMap gone-1', location: NS, options: {} },
        { allowRejection: true },
      ),
    );
    assert.match(gone.value.message, /no agent|not connected|agent .*(gone|away)|disconnected/i);
    assert.ok(gone.ms < FAST_FAILURE_MS, `failed after ${gone.ms} ms`);
    assert.ok(await live(system, CLUSTER, `/api/v1/namespaces/${NS}/configmaps/gone-1`), 'nothing reached the cluster');

    const scale = await timed(() =>
      failOp(
        system,
        'scaleManifest',
        { ...STAGE_NOISE, account: ACCOUNT, manifestName: 'deployment slow-web', location: NS, replicas: 3 },
        { allowRejection: true },
      ),
    );
    assert.match(scale.value.message, /no agent|not connected|agent .*(gone|away)|disconnected/i);
    assert.ok(scale.ms < FAST_FAILURE_MS, `failed after ${scale.ms} ms`);

    await system.restartAgent();
    await accountStatus(system, 'connected');
    await runOp(system, 'deleteManifest', { ...STAGE_NOISE, account: ACCOUNT, manifestName: 'configMap back-1', location: NS, options: {} });
    assert.equal(await live(system, CLUSTER, `/api/v1/namespaces/${NS}/configmaps/back-1`), undefined);
    assert.equal((await hubManifest(system, ACCOUNT, NS, 'configMap back-1')).status, 404);
  });
});
