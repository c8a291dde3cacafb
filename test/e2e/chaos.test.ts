import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../src/common/time.ts';
import { assertConverged, CORE_KINDS, type ComparedKind } from '../support/convergence.ts';
import { seededRandom } from '../support/seeded-random.ts';
import { TestSystem, simRequest } from '../support/system.ts';

/**
 * Chaos: churn on several sim clusters while every fault the sim can inject hits them in a random order,
 * round after round; after each round the hub's cache must equal every cluster object by object. The
 * seed is printed and can be replayed with CHAOS_SEED; CHAOS_ROUNDS makes a longer run.
 */
const SEED = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 1_000_000));
const ROUNDS = Number(process.env.CHAOS_ROUNDS ?? 4);
const CLUSTERS = 3;
/** Churn requests between two faults, so each fault lands on a moving cluster. */
const CHANGES_BETWEEN_FAULTS = 12;
/** After the faults are lifted, how long the hub may take to equal the sim again. */
const CONVERGENCE_TIMEOUT_MS = 45_000;
/** Requests failed by one error fault; several reflectors and the churn share them. */
const FAILED_REQUESTS = 8;
/** Added latency while a latency fault lasts (the rest of its round). */
const LATENCY_MS = 120;
const LATENCY_JITTER_MS = 80;
/** Names the churn cycles through, so creates, updates and deletes all happen. */
const CHURN_NAMES = 20;

const WIDGET_GROUP = 'chaos.scale-agent.io';
const WIDGET_CRD = `widgets.${WIDGET_GROUP}`;
const WIDGET_PATH = `/apis/${WIDGET_GROUP}/v1`;
const KINDS: ComparedKind[] = [...CORE_KINDS, { group: WIDGET_GROUP, kind: 'Widget', path: `${WIDGET_PATH}/widgets`, optional: true }];

/** Fisher–Yates: every order equally likely. */
function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

type FaultName = 'drop-watches' | 'compact' | 'latency' | 'errors-500' | 'errors-429' | 'revoke' | 'crd' | 'agent-stop';
const FAULTS: FaultName[] = ['drop-watches', 'compact', 'latency', 'errors-500', 'errors-429', 'revoke', 'crd', 'agent-stop'];
/**
 * The hub's ping interval here: a frozen agent misses three pings (1.5 s) and the hub ends its session,
 * so the 'agent-stop' fault is over in seconds, not the minute the defaults take.
 */
const HUB_PING_INTERVAL_MS = 500;
/** Anti-entropy's interval in this test: several comparisons fit in a round's convergence window. */
const DIGEST_INTERVAL_SECONDS = 5;
/** How long the hub may take to end a frozen agent's session (missed pings, on a busy machine). */
const SESSION_END_TIMEOUT_MS = 20_000;

describe(`chaos (seed ${SEED}, ${ROUNDS} rounds)`, { timeout: 600_000 }, () => {
  let system: TestSystem;
  const random = seededRandom(SEED);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  let step = 0;
  const widgetsDefined = new Set<string>();
  const injected = new Map<FaultName, number>();

  /** Set while the 'agent-stop' fault holds the agent process stopped (SIGSTOP). */
  let agentStopped = false;

  before(async () => {
    system = await new TestSystem({
      clusters: CLUSTERS,
      hub: { grpc: { pingIntervalMs: HUB_PING_INTERVAL_MS } },
      agent: {
        // Faults make reflectors back off; short waits keep the rounds brief without changing the logic.
        kubernetes: { reflector: { backoff: { initialMs: 100, maxMs: 1000 }, forbiddenRetrySeconds: 1 }, discovery: { intervalSeconds: 5 } },
        // Anti-entropy is part of the design: a divergence the faults cause must be found and healed
        // within a round. Each one is printed (the hub's counter), so a new way to diverge shows.
        clouddriver: { digestIntervalSeconds: DIGEST_INTERVAL_SECONDS },
      },
    }).start();
  });

  after(async () => {
    if (agentStopped) system?.signal('agent', 'SIGCONT');
    await system?.stop();
  });

  async function admin(method: string, path: string, body?: unknown): Promise<any> {
    const response = await system.simAdmin(method, path, body);
    assert.ok(response.status >= 200 && response.status < 300, `${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  }

  /** One change to one cluster; failures are expected while faults are active and are not retried. */
  async function churnOnce(): Promise<void> {
    const cluster = pick(system.names);
    const sim = system.sim(cluster);
    const name = `chaos-${Math.floor(random() * CHURN_NAMES)}`;
    const roll = random();
    step++;
    if (roll < 0.35) {
      await simRequest(sim, 'POST', '/api/v1/namespaces/default/configmaps', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name },
        data: { step: String(step) },
      });
    } else if (roll < 0.6) {
      await simRequest(sim, 'PATCH', `/api/v1/namespaces/default/configmaps/${name}`, { data: { step: String(step) } }, 'application/merge-patch+json');
    } else if (roll < 0.75) {
      await simRequest(sim, 'DELETE', `/api/v1/namespaces/default/configmaps/${name}`);
    } else if (roll < 0.85) {
      await simRequest(
        sim,
        'PATCH',
        '/apis/apps/v1/namespaces/default/deployments/chaos-web',
        { spec: { replicas: 1 + Math.floor(random() * 3) } },
        'application/merge-patch+json',
      );
    } else if (widgetsDefined.has(cluster)) {
      if (random() < 0.7)
        await simRequest(sim, 'POST', `${WIDGET_PATH}/namespaces/default/widgets`, {
          apiVersion: `${WIDGET_GROUP}/v1`,
          kind: 'Widget',
          metadata: { name },
          spec: { step },
        });
      else await simRequest(sim, 'DELETE', `${WIDGET_PATH}/namespaces/default/widgets/${name}`);
    }
  }

  async function inject(fault: FaultName): Promise<void> {
    const cluster = pick(system.names);
    const base = `/sim/clusters/${cluster}`;
    injected.set(fault, (injected.get(fault) ?? 0) + 1);
    switch (fault) {
      case 'drop-watches':
        return void (await admin('POST', `${base}/faults/drop-watches`));
      case 'compact':
        // Compaction as clients meet it: history forgotten while their watches are cut (an API server
        // restart), so reflectors behind the compaction point reconnect into a 410 and must relist.
        await admin('POST', `${base}/faults/compact`);
        return void (await admin('POST', `${base}/faults/drop-watches`));
      case 'latency':
        return void (await admin('POST', `${base}/faults/latency`, { ms: LATENCY_MS, jitterMs: LATENCY_JITTER_MS }));
      case 'errors-500':
        return void (await admin('POST', `${base}/faults/errors`, { status: 500, count: FAILED_REQUESTS }));
      case 'errors-429':
        return void (await admin('POST', `${base}/faults/errors`, { status: 429, count: FAILED_REQUESTS, retryAfterSeconds: 1 }));
      case 'revoke':
        return void (await admin('POST', `${base}/faults/revoke`, { group: '', resource: 'configmaps' }));
      case 'agent-stop':
        // The agent process stops (a long pause, a frozen VM) and stays stopped while the round's other
        // faults run; it continues before the faults are lifted, once the hub has ended its session.
        system.signal('agent', 'SIGSTOP');
        agentStopped = true;
        return;
      case 'crd':
        // Alternates: define the kind (and churn starts writing widgets), or delete it with its objects.
        if (widgetsDefined.has(cluster)) {
          widgetsDefined.delete(cluster);
          return void (await admin('DELETE', `${base}/crds/${WIDGET_CRD}`));
        }
        await admin('POST', `${base}/crds`, { group: WIDGET_GROUP, kind: 'Widget', plural: 'widgets', scope: 'Namespaced', versions: ['v1'] });
        widgetsDefined.add(cluster);
        return;
    }
  }

  test('after every round of faults during churn, the hub equals every cluster object by object', async () => {
    for (const name of system.names) {
      const created = await simRequest(system.sim(name), 'POST', '/apis/apps/v1/namespaces/default/deployments', {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'chaos-web' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'chaos-web' } },
          template: { metadata: { labels: { app: 'chaos-web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
        },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }
    for (let round = 1; round <= ROUNDS; round++) {
      // Every fault once per round, in a fresh random order.
      const order = shuffle(FAULTS, random);
      for (const fault of order) {
        await inject(fault);
        for (let i = 0; i < CHANGES_BETWEEN_FAULTS; i++) await churnOnce();
      }
      if (agentStopped) {
        await waitFor(
          async () => {
            const statuses = await system.agentStatuses();
            return system.names.every((name) => statuses.has(name) && statuses.get(name) !== 'connected');
          },
          { timeoutMs: SESSION_END_TIMEOUT_MS, what: "the hub to end the stopped agent's session" },
        );
        system.signal('agent', 'SIGCONT');
        agentStopped = false;
      }
      // Lift what lasts (latency, revoked kinds, unspent error budgets), then the hub must catch up.
      for (const name of system.names) await admin('DELETE', `/sim/clusters/${name}/faults`);
      for (const name of system.names) {
        await assertConverged({ sim: system.sim(name), dbPath: system.dbPath, account: name, kinds: KINDS, timeoutMs: CONVERGENCE_TIMEOUT_MS }).catch(
          (err: unknown) => {
            throw new Error(`round ${round} (seed ${SEED}, order ${order.join(', ')}): ${(err as Error).message}`);
          },
        );
      }
    }
    const hubMetrics = (await system.rest('/metrics')).body as string;
    const divergences = hubMetrics.split('\n').filter((l) => l.startsWith('scale_agent_hub_cache_divergence_total{'));
    console.log(`chaos (seed ${SEED}): divergences anti-entropy found and healed: ${divergences.length === 0 ? 'none' : divergences.join(', ')}`);
    for (const fault of FAULTS) assert.equal(injected.get(fault), ROUNDS, `${fault} was injected every round`);
    // The faults reached the reflectors: they failed, relisted past their first list, and restarted watches.
    const watches = (await system.agentAdmin('/watches')).body as Array<{ relists: number; watchRestarts: number; errors: number }>;
    const total = (field: 'relists' | 'watchRestarts' | 'errors') => watches.reduce((n, w) => n + w[field], 0);
    assert.ok(total('errors') > 0, 'reflectors saw errors');
    assert.ok(total('relists') > watches.length, `reflectors relisted after their initial list (${total('relists')} lists for ${watches.length} feeds)`);
    assert.ok(total('watchRestarts') > 0, 'watches were restarted');
    const health = await system.agentAdmin('/health');
    assert.equal(health.status, 200, `the agent is healthy after the faults are lifted: ${JSON.stringify(health.body)}`);
  });
});
