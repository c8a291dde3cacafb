import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { startSim, type SimServer } from '../../src/sim/sim-server.ts';
import { waitFor } from '../../src/common/time.ts';
import { SimClient, configMap, deployment } from './sim-client.ts';

let sim: SimServer;
let api: SimClient;

before(async () => {
  sim = await startSim({ clusters: ['alpha', 'beta'], podStartDelayMs: 10, podTerminationCapMs: 50 });
  api = new SimClient(sim, 'alpha');
});

after(async () => {
  api.close();
  await sim.close();
});

describe('auth, health and discovery', () => {
  test('requests without the bearer token get a 401 Status', async () => {
    const anonymous = new SimClient(sim, 'alpha', '');
    const reply = await anonymous.get('/api/v1/namespaces');
    assert.equal(reply.status, 401);
    assert.equal(reply.body.kind, 'Status');
    assert.equal(reply.body.reason, 'Unauthorized');
    const wrong = new SimClient(sim, 'alpha', 'not-the-token');
    assert.equal((await wrong.get('/version')).status, 401);
    anonymous.close();
    wrong.close();
  });

  test('health endpoints answer ok', async () => {
    for (const path of ['/healthz', '/readyz', '/livez']) {
      const reply = await api.get(path);
      assert.equal(reply.status, 200);
      assert.equal(reply.text, 'ok');
    }
  });

  test('version, /api, /apis and group documents have the real shapes', async () => {
    const version = await api.get('/version');
    assert.match(version.body.gitVersion, /^v1\.\d+\.\d+$/);
    assert.equal(version.body.major, '1');
    assert.deepEqual((await api.get('/api')).body.versions, ['v1']);
    const groups = (await api.get('/apis')).body;
    assert.equal(groups.kind, 'APIGroupList');
    const apps = groups.groups.find((g: any) => g.name === 'apps');
    assert.deepEqual(apps.preferredVersion, { groupVersion: 'apps/v1', version: 'v1' });
    const group = (await api.get('/apis/apps')).body;
    assert.equal(group.kind, 'APIGroup');
    const resources = (await api.get('/apis/apps/v1')).body;
    assert.equal(resources.kind, 'APIResourceList');
    const deployments = resources.resources.find((r: any) => r.name === 'deployments');
    assert.deepEqual(deployments.shortNames, ['deploy']);
    assert.equal(deployments.namespaced, true);
    assert.ok(deployments.verbs.includes('watch'));
    const scale = resources.resources.find((r: any) => r.name === 'deployments/scale');
    assert.equal(scale.kind, 'Scale');
    assert.equal(scale.group, 'autoscaling');
    assert.ok(resources.resources.some((r: any) => r.name === 'deployments/status'));
    const core = (await api.get('/api/v1')).body;
    assert.ok(core.resources.some((r: any) => r.name === 'namespaces' && r.namespaced === false));
    assert.equal((await api.get('/apis/nope')).status, 404);
  });

  test('a new cluster has default, kube-system and kube-public, and a stable kube-system uid', async () => {
    const names = (await api.get('/api/v1/namespaces')).body.items.map((n: any) => n.metadata.name);
    assert.deepEqual(names.sort(), ['default', 'kube-public', 'kube-system']);
    const kubeSystem = (await api.get('/api/v1/namespaces/kube-system')).body;
    assert.equal(kubeSystem.metadata.uid, sim.cluster('alpha').uid);
    assert.notEqual(sim.cluster('alpha').uid, sim.cluster('beta').uid);
  });

  test('unknown paths, clusters and malformed input are Status errors', async () => {
    assert.equal((await api.get('/api/v1/widgets')).status, 404);
    assert.equal((await api.get('/nope/at/all')).status, 404);
    const other = new SimClient(sim, 'no-such-cluster');
    assert.equal((await other.get('/api/v1/namespaces')).status, 404);
    other.close();
    const malformed = await api.request('POST', '/api/v1/namespaces/default/configmaps', '{"not json', 'application/json');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.reason, 'BadRequest');
    const badSelector = await api.get('/api/v1/configmaps?labelSelector=' + encodeURIComponent('a in (b'));
    assert.equal(badSelector.status, 400);
    const badField = await api.get('/api/v1/configmaps?fieldSelector=spec.nope%3Dx');
    assert.equal(badField.status, 400);
    const badMethod = await api.request('PATCH', '/api/v1/namespaces/default/configmaps', {}, 'application/merge-patch+json');
    assert.equal(badMethod.status, 405);
  });

  test('HTTP/2 is negotiated over TLS', async () => {
    const session = connect(sim.url, { ca: sim.caPem! });
    try {
      const { status, body, alpn } = await new Promise<{ status: number; body: string; alpn: string | false }>((resolve, reject) => {
        const stream = session.request({ ':path': '/clusters/alpha/api/v1/namespaces', authorization: `Bearer ${sim.token}` });
        let text = '';
        let code = 0;
        stream.setEncoding('utf8');
        stream.on('response', (headers) => {
          code = Number(headers[':status']);
        });
        stream.on('data', (c: string) => {
          text += c;
        });
        stream.on('end', () => resolve({ status: code, body: text, alpn: session.alpnProtocol ?? false }));
        stream.on('error', reject);
        stream.end();
      });
      assert.equal(alpn, 'h2');
      assert.equal(status, 200);
      assert.equal(JSON.parse(body).kind, 'NamespaceList');

      // A watch is a long-lived stream of DATA frames; closing the stream removes the watcher.
      const watches = sim.cluster('alpha').store.watches;
      const before = watches.size;
      const stream = session.request({ ':path': '/clusters/alpha/api/v1/namespaces?watch=true', authorization: `Bearer ${sim.token}` });
      stream.setEncoding('utf8');
      const firstEvent = await new Promise<any>((resolve) => {
        let text = '';
        stream.on('data', (c: string) => {
          text += c;
          if (text.includes('\n')) resolve(JSON.parse(text.slice(0, text.indexOf('\n'))));
        });
      });
      assert.equal(firstEvent.type, 'ADDED');
      assert.equal(watches.size, before + 1);
      stream.close();
      await waitFor(() => watches.size === before, { timeoutMs: 5000, what: 'HTTP/2 watcher removed' });
    } finally {
      session.close();
    }
  });
});

describe('create, read, update, delete', () => {
  test('create sets uid, creationTimestamp and resourceVersion; duplicates are 409 AlreadyExists', async () => {
    const created = await api.post('/api/v1/namespaces/default/configmaps', configMap('crud-1', { a: '1' }));
    assert.equal(created.status, 201);
    assert.match(created.body.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.match(created.body.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(created.body.metadata.resourceVersion, /^\d+$/);
    const again = await api.post('/api/v1/namespaces/default/configmaps', configMap('crud-1'));
    assert.equal(again.status, 409);
    assert.equal(again.body.reason, 'AlreadyExists');
    assert.deepEqual(again.body.details, { name: 'crud-1', group: '', kind: 'configmaps' });
    const got = await api.get('/api/v1/namespaces/default/configmaps/crud-1');
    assert.equal(got.body.data.a, '1');
    assert.equal(got.body.kind, 'ConfigMap');
  });

  test('generateName makes a unique name', async () => {
    const created = await api.post('/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-' } });
    assert.equal(created.status, 201);
    assert.match(created.body.metadata.name, /^gen-[a-z0-9]{5}$/);
  });

  test('validation failures are 422 Invalid with causes', async () => {
    const noName = await api.post('/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} });
    assert.equal(noName.status, 422);
    assert.equal(noName.body.reason, 'Invalid');
    assert.equal(noName.body.details.causes[0].field, 'metadata.name');
    const badName = await api.post('/api/v1/namespaces/default/configmaps', configMap('Not_Valid'));
    assert.equal(badName.status, 422);
    const wrongKind = await api.post('/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } });
    assert.equal(wrongKind.status, 422);
    assert.equal(wrongKind.body.details.causes[0].field, 'kind');
    const wrongNamespace = await api.post('/api/v1/namespaces/default/configmaps', { ...configMap('x'), metadata: { name: 'x', namespace: 'other' } });
    assert.equal(wrongNamespace.status, 422);
    const noSelector = await api.post('/apis/apps/v1/namespaces/default/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'bad' },
      spec: { template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } },
    });
    assert.equal(noSelector.status, 422);
    assert.ok(noSelector.body.details.causes.some((c: any) => c.field === 'spec.selector'));
  });

  test('an object in a missing namespace is 404 NotFound for the namespace', async () => {
    const reply = await api.post('/api/v1/namespaces/missing/configmaps', configMap('x'));
    assert.equal(reply.status, 404);
    assert.equal(reply.body.details.kind, 'namespaces');
    assert.equal(reply.body.details.name, 'missing');
  });

  test('update with a stale resourceVersion is 409 Conflict; without one it is unconditional', async () => {
    const created = (await api.post('/api/v1/namespaces/default/configmaps', configMap('crud-2', { v: '1' }))).body;
    const updated = await api.put('/api/v1/namespaces/default/configmaps/crud-2', { ...created, data: { v: '2' } });
    assert.equal(updated.status, 200);
    assert.ok(Number(updated.body.metadata.resourceVersion) > Number(created.metadata.resourceVersion));
    const stale = await api.put('/api/v1/namespaces/default/configmaps/crud-2', { ...created, data: { v: '3' } });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.reason, 'Conflict');
    const unconditional = await api.put('/api/v1/namespaces/default/configmaps/crud-2', { ...created, metadata: { name: 'crud-2' }, data: { v: '4' } });
    assert.equal(unconditional.status, 200);
    assert.equal(unconditional.body.metadata.uid, created.metadata.uid);
    const noop = await api.put('/api/v1/namespaces/default/configmaps/crud-2', unconditional.body);
    assert.equal(noop.body.metadata.resourceVersion, unconditional.body.metadata.resourceVersion, 'a no-op update keeps the resourceVersion');
    assert.equal((await api.put('/api/v1/namespaces/default/configmaps/nope', configMap('nope'))).status, 404);
  });

  test('generation starts at 1 and moves only with the spec', async () => {
    const created = (await api.post('/apis/apps/v1/namespaces/default/deployments', deployment('gen', 'img:1', 0))).body;
    assert.equal(created.metadata.generation, 1);
    const labelled = await api.patch('/apis/apps/v1/namespaces/default/deployments/gen', { metadata: { labels: { x: 'y' } } }, 'application/merge-patch+json');
    assert.equal(labelled.body.metadata.generation, 1);
    const scaled = await api.patch('/apis/apps/v1/namespaces/default/deployments/gen', { spec: { replicas: 0, paused: true } }, 'application/merge-patch+json');
    assert.equal(scaled.body.metadata.generation, 2);
  });

  test('delete returns a Success Status for ConfigMaps and 404 afterwards', async () => {
    const created = (await api.post('/api/v1/namespaces/default/configmaps', configMap('crud-3'))).body;
    const deleted = await api.delete('/api/v1/namespaces/default/configmaps/crud-3');
    assert.equal(deleted.status, 200);
    assert.equal(deleted.body.status, 'Success');
    assert.equal(deleted.body.details.uid, created.metadata.uid);
    const missing = await api.get('/api/v1/namespaces/default/configmaps/crud-3');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.message, 'configmaps "crud-3" not found');
    const precondition = (await api.post('/api/v1/namespaces/default/configmaps', configMap('crud-4'))).body;
    const refused = await api.delete('/api/v1/namespaces/default/configmaps/crud-4', { preconditions: { uid: 'other' } });
    assert.equal(refused.status, 409);
    assert.ok(precondition);
  });

  test('delete collection by label selector', async () => {
    for (const name of ['dc-1', 'dc-2', 'dc-3'])
      await api.post('/api/v1/namespaces/default/configmaps', configMap(name, {}, { group: name === 'dc-3' ? 'keep' : 'drop' }));
    const reply = await api.delete('/api/v1/namespaces/default/configmaps?labelSelector=group%3Ddrop');
    assert.equal(reply.status, 200);
    assert.equal(reply.body.items.length, 2);
    const left = (await api.get('/api/v1/namespaces/default/configmaps?labelSelector=group')).body.items.map((i: any) => i.metadata.name);
    assert.deepEqual(left, ['dc-3']);
  });

  test('deleting a namespace deletes its objects', async () => {
    await api.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } });
    await api.post('/api/v1/namespaces/doomed/configmaps', configMap('inside'));
    const reply = await api.delete('/api/v1/namespaces/doomed');
    assert.ok(reply.status === 200 || reply.status === 202);
    assert.equal((await api.get('/api/v1/namespaces/doomed')).status, 404);
    assert.equal((await api.get('/api/v1/namespaces/doomed/configmaps/inside')).status, 404);
    assert.equal((await api.delete('/api/v1/namespaces/kube-system')).status, 403);
  });

  test('cluster-scoped kinds live outside namespaces', async () => {
    const role = await api.post('/apis/rbac.authorization.k8s.io/v1/clusterroles', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'system:sim-reader' },
      rules: [],
    });
    assert.equal(role.status, 201);
    assert.equal(role.body.metadata.namespace, undefined);
    assert.equal((await api.get('/apis/rbac.authorization.k8s.io/v1/clusterroles/system:sim-reader')).status, 200);
  });

  test('clusters are isolated from each other', async () => {
    await api.post('/api/v1/namespaces/default/configmaps', configMap('only-in-alpha'));
    const beta = new SimClient(sim, 'beta');
    assert.equal((await beta.get('/api/v1/namespaces/default/configmaps/only-in-alpha')).status, 404);
    beta.close();
  });
});

describe('patches and subresources', () => {
  test('merge, JSON and strategic merge patches', async () => {
    await api.post('/apis/apps/v1/namespaces/default/deployments', {
      ...deployment('patched', 'img:1', 0),
      spec: {
        ...(deployment('patched', 'img:1', 0) as any).spec,
        template: {
          metadata: { labels: { app: 'patched' } },
          spec: {
            containers: [
              { name: 'main', image: 'img:1', env: [{ name: 'A', value: '1' }] },
              { name: 'side', image: 'side:1' },
            ],
          },
        },
      },
    });
    const path = '/apis/apps/v1/namespaces/default/deployments/patched';
    const merged = await api.patch(path, { metadata: { annotations: { a: 'b' } } }, 'application/merge-patch+json');
    assert.equal(merged.status, 200);
    assert.equal(merged.body.metadata.annotations.a, 'b');
    const json = await api.patch(
      path,
      [
        { op: 'replace', path: '/spec/replicas', value: 0 },
        { op: 'add', path: '/metadata/labels', value: { l: 'v' } },
      ],
      'application/json-patch+json',
    );
    assert.equal(json.status, 200);
    assert.equal(json.body.metadata.labels.l, 'v');
    const failedTest = await api.patch(path, [{ op: 'test', path: '/spec/replicas', value: 5 }], 'application/json-patch+json');
    assert.equal(failedTest.status, 422);
    const strategic = await api.patch(
      path,
      { spec: { template: { spec: { containers: [{ name: 'main', image: 'img:2', env: [{ name: 'B', value: '2' }] }] } } } },
      'application/strategic-merge-patch+json',
    );
    assert.equal(strategic.status, 200);
    const containers = strategic.body.spec.template.spec.containers;
    assert.deepEqual(
      containers.map((c: any) => [c.name, c.image]),
      [
        ['main', 'img:2'],
        ['side', 'side:1'],
      ],
    );
    assert.deepEqual(
      containers[0].env.map((e: any) => e.name),
      ['A', 'B'],
    );
    const unsupported = await api.patch(path, {}, 'text/plain');
    assert.equal(unsupported.status, 415);
  });

  test('server-side apply creates, merges, records managedFields and requires fieldManager', async () => {
    const path = '/api/v1/namespaces/default/configmaps/applied';
    const body = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: "1"\n';
    const missingManager = await api.patch(path, body, 'application/apply-patch+yaml');
    assert.equal(missingManager.status, 422);
    const created = await api.patch(`${path}?fieldManager=test`, body, 'application/apply-patch+yaml');
    assert.equal(created.status, 201);
    assert.equal(created.body.metadata.managedFields[0].manager, 'test');
    assert.equal(created.body.metadata.managedFields[0].operation, 'Apply');
    const again = await api.patch(`${path}?fieldManager=test`, body.replace('"1"', '"2"'), 'application/apply-patch+yaml');
    assert.equal(again.status, 200);
    assert.equal(again.body.data.a, '2');
  });

  test('status subresource writes only status; main resource ignores status', async () => {
    const created = await api.post('/api/v1/namespaces/default/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'status-svc' },
      spec: { ports: [{ port: 80 }] },
    });
    assert.equal(created.status, 201);
    assert.match(created.body.spec.clusterIP, /^10\.96\./);
    const path = '/api/v1/namespaces/default/services/status-svc';
    const loadBalancer = { ingress: [{ ip: '192.0.2.1' }] };
    const viaMain = await api.patch(path, { status: { loadBalancer } }, 'application/merge-patch+json');
    assert.deepEqual(viaMain.body.status, { loadBalancer: {} });
    const viaStatus = await api.patch(`${path}/status`, { status: { loadBalancer }, spec: { type: 'NodePort' } }, 'application/merge-patch+json');
    assert.equal(viaStatus.status, 200);
    assert.deepEqual(viaStatus.body.status.loadBalancer, loadBalancer);
    assert.equal(viaStatus.body.spec.type, 'ClusterIP');
    assert.deepEqual((await api.get(`${path}/status`)).body.status.loadBalancer, loadBalancer);
  });

  test('scale subresource reads and writes spec.replicas', async () => {
    const path = '/apis/apps/v1/namespaces/default/deployments/patched/scale';
    const scale = (await api.get(path)).body;
    assert.equal(scale.kind, 'Scale');
    assert.equal(scale.apiVersion, 'autoscaling/v1');
    assert.equal(scale.status.selector, 'app=patched');
    const patched = await api.patch(path, { spec: { replicas: 0 } }, 'application/merge-patch+json');
    assert.equal(patched.status, 200);
    const put = await api.put(path, { ...patched.body, spec: { replicas: 1 } });
    assert.equal(put.body.spec.replicas, 1);
    assert.equal((await api.get('/apis/apps/v1/namespaces/default/deployments/patched')).body.spec.replicas, 1);
    assert.equal((await api.get('/api/v1/namespaces/default/configmaps/applied/scale')).status, 404);
  });
});

describe('admin endpoints and kubeconfigs', () => {
  test('list, add and remove clusters', async () => {
    const listed = await api.get('/sim/clusters');
    assert.deepEqual(listed.body.clusters.map((c: any) => c.name).sort(), ['alpha', 'beta']);
    assert.ok(listed.body.clusters[0].objects > 0);
    assert.equal((await api.post('/sim/clusters/gamma', {})).status, 201);
    assert.equal((await api.post('/sim/clusters/gamma', {})).status, 409);
    assert.equal((await api.post('/sim/clusters/Bad_Name', {})).status, 400);
    const gamma = new SimClient(sim, 'gamma');
    assert.equal((await gamma.get('/api/v1/namespaces/default')).status, 200);
    assert.equal((await api.delete('/sim/clusters/gamma')).status, 200);
    assert.equal((await gamma.get('/api/v1/namespaces/default')).status, 404);
    gamma.close();
  });

  test('kubeconfig names the cluster URL, CA and token', async () => {
    const text = sim.kubeconfig('alpha');
    assert.match(text, new RegExp(`server: ${sim.clusterUrl('alpha').replace(/[.]/g, '\\.')}`));
    assert.match(text, /certificate-authority-data: /);
    assert.match(text, new RegExp(`token: ${sim.token}`));
    assert.match(text, /current-context: alpha/);
  });
});
