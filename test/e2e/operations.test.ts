// Spinnaker's manifest operations end to end, part 1: deployManifest, deleteManifest, patchManifest,
// scaleManifest and resizeServerGroup, each through the real path REST → hub → agent → sim → task → cache,
// with Orca's field names (docs: ../shared/reference/clouddriver-kubernetes-api.md §2). For every
// operation: the success path (the task completes with the right result objects, the sim shows the
// effect, the hub's cache shows it at once) and its failure paths (an invalid manifest or description,
// a kind the account may not write, a missing object). Agent loss and deadlines: operations-failures.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestSystem } from '../support/system.ts';
import {
  assertNoResultObjects,
  createAtSim,
  createNamespace,
  deploymentManifest,
  failOp,
  hubManifest,
  live,
  rolledOut,
  runOp,
  waitForHubGone,
  waitForHubManifest,
  waitForLive,
  withRevoked,
  type Json,
} from '../support/operations.ts';

const ACCOUNT = 'cluster-1';
const CLUSTER = 'cluster-1';

/** What Orca adds to every description: the whole stage context. */
const STAGE_NOISE = { cloudProvider: 'kubernetes', type: 'op', name: 'Stage', refId: '1', requisiteStageRefIds: [], skipExpressionEvaluation: false };

function deployDescription(manifests: Json[], extra: Json = {}): Json {
  return {
    ...STAGE_NOISE,
    account: ACCOUNT,
    source: 'text',
    manifests,
    moniker: { app: 'opsapp' },
    enableTraffic: true,
    trafficManagement: { enabled: false, options: { enableTraffic: false, services: [], strategy: 'none' } },
    requiredArtifacts: [],
    optionalArtifacts: [],
    ...extra,
  };
}

function configMap(name: string, namespace: string, data: Record<string, string>, labels?: Record<string, string>): Json {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, ...(labels ? { labels } : {}) }, data };
}

describe('manifest operations: deploy, delete, patch, scale, resize', { timeout: 300_000 }, () => {
  let system: TestSystem;

  before(async () => {
    system = await new TestSystem({ clusters: 1 }).start();
    for (const ns of ['ops-deploy', 'ops-delete', 'ops-patch', 'ops-scale']) await createNamespace(system, CLUSTER, ns);
  });

  after(async () => {
    await system?.stop();
  });

  describe('deployManifest', () => {
    test('deploys several kinds in priority order into namespaceOverride; result objects, sim and cache agree; a redeploy rolls out', async () => {
      const service = {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'opsweb', namespace: 'elsewhere' },
        spec: { selector: { app: 'opsweb' }, ports: [{ port: 80, targetPort: 8080 }] },
      };
      const manifests = [deploymentManifest('opsweb', 'elsewhere', 'web:1', 2), service, configMap('opsweb-config', 'elsewhere', { mode: 'one' })];
      const task = await runOp(system, 'deployManifest', deployDescription(manifests, { namespaceOverride: 'ops-deploy' }));

      const result = task.resultObjects[0];
      // ConfigMaps are versioned by default (-v000); deploy priority: ConfigMap, Service, then workloads.
      assert.deepEqual(result.manifestNamesByNamespace, { 'ops-deploy': ['configMap opsweb-config-v000', 'service opsweb', 'deployment opsweb'] });
      assert.deepEqual(
        result.manifests.map((m: Json) => [m.kind, m.metadata.name, m.metadata.namespace]),
        [
          ['ConfigMap', 'opsweb-config-v000', 'ops-deploy'],
          ['Service', 'opsweb', 'ops-deploy'],
          ['Deployment', 'opsweb', 'ops-deploy'],
        ],
      );
      const deployed = result.manifests[2];
      assert.ok(deployed.metadata.uid, 'the manifests are the applied objects as the API server returned them');
      const artifact = result.createdArtifacts.find((a: Json) => a.type === 'kubernetes/deployment');
      assert.deepEqual(
        { name: artifact.name, location: artifact.location, reference: artifact.reference, account: artifact.metadata?.account },
        { name: 'opsweb', location: 'ops-deploy', reference: 'opsweb', account: ACCOUNT },
      );
      const configArtifact = result.createdArtifacts.find((a: Json) => a.type === 'kubernetes/configMap');
      assert.deepEqual(
        { name: configArtifact.name, version: configArtifact.version, reference: configArtifact.reference },
        { name: 'opsweb-config', version: 'v000', reference: 'opsweb-config-v000' },
      );
      assert.deepEqual(result.boundArtifacts ?? [], []);

      // The sim has them, annotated as Spinnaker annotates.
      const web = await live(system, CLUSTER, '/apis/apps/v1/namespaces/ops-deploy/deployments/opsweb');
      assert.equal(web.metadata.annotations['moniker.spinnaker.io/application'], 'opsapp');
      assert.equal(web.metadata.annotations['moniker.spinnaker.io/cluster'], 'deployment opsweb');
      assert.equal(web.metadata.labels['app.kubernetes.io/managed-by'], 'spinnaker');
      assert.equal(web.metadata.labels['app.kubernetes.io/name'], 'opsapp');
      assert.equal(web.spec.template.metadata.annotations['moniker.spinnaker.io/application'], 'opsapp');
      assert.ok(await live(system, CLUSTER, '/api/v1/namespaces/ops-deploy/configmaps/opsweb-config-v000'));
      assert.equal(
        await live(system, CLUSTER, '/api/v1/namespaces/elsewhere/configmaps/opsweb-config-v000'),
        undefined,
        'namespaceOverride wins over the manifest namespace',
      );
      assert.ok(await live(system, CLUSTER, '/api/v1/namespaces/ops-deploy/services/opsweb'));

      // Read-your-writes: the cache already has all three.
      for (const name of ['configMap opsweb-config-v000', 'service opsweb', 'deployment opsweb']) {
        const cached = await hubManifest(system, ACCOUNT, 'ops-deploy', name);
        assert.equal(cached.status, 200, `${name} at the hub: ${JSON.stringify(cached.body)}`);
      }
      assert.equal((await hubManifest(system, ACCOUNT, 'ops-deploy', 'deployment opsweb')).body.moniker.app, 'opsapp');
      await waitForHubManifest(system, ACCOUNT, 'ops-deploy', 'deployment opsweb', (b) => b.status?.stable?.state === true, 'the Deployment stable at the hub');

      // A redeploy with a new image updates in place and rolls out a second revision.
      const redeploy = await runOp(system, 'deployManifest', deployDescription([deploymentManifest('opsweb', 'ops-deploy', 'web:2', 2)]));
      assert.deepEqual(redeploy.resultObjects[0].manifestNamesByNamespace, { 'ops-deploy': ['deployment opsweb'] });
      const cached = await hubManifest(system, ACCOUNT, 'ops-deploy', 'deployment opsweb');
      assert.equal(cached.body.manifest.spec.template.spec.containers[0].image, 'web:2');
      const rolled = await waitForLive(
        system,
        CLUSTER,
        '/apis/apps/v1/namespaces/ops-deploy/deployments/opsweb',
        (d) => rolledOut(d) && d.metadata.annotations['deployment.kubernetes.io/revision'] === '2',
        'the second revision rolled out',
      );
      assert.equal(rolled.status.updatedReplicas, 2);
    });

    test('a manifest the API server rejects fails the task with its message', async () => {
      const broken = deploymentManifest('broken', 'ops-deploy', 'web:1');
      broken.spec.selector = { matchLabels: { app: 'other' } };
      const { message } = await failOp(system, 'deployManifest', deployDescription([broken]));
      assert.match(message, /422|Invalid/);
      assert.match(message, /selector/);
      assert.match(message, /deployment broken|broken/);
      assert.equal(await live(system, CLUSTER, '/apis/apps/v1/namespaces/ops-deploy/deployments/broken'), undefined);
    });

    test('a malformed description (a manifest without kind, no manifests) is refused with the field named', async () => {
      const noKind = await failOp(system, 'deployManifest', deployDescription([{ apiVersion: 'v1', metadata: { name: 'x' } }]), { allowRejection: true });
      assert.match(noKind.message, /kind/);
      const none = await failOp(system, 'deployManifest', deployDescription([]), { allowRejection: true });
      assert.match(none.message, /manifest/);
    });

    test('a kind the cluster does not serve fails with the kind named', async () => {
      const gadget = { apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g', namespace: 'ops-deploy' }, spec: {} };
      const { message } = await failOp(system, 'deployManifest', deployDescription([gadget]), { allowRejection: true });
      assert.match(message, /Gadget/);
    });

    test('writing a kind the account may not write fails as Forbidden, and nothing is created', async () => {
      await withRevoked(system, CLUSTER, '', 'configmaps', ['create', 'update', 'patch'], async () => {
        const { message } = await failOp(system, 'deployManifest', deployDescription([configMap('forbidden-cfg', 'ops-deploy', { a: '1' })]));
        assert.match(message, /forbidden/i);
        assert.match(message, /configmaps/);
      });
      const left = await live(system, CLUSTER, '/api/v1/namespaces/ops-deploy/configmaps');
      assert.deepEqual(
        left.items.filter((c: Json) => c.metadata.name.startsWith('forbidden-cfg')),
        [],
      );
    });

    test('a namespace that does not exist fails with NotFound', async () => {
      const { message } = await failOp(system, 'deployManifest', deployDescription([configMap('lost', 'no-such-namespace', { a: '1' })]));
      assert.match(message, /namespaces "no-such-namespace" not found/);
    });
  });

  describe('deleteManifest', () => {
    test('deletes by name with cascading: the object and its dependents go, the cache drops it at once', async () => {
      await createAtSim(system, CLUSTER, '/apis/apps/v1/namespaces/ops-delete/deployments', deploymentManifest('doomed', 'ops-delete', 'web:1', 1));
      await waitForLive(system, CLUSTER, '/apis/apps/v1/namespaces/ops-delete/deployments/doomed', rolledOut, 'doomed rolled out');
      await waitForHubManifest(system, ACCOUNT, 'ops-delete', 'deployment doomed');
      const task = await runOp(system, 'deleteManifest', {
        ...STAGE_NOISE,
        account: ACCOUNT,
        manifestName: 'deployment doomed',
        location: 'ops-delete',
        options: { cascading: true, gracePeriodSeconds: 0 },
      });
      assert.deepEqual(task.resultObjects[0].manifestNamesByNamespace, { 'ops-delete': ['deployment doomed'] });
      assert.equal(await live(system, CLUSTER, '/apis/apps/v1/namespaces/ops-delete/deployments/doomed'), undefined);
      assert.equal(
        (await hubManifest(system, ACCOUNT, 'ops-delete', 'deployment doomed')).status,
        404,
        'read-your-writes: gone from the cache when the task completes',
      );
      await waitForLive(
        system,
        CLUSTER,
        '/apis/apps/v1/namespaces/ops-delete/replicasets?labelSelector=app%3Ddoomed',
        (l) => l.items.length === 0,
        'its ReplicaSets collected',
      );
    });

    test('cascading false orphans the dependents', async () => {
      await createAtSim(system, CLUSTER, '/apis/apps/v1/namespaces/ops-delete/deployments', deploymentManifest('orphaner', 'ops-delete', 'web:1', 1));
      await waitForLive(system, CLUSTER, '/apis/apps/v1/namespaces/ops-delete/deployments/orphaner', rolledOut, 'orphaner rolled out');
      await waitForHubManifest(system, ACCOUNT, 'ops-delete', 'deployment orphaner');
      await runOp(system, 'deleteManifest', {
        ...STAGE_NOISE,
        account: ACCOUNT,
        manifestName: 'deployment orphaner',
        location: 'ops-delete',
        options: { cascading: false },
      });
      const orphans = await waitForLive(
        system,
        CLUSTER,
        '/apis/apps/v1/namespaces/ops-delete/replicasets?labelSelector=app%3Dorphaner',
        (l) => l.items.length === 1 && l.items[0].metadata.ownerReferences === undefined,
        'the ReplicaSet orphaned',
      );
      assert.equal(orphans.items[0].spec.replicas, 1);
    });

    test('deletes by kinds and label selectors: exactly the matching objects', async () => {
      for (const [name, tier] of [
        ['cache-a', 'cache'],
        ['cache-b', 'cache'],
        ['web-a', 'web'],
      ] as const) {
        await createAtSim(system, CLUSTER, '/api/v1/namespaces/ops-delete/configmaps', configMap(name, 'ops-delete', { n: name }, { tier }));
      }
      await waitForHubManifest(system, ACCOUNT, 'ops-delete', 'configMap web-a');
      const task = await runOp(system, 'deleteManifest', {
        ...STAGE_NOISE,
        account: ACCOUNT,
        location: 'ops-delete',
        kinds: ['configMap'],
        labelSelectors: { selectors: [{ kind: 'EQUALS', key: 'tier', values: ['cache'] }] },
        options: { cascading: true },
      });
      assert.deepEqual([...task.resultObjects[0].manifestNamesByNamespace['ops-delete']].sort(), ['configMap cache-a', 'configMap cache-b']);
      assert.equal(await live(system, CLUSTER, '/api/v1/namespaces/ops-delete/configmaps/cache-a'), undefined);
      assert.equal(await live(system, CLUSTER, '/api/v1/namespaces/ops-delete/configmaps/cache-b'), undefined);
      assert.ok(await live(system, CLUSTER, '/api/v1/namespaces/ops-delete/configmaps/web-a'));
      assert.equal((await hubManifest(system, ACCOUNT, 'ops-delete', 'configMap cache-a')).status, 404);
      assert.equal((await hubManifest(system, ACCOUNT, 'ops-delete', 'configMap web-a')).status, 200);
    });

    test('an object that is already gone: kubectl delete --ignore-not-found semantics, the task completes with nothing deleted', async () => {
      const task = await runOp(system, 'deleteManifest', {
        ...STAGE_NOISE,
        account: ACCOUNT,
        manifestName: 'configMap never-was',
        location: 'ops-delete',
        options: {},
      });
      const names = task.resultObjects[0]?.manifestNamesByNamespace ?? {};
      assert.deepEqual(Object.values(names).flat(), []);
    });

    test('deleting what the account may not delete fails as Forbidden and the object stays', async () => {
      await createAtSim(system, CLUSTER, '/api/v1/namespaces/ops-delete/configmaps', configMap('keeper', 'ops-delete', { a: '1' }));
      await waitForHubManifest(system, ACCOUNT, 'ops-delete', 'configMap keeper');
      await withRevoked(system, CLUSTER, '', 'configmaps', ['delete', 'deletecollection'], async () => {
        const { message } = await failOp(system, 'deleteManifest', {
          ...STAGE_NOISE,
          account: ACCOUNT,
          manifestName: 'configMap keeper',
          location: 'ops-delete',
          options: { cascading: true },
        });
        assert.match(message, /forbidden/i);
      });
      assert.ok(await live(system, CLUSTER, '/api/v1/namespaces/ops-delete/configmaps/keeper'));
      assert.equal((await hubManifest(system, ACCOUNT, 'ops-delete', 'configMap keeper')).status, 200);
    });

    test('a description naming neither a manifest nor kinds is refused', async () => {
      const { message } = await failOp(system, 'deleteManifest', { ...STAGE_NOISE, account: ACCOUNT, location: 'ops-delete' }, { allowRejection: true });
      assert.match(message, /manifestName|kinds/);
    });
  });

  describe('patchManifest', () => {
    const PATH = '/apis/apps/v1/namespaces/ops-patch/deployments/patched';
    const patch = (patchBody: Json, mergeStrategy: string, extra: Json = {}): Json => ({
      ...STAGE_NOISE,
      account: ACCOUNT,
      manifestName: 'deployment patched',
      location: 'ops-patch',
      source: 'text',
      patchBody,
      options: { mergeStrategy, record: false },
      requiredArtifacts: [],
      allArtifacts: [],
      ...extra,
    });

    before(async () => {
      await createAtSim(system, CLUSTER, '/apis/apps/v1/namespaces/ops-patch/deployments', deploymentManifest('patched', 'ops-patch', 'web:1', 1));
      await waitForHubManifest(system, ACCOUNT, 'ops-patch', 'deployment patched');
    });

    test('strategic: containers merge by name, env by name, ports stay; result objects name the manifest; the cache shows it', async () => {
      const task = await runOp(
        system,
        'patchManifest',
        patch({ spec: { template: { spec: { containers: [{ name: 'main', image: 'web:2', env: [{ name: 'EXTRA', value: 'yes' }] }] } } } }, 'strategic'),
      );
      const result = task.resultObjects[0];
      assert.deepEqual(result.manifestNamesByNamespace, { 'ops-patch': ['deployment patched'] });
      assert.equal(result.manifests?.[0]?.spec?.template?.spec?.containers?.[0]?.image, 'web:2');
      const container = (await live(system, CLUSTER, PATH)).spec.template.spec.containers[0];
      assert.equal(container.image, 'web:2');
      assert.deepEqual(
        container.env.map((e: Json) => e.name),
        ['MODE', 'EXTRA'],
      );
      assert.deepEqual(
        container.ports.map((p: Json) => p.containerPort),
        [8080],
      );
      const cached = await hubManifest(system, ACCOUNT, 'ops-patch', 'deployment patched');
      assert.equal(cached.body.manifest.spec.template.spec.containers[0].image, 'web:2');
      await waitForLive(
        system,
        CLUSTER,
        PATH,
        (d) => rolledOut(d) && d.metadata.annotations['deployment.kubernetes.io/revision'] === '2',
        'the patched template rolled out',
      );
    });

    test('merge: maps merge and null deletes; record sets the change cause', async () => {
      await runOp(system, 'patchManifest', patch({ metadata: { labels: { patched: 'merge', gone: 'soon' } } }, 'merge'));
      const task = await runOp(
        system,
        'patchManifest',
        patch({ metadata: { labels: { gone: null } }, spec: { replicas: 2 } }, 'merge', { options: { mergeStrategy: 'merge', record: true } }),
      );
      assert.deepEqual(task.resultObjects[0].manifestNamesByNamespace, { 'ops-patch': ['deployment patched'] });
      const d = await live(system, CLUSTER, PATH);
      assert.equal(d.metadata.labels.patched, 'merge');
      assert.equal(d.metadata.labels.gone, undefined);
      assert.equal(d.spec.replicas, 2);
      assert.ok(d.metadata.annotations['kubernetes.io/change-cause'], 'record: true writes kubernetes.io/change-cause');
      assert.equal((await hubManifest(system, ACCOUNT, 'ops-patch', 'deployment patched')).body.manifest.spec.replicas, 2);
    });

    test('json: a list of JSON-patch operations', async () => {
      await runOp(
        system,
        'patchManifest',
        patch(
          [
            { op: 'add', path: '/metadata/annotations/patched-by', value: 'json' },
            { op: 'replace', path: '/spec/replicas', value: 1 },
          ],
          'json',
        ),
      );
      const d = await live(system, CLUSTER, PATH);
      assert.equal(d.metadata.annotations['patched-by'], 'json');
      assert.equal(d.spec.replicas, 1);
      assert.equal((await hubManifest(system, ACCOUNT, 'ops-patch', 'deployment patched')).body.manifest.metadata.annotations['patched-by'], 'json');
    });

    test('a patch the API server rejects (negative replicas, a failing JSON-patch test) fails with its message', async () => {
      const negative = await failOp(system, 'patchManifest', patch({ spec: { replicas: -1 } }, 'strategic'));
      assert.match(negative.message, /spec\.replicas/);
      const failedTest = await failOp(system, 'patchManifest', patch([{ op: 'test', path: '/spec/replicas', value: 42 }], 'json'));
      assert.match(failedTest.message, /422|Invalid|test/);
      assert.equal((await live(system, CLUSTER, PATH)).spec.replicas, 1);
    });

    test('an unknown merge strategy is refused', async () => {
      const { message } = await failOp(system, 'patchManifest', patch({ metadata: {} }, 'sideways'), { allowRejection: true });
      assert.match(message, /mergeStrategy|sideways/);
    });

    test('a missing object fails with NotFound', async () => {
      const { message } = await failOp(system, 'patchManifest', { ...patch({ metadata: { labels: { a: 'b' } } }, 'merge'), manifestName: 'deployment ghost' });
      assert.match(message, /not found/);
      assert.match(message, /ghost/);
    });

    test('a kind the account may not patch fails as Forbidden', async () => {
      await withRevoked(system, CLUSTER, 'apps', 'deployments', ['patch', 'update'], async () => {
        const { message } = await failOp(system, 'patchManifest', patch({ metadata: { labels: { blocked: 'yes' } } }, 'merge'));
        assert.match(message, /forbidden/i);
      });
      assert.equal((await live(system, CLUSTER, PATH)).metadata.labels.blocked, undefined);
    });
  });

  describe('scaleManifest and resizeServerGroup', () => {
    before(async () => {
      await createAtSim(system, CLUSTER, '/apis/apps/v1/namespaces/ops-scale/deployments', deploymentManifest('scaled', 'ops-scale', 'web:1', 1));
      await createAtSim(system, CLUSTER, '/apis/apps/v1/namespaces/ops-scale/statefulsets', {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'db', namespace: 'ops-scale' },
        spec: {
          replicas: 1,
          serviceName: 'db',
          selector: { matchLabels: { app: 'db' } },
          template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'db:1' }] } },
        },
      });
      await createAtSim(system, CLUSTER, '/apis/apps/v1/namespaces/ops-scale/replicasets', {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: 'rsweb-v001', namespace: 'ops-scale', labels: { app: 'rsweb' } },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'rsweb' } },
          template: { metadata: { labels: { app: 'rsweb' } }, spec: { containers: [{ name: 'web', image: 'web:1' }] } },
        },
      });
      await waitForHubManifest(system, ACCOUNT, 'ops-scale', 'replicaSet rsweb-v001');
      await waitForHubManifest(system, ACCOUNT, 'ops-scale', 'statefulSet db');
      await waitForHubManifest(system, ACCOUNT, 'ops-scale', 'deployment scaled');
    });

    test('scales a Deployment: no result object (Clouddriver returns none), the sim runs the pods, the cache has the new size', async () => {
      const task = await runOp(system, 'scaleManifest', {
        ...STAGE_NOISE,
        account: ACCOUNT,
        manifestName: 'deployment scaled',
        location: 'ops-scale',
        replicas: 3,
      });
      assertNoResultObjects(task, 'ops-scale', 'deployment scaled');
      assert.equal((await live(system, CLUSTER, '/apis/apps/v1/namespaces/ops-scale/deployments/scaled')).spec.replicas, 3);
      assert.equal((await hubManifest(system, ACCOUNT, 'ops-scale', 'deployment scaled')).body.manifest.spec.replicas, 3);
      await waitForLive(
        system,
        CLUSTER,
        '/apis/apps/v1/namespaces/ops-scale/deployments/scaled',
        (d) => rolledOut(d) && d.status.readyReplicas === 3,
        'three ready replicas',
      );
      await waitForHubManifest(
        system,
        ACCOUNT,
        'ops-scale',
        'deployment scaled',
        (b) => b.status?.stable?.state === true && b.manifest.status?.readyReplicas === 3,
        'stable with three replicas at the hub',
      );
    });

    test('scales a StatefulSet to zero', async () => {
      await runOp(system, 'scaleManifest', { ...STAGE_NOISE, account: ACCOUNT, manifestName: 'statefulSet db', location: 'ops-scale', replicas: 0 });
      assert.equal((await live(system, CLUSTER, '/apis/apps/v1/namespaces/ops-scale/statefulsets/db')).spec.replicas, 0);
      await waitForLive(system, CLUSTER, '/api/v1/namespaces/ops-scale/pods?labelSelector=app%3Ddb', (l) => l.items.length === 0, 'db pods gone');
    });

    test('resizeServerGroup sets the ReplicaSet to capacity.desired', async () => {
      const task = await runOp(system, 'resizeServerGroup', {
        ...STAGE_NOISE,
        account: ACCOUNT,
        credentials: ACCOUNT,
        serverGroupName: 'replicaSet rsweb-v001',
        region: 'ops-scale',
        location: 'ops-scale',
        capacity: { min: 0, max: 5, desired: 3 },
        interestingHealthProviderNames: ['KubernetesPod'],
      });
      assertNoResultObjects(task, 'ops-scale', 'replicaSet rsweb-v001');
      assert.equal((await live(system, CLUSTER, '/apis/apps/v1/namespaces/ops-scale/replicasets/rsweb-v001')).spec.replicas, 3);
      assert.equal((await hubManifest(system, ACCOUNT, 'ops-scale', 'replicaSet rsweb-v001')).body.manifest.spec.replicas, 3);
      await waitForLive(
        system,
        CLUSTER,
        '/apis/apps/v1/namespaces/ops-scale/replicasets/rsweb-v001',
        (rs) => rs.status?.readyReplicas === 3,
        'three ready pods',
      );
    });

    test('a missing object fails with NotFound (scale and resize)', async () => {
      const scale = await failOp(system, 'scaleManifest', {
        ...STAGE_NOISE,
        account: ACCOUNT,
        manifestName: 'deployment ghost',
        location: 'ops-scale',
        replicas: 2,
      });
      assert.match(scale.message, /not found/);
      const resize = await failOp(system, 'resizeServerGroup', {
        ...STAGE_NOISE,
        account: ACCOUNT,
        serverGroupName: 'replicaSet ghost-v000',
        region: 'ops-scale',
        capacity: { min: 0, max: 1, desired: 1 },
      });
      assert.match(resize.message, /not found/);
    });

    test('negative replicas are refused or rejected by the API server', async () => {
      const { message } = await failOp(
        system,
        'scaleManifest',
        { ...STAGE_NOISE, account: ACCOUNT, manifestName: 'deployment scaled', location: 'ops-scale', replicas: -2 },
        { allowRejection: true },
      );
      assert.match(message, /replicas/);
      assert.equal((await live(system, CLUSTER, '/apis/apps/v1/namespaces/ops-scale/deployments/scaled')).spec.replicas, 3);
    });

    test('scaling what the account may not patch fails as Forbidden', async () => {
      await withRevoked(system, CLUSTER, 'apps', 'deployments', ['patch', 'update'], async () => {
        const { message } = await failOp(system, 'scaleManifest', {
          ...STAGE_NOISE,
          account: ACCOUNT,
          manifestName: 'deployment scaled',
          location: 'ops-scale',
          replicas: 1,
        });
        assert.match(message, /forbidden/i);
      });
      assert.equal((await live(system, CLUSTER, '/apis/apps/v1/namespaces/ops-scale/deployments/scaled')).spec.replicas, 3);
    });
  });

  test('after all of it the hub still serves every object the sim has in the namespaces used', async () => {
    for (const [ns, name] of [
      ['ops-deploy', 'deployment opsweb'],
      ['ops-patch', 'deployment patched'],
      ['ops-scale', 'deployment scaled'],
      ['ops-delete', 'configMap web-a'],
    ] as const) {
      await waitForHubManifest(system, ACCOUNT, ns, name);
    }
    await waitForHubGone(system, ACCOUNT, 'ops-delete', 'deployment doomed');
  });
});
