import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { createLogger } from '../../common/logger.ts';
import { waitFor } from '../../common/time.ts';
import { create, ResumePointSchema, type ResumePoint } from '../../protocol/index.ts';
import { FakeCollection } from '../../kube/testing/fake-collection.ts';
import { sendJson, startFakeApiServer, status, type FakeApiServer, type RecordedRequest } from '../../kube/testing/fake-api-server.ts';
import { accountSchema } from '../config.ts';
import type { PendingEntry } from '../sync/feed-queue.ts';
import { feedId, type FeedDescriptor } from '../sync/feed.ts';
import { SyncProgress, type SyncFinished } from '../sync/sync-progress.ts';
import { AccountRuntime, DEFAULT_REFLECTOR_TUNING, type AccountRuntimeOptions } from './account-runtime.ts';
import { ListBudget } from './list-budget.ts';

const WAIT = { timeoutMs: 10_000, intervalMs: 10 };
const FAST_TUNING = { ...DEFAULT_REFLECTOR_TUNING, backoff: { initialMs: 10, maxMs: 50 }, forbiddenRetryMs: 100 };
const CRD_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
const WIDGETS_PATH = '/apis/example.com/v1/widgets';
/**
 * A round trip to the fake API server, which runs in this process: a request sent to it before this one
 * (by a reflector that has stopped since) has been recorded by the time it returns.
 */
async function roundTrip(server: FakeApiServer): Promise<void> {
  const response = await fetch(`${server.url}/version`);
  await response.arrayBuffer();
}

const resource = (name: string, kind: string, namespaced: boolean) => ({
  name,
  singularName: kind.toLowerCase(),
  namespaced,
  kind,
  verbs: ['get', 'list', 'watch'],
});

/**
 * A cluster with ConfigMaps and Namespaces, CustomResourceDefinitions, and — while `widgetsServed` — the
 * Widget kind of example.com, as a CRD would add it.
 */
class FakeCluster {
  server!: FakeApiServer;
  widgetsServed = false;
  readonly configMaps = new FakeCollection('/api/v1/configmaps');
  readonly namespaces = new FakeCollection('/api/v1/namespaces', 'Namespace');
  readonly definitions = new FakeCollection(CRD_PATH, 'CustomResourceDefinition');
  readonly widgets = new FakeCollection(WIDGETS_PATH, 'Widget');
  /** Requests for namespace-scoped ConfigMaps (the `namespaces` setting), by path. */
  readonly scoped: RecordedRequest[] = [];

  async start(): Promise<this> {
    this.server = await startFakeApiServer('http', (req, res, r) => {
      const discovery = this.discovery(r.path);
      if (discovery !== undefined) return sendJson(res, 200, discovery);
      if (r.path === '/api/v1/namespaces/kube-system')
        return sendJson(res, 200, { kind: 'Namespace', metadata: { name: 'kube-system', uid: 'kube-system-uid' } });
      const scoped = /^\/api\/v1\/namespaces\/[^/]+\/configmaps$/.test(r.path);
      if (scoped) {
        this.scoped.push(r);
        return new FakeCollection(r.path).handler(req, res, r);
      }
      for (const c of [this.configMaps, this.namespaces, this.definitions]) if (r.path === c.path) return c.handler(req, res, r);
      if (r.path === WIDGETS_PATH && this.widgetsServed) return this.widgets.handler(req, res, r);
      sendJson(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
    });
    return this;
  }

  private discovery(path: string): unknown {
    switch (path) {
      case '/version':
        return { major: '1', minor: '31', gitVersion: 'v1.31.0' };
      case '/api':
        return { versions: ['v1'] };
      case '/api/v1':
        return { groupVersion: 'v1', resources: [resource('configmaps', 'ConfigMap', true), resource('namespaces', 'Namespace', false)] };
      case '/apis':
        return {
          groups: [
            { name: 'apiextensions.k8s.io', versions: [{ groupVersion: 'apiextensions.k8s.io/v1', version: 'v1' }], preferredVersion: { version: 'v1' } },
            ...(this.widgetsServed
              ? [{ name: 'example.com', versions: [{ groupVersion: 'example.com/v1', version: 'v1' }], preferredVersion: { version: 'v1' } }]
              : []),
          ],
        };
      case '/apis/apiextensions.k8s.io/v1':
        return { groupVersion: 'apiextensions.k8s.io/v1', resources: [resource('customresourcedefinitions', 'CustomResourceDefinition', false)] };
      case '/apis/example.com/v1':
        return this.widgetsServed ? { groupVersion: 'example.com/v1', resources: [resource('widgets', 'Widget', true)] } : undefined;
      default:
        return undefined;
    }
  }

  kubeconfig(namespace?: string): string {
    return stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'fake',
      clusters: [{ name: 'fake', cluster: { server: this.server.url } }],
      users: [{ name: 'nobody', user: {} }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'nobody', ...(namespace !== undefined ? { namespace } : {}) } }],
    });
  }
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

async function setup(account: Record<string, unknown> = {}, options: Partial<AccountRuntimeOptions> = {}) {
  const cluster = await new FakeCluster().start();
  const infoChanges: number[] = [];
  /** Feeds whose reflector has stopped, in order. */
  const stoppedFeeds: FeedDescriptor[] = [];
  const runtime = new AccountRuntime({
    config: accountSchema.parse({ name: 'prod', kubeconfigContents: cluster.kubeconfig(), ...account }),
    logger: createLogger({ level: 'silent' }),
    listBudget: new ListBudget(10, 10),
    requestTimeoutMs: 5000,
    maxObjectBytes: () => 1_000_000,
    onPending: () => undefined,
    reflector: FAST_TUNING,
    discoveryIntervalMs: 0,
    onInfoChanged: () => infoChanges.push(Date.now()),
    onFeedStopped: (feed) => stoppedFeeds.push(feed),
    ...options,
  });
  cleanup.push(async () => {
    await runtime.close();
    await cluster.server.close();
  });
  await runtime.init();
  return { cluster, runtime, infoChanges, stoppedFeeds };
}

function kinds(runtime: AccountRuntime): string[] {
  return runtime
    .watches()
    .map((w) => `${w.feed.kind}@${w.feed.namespace}`)
    .sort();
}

function watching(runtime: AccountRuntime, kind: string): boolean {
  return runtime.watches().some((w) => w.feed.kind === kind && w.reflector.state === 'watching');
}

/** Takes everything a queue would send and acknowledges it, as the hub would. */
function sendAndAck(runtime: AccountRuntime, kind: string): string[] {
  const queue = runtime.queues().find((q) => q.feed.kind === kind);
  if (!queue) return [];
  const lease = queue.take(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  lease.ack();
  return lease.entries.map((e: PendingEntry) => ('name' in e ? `${e.type}:${e.name}` : e.type));
}

const resumePoint = (group: string, kind: string, resourceVersion: string, namespace = ''): ResumePoint =>
  create(ResumePointSchema, { feed: { group, version: 'v1', kind, resource: `${kind.toLowerCase()}s`, namespace, namespaced: true }, resourceVersion });

describe('AccountRuntime follows the cluster', () => {
  it('a CRD created at runtime starts a feed for its kind; deleted, the feed stops and is dropped at the hub', async () => {
    const { cluster, runtime, infoChanges, stoppedFeeds } = await setup();
    runtime.startCaching([], [], 'welcome');
    // Definitions are a kind like any other (a feed), and also what the account's discovery follows.
    await waitFor(() => watching(runtime, 'ConfigMap') && cluster.definitions.watches.size === 2, WAIT);
    assert.deepEqual(kinds(runtime), ['ConfigMap@', 'CustomResourceDefinition@', 'Namespace@']);

    cluster.widgets.add('w1');
    cluster.widgetsServed = true;
    cluster.definitions.add('widgets.example.com');
    await waitFor(() => watching(runtime, 'Widget'), { ...WAIT, what: 'a Widget feed' });
    assert.deepEqual(sendAndAck(runtime, 'Widget'), ['snapshotBegin', 'upsert:w1', 'snapshotEnd']);
    await waitFor(() => infoChanges.length >= 1, WAIT);
    const widget = runtime.info().kinds.find((k) => k.kind === 'Widget');
    assert.equal(widget?.watchable, true);

    // As the API server does: each object's DELETED, the watch ends, then the kind is gone.
    cluster.widgets.delete('w1');
    cluster.widgets.endWatches();
    cluster.widgetsServed = false;
    cluster.definitions.delete('widgets.example.com');
    await waitFor(() => !runtime.watches().some((w) => w.feed.kind === 'Widget'), { ...WAIT, what: 'the Widget feed to stop' });
    // Retired, the feed's reflector stops: its loop exits, so it can send nothing more.
    await waitFor(() => stoppedFeeds.some((f) => f.kind === 'Widget'), { ...WAIT, what: "the retired Widget feed's reflector to exit" });
    await roundTrip(cluster.server);
    const widgetRequests = () => cluster.server.requests.filter((r) => r.path === WIDGETS_PATH).length;
    const requests = widgetRequests();
    assert.equal(
      runtime.info().kinds.some((k) => k.kind === 'Widget'),
      false,
    );
    await waitFor(() => infoChanges.length >= 2, WAIT);
    // The dropped queue stays until the hub acknowledges the drop; nothing else follows it.
    assert.deepEqual(sendAndAck(runtime, 'Widget').at(-1), 'feedDropped');
    assert.equal(
      runtime.queues().some((q) => q.feed.kind === 'Widget'),
      false,
    );
    await roundTrip(cluster.server);
    assert.equal(widgetRequests(), requests, 'no more requests for a kind that is gone');
  });

  it('a CRD recreated before its drop was acknowledged lists again behind the drop, in the same queue', async () => {
    const { cluster, runtime } = await setup();
    cluster.widgetsServed = true;
    runtime.startCaching([], [], 'welcome');
    await waitFor(() => watching(runtime, 'Widget'), WAIT);
    cluster.widgetsServed = false;
    cluster.definitions.add('widgets.example.com');
    await waitFor(() => !runtime.watches().some((w) => w.feed.kind === 'Widget'), WAIT);
    cluster.widgets.add('again');
    cluster.widgetsServed = true;
    cluster.definitions.modify('widgets.example.com', { recreated: 'yes' });
    await waitFor(() => watching(runtime, 'Widget'), WAIT);
    const sent = sendAndAck(runtime, 'Widget');
    assert.deepEqual(sent.slice(sent.indexOf('feedDropped')), ['feedDropped', 'snapshotBegin', 'upsert:again', 'snapshotEnd']);
  });

  it('drops, at a welcome, feeds the hub has but the agent does not watch', async () => {
    const { runtime } = await setup();
    runtime.startCaching([resumePoint('example.com', 'Gadget', '7')], [], 'welcome');
    assert.deepEqual(sendAndAck(runtime, 'Gadget'), ['feedDropped']);
    assert.equal(
      runtime.queues().some((q) => q.feed.kind === 'Gadget'),
      false,
    );
  });

  it("resynchronises running feeds with a welcome's resume points, not with an update reply's", async () => {
    const { cluster, runtime } = await setup({ kinds: ['ConfigMap'] });
    runtime.startCaching([], [], 'welcome');
    await waitFor(() => cluster.configMaps.watches.size === 1, WAIT);
    const before = cluster.configMaps.watchRequests.length;
    const hubRv = cluster.configMaps.resourceVersion;
    const acked = () => runtime.watches().find((w) => w.feed.kind === 'ConfigMap')!.ackedResourceVersion;
    assert.notEqual(acked(), hubRv, "the hub's point differs from the agent's, so a welcome resynchronises");
    // A resynchronisation takes the hub's point and restarts the watch in the same synchronous step, before
    // any request: an unchanged point right after the call proves there was none, without waiting.
    runtime.startCaching([resumePoint('', 'ConfigMap', hubRv)], [], 'update');
    assert.notEqual(acked(), hubRv, 'an update reply does not resynchronise');
    assert.equal(cluster.configMaps.watchRequests.length, before, 'an update reply leaves a running feed alone');
    runtime.startCaching([resumePoint('', 'ConfigMap', hubRv)], [], 'welcome');
    assert.equal(acked(), hubRv, 'a welcome resynchronises');
    await waitFor(() => cluster.configMaps.watchRequests.length === before + 1, WAIT);
  });
});

describe('AccountRuntime with kinds it may not read', () => {
  it("reports a refused kind with the API server's message, tells the hub, and recovers when access returns", async () => {
    const { cluster, runtime, infoChanges } = await setup({ kinds: ['ConfigMap'] });
    let refused = true;
    cluster.configMaps.listHook = (_r, res) => {
      if (!refused) return false;
      sendJson(res, 403, status(403, 'Forbidden', 'configmaps is forbidden: User "agent" cannot list resource "configmaps"'));
      return true;
    };
    runtime.startCaching([], [], 'welcome');
    await waitFor(() => runtime.refusedFeeds().length === 1 && infoChanges.length === 1, WAIT);
    assert.match(runtime.refusedFeeds()[0]!.reason, /cannot list resource "configmaps"/);
    const configMap = runtime.info().kinds.find((k) => k.kind === 'ConfigMap')!;
    assert.equal(configMap.watchable, false);
    assert.match(configMap.reason, /^forbidden: configmaps is forbidden/);

    refused = false;
    await waitFor(() => watching(runtime, 'ConfigMap') && runtime.refusedFeeds().length === 0, WAIT);
    await waitFor(() => infoChanges.length === 2, WAIT);
    assert.equal(runtime.info().kinds.find((k) => k.kind === 'ConfigMap')?.watchable, true);
  });
});

describe('AccountRuntime filters', () => {
  it('namespaces: one feed per namespace for namespaced kinds, cluster-scoped kinds once', async () => {
    const { cluster, runtime } = await setup({ namespaces: ['team-a', 'team-b'] });
    runtime.startCaching([], [], 'welcome');
    await waitFor(() => runtime.watches().filter((w) => w.reflector.state === 'watching').length === 4, WAIT);
    assert.deepEqual(kinds(runtime), ['ConfigMap@team-a', 'ConfigMap@team-b', 'CustomResourceDefinition@', 'Namespace@']);
    assert.deepEqual([...new Set(cluster.scoped.map((r) => r.path))].sort(), ['/api/v1/namespaces/team-a/configmaps', '/api/v1/namespaces/team-b/configmaps']);
    assert.equal(cluster.configMaps.lists.length, 0);
    assert.deepEqual(runtime.info().namespaces, ['team-a', 'team-b']);
  });

  it('omitNamespaces: a field selector on every list and watch of namespaced kinds', async () => {
    const { cluster, runtime } = await setup({ omitNamespaces: ['kube-system', 'secret-team'] });
    runtime.startCaching([], [], 'welcome');
    await waitFor(() => cluster.configMaps.watches.size === 1 && cluster.namespaces.lists.length === 1, WAIT);
    const selector = 'metadata.namespace!=kube-system,metadata.namespace!=secret-team';
    assert.equal(cluster.configMaps.lists[0]!.query.get('fieldSelector'), selector);
    assert.equal(cluster.configMaps.watchRequests[0]!.query.get('fieldSelector'), selector);
    assert.equal(cluster.namespaces.lists[0]!.query.get('fieldSelector'), null, 'cluster-scoped kinds are not filtered by namespace');
    // Declared to the hub, which refuses operations that would write where the agent does not watch.
    assert.equal(runtime.info().properties.omitNamespaces, 'kube-system,secret-team');
    assert.equal(runtime.declaration().properties.omitNamespaces, 'kube-system,secret-team');
  });

  it("declares its default namespace: the kubeconfig context's, else default (Clouddriver's getDefaultNamespace)", async () => {
    const { cluster, runtime } = await setup();
    assert.equal(runtime.info().properties.defaultNamespace, 'default');
    const scoped = new AccountRuntime({
      config: accountSchema.parse({ name: 'team', kubeconfigContents: cluster.kubeconfig('team-a') }),
      logger: createLogger({ level: 'silent' }),
      listBudget: new ListBudget(10, 10),
      requestTimeoutMs: 5000,
      maxObjectBytes: () => 1_000_000,
      onPending: () => undefined,
    });
    cleanup.push(() => scoped.close());
    assert.equal(scoped.declaration().properties.defaultNamespace, undefined, 'unknown until the credentials are read');
    await scoped.init();
    assert.equal(scoped.info().properties.defaultNamespace, 'team-a');
    assert.equal(scoped.defaultNamespace, 'team-a', 'the executor fills the same namespace into what names none');
  });

  it('onlyNamespacedResources leaves cluster-scoped kinds out, with the reason', async () => {
    const { runtime } = await setup({ onlyNamespacedResources: true });
    runtime.startCaching([], [], 'welcome');
    assert.deepEqual(kinds(runtime), ['ConfigMap@']);
    const namespace = runtime.info().kinds.find((k) => k.kind === 'Namespace')!;
    assert.equal(namespace.watchable, false);
    assert.match(namespace.reason, /cluster-scoped/);
  });

  it("the hub's kind list from the welcome limits the feeds; an update reply without kinds keeps it", async () => {
    const { runtime } = await setup();
    runtime.startCaching([], ['/Namespace'], 'welcome');
    assert.deepEqual(kinds(runtime), ['Namespace@']);
    runtime.startCaching([], [], 'update');
    assert.deepEqual(kinds(runtime), ['Namespace@']);
    runtime.startCaching([], [], 'welcome');
    assert.deepEqual(kinds(runtime), ['ConfigMap@', 'CustomResourceDefinition@', 'Namespace@']);
  });

  it('onlySpinnakerManaged: only objects with the moniker annotation reach the queue', async () => {
    const { cluster, runtime } = await setup({ kinds: ['ConfigMap'], onlySpinnakerManaged: true });
    cluster.configMaps.add('plain');
    runtime.startCaching([], [], 'welcome');
    await waitFor(() => watching(runtime, 'ConfigMap'), WAIT);
    assert.deepEqual(sendAndAck(runtime, 'ConfigMap'), ['snapshotBegin', 'snapshotEnd']);
    assert.equal(runtime.info().properties.onlySpinnakerManaged, 'true');
  });
});

describe('AccountRuntime reports its initial sync', () => {
  it('its feeds, their list pages and a refused kind; the account is done once its list is committed', async () => {
    const progress = new SyncProgress();
    const finished: SyncFinished[] = [];
    progress.onFinished((f) => finished.push(f));
    const { cluster, runtime } = await setup({ kinds: ['ConfigMap', 'Namespace'] }, { progress });
    for (const name of ['a', 'b', 'c']) cluster.configMaps.add(name);
    cluster.namespaces.listHook = (_r, res) => {
      sendJson(res, 403, status(403, 'Forbidden', 'namespaces is forbidden'));
      return true;
    };
    progress.accountWaiting('prod');
    runtime.startCaching([], [], 'welcome');
    await waitFor(() => watching(runtime, 'ConfigMap') && runtime.refusedFeeds().length === 1, WAIT);
    const syncing = progress.report()!.syncing[0]!;
    assert.deepEqual(
      { feeds: syncing.feeds, feedsDone: syncing.feedsDone, listed: syncing.listed, expected: syncing.expected, committed: syncing.committed },
      { feeds: 2, feedsDone: 1, listed: 3, expected: 3, committed: 0 },
    );
    assert.equal(finished.length, 0);
    // What the agent does with every batch the hub acknowledges (agent.ts).
    const queue = runtime.queues().find((q) => q.feed.kind === 'ConfigMap')!;
    const lease = queue.take(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    lease.ack();
    progress.committed('prod', feedId(queue.feed), lease.entries);
    assert.deepEqual(
      finished.map((f) => ({ ...f, seconds: 0 })),
      [
        { what: 'account', account: 'prod', objects: 3, feeds: 2, resumedFeeds: 0, refusedFeeds: 1, seconds: 0 },
        { what: 'all', objects: 3, accounts: 1, incompleteAccounts: 0, seconds: 0 },
      ],
    );
  });

  it('a kind whose list keeps failing backs off, stalls, and leaves its account incomplete', async () => {
    const progress = new SyncProgress(Date.now, { stalledAfterMs: 1 });
    const finished: SyncFinished[] = [];
    progress.onFinished((f) => finished.push(f));
    const { cluster, runtime } = await setup({ kinds: ['ConfigMap', 'Namespace'] }, { progress });
    cluster.namespaces.listHook = (_r, res) => {
      sendJson(res, 500, status(500, 'InternalError', 'etcd is unavailable'));
      return true;
    };
    progress.accountWaiting('prod');
    runtime.startCaching([], [], 'welcome');
    await waitFor(() => watching(runtime, 'ConfigMap'), WAIT);
    const queue = runtime.queues().find((q) => q.feed.kind === 'ConfigMap')!;
    const lease = queue.take(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    lease.ack();
    progress.committed('prod', feedId(queue.feed), lease.entries);
    await waitFor(() => {
      progress.checkStalls();
      return finished.length > 0;
    }, WAIT);
    assert.deepEqual(
      finished.map((f) => (f.what === 'incomplete' ? [f.what, f.stalledFeeds] : [f.what])),
      [['incomplete', ['/Namespace@']], ['all']],
    );
  });
});
