import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertConverged, CORE_KINDS } from '../support/convergence.ts';
import { TestSystem, simRequest } from '../support/system.ts';

/** How long after the churn stops the hub must match the sim. */
const CONVERGENCE_TIMEOUT_MS = 30_000;
/** Changes per churn tick and the tick interval: about 20 changes/s. */
const CHURN_INTERVAL_MS = 50;

describe('restarts during churn', { timeout: 300_000 }, () => {
  let system: TestSystem;
  let churning = false;
  let churn: Promise<void> | undefined;

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
          if (n % 3 === 0) await simRequest(sim, 'POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `churn-${i}` }, data: { n: String(n) } });
          else if (n % 3 === 1) await simRequest(sim, 'PATCH', `/api/v1/namespaces/default/configmaps/churn-${i}`, { data: { n: String(n) } }, 'application/merge-patch+json');
          else await simRequest(sim, 'DELETE', `/api/v1/namespaces/default/configmaps/churn-${(i + 15) % 30}`);
          if (n % 20 === 0) await simRequest(sim, 'PATCH', '/apis/apps/v1/namespaces/default/deployments/churn-web', { spec: { replicas: 1 + (n % 3) } }, 'application/merge-patch+json');
        }
        n++;
        await new Promise((resolve) => setTimeout(resolve, CHURN_INTERVAL_MS));
      }
    })();
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
        spec: { replicas: 1, selector: { matchLabels: { app: 'churn-web' } }, template: { metadata: { labels: { app: 'churn-web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }
    startChurn();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await system.restartHub();
    await system.waitForAccounts();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await system.restartAgent();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    churning = false;
    await churn;
    await assertAllConverged();
  });
});
