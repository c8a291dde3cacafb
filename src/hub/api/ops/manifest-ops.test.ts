import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { opsHarness, resultOf, type Harness, type Json } from '../../../../test/support/ops-harness.ts';
import { RESTARTED_AT_ANNOTATION } from './rollout-ops.ts';

/**
 * The operations on existing objects, composed from the agent's get/list/patch/scale/delete against a
 * fake cluster. Bodies follow the shape of Clouddriver's integration fixtures requests/delete_manifest.json,
 * patch_manifest.json and disable_manifest.json (Orca's stage context), with our own values.
 */
const deleteBody = (fields: Json): Json[] => [
  { deleteManifest: { app: 'app', mode: 'static', cloudProvider: 'kubernetes', options: { cascading: true }, location: 'team-a', account: 'k8s', ...fields } },
];
const patchBody = (fields: Json): Json[] => [
  {
    patchManifest: {
      enableTraffic: true,
      allArtifacts: [],
      cloudProvider: 'kubernetes',
      options: { mergeStrategy: 'strategic', record: true },
      trafficManagement: { options: { enableTraffic: false }, enabled: false },
      moniker: {},
      source: 'text',
      account: 'k8s',
      skipExpressionEvaluation: false,
      requiredArtifacts: [],
      manifests: [],
      mode: 'static',
      location: 'team-a',
      manifestName: 'deployment deployment1',
      ...fields,
    },
  },
];
const op = (name: string, fields: Json): Json[] => [{ [name]: { account: 'k8s', cloudProvider: 'kubernetes', location: 'team-a', ...fields } }];

const deployment = (name: string, extra: Json = {}): Json => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'team-a', uid: `uid-${name}`, ...extra.metadata },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'engine-x', image: 'index.docker.io/library/nginx' }] } },
    ...extra.spec,
  },
});

function calls(h: Harness, type: string): Json[] {
  return h.cluster.calls.filter((c) => c.request.type === type).map((c) => c.request as Json);
}

describe('operations on existing objects', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await opsHarness({ account: { namespaces: ['default', 'team-a'] } });
    await h.cluster.seed(deployment('deployment1'));
  });
  afterEach(async () => h.close());

  describe('deleteManifest', () => {
    test('static target: cascading true is Background, the result names what went under the location', async () => {
      await h.cluster.seed({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'mysecret', namespace: 'team-a' }, data: { 'file.txt': 'SGVsbG8gd29ybGQK' } });
      const result = resultOf(await h.run(deleteBody({ manifestName: 'secret mysecret', options: { cascading: 'true' } })));
      assert.deepEqual(result, { manifestNamesByNamespace: { 'team-a': ['secret mysecret'] }, manifests: [], createdArtifacts: [], boundArtifacts: [] });
      const [request] = calls(h, 'delete');
      assert.deepEqual(request, {
        type: 'delete',
        target: { group: '', version: '', kind: 'Secret', namespace: 'team-a', name: 'mysecret' },
        waitForDeletion: true,
        propagationPolicy: 'Background',
      });
      assert.equal(h.cluster.find('Secret', 'team-a', 'mysecret'), undefined);
    });

    test('cascading values map to propagation policies; orphanDependents wins; a bogus value fails the task', async () => {
      const cases: Array<[Json, string | undefined]> = [
        [{ cascading: false }, 'Orphan'],
        [{ cascading: 'foreground' }, 'Foreground'],
        [{ cascading: 'Background' }, 'Background'],
        [{ cascading: 'orphan', gracePeriodSeconds: '5' }, 'Orphan'],
        [{ cascading: true, orphanDependents: 'true' }, 'Orphan'],
        [{}, undefined],
      ];
      for (const [options, policy] of cases) {
        h.cluster.calls.length = 0;
        resultOf(await h.run(deleteBody({ manifestName: 'deployment notExists', options })));
        assert.equal(calls(h, 'delete')[0].propagationPolicy, policy, JSON.stringify(options));
      }
      assert.equal(calls(h, 'delete')[0].gracePeriodSeconds, undefined);
      h.cluster.calls.length = 0;
      resultOf(await h.run(deleteBody({ manifestName: 'deployment notExists', options: { gracePeriodSeconds: 5 } })));
      assert.equal(calls(h, 'delete')[0].gracePeriodSeconds, 5);
      assert.equal(h.cluster.calls[0]!.options!.timeoutMs, 35_000, 'the grace period extends the deadline');
      h.cluster.calls.length = 0;
      resultOf(await h.run(deleteBody({ manifestName: 'deployment notExists', options: {} })));
      assert.equal(h.cluster.calls[0]!.options!.timeoutMs, 30_000, 'without a grace period, the operation deadline');

      const bogus = await h.run(deleteBody({ manifestName: 'deployment deployment1', options: { cascading: 'bogus' } }));
      assert.equal(bogus.status.failed, true);
      assert.match(bogus.status.status, /invalid cascade value \(bogus\)/);
      assert.ok(h.cluster.find('Deployment', 'team-a', 'deployment1'), 'nothing was deleted');
    });

    test('an object already gone deletes nothing and succeeds; cluster-scoped kinds are reported under the location', async () => {
      assert.deepEqual(resultOf(await h.run(deleteBody({ manifestName: 'deployment notExists' }))).manifestNamesByNamespace, { 'team-a': [] });
      await h.cluster.seed({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'crontabs.stable.example.com' } });
      const crd = resultOf(await h.run(deleteBody({ manifestName: 'customResourceDefinition crontabs.stable.example.com' })));
      assert.deepEqual(crd.manifestNamesByNamespace, { 'team-a': ['customResourceDefinition crontabs.stable.example.com'] });
      assert.equal(calls(h, 'delete').at(-1).target.namespace, '');
      await h.cluster.seed({ apiVersion: 'stable.example.com/v1', kind: 'CronTab', metadata: { name: 'my-new-cron-object', namespace: 'team-a' } });
      const cr = resultOf(await h.run(deleteBody({ manifestName: 'crontab.stable.example.com my-new-cron-object' })));
      assert.deepEqual(cr.manifestNamesByNamespace, { 'team-a': ['CronTab.stable.example.com my-new-cron-object'] });
    });

    test('kinds + labelSelectors delete every match of each kind', async () => {
      for (const n of ['a', 'b'])
        await h.cluster.seed({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: n, namespace: 'team-a', labels: { app: 'web' } } });
      await h.cluster.seed({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'keep', namespace: 'team-a', labels: { app: 'other' } } });
      const result = resultOf(
        await h.run(
          deleteBody({
            manifestName: undefined,
            mode: 'label',
            kinds: ['configMap', 'deployment'],
            labelSelectors: { selectors: [{ kind: 'EQUALS', key: 'app', values: ['web'] }] },
          }),
        ),
      );
      assert.deepEqual(result.manifestNamesByNamespace, { 'team-a': ['configMap a', 'configMap b'] });
      assert.ok(h.cluster.find('ConfigMap', 'team-a', 'keep'));
      assert.deepEqual(
        calls(h, 'delete').map((d) => [d.target.kind, d.labelSelector]),
        [
          ['ConfigMap', 'app=web'],
          ['Deployment', 'app=web'],
        ],
      );
    });
  });

  describe('patchManifest', () => {
    test('the fixture request: a strategic patch of the pod template labels, recorded', async () => {
      const task = await h.run(patchBody({ patchBody: { spec: { template: { metadata: { labels: { testPatch: 'success' } } } } } }));
      const result = resultOf(task);
      assert.deepEqual(result.manifestNamesByNamespace, { 'team-a': ['deployment deployment1'] });
      assert.equal(result.manifests[0].metadata.name, 'deployment1');
      const live = h.cluster.find('Deployment', 'team-a', 'deployment1')!;
      assert.equal((live.spec as Json).template.metadata.labels.testPatch, 'success');
      assert.match(live.metadata!.annotations!['kubernetes.io/change-cause']!, /^spinnaker patchManifest deployment deployment1 --type=strategic/);
      const [first] = calls(h, 'patch');
      assert.equal(first.patchType, 'strategic');
      assert.ok(task.history.some((l) => l.phase === 'PATCH_KUBERNETES_MANIFEST' && l.status === 'Patch manifest operation completed successfully'));
    });

    test('artifacts bind into strategic patches; required over optional; unbound required fails', async () => {
      const image = 'index.docker.io/library/nginx';
      const art = (reference: string) => ({
        name: image,
        type: 'docker/image',
        reference,
        version: reference.slice(image.length + 1),
        location: '',
        metadata: {},
        customKind: false,
      });
      const body = { spec: { template: { spec: { containers: [{ name: 'engine-x', image }] } } } };
      const result = resultOf(
        await h.run(patchBody({ patchBody: body, allArtifacts: [art(`${image}:1.19`), art(`${image}:1.18`)], requiredArtifacts: [art(`${image}:1.18`)] })),
      );
      assert.equal((h.cluster.find('Deployment', 'team-a', 'deployment1')!.spec as Json).template.spec.containers[0].image, `${image}:1.18`);
      assert.equal(result.boundArtifacts.length, 2);
      const failed = await h.run(patchBody({ patchBody: { metadata: { labels: { a: 'b' } } }, requiredArtifacts: [art(`${image}:1.18`)] }));
      assert.match(failed.resultObjects[0].message, /^The following required artifacts could not be bound/);
    });

    test('merge and json patches; the body may come from `manifests`; a custom resource by lower-case kind', async () => {
      resultOf(await h.run(patchBody({ options: { mergeStrategy: 'json' }, patchBody: [{ op: 'replace', path: '/spec/replicas', value: 4 }] })));
      assert.equal((h.cluster.find('Deployment', 'team-a', 'deployment1')!.spec as Json).replicas, 4);
      resultOf(
        await h.run(
          patchBody({ options: { mergeStrategy: 'merge', record: false }, patchBody: undefined, manifests: [{ metadata: { labels: { merged: 'yes' } } }] }),
        ),
      );
      assert.equal(h.cluster.find('Deployment', 'team-a', 'deployment1')!.metadata!.labels!.merged, 'yes');
      await h.cluster.seed({
        apiVersion: 'stable.example.com/v1',
        kind: 'CronTab',
        metadata: { name: 'my-new-cron-object', namespace: 'team-a' },
        spec: { image: 'my-awesome-cron-image' },
      });
      const cr = resultOf(
        await h.run(
          patchBody({
            manifestName: 'crontab.stable.example.com my-new-cron-object',
            options: { mergeStrategy: 'merge', record: true },
            patchBody: { spec: { image: 'cron-image' } },
          }),
        ),
      );
      assert.equal((h.cluster.find('CronTab', 'team-a', 'my-new-cron-object')!.spec as Json).image, 'cron-image');
      assert.deepEqual(cr.manifestNamesByNamespace, { 'team-a': ['CronTab.stable.example.com my-new-cron-object'] });
    });

    test('a missing object fails with the 404; bad bodies are 400s', async () => {
      const missing = await h.run(patchBody({ manifestName: 'deployment ghost', patchBody: { metadata: { labels: { a: 'b' } } } }));
      assert.match(missing.resultObjects[0].message, /^Patching deployment ghost in namespace team-a failed: 404 NotFound/);
      const cases: Array<[Json, RegExp]> = [
        [{ patchBody: undefined }, /patchBody: is required/],
        [{ options: { mergeStrategy: 'json' }, patchBody: { spec: {} } }, /a json patch is a list of operations/],
        [{ options: { mergeStrategy: 'json' }, patchBody: [{ op: 'frob', path: '/a' }] }, /patchBody\[0\]\.op: expected one of/],
        [{ options: { mergeStrategy: 'yolo' } }, /options\.mergeStrategy: expected one of strategic, merge, json/],
        [{ patchBody: [{ a: 1 }, { b: 2 }] }, /a strategic patch is one object/],
        [{ manifestName: 'deployment' }, /manifestName: expected "<kind> <name>"/],
        [{ location: '' }, /location: is required for the namespaced kind Deployment/],
      ];
      for (const [fields, message] of cases) {
        const res = await h.post('/kubernetes/ops', patchBody({ patchBody: { a: 1 }, ...fields }));
        assert.equal(res.status, 400, JSON.stringify(fields));
        assert.match(res.body.message, message);
      }
    });
  });

  describe('scale, resize, pause, resume, rolling restart', () => {
    test('scaleManifest and resizeServerGroup scale through the agent; kinds that cannot scale fail like Clouddriver', async () => {
      const result = resultOf(await h.run(op('scaleManifest', { manifestName: 'deployment deployment1', replicas: '3' })));
      assert.deepEqual(result, { manifestNamesByNamespace: { 'team-a': ['deployment deployment1'] } });
      assert.deepEqual(calls(h, 'scale')[0], {
        type: 'scale',
        target: { group: 'apps', version: '', kind: 'Deployment', namespace: 'team-a', name: 'deployment1' },
        replicas: 3,
      });
      resultOf(
        await h.run([
          {
            resizeServerGroup: {
              credentials: 'k8s',
              cloudProvider: 'kubernetes',
              serverGroupName: 'deployment deployment1',
              region: 'team-a',
              capacity: { min: 1, max: 5, desired: 5 },
            },
          },
        ]),
      );
      assert.equal((h.cluster.find('Deployment', 'team-a', 'deployment1')!.spec as Json).replicas, 5);
      const cm = await h.run(op('scaleManifest', { manifestName: 'configMap settings', replicas: 2 }));
      assert.equal(cm.resultObjects[0].message, 'Resource with configMap settings in team-a does not support scale');
      const missing = await h.run(op('scaleManifest', { manifestName: 'deployment ghost', replicas: 2 }));
      assert.match(missing.resultObjects[0].message, /^Scaling deployment ghost in namespace team-a failed: 404 NotFound/);
      assert.equal(
        (await h.post('/kubernetes/ops', op('scaleManifest', { manifestName: 'deployment deployment1' }))).body.message,
        '[0].scaleManifest.replicas: is required',
      );
    });

    test('pause and resume set spec.paused (Deployments only); a paused Deployment refuses a rolling restart', async () => {
      resultOf(await h.run(op('pauseRolloutManifest', { manifestName: 'deployment deployment1' })));
      assert.equal((h.cluster.find('Deployment', 'team-a', 'deployment1')!.spec as Json).paused, true);
      const again = await h.run(op('pauseRolloutManifest', { manifestName: 'deployment deployment1' }));
      assert.ok(again.history.some((l) => l.status === 'deployment deployment1 is already paused'));
      const restart = await h.run(op('rollingRestartManifest', { manifestName: 'deployment deployment1' }));
      assert.equal(restart.resultObjects[0].message, "can't restart paused deployment (run rollout resume first)");
      resultOf(await h.run(op('resumeRolloutManifest', { manifestName: 'deployment deployment1' })));
      assert.equal((h.cluster.find('Deployment', 'team-a', 'deployment1')!.spec as Json).paused, false);
      resultOf(await h.run(op('rollingRestartManifest', { manifestName: 'deployment deployment1' })));
      const restartedAt = (h.cluster.find('Deployment', 'team-a', 'deployment1')!.spec as Json).template.metadata.annotations[RESTARTED_AT_ANNOTATION];
      assert.match(restartedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      await h.cluster.seed({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: 'team-a' }, spec: { template: {} } });
      const sts = await h.run(op('pauseRolloutManifest', { manifestName: 'statefulSet db' }));
      assert.equal(sts.resultObjects[0].message, 'statefulsets.apps "db" pausing is not supported');
      const rs = await h.run(op('rollingRestartManifest', { manifestName: 'replicaSet x' }));
      assert.equal(rs.resultObjects[0].message, 'Resource with replicaSet x in team-a does not support rolling restart');
    });
  });

  describe('undoRolloutManifest', () => {
    async function history(): Promise<void> {
      const dep = h.cluster.find('Deployment', 'team-a', 'deployment1')!;
      for (const [revision, image] of [
        [1, 'nginx:1'],
        [2, 'nginx:2'],
        [3, 'nginx:3'],
      ] as const) {
        await h.cluster.seed({
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: {
            name: `deployment1-${revision}`,
            namespace: 'team-a',
            labels: { app: 'deployment1' },
            annotations: { 'deployment.kubernetes.io/revision': String(revision), note: `rev${revision}` },
            ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'deployment1', uid: dep.metadata!.uid!, controller: true }],
          },
          spec: {
            template: {
              metadata: { labels: { app: 'deployment1', 'pod-template-hash': `h${revision}` } },
              spec: { containers: [{ name: 'engine-x', image }] },
            },
          },
        });
      }
      // Another Deployment's ReplicaSet with the same labels is not history.
      await h.cluster.seed({
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: 'stranger',
          namespace: 'team-a',
          labels: { app: 'deployment1' },
          annotations: { 'deployment.kubernetes.io/revision': '9' },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'other', uid: 'uid-other' }],
        },
        spec: {},
      });
      await h.cluster.seed({
        ...dep,
        metadata: { ...dep.metadata, annotations: { 'deployment.kubernetes.io/revision': '3', note: 'rev3', keep: 'current' } },
        spec: {
          ...(dep.spec as Json),
          template: { metadata: { labels: { app: 'deployment1' } }, spec: { containers: [{ name: 'engine-x', image: 'nginx:3' }] } },
        },
      });
    }

    test("to a revision: the ReplicaSet's template (without its hash label) and annotations go back into the Deployment", async () => {
      await history();
      const result = resultOf(await h.run(op('undoRolloutManifest', { manifestName: 'deployment deployment1', revision: 1 })));
      assert.deepEqual(result, { manifestNamesByNamespace: { 'team-a': ['deployment deployment1'] }, revision: 1 });
      const live = h.cluster.find('Deployment', 'team-a', 'deployment1')!;
      assert.equal((live.spec as Json).template.spec.containers[0].image, 'nginx:1');
      assert.deepEqual((live.spec as Json).template.metadata.labels, { app: 'deployment1' });
      assert.equal(live.metadata!.annotations!.note, 'rev1');
      assert.equal(live.metadata!.annotations!.keep, undefined);
      assert.equal(live.metadata!.annotations!['deployment.kubernetes.io/revision'], '3', "the Deployment's own bookkeeping stays");
      assert.equal(calls(h, 'list')[0].labelSelector, 'app=deployment1');
    });

    test('numRevisionsBack counts back from the newest; too far, unknown revisions and paused Deployments fail', async () => {
      await history();
      assert.equal(resultOf(await h.run(op('undoRolloutManifest', { manifestName: 'deployment deployment1', numRevisionsBack: 1 }))).revision, 2);
      assert.equal((h.cluster.find('Deployment', 'team-a', 'deployment1')!.spec as Json).template.spec.containers[0].image, 'nginx:2');
      const far = await h.run(op('undoRolloutManifest', { manifestName: 'deployment deployment1', numRevisionsBack: 3 }));
      assert.equal(far.resultObjects[0].message, 'There are 3 revision(s) in total, cannot rollback 3');
      const unknown = await h.run(op('undoRolloutManifest', { manifestName: 'deployment deployment1', revision: 7 }));
      assert.equal(unknown.resultObjects[0].message, 'unable to find specified revision 7 in history');
      const same = await h.run(op('undoRolloutManifest', { manifestName: 'deployment deployment1', revision: 2 }));
      assert.ok(same.history.some((l) => l.status === 'skipped rollback (current template already matches revision 2)'));
      resultOf(await h.run(op('pauseRolloutManifest', { manifestName: 'deployment deployment1' })));
      const paused = await h.run(op('undoRolloutManifest', { manifestName: 'deployment deployment1', revision: 1 }));
      assert.match(paused.resultObjects[0].message, /^you cannot rollback a paused deployment/);
    });

    test('a StatefulSet goes back by its ControllerRevision data', async () => {
      const sts = await h.cluster.seed({
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'db', namespace: 'team-a' },
        spec: {
          selector: { matchLabels: { app: 'db' } },
          template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'pg:16' }] } },
        },
      });
      for (const [revision, image] of [
        [1, 'pg:15'],
        [2, 'pg:16'],
      ] as const) {
        await h.cluster.seed({
          apiVersion: 'apps/v1',
          kind: 'ControllerRevision',
          metadata: {
            name: `db-${revision}`,
            namespace: 'team-a',
            labels: { app: 'db' },
            ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: sts.metadata!.uid!, controller: true }],
          },
          revision,
          data: { spec: { template: { $patch: 'replace', metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image }] } } } },
        });
      }
      assert.equal(resultOf(await h.run(op('undoRolloutManifest', { manifestName: 'statefulSet db', numRevisionsBack: 1 }))).revision, 1);
      assert.equal((h.cluster.find('StatefulSet', 'team-a', 'db')!.spec as Json).template.spec.containers[0].image, 'pg:15');
      assert.equal(calls(h, 'patch').at(-1).patchType, 'strategic');
    });
  });

  describe('enableManifest / disableManifest', () => {
    async function redBlack(): Promise<void> {
      await h.cluster.seed({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'service1', namespace: 'team-a' }, spec: { selector: { pointer: 'here' } } });
      for (const v of ['v000', 'v001']) {
        await h.cluster.seed({
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: { name: `rb-${v}`, namespace: 'team-a', annotations: { 'traffic.spinnaker.io/load-balancers': '["service service1"]' } },
          spec: { selector: { matchLabels: { label1: v } }, template: { metadata: { labels: { label1: v, pointer: 'here' } }, spec: {} } },
        });
        for (const i of [1, 2])
          await h.cluster.seed({
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: {
              name: `rb-${v}-${i}`,
              namespace: 'team-a',
              labels: { label1: v, pointer: 'here' },
              ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `rb-${v}`, uid: 'u', controller: true }],
            },
          });
      }
    }

    test('the fixture request: disable removes the service selector labels from the template and each pod', async () => {
      await redBlack();
      const result = resultOf(
        await h.run([{ disableManifest: { app: 'rb', cloudProvider: 'kubernetes', manifestName: 'replicaSet rb-v000', location: 'team-a', account: 'k8s' } }]),
      );
      assert.deepEqual(result.manifestNamesByNamespace, { 'team-a': ['replicaSet rb-v000'] });
      assert.equal(result.podsPatched, 2);
      const pointed = h.cluster
        .all('Pod', 'team-a')
        .filter((p) => p.metadata?.labels?.pointer === 'here')
        .map((p) => p.metadata!.name);
      assert.deepEqual(pointed, ['rb-v001-1', 'rb-v001-2']);
      assert.equal((h.cluster.find('ReplicaSet', 'team-a', 'rb-v000')!.spec as Json).template.metadata.labels.pointer, undefined);
      const patch = calls(h, 'patch')[0];
      assert.equal(patch.patchType, 'json');
      assert.deepEqual(patch.patch, [{ op: 'remove', path: '/spec/template/metadata/labels/pointer' }]);
    });

    test('enable puts them back (given load balancers win over the annotation); a missing Service or target fails', async () => {
      await redBlack();
      resultOf(await h.run([{ disableManifest: { account: 'k8s', manifestName: 'replicaSet rb-v000', location: 'team-a' } }]));
      resultOf(
        await h.run([{ enableManifest: { account: 'k8s', manifestName: 'replicaSet rb-v000', location: 'team-a', loadBalancers: ['service service1'] } }]),
      );
      assert.equal(h.cluster.all('Pod', 'team-a').filter((p) => p.metadata?.labels?.pointer === 'here').length, 4);
      // A second enable changes nothing.
      const before = calls(h, 'patch').length;
      resultOf(await h.run([{ enableManifest: { account: 'k8s', manifestName: 'replicaSet rb-v000', location: 'team-a' } }]));
      assert.equal(calls(h, 'patch').length, before);
      const noService = await h.run([
        { enableManifest: { account: 'k8s', manifestName: 'replicaSet rb-v000', location: 'team-a', loadBalancers: ['service ghost'] } },
      ]);
      assert.equal(noService.resultObjects[0].message, 'Could not find load balancer: service ghost in team-a.');
      const noTarget = await h.run([{ disableManifest: { account: 'k8s', manifestName: 'replicaSet ghost', location: 'team-a' } }]);
      assert.equal(noTarget.resultObjects[0].message, 'Could not find kubernetes manifest: replicaSet ghost in namespace team-a');
    });

    test('a conflict while patching is re-read and recomputed', async () => {
      await redBlack();
      h.cluster.failures.push((request) =>
        request.type === 'patch'
          ? { httpStatus: 409, errorCode: 'KUBE_API_ERROR', body: { kind: 'Status', reason: 'Conflict', message: 'the object has been modified', code: 409 } }
          : undefined,
      );
      resultOf(await h.run([{ disableManifest: { account: 'k8s', manifestName: 'replicaSet rb-v001', location: 'team-a' } }]));
      assert.equal((h.cluster.find('ReplicaSet', 'team-a', 'rb-v001')!.spec as Json).template.metadata.labels.pointer, undefined);
      assert.ok(calls(h, 'get').length >= 2, 'read again after the conflict');
    });
  });

  describe('runJob', () => {
    test('the Job is recreated (or created with generateName) with the application moniker; deployedNamesByLocation names it', async () => {
      const job = {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'pi', annotations: { 'strategy.spinnaker.io/server-side-apply': 'true' } },
        spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'perl' }] } } },
      };
      const task = await h.run([
        {
          runJob: {
            account: 'k8s',
            cloudProvider: 'kubernetes',
            application: 'jobs',
            namespace: 'team-a',
            source: 'text',
            manifest: job,
            requiredArtifacts: [],
            optionalArtifacts: [],
          },
        },
      ]);
      const result = resultOf(task);
      assert.deepEqual(result.deployedNamesByLocation, { 'team-a': ['job pi'] });
      assert.deepEqual(result.manifestNamesByNamespace, { 'team-a': ['job pi'] });
      const apply = calls(h, 'apply')[0];
      assert.equal(apply.strategy, 'recreate');
      assert.equal(apply.manifest.metadata.annotations['strategy.spinnaker.io/server-side-apply'], undefined);
      assert.equal(apply.manifest.metadata.annotations['moniker.spinnaker.io/application'], 'jobs');
      assert.ok(task.history.some((l) => l.phase === 'RUN_KUBERNETES_JOB' && l.status === 'Running Kubernetes job...'));

      const generated = resultOf(
        await h.run([{ runJob: { account: 'k8s', application: 'jobs', namespace: 'team-a', manifest: { ...job, metadata: { generateName: 'pi-' } } } }]),
      );
      assert.match(generated.deployedNamesByLocation['team-a'][0], /^job pi-\w+$/);
      assert.equal(calls(h, 'apply')[1].strategy, 'create');

      const notJob = await h.run([
        { runJob: { account: 'k8s', application: 'jobs', manifest: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } } } },
      ]);
      assert.equal(notJob.resultObjects[0].message, 'Only kind of Job is accepted for the Run Job operation.');
    });
  });

  describe('cleanupArtifacts', () => {
    test('keeps the newest max-version-history versions of each deployed artifact', async () => {
      const annotations = (v: string) => ({
        'artifact.spinnaker.io/type': 'kubernetes/replicaSet',
        'artifact.spinnaker.io/name': 'web',
        'artifact.spinnaker.io/location': 'team-a',
        'artifact.spinnaker.io/version': v,
        'strategy.spinnaker.io/max-version-history': '2',
      });
      for (const v of ['v000', 'v001', 'v002', 'v003'])
        await h.cluster.seed({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: `web-${v}`, namespace: 'team-a', annotations: annotations(v) } });
      const newest = h.cluster.find('ReplicaSet', 'team-a', 'web-v003')!;
      const result = resultOf(
        await h.run([
          {
            cleanupArtifacts: {
              account: 'k8s',
              cloudProvider: 'kubernetes',
              manifests: [newest, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'unmanaged' } }],
            },
          },
        ]),
      );
      assert.deepEqual(result, {
        manifestNamesByNamespace: { 'team-a': ['replicaSet web-v000', 'replicaSet web-v001'] },
        createdArtifacts: [],
        boundArtifacts: [],
      });
      assert.deepEqual(
        h.cluster.all('ReplicaSet', 'team-a').map((r) => r.metadata!.name),
        ['web-v002', 'web-v003'],
      );
      assert.deepEqual(resultOf(await h.run([{ cleanupArtifacts: { account: 'k8s', manifests: [newest] } }])), {
        manifestNamesByNamespace: {},
        createdArtifacts: [],
        boundArtifacts: [],
      });
    });
  });
});
