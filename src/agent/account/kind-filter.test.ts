import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exclusionReason, kindMatches } from './kind-filter.ts';

const deployment = { group: 'apps', kind: 'Deployment', resource: 'deployments', namespaced: true, verbs: ['list', 'watch', 'get'] };
const widget = { group: 'example.com', kind: 'Widget', resource: 'widgets', namespaced: true, verbs: ['list', 'watch'] };
const ns = { group: '', kind: 'Namespace', resource: 'namespaces', namespaced: false, verbs: ['list', 'watch'] };

test('kind names match kind or plural, any case, with an optional group', () => {
  assert.equal(kindMatches('deployment', deployment), true);
  assert.equal(kindMatches('Deployments', deployment), true);
  assert.equal(kindMatches('Deployment.apps', deployment), true);
  assert.equal(kindMatches('Deployment.extensions', deployment), false);
  assert.equal(kindMatches('Widget.example.com', widget), true);
  assert.equal(kindMatches('replicaSet', deployment), false);
});

test('selection applies kinds, omitKinds, defaults, namespaced-only and the hub list', () => {
  const base = { kinds: [], omitKinds: [], defaultOmitKinds: ['Event'], onlyNamespacedResources: false, hubKinds: [] };
  assert.equal(exclusionReason(deployment, base), undefined);
  assert.match(exclusionReason(deployment, { ...base, omitKinds: ['deployment'] }) ?? '', /omitKinds/);
  assert.match(exclusionReason(widget, { ...base, kinds: ['deployment'] }) ?? '', /not in kinds/);
  assert.match(exclusionReason(ns, { ...base, onlyNamespacedResources: true }) ?? '', /cluster-scoped/);
  assert.match(exclusionReason({ ...deployment, verbs: ['get'] }, base) ?? '', /list and watch/);
  assert.match(exclusionReason(deployment, { ...base, hubKinds: ['/Pod'] }) ?? '', /hub/);
  assert.equal(exclusionReason(deployment, { ...base, hubKinds: ['apps/Deployment'] }), undefined);
});
