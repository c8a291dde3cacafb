import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../../common/logger.ts';
import { forEachEngine } from '../../../test/support/databases.ts';
import type { SqlStore } from '../store/sql-store.ts';
import { NAMESPACES, accountRecord, upsert } from '../store/testing/fixtures.ts';
import type { FeedInfo, KindRecord, StoreChange } from '../store/types.ts';
import { FakeRouter, defaultResponder } from './testing/fake-router.ts';
import { buildApiServer } from './server.ts';

/**
 * Contract tests of the read endpoints Orca and Deck use beyond accounts and tasks: manifests by
 * cluster and dynamic target, events, jobs and their property files, raw resources, search, health.
 * Field names and types are the ones Clouddriver returns (null fields omitted).
 */
const NOW = 1_700_000_000_000;

function feed(group: string, kind: string, resource: string, namespaced = true): FeedInfo {
  return { group, version: 'v1', kind, resource, namespace: '', namespaced };
}

const F = {
  deployments: feed('apps', 'Deployment', 'deployments'),
  replicaSets: feed('apps', 'ReplicaSet', 'replicasets'),
  pods: feed('', 'Pod', 'pods'),
  services: feed('', 'Service', 'services'),
  networkPolicies: feed('networking.k8s.io', 'NetworkPolicy', 'networkpolicies'),
  configMaps: feed('', 'ConfigMap', 'configmaps'),
  secrets: feed('', 'Secret', 'secrets'),
  jobs: feed('batch', 'Job', 'jobs'),
  events: feed('', 'Event', 'events'),
  widgets: feed('example.com', 'Widget', 'widgets'),
};

function kinds(...feeds: FeedInfo[]): KindRecord[] {
  return [...feeds, NAMESPACES].map((f) => ({
    group: f.group,
    version: f.version,
    kind: f.kind,
    resource: f.resource,
    namespaced: f.namespaced,
    watchable: true,
  }));
}

const SHOP = { 'moniker.spinnaker.io/application': 'shop' };
const FRONTEND_RS = { ...SHOP, 'moniker.spinnaker.io/cluster': 'replicaSet frontend' };

function replicaSet(namespace: string, name: string, created: string, replicas: number | undefined, annotations: Record<string, string>): StoreChange {
  return upsert(
    F.replicaSets,
    namespace,
    name,
    '1',
    { creationTimestamp: created, annotations },
    {
      spec: {
        ...(replicas === undefined ? {} : { replicas }),
        template: { metadata: { labels: { app: 'frontend' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.25' }] } },
      },
    },
  );
}

function pod(
  namespace: string,
  name: string,
  labels: Record<string, string>,
  status: Record<string, unknown>,
  annotations: Record<string, string> = {},
): StoreChange {
  return upsert(F.pods, namespace, name, '1', { labels, annotations }, { spec: { containers: [{ name: 'main', image: 'busybox' }] }, status });
}

function job(name: string, uid: string, status: Record<string, unknown> | undefined, created = '2024-05-01T10:00:00Z'): StoreChange {
  return upsert(
    F.jobs,
    'batch',
    name,
    '1',
    { uid, creationTimestamp: created, annotations: SHOP },
    {
      spec: { backoffLimit: 1, selector: { matchLabels: { 'controller-uid': uid } }, template: { spec: { containers: [{ name: 'main', image: 'perl' }] } } },
      ...(status === undefined ? {} : { status }),
    },
  );
}

function event(name: string, kind: string, involved: string, last: string, message: string): StoreChange {
  return upsert(
    F.events,
    'web',
    name,
    '1',
    {},
    { involvedObject: { kind, name: involved, namespace: 'web' }, reason: 'Scaled', message, lastTimestamp: last, type: 'Normal' },
  );
}

type Json = any;

/** Clouddriver's mapper omits null fields: no view may carry one (Kubernetes bodies excepted). */
function assertNoNulls(value: unknown, path = '$', skip: (path: string) => boolean = () => false): void {
  if (skip(path)) return;
  assert.notEqual(value, null, `${path} is null`);
  if (Array.isArray(value)) value.forEach((v, i) => assertNoNulls(v, `${path}[${i}]`, skip));
  else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) assertNoNulls(v, `${path}.${k}`, skip);
}

forEachEngine('REST read endpoints', (engine) => {
  let store: SqlStore;
  let router: FakeRouter;
  let app: FastifyInstance;

  before(async () => {
    store = await engine.openStore();
    const all = kinds(...Object.values(F));
    await store.upsertAccount(accountRecord('k8s', { kinds: all }), NOW);
    // An account that watches neither Jobs, Pods nor Events: those reads go live through the agent.
    await store.upsertAccount(accountRecord('live', { kinds: kinds(F.deployments, F.replicaSets) }), NOW);
    await store.applyBatch(
      {
        account: 'k8s',
        changes: [
          upsert(NAMESPACES, '', 'web'),
          upsert(
            F.deployments,
            'web',
            'frontend',
            '3',
            { annotations: { ...SHOP, 'moniker.spinnaker.io/cluster': 'deployment frontend' } },
            { spec: { replicas: 2 } },
          ),
          replicaSet('web', 'frontend-v001', '2024-01-01T00:00:00Z', 5, FRONTEND_RS),
          replicaSet('web', 'frontend-v002', '2024-02-01T00:00:00Z', 1, FRONTEND_RS),
          replicaSet('web', 'frontend-v003', '2024-03-01T00:00:00Z', 3, FRONTEND_RS),
          // Same cluster in another namespace; and one whose stored columns match but lacks the cluster annotation.
          replicaSet('api', 'frontend-v004', '2024-04-01T00:00:00Z', 9, FRONTEND_RS),
          replicaSet('web', 'frontend-v007', '2024-06-01T00:00:00Z', 8, SHOP),
          // Not deployed by Spinnaker: Frigga makes it app "frontend".
          replicaSet('web', 'frontend-v009', '2024-07-01T00:00:00Z', undefined, {}),
          // Rolled out by a Deployment: its sequence is the Deployment revision (Clouddriver's namer).
          replicaSet('web', 'api-5d8f9c', '2024-05-01T00:00:00Z', 1, { 'deployment.kubernetes.io/revision': '7' }),
          upsert(F.services, 'web', 'frontend', '1', { annotations: SHOP }, { spec: { selector: { app: 'frontend' } } }),
          upsert(F.networkPolicies, 'web', 'deny-all', '1', { annotations: SHOP }, { spec: { podSelector: {} } }),
          upsert(F.configMaps, 'web', 'shop-config', '1', { labels: { tier: 'web' } }, { data: { a: 'b' } }),
          upsert(F.secrets, 'web', 'shop-creds', '1', {}, { data: { password: 'c2VjcmV0' } }),
          upsert(F.widgets, 'web', 'w1', '1', { annotations: SHOP }),
          pod('web', 'frontend-v003-abcde', { app: 'frontend' }, { phase: 'Running' }, { ...FRONTEND_RS }),
          pod('web', 'under_score-1', {}, { phase: 'Running' }),
          event('frontend.b', 'Deployment', 'frontend', '2024-03-01T00:00:02Z', 'Scaled up replica set frontend-v003 to 2'),
          event('frontend.a', 'Deployment', 'frontend', '2024-03-01T00:00:01Z', 'Scaled up replica set frontend-v003 to 1'),
          event('frontend.c', 'Service', 'frontend', '2024-03-01T00:00:03Z', 'about the service'),
          job('pi', 'uid-pi', { succeeded: 1, completionTime: '2024-05-01T10:01:00Z', conditions: [{ type: 'Complete', status: 'True' }] }),
          pod('batch', 'pi-aaaaa', { 'controller-uid': 'uid-pi' }, { phase: 'Failed', startTime: '2024-05-01T10:00:01Z' }),
          pod('batch', 'pi-bbbbb', { 'controller-uid': 'uid-pi' }, { phase: 'Succeeded', startTime: '2024-05-01T10:00:30Z' }),
          // Named like a pod of "pi" but owned by the Job "pi-other".
          pod('batch', 'pi-other-ccccc', { 'controller-uid': 'uid-other' }, { phase: 'Running', startTime: '2024-05-01T10:00:40Z' }),
          job('boom', 'uid-boom', {
            failed: 2,
            conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }],
          }),
          pod(
            'batch',
            'boom-xxxxx',
            { 'controller-uid': 'uid-boom' },
            {
              phase: 'Failed',
              startTime: '2024-05-01T10:00:05Z',
              containerStatuses: [{ name: 'main', state: { terminated: { exitCode: 1, reason: 'Error', message: 'oops' } } }],
            },
          ),
          job('slow', 'uid-slow', undefined),
        ],
        progress: [],
      },
      NOW,
    );
    await store.applyBatch({ account: 'live', changes: [upsert(F.deployments, 'web', 'api', '1')], progress: [] }, NOW);
  });

  after(async () => {
    await store.close();
  });

  beforeEach(() => {
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
    return res.body;
  }

  // ---------------------------------------------------------------- health and accounts

  test('GET /health is UP, and 503 DOWN when the database does not answer', async () => {
    assert.deepEqual(await get('/health'), { status: 200, body: { status: 'UP' } });
    const broken = Object.create(store, { ping: { value: async () => Promise.reject(new Error('connection refused')) } }) as SqlStore;
    const down = buildApiServer({ store: broken, router, hubId: 'hub-test', logger: silentLogger() });
    const res = await down.inject({ method: 'GET', url: '/health' });
    assert.equal(res.statusCode, 503);
    assert.deepEqual(res.json(), { status: 'DOWN', components: { database: { status: 'DOWN', details: { error: 'connection refused' } } } });
    await down.close();
  });

  test('GET /credentials carries the fields Deck and Orca read, typed as Clouddriver types them', async () => {
    for (const url of ['/credentials', '/credentials?expand=true', '/credentials/k8s']) {
      const body = await ok(url);
      const account = Array.isArray(body) ? body.find((a: Json) => a.name === 'k8s') : body;
      assert.equal(account.name, 'k8s', url);
      assert.equal(account.type, 'kubernetes');
      assert.equal(account.cloudProvider, 'kubernetes');
      assert.equal(account.providerVersion, 'v2');
      assert.equal(account.skin, 'v2');
      assert.equal(account.environment, 'k8s');
      assert.equal(account.accountType, 'k8s');
      assert.deepEqual(account.requiredGroupMembership, []);
      assert.equal(account.authorized, true);
      assert.equal(account.challengeDestructiveActions, false);
      assert.equal(account.primaryAccount, false);
      assert.deepEqual(account.permissions, {}, 'an unrestricted account has empty permissions, as Clouddriver serialises Permissions.EMPTY');
      assertNoNulls(account, url, (p) => p.endsWith('.agent'));
      if (url !== '/credentials') {
        assert.deepEqual(account.namespaces, ['web']);
        assert.equal(account.spinnakerKindMap.replicaSet, 'serverGroups');
        assert.equal(account.spinnakerKindMap.job, 'serverGroups');
        assert.equal(account.spinnakerKindMap['widget.example.com'], 'unclassified');
        assert.equal(account.spinnakerKindMap['Widget.example.com'], undefined);
      } else {
        assert.equal(account.namespaces, undefined);
        assert.equal(account.spinnakerKindMap, undefined);
      }
    }
    assert.equal((await get('/credentials/nope')).status, 404);
  });

  // ---------------------------------------------------------------- manifests

  test('GET /manifests: the container shape, events from the cache sorted by time, includeEvents=false', async () => {
    const body = await ok('/manifests/k8s/web/deployment%20frontend');
    assert.deepEqual(Object.keys(body).sort(), ['account', 'artifacts', 'events', 'location', 'manifest', 'metrics', 'moniker', 'name', 'status', 'warnings']);
    assert.equal(body.name, 'deployment frontend');
    assert.equal(body.location, 'web');
    assert.deepEqual(body.moniker, { app: 'shop', cluster: 'deployment frontend' });
    assert.deepEqual(body.warnings, []);
    assert.deepEqual(body.metrics, []);
    for (const condition of ['stable', 'paused', 'available', 'failed']) assert.equal(typeof body.status[condition].state, 'boolean');
    assert.deepEqual(
      body.events.map((e: Json) => e.message),
      ['Scaled up replica set frontend-v003 to 1', 'Scaled up replica set frontend-v003 to 2'],
    );
    assertNoNulls(body, '$', (p) => p.startsWith('$.manifest') || p.startsWith('$.events'));
    assert.deepEqual((await ok('/manifests/k8s/web/deployment%20frontend?includeEvents=false')).events, []);
    // KubernetesManifestAnnotater.getMoniker: a ReplicaSet without a sequence annotation takes its Deployment revision.
    assert.deepEqual((await ok('/manifests/k8s/web/replicaSet%20api-5d8f9c?includeEvents=false')).moniker, {
      app: 'api',
      cluster: 'replicaSet api-5d8f9c',
      sequence: 7,
    });
    assert.deepEqual(
      (await ok('/applications/api/rawResources')).filter((r: Json) => r.account === 'k8s').map((r: Json) => r.moniker),
      [{ app: 'api', cluster: 'replicaSet api-5d8f9c', sequence: 7 }],
    );
    assert.equal(router.calls.length, 0, 'cached events need no agent');
    // A repeated parameter binds like Spring's (comma-joined, so neither "true" nor "false": the default), never a 500.
    assert.equal((await ok('/manifests/k8s/web/deployment%20frontend?includeEvents=false&includeEvents=false')).events.length, 2);
    assert.equal((await ok('/credentials?expand=true&expand=true')).length, 2);
  });

  test('GET /manifests: events of an account that does not watch them come live from the agent', async () => {
    assert.deepEqual((await ok('/manifests/live/web/deployment%20api')).events, [], 'no agent: no events, still 200');
    router.connected.add('live');
    router.responder = (_account, request) =>
      request.type === 'list'
        ? {
            httpStatus: 200,
            body: {
              kind: 'EventList',
              items: [
                { kind: 'Event', involvedObject: { kind: 'Deployment', name: 'api' }, message: 'second', lastTimestamp: '2024-01-01T00:00:09Z' },
                { kind: 'Event', involvedObject: { kind: 'Deployment', name: 'api' }, message: 'first', lastTimestamp: '2024-01-01T00:00:01Z' },
              ],
            },
          }
        : defaultResponder(_account, request);
    const body = await ok('/manifests/live/web/deployment%20api');
    assert.deepEqual(
      body.events.map((e: Json) => e.message),
      ['first', 'second'],
    );
    assert.equal(router.calls.length, 1);
    assert.deepEqual(router.calls[0]?.request, {
      type: 'list',
      target: { group: '', version: '', kind: 'Event', namespace: 'web', name: '' },
      fieldSelector: 'involvedObject.name=api,involvedObject.kind=Deployment',
    });
    await ok('/manifests/live/web/deployment%20api?includeEvents=false');
    assert.equal(router.calls.length, 1, 'includeEvents=false makes no live call');
  });

  test('GET /manifests/{account}/{location}/{kind}/cluster/{app}/{cluster}: coordinates by moniker annotations', async () => {
    const list = await ok('/manifests/k8s/web/replicaSet/cluster/shop/replicaSet%20frontend');
    assert.deepEqual(list, [
      { kind: 'replicaSet', namespace: 'web', name: 'frontend-v001' },
      { kind: 'replicaSet', namespace: 'web', name: 'frontend-v002' },
      { kind: 'replicaSet', namespace: 'web', name: 'frontend-v003' },
    ]);
    assert.deepEqual(await ok('/manifests/k8s/web/rs/cluster/shop/replicaSet%20frontend'), list, 'kind aliases resolve');
    assert.deepEqual(await ok('/manifests/k8s/api/replicaSet/cluster/shop/replicaSet%20frontend'), [
      { kind: 'replicaSet', namespace: 'api', name: 'frontend-v004' },
    ]);
    assert.deepEqual(await ok('/manifests/k8s/web/replicaSet/cluster/frontend/replicaSet%20frontend'), [], 'names are not parsed');
    assert.deepEqual(await ok('/manifests/k8s/web/gizmo/cluster/shop/replicaSet%20frontend'), []);
    assert.equal((await get('/manifests/nope/web/replicaSet/cluster/shop/replicaSet%20frontend')).status, 404);
  });

  test('GET …/dynamic/{criteria}: Orca dynamic target picks by age and by size', async () => {
    const base = '/manifests/k8s/web/replicaSet/cluster/shop/replicaSet%20frontend/dynamic';
    const picks: Record<string, string> = {
      newest: 'frontend-v003',
      second_newest: 'frontend-v002',
      oldest: 'frontend-v001',
      largest: 'frontend-v001',
      smallest: 'frontend-v002',
    };
    for (const [criteria, name] of Object.entries(picks)) {
      assert.deepEqual(await ok(`${base}/${criteria}`), { kind: 'replicaSet', namespace: 'web', name }, criteria);
    }
    const none = await get('/manifests/k8s/web/replicaSet/cluster/shop/replicaSet%20nope/dynamic/newest');
    assert.equal(none.status, 404);
    assert.equal(none.body.code, 'NOT_FOUND');
    assert.match(
      none.body.message,
      /^No manifests matching \(account: k8s, location: web, kind: replicaSet, app shop, cluster: replicaSet nope, criteria: newest\) found$/,
    );
    // One object in the cluster: there is no second newest.
    assert.equal((await get('/manifests/k8s/api/replicaSet/cluster/shop/replicaSet%20frontend/dynamic/second_newest')).status, 404);
    assert.deepEqual(await ok('/manifests/k8s/api/replicaSet/cluster/shop/replicaSet%20frontend/dynamic/newest'), {
      kind: 'replicaSet',
      namespace: 'api',
      name: 'frontend-v004',
    });
    const bad = await get(`${base}/biggest`);
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /criteria must be one of oldest, newest, second_newest, largest, smallest/);
    assert.equal((await get('/manifests/k8s/web/gizmo/cluster/shop/replicaSet%20frontend/dynamic/newest')).status, 404);
    assert.equal((await get('/manifests/nope/web/replicaSet/cluster/shop/replicaSet%20frontend/dynamic/newest')).body.code, 'ACCOUNT_NOT_FOUND');
  });

  // ---------------------------------------------------------------- jobs

  test('GET /applications/{app}/jobs/…: a succeeded Job with its own pods, oldest first', async () => {
    const body = await ok('/applications/shop/jobs/k8s/batch/job%20pi');
    assert.deepEqual(
      { ...body, pods: body.pods.map((p: Json) => [p.name, p.status.phase]) },
      {
        name: 'pi',
        account: 'k8s',
        id: 'job pi',
        location: 'batch',
        provider: 'kubernetes',
        createdTime: Date.parse('2024-05-01T10:00:00Z'),
        completedTime: Date.parse('2024-05-01T10:01:00Z'),
        pods: [
          ['pi-aaaaa', 'Failed'],
          ['pi-bbbbb', 'Succeeded'],
        ],
        mostRecentPodName: 'pi-bbbbb',
        completionDetails: { exitCode: '', signal: '', message: '', reason: '' },
        jobState: 'Succeeded',
      },
    );
    assertNoNulls(body, '$', (p) => /^\$\.pods\[\d+\]\.status/.test(p));
    const posted = await app.inject({ method: 'POST', url: '/applications/shop/jobs/k8s/batch/job%20pi', headers: { 'content-type': 'application/json' } });
    assert.equal(posted.statusCode, 200);
    assert.deepEqual(posted.json(), body, 'Gate POSTs with an empty body');
    assert.deepEqual(await ok('/applications/shop/jobs/k8s/batch/pi'), body, 'a bare job name');
  });

  test('GET /applications/{app}/jobs/…: failed and running Jobs, 404s', async () => {
    const failed = await ok('/applications/shop/jobs/k8s/batch/job%20boom');
    assert.equal(failed.jobState, 'Failed');
    assert.equal(failed.message, 'Job has reached the specified backoff limit');
    assert.equal(failed.reason, 'BackoffLimitExceeded');
    assert.deepEqual(failed.completionDetails, {
      exitCode: '',
      signal: '',
      message: 'Job has reached the specified backoff limit',
      reason: 'BackoffLimitExceeded',
    });
    assert.equal(failed.failureDetails, "Pod: 'boom-xxxxx' had errors.\n Container: 'main' exited with code: 1.\n Status: Error.\n Logs: oops");
    assert.equal(failed.completedTime, undefined);

    const running = await ok('/applications/shop/jobs/k8s/batch/job%20slow');
    assert.equal(running.jobState, 'Running');
    assert.deepEqual(running.pods, []);
    assert.equal('mostRecentPodName' in running, false);
    assert.equal('message' in running, false);

    const missing = await get('/applications/shop/jobs/k8s/batch/job%20ghost');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.message, 'Job not found (account: k8s, location: batch, id: job ghost)');
    assert.equal((await get('/applications/shop/jobs/k8s/batch/deployment%20frontend')).status, 404, 'only Jobs are jobs');
    assert.equal((await get('/applications/shop/jobs/nope/batch/job%20pi')).body.code, 'ACCOUNT_NOT_FOUND');
    const cancel = await app.inject({ method: 'DELETE', url: '/applications/shop/jobs/k8s/batch/job%20pi' });
    assert.equal(cancel.statusCode, 501);
    assert.equal(cancel.json().message, 'cancelJob is not implemented for the Kubernetes provider');
  });

  test("job property files: parsed from the succeeded pod's log through the agent; {} when unreadable", async () => {
    assert.deepEqual(await ok('/applications/shop/jobs/k8s/batch/job%20pi/main'), {}, 'no agent connected');
    router.connected.add('k8s');
    router.responder = (_account, request) =>
      request.type === 'logs'
        ? {
            httpStatus: 200,
            body: 'starting\nSPINNAKER_PROPERTY_IMAGE_TAG=1.2.3\nSPINNAKER_CONFIG_JSON={"artifacts":[{"type":"docker/image"}],"count":2}\r\ndone\n',
          }
        : defaultResponder(_account, request);
    assert.deepEqual(await ok('/applications/shop/jobs/k8s/batch/job%20pi/main'), { image_tag: '1.2.3', artifacts: [{ type: 'docker/image' }], count: 2 });
    assert.deepEqual(router.calls.at(-1), {
      account: 'k8s',
      request: { type: 'logs', target: { group: '', version: '', kind: 'Pod', namespace: 'batch', name: 'pi-bbbbb' }, container: 'main' },
      options: { timeoutMs: 5000 },
    });
    assert.deepEqual(await ok('/applications/shop/kubernetes/pods/k8s/batch/pi-aaaaa/main'), {
      image_tag: '1.2.3',
      artifacts: [{ type: 'docker/image' }],
      count: 2,
    });
    assert.equal((router.calls.at(-1)?.request as Json).target.name, 'pi-aaaaa');

    router.responder = () => ({ httpStatus: 200, body: 'SPINNAKER_CONFIG_JSON={"broken"' });
    assert.deepEqual(await ok('/applications/shop/jobs/k8s/batch/job%20pi/main'), {}, 'malformed JSON reads as nothing');
    router.responder = () => ({ httpStatus: 400, errorCode: 'KUBE_API_ERROR', body: { message: 'container main is not valid' } });
    assert.deepEqual(await ok('/applications/shop/kubernetes/pods/k8s/batch/pi-aaaaa/nope'), {});
    assert.deepEqual(await ok('/applications/shop/jobs/k8s/batch/job%20ghost/main'), {});
  });

  test('jobs of an account that watches neither Jobs nor Pods are read live', async () => {
    router.connected.add('live');
    const liveJob = JSON.parse((job('etl', 'uid-etl', { succeeded: 1 }) as Json).body);
    const livePod = JSON.parse(
      (pod('batch', 'etl-zzzzz', { 'controller-uid': 'uid-etl' }, { phase: 'Succeeded', startTime: '2024-05-01T10:00:01Z' }) as Json).body,
    );
    router.responder = (_account, request) => {
      if (request.type === 'get')
        return request.target.name === 'etl'
          ? { httpStatus: 200, body: liveJob }
          : { httpStatus: 404, errorCode: 'KUBE_API_ERROR', body: { reason: 'NotFound' } };
      if (request.type === 'list') return { httpStatus: 200, body: { items: [livePod] } };
      return defaultResponder(_account, request);
    };
    const body = await ok('/applications/shop/jobs/live/batch/job%20etl');
    assert.equal(body.jobState, 'Succeeded');
    assert.deepEqual(
      body.pods.map((p: Json) => p.name),
      ['etl-zzzzz'],
    );
    assert.deepEqual(
      router.calls.map((c) => c.request),
      [
        { type: 'get', target: { group: 'batch', version: '', kind: 'Job', namespace: 'batch', name: 'etl' } },
        { type: 'list', target: { group: '', version: '', kind: 'Pod', namespace: 'batch', name: '' }, labelSelector: 'controller-uid=uid-etl' },
      ],
    );
    assert.equal((await get('/applications/shop/jobs/live/batch/job%20gone')).status, 404);
  });

  // ---------------------------------------------------------------- raw resources

  test("GET /applications/{app}/rawResources: every object of the application, Clouddriver's shape", async () => {
    const body = await ok('/applications/shop/rawResources');
    assert.deepEqual(body.map((r: Json) => `${r.kind} ${r.namespace}/${r.displayName}`).sort(), [
      'Widget.example.com web/w1',
      'configMap web/shop-config',
      'deployment web/frontend',
      'job batch/boom',
      'job batch/pi',
      'job batch/slow',
      'networkPolicy web/deny-all',
      'pod web/frontend-v003-abcde',
      'replicaSet api/frontend-v004',
      'replicaSet web/frontend-v001',
      'replicaSet web/frontend-v002',
      'replicaSet web/frontend-v003',
      'replicaSet web/frontend-v007',
      'secret web/shop-creds',
      'service web/frontend',
    ]);
    const config = body.find((r: Json) => r.displayName === 'shop-config');
    assert.deepEqual(config, {
      account: 'k8s',
      name: 'configMap shop-config',
      namespace: 'web',
      displayName: 'shop-config',
      apiVersion: 'v1',
      kind: 'configMap',
      labels: { tier: 'web' },
      moniker: { app: 'shop', cluster: 'configMap shop-config' },
      createdTime: Date.parse('2024-01-02T03:04:05Z'),
      cloudProvider: 'kubernetes',
      region: 'web',
    });
    assert.deepEqual(body.find((r: Json) => r.displayName === 'frontend-v001').moniker, { app: 'shop', cluster: 'replicaSet frontend', sequence: 1 });
    assertNoNulls(body);
    assert.deepEqual(await ok('/applications/nothing/rawResources'), []);
  });

  // ---------------------------------------------------------------- search

  async function search(params: string): Promise<Json> {
    const body = await ok(`/search?${params}`);
    assert.equal(Array.isArray(body), true);
    assert.equal(body.length, 1);
    return body[0];
  }

  test("GET /search: server groups by name, with Clouddriver's result fields", async () => {
    const set = await search('q=frontend&type=serverGroups&platform=kubernetes');
    assert.deepEqual(Object.keys(set).sort(), ['pageNumber', 'pageSize', 'platform', 'query', 'results', 'totalMatches']);
    assert.equal(set.platform, 'kubernetes');
    assert.equal(set.query, 'frontend');
    assert.equal(set.pageNumber, 1);
    assert.equal(set.pageSize, 10000);
    assert.deepEqual(
      set.results.map((r: Json) => `${r.namespace}/${r.name}`),
      [
        'api/replicaSet frontend-v004',
        'web/replicaSet frontend-v001',
        'web/replicaSet frontend-v002',
        'web/replicaSet frontend-v003',
        'web/replicaSet frontend-v007',
        'web/replicaSet frontend-v009',
      ],
    );
    assert.equal(set.totalMatches, 6);
    assert.deepEqual(set.results[1], {
      provider: 'kubernetes',
      group: 'replicaSet',
      kubernetesKind: 'replicaSet',
      account: 'k8s',
      namespace: 'web',
      region: 'web',
      name: 'replicaSet frontend-v001',
      type: 'serverGroups',
      serverGroup: 'replicaSet frontend-v001',
      application: 'shop',
      cluster: 'replicaSet frontend',
    });
    assert.equal(set.results[5].application, 'frontend', 'Frigga application of an unannotated object');
    assertNoNulls(set);
    assert.deepEqual(await search('q=FRONTEND&type=serverGroups'), { ...set, query: 'FRONTEND' }, 'matching ignores case');
  });

  test('GET /search: hits through the application and cluster keys, logical results, custom kinds', async () => {
    // "shop" is in no name: the replica sets are reached through the application key.
    const viaApp = await search('q=shop&type=replicaSet');
    assert.deepEqual(
      viaApp.results.map((r: Json) => r.name),
      ['replicaSet frontend-v004', 'replicaSet frontend-v001', 'replicaSet frontend-v002', 'replicaSet frontend-v003', 'replicaSet frontend-v007'],
    );

    const apps = await search('q=sho&type=applications');
    assert.deepEqual(apps.results, [{ provider: 'kubernetes', group: 'applications', name: 'shop', application: 'shop', type: 'applications' }]);

    const clusters = await search('q=frontend&type=clusters');
    assert.deepEqual(
      clusters.results.map((r: Json) => [r.account, r.application, r.name, r.cluster, r.type, r.group]),
      [
        ['k8s', 'frontend', 'replicaSet frontend', 'replicaSet frontend', 'clusters', 'clusters'],
        ['k8s', 'shop', 'deployment frontend', 'deployment frontend', 'clusters', 'clusters'],
        ['k8s', 'shop', 'replicaSet frontend', 'replicaSet frontend', 'clusters', 'clusters'],
      ],
    );

    const network = await search('q=web&type=loadBalancers,securityGroups');
    assert.deepEqual(network.results, [
      {
        provider: 'kubernetes',
        group: 'networkPolicy',
        kubernetesKind: 'networkPolicy',
        account: 'k8s',
        namespace: 'web',
        region: 'web',
        name: 'networkPolicy deny-all',
        type: 'securityGroups',
        id: 'networkPolicy deny-all',
        application: 'shop',
      },
      {
        provider: 'kubernetes',
        group: 'service',
        kubernetesKind: 'service',
        account: 'k8s',
        namespace: 'web',
        region: 'web',
        name: 'service frontend',
        type: 'loadBalancers',
        loadBalancer: 'service frontend',
        application: 'shop',
      },
    ]);
    assert.deepEqual((await search('q=web&type=loadBalancers&type=securityGroups')).results, network.results, 'repeated type parameters');

    // Deck's manifest selector: every pod of a namespace.
    const pods = await search('q=web&type=pod');
    assert.deepEqual(
      pods.results.map((r: Json) => [r.name, r.instanceId, r.type]),
      [
        ['pod frontend-v003-abcde', 'pod frontend-v003-abcde', 'instances'],
        ['pod under_score-1', 'pod under_score-1', 'instances'],
      ],
    );

    const widgets = await search('q=w1&type=Widget.example.com');
    assert.deepEqual(widgets.results, [
      {
        provider: 'kubernetes',
        group: 'Widget.example.com',
        kubernetesKind: 'Widget.example.com',
        account: 'k8s',
        namespace: 'web',
        region: 'web',
        name: 'Widget.example.com w1',
        type: 'unclassified',
      },
    ]);
  });

  test('GET /search: key semantics: account, kind and ":"-spanning queries; LIKE wildcards are literal', async () => {
    assert.deepEqual(
      (await search('q=k8s&type=securityGroups')).results.map((r: Json) => r.name),
      ['networkPolicy deny-all'],
      'the account is part of the key',
    );
    assert.equal((await search('q=networkpol&type=securityGroups')).totalMatches, 1, 'so is the kind');
    assert.equal((await search('q=infrastructure&type=securityGroups')).totalMatches, 1, 'and the constant prefix');
    assert.deepEqual(
      (await search('q=web:frontend-v00&type=replicaSet')).results.map((r: Json) => r.name),
      ['replicaSet frontend-v001', 'replicaSet frontend-v002', 'replicaSet frontend-v003', 'replicaSet frontend-v007', 'replicaSet frontend-v009'],
    );
    assert.equal((await search('q=%25&type=instances')).totalMatches, 0, '% is not a wildcard');
    assert.deepEqual(
      (await search('q=_&type=instances')).results.map((r: Json) => r.name),
      ['pod under_score-1'],
      '_ is not a wildcard',
    );
    assert.equal((await search('q=%C3%BC&type=instances')).totalMatches, 0, 'text outside ASCII');
    assert.equal((await search('q=frontend&type=nothing')).totalMatches, 0, 'unknown types are ignored');
    assert.equal((await search('type=securityGroups')).totalMatches, 1, 'no q matches everything');
  });

  test('GET /search: paging, the platform filter, parameter errors', async () => {
    const page = await search('q=frontend&type=serverGroups&pageSize=2&page=2');
    assert.equal(page.totalMatches, 6);
    assert.equal(page.pageNumber, 2);
    assert.equal(page.pageSize, 2);
    assert.deepEqual(
      page.results.map((r: Json) => r.name),
      ['replicaSet frontend-v002', 'replicaSet frontend-v003'],
    );
    assert.deepEqual(
      (await search('q=frontend&type=serverGroups&pageSize=4&page=2')).results.map((r: Json) => r.name),
      ['replicaSet frontend-v007', 'replicaSet frontend-v009'],
    );
    assert.deepEqual((await search('q=frontend&type=serverGroups&pageSize=2&page=9')).results, []);
    assert.deepEqual(await search('q=frontend&type=serverGroups&platform=aws'), {
      totalMatches: 0,
      pageNumber: 1,
      pageSize: 10000,
      platform: 'aws',
      query: 'frontend',
      results: [],
    });
    for (const params of ['q=frontend', 'q=x&type=serverGroups&page=0', 'q=x&type=serverGroups&pageSize=ten']) {
      const res = await get(`/search?${params}`);
      assert.equal(res.status, 400, params);
      assert.equal(res.body.code, 'REQUEST_INVALID');
    }
  });

  // ---------------------------------------------------------------- store query behind the views

  test('searchObjects: filters combine; name prefixes are ranges; bodies can be left out', async () => {
    const prefixed = await store.searchObjects({ account: 'k8s', kinds: [{ group: '', kind: 'Pod' }], namespace: 'batch', namePrefix: 'pi-' });
    assert.deepEqual(
      prefixed.map((o) => o.name),
      ['pi-aaaaa', 'pi-bbbbb', 'pi-other-ccccc'],
    );
    assert.notEqual(prefixed[0]?.body, '');
    const keys = await store.searchObjects({
      account: 'k8s',
      kinds: [{ group: 'apps', kind: 'ReplicaSet' }],
      application: 'shop',
      cluster: 'replicaSet frontend',
      withoutBodies: true,
    });
    assert.deepEqual(
      keys.map((o) => `${o.namespace}/${o.name}`),
      ['api/frontend-v004', 'web/frontend-v001', 'web/frontend-v002', 'web/frontend-v003', 'web/frontend-v007'],
    );
    assert.equal(keys[0]?.body, '');
    assert.equal(keys[0]?.createdAt, Date.parse('2024-04-01T00:00:00Z'));
    assert.deepEqual(await store.searchObjects({ kinds: [] }), []);
    const text = await store.searchObjects({ account: 'k8s', text: { contains: 'DENY', orKinds: [{ group: '', kind: 'Service' }] }, withoutBodies: true });
    assert.deepEqual(
      text.map((o) => `${o.kind}/${o.name}`),
      ['NetworkPolicy/deny-all', 'Service/frontend'],
    );
    assert.deepEqual(
      (await store.searchObjects({ text: { contains: 'zzz-nothing', orAccounts: ['live'] }, withoutBodies: true })).map((o) => `${o.account}/${o.name}`),
      ['live/api'],
    );
    assert.equal((await store.searchObjects({ kinds: [{ group: '', kind: 'Pod' }], limit: 1 })).length, 1);
  });
});
