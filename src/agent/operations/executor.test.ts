import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { silentLogger } from '../../common/logger.ts';
import type { ApiResource } from '../../kube/api-resource.ts';
import { KubeClient } from '../../kube/client.ts';
import {
  sendJson,
  startFakeApiServer,
  status,
  type FakeApiServer,
  type FakeRequest,
  type FakeResponse,
  type RecordedRequest,
} from '../../kube/testing/fake-api-server.ts';
import { ApplyStrategy, OperationSchema, PatchType, type Operation } from '../../protocol/index.ts';
import type { AccountRuntime } from '../account/account-runtime.ts';
import { OperationExecutor } from './executor.ts';

/**
 * The agent's primitives against a scripted API server: conflicts retried for patch and scale, deletes
 * that wait for every object (by uid), generateName creates, and a deadline answered by the agent itself
 * before the hub gives up.
 */
const RESOURCES: ApiResource[] = [
  {
    group: 'apps',
    version: 'v1',
    kind: 'Deployment',
    resource: 'deployments',
    namespaced: true,
    verbs: ['get', 'list', 'patch'],
    shortNames: [],
    singularName: 'deployment',
    preferred: true,
  },
  {
    group: '',
    version: 'v1',
    kind: 'Pod',
    resource: 'pods',
    namespaced: true,
    verbs: ['get', 'list', 'delete'],
    shortNames: [],
    singularName: 'pod',
    preferred: true,
  },
  { group: 'batch', version: 'v1', kind: 'Job', resource: 'jobs', namespaced: true, verbs: ['create'], shortNames: [], singularName: 'job', preferred: true },
  {
    group: '',
    version: 'v1',
    kind: 'Secret',
    resource: 'secrets',
    namespaced: true,
    verbs: ['get', 'patch'],
    shortNames: [],
    singularName: 'secret',
    preferred: true,
  },
];

function readBody(req: FakeRequest): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

type Script = (r: RecordedRequest, body: string, res: FakeResponse) => void;

describe('OperationExecutor', () => {
  let server: FakeApiServer;
  let client: KubeClient;
  let script: Script;
  let seen: Array<{ method: string; path: string; body: string }>;
  let executor: OperationExecutor;

  before(async () => {
    server = await startFakeApiServer('http', async (req, res, r) => {
      const body = await readBody(req);
      seen.push({ method: r.method, path: r.path, body });
      script(r, body, res);
    });
    client = new KubeClient({ server: server.url, insecureSkipTlsVerify: false, auth: { type: 'none' } });
    const runtime = {
      name: 'k8s',
      client,
      resources: RESOURCES,
      state: 'ready',
      caching: false,
      lastError: undefined,
      // The kubeconfig context's namespace.
      defaultNamespace: 'team-a',
    } as unknown as AccountRuntime;
    executor = new OperationExecutor({
      account: (name) => (name === 'k8s' ? runtime : undefined),
      logger: silentLogger(),
      cacheSyncTimeoutMs: 100,
      fieldManager: 'scale-agent',
    });
  });
  after(async () => {
    await client.close();
    await server.close();
  });
  beforeEach(() => {
    seen = [];
  });

  const op = (request: { case: string; value: unknown }, deadlineMs = 5_000): Operation =>
    create(OperationSchema, { id: 'op-1', account: 'k8s', deadlineUnixMs: BigInt(Date.now() + deadlineMs), request: request as never });
  const target = (kind: string, name: string, group = kind === 'Deployment' ? 'apps' : '') => ({
    $typeName: 'scaleagent.v1.ResourceTarget' as const,
    group,
    version: '',
    kind,
    namespace: 'web',
    name,
  });
  const deploymentBody = (rv: string) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'web', uid: 'u1', resourceVersion: rv },
  });

  test('a patch that meets a conflict is sent again after a re-read, a bounded number of times', async () => {
    let patches = 0;
    script = (r, _body, res) => {
      if (r.method === 'PATCH')
        return ++patches < 3 ? sendJson(res, 409, status(409, 'Conflict', 'the object has been modified')) : sendJson(res, 200, deploymentBody('9'));
      sendJson(res, 200, deploymentBody('8'));
    };
    const result = await executor.execute(
      op({ case: 'patch', value: { target: target('Deployment', 'web'), type: PatchType.MERGE, patch: new TextEncoder().encode('{"spec":{"paused":true}}') } }),
    );
    assert.equal(result.httpStatus, 200);
    assert.equal(result.errorCode, '');
    assert.deepEqual(
      seen.map((s) => s.method),
      ['PATCH', 'GET', 'PATCH', 'GET', 'PATCH'],
    );
    assert.equal(result.written[0]!.resourceVersion, '9');

    patches = -10;
    const stuck = await executor.execute(
      op({ case: 'patch', value: { target: target('Deployment', 'web'), type: PatchType.JSON, patch: new TextEncoder().encode('[]') } }),
    );
    assert.equal(stuck.httpStatus, 409);
    assert.equal(stuck.errorCode, 'KUBE_API_ERROR');
    assert.match(stuck.message, /^patch failed with HTTP 409: Conflict: the object has been modified$/);
    assert.equal(seen.filter((s) => s.method === 'PATCH').length, 3 + 4, 'one try and three retries');
  });

  test('scale patches the scale subresource, retries conflicts, and reports the workload written', async () => {
    let first = true;
    script = (r, body, res) => {
      if (r.method === 'PATCH') {
        assert.equal(r.path, '/apis/apps/v1/namespaces/web/deployments/web/scale');
        assert.deepEqual(JSON.parse(body), { spec: { replicas: 3 } });
        if (first) {
          first = false;
          return sendJson(res, 409, status(409, 'Conflict'));
        }
        return sendJson(res, 200, { kind: 'Scale', metadata: { name: 'web', namespace: 'web', uid: 'u1', resourceVersion: '12' }, spec: { replicas: 3 } });
      }
      sendJson(res, 200, deploymentBody('11'));
    };
    const result = await executor.execute(op({ case: 'scale', value: { target: target('Deployment', 'web'), replicas: 3 } }));
    assert.equal(result.httpStatus, 200);
    assert.deepEqual(
      result.written.map((w) => [w.kind, w.name, w.resourceVersion]),
      [['Deployment', 'web', '12']],
    );
  });

  test('a delete by selector deletes every match first, then waits for all; a successor with another uid counts as gone', async () => {
    const alive = new Map([
      ['a', 'uid-a'],
      ['b', 'uid-b'],
    ]);
    let polls = 0;
    script = (r, _body, res) => {
      const name = r.path.split('/').pop()!;
      if (r.method === 'GET' && name === 'pods') return sendJson(res, 200, { items: [...alive.keys()].map((n) => ({ metadata: { name: n } })) });
      if (r.method === 'DELETE') return sendJson(res, 200, { kind: 'Pod', metadata: { name, uid: alive.get(name) } });
      polls++;
      // "a" comes back at once under a new uid (a StatefulSet's successor); "b" takes a few polls to go.
      if (name === 'a') return sendJson(res, 200, { kind: 'Pod', metadata: { name, uid: 'uid-a2' } });
      return polls > 4 ? sendJson(res, 404, status(404, 'NotFound')) : sendJson(res, 200, { kind: 'Pod', metadata: { name, uid: 'uid-b' } });
    };
    const result = await executor.execute(
      op({ case: 'delete', value: { target: target('Pod', ''), labelSelector: 'app=x', propagationPolicy: 'Background', waitForDeletion: true } }),
    );
    assert.equal(result.errorCode, '');
    assert.deepEqual(
      result.written.map((w) => [w.name, w.deleted]),
      [
        ['a', true],
        ['b', true],
      ],
    );
    // Waiting starts as each delete is accepted; the second delete does not wait for the first object to go.
    const deleteB = seen.findIndex((s) => s.method === 'DELETE' && s.path.endsWith('/b'));
    const lastPollB = seen.map((s, i) => (s.method === 'GET' && s.path.endsWith('/b') ? i : -1)).reduce((a, b) => Math.max(a, b));
    assert.ok(deleteB > 0 && deleteB < lastPollB);
    assert.deepEqual(JSON.parse(seen[1]!.body), { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' });
  });

  test('create with generateName posts to the collection, under our field manager, validated strictly as kubectl does', async () => {
    script = (r, body, res) => {
      assert.equal(r.method, 'POST');
      assert.equal(r.path, '/apis/batch/v1/namespaces/web/jobs');
      assert.equal(r.query.get('fieldManager'), 'scale-agent');
      assert.equal(r.query.get('fieldValidation'), 'Strict');
      const manifest = JSON.parse(body);
      sendJson(res, 201, { ...manifest, metadata: { ...manifest.metadata, name: 'pi-x7k2p', uid: 'u', resourceVersion: '3' } });
    };
    const manifest = { apiVersion: 'batch/v1', kind: 'Job', metadata: { generateName: 'pi-', namespace: 'web' } };
    const result = await executor.execute(
      op({
        case: 'apply',
        value: { manifest: new TextEncoder().encode(JSON.stringify(manifest)), strategy: ApplyStrategy.CREATE, fieldManager: '', forceConflicts: false },
      }),
    );
    assert.equal(result.httpStatus, 201);
    assert.equal(result.written[0]!.name, 'pi-x7k2p');
    const noName = await executor.execute(
      op({
        case: 'apply',
        value: { manifest: new TextEncoder().encode(JSON.stringify(manifest)), strategy: ApplyStrategy.UNSPECIFIED, fieldManager: '', forceConflicts: false },
      }),
    );
    assert.equal(noName.errorCode, 'MANIFEST_INVALID');
  });

  test("a manifest that names no namespace goes to the account's default namespace (the context's), as Clouddriver", async () => {
    script = (r, body, res) => {
      const manifest = JSON.parse(body);
      sendJson(res, 201, { ...manifest, metadata: { ...manifest.metadata, name: 'pi-x7k2p', uid: 'u', resourceVersion: '3' } });
    };
    const manifest = { apiVersion: 'batch/v1', kind: 'Job', metadata: { generateName: 'pi-' } };
    const result = await executor.execute(
      op({
        case: 'apply',
        value: { manifest: new TextEncoder().encode(JSON.stringify(manifest)), strategy: ApplyStrategy.CREATE, fieldManager: '', forceConflicts: false },
      }),
    );
    assert.equal(result.httpStatus, 201);
    assert.equal(seen[0]!.path, '/apis/batch/v1/namespaces/team-a/jobs');
    assert.equal(JSON.parse(seen[0]!.body).metadata.namespace, 'team-a');
  });

  test("a JSON patch that would copy, move or test a Secret's values is refused before it reaches the API server", async () => {
    script = (_r, _body, res) => sendJson(res, 200, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'web', resourceVersion: '2' } });
    const patch = (ops: unknown[]) =>
      op({ case: 'patch', value: { target: target('Secret', 's'), type: PatchType.JSON, patch: new TextEncoder().encode(JSON.stringify(ops)) } });
    for (const ops of [
      [{ op: 'copy', from: '/data/password', path: '/metadata/annotations/x' }],
      [{ op: 'move', from: '/stringData/token', path: '/metadata/labels/x' }],
      [{ op: 'test', path: '/data/password', value: 'guess' }],
    ]) {
      const result = await executor.execute(patch(ops));
      assert.equal(result.errorCode, 'SECRET_VALUES_PROTECTED', JSON.stringify(ops));
    }
    assert.deepEqual(seen, [], 'nothing was sent to the API server');
    // Writing a value, or moving one within data, is an ordinary patch.
    const allowed = await executor.execute(
      patch([
        { op: 'replace', path: '/data/password', value: 'bmV3' },
        { op: 'move', from: '/data/a', path: '/data/b' },
      ]),
    );
    assert.equal(allowed.errorCode, '');
    assert.equal(seen.length, 1);
  });

  test('an operation still running at its deadline is answered by the agent, before the hub gives up', async () => {
    script = () => undefined; // never answers
    const started = Date.now();
    const result = await executor.execute(op({ case: 'get', value: { target: target('Deployment', 'web') } }, 1_000));
    const took = Date.now() - started;
    assert.equal(result.errorCode, 'OPERATION_DEADLINE_EXCEEDED');
    assert.match(result.message, /^operation did not finish before its deadline/);
    assert.ok(took < 1_000, `answered after ${took} ms, before the 1000 ms deadline`);
    server.dropConnections();
  });
});
