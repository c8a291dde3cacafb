import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { OMIT_NAMESPACES_PROPERTY } from '../../../common/account-properties.ts';
import { silentLogger } from '../../../common/logger.ts';
import { openStore } from '../../store/open-store.ts';
import type { SqlStore } from '../../store/sql-store.ts';
import { NAMESPACES, accountRecord, upsert } from '../../store/testing/fixtures.ts';
import type { FeedInfo, KindRecord } from '../../store/types.ts';
import { buildApiServer } from '../server.ts';
import { FakeRouter } from '../testing/fake-router.ts';

/**
 * The expanded /credentials from what the cache holds: `namespaces` without the ones the account omits
 * (Clouddriver's getDeclaredNamespaces), and `spinnakerKindMap`'s custom resources only where a cached
 * CustomResourceDefinition defines the kind — aggregated APIs (metrics.k8s.io) and Kubernetes' newer
 * built-in groups (resource.k8s.io) are not custom resources.
 */
type Json = any;

const NOW = 1_700_000_000_000;
const CRDS: FeedInfo = {
  group: 'apiextensions.k8s.io',
  version: 'v1',
  kind: 'CustomResourceDefinition',
  resource: 'customresourcedefinitions',
  namespace: '',
  namespaced: false,
};

const kind = (group: string, kindName: string, resource: string, namespaced = true): KindRecord => ({
  group,
  version: 'v1',
  kind: kindName,
  resource,
  namespaced,
  watchable: true,
});

const CUSTOM_AND_AGGREGATED: KindRecord[] = [
  kind('', 'Namespace', 'namespaces', false),
  kind('apps', 'Deployment', 'deployments'),
  kind('stable.example.com', 'CronTab', 'crontabs'),
  kind('metrics.k8s.io', 'PodMetrics', 'pods'),
  kind('resource.k8s.io', 'ResourceClaim', 'resourceclaims'),
  kind('storagemigration.k8s.io', 'StorageVersionMigration', 'storageversionmigrations', false),
  // Served, but by no CRD the cache holds (an aggregated API of some add-on).
  kind('example.com', 'Widget', 'widgets'),
];

describe('GET /credentials from the cache: declared namespaces and custom resource kinds', () => {
  let store: SqlStore;
  let app: FastifyInstance;

  before(async () => {
    store = await openStore('sqlite::memory:', silentLogger());
    await store.upsertAccount(
      accountRecord('crd', {
        kinds: [...CUSTOM_AND_AGGREGATED, kind(CRDS.group, CRDS.kind, CRDS.resource, false)],
        properties: { [OMIT_NAMESPACES_PROPERTY]: 'kube-system,secret-team' },
      }),
      NOW,
    );
    // An account whose agent does not watch CRDs (onlyNamespacedResources, kinds, RBAC): no CRDs to tell by.
    await store.upsertAccount(accountRecord('nocrd', { kinds: CUSTOM_AND_AGGREGATED }), NOW);
    await store.upsertAccount(
      accountRecord('scoped', { namespaces: ['team-a', 'kube-system'], properties: { [OMIT_NAMESPACES_PROPERTY]: 'kube-system' } }),
      NOW,
    );
    for (const account of ['crd', 'nocrd']) {
      await store.applyBatch(
        {
          account,
          changes: ['default', 'kube-system', 'secret-team', 'team-a'].map((ns) => upsert(NAMESPACES, '', ns)),
          progress: [],
        },
        NOW,
      );
    }
    await store.applyBatch(
      {
        account: 'crd',
        changes: [
          upsert(CRDS, '', 'crontabs.stable.example.com', '1', {}, { spec: { group: 'stable.example.com', names: { kind: 'CronTab', plural: 'crontabs' } } }),
        ],
        progress: [],
      },
      NOW,
    );
    app = buildApiServer({ store, router: new FakeRouter(), hubId: 'hub-test', logger: silentLogger() });
  });

  after(async () => {
    await app.close();
    await store.close();
  });

  async function get(url: string): Promise<Json> {
    const res = await app.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  }

  const customKeys = (account: Json) => Object.keys(account.spinnakerKindMap).filter((k) => k.includes('.'));

  test("the namespaces an account omits are not offered, as Clouddriver's getDeclaredNamespaces", async () => {
    const expanded = await get('/credentials?expand=true');
    const byName = new Map(expanded.map((a: Json) => [a.name, a]));
    assert.deepEqual((byName.get('crd') as Json).namespaces, ['default', 'team-a']);
    assert.deepEqual((byName.get('nocrd') as Json).namespaces, ['default', 'kube-system', 'secret-team', 'team-a']);
    assert.deepEqual((byName.get('scoped') as Json).namespaces, ['team-a']);
    assert.deepEqual((await get('/credentials/crd')).namespaces, ['default', 'team-a']);
  });

  test('spinnakerKindMap: only kinds a cached CustomResourceDefinition defines; without cached CRDs, not the Kubernetes groups', async () => {
    const expanded = await get('/credentials?expand=true');
    const byName = new Map(expanded.map((a: Json) => [a.name, a]));
    assert.deepEqual(customKeys(byName.get('crd')), ['crontab.stable.example.com']);
    assert.deepEqual(customKeys(await get('/credentials/crd')), ['crontab.stable.example.com']);
    assert.deepEqual(customKeys(byName.get('nocrd')).sort(), ['crontab.stable.example.com', 'widget.example.com']);
  });
});
