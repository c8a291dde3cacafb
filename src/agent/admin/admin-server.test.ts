import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { createLogger } from '../../common/logger.ts';
import type { ReflectorStatus } from '../../kube/reflector.ts';
import type { AccountRuntime, DiscoveryView, WatchView } from '../account/account-runtime.ts';
import { AgentMetrics } from '../agent-metrics.ts';
import { WATCH_STATE_CODES } from '../feed-metrics.ts';
import type { FeedDescriptor } from '../sync/feed.ts';
import { buildAdminServer } from './admin-server.ts';

const SECOND = 1000;
const T0 = Date.parse('2025-01-01T00:00:00Z');
const BOUNDS = { stuckMs: 300 * SECOND, stallTimeoutMs: 900 * SECOND };

const feed = (group: string, kind: string, namespace = ''): FeedDescriptor => ({
  group,
  version: 'v1',
  kind,
  resource: `${kind.toLowerCase()}s`,
  namespace,
  namespaced: true,
});

function watch(descriptor: FeedDescriptor, reflector: Partial<ReflectorStatus>, digest: WatchView['digest'] = { divergences: 0 }): WatchView {
  return {
    feed: descriptor,
    pending: 2,
    known: 10,
    ackedResourceVersion: '42',
    reflector: { state: 'watching', stateSince: T0, relists: 1, watchRestarts: 3, errors: 0, ...reflector },
    digest,
  };
}

/** The parts of an AccountRuntime the admin server and the metrics read. */
function account(name: string, watches: WatchView[]): AccountRuntime {
  const discovery: DiscoveryView = { runs: 2, changes: 1, lastRunAt: T0, lastChangeAt: T0, unavailableGroupVersions: [] };
  return {
    name,
    state: 'ready',
    lastError: undefined,
    caching: true,
    facts: { host: 'https://prod.example', caFingerprint: 'ab', kubeSystemUid: 'u', kubernetesVersion: 'v1.31.0' },
    excluded: [],
    watches: () => watches,
    queues: () => [],
    discoveryView: () => discovery,
    refusedFeeds: () =>
      watches
        .filter((w) => w.reflector.forbiddenReason !== undefined)
        .map((w) => ({ feed: w.feed, reason: w.reflector.forbiddenReason!, since: w.reflector.stateSince })),
  } as unknown as AccountRuntime;
}

describe('admin server', () => {
  let app: FastifyInstance;
  let now = T0;
  const deployments = watch(feed('apps', 'Deployment'), { lastProgressAt: T0, lastEventAt: T0 - 60 * SECOND });
  const secrets = watch(feed('', 'Secret', 'payments'), {
    state: 'forbidden',
    forbiddenReason: 'secrets is forbidden',
    stateSince: T0 - 3600 * SECOND,
    errors: 7,
  });
  const accounts = new Map([['prod', account('prod', [deployments, secrets])]]);
  const registry = new Registry();

  before(async () => {
    new AgentMetrics(registry, accounts, new Map());
    app = await buildAdminServer({
      accounts,
      connection: { state: 'connected', lastError: undefined, protocolSummary: () => ({}) },
      syncStreams: new Map(),
      metricsRegistry: registry,
      logger: createLogger({ level: 'silent' }),
      stuckBounds: BOUNDS,
      clock: () => now,
    });
  });
  after(async () => {
    await app.close();
  });

  it('/health is UP while reflectors progress, and a forbidden kind does not make it DOWN', async () => {
    now = T0 + 60 * SECOND;
    const response = await app.inject({ method: 'GET', url: '/health' });
    assert.equal(response.statusCode, 200);
    const body = response.json();
    assert.equal(body.status, 'UP');
    assert.deepEqual(body.watches, { total: 2, forbidden: 1, stuck: 0 });
    assert.deepEqual(body.stuck, []);
  });

  it('/health is 503 DOWN with the stuck reflectors once a watch is silent past stall timeout + bound', async () => {
    now = T0 + BOUNDS.stallTimeoutMs + BOUNDS.stuckMs + SECOND;
    const response = await app.inject({ method: 'GET', url: '/health' });
    assert.equal(response.statusCode, 503);
    const body = response.json();
    assert.equal(body.status, 'DOWN');
    assert.equal(body.stuck.length, 1);
    assert.equal(body.stuck[0].account, 'prod');
    assert.equal(body.stuck[0].kind, 'Deployment');
    assert.match(body.stuck[0].reason, /no event, bookmark or watch renewal for 1201 s/);
  });

  it("/health is DOWN while the hub's copy of a feed has differed from the agent's past the bound; /watches shows the digest state", async () => {
    const diverged = watch(feed('', 'ConfigMap'), { lastProgressAt: T0 }, { lastMatchAt: T0 - 3600 * SECOND, divergedSince: T0, divergences: 4 });
    const solo = new Map([['stage', account('stage', [diverged])]]);
    const admin = await buildAdminServer({
      accounts: solo,
      connection: { state: 'connected', lastError: undefined, protocolSummary: () => ({}) },
      syncStreams: new Map(),
      metricsRegistry: new Registry(),
      logger: createLogger({ level: 'silent' }),
      stuckBounds: BOUNDS,
      clock: () => now,
    });
    try {
      now = T0 + BOUNDS.stuckMs;
      assert.equal((await admin.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'a fresh mismatch is being resynchronised');
      now = T0 + BOUNDS.stuckMs + SECOND;
      const health = await admin.inject({ method: 'GET', url: '/health' });
      assert.equal(health.statusCode, 503);
      assert.match(health.json().stuck[0].reason, /the hub's copy has differed from the agent's for 301 s \(4 digest mismatches\)/);
      const [entry] = (await admin.inject({ method: 'GET', url: '/watches' })).json();
      assert.deepEqual(entry.digest, {
        lastMatchAt: new Date(T0 - 3600 * SECOND).toISOString(),
        divergedSince: new Date(T0).toISOString(),
        divergences: 4,
        verifying: false,
      });
    } finally {
      await admin.close();
    }
  });

  it('/health is DOWN when no digest of a watched feed has matched since the reconnect past the bound', async () => {
    const unmatched = watch(feed('', 'Secret'), { lastProgressAt: T0 }, { divergences: 0, unmatchedSince: T0 });
    const solo = new Map([['stage', account('stage', [unmatched])]]);
    const admin = await buildAdminServer({
      accounts: solo,
      connection: { state: 'connected', lastError: undefined, protocolSummary: () => ({}) },
      syncStreams: new Map(),
      metricsRegistry: new Registry(),
      logger: createLogger({ level: 'silent' }),
      stuckBounds: BOUNDS,
      clock: () => now,
    });
    try {
      now = T0 + BOUNDS.stuckMs;
      assert.equal((await admin.inject({ method: 'GET', url: '/health' })).statusCode, 200);
      now = T0 + BOUNDS.stuckMs + SECOND;
      const health = await admin.inject({ method: 'GET', url: '/health' });
      assert.equal(health.statusCode, 503);
      assert.match(health.json().stuck[0].reason, /no digest has matched the hub's copy since the reconnect 301 s ago/);
      const [entry] = (await admin.inject({ method: 'GET', url: '/watches' })).json();
      assert.equal(entry.digest.unmatchedSince, new Date(T0).toISOString());
    } finally {
      await admin.close();
    }
  });

  it('/watches shows state, freshness, counters and the refusal reason per feed', async () => {
    now = T0 + 30 * SECOND;
    const body = (await app.inject({ method: 'GET', url: '/watches' })).json();
    assert.equal(body.length, 2);
    const d = body.find((w: { kind: string }) => w.kind === 'Deployment');
    assert.equal(d.state, 'watching');
    assert.equal(d.freshnessSeconds, 30);
    assert.equal(d.lastEventAt, new Date(T0 - 60 * SECOND).toISOString());
    assert.equal(d.watchRestarts, 3);
    assert.equal(d.pending, 2);
    assert.equal(d.known, 10);
    assert.equal(d.stuck, null);
    assert.equal(d.reflector.state, 'watching');
    const s = body.find((w: { kind: string }) => w.kind === 'Secret');
    assert.equal(s.state, 'forbidden');
    assert.equal(s.forbiddenReason, 'secrets is forbidden');
    assert.equal(s.namespace, 'payments');
    assert.equal(s.freshnessSeconds, null);
  });

  it('/accounts summarises watches, forbidden kinds and discovery', async () => {
    now = T0 + 30 * SECOND;
    const [prod] = (await app.inject({ method: 'GET', url: '/accounts' })).json();
    assert.equal(prod.watchedKinds, 2);
    assert.equal(prod.watches.byState.watching, 1);
    assert.equal(prod.watches.byState.forbidden, 1);
    assert.deepEqual(prod.watches.stalest, { feed: 'apps/Deployment', freshnessSeconds: 30 });
    assert.equal(prod.watches.errors, 7);
    assert.deepEqual(prod.forbiddenKinds, [
      { group: '', kind: 'Secret', namespace: 'payments', reason: 'secrets is forbidden', since: new Date(T0 - 3600 * SECOND).toISOString() },
    ]);
    assert.equal(prod.discovery.runs, 2);
  });

  it('/metrics has freshness, state, relists and restarts per feed, and the feeds per state', async () => {
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(text, /scale_agent_watch_freshness_seconds\{account="prod",kind="Deployment.apps",namespace=""\} \d/);
    assert.doesNotMatch(text, /scale_agent_watch_freshness_seconds\{[^}]*kind="Secret"/, 'no freshness before the first progress');
    // One series per feed, its state as a number (WATCH_STATE_CODES), never one per feed and state.
    assert.match(text, new RegExp(`^scale_agent_watch_state\\{account="prod",kind="Secret",namespace="payments"\\} ${WATCH_STATE_CODES.forbidden}$`, 'm'));
    assert.match(text, new RegExp(`^scale_agent_watch_state\\{account="prod",kind="Deployment.apps",namespace=""\\} ${WATCH_STATE_CODES.watching}$`, 'm'));
    assert.equal(text.split('\n').filter((line) => line.startsWith('scale_agent_watch_state{')).length, 2);
    assert.match(text, /^# HELP scale_agent_watch_state .*0=queued, 1=listing, 2=watching, 3=backoff, 4=forbidden, 5=stopped$/m);
    assert.match(text, /^scale_agent_watches_by_state\{state="watching"\} 1$/m);
    assert.match(text, /^scale_agent_watches_by_state\{state="forbidden"\} 1$/m);
    assert.match(text, /^scale_agent_watches_by_state\{state="backoff"\} 0$/m);
    assert.match(text, /scale_agent_watch_relists_total\{account="prod",kind="Deployment.apps",namespace=""\} 1/);
    assert.match(text, /scale_agent_watch_restarts_total\{account="prod",kind="Deployment.apps",namespace=""\} 3/);
    assert.match(text, /scale_agent_watches 2/);
  });
});
