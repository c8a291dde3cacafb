import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../../common/logger.ts';
import { waitFor } from '../../common/time.ts';
import { forEachEngine } from '../../../test/support/databases.ts';
import type { SqlStore } from '../store/sql-store.ts';
import { DEPLOYMENTS, NAMESPACES, accountRecord, upsert } from '../store/testing/fixtures.ts';
import type { FeedInfo } from '../store/types.ts';
import { FakeRouter, defaultResponder } from './testing/fake-router.ts';
import { buildApiServer } from './server.ts';
import type { TaskView } from './ops/task-view.ts';

const NOW = 1_700_000_000_000;
/** Spring Boot's error `timestamp` (src/hub/http/error-body.ts); its exact value is checked in http-errors.test.ts. */
const SPRING_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00$/;
const SECRETS: FeedInfo = { group: '', version: 'v1', kind: 'Secret', resource: 'secrets', namespace: '', namespaced: true };
const WIDGETS: FeedInfo = { group: 'example.com', version: 'v1', kind: 'Widget', resource: 'widgets', namespace: '', namespaced: true };

type Json = any;

forEachEngine('REST API', (engine) => {
  let store: SqlStore;
  let router: FakeRouter;
  let app: FastifyInstance;

  before(async () => {
    store = await engine.openStore();
    await store.upsertAccount(accountRecord('k8s', { permissions: { READ: ['eng'], WRITE: ['eng'] }, properties: { environment: 'prod' } }), NOW);
    await store.upsertAccount(accountRecord('scoped', { namespaces: ['web', 'api'], status: 'disconnected', agentId: null, hubId: null }), NOW);
    await store.applyBatch(
      {
        account: 'k8s',
        changes: [
          upsert(NAMESPACES, '', 'web'),
          upsert(NAMESPACES, '', 'default'),
          upsert(
            DEPLOYMENTS,
            'web',
            'nginx',
            '5',
            { generation: 2, annotations: { 'moniker.spinnaker.io/application': 'shop' } },
            {
              spec: {
                replicas: 3,
                template: {
                  spec: {
                    initContainers: [{ name: 'init', image: 'busybox:1.36' }],
                    containers: [{ name: 'web', image: 'gcr.io/x/web:1.2', envFrom: [{ configMapRef: { name: 'web-config' } }] }],
                  },
                },
              },
              status: { observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 1, readyReplicas: 1 },
            },
          ),
          upsert(SECRETS, 'web', 'creds', '6', {}, { data: { password: 'c2VjcmV0' }, type: 'Opaque' }),
          upsert(WIDGETS, 'web', 'w1'),
        ],
        progress: [],
      },
      NOW,
    );
  });

  after(async () => {
    await store.close();
  });

  beforeEach(async () => {
    router = new FakeRouter();
    app = buildApiServer({ store, router, hubId: 'hub-test', logger: silentLogger() });
  });

  async function get(url: string): Promise<{ status: number; body: Json }> {
    const res = await app.inject({ method: 'GET', url });
    return { status: res.statusCode, body: res.body === '' ? undefined : res.json() };
  }

  async function post(url: string, payload: unknown): Promise<{ status: number; body: Json }> {
    const res = await app.inject({
      method: 'POST',
      url,
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      headers: { 'content-type': 'application/json' },
    });
    return { status: res.statusCode, body: res.json() };
  }

  async function finished(id: string): Promise<TaskView> {
    return waitFor(
      async () => {
        const task = (await get(`/task/${id}`)).body as TaskView;
        return task.status.completed ? task : undefined;
      },
      { timeoutMs: 5000, intervalMs: 5, what: `task ${id}` },
    );
  }

  test('GET /health', async () => {
    assert.deepEqual(await get('/health'), { status: 200, body: { status: 'UP' } });
  });

  test('GET /credentials lists accounts, ?expand=true adds namespaces and the kind map', async () => {
    const plain = await get('/credentials');
    assert.equal(plain.status, 200);
    assert.deepEqual(
      plain.body.map((a: Json) => a.name),
      ['k8s', 'scoped'],
    );
    const k8s = plain.body[0];
    assert.equal(k8s.type, 'kubernetes');
    assert.equal(k8s.cloudProvider, 'kubernetes');
    assert.equal(k8s.environment, 'prod');
    assert.equal(k8s.accountType, 'k8s');
    assert.deepEqual(k8s.permissions, { READ: ['eng'], WRITE: ['eng'] });
    assert.deepEqual(k8s.requiredGroupMembership, []);
    assert.equal(k8s.challengeDestructiveActions, false);
    assert.equal(k8s.primaryAccount, false);
    assert.equal(k8s.namespaces, undefined);
    assert.equal(k8s.agent.status, 'connected');
    assert.deepEqual(plain.body[1].permissions, {});

    const expanded = await get('/credentials?expand=true');
    const [full, scoped] = expanded.body;
    assert.deepEqual(full.namespaces, ['default', 'web']);
    assert.deepEqual(scoped.namespaces, ['web', 'api']);
    assert.equal(full.enabled, true);
    assert.deepEqual(full.dockerRegistries, []);
    assert.equal(full.spinnakerKindMap.deployment, 'serverGroupManagers');
    assert.equal(full.spinnakerKindMap.replicaSet, 'serverGroups');
    assert.equal(full.spinnakerKindMap.pod, 'instances');
    assert.equal(full.spinnakerKindMap.service, 'loadBalancers');
    assert.equal(full.spinnakerKindMap.networkPolicy, 'securityGroups');
    assert.equal(full.spinnakerKindMap.configMap, 'configs');
    assert.equal(full.spinnakerKindMap['widget.example.com'], 'unclassified');
    assert.deepEqual(full.permissions, { READ: ['eng'], WRITE: ['eng'] });
    assert.deepEqual(scoped.permissions, {});
    assert.equal(scoped.agent.status, 'disconnected');
  });

  test('GET /credentials/{account} is expanded; unknown is a Spring-like 404', async () => {
    const one = await get('/credentials/k8s');
    assert.equal(one.status, 200);
    assert.deepEqual(one.body.namespaces, ['default', 'web']);
    assert.deepEqual(one.body.permissions, { READ: ['eng'], WRITE: ['eng'] });
    assert.deepEqual((await get('/credentials/scoped')).body.permissions, {});
    const missing = await get('/credentials/nope');
    assert.equal(missing.status, 404);
    const { timestamp, ...rest } = missing.body;
    assert.match(timestamp, SPRING_TIMESTAMP);
    assert.deepEqual(rest, { error: 'Not Found', message: 'account nope not found', status: 404, code: 'ACCOUNT_NOT_FOUND' });
  });

  test('GET /manifests decodes "kind name", resolves aliases, reports stability and artifacts', async () => {
    for (const name of ['deployment%20nginx', 'deploy%20nginx', 'Deployment%20nginx', 'deployment.apps%20nginx']) {
      const res = await get(`/manifests/k8s/web/${name}?includeEvents=false`);
      assert.equal(res.status, 200, name);
      assert.equal(res.body.name, 'deployment nginx');
    }
    const { body } = await get('/manifests/k8s/web/deployment%20nginx');
    assert.equal(body.account, 'k8s');
    assert.equal(body.location, 'web');
    assert.deepEqual(body.moniker, { app: 'shop', cluster: 'deployment nginx' });
    assert.equal(body.manifest.metadata.name, 'nginx');
    assert.deepEqual(body.status, {
      stable: { state: false, message: 'Waiting for all replicas to be updated' },
      paused: { state: false, message: '' },
      available: { state: true, message: '' },
      failed: { state: false, message: '' },
    });
    assert.deepEqual(body.artifacts, [
      { type: 'docker/image', name: 'busybox', reference: 'busybox:1.36' },
      { type: 'docker/image', name: 'gcr.io/x/web', reference: 'gcr.io/x/web:1.2' },
      { type: 'kubernetes/configMap', name: 'web-config', reference: 'web-config' },
    ]);
    assert.deepEqual(body.events, []);
    assert.deepEqual(body.warnings, []);
    assert.deepEqual(body.metrics, []);
  });

  test('GET /manifests: cluster-scoped forms, custom kinds, secrets without data', async () => {
    assert.equal((await get('/manifests/k8s/_/namespace%20web')).body.name, 'namespace web');
    assert.equal((await get('/manifests/k8s/ns%20web')).body.location, '');
    const widget = await get('/manifests/k8s/web/Widget.example.com%20w1');
    assert.equal(widget.status, 200);
    assert.equal(widget.body.name, 'Widget.example.com w1');
    assert.deepEqual(widget.body.status.stable, { state: true, message: '' });
    const secret = await get('/manifests/k8s/web/secret%20creds');
    assert.equal(secret.body.manifest.data, undefined);
    assert.equal(secret.body.manifest.type, 'Opaque');
  });

  test('GET /manifests: 404s and bad names', async () => {
    const absent = await get('/manifests/k8s/web/deployment%20ghost');
    assert.equal(absent.status, 404);
    assert.equal(absent.body.code, 'NOT_FOUND');
    assert.match(absent.body.message, /deployment ghost not found in k8s\/web/);
    assert.equal((await get('/manifests/nope/web/deployment%20nginx')).body.code, 'ACCOUNT_NOT_FOUND');
    assert.equal((await get('/manifests/k8s/web/nginx')).status, 400);
    assert.equal((await get('/manifests/k8s/web/gizmo%20x')).status, 404);
  });

  test('deployManifest: flattens Lists, sorts by priority, annotates, applies, returns the OperationResult', async () => {
    const manifests = [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'nginx', annotations: { 'strategy.spinnaker.io/server-side-apply': 'force-conflicts' } },
        spec: { template: { metadata: { labels: { app: 'nginx' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.25' }] } } },
      },
      {
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: 'v1', kind: 'Service', metadata: { name: 'nginx', namespace: 'other', labels: { 'app.kubernetes.io/name': 'keep' } } },
          { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds' }, data: { k: 'dg==' } },
        ],
      },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'web' } },
    ];
    const res = await post('/kubernetes/ops', [
      {
        deployManifest: {
          account: 'k8s',
          cloudProvider: 'kubernetes',
          source: 'text',
          manifests,
          moniker: { app: 'web', stack: 'prod' },
          namespaceOverride: 'web',
        },
      },
    ]);
    assert.equal(res.status, 200);
    assert.match(res.body.id, /^[0-9A-Z]{26}$/);
    assert.equal(res.body.resourceUri, `/task/${res.body.id}`);
    const task = await finished(res.body.id);
    assert.equal(task.status.failed, false, JSON.stringify(task));
    assert.equal(task.status.completed, true);
    assert.equal(task.status.status, 'Orchestration completed.');
    assert.equal(task.ownerId, 'hub-test');

    assert.deepEqual(
      router.calls.map((c) => (c.request.type === 'apply' ? c.request.manifest.kind : '')),
      ['Namespace', 'Secret', 'Service', 'Deployment'],
    );
    const apply = router.calls.map((c) => c.request as Extract<typeof c.request, { type: 'apply' }>);
    assert.ok(router.calls.every((c) => c.account === 'k8s' && c.options?.taskId === res.body.id && c.options?.timeoutMs === 30_000));
    const [ns, secret, service, deployment] = apply;
    assert.ok(ns && secret && service && deployment);
    assert.equal(ns.manifest.metadata?.namespace, undefined);
    assert.equal(service.manifest.metadata?.namespace, 'web');
    assert.equal(service.manifest.metadata?.labels?.['app.kubernetes.io/name'], 'keep');
    assert.equal(service.strategy, 'client-side');
    assert.equal(deployment.strategy, 'server-side');
    assert.equal(deployment.forceConflicts, true);
    assert.deepEqual(deployment.manifest.metadata?.annotations, {
      'strategy.spinnaker.io/server-side-apply': 'force-conflicts',
      'artifact.spinnaker.io/type': 'kubernetes/deployment',
      'artifact.spinnaker.io/name': 'nginx',
      'artifact.spinnaker.io/location': 'web',
      'moniker.spinnaker.io/application': 'web',
      'moniker.spinnaker.io/cluster': 'deployment nginx',
      'moniker.spinnaker.io/stack': 'prod',
    });
    assert.deepEqual(deployment.manifest.metadata?.labels, { 'app.kubernetes.io/name': 'web', 'app.kubernetes.io/managed-by': 'spinnaker' });
    const template = (deployment.manifest.spec as Json).template.metadata;
    assert.equal(template.labels.app, 'nginx');
    assert.equal(template.labels['app.kubernetes.io/managed-by'], 'spinnaker');
    assert.equal(template.annotations['moniker.spinnaker.io/application'], 'web');
    assert.equal(secret.manifest.data !== undefined, true, 'the secret itself is applied with its data');

    assert.equal(task.resultObjects.length, 1);
    const result = task.resultObjects[0] as Json;
    assert.deepEqual(result.manifestNamesByNamespace, { '': ['namespace web'], web: ['secret creds-v000', 'service nginx', 'deployment nginx'] });
    assert.equal(result.manifests.length, 4);
    assert.equal(result.manifests[1].kind, 'Secret');
    assert.equal(result.manifests[1].data, undefined);
    assert.equal(result.manifests[3].metadata.resourceVersion, '100');
    assert.deepEqual(result.createdArtifacts[3], {
      type: 'kubernetes/deployment',
      name: 'nginx',
      location: 'web',
      version: '',
      reference: 'nginx',
      metadata: { account: 'k8s' },
    });
    assert.deepEqual(result.boundArtifacts, []);
    assert.deepEqual(task.history[0], { phase: 'ORCHESTRATION', status: 'Initializing Orchestration Task' });
    assert.deepEqual(task.history[1], { phase: 'ORCHESTRATION', status: 'Processing op: KubernetesDeployManifestOperation' });
  });

  test('deployManifest: the deprecated single manifest, the default namespace and Frigga app', async () => {
    const res = await post('/kubernetes/ops/deployManifest', {
      account: 'k8s',
      manifest: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shop-config' } },
    });
    const task = await finished(res.body.id);
    assert.equal(task.status.failed, false);
    const call = router.calls[0]?.request as Json;
    assert.equal(call.manifest.metadata.namespace, 'default');
    assert.equal(call.manifest.metadata.annotations['moniker.spinnaker.io/application'], 'shop');
    assert.equal(call.manifest.metadata.annotations['moniker.spinnaker.io/cluster'], 'configMap shop-config');
  });

  test('a failed apply fails the task with an EXCEPTION carrying the Kubernetes status', async () => {
    router.responder = () => ({
      httpStatus: 422,
      errorCode: 'KUBE_API_ERROR',
      message: 'invalid',
      body: { kind: 'Status', status: 'Failure', reason: 'Invalid', message: 'Deployment.apps "nginx" is invalid: spec.selector: Required value', code: 422 },
    });
    const res = await post('/ops', [
      { deployManifest: { account: 'k8s', manifests: [{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'nginx', namespace: 'web' } }] } },
    ]);
    const task = await finished(res.body.id);
    assert.equal(task.status.failed, true);
    assert.equal(task.status.retryable, false);
    const failure = task.resultObjects[0] as Json;
    assert.equal(failure.type, 'EXCEPTION');
    assert.equal(failure.operation, 'KubernetesDeployManifestOperation');
    assert.equal(failure.message, 'Deploy of deployment nginx failed: 422 Invalid: Deployment.apps "nginx" is invalid: spec.selector: Required value');
    assert.equal(failure.retryable, false);
    assert.match(
      task.status.status,
      /^Orchestration failed: KubernetesDeployManifestOperation \| KubernetesOperationException: \[Deploy of deployment nginx failed/,
    );
  });

  test('an account without a connected agent: the task exists and fails clearly', async () => {
    router.responder = () => ({ httpStatus: 0, errorCode: 'ACCOUNT_NOT_CONNECTED', message: 'no agent serves account scoped' });
    const res = await post('/kubernetes/ops', [
      { deployManifest: { account: 'scoped', manifests: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'web' } }] } },
    ]);
    assert.equal(res.status, 200);
    const task = await finished(res.body.id);
    assert.equal(task.status.failed, true);
    assert.equal((task.resultObjects[0] as Json).message, 'Deploy of configMap c-v000 failed: ACCOUNT_NOT_CONNECTED: no agent serves account scoped');
    assert.equal(task.status.retryable, true, 'the same deploy may succeed once an agent is back');
  });

  test('deleteManifest by name: options map to the delete request; a 404 is success with nothing deleted', async () => {
    const res = await post('/kubernetes/ops', [
      { deleteManifest: { account: 'k8s', manifestName: 'deployment nginx', location: 'web', options: { cascading: false, gracePeriodSeconds: 5 } } },
    ]);
    const task = await finished(res.body.id);
    assert.equal(task.status.failed, false);
    assert.deepEqual(router.calls[0]?.request, {
      type: 'delete',
      target: { group: 'apps', version: '', kind: 'Deployment', namespace: 'web', name: 'nginx' },
      waitForDeletion: true,
      propagationPolicy: 'Orphan',
      gracePeriodSeconds: 5,
    });
    assert.deepEqual(task.resultObjects, [
      { manifestNamesByNamespace: { web: ['deployment nginx'] }, manifests: [], createdArtifacts: [], boundArtifacts: [] },
    ]);

    router.responder = () => ({ httpStatus: 404, errorCode: 'KUBE_API_ERROR', body: { kind: 'Status', reason: 'NotFound', message: 'not found' } });
    const gone = await finished((await post('/kubernetes/ops', [{ deleteManifest: { account: 'k8s', manifestName: 'svc nginx', location: 'web' } }])).body.id);
    assert.equal(gone.status.failed, false);
    assert.deepEqual(gone.resultObjects, [{ manifestNamesByNamespace: { web: [] }, manifests: [], createdArtifacts: [], boundArtifacts: [] }]);
  });

  test('deleteManifest by label selector: one delete per kind, names from what was deleted', async () => {
    router.responder = (_account, request) =>
      request.type === 'delete'
        ? {
            httpStatus: 200,
            written: [
              {
                group: request.target.group,
                kind: request.target.kind,
                namespace: 'web',
                name: `${request.target.kind.toLowerCase()}-a`,
                uid: 'u',
                resourceVersion: '9',
                deleted: true,
              },
            ],
          }
        : defaultResponder(_account, request);
    const res = await post('/kubernetes/ops', [
      {
        deleteManifest: {
          account: 'k8s',
          location: 'web',
          kinds: ['deployment', 'configMap'],
          labelSelectors: {
            selectors: [
              { kind: 'EQUALS', key: 'app', values: ['web'] },
              { kind: 'NOT_EQUALS', key: 'tier', values: ['db'] },
              { kind: 'CONTAINS', key: 'env', values: ['a', 'b'] },
              { kind: 'NOT_CONTAINS', key: 'zone', values: ['x'] },
              { kind: 'EXISTS', key: 'owner' },
              { kind: 'NOT_EXISTS', key: 'canary' },
            ],
          },
          options: { cascading: 'foreground' },
        },
      },
    ]);
    const task = await finished(res.body.id);
    assert.equal(task.status.failed, false);
    assert.equal(router.calls.length, 2);
    const first = router.calls[0]?.request as Json;
    assert.equal(first.labelSelector, 'app=web,tier!=db,env in (a,b),zone notin (x),owner,!canary');
    assert.deepEqual(first.target, { group: 'apps', version: '', kind: 'Deployment', namespace: 'web', name: '' });
    assert.equal(first.propagationPolicy, 'Foreground');
    assert.equal((router.calls[1]?.request as Json).target.kind, 'ConfigMap');
    assert.deepEqual(task.resultObjects, [
      { manifestNamesByNamespace: { web: ['deployment deployment-a', 'configMap configmap-a'] }, manifests: [], createdArtifacts: [], boundArtifacts: [] },
    ]);
  });

  test('several ops in one request run in order inside one task', async () => {
    const res = await post('/kubernetes/ops', [
      { deployManifest: { account: 'k8s', manifests: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'web' } }] } },
      { deleteManifest: { account: 'k8s', manifestName: 'configMap old', location: 'web' } },
    ]);
    const task = await finished(res.body.id);
    assert.equal(task.resultObjects.length, 2);
    assert.deepEqual(
      router.calls.map((c) => c.request.type),
      ['apply', 'delete'],
    );
  });

  test('bad bodies are 400s naming the field, and create no task', async () => {
    const before = (await get('/task')).body.length;
    const cases: Array<[unknown, RegExp, string?]> = [
      ['{"not json', /malformed JSON body/],
      [{ deployManifest: {} }, /expected a JSON array/],
      [[], /at least one operation/],
      [[42], /^\[0\]: expected an object/],
      [[{ a: 1, b: 2 }], /exactly one operation name/],
      [[{ frobnicate: {} }], /^\[0\]: unknown operation "frobnicate"; supported: deployManifest, deleteManifest, patchManifest, /, 'OPERATION_UNSUPPORTED'],
      [[{ deployManifest: { manifests: [] } }], /^\[0\]\.deployManifest\.account: is required$/],
      [[{ deployManifest: { account: 'k8s', manifests: [] } }], /^\[0\]\.deployManifest\.manifests: at least one manifest is required$/],
      [
        [
          {
            deployManifest: {
              account: 'k8s',
              manifests: [
                { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } },
                { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'b' } },
                { apiVersion: 'v1', metadata: { name: 'c' } },
              ],
            },
          },
        ],
        /^\[0\]\.deployManifest\.manifests\[2\]: kind is required$/,
      ],
      [
        [
          {
            deployManifest: { account: 'k8s', manifests: [{ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }] }] },
          },
        ],
        /manifests\[0\]\.items\[0\]: metadata\.name is required/,
      ],
      [[{ deployManifest: { account: 'k8s', manifests: 'nope' } }], /manifests: expected a list/],
      [
        [{ deployManifest: { account: 'k8s', manifests: [{ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'a' } }], moniker: 'web' } }],
        /moniker: expected an object/,
      ],
      [
        [{ deployManifest: { account: 'nope', manifests: [{ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'a' } }] } }],
        /account: unknown account "nope"/,
        'ACCOUNT_NOT_FOUND',
      ],
      [[{ deleteManifest: { account: 'k8s', location: 'web' } }], /manifestName, or kinds with labelSelectors, is required/],
      [[{ deleteManifest: { account: 'k8s', manifestName: 'nginx', location: 'web' } }], /manifestName: expected "<kind> <name>"/],
      [[{ deleteManifest: { account: 'k8s', manifestName: 'gizmo x', location: 'web' } }], /manifestName: unknown kind "gizmo"/],
      [[{ deleteManifest: { account: 'k8s', manifestName: 'deployment x' } }], /location: is required for the namespaced kind Deployment/],
      [
        [
          {
            deleteManifest: {
              account: 'k8s',
              kinds: ['deployment'],
              location: 'web',
              labelSelectors: { selectors: [{ kind: 'EQUALS', key: 'a', values: [] }] },
            },
          },
        ],
        /selectors\[0\]\.values: EQUALS takes exactly one value/,
      ],
      [
        [{ deleteManifest: { account: 'k8s', manifestName: 'deployment x', location: 'web', options: { gracePeriodSeconds: 'soon' } } }],
        /options\.gracePeriodSeconds: expected an integer/,
      ],
    ];
    for (const [payload, message, code = 'REQUEST_INVALID'] of cases) {
      const res = await post('/kubernetes/ops', payload);
      assert.equal(res.status, 400, JSON.stringify(payload));
      assert.equal(res.body.error, 'Bad Request');
      assert.equal(res.body.status, 400);
      assert.equal(res.body.code, code, JSON.stringify(payload));
      assert.match(res.body.message, message, JSON.stringify(payload));
    }
    const unknownPath = await post('/ops/frobnicate', {});
    assert.equal(unknownPath.status, 400);
    assert.match(unknownPath.body.message, /supported: deployManifest, deleteManifest, patchManifest/);
    assert.equal((await get('/task')).body.length, before);
    assert.equal(router.calls.length, 0);
  });

  test('clientRequestId makes a POST idempotent', async () => {
    const body = [{ deployManifest: { account: 'k8s', manifests: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'idem', namespace: 'web' } }] } }];
    const [a, b] = await Promise.all([post('/kubernetes/ops?clientRequestId=req-42', body), post('/kubernetes/ops?clientRequestId=req-42', body)]);
    assert.equal(a.body.id, b.body.id);
    await finished(a.body.id);
    const c = await post('/kubernetes/ops?clientRequestId=req-42', body);
    assert.equal(c.body.id, a.body.id);
    assert.equal(router.calls.length, 1);
    assert.equal((await get(`/task/${a.body.id}`)).body.requestId, 'req-42');
    const other = await post('/kubernetes/ops?clientRequestId=req-43', body);
    assert.notEqual(other.body.id, a.body.id);
    await finished(other.body.id);
  });

  test('tasks: 404, list, owner', async () => {
    const missing = await get('/task/nope');
    assert.match(missing.body.timestamp, SPRING_TIMESTAMP);
    assert.deepEqual(missing, {
      status: 404,
      body: { timestamp: missing.body.timestamp, error: 'Not Found', message: 'task nope not found', status: 404, code: 'TASK_NOT_FOUND' },
    });
    const res = await post('/kubernetes/ops', [{ deleteManifest: { account: 'k8s', manifestName: 'configMap x', location: 'web' } }]);
    const task = await finished(res.body.id);
    assert.equal(task.requestId, undefined);
    assert.deepEqual(task.sagaIds, []);
    assert.equal(typeof task.startTimeMs, 'number');
    const list = (await get('/task?limit=1')).body;
    assert.equal(list.length, 1);
    assert.equal(list[0].id, res.body.id);
    assert.deepEqual((await get(`/kubernetes/task/${res.body.id}/owner`)).body, { name: 'hub-test' });
    assert.equal((await get('/kubernetes/task/nope/owner')).status, 404);
  });

  test('features, cache no-ops, admin operations, unknown routes', async () => {
    assert.deepEqual(
      (await get('/features/stages')).body.map((s: Json) => s.name),
      [
        'deployManifest',
        'deleteManifest',
        'patchManifest',
        'scaleManifest',
        'undoRolloutManifest',
        'pauseRolloutManifest',
        'resumeRolloutManifest',
        'rollingRestartManifest',
        'enableManifest',
        'disableManifest',
        'runJob',
        'cleanupArtifacts',
        'resizeServerGroup',
      ],
    );
    assert.deepEqual(await post('/cache/kubernetes/manifest', { account: 'k8s', location: 'web', name: 'deployment nginx' }), {
      status: 200,
      body: { cachedIdentifiersByType: {} },
    });
    const empty = await app.inject({ method: 'POST', url: '/cache/kubernetes/serverGroup', headers: { 'content-type': 'application/json' } });
    assert.equal(empty.statusCode, 200);
    assert.deepEqual((await get('/cache/kubernetes/manifest')).body, []);
    await store.recordOperation({
      id: 'op-admin',
      taskId: null,
      account: 'k8s',
      type: 'apply',
      status: 'SUCCEEDED',
      httpStatus: 200,
      errorCode: null,
      message: null,
      agentId: 'agent-1',
      receivedAt: NOW,
      routedAt: NOW + 1,
      sentAt: NOW + 2,
      executedAt: NOW + 3,
      resultAt: NOW + 4,
    });
    const ops = (await get('/admin/operations?limit=5')).body;
    assert.equal(ops[0].id, 'op-admin');
    assert.equal(ops[0].sentAt, NOW + 2);
    const unknown = await get('/nothing/here');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'NOT_FOUND');
  });

  test('closing the server waits for running tasks', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    router.responder = async (account, request) => {
      await gate;
      return defaultResponder(account, request);
    };
    const res = await post('/kubernetes/ops', [{ deleteManifest: { account: 'k8s', manifestName: 'configMap slow', location: 'web' } }]);
    assert.equal((await get(`/task/${res.body.id}`)).body.status.completed, false);
    const closed = app.close();
    release();
    await closed;
    assert.equal((await store.getTask(res.body.id))?.state, 'COMPLETED');
  });
});
