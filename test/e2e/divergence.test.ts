import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../src/common/time.ts';
import { assertConverged, CORE_KINDS } from '../support/convergence.ts';
import { TestSystem, simRequest } from '../support/system.ts';
import { metricSum } from '../support/prometheus-text.ts';

/**
 * A frozen agent (SIGSTOP) whose hub session ended meets, on its cluster, changes, compaction, a storm of
 * 500s and a revoked kind: once everything is lifted and the agent is back, the hub's cache must equal the
 * cluster object by object. The reviewer's case: the hub held 2 of 4 Deployments while the agent reported
 * them all known and nothing pending.
 *
 * What makes it diverge is a relist that runs while changes of the same feed are still waiting to be sent
 * (the session is gone, so nothing is sent): the test holds the agent's reconnection back by freezing the
 * hub too, so that the relist surely comes first, and waits for it through the agent's `/watches`.
 */

/** The hub closes a session silent for 3 ping intervals: 1.5 s instead of a minute. */
const HUB_PING_INTERVAL_MS = 500;
const MISSED_PINGS_BEFORE_DEAD = 3;
const CONVERGENCE_TIMEOUT_MS = 45_000;
/** Bound of every wait for a state in between (a session ended, a relist, a reconnection). */
const STEP_TIMEOUT_MS = 30_000;
/** List/watch requests failed by the 500 storm (the Deployments feed, whose watch ended, meets most of them). */
const FAILED_REQUESTS = 5;
const DEPLOYMENTS_PATH = '/apis/apps/v1/namespaces/default/deployments';
const HUB_DIVERGENCE_METRIC = 'scale_agent_hub_cache_divergence_total';

function deployment(name: string): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
    },
  };
}

interface WatchRow {
  feed: { group: string; kind: string };
  pending: number;
  known: number;
  reflector: { state: string; relists: number };
}

describe('no silent divergence after a frozen agent meets faults', { timeout: 240_000 }, () => {
  let system: TestSystem;

  before(async () => {
    system = await new TestSystem({
      clusters: 1,
      hub: { grpc: { pingIntervalMs: HUB_PING_INTERVAL_MS, missedPingsBeforeDead: MISSED_PINGS_BEFORE_DEAD } },
      agent: {
        // Faults make reflectors back off and refused kinds retry; short waits keep the test brief.
        kubernetes: { reflector: { backoff: { initialMs: 100, maxMs: 1000 }, forbiddenRetrySeconds: 1 } },
      },
    }).start();
  });

  after(async () => {
    await system?.stop();
  });

  async function admin(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await system.simAdmin(method, path, body);
    assert.ok(response.status >= 200 && response.status < 300, `${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  }

  async function agentStatus(account: string): Promise<string | undefined> {
    return (await system.agentStatuses()).get(account);
  }

  async function deploymentFeed(): Promise<WatchRow> {
    const watches = (await system.agentAdmin('/watches')).body as WatchRow[];
    const feed = watches.find((w) => w.feed.group === 'apps' && w.feed.kind === 'Deployment');
    assert.ok(feed, 'the agent watches Deployments');
    return feed;
  }

  test('a relist while changes wait for the hub loses none of them', async () => {
    const account = system.names[0]!;
    const sim = system.sim(account);
    const base = `/sim/clusters/${account}`;
    for (let i = 1; i <= 4; i++) {
      const created = await simRequest(sim, 'POST', DEPLOYMENTS_PATH, deployment(`web-${i}`));
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }
    await assertConverged({ sim, dbPath: system.dbPath, account, kinds: CORE_KINDS, timeoutMs: CONVERGENCE_TIMEOUT_MS });
    await waitFor(async () => (await deploymentFeed()).pending === 0, { timeoutMs: STEP_TIMEOUT_MS, what: 'the Deployments to be sent' });
    const relistsBefore = (await deploymentFeed()).reflector.relists;

    // The agent freezes; the hub ends its session. Then the hub freezes too, so that the thawed agent
    // cannot reconnect before its Deployments feed has relisted.
    system.signal('agent', 'SIGSTOP');
    await waitFor(async () => (await agentStatus(account)) === 'disconnected', {
      timeoutMs: STEP_TIMEOUT_MS,
      what: "the hub to end the frozen agent's session",
    });
    system.signal('hub', 'SIGSTOP');

    // While the agent is frozen: its watch receives changes (two updates, a create, a delete) it cannot
    // act on yet; another write moves the cluster past them, so compaction makes the watch's
    // resourceVersion too old; a storm of 500s; and the revocation ends the open Deployments watch.
    for (const name of ['web-1', 'web-2']) {
      const patched = await simRequest(
        sim,
        'PATCH',
        `${DEPLOYMENTS_PATH}/${name}`,
        { metadata: { annotations: { changed: 'while-frozen' } } },
        'application/merge-patch+json',
      );
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
    }
    assert.equal((await simRequest(sim, 'POST', DEPLOYMENTS_PATH, deployment('web-5'))).status, 201);
    assert.equal((await simRequest(sim, 'DELETE', `${DEPLOYMENTS_PATH}/web-4`)).status, 200);
    assert.equal(
      (await simRequest(sim, 'POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after-changes' } }))
        .status,
      201,
    );
    await admin('POST', `${base}/faults/compact`);
    await admin('POST', `${base}/faults/errors`, { status: 500, count: FAILED_REQUESTS, verbs: ['list', 'watch'] });
    await admin('POST', `${base}/faults/revoke`, { group: 'apps', resource: 'deployments' });

    // The agent thaws: it reads the changes, loses its session, and meets the faults.
    system.signal('agent', 'SIGCONT');
    await waitFor(async () => (await deploymentFeed()).reflector.state === 'forbidden', {
      timeoutMs: STEP_TIMEOUT_MS,
      what: 'the Deployments feed to be refused',
    });
    // Lifted: the refused feed's retry finds its resourceVersion compacted and relists, while the
    // changes it read wait for a hub it cannot reach.
    await admin('DELETE', `${base}/faults`);
    const relisted = await waitFor(
      async () => {
        const feed = await deploymentFeed();
        return feed.reflector.relists > relistsBefore && feed.reflector.state === 'watching' ? feed : undefined;
      },
      { timeoutMs: STEP_TIMEOUT_MS, what: 'the Deployments feed to relist' },
    );
    assert.ok(relisted.pending > 0, `the relist ran while changes waited to be sent (${JSON.stringify(relisted)})`);

    system.signal('hub', 'SIGCONT');
    await waitFor(async () => (await agentStatus(account)) === 'connected', { timeoutMs: STEP_TIMEOUT_MS, what: 'the agent to reconnect' });
    await assertConverged({ sim, dbPath: system.dbPath, account, kinds: CORE_KINDS, timeoutMs: CONVERGENCE_TIMEOUT_MS }).catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message}; the agent's Deployments feed: ${JSON.stringify(await deploymentFeed())}`);
    });
    // Converging is not enough when the agent checks the hub's copy (anti-entropy digests): the copy must
    // never have differed from what the agent believes it sent, so no repair was needed.
    const metrics = await system.rest('/metrics');
    assert.equal(metrics.status, 200);
    assert.equal(
      metricSum(metrics.body as string, HUB_DIVERGENCE_METRIC),
      0,
      `the hub found its copy of a feed different from the agent's:\n${(metrics.body as string)
        .split('\n')
        .filter((l) => l.startsWith(HUB_DIVERGENCE_METRIC))
        .join('\n')}`,
    );
  });
});
