import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isScaleAgentError } from '../common/errors.ts';
import { resolveKind, resourcePath } from './api-resource.ts';
import { KubeClient } from './client.ts';
import { carryOverFailedGroups, diffResources, discoverResources, DISCOVERY_ACCEPT, hasResourceChanges, type DiscoveryResult } from './discovery.ts';
import type { ApiResource } from './api-resource.ts';
import { sendJson, startFakeApiServer, status, type FakeApiServer, type FakeHandler } from './testing/fake-api-server.ts';

const res = (name: string, kind: string, namespaced: boolean, shortNames: string[] = []) => ({
  name,
  singularName: kind.toLowerCase(),
  namespaced,
  kind,
  verbs: ['get', 'list', 'watch'],
  shortNames,
});

const ROUTES: Record<string, unknown> = {
  '/version': { major: '1', minor: '31', gitVersion: 'v1.31.2' },
  '/api': { kind: 'APIVersions', versions: ['v1'] },
  '/api/v1': {
    groupVersion: 'v1',
    resources: [
      res('pods', 'Pod', true, ['po']),
      res('pods/log', 'Pod', true),
      res('namespaces', 'Namespace', false, ['ns']),
      res('events', 'Event', true, ['ev']),
    ],
  },
  '/apis': {
    kind: 'APIGroupList',
    groups: [
      { name: 'apps', versions: [{ groupVersion: 'apps/v1', version: 'v1' }], preferredVersion: { groupVersion: 'apps/v1', version: 'v1' } },
      {
        name: 'autoscaling',
        versions: [
          { groupVersion: 'autoscaling/v2', version: 'v2' },
          { groupVersion: 'autoscaling/v1', version: 'v1' },
        ],
        preferredVersion: { groupVersion: 'autoscaling/v2', version: 'v2' },
      },
      { name: 'events.k8s.io', versions: [{ groupVersion: 'events.k8s.io/v1', version: 'v1' }], preferredVersion: { version: 'v1' } },
      { name: 'metrics.k8s.io', versions: [{ groupVersion: 'metrics.k8s.io/v1beta1', version: 'v1beta1' }], preferredVersion: { version: 'v1beta1' } },
    ],
  },
  '/apis/apps/v1': {
    groupVersion: 'apps/v1',
    resources: [res('deployments', 'Deployment', true, ['deploy']), res('deployments/status', 'Deployment', true), res('deployments/scale', 'Scale', true)],
  },
  '/apis/autoscaling/v2': { resources: [res('horizontalpodautoscalers', 'HorizontalPodAutoscaler', true, ['hpa'])] },
  '/apis/autoscaling/v1': { resources: [res('horizontalpodautoscalers', 'HorizontalPodAutoscaler', true, ['hpa'])] },
  '/apis/events.k8s.io/v1': { resources: [res('events', 'Event', true, ['ev'])] },
};

/** Runs `use` with a client of a fake API server that `handle` scripts, and closes both after. */
async function withFakeServer(handle: FakeHandler, use: (client: KubeClient, server: FakeApiServer) => Promise<void>): Promise<void> {
  const server = await startFakeApiServer('http', handle);
  const client = new KubeClient({ server: server.url, insecureSkipTlsVerify: false, auth: { type: 'none' } });
  try {
    await use(client, server);
  } finally {
    await client.close();
    await server.close();
  }
}

describe('discoverResources', () => {
  let server: FakeApiServer;
  let client: KubeClient;
  let result: DiscoveryResult;
  before(async () => {
    server = await startFakeApiServer('http', (_req, response, r) => {
      if (r.path === '/apis/metrics.k8s.io/v1beta1')
        return sendJson(response, 503, status(503, 'ServiceUnavailable', 'the server is currently unable to handle the request'));
      const body = ROUTES[r.path];
      if (body === undefined) return sendJson(response, 404, status(404, 'NotFound'));
      sendJson(response, 200, body);
    });
    client = new KubeClient({ server: server.url, insecureSkipTlsVerify: false, auth: { type: 'none' } });
    result = await discoverResources(client);
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  it('reports the server version', () => {
    assert.deepEqual(result.serverVersion, { gitVersion: 'v1.31.2', major: '1', minor: '31' });
  });

  it('lists resources of every group version without subresources', () => {
    const names = result.resources.map((r) => `${r.group}/${r.version}/${r.resource}`).sort();
    assert.deepEqual(names, [
      '/v1/events',
      '/v1/namespaces',
      '/v1/pods',
      'apps/v1/deployments',
      'autoscaling/v1/horizontalpodautoscalers',
      'autoscaling/v2/horizontalpodautoscalers',
      'events.k8s.io/v1/events',
    ]);
    const ns = result.resources.find((r) => r.resource === 'namespaces')!;
    assert.equal(ns.namespaced, false);
    assert.deepEqual(ns.shortNames, ['ns']);
    assert.equal(ns.preferred, true);
  });

  it('reports a failing group as data', () => {
    assert.equal(result.failedGroups.length, 1);
    assert.equal(result.failedGroups[0]!.groupVersion, 'metrics.k8s.io/v1beta1');
    assert.match(result.failedGroups[0]!.error, /503/);
  });

  it('resolves kinds case-insensitively, preferring the preferred version and the core group', () => {
    assert.equal(resolveKind(result.resources, { kind: 'deployment' }).group, 'apps');
    assert.equal(resolveKind(result.resources, { kind: 'deploy' }).kind, 'Deployment');
    assert.equal(resolveKind(result.resources, { kind: 'HorizontalPodAutoscaler' }).version, 'v2');
    assert.equal(resolveKind(result.resources, { kind: 'HorizontalPodAutoscaler', version: 'v1' }).version, 'v1');
    assert.equal(resolveKind(result.resources, { kind: 'Event' }).group, '');
    assert.equal(resolveKind(result.resources, { kind: 'Event', group: 'events.k8s.io' }).group, 'events.k8s.io');
    assert.throws(
      () => resolveKind(result.resources, { kind: 'Widget' }),
      (err: unknown) => isScaleAgentError(err, 'KUBE_KIND_UNKNOWN'),
    );
    assert.throws(
      () => resolveKind(result.resources, { kind: 'Deployment', group: '' }),
      (err: unknown) => isScaleAgentError(err, 'KUBE_KIND_UNKNOWN'),
    );
  });

  it('builds resource paths', () => {
    const deploy = resolveKind(result.resources, { kind: 'Deployment' });
    const ns = resolveKind(result.resources, { kind: 'Namespace' });
    assert.equal(resourcePath(deploy, 'prod', 'web'), '/apis/apps/v1/namespaces/prod/deployments/web');
    assert.equal(resourcePath(deploy, ''), '/apis/apps/v1/deployments');
    assert.equal(resourcePath(ns, 'ignored', 'kube-system'), '/api/v1/namespaces/kube-system');
  });

  it('throws when the core group cannot be read', async () => {
    const handle: FakeHandler = (_req, response, r) =>
      r.path === '/api/v1' ? sendJson(response, 500, status(500, 'InternalError')) : sendJson(response, 200, ROUTES[r.path] ?? {});
    await withFakeServer(handle, async (c) => {
      await assert.rejects(discoverResources(c), (err: unknown) => isScaleAgentError(err, 'KUBE_API_ERROR'));
    });
  });
});

describe('rediscovery', () => {
  const resource = (group: string, version: string, kind: string, extra: Partial<ApiResource> = {}): ApiResource => ({
    group,
    version,
    kind,
    resource: `${kind.toLowerCase()}s`,
    namespaced: true,
    verbs: ['list', 'watch'],
    shortNames: [],
    singularName: kind.toLowerCase(),
    preferred: true,
    ...extra,
  });
  const pod = resource('', 'v1', 'Pod');
  const widget = resource('example.com', 'v1', 'Widget');
  const metrics = resource('metrics.k8s.io', 'v1beta1', 'PodMetrics');

  it('keeps what a group version that failed to answer had, and forgets a group that is gone', () => {
    const after = carryOverFailedGroups([pod, widget, metrics], { resources: [pod], failedGroups: [{ groupVersion: 'metrics.k8s.io/v1beta1', error: '503' }] });
    assert.deepEqual(after.map((r) => r.kind).sort(), ['Pod', 'PodMetrics']);
  });

  it('names added, removed and changed resources', () => {
    const changes = diffResources([pod, widget], [{ ...pod, verbs: ['list'] }, metrics]);
    assert.deepEqual(changes, { added: ['podmetricss.v1beta1.metrics.k8s.io'], removed: ['widgets.v1.example.com'], changed: ['pods.v1'] });
    assert.equal(hasResourceChanges(changes), true);
    assert.equal(hasResourceChanges(diffResources([pod, widget], [widget, { ...pod, verbs: ['watch', 'list'] }])), false);
  });
});

/** The media type of the aggregated documents, the first the agent asks for. */
const AGGREGATED = DISCOVERY_ACCEPT.split(',')[0]!;

const aggregatedResource = (resource: string, kind: string, scope: 'Namespaced' | 'Cluster', shortNames?: string[]) => ({
  resource,
  responseKind: { group: '', version: '', kind },
  scope,
  singularResource: kind.toLowerCase(),
  verbs: ['get', 'list', 'watch'],
  ...(shortNames ? { shortNames } : {}),
  subresources: [{ subresource: 'status', responseKind: { group: '', version: '', kind }, verbs: ['get'] }],
});

const AGGREGATED_ROUTES: Record<string, unknown> = {
  '/api': {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    items: [
      {
        metadata: {},
        versions: [
          {
            version: 'v1',
            freshness: 'Current',
            resources: [aggregatedResource('pods', 'Pod', 'Namespaced', ['po']), aggregatedResource('namespaces', 'Namespace', 'Cluster', ['ns'])],
          },
        ],
      },
    ],
  },
  '/apis': {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    items: [
      { metadata: { name: 'apps' }, versions: [{ version: 'v1', resources: [aggregatedResource('deployments', 'Deployment', 'Namespaced', ['deploy'])] }] },
      {
        metadata: { name: 'autoscaling' },
        versions: [
          { version: 'v2', resources: [aggregatedResource('horizontalpodautoscalers', 'HorizontalPodAutoscaler', 'Namespaced', ['hpa'])] },
          { version: 'v1', resources: [aggregatedResource('horizontalpodautoscalers', 'HorizontalPodAutoscaler', 'Namespaced', ['hpa'])] },
        ],
      },
      {
        metadata: { name: 'metrics.k8s.io' },
        versions: [{ version: 'v1beta1', freshness: 'Stale', resources: [aggregatedResource('pods', 'PodMetrics', 'Namespaced')] }],
      },
      // The first version is stale: the preferred one is the first current one.
      {
        metadata: { name: 'flaky.example.com' },
        versions: [
          { version: 'v1', freshness: 'Stale', resources: [] },
          { version: 'v1beta1', freshness: 'Current', resources: [aggregatedResource('flakes', 'Flake', 'Namespaced')] },
        ],
      },
      { metadata: { name: 'odd.example.com' }, versions: [{ version: 'v1', resources: 'not a list' }] },
      // A current version that serves nothing omits `resources`: still current, still preferred.
      {
        metadata: { name: 'empty.example.com' },
        versions: [{ version: 'v2' }, { version: 'v1', resources: [aggregatedResource('things', 'Thing', 'Cluster')] }],
      },
      // Malformed entries are skipped, not fatal.
      null,
      { metadata: { name: 'broken.example.com' }, versions: [{ version: 'v1', resources: [{ resource: 'widgets' }, null, { resource: 7 }] }, { version: 5 }] },
    ],
  },
};

describe('discoverResources against aggregated discovery', () => {
  let server: FakeApiServer;
  let client: KubeClient;
  let result: DiscoveryResult;
  before(async () => {
    server = await startFakeApiServer('http', (req, response, r) => {
      const aggregated = (req.headers.accept ?? '').startsWith(AGGREGATED);
      const body = r.path === '/version' ? ROUTES['/version'] : aggregated ? AGGREGATED_ROUTES[r.path] : undefined;
      if (body === undefined) return sendJson(response, 404, status(404, 'NotFound'));
      sendJson(response, 200, body, aggregated ? { 'content-type': AGGREGATED } : {});
    });
    client = new KubeClient({ server: server.url, insecureSkipTlsVerify: false, auth: { type: 'none' } });
    result = await discoverResources(client);
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  it('reads every group from /api and /apis alone, asking for v2 first', () => {
    assert.deepEqual(server.requests.map((r) => r.path).sort(), ['/api', '/apis', '/version']);
    const accept = server.requests.find((r) => r.path === '/apis')!.headers.accept;
    assert.equal(accept, DISCOVERY_ACCEPT);
    assert.match(DISCOVERY_ACCEPT, /^application\/json;g=apidiscovery\.k8s\.io;v=v2;as=APIGroupDiscoveryList,.*v=v2beta1.*,application\/json$/);
  });

  it('maps resources as legacy discovery does: scope, short names, preferred version first, no subresources', () => {
    const names = result.resources.map((r) => `${r.group}/${r.version}/${r.resource}:${r.kind}:${r.preferred}`);
    assert.deepEqual(names, [
      '/v1/pods:Pod:true',
      '/v1/namespaces:Namespace:true',
      'apps/v1/deployments:Deployment:true',
      'autoscaling/v2/horizontalpodautoscalers:HorizontalPodAutoscaler:true',
      'autoscaling/v1/horizontalpodautoscalers:HorizontalPodAutoscaler:false',
      'flaky.example.com/v1beta1/flakes:Flake:true',
      'empty.example.com/v1/things:Thing:false',
    ]);
    const ns = result.resources.find((r) => r.resource === 'namespaces')!;
    assert.equal(ns.namespaced, false);
    assert.deepEqual(ns.shortNames, ['ns']);
    assert.equal(ns.singularName, 'namespace');
    assert.equal(resolveKind(result.resources, { kind: 'HorizontalPodAutoscaler' }).version, 'v2');
  });

  it('reports a stale group version, or one without a resource list, as failed, so a rediscovery keeps what it knew of it', () => {
    assert.deepEqual(
      result.failedGroups.map((f) => f.groupVersion),
      ['metrics.k8s.io/v1beta1', 'flaky.example.com/v1', 'odd.example.com/v1'],
    );
    assert.match(result.failedGroups[0]!.error, /stale/);
    assert.match(result.failedGroups[2]!.error, /lists no resources/);
  });

  /** The aggregated server, with `core` as its /api document. */
  const withCore =
    (core: unknown): FakeHandler =>
    (_req, response, r) => {
      const body = r.path === '/api' ? core : r.path === '/version' ? ROUTES['/version'] : AGGREGATED_ROUTES[r.path];
      sendJson(response, 200, body, r.path === '/version' ? {} : { 'content-type': AGGREGATED });
    };

  it('skips malformed items of the core document and reads the rest', async () => {
    const valid = (AGGREGATED_ROUTES['/api'] as { items: unknown[] }).items[0];
    await withFakeServer(withCore({ ...(AGGREGATED_ROUTES['/api'] as object), items: [null, 7, valid] }), async (c) => {
      const found = await discoverResources(c);
      assert.deepEqual(
        found.resources.filter((r) => r.group === '').map((r) => r.resource),
        ['pods', 'namespaces'],
      );
    });
  });

  it('throws when the aggregated core document has no current version, as when /api/v1 fails', async () => {
    const cores = [
      { ...(AGGREGATED_ROUTES['/api'] as object), items: [] },
      { ...(AGGREGATED_ROUTES['/api'] as object), items: [{ metadata: {}, versions: [{ version: 'v1', freshness: 'Stale', resources: [] }] }] },
      { ...(AGGREGATED_ROUTES['/api'] as object), items: [{ metadata: {}, versions: [{ resources: [] }] }] },
      // Current, but listing no usable resource.
      { ...(AGGREGATED_ROUTES['/api'] as object), items: [{ metadata: {}, versions: [{ version: 'v1', resources: [{ resource: 'pods' }] }] }] },
    ];
    for (const core of cores) {
      await withFakeServer(withCore(core), async (c) => {
        await assert.rejects(discoverResources(c), (err: unknown) => isScaleAgentError(err, 'KUBE_API_ERROR') && /core group/.test((err as Error).message));
      });
    }
  });

  it('falls back to per-group-version requests where the server answers with the legacy document', async () => {
    // Aggregated /api, legacy /apis: the groups are fetched one by one, the core group is not.
    const handle: FakeHandler = (_req, response, r) => {
      if (r.path === '/api') return sendJson(response, 200, AGGREGATED_ROUTES['/api'], { 'content-type': AGGREGATED });
      const body = ROUTES[r.path];
      if (body === undefined) return sendJson(response, 404, status(404, 'NotFound'));
      sendJson(response, 200, body);
    };
    await withFakeServer(handle, async (c, mixed) => {
      const found = await discoverResources(c);
      assert.ok(!mixed.requests.some((r) => r.path === '/api/v1'));
      assert.ok(mixed.requests.some((r) => r.path === '/apis/apps/v1'));
      assert.deepEqual(
        found.resources.filter((r) => r.group === '').map((r) => r.resource),
        ['pods', 'namespaces'],
      );
      assert.ok(found.resources.some((r) => r.group === 'apps' && r.resource === 'deployments'));
      assert.deepEqual(
        found.failedGroups.map((f) => f.groupVersion),
        ['metrics.k8s.io/v1beta1'],
      );
    });
  });
});
