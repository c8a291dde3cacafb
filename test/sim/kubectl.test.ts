// The real kubectl (v1.34, from scripts/kubectl.mjs) against the sim: api-resources, get (tables, JSON,
// -A, -w), client-side and server-side apply, scale, rollout status, delete (by name, -f, --wait) and a
// CustomResourceDefinition with objects of its kind. Every test checks kubectl's exit code and output and
// cross-checks the sim's state in-process.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ensureKubectl, kubectlVersion } from '../../scripts/kubectl.mjs';
import { waitFor } from '../../src/common/time.ts';
import type { KubeObject } from '../../src/common/kube-object.ts';
import { startSim, type SimServer } from '../../src/sim/sim-server.ts';
import type { SimCluster } from '../../src/sim/sim-cluster.ts';
import { gadgetDefinition } from '../support/gadget-definition.ts';
import { KubectlRunner, type KubectlRun } from '../support/kubectl-runner.ts';

const CLUSTER = 'kubectl';
/** Upper bound on one kubectl command; they take well under a second against the sim. */
const WAIT = { timeoutMs: 15_000 };
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

let kubectlPath: string;
let runner: KubectlRunner;
let sim: SimServer;
let cluster: SimCluster;
let dir: string;
let kubeconfig: string;
let manifests = 0;

/** Runs kubectl to completion; never rejects on a non-zero exit (tests assert on the code). */
function kubectl(...args: string[]): Promise<KubectlRun> {
  return runner.run(...args);
}

/** Runs kubectl and asserts it succeeded; returns stdout. */
function ok(...args: string[]): Promise<string> {
  return runner.ok(...args);
}

/** Writes objects as a multi-document YAML manifest; returns its path. */
async function manifest(...objects: KubeObject[]): Promise<string> {
  const path = join(dir, `manifest-${++manifests}.yaml`);
  // YAML 1.1, as kubectl reads it: strings like "yes" and "off" get quoted instead of turning into booleans.
  await writeFile(path, objects.map((o) => stringify(o, { version: '1.1' })).join('---\n'));
  return path;
}

function namespace(name: string): void {
  cluster.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

/** The rows of kubectl's table output, cells split where kubectl pads (two spaces or more; empty cells vanish). */
function rows(stdout: string): string[][] {
  return stdout
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.trim().split(/\s{2,}/));
}

function configMap(name: string, ns: string, data: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data };
}

function deployment(name: string, ns: string, image: string, replicas: number): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image, ports: [{ containerPort: 8080 }] }] } },
    },
  };
}

/** A spawned `kubectl ... -w` whose stdout can be waited on. */
class Watcher {
  stdout = '';
  stderr = '';
  private readonly exited: Promise<number | null>;

  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Waits until stdout has a line matching `pattern`. */
  line(pattern: RegExp): Promise<string> {
    return waitFor(() => this.stdout.split('\n').find((l) => pattern.test(l)), {
      ...WAIT,
      intervalMs: 10,
      what: `a line matching ${pattern} in:\n${this.stdout}\n${this.stderr}`,
    });
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    await this.exited;
  }
}

function watch(...args: string[]): Watcher {
  return new Watcher(runner.spawn(...args));
}

before(async () => {
  kubectlPath = await ensureKubectl();
  dir = await mkdtemp(join(tmpdir(), 'scale-agent-kubectl-test-'));
  sim = await startSim({ port: 0, host: '127.0.0.1', clusters: [CLUSTER], podStartDelayMs: 50, podTerminationCapMs: 100 });
  cluster = sim.cluster(CLUSTER);
  [kubeconfig] = (await sim.writeKubeconfigs(join(dir, 'kubeconfigs'))) as [string];
  runner = new KubectlRunner(kubectlPath, kubeconfig, dir);
});

after(async () => {
  await sim?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('kubectl against the sim', () => {
  test('the kubectl under test is v1.34 and reaches the sim', async () => {
    assert.match(await kubectlVersion(kubectlPath), /^v1\.34\./);
    const version = JSON.parse(await ok('version', '-o', 'json'));
    assert.match(version.serverVersion.gitVersion, /^v1\.\d+\.\d+$/);
    assert.equal(await ok('config', 'current-context'), `${CLUSTER}\n`);
  });

  test('api-resources lists the built-in kinds with their short names, and CRD kinds', async () => {
    cluster.create(gadgetDefinition(['v1alpha1']));
    // A fresh cache makes kubectl discover; at -v=8 it logs each response's headers. kubectl 1.34 asks
    // for aggregated discovery first: the table below is read from the sim's APIGroupDiscoveryList.
    const verbose = await runner.run('api-resources', '-v=8', '--cache-dir', join(dir, 'aggregated-discovery-cache'));
    assert.equal(verbose.code, 0, verbose.stderr);
    assert.match(verbose.stderr, /Content-Type: application\/json;g=apidiscovery\.k8s\.io;v=v2;as=APIGroupDiscoveryList/);
    // kubectl logs each request as `"Request" verb="GET" url="https://…/apis?timeout=32s"`: /apis was
    // asked, no group version was.
    assert.match(verbose.stderr, /verb="GET" url="https:\/\/\S+\/apis\?/);
    assert.doesNotMatch(verbose.stderr, /url="https:\/\/\S+\/apis\/apps\/v1[?"]/);
    const table = rows(await ok('api-resources'));
    assert.deepEqual(table[0], ['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND']);
    const byName = new Map(table.slice(1).map((r) => [r[0], r]));
    assert.deepEqual(byName.get('deployments'), ['deployments', 'deploy', 'apps/v1', 'true', 'Deployment']);
    assert.deepEqual(byName.get('configmaps'), ['configmaps', 'cm', 'v1', 'true', 'ConfigMap']);
    assert.deepEqual(byName.get('namespaces'), ['namespaces', 'ns', 'v1', 'false', 'Namespace']);
    assert.deepEqual(byName.get('customresourcedefinitions'), [
      'customresourcedefinitions',
      'crd,crds',
      'apiextensions.k8s.io/v1',
      'false',
      'CustomResourceDefinition',
    ]);
    assert.deepEqual(byName.get('gadgets'), ['gadgets', 'gd', 'discovery.example.com/v1alpha1', 'false', 'Gadget']);

    const names = (await ok('api-resources', '--api-group=apps', '-o', 'name')).trim().split('\n').sort();
    assert.deepEqual(names, ['controllerrevisions.apps', 'daemonsets.apps', 'deployments.apps', 'replicasets.apps', 'statefulsets.apps']);
    const namespaced = (await ok('api-resources', '--namespaced=false', '-o', 'name')).split('\n');
    assert.ok(namespaced.includes('nodes') && namespaced.includes('gadgets.discovery.example.com') && !namespaced.includes('pods'));
  });

  test('get prints server-side tables, JSON, single objects and all namespaces', async () => {
    namespace('get-a');
    namespace('get-b');
    cluster.create(configMap('settings', 'get-a', { a: '1', b: '2' }));
    cluster.create(configMap('other', 'get-a', {}));
    cluster.create(configMap('settings', 'get-b', { c: '3' }));
    cluster.create(deployment('api', 'get-b', 'api:1', 2));
    await waitFor(() => (cluster.get('apps/v1', 'Deployment', 'get-b', 'api')?.status as any)?.readyReplicas === 2, {
      ...WAIT,
      what: 'deployment get-b/api ready',
    });

    const table = rows(await ok('get', 'configmaps', '-n', 'get-a'));
    assert.deepEqual(table[0], ['NAME', 'DATA', 'AGE']);
    assert.deepEqual(
      table.slice(1).map((r) => r.slice(0, 2)),
      [
        ['other', '0'],
        ['settings', '2'],
      ],
    );
    assert.match(table[1]![2]!, /^\d+s$/);

    const list = JSON.parse(await ok('get', 'configmaps', '-n', 'get-a', '-o', 'json'));
    assert.equal(list.kind, 'List');
    assert.deepEqual(
      list.items.map((i: KubeObject) => i.metadata?.name),
      ['other', 'settings'],
    );
    assert.deepEqual(list.items[1].data, { a: '1', b: '2' });
    assert.equal(list.items[1].metadata.uid, cluster.get('v1', 'ConfigMap', 'get-a', 'settings')!.metadata!.uid);

    const all = rows(await ok('get', 'configmaps', '-A', '--field-selector', 'metadata.name=settings'));
    assert.deepEqual(all, [
      ['NAMESPACE', 'NAME', 'DATA', 'AGE'],
      ['get-a', 'settings', '2', all[1]![3]!],
      ['get-b', 'settings', '1', all[2]![3]!],
    ]);

    const deployments = rows(await ok('get', 'deployments', '-A', '-o', 'wide'));
    assert.deepEqual(deployments[0], ['NAMESPACE', 'NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE', 'CONTAINERS', 'IMAGES', 'SELECTOR']);
    const api = deployments.find((r) => r[1] === 'api')!;
    assert.deepEqual([api[0], api[2], api[3], api[4], api[6], api[7], api[8]], ['get-b', '2/2', '2', '2', 'main', 'api:1', 'app=api']);

    const pods = rows(await ok('get', 'pods', '-n', 'get-b', '-l', 'app=api'));
    assert.deepEqual(pods[0], ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
    assert.equal(pods.length, 3);
    for (const pod of pods.slice(1)) assert.deepEqual(pod.slice(1, 4), ['1/1', 'Running', '0']);

    const one = JSON.parse(await ok('get', 'configmap', 'settings', '-n', 'get-b', '-o', 'json'));
    assert.equal(one.kind, 'ConfigMap');
    assert.deepEqual(one.data, { c: '3' });
    assert.equal(await ok('get', 'cm', 'settings', '-n', 'get-a', '-o', 'jsonpath={.data.b}'), '2');
    assert.deepEqual(
      rows(await ok('get', 'namespace', 'get-a')).map((r) => r.slice(0, 2)),
      [
        ['NAME', 'STATUS'],
        ['get-a', 'Active'],
      ],
    );

    const missing = await kubectl('get', 'configmap', 'nope', '-n', 'get-a');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Error from server \(NotFound\): configmaps "nope" not found/);
    const empty = await kubectl('get', 'secrets', '-n', 'get-a');
    assert.equal(empty.code, 0);
    assert.match(empty.stderr, /No resources found in get-a namespace/);
  });

  test('get -w prints objects as they are created, changed and deleted', async () => {
    namespace('watch');
    cluster.create(configMap('before', 'watch', { k: 'v' }));
    const watcher = watch('get', 'configmaps', '-n', 'watch', '-w', '--output-watch-events');
    try {
      // The initial list, then the watch from its resourceVersion: every later change shows up.
      await watcher.line(/^ADDED\s+before\s+1\s+/);
      cluster.create(configMap('during', 'watch', { a: '1', b: '2' }));
      await watcher.line(/^ADDED\s+during\s+2\s+/);
      cluster.patch('v1', 'ConfigMap', 'watch', 'during', { data: { c: '3' } });
      await watcher.line(/^MODIFIED\s+during\s+3\s+/);
      cluster.delete('v1', 'ConfigMap', 'watch', 'before');
      await watcher.line(/^DELETED\s+before\s+1\s+/);
      assert.equal(watcher.stdout.split('\n')[0]!.split(/\s+/).join(' '), 'EVENT NAME DATA AGE');
      assert.equal(watcher.stdout.match(/^EVENT/gm)?.length, 1, 'the header is printed once');
    } finally {
      await watcher.stop();
    }

    const json = watch('get', 'configmap', 'during', '-n', 'watch', '-w', '-o', 'json');
    try {
      await waitFor(() => json.stdout.includes('"name": "during"'), { ...WAIT, what: 'the object as JSON' });
      cluster.patch('v1', 'ConfigMap', 'watch', 'during', { data: { d: '4' } });
      await waitFor(() => json.stdout.includes('"d": "4"'), { ...WAIT, what: 'the change as JSON' });
    } finally {
      await json.stop();
    }
  });

  test('apply (client-side) creates, updates with a three-way merge and keeps last-applied-configuration', async () => {
    namespace('csa');
    const v1 = await manifest(configMap('app-config', 'csa', { mode: 'blue', legacy: 'yes' }), deployment('web', 'csa', 'web:1', 1));
    assert.deepEqual((await ok('apply', '-f', v1)).trim().split('\n'), ['configmap/app-config created', 'deployment.apps/web created']);
    let cm = cluster.get('v1', 'ConfigMap', 'csa', 'app-config')!;
    assert.deepEqual(cm.data, { mode: 'blue', legacy: 'yes' });
    assert.deepEqual(JSON.parse(cm.metadata!.annotations![LAST_APPLIED]!).data, { mode: 'blue', legacy: 'yes' });

    assert.deepEqual((await ok('apply', '-f', v1)).trim().split('\n'), ['configmap/app-config unchanged', 'deployment.apps/web unchanged']);

    // A key set by someone else survives; a key removed from the manifest is removed from the object.
    cluster.patch('v1', 'ConfigMap', 'csa', 'app-config', { data: { external: 'kept' } });
    const v2 = await manifest(configMap('app-config', 'csa', { mode: 'green' }), deployment('web', 'csa', 'web:2', 1));
    assert.deepEqual((await ok('apply', '-f', v2)).trim().split('\n'), ['configmap/app-config configured', 'deployment.apps/web configured']);
    cm = cluster.get('v1', 'ConfigMap', 'csa', 'app-config')!;
    assert.deepEqual(cm.data, { mode: 'green', external: 'kept' });
    assert.deepEqual(JSON.parse(cm.metadata!.annotations![LAST_APPLIED]!).data, { mode: 'green' });

    // The strategic merge patch changed the container in place (merge key: name) and kept server defaults.
    const web = cluster.get('apps/v1', 'Deployment', 'csa', 'web')!;
    const containers = (web.spec as any).template.spec.containers;
    assert.equal(containers.length, 1);
    assert.equal(containers[0].image, 'web:2');
    assert.deepEqual(containers[0].ports, [{ containerPort: 8080, protocol: 'TCP' }]);
    assert.equal(web.metadata!.generation, 2);
    assert.match(web.metadata!.annotations![LAST_APPLIED]!, /"image":"web:2"/);
    await ok('rollout', 'status', 'deployment/web', '-n', 'csa', '--timeout=60s');

    const lastApplied = JSON.parse(await ok('apply', 'view-last-applied', 'configmap/app-config', '-n', 'csa', '-o', 'json'));
    assert.deepEqual(lastApplied.data, { mode: 'green' });
  });

  test('apply --server-side creates and updates with a field manager', async () => {
    namespace('ssa');
    const v1 = await manifest(configMap('flags', 'ssa', { feature: 'off' }));
    assert.equal(await ok('apply', '--server-side', '--field-manager=ci', '-f', v1), 'configmap/flags serverside-applied\n');
    let cm = cluster.get('v1', 'ConfigMap', 'ssa', 'flags')!;
    assert.deepEqual(cm.data, { feature: 'off' });
    const managers = (cm.metadata!.managedFields as any[]).map((m) => [m.manager, m.operation]);
    assert.deepEqual(managers, [['ci', 'Apply']]);
    assert.equal(cm.metadata!.annotations?.[LAST_APPLIED], undefined, 'server-side apply does not write last-applied');

    const v2 = await manifest(configMap('flags', 'ssa', { feature: 'on', extra: 'x' }));
    assert.equal(await ok('apply', '--server-side', '--field-manager=ci', '-f', v2), 'configmap/flags serverside-applied\n');
    cm = cluster.get('v1', 'ConfigMap', 'ssa', 'flags')!;
    assert.deepEqual(cm.data, { feature: 'on', extra: 'x' });
    const entry = (cm.metadata!.managedFields as any[]).find((m) => m.manager === 'ci');
    assert.deepEqual(Object.keys(entry.fieldsV1['f:data']).sort(), ['.', 'f:extra', 'f:feature']);

    const dryRun = await manifest(configMap('flags', 'ssa', { feature: 'dry' }));
    assert.equal(
      await ok('apply', '--server-side', '--field-manager=ci', '--dry-run=server', '-f', dryRun),
      'configmap/flags serverside-applied (server dry run)\n',
    );
    assert.equal((cluster.get('v1', 'ConfigMap', 'ssa', 'flags')!.data as any).feature, 'on');
  });

  test('apply --server-side: conflicts between managers, --force-conflicts, and fields an applier drops', async () => {
    namespace('ssa-owners');
    const apply = async (manager: string, data: Record<string, string>, ...flags: string[]) =>
      kubectl('apply', '--server-side', `--field-manager=${manager}`, ...flags, '-f', await manifest(configMap('shared', 'ssa-owners', data)));
    const data = () => cluster.get('v1', 'ConfigMap', 'ssa-owners', 'shared')!.data;
    const owners = () =>
      Object.fromEntries(
        (cluster.get('v1', 'ConfigMap', 'ssa-owners', 'shared')!.metadata!.managedFields as any[]).map((m) => [
          m.manager,
          Object.keys(m.fieldsV1['f:data'] ?? {})
            .filter((k) => k !== '.')
            .sort(),
        ]),
      );

    assert.equal((await apply('ci', { feature: 'on', extra: 'x' })).code, 0);
    const conflict = await apply('ops', { feature: 'off' });
    assert.equal(conflict.code, 1);
    assert.match(conflict.stderr, /Apply failed with 1 conflict: conflict with "ci": \.data\.feature/);
    assert.match(conflict.stderr, /--force-conflicts/, 'kubectl explains how to resolve it');
    assert.deepEqual(data(), { feature: 'on', extra: 'x' });

    // The same value is no conflict: both managers own the field.
    assert.equal((await apply('ops', { feature: 'on' })).code, 0);
    assert.deepEqual(owners(), { ci: ['f:extra', 'f:feature'], ops: ['f:feature'] });

    // Forcing takes the field over.
    const forced = await apply('ops', { feature: 'forced' }, '--force-conflicts');
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(data(), { feature: 'forced', extra: 'x' });
    assert.deepEqual(owners(), { ci: ['f:extra'], ops: ['f:feature'] });

    // A field its only owner stops applying is removed; one still owned by another manager stays.
    assert.equal((await apply('ci', { feature: 'forced' })).code, 0);
    assert.deepEqual(data(), { feature: 'forced' });
    assert.deepEqual(owners(), { ci: ['f:feature'], ops: ['f:feature'] });
    assert.equal((await apply('ops', {})).code, 0);
    assert.deepEqual(data(), { feature: 'forced' }, 'ci still owns feature');
  });

  test('scale and rollout status: the controllers bring the Deployment to its new size', async () => {
    namespace('rollout');
    const path = await manifest(deployment('web', 'rollout', 'web:1', 1));
    assert.equal(await ok('apply', '-f', path), 'deployment.apps/web created\n');
    assert.equal(await ok('scale', 'deployment', 'web', '-n', 'rollout', '--replicas=3'), 'deployment.apps/web scaled\n');
    assert.equal((cluster.get('apps/v1', 'Deployment', 'rollout', 'web')!.spec as any).replicas, 3);

    const status = await ok('rollout', 'status', 'deployment/web', '-n', 'rollout', '--timeout=60s');
    assert.match(status, /deployment "web" successfully rolled out\n$/);
    const web = cluster.get('apps/v1', 'Deployment', 'rollout', 'web')!;
    const s = web.status as any;
    assert.equal(s.observedGeneration, web.metadata!.generation);
    assert.deepEqual([s.replicas, s.updatedReplicas, s.readyReplicas, s.availableReplicas], [3, 3, 3, 3]);
    const pods = cluster.list('v1', 'Pod', 'rollout');
    assert.equal(pods.length, 3);
    assert.ok(pods.every((p) => (p.status as any).phase === 'Running'));
    assert.deepEqual(rows(await ok('get', 'deployment', 'web', '-n', 'rollout'))[1]!.slice(0, 4), ['web', '3/3', '3', '3']);

    // A new template rolls out through a new ReplicaSet.
    assert.equal(await ok('set', 'image', 'deployment/web', '-n', 'rollout', 'main=web:2'), 'deployment.apps/web image updated\n');
    assert.match(await ok('rollout', 'status', 'deployment/web', '-n', 'rollout', '--timeout=60s'), /deployment "web" successfully rolled out\n$/);
    const images = cluster
      .list('v1', 'Pod', 'rollout')
      .filter((p) => p.metadata!.deletionTimestamp === undefined)
      .map((p) => (p.spec as any).containers[0].image);
    assert.deepEqual(images, ['web:2', 'web:2', 'web:2']);
    const history = await ok('rollout', 'history', 'deployment/web', '-n', 'rollout');
    assert.match(history, /^REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n/m);

    assert.equal(await ok('scale', 'deployment/web', '-n', 'rollout', '--replicas=0'), 'deployment.apps/web scaled\n');
    await ok('rollout', 'status', 'deployment/web', '-n', 'rollout', '--timeout=60s');
    await waitFor(() => cluster.list('v1', 'Pod', 'rollout').length === 0, { ...WAIT, what: 'pods scaled away' });
  });

  test('delete by name, by manifest, and --wait for graceful pod termination and garbage collection', async () => {
    namespace('del');
    cluster.create(configMap('doomed', 'del', {}));
    assert.equal(await ok('delete', 'configmap', 'doomed', '-n', 'del'), 'configmap "doomed" deleted from del namespace\n');
    assert.equal(cluster.get('v1', 'ConfigMap', 'del', 'doomed'), undefined);

    const missing = await kubectl('delete', 'configmap', 'doomed', '-n', 'del');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Error from server \(NotFound\): configmaps "doomed" not found/);
    assert.equal((await kubectl('delete', 'configmap', 'doomed', '-n', 'del', '--ignore-not-found')).code, 0);

    const path = await manifest(deployment('app', 'del', 'app:1', 2), configMap('app-config', 'del', { a: 'b' }));
    await ok('apply', '-f', path);
    await ok('rollout', 'status', 'deployment/app', '-n', 'del', '--timeout=60s');
    const pod = cluster.list('v1', 'Pod', 'del')[0]!.metadata!.name!;

    // A pod goes through graceful termination: --wait returns once it is really gone.
    assert.equal(await ok('delete', 'pod', pod, '-n', 'del', '--wait'), `pod "${pod}" deleted from del namespace\n`);
    assert.equal(cluster.get('v1', 'Pod', 'del', pod), undefined);

    assert.deepEqual((await ok('delete', '-f', path, '--wait')).trim().split('\n'), [
      'deployment.apps "app" deleted from del namespace',
      'configmap "app-config" deleted from del namespace',
    ]);
    assert.equal(cluster.get('apps/v1', 'Deployment', 'del', 'app'), undefined);
    assert.equal(cluster.get('v1', 'ConfigMap', 'del', 'app-config'), undefined);
    await waitFor(() => cluster.list('apps/v1', 'ReplicaSet', 'del').length === 0 && cluster.list('v1', 'Pod', 'del').length === 0, {
      ...WAIT,
      what: 'garbage collection of the ReplicaSet and pods',
    });

    cluster.create(configMap('one', 'del', {}));
    cluster.create({ ...configMap('two', 'del', {}), metadata: { name: 'two', namespace: 'del', labels: { sweep: 'yes' } } });
    cluster.create({ ...configMap('three', 'del', {}), metadata: { name: 'three', namespace: 'del', labels: { sweep: 'yes' } } });
    assert.deepEqual((await ok('delete', 'configmaps', '-n', 'del', '-l', 'sweep=yes')).trim().split('\n').sort(), [
      'configmap "three" deleted from del namespace',
      'configmap "two" deleted from del namespace',
    ]);
    assert.deepEqual(
      cluster.list('v1', 'ConfigMap', 'del').map((c) => c.metadata!.name),
      ['one'],
    );

    namespace('del-ns');
    cluster.create(configMap('inside', 'del-ns', {}));
    assert.equal(await ok('delete', 'namespace', 'del-ns', '--wait'), 'namespace "del-ns" deleted\n');
    assert.equal(cluster.get('v1', 'Namespace', '', 'del-ns'), undefined);
    assert.equal(cluster.get('v1', 'ConfigMap', 'del-ns', 'inside'), undefined);
  });

  test('a CustomResourceDefinition applied with kubectl serves its kind: apply, get (printer columns), delete', async () => {
    namespace('crd');
    const crd = await manifest({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', shortNames: ['wd'] },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: { spec: { type: 'object', properties: { size: { type: 'integer' }, color: { type: 'string' } } } },
              },
            },
            additionalPrinterColumns: [
              { name: 'Size', type: 'integer', jsonPath: '.spec.size' },
              { name: 'Color', type: 'string', jsonPath: '.spec.color', priority: 1 },
              { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
            ],
          },
        ],
      },
    });
    assert.equal(await ok('apply', '-f', crd), 'customresourcedefinition.apiextensions.k8s.io/widgets.example.com created\n');
    assert.deepEqual(rows(await ok('get', 'crd', 'widgets.example.com'))[0], ['NAME', 'CREATED AT']);

    const widget = (size: number): KubeObject => ({
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w1', namespace: 'crd' },
      spec: { size, color: 'red' },
    });
    assert.equal(await ok('apply', '-f', await manifest(widget(3))), 'widget.example.com/w1 created\n');
    assert.deepEqual(cluster.get('example.com/v1', 'Widget', 'crd', 'w1')!.spec as any, { size: 3, color: 'red' });
    assert.equal(await ok('apply', '-f', await manifest(widget(5))), 'widget.example.com/w1 configured\n');
    const stored = cluster.get('example.com/v1', 'Widget', 'crd', 'w1')!;
    assert.deepEqual(stored.spec, { size: 5, color: 'red' });
    assert.equal(stored.metadata!.generation, 2);
    assert.ok(stored.metadata!.annotations![LAST_APPLIED]);

    const table = rows(await ok('get', 'widgets', '-n', 'crd'));
    assert.deepEqual(table[0], ['NAME', 'SIZE', 'AGE']);
    assert.deepEqual(table[1]!.slice(0, 2), ['w1', '5']);
    assert.deepEqual(rows(await ok('get', 'wd', '-n', 'crd', '-o', 'wide'))[0], ['NAME', 'SIZE', 'COLOR', 'AGE']);
    const json = JSON.parse(await ok('get', 'widget', 'w1', '-n', 'crd', '-o', 'json'));
    assert.deepEqual(json.spec, { size: 5, color: 'red' });
    assert.equal(json.metadata.uid, stored.metadata!.uid);

    const serverSide = await manifest({ ...widget(7), spec: { size: 7 } });
    assert.equal(
      await ok('apply', '--server-side', '--field-manager=ops', '--force-conflicts', '-f', serverSide),
      'widget.example.com/w1 serverside-applied\n',
    );
    assert.equal((cluster.get('example.com/v1', 'Widget', 'crd', 'w1')!.spec as any).size, 7);

    assert.equal(await ok('delete', 'widget', 'w1', '-n', 'crd', '--wait'), 'widget.example.com "w1" deleted from crd namespace\n');
    assert.equal(cluster.get('example.com/v1', 'Widget', 'crd', 'w1'), undefined);
    assert.equal(await ok('delete', '-f', crd, '--wait'), 'customresourcedefinition.apiextensions.k8s.io "widgets.example.com" deleted\n');
    assert.equal(cluster.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', '', 'widgets.example.com'), undefined);
    assert.ok(!rows(await ok('api-resources')).some((r) => r[0] === 'widgets'), 'the kind is gone from discovery');
    const gone = await kubectl('get', 'widgets', '-n', 'crd');
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /widgets/);
  });
});

describe('kubectl rollout and logs against the sim', () => {
  /** Waits for `kubectl rollout status` to report success. */
  async function rolledOut(target: string, ns: string): Promise<string> {
    return ok('rollout', 'status', target, '-n', ns, '--timeout=60s');
  }

  function liveImages(ns: string, app: string): string[] {
    return cluster
      .list('v1', 'Pod', ns)
      .filter((p) => p.metadata!.labels?.app === app && p.metadata!.deletionTimestamp === undefined)
      .map((p) => (p.spec as any).containers[0].image)
      .sort();
  }

  test('rollout history, undo (to the previous and to a given revision), pause, resume and restart of a Deployment', async () => {
    namespace('ro');
    assert.equal(await ok('apply', '-f', await manifest(deployment('web', 'ro', 'web:1', 2))), 'deployment.apps/web created\n');
    await rolledOut('deployment/web', 'ro');
    await ok('annotate', 'deployment/web', '-n', 'ro', 'kubernetes.io/change-cause=to web:2');
    await ok('set', 'image', 'deployment/web', '-n', 'ro', 'main=web:2');
    await rolledOut('deployment/web', 'ro');
    assert.match(await ok('rollout', 'history', 'deployment/web', '-n', 'ro'), /^REVISION\s+CHANGE-CAUSE\n1\s+to web:2\n2\s+to web:2\n/m);
    assert.match(await ok('rollout', 'history', 'deployment/web', '-n', 'ro', '--revision=1'), /Image:\s+web:1/);

    // undo: back to revision 1's template, which becomes revision 3 (the old ReplicaSet is reused).
    assert.equal(await ok('rollout', 'undo', 'deployment/web', '-n', 'ro'), 'deployment.apps/web rolled back\n');
    await rolledOut('deployment/web', 'ro');
    await waitFor(() => JSON.stringify(liveImages('ro', 'web')) === JSON.stringify(['web:1', 'web:1']), { ...WAIT, what: 'pods back on web:1' });
    assert.equal(cluster.list('apps/v1', 'ReplicaSet', 'ro').length, 2);
    assert.match(await ok('rollout', 'history', 'deployment/web', '-n', 'ro'), /^REVISION\s+CHANGE-CAUSE\n2\s+.*\n3\s+.*\n/m);
    const undone = await kubectl('rollout', 'undo', 'deployment/web', '-n', 'ro', '--to-revision=1');
    assert.equal(undone.code, 1);
    assert.match(undone.stderr, /unable to find specified revision 1 in history/);
    assert.equal(await ok('rollout', 'undo', 'deployment/web', '-n', 'ro', '--to-revision=2'), 'deployment.apps/web rolled back\n');
    await rolledOut('deployment/web', 'ro');
    await waitFor(() => JSON.stringify(liveImages('ro', 'web')) === JSON.stringify(['web:2', 'web:2']), { ...WAIT, what: 'pods on web:2 again' });
    const web = cluster.get('apps/v1', 'Deployment', 'ro', 'web')!;
    assert.equal(web.metadata!.annotations!['deployment.kubernetes.io/revision'], '4');

    // pause: a new template waits; undo and restart refuse a paused Deployment; resume rolls it out.
    assert.equal(await ok('rollout', 'pause', 'deployment/web', '-n', 'ro'), 'deployment.apps/web paused\n');
    await ok('set', 'image', 'deployment/web', '-n', 'ro', 'main=web:3');
    await waitFor(
      () => {
        const d = cluster.get('apps/v1', 'Deployment', 'ro', 'web')!;
        return (d.status as any).observedGeneration === d.metadata!.generation;
      },
      { ...WAIT, what: 'the paused Deployment observed' },
    );
    assert.equal(cluster.list('apps/v1', 'ReplicaSet', 'ro').length, 2, 'no ReplicaSet for web:3 while paused');
    assert.deepEqual(liveImages('ro', 'web'), ['web:2', 'web:2']);
    const pausedUndo = await kubectl('rollout', 'undo', 'deployment/web', '-n', 'ro');
    assert.equal(pausedUndo.code, 1);
    assert.match(pausedUndo.stderr, /cannot rollback a paused deployment/);
    const pausedRestart = await kubectl('rollout', 'restart', 'deployment/web', '-n', 'ro');
    assert.equal(pausedRestart.code, 1);
    assert.match(pausedRestart.stderr, /can't restart paused deployment/);
    assert.equal(await ok('rollout', 'resume', 'deployment/web', '-n', 'ro'), 'deployment.apps/web resumed\n');
    await rolledOut('deployment/web', 'ro');
    await waitFor(() => JSON.stringify(liveImages('ro', 'web')) === JSON.stringify(['web:3', 'web:3']), { ...WAIT, what: 'pods on web:3 after resume' });

    // restart: same image, new pods, new revision.
    const before = cluster.list('v1', 'Pod', 'ro').map((p) => p.metadata!.name);
    assert.equal(await ok('rollout', 'restart', 'deployment/web', '-n', 'ro'), 'deployment.apps/web restarted\n');
    await rolledOut('deployment/web', 'ro');
    await waitFor(
      () => {
        const pods = cluster.list('v1', 'Pod', 'ro').filter((p) => p.metadata!.deletionTimestamp === undefined);
        return (
          pods.length === 2 &&
          pods.every((p) => !before.includes(p.metadata!.name!) && p.metadata!.annotations?.['kubectl.kubernetes.io/restartedAt'] !== undefined)
        );
      },
      { ...WAIT, what: 'restarted pods' },
    );
    assert.equal(cluster.get('apps/v1', 'Deployment', 'ro', 'web')!.metadata!.annotations!['deployment.kubernetes.io/revision'], '6');
  });

  test('rollout undo and restart of a StatefulSet through its ControllerRevisions', async () => {
    namespace('sts');
    const sts = (image: string): KubeObject => ({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: 'sts' },
      spec: {
        replicas: 2,
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image }] } },
      },
    });
    await ok('apply', '-f', await manifest(sts('db:1')));
    await rolledOut('statefulset/db', 'sts');
    await ok('set', 'image', 'statefulset/db', '-n', 'sts', 'db=db:2');
    await rolledOut('statefulset/db', 'sts');
    assert.match(await ok('rollout', 'history', 'statefulset/db', '-n', 'sts'), /^REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n/m);
    assert.equal(await ok('rollout', 'undo', 'statefulset/db', '-n', 'sts'), 'statefulset.apps/db rolled back\n');
    await rolledOut('statefulset/db', 'sts');
    await waitFor(
      () =>
        JSON.stringify(
          cluster
            .list('v1', 'Pod', 'sts')
            .filter((p) => p.metadata!.deletionTimestamp === undefined)
            .map((p) => (p.spec as any).containers[0].image),
        ) === JSON.stringify(['db:1', 'db:1']),
      { ...WAIT, what: 'db pods back on db:1' },
    );
    assert.match(await ok('rollout', 'history', 'statefulset/db', '-n', 'sts'), /^REVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>\n/m);
    assert.equal(await ok('rollout', 'restart', 'statefulset/db', '-n', 'sts'), 'statefulset.apps/db restarted\n');
    await rolledOut('statefulset/db', 'sts');
  });

  test('logs of a pod, a Deployment and a Job: container choice, --tail, --timestamps, -f, errors', async () => {
    namespace('logs');
    const job: KubeObject = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'pi', namespace: 'logs' },
      spec: {
        template: {
          metadata: { annotations: { 'sim.scale-agent.io/log': 'pi=3.14159' } },
          spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'perl:5.34', command: ['perl', '-wle', 'print 3.14159'] }] },
        },
      },
    };
    await ok('apply', '-f', await manifest(job, deployment('app', 'logs', 'app:1', 1)));
    await ok('wait', '--for=condition=complete', 'job/pi', '-n', 'logs', '--timeout=60s');
    const jobLog = await ok('logs', 'job/pi', '-n', 'logs');
    const podName = cluster.list('v1', 'Pod', 'logs').find((p) => p.metadata!.labels?.['job-name'] === 'pi')!.metadata!.name!;
    assert.equal(
      jobLog,
      [
        `[sim] starting container pi (image perl:5.34) in pod logs/${podName} on node sim-node-1`,
        '[sim] command: perl -wle print 3.14159',
        'pi=3.14159',
        '[sim] container pi terminated: Completed (exit code 0)',
        '[sim] job pi completed successfully',
        '',
      ].join('\n'),
    );
    assert.equal(await ok('logs', podName, '-n', 'logs', '-c', 'pi', '--tail=1'), '[sim] job pi completed successfully\n');
    assert.equal(await ok('logs', '-f', `pod/${podName}`, '-n', 'logs'), jobLog, 'following a finished container ends at once');
    assert.match(
      await ok('logs', podName, '-n', 'logs', '--timestamps', '--tail=1'),
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z \[sim\] job pi completed successfully\n$/,
    );

    await rolledOut('deployment/app', 'logs');
    assert.match(
      await ok('logs', 'deployment/app', '-n', 'logs'),
      /^\[sim\] starting container main \(image app:1\) in pod logs\/app-\w+-\w+ on node sim-node-1\n\[sim\] container main is running \(ports 8080\/TCP\)\n$/,
    );
    const wrong = await kubectl('logs', 'deployment/app', '-n', 'logs', '-c', 'nope');
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /container nope is not valid for pod app-/);
    const missing = await kubectl('logs', 'ghost', '-n', 'logs');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /pods "ghost" not found/);
  });
});
