import Fastify, { type FastifyInstance } from 'fastify';
import type { Server as TlsServer } from 'node:tls';
import { portUnavailable } from '../common/listen-errors.ts';
import { qualifiedKind } from '../common/kube-object.ts';
import type { Logger } from '../common/logger.ts';
import { createMetricsRegistry } from '../common/metrics.ts';
import { DEFAULT_LIMITS, type AccountAcceptance, type AccountDefinition } from '../protocol/index.ts';
import { AccountRoster } from './account/account-roster.ts';
import { AccountRuntime, type ReflectorTuning } from './account/account-runtime.ts';
import { parseAccountDefinitions } from './account/account-definitions.ts';
import { ListBudget } from './account/list-budget.ts';
import { StartPacer } from './account/start-pacer.ts';
import { buildAdminServer } from './admin/admin-server.ts';
import { adminTlsOptions } from './admin/admin-tls.ts';
import type { AccountConfig, AgentConfig } from './config.ts';
import { inClusterAccount } from './account/in-cluster-account.ts';
import { DefaultSecretResolver } from './secrets/secret-resolver.ts';
import { inClusterCredentials } from '../kube/in-cluster.ts';
import { ConfigReloader } from './config-reloader.ts';
import { OperationExecutor } from './operations/executor.ts';
import { HubConnection, type ConnectedSession } from './session/hub-connection.ts';
import { createHubTransport } from './session/hub-transport.ts';
import { SyncStream } from './sync/sync-stream.ts';
import { feedId } from './sync/feed.ts';
import { SyncProgress } from './sync/sync-progress.ts';
import { SyncProgressLog } from './sync/sync-progress-log.ts';
import { AgentMetrics } from './agent-metrics.ts';

/** Pause before reopening a sync stream the hub closed while the session stays up. */
const SYNC_REOPEN_DELAY_MS = 1000;
const MS_PER_SECOND = 1000;

/** `kubernetes.reflector` in the units the reflectors take. */
export function reflectorTuning(config: AgentConfig): ReflectorTuning {
  const r = config.kubernetes.reflector;
  return {
    pageSize: r.pageSize,
    backoff: { initialMs: r.backoff.initialMs, maxMs: r.backoff.maxMs },
    forbiddenRetryMs: r.forbiddenRetrySeconds * MS_PER_SECOND,
    stallTimeoutMs: r.stallTimeoutSeconds * MS_PER_SECOND,
    watchTimeoutSeconds: { min: r.watchTimeoutSeconds.min, max: r.watchTimeoutSeconds.max },
  };
}

export interface RunningAgent {
  readonly adminUrl: string;
  readonly accounts: Map<string, AccountRuntime>;
  readonly connection: HubConnection;
  close(): Promise<void>;
}

/**
 * Starts an agent: connects to every configured cluster, dials the hub, and — for the accounts the hub
 * asks it to cache — runs the reflectors and streams their changes; runs operations for all of them.
 */
/** The accounts the configuration asks for: kubernetes.accounts, and in agent mode the pod's own cluster. */
function fileAccounts(config: AgentConfig): AccountConfig[] {
  const own = inClusterAccount({
    configured: config.kubernetes.accounts,
    mode: config.kubernetes.inClusterAccount.mode,
    name: config.kubernetes.inClusterAccount.name,
    serviceAccountDir: config.kubernetes.serviceAccountDir,
  });
  return own === undefined ? config.kubernetes.accounts : [...config.kubernetes.accounts, own];
}

export interface StartAgentOptions {
  /** Follow the configuration files: reload them when they change, or on SIGHUP (config-reloader.ts). */
  reload?: { paths: readonly string[]; load: () => AgentConfig };
}

export async function startAgent(config: AgentConfig, logger: Logger, options: StartAgentOptions = {}): Promise<RunningAgent> {
  const inCluster = { serviceAccountDir: config.kubernetes.serviceAccountDir };
  // Secret references (kubeconfigs, the hub token) are read from Vault or from the agent's own cluster.
  const secrets = new DefaultSecretResolver({
    vault: config.secrets.vault,
    kubernetes: { credentials: () => inClusterCredentials(inCluster) },
    logger,
  });
  // First: unreadable certificate files stop the agent before it reaches any cluster.
  const transport = createHubTransport(config.clouddriver, logger, secrets);
  const listBudget = new ListBudget(config.tasks.totalBudget, config.tasks.budgetPerAccount);
  const syncStreams = new Map<string, SyncStream>();
  const startPacer = new StartPacer(config.kubernetes.accountStartIntervalMs, {
    size: config.kubernetes.cacheGroupSize,
    delayMs: config.kubernetes.cacheGroupDelayMs,
  });
  const tuning = reflectorTuning(config);
  // A kind whose list fails for as long as /health takes to call its reflector stuck no longer holds the sync open.
  const syncProgress = new SyncProgress(Date.now, { stalledAfterMs: config.health.reflectorStuckSeconds * MS_PER_SECOND });
  const progressLog = new SyncProgressLog({ progress: syncProgress, logger }).start();
  let limits: ConnectedSession['limits'] = { ...DEFAULT_LIMITS };
  let closing = false;

  const roster: AccountRoster = new AccountRoster({
    logger,
    initConcurrency: config.kubernetes.accountInitConcurrency,
    createRuntime: (accountConfig, source) =>
      new AccountRuntime({
        config: accountConfig,
        source,
        logger,
        listBudget,
        requestTimeoutMs: config.kubernetes.requestTimeoutSeconds * MS_PER_SECOND,
        maxObjectBytes: () => limits.maxObjectBytes,
        onPending: (account) => syncStreams.get(account)?.schedulePump(),
        reflector: tuning,
        discoveryIntervalMs: config.kubernetes.discovery.intervalSeconds * MS_PER_SECOND,
        verifyResumedFeeds: config.clouddriver.digestIntervalSeconds > 0,
        secrets,
        inCluster,
        progress: syncProgress,
        // Kinds came or went, or became forbidden or readable again: the hub's view of the account follows.
        onInfoChanged: (account) => {
          const runtime = roster.accounts.get(account);
          if (runtime?.state === 'ready') connection.connected?.sendAccountUpdate([runtime.info()], []);
        },
      }),
    declare: (upserted, removed) => connection.connected?.sendAccountUpdate(upserted, removed),
    onStopping: (account) => {
      startPacer.cancel(account);
      const stream = syncStreams.get(account);
      syncStreams.delete(account);
      stream?.close('the account stopped');
    },
  });
  const accounts = roster.accounts;
  const metricsRegistry = createMetricsRegistry();
  const metrics = new AgentMetrics(metricsRegistry, accounts, syncStreams);

  const executor = new OperationExecutor({
    account: (name) => accounts.get(name),
    logger,
    cacheSyncTimeoutMs: config.operations.cacheSyncTimeoutMs,
    fieldManager: config.operations.fieldManager,
    fieldValidation: config.operations.fieldValidation,
    onClientSideApply: (account, action, patchMetadata) => metrics.clientSideApplied(account, action, patchMetadata),
  });

  const openSync = (session: ConnectedSession, runtime: AccountRuntime) => {
    syncStreams.get(runtime.name)?.close('replaced');
    const stream: SyncStream = new SyncStream({
      account: runtime.name,
      sessionId: session.sessionId,
      open: () => session.openSync(),
      queues: () => runtime.queues(),
      limits: session.limits,
      logger,
      onReady: () => {
        logger.debug({ account: runtime.name }, 'sync stream ready');
        // After every (re)connect: does the hub hold what this agent believes it sent?
        runtime.requestDigests(Date.now());
      },
      onDigestCompared: (queue, divergence) => {
        queue.digestCompared(divergence === undefined, Date.now());
        if (divergence === undefined) return;
        metrics.cacheDiverged(runtime.name, qualifiedKind(queue.feed.group, queue.feed.kind));
        runtime.resyncFeed(
          queue,
          `the hub holds ${divergence.hubCount} objects of the feed, the agent sent ${divergence.agentCount}, or the same number with other versions`,
        );
      },
      onBatchAcked: (batch, latencyMs) => {
        metrics.batchAcked(runtime.name, batch.changeCount - batch.digestCount, batch.bytes, latencyMs);
        for (const part of batch.parts) syncProgress.committed(runtime.name, feedId(part.queue.feed), part.lease.entries);
      },
      onClosed: (reason) => {
        if (syncStreams.get(runtime.name) !== stream) return;
        syncStreams.delete(runtime.name);
        if (closing || connection.connected !== session || !runtime.caching) return;
        logger.warn({ account: runtime.name, reason }, 'sync stream closed; reopening');
        setTimeout(() => {
          if (!closing && connection.connected === session && runtime.caching && !syncStreams.has(runtime.name)) openSync(session, runtime);
        }, SYNC_REOPEN_DELAY_MS).unref();
      },
    });
    syncStreams.set(runtime.name, stream);
    stream.start();
  };

  const onAcceptances = (session: ConnectedSession, acceptances: AccountAcceptance[], origin: 'welcome' | 'update') => {
    limits = session.limits;
    for (const acceptance of acceptances) {
      roster.onAcceptance(acceptance);
      const runtime = accounts.get(acceptance.account);
      if (!runtime) continue;
      if (acceptance.accepted && acceptance.caching) {
        // Running accounts reconcile at once; new ones start in turn (accountStartIntervalMs apart).
        if (runtime.caching) runtime.startCaching(acceptance.resume, acceptance.kinds, origin);
        else {
          syncProgress.accountWaiting(runtime.name);
          startPacer.schedule(runtime.name, () => {
            if (!closing) runtime.startCaching(acceptance.resume, acceptance.kinds, origin);
          });
        }
        if (!syncStreams.has(runtime.name)) openSync(session, runtime);
      } else {
        startPacer.cancel(runtime.name);
        syncProgress.accountStopped(runtime.name);
        if (!runtime.caching) continue;
        syncStreams.get(runtime.name)?.close(acceptance.accepted ? 'another agent caches this account' : 'account refused');
        // Never rejects: it only waits for the reflectors' loops, which catch their own errors.
        void runtime.stopCaching();
      }
    }
  };

  const connection = new HubConnection({
    agentId: config.agent.id,
    address: config.clouddriver.grpc,
    pingIntervalMs: Math.max(100, config.clouddriver.keepAliveHeartbeatSeconds * 1000),
    backoff: config.clouddriver.backoff,
    protocolVersion: config.clouddriver.protocolVersion,
    syncCoalesceMs: config.clouddriver.syncCoalesceMs,
    logger,
    transport,
    accounts: () => roster.declarations(),
    zoneId: config.zoneId,
    ...(config.clouddriver.keepAliveTimeOutSeconds !== undefined ? { silenceTimeoutMs: config.clouddriver.keepAliveTimeOutSeconds * MS_PER_SECOND } : {}),
    ...(config.dynamicAccountsEnabled ? { onAccountDefinitions: (definitions: AccountDefinition[]) => onAccountDefinitions(definitions) } : {}),
    onAcceptances,
    onOperation: async (operation) => {
      const started = Date.now();
      const result = await executor.execute(operation);
      metrics.operationDone(operation.request.case ?? 'unknown', result.errorCode === '' ? 'success' : 'failure', Date.now() - started);
      logger.info(
        {
          operationId: operation.id,
          account: operation.account,
          operationType: operation.request.case,
          status: result.httpStatus,
          code: result.errorCode || undefined,
          ms: Date.now() - started,
          cacheSynced: result.cacheSynced,
        },
        `operation ${operation.request.case} finished`,
      );
      return result;
    },
    onDisconnected: (reason) => {
      for (const stream of [...syncStreams.values()]) stream.close(reason);
      syncStreams.clear();
      roster.sessionEnded();
    },
  });

  metrics.watchSession(metricsRegistry, connection);

  /**
   * The hub's dynamic accounts for this agent (the complete set): the roster starts, restarts and stops
   * them. A definition this agent cannot run (it predates a key the hub knows) is declared with the
   * reason, so the hub shows it as failed instead of waiting for it, and withdrawn by the roster once
   * the hub no longer sends it.
   */
  const onAccountDefinitions = (definitions: AccountDefinition[]) => {
    const { accepted, invalid } = parseAccountDefinitions(definitions);
    for (const bad of invalid) logger.error({ account: bad.account.name, reason: bad.account.unreachableReason }, 'cannot run a dynamic account definition');
    const change = roster.setHubAccounts(
      accepted,
      invalid.map((bad) => bad.account),
    );
    logger.info({ definitions: definitions.length, ...change }, 'dynamic account definitions applied');
  };

  // Reach every cluster first (bounded), so the hello can describe them; stragglers join later.
  await roster.startInitial(fileAccounts(config));

  connection.start();
  const applyReload = (next: AgentConfig) => {
    // Secret values are read again: a rotated kubeconfig reaches the accounts that restart or retry.
    secrets.invalidate();
    const change = roster.setFileAccounts(fileAccounts(next));
    logger.info({ ...change }, 'configuration reloaded');
  };
  const reloader =
    options.reload === undefined
      ? undefined
      : new ConfigReloader({
          paths: options.reload.paths,
          load: options.reload.load,
          apply: applyReload,
          current: config,
          logger,
          metricsRegistry,
        }).start();
  const adminTls = adminTlsOptions(config.server.ssl);
  const admin: FastifyInstance = await buildAdminServer({
    ...(adminTls ? { tls: adminTls } : {}),
    accounts,
    roster,
    ...(reloader ? { reloadStatus: reloader.status } : {}),
    connection,
    syncStreams,
    metricsRegistry,
    logger,
    stuckBounds: { stuckMs: config.health.reflectorStuckSeconds * MS_PER_SECOND, stallTimeoutMs: tuning.stallTimeoutMs },
  });
  try {
    await admin.listen({ host: config.server.host, port: config.server.port });
  } catch (err) {
    reloader?.stop();
    await connection.stop();
    await roster.close();
    await secrets.close();
    throw portUnavailable(err, { portKey: 'server.port', port: config.server.port, hostKey: 'server.host', host: config.server.host }) ?? err;
  }
  adminTls?.attach(admin.server as unknown as TlsServer);
  // prometheus.enabled (Armory's): the admin port's metrics also on a port of their own, at both of Armory's paths.
  let metricsServer: FastifyInstance | undefined;
  if (config.prometheus.enabled) {
    metricsServer = Fastify({ logger: false });
    const serveMetrics = async (_request: unknown, reply: { header(name: string, value: string): unknown }) => {
      const scraped = await admin.inject({ method: 'GET', url: '/metrics' });
      reply.header('content-type', String(scraped.headers['content-type'] ?? 'text/plain'));
      return scraped.body;
    };
    metricsServer.get('/metrics', serveMetrics);
    metricsServer.get('/prometheus_metrics', serveMetrics);
    try {
      await metricsServer.listen({ host: config.server.host, port: config.prometheus.port });
    } catch (err) {
      await admin.close();
      throw portUnavailable(err, { portKey: 'prometheus.port', port: config.prometheus.port, hostKey: 'server.host', host: config.server.host }) ?? err;
    }
  }
  const address = admin.server.address();
  const adminPort = typeof address === 'object' && address ? address.port : config.server.port;
  logger.info({ admin: adminPort, hub: config.clouddriver.grpc, accounts: accounts.size }, 'agent started');

  const digestIntervalMs = config.clouddriver.digestIntervalSeconds * MS_PER_SECOND;
  const digestTimer =
    digestIntervalMs > 0
      ? setInterval(() => {
          for (const runtime of accounts.values()) if (runtime.caching && syncStreams.has(runtime.name)) runtime.requestDigests();
        }, digestIntervalMs)
      : undefined;
  digestTimer?.unref();

  return {
    adminUrl: `${adminTls ? 'https' : 'http'}://${config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host}:${adminPort}`,
    accounts,
    connection,
    async close() {
      closing = true;
      // Accounts stopping now are no sync finishing.
      progressLog.stop();
      reloader?.stop();
      clearInterval(digestTimer);
      startPacer.close();
      await connection.stop();
      await roster.close();
      await secrets.close();
      await admin.close();
      await metricsServer?.close();
      logger.info('agent stopped');
    },
  };
}
