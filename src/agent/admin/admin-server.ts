import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../../common/logger.ts';
import { REFLECTOR_STATES, type ReflectorState, type ReflectorStatus } from '../../kube/reflector.ts';
import type { AccountRoster } from '../account/account-roster.ts';
import type { AccountRuntime, WatchView } from '../account/account-runtime.ts';
import type { ReloadStatus } from '../config-reloader.ts';
import type { AdminTls } from './admin-tls.ts';
import type { HubConnection } from '../session/hub-connection.ts';
import type { SyncStream } from '../sync/sync-stream.ts';
import { FeedMetrics } from '../feed-metrics.ts';
import { agentStatusPageRoutes } from './status-page.ts';
import { divergedReason, freshnessSeconds, stuckReason, unmatchedReason, type StuckBounds } from './watch-health.ts';
import { HTTP_OK, HTTP_SERVICE_UNAVAILABLE } from '../../common/http-status.ts';

const MS_PER_SECOND = 1000;

export interface AdminServerOptions {
  accounts: Map<string, AccountRuntime>;
  /** Only `state` and `lastError` are read. */
  connection: Pick<HubConnection, 'state' | 'lastError' | 'protocolSummary'>;
  syncStreams: Map<string, SyncStream>;
  metricsRegistry: Registry;
  logger: Logger;
  /** When a reflector counts as stuck (health.reflectorStuckSeconds, the stall timeout). */
  stuckBounds: StuckBounds;
  /** Where each account comes from and what the hub made of it. */
  roster?: Pick<AccountRoster, 'standing' | 'source'>;
  /** The configuration reloads, when the agent follows its files. */
  reloadStatus?: ReloadStatus;
  /** server.ssl, when enabled (admin-tls.ts). */
  tls?: AdminTls;
  /** Epoch ms (tests). */
  clock?: () => number;
}

/** Why the agent is not ready: no hub session, or an account it cannot serve (unreachable, refused, not reached yet). */
function notReadyReasons(options: AdminServerOptions): Array<Record<string, unknown>> {
  const reasons: Array<Record<string, unknown>> = [];
  if (options.connection.state !== 'connected') {
    reasons.push({ hub: options.connection.state, reason: options.connection.lastError ?? 'no session with the hub yet' });
  }
  for (const a of options.accounts.values()) {
    const standing = options.roster?.standing(a.name);
    if (a.state !== 'ready') reasons.push({ account: a.name, state: a.state, reason: a.lastError ?? 'the cluster has not been reached yet' });
    else if (standing?.state === 'refused') reasons.push({ account: a.name, state: 'refused', code: standing.code, reason: standing.message });
  }
  return reasons;
}

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

function reloadView(status: ReloadStatus | undefined) {
  if (status === undefined) return null;
  return {
    loadedAt: iso(status.loadedAt),
    reloads: status.reloads,
    failures: status.failures,
    lastError: status.lastError ? { message: status.lastError.message, at: iso(status.lastError.at) } : null,
  };
}

function hubStandingView(standing: ReturnType<AccountRoster['standing']>) {
  if (standing === undefined) return null;
  switch (standing.state) {
    case 'refused':
      return { state: 'refused', code: standing.code, reason: standing.message, since: iso(standing.since), retryAt: iso(standing.retryAt) };
    case 'accepted':
      return { state: 'accepted', caching: standing.caching };
    default:
      return { state: standing.state };
  }
}

function feedName(w: WatchView): string {
  return `${w.feed.group === '' ? '' : `${w.feed.group}/`}${w.feed.kind}${w.feed.namespace === '' ? '' : `@${w.feed.namespace}`}`;
}

/** Why a watch makes /health DOWN: a stuck reflector, a copy that keeps differing, or one never matched since the reconnect. */
function unhealthyReason(w: WatchView, now: number, bounds: StuckBounds): string | undefined {
  return stuckReason(w.reflector, now, bounds) ?? divergedReason(w.digest, now, bounds.stuckMs) ?? unmatchedReason(w.digest, w.reflector, now, bounds.stuckMs);
}

/** One watch as /watches shows it: the health fields first, timestamps as ISO strings. */
function watchEntry(account: string, w: WatchView, now: number, bounds: StuckBounds) {
  const r: ReflectorStatus = w.reflector;
  return {
    account,
    group: w.feed.group,
    version: w.feed.version,
    kind: w.feed.kind,
    namespace: w.feed.namespace,
    state: r.state,
    stateSince: iso(r.stateSince),
    freshnessSeconds: freshnessSeconds(r, now) ?? null,
    lastEventAt: iso(r.lastEventAt),
    lastProgressAt: iso(r.lastProgressAt),
    stuck: unhealthyReason(w, now, bounds) ?? null,
    digest: {
      lastMatchAt: iso(w.digest.lastMatchAt),
      divergedSince: iso(w.digest.divergedSince),
      divergences: w.digest.divergences,
      unmatchedSince: iso(w.digest.unmatchedSince),
      verifying: w.digest.verifying ?? false,
      unverifiable: w.digest.unverifiable,
    },
    forbiddenReason: r.forbiddenReason,
    nextAttemptAt: iso(r.nextAttemptAt),
    failingSince: iso(r.failingSince),
    relists: r.relists,
    watchRestarts: r.watchRestarts,
    errors: r.errors,
    lastError: r.lastError ? { ...r.lastError, at: iso(r.lastError.at) } : undefined,
    resourceVersion: r.resourceVersion,
    pending: w.pending,
    known: w.known,
    ackedResourceVersion: w.ackedResourceVersion,
    /** The feed and the reflector's own status (epoch ms), as before these fields were flattened. */
    feed: w.feed,
    reflector: r,
  };
}

/** Per account: what its watches add up to, for /accounts. */
function watchSummary(watches: WatchView[], now: number) {
  const byState = Object.fromEntries(REFLECTOR_STATES.map((s) => [s, 0])) as Record<ReflectorState, number>;
  let stalest: { feed: string; freshnessSeconds: number } | undefined;
  let neverSynced = 0;
  const totals = { relists: 0, watchRestarts: 0, errors: 0, pending: 0, known: 0 };
  for (const w of watches) {
    byState[w.reflector.state]++;
    totals.relists += w.reflector.relists;
    totals.watchRestarts += w.reflector.watchRestarts;
    totals.errors += w.reflector.errors;
    totals.pending += w.pending;
    totals.known += w.known;
    // A refused kind is reported as such; its age would hide the freshness of the kinds that work.
    if (w.reflector.forbiddenReason !== undefined) continue;
    const freshness = freshnessSeconds(w.reflector, now);
    if (freshness === undefined) neverSynced++;
    else if (stalest === undefined || freshness > stalest.freshnessSeconds) stalest = { feed: feedName(w), freshnessSeconds: freshness };
  }
  return { total: watches.length, byState, stalest: stalest ?? null, neverSynced, ...totals };
}

/**
 * The agent's admin port (8082): `/health` for probes, `/accounts` and `/watches` to see what it does,
 * `/metrics` for Prometheus, `/` a page that shows the three to a person.
 */
export async function buildAdminServer(options: AdminServerOptions): Promise<FastifyInstance> {
  const { accounts, connection, syncStreams, metricsRegistry, stuckBounds } = options;
  const now = options.clock ?? Date.now;
  const feedMetrics = new FeedMetrics(accounts, now);
  // server.ssl: the same routes over HTTPS (the caller attaches the client-certificate checks once listening).
  const app = (options.tls === undefined ? Fastify({ logger: false }) : Fastify({ logger: false, https: options.tls.options })) as unknown as FastifyInstance;

  // Liveness: the process answers. Nothing outside it (the hub, a cluster) makes a restart useful.
  const live = async () => ({ status: 'UP' });
  app.get('/health/liveness', live);
  app.get('/livez', live);

  // Readiness: a hub session, and every account reached and accepted by the hub. Each reason is listed.
  const ready = async (_request: unknown, reply: { code(status: number): unknown }) => {
    const reasons = notReadyReasons(options);
    reply.code(reasons.length > 0 ? HTTP_SERVICE_UNAVAILABLE : HTTP_OK);
    return { status: reasons.length > 0 ? 'OUT_OF_SERVICE' : 'UP', notReady: reasons, config: reloadView(options.reloadStatus) };
  };
  app.get('/health/readiness', ready);
  app.get('/readyz', ready);

  // DOWN (503) only for reflectors stuck past health.reflectorStuckSeconds: a restart may cure those. A
  // hub that is away or a kind the account may not read are reported, but a restart would not help.
  app.get('/health', async (_request, reply) => {
    const at = now();
    const stuck: Array<Record<string, unknown>> = [];
    let watches = 0;
    let forbidden = 0;
    for (const a of accounts.values()) {
      for (const w of a.watches()) {
        watches++;
        if (w.reflector.forbiddenReason !== undefined) forbidden++;
        const reason = unhealthyReason(w, at, stuckBounds);
        if (reason === undefined) continue;
        stuck.push({
          account: a.name,
          group: w.feed.group,
          kind: w.feed.kind,
          namespace: w.feed.namespace,
          state: w.reflector.state,
          stateSince: iso(w.reflector.stateSince),
          reason,
        });
      }
    }
    reply.code(stuck.length > 0 ? HTTP_SERVICE_UNAVAILABLE : HTTP_OK);
    return {
      status: stuck.length > 0 ? 'DOWN' : 'UP',
      hub: { state: connection.state, lastError: connection.lastError, ...connection.protocolSummary() },
      accounts: {
        total: accounts.size,
        ready: [...accounts.values()].filter((a) => a.state === 'ready').length,
        unreachable: [...accounts.values()].filter((a) => a.state === 'failed').map((a) => ({ account: a.name, reason: a.lastError })),
        refused: [...accounts.values()].flatMap((a) => {
          const standing = options.roster?.standing(a.name);
          return standing?.state === 'refused' ? [{ account: a.name, code: standing.code, reason: standing.message, retryAt: iso(standing.retryAt) }] : [];
        }),
      },
      config: reloadView(options.reloadStatus),
      watches: { total: watches, forbidden, stuck: stuck.length },
      stuckAfterSeconds: stuckBounds.stuckMs / MS_PER_SECOND,
      stuck,
    };
  });

  app.get('/accounts', async () => {
    const at = now();
    return [...accounts.values()].map((a) => {
      const watches = a.watches();
      const discovery = a.discoveryView();
      return {
        name: a.name,
        state: a.state,
        lastError: a.lastError,
        source: options.roster?.source(a.name) ?? 'file',
        hub: hubStandingView(options.roster?.standing(a.name)),
        caching: a.caching,
        cluster: a.facts,
        watchedKinds: watches.length,
        watches: watchSummary(watches, at),
        forbiddenKinds: a
          .refusedFeeds()
          .map((r) => ({ group: r.feed.group, kind: r.feed.kind, namespace: r.feed.namespace, reason: r.reason, since: iso(r.since) })),
        excludedKinds: a.excluded.map((e) => ({ group: e.resource.group, kind: e.resource.kind, reason: e.reason })),
        discovery: {
          runs: discovery.runs,
          changes: discovery.changes,
          lastRunAt: iso(discovery.lastRunAt),
          lastChangeAt: iso(discovery.lastChangeAt),
          lastError: discovery.lastError,
          unavailableGroupVersions: discovery.unavailableGroupVersions,
          definitionWatch: discovery.definitionWatch
            ? {
                state: discovery.definitionWatch.state,
                freshnessSeconds: freshnessSeconds(discovery.definitionWatch, at) ?? null,
                lastError: discovery.definitionWatch.lastError?.message,
              }
            : null,
        },
        syncStream: syncStreams.has(a.name) ? { unackedBatches: syncStreams.get(a.name)!.unacked } : null,
      };
    });
  });

  // GET /: a page that draws /health, /accounts and /watches for a person (status-page.ts).
  agentStatusPageRoutes(app);

  app.get('/watches', async () => {
    const at = now();
    return [...accounts.values()].flatMap((a) => a.watches().map((w) => watchEntry(a.name, w, at, stuckBounds)));
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metricsRegistry.contentType);
    return `${await metricsRegistry.metrics()}\n${await feedMetrics.text()}`;
  });
  return app;
}
