import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../../common/logger.ts';
import { forEachEngine } from '../../../test/support/databases.ts';
import type { SqlStore } from '../store/sql-store.ts';
import { DEPLOYMENTS, REPLICASETS, accountRecord, upsert } from '../store/testing/fixtures.ts';
import type { FeedInfo, KindRecord } from '../store/types.ts';
import { FakeRouter } from './testing/fake-router.ts';
import { buildApiServer } from './server.ts';

/**
 * Contract tests of the application views (Clouddriver's infrastructure endpoints) on every engine:
 * the field names and types Orca and Deck read, "kind name" naming, null fields left out, 404s,
 * instance counts, load balancer ↔ server group links and stability messages.
 */
const NOW = 1_700_000_000_000;
const feed = (group: string, kind: string, resource: string): FeedInfo => ({ group, version: 'v1', kind, resource, namespace: '', namespaced: true });
const PODS = feed('', 'Pod', 'pods');
const SERVICES = feed('', 'Service', 'services');
const INGRESSES = feed('networking.k8s.io', 'Ingress', 'ingresses');
const POLICIES = feed('networking.k8s.io', 'NetworkPolicy', 'networkpolicies');
const STATEFULSETS = feed('apps', 'StatefulSet', 'statefulsets');
const CONFIGMAPS = feed('', 'ConfigMap', 'configmaps');

const KINDS: KindRecord[] = [
  ...accountRecord('x').kinds,
  { group: '', version: 'v1', kind: 'Pod', resource: 'pods', namespaced: true, watchable: true },
  { group: 'apps', version: 'v1', kind: 'StatefulSet', resource: 'statefulsets', namespaced: true, watchable: true },
  { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress', resource: 'ingresses', namespaced: true, watchable: true },
  { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy', resource: 'networkpolicies', namespaced: true, watchable: true },
];

const SHOP = { 'moniker.spinnaker.io/application': 'shop', 'moniker.spinnaker.io/cluster': 'deployment nginx' };
const owner = (kind: string, name: string, apiVersion = 'apps/v1') => [{ apiVersion, kind, name, uid: `uid-${name}`, controller: true }];
const container = (name: string, image: string) => ({ name, image });

function replicaSet(name: string, created: string, replicas: number, hash: string, revision: string, status: Record<string, unknown>) {
  return upsert(
    REPLICASETS,
    'web',
    name,
    '10',
    {
      creationTimestamp: created,
      generation: 1,
      annotations: { ...SHOP, 'deployment.kubernetes.io/revision': revision },
      labels: { app: 'nginx', 'pod-template-hash': hash },
      ownerReferences: owner('Deployment', 'nginx'),
    },
    {
      spec: {
        replicas,
        template: {
          metadata: { labels: { app: 'nginx', 'pod-template-hash': hash } },
          spec: { initContainers: [container('init', 'busybox:1.36')], containers: [container('nginx', 'nginx:1.25')] },
        },
      },
      status: { observedGeneration: 1, ...status },
    },
  );
}

function pod(name: string, ownerKind: string, ownerName: string, phase: string, ready: boolean, extra: Record<string, unknown> = {}) {
  return upsert(
    PODS,
    'web',
    name,
    '20',
    { ownerReferences: owner(ownerKind, ownerName), labels: { app: 'x' }, ...extra },
    {
      spec: { initContainers: [{ name: 'init', image: 'busybox:1.36' }], containers: [{ name: 'main', image: 'nginx:1.25' }] },
      status: { phase, containerStatuses: [{ name: 'main', ready }] },
    },
  );
}

type Json = any;

/** Every value in a response: Clouddriver's mapper leaves null fields out. */
function assertNoNulls(value: unknown, path = '$'): void {
  assert.notEqual(value, null, `${path} is null`);
  if (Array.isArray(value)) value.forEach((v, i) => assertNoNulls(v, `${path}[${i}]`));
  else if (typeof value === 'object') for (const [k, v] of Object.entries(value as object)) assertNoNulls(v, `${path}.${k}`);
}

forEachEngine('application views', (engine) => {
  let store: SqlStore;
  let router: FakeRouter;
  let app: FastifyInstance;

  before(async () => {
    store = await engine.openStore();
    await store.upsertAccount(accountRecord('k8s', { kinds: KINDS }), NOW);
    await store.upsertAccount(accountRecord('east', { kinds: KINDS }), NOW);
    await store.applyBatch(
      {
        account: 'k8s',
        changes: [
          upsert(
            DEPLOYMENTS,
            'web',
            'nginx',
            '5',
            { generation: 2, annotations: SHOP },
            {
              spec: { replicas: 2, template: { metadata: { labels: { app: 'nginx' } }, spec: { containers: [container('nginx', 'nginx:1.25')] } } },
              status: { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 1, readyReplicas: 1 },
            },
          ),
          replicaSet('nginx-7d9c', '2024-03-01T00:00:00Z', 2, '7d9c', '3', { replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 1, availableReplicas: 1 }),
          replicaSet('nginx-6b5a', '2024-02-01T00:00:00Z', 0, '6b5a', '2', { replicas: 0 }),
          pod('nginx-7d9c-abcde', 'ReplicaSet', 'nginx-7d9c', 'Running', true),
          pod('nginx-7d9c-fghij', 'ReplicaSet', 'nginx-7d9c', 'Pending', false),
          // Same owner name, another owner UID (a ReplicaSet deleted and re-created): not an instance.
          pod('nginx-7d9c-stale', 'ReplicaSet', 'nginx-7d9c', 'Running', true, {
            ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'nginx-7d9c', uid: 'old-uid', controller: true }],
          }),
          upsert(PODS, 'web', 'other-xyz12', '21', { labels: { app: 'other' } }, { status: { phase: 'Running' } }),
          upsert(SERVICES, 'web', 'nginx', '30', { annotations: { 'moniker.spinnaker.io/application': 'shop' } }, { spec: { selector: { app: 'nginx' } } }),
          upsert(
            INGRESSES,
            'web',
            'nginx',
            '31',
            { annotations: { 'moniker.spinnaker.io/application': 'shop' } },
            {
              spec: { rules: [{ http: { paths: [{ path: '/', backend: { service: { name: 'nginx', port: { number: 80 } } } }] } }] },
            },
          ),
          // Frigga naming: app "shop", cluster "replicaSet shop-canary", sequence 2; its traffic annotation names a Service nobody has.
          upsert(
            REPLICASETS,
            'web',
            'shop-canary-v002',
            '40',
            { creationTimestamp: '2024-01-15T00:00:00Z', annotations: { 'traffic.spinnaker.io/load-balancers': '["service canary"]' } },
            {
              spec: { replicas: 1, template: { metadata: { labels: { app: 'canary' } }, spec: { containers: [container('web', 'gcr.io/x/web:2')] } } },
              status: { replicas: 1, fullyLabeledReplicas: 1, readyReplicas: 1, availableReplicas: 1 },
            },
          ),
          upsert(
            STATEFULSETS,
            'web',
            'shop-db',
            '50',
            { generation: 1 },
            {
              spec: {
                replicas: 1,
                serviceName: 'shop-db',
                template: { metadata: { labels: { role: 'db' } }, spec: { containers: [container('db', 'postgres:16')] } },
              },
              status: { observedGeneration: 1, replicas: 1, readyReplicas: 1, currentReplicas: 1, currentRevision: 'r1', updateRevision: 'r1' },
            },
          ),
          upsert(SERVICES, 'web', 'shop-db', '51', {}, { spec: { clusterIP: 'None' } }),
          pod('shop-db-0', 'StatefulSet', 'shop-db', 'Running', true),
          upsert(
            POLICIES,
            'web',
            'shop-deny',
            '60',
            {},
            {
              spec: {
                podSelector: {},
                ingress: [
                  {
                    ports: [
                      { protocol: 'TCP', port: 80 },
                      { protocol: 'TCP', port: 'http' },
                    ],
                  },
                ],
                egress: [{}],
              },
            },
          ),
          upsert(REPLICASETS, 'other', 'billing-v001', '70', {}, { spec: { replicas: 0, template: { metadata: { labels: { app: 'billing' } } } } }),
          // A Service of "shop" in front of another application's ReplicaSet.
          upsert(
            SERVICES,
            'other',
            'billing-front',
            '71',
            { annotations: { 'moniker.spinnaker.io/application': 'shop' } },
            { spec: { selector: { app: 'billing' } } },
          ),
          upsert(CONFIGMAPS, 'web', 'shop-config', '80'),
        ],
        progress: [],
      },
      NOW,
    );
    await store.applyBatch({ account: 'east', changes: [upsert(REPLICASETS, 'web', 'shop-v001', '1', {}, { spec: { replicas: 0 } })], progress: [] }, NOW);
  });

  after(async () => {
    await store.close();
  });

  beforeEach(async () => {
    router = new FakeRouter();
    app = buildApiServer({ store, router, hubId: 'hub-test', logger: silentLogger() });
  });

  async function get(url: string): Promise<{ status: number; body: Json }> {
    const res = await app.inject({ method: 'GET', url });
    return { status: res.statusCode, body: res.body === '' ? undefined : res.json() };
  }

  async function ok(url: string): Promise<Json> {
    const res = await get(url);
    assert.equal(res.status, 200, `${url}: ${JSON.stringify(res.body)}`);
    assertNoNulls(res.body, url);
    return res.body;
  }

  test('GET /applications: names, attributes and cluster names per account, sorted; pods alone make no application', async () => {
    const body = await ok('/applications');
    assert.deepEqual(body, [
      { name: 'billing', attributes: { name: 'billing' }, clusterNames: { k8s: ['replicaSet billing'] } },
      {
        name: 'shop',
        attributes: { name: 'shop' },
        clusterNames: { east: ['replicaSet shop'], k8s: ['deployment nginx', 'replicaSet shop-canary', 'statefulSet shop-db'] },
      },
    ]);
  });

  test('GET /applications/{app}: cluster summaries per account; 404 when the application has no cluster', async () => {
    const body = await ok('/applications/shop');
    assert.deepEqual(body.attributes, { name: 'shop', cloudProviders: 'kubernetes' });
    assert.deepEqual(body.clusters.k8s[0], { name: 'deployment nginx', provider: 'kubernetes', serverGroups: [], loadBalancers: [] });
    assert.deepEqual(
      body.clusters.east.map((c: Json) => c.name),
      ['replicaSet shop'],
    );
    for (const name of ['nope', 'other']) {
      const missing = await get(`/applications/${name}`);
      assert.equal(missing.status, 404);
      assert.equal(missing.body.code, 'NOT_FOUND');
    }
  });

  test('GET /applications/{app}/clusters and /clusters/{account}: names, load balancers and server groups per cluster', async () => {
    assert.deepEqual(await ok('/applications/shop/clusters'), {
      east: ['replicaSet shop'],
      k8s: ['deployment nginx', 'replicaSet shop-canary', 'statefulSet shop-db'],
    });
    assert.deepEqual(await ok('/applications/nope/clusters'), {});
    const clusters = await ok('/applications/shop/clusters/k8s');
    assert.deepEqual(clusters, [
      {
        name: 'deployment nginx',
        account: 'k8s',
        moniker: { app: 'shop', cluster: 'deployment nginx' },
        loadBalancers: ['service nginx'],
        serverGroups: ['replicaSet nginx-6b5a', 'replicaSet nginx-7d9c'],
      },
      {
        name: 'replicaSet shop-canary',
        account: 'k8s',
        moniker: { app: 'shop', cluster: 'replicaSet shop-canary' },
        loadBalancers: [],
        serverGroups: ['replicaSet shop-canary-v002'],
      },
      {
        name: 'statefulSet shop-db',
        account: 'k8s',
        moniker: { app: 'shop', cluster: 'statefulSet shop-db' },
        loadBalancers: ['service shop-db'],
        serverGroups: ['statefulSet shop-db'],
      },
    ]);
    assert.equal((await get('/applications/shop/clusters/nope')).status, 404);
  });

  test('GET a full cluster: server groups with instances, counts, capacity, managers, images; its load balancers', async () => {
    const cluster = await ok('/applications/shop/clusters/k8s/deployment%20nginx/kubernetes');
    assert.equal(cluster.name, 'deployment nginx');
    assert.equal(cluster.type, 'kubernetes');
    assert.equal(cluster.accountName, 'k8s');
    assert.equal(cluster.application, 'shop');
    assert.deepEqual(cluster.moniker, { app: 'shop', cluster: 'deployment nginx' });
    assert.deepEqual(
      cluster.serverGroups.map((sg: Json) => sg.name),
      ['replicaSet nginx-6b5a', 'replicaSet nginx-7d9c'],
    );
    const sg = cluster.serverGroups[1];
    assert.equal(sg.displayName, 'nginx-7d9c');
    assert.equal(sg.kind, 'replicaSet');
    assert.equal(sg.apiVersion, 'apps/v1');
    assert.equal(sg.account, 'k8s');
    assert.equal(sg.region, 'web');
    assert.equal(sg.namespace, 'web');
    assert.equal(sg.cloudProvider, 'kubernetes');
    assert.equal(sg.type, 'kubernetes');
    assert.deepEqual(sg.moniker, { app: 'shop', cluster: 'deployment nginx', sequence: 3 });
    assert.equal(sg.createdTime, Date.parse('2024-03-01T00:00:00Z'));
    assert.deepEqual(sg.capacity, { desired: 2, pinned: false });
    assert.equal(sg.disabled, false);
    assert.equal(sg.isDisabled, false);
    assert.deepEqual(sg.instanceCounts, { total: 2, up: 1, down: 1, unknown: 0, outOfService: 0, starting: 0 });
    assert.deepEqual(sg.loadBalancers, ['service nginx']);
    assert.deepEqual(sg.serverGroupManagers, [{ name: 'nginx', location: 'web', account: 'k8s' }]);
    assert.deepEqual(sg.buildInfo, { images: ['busybox:1.36', 'nginx:1.25'] });
    assert.deepEqual(sg.imagesSummary, { summaries: [{ serverGroupName: 'nginx-7d9c', buildInfo: { images: ['busybox:1.36', 'nginx:1.25'] } }] });
    assert.deepEqual([sg.zones, sg.securityGroups, sg.launchConfig], [[], [], {}]);
    assert.deepEqual(sg.labels, { app: 'nginx', 'pod-template-hash': '7d9c' });
    assert.deepEqual(sg.status.stable, { state: false, message: 'Waiting for all replicas to be ready' });
    assert.equal(sg.manifest, undefined);

    const [up, down] = sg.instances;
    assert.equal(up.name, 'uid-nginx-7d9c-abcde');
    assert.equal(up.humanReadableName, 'pod nginx-7d9c-abcde');
    assert.equal(up.displayName, 'nginx-7d9c-abcde');
    assert.equal(up.zone, 'web');
    assert.equal(up.kind, 'pod');
    assert.equal(up.apiVersion, 'v1');
    assert.equal(up.providerType, 'kubernetes');
    assert.equal(up.healthState, 'Up');
    assert.deepEqual(up.health, [
      { state: 'Up', source: 'Pod', type: 'kubernetes/pod', platform: 'platform' },
      { state: 'Up', source: 'Container main', type: 'kubernetes/container', platform: 'platform' },
    ]);
    assert.equal(down.healthState, 'Down');
    assert.equal(sg.instances.length, 2, 'a pod whose owner UID differs is not an instance');

    assert.deepEqual(
      cluster.loadBalancers.map((lb: Json) => lb.name),
      ['service nginx'],
    );
    assert.deepEqual(
      cluster.loadBalancers[0].serverGroups.map((s: Json) => s.name),
      ['replicaSet nginx-6b5a', 'replicaSet nginx-7d9c'],
    );

    const array = await ok('/applications/shop/clusters/k8s/deployment%20nginx');
    assert.equal(array.length, 1);
    assert.deepEqual(
      array[0].serverGroups.map((s: Json) => s.name),
      cluster.serverGroups.map((s: Json) => s.name),
    );
    const summary = await ok('/applications/shop/clusters/k8s/deployment%20nginx?expand=false');
    assert.deepEqual(summary[0].serverGroups, []);
    assert.equal((await get('/applications/shop/clusters/k8s/deployment%20nginx/aws')).status, 404);
    assert.equal((await get('/applications/shop/clusters/k8s/deployment%20ghost/kubernetes')).status, 404);
  });

  test('cluster server groups by region, one by name, and the dynamic targets classic stages use', async () => {
    const base = '/applications/shop/clusters/k8s/deployment%20nginx/kubernetes';
    assert.equal((await ok(`${base}/serverGroups?region=web`)).length, 2);
    assert.deepEqual(await ok(`${base}/serverGroups?region=other`), []);
    const one = await ok(`${base}/serverGroups/replicaSet%20nginx-7d9c?region=web`);
    assert.equal(one.name, 'replicaSet nginx-7d9c');
    assert.equal((await ok(`${base}/serverGroups/replicaSet%20nginx-7d9c`)).length, 1);
    assert.equal((await get(`${base}/serverGroups/replicaSet%20nope?region=web`)).status, 404);
    assert.equal((await ok(`${base}/web/serverGroups/target/current_asg_dynamic`)).name, 'replicaSet nginx-7d9c');
    assert.equal((await ok(`${base}/web/serverGroups/target/previous`)).name, 'replicaSet nginx-6b5a');
    assert.equal((await ok(`${base}/web/serverGroups/target/oldest`)).name, 'replicaSet nginx-6b5a');
    assert.equal((await ok(`${base}/web/serverGroups/target/largest`)).name, 'replicaSet nginx-7d9c');
    assert.equal((await get(`${base}/web/serverGroups/target/fail`)).status, 404);
    assert.equal((await get(`${base}/web/serverGroups/target/sideways`)).status, 404);
    assert.equal(
      (await ok(`${base}/web/serverGroups/target/current?onlyEnabled=true&onlyEnabled=false`)).name,
      'replicaSet nginx-7d9c',
      'a repeated parameter is no 500',
    );

    // Orca's getServerGroupSummary (FindImageFromClusterTask): ClusterController's /target/{target}/{summaryType}.
    assert.deepEqual(await ok(`${base}/web/serverGroups/target/current_asg_dynamic/images?onlyEnabled=false`), {
      summaries: [{ serverGroupName: 'nginx-7d9c', buildInfo: { images: ['busybox:1.36', 'nginx:1.25'] } }],
    });
    assert.deepEqual((await ok(`${base}/web/serverGroups/target/oldest/images`)).summaries[0].serverGroupName, 'nginx-6b5a');
    const image = await app.inject({ method: 'GET', url: `${base}/web/serverGroups/target/current/image` });
    assert.deepEqual([image.statusCode, image.body], [200, ''], 'no single-image summary for Kubernetes: Clouddriver answers null');
    assert.equal((await get(`${base}/web/serverGroups/target/current/launchConfig`)).status, 404);
    assert.equal((await get(`${base}/nowhere/serverGroups/target/current/images`)).status, 404);
  });

  test('GET /applications/{app}/serverGroups: the summary list Deck reads', async () => {
    const list = await ok('/applications/shop/serverGroups');
    assert.deepEqual(
      list.map((sg: Json) => `${sg.account}/${sg.name}`),
      ['k8s/replicaSet nginx-6b5a', 'k8s/replicaSet nginx-7d9c', 'k8s/replicaSet shop-canary-v002', 'east/replicaSet shop-v001', 'k8s/statefulSet shop-db'],
    );
    const sg = list[1];
    assert.deepEqual(Object.keys(sg).sort(), [
      'account',
      'application',
      'buildInfo',
      'capacity',
      'cloudProvider',
      'cluster',
      'createdTime',
      'disabled',
      'instanceCounts',
      'instances',
      'isDisabled',
      'labels',
      'loadBalancers',
      'moniker',
      'name',
      'region',
      'securityGroups',
      'serverGroupManagers',
      'type',
    ]);
    assert.equal(sg.cluster, 'deployment nginx');
    assert.equal(sg.application, 'shop');
    assert.equal(sg.region, 'web');
    assert.deepEqual(sg.instances[0], {
      id: 'uid-nginx-7d9c-abcde',
      name: 'pod nginx-7d9c-abcde',
      health: [
        { type: 'kubernetes/pod', state: 'Up' },
        { type: 'kubernetes/container', state: 'Up' },
      ],
      healthState: 'Up',
      availabilityZone: 'web',
    });
    assert.equal(sg.instanceCounts.total, 2);
    const canary = list[2];
    assert.equal(canary.cluster, 'replicaSet shop-canary');
    assert.deepEqual(canary.moniker, { app: 'shop', cluster: 'replicaSet shop-canary', sequence: 2 });
    assert.equal(canary.isDisabled, true, 'the traffic annotation names a load balancer that selects nothing');
    assert.deepEqual(canary.loadBalancers, ['service canary']);
    assert.deepEqual(list[4].loadBalancers, ['service shop-db'], 'a StatefulSet is attached to its governing Service');
    assert.equal(list[3].labels, undefined, 'empty labels are left out of the summary');

    const some = await ok('/applications/shop/serverGroups?clusters=k8s:deployment%20nginx,east:replicaSet%20shop');
    assert.deepEqual(
      some.map((s: Json) => s.name),
      ['replicaSet nginx-6b5a', 'replicaSet nginx-7d9c', 'replicaSet shop-v001'],
    );
    // Spring binds a repeated list parameter as every value: never a 500.
    assert.deepEqual(await ok('/applications/shop/serverGroups?clusters=k8s:deployment%20nginx&clusters=east:replicaSet%20shop'), some);
    assert.equal((await ok('/applications/shop/serverGroups?expand=true&expand=false&cloudProvider=kubernetes')).length, 5);
    assert.deepEqual(
      await ok('/applications/shop/serverGroups?cloudProvider=kubernetes&cloudProvider=aws'),
      [],
      'a repeated String parameter is comma-joined, as Spring binds it',
    );
    assert.deepEqual(await ok('/applications/shop/serverGroups?clusters='), []);
    assert.deepEqual(await ok('/applications/shop/serverGroups?cloudProvider=aws'), []);
    const expanded = await ok('/applications/shop/serverGroups?expand=true&clusters=k8s:deployment%20nginx');
    assert.equal(expanded[0].accountName, 'k8s');
    assert.equal(expanded[0].cluster, 'deployment nginx');
    assert.equal(expanded[0].application, 'shop');
    assert.equal(expanded[1].instances[0].humanReadableName, 'pod nginx-7d9c-abcde');
    assert.equal(expanded[1].freeFormDetail, undefined);
    assert.deepEqual(await ok('/applications/nope/serverGroups'), []);
  });

  test('GET /serverGroups by applications or ids; neither is a 400', async () => {
    assert.equal((await ok('/serverGroups?applications=shop,billing')).length, 6);
    const byId = await ok('/serverGroups?ids=k8s:web:replicaSet%20nginx-7d9c,k8s:web:replicaSet%20ghost');
    assert.deepEqual(
      byId.map((s: Json) => [s.name, s.cluster]),
      [['replicaSet nginx-7d9c', 'deployment nginx']],
    );
    assert.equal((await get('/serverGroups')).status, 400);
    assert.equal((await get('/serverGroups?ids=k8s:web')).status, 400);
    assert.deepEqual(
      (await ok('/serverGroups?ids=k8s:web:replicaSet%20nginx-7d9c&ids=k8s:web:replicaSet%20shop-canary-v002')).map((s: Json) => s.name),
      ['replicaSet nginx-7d9c', 'replicaSet shop-canary-v002'],
    );
    assert.equal((await ok('/serverGroups?applications=shop&applications=billing')).length, 6);
  });

  test('GET one server group: with its manifest, stability and instances; 404s', async () => {
    for (const url of ['/serverGroups/k8s/web/replicaSet%20nginx-7d9c', '/applications/shop/serverGroups/k8s/web/rs%20nginx-7d9c?includeDetails=false']) {
      const sg = await ok(url);
      assert.equal(sg.name, 'replicaSet nginx-7d9c');
      assert.equal(sg.manifest.metadata.name, 'nginx-7d9c');
      assert.equal(sg.manifest.kind, 'ReplicaSet');
      assert.deepEqual(sg.status, {
        stable: { state: false, message: 'Waiting for all replicas to be ready' },
        paused: { state: false, message: '' },
        available: { state: false, message: 'Waiting for all replicas to be ready' },
        failed: { state: false, message: '' },
      });
      assert.deepEqual(
        sg.instances.map((i: Json) => i.humanReadableName),
        ['pod nginx-7d9c-abcde', 'pod nginx-7d9c-fghij'],
      );
      assert.deepEqual(sg.loadBalancers, ['service nginx']);
    }
    const sts = await ok('/serverGroups/k8s/web/statefulSet%20shop-db');
    assert.deepEqual(sts.status.stable, { state: true, message: '' });
    assert.deepEqual(
      sts.instances.map((i: Json) => i.displayName),
      ['shop-db-0'],
    );
    for (const url of [
      '/serverGroups/k8s/web/replicaSet%20ghost',
      '/serverGroups/k8s/other/replicaSet%20nginx-7d9c',
      '/serverGroups/k8s/web/deployment%20nginx',
      '/serverGroups/nope/web/replicaSet%20nginx-7d9c',
      '/serverGroups/k8s/web/nginx-7d9c',
    ]) {
      const res = await get(url);
      assert.equal(res.status, 404, url);
      assert.match(res.body.message, /^Server group not found/);
    }
  });

  test('GET /applications/{app}/serverGroupManagers: Deployments with their ReplicaSets', async () => {
    const managers = await ok('/applications/shop/serverGroupManagers');
    assert.equal(managers.length, 1);
    const [m] = managers;
    assert.equal(m.name, 'deployment nginx');
    assert.equal(m.displayName, 'nginx');
    assert.equal(m.kind, 'deployment');
    assert.equal(m.region, 'web');
    assert.equal(m.cloudProvider, 'kubernetes');
    assert.deepEqual(m.moniker, { app: 'shop', cluster: 'deployment nginx' });
    assert.deepEqual(m.serverGroups, [
      { name: 'replicaSet nginx-6b5a', account: 'k8s', namespace: 'web', region: 'web', moniker: { app: 'shop', cluster: 'deployment nginx', sequence: 2 } },
      { name: 'replicaSet nginx-7d9c', account: 'k8s', namespace: 'web', region: 'web', moniker: { app: 'shop', cluster: 'deployment nginx', sequence: 3 } },
    ]);
    assert.deepEqual(m.status.stable, { state: false, message: 'Waiting for all replicas to be available' });
    assert.deepEqual(await ok('/applications/nope/serverGroupManagers'), []);
  });

  test('GET /applications/{app}/loadBalancers: Services and Ingresses with the server groups behind them', async () => {
    const lbs = await ok('/applications/shop/loadBalancers');
    assert.deepEqual(
      lbs.map((lb: Json) => lb.name),
      ['ingress nginx', 'service billing-front', 'service nginx', 'service shop-db'],
    );
    const [ingress, front, service, db] = lbs;
    // Clouddriver relates a Service to every ReplicaSet its selector matches in its namespace
    // (KubernetesServiceHandler.addRelationships), whichever application that ReplicaSet belongs to.
    assert.deepEqual(
      front.serverGroups.map((s: Json) => [s.name, s.account, s.region, s.isDisabled]),
      [['replicaSet billing-v001', 'k8s', 'other', false]],
    );
    assert.equal(service.displayName, 'nginx');
    assert.equal(service.kind, 'service');
    assert.equal(service.region, 'web');
    assert.equal(service.type, 'kubernetes');
    assert.deepEqual(service.moniker, { app: 'shop', cluster: 'service nginx' });
    assert.deepEqual(
      service.serverGroups.map((s: Json) => s.name),
      ['replicaSet nginx-6b5a', 'replicaSet nginx-7d9c'],
    );
    const behind = service.serverGroups[1];
    assert.equal(behind.isDisabled, false);
    assert.deepEqual(behind.detachedInstances, []);
    assert.equal(behind.cloudProvider, 'kubernetes');
    assert.deepEqual(behind.instances[0], {
      id: 'uid-nginx-7d9c-abcde',
      name: 'pod nginx-7d9c-abcde',
      zone: 'web',
      health: { state: 'Up', source: 'Container main', type: 'kubernetes/container', platform: 'platform' },
    });
    assert.equal(ingress.kind, 'ingress');
    assert.equal(ingress.apiVersion, 'networking.k8s.io/v1');
    assert.deepEqual(
      ingress.serverGroups.map((s: Json) => s.name),
      ['replicaSet nginx-6b5a', 'replicaSet nginx-7d9c'],
    );
    assert.deepEqual(
      db.serverGroups.map((s: Json) => s.name),
      ['statefulSet shop-db'],
    );
    assert.deepEqual(await ok('/applications/nope/loadBalancers'), []);
  });

  test('GET /{provider}/loadBalancers/{account}/{region}/{name}: one load balancer in a list; unknown is []', async () => {
    const [lb] = await ok('/kubernetes/loadBalancers/k8s/web/service%20nginx');
    assert.equal(lb.name, 'service nginx');
    assert.deepEqual(
      lb.serverGroups.map((s: Json) => [s.name, s.instances.length]),
      [
        ['replicaSet nginx-6b5a', 0],
        ['replicaSet nginx-7d9c', 2],
      ],
    );
    assert.deepEqual(await ok('/kubernetes/loadBalancers/k8s/web/service%20ghost'), []);
    assert.deepEqual(await ok('/kubernetes/loadBalancers/k8s/web/replicaSet%20nginx-7d9c'), []);
    assert.deepEqual(await ok('/kubernetes/loadBalancers'), []);
    // Clouddriver's CloudProviderNotFoundException is @ResponseStatus(BAD_REQUEST).
    for (const url of ['/aws/loadBalancers/k8s/web/service%20nginx', '/aws/loadBalancers']) {
      const res = await get(url);
      assert.equal(res.status, 400, url);
      assert.equal(res.body.message, 'No cloud provider named aws found');
    }
  });

  test('security groups and firewalls: NetworkPolicies by account and namespace, one with its rules', async () => {
    const summary = { id: 'networkPolicy shop-deny', name: 'networkPolicy shop-deny' };
    assert.deepEqual(await ok('/securityGroups'), { k8s: { kubernetes: { web: [summary] } } });
    assert.deepEqual(await ok('/firewalls'), { k8s: { kubernetes: { web: [summary] } } });
    assert.deepEqual(await ok('/securityGroups/k8s'), { kubernetes: { web: [summary] } });
    assert.deepEqual(await ok('/securityGroups/k8s?region=web'), { kubernetes: [summary] });
    assert.deepEqual(await ok('/securityGroups/east'), {});
    assert.deepEqual(await ok('/securityGroups/k8s/kubernetes'), { web: [summary] });
    assert.deepEqual(await ok('/securityGroups/k8s/kubernetes?region=web'), [summary]);
    assert.deepEqual(await ok('/firewalls/k8s'), { web: [summary] });
    assert.deepEqual(await ok('/securityGroups/k8s/kubernetes/networkPolicy%20shop-deny'), { web: [summary] });
    for (const url of ['/securityGroups/k8s/kubernetes/web/networkPolicy%20shop-deny', '/firewalls/k8s/web/netpol%20shop-deny']) {
      const sg = await ok(url);
      assert.equal(sg.class, 'com.netflix.spinnaker.clouddriver.kubernetes.caching.view.model.KubernetesSecurityGroup', 'SecurityGroupMixin: Jackson type id');
      assert.equal(sg.id, 'networkPolicy shop-deny');
      assert.equal(sg.name, 'networkPolicy shop-deny');
      assert.equal(sg.displayName, 'shop-deny');
      assert.equal(sg.accountName, 'k8s');
      assert.equal(sg.region, 'web');
      assert.equal(sg.kind, 'networkPolicy');
      assert.equal(sg.application, 'shop');
      assert.deepEqual(sg.summary, summary);
      const rule = 'com.netflix.spinnaker.clouddriver.kubernetes.caching.view.model.KubernetesSecurityGroup$PortRule';
      assert.deepEqual(sg.inboundRules, [
        { class: rule, protocol: 'TCP', portRanges: [{ startPort: 80, endPort: 80 }] },
        { class: rule, protocol: 'TCP', portRanges: [{ startPortName: 'http', endPortName: 'http' }] },
      ]);
      assert.deepEqual(sg.outboundRules, []);
    }
    assert.equal((await get('/securityGroups/k8s/kubernetes/web/networkPolicy%20ghost')).status, 404);
    assert.equal((await get('/securityGroups/k8s/aws/web/networkPolicy%20shop-deny')).status, 404);
  });

  test('GET /instances/{account}/{region}/{pod}: health, zone, moniker; 404s', async () => {
    const instance = await ok('/instances/k8s/web/pod%20nginx-7d9c-fghij');
    assert.equal(instance.name, 'uid-nginx-7d9c-fghij');
    assert.equal(instance.humanReadableName, 'pod nginx-7d9c-fghij');
    assert.equal(instance.account, 'k8s');
    assert.equal(instance.zone, 'web');
    assert.equal(instance.healthState, 'Down');
    assert.deepEqual(
      instance.health.map((h: Json) => `${h.source}=${h.state}`),
      ['Pod=Down', 'Container main=Down'],
    );
    assert.deepEqual(instance.moniker, { app: 'nginx', cluster: 'pod nginx-7d9c-fghij' });
    assert.equal(instance.cloudProvider, 'kubernetes');
    assert.equal(instance.launchTime, undefined);
    for (const url of ['/instances/k8s/web/pod%20ghost', '/instances/k8s/web/replicaSet%20nginx-7d9c', '/instances/nope/web/pod%20nginx-7d9c-fghij']) {
      assert.equal((await get(url)).status, 404, url);
    }
  });

  test("console output: each container's logs through the agent; an explanation when they cannot be read", async () => {
    router.responder = (_account, request) => (request.type === 'logs' ? { httpStatus: 200, body: `log of ${request.container}\n` } : {});
    assert.deepEqual(await ok('/instances/k8s/web/pod%20nginx-7d9c-abcde/console?provider=kubernetes'), {
      output: [
        { name: 'init', output: 'log of init\n' },
        { name: 'main', output: 'log of main\n' },
      ],
    });
    const call = router.calls[0];
    assert.ok(call);
    assert.equal(call.account, 'k8s');
    assert.deepEqual(call.request, {
      type: 'logs',
      target: { group: '', version: '', kind: 'Pod', namespace: 'web', name: 'nginx-7d9c-abcde' },
      container: 'init',
      tailLines: 5000,
    });

    router.responder = () => ({ httpStatus: 0, errorCode: 'ACCOUNT_NOT_CONNECTED', message: 'no agent is connected for account k8s' });
    const offline = await ok('/instances/k8s/web/pod%20nginx-7d9c-abcde/console');
    assert.equal(offline.output.length, 2);
    assert.match(offline.output[1].output, /could not be read through the agent for account k8s: no agent is connected/);

    assert.deepEqual(await ok('/instances/k8s/web/pod%20ghost/console'), {
      output: [{ name: 'Error', output: 'Failed to retrieve pod data; pod may have been deleted.' }],
    });
    assert.equal((await get('/instances/nope/web/pod%20x/console')).status, 404);
    assert.equal((await get('/instances/k8s/web/pod%20nginx-7d9c-abcde/console?cloudProvider=aws')).status, 404);
  });

  test("store: the application index answers the views' queries", async () => {
    const objects = await store.listApplicationObjects('shop', [{ group: 'apps', kind: 'ReplicaSet' }], { account: 'k8s' });
    assert.deepEqual(objects.map((o) => o.name).sort(), ['nginx-6b5a', 'nginx-7d9c', 'shop-canary-v002']);
    const inCluster = await store.listApplicationObjectVersions(
      'shop',
      [
        { group: 'apps', kind: 'ReplicaSet' },
        { group: 'apps', kind: 'Deployment' },
      ],
      { account: 'k8s', cluster: 'deployment nginx' },
    );
    assert.deepEqual(inCluster.map((v) => `${v.kind} ${v.name}`).sort(), ['Deployment nginx', 'ReplicaSet nginx-6b5a', 'ReplicaSet nginx-7d9c']);
    assert.deepEqual(
      inCluster.find((v) => v.name === 'nginx-7d9c'),
      { account: 'k8s', group: 'apps', kind: 'ReplicaSet', namespace: 'web', name: 'nginx-7d9c', uid: 'uid-nginx-7d9c', resourceVersion: '10' },
    );
    const rows = await store.listApplicationClusters([{ group: 'apps', kind: 'StatefulSet' }]);
    assert.deepEqual(rows, [{ application: 'shop', account: 'k8s', cluster: 'statefulSet shop-db' }]);
    const pods = await store.listNamespacedObjectVersions({ account: 'k8s', kinds: [{ group: '', kind: 'Pod' }], namespaces: ['web', 'nowhere'] });
    assert.equal(pods.length, 5);
    const some = await store.listNamespacedObjects({ account: 'k8s', kinds: [{ group: '', kind: 'Pod' }], namespaces: ['web'], names: ['shop-db-0', 'ghost'] });
    assert.deepEqual(
      some.map((o) => o.name),
      ['shop-db-0'],
    );
    assert.deepEqual(await store.listNamespacedObjects({ account: 'k8s', kinds: [{ group: '', kind: 'Pod' }], namespaces: ['web'], names: [] }), []);
  });
});
