import { afterEach, beforeEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../common/logger.ts';
import { SimCluster } from './sim-cluster.ts';
import { startWatch, type WatchSink } from './watch-stream.ts';

const BOOKMARK_INTERVAL_MS = 60_000;
const PROGRESS_NOTIFY_MS = 600_000;

/** A watch's output, collected in memory. */
function collector(): WatchSink & { lines: Array<{ type: string; object: { metadata: { resourceVersion: string; name?: string } } }>; ended: boolean } {
  const sink = {
    lines: [] as Array<{ type: string; object: { metadata: { resourceVersion: string; name?: string } } }>,
    ended: false,
    write(line: string) {
      sink.lines.push(JSON.parse(line));
      return true;
    },
    end() {
      sink.ended = true;
    },
    onClose() {},
  };
  return sink;
}

let cluster: SimCluster;

beforeEach(() => {
  mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  cluster = new SimCluster({
    name: 'unit',
    historyLimit: 100,
    podStartDelayMs: 10,
    podTerminationCapMs: 10,
    progressNotifyIntervalMs: PROGRESS_NOTIFY_MS,
    openApiSchemas: true,
    logger: silentLogger(),
  });
});

afterEach(() => {
  cluster.close();
  mock.timers.reset();
});

function watchConfigMaps(namespace: string, timeoutSeconds?: number) {
  const type = cluster.store.registry.lookup('', 'v1', 'configmaps')!;
  const sink = collector();
  startWatch(
    cluster.store,
    type,
    {
      filter: { namespace, labels: [], fields: [] },
      resourceVersion: String(cluster.store.resourceVersion),
      allowWatchBookmarks: true,
      bookmarkIntervalMs: BOOKMARK_INTERVAL_MS,
      ...(timeoutSeconds ? { timeoutSeconds } : {}),
    },
    sink,
  );
  return sink;
}

test('a quiet kind gets no bookmark at the bookmark interval; events of other kinds do not count', () => {
  const sink = watchConfigMaps('default');
  cluster.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' } });
  mock.timers.tick(BOOKMARK_INTERVAL_MS * 5);
  assert.deepEqual(sink.lines, []);
});

test("an event of the kind the watch's selector hides moves the bookmark on, at the next chance", () => {
  const sink = watchConfigMaps('default');
  cluster.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'elsewhere', namespace: 'kube-system' } });
  const version = String(cluster.store.resourceVersion);
  assert.equal(sink.lines.length, 0, 'the hidden event itself is not delivered');
  mock.timers.tick(BOOKMARK_INTERVAL_MS);
  assert.deepEqual(
    sink.lines.map((l) => [l.type, l.object.metadata.resourceVersion]),
    [['BOOKMARK', version]],
  );
});

test("an etcd progress notification gives quiet kinds a bookmark at the cluster's resourceVersion", () => {
  const sink = watchConfigMaps('default');
  cluster.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' } });
  mock.timers.tick(PROGRESS_NOTIFY_MS);
  assert.deepEqual(
    sink.lines.map((l) => [l.type, l.object.metadata.resourceVersion]),
    [['BOOKMARK', String(cluster.store.resourceVersion)]],
  );
});

test('a bookmark is tried just before timeoutSeconds ends the watch cleanly', () => {
  const sink = watchConfigMaps('default', 30);
  cluster.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'elsewhere', namespace: 'kube-system' } });
  mock.timers.tick(28_000);
  assert.deepEqual(
    sink.lines.map((l) => l.type),
    ['BOOKMARK'],
  );
  assert.equal(sink.ended, false);
  mock.timers.tick(2_000);
  assert.equal(sink.ended, true);
});
