import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../common/logger.ts';
import { createStore } from '../store/open-store.ts';
import { REPLICASETS, accountRecord, uidOf, upsert } from '../store/testing/fixtures.ts';
import type { CachedObject, FeedInfo } from '../store/types.ts';
import { ResourceGraph } from './graph.ts';
import { healthState, instanceCounts, podHealth } from './health.ts';
import { ViewLoader } from './loader.ts';
import { explicitLoadBalancers, imagesOf, ingressBackendServices } from './manifest-facts.ts';
import { ResourceCache, toResource, type Resource } from './resource.ts';

const PODS: FeedInfo = { group: '', version: 'v1', kind: 'Pod', resource: 'pods', namespace: '', namespaced: true };

function resource(
  group: string,
  kind: string,
  namespace: string,
  name: string,
  manifest: Record<string, unknown>,
  columns: Partial<CachedObject> = {},
): Resource {
  const apiVersion = group === '' ? 'v1' : `${group}/v1`;
  const body = JSON.stringify({ apiVersion, kind, ...manifest, metadata: { name, namespace, uid: `uid-${name}`, ...(manifest.metadata as object) } });
  const r = toResource({
    account: 'k8s',
    group,
    version: 'v1',
    kind,
    namespace,
    name,
    uid: `uid-${name}`,
    resourceVersion: '1',
    body,
    application: null,
    cluster: null,
    createdAt: null,
    updatedAt: 0,
    ...columns,
  });
  assert.ok(r);
  return r;
}

describe('views: health', () => {
  test("pod and container health, Clouddriver's aggregation", () => {
    assert.deepEqual(podHealth({}), []);
    assert.deepEqual(
      podHealth({
        status: {
          phase: 'Running',
          containerStatuses: [
            { name: 'a', ready: true },
            { name: 'b', ready: false },
          ],
        },
      }).map((h) => `${h.source}:${h.state}`),
      ['Pod:Up', 'Container a:Up', 'Container b:Down'],
    );
    assert.equal(podHealth({ status: { phase: 'Succeeded' } })[0]?.state, 'Unknown');
    assert.equal(healthState([]), 'Unknown');
    assert.equal(healthState([{ state: 'Up' }, { state: 'Unknown' }]), 'Up');
    assert.equal(healthState([{ state: 'Succeeded' }]), 'Succeeded');
    assert.equal(healthState([{ state: 'Up' }, { state: 'Down' }, { state: 'Starting' }]), 'Starting');
    assert.equal(healthState([{ state: 'Up' }, { state: 'Failed' }, { state: 'Down' }]), 'Down');
    assert.equal(healthState([{ state: 'OutOfService' }, { state: 'Up' }]), 'OutOfService');
    assert.deepEqual(instanceCounts(['Up', 'Down', 'Unknown', 'Succeeded']), { total: 4, up: 1, down: 1, unknown: 1, outOfService: 0, starting: 0 });
  });
});

describe('views: relationships', () => {
  test('moniker: annotations, stored columns, ReplicaSet revision before the -vNNN suffix', () => {
    const rs = resource(
      'apps',
      'ReplicaSet',
      'web',
      'web-v007',
      { metadata: { annotations: { 'deployment.kubernetes.io/revision': '12' } } },
      { application: 'web', cluster: 'replicaSet web' },
    );
    assert.deepEqual(rs.moniker, { app: 'web', cluster: 'replicaSet web', sequence: 12 });
    assert.equal(rs.fullName, 'replicaSet web-v007');
    const annotated = resource('apps', 'ReplicaSet', 'web', 'web-v007', {
      metadata: { annotations: { 'moniker.spinnaker.io/sequence': '7', 'deployment.kubernetes.io/revision': '12' } },
    });
    assert.equal(annotated.moniker.sequence, 7);
    const pod = resource('', 'Pod', 'web', 'web-v007-abcde', {});
    assert.equal(pod.moniker.sequence, undefined);
    assert.equal(resource('example.com', 'Widget', 'web', 'w', {}).fullName, 'Widget.example.com w');
  });

  test('traffic annotation names are normalised; ingress backends of every API version', () => {
    const sg = resource('apps', 'ReplicaSet', 'web', 'x', {
      metadata: { annotations: { 'traffic.spinnaker.io/load-balancers': '["svc web", "Service api", "ingress edge"]' } },
    });
    assert.deepEqual(sg.trafficLoadBalancers, ['service web', 'service api', 'ingress edge']);
    assert.deepEqual(explicitLoadBalancers({ 'traffic.spinnaker.io/load-balancers': 'not json' }), []);
    const spec = {
      defaultBackend: { service: { name: 'a' } },
      backend: { serviceName: 'b' },
      rules: [{ http: { paths: [{ backend: { service: { name: 'c' } } }, { backend: { serviceName: 'a' } }] } }, {}],
    };
    assert.deepEqual(ingressBackendServices({ spec }).sort(), ['a', 'b', 'c']);
    assert.deepEqual([...(resource('networking.k8s.io', 'Ingress', 'web', 'edge', { spec }).backendServices ?? [])].sort(), ['a', 'b', 'c']);
  });

  test('selectors match pod templates in the same namespace only; an empty selector selects nothing', () => {
    const template = (labels: Record<string, string>) => ({ spec: { template: { metadata: { labels } } } });
    const a = resource('apps', 'ReplicaSet', 'web', 'a', template({ app: 'x', track: 'stable' }));
    const b = resource('apps', 'ReplicaSet', 'web', 'b', template({ app: 'x', track: 'canary' }));
    const elsewhere = resource('apps', 'ReplicaSet', 'other', 'c', template({ app: 'x', track: 'stable' }));
    const ds = resource('apps', 'DaemonSet', 'web', 'd', template({ app: 'x', track: 'stable' }));
    const stable = resource('', 'Service', 'web', 'stable', { spec: { selector: { app: 'x', track: 'stable' } } });
    const all = resource('', 'Service', 'web', 'all', { spec: { selector: { app: 'x' } } });
    const none = resource('', 'Service', 'web', 'none', { spec: {} });
    const graph = new ResourceGraph([a, b, elsewhere, ds, stable, all, none]);
    assert.deepEqual(
      graph
        .serverGroupsBehind(stable)
        .map((r) => r.name)
        .sort(),
      ['a', 'd'],
    );
    assert.deepEqual(
      graph
        .serverGroupsBehind(all)
        .map((r) => r.name)
        .sort(),
      ['a', 'b', 'd'],
    );
    assert.deepEqual(graph.serverGroupsBehind(none), []);
    assert.deepEqual(graph.trafficOf(b), { loadBalancers: ['service all'], disabled: false });
    assert.deepEqual(graph.trafficOf(elsewhere), { loadBalancers: [], disabled: false });
  });

  test('Deployment → ReplicaSet by owner reference (UID checked), images of init and app containers', () => {
    const deployment = resource('apps', 'Deployment', 'web', 'web', {});
    const owned = resource('apps', 'ReplicaSet', 'web', 'web-1', {
      metadata: { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'uid-web' }] },
    });
    const orphan = resource('apps', 'ReplicaSet', 'web', 'web-0', {
      metadata: { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'gone' }] },
    });
    const graph = new ResourceGraph([deployment, owned, orphan]);
    assert.deepEqual(
      graph.serverGroupsOf(deployment).map((r) => r.name),
      ['web-1'],
    );
    assert.deepEqual(
      imagesOf({ kind: 'ReplicaSet', spec: { template: { spec: { initContainers: [{ image: 'i:1' }], containers: [{ image: 'a:1' }, { image: 'a:1' }] } } } }),
      ['i:1', 'a:1'],
    );
  });
});

describe('views: resource cache', () => {
  test('keyed by object version: a new resourceVersion or UID misses; least recently used out first', () => {
    const cache = new ResourceCache(2);
    const v = (name: string, rv = '1', uid = `uid-${name}`) => ({
      account: 'k8s',
      group: 'apps',
      kind: 'ReplicaSet',
      namespace: 'web',
      name,
      uid,
      resourceVersion: rv,
    });
    const a = resource('apps', 'ReplicaSet', 'web', 'a', {});
    cache.put(v('a'), a);
    assert.equal(cache.get(v('a')), a);
    assert.equal(cache.get(v('a', '2')), undefined);
    assert.equal(cache.get(v('a', '1', 'other')), undefined);
    cache.put(v('b'), resource('apps', 'ReplicaSet', 'web', 'b', {}));
    cache.get(v('a'));
    cache.put(v('c'), resource('apps', 'ReplicaSet', 'web', 'c', {}));
    assert.equal(cache.size, 2);
    assert.equal(cache.get(v('b')), undefined, 'b was the least recently used');
    assert.equal(cache.get(v('a')), a);
  });
});

describe('views: loading pods by name first', () => {
  test('generated names, the 58-character cut of long names, StatefulSet ordinals; other pods stay unread', async () => {
    const store = await createStore({ url: 'sqlite::memory:' }, silentLogger());
    try {
      await store.migrate();
      await store.upsertAccount(accountRecord('k8s'), 0);
      const long = `a${'b'.repeat(58)}-v001`; // 64 characters: its pods are named from a 58-character cut
      const cut = `${long}-`.slice(0, 58);
      const owned = (name: string, owner: string, kind = 'ReplicaSet') =>
        upsert(PODS, 'web', name, '1', { ownerReferences: [{ apiVersion: 'apps/v1', kind, name: owner, uid: uidOf(owner) }] });
      await store.applyBatch(
        {
          account: 'k8s',
          changes: [
            upsert(REPLICASETS, 'web', long),
            upsert(REPLICASETS, 'web', 'web-v001'),
            owned(`${cut}xk2p9`, long),
            owned('web-v001-abcde', 'web-v001'),
            owned('web-v001-0', 'web-v001', 'StatefulSet'),
            owned('web-v0011-abcde', 'web-v0011'),
            owned('api-v001-abcde', 'api-v001'),
          ],
          progress: [],
        },
        0,
      );
      const sgs = (await store.listObjects({ account: 'k8s', kind: 'ReplicaSet' })).map((o) => toResource(o)!);
      const graph = new ResourceGraph(sgs);
      await new ViewLoader(store).addPods(graph, sgs);
      assert.deepEqual(graph.pods.map((p) => p.name).sort(), [`${cut}xk2p9`, 'web-v001-0', 'web-v001-abcde']);
      assert.deepEqual(
        graph.instancesOf(sgs.find((s) => s.name === long)!).map((p) => p.name),
        [`${cut}xk2p9`],
      );
      assert.deepEqual(
        graph.instancesOf(sgs.find((s) => s.name === 'web-v001')!).map((p) => p.name),
        ['web-v001-abcde'],
        "the StatefulSet-owned pod is not the ReplicaSet's",
      );
    } finally {
      await store.close();
    }
  });
});
