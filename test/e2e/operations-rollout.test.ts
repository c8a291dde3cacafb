// Spinnaker's manifest operations end to end, part 2: undoRolloutManifest, pauseRolloutManifest,
// resumeRolloutManifest, rollingRestartManifest, enableManifest, disableManifest, runJob and
// cleanupArtifacts — REST → hub → agent → sim → task → cache, with Orca's field names (docs:
// ../shared/reference/clouddriver-kubernetes-api.md §2). Success paths check the task's result objects,
// the sim and the hub's cache; failure paths: invalid input, missing objects, forbidden kinds.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../src/common/time.ts';
import { simRequest, TestSystem } from '../support/system.ts';
import {
  assertNoResultObjects,
  createAtSim,
  createNamespace,
  deploymentManifest,
  failOp,
  hubManifest,
  live,
  PROPAGATION_TIMEOUT_MS,
  rolledOut,
  runOp,
  waitForHubManifest,
  waitForLive,
  withRevoked,
  type Json,
} from '../support/operations.ts';

const ACCOUNT = 'cluster-1';
const CLUSTER = 'cluster-1';
const NS = 'ops-rollout';
const REVISION = 'deployment.kubernetes.io/revision';
const STAGE_NOISE = { cloudProvider: 'kubernetes', type: 'op', name: 'Stage', refId: '1', requisiteStageRefIds: [], skipExpressionEvaluation: false };

const deploymentPath = (name: string, ns = NS) => `/apis/apps/v1/namespaces/${ns}/deployments/${name}`;

function target(manifestName: string, extra: Json = {}): Json {
  return { ...STAGE_NOISE, account: ACCOUNT, manifestName, location: NS, ...extra };
}

/** Creates a Deployment at the sim, waits for its rollout and for the hub to cache it. */
async function rolledOutDeployment(system: TestSystem, name: string, image: string): Promise<Json> {
  await createAtSim(system, CLUSTER, `/apis/apps/v1/namespaces/${NS}/deployments`, deploymentManifest(name, NS, image, 1));
  const d = await waitForLive(system, CLUSTER, deploymentPath(name), rolledOut, `${name} rolled out`);
  await waitForHubManifest(system, ACCOUNT, NS, `deployment ${name}`);
  return d;
}

async function setImageAtSim(system: TestSystem, name: string, image: string, revision: string): Promise<void> {
  const patched = await simRequest(
    system.sim(CLUSTER),
    'PATCH',
    deploymentPath(name),
    { spec: { template: { spec: { containers: [{ name: 'main', image }] } } } },
    'application/strategic-merge-patch+json',
  );
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  await waitForLive(
    system,
    CLUSTER,
    deploymentPath(name),
    (d) => rolledOut(d) && d.metadata.annotations[REVISION] === revision,
    `${name} at revision ${revision}`,
  );
  await waitForHubManifest(
    system,
    ACCOUNT,
    NS,
    `deployment ${name}`,
    (b) => b.manifest.metadata.annotations?.[REVISION] === revision,
    `revision ${revision} of ${name} at the hub`,
  );
}

const imageOf = (d: Json): string => d.spec.template.spec.containers[0].image;

async function replicaSetsOf(system: TestSystem, app: string): Promise<Json[]> {
  return (await live(system, CLUSTER, `/apis/apps/v1/namespaces/${NS}/replicasets?labelSelector=app%3D${app}`)).items;
}

describe('rollout, traffic, job and cleanup operations', { timeout: 300_000 }, () => {
  let system: TestSystem;

  before(async () => {
    system = await new TestSystem({ clusters: 1 }).start();
    for (const ns of [NS, 'ops-jobs', 'ops-cleanup']) await createNamespace(system, CLUSTER, ns);
  });

  after(async () => {
    await system?.stop();
  });

  describe('undoRolloutManifest', () => {
    before(async () => {
      await rolledOutDeployment(system, 'undo', 'undo:1');
      await setImageAtSim(system, 'undo', 'undo:2', '2');
    });

    test('numRevisionsBack 1 returns to the previous template; the old ReplicaSet comes back as the next revision', async () => {
      const task = await runOp(system, 'undoRolloutManifest', target('deployment undo', { numRevisionsBack: 1 }));
      assertNoResultObjects(task, NS, 'deployment undo');
      assert.equal(imageOf(await live(system, CLUSTER, deploymentPath('undo'))), 'undo:1');
      assert.equal(imageOf((await hubManifest(system, ACCOUNT, NS, 'deployment undo')).body.manifest), 'undo:1', 'the cache has the undone template');
      const d = await waitForLive(
        system,
        CLUSTER,
        deploymentPath('undo'),
        (o) => rolledOut(o) && o.metadata.annotations[REVISION] === '3',
        'the undo rolled out as revision 3',
      );
      assert.equal(d.status.updatedReplicas, 1);
      assert.equal((await replicaSetsOf(system, 'undo')).length, 2, 'the ReplicaSet of revision 1 was reused');
      await waitForHubManifest(system, ACCOUNT, NS, 'deployment undo', (b) => b.status?.stable?.state === true, 'stable at the hub');
    });

    test('an explicit revision rolls to that revision', async () => {
      await runOp(system, 'undoRolloutManifest', target('deployment undo', { revision: 2 }));
      assert.equal(imageOf(await live(system, CLUSTER, deploymentPath('undo'))), 'undo:2');
      await waitForLive(system, CLUSTER, deploymentPath('undo'), (o) => rolledOut(o) && o.metadata.annotations[REVISION] === '4', 'revision 4');
    });

    test('a revision that is not in the history fails, naming it', async () => {
      const { message } = await failOp(system, 'undoRolloutManifest', target('deployment undo', { revision: 99 }));
      assert.match(message, /99/);
      assert.equal(imageOf(await live(system, CLUSTER, deploymentPath('undo'))), 'undo:2');
    });

    test('a missing Deployment fails with NotFound', async () => {
      const { message } = await failOp(system, 'undoRolloutManifest', target('deployment ghost', { numRevisionsBack: 1 }));
      assert.match(message, /not found/);
    });

    test('undo where the account may not patch fails as Forbidden', async () => {
      await withRevoked(system, CLUSTER, 'apps', 'deployments', ['patch', 'update'], async () => {
        const { message } = await failOp(system, 'undoRolloutManifest', target('deployment undo', { numRevisionsBack: 1 }));
        assert.match(message, /forbidden/i);
      });
      assert.equal(imageOf(await live(system, CLUSTER, deploymentPath('undo'))), 'undo:2');
    });
  });

  describe('pauseRolloutManifest and resumeRolloutManifest', () => {
    before(async () => {
      await rolledOutDeployment(system, 'pausable', 'p:1');
    });

    test('pause stops rollouts (the hub reports paused), resume rolls the waiting template out', async () => {
      const paused = await runOp(system, 'pauseRolloutManifest', target('deployment pausable'));
      assertNoResultObjects(paused, NS, 'deployment pausable');
      assert.equal((await live(system, CLUSTER, deploymentPath('pausable'))).spec.paused, true);
      assert.equal((await hubManifest(system, ACCOUNT, NS, 'deployment pausable')).body.manifest.spec.paused, true);
      await waitForHubManifest(system, ACCOUNT, NS, 'deployment pausable', (b) => b.status?.paused?.state === true, 'paused at the hub');

      const patched = await simRequest(
        system.sim(CLUSTER),
        'PATCH',
        deploymentPath('pausable'),
        { spec: { template: { spec: { containers: [{ name: 'main', image: 'p:2' }] } } } },
        'application/strategic-merge-patch+json',
      );
      assert.equal(patched.status, 200);
      await waitForLive(system, CLUSTER, deploymentPath('pausable'), (d) => d.status.observedGeneration === d.metadata.generation, 'the new template observed');
      assert.equal((await replicaSetsOf(system, 'pausable')).length, 1, 'no rollout while paused');

      const resumed = await runOp(system, 'resumeRolloutManifest', target('deployment pausable'));
      assertNoResultObjects(resumed, NS, 'deployment pausable');
      assert.ok(!(await live(system, CLUSTER, deploymentPath('pausable'))).spec.paused);
      assert.ok(!(await hubManifest(system, ACCOUNT, NS, 'deployment pausable')).body.manifest.spec.paused);
      await waitForLive(
        system,
        CLUSTER,
        deploymentPath('pausable'),
        (d) => rolledOut(d) && d.metadata.annotations[REVISION] === '2',
        'the rollout after resume',
      );
      await waitForHubManifest(
        system,
        ACCOUNT,
        NS,
        'deployment pausable',
        (b) => b.status?.paused?.state === false && b.status?.stable?.state === true,
        'resumed and stable at the hub',
      );
    });

    test('pause and resume of a missing Deployment fail with NotFound', async () => {
      assert.match((await failOp(system, 'pauseRolloutManifest', target('deployment ghost'))).message, /not found/);
      assert.match((await failOp(system, 'resumeRolloutManifest', target('deployment ghost'))).message, /not found/);
    });

    test('pause where the account may not patch fails as Forbidden', async () => {
      await withRevoked(system, CLUSTER, 'apps', 'deployments', ['patch', 'update'], async () => {
        assert.match((await failOp(system, 'pauseRolloutManifest', target('deployment pausable'))).message, /forbidden/i);
      });
      assert.ok(!(await live(system, CLUSTER, deploymentPath('pausable'))).spec.paused);
    });
  });

  describe('rollingRestartManifest', () => {
    test('restarts: the template gets restartedAt, a new revision rolls out with new pods', async () => {
      await rolledOutDeployment(system, 'restartable', 'r:1');
      const before = (await live(system, CLUSTER, `/api/v1/namespaces/${NS}/pods?labelSelector=app%3Drestartable`)).items.map((p: Json) => p.metadata.name);
      const task = await runOp(system, 'rollingRestartManifest', target('deployment restartable'));
      assertNoResultObjects(task, NS, 'deployment restartable');
      const restarted = await live(system, CLUSTER, deploymentPath('restartable'));
      assert.ok(restarted.spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt'], 'kubectl rollout restart marks the template');
      assert.ok(
        (await hubManifest(system, ACCOUNT, NS, 'deployment restartable')).body.manifest.spec.template.metadata.annotations?.[
          'kubectl.kubernetes.io/restartedAt'
        ],
      );
      await waitForLive(
        system,
        CLUSTER,
        deploymentPath('restartable'),
        (d) => rolledOut(d) && d.metadata.annotations[REVISION] === '2',
        'the restart rolled out',
      );
      await waitFor(
        async () => {
          const pods = (await live(system, CLUSTER, `/api/v1/namespaces/${NS}/pods?labelSelector=app%3Drestartable`)).items.filter(
            (p: Json) => !p.metadata.deletionTimestamp,
          );
          return pods.length === 1 && !before.includes(pods[0].metadata.name);
        },
        { timeoutMs: PROPAGATION_TIMEOUT_MS, what: 'a new pod' },
      );
    });

    test('a missing workload fails with NotFound; a kind that cannot restart is refused', async () => {
      assert.match((await failOp(system, 'rollingRestartManifest', target('deployment ghost'))).message, /not found/);
      await createAtSim(system, CLUSTER, `/api/v1/namespaces/${NS}/configmaps`, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'not-a-workload', namespace: NS },
        data: {},
      });
      await waitForHubManifest(system, ACCOUNT, NS, 'configMap not-a-workload');
      const { message } = await failOp(system, 'rollingRestartManifest', target('configMap not-a-workload'), { allowRejection: true });
      assert.match(message, /configMap|restart/i);
    });
  });

  describe('disableManifest and enableManifest', () => {
    const RS = 'lbweb-v000';
    const rsPath = `/apis/apps/v1/namespaces/${NS}/replicasets/${RS}`;
    const TRAFFIC_LABEL = 'traffic-lb-web';

    before(async () => {
      await createAtSim(system, CLUSTER, `/api/v1/namespaces/${NS}/services`, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'lb-web', namespace: NS },
        spec: { selector: { [TRAFFIC_LABEL]: 'true' }, ports: [{ port: 80, targetPort: 8080 }] },
      });
      await createAtSim(system, CLUSTER, `/apis/apps/v1/namespaces/${NS}/replicasets`, {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: RS,
          namespace: NS,
          labels: { app: 'lbweb' },
          annotations: { 'traffic.spinnaker.io/load-balancers': '["service lb-web"]', 'moniker.spinnaker.io/application': 'lbweb' },
        },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'lbweb' } },
          template: { metadata: { labels: { app: 'lbweb', [TRAFFIC_LABEL]: 'true' } }, spec: { containers: [{ name: 'web', image: 'web:1' }] } },
        },
      });
      await waitForLive(system, CLUSTER, rsPath, (rs) => rs.status?.readyReplicas === 2, 'two ready pods');
      await waitForHubManifest(system, ACCOUNT, NS, `replicaSet ${RS}`);
      await waitForHubManifest(system, ACCOUNT, NS, 'service lb-web');
      await waitFor(
        async () => (await simRequest(system.sim(CLUSTER), 'GET', `/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dlbweb`)).body.items.length === 2,
        { timeoutMs: PROPAGATION_TIMEOUT_MS, what: 'pods' },
      );
    });

    const podsLabels = async (): Promise<Array<string | undefined>> =>
      (await live(system, CLUSTER, `/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dlbweb`)).items.map((p: Json) => p.metadata.labels[TRAFFIC_LABEL]);

    test('disable removes the service selector labels from the template and every pod; enable puts them back', async () => {
      const disabled = await runOp(system, 'disableManifest', target(`replicaSet ${RS}`, { loadBalancers: ['service lb-web'], targetPercentage: 100 }));
      assertNoResultObjects(disabled, NS, `replicaSet ${RS}`);
      assert.equal((await live(system, CLUSTER, rsPath)).spec.template.metadata.labels[TRAFFIC_LABEL], undefined);
      assert.deepEqual(await podsLabels(), [undefined, undefined], 'the pods leave the load balancer');
      assert.equal((await hubManifest(system, ACCOUNT, NS, `replicaSet ${RS}`)).body.manifest.spec.template.metadata.labels[TRAFFIC_LABEL], undefined);
      assert.equal((await live(system, CLUSTER, rsPath)).spec.replicas, 2, 'no pods are replaced');

      // Without loadBalancers: the workload's traffic.spinnaker.io/load-balancers annotation names them.
      const enabled = await runOp(system, 'enableManifest', target(`replicaSet ${RS}`));
      assertNoResultObjects(enabled, NS, `replicaSet ${RS}`);
      assert.equal((await live(system, CLUSTER, rsPath)).spec.template.metadata.labels[TRAFFIC_LABEL], 'true');
      assert.deepEqual(await podsLabels(), ['true', 'true']);
      assert.equal((await hubManifest(system, ACCOUNT, NS, `replicaSet ${RS}`)).body.manifest.spec.template.metadata.labels[TRAFFIC_LABEL], 'true');
    });

    test('a missing workload or load balancer fails, naming it', async () => {
      assert.match(
        (await failOp(system, 'disableManifest', target('replicaSet ghost-v000', { loadBalancers: ['service lb-web'] }))).message,
        /not found|ghost/,
      );
      assert.match((await failOp(system, 'disableManifest', target(`replicaSet ${RS}`, { loadBalancers: ['service no-such-lb'] }))).message, /no-such-lb/);
      assert.equal((await live(system, CLUSTER, rsPath)).spec.template.metadata.labels[TRAFFIC_LABEL], 'true');
    });

    test('disable where the account may not patch ReplicaSets fails as Forbidden', async () => {
      await withRevoked(system, CLUSTER, 'apps', 'replicasets', ['patch', 'update'], async () => {
        assert.match((await failOp(system, 'disableManifest', target(`replicaSet ${RS}`, { loadBalancers: ['service lb-web'] }))).message, /forbidden/i);
      });
      assert.equal((await live(system, CLUSTER, rsPath)).spec.template.metadata.labels[TRAFFIC_LABEL], 'true');
    });
  });

  describe('runJob', () => {
    const job = (metadata: Json, annotations: Record<string, string> = {}): Json => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { namespace: 'ops-jobs', ...metadata },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: { annotations },
          spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'perl:5.34', command: ['perl', '-wle', 'print 3.14'] }] },
        },
      },
    });
    const runJob = (manifest: Json): Json => ({
      ...STAGE_NOISE,
      account: ACCOUNT,
      application: 'jobapp',
      credentials: ACCOUNT,
      source: 'text',
      manifest,
      requiredArtifacts: [],
      optionalArtifacts: [],
      propertyFile: '',
    });

    test('runs a Job: deployedNamesByLocation names it, it completes in the sim, the hub reports it stable', async () => {
      const task = await runOp(system, 'runJob', runJob(job({ name: 'pi' })));
      const result = task.resultObjects.find((r: Json) => r.deployedNamesByLocation !== undefined);
      assert.ok(result, `an OperationResult with deployedNamesByLocation: ${JSON.stringify(task.resultObjects)}`);
      assert.deepEqual(result.deployedNamesByLocation, { 'ops-jobs': ['job pi'] });
      assert.deepEqual(result.manifestNamesByNamespace, { 'ops-jobs': ['job pi'] });
      const created = await live(system, CLUSTER, '/apis/batch/v1/namespaces/ops-jobs/jobs/pi');
      assert.equal(created.metadata.annotations['moniker.spinnaker.io/application'], 'jobapp');
      assert.equal((await hubManifest(system, ACCOUNT, 'ops-jobs', 'job pi')).status, 200, 'read-your-writes');
      await waitForLive(system, CLUSTER, '/apis/batch/v1/namespaces/ops-jobs/jobs/pi', (j) => j.status?.succeeded === 1, 'the Job succeeded');
      await waitForHubManifest(
        system,
        ACCOUNT,
        'ops-jobs',
        'job pi',
        (b) => b.status?.stable?.state === true && b.status?.failed?.state === false,
        'the Job stable at the hub',
      );

      // Running it again recreates it (strategy.spinnaker.io/recreate): a new object, not an update.
      const again = await runOp(system, 'runJob', runJob(job({ name: 'pi' })));
      assert.deepEqual(again.resultObjects.find((r: Json) => r.deployedNamesByLocation)?.deployedNamesByLocation, { 'ops-jobs': ['job pi'] });
      const rerun = await live(system, CLUSTER, '/apis/batch/v1/namespaces/ops-jobs/jobs/pi');
      assert.notEqual(rerun.metadata.uid, created.metadata.uid);
    });

    test('a generateName Job gets its generated name in deployedNamesByLocation', async () => {
      const task = await runOp(system, 'runJob', runJob(job({ generateName: 'gen-' })));
      const names = task.resultObjects.find((r: Json) => r.deployedNamesByLocation)?.deployedNamesByLocation?.['ops-jobs'] ?? [];
      assert.equal(names.length, 1);
      assert.match(names[0], /^job gen-[a-z0-9]{5}$/);
      assert.ok(await live(system, CLUSTER, `/apis/batch/v1/namespaces/ops-jobs/jobs/${names[0].slice('job '.length)}`));
    });

    test('a Job that fails in the cluster: the task completes (the Job ran), the hub reports it failed', async () => {
      await runOp(system, 'runJob', runJob(job({ name: 'doomed-job' }, { 'sim.scale-agent.io/fail': 'true' })));
      const failed = await waitForHubManifest(
        system,
        ACCOUNT,
        'ops-jobs',
        'job doomed-job',
        (b) => b.status?.failed?.state === true,
        'the Job failed at the hub',
      );
      assert.match(String(failed.status.failed.message ?? ''), /backoff limit/i);
    });

    test('an invalid Job fails with the API server message; a manifest that is not a Job is refused', async () => {
      const invalid = job({ name: 'no-policy' });
      delete invalid.spec.template.spec.restartPolicy;
      assert.match((await failOp(system, 'runJob', runJob(invalid))).message, /restartPolicy/);
      const notAJob = { ...deploymentManifest('not-a-job', 'ops-jobs', 'x:1') };
      assert.match((await failOp(system, 'runJob', runJob(notAJob), { allowRejection: true })).message, /Job/);
    });

    test('a namespace that does not exist fails with NotFound; a kind the account may not create fails as Forbidden', async () => {
      assert.match(
        (await failOp(system, 'runJob', runJob({ ...job({ name: 'lost' }), metadata: { name: 'lost', namespace: 'no-such-ns' } }))).message,
        /not found/,
      );
      await withRevoked(system, CLUSTER, 'batch', 'jobs', ['create', 'update', 'patch', 'delete'], async () => {
        assert.match((await failOp(system, 'runJob', runJob(job({ name: 'blocked' })))).message, /forbidden/i);
      });
      assert.equal(await live(system, CLUSTER, '/apis/batch/v1/namespaces/ops-jobs/jobs/blocked'), undefined);
    });
  });

  describe('cleanupArtifacts', () => {
    const versioned = (version: number, maxHistory?: string): Json => {
      const v = `v${String(version).padStart(3, '0')}`;
      return {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: `cfg-${v}`,
          namespace: 'ops-cleanup',
          labels: { 'app.kubernetes.io/managed-by': 'spinnaker', 'app.kubernetes.io/name': 'cleanapp', 'moniker.spinnaker.io/sequence': String(version) },
          annotations: {
            'artifact.spinnaker.io/name': 'cfg',
            'artifact.spinnaker.io/type': 'kubernetes/configMap',
            'artifact.spinnaker.io/location': 'ops-cleanup',
            'artifact.spinnaker.io/version': v,
            'moniker.spinnaker.io/application': 'cleanapp',
            'moniker.spinnaker.io/cluster': 'configMap cfg',
            'moniker.spinnaker.io/sequence': String(version),
            ...(maxHistory !== undefined ? { 'strategy.spinnaker.io/max-version-history': maxHistory } : {}),
          },
        },
        data: { version: v },
      };
    };

    /** Waits for the clock's next second, so creationTimestamps (second precision) order the versions. */
    async function nextSecond(): Promise<void> {
      const now = Math.floor(Date.now() / 1000);
      await waitFor(() => Math.floor(Date.now() / 1000) > now, { timeoutMs: 2_000, intervalMs: 20, what: 'the next second' });
    }

    before(async () => {
      for (const version of [0, 1, 2]) {
        if (version > 0) await nextSecond();
        await createAtSim(system, CLUSTER, '/api/v1/namespaces/ops-cleanup/configmaps', versioned(version, '2'));
      }
      for (const version of [0, 1, 2]) await waitForHubManifest(system, ACCOUNT, 'ops-cleanup', `configMap cfg-v00${version}`);
    });

    test('keeps the newest max-version-history versions and deletes the rest', async () => {
      const task = await runOp(system, 'cleanupArtifacts', { ...STAGE_NOISE, account: ACCOUNT, manifests: [versioned(2, '2')] });
      const result = task.resultObjects[0];
      assert.ok(result, 'an OperationResult');
      assert.equal(result.manifests ?? null, null, 'cleanupArtifacts returns manifests null');
      assert.deepEqual(result.manifestNamesByNamespace, { 'ops-cleanup': ['configMap cfg-v000'] });
      assert.equal(await live(system, CLUSTER, '/api/v1/namespaces/ops-cleanup/configmaps/cfg-v000'), undefined);
      assert.ok(await live(system, CLUSTER, '/api/v1/namespaces/ops-cleanup/configmaps/cfg-v001'));
      assert.ok(await live(system, CLUSTER, '/api/v1/namespaces/ops-cleanup/configmaps/cfg-v002'));
      assert.equal((await hubManifest(system, ACCOUNT, 'ops-cleanup', 'configMap cfg-v000')).status, 404);
    });

    test('a manifest without max-version-history deletes nothing', async () => {
      const task = await runOp(system, 'cleanupArtifacts', { ...STAGE_NOISE, account: ACCOUNT, manifests: [versioned(2)] });
      assert.deepEqual(Object.values(task.resultObjects[0]?.manifestNamesByNamespace ?? {}).flat(), []);
      assert.ok(await live(system, CLUSTER, '/api/v1/namespaces/ops-cleanup/configmaps/cfg-v001'));
    });

    test('cleanup where the account may not delete fails as Forbidden', async () => {
      await withRevoked(system, CLUSTER, '', 'configmaps', ['delete', 'deletecollection'], async () => {
        const { message } = await failOp(system, 'cleanupArtifacts', { ...STAGE_NOISE, account: ACCOUNT, manifests: [versioned(2, '1')] });
        assert.match(message, /forbidden/i);
      });
      assert.ok(await live(system, CLUSTER, '/api/v1/namespaces/ops-cleanup/configmaps/cfg-v001'));
    });
  });
});
