import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../src/common/time.ts';
import { assertConverged, CORE_KINDS } from '../support/convergence.ts';
import { metricSum } from '../support/prometheus-text.ts';
import { parseJsonLines, simRequest, TestSystem } from '../support/system.ts';

/** Sample applications per cluster: enough objects that a full re-send after a reconnect would show. */
const SAMPLE_APPS = '20';
const CONVERGENCE_TIMEOUT_MS = 30_000;
const CHANGES = 8;

/**
 * A version 2 hub keeps serving version 1 agents (agents in third-party clusters upgrade late): an agent
 * pinned to protocol version 1 (clouddriver.protocolVersion: 1, one Sync stream per account) syncs,
 * streams changes and resumes exactly as before; the same agent moved to version 2 (one SharedSync
 * stream for every account) picks up where version 1 left off, re-sending nothing the hub committed.
 */
describe('protocol versions 1 and 2 against a version 2 hub', { timeout: 240_000 }, () => {
  let system: TestSystem;

  before(async () => {
    system = await new TestSystem({
      clusters: 2,
      simArgs: ['--sample-apps', SAMPLE_APPS],
      agent: { clouddriver: { protocolVersion: 1 } },
    }).start();
  });

  after(async () => {
    await system?.stop();
  });

  async function converged(): Promise<void> {
    for (const name of system.names)
      await assertConverged({ sim: system.sim(name), dbPath: system.dbPath, account: name, kinds: CORE_KINDS, timeoutMs: CONVERGENCE_TIMEOUT_MS });
  }

  async function changesSent(): Promise<number> {
    const metrics = await system.agentAdmin('/metrics');
    return metricSum(metrics.body as string, 'scale_agent_changes_sent_total');
  }

  async function hubSession(): Promise<{ protocolVersion: number; caching: string[] }> {
    return waitFor(
      async () => {
        const data = (await system.rest('/status/data')).body as { sessions?: Array<{ protocolVersion: number; caching: string[] }> };
        const session = data.sessions?.[0];
        return session !== undefined && session.caching.length === system.names.length ? session : undefined;
      },
      { timeoutMs: CONVERGENCE_TIMEOUT_MS, what: 'the agent session at the hub' },
    );
  }

  async function createConfigMaps(prefix: string): Promise<void> {
    for (let i = 0; i < CHANGES; i++) {
      const sim = system.sim(system.names[i % system.names.length]!);
      const created = await simRequest(sim, 'POST', '/api/v1/namespaces/default/configmaps', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `${prefix}-${i}` },
        data: { i: String(i) },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }
  }

  /** The agent's view of its session (GET /health): protocol version and, on version 2, SharedSync messages. */
  async function agentHub(): Promise<{ protocolVersion?: number; sharedSync?: { messages: number; requests: number } }> {
    return ((await system.agentAdmin('/health')).body as { hub: { protocolVersion?: number; sharedSync?: { messages: number; requests: number } } }).hub;
  }

  test('a version 1 agent: accepted at version 1, one Sync stream per account, changes and resume as before', async () => {
    await converged();
    assert.equal((await hubSession()).protocolVersion, 1);
    const connected = parseJsonLines(system.agentOutput()).find((l) => l.msg === 'connected to the hub');
    assert.equal(connected?.protocolVersion, 1);
    const hub = await agentHub();
    assert.equal(hub.protocolVersion, 1);
    assert.equal(hub.sharedSync, undefined);

    const before = await changesSent();
    await createConfigMaps('v1-live');
    await converged();
    assert.equal((await changesSent()) - before, CHANGES);

    // Resume over version 1: a restarted agent re-sends only what changed while it was down.
    await system.restartAgent(() => createConfigMaps('v1-down'));
    await converged();
    await waitFor(async () => (await changesSent()) === CHANGES || undefined, { timeoutMs: CONVERGENCE_TIMEOUT_MS, what: 'the changes made while down' });
  });

  test('the same agent moved to version 2 resumes from what version 1 committed', async () => {
    system.overrideAgentConfig({ clouddriver: { protocolVersion: 2 } });
    await system.restartAgent(() => createConfigMaps('v2-down'));
    await converged();
    assert.equal((await hubSession()).protocolVersion, 2);
    await waitFor(async () => (await changesSent()) === CHANGES || undefined, { timeoutMs: CONVERGENCE_TIMEOUT_MS, what: 'the changes made while down' });

    await createConfigMaps('v2-live');
    await converged();
    assert.equal(await changesSent(), 2 * CHANGES);
    const hub = await agentHub();
    assert.equal(hub.protocolVersion, 2);
    // Every account's channel rode the one SharedSync stream: opens and batches of both accounts.
    assert.ok((hub.sharedSync?.requests ?? 0) >= system.names.length * 2, JSON.stringify(hub));
  });
});
