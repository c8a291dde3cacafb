import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fullResourceName, resolveKind, spinnakerKindName, spinnakerKindOf, splitFullResourceName } from './kind-names.ts';

const AVAILABLE = [
  { group: 'apps', kind: 'Deployment' },
  { group: 'extensions', kind: 'Ingress' },
  { group: 'networking.k8s.io', kind: 'Ingress' },
  { group: '', kind: 'Service' },
  { group: 'example.com', kind: 'Widget' },
  { group: 'other.io', kind: 'Widget' },
  { group: 'coordination.k8s.io', kind: 'Lease' },
];

test('Kubernetes kind → Spinnaker spelling', () => {
  assert.equal(spinnakerKindName('apps', 'ReplicaSet'), 'replicaSet');
  assert.equal(spinnakerKindName('autoscaling', 'HorizontalPodAutoscaler'), 'horizontalpodautoscaler');
  assert.equal(spinnakerKindName('apiextensions.k8s.io', 'CustomResourceDefinition'), 'customResourceDefinition');
  assert.equal(spinnakerKindName('example.com', 'Widget'), 'Widget.example.com');
  assert.equal(spinnakerKindName('coordination.k8s.io', 'Lease'), 'Lease');
  assert.equal(fullResourceName('', 'Service', 'web'), 'service web');
  assert.equal(spinnakerKindOf('apps', 'Deployment'), 'serverGroupManagers');
  assert.equal(spinnakerKindOf('example.com', 'Widget'), 'unclassified');
});

test('Spinnaker spelling and aliases → Kubernetes kind, against the account kinds', () => {
  const cases: Array<[string, string, string]> = [
    ['deployment', 'apps', 'Deployment'],
    ['deploy', 'apps', 'Deployment'],
    ['DEPLOYMENT', 'apps', 'Deployment'],
    ['deployment.apps', 'apps', 'Deployment'],
    ['ingress', 'networking.k8s.io', 'Ingress'],
    ['ing', 'networking.k8s.io', 'Ingress'],
    ['svc', '', 'Service'],
    ['Widget.example.com', 'example.com', 'Widget'],
    ['widget.other.io', 'other.io', 'Widget'],
    ['lease', 'coordination.k8s.io', 'Lease'],
    // Known kinds the account did not report still resolve to their usual group.
    ['rs', 'apps', 'ReplicaSet'],
    ['sts', 'apps', 'StatefulSet'],
    ['cm', '', 'ConfigMap'],
    ['hpa', 'autoscaling', 'HorizontalPodAutoscaler'],
    ['netpol', 'networking.k8s.io', 'NetworkPolicy'],
    ['crd', 'apiextensions.k8s.io', 'CustomResourceDefinition'],
    ['pvc', '', 'PersistentVolumeClaim'],
    ['ns', '', 'Namespace'],
    ['sa', '', 'ServiceAccount'],
    ['po', '', 'Pod'],
    ['ds', 'apps', 'DaemonSet'],
    ['cronJob', 'batch', 'CronJob'],
    ['job', 'batch', 'Job'],
    ['secret', '', 'Secret'],
  ];
  for (const [token, group, kind] of cases) assert.deepEqual(resolveKind(token, AVAILABLE), { group, kind }, token);
  assert.equal(resolveKind('widget', AVAILABLE), undefined, 'custom kinds need their group');
  assert.equal(resolveKind('gizmo', AVAILABLE), undefined);
  assert.deepEqual(resolveKind('Gizmo.acme.io', AVAILABLE), { group: 'acme.io', kind: 'Gizmo' });
});

test('splitFullResourceName', () => {
  assert.deepEqual(splitFullResourceName('deployment nginx'), { kindToken: 'deployment', name: 'nginx' });
  assert.deepEqual(splitFullResourceName('Widget.example.com w.1'), { kindToken: 'Widget.example.com', name: 'w.1' });
  assert.equal(splitFullResourceName('nginx'), undefined);
  assert.equal(splitFullResourceName('deployment '), undefined);
  assert.equal(splitFullResourceName('a b c'), undefined);
});
