// Strategic merge patch on each core workload kind, with the patch-merge keys of the Kubernetes API types
// and the directives kubectl and Spinnaker send ($patch, $setElementOrder, $retainKeys,
// $deleteFromPrimitiveList). Expected results are what a v1.34 API server returns for the same patch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyStrategicMergePatch } from './strategic-merge-patch.ts';

const smp = (target: unknown, patch: unknown): any => applyStrategicMergePatch(target, patch);

function podSpec(): any {
  return {
    initContainers: [{ name: 'init', image: 'init:1' }],
    containers: [
      {
        name: 'web',
        image: 'web:1',
        ports: [
          { containerPort: 8080, name: 'http', protocol: 'TCP' },
          { containerPort: 9090, name: 'metrics', protocol: 'TCP' },
        ],
        env: [
          { name: 'A', value: '1' },
          { name: 'B', value: '2' },
        ],
        volumeMounts: [{ name: 'config', mountPath: '/etc/config' }],
        args: ['--a', '--b'],
      },
      { name: 'sidecar', image: 'side:1' },
    ],
    volumes: [
      { name: 'config', configMap: { name: 'cfg' } },
      { name: 'cache', emptyDir: {} },
    ],
    imagePullSecrets: [{ name: 'registry' }],
    tolerations: [{ key: 'a', operator: 'Exists' }],
  };
}

function workload(kind: string): any {
  const template = { metadata: { labels: { app: 'x' } }, spec: podSpec() };
  switch (kind) {
    case 'Pod':
      return { apiVersion: 'v1', kind, metadata: { name: 'x', labels: { app: 'x' } }, spec: podSpec() };
    case 'Job':
      return {
        apiVersion: 'batch/v1',
        kind,
        metadata: { name: 'x' },
        spec: { backoffLimit: 6, template: { ...template, spec: { ...podSpec(), restartPolicy: 'Never' } } },
      };
    case 'DaemonSet':
      return {
        apiVersion: 'apps/v1',
        kind,
        metadata: { name: 'x' },
        spec: { selector: { matchLabels: { app: 'x' } }, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } }, template },
      };
    case 'StatefulSet':
      return {
        apiVersion: 'apps/v1',
        kind,
        metadata: { name: 'x' },
        spec: { replicas: 2, serviceName: 'x', selector: { matchLabels: { app: 'x' } }, template, volumeClaimTemplates: [{ metadata: { name: 'data' } }] },
      };
    default:
      return {
        apiVersion: 'apps/v1',
        kind,
        metadata: { name: 'x' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'x' } },
          ...(kind === 'Deployment' ? { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } } } : {}),
          template,
        },
      };
  }
}

/** Where the pod spec sits in each kind. */
function specOf(object: any): any {
  return object.kind === 'Pod' ? object.spec : object.spec.template.spec;
}

/** Wraps a pod-spec patch at the kind's pod spec path. */
function atPodSpec(kind: string, patch: unknown): unknown {
  return kind === 'Pod' ? { spec: patch } : { spec: { template: { spec: patch } } };
}

for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Pod', 'Job']) {
  test(`${kind}: containers merge by name, ports by containerPort, env and volumes by name, volumeMounts by mountPath`, () => {
    const target = workload(kind);
    const out = smp(
      target,
      atPodSpec(kind, {
        containers: [
          {
            name: 'web',
            image: 'web:2',
            ports: [
              { containerPort: 9090, name: 'prom' },
              { containerPort: 7070, name: 'admin' },
            ],
            env: [
              { name: 'B', value: 'two' },
              { name: 'C', value: '3' },
            ],
            volumeMounts: [{ mountPath: '/etc/config', readOnly: true }],
            args: ['--c'],
          },
        ],
        volumes: [
          { name: 'cache', emptyDir: { medium: 'Memory' } },
          { name: 'extra', secret: { secretName: 's' } },
        ],
        imagePullSecrets: [{ name: 'other' }],
        tolerations: [{ key: 'b', operator: 'Exists' }],
      }),
    );
    const spec = specOf(out);
    assert.deepEqual(
      spec.containers.map((c: any) => [c.name, c.image]),
      [
        ['web', 'web:2'],
        ['sidecar', 'side:1'],
      ],
    );
    const web = spec.containers[0];
    assert.deepEqual(web.ports, [
      { containerPort: 8080, name: 'http', protocol: 'TCP' },
      { containerPort: 9090, name: 'prom', protocol: 'TCP' },
      { containerPort: 7070, name: 'admin' },
    ]);
    assert.deepEqual(web.env, [
      { name: 'A', value: '1' },
      { name: 'B', value: 'two' },
      { name: 'C', value: '3' },
    ]);
    assert.deepEqual(web.volumeMounts, [{ name: 'config', mountPath: '/etc/config', readOnly: true }]);
    assert.deepEqual(web.args, ['--c'], 'args has no merge strategy: replaced');
    assert.deepEqual(spec.volumes, [
      { name: 'config', configMap: { name: 'cfg' } },
      { name: 'cache', emptyDir: { medium: 'Memory' } },
      { name: 'extra', secret: { secretName: 's' } },
    ]);
    assert.deepEqual(spec.imagePullSecrets, [{ name: 'registry' }, { name: 'other' }]);
    assert.deepEqual(spec.tolerations, [{ key: 'b', operator: 'Exists' }], 'tolerations have no merge strategy: replaced');
    assert.deepEqual(spec.initContainers, [{ name: 'init', image: 'init:1' }]);
    assert.equal(specOf(target).containers[0].image, 'web:1', 'the target is not changed');
  });

  test(`${kind}: $patch delete and replace on list elements, maps and whole lists`, () => {
    const target = workload(kind);
    const deleted = specOf(
      smp(
        target,
        atPodSpec(kind, {
          containers: [
            { name: 'sidecar', $patch: 'delete' },
            { name: 'web', env: [{ name: 'A', $patch: 'delete' }], ports: [{ containerPort: 8080, $patch: 'delete' }] },
          ],
          volumes: [{ name: 'cache', $patch: 'delete' }],
        }),
      ),
    );
    assert.deepEqual(
      deleted.containers.map((c: any) => c.name),
      ['web'],
    );
    assert.deepEqual(deleted.containers[0].env, [{ name: 'B', value: '2' }]);
    assert.deepEqual(
      deleted.containers[0].ports.map((p: any) => p.containerPort),
      [9090],
    );
    assert.deepEqual(
      deleted.volumes.map((v: any) => v.name),
      ['config'],
    );

    const replacedList = specOf(smp(target, atPodSpec(kind, { containers: [{ name: 'only', image: 'only:1' }, { $patch: 'replace' }] })));
    assert.deepEqual(replacedList.containers, [{ name: 'only', image: 'only:1' }]);

    // Any list element carrying `$patch: replace` makes the whole list the patch's other elements (apimachinery's mergeSlice).
    const replacedByMarker = specOf(
      smp(
        target,
        atPodSpec(kind, {
          volumes: [
            { name: 'config', $patch: 'replace', emptyDir: {} },
            { name: 'tmp', emptyDir: {} },
          ],
        }),
      ),
    );
    assert.deepEqual(replacedByMarker.volumes, [{ name: 'tmp', emptyDir: {} }]);

    const withResources = smp(target, atPodSpec(kind, { containers: [{ name: 'web', resources: { limits: { cpu: '1', memory: '1Gi' } } }] }));
    const replacedMap = specOf(smp(withResources, atPodSpec(kind, { containers: [{ name: 'web', resources: { $patch: 'replace', limits: { cpu: '2' } } }] })));
    assert.deepEqual(replacedMap.containers[0].resources, { limits: { cpu: '2' } });
    assert.equal(replacedMap.containers[0].image, 'web:1');
    assert.equal(replacedMap.containers[1].name, 'sidecar');

    const nulled = specOf(smp(target, atPodSpec(kind, { imagePullSecrets: null, containers: [{ name: 'web', args: null }] })));
    assert.equal(nulled.imagePullSecrets, undefined);
    assert.equal(nulled.containers[0].args, undefined);
  });

  test(`${kind}: $setElementOrder orders merged lists, server-only elements keep their places`, () => {
    const target = workload(kind);
    const reordered = specOf(
      smp(
        target,
        atPodSpec(kind, {
          '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'web' }],
          containers: [{ name: 'web', '$setElementOrder/env': [{ name: 'B' }, { name: 'A' }] }],
        }),
      ),
    );
    assert.deepEqual(
      reordered.containers.map((c: any) => c.name),
      ['sidecar', 'web'],
    );
    assert.deepEqual(
      reordered.containers[1].env.map((e: any) => e.name),
      ['B', 'A'],
    );

    // kubectl apply: the order lists what the configuration has; a container only the server has stays where it was.
    const applied = specOf(
      smp(
        target,
        atPodSpec(kind, {
          '$setElementOrder/containers': [{ name: 'new' }, { name: 'web' }],
          containers: [{ name: 'new', image: 'new:1' }],
        }),
      ),
    );
    assert.deepEqual(
      applied.containers.map((c: any) => c.name),
      ['new', 'web', 'sidecar'],
    );
  });
}

test('Deployment: $retainKeys on the strategy clears the rolling update when switching to Recreate', () => {
  const out = smp(workload('Deployment'), { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: null } } });
  assert.deepEqual(out.spec.strategy, { type: 'Recreate' });
  const volume = smp(workload('Deployment'), {
    spec: { template: { spec: { volumes: [{ name: 'config', $retainKeys: ['name', 'secret'], secret: { secretName: 'now-a-secret' } }] } } },
  });
  assert.deepEqual(volume.spec.template.spec.volumes[0], { name: 'config', secret: { secretName: 'now-a-secret' } });
});

test('DaemonSet: $retainKeys on the update strategy', () => {
  const out = smp(workload('DaemonSet'), { spec: { updateStrategy: { $retainKeys: ['type'], type: 'OnDelete' } } });
  assert.deepEqual(out.spec.updateStrategy, { type: 'OnDelete' });
});

test('StatefulSet: volumeClaimTemplates have no merge key and are replaced', () => {
  const out = smp(workload('StatefulSet'), { spec: { replicas: 3, volumeClaimTemplates: [{ metadata: { name: 'logs' } }] } });
  assert.equal(out.spec.replicas, 3);
  assert.deepEqual(out.spec.volumeClaimTemplates, [{ metadata: { name: 'logs' } }]);
});

test('Service: ports merge by port; selector is a map; $patch delete by port', () => {
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 's' },
    spec: {
      selector: { app: 'web', tier: 'front' },
      ports: [
        { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
        { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' },
      ],
    },
  };
  const out = smp(service, {
    spec: {
      selector: { tier: null, track: 'stable' },
      ports: [
        { port: 80, targetPort: 9000 },
        { port: 8081, name: 'admin' },
      ],
    },
  });
  assert.deepEqual(out.spec.selector, { app: 'web', track: 'stable' });
  assert.deepEqual(out.spec.ports, [
    { name: 'http', port: 80, targetPort: 9000, protocol: 'TCP' },
    { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' },
    { port: 8081, name: 'admin' },
  ]);
  const deleted = smp(service, { spec: { ports: [{ port: 443, $patch: 'delete' }] } });
  assert.deepEqual(
    deleted.spec.ports.map((p: any) => p.port),
    [80],
  );
  const replacedSelector = smp(service, { spec: { selector: { $patch: 'replace', app: 'api' } } });
  assert.deepEqual(replacedSelector.spec.selector, { app: 'api' });
});

test('metadata: finalizers merge as a set, $deleteFromPrimitiveList removes, ownerReferences merge by uid, labels and annotations merge', () => {
  const target = {
    metadata: { name: 'x', finalizers: ['a', 'b'], labels: { keep: '1', drop: '2' }, ownerReferences: [{ uid: 'u1', name: 'one', kind: 'ReplicaSet' }] },
  };
  const out = smp(target, {
    metadata: {
      finalizers: ['c'],
      '$deleteFromPrimitiveList/finalizers': ['a'],
      labels: { drop: null, add: '3' },
      annotations: { note: 'n' },
      ownerReferences: [
        { uid: 'u1', controller: true },
        { uid: 'u2', name: 'two', kind: 'Deployment' },
      ],
    },
  });
  assert.deepEqual(out.metadata.finalizers, ['b', 'c']);
  assert.deepEqual(out.metadata.labels, { keep: '1', add: '3' });
  assert.deepEqual(out.metadata.annotations, { note: 'n' });
  assert.deepEqual(out.metadata.ownerReferences, [
    { uid: 'u1', name: 'one', kind: 'ReplicaSet', controller: true },
    { uid: 'u2', name: 'two', kind: 'Deployment' },
  ]);
  const ordered = smp(target, { metadata: { '$setElementOrder/finalizers': ['b', 'a'] } });
  assert.deepEqual(ordered.metadata.finalizers, ['b', 'a']);
});

test('a patch that sets $patch: delete on the whole object, or replaces the root map', () => {
  const target = { spec: { a: 1 }, metadata: { name: 'x' } };
  assert.deepEqual(smp(target, { spec: { $patch: 'delete' } }), { metadata: { name: 'x' } });
  assert.deepEqual(smp(target, { $patch: 'replace', metadata: { name: 'y' } }), { metadata: { name: 'y' } });
});
