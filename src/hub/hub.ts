import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import { Errors, ScaleAgentError, errorMessage } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { createMetricsRegistry } from '../common/metrics.ts';
import { portUnavailable } from '../common/listen-errors.ts';
import { agentHubServerDefinition, GRPC_MAX_MESSAGE_BYTES } from '../protocol/index.ts';
import { grpcSecurityProblems, type HubConfig } from './config.ts';
import { IdentityAuthorizer } from './grpc/identities.ts';
import { createGrpcServerTransport } from './grpc/server-credentials.ts';
import { SessionHandler } from './grpc/session-handler.ts';
import { SessionRegistry } from './grpc/session-registry.ts';
import { sessionSummaries } from './grpc/session-summaries.ts';
import { SharedSyncHandler } from './grpc/shared-sync-handler.ts';
import { SyncHandler } from './grpc/sync-handler.ts';
import { SessionRouter } from './router/session-router.ts';
import { buildApiServer } from './api/server.ts';
import { Front50Client } from './api/projects/front50-client.ts';
import { createRestAuth } from './auth/rest-auth.ts';
import { ArtifactService } from './artifacts/artifact-service.ts';
import { TaskRunner } from './api/ops/task-runner.ts';
import { openStore, parseDatabaseUrl, redactDatabaseUrl } from './store/open-store.ts';
import type { Store } from './store/types.ts';
import { CachingLeases } from './replicas/caching-leases.ts';
import { ReplicaPresence } from './replicas/replica-presence.ts';
import { AccountLifetime } from './replicas/account-lifetime.ts';
import { AccountRelease } from './replicas/account-release.ts';
import { RegistryAccountSessions } from './grpc/account-sessions.ts';
import { HubMetrics } from './hub-metrics.ts';
import { widenFlowControlWindows } from './grpc/flow-control.ts';
import { OperationRelay } from './relay/operation-relay.ts';
import { PostgresWakeups } from './relay/postgres-wakeups.ts';
import { PollingWakeups } from './relay/relay-wakeups.ts';
import { DefinitionPush } from './grpc/definition-push.ts';
import { DefinitionService } from './definitions/definition-service.ts';
import { DefinitionWatch } from './definitions/definition-watch.ts';

export interface RunningHub {
  readonly restUrl: string;
  readonly grpcAddress: string;
  readonly restPort: number;
  readonly grpcPort: number;
  readonly store: Store;
  readonly registry: SessionRegistry;
  /** The caching assignments this replica holds. */
  readonly leases: CachingLeases;
  /** Dynamic account definitions, as the REST API manages them. */
  readonly definitions: DefinitionService;
  close(): Promise<void>;
}

/** How often disconnected accounts are checked against their grace period. */
const ACCOUNT_SWEEP_INTERVAL_MS = 30_000;
const MS_PER_SECOND = 1000;

/** Opens the store named by `database.url` (see store/open-store.ts); kept here for callers of the hub. */
export { openStore } from './store/open-store.ts';

function bindGrpc(server: Server, address: string, credentials: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port)));
  });
}

/**
 * Starts a hub replica: the store (migrated), the gRPC server agents dial, and the REST API Spinnaker
 * reads. Resolves once both ports listen.
 */
export async function startHub(config: HubConfig, logger: Logger): Promise<RunningHub> {
  const startedAt = Date.now();
  // REST authorization: token files and variables are read now, so a bad one stops the hub before it opens anything.
  const restAuth = createRestAuth(config.auth);
  logRestAuth(config, logger);
  // Artifact accounts: their token files and variables are read now too.
  const artifacts = new ArtifactService(config.artifacts, { logger });
  // Transport, identities and certificate files first: a problem stops the hub before it opens anything.
  const problems = grpcSecurityProblems(config);
  if (problems.length > 0) {
    throw new ScaleAgentError(Errors.CONFIG_INVALID, `invalid configuration:\n  ${problems.join('\n  ')}`, { problems });
  }
  const authorizer = new IdentityAuthorizer(config.identities, config.grpc.allowAnyIdentity);
  if (config.grpc.allowAnyIdentity) {
    logger.warn(
      { identities: config.identities.length },
      config.identities.length === 0
        ? 'any agent that reaches the gRPC port may register any account (grpc.allowAnyIdentity: true, no identities)'
        : 'agents matching no identity may register any account (grpc.allowAnyIdentity: true)',
    );
  }
  // What the start has opened, closed again in reverse when a later step fails.
  const opened = new OpenedParts();
  const grpcTransport = createGrpcServerTransport(config.grpc, logger);
  opened.add(() => grpcTransport.close());
  const store = await opened.orClose(() => openStore(config.database, logger));
  opened.add(() => store.close());
  // This replica's row in the database: on SQLite, a second live hub stops here.
  const lone = parseDatabaseUrl(config.database.url).engine === 'sqlite';
  const presence = new ReplicaPresence({
    store,
    hubId: config.hub.id,
    intervalMs: config.hub.heartbeatIntervalSeconds * MS_PER_SECOND,
    deadAfterMs: config.hub.replicaDeadAfterSeconds * MS_PER_SECOND,
    singleHub: lone ? { database: redactDatabaseUrl(config.database.url) } : undefined,
    logger,
  });
  await opened.orClose(() => presence.join());
  opened.add(() => presence.leave());
  const leases = new CachingLeases({ store, hubId: config.hub.id, leaseMs: config.accounts.cachingLeaseSeconds * MS_PER_SECOND, renew: !lone, logger });
  const registry = new SessionRegistry();
  const metricsRegistry = createMetricsRegistry();
  const metrics = new HubMetrics(metricsRegistry, registry);

  // Dynamic accounts: every change to the definitions, at any replica, goes to this replica's agents.
  const push = new DefinitionPush({ authorizer, logger });
  const watch = new DefinitionWatch({
    store,
    intervalMs: config.accounts.definitionPollIntervalMs,
    logger,
    onChange: (definitions) => push.update(definitions),
  });
  const definitions = new DefinitionService({ store, onChange: () => void watch.poke() });

  const sessionHandler = new SessionHandler({
    hubId: config.hub.id,
    store,
    registry,
    logger,
    pingIntervalMs: config.grpc.pingIntervalMs,
    missedPingsBeforeDead: config.grpc.missedPingsBeforeDead,
    limits: config.limits,
    authorizer,
    leases,
    lifecycle: push,
  });
  leases.setHost(sessionHandler.cachingHost());
  // Before the gRPC port opens: the first sessions' leases are renewed from the start.
  leases.start();
  opened.add(() => leases.stop());
  // Before the gRPC port opens: the first sessions are sent their definitions with their welcome.
  await watch.start();
  opened.add(() => watch.stop());
  const syncHandler = new SyncHandler({ store, registry, logger, metrics, authorizer, maxObjectBytes: config.limits.maxObjectBytes, leases });
  const sharedSyncHandler = new SharedSyncHandler({ sync: syncHandler, logger, authorizer, maxUnackedBatches: config.limits.maxUnackedBatches });
  const grpcServer = new Server({
    'grpc.max_receive_message_length': GRPC_MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': GRPC_MAX_MESSAGE_BYTES,
    // Agents ping at the application level; transport keepalives catch dead TCP connections too.
    'grpc.keepalive_time_ms': config.grpc.pingIntervalMs,
    'grpc.keepalive_timeout_ms': config.grpc.pingIntervalMs,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 1000,
  });
  grpcServer.addService(agentHubServerDefinition, {
    Session: (call: Parameters<SessionHandler['handle']>[0]) => sessionHandler.handle(call),
    Sync: (call: Parameters<SyncHandler['handle']>[0]) => syncHandler.handle(call),
    SharedSync: (call: Parameters<SharedSyncHandler['handle']>[0]) => sharedSyncHandler.handle(call),
  });

  const grpcPort = await opened.orClose(
    () => bindGrpc(grpcServer, `${config.grpc.host}:${config.grpc.port}`, grpcTransport.credentials),
    (err) =>
      portUnavailable(err, { portKey: 'grpc.port', port: config.grpc.port, hostKey: 'grpc.host', host: config.grpc.host }) ??
      new ScaleAgentError(Errors.CONFIG_INVALID, `grpc: cannot listen on ${config.grpc.host}:${config.grpc.port}: ${errorMessage(err)}`),
  );
  opened.add(() => grpcServer.forceShutdown());
  widenFlowControlWindows(grpcServer, (message) => logger.warn({}, message));

  // Several replicas on one database: operations for accounts served at another replica go through the relay.
  const relay = lone ? undefined : createRelay(config, store, presence, logger);
  const router = new SessionRouter({ store, registry, logger, defaultTimeoutMs: config.operations.timeoutMs, hubId: config.hub.id, relay, metrics });
  metrics.watchReplication(metricsRegistry, { leasesHeld: () => leases.heldCount, relayWaiting: () => relay?.waiting ?? 0 });
  metrics.watchAccounts(metricsRegistry, { hubId: config.hub.id, listAccountStates: () => store.listAccountStates(), listReplicas: () => presence.list() });
  if (relay !== undefined) {
    relay.setExecutor(router);
    opened.add(() => relay.stop());
    await opened.orClose(() => relay.start());
  }
  const tasks = new TaskRunner({
    store,
    router,
    hubId: config.hub.id,
    logger,
    operationTimeoutMs: config.operations.timeoutMs,
    staleAfterMs: config.operations.taskStaleAfterMs,
    redactSecretValues: config.operations.redactSecretValues,
    metrics,
  });
  // Tasks this replica was running when it stopped can no longer complete: fail them (retryably where
  // running them again is safe) before serving, and keep watching for other replicas' orphans.
  try {
    await tasks.recover();
  } catch (err) {
    logger.error({ err: errorMessage(err) }, 'could not fail the tasks interrupted by the last stop; the stale-task sweep will');
  }
  tasks.startMaintenance();
  opened.add(() => tasks.stopMaintenance());
  const api: FastifyInstance = await buildApiServer({
    store,
    router,
    hubId: config.hub.id,
    logger,
    operationTimeoutMs: config.operations.timeoutMs,
    tasks,
    auth: restAuth,
    replicas: presence,
    sessions: { list: () => sessionSummaries(registry) },
    assignments: store,
    accountRelease: new AccountRelease({
      store,
      hubId: config.hub.id,
      sessions: new RegistryAccountSessions({ hubId: config.hub.id, registry, leases, logger }),
      replicas: () => presence.list(),
      logger,
    }),
    definitions,
    requests: metrics,
    ...(config.front50.baseUrl !== undefined
      ? {
          front50: new Front50Client({
            baseUrl: config.front50.baseUrl,
            timeoutMs: config.front50.timeoutMs,
            maxResponseBytes: config.front50.maxResponseBytes,
          }),
        }
      : {}),
    artifacts,
  });
  api.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metricsRegistry.contentType);
    return metricsRegistry.metrics();
  });
  await opened.orClose(
    () => api.listen({ host: config.server.host, port: config.server.port }),
    (err) =>
      portUnavailable(err, { portKey: 'server.port', port: config.server.port, hostKey: 'server.host', host: config.server.host }) ??
      new ScaleAgentError(Errors.CONFIG_INVALID, `server: cannot listen on ${config.server.host}:${config.server.port}: ${errorMessage(err)}`),
  );
  const address = api.server.address();
  const restPort = typeof address === 'object' && address ? address.port : config.server.port;

  const lifetime = new AccountLifetime({
    store,
    hubId: config.hub.id,
    graceMs: config.accounts.gracePeriodSeconds * MS_PER_SECOND,
    servedHere: (account) => registry.isServed(account),
    replicas: () => presence.list(),
    logger,
    startedAt,
  });
  const sweeper = setInterval(
    () => {
      // Never rejects: a failed sweep is logged, and the next one tries again.
      void lifetime.sweep();
    },
    Math.min(ACCOUNT_SWEEP_INTERVAL_MS, config.hub.replicaDeadAfterSeconds * MS_PER_SECOND, Math.max(1000, config.accounts.gracePeriodSeconds * MS_PER_SECOND)),
  );
  sweeper.unref();
  // Once at start too: what a former run of this replica left marked connected is known at once (its
  // rows predate this run), and /credentials should not say connected for a sweep interval. Never rejects.
  void lifetime.sweep();

  const displayHost = (host: string) => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);
  const restUrl = `http://${displayHost(config.server.host)}:${restPort}`;
  const grpcAddress = `${displayHost(config.grpc.host)}:${grpcPort}`;
  // Never rejects: a failed beat is logged and the next one carries the addresses.
  void presence.announce(restUrl, grpcAddress);
  logger.info(
    { rest: restPort, grpc: grpcPort, grpcTransport: grpcTransport.mode, database: redactDatabaseUrl(config.database.url), hubId: config.hub.id },
    'hub started',
  );
  return {
    restUrl,
    grpcAddress,
    restPort,
    grpcPort,
    store,
    registry,
    leases,
    definitions,
    async close() {
      clearInterval(sweeper);
      await watch.stop();
      // No renewal or takeover from here on; what this replica holds is released below, once no batch can arrive.
      await leases.stop();
      // Before the sessions close: operations this replica runs for other replicas finish on them (each
      // within its deadline), its queued ones are withdrawn, and no new one is claimed.
      await relay?.stop();
      grpcTransport.close();
      for (const session of registry.all()) session.close('the hub is shutting down');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          grpcServer.forceShutdown();
          resolve();
        }, 2000);
        grpcServer.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await api.close();
      // Other replicas' standbys take the accounts over at their next tick instead of after the leases run out.
      await presence.leave();
      await store.close();
      logger.info('hub stopped');
    },
  };
}

/**
 * The parts a hub's start has opened, each with how to close it: when a later step fails, they are
 * closed in reverse order (each close awaited, none skipped when another fails) and the start fails.
 */
class OpenedParts {
  private readonly closers: Array<() => unknown> = [];

  add(close: () => unknown): void {
    this.closers.push(close);
  }

  /** Runs a step; when it fails, closes what is open and rethrows (as `wrap` words it). */
  async orClose<T>(step: () => Promise<T>, wrap?: (err: unknown) => Error): Promise<T> {
    try {
      return await step();
    } catch (err) {
      for (const close of this.closers.reverse())
        await Promise.resolve()
          .then(close)
          .catch(() => undefined);
      throw wrap ? wrap(err) : err;
    }
  }
}

/** The operation relay between replicas, woken by LISTEN/NOTIFY on PostgreSQL and by polling on MySQL. */
function createRelay(config: HubConfig, store: Store, presence: ReplicaPresence, logger: Logger): OperationRelay {
  const target = parseDatabaseUrl(config.database.url);
  const pollIntervalMs = config.operations.relayPollIntervalMs;
  const wakeups =
    target.engine === 'postgres'
      ? new PostgresWakeups({ connectionString: target.connectionString, pollIntervalMs, connectTimeoutMs: config.database.connectTimeoutMs, logger })
      : new PollingWakeups(pollIntervalMs);
  return new OperationRelay({
    store,
    wakeups,
    hubId: config.hub.id,
    logger,
    liveReplicas: async () => new Set((await presence.list()).filter((r) => r.live).map((r) => r.hubId)),
    sweepIntervalMs: config.hub.heartbeatIntervalSeconds * MS_PER_SECOND,
  });
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/** Says at start how the REST API is protected; loudly when it is not and others can reach it. */
function logRestAuth(config: HubConfig, logger: Logger): void {
  const { auth } = config;
  if (!auth.enabled) {
    const message =
      'REST authorization is off (auth.enabled: false): every caller that reaches the REST port may read and operate every account; see docs/security.md';
    if (LOOPBACK_HOSTS.has(config.server.host)) logger.info(message);
    else logger.warn({ host: config.server.host }, message);
    return;
  }
  logger.info(
    {
      tokens: auth.tokens.length,
      users: auth.users.length,
      trustedGate: auth.trustedGate !== undefined,
      serviceCalls: auth.trustedGate?.serviceCalls ?? 'none',
      unrestrictedAccounts: auth.unrestrictedAccounts,
      accountOverrides: auth.accounts.length,
      adminRoles: auth.adminRoles,
    },
    'REST authorization is on',
  );
}
