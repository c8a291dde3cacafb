import type { FastifyInstance } from 'fastify';
import { Backoff } from '../common/backoff.ts';
import { errorMessage } from '../common/errors.ts';
import { qualifiedKind } from '../common/kube-object.ts';
import type { Logger } from '../common/logger.ts';
import { createMetricsRegistry } from '../common/metrics.ts';
import { DEFAULT_LIMITS, type AccountAcceptance } from '../protocol/index.ts';
import { AccountRuntime, type ReflectorTuning } from './account/account-runtime.ts';
import { ListBudget } from './account/list-budget.ts';
import { StartPacer } from './account/start-pacer.ts';
import { buildAdminServer } from './admin/admin-server.ts';
import type { AgentConfig } from './config.ts';
import { OperationExecutor } from './operations/executor.ts';
import { HubConnection, type ConnectedSession } from './session/hub-connection.ts';
import { createHubTransport } from './session/hub-transport.ts';
import { SyncStream } from './sync/sync-stream.ts';
import { AgentMetrics } from './agent-metrics.ts';

/** Retry of an account whose cluster could not be reached at start (discovery failed). */
const ACCOUNT_INIT_BACKOFF = { initialMs: 1000, maxMs: 60_000, multiplier: 2, jitter: 0.2, resetAfterMs: 300_000 };
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
export async function startAgent(config: AgentConfig, logger: Logger): Promise<RunningAgent> {
  // First: unreadable certificate files stop the agent before it reaches any cluster.
  const transport = createHubTransport(config.clouddriver, logger);
  const listBudget = new ListBudget(config.tasks.totalBudget, config.tasks.budgetPerAccount);
  const accounts = new Map<string, AccountRuntime>();
  const syncStreams = new Map<string, SyncStream>();
  const metricsRegistry = createMetricsRegistry('scale_agent');
  const metrics = new AgentMetrics(metricsRegistry, accounts, syncStreams);
  const startPacer = new StartPacer(config.kubernetes.accountStartIntervalMs);
  const tuning = reflectorTuning(config);
  let limits: ConnectedSession['limits'] = { ...DEFAULT_LIMITS };
  let closing = false;

  for (const accountConfig of config.kubernetes.accounts) {
    accounts.set(
      accountConfig.name,
      new AccountRuntime({
        config: accountConfig,
        logger,
        listBudget,
        requestTimeoutMs: config.kubernetes.requestTimeoutSeconds * MS_PER_SECOND,
        maxObjectBytes: () => limits.maxObjectBytes,
        onPending: (account) => syncStreams.get(account)?.schedulePump(),
        reflector: tuning,
        discoveryIntervalMs: config.kubernetes.discovery.intervalSeconds * MS_PER_SECOND,
        verifyResumedFeeds: config.clouddriver.digestIntervalSeconds > 0,
        // Kinds came or went, or became forbidden or readable again: the hub's view of the account follows.
        onInfoChanged: (account) => {
          const runtime = accounts.get(account);
          if (runtime?.state === 'ready') connection.connected?.sendAccountUpdate([runtime.info()], []);
        },
      }),
    );
  }

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
      onBatchAcked: (batch, latencyMs) => metrics.batchAcked(runtime.name, batch.changeCount - batch.digestCount, batch.bytes, latencyMs),
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
      const runtime = accounts.get(acceptance.account);
      if (!runtime) continue;
      if (acceptance.accepted && acceptance.caching) {
        // Running accounts reconcile at once; new ones start in turn (accountStartIntervalMs apart).
        if (runtime.caching) runtime.startCaching(acceptance.resume, acceptance.kinds, origin);
        else
          startPacer.schedule(runtime.name, () => {
            if (!closing) runtime.startCaching(acceptance.resume, acceptance.kinds, origin);
          });
        if (!syncStreams.has(runtime.name)) openSync(session, runtime);
      } else {
        startPacer.cancel(runtime.name);
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
    logger,
    transport,
    accounts: () => [...accounts.values()].filter((a) => a.state === 'ready').map((a) => a.info()),
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
    },
  });

  // Reach every cluster first (bounded), so the hello can describe them; stragglers join later.
  const initOne = async (runtime: AccountRuntime) => {
    const backoff = new Backoff(ACCOUNT_INIT_BACKOFF);
    while (!closing) {
      try {
        await runtime.init();
        logger.info(
          { account: runtime.name, host: runtime.facts?.host, version: runtime.facts?.kubernetesVersion, kinds: runtime.resources.length },
          'account ready',
        );
        return;
      } catch (err) {
        const waitMs = backoff.next();
        logger.error({ account: runtime.name, err: errorMessage(err), retryInMs: waitMs }, "cannot reach the account's cluster");
        await new Promise((resolve) => setTimeout(resolve, waitMs).unref());
      }
    }
  };
  const pendingInits: Array<Promise<void>> = [];
  const runtimes = [...accounts.values()];
  // A failure is kept on the runtime (state, lastError) and retried below.
  let nextInit = 0;
  const initWorker = async () => {
    while (nextInit < runtimes.length) await runtimes[nextInit++]!.init().catch(() => undefined);
  };
  await Promise.all(Array.from({ length: Math.min(config.kubernetes.accountInitConcurrency, runtimes.length) }, initWorker));
  for (const runtime of runtimes) {
    if (runtime.state === 'ready') {
      logger.info({ account: runtime.name, host: runtime.facts?.host, version: runtime.facts?.kubernetesVersion }, 'account ready');
      continue;
    }
    logger.error({ account: runtime.name, err: runtime.lastError }, "cannot reach the account's cluster; retrying in the background");
    pendingInits.push(
      initOne(runtime).then(() => {
        connection.connected?.sendAccountUpdate([runtime.info()], []);
      }),
    );
  }

  connection.start();
  const admin: FastifyInstance = await buildAdminServer({
    accounts,
    connection,
    syncStreams,
    metricsRegistry,
    logger,
    stuckBounds: { stuckMs: config.health.reflectorStuckSeconds * MS_PER_SECOND, stallTimeoutMs: tuning.stallTimeoutMs },
  });
  await admin.listen({ host: config.server.host, port: config.server.port });
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
    adminUrl: `http://${config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host}:${adminPort}`,
    accounts,
    connection,
    async close() {
      closing = true;
      clearInterval(digestTimer);
      startPacer.close();
      await connection.stop();
      await Promise.all([...accounts.values()].map((a) => a.close()));
      await admin.close();
      logger.info('agent stopped');
    },
  };
}
