// The apply oracle: every sequence of the apply corpus runs twice on one sim cluster, once through the
// hub's deployManifest (REST → hub → agent → sim) in one namespace and once with real kubectl 1.34
// (`kubectl apply`) in another, with the same edits by "another client" in between. After every step
// the objects must be the same in both namespaces: spec, data and metadata, ignoring what the server
// assigns (uid, resourceVersion, timestamps, generation, managedFields, allocated IPs and node ports)
// and the namespace names themselves. kubectl applies exactly the manifest the agent applied (read back
// from its last-applied annotation, so Spinnaker's labels and annotations are in both).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { ensureKubectl } from '../../scripts/kubectl.mjs';
import { waitFor } from '../../src/common/time.ts';
import { LAST_APPLIED_ANNOTATION } from '../../src/kube/apply/client-side-apply.ts';
import { APPLY_CORPUS, CRONTAB_CRD, type Json, type Sequence } from '../support/apply-corpus.ts';
import { KubectlRunner, liveObject, objectPaths } from '../support/kubectl-runner.ts';
import { PROPAGATION_TIMEOUT_MS, runOp } from '../support/operations.ts';
import { simRequest, TestSystem, type SimAccess } from '../support/system.ts';
import { metricSum } from '../support/prometheus-text.ts';

const ACCOUNT = 'cluster-1';
/** Controllers (a Deployment's revision annotation) may still be writing when both applies returned. */
const SETTLE_TIMEOUT_MS = 10_000;
/** Clouddriver versions ConfigMaps, Secrets and Pods (-v000); the oracle compares applies of one object. */
const UNVERSIONED = { 'strategy.spinnaker.io/versioned': 'false' };

let system: TestSystem;
let sim: SimAccess;
let kubectl: KubectlRunner;
let files = 0;

async function kubectlApply(object: Json): Promise<void> {
  const file = join(system.dir, `oracle-${++files}.json`);
  await writeFile(file, JSON.stringify(object));
  await kubectl.ok('apply', '-f', file);
}

function live(object: Json): Promise<Json | undefined> {
  return liveObject(sim, object);
}

/** Swaps one run's namespace for the other's wherever it occurs (names of cluster-scoped objects too). */
function renamed(value: Json, from: string, to: string): Json {
  return JSON.parse(JSON.stringify(value).replaceAll(from, to));
}

/** What must be equal: the object without what the server assigns, with the namespace replaced by NS. */
function comparable(object: Json, ns: string): Json {
  const copy = renamed(object, ns, 'NS');
  delete copy.status;
  for (const key of ['uid', 'resourceVersion', 'creationTimestamp', 'generation', 'managedFields', 'selfLink']) delete copy.metadata?.[key];
  if (copy.kind === 'Service') {
    delete copy.spec?.clusterIP;
    delete copy.spec?.clusterIPs;
    for (const port of copy.spec?.ports ?? []) delete port.nodePort;
  }
  return copy;
}

function deployDescription(manifests: Json[]): Json {
  return {
    cloudProvider: 'kubernetes',
    account: ACCOUNT,
    source: 'text',
    manifests,
    moniker: { app: 'oracle' },
    skipExpressionEvaluation: false,
    requiredArtifacts: [],
    optionalArtifacts: [],
  };
}

function unversioned(object: Json): Json {
  return { ...object, metadata: { ...object.metadata, annotations: { ...(object.metadata.annotations ?? {}), ...UNVERSIONED } } };
}

async function runSequence(sequence: Sequence, index: number): Promise<void> {
  const hubNs = `hub-${index}-ns`;
  const kubectlNs = `kubectl-${index}-ns`;
  for (const ns of [hubNs, kubectlNs]) {
    const created = await simRequest(sim, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
  }
  const touched = new Map<string, Json>();
  for (const [number, step] of sequence.steps.entries()) {
    const where = `step ${number + 1}`;
    if ('create' in step) {
      for (const ns of [hubNs, kubectlNs]) {
        const object = step.create(ns);
        const created = await simRequest(sim, 'POST', (await objectPaths(sim, object)).collection, object);
        assert.equal(created.status, 201, `${where}: ${JSON.stringify(created.body)}`);
        touched.set(`${object.kind}/${object.metadata.name}`, step.create(hubNs));
      }
    } else if ('edit' in step) {
      for (const ns of [hubNs, kubectlNs]) await kubectl.ok(...step.edit(ns));
    } else {
      const manifests = step.apply(hubNs).map(unversioned);
      await runOp(system, 'deployManifest', deployDescription(manifests));
      for (const manifest of manifests) {
        const applied = await live(manifest);
        assert.ok(applied, `${where}: ${manifest.kind} ${manifest.metadata.name} is not in the cluster after deployManifest`);
        const recorded = applied.metadata.annotations?.[LAST_APPLIED_ANNOTATION];
        assert.equal(typeof recorded, 'string', `${where}: ${manifest.kind} ${manifest.metadata.name} has no last-applied configuration`);
        await kubectlApply(renamed(JSON.parse(recorded), hubNs, kubectlNs));
        touched.set(`${manifest.kind}/${manifest.metadata.name}`, manifest);
      }
    }
    for (const [name, object] of touched) {
      let hubSide: Json;
      let kubectlSide: Json;
      const settled = await waitFor(
        async () => {
          hubSide = comparable(await live(object), hubNs);
          kubectlSide = comparable(await live(renamed(object, hubNs, kubectlNs)), kubectlNs);
          return isDeepStrictEqual(hubSide, kubectlSide);
        },
        { timeoutMs: SETTLE_TIMEOUT_MS, intervalMs: 50, what: `${name} to be the same in both namespaces` },
      ).catch(() => false);
      if (!settled) assert.deepEqual(hubSide, kubectlSide, `${where}: ${name} differs between deployManifest (actual) and kubectl apply (expected)`);
    }
  }
}

before(async () => {
  system = await new TestSystem({ clusters: 1 }).start();
  sim = system.sim(ACCOUNT);
  kubectl = new KubectlRunner(await ensureKubectl(), system.kubeconfig(ACCOUNT), system.dir);
  await kubectlApply(CRONTAB_CRD);
  // The hub learns the new kind through the agent's discovery: wait until it caches an object of it.
  const probe = { apiVersion: 'oracle.example.com/v1', kind: 'CronTab', metadata: { name: 'probe', namespace: 'default' }, spec: {} };
  assert.equal((await simRequest(sim, 'POST', '/apis/oracle.example.com/v1/namespaces/default/crontabs', probe)).status, 201);
  await waitFor(async () => (await system.rest(`/manifests/${ACCOUNT}/default/CronTab.oracle.example.com%20probe`)).status === 200, {
    timeoutMs: PROPAGATION_TIMEOUT_MS,
    what: 'the hub to serve CronTab',
  });
});

after(async () => {
  await system?.stop();
});

describe('deployManifest applies as kubectl apply does', { timeout: 600_000 }, () => {
  APPLY_CORPUS.forEach((sequence, index) => {
    test(sequence.name, () => runSequence(sequence, index));
  });

  test("the agent took its strategic merge patches' metadata from the cluster's OpenAPI", async () => {
    const text = (await system.agentAdmin('/metrics')).body as string;
    const metrics = text.split('\n').filter((l) => l.startsWith('scale_agent_client_side_apply_total{'));
    const count = (labels: string) => metricSum(text, 'scale_agent_client_side_apply_total', labels);
    assert.ok(count('action="strategic",patch_metadata="openapi"') > 0, metrics.join('\n'));
    assert.equal(count('patch_metadata="builtin"'), 0, metrics.join('\n'));
    assert.ok(count('action="merge"') > 0, 'custom resources get JSON merge patches');
  });
});
