import { after, afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { opsHarness, resultOf, type Harness, type Json } from '../../../../test/support/ops-harness.ts';
import { CONTENT_HASH_ANNOTATION } from './versioning.ts';

/**
 * deployManifest composed from the agent's apply (and cache reads), against a fake cluster. The request
 * bodies follow the shape of Clouddriver's integration fixture requests/deploy_manifest.json (the whole
 * stage context Orca sends), with our own manifests modelled on its manifests/*.yml.
 */
function deployBody(fields: Record<string, unknown>): Json[] {
  return [
    {
      deployManifest: {
        enableTraffic: true,
        optionalArtifacts: [],
        cloudProvider: 'kubernetes',
        trafficManagement: { options: { enableTraffic: false }, enabled: false },
        moniker: {},
        source: 'text',
        account: 'k8s',
        skipExpressionEvaluation: false,
        requiredArtifacts: [],
        manifests: [],
        ...fields,
      },
    },
  ];
}

const deployment = (name: string, image = 'index.docker.io/library/alpine:3.12', extra: Json = {}): Json => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, ...extra.metadata },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image, command: ['tail', '-f', '/dev/null'] }], ...extra.podSpec } },
  },
});
const replicaSet = (name: string, image = 'index.docker.io/library/nginx:1.14.0', metadata: Json = {}): Json => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name, ...metadata },
  spec: {
    replicas: 1,
    selector: { matchLabels: { label1: 'value1' } },
    template: { metadata: { labels: { label1: 'value1' } }, spec: { containers: [{ name: 'nginx', image, ports: [{ containerPort: 80 }] }] } },
  },
});
const configMap = (name: string, data: Record<string, string>, metadata: Json = {}): Json => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...metadata },
  data,
});
const secret = (name: string, data: Record<string, string>, metadata: Json = {}): Json => ({
  apiVersion: 'v1',
  kind: 'Secret',
  type: 'Opaque',
  metadata: { name, ...metadata },
  data,
});
const service = (name: string, selector: Record<string, string>): Json => ({
  kind: 'Service',
  apiVersion: 'v1',
  metadata: { name, labels: { app: name } },
  spec: { type: 'ClusterIP', ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 80 }], selector },
});
const dockerArtifact = (name: string, reference: string): Json => ({
  name,
  type: 'docker/image',
  reference,
  version: reference.slice(name.length + 1),
  location: '',
  metadata: {},
  customKind: false,
});

function applies(h: Harness): Json[] {
  return h.cluster.calls.filter((c) => c.request.type === 'apply').map((c) => (c.request as Json).manifest);
}

describe('deployManifest', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await opsHarness({ account: { namespaces: ['default', 'team-a', 'team-b'] } });
  });
  afterEach(async () => h.close());
  after(() => undefined);

  test('the fixture request: namespaceOverride, moniker, Orca fields ignored; the OperationResult Orca promotes', async () => {
    const task = await h.run(deployBody({ namespaceOverride: 'team-a', moniker: { app: 'deploy-from-text' }, manifests: [deployment('deployment1')] }));
    const result = resultOf(task);
    assert.deepEqual(result.manifestNamesByNamespace, { 'team-a': ['deployment deployment1'] });
    assert.equal(result.manifests.length, 1);
    assert.equal(result.manifests[0].metadata.namespace, 'team-a');
    assert.match(result.manifests[0].metadata.uid, /^uid-/);
    assert.deepEqual(result.createdArtifacts, [
      { type: 'kubernetes/deployment', name: 'deployment1', location: 'team-a', version: '', reference: 'deployment1', metadata: { account: 'k8s' } },
    ]);
    assert.deepEqual(result.boundArtifacts, []);
    const [applied] = applies(h);
    assert.equal(applied.metadata.annotations['moniker.spinnaker.io/application'], 'deploy-from-text');
    assert.equal(applied.metadata.annotations['moniker.spinnaker.io/cluster'], 'deployment deployment1');
    assert.equal(applied.metadata.annotations['artifact.spinnaker.io/type'], 'kubernetes/deployment');
    assert.deepEqual(applied.metadata.labels, { 'app.kubernetes.io/name': 'deploy-from-text', 'app.kubernetes.io/managed-by': 'spinnaker' });
    assert.equal(applied.spec.template.metadata.labels['app.kubernetes.io/managed-by'], 'spinnaker');
    assert.equal(applied.spec.template.metadata.annotations['moniker.spinnaker.io/application'], 'deploy-from-text');
    const phases = task.history.map((l) => l.phase);
    assert.ok(phases.includes('DEPLOY_KUBERNETES_MANIFEST'));
    assert.ok(task.history.some((l) => l.status === 'Deploy manifest task completed successfully for all manifests in account k8s'));
  });

  test('a manifest without a namespace goes to default; cluster-scoped kinds have none', async () => {
    const result = resultOf(
      await h.run(
        deployBody({
          moniker: { app: 'default-ns' },
          manifests: [deployment('deployment1'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', namespace: 'ignored' } }],
        }),
      ),
    );
    assert.deepEqual(result.manifestNamesByNamespace, { '': ['namespace team-a'], default: ['deployment deployment1'] });
    assert.equal(applies(h)[0].metadata.namespace, undefined);
  });

  test('a namespace the account is not configured for is a 400 naming wrongNamespace, and runs nothing', async () => {
    const res = await h.post(
      '/kubernetes/ops',
      deployBody({
        namespaceOverride: 'nonexistent',
        moniker: { app: 'namespace-forbidden' },
        manifests: [{ ...deployment('deployment1'), metadata: { name: 'deployment1', namespace: 'default' } }],
      }),
    );
    assert.equal(res.status, 400);
    assert.match(res.body.message, /wrongNamespace/);
    assert.match(
      res.body.message,
      /^\[0\]\.deployManifest\.manifests\[0\]\.metadata\.namespace: namespace "nonexistent" is not one of account k8s's namespaces/,
    );
    assert.equal(h.cluster.calls.length, 0);
  });

  test('multi-document requests deploy in priority order: Namespace, ConfigMap, Service, workloads', async () => {
    const result = resultOf(
      await h.run(
        deployBody({
          moniker: { app: 'multi' },
          manifests: [
            deployment('multi'),
            service('myservice', { app: 'multi' }),
            null,
            { apiVersion: 'v1', kind: 'List', items: [configMap('cfg', { a: '1' }, { annotations: { 'strategy.spinnaker.io/versioned': 'false' } })] },
          ],
        }),
      ),
    );
    assert.deepEqual(
      applies(h).map((m) => m.kind),
      ['ConfigMap', 'Service', 'Deployment'],
    );
    assert.deepEqual(result.manifestNamesByNamespace, { default: ['configMap cfg', 'service myservice', 'deployment multi'] });
  });

  test('versioned kinds: v000, identical again reuses it, changed makes v001; the annotation turns it off', async () => {
    const deploy = (data: Record<string, string>, metadata: Json = {}) =>
      h.run(deployBody({ moniker: { app: 'cfgapp' }, manifests: [configMap('myconfig', data, metadata)] }));
    assert.deepEqual(resultOf(await deploy({ 'file.txt': 'Hello world!' })).manifestNamesByNamespace, { default: ['configMap myconfig-v000'] });
    const first = h.cluster.find('ConfigMap', 'default', 'myconfig-v000')!;
    assert.equal(first.metadata!.annotations!['artifact.spinnaker.io/version'], 'v000');
    assert.equal(first.metadata!.annotations!['moniker.spinnaker.io/sequence'], '0');
    assert.equal(first.metadata!.labels!['moniker.spinnaker.io/sequence'], '0');
    assert.match(first.metadata!.annotations![CONTENT_HASH_ANNOTATION]!, /^[0-9a-f]{64}$/);
    const again = resultOf(await deploy({ 'file.txt': 'Hello world!' }));
    assert.deepEqual(again.manifestNamesByNamespace, { default: ['configMap myconfig-v000'] });
    assert.equal(again.createdArtifacts[0].version, 'v000');
    assert.deepEqual(resultOf(await deploy({ 'file.txt': 'Hello world!', newfile: 'new content' })).manifestNamesByNamespace, {
      default: ['configMap myconfig-v001'],
    });
    assert.deepEqual(resultOf(await deploy({ a: 'b' }, { annotations: { 'strategy.spinnaker.io/versioned': 'false' } })).manifestNamesByNamespace, {
      default: ['configMap myconfig'],
    });
    // The description's versioned flag overrides the kind's default; the annotation overrides both.
    const unversioned = resultOf(await h.run(deployBody({ versioned: false, manifests: [configMap('plain', { a: '1' })] })));
    assert.deepEqual(unversioned.manifestNamesByNamespace, { default: ['configMap plain'] });
    const forced = resultOf(
      await h.run(
        deployBody({ versioned: false, manifests: [configMap('forced', { a: '1' }, { annotations: { 'strategy.spinnaker.io/versioned': 'true' } })] }),
      ),
    );
    assert.deepEqual(forced.manifestNamesByNamespace, { default: ['configMap forced-v000'] });
  });

  test('a ReplicaSet deployed twice is v000 then v001 (its pod template carries the version); a Secret is never reused', async () => {
    const rs = () => h.run(deployBody({ namespaceOverride: 'team-a', moniker: { app: 'nginx' }, manifests: [replicaSet('nginx-newest-test')] }));
    assert.deepEqual(resultOf(await rs()).manifestNamesByNamespace, { 'team-a': ['replicaSet nginx-newest-test-v000'] });
    const second = resultOf(await rs());
    assert.deepEqual(second.manifestNamesByNamespace, { 'team-a': ['replicaSet nginx-newest-test-v001'] });
    const v1 = h.cluster.find('ReplicaSet', 'team-a', 'nginx-newest-test-v001')!;
    assert.equal((v1.spec as Json).template.metadata.annotations['artifact.spinnaker.io/version'], 'v001');
    assert.equal((v1.spec as Json).template.metadata.labels['moniker.spinnaker.io/sequence'], '1');
    assert.equal(v1.metadata!.annotations!['moniker.spinnaker.io/cluster'], 'replicaSet nginx-newest-test');
    const sec = () => h.run(deployBody({ moniker: { app: 'sec' }, manifests: [secret('mysecret', { 'file.txt': 'SGVsbG8gd29ybGQK' })] }));
    assert.deepEqual(resultOf(await sec()).manifestNamesByNamespace, { default: ['secret mysecret-v000'] });
    const secondSecret = resultOf(await sec());
    assert.deepEqual(secondSecret.manifestNamesByNamespace, { default: ['secret mysecret-v001'] });
    assert.equal(secondSecret.manifests[0].data, undefined, 'Secret values never appear in a result');
    assert.equal(h.cluster.find('Secret', 'default', 'mysecret-v001')!.metadata!.annotations![CONTENT_HASH_ANNOTATION], undefined, 'no hash of Secret values');
  });

  test('docker images bind: optional, required, required over optional; an unbound required artifact fails the task', async () => {
    const image = 'index.docker.io/library/nginx';
    let result = resultOf(await h.run(deployBody({ manifests: [deployment('opt', image)], optionalArtifacts: [dockerArtifact(image, `${image}:1.14.0`)] })));
    assert.equal((h.cluster.find('Deployment', 'default', 'opt')!.spec as Json).template.spec.containers[0].image, `${image}:1.14.0`);
    assert.deepEqual(result.boundArtifacts, [dockerArtifact(image, `${image}:1.14.0`)]);

    result = resultOf(
      await h.run(
        deployBody({
          manifests: [deployment('both', image)],
          requiredArtifacts: [dockerArtifact(image, `${image}:1.16`)],
          optionalArtifacts: [dockerArtifact(image, `${image}:1.15`)],
        }),
      ),
    );
    assert.equal((h.cluster.find('Deployment', 'default', 'both')!.spec as Json).template.spec.containers[0].image, `${image}:1.16`);

    // A tagged image in the manifest binds too (the name matches without the tag) unless binding is off.
    resultOf(await h.run(deployBody({ manifests: [deployment('tagged', `${image}:1.0`)], optionalArtifacts: [dockerArtifact(image, `${image}:2.0`)] })));
    assert.equal((h.cluster.find('Deployment', 'default', 'tagged')!.spec as Json).template.spec.containers[0].image, `${image}:2.0`);
    resultOf(
      await h.run(
        deployBody({
          enableArtifactBinding: false,
          manifests: [deployment('unbound', `${image}:1.0`)],
          requiredArtifacts: [dockerArtifact(image, `${image}:2.0`)],
        }),
      ),
    );
    assert.equal((h.cluster.find('Deployment', 'default', 'unbound')!.spec as Json).template.spec.containers[0].image, `${image}:1.0`);

    const failed = await h.run(deployBody({ manifests: [deployment('missing', 'busybox')], requiredArtifacts: [dockerArtifact(image, `${image}:1.16`)] }));
    assert.equal(failed.status.failed, true);
    assert.equal(failed.status.retryable, false);
    assert.match(
      failed.resultObjects[0].message,
      /^The following required artifacts could not be bound: 'docker\/image index\.docker\.io\/library\/nginx \(index\.docker\.io\/library\/nginx:1\.16\)'/,
    );
    assert.equal(failed.resultObjects[0].cause, 'IllegalArgumentException');
    assert.equal(h.cluster.find('Deployment', 'default', 'missing'), undefined, 'nothing is applied when a required artifact does not bind');
  });

  test('a versioned ConfigMap binds into the Deployment of the same request; a given kubernetes artifact binds in its namespace only', async () => {
    const withVolume = (name: string, volume: Json) => deployment(name, 'nginx', { podSpec: { volumes: [volume] } });
    const result = resultOf(
      await h.run(
        deployBody({
          moniker: { app: 'vol' },
          manifests: [withVolume('web', { name: 'v', configMap: { name: 'settings' } }), configMap('settings', { a: '1' })],
        }),
      ),
    );
    assert.deepEqual(result.manifestNamesByNamespace, { default: ['configMap settings-v000', 'deployment web'] });
    assert.equal((h.cluster.find('Deployment', 'default', 'web')!.spec as Json).template.spec.volumes[0].configMap.name, 'settings-v000');
    assert.deepEqual(
      result.boundArtifacts.map((a: Json) => a.reference),
      ['settings-v000'],
    );

    const artifact = (location: string) => ({
      name: 'creds',
      type: 'kubernetes/secret',
      reference: 'creds-v004',
      version: 'v004',
      location,
      metadata: { account: 'k8s' },
    });
    resultOf(
      await h.run(
        deployBody({
          namespaceOverride: 'team-a',
          manifests: [withVolume('a', { name: 'v', secret: { secretName: 'creds' } })],
          optionalArtifacts: [artifact('team-a')],
        }),
      ),
    );
    assert.equal((h.cluster.find('Deployment', 'team-a', 'a')!.spec as Json).template.spec.volumes[0].secret.secretName, 'creds-v004');
    resultOf(
      await h.run(
        deployBody({
          namespaceOverride: 'team-b',
          manifests: [withVolume('b', { name: 'v', secret: { secretName: 'creds' } })],
          optionalArtifacts: [artifact('team-a')],
        }),
      ),
    );
    assert.equal((h.cluster.find('Deployment', 'team-b', 'b')!.spec as Json).template.spec.volumes[0].secret.secretName, 'creds');
  });

  test('label selectors deploy only what matches; nothing selected fails unless allowed; replace is refused', async () => {
    const manifests = [
      configMap('sample-one', { f: '1' }, { labels: { 'sample-configmap-selector': 'one', 'selector-test': 'test' } }),
      configMap('sample-two', { f: '2' }, { labels: { 'sample-configmap-selector': 'two', 'selector-test': 'test' } }),
    ];
    const labelSelectors = { selectors: [{ kind: 'EQUALS', key: 'sample-configmap-selector', values: ['one'] }] };
    const result = resultOf(await h.run(deployBody({ labelSelectors, moniker: { app: 'deploy-from-text' }, manifests })));
    assert.deepEqual(result.manifestNamesByNamespace, { default: ['configMap sample-one-v000'] });
    assert.equal(h.cluster.all('ConfigMap').length, 1);

    const none = await h.run(
      deployBody({ labelSelectors: { selectors: [{ kind: 'EQUALS', key: 'sample-configmap-selector', values: ['three'] }] }, manifests }),
    );
    assert.equal(none.status.failed, true);
    assert.match(none.resultObjects[0].message, /^nothing deployed to account k8s with label selector\(s\) sample-configmap-selector=three/);
    const allowed = await h.run(deployBody({ allowNothingSelected: true, labelSelectors: { selectors: [{ kind: 'EXISTS', key: 'nope' }] }, manifests }));
    assert.equal(allowed.status.failed, false);
    assert.deepEqual(allowed.resultObjects[0].manifestNamesByNamespace, {});

    const replace = await h.run(deployBody({ labelSelectors, manifests: [configMap('r', {}, { annotations: { 'strategy.spinnaker.io/replace': 'true' } })] }));
    assert.equal(replace.resultObjects[0].message, 'label selectors not supported with replace strategy, not deploying');
  });

  test('traffic: services are annotated and their selectors join the pod template labels; errors as Clouddriver words them', async () => {
    const body = (fields: Json) =>
      deployBody({
        moniker: { app: 'red-black' },
        strategy: 'RED_BLACK',
        trafficManagement: { enabled: true, options: { strategy: 'redblack', enableTraffic: true } },
        ...fields,
      });
    const result = resultOf(
      await h.run(body({ manifests: [replicaSet('red-black'), service('service1', { pointer: 'red-blacktraffichere' })], services: ['service service1'] })),
    );
    assert.deepEqual(result.manifestNamesByNamespace, { default: ['service service1', 'replicaSet red-black-v000'] });
    const rs = h.cluster.find('ReplicaSet', 'default', 'red-black-v000')!;
    assert.equal(rs.metadata!.annotations!['traffic.spinnaker.io/load-balancers'], '["service service1"]');
    assert.equal((rs.spec as Json).template.metadata.labels.pointer, 'red-blacktraffichere');
    assert.equal((rs.spec as Json).template.metadata.labels.label1, 'value1');

    // The Service can come from the cluster (deployed earlier) instead of the request.
    resultOf(await h.run(body({ manifests: [replicaSet('red-black')], services: ['service service1'] })));
    assert.equal((h.cluster.find('ReplicaSet', 'default', 'red-black-v001')!.spec as Json).template.metadata.labels.pointer, 'red-blacktraffichere');
    // enableTraffic false: annotated, not attached.
    resultOf(await h.run(body({ enableTraffic: false, manifests: [replicaSet('quiet')], services: ['service service1'] })));
    const quiet = h.cluster.find('ReplicaSet', 'default', 'quiet-v000')!;
    assert.equal(quiet.metadata!.annotations!['traffic.spinnaker.io/load-balancers'], '["service service1"]');
    assert.equal((quiet.spec as Json).template.metadata.labels.pointer, undefined);

    const cases: Array<[Json, RegExp]> = [
      [{ manifests: [replicaSet('x')], services: ['service ghost'] }, /^Load balancer service ghost does not exist$/],
      [{ manifests: [replicaSet('x')], services: ['ghost'] }, /Load balancers must be specified in the form '\{kind\} \{name\}'/],
      [
        { manifests: [replicaSet('x'), service('s2', { label1: 'other' })], services: ['service s2'] },
        /^Service selector must have no label keys in common with target workload$/,
      ],
      [
        { manifests: [replicaSet('x', undefined, { annotations: { 'strategy.spinnaker.io/max-version-history': '1' } })] },
        /conflicts with the behavior of the Red\/Black rollout strategy/,
      ],
    ];
    for (const [fields, message] of cases) {
      const failed = await h.run(body(fields));
      assert.equal(failed.status.failed, true, JSON.stringify(fields));
      assert.match(failed.resultObjects[0].message, message);
    }
  });

  test('without top-level services, an enabled trafficManagement counts as Orca maps it', async () => {
    await h.cluster.seed({ ...service('svc', { pointer: 'tm' }), metadata: { name: 'svc', namespace: 'default' } });
    const trafficManagement = { enabled: true, options: { strategy: 'redblack', enableTraffic: true, services: ['service svc'] } };
    resultOf(await h.run(deployBody({ enableTraffic: undefined, trafficManagement, manifests: [replicaSet('tm')] })));
    const rs = h.cluster.find('ReplicaSet', 'default', 'tm-v000')!;
    assert.equal((rs.spec as Json).template.metadata.labels.pointer, 'tm');
    const limited = await h.run(
      deployBody({ trafficManagement, manifests: [replicaSet('tm2', undefined, { annotations: { 'strategy.spinnaker.io/max-version-history': '1' } })] }),
    );
    assert.match(limited.resultObjects[0].message, /Red\/Black rollout strategy/, 'the options strategy is the description strategy');
  });

  test('strategy annotations choose how the agent applies', async () => {
    const strategies: Array<[Record<string, string>, string, boolean]> = [
      [{}, 'client-side', false],
      [{ 'strategy.spinnaker.io/recreate': 'true' }, 'recreate', false],
      [{ 'strategy.spinnaker.io/replace': 'true' }, 'replace', false],
      [{ 'strategy.spinnaker.io/server-side-apply': 'true' }, 'server-side', false],
      [{ 'strategy.spinnaker.io/server-side-apply': 'force-conflicts' }, 'server-side', true],
      [{ 'strategy.spinnaker.io/server-side-apply': 'false' }, 'client-side', false],
      [{ 'strategy.spinnaker.io/recreate': 'TRUE', 'strategy.spinnaker.io/replace': 'true' }, 'recreate', false],
    ];
    for (const [annotations, strategy, force] of strategies) {
      h.cluster.calls.length = 0;
      resultOf(await h.run(deployBody({ manifests: [deployment('s', 'nginx', { metadata: { annotations } })] })));
      const call = h.cluster.calls.find((c) => c.request.type === 'apply')!.request as Json;
      assert.equal(call.strategy, strategy, JSON.stringify(annotations));
      assert.equal(call.forceConflicts ?? false, force, JSON.stringify(annotations));
    }
  });

  test('use-source-capacity copies the replicas of the latest version', async () => {
    const annotations = { 'strategy.spinnaker.io/use-source-capacity': 'true' };
    resultOf(await h.run(deployBody({ manifests: [replicaSet('cap', 'nginx:1', { annotations })] })));
    await h.cluster.seed({
      ...h.cluster.find('ReplicaSet', 'default', 'cap-v000')!,
      spec: { ...(h.cluster.find('ReplicaSet', 'default', 'cap-v000')!.spec as Json), replicas: 5 },
    });
    resultOf(await h.run(deployBody({ manifests: [replicaSet('cap', 'nginx:2', { annotations })] })));
    assert.equal((h.cluster.find('ReplicaSet', 'default', 'cap-v001')!.spec as Json).replicas, 5);
    // Unversioned: the object itself.
    await h.cluster.seed({ ...deployment('steady'), metadata: { name: 'steady', namespace: 'default' }, spec: { ...deployment('steady').spec, replicas: 7 } });
    resultOf(await h.run(deployBody({ manifests: [deployment('steady', 'nginx', { metadata: { annotations } })] })));
    assert.equal((h.cluster.find('Deployment', 'default', 'steady')!.spec as Json).replicas, 7);
  });

  test('generateName creates a new object and the result names it; skipSpecTemplateLabels leaves the template labels', async () => {
    const result = resultOf(
      await h.run(
        deployBody({
          manifests: [{ apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'probe-' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } }],
        }),
      ),
    );
    const [name] = result.manifestNamesByNamespace.default;
    assert.match(name, /^pod probe-\w+$/);
    assert.equal((h.cluster.calls.find((c) => c.request.type === 'apply')!.request as Json).strategy, 'create');
    assert.equal(result.createdArtifacts[0].reference, name.slice('pod '.length));
    resultOf(await h.run(deployBody({ skipSpecTemplateLabels: true, moniker: { app: 'skip' }, manifests: [deployment('skip')] })));
    assert.deepEqual((h.cluster.find('Deployment', 'default', 'skip')!.spec as Json).template.metadata.labels, { app: 'skip' });
  });

  test('an API server rejection fails the task with its status, reason and causes', async () => {
    h.cluster.failures.push((request) =>
      request.type === 'apply'
        ? {
            httpStatus: 422,
            errorCode: 'KUBE_API_ERROR',
            message: 'apply failed with HTTP 422',
            body: {
              kind: 'Status',
              status: 'Failure',
              reason: 'Invalid',
              message: 'Deployment.apps "bad" is invalid: spec.selector: Required value',
              details: {
                causes: [
                  { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.selector' },
                  { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.template' },
                ],
              },
              code: 422,
            },
          }
        : undefined,
    );
    const task = await h.run(deployBody({ manifests: [{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'bad' }, spec: {} }] }));
    assert.equal(task.status.failed, true);
    const failure = task.resultObjects[0];
    assert.equal(failure.type, 'EXCEPTION');
    assert.equal(
      failure.message,
      'Deploy of deployment bad failed: 422 Invalid: Deployment.apps "bad" is invalid: spec.selector: Required value; spec.template: Required value',
    );
    assert.deepEqual(
      failure.details.kubernetes.causes.map((c: Json) => c.field),
      ['spec.selector', 'spec.template'],
    );
    assert.equal(failure.details.httpStatus, 422);
    assert.equal(failure.details.code, 'KUBE_API_ERROR');
    assert.match(
      task.status.status,
      /^Orchestration failed: KubernetesDeployManifestOperation \| KubernetesOperationException: \[Deploy of deployment bad failed: 422 Invalid/,
    );
  });

  test('a forbidden kind fails with the API server 403; an unknown kind with the agent 404', async () => {
    h.cluster.failures.push({
      httpStatus: 403,
      errorCode: 'KUBE_API_ERROR',
      body: {
        kind: 'Status',
        reason: 'Forbidden',
        message: 'secrets is forbidden: User "system:serviceaccount:x:agent" cannot create resource "secrets"',
        code: 403,
      },
    });
    const forbidden = await h.run(deployBody({ versioned: false, manifests: [secret('s', {})] }));
    assert.match(forbidden.resultObjects[0].message, /^Deploy of secret s failed: 403 Forbidden: secrets is forbidden/);
    const unknown = await h.run(deployBody({ manifests: [{ apiVersion: 'x.example.com/v1', kind: 'Gizmo', metadata: { name: 'g' } }] }));
    assert.match(unknown.resultObjects[0].message, /^Deploy of Gizmo\.x\.example\.com g failed: 404 Not Found: account k8s serves no kind Gizmo/);
  });

  test('the manifest may come as an embedded/base64 artifact; bad descriptions are 400s', async () => {
    const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-artifact\ndata:\n  a: "1"\n---\n';
    const result = resultOf(
      await h.run(
        deployBody({
          source: 'artifact',
          manifests: undefined,
          manifestArtifact: { type: 'embedded/base64', reference: Buffer.from(yaml).toString('base64') },
        }),
      ),
    );
    assert.deepEqual(result.manifestNamesByNamespace, { default: ['configMap from-artifact-v000'] });
    const cases: Array<[Json, RegExp]> = [
      [{ manifests: [] }, /manifests: at least one manifest is required/],
      [
        { manifests: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', labels: { a: 1 } } }] },
        /manifests\[0\]\.metadata\.labels\.a: expected a string/,
      ],
      [{ manifests: [configMap('x', {})], requiredArtifacts: [{ type: 7 }] }, /requiredArtifacts\[0\]\.type: expected a string/],
      [
        { manifests: [configMap('x', {})], labelSelectors: { selectors: [{ kind: 'MAYBE', key: 'a' }] } },
        /labelSelectors\.selectors\[0\]\.kind: expected one of/,
      ],
      [{ manifests: undefined, manifestArtifact: { type: 'github/file', reference: 'x' } }, /are resolved by Orca/],
    ];
    for (const [fields, message] of cases) {
      const res = await h.post('/kubernetes/ops', deployBody(fields));
      assert.equal(res.status, 400, JSON.stringify(fields));
      assert.match(res.body.message, message);
    }
  });
});
