import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { waitFor } from '../../src/common/time.ts';
import { startSim, type SimServer } from '../../src/sim/sim-server.ts';
import { SimClient, configMap, deployment } from './sim-client.ts';

/** Long enough to tell apart from an undelayed request on a loaded machine; short enough for a quick test. */
const LATENCY_MS = 150;
/** A latency the test never waits out: only releasing the request early lets it finish in time. */
const HOLD_MS = 60_000;
const TEST_TIMEOUT_MS = 15_000;
/** Bound on waiting for requests to reach the sim (a condition, not a sleep). */
const ARRIVAL_TIMEOUT_MS = 5_000;
/**
 * Time for a client's close to reach the sim. Nothing the sim exposes says it has seen the close, so this
 * is a wait, not a condition; it does not prove anything by itself: it makes the race the test targets
 * (released after the client left) happen. A correct sim passes however long it is.
 */
const CLOSE_PROPAGATION_MS = 100;

let sim: SimServer;
let api: SimClient;
let other: SimClient;

before(async () => {
  sim = await startSim({ port: 0, host: '127.0.0.1', clusters: ['faulty', 'healthy'], podStartDelayMs: 10, podTerminationCapMs: 50 });
  api = new SimClient(sim, 'faulty');
  other = new SimClient(sim, 'healthy');
});

after(async () => {
  api.close();
  other.close();
  await sim.close();
});

const FAULTS = '/sim/clusters/faulty/faults';

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await run();
  return { value, ms: performance.now() - start };
}

async function clearFaults(): Promise<void> {
  const reply = await api.delete(FAULTS);
  assert.equal(reply.status, 200);
}

describe('latency', () => {
  test('delays every API request and the start of watches; {"ms":0} clears it', { timeout: TEST_TIMEOUT_MS }, async () => {
    const set = await api.post(`${FAULTS}/latency`, { ms: LATENCY_MS });
    assert.equal(set.status, 200);
    assert.deepEqual(set.body.latency, { ms: LATENCY_MS, jitterMs: 0 });
    assert.deepEqual((await api.get(FAULTS)).body.latency, { ms: LATENCY_MS, jitterMs: 0 });

    const list = await timed(() => api.get('/api/v1/namespaces'));
    assert.equal(list.value.status, 200);
    assert.ok(list.ms >= LATENCY_MS, `list took ${list.ms} ms`);
    const discovery = await timed(() => api.get('/apis'));
    assert.equal(discovery.value.status, 200);
    assert.ok(discovery.ms >= LATENCY_MS, `discovery took ${discovery.ms} ms`);
    const watch = await timed(() => api.watch('/api/v1/namespaces?watch=true'));
    assert.equal(watch.value.response.statusCode, 200);
    assert.ok(watch.ms >= LATENCY_MS, `the watch response started after ${watch.ms} ms`);
    watch.value.close();
    // Other clusters are not affected.
    assert.deepEqual((await other.get('/sim/clusters/healthy/faults')).body.latency, { ms: 0, jitterMs: 0 });

    const cleared = await api.post(`${FAULTS}/latency`, { ms: 0 });
    assert.equal(cleared.status, 200);
    assert.deepEqual(cleared.body.latency, { ms: 0, jitterMs: 0 });
  });

  test('jitter is accepted, and clearing the latency releases requests already waiting', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.deepEqual((await api.post(`${FAULTS}/latency`, { ms: HOLD_MS, jitterMs: 5 })).body.latency, { ms: HOLD_MS, jitterMs: 5 });
    let done = false;
    const waiting = api.get('/api/v1/namespaces/default').then((reply) => {
      done = true;
      return reply;
    });
    await waitFor(() => sim.faults.held('faulty') === 1, { timeoutMs: ARRIVAL_TIMEOUT_MS, what: 'the request to be held' });
    assert.equal(done, false, 'the request is held by the latency');
    await clearFaults();
    assert.equal((await waiting).status, 200);
  });

  test('a client that gives up while its watch is held leaves no watcher behind (HTTP/1.1 and HTTP/2)', { timeout: TEST_TIMEOUT_MS }, async () => {
    const watches = sim.cluster('faulty').store.watches;
    const before = watches.size;
    sim.faults.setLatency('faulty', HOLD_MS);
    const path = '/clusters/faulty/api/v1/namespaces?watch=true';
    const http1 = httpsRequest(`${sim.url}${path}`, { ca: sim.caPem!, headers: { authorization: `Bearer ${sim.token}` } });
    http1.on('error', () => undefined);
    http1.end();
    const session = connect(sim.url, { ca: sim.caPem! });
    const http2 = session.request({ ':path': path, authorization: `Bearer ${sim.token}` });
    http2.on('error', () => undefined);
    await waitFor(() => sim.faults.held('faulty') === 2, { timeoutMs: ARRIVAL_TIMEOUT_MS, what: 'both watches to be held' });
    http1.destroy();
    http2.close();
    await new Promise((resolve) => setTimeout(resolve, CLOSE_PROPAGATION_MS));
    sim.faults.setLatency('faulty', 0);
    // Released, a GET is served without I/O up to registering its watch: one turn of the event loop
    // runs every step of it, so a watcher left behind would be registered by then.
    assert.equal(sim.faults.held('faulty'), 0);
    await nextTurn();
    assert.equal(watches.size, before);
    session.close();
  });

  test('in-process: sim.faults.setLatency by cluster or by name', { timeout: TEST_TIMEOUT_MS }, async () => {
    sim.faults.setLatency('faulty', LATENCY_MS);
    const reply = await timed(() => api.get('/version'));
    assert.equal(reply.value.status, 200);
    assert.ok(reply.ms >= LATENCY_MS, `took ${reply.ms} ms`);
    assert.deepEqual(sim.faults.setLatency(sim.cluster('faulty'), 0).latency, { ms: 0, jitterMs: 0 });
  });
});

describe('error budgets', () => {
  test('the next N resource requests get 500 InternalError, then requests succeed; discovery is not counted', async () => {
    const set = await api.post(`${FAULTS}/errors`, { status: 500, count: 3 });
    assert.equal(set.status, 200);
    assert.equal(set.body.errors.length, 1);
    assert.equal(set.body.errors[0].remaining, 3);
    for (let i = 0; i < 3; i++) {
      // Discovery, version and openapi requests pass and do not use up the budget.
      assert.equal((await api.get('/api/v1')).status, 200);
      assert.equal((await api.get('/version')).status, 200);
      assert.equal((await api.get('/openapi/v3')).status, 200);
      const failed = await api.get('/api/v1/namespaces/default/configmaps');
      assert.equal(failed.status, 500);
      assert.equal(failed.body.kind, 'Status');
      assert.equal(failed.body.reason, 'InternalError');
      assert.equal(failed.body.code, 500);
      assert.equal(failed.headers['retry-after'], undefined);
    }
    assert.equal((await api.get('/api/v1/namespaces/default/configmaps')).status, 200);
    assert.deepEqual((await api.get(FAULTS)).body.errors, []);
    // The other cluster never failed.
    assert.equal((await other.get('/api/v1/namespaces')).status, 200);
  });

  test('429 carries Retry-After and details.retryAfterSeconds, and only the named verbs are counted', async () => {
    await api.post('/api/v1/namespaces/default/configmaps', configMap('throttled'));
    const set = await api.post(`${FAULTS}/errors`, { status: 429, count: 1, retryAfterSeconds: 7, verbs: ['list'] });
    assert.deepEqual(set.body.errors, [{ status: 429, remaining: 1, retryAfterSeconds: 7, verbs: ['list'] }]);
    assert.equal((await api.get('/api/v1/namespaces/default/configmaps/throttled')).status, 200, 'get is not list');
    const watch = await api.watch('/api/v1/namespaces/default/configmaps?watch=true');
    assert.equal(watch.response.statusCode, 200, 'watch is not list');
    watch.close();
    const throttled = await api.get('/api/v1/namespaces/default/configmaps');
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers['retry-after'], '7');
    assert.equal(throttled.body.reason, 'TooManyRequests');
    assert.equal(throttled.body.details.retryAfterSeconds, 7);
    assert.equal((await api.get('/api/v1/namespaces/default/configmaps')).status, 200);
  });

  test('Retry-After reaches HTTP/2 clients too', async () => {
    sim.faults.failNext('faulty', { status: 429, count: 1, retryAfterSeconds: 3 });
    const session = connect(sim.url, { ca: sim.caPem! });
    try {
      const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const stream = session.request({ ':path': '/clusters/faulty/api/v1/namespaces', authorization: `Bearer ${sim.token}` });
        stream.on('response', resolve);
        stream.on('error', reject);
        stream.resume();
      });
      assert.equal(headers[':status'], 429);
      assert.equal(headers['retry-after'], '3');
    } finally {
      session.close();
    }
  });

  test('503 defaults Retry-After to 1 s; a watch-only budget fails watches; posting again adds a budget', async () => {
    await api.post(`${FAULTS}/errors`, { status: 503, count: 1, verbs: ['watch'] });
    const added = await api.post(`${FAULTS}/errors`, { status: 503, count: 1, verbs: ['watch'] });
    assert.deepEqual(
      added.body.errors.map((b: any) => b.remaining),
      [1, 1],
    );
    assert.equal((await api.get('/api/v1/namespaces/default/configmaps')).status, 200, 'list is not watch');
    for (let i = 0; i < 2; i++) {
      const refused = await api.get('/api/v1/namespaces/default/configmaps?watch=true');
      assert.equal(refused.status, 503);
      assert.equal(refused.body.reason, 'ServiceUnavailable');
      assert.equal(refused.headers['retry-after'], '1');
      assert.equal(refused.body.details.retryAfterSeconds, 1);
    }
    const watch = await api.watch('/api/v1/namespaces/default/configmaps?watch=1');
    assert.equal(watch.response.statusCode, 200);
    watch.close();
  });

  test('writes are classified as the apiserver does (create, update, patch, delete)', async () => {
    sim.faults.failNext('faulty', { status: 500, count: 1, verbs: ['patch'] });
    assert.equal((await api.post('/api/v1/namespaces/default/configmaps', configMap('classified'))).status, 201);
    assert.equal((await api.patch('/api/v1/namespaces/default/configmaps/classified', { data: { a: '1' } }, 'application/merge-patch+json')).status, 500);
    sim.faults.failNext(sim.cluster('faulty'), { status: 500, count: 1, verbs: ['delete'] });
    assert.equal((await api.delete('/api/v1/namespaces/default/configmaps/classified')).status, 500);
    assert.equal((await api.delete('/api/v1/namespaces/default/configmaps/classified')).status, 200);
    assert.deepEqual(sim.faults.active('faulty').errors, []);
  });
});

describe('revoked resources', () => {
  test('revoke answers 403 to list and watch, ends open watches; restore lifts it', { timeout: TEST_TIMEOUT_MS }, async () => {
    await api.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
    const created = await api.post('/apis/apps/v1/namespaces/team-a/deployments', deployment('web', 'nginx:1', 1));
    assert.equal(created.status, 201);
    const watch = await api.watch('/apis/apps/v1/deployments?watch=true');
    await watch.next((e) => e.type === 'ADDED' && e.object.metadata.name === 'web');

    const revoked = await api.post(`${FAULTS}/revoke`, { group: 'apps', resource: 'deployments' });
    assert.equal(revoked.status, 200);
    assert.deepEqual(revoked.body.revoked, [{ group: 'apps', resource: 'deployments', verbs: ['list', 'watch'] }]);
    await watch.ended$();

    const clusterList = await api.get('/apis/apps/v1/deployments');
    assert.equal(clusterList.status, 403);
    assert.equal(clusterList.body.kind, 'Status');
    assert.equal(clusterList.body.reason, 'Forbidden');
    assert.equal(
      clusterList.body.message,
      'deployments.apps is forbidden: User "sim-user" cannot list resource "deployments" in API group "apps" at the cluster scope',
    );
    assert.deepEqual(clusterList.body.details, { group: 'apps', kind: 'deployments' });
    const namespaced = await api.get('/apis/apps/v1/namespaces/team-a/deployments');
    assert.equal(namespaced.status, 403);
    assert.equal(
      namespaced.body.message,
      'deployments.apps is forbidden: User "sim-user" cannot list resource "deployments" in API group "apps" in the namespace "team-a"',
    );
    const rewatch = await api.get('/apis/apps/v1/namespaces/team-a/deployments?watch=true&resourceVersion=1');
    assert.equal(rewatch.status, 403);
    assert.match(rewatch.body.message, /cannot watch resource "deployments"/);
    // Verbs that were not revoked still work, and other resources are untouched.
    assert.equal((await api.get('/apis/apps/v1/namespaces/team-a/deployments/web')).status, 200);
    assert.equal((await api.get('/apis/apps/v1/replicasets')).status, 200);

    const restored = await api.post(`${FAULTS}/restore`, { group: 'apps', resource: 'deployments' });
    assert.equal(restored.status, 200);
    assert.deepEqual(restored.body.revoked, []);
    const list = await api.get('/apis/apps/v1/deployments');
    assert.equal(list.status, 200);
    assert.ok(list.body.items.some((d: any) => d.metadata.name === 'web'));
    const watchAgain = await api.watch('/apis/apps/v1/namespaces/team-a/deployments?watch=true');
    await watchAgain.next((e) => e.type === 'ADDED' && e.object.metadata.name === 'web');
    watchAgain.close();
  });

  test('core resources, a kind that does not exist yet, partial restore, and in-process calls', async () => {
    const set = await api.post(`${FAULTS}/revoke`, { group: '', resource: 'configmaps', verbs: ['get', 'list'] });
    assert.equal(set.status, 200);
    const get = await api.get('/api/v1/namespaces/default/configmaps/nope');
    assert.equal(get.status, 403);
    assert.equal(
      get.body.message,
      'configmaps "nope" is forbidden: User "sim-user" cannot get resource "configmaps" in API group "" in the namespace "default"',
    );
    sim.faults.restore('faulty', '', 'configmaps', ['get']);
    assert.equal((await api.get('/api/v1/namespaces/default/configmaps/nope')).status, 404);
    assert.equal((await api.get('/api/v1/configmaps')).status, 403);

    assert.equal((await api.post(`${FAULTS}/revoke`, { group: 'example.com', resource: 'gadgets' })).status, 200);
    assert.deepEqual(sim.faults.active('faulty').revoked, [
      { group: '', resource: 'configmaps', verbs: ['list'] },
      { group: 'example.com', resource: 'gadgets', verbs: ['list', 'watch'] },
    ]);
    assert.equal((await api.post('/sim/clusters/faulty/crds', { group: 'example.com', kind: 'Gadget' })).status, 201);
    assert.equal((await api.get('/apis/example.com/v1/gadgets')).status, 403);
    assert.equal((await api.delete('/sim/clusters/faulty/crds/gadgets.example.com')).status, 200);
    await clearFaults();
    assert.equal((await api.get('/api/v1/configmaps')).status, 200);
  });
});

describe('listing and clearing faults', () => {
  test('GET shows every active fault, DELETE lifts them all, removing a cluster drops its faults', async () => {
    await api.post(`${FAULTS}/latency`, { ms: 1, jitterMs: 2 });
    await api.post(`${FAULTS}/errors`, { status: 500, count: 5, verbs: ['create'] });
    await api.post(`${FAULTS}/revoke`, { group: 'batch', resource: 'jobs', verbs: ['watch'] });
    const active = (await api.get(FAULTS)).body;
    assert.deepEqual(active, {
      cluster: 'faulty',
      latency: { ms: 1, jitterMs: 2 },
      errors: [{ status: 500, remaining: 5, verbs: ['create'] }],
      revoked: [{ group: 'batch', resource: 'jobs', verbs: ['watch'] }],
    });
    const cleared = await api.delete(FAULTS);
    assert.deepEqual(cleared.body, { cluster: 'faulty', latency: { ms: 0, jitterMs: 0 }, errors: [], revoked: [] });
    assert.equal((await api.post('/api/v1/namespaces/default/configmaps', configMap('after-clear'))).status, 201);

    assert.equal((await api.post('/sim/clusters/doomed', {})).status, 201);
    sim.faults.failNext('doomed', { status: 503, count: 1 });
    assert.equal((await api.delete('/sim/clusters/doomed')).status, 200);
    assert.equal((await api.post('/sim/clusters/doomed', {})).status, 201);
    assert.deepEqual(sim.faults.active('doomed').errors, []);
    const doomed = new SimClient(sim, 'doomed');
    assert.equal((await doomed.get('/api/v1/namespaces')).status, 200);
    doomed.close();
    assert.equal((await api.delete('/sim/clusters/doomed')).status, 200);
    assert.throws(() => sim.faults.active('doomed'), /no cluster named doomed/);
  });
});

describe('CRD shortcut', () => {
  test('creating a CRD emits ADDED, makes the kind discoverable and usable; deleting it removes kind and objects', { timeout: TEST_TIMEOUT_MS }, async () => {
    const definitions = await api.watch('/apis/apiextensions.k8s.io/v1/customresourcedefinitions?watch=true');
    const created = await api.post('/sim/clusters/faulty/crds', { group: 'example.com', kind: 'Widget' });
    assert.equal(created.status, 201);
    assert.equal(created.body.kind, 'CustomResourceDefinition');
    assert.equal(created.body.metadata.name, 'widgets.example.com');
    assert.equal(created.body.spec.scope, 'Namespaced');
    assert.deepEqual(created.body.spec.names, { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' });
    assert.ok(created.body.status.conditions.some((c: any) => c.type === 'Established' && c.status === 'True'));
    await definitions.next((e) => e.type === 'ADDED' && e.object.metadata.name === 'widgets.example.com');
    definitions.close();

    const resources = (await api.get('/apis/example.com/v1')).body.resources;
    assert.ok(resources.some((r: any) => r.name === 'widgets' && r.kind === 'Widget' && r.namespaced === true));
    const widget = await api.post('/apis/example.com/v1/namespaces/default/widgets', {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w1' },
      spec: { size: 1 },
    });
    assert.equal(widget.status, 201);
    assert.equal((await api.post('/sim/clusters/faulty/crds', { group: 'example.com', kind: 'Widget' })).status, 409);

    const watch = await api.watch('/apis/example.com/v1/widgets?watch=true');
    await watch.next((e) => e.type === 'ADDED' && e.object.metadata.name === 'w1');
    const deleted = await api.delete('/sim/clusters/faulty/crds/widgets.example.com');
    assert.equal(deleted.status, 200);
    assert.equal(deleted.body.metadata.name, 'widgets.example.com');
    await watch.next((e) => e.type === 'DELETED' && e.object.metadata.name === 'w1');
    await watch.ended$();
    assert.equal((await api.get('/apis/example.com/v1')).status, 404);
    assert.equal((await api.get('/apis/example.com/v1/widgets')).status, 404);
    assert.equal((await api.delete('/sim/clusters/faulty/crds/widgets.example.com')).status, 404);
  });

  test('explicit plural, cluster scope and several versions; in-process create and delete', async () => {
    const created = sim.faults.createCrd('faulty', {
      group: 'ops.example.com',
      kind: 'Fleet',
      plural: 'fleeties',
      scope: 'Cluster',
      versions: ['v2', 'v1beta1'],
    });
    assert.equal(created.metadata?.name, 'fleeties.ops.example.com');
    const v1beta1 = (await api.get('/apis/ops.example.com/v1beta1')).body.resources;
    assert.ok(v1beta1.some((r: any) => r.name === 'fleeties' && r.namespaced === false));
    assert.equal(
      (await api.post('/apis/ops.example.com/v2/fleeties', { apiVersion: 'ops.example.com/v2', kind: 'Fleet', metadata: { name: 'f1' } })).status,
      201,
    );
    assert.equal(sim.faults.deleteCrd('faulty', 'fleeties.ops.example.com').removed, true);
    assert.equal((await api.get('/apis/ops.example.com/v2')).status, 404);
  });
});

describe('bad requests', () => {
  const cases: Array<[string, unknown, string]> = [
    ['faults/latency', {}, 'ms'],
    ['faults/latency', { ms: -1 }, 'ms'],
    ['faults/latency', { ms: 'slow' }, 'ms'],
    ['faults/latency', { ms: 10, jitterMs: -5 }, 'jitterMs'],
    ['faults/latency', { ms: 10, jitter: 5 }, 'jitter'],
    ['faults/latency', [1, 2], 'body'],
    ['faults/errors', { count: 1 }, 'status'],
    ['faults/errors', { status: 404, count: 1 }, 'status'],
    ['faults/errors', { status: 500 }, 'count'],
    ['faults/errors', { status: 500, count: 0 }, 'count'],
    ['faults/errors', { status: 500, count: 1.5 }, 'count'],
    ['faults/errors', { status: 429, count: 1, retryAfterSeconds: -1 }, 'retryAfterSeconds'],
    ['faults/errors', { status: 429, count: 1, verbs: [] }, 'verbs'],
    ['faults/errors', { status: 429, count: 1, verbs: ['list', 'explode'] }, 'verbs[1]'],
    ['faults/revoke', { resource: 'deployments' }, 'group'],
    ['faults/revoke', { group: 'apps' }, 'resource'],
    ['faults/revoke', { group: 'apps', resource: '' }, 'resource'],
    ['faults/revoke', { group: 'Apps!', resource: 'deployments' }, 'group'],
    ['faults/revoke', { group: 'apps', resource: 'deployments/scale' }, 'resource'],
    ['faults/restore', { group: 'apps', resource: 'deployments', verbs: 'list' }, 'verbs'],
    ['crds', { kind: 'Widget' }, 'group'],
    ['crds', { group: 'example', kind: 'Widget' }, 'group'],
    ['crds', { group: 'example.com' }, 'kind'],
    ['crds', { group: 'example.com', kind: 'my widget' }, 'kind'],
    ['crds', { group: 'example.com', kind: 'Widget', plural: 'Widgets' }, 'plural'],
    ['crds', { group: 'example.com', kind: 'Widget', scope: 'Global' }, 'scope'],
    ['crds', { group: 'example.com', kind: 'Widget', versions: ['v1', 'v1'] }, 'versions[1]'],
    ['crds', { group: 'example.com', kind: 'Widget', versions: [] }, 'versions'],
  ];
  for (const [action, body, field] of cases) {
    test(`POST ${action} ${JSON.stringify(body)} is a 400 naming ${field}`, async () => {
      const reply = await api.post(`/sim/clusters/faulty/${action}`, body);
      assert.equal(reply.status, 400, reply.text);
      assert.equal(reply.body.kind, 'Status');
      assert.equal(reply.body.reason, 'BadRequest');
      assert.ok(reply.body.message.startsWith(`${field}: `), reply.body.message);
      assert.equal(reply.body.details.causes[0].field, field);
    });
  }

  test('a body that is not JSON is a 400 naming the body; nothing was changed and the sim still serves', async () => {
    const reply = await api.request('POST', `${FAULTS}/errors`, '{"status": 500,', 'application/json');
    assert.equal(reply.status, 400);
    assert.equal(reply.body.details.causes[0].field, 'body');
    assert.deepEqual((await api.get(FAULTS)).body.errors, []);
    assert.equal((await api.get('/api/v1/namespaces')).status, 200);
  });

  test('in-process calls check their arguments the same way', () => {
    assert.throws(
      () => sim.faults.setLatency('faulty', Number.NaN),
      (err: any) => err.code === 400 && err.message.startsWith('ms: '),
    );
    assert.throws(
      () => sim.faults.failNext('faulty', { status: 418 as never, count: 1 }),
      (err: any) => err.code === 400 && err.message.startsWith('status: '),
    );
    assert.throws(
      () => sim.faults.revoke('faulty', 'apps', ''),
      (err: any) => err.code === 400 && err.message.startsWith('resource: '),
    );
    assert.deepEqual(sim.faults.active('faulty'), { latency: { ms: 0, jitterMs: 0 }, errors: [], revoked: [] });
  });

  test('unknown clusters, paths and methods', async () => {
    assert.equal((await api.post('/sim/clusters/nope/faults/latency', { ms: 1 })).status, 404);
    assert.equal((await api.post(`${FAULTS}/explode`, {})).status, 404);
    assert.equal((await api.get(`${FAULTS}/latency`)).status, 405);
    assert.equal((await api.put(FAULTS, {})).status, 405);
    assert.equal((await api.get('/sim/clusters/faulty/crds')).status, 405);
  });
});
