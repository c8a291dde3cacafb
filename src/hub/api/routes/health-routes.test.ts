// GET /health with the hub's replica listing: the database and the replicas sharing it, each live or
// dead; without the listing (the API server alone) the body stays {"status":"UP"}. The probes: liveness
// is the process alone, readiness the database (a real SQLite store, closed to make it fail); anyone may
// call them while REST authorization is on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { parseConfig } from '../../../common/config.ts';
import { silentLogger } from '../../../common/logger.ts';
import { authConfigSchema } from '../../auth/auth-config.ts';
import { createRestAuth } from '../../auth/rest-auth.ts';
import { openStore } from '../../store/open-store.ts';
import { FakeRouter } from '../testing/fake-router.ts';
import { buildApiServer } from '../server.ts';
import { healthRoutes, LIVENESS_PATHS, READINESS_PATHS } from './health-routes.ts';
import type { ReplicaStatus } from '../../replicas/replica-liveness.ts';
import type { ReplicaListing } from './route-context.ts';

const STARTED_AT = Date.parse('2026-01-02T03:04:05.000Z');
const BEAT_AT = STARTED_AT + 60_000;

const REPLICAS: ReplicaStatus[] = [
  { hubId: 'hub-a', startedAt: STARTED_AT, heartbeatAt: BEAT_AT, restUrl: 'http://10.0.0.1:7002', grpcAddress: '10.0.0.1:9091', live: true, self: true },
  { hubId: 'hub-b', startedAt: STARTED_AT, heartbeatAt: STARTED_AT, restUrl: null, grpcAddress: null, live: false, self: false },
];

async function health(options: { ping?: () => Promise<void>; replicas?: ReplicaListing }): Promise<{ status: number; body: unknown }> {
  const app = Fastify();
  healthRoutes(app, { health: { ping: options.ping ?? (async () => undefined) }, ...(options.replicas ? { replicas: options.replicas } : {}) });
  const res = await app.inject({ method: 'GET', url: '/health' });
  await app.close();
  return { status: res.statusCode, body: res.json() };
}

test('without a replica listing /health is {"status":"UP"}', async () => {
  assert.deepEqual(await health({}), { status: 200, body: { status: 'UP' } });
});

test('/health lists the replicas, live and dead, with their start and last heartbeat', async () => {
  assert.deepEqual(await health({ replicas: { list: async () => REPLICAS } }), {
    status: 200,
    body: {
      status: 'UP',
      components: {
        database: { status: 'UP' },
        replicas: {
          status: 'UP',
          details: {
            live: 1,
            replicas: [
              {
                hubId: 'hub-a',
                self: true,
                live: true,
                startedAt: '2026-01-02T03:04:05.000Z',
                heartbeatAt: '2026-01-02T03:05:05.000Z',
                restUrl: 'http://10.0.0.1:7002',
                grpcAddress: '10.0.0.1:9091',
              },
              { hubId: 'hub-b', self: false, live: false, startedAt: '2026-01-02T03:04:05.000Z', heartbeatAt: '2026-01-02T03:04:05.000Z' },
            ],
          },
        },
      },
    },
  });
});

test('/health is 503 DOWN when the database fails, whether at the ping or at listing the replicas', async () => {
  const down = { status: 'DOWN', components: { database: { status: 'DOWN', details: { error: 'connection refused' } } } };
  const refused = async (): Promise<never> => Promise.reject(new Error('connection refused'));
  assert.deepEqual(await health({ ping: refused, replicas: { list: async () => REPLICAS } }), { status: 503, body: down });
  assert.deepEqual(await health({ replicas: { list: refused } }), { status: 503, body: down });
});

/** Every probe path, and whether it answers for the database (readiness, /health) or the process alone (liveness). */
const PROBES = [...LIVENESS_PATHS.map((path) => ({ path, database: false })), ...READINESS_PATHS.map((path) => ({ path, database: true }))];

test('liveness is UP whatever the database does; readiness follows the database, UP or 503 DOWN with the error', async () => {
  const store = await openStore('sqlite::memory:', silentLogger());
  const app = Fastify();
  healthRoutes(app, { health: store });
  try {
    for (const { path, database } of PROBES) {
      const res = await app.inject({ method: 'GET', url: path });
      assert.equal(res.statusCode, 200, path);
      assert.deepEqual(res.json(), database ? { status: 'UP', components: { database: { status: 'UP' } } } : { status: 'UP' }, path);
    }
    await store.close();
    for (const { path, database } of PROBES) {
      const res = await app.inject({ method: 'GET', url: path });
      assert.equal(res.statusCode, database ? 503 : 200, path);
      if (!database) continue;
      const body = res.json();
      assert.equal(body.status, 'DOWN', path);
      assert.equal(body.components.database.status, 'DOWN', path);
      assert.equal(typeof body.components.database.details.error, 'string', path);
    }
  } finally {
    await app.close();
  }
});

test('a database that does not answer makes readiness DOWN within the ping timeout, not when it answers', async () => {
  const app = Fastify();
  healthRoutes(app, { health: { ping: () => new Promise<void>(() => undefined) } });
  const res = await app.inject({ method: 'GET', url: '/readyz' });
  await app.close();
  assert.equal(res.statusCode, 503);
  assert.match(res.json().components.database.details.error, /^no answer within \d+ ms$/);
});

test('with REST authorization on, every health path answers without credentials', async () => {
  const store = await openStore('sqlite::memory:', silentLogger());
  const auth = createRestAuth(parseConfig(authConfigSchema, { enabled: true, tokens: [{ token: 'a-token-of-sixteen-chars', user: 'u' }] }, 'test'));
  const app = buildApiServer({ store, router: new FakeRouter(), hubId: 'hub-test', logger: silentLogger(), auth });
  try {
    for (const path of ['/health', ...PROBES.map((p) => p.path)]) assert.equal((await app.inject({ method: 'GET', url: path })).statusCode, 200, path);
    assert.equal((await app.inject({ method: 'GET', url: '/credentials' })).statusCode, 401);
  } finally {
    await app.close();
    await store.close();
  }
});
