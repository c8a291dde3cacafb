import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { waitFor } from '../../src/common/time.ts';
import { TestSystem, simRequest } from '../support/system.ts';

/** Bound on how long a change may take to show at the hub in these tests (generous for 2 shared cores). */
const PROPAGATION_TIMEOUT_MS = 20_000;

function configMap(name: string, data: Record<string, string>) {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data };
}

describe('the whole loop: sim → agent → hub → Spinnaker API → operation → cluster', { timeout: 240_000 }, () => {
  const secretValue = `planted-secret-${Math.random().toString(36).slice(2)}`;
  const secretStringValue = `planted-string-${Math.random().toString(36).slice(2)}`;
  let system: TestSystem;

  before(async () => {
    system = await new TestSystem({ clusters: 2, recordAgentTraffic: true }).start();
  });

  after(async () => {
    await system?.stop();
  });

  test('objects created in a cluster appear at /manifests; updates and deletes propagate', async () => {
    const sim = system.sim('cluster-1');
    const created = await simRequest(sim, 'POST', '/api/v1/namespaces/default/configmaps', configMap('e2e-config', { color: 'blue' }));
    assert.equal(created.status, 201, JSON.stringify(created.body));

    const path = '/manifests/cluster-1/default/configMap%20e2e-config';
    const seen = await waitFor(
      async () => {
        const r = await system.rest(path);
        return r.status === 200 && r.body.manifest?.data?.color === 'blue' ? r.body : undefined;
      },
      { timeoutMs: PROPAGATION_TIMEOUT_MS, what: 'the ConfigMap at /manifests' },
    );
    assert.equal(seen.account, 'cluster-1');
    assert.equal(seen.name, 'configMap e2e-config');
    assert.equal(seen.location, 'default');
    assert.equal(seen.status.stable.state, true);
    assert.deepEqual(seen.warnings, []);

    const patched = await simRequest(
      sim,
      'PATCH',
      '/api/v1/namespaces/default/configmaps/e2e-config',
      { data: { color: 'green' } },
      'application/merge-patch+json',
    );
    assert.equal(patched.status, 200);
    await waitFor(async () => (await system.rest(path)).body.manifest?.data?.color === 'green', {
      timeoutMs: PROPAGATION_TIMEOUT_MS,
      what: 'the update at the hub',
    });

    const deleted = await simRequest(sim, 'DELETE', '/api/v1/namespaces/default/configmaps/e2e-config');
    assert.equal(deleted.status, 200);
    await waitFor(async () => (await system.rest(path)).status === 404, { timeoutMs: PROPAGATION_TIMEOUT_MS, what: 'the delete at the hub' });
  });

  test('a deployManifest creates the Deployment in the cluster, its task completes with manifestNamesByNamespace, deleteManifest removes it', async () => {
    const body = [
      {
        deployManifest: {
          account: 'cluster-2',
          cloudProvider: 'kubernetes',
          source: 'text',
          moniker: { app: 'e2eapp' },
          manifests: [
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              metadata: { name: 'e2e-web', namespace: 'default' },
              spec: {
                replicas: 2,
                selector: { matchLabels: { app: 'e2e-web' } },
                template: { metadata: { labels: { app: 'e2e-web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } },
              },
            },
          ],
        },
      },
    ];
    const submitted = await system.rest('/kubernetes/ops', { method: 'POST', body });
    assert.equal(submitted.status, 200, JSON.stringify(submitted.body));
    assert.match(submitted.body.id, /\S+/);
    assert.equal(submitted.body.resourceUri, `/task/${submitted.body.id}`);

    const task = await waitFor(
      async () => {
        const r = await system.rest(`/task/${submitted.body.id}`);
        return r.body.status?.completed ? r.body : undefined;
      },
      { timeoutMs: PROPAGATION_TIMEOUT_MS, what: 'the deploy task to complete' },
    );
    assert.equal(task.status.failed, false, JSON.stringify(task));
    assert.deepEqual(task.resultObjects[0].manifestNamesByNamespace, { default: ['deployment e2e-web'] });

    // It exists in the cluster, with Spinnaker's moniker annotation.
    const live = await simRequest(system.sim('cluster-2'), 'GET', '/apis/apps/v1/namespaces/default/deployments/e2e-web');
    assert.equal(live.status, 200);
    assert.equal(live.body.metadata.annotations['moniker.spinnaker.io/application'], 'e2eapp');

    // Read-your-writes: the cache already holds what the deploy wrote when the task completes.
    const manifest = await system.rest('/manifests/cluster-2/default/deployment%20e2e-web');
    assert.equal(manifest.status, 200);
    assert.equal(manifest.body.moniker.app, 'e2eapp');

    // The rollout completes and the hub reports the Deployment stable.
    await waitFor(async () => (await system.rest('/manifests/cluster-2/default/deployment%20e2e-web')).body.status?.stable?.state === true, {
      timeoutMs: PROPAGATION_TIMEOUT_MS,
      what: 'the Deployment to be stable at the hub',
    });

    const deletion = await system.rest('/kubernetes/ops', {
      method: 'POST',
      body: [{ deleteManifest: { account: 'cluster-2', manifestName: 'deployment e2e-web', location: 'default', options: { cascading: true } } }],
    });
    const deleteTask = await waitFor(
      async () => {
        const r = await system.rest(`/task/${deletion.body.id}`);
        return r.body.status?.completed ? r.body : undefined;
      },
      { timeoutMs: PROPAGATION_TIMEOUT_MS, what: 'the delete task to complete' },
    );
    assert.equal(deleteTask.status.failed, false, JSON.stringify(deleteTask));
    assert.deepEqual(deleteTask.resultObjects[0].manifestNamesByNamespace, { default: ['deployment e2e-web'] });
    assert.equal((await simRequest(system.sim('cluster-2'), 'GET', '/apis/apps/v1/namespaces/default/deployments/e2e-web')).status, 404);
    assert.equal((await system.rest('/manifests/cluster-2/default/deployment%20e2e-web')).status, 404);
  });

  test("a Secret's values reach neither the hub's database nor any frame the agent sent", async () => {
    const sim = system.sim('cluster-1');
    const created = await simRequest(sim, 'POST', '/api/v1/namespaces/default/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'e2e-secret',
        namespace: 'default',
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ stringData: { token: secretStringValue } }) },
      },
      data: { password: Buffer.from(secretValue).toString('base64') },
      stringData: { token: secretStringValue },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const manifest = await waitFor(
      async () => {
        const r = await system.rest('/manifests/cluster-1/default/secret%20e2e-secret');
        return r.status === 200 ? r.body : undefined;
      },
      { timeoutMs: PROPAGATION_TIMEOUT_MS, what: 'the Secret (metadata) at the hub' },
    );
    assert.equal(manifest.manifest.data, undefined);
    assert.equal(manifest.manifest.stringData, undefined);

    const needles = [secretValue, Buffer.from(secretValue).toString('base64'), secretStringValue, Buffer.from(secretStringValue).toString('base64')];
    const wire = system.relay!.bytes();
    // The Secret itself did travel and is stored (its metadata): the checks below are not vacuous.
    assert.ok(wire.includes('e2e-secret'), 'the relay saw the Secret go to the hub');
    assert.ok(
      readFileSync(system.dbPath).includes('e2e-secret') || (existsSync(`${system.dbPath}-wal`) && readFileSync(`${system.dbPath}-wal`).includes('e2e-secret')),
      'the database holds the Secret',
    );
    for (const file of [system.dbPath, `${system.dbPath}-wal`]) {
      if (!existsSync(file)) continue;
      const bytes = readFileSync(file);
      for (const needle of needles) assert.equal(bytes.includes(needle), false, `${file} contains a secret value`);
    }
    for (const needle of needles) assert.equal(wire.includes(needle), false, 'the agent sent a secret value to the hub');
    const rest = JSON.stringify(manifest);
    for (const needle of needles) assert.equal(rest.includes(needle), false, 'the REST API served a secret value');
  });
});
