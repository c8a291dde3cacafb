import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Errors } from '../../../common/errors.ts';
import { silentLogger } from '../../../common/logger.ts';
import { hubConfigSchema } from '../../config.ts';
import { openStore } from '../../store/open-store.ts';
import type { SqlStore } from '../../store/sql-store.ts';
import { REPLICASETS, accountRecord, upsert } from '../../store/testing/fixtures.ts';
import type { ApplicationScope, FeedInfo, KindRecord, StoreGroupKind } from '../../store/types.ts';
import { TRAFFIC_LOAD_BALANCERS_ANNOTATION } from '../../views/manifest-facts.ts';
import { buildApiServer } from '../server.ts';
import { FakeRouter } from '../testing/fake-router.ts';
import { ViewLoader } from '../../views/loader.ts';
import { Front50Client, type Front50Project } from './front50-client.ts';
import { MAX_PROJECT_APPLICATIONS, nameMatches, PROJECT_LOAD_CONCURRENCY, projectClusters } from './project-clusters.ts';

/**
 * GET /projects/{project}/clusters against a real loopback HTTP server playing Front50 (GET
 * /v2/projects/{project}, as Clouddriver's Front50Service asks it) and a cache holding the server
 * groups: the shape of Clouddriver's ProjectClustersService, its matching rules, and what the hub
 * answers when Front50 has no such project, fails, is slow, answers too much, or is not configured.
 */
type Json = any;

const NOW = 1_700_000_000_000;
const PODS: FeedInfo = { group: '', version: 'v1', kind: 'Pod', resource: 'pods', namespace: '', namespaced: true };
const KINDS: KindRecord[] = [...accountRecord('x').kinds, { group: '', version: 'v1', kind: 'Pod', resource: 'pods', namespaced: true, watchable: true }];
const TIMEOUT_MS = 500;
const MAX_BYTES = 4096;

const SHOP_CREATED = '2024-03-01T00:00:00Z';
const API_CREATED = '2024-03-05T00:00:00Z';
const BILLING_CREATED = '2024-02-10T00:00:00Z';
const EAST_CREATED = '2024-02-20T00:00:00Z';
const ms = (iso: string) => Date.parse(iso);

function replicaSet(namespace: string, name: string, app: string, created: string, image: string, annotations: Record<string, string> = {}) {
  return upsert(
    REPLICASETS,
    namespace,
    name,
    '10',
    { creationTimestamp: created, annotations: { 'moniker.spinnaker.io/application': app, ...annotations }, labels: { app: name } },
    { spec: { replicas: 1, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image }] } } } },
  );
}

function pod(namespace: string, owner: string, suffix: string, phase: 'Running' | 'Pending', ready: boolean) {
  return upsert(
    PODS,
    namespace,
    `${owner}-${suffix}`,
    '20',
    { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: owner, uid: `uid-${owner}`, controller: true }] },
    { status: { phase, containerStatuses: [{ name: 'main', ready }] } },
  );
}

/** Front50's answers by path; a handler may hang (never answer) or stream. */
type Front50Handler = (req: IncomingMessage, res: ServerResponse) => void;

function json(status: number, body: unknown): Front50Handler {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
}

const DASH = {
  name: 'Dash',
  email: 'team@example.com',
  config: {
    applications: ['shop', 'billing'],
    pipelineConfigs: [],
    clusters: [
      { account: 'k8s', stack: '*', detail: '*' },
      { account: 'k8s', applications: ['shop'] },
      { account: 'east', stack: '*', detail: '*', applications: ['billing'] },
      { account: 'k8s', stack: 'prod', detail: '*' },
    ],
  },
};

describe('GET /projects/{project}/clusters', () => {
  let store: SqlStore;
  let front50: Server;
  let front50Url = '';
  const requested: string[] = [];
  const routes = new Map<string, Front50Handler>();
  let app: FastifyInstance;
  let unconfigured: FastifyInstance;

  before(async () => {
    store = await openStore('sqlite::memory:', silentLogger());
    await store.upsertAccount(accountRecord('k8s', { kinds: KINDS }), NOW);
    await store.upsertAccount(accountRecord('east', { kinds: KINDS }), NOW);
    await store.applyBatch(
      {
        account: 'k8s',
        changes: [
          replicaSet('web', 'shop-v001', 'shop', SHOP_CREATED, 'nginx:1.25'),
          pod('web', 'shop-v001', 'aaaaa', 'Running', true),
          pod('web', 'shop-v001', 'bbbbb', 'Pending', false),
          // No instances: left out, as Clouddriver leaves out server groups whose instance count is 0.
          replicaSet('web', 'shop-v000', 'shop', '2024-01-01T00:00:00Z', 'nginx:1.24'),
          // Disabled (its load balancer no longer selects it): left out.
          replicaSet('web', 'shop-off', 'shop', '2024-03-10T00:00:00Z', 'nginx:1.26', { [TRAFFIC_LOAD_BALANCERS_ANNOTATION]: '["service shop"]' }),
          pod('web', 'shop-off', 'ccccc', 'Running', true),
          replicaSet('api', 'shop-api', 'shop', API_CREATED, 'api:2', { 'moniker.spinnaker.io/stack': 'prod' }),
          pod('api', 'shop-api', 'ddddd', 'Running', true),
          replicaSet('web', 'billing-v001', 'billing', BILLING_CREATED, 'billing:1'),
          pod('web', 'billing-v001', 'eeeee', 'Running', true),
          // An older server group of the same region: one build holds the images of both, oldest first.
          replicaSet('web', 'billing-v000', 'billing', '2024-02-01T00:00:00Z', 'billing:0'),
          pod('web', 'billing-v000', 'ggggg', 'Running', true),
        ],
        progress: [],
      },
      NOW,
    );
    await store.applyBatch(
      {
        account: 'east',
        changes: [replicaSet('web', 'billing-v002', 'billing', EAST_CREATED, 'billing:2'), pod('web', 'billing-v002', 'fffff', 'Running', true)],
        progress: [],
      },
      NOW,
    );

    front50 = createServer((req, res) => {
      requested.push(req.url ?? '');
      const handler = routes.get(req.url ?? '');
      if (handler) return handler(req, res);
      json(404, { error: 'Not Found', message: `Project not found (id: ${req.url})`, status: 404 })(req, res);
    });
    await new Promise<void>((resolve) => front50.listen(0, '127.0.0.1', resolve));
    front50Url = `http://127.0.0.1:${(front50.address() as AddressInfo).port}/`;

    const client = new Front50Client({ baseUrl: front50Url, timeoutMs: TIMEOUT_MS, maxResponseBytes: MAX_BYTES });
    app = buildApiServer({ store, router: new FakeRouter(), hubId: 'hub-test', logger: silentLogger(), front50: client });
    unconfigured = buildApiServer({ store, router: new FakeRouter(), hubId: 'hub-test', logger: silentLogger() });
  });

  after(async () => {
    await app.close();
    await unconfigured.close();
    front50.closeAllConnections();
    await new Promise<void>((resolve) => front50.close(() => resolve()));
    await store.close();
  });

  async function get(server: FastifyInstance, url: string): Promise<{ status: number; body: Json }> {
    const res = await server.inject({ method: 'GET', url });
    return { status: res.statusCode, body: res.json() };
  }

  test("Clouddriver's ClusterModel: per project cluster, each application's regions with one build, instance counts and last push", async () => {
    routes.set('/v2/projects/dash', json(200, DASH));
    const res = await get(app, '/projects/Dash/clusters');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(requested.at(-1), '/v2/projects/dash', 'the name is lower-cased before Front50 is asked, as Clouddriver does');
    const counts = (total: number, up: number, down = 0) => ({ total, up, down, unknown: 0, outOfService: 0, starting: 0 });
    const region = (name: string, created: string, images: string[], instanceCounts: Json) => ({
      region: name,
      builds: [{ buildNumber: '0', deployed: ms(created), images }],
      instanceCounts,
      lastPush: ms(created),
    });
    const shopWeb = region('web', SHOP_CREATED, ['nginx:1.25'], counts(2, 1, 1));
    const shopApi = region('api', API_CREATED, ['api:2'], counts(1, 1));
    const billingWeb = region('web', BILLING_CREATED, ['billing:0', 'billing:1'], counts(2, 2));
    assert.deepEqual(res.body, [
      {
        account: 'k8s',
        stack: '*',
        detail: '*',
        applications: [
          { application: 'shop', clusters: [shopApi, shopWeb], lastPush: ms(API_CREATED) },
          { application: 'billing', clusters: [billingWeb], lastPush: ms(BILLING_CREATED) },
        ],
        instanceCounts: counts(5, 4, 1),
      },
      // No stack configured: only server groups without one (shop-api has stack prod).
      { account: 'k8s', applications: [{ application: 'shop', clusters: [shopWeb], lastPush: ms(SHOP_CREATED) }], instanceCounts: counts(2, 1, 1) },
      {
        account: 'east',
        stack: '*',
        detail: '*',
        applications: [{ application: 'billing', clusters: [region('web', EAST_CREATED, ['billing:2'], counts(1, 1))], lastPush: ms(EAST_CREATED) }],
        instanceCounts: counts(1, 1),
      },
      {
        account: 'k8s',
        stack: 'prod',
        detail: '*',
        applications: [
          { application: 'shop', clusters: [shopApi], lastPush: ms(API_CREATED) },
          { application: 'billing', clusters: [], lastPush: 0 },
        ],
        instanceCounts: counts(1, 1),
      },
    ]);
  });

  /** A loader over the store that records the scopes of each application read and how many run at once. */
  function recordingLoader(): { loader: ViewLoader; scopes: Array<{ application: string; account?: string }>; peak: () => number } {
    const scopes: Array<{ application: string; account?: string }> = [];
    let inFlight = 0;
    let peak = 0;
    const recording = Object.create(store, {
      listApplicationObjectVersions: {
        value: async (application: string, kinds: readonly StoreGroupKind[], scope: ApplicationScope = {}) => {
          scopes.push({ application, ...(scope.account !== undefined ? { account: scope.account } : {}) });
          peak = Math.max(peak, ++inFlight);
          try {
            // A turn of the event loop: every load started before this one answers is in flight by then.
            await new Promise((resolve) => setImmediate(resolve));
            return await store.listApplicationObjectVersions(application, kinds, scope);
          } finally {
            inFlight--;
          }
        },
      },
    }) as SqlStore;
    return { loader: new ViewLoader(recording), scopes, peak: () => peak };
  }

  test("each application is read only in the accounts of the project's clusters that show it, a bounded number at a time", async () => {
    const { loader, scopes, peak } = recordingLoader();
    const many = Array.from({ length: 3 * PROJECT_LOAD_CONCURRENCY }, (_, i) => `app${i}`);
    const project: Front50Project = {
      name: 'wide',
      config: {
        applications: ['shop', 'billing', ...many],
        clusters: [
          { account: 'east', stack: '*', detail: '*', applications: ['billing'] },
          { account: 'k8s', stack: '*', detail: '*', applications: ['shop', ...many] },
        ],
      },
    };
    const clusters = await projectClusters(project, loader);
    assert.deepEqual(
      scopes.filter((s) => s.application === 'billing' || s.application === 'shop'),
      [
        { application: 'billing', account: 'east' },
        { application: 'shop', account: 'k8s' },
      ],
      "billing's server groups in k8s are not read: no cluster of the project shows them",
    );
    assert.ok(
      scopes.every((s) => s.account !== undefined),
      'no application is read across every account',
    );
    assert.equal(peak(), PROJECT_LOAD_CONCURRENCY);
    assert.deepEqual(
      clusters[0]!.applications.map((a) => [a.application, a.clusters.map((c) => c.region)]),
      [['billing', ['web']]],
    );
  });

  test('a project whose clusters show more than MAX_PROJECT_APPLICATIONS applications is refused, naming the count and the limit', async () => {
    const { loader, scopes } = recordingLoader();
    const applications = Array.from({ length: MAX_PROJECT_APPLICATIONS + 1 }, (_, i) => `app${i}`);
    const project: Front50Project = { name: 'huge', config: { applications, clusters: [{ account: 'k8s', stack: '*', detail: '*' }] } };
    await assert.rejects(projectClusters(project, loader), (err: Error & { code?: string; httpStatus?: number }) => {
      assert.equal(err.code, Errors.PROJECT_TOO_LARGE.code);
      assert.equal(err.httpStatus, 422);
      assert.match(
        err.message,
        new RegExp(`^project huge: its clusters show ${MAX_PROJECT_APPLICATIONS + 1} applications, more than the ${MAX_PROJECT_APPLICATIONS}`),
      );
      return true;
    });
    assert.equal(scopes.length, 0, 'nothing was read');
    const atLimit: Front50Project = { ...project, config: { ...project.config, applications: applications.slice(0, MAX_PROJECT_APPLICATIONS) } };
    assert.equal((await projectClusters(atLimit, loader))[0]!.applications.length, MAX_PROJECT_APPLICATIONS);
  });

  test('a project without clusters is an empty list', async () => {
    routes.set('/v2/projects/empty', json(200, { name: 'empty', config: { applications: ['shop'], clusters: [] } }));
    assert.deepEqual(await get(app, '/projects/empty/clusters'), { status: 200, body: [] });
  });

  test("a project Front50 does not have is Clouddriver's 404, and so is every project while no Front50 is configured", async () => {
    const missing = await get(app, '/projects/nope/clusters');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, Errors.NOT_FOUND.code);
    assert.equal(missing.body.message, 'Project not found (name: nope)');
    routes.set('/v2/projects/null', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('');
    });
    assert.equal((await get(app, '/projects/null/clusters')).status, 404, 'Front50 answering no project at all');
    const before = requested.length;
    const none = await get(unconfigured, '/projects/dash/clusters');
    assert.equal(none.status, 404);
    assert.match(none.body.message, /^Project not found \(name: dash\): the hub reads projects from Front50, and front50\.baseUrl is not set$/);
    assert.equal(requested.length, before, 'nothing asked');
  });

  test('Front50 failing, slow, answering too much or not a project: 502 FRONT50_UNAVAILABLE saying why', async () => {
    routes.set('/v2/projects/broken', json(500, { error: 'Internal Server Error', message: 'bucket unavailable', status: 500 }));
    routes.set('/v2/projects/slow', () => {
      // Never answers: the client's deadline ends the request.
    });
    routes.set('/v2/projects/huge', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // Chunked, so no Content-Length announces the size: the bound applies while reading.
      res.write(`{"name":"huge","config":{"applications":[${'"a",'.repeat(MAX_BYTES)}`);
      res.end('"a"],"clusters":[]}}');
    });
    routes.set('/v2/projects/declared', (_req, res) => {
      const body = JSON.stringify({ name: 'declared', pad: 'x'.repeat(MAX_BYTES) });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    routes.set('/v2/projects/html', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>login</html>');
    });
    routes.set('/v2/projects/malformed', json(200, { name: 'malformed', config: { clusters: { account: 'k8s' } } }));
    const cases: Array<[string, RegExp]> = [
      ['broken', /answered 500: bucket unavailable$/],
      ['slow', new RegExp(`no answer within ${TIMEOUT_MS} ms$`)],
      ['huge', new RegExp(`larger than front50\\.maxResponseBytes \\(${MAX_BYTES} bytes\\)$`)],
      ['declared', /larger than front50\.maxResponseBytes/],
      ['html', /the answer is not JSON/],
      ['malformed', /the project is malformed: config\.clusters is not a list$/],
    ];
    for (const [name, why] of cases) {
      const res = await get(app, `/projects/${name}/clusters`);
      assert.equal(res.status, 502, name);
      assert.equal(res.body.code, Errors.FRONT50_UNAVAILABLE.code, name);
      assert.ok(res.body.message.startsWith(`Front50 (${front50Url}v2/projects/${name}): `), res.body.message);
      assert.match(res.body.message, why, name);
    }
  });

  test('Front50 unreachable: 502 naming the address', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const client = new Front50Client({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: TIMEOUT_MS, maxResponseBytes: MAX_BYTES });
    await assert.rejects(client.project('dash'), (err: Error & { code?: string }) => {
      assert.equal(err.code, Errors.FRONT50_UNAVAILABLE.code);
      assert.match(err.message, new RegExp(`^Front50 \\(http://127\\.0\\.0\\.1:${port}/v2/projects/dash\\): unreachable \\(.*ECONNREFUSED`));
      return true;
    });
  });
});

test("Clouddriver's nameMatches: * matches anything, a value only itself, none only none", () => {
  assert.equal(nameMatches('prod', '*'), true);
  assert.equal(nameMatches(undefined, '*'), true);
  assert.equal(nameMatches('prod', 'prod'), true);
  assert.equal(nameMatches('prod', 'staging'), false);
  assert.equal(nameMatches(undefined, undefined), true);
  assert.equal(nameMatches('prod', undefined), false);
  assert.equal(nameMatches(undefined, 'prod'), false);
  assert.equal(nameMatches('', ''), true);
});

test('front50 in the hub configuration: unset by default, an http(s) URL, strict', () => {
  const parsed = hubConfigSchema.parse({});
  assert.equal(parsed.front50.baseUrl, undefined);
  assert.equal(parsed.front50.timeoutMs, 10_000);
  assert.equal(hubConfigSchema.parse({ front50: { baseUrl: 'http://spin-front50:8080' } }).front50.baseUrl, 'http://spin-front50:8080');
  for (const bad of [{ baseUrl: 'ftp://front50' }, { baseUrl: 'not a url' }, { url: 'http://front50' }, { timeoutMs: 0 }]) {
    assert.equal(hubConfigSchema.safeParse({ front50: bad }).success, false, JSON.stringify(bad));
  }
});
