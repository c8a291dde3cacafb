import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../../common/kube-object.ts';
import { bindArtifacts, dockerName, unboundRequired, type Artifact } from './artifact-binding.ts';
import { kubeSelectorText, parseSelectorList, selectorMatches } from './label-selector.ts';
import { trafficPatch } from './traffic-ops.ts';
import { chooseVersion, contentHash, formatVersion, parseVersion, priorVersions } from './versioning.ts';

type Json = any;

describe('artifact binding (Clouddriver ArtifactReplacer)', () => {
  const docker = (name: string, reference: string): Artifact => ({ type: 'docker/image', name, reference });

  test('docker names drop the tag or digest (and, as in Clouddriver, a bare registry port)', () => {
    assert.equal(dockerName('gcr.io/x/web:1.2'), 'gcr.io/x/web');
    assert.equal(dockerName('gcr.io/x/web@sha256:abc'), 'gcr.io/x/web');
    assert.equal(dockerName('nginx'), 'nginx');
    assert.equal(dockerName('localhost:5000/web'), 'localhost');
  });

  test('workloads: containers and init containers at any depth (a CronJob job template), later artifacts win', () => {
    const cronJob: Json = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      spec: {
        jobTemplate: { spec: { template: { spec: { initContainers: [{ image: 'busybox' }], containers: [{ image: 'app:old' }, { image: 'sidecar:1' }] } } } },
      },
    };
    const bound = bindArtifacts(
      cronJob,
      'batch',
      'CronJob',
      [docker('app', 'app:1'), docker('app', 'app:2'), docker('busybox', 'busybox:1.36'), docker('unused', 'unused:1')],
      'web',
      'k8s',
    );
    const podSpec = cronJob.spec.jobTemplate.spec.template.spec;
    assert.deepEqual(
      [...podSpec.initContainers, ...podSpec.containers].map((c: Json) => c.image),
      ['busybox:1.36', 'app:2', 'sidecar:1'],
    );
    assert.deepEqual(
      bound.map((a) => a.reference),
      ['app:1', 'app:2', 'busybox:1.36'],
    );
  });

  test('a bare Pod binds only an exact image name; kinds without replacers bind nothing', () => {
    const pod: Json = { kind: 'Pod', spec: { containers: [{ image: 'nginx:1' }, { image: 'redis' }] } };
    bindArtifacts(pod, '', 'Pod', [docker('nginx', 'nginx:2'), docker('redis', 'redis:7')], 'web', 'k8s');
    assert.deepEqual(
      pod.spec.containers.map((c: Json) => c.image),
      ['nginx:1', 'redis:7'],
    );
    const cm: Json = { kind: 'ConfigMap', data: { image: 'nginx' } };
    assert.deepEqual(bindArtifacts(cm, '', 'ConfigMap', [docker('nginx', 'nginx:2')], 'web', 'k8s'), []);
  });

  test('ConfigMap and Secret references everywhere a pod spec names them; only in their namespace and account', () => {
    const deployment: Json = {
      kind: 'Deployment',
      spec: {
        template: {
          spec: {
            volumes: [
              { configMap: { name: 'cfg' } },
              { secret: { secretName: 'sec' } },
              { projected: { sources: [{ configMap: { name: 'cfg' } }, { secret: { name: 'sec' } }] } },
            ],
            containers: [
              {
                image: 'x',
                envFrom: [{ configMapRef: { name: 'cfg' } }, { secretRef: { name: 'sec' } }],
                env: [{ valueFrom: { configMapKeyRef: { name: 'cfg' } } }, { valueFrom: { secretKeyRef: { name: 'sec' } } }],
              },
            ],
          },
        },
      },
    };
    const cfg: Artifact = { type: 'kubernetes/configMap', name: 'cfg', reference: 'cfg-v002', location: 'web', metadata: { account: 'k8s' } };
    const sec: Artifact = { type: 'kubernetes/secret', name: 'sec', reference: 'sec-v001', location: 'web' };
    const elsewhere: Artifact = { type: 'kubernetes/configMap', name: 'cfg', reference: 'cfg-v009', location: 'other' };
    const otherAccount: Artifact = { type: 'kubernetes/secret', name: 'sec', reference: 'sec-v009', location: 'web', metadata: { account: 'prod' } };
    const bound = bindArtifacts(deployment, 'apps', 'Deployment', [elsewhere, otherAccount, cfg, sec], 'web', 'k8s');
    assert.deepEqual(bound, [cfg, sec]);
    const text = JSON.stringify(deployment);
    assert.equal(text.match(/cfg-v002/g)?.length, 4);
    assert.equal(text.match(/sec-v001/g)?.length, 4);
    assert.deepEqual(unboundRequired([cfg, otherAccount], bound), [otherAccount]);
  });

  test('an HPA binds its scale target to a versioned ReplicaSet or a Deployment', () => {
    const hpa: Json = { kind: 'HorizontalPodAutoscaler', spec: { scaleTargetRef: { kind: 'ReplicaSet', name: 'web' } } };
    bindArtifacts(
      hpa,
      'autoscaling',
      'HorizontalPodAutoscaler',
      [
        { type: 'kubernetes/replicaSet', name: 'web', reference: 'web-v004', location: 'ns' },
        { type: 'kubernetes/deployment', name: 'web', reference: 'nope', location: 'ns' },
      ],
      'ns',
      'k8s',
    );
    assert.equal(hpa.spec.scaleTargetRef.name, 'web-v004');
  });
});

describe('label selectors', () => {
  const list = parseSelectorList(
    {
      selectors: [
        { kind: 'EQUALS', key: 'app', values: ['web'] },
        { kind: 'NOT_EQUALS', key: 'tier', values: ['db'] },
        { kind: 'CONTAINS', key: 'env', values: ['a', 'b'] },
        { kind: 'NOT_CONTAINS', key: 'zone', values: ['x'] },
        { kind: 'EXISTS', key: 'owner' },
        { kind: 'not_exists', key: 'canary' },
      ],
    },
    'labelSelectors',
  )!;

  test('as Kubernetes selector text', () => {
    assert.equal(list.text, 'app=web,tier!=db,env in (a,b),zone notin (x),owner,!canary');
    assert.equal(parseSelectorList({ selectors: [] }, 'p'), undefined);
  });

  test("matched against a manifest's labels (missing keys satisfy != and notin)", () => {
    assert.equal(selectorMatches(list, { app: 'web', env: 'a', owner: 'me' }), true);
    assert.equal(selectorMatches(list, { app: 'web', env: 'a', owner: 'me', tier: 'db' }), false);
    assert.equal(selectorMatches(list, { app: 'web', env: 'c', owner: 'me' }), false);
    assert.equal(selectorMatches(list, { app: 'web', env: 'b', owner: 'me', canary: 'true' }), false);
    assert.equal(selectorMatches(list, {}), false);
  });

  test('a workload selector as list-call text', () => {
    assert.equal(
      kubeSelectorText({
        matchLabels: { app: 'web' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['a', 'b'] },
          { key: 'x', operator: 'DoesNotExist' },
        ],
      }),
      'app=web,tier in (a,b),!x',
    );
    assert.equal(kubeSelectorText({}), undefined);
  });
});

describe('versioning', () => {
  const versioned = (name: string, version: string, created: string, hash?: string): KubeObject => ({
    metadata: {
      name: `${name}-${version}`,
      creationTimestamp: created,
      annotations: {
        'artifact.spinnaker.io/type': 'kubernetes/configMap',
        'artifact.spinnaker.io/name': name,
        'artifact.spinnaker.io/version': version,
        ...(hash ? { 'artifact.scale-agent.io/content-sha256': hash } : {}),
      },
    },
  });

  test('versions parse and format as Clouddriver writes them', () => {
    assert.equal(formatVersion(0), 'v000');
    assert.equal(formatVersion(1234), 'v1234');
    assert.equal(parseVersion('v012'), 12);
    assert.equal(parseVersion('12'), undefined);
  });

  test('prior versions of the same name, oldest first; the next is the highest plus one; an identical one is reused', () => {
    const objects = [
      versioned('cfg', 'v002', '2024-01-03T00:00:00Z', 'h2'),
      versioned('cfg', 'v000', '2024-01-01T00:00:00Z', 'h0'),
      versioned('other', 'v007', '2024-01-01T00:00:00Z'),
      { metadata: { name: 'cfg' } },
    ];
    const prior = priorVersions(objects, 'cfg');
    assert.deepEqual(
      prior.map((p) => p.version),
      [0, 2],
    );
    assert.deepEqual(chooseVersion(prior, 'h0'), { version: 0, reused: true });
    assert.deepEqual(chooseVersion(prior, 'new'), { version: 3, reused: false });
    assert.deepEqual(chooseVersion([], undefined), { version: 0, reused: false });
  });

  test('the content hash ignores metadata and key order', () => {
    const a = contentHash({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, data: { x: '1', y: '2' } });
    const b = contentHash({ data: { y: '2', x: '1' }, kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'b', labels: { l: '1' } } });
    assert.equal(a, b);
    assert.notEqual(a, contentHash({ apiVersion: 'v1', kind: 'ConfigMap', data: { x: '1' } }));
  });
});

describe('traffic patches (KubernetesServiceHandler attachPatch / detachPatch)', () => {
  const rs: KubeObject = { kind: 'ReplicaSet', spec: { template: { metadata: { labels: { app: 'web', 'traffic/on': 'old' } } } } };

  test('enable adds or replaces the selector labels in the pod template, escaping keys', () => {
    assert.deepEqual(trafficPatch('enable', { 'traffic/on': 'yes', pointer: 'here' }, rs), [
      { op: 'replace', path: '/spec/template/metadata/labels/traffic~1on', value: 'yes' },
      { op: 'add', path: '/spec/template/metadata/labels/pointer', value: 'here' },
    ]);
    assert.deepEqual(trafficPatch('enable', { app: 'web' }, rs), []);
  });

  test('disable removes the keys that are there; a Pod uses its own labels', () => {
    assert.deepEqual(trafficPatch('disable', { 'traffic/on': 'x', absent: 'y' }, rs), [{ op: 'remove', path: '/spec/template/metadata/labels/traffic~1on' }]);
    assert.deepEqual(trafficPatch('disable', { pointer: 'x' }, { kind: 'Pod', metadata: { labels: { pointer: 'x' } } }), [
      { op: 'remove', path: '/metadata/labels/pointer' },
    ]);
    assert.deepEqual(trafficPatch('enable', { pointer: 'x' }, { kind: 'Pod', metadata: {} }), [
      { op: 'add', path: '/metadata/labels', value: {} },
      { op: 'add', path: '/metadata/labels/pointer', value: 'x' },
    ]);
  });
});
