import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { waitFor } from '../../src/common/time.ts';
import { hubState } from '../support/convergence.ts';
import { runOp } from '../support/operations.ts';
import { TestSystem, simRequest } from '../support/system.ts';

/**
 * Bound on how long a CRD's kind takes to reach the hub: the definition watch's debounce (1 s), a
 * rediscovery, an initial list and a batch — generous for two shared cores.
 */
const PROPAGATION_TIMEOUT_MS = 30_000;
const ACCOUNT = 'cluster-1';
const WIDGETS = [{ group: 'example.com', kind: 'Widget', path: '/apis/example.com/v1/widgets', optional: true }];

const definition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    scope: 'Namespaced',
    names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
};

function hubFeeds(dbPath: string): string[] {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT api_group, kind FROM feeds WHERE account = ?').all(ACCOUNT) as Array<{ api_group: string; kind: string }>).map(
      (r) => `${r.api_group}/${r.kind}`,
    );
  } finally {
    db.close();
  }
}

describe('discovery follows the cluster: a CRD created or deleted at runtime', { timeout: 180_000 }, () => {
  let system: TestSystem;

  before(async () => {
    system = await new TestSystem({ clusters: 1 }).start();
  });

  after(async () => {
    await system?.stop();
  });

  test('a custom object of a new CRD reaches the hub; deleting the CRD removes its objects and its feed', async () => {
    const sim = system.sim(ACCOUNT);
    const created = await simRequest(sim, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', definition);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const widget = await simRequest(sim, 'POST', '/apis/example.com/v1/namespaces/default/widgets', {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w1' },
      spec: { size: 3 },
    });
    assert.equal(widget.status, 201, JSON.stringify(widget.body));

    const path = `/manifests/${ACCOUNT}/default/Widget.example.com%20w1`;
    const seen = await waitFor(
      async () => {
        const r = await system.rest(path);
        return r.status === 200 && r.body.manifest?.spec?.size === 3 ? r.body : undefined;
      },
      { timeoutMs: PROPAGATION_TIMEOUT_MS, what: 'the Widget at /manifests' },
    );
    assert.equal(seen.account, ACCOUNT);
    const watches = (await system.agentAdmin('/watches')).body as Array<{ kind: string; state: string; freshnessSeconds: number | null }>;
    const widgetWatch = watches.find((w) => w.kind === 'Widget');
    assert.equal(widgetWatch?.state, 'watching');
    assert.equal(typeof widgetWatch?.freshnessSeconds, 'number');

    const deleted = await simRequest(sim, 'DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com');
    assert.ok(deleted.status === 200 || deleted.status === 202, JSON.stringify(deleted.body));
    await waitFor(() => hubState(system.dbPath, ACCOUNT, WIDGETS).size === 0 && !hubFeeds(system.dbPath).includes('example.com/Widget'), {
      timeoutMs: PROPAGATION_TIMEOUT_MS,
      what: 'the Widgets and their feed to leave the hub',
    });
    await waitFor(async () => !((await system.agentAdmin('/watches')).body as Array<{ kind: string }>).some((w) => w.kind === 'Widget'), {
      timeoutMs: PROPAGATION_TIMEOUT_MS,
      what: 'the agent to stop watching Widgets',
    });
    const health = await system.agentAdmin('/health');
    assert.equal(health.status, 200, JSON.stringify(health.body));
    const [account] = (await system.agentAdmin('/accounts')).body as Array<{
      forbiddenKinds: unknown[];
      discovery: { changes: number; definitionWatch: { state: string } | null };
    }>;
    assert.deepEqual(account!.forbiddenKinds, [], 'a kind that is gone is dropped, not left refused');
    assert.ok(account!.discovery.changes >= 2);
    assert.equal(account!.discovery.definitionWatch?.state, 'watching');
  });

  test('a deployManifest carrying a CRD and an object of its new kind succeeds on the first try', async () => {
    const gadgets = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'gadgets.example.org' },
      spec: {
        group: 'example.org',
        scope: 'Namespaced',
        names: { kind: 'Gadget', plural: 'gadgets', singular: 'gadget' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    };
    const gadget = { apiVersion: 'example.org/v1', kind: 'Gadget', metadata: { name: 'g1', namespace: 'default' }, spec: { size: 2 } };
    // The agent learns of the new kind only through its definition watch (debounced by a second) or the
    // periodic rediscovery: without rediscovering on the unknown kind, the Gadget would fail here.
    const task = await runOp(system, 'deployManifest', {
      cloudProvider: 'kubernetes',
      account: ACCOUNT,
      source: 'text',
      manifests: [gadgets, gadget],
      moniker: { app: 'gadgets' },
    });
    assert.deepEqual(task.resultObjects[0].manifestNamesByNamespace, {
      '': ['customResourceDefinition gadgets.example.org'],
      default: ['Gadget.example.org g1'],
    });
    const created = await simRequest(system.sim(ACCOUNT), 'GET', '/apis/example.org/v1/namespaces/default/gadgets/g1');
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.equal(created.body.spec.size, 2);
  });
});
