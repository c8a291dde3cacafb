import type { FastifyInstance } from 'fastify';
import { OPERATIONS } from '../ops/registry.ts';
import { limitParam, type Query, type RouteContext } from './route-context.ts';

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

/** Operator views: hub→agent operations with their per-hop timestamps. */
export function adminRoutes(app: FastifyInstance, { store }: RouteContext): void {
  app.get('/admin/operations', async (request) => store.listOperations(limitParam((request.query as Query).limit, DEFAULT_OPERATION_LIST, MAX_OPERATION_LIST)));
}
