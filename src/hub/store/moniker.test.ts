import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveMoniker, deriveObjectColumns, friggaApplication } from './moniker.ts';

test('Frigga application parsing', () => {
  assert.equal(friggaApplication('nginx'), 'nginx');
  assert.equal(friggaApplication('nginx-frontend-v003'), 'nginx');
  assert.equal(friggaApplication('web.app-x'), 'web.app');
  assert.equal(friggaApplication('system:controller:x'), 'system');
  assert.equal(friggaApplication('-odd'), undefined);
});

test('annotations win; cluster defaults to the unversioned full name; ReplicaSets join their Deployment', () => {
  assert.deepEqual(deriveMoniker('apps', 'Deployment', { metadata: { name: 'nginx' } }), { app: 'nginx', cluster: 'deployment nginx' });
  assert.deepEqual(deriveMoniker('apps', 'ReplicaSet', { metadata: { name: 'web-v004' } }), { app: 'web', cluster: 'replicaSet web', sequence: 4 });
  assert.deepEqual(
    deriveMoniker('apps', 'ReplicaSet', {
      metadata: { name: 'nginx-7d9c', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'nginx', uid: 'u', controller: true }] },
    }),
    { app: 'nginx', cluster: 'deployment nginx' },
  );
  const annotations = {
    'moniker.spinnaker.io/application': 'shop',
    'moniker.spinnaker.io/cluster': 'c',
    'moniker.spinnaker.io/stack': 's',
    'moniker.spinnaker.io/detail': 'd',
    'moniker.spinnaker.io/sequence': '7',
  };
  assert.deepEqual(deriveMoniker('', 'ConfigMap', { metadata: { name: 'x-v001', annotations } }), {
    app: 'shop',
    cluster: 'c',
    stack: 's',
    detail: 'd',
    sequence: 7,
  });
});

test('deriveObjectColumns parses the body once and survives garbage', () => {
  const body = JSON.stringify({ metadata: { name: 'api-server', creationTimestamp: '2024-05-06T07:08:09Z' } });
  assert.deepEqual(deriveObjectColumns('apps', 'Deployment', 'api-server', body), {
    application: 'api',
    cluster: 'deployment api-server',
    createdAt: Date.parse('2024-05-06T07:08:09Z'),
  });
  assert.deepEqual(deriveObjectColumns('', 'Service', 'svc-a', 'not json'), { application: 'svc', cluster: 'service svc-a', createdAt: null });
  assert.deepEqual(deriveObjectColumns('', 'Service', 'svc-a', 'null'), { application: 'svc', cluster: 'service svc-a', createdAt: null });
});

test('deriveObjectColumns from the metadata the agent located equals deriving from the whole body', () => {
  const metadata = {
    name: 'web-7d9f',
    creationTimestamp: '2024-05-06T07:08:09Z',
    annotations: { 'moniker.spinnaker.io/application': 'shop' },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'u1', controller: true }],
  };
  const body = JSON.stringify({ kind: 'ReplicaSet', apiVersion: 'apps/v1', metadata, spec: { replicas: 2 } });
  const expected = { application: 'shop', cluster: 'deployment web', createdAt: Date.parse('2024-05-06T07:08:09Z') };
  assert.deepEqual(deriveObjectColumns('apps', 'ReplicaSet', 'web-7d9f', body), expected);
  assert.deepEqual(deriveObjectColumns('apps', 'ReplicaSet', 'web-7d9f', body, JSON.stringify(metadata)), expected);
  // A located slice that is not a JSON object falls back to the whole body.
  for (const bad of ['{"name":', '[1]', 'null', '"text"']) assert.deepEqual(deriveObjectColumns('apps', 'ReplicaSet', 'web-7d9f', body, bad), expected, bad);
});
