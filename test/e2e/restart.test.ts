import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { waitFor } from '../../src/common/time.ts';
import { TestSystem, simRequest, type SimAccess } from '../support/system.ts';

/** Kinds compared object by object between the sim and the hub's database. */
const COMPARED = [
  { group: '', kind: 'ConfigMap', path: '/api/v1/configmaps' },
  { group: '', kind: 'Namespace', path: '/api/v1/namespaces' },
  { group: 'apps', kind: 'Deployment', path: '/apis/apps/v1/deployments' },
  { group: 'apps', kind: 'ReplicaSet', path: '/apis/apps/v1/replicasets' },
  { group: '', kind: 'Pod', path: '/api/v1/pods' },
];
/** How long after the churn stops the hub must match the sim. */
const CONVERGENCE_TIMEOUT_MS = 30_000;
/** Changes per churn tick and the tick interval: about 20 changes/s. */
const CHURN_INTERVAL_MS = 50;

async function simState(sim: SimAccess): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const kind of COMPARED) {
    const list = await simRequest(sim, 'GET', kind.path);
    assert.equal(list.status, 200, `list ${kind.path}: ${JSON.stringify(list.body)}`);
    for (const item of list.body.items) out.set(`${kind.group}/${kind.kind}/${item.metadata.namespace ?? ''}/${item.metadata.name}`, item.metadata.resourceVersion);
  }
  return out;
}

function hubState(dbPath: string, account: string): Map<string, string> {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT * FROM objects WHERE account = ?').all(account) as Array<Record<string, string>>;
    const out = new Map<string, string>();
    const kinds = new Set(COMPARED.map((k) => `${k.group}/${k.kind}`));
    for (const row of rows) {
      const group = row.api_group;
      if (!kinds.has(`${group}/${row.kind}`)) continue;
      out.set(`${group}/${row.kind}/${row.namespace}/${row.name}`, row.resource_version);
    }
    return out;
  } finally {
    db.close();
  }
}

function difference(expected: Map<string, string>, actual: Map<string, string>): string[] {
  const problems: string[] = [];
  for (const [key, rv] of expected) if (actual.get(key) !== rv) problems.push(`${key}: sim ${rv}, hub ${actual.get(key) ?? 'missing'}`);
  for (const key of actual.keys()) if (!expected.has(key)) problems.push(`${key}: stale at the hub`);
  return problems;
}

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

  async function assertConverged(): Promise<void> {
    for (const name of system.names) {
      const sim = system.sim(name);
      let problems: string[] = [];
      await waitFor(
        async () => {
          const expected = await simState(sim);
          assert.ok(expected.size > 0, 'the sim has objects to compare');
          problems = difference(expected, hubState(system.dbPath, name));
          return problems.length === 0;
        },
        { timeoutMs: CONVERGENCE_TIMEOUT_MS, what: `the hub's cache of ${name} to equal the sim` },
      ).catch((err) => {
        throw new Error(`${(err as Error).message}; differences: ${problems.slice(0, 10).join('; ')} (${problems.length} in all)`);
      });
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
    await assertConverged();
  });
});
