// A Helm account's index: loaded once for the requests that want it at the same time, reused for
// indexCacheMs (on a clock the test moves), loaded again after; a failed load is not kept; an index over
// indexMaxBytes is refused naming that key. The repository is a loopback server counting its requests.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Errors, isScaleAgentError } from '../../common/errors.ts';
import { AddressPolicy } from './address-policy.ts';
import { BoundedHttpClient } from './bounded-http.ts';
import { HelmArtifactCredentials } from './helm-artifacts.ts';

const INDEX =
  'apiVersion: v1\nentries:\n  demo:\n  - {name: demo, version: 1.1.0, urls: [demo-1.1.0.tgz]}\n  - {name: demo, version: 1.0.0, urls: [demo-1.0.0.tgz]}\n';
const CACHE_MS = 60_000;
const client = new BoundedHttpClient(
  { maxBytes: 1024 * 1024, timeoutMs: 10_000, connectTimeoutMs: 2_000, maxRedirects: 1 },
  new AddressPolicy({ allow: ['127.0.0.1'], deny: [], allowPublic: false }),
);

let server: Server;
let origin = '';
let indexRequests = 0;
/** What the next index requests answer. */
let answer: { status: number; body: string } = { status: 200, body: INDEX };

before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/charts/index.yaml') {
      indexRequests += 1;
      res.writeHead(answer.status).end(answer.body);
    } else if (req.url === '/charts/demo-1.1.0.tgz') res.end('chart 1.1.0');
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise((resolve) => server.close(resolve)));

function account(options: { cacheMs?: number; maxBytes?: number; now?: () => number } = {}): HelmArtifactCredentials {
  return new HelmArtifactCredentials('charts', `${origin}/charts`, client, undefined, {
    maxBytes: options.maxBytes ?? 1024 * 1024,
    cacheMs: options.cacheMs ?? CACHE_MS,
    parseTimeoutMs: 10_000,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
}

test('concurrent requests share one load; the index is reused until indexCacheMs has passed', async () => {
  let now = 1_000;
  const charts = account({ now: () => now });
  indexRequests = 0;
  // Asked together, before any answer: Deck's pickers and a fetch at once.
  const [names, versions, chart] = await Promise.all([
    charts.names(),
    charts.versions('demo'),
    charts.download({ type: 'helm/chart', artifactAccount: 'charts', name: 'demo' }),
  ]);
  assert.deepEqual(names, ['demo']);
  assert.deepEqual(versions, ['1.1.0', '1.0.0']);
  assert.equal(chart.toString(), 'chart 1.1.0');
  assert.equal(indexRequests, 1, 'one download and parse for the three requests');
  now += CACHE_MS - 1;
  assert.deepEqual(await charts.versions('demo'), ['1.1.0', '1.0.0']);
  assert.equal(indexRequests, 1, 'still fresh');
  now += 1;
  await charts.names();
  assert.equal(indexRequests, 2, 'loaded again once indexCacheMs has passed');
});

test('with indexCacheMs 0 every request loads it; a failed load is not kept', async () => {
  const charts = account({ cacheMs: 0 });
  indexRequests = 0;
  await charts.names();
  await charts.names();
  assert.equal(indexRequests, 2);
  const cached = account();
  answer = { status: 500, body: 'down' };
  try {
    await assert.rejects(cached.names(), (err) => isScaleAgentError(err, Errors.ARTIFACT_FETCH_FAILED.code));
  } finally {
    answer = { status: 200, body: INDEX };
  }
  assert.deepEqual(await cached.names(), ['demo'], 'the next request loads it again');
});

test('an index over indexMaxBytes is ARTIFACT_TOO_LARGE naming artifacts.helm.indexMaxBytes', async () => {
  const charts = account({ maxBytes: INDEX.length - 1 });
  await assert.rejects(
    charts.names(),
    (err) => isScaleAgentError(err, Errors.ARTIFACT_TOO_LARGE.code) && /at most \d+ are read \(artifacts\.helm\.indexMaxBytes\)/.test(err.message),
  );
  await assert.rejects(charts.download({ type: 'helm/index', artifactAccount: 'charts' }), (err) => isScaleAgentError(err, Errors.ARTIFACT_TOO_LARGE.code));
});
