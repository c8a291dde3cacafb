import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Errors, ScaleAgentError } from '../common/errors.ts';
import { silentLogger } from '../common/logger.ts';
import type { KubeRequest } from './client.ts';
import { OPENAPI_INDEX_MIN_REFRESH_MS, OPENAPI_INDEX_TTL_MS, OPENAPI_RETRY_AFTER_FAILURE_MS, OpenApiV3Documents, type OpenApiClient } from './openapi-v3.ts';

const APPS_DOC = { paths: {}, components: { schemas: { Deployment: { description: 'dropped', properties: { spec: { type: 'object' } } } } } };

/** A cluster answering from a table of paths; every request is recorded. */
class ScriptedCluster implements OpenApiClient {
  readonly requests: string[] = [];
  constructor(public responses: Record<string, unknown>) {}
  async json<T>(req: KubeRequest): Promise<T> {
    const query = new URLSearchParams(req.query as Record<string, string>).toString();
    const url = query ? `${req.path}?${query}` : req.path;
    this.requests.push(url);
    const answer = this.responses[url];
    if (answer === undefined) throw new ScaleAgentError(Errors.KUBE_API_ERROR, `GET ${url}: 404 NotFound`, { status: 404 });
    if (answer instanceof Error) throw answer;
    return structuredClone(answer) as T;
  }
}

test('documents are fetched once per hashed URL, pruned, and refetched when the index names a new hash', async () => {
  let now = 1_000_000;
  const cluster = new ScriptedCluster({
    '/openapi/v3': { paths: { 'apis/apps/v1': { serverRelativeURL: '/openapi/v3/apis/apps/v1?hash=A' } } },
    '/openapi/v3/apis/apps/v1?hash=A': APPS_DOC,
  });
  const documents = new OpenApiV3Documents(cluster, silentLogger(), () => now);
  const [first, second] = await Promise.all([documents.forGroupVersion('apps', 'v1'), documents.forGroupVersion('apps', 'v1')]);
  assert.equal(first, second);
  assert.deepEqual(first?.components?.schemas?.Deployment, { properties: { spec: { type: 'object' } } });
  assert.deepEqual(cluster.requests, ['/openapi/v3', '/openapi/v3/apis/apps/v1?hash=A']);

  cluster.responses['/openapi/v3'] = { paths: { 'apis/apps/v1': { serverRelativeURL: '/openapi/v3/apis/apps/v1?hash=B' } } };
  cluster.responses['/openapi/v3/apis/apps/v1?hash=B'] = APPS_DOC;
  assert.ok(await documents.forGroupVersion('apps', 'v1'));
  assert.equal(cluster.requests.length, 2, 'within the TTL the index is trusted');
  now += OPENAPI_INDEX_TTL_MS;
  assert.ok(await documents.forGroupVersion('apps', 'v1'));
  assert.deepEqual(cluster.requests.slice(2), ['/openapi/v3', '/openapi/v3/apis/apps/v1?hash=B']);
});

test('a group version the index lacks refetches the index, at most every OPENAPI_INDEX_MIN_REFRESH_MS', async () => {
  let now = 1_000_000;
  const cluster = new ScriptedCluster({ '/openapi/v3': { paths: {} } });
  const documents = new OpenApiV3Documents(cluster, silentLogger(), () => now);
  assert.equal(await documents.forGroupVersion('example.com', 'v1'), undefined);
  assert.equal(await documents.forGroupVersion('example.com', 'v1'), undefined);
  assert.deepEqual(cluster.requests, ['/openapi/v3']);
  now += OPENAPI_INDEX_MIN_REFRESH_MS;
  cluster.responses['/openapi/v3'] = { paths: { 'apis/example.com/v1': { serverRelativeURL: '/openapi/v3/apis/example.com/v1' } } };
  cluster.responses['/openapi/v3/apis/example.com/v1'] = { paths: {} };
  assert.ok(await documents.forGroupVersion('example.com', 'v1'));
});

test('a cluster without OpenAPI v3 gives undefined; a failure falls back for a while and then asks again', async () => {
  let now = 1_000_000;
  const absent = new OpenApiV3Documents(new ScriptedCluster({}), silentLogger(), () => now);
  assert.equal(await absent.forGroupVersion('', 'v1'), undefined);

  const cluster = new ScriptedCluster({ '/openapi/v3': new ScaleAgentError(Errors.KUBE_API_ERROR, '503', { status: 503 }) });
  const documents = new OpenApiV3Documents(cluster, silentLogger(), () => now);
  assert.equal(await documents.forGroupVersion('', 'v1'), undefined);
  assert.equal(await documents.forGroupVersion('', 'v1'), undefined);
  assert.equal(cluster.requests.length, 1, 'no retry inside the backoff');
  now += OPENAPI_RETRY_AFTER_FAILURE_MS;
  cluster.responses['/openapi/v3'] = { paths: { 'api/v1': { serverRelativeURL: '/openapi/v3/api/v1' } } };
  cluster.responses['/openapi/v3/api/v1'] = { paths: {} };
  assert.ok(await documents.forGroupVersion('', 'v1'));
});
