import type { FastifyInstance } from 'fastify';
import { errorMessage } from '../../../common/errors.ts';
import type { RouteContext } from './route-context.ts';
import { HTTP_SERVICE_UNAVAILABLE } from '../../../common/http-status.ts';

/** A database slower than this to answer `select 1` counts as down. */
const DATABASE_PING_TIMEOUT_MS = 2_000;

/**
 * GET /health, Spring actuator style: 200 {"status":"UP"}, or 503 {"status":"DOWN"} with the failing
 * component when the database does not answer (every view reads it, so a replica without it serves
 * nothing). Agents' freshness is each agent's own /health.
 */
export function healthRoutes(app: FastifyInstance, { health }: Pick<RouteContext, 'health'>): void {
  app.get('/health', async (_request, reply) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        health.ping(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${DATABASE_PING_TIMEOUT_MS} ms`)), DATABASE_PING_TIMEOUT_MS);
        }),
      ]);
      return { status: 'UP' };
    } catch (err) {
      return reply.code(HTTP_SERVICE_UNAVAILABLE).send({ status: 'DOWN', components: { database: { status: 'DOWN', details: { error: errorMessage(err) } } } });
    } finally {
      clearTimeout(timer);
    }
  });
}
