// A cluster rebuilt under the same account name, with real processes: the new cluster's agent is refused
// the name (ACCOUNT_OWNED_BY_OTHER_CLUSTER) while the old registration exists; the release is refused
// while the old agent serves the account; once it stopped, the operator's release lets the new agent
// register the name by itself (after its refusal backoff), and the hub then serves the new cluster.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Errors } from '../../src/common/errors.ts';
import { waitFor } from '../../src/common/time.ts';
import { ReplicaSystem } from '../support/replica-system.ts';
import { simRequest, START_TIMEOUT_MS } from '../support/system.ts';

const ACCOUNT = 'prod';
/** The new agent declares the name again after its refusal backoff (5 s, doubling): a few rounds of it. */
const REGISTER_TIMEOUT_MS = 90_000;

describe('releasing the name of a rebuilt cluster', { timeout: 300_000 }, () => {
  let dbDir: string;
  let system: ReplicaSystem;

  before(async () => {
    dbDir = mkdtempSync(join(tmpdir(), 'scale-agent-release-'));
    system = new ReplicaSystem({ database: `sqlite:${join(dbDir, 'hub.db')}`, clusters: ['old-cluster', 'new-cluster'] });
    await system.startSim();
    await system.startHub('hub-a');
  });

  after(async () => {
    await system?.stop();
    rmSync(dbDir, { recursive: true, force: true });
  });

  /** Starts an agent declaring ACCOUNT for sim cluster `cluster`; waits until it started. */
  function startAgent(name: string, cluster: string): Promise<void> {
    return system.startAgent(name, 'hub-a', [{ name: ACCOUNT, cluster }]);
  }

  /** The account's agent as the hub's /credentials shows it. */
  async function agentOf(): Promise<{ id?: string; status?: string } | undefined> {
    const accounts = (await system.rest('hub-a', '/credentials')).body as Array<{ name: string; agent?: { id?: string; status?: string } }>;
    return accounts.find((a) => a.name === ACCOUNT)?.agent;
  }

  async function status(): Promise<string | undefined> {
    return (await agentOf())?.status;
  }

  test('the new cluster’s agent registers the name once the old one is gone and the name released', async () => {
    await startAgent('agent-old', 'old-cluster');
    await waitFor(async () => (await status()) === 'connected', { timeoutMs: START_TIMEOUT_MS, what: 'the old cluster to register the name' });

    await startAgent('agent-new', 'new-cluster');
    await waitFor(
      () => system.logs('hub-a').find((l) => l.agentId === 'agent-new' && l.account === ACCOUNT && l.code === Errors.ACCOUNT_OWNED_BY_OTHER_CLUSTER.code),
      { timeoutMs: START_TIMEOUT_MS, what: 'the new agent to be refused the name' },
    );

    const inUse = await system.rest('hub-a', `/admin/accounts/${ACCOUNT}/release`, { method: 'POST' });
    assert.equal(inUse.status, 409, JSON.stringify(inUse.body));
    assert.equal(inUse.body.code, Errors.ACCOUNT_IN_USE.code);
    assert.equal(inUse.body.servedBy[0].agentId, 'agent-old');

    await system.stopAgent('agent-old');
    await waitFor(async () => (await status()) === 'disconnected', { timeoutMs: START_TIMEOUT_MS, what: 'the old agent to be gone' });
    const released = await system.rest('hub-a', `/admin/accounts/${ACCOUNT}/release`, { method: 'POST' });
    assert.equal(released.status, 200, JSON.stringify(released.body));
    assert.match(released.body.registration.cluster.apiServerHost, /old-cluster/);
    assert.ok(released.body.cachedObjects > 0, 'the old cluster’s cache went with it');

    await waitFor(
      async () => {
        const agent = await agentOf();
        return agent?.id === 'agent-new' && agent.status === 'connected';
      },
      { timeoutMs: REGISTER_TIMEOUT_MS, what: 'the new agent to register the name' },
    );
    const sim = system.sim('new-cluster');
    const marker = await simRequest(sim, 'POST', '/api/v1/namespaces/default/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'rebuilt-marker' },
    });
    assert.equal(marker.status, 201, JSON.stringify(marker.body));
    await waitFor(async () => (await system.rest('hub-a', `/manifests/${ACCOUNT}/default/configMap%20rebuilt-marker`)).status === 200, {
      timeoutMs: START_TIMEOUT_MS,
      what: 'the hub to serve the new cluster under the name',
    });
    assert.equal(await status(), 'connected');
  });
});
