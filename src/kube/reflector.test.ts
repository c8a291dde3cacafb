import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import type { KubeObject } from '../common/kube-object.ts';
import { waitFor } from '../common/time.ts';
import type { ApiResource } from './api-resource.ts';
import { KubeClient, WATCH_DEADLINE_GRACE_MS } from './client.ts';
import { Reflector, type ReflectorOptions } from './reflector.ts';
import type { ReflectorSink, SnapshotReason } from './reflector-sink.ts';
import { SlimItem } from './slim-item.ts';
import { slimObject } from './slim.ts';
import { FakeCollection } from './testing/fake-collection.ts';
import { openWatch, sendJson, startFakeApiServer, status, type FakeApiServer } from './testing/fake-api-server.ts';

const CONFIGMAPS: ApiResource = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  resource: 'configmaps',
  namespaced: true,
  verbs: ['list', 'watch'],
  shortNames: ['cm'],
  singularName: 'configmap',
  preferred: true,
};
const PATH = '/api/v1/namespaces/default/configmaps';
const FAST_BACKOFF = { initialMs: 5, maxMs: 20, jitter: 0 };
const WAIT = { timeoutMs: 5000, intervalMs: 5 };

/** Records every sink call as a short line, for assertions on order. */
class RecordingSink implements ReflectorSink {
  calls: string[] = [];
  objects: KubeObject[] = [];
  onSnapshotBegin(reason: SnapshotReason): void {
    this.calls.push(`begin:${reason}`);
  }
  onSnapshotObject(obj: KubeObject): void {
    this.objects.push(obj);
    this.calls.push(`object:${obj.metadata?.name}`);
  }
  onSnapshotEnd(rv: string): void {
    this.calls.push(`end:${rv}`);
  }
  onEvent(type: string, obj: KubeObject): void {
    this.objects.push(obj);
    this.calls.push(`${type}:${obj.metadata?.name}@${obj.metadata?.resourceVersion}`);
  }
  onProgress(rv: string): void {
    this.calls.push(`progress:${rv}`);
  }
  has(call: string): boolean {
    return this.calls.includes(call);
  }
  count(prefix: string): number {
    return this.calls.filter((c) => c.startsWith(prefix)).length;
  }
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});
after(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

async function setup(options: Partial<ReflectorOptions> = {}, collection = new FakeCollection(PATH)) {
  const server: FakeApiServer = await startFakeApiServer('http', collection.handler);
  const client = new KubeClient({ server: server.url, insecureSkipTlsVerify: false, auth: { type: 'none' } });
  const sink = new RecordingSink();
  const reflector = new Reflector({ client, resource: CONFIGMAPS, namespace: 'default', sink, backoff: FAST_BACKOFF, ...options });
  cleanup.push(async () => {
    await reflector.stop();
    await client.close();
    await server.close();
  });
  return { server, client, sink, reflector, collection };
}

describe('Reflector', () => {
  it('lists in pages at one RV, fills kind/apiVersion, transforms, then watches with bookmarks from the list RV', async () => {
    const collection = new FakeCollection(PATH);
    for (const name of ['a', 'b', 'c', 'd', 'e']) collection.add(name);
    const listRv = collection.resourceVersion;
    const { sink, reflector } = await setup(
      { pageSize: 2, watchTimeoutMinSeconds: 30, watchTimeoutMaxSeconds: 40, transform: (o) => ({ ...o, transformed: true }) },
      collection,
    );
    reflector.start();
    await waitFor(() => collection.watches.size === 1, WAIT);
    assert.deepEqual(sink.calls, ['begin:initial', 'object:a', 'object:b', 'object:c', 'object:d', 'object:e', `end:${listRv}`]);
    assert.ok(sink.objects.every((o) => o.kind === 'ConfigMap' && o.apiVersion === 'v1' && o.transformed === true));
    assert.equal(collection.lists.length, 3);
    assert.equal(collection.lists[0]!.query.get('limit'), '2');
    assert.equal(collection.lists[0]!.query.get('resourceVersion'), null);
    assert.equal(collection.lists[0]!.query.get('continue'), null);
    assert.ok(collection.lists[1]!.query.get('continue'));
    const watch = collection.watchRequests[0]!;
    assert.equal(watch.query.get('resourceVersion'), listRv);
    assert.equal(watch.query.get('allowWatchBookmarks'), 'true');
    const timeout = Number(watch.query.get('timeoutSeconds'));
    assert.ok(timeout >= 30 && timeout <= 40);
    assert.equal(reflector.status().state, 'watching');
    assert.equal(reflector.status().relists, 1);
  });

  it("reports each list page before its objects (items, first, last, the server's remainingItemCount), a relist's too", async () => {
    const collection = new FakeCollection(PATH);
    for (const name of ['a', 'b', 'c', 'd', 'e']) collection.add(name);
    const pages: string[] = [];
    const { sink, reflector } = await setup(
      { pageSize: 2, onListPage: (page) => pages.push(`${JSON.stringify(page)} after ${sink.count('object')}`) },
      collection,
    );
    reflector.start();
    await waitFor(() => collection.watches.size === 1, WAIT);
    assert.deepEqual(pages, [
      '{"items":2,"first":true,"last":false,"remainingItemCount":3} after 0',
      '{"items":2,"first":false,"last":false,"remainingItemCount":1} after 2',
      '{"items":1,"first":false,"last":true} after 4',
    ]);
    reflector.restartFrom(undefined);
    await waitFor(() => pages.length === 6, WAIT);
    assert.match(pages[3]!, /^\{"items":2,"first":true,/);
  });

  it('delivers events and bookmarks, and re-watches from the last RV when the watch ends', async () => {
    const { sink, reflector, collection } = await setup();
    reflector.start();
    await waitFor(() => collection.watches.size === 1, WAIT);
    collection.add('x');
    collection.modify('x', { k: 'v' });
    await waitFor(() => sink.count('MODIFIED') === 1, WAIT);
    collection.bookmark();
    const bookmarkRv = collection.resourceVersion;
    await waitFor(() => sink.has(`progress:${bookmarkRv}`), WAIT);
    assert.equal(reflector.status().resourceVersion, bookmarkRv);
    assert.ok(reflector.status().lastProgressAt! >= reflector.status().lastEventAt!);
    collection.endWatches();
    await waitFor(() => collection.watchRequests.length === 2 && collection.watches.size === 1, WAIT);
    assert.equal(collection.watchRequests[1]!.query.get('resourceVersion'), bookmarkRv);
    collection.delete('x');
    await waitFor(() => sink.count('DELETED') === 1, WAIT);
    assert.equal(reflector.status().relists, 1);
    assert.equal(reflector.status().watchRestarts, 1);
    assert.equal(collection.lists.length, 1);
  });

  it('a quiet feed: the watch the server accepts and its clean end are progress; the watch counts as open until its deadline', async () => {
    let clock = 1_700_000_000_000;
    const { reflector, collection } = await setup({ clock: () => clock, watchTimeoutMinSeconds: 300, watchTimeoutMaxSeconds: 300 });
    reflector.start();
    await waitFor(() => collection.watches.size === 1 && reflector.status().watchOpenUntil !== undefined, WAIT);
    assert.equal(reflector.status().watchOpenUntil, clock + 300_000 + WATCH_DEADLINE_GRACE_MS);
    // Five quiet minutes (no event, no bookmark, as a real server gives a quiet kind), then the server
    // ends the watch at its timeout: a renewal, not a stall.
    clock += 300_000;
    collection.endWatches();
    await waitFor(() => collection.watchRequests.length === 2 && collection.watches.size === 1 && reflector.status().lastProgressAt === clock, WAIT);
    const status = reflector.status();
    assert.equal(status.failingSince, undefined);
    assert.equal(status.state, 'watching');
    assert.equal(status.errors, 0);
  });

  for (const expiredAs of ['event', 'status'] as const) {
    it(`relists with an 'expired' snapshot on 410 (${expiredAs === 'event' ? 'in-stream ERROR event' : 'HTTP status'})`, async () => {
      const collection = new FakeCollection(PATH);
      collection.expiredAs = expiredAs;
      collection.add('a');
      const { sink, reflector } = await setup({}, collection);
      reflector.start();
      await waitFor(() => collection.watches.size === 1, WAIT);
      collection.add('b');
      await waitFor(() => sink.count('ADDED') === 1, WAIT);
      // End the watch, then change and compact before the reflector's re-watch (from b's RV) can arrive.
      collection.endWatches();
      collection.add('c');
      collection.compact();
      await waitFor(() => sink.count('begin:') === 2 && sink.count('end:') === 2 && collection.watches.size === 1, WAIT);
      assert.ok(sink.has('begin:expired'));
      const second = sink.calls.slice(sink.calls.indexOf('begin:expired'));
      assert.deepEqual(second, ['begin:expired', 'object:a', 'object:b', 'object:c', `end:${collection.resourceVersion}`]);
      assert.equal(reflector.status().relists, 2);
    });
  }

  it('backs off after a 500 on the watch and continues from the last RV without relisting', async () => {
    const { sink, reflector, collection } = await setup();
    let failures = 2;
    collection.watchHook = (_r, res) => {
      if (failures === 0) return false;
      failures--;
      sendJson(res, 500, status(500, 'InternalError', 'etcd unavailable'));
      return true;
    };
    reflector.start();
    await waitFor(() => collection.watches.size === 1, WAIT);
    assert.equal(collection.watchRequests.length, 3);
    const s = reflector.status();
    assert.equal(s.errors, 2);
    assert.equal(s.lastError?.httpStatus, 500);
    assert.equal(s.relists, 1);
    assert.equal(collection.lists.length, 1);
    collection.add('late');
    await waitFor(() => sink.count('ADDED') === 1, WAIT);
  });

  it('backs off after a malformed watch line and resumes from the last delivered RV', async () => {
    const { sink, reflector, collection } = await setup();
    let broken = true;
    collection.watchHook = (r, res) => {
      if (!broken) return false;
      broken = false;
      const w = openWatch(res);
      w.send('ADDED', { kind: 'ConfigMap', metadata: { name: 'ok', resourceVersion: '150' } });
      w.raw('this is not json\n');
      return r.path === PATH;
    };
    reflector.start();
    await waitFor(() => collection.watches.size === 1, WAIT);
    assert.ok(sink.has('ADDED:ok@150'));
    assert.equal(collection.watchRequests[1]!.query.get('resourceVersion'), '150');
    assert.equal(reflector.status().lastError?.code, 'KUBE_TRANSPORT_ERROR');
  });

  it('resumes from a given RV without listing', async () => {
    const collection = new FakeCollection(PATH);
    collection.add('a');
    const resumeRv = collection.resourceVersion;
    collection.add('b');
    const { sink, reflector } = await setup({ resumeResourceVersion: resumeRv }, collection);
    reflector.start();
    await waitFor(() => sink.count('ADDED') === 1, WAIT);
    assert.deepEqual(sink.calls, [`ADDED:b@${collection.resourceVersion}`]);
    assert.equal(collection.lists.length, 0);
    assert.equal(collection.watchRequests[0]!.query.get('resourceVersion'), resumeRv);
  });

  it("verify() lists quietly beside a resumed watch: only the verification calls see the objects, the reflector's state is untouched", async () => {
    const collection = new FakeCollection(PATH);
    collection.add('a');
    const resumeRv = collection.resourceVersion;
    collection.add('b');
    const verified: string[] = [];
    const sink = Object.assign(new RecordingSink(), {
      onVerificationBegin: () => {
        verified.push('begin');
        return resumeRv;
      },
      onVerificationObject: (obj: KubeObject) => verified.push(`object:${obj.metadata?.name}@${obj.metadata?.resourceVersion}`),
      onVerificationEnd: (rv: string) => verified.push(`end:${rv}`),
    });
    const { reflector } = await setup({ resumeResourceVersion: resumeRv, sink, transform: slimObject }, collection);
    reflector.start();
    await waitFor(() => sink.count('ADDED') === 1, WAIT);
    const listRv = await reflector.verify();
    assert.equal(listRv, collection.resourceVersion);
    assert.deepEqual(verified, ['begin', `object:a@${resumeRv}`, `object:b@${listRv}`, `end:${listRv}`]);
    assert.equal(sink.count('begin:'), 0, 'no snapshot');
    // Read at exactly the point the sink names.
    assert.equal(collection.lists[0]!.query.get('resourceVersion'), resumeRv);
    assert.equal(collection.lists[0]!.query.get('resourceVersionMatch'), 'Exact');
    assert.equal(reflector.status().relists, 0);
    assert.equal(reflector.status().state, 'watching');
    // The watch carries on.
    collection.add('c');
    await waitFor(() => sink.count('ADDED') === 2, WAIT);
  });

  it("relists with a 'resume-failed' snapshot when the resume RV is too old", async () => {
    const collection = new FakeCollection(PATH);
    collection.add('a');
    const resumeRv = collection.resourceVersion;
    collection.add('b');
    collection.compact();
    const { sink, reflector } = await setup({ resumeResourceVersion: resumeRv }, collection);
    reflector.start();
    await waitFor(() => collection.watches.size === 1, WAIT);
    assert.deepEqual(sink.calls, ['begin:resume-failed', 'object:a', 'object:b', `end:${collection.resourceVersion}`]);
  });

  it('restarts the whole list when a continue token expires mid-list', async () => {
    const collection = new FakeCollection(PATH);
    for (const name of ['a', 'b', 'c']) collection.add(name);
    let expireOnce = true;
    collection.listHook = (r, res) => {
      if (!r.query.get('continue') || !expireOnce) return false;
      expireOnce = false;
      sendJson(res, 410, status(410, 'Expired', 'continue too old'));
      return true;
    };
    const { sink, reflector } = await setup({ pageSize: 2 }, collection);
    reflector.start();
    await waitFor(() => collection.watches.size === 1, WAIT);
    assert.deepEqual(sink.calls, [
      'begin:initial',
      'object:a',
      'object:b',
      'begin:initial',
      'object:a',
      'object:b',
      'object:c',
      `end:${collection.resourceVersion}`,
    ]);
    assert.equal(reflector.status().relists, 1);
  });

  it("reports 'forbidden' on 403 and keeps retrying with backoff", async () => {
    const collection = new FakeCollection(PATH);
    let allowed = false;
    collection.listHook = (_r, res) => {
      if (allowed) return false;
      sendJson(res, 403, status(403, 'Forbidden', 'configmaps is forbidden'));
      return true;
    };
    const { reflector, sink } = await setup({ backoff: { initialMs: 20, maxMs: 40, jitter: 0 }, forbiddenRetryMs: 50 }, collection);
    reflector.start();
    await waitFor(() => reflector.status().state === 'forbidden' && collection.lists.length >= 2, WAIT);
    assert.equal(reflector.status().lastError?.httpStatus, 403);
    assert.equal(sink.calls.length, 0);
    allowed = true;
    await waitFor(() => reflector.status().state === 'watching', WAIT);
    assert.deepEqual(sink.calls, ['begin:initial', `end:${collection.resourceVersion}`]);
  });

  it("a refused watch: forbidden with the server's message, ordinary backoff twice, then the slow schedule; access that returns resumes from the last RV", async () => {
    const forbiddenRetryMs = 300;
    const { reflector, sink, collection } = await setup({ forbiddenRetryMs });
    reflector.start();
    await waitFor(() => collection.watches.size === 1, WAIT);
    collection.add('before');
    await waitFor(() => sink.count('ADDED') === 1, WAIT);
    const lastRv = collection.resourceVersion;
    let refused = true;
    const refusedAt: number[] = [];
    collection.watchHook = (_r, res) => {
      if (!refused) return false;
      refusedAt.push(Date.now());
      sendJson(res, 403, status(403, 'Forbidden', 'configmaps is forbidden: User "agent" cannot watch resource "configmaps"'));
      return true;
    };
    collection.endWatches();
    await waitFor(() => refusedAt.length >= 4 && reflector.status().state === 'forbidden', WAIT);
    const s = reflector.status();
    assert.equal(s.state, 'forbidden');
    assert.equal(s.forbiddenReason, 'configmaps is forbidden: User "agent" cannot watch resource "configmaps"');
    assert.equal(s.lastError?.httpStatus, 403);
    assert.equal(s.failingSince, undefined, 'a refused kind is reported, not failing');
    assert.ok(s.nextAttemptAt! > Date.now());
    assert.ok(refusedAt[2]! - refusedAt[0]! < forbiddenRetryMs / 2, `first retries took ${refusedAt[2]! - refusedAt[0]!} ms`);
    assert.ok(refusedAt[3]! - refusedAt[2]! >= forbiddenRetryMs * 0.75, `slow retry after ${refusedAt[3]! - refusedAt[2]!} ms`);

    collection.add('while-refused');
    refused = false;
    await waitFor(() => sink.has(`ADDED:while-refused@${collection.resourceVersion}`), WAIT);
    const resumedWatch = collection.watchRequests.at(-1)!;
    assert.equal(resumedWatch.query.get('resourceVersion'), lastRv);
    assert.equal(collection.lists.length, 1, 'no relist when the RV is still good');
    assert.equal(reflector.status().state, 'watching');
    assert.equal(reflector.status().forbiddenReason, undefined);
  });

  it('a refused watch whose RV expired meanwhile relists once access returns', async () => {
    const { reflector, sink, collection } = await setup({ forbiddenRetryMs: 50 });
    reflector.start();
    await waitFor(() => collection.watches.size === 1, WAIT);
    let refused = true;
    collection.watchHook = (_r, res) => {
      if (!refused) return false;
      sendJson(res, 403, status(403, 'Forbidden', 'no'));
      return true;
    };
    collection.endWatches();
    await waitFor(() => reflector.status().state === 'forbidden', WAIT);
    collection.add('a');
    collection.compact();
    refused = false;
    await waitFor(() => sink.has('begin:expired') && reflector.status().state === 'watching', WAIT);
    assert.ok(sink.has('object:a'));
  });

  it('a kind that is gone (404) is not retried in a hot loop', async () => {
    const collection = new FakeCollection(PATH);
    collection.listHook = (_r, res) => {
      sendJson(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
      return true;
    };
    // Waits up to the fast backoff's cap pass at once; a longer one (the slow retry) never ends here, so
    // once the loop waits on it nothing can make another request: no need to watch for one for a while.
    let slowRetryWaits = 0;
    const sleep = (ms: number, signal: AbortSignal): Promise<void> => {
      if (ms <= FAST_BACKOFF.maxMs) return Promise.resolve();
      slowRetryWaits++;
      return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    };
    const { reflector } = await setup({ forbiddenRetryMs: 60_000, sleep }, collection);
    reflector.start();
    await waitFor(() => slowRetryWaits === 1, { ...WAIT, what: 'the slow retry' });
    assert.equal(collection.lists.length, 3);
    assert.equal(reflector.status().state, 'forbidden');
    assert.equal(reflector.status().forbiddenReason, 'the server could not find the requested resource');
  });

  it('keeps stateSince per state and failingSince from the first failure until progress', async () => {
    let now = 1_000_000;
    const { reflector, sink, collection } = await setup({ clock: () => now });
    let failures = 2;
    collection.watchHook = (_r, res) => {
      if (failures === 0) return false;
      failures--;
      now += 1000;
      sendJson(res, 500, status(500, 'InternalError'));
      return true;
    };
    reflector.start();
    await waitFor(() => collection.watches.size === 1, WAIT);
    const watching = reflector.status();
    assert.equal(watching.state, 'watching');
    assert.equal(watching.failingSince, 1_001_000, 'the first failure, not the last');
    assert.equal(watching.stateSince, now);
    now += 5000;
    collection.add('x');
    await waitFor(() => sink.count('ADDED') === 1, WAIT);
    assert.equal(reflector.status().failingSince, undefined);
    assert.equal(reflector.status().lastProgressAt, now);
    assert.equal(reflector.status().stateSince, watching.stateSince, 're-entering a state does not restart it');
  });

  it("is 'queued' while the list budget has no slot for it", async () => {
    let grant: (release: () => void) => void = () => undefined;
    const listSemaphore = { acquire: () => new Promise<() => void>((resolve) => (grant = resolve)) };
    const { reflector, collection } = await setup({ listSemaphore });
    reflector.start();
    await waitFor(() => reflector.status().state === 'queued', WAIT);
    assert.equal(collection.lists.length, 0);
    grant(() => undefined);
    await waitFor(() => reflector.status().state === 'watching', WAIT);
  });

  it('honours Retry-After on 429', async () => {
    const collection = new FakeCollection(PATH);
    const at: number[] = [];
    collection.listHook = (_r, res) => {
      at.push(Date.now());
      if (at.length > 1) return false;
      sendJson(res, 429, status(429, 'TooManyRequests'), { 'retry-after': '1' });
      return true;
    };
    const { reflector } = await setup({}, collection);
    reflector.start();
    await waitFor(() => reflector.status().state === 'watching', WAIT);
    assert.equal(at.length, 2);
    // The backoff alone would wait 5 ms; the server asked for a second.
    assert.ok(at[1]! - at[0]! >= 990, `retried after ${at[1]! - at[0]!} ms`);
    assert.equal(reflector.status().lastError?.httpStatus, 429);
  });

  it('restarts a stalled watch (nothing delivered within stallTimeoutMs)', async () => {
    const { reflector, collection } = await setup({ stallTimeoutMs: 100 });
    reflector.start();
    await waitFor(() => collection.watchRequests.length >= 2, WAIT);
    const s = reflector.status();
    assert.ok(s.watchRestarts >= 1);
    assert.equal(s.lastError?.code, 'KUBE_TIMEOUT');
    assert.equal(s.relists, 1);
  });

  it('restartFrom(rv) re-watches from that RV; restartFrom(undefined) relists', async () => {
    const { reflector, collection, sink } = await setup();
    collection.add('a');
    const rv = collection.resourceVersion;
    reflector.start();
    await waitFor(() => collection.watches.size === 1, WAIT);
    reflector.restartFrom(rv);
    await waitFor(() => collection.watchRequests.length === 2 && collection.watches.size === 1, WAIT);
    assert.equal(collection.watchRequests[1]!.query.get('resourceVersion'), rv);
    reflector.restartFrom(undefined);
    await waitFor(() => sink.has('begin:error') && collection.watches.size === 1 && collection.watchRequests.length === 3, WAIT);
    assert.equal(collection.lists.length, 2);
  });

  it('takes a slot from the list semaphore for each list and returns it', async () => {
    let held = 0;
    let acquired = 0;
    const listSemaphore = {
      acquire: async () => {
        held++;
        acquired++;
        return () => {
          held--;
        };
      },
    };
    const { reflector, collection } = await setup({ listSemaphore });
    reflector.start();
    await waitFor(() => collection.watches.size === 1, WAIT);
    assert.equal(acquired, 1);
    assert.equal(held, 0);
  });

  it('stop() aborts the watch and resolves once the loop has exited', async () => {
    const { reflector, collection } = await setup();
    reflector.start();
    await waitFor(() => collection.watches.size === 1, WAIT);
    await reflector.stop();
    assert.equal(reflector.status().state, 'stopped');
    await waitFor(() => collection.watches.size === 0, WAIT);
  });

  it('stop() during backoff returns promptly', async () => {
    const collection = new FakeCollection(PATH);
    collection.listHook = (_r, res) => {
      sendJson(res, 503, status(503, 'ServiceUnavailable'));
      return true;
    };
    const { reflector } = await setup({ backoff: { initialMs: 60_000, maxMs: 60_000, jitter: 0 } }, collection);
    reflector.start();
    await waitFor(() => reflector.status().state === 'backoff', WAIT);
    await reflector.stop();
    assert.equal(reflector.status().state, 'stopped');
  });

  it('slims Secrets before the sink sees them', async () => {
    const collection = new FakeCollection('/api/v1/namespaces/default/secrets', 'Secret');
    collection.add('s', { password: 'aHVudGVyMg==' });
    const { reflector, sink } = await setup(
      { transform: slimObject, resource: { ...CONFIGMAPS, kind: 'Secret', resource: 'secrets', singularName: 'secret', shortNames: [] } },
      collection,
    );
    reflector.start();
    await waitFor(() => collection.watches.size === 1, WAIT);
    collection.modify('s', { password: 'c2VjcmV0' });
    await waitFor(() => sink.count('MODIFIED') === 1, WAIT);
    assert.equal(sink.objects.length, 2);
    // The list's item was slimmed from the page's bytes, and so was the watch event's object.
    for (const obj of sink.objects) {
      assert.ok(obj instanceof SlimItem);
      assert.equal(obj.data, undefined);
      assert.doesNotMatch(JSON.stringify(obj), /aHVudGVyMg|c2VjcmV0/);
    }
  });
});
