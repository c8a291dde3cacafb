import type { FastifyInstance } from 'fastify';
import type { OperationRecord } from '../../store/types.ts';
import { OPERATIONS } from '../ops/registry.ts';
import { replicaView } from './health-routes.ts';
import { limitParam, queryOf, type RouteContext } from './route-context.ts';

const DEFAULT_OPERATION_LIST = 100;
const MAX_OPERATION_LIST = 1000;

/** GET /features/stages: Orca asks which operations this Clouddriver supports. */
export function featureRoutes(app: FastifyInstance): void {
  app.get('/features/stages', async () => [...OPERATIONS.keys()].map((name) => ({ name, enabled: true })));
}

/**
 * Force-cache-refresh endpoints as no-ops: the cache is fed by watches and always current, but Orca's
 * classic stages still call them (Clouddriver answers the same since 2020).
 */
export function cacheRoutes(app: FastifyInstance): void {
  app.post('/cache/:cloudProvider/:type', async () => ({ cachedIdentifiersByType: {} }));
  app.get('/cache/:cloudProvider/:type', async () => []);
}

const OPERATION_STATUSES = new Set(['PENDING', 'SENT', 'SUCCEEDED', 'FAILED']);

function span(from: number | null, to: number | null): number | null {
  return from === null || to === null ? null : Math.max(0, to - from);
}

/**
 * The time between an operation's hops (ms, null while a hop is missing): submitted → routed to a
 * session (`routeMs`) → sent to the agent (`sendMs`) → executed by the agent (`agentMs`: its receipt and
 * the write) → result back at the hub (`returnMs`: includes the agent's wait for the write in the cache).
 */
export function operationHops(op: OperationRecord) {
  return {
    routeMs: span(op.receivedAt, op.routedAt),
    sendMs: span(op.routedAt, op.sentAt),
    agentMs: span(op.sentAt, op.executedAt),
    returnMs: span(op.executedAt, op.resultAt),
    totalMs: span(op.receivedAt, op.resultAt),
  };
}

/**
 * Operator views: GET /admin/operations lists hub→agent operations, newest first, with the time of each
 * hop — received by the router, routed to a session, sent to the agent, executed by the agent, result
 * received — and the time between them (`hops`). Filters: `taskId`, `account`, `type` (apply, delete,
 * patch, get, list, scale, logs), `status` (PENDING, SENT, SUCCEEDED, FAILED); `limit` (default 100).
 */
export function adminRoutes(app: FastifyInstance, { store, replicas, assignments }: RouteContext): void {
  app.get('/admin/operations', async (request) => {
    const query = queryOf(request.query);
    const status = query.status?.toUpperCase();
    const filter = {
      ...(query.taskId ? { taskId: query.taskId } : {}),
      ...(query.account ? { account: query.account } : {}),
      ...(query.type ? { type: query.type } : {}),
      ...(status && OPERATION_STATUSES.has(status) ? { status: status as 'PENDING' | 'SENT' | 'SUCCEEDED' | 'FAILED' } : {}),
    };
    const operations = await store.listOperations(limitParam(query.limit, DEFAULT_OPERATION_LIST, MAX_OPERATION_LIST), filter);
    return operations.map((op) => ({ ...op, hops: operationHops(op) }));
  });

  /**
   * GET /admin/replicas: the hub replicas sharing the database (as /health lists them) with how many
   * accounts each caches, and every account's caching assignment: its replica, agent, session, fencing
   * epoch and lease (`held` while the lease runs, `expired` when it ran out unrenewed, `released`).
   */
  app.get('/admin/replicas', async () => {
    const now = Date.now();
    const [listed, held] = await Promise.all([replicas?.list() ?? [], assignments?.listAssignments() ?? []]);
    const state = (leaseExpiresAt: number) => (leaseExpiresAt === 0 ? 'released' : leaseExpiresAt > now ? 'held' : 'expired');
    const caching = new Map<string, number>();
    for (const a of held) if (state(a.leaseExpiresAt) === 'held') caching.set(a.hubId, (caching.get(a.hubId) ?? 0) + 1);
    return {
      replicas: listed.map((r) => ({ ...replicaView(r), cachingAccounts: caching.get(r.hubId) ?? 0 })),
      assignments: held.map((a) => ({
        account: a.account,
        hubId: a.hubId,
        agentId: a.agentId,
        sessionId: a.sessionId,
        epoch: a.epoch,
        lease: state(a.leaseExpiresAt),
        ...(a.leaseExpiresAt > 0 ? { leaseExpiresAt: new Date(a.leaseExpiresAt).toISOString() } : {}),
      })),
    };
  });
}
