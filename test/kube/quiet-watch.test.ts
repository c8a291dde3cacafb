// A quiet cluster under the real API server's watch rules, for an hour of simulated time: the sim sends a
// bookmark only when a kind's watch cache has progressed (here: never, but for etcd's progress
// notifications every 10 minutes) and ends each watch at its timeoutSeconds (5-10 minutes, the
// reflector's defaults). The agent's health must stay UP and the feed fresh throughout, with one list and
// nothing but clean watch renewals. Timers and Date are mocked (node:test MockTimers) and advanced a
// second at a time; the HTTP traffic between the reflector and the in-process sim is real.
import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { freshnessSeconds, stuckReason } from '../../src/agent/admin/watch-health.ts';
import type { KubeObject } from '../../src/common/kube-object.ts';
import { resolveKind } from '../../src/kube/api-resource.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { discoverResources } from '../../src/kube/discovery.ts';
import { loadKubeconfig } from '../../src/kube/kubeconfig.ts';
import { DEFAULT_STALL_TIMEOUT_MS } from '../../src/kube/reflector-defaults.ts';
import { Reflector } from '../../src/kube/reflector.ts';
import type { ReflectorSink } from '../../src/kube/reflector-sink.ts';
import { startSim, type SimServer } from '../../src/sim/index.ts';

const SIMULATED_MS = 60 * 60 * 1000;
const STEP_MS = 1000;
/** The agent's default health bound (`health.reflectorStuckSeconds`). */
const STUCK_MS = 300 * 1000;
/** Event-loop turns after each tick, so the real I/O a tick sets off (a watch ending, the next one) completes. */
const TURNS_PER_STEP = 20;

class CountingSink implements ReflectorSink {
  snapshots = 0;
  events = 0;
  onSnapshotBegin(): void {
    this.snapshots++;
  }
  onSnapshotObject(_obj: KubeObject): void {}
  onSnapshotEnd(): void {}
  onEvent(): void {
    this.events++;
  }
  onProgress(): void {}
}

describe("a quiet cluster under the real API server's watch rules", () => {
  let sim: SimServer;
  let client: KubeClient;

  before(async () => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: Date.now() });
    sim = await startSim({ clusters: ['quiet'], tls: false });
    client = new KubeClient(await loadKubeconfig({ contents: sim.kubeconfig('quiet') }));
  });

  after(async () => {
    await client?.close();
    await sim?.close();
    mock.timers.reset();
  });

  it('stays healthy and fresh for an hour with nothing happening', async () => {
    const discovery = await discoverResources(client);
    const resource = resolveKind(discovery.resources, { group: '', kind: 'ConfigMap' });
    const sink = new CountingSink();
    const reflector = new Reflector({ client, resource, namespace: '', sink });
    reflector.start();
    try {
      let worstFreshness = 0;
      for (let elapsed = 0; elapsed < SIMULATED_MS; elapsed += STEP_MS) {
        mock.timers.tick(STEP_MS);
        for (let i = 0; i < TURNS_PER_STEP; i++) await nextTurn();
        const status = reflector.status();
        const now = Date.now();
        const stuck = stuckReason(status, now, { stuckMs: STUCK_MS, stallTimeoutMs: DEFAULT_STALL_TIMEOUT_MS });
        assert.equal(stuck, undefined, `stuck after ${elapsed / 1000} s: ${stuck} (${JSON.stringify(status)})`);
        worstFreshness = Math.max(worstFreshness, freshnessSeconds(status, now) ?? 0);
      }
      const status = reflector.status();
      assert.equal(status.state, 'watching');
      assert.equal(status.errors, 0, JSON.stringify(status.lastError));
      assert.equal(sink.snapshots, 1, 'one initial list, no relist');
      // Watches last 5-10 minutes each: an hour takes 6 to 12 of them (plus the first).
      assert.ok(status.watchRestarts >= 5 && status.watchRestarts <= 12, `watch renewals: ${status.watchRestarts}`);
      // Between a watch's end and the next one being accepted only a moment passes.
      assert.ok(worstFreshness <= (2 * STEP_MS) / 1000, `worst freshness ${worstFreshness} s`);
    } finally {
      await reflector.stop();
    }
  });
});
