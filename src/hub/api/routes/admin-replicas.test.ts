// GET /admin/replicas: the replicas as /health lists them, each with the accounts it caches under a live
// lease, and every caching assignment with its lease's state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import type { ReplicaStatus } from '../../replicas/replica-liveness.ts';
import type { CachingAssignment } from '../../store/types.ts';
import { adminRoutes } from './misc-routes.ts';
import type { RouteContext } from './route-context.ts';

const STARTED_AT = Date.parse('2026-01-02T03:04:05.000Z');
const FAR_FUTURE = Date.parse('2999-01-01T00:00:00.000Z');

const REPLICAS: ReplicaStatus[] = [
  { hubId: 'hub-a', startedAt: STARTED_AT, heartbeatAt: STARTED_AT, restUrl: null, grpcAddress: null, live: true, self: true },
  { hubId: 'hub-b', startedAt: STARTED_AT, heartbeatAt: STARTED_AT, restUrl: null, grpcAddress: null, live: false, self: false },
];

const ASSIGNMENTS: CachingAssignment[] = [
  { account: 'prod', hubId: 'hub-a', sessionId: 's-1', agentId: 'agent-1', epoch: 3, leaseExpiresAt: FAR_FUTURE },
  { account: 'stage', hubId: 'hub-b', sessionId: 's-2', agentId: 'agent-2', epoch: 1, leaseExpiresAt: STARTED_AT },
  { account: 'test', hubId: 'hub-a', sessionId: 's-3', agentId: 'agent-1', epoch: 2, leaseExpiresAt: 0 },
];

test('/admin/replicas counts each replica’s held leases and shows every assignment’s lease as held, expired or released', async () => {
  const app = Fastify();
  const context = { replicas: { list: async () => REPLICAS }, assignments: { listAssignments: async () => ASSIGNMENTS } } as unknown as RouteContext;
  adminRoutes(app, context);
  const res = await app.inject({ method: 'GET', url: '/admin/replicas' });
  await app.close();
  assert.equal(res.statusCode, 200);
  const body = res.json();
  assert.deepEqual(
    body.replicas.map((r: { hubId: string; live: boolean; cachingAccounts: number }) => [r.hubId, r.live, r.cachingAccounts]),
    [
      ['hub-a', true, 1],
      ['hub-b', false, 0],
    ],
  );
  assert.deepEqual(body.assignments, [
    { account: 'prod', hubId: 'hub-a', agentId: 'agent-1', sessionId: 's-1', epoch: 3, lease: 'held', leaseExpiresAt: '2999-01-01T00:00:00.000Z' },
    { account: 'stage', hubId: 'hub-b', agentId: 'agent-2', sessionId: 's-2', epoch: 1, lease: 'expired', leaseExpiresAt: '2026-01-02T03:04:05.000Z' },
    { account: 'test', hubId: 'hub-a', agentId: 'agent-1', sessionId: 's-3', epoch: 2, lease: 'released' },
  ]);
});

test('/admin/replicas without replicas (the API server alone) lists nothing', async () => {
  const app = Fastify();
  adminRoutes(app, {} as RouteContext);
  const res = await app.inject({ method: 'GET', url: '/admin/replicas' });
  await app.close();
  assert.deepEqual(res.json(), { replicas: [], assignments: [] });
});
