import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accountRecord } from '../../store/testing/fixtures.ts';
import { CACHE_CHECK_OVERDUE_MS, accountView, cacheView, clouddriverPermissions, spinnakerKindMap } from './credentials-view.ts';
import type { FeedDigestState } from '../../store/types.ts';

const NOW = 1_800_000_000_000;
const feed = (kind: string, state: Partial<FeedDigestState>): FeedDigestState => ({
  group: 'apps',
  kind,
  namespace: '',
  checkedAt: null,
  divergedSince: null,
  divergences: 0,
  dueSince: null,
  ...state,
});

test('the cache view: diverged before overdue before matching; a feed awaited since a reconnect is overdue only past the bound', () => {
  const matched = feed('Deployment', { checkedAt: NOW - 1000 });
  assert.equal(cacheView([matched], NOW).status, 'matching');
  assert.equal(cacheView([], NOW).status, 'unchecked');
  const awaited = feed('StatefulSet', { dueSince: NOW - CACHE_CHECK_OVERDUE_MS });
  assert.equal(cacheView([matched, awaited], NOW).status, 'matching', 'within the bound');
  const late = cacheView([matched, awaited], NOW + 1);
  assert.equal(late.status, 'overdue');
  assert.deepEqual(late.overdue, [{ group: 'apps', kind: 'StatefulSet', namespace: '', since: NOW - CACHE_CHECK_OVERDUE_MS }]);
  const differing = feed('DaemonSet', { checkedAt: NOW, divergedSince: NOW - 5, divergences: 1, dueSince: NOW - 2 * CACHE_CHECK_OVERDUE_MS });
  const view = cacheView([matched, awaited, differing], NOW + 1);
  assert.equal(view.status, 'diverged');
  assert.deepEqual(
    view.overdue.map((o) => o.kind),
    ['StatefulSet'],
    'a diverged feed is listed as diverged, not overdue',
  );
});

test("permissions as Clouddriver serialises Fiat's Permissions: Fiat's order, only authorizations with roles, {} when unrestricted", () => {
  assert.deepEqual(clouddriverPermissions({}), {});
  assert.deepEqual(clouddriverPermissions({ READ: [], WRITE: [] }), {});
  assert.deepEqual(Object.keys(clouddriverPermissions({ WRITE: ['ops'], EXECUTE: [], READ: ['dev'] })), ['READ', 'WRITE']);
  const account = accountRecord('k8s', { permissions: {} });
  for (const expand of [false, true]) assert.deepEqual(accountView({ ...account, registeredAt: 0, lastSeenAt: 0 }, expand).permissions, {});
  const restricted = accountView({ ...accountRecord('p', { permissions: { READ: ['dev'], WRITE: ['ops'] } }), registeredAt: 0, lastSeenAt: 0 }, false);
  assert.deepEqual(restricted.permissions, { READ: ['dev'], WRITE: ['ops'] });
});

test("spinnakerKindMap: Clouddriver's handler kinds, and custom resources keyed `kind.group` in lower case; no other built-in kinds", () => {
  const account = accountRecord('k8s', {
    kinds: [
      { group: '', version: 'v1', kind: 'Node', resource: 'nodes', namespaced: false, watchable: true },
      { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', resource: 'leases', namespaced: true, watchable: true },
      { group: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments', namespaced: true, watchable: true },
      { group: 'stable.example.com', version: 'v1', kind: 'CronTab', resource: 'crontabs', namespaced: true, watchable: true },
    ],
  });
  const map = spinnakerKindMap({ ...account, registeredAt: 0, lastSeenAt: 0 });
  // DeployManifestIT.shouldGetDeployedCrdsCredentials reads spinnakerKindMap.'crontab.stable.example.com'.
  assert.equal(map['crontab.stable.example.com'], 'unclassified');
  assert.equal(map.Node, undefined);
  assert.equal(map.node, undefined);
  assert.equal(map.Lease, undefined);
  // Clouddriver's 32 handlers (KubernetesSpinnakerKindMap), by KubernetesKind.toString().
  const standard = Object.keys(map).filter((k) => k !== 'crontab.stable.example.com');
  assert.equal(standard.length, 32);
  for (const key of ['apiService', 'clusterRoleBinding', 'customResourceDefinition', 'horizontalpodautoscaler', 'podDisruptionBudget', 'statefulSet']) {
    assert.ok(key in map, key);
  }
  assert.equal(map.deployment, 'serverGroupManagers');
  assert.equal(map.cronJob, 'serverGroups');
  assert.equal(map.persistentVolume, 'configs');
});
