// GET /health with the hub's replica listing: the database and the replicas sharing it, each live or
// dead; without the listing (the API server alone) the body stays {"status":"UP"}.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { healthRoutes } from './health-routes.ts';
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
