import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSim, type SimServer } from '../../src/sim/sim-server.ts';
import { waitFor } from '../../src/common/time.ts';
import { SimClient, configMap } from './sim-client.ts';

const BOOKMARK_INTERVAL_MS = 50;
const HISTORY_LIMIT = 200;
let sim: SimServer;
let api: SimClient;

before(async () => {
  sim = await startSim({ clusters: ['lw'], bookmarkIntervalMs: BOOKMARK_INTERVAL_MS, historyLimit: HISTORY_LIMIT, podStartDelayMs: 10 });
  api = new SimClient(sim, 'lw');
  await api.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'paging' } });
  for (let i = 0; i < 25; i++) {
    await api.post(
      '/api/v1/namespaces/paging/configmaps',
      configMap(`cm-${String(i).padStart(2, '0')}`, { i: String(i) }, { tier: i % 2 === 0 ? 'even' : 'odd' }),
    );
  }
});

after(async () => {
  api.close();
  await sim.close();
});

const names = (list: any): string[] => list.items.map((i: any) => i.metadata.name);

describe('list', () => {
  test('list responses carry kind, apiVersion, resourceVersion and typed items', async () => {
    const list = (await api.get('/api/v1/namespaces/paging/configmaps')).body;
    assert.equal(list.kind, 'ConfigMapList');
    assert.equal(list.apiVersion, 'v1');
    assert.match(list.metadata.resourceVersion, /^\d+$/);
    assert.equal(list.items.length, 25);
    assert.equal(list.items[0].kind, 'ConfigMap');
    assert.equal(list.items[0].apiVersion, 'v1');
  });

  test('label and field selectors filter', async () => {
    assert.equal((await api.get('/api/v1/namespaces/paging/configmaps?labelSelector=tier%3Deven')).body.items.length, 13);
    assert.equal((await api.get('/api/v1/namespaces/paging/configmaps?labelSelector=' + encodeURIComponent('tier in (odd),tier!=even'))).body.items.length, 12);
    assert.equal((await api.get('/api/v1/namespaces/paging/configmaps?labelSelector=!tier')).body.items.length, 0);
    assert.deepEqual(names((await api.get('/api/v1/configmaps?fieldSelector=metadata.name%3Dcm-03')).body), ['cm-03']);
    assert.equal((await api.get('/api/v1/configmaps?fieldSelector=metadata.namespace!%3Dpaging')).body.items.length, 0);
    assert.equal((await api.get('/api/v1/namespaces/paging/configmaps?fieldSelector=metadata.name!%3Dcm-03&labelSelector=tier%3Dodd')).body.items.length, 11);
  });

  test('paging returns a consistent snapshot even while objects change between pages', async () => {
    const first = (await api.get('/api/v1/namespaces/paging/configmaps?limit=10')).body;
    assert.equal(first.items.length, 10);
    assert.ok(first.metadata.continue);
    assert.equal(first.metadata.remainingItemCount, 15);
    // Changes after the first page: a delete, an update, a create (sorting both before and after the cursor).
    await api.delete('/api/v1/namespaces/paging/configmaps/cm-15');
    await api.patch('/api/v1/namespaces/paging/configmaps/cm-20', { data: { i: 'changed' } }, 'application/merge-patch+json');
    await api.post('/api/v1/namespaces/paging/configmaps', configMap('cm-99'));
    await api.post('/api/v1/namespaces/paging/configmaps', configMap('cm-00a'));
    const seen = [...names(first)];
    let token = first.metadata.continue;
    let changed: any;
    while (token) {
      const page = (await api.get(`/api/v1/namespaces/paging/configmaps?limit=10&continue=${encodeURIComponent(token)}`)).body;
      assert.equal(page.metadata.resourceVersion, first.metadata.resourceVersion);
      seen.push(...names(page));
      changed ??= page.items.find((i: any) => i.metadata.name === 'cm-20');
      token = page.metadata.continue;
    }
    assert.deepEqual(
      seen,
      Array.from({ length: 25 }, (_, i) => `cm-${String(i).padStart(2, '0')}`),
    );
    assert.equal(changed.data.i, '20', 'the page shows the object as it was at the snapshot');
    const now = names((await api.get('/api/v1/namespaces/paging/configmaps')).body);
    assert.ok(now.includes('cm-99') && !now.includes('cm-15'));
  });

  test('a malformed continue token is 400, one older than the history is 410 Expired', async () => {
    assert.equal((await api.get('/api/v1/configmaps?limit=1&continue=garbage')).status, 400);
    const first = (await api.get('/api/v1/namespaces/paging/configmaps?limit=5')).body;
    await api.post('/api/v1/namespaces/paging/configmaps', configMap('after-compaction'));
    const compacted = await api.post('/sim/clusters/lw/faults/compact', {});
    assert.equal(compacted.status, 200);
    const reply = await api.get(`/api/v1/namespaces/paging/configmaps?limit=5&continue=${encodeURIComponent(first.metadata.continue)}`);
    assert.equal(reply.status, 410);
    assert.equal(reply.body.reason, 'Expired');
  });
});

describe('watch', () => {
  test('resourceVersion unset sends current objects as ADDED, then live events', async () => {
    const odd = (await api.get('/api/v1/namespaces/paging/configmaps?labelSelector=tier%3Dodd')).body.items.length;
    const watch = await api.watch('/api/v1/namespaces/paging/configmaps?watch=true&labelSelector=tier%3Dodd');
    assert.equal(watch.response.statusCode, 200);
    await watch.until((events) => events.length >= odd || undefined, 'initial ADDED events');
    assert.ok(watch.events.every((e) => e.type === 'ADDED'));
    await api.post('/api/v1/namespaces/paging/configmaps', configMap('live-odd', {}, { tier: 'odd' }));
    await api.post('/api/v1/namespaces/paging/configmaps', configMap('live-none'));
    const added = await watch.next((e) => e.object.metadata.name === 'live-odd');
    assert.equal(added.type, 'ADDED');
    // An object leaving the selector is seen as DELETED; entering it, as ADDED.
    await api.patch('/api/v1/namespaces/paging/configmaps/live-odd', { metadata: { labels: { tier: 'even' } } }, 'application/merge-patch+json');
    const left = await watch.next((e) => e.type === 'DELETED' && e.object.metadata.name === 'live-odd');
    assert.equal(left.object.metadata.labels.tier, 'odd');
    await api.patch('/api/v1/namespaces/paging/configmaps/live-none', { metadata: { labels: { tier: 'odd' } } }, 'application/merge-patch+json');
    assert.equal((await watch.next((e) => e.object.metadata.name === 'live-none')).type, 'ADDED');
    assert.ok(!watch.events.some((e) => e.object.metadata.name === 'live-none' && e.type !== 'ADDED'));
    watch.close();
  });

  test('a watch from a resourceVersion replays every later event, in order', async () => {
    const list = (await api.get('/api/v1/namespaces/default/configmaps')).body;
    const rv = list.metadata.resourceVersion;
    await api.post('/api/v1/namespaces/default/configmaps', configMap('replay'));
    await api.patch('/api/v1/namespaces/default/configmaps/replay', { data: { a: 'b' } }, 'application/merge-patch+json');
    await api.delete('/api/v1/namespaces/default/configmaps/replay');
    const watch = await api.watch(`/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}`);
    await watch.until((events) => events.length >= 3 || undefined);
    assert.deepEqual(
      watch.events.map((e) => e.type),
      ['ADDED', 'MODIFIED', 'DELETED'],
    );
    const versions = watch.events.map((e) => Number(e.object.metadata.resourceVersion));
    assert.deepEqual(
      versions,
      [...versions].sort((a, b) => a - b),
    );
    assert.ok(versions[0]! > Number(rv));
    watch.close();
  });

  test('a watch from a compacted resourceVersion gets one ERROR 410 Expired event and ends', async () => {
    for (let i = 0; i < HISTORY_LIMIT + 5; i++)
      await api.patch('/api/v1/namespaces/paging/configmaps/cm-01', { data: { n: String(i) } }, 'application/merge-patch+json');
    const watch = await api.watch('/api/v1/namespaces/paging/configmaps?watch=true&resourceVersion=2');
    await watch.ended$();
    assert.equal(watch.events.length, 1);
    assert.equal(watch.events[0]!.type, 'ERROR');
    assert.equal(watch.events[0]!.object.code, 410);
    assert.equal(watch.events[0]!.object.reason, 'Expired');
    assert.match(watch.events[0]!.object.message, /^too old resource version: 2 \(\d+\)$/);
  });

  test("a bookmark carries the progress of its kind, even through events the watch's selector hides", async () => {
    const watch = await api.watch('/api/v1/namespaces/default/pods?watch=true&allowWatchBookmarks=true');
    // As on a real API server, a bookmark comes only once the kind's watch cache has moved past the
    // watch's start: here through a pod in another namespace, which this watch does not see.
    const cluster = sim.cluster('lw');
    cluster.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'lw-elsewhere' } });
    cluster.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'hidden', namespace: 'lw-elsewhere' },
      spec: { containers: [{ name: 'c', image: 'i' }] },
    });
    const version = cluster.resourceVersion;
    const bookmark = await watch.next((e) => e.type === 'BOOKMARK' && Number(e.object.metadata.resourceVersion) >= version);
    assert.equal(bookmark.object.kind, 'Pod');
    assert.equal(bookmark.object.apiVersion, 'v1');
    assert.ok(!watch.events.some((e) => e.type !== 'BOOKMARK' && e.object.metadata.name === 'hidden'), 'the hidden pod is not delivered');
    watch.close();
  });

  test('timeoutSeconds ends the stream cleanly', async () => {
    const watch = await api.watch('/api/v1/namespaces/default/secrets?watch=true&timeoutSeconds=1');
    await watch.ended$();
    assert.equal(watch.events.length, 0);
  });

  test('closing the connection removes the watcher; drop-watches ends open watches', async () => {
    const cluster = sim.cluster('lw');
    const before = cluster.store.watches.size;
    const watch = await api.watch('/api/v1/namespaces/default/services?watch=true');
    await waitFor(() => cluster.store.watches.size === before + 1, { timeoutMs: 5000, what: 'watcher registered' });
    watch.close();
    await waitFor(() => cluster.store.watches.size === before, { timeoutMs: 5000, what: 'watcher removed' });
    const dropped = await api.watch('/api/v1/namespaces/default/services?watch=true');
    await waitFor(() => cluster.store.watches.size === before + 1, { timeoutMs: 5000, what: 'watcher registered' });
    const reply = await api.post('/sim/clusters/lw/faults/drop-watches', {});
    assert.equal(reply.status, 200);
    assert.ok(reply.body.droppedWatches >= 1);
    await dropped.ended$();
    assert.equal(cluster.store.watches.size, 0);
  });

  test('field selectors apply to watches', async () => {
    const watch = await api.watch('/api/v1/namespaces/default/configmaps?watch=true&fieldSelector=metadata.name%3Dpicked');
    await api.post('/api/v1/namespaces/default/configmaps', configMap('not-picked'));
    await api.post('/api/v1/namespaces/default/configmaps', configMap('picked'));
    await watch.next((e) => e.object.metadata.name === 'picked');
    assert.ok(watch.events.every((e) => e.object.metadata.name === 'picked'));
    watch.close();
  });
});
