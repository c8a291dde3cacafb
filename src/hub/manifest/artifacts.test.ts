import { test } from 'node:test';
import assert from 'node:assert/strict';
import { imageName, manifestArtifacts } from './artifacts.ts';
import { stripSecretData } from './secrets.ts';

test('imageName drops tags and digests but keeps registry ports', () => {
  assert.equal(imageName('nginx'), 'nginx');
  assert.equal(imageName('nginx:1.25'), 'nginx');
  assert.equal(imageName('localhost:5000/team/web:2'), 'localhost:5000/team/web');
  assert.equal(imageName('localhost:5000/team/web'), 'localhost:5000/team/web');
  assert.equal(imageName('gcr.io/x/web@sha256:abc'), 'gcr.io/x/web');
});

test('manifestArtifacts reads pods, workloads and CronJobs; ConfigMaps and Secrets by every reference', () => {
  const podSpec = {
    containers: [{ name: 'a', image: 'a:1', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 's1', key: 'k' } } }] }],
    volumes: [
      { name: 'v', configMap: { name: 'cm1' } },
      { name: 'w', secret: { secretName: 's2' } },
      { name: 'p', projected: { sources: [{ configMap: { name: 'cm2' } }] } },
    ],
  };
  assert.deepEqual(
    manifestArtifacts({ kind: 'Pod', spec: podSpec }).map((a) => `${a.type} ${a.reference}`),
    ['docker/image a:1', 'kubernetes/secret s1', 'kubernetes/configMap cm1', 'kubernetes/secret s2', 'kubernetes/configMap cm2'],
  );
  assert.equal(manifestArtifacts({ kind: 'CronJob', spec: { jobTemplate: { spec: { template: { spec: podSpec } } } } }).length, 5);
  assert.deepEqual(manifestArtifacts({ kind: 'Service', spec: {} }), []);
});

test('stripSecretData removes data and stringData from Secrets only', () => {
  assert.deepEqual(stripSecretData({ kind: 'Secret', data: { a: 'b' }, stringData: { c: 'd' }, type: 'Opaque' }), { kind: 'Secret', type: 'Opaque' });
  assert.deepEqual(stripSecretData({ kind: 'ConfigMap', data: { a: 'b' } }), { kind: 'ConfigMap', data: { a: 'b' } });
});
