import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../src/common/time.ts';
import { assertConverged, CORE_KINDS } from '../support/convergence.ts';
import { TestSystem, simRequest } from '../support/system.ts';

/** How long after the churn stops the hub must match the sim. */
const CONVERGENCE_TIMEOUT_MS = 30_000;
/** Changes per churn tick and the tick interval: about 20 changes/s. */
const CHURN_INTERVAL_MS = 50;
/**
 * Churn rounds before each restart and after the last one (counted, not timed, so a loaded machine gets
 * as much churn in each phase as an idle one): every 20th round scales the Deployment, once per phase.
 */
const CHURN_ROUNDS_PER_PHASE = 20;
const PHASE_TIMEOUT_MS = 60_000;

describe('restarts during churn', { timeout: 300_000 }, () => {
  let system: TestSystem;
  let churning = false;
  let churn: Promise<void> | undefined;
  /** Churn rounds completed (each changes every cluster). */
  let rounds = 0;

  before(async () => {
    system = await new TestSystem({ clusters: 2 }).start();
  });

  after(async () => {
    churning = false;
    await churn;
    await system?.stop();
  });

  function startChurn(): void {
    churning = true;
    let n = 0;
    churn = (async () => {
      while (churning) {
        for (const name of system.names) {
          const sim = system.sim(name);
          const i = n % 30;
          // Create, update and delete ConfigMaps, and scale a Deployment now and then.
          if (n % 3 === 0)
            await simRequest(sim, 'POST', '/api/v1/namespaces/default/configmaps', {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name: `churn-${i}` },
              data: { n: String(n) },
            });
          else if (n % 3 === 1)
            await simRequest(sim, 'PATCH', `/api/v1/namespaces/default/configmaps/churn-${i}`, { data: { n: String(n) } }, 'application/merge-patch+json');
          else await simRequest(sim, 'DELETE', `/api/v1/namespaces/default/configmaps/churn-${(i + 15) % 30}`);
          if (n % 20 === 0)
            await simRequest(
              sim,
              'PATCH',
              '/apis/apps/v1/namespaces/default/deployments/churn-web',
              { spec: { replicas: 1 + (n % 3) } },
              'application/merge-patch+json',
            );
        }
        n++;
        rounds = n;
        // Paces the churn at its intended rate; the test waits on rounds, never on this.
        await new Promise((resolve) => setTimeout(resolve, CHURN_INTERVAL_MS));
      }
    })();
  }

  /** Lets the churn run `count` more rounds. */
  async function churnRounds(count: number): Promise<void> {
    const target = rounds + count;
    await waitFor(() => rounds >= target, { timeoutMs: PHASE_TIMEOUT_MS, intervalMs: CHURN_INTERVAL_MS, what: `${count} churn rounds` });
  }

  async function assertAllConverged(): Promise<void> {
    for (const name of system.names) {
      await assertConverged({ sim: system.sim(name), dbPath: system.dbPath, account: name, kinds: CORE_KINDS, timeoutMs: CONVERGENCE_TIMEOUT_MS });
    }
  }

  test('the hub cache equals the sim object by object after a hub restart and an agent restart during churn', async () => {
    for (const name of system.names) {
      const created = await simRequest(system.sim(name), 'POST', '/apis/apps/v1/namespaces/default/deployments', {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'churn-web' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'churn-web' } },
          template: { metadata: { labels: { app: 'churn-web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
        },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }
    startChurn();
    await churnRounds(CHURN_ROUNDS_PER_PHASE);
    await system.restartHub();
    await system.waitForAccounts();
    await churnRounds(CHURN_ROUNDS_PER_PHASE);
    await system.restartAgent();
    await churnRounds(CHURN_ROUNDS_PER_PHASE);
    churning = false;
    await churn;
    await assertAllConverged();
  });
});
