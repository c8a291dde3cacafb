// Clouddriver's ArtifactController endpoints on the hub's API server, with REST authorization on and
// artifacts served from a loopback server: the shapes (raw bytes; [{name, types, type}]; lists of
// strings), the refusals (404 unknown account, 400 malformed body or missing parameter, 403 refused
// address, 502 upstream failure, 413 body beyond its bound), and who may call: any authenticated
// caller, and Spinnaker's service calls for the GETs only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { parseConfig } from '../../../common/config.ts';
import { Errors } from '../../../common/errors.ts';
import { silentLogger } from '../../../common/logger.ts';
import { artifactsConfigSchema } from '../../artifacts/artifact-config.ts';
import { ArtifactService } from '../../artifacts/artifact-service.ts';
import { authConfigSchema } from '../../auth/auth-config.ts';
import { createRestAuth } from '../../auth/rest-auth.ts';
import { openStore } from '../../store/open-store.ts';
import type { SqlStore } from '../../store/sql-store.ts';
import { FakeRouter } from '../testing/fake-router.ts';
import { buildApiServer } from '../server.ts';

const TOKEN = 'artifact-route-token-0123';
const BEARER = { authorization: `Bearer ${TOKEN}` };
/** Every byte value, so a fetch that altered bytes (text decoding) would show. */
const CHART_TGZ = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
const MAX_BYTES = 4096;

let upstream: Server;
let origin = '';
/** Answers of /slow held back, and the callbacks waiting for one to arrive. */
const held: Array<() => void> = [];
const heldWaiters: Array<() => void> = [];
let store: SqlStore;
let app: FastifyInstance;

before(async () => {
  upstream = createServer((req, res) => {
    if (req.url === '/charts/index.yaml') {
      res.end(
        'apiVersion: v1\nentries:\n  demo:\n  - name: demo\n    version: 1.1.0\n    urls: [demo-1.1.0.tgz]\n  - name: demo\n    version: 1.0.0\n    urls: [demo-1.0.0.tgz]\n  other:\n  - name: other\n    version: 0.0.1\n    urls: [other-0.0.1.tgz]\n',
      );
    } else if (req.url === '/charts/demo-1.0.0.tgz') res.end(CHART_TGZ);
    else if (req.url === '/files/app.yaml') res.end('kind: ConfigMap\n');
    else if (req.url === '/slow') {
      held.push(() => res.end('slow\n'));
      heldWaiters.splice(0).forEach((wake) => wake());
    } else res.writeHead(404).end('no such file');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  store = await openStore('sqlite::memory:', silentLogger());
  const artifacts = new ArtifactService(
    artifactsConfigSchema.parse({
      maxBytes: MAX_BYTES,
      // One fetch at a time and none waiting: the second concurrent fetch is refused as busy.
      maxConcurrentFetches: 1,
      maxQueuedFetches: 0,
      network: { allow: ['127.0.0.1'] },
      http: { enabled: true },
      helm: { accounts: [{ name: 'charts', repository: `${origin}/charts` }] },
    }),
  );
  const auth = createRestAuth(
    parseConfig(
      authConfigSchema,
      { enabled: true, tokens: [{ token: TOKEN, user: 'alice' }], trustedGate: { sources: ['127.0.0.1/32'], serviceCalls: 'read' } },
      'test',
    ),
  );
  app = buildApiServer({ store, router: new FakeRouter(), hubId: 'hub-test', logger: silentLogger(), auth, artifacts });
});

after(async () => {
  await app.close();
  await store.close();
  await new Promise((resolve) => upstream.close(resolve));
});

function put(url: string, payload: unknown, headers: Record<string, string> = BEARER) {
  return app.inject({
    method: 'PUT',
    url,
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
}

test('PUT /artifacts/fetch/ (with or without the slash) answers the artifact bytes', async () => {
  const chart = await put('/artifacts/fetch/', {
    type: 'helm/chart',
    artifactAccount: 'charts',
    name: 'demo',
    version: '1.0.0',
    uuid: 'u-1',
    metadata: { a: 1 },
  });
  assert.equal(chart.statusCode, 200, chart.body);
  assert.equal(chart.headers['content-type'], 'application/octet-stream');
  assert.ok(chart.rawPayload.equals(CHART_TGZ));
  const embedded = await put('/artifacts/fetch', {
    type: 'embedded/base64',
    artifactAccount: 'embedded-artifact',
    reference: Buffer.from('kind: Service\n').toString('base64'),
  });
  assert.equal(embedded.statusCode, 200);
  assert.equal(embedded.body, 'kind: Service\n');
  const file = await put('/artifacts/fetch/', { type: 'http/file', artifactAccount: 'no-auth-http-account', reference: `${origin}/files/app.yaml` });
  assert.equal(file.body, 'kind: ConfigMap\n');
});

test('GET /artifacts/credentials, /artifacts/account/{name}/names and /versions: Clouddriver shapes', async () => {
  const credentials = await app.inject({ method: 'GET', url: '/artifacts/credentials', headers: BEARER });
  assert.deepEqual(credentials.json(), [
    { name: 'no-auth-http-account', types: ['http/file'], type: 'artifacts-http' },
    { name: 'charts', types: ['helm/chart', 'helm/index'], type: 'artifacts-helm' },
    { name: 'embedded-artifact', types: ['embedded/base64', 'remote/base64'], type: 'artifacts-embedded' },
    { name: 'custom-artifact', types: ['custom/object'], type: 'artifacts-custom' },
  ]);
  const names = await app.inject({ method: 'GET', url: '/artifacts/account/charts/names?type=helm/chart', headers: BEARER });
  assert.deepEqual(names.json(), ['demo', 'other']);
  const versions = await app.inject({ method: 'GET', url: '/artifacts/account/charts/versions?type=helm/chart&artifactName=demo', headers: BEARER });
  assert.deepEqual(versions.json(), ['1.1.0', '1.0.0']);
});

test('an unknown account, or one that does not handle the type, is 404', async () => {
  for (const url of [
    '/artifacts/account/nope/names?type=helm/chart',
    '/artifacts/account/charts/names?type=artifacts-helm',
    '/artifacts/account/nope/versions?type=helm/chart&artifactName=demo',
  ]) {
    const res = await app.inject({ method: 'GET', url, headers: BEARER });
    assert.equal(res.statusCode, 404, url);
    assert.equal(res.json().code, Errors.ARTIFACT_ACCOUNT_NOT_FOUND.code);
  }
  const fetch = await put('/artifacts/fetch/', { type: 'github/file', artifactAccount: 'github', reference: 'https://api.github.com/repos/o/r/contents/a' });
  assert.equal(fetch.statusCode, 404);
  assert.match(fetch.json().message, /Credentials 'github' supporting artifact type 'github\/file' cannot be found/);
});

test('a malformed body or a missing parameter is 400 naming the field', async () => {
  const cases: Array<[unknown, string]> = [
    [[], 'body: must be an artifact (a JSON object)'],
    [{ name: 'foo' }, 'type: is required'],
    [{ type: 'embedded/base64' }, 'artifactAccount: is required'],
    [{ type: 'embedded/base64', artifactAccount: 'embedded-artifact' }, 'reference: is required for embedded/base64 artifacts'],
  ];
  for (const [body, message] of cases) {
    const res = await put('/artifacts/fetch/', body);
    assert.equal(res.statusCode, 400, JSON.stringify(body));
    assert.equal(res.json().code, Errors.ARTIFACT_REQUEST_INVALID.code);
    assert.equal(res.json().message, message);
  }
  assert.equal((await put('/artifacts/fetch/', '{"type":')).statusCode, 400);
  const noType = await app.inject({ method: 'GET', url: '/artifacts/account/charts/names', headers: BEARER });
  assert.equal(noType.statusCode, 400);
  assert.equal(noType.json().message, 'type: is required (a query parameter)');
  const noName = await app.inject({ method: 'GET', url: '/artifacts/account/charts/versions?type=helm/chart', headers: BEARER });
  assert.equal(noName.json().message, 'artifactName: is required (a query parameter)');
});

test('upstream failures are 502, refused addresses 403, a body beyond its bound 413', async () => {
  const missing = await put('/artifacts/fetch/', { type: 'http/file', artifactAccount: 'no-auth-http-account', reference: `${origin}/files/missing.yaml` });
  assert.equal(missing.statusCode, 502);
  assert.equal(missing.json().code, Errors.ARTIFACT_FETCH_FAILED.code);
  assert.match(missing.json().message, /missing\.yaml answered 404: no such file/);
  const metadata = await put('/artifacts/fetch/', {
    type: 'http/file',
    artifactAccount: 'no-auth-http-account',
    reference: 'http://169.254.169.254/latest/meta-data/',
  });
  assert.equal(metadata.statusCode, 403);
  assert.equal(metadata.json().code, Errors.ARTIFACT_ADDRESS_REFUSED.code);
  assert.match(metadata.json().message, /169\.254\.169\.254 is not allowed/);
  const tooBig = await put('/artifacts/fetch/', { type: 'embedded/base64', artifactAccount: 'embedded-artifact', reference: 'A'.repeat(100 * 1024) });
  assert.equal(tooBig.statusCode, 413);
  const decodedTooBig = await put('/artifacts/fetch/', { type: 'embedded/base64', artifactAccount: 'embedded-artifact', reference: 'A'.repeat(8 * 1024) });
  assert.equal(decodedTooBig.statusCode, 413, 'the caller sent it: not an upstream failure');
  assert.equal(decodedTooBig.json().code, Errors.ARTIFACT_TOO_LARGE.code);
});

test('with every fetch slot taken and no room to wait, a fetch is 503 ARTIFACT_FETCH_BUSY with Retry-After', async () => {
  const artifact = { type: 'http/file', artifactAccount: 'no-auth-http-account', reference: `${origin}/slow` };
  const first = put('/artifacts/fetch/', artifact);
  await new Promise<void>((resolve) => (held.length > 0 ? resolve() : heldWaiters.push(resolve)));
  const busy = await put('/artifacts/fetch/', artifact);
  assert.equal(busy.statusCode, 503);
  assert.equal(busy.json().code, Errors.ARTIFACT_FETCH_BUSY.code);
  assert.equal(busy.headers['retry-after'], '1');
  held.shift()!();
  assert.equal((await first).body, 'slow\n');
  assert.equal((await put('/artifacts/fetch/', { ...artifact, reference: `${origin}/files/app.yaml` })).statusCode, 200, 'the slot is free again');
});

test('any authenticated caller may fetch; service calls may only read; nobody else', async () => {
  const gateUser = await put(
    '/artifacts/fetch/',
    { type: 'embedded/base64', artifactAccount: 'embedded-artifact', reference: 'YQ==' },
    { 'x-spinnaker-user': 'anyone' },
  );
  assert.equal(gateUser.statusCode, 200, 'a Gate user without roles');
  const service = await app.inject({ method: 'GET', url: '/artifacts/credentials' });
  assert.equal(service.statusCode, 200, 'a service call (trusted source, no user) reads');
  const serviceVersions = await app.inject({ method: 'GET', url: '/artifacts/account/charts/versions?type=helm/chart&artifactName=demo' });
  assert.equal(serviceVersions.statusCode, 200);
  const serviceFetch = await put('/artifacts/fetch/', { type: 'embedded/base64', artifactAccount: 'embedded-artifact', reference: 'YQ==' }, {});
  assert.equal(serviceFetch.statusCode, 401, 'a service call does not PUT');
  const stranger = await app.inject({ method: 'GET', url: '/artifacts/credentials', remoteAddress: '10.9.9.9' });
  assert.equal(stranger.statusCode, 401);
});
