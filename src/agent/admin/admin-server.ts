import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../../common/logger.ts';
import type { AccountRuntime } from '../account/account-runtime.ts';
import type { HubConnection } from '../session/hub-connection.ts';
import type { SyncStream } from '../sync/sync-stream.ts';

export interface AdminServerOptions {
  accounts: Map<string, AccountRuntime>;
  connection: HubConnection;
  syncStreams: Map<string, SyncStream>;
  metricsRegistry: Registry;
  logger: Logger;
}

/**
 * The agent's admin port (8082): `/health` for probes, `/accounts` and `/watches` to see what it does,
 * `/metrics` for Prometheus.
 */
export async function buildAdminServer(options: AdminServerOptions): Promise<FastifyInstance> {
  const { accounts, connection, syncStreams, metricsRegistry } = options;
  const app = Fastify({ logger: false });

  app.get('/health', async () => ({
    status: 'UP',
    hub: { state: connection.state, lastError: connection.lastError },
    accounts: { total: accounts.size, ready: [...accounts.values()].filter((a) => a.state === 'ready').length },
  }));

  app.get('/accounts', async () =>
    [...accounts.values()].map((a) => ({
      name: a.name,
      state: a.state,
      lastError: a.lastError,
      caching: a.caching,
      cluster: a.facts,
      watchedKinds: a.queues().length,
      excludedKinds: a.excluded.map((e) => ({ group: e.resource.group, kind: e.resource.kind, reason: e.reason })),
      syncStream: syncStreams.has(a.name) ? { unackedBatches: syncStreams.get(a.name)!.unacked } : null,
    })),
  );

  app.get('/watches', async () => [...accounts.values()].flatMap((a) => a.watches().map((w) => ({ account: a.name, ...w }))));

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metricsRegistry.contentType);
    return metricsRegistry.metrics();
  });
  return app;
}
