import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../src/common/time.ts';
import { assertConverged, CORE_KINDS } from '../support/convergence.ts';
import { TestSystem, simRequest } from '../support/system.ts';
import { metricSum } from '../support/prometheus-text.ts';

/** Sample applications per cluster: a few hundred objects each, so a full resend would be obvious. */
const SAMPLE_APPS = '25';
/** ConfigMaps created while the agent is down: the only changes it may send after its restart. */
const CHANGED_WHILE_DOWN = 12;
const CONVERGENCE_TIMEOUT_MS = 30_000;

describe('resume after restarts', { timeout: 240_000 }, () => {
  let system: TestSystem;

  before(async () => {
    system = await new TestSystem({ clusters: 2, simArgs: ['--sample-apps', SAMPLE_APPS] }).start();
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
    assert.equal(metrics.status, 200);
    return metricSum(metrics.body as string, 'scale_agent_changes_sent_total');
  }

  /**
   * Waits until the agent has nothing queued and no batch awaiting its acknowledgement (the hub commits a
   * batch, which convergence sees, a moment before the agent counts its acknowledgement), and returns
   * how many objects it tracks.
   */
  async function idleKnownObjects(): Promise<number> {
    return waitFor(
      async () => {
        const watches = (await system.agentAdmin('/watches')).body as Array<{ pending: number; known: number; reflector: { state: string } }>;
        if (watches.length === 0 || watches.some((w) => w.pending > 0 || w.reflector.state !== 'watching')) return 0;
        const accounts = (await system.agentAdmin('/accounts')).body as Array<{ syncStream: { unackedBatches: number } | null }>;
        if (accounts.some((a) => (a.syncStream?.unackedBatches ?? 0) > 0)) return 0;
        return watches.reduce((n, w) => n + w.known, 0);
      },
      { timeoutMs: CONVERGENCE_TIMEOUT_MS, what: 'the agent to be idle' },
    );
  }

  test('an agent restart re-sends only what changed while it was down', async () => {
    await converged();
    const known = await idleKnownObjects();
    await system.restartAgent(async () => {
      const sim = system.sim(system.names[0]!);
      for (let i = 0; i < CHANGED_WHILE_DOWN; i++) {
        const created = await simRequest(sim, 'POST', '/api/v1/namespaces/default/configmaps', {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `while-down-${i}` },
          data: { i: String(i) },
        });
        assert.equal(created.status, 201, JSON.stringify(created.body));
      }
    });
    await converged();
    await idleKnownObjects();
    const sent = await changesSent();
    assert.ok(known > 20 * CHANGED_WHILE_DOWN, `the clusters hold enough objects for a full resend to show (${known})`);
    assert.equal(sent, CHANGED_WHILE_DOWN, `the restarted agent sent ${sent} changes for ${CHANGED_WHILE_DOWN} changed objects out of ${known}`);
  });

  test('after a hub restart the agent re-sends nothing the hub had committed', async () => {
    const before = await changesSent();
    await system.restartHub();
    await system.waitForAccounts();
    // One change after the restart proves the new session streams; it must be the only thing sent.
    const created = await simRequest(system.sim(system.names[1]!), 'POST', '/api/v1/namespaces/default/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'after-hub-restart' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await converged();
    await idleKnownObjects();
    assert.equal(await changesSent(), before + 1);
  });
});
