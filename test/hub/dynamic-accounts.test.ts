// Dynamic account definitions reach agents over their Session: a session that takes them (its hello
// says dynamic_accounts) gets its complete set right after its welcome, and a new set at every change
// made through the REST API — at its own replica, or at another replica on the same database. Zones
// pin a definition to some agents; an agent that does not take definitions is sent none. A deleted
// definition is withdrawn, and once its agent stopped the account the row and cache go at once.
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/common/config.ts';
import { silentLogger } from '../../src/common/logger.ts';
import { waitFor } from '../../src/common/time.ts';
import { hubConfigSchema } from '../../src/hub/config.ts';
import { startHub, type RunningHub } from '../../src/hub/hub.ts';
import { forEachEngine } from '../support/databases.ts';
import { DefinitionAgent } from '../support/definition-agent.ts';

const WAIT = { timeoutMs: 10_000 };
/** Short, so that another replica's write shows quickly; the default is 1 s. */
const POLL_MS = 100;

type Json = any;

function hubConfig(database: string, id: string) {
  return parseConfig(
    hubConfigSchema,
    {
      hub: { id },
      server: { host: '127.0.0.1', port: 0 },
      grpc: { host: '127.0.0.1', port: 0, insecure: true, allowAnyIdentity: true },
      database: { url: database },
      accounts: { definitionPollIntervalMs: POLL_MS },
    },
    'test',
  );
}

async function rest(hub: RunningHub, method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${hub.restUrl}${path}`, {
    method,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

describe('dynamic account definitions are pushed to the agents that serve them', () => {
  let hub: RunningHub;
  const agents: DefinitionAgent[] = [];
  const agent = (options: ConstructorParameters<typeof DefinitionAgent>[1]) => {
    const a = new DefinitionAgent(hub.grpcAddress, options);
    agents.push(a);
    return a;
  };

  beforeEach(async () => {
    hub = await startHub(hubConfig('sqlite::memory:', 'hub-a'), silentLogger());
  });

  afterEach(async () => {
    for (const a of agents.splice(0)) a.close();
    await hub.close();
  });

  test('after its welcome a session gets its set; every change sends the new set to the agents concerned, by zone', async () => {
    const eu = agent({ agentId: 'agent-eu', zoneId: 'eu' });
    const us = agent({ agentId: 'agent-us', zoneId: 'us' });
    const old = agent({ agentId: 'agent-old', dynamicAccounts: false });
    await eu.waitForNames([], 'an empty set at start');
    assert.equal(eu.received[0]?.kind.case, 'welcome', 'the welcome comes first');
    await us.waitForNames([]);

    assert.equal((await rest(hub, 'POST', '/admin/accounts', { name: 'eu-only', zoneId: 'eu', serviceAccount: true })).status, 201);
    const [euOnly] = await eu.waitForNames(['eu-only']);
    assert.deepEqual(euOnly?.definition, { name: 'eu-only', serviceAccount: true });
    assert.equal((await rest(hub, 'POST', '/admin/accounts', { name: 'everywhere', kubeconfigFile: '/kube/everywhere' })).status, 201);
    await eu.waitForNames(['eu-only', 'everywhere']);
    await us.waitForNames(['everywhere']);
    assert.deepEqual(
      us.sets().map((s) => s.map((d) => d.name)),
      [[], ['everywhere']],
      'the zone-pinned definition never went to the other zone',
    );

    // An update restarts the account (a new revision); a deactivation withdraws it.
    const before = eu
      .sets()
      .at(-1)!
      .find((d) => d.name === 'eu-only')!.revision;
    assert.equal((await rest(hub, 'PUT', '/admin/accounts/eu-only', { serviceAccount: true, namespaces: ['web'] })).status, 200);
    await waitFor(
      () =>
        eu
          .sets()
          .at(-1)
          ?.find((d) => d.name === 'eu-only' && d.revision !== before),
      { ...WAIT, what: 'the new revision' },
    );
    assert.equal((await rest(hub, 'PUT', '/admin/accounts/eu-only', { serviceAccount: true, namespaces: ['web'], state: 'INACTIVE' })).status, 200);
    await eu.waitForNames(['everywhere']);

    await old.roundTrip();
    assert.deepEqual(old.sets(), [], 'an agent that does not take definitions is sent none');
    assert.equal(old.received[0]?.kind.case, 'welcome');

    // A new session of the same agent (a restart) gets the current set with its welcome.
    const restarted = agent({ agentId: 'agent-eu', zoneId: 'eu' });
    await restarted.waitForNames(['everywhere']);
  });

  test('a deleted definition is withdrawn; once its agent stopped the account, the row and its cache go at once (no grace period)', async () => {
    const a = agent({ agentId: 'agent-1' });
    await a.waitForNames([]);
    assert.equal((await rest(hub, 'POST', '/admin/accounts', { name: 'dyn', serviceAccount: true })).status, 201);
    await a.waitForNames(['dyn']);
    a.register('dyn');
    await waitFor(async () => (await rest(hub, 'GET', '/admin/accounts/dyn')).body.status === 'ACTIVE', { ...WAIT, what: 'ACTIVE once registered' });
    assert.equal((await rest(hub, 'GET', '/credentials/dyn')).body.status, 'ACTIVE');

    const deleted = await rest(hub, 'DELETE', '/admin/accounts/dyn');
    assert.equal(deleted.status, 202);
    assert.equal(deleted.body.status, 'DELETING');
    await a.waitForNames([], 'the definition withdrawn');
    assert.ok(await hub.store.getAccount('dyn'), 'still registered while its agent serves it');

    a.remove('dyn');
    await waitFor(async () => (await hub.store.getDefinition('dyn')) === undefined && (await hub.store.getAccount('dyn')) === undefined, {
      ...WAIT,
      what: 'the definition and the account row removed',
    });
    assert.equal((await rest(hub, 'GET', '/admin/accounts/dyn')).status, 404);
  });
});

forEachEngine(
  'a definition written at one hub replica reaches the agents of another',
  (engine) => {
    const hubs: RunningHub[] = [];
    let database: string;

    before(async () => {
      // Created (and migrated by the first hub) once; the two replicas share it.
      await engine.openStore().then((s) => s.close());
      database = engine.url;
    });

    after(async () => {
      for (const hub of hubs.splice(0)) await hub.close();
    });

    test('an agent of replica B gets the definition written at replica A within the poll interval', async () => {
      const a = await startHub(hubConfig(database, 'hub-a'), silentLogger());
      hubs.push(a);
      const b = await startHub(hubConfig(database, 'hub-b'), silentLogger());
      hubs.push(b);
      const atB = new DefinitionAgent(b.grpcAddress, { agentId: 'agent-b' });
      try {
        await atB.waitForNames([]);
        assert.equal((await rest(a, 'POST', '/admin/accounts', { name: 'shared', serviceAccount: true })).status, 201);
        await atB.waitForNames(['shared']);
        assert.equal((await rest(a, 'DELETE', '/admin/accounts/shared')).status, 204);
        await atB.waitForNames([]);
      } finally {
        atB.close();
      }
    });
  },
  ['postgres', 'mysql'],
);
