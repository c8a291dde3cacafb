import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../src/common/kube-object.ts';
import { waitFor } from '../../src/common/time.ts';
import { resolveKind, type ApiResource } from '../../src/kube/api-resource.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { discoverResources, type DiscoveryResult } from '../../src/kube/discovery.ts';
import { Http2Transport } from '../../src/kube/http2-transport.ts';
import { loadKubeconfig } from '../../src/kube/kubeconfig.ts';
import { Reflector } from '../../src/kube/reflector.ts';
import type { ReflectorSink, SnapshotReason } from '../../src/kube/reflector-sink.ts';
import { slimObject } from '../../src/kube/slim.ts';
import { startSim, type SimServer } from '../../src/sim/index.ts';
import { gadgetDefinition } from '../support/gadget-definition.ts';

const WAIT = { timeoutMs: 10_000, intervalMs: 10 };

/** Keeps the feed's state by key, as the agent's sink would, to check what a reflector converges to. */
/** The object as the agent sends it: a SlimItem (slimmed from its bytes) holds its JSON, not its members. */
const asSent = (obj: KubeObject): KubeObject => JSON.parse(JSON.stringify(obj)) as KubeObject;

class StateSink implements ReflectorSink {
  readonly state = new Map<string, KubeObject>();
  private building: Map<string, KubeObject> | undefined;
  readonly snapshots: SnapshotReason[] = [];
  progress: string | undefined;
  onSnapshotBegin(reason: SnapshotReason): void {
    this.snapshots.push(reason);
    this.building = new Map();
  }
  onSnapshotObject(obj: KubeObject): void {
    this.building!.set(key(obj), asSent(obj));
  }
  onSnapshotEnd(): void {
    this.state.clear();
    for (const [k, v] of this.building!) this.state.set(k, v);
    this.building = undefined;
  }
  onEvent(type: string, obj: KubeObject): void {
    if (type === 'DELETED') this.state.delete(key(obj));
    else this.state.set(key(obj), asSent(obj));
  }
  onProgress(rv: string): void {
    this.progress = rv;
  }
}

const key = (obj: KubeObject) => `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name}`;

describe('kube client layer against the sim', () => {
  let sim: SimServer;
  let client: KubeClient;
  let discovery: DiscoveryResult;
  const reflectors: Reflector[] = [];

  before(async () => {
    sim = await startSim({ clusters: ['a'], tls: true, bookmarkIntervalMs: 100 });
    client = new KubeClient(await loadKubeconfig({ contents: sim.kubeconfig('a') }));
    discovery = await discoverResources(client);
  });
  after(async () => {
    await Promise.all(reflectors.map((r) => r.stop()));
    await client.close();
    await sim.close();
  });

  const reflect = (resource: ApiResource, sink: ReflectorSink) => {
    const reflector = new Reflector({ client, resource, namespace: '', sink, transform: slimObject, backoff: { initialMs: 10, maxMs: 50 } });
    reflectors.push(reflector);
    reflector.start();
    return reflector;
  };

  const create = (path: string, body: object) => client.json<KubeObject>({ method: 'POST', path, body });

  it('connects over HTTP/2 with the kubeconfig the sim writes, and discovers its resources', () => {
    assert.equal(client.protocol, 'h2');
    assert.match(client.caFingerprint(), /^[0-9a-f]{64}$/);
    assert.equal(client.host, sim.clusterUrl('a'));
    assert.match(discovery.serverVersion.gitVersion, /^v1\./);
    assert.deepEqual(discovery.failedGroups, []);
    for (const kind of ['Pod', 'ConfigMap', 'Secret', 'Namespace', 'Deployment', 'ReplicaSet']) assert.ok(resolveKind(discovery.resources, { kind }));
  });

  it('discovers the same resources through aggregated discovery as through the legacy documents, with CRD kinds', async () => {
    await create('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', gadgetDefinition(['v1', 'v1beta1']));
    let requests = 0;
    const counting = { json: <T>(req: Parameters<KubeClient['json']>[0]) => (requests++, client.json<T>(req)) };
    // Without the aggregated media types in Accept, the sim answers with the legacy documents, as an
    // API server before 1.26 does.
    const legacyOnly = { json: <T>(req: Parameters<KubeClient['json']>[0]) => client.json<T>({ ...req, accept: 'application/json' }) };
    const aggregated = await discoverResources(counting);
    const legacy = await discoverResources(legacyOnly);
    assert.equal(requests, 3);
    const shape = (r: ApiResource) =>
      JSON.stringify([r.group, r.version, r.resource, r.kind, r.namespaced, r.verbs, r.shortNames, r.singularName, r.preferred]);
    assert.deepEqual(aggregated.resources.map(shape).sort(), legacy.resources.map(shape).sort());
    assert.deepEqual(aggregated.failedGroups, []);
    const gadget = resolveKind(aggregated.resources, { kind: 'Gadget' });
    assert.deepEqual([gadget.version, gadget.namespaced, gadget.shortNames, gadget.preferred], ['v1', false, ['gd'], true]);
  });

  it('runs several reflectors over one HTTP/2 session, converging on the cluster state with Secrets slimmed', async () => {
    const configMaps = new StateSink();
    const secrets = new StateSink();
    const namespaces = new StateSink();
    const cm = reflect(resolveKind(discovery.resources, { kind: 'ConfigMap' }), configMaps);
    const sec = reflect(resolveKind(discovery.resources, { kind: 'Secret' }), secrets);
    const ns = reflect(resolveKind(discovery.resources, { kind: 'Namespace' }), namespaces);
    await waitFor(() => [cm, sec, ns].every((r) => r.status().state === 'watching'), WAIT);
    assert.ok(namespaces.state.has('/default'));

    await create('/api/v1/namespaces/default/configmaps', { metadata: { name: 'one' }, data: { a: '1' } });
    await create('/api/v1/namespaces/default/secrets', { metadata: { name: 'pw' }, data: { password: 'aHVudGVyMg==' } });
    await waitFor(() => configMaps.state.has('default/one') && secrets.state.has('default/pw'), WAIT);
    assert.equal(configMaps.state.get('default/one')!.data !== undefined, true);
    assert.doesNotMatch(JSON.stringify([...secrets.state.values()]), /aHVudGVyMg==/);
    await waitFor(() => configMaps.progress !== undefined, WAIT);

    const transport = client.currentTransport;
    assert.ok(transport instanceof Http2Transport);
    assert.equal(transport.sessionsOpened, 1);
  });

  it('re-watches after the server drops watches, and relists when resuming from a compacted RV', async () => {
    const sink = new StateSink();
    const r = reflect(resolveKind(discovery.resources, { kind: 'ConfigMap' }), sink);
    await waitFor(() => r.status().state === 'watching', WAIT);
    const cluster = sim.cluster('a');

    cluster.dropWatches();
    await create('/api/v1/namespaces/default/configmaps', { metadata: { name: 'after-drop' } });
    await waitFor(() => sink.state.has('default/after-drop'), WAIT);
    assert.equal(r.status().relists, 1);
    assert.deepEqual(sink.snapshots, ['initial']);

    const resumeFrom = r.status().resourceVersion!;
    await r.stop();
    await create('/api/v1/namespaces/default/configmaps', { metadata: { name: 'while-stopped' } });
    cluster.compact();
    const resumed = new StateSink();
    const again = new Reflector({
      client,
      resource: resolveKind(discovery.resources, { kind: 'ConfigMap' }),
      namespace: '',
      sink: resumed,
      resumeResourceVersion: resumeFrom,
    });
    reflectors.push(again);
    again.start();
    await waitFor(() => resumed.state.has('default/while-stopped') && again.status().state === 'watching', WAIT);
    assert.deepEqual(resumed.snapshots, ['resume-failed']);
    assert.ok(resumed.state.has('default/after-drop'));
  });
});
