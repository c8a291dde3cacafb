import type { FastifyInstance } from 'fastify';
import { errorMessage } from '../../../common/errors.ts';
import type { ReplicaStatus } from '../../replicas/replica-liveness.ts';
import type { RouteContext } from './route-context.ts';
import { HTTP_SERVICE_UNAVAILABLE } from '../../../common/http-status.ts';

/** A database slower than this to answer `select 1` (and list the replicas) counts as down. */
const DATABASE_PING_TIMEOUT_MS = 2_000;

/** One replica in the health body: times as ISO strings, addresses when it announced them. */
export function replicaView(replica: ReplicaStatus): Record<string, unknown> {
  return {
    hubId: replica.hubId,
    self: replica.self,
    live: replica.live,
    startedAt: new Date(replica.startedAt).toISOString(),
    heartbeatAt: new Date(replica.heartbeatAt).toISOString(),
    ...(replica.restUrl !== null ? { restUrl: replica.restUrl } : {}),
    ...(replica.grpcAddress !== null ? { grpcAddress: replica.grpcAddress } : {}),
  };
}

/**
 * GET /health, Spring actuator style: 200 {"status":"UP"}, or 503 {"status":"DOWN"} with the failing
 * component when the database does not answer (every view reads it, so a replica without it serves
 * nothing). When the hub gives its replica listing, a 200 also carries the components: the database,
 * and the hub replicas sharing it, each live or dead by its last heartbeat (a dead replica does not
 * make this one DOWN). Agents' freshness is each agent's own /health.
 */
export function healthRoutes(app: FastifyInstance, { health, replicas }: Pick<RouteContext, 'health' | 'replicas'>): void {
  app.get('/health', async (_request, reply) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      const listed = await Promise.race([
        (async () => {
          await health.ping();
          return replicas === undefined ? undefined : await replicas.list();
        })(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${DATABASE_PING_TIMEOUT_MS} ms`)), DATABASE_PING_TIMEOUT_MS);
        }),
      ]);
      if (listed === undefined) return { status: 'UP' };
      return {
        status: 'UP',
        components: {
          database: { status: 'UP' },
          replicas: { status: 'UP', details: { live: listed.filter((r) => r.live).length, replicas: listed.map(replicaView) } },
        },
      };
    } catch (err) {
      return reply.code(HTTP_SERVICE_UNAVAILABLE).send({ status: 'DOWN', components: { database: { status: 'DOWN', details: { error: errorMessage(err) } } } });
    } finally {
      clearTimeout(timer);
    }
  });
}
