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

/** Spring Boot's probe paths (Clouddriver's, with its management base path `/`) and Kubernetes' own names for them. */
export const LIVENESS_PATHS = ['/health/liveness', '/livez'] as const;
export const READINESS_PATHS = ['/health/readiness', '/readyz'] as const;

/** The database's answer within DATABASE_PING_TIMEOUT_MS (a hung connection is as bad as a refused one), or its failure. */
export async function withinPingTimeout<T>(work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${DATABASE_PING_TIMEOUT_MS} ms`)), DATABASE_PING_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function databaseDown(err: unknown): Record<string, unknown> {
  return { status: 'DOWN', components: { database: { status: 'DOWN', details: { error: errorMessage(err) } } } };
}

/**
 * The hub's health, Spring actuator style, for load balancers and Kubernetes probes (anyone may call
 * them, see auth/rest-auth.ts):
 *
 * - GET /health: 200 {"status":"UP"}, or 503 {"status":"DOWN"} with the failing component when the
 *   database does not answer (every view reads it, so a replica without it serves nothing). When the hub
 *   gives its replica listing, a 200 also carries the components: the database, and the hub replicas
 *   sharing it, each live or dead by its last heartbeat (a dead replica does not make this one DOWN).
 * - GET /health/liveness (/livez): the process only — it answers, so its event loop runs. Never the
 *   database: a database outage must not make Kubernetes restart every replica, which would not bring
 *   it back and would drop every agent session.
 * - GET /health/readiness (/readyz): whether this replica can serve requests now: the database answers a
 *   ping within the timeout. 503 takes the replica out of its Service until it does.
 *
 * Agents' freshness is each agent's own /health.
 */
export function healthRoutes(app: FastifyInstance, { health, replicas }: Pick<RouteContext, 'health' | 'replicas'>): void {
  app.get('/health', async (_request, reply) => {
    try {
      const listed = await withinPingTimeout(async () => {
        await health.ping();
        return replicas === undefined ? undefined : await replicas.list();
      });
      if (listed === undefined) return { status: 'UP' };
      return {
        status: 'UP',
        components: {
          database: { status: 'UP' },
          replicas: { status: 'UP', details: { live: listed.filter((r) => r.live).length, replicas: listed.map(replicaView) } },
        },
      };
    } catch (err) {
      return reply.code(HTTP_SERVICE_UNAVAILABLE).send(databaseDown(err));
    }
  });

  for (const path of LIVENESS_PATHS) app.get(path, async () => ({ status: 'UP' }));

  for (const path of READINESS_PATHS) {
    app.get(path, async (_request, reply) => {
      try {
        await withinPingTimeout(() => health.ping());
        return { status: 'UP', components: { database: { status: 'UP' } } };
      } catch (err) {
        return reply.code(HTTP_SERVICE_UNAVAILABLE).send(databaseDown(err));
      }
    });
  }
}
