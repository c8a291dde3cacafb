import { test } from 'node:test';
import assert from 'node:assert/strict';
import { threeWayMergePatch } from './three-way-merge.ts';

test('fields dropped from the manifest are deleted, others are set', () => {
  const last = { metadata: { labels: { a: '1', b: '2' } }, spec: { replicas: 2, paused: false } };
  const next = { metadata: { labels: { a: '1' } }, spec: { replicas: 3 } };
  assert.deepEqual(threeWayMergePatch(last, next), { metadata: { labels: { a: '1', b: null } }, spec: { replicas: 3, paused: null } });
});

test('without a previous apply, the patch is the manifest', () => {
  const next = { spec: { template: { spec: { containers: [{ name: 'c', image: 'x' }] } } } };
  assert.deepEqual(threeWayMergePatch(undefined, next), next);
});

test('lists are replaced whole', () => {
  const patch = threeWayMergePatch({ spec: { ports: [{ port: 80 }, { port: 443 }] } }, { spec: { ports: [{ port: 80 }] } });
  assert.deepEqual(patch, { spec: { ports: [{ port: 80 }] } });
});
