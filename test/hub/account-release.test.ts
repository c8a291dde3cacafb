// POST /admin/accounts/{name}/release on a real hub (each SQL engine), agents speaking the protocol
// over gRPC: the name of a rebuilt cluster's account is refused to the new cluster's agent until an
// operator releases it; the release is refused while a session serves the account unless forced
// (the serving agent is then told ACCOUNT_RELEASED), removes the registration and cache, releases the
// caching assignment keeping its epoch, and the other cluster's agent registers the name next.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { credentials, type Client, type ClientDuplexStream } from '@grpc/grpc-js';
import { parseConfig } from '../../src/common/config.ts';
import { silentLogger } from '../../src/common/logger.ts';
import { waitFor } from '../../src/common/time.ts';
import { hubConfigSchema } from '../../src/hub/config.ts';
import { startHub, type RunningHub } from '../../src/hub/hub.ts';
import { DEPLOYMENTS, upsert } from '../../src/hub/store/testing/fixtures.ts';
import { AgentHubClient, AgentMessageSchema, PROTOCOL_VERSION, type AccountAcceptance, type AgentMessage, type HubMessage } from '../../src/protocol/index.ts';
import { forEachEngine } from '../support/databases.ts';

type HubClient = Client & { Session(): ClientDuplexStream<AgentMessage, HubMessage> };

const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
const USER_TOKEN = 'user-token-0123456789abcdef0';
const MESSAGE_TIMEOUT_MS = 10_000;
const CACHED_OBJECTS = 3;

function declaration(account: string, cluster: string) {
  return {
    name: account,
    cluster: { apiServerHost: `https://${cluster}:6443`, caFingerprint: `sha256:${cluster}`, kubeSystemUid: `uid-${cluster}` },
    kubernetesVersion: 'v1.31.0',
  };
}

/** An agent as the hub sees it: one Session stream, every message the hub sent kept in order. */
class ScriptedAgent {
  readonly received: HubMessage[] = [];
  private readonly call: ClientDuplexStream<AgentMessage, HubMessage>;

  constructor(
    client: HubClient,
    readonly agentId: string,
  ) {
    this.call = client.Session();
    this.call.on('error', () => undefined);
    this.call.on('data', (message: HubMessage) => this.received.push(message));
  }

  /** Says hello declaring `account` for `cluster`; resolves with the welcome's acceptance of it. */
  async hello(account: string, cluster: string): Promise<AccountAcceptance> {
    this.call.write(
      create(AgentMessageSchema, {
        kind: {
          case: 'hello',
          value: { agentId: this.agentId, agentVersion: 'test', protocolVersion: PROTOCOL_VERSION, accounts: [declaration(account, cluster)] },
        },
      }),
    );
    return this.acceptance('welcome', account);
  }

  /** Declares the account again on the open session (as the agent does after a refusal's backoff). */
  async declareAgain(account: string, cluster: string): Promise<AccountAcceptance> {
    this.call.write(create(AgentMessageSchema, { kind: { case: 'accountUpdate', value: { upserted: [declaration(account, cluster)], removed: [] } } }));
    return this.acceptance('accountUpdateReply', account, this.received.length);
  }

  /** The next acceptance of `account` in a message of kind `kind` from message `from` on. */
  async acceptance(kind: 'welcome' | 'accountUpdateReply', account: string, from = 0): Promise<AccountAcceptance> {
    return waitFor(
      () => {
        for (const message of this.received.slice(from)) {
          if (message.kind.case !== kind) continue;
          const found = message.kind.value.accounts.find((a) => a.account === account);
          if (found) return found;
        }
        return undefined;
      },
      { timeoutMs: MESSAGE_TIMEOUT_MS, what: `a ${kind} about ${account} for ${this.agentId}` },
    );
  }

  end(): void {
    this.call.end();
  }

  cancel(): void {
    this.call.cancel();
  }
}

forEachEngine('releasing an account name', (engine) => {
  let hub: RunningHub;
  let client: HubClient;
  const agents: ScriptedAgent[] = [];

  before(async () => {
    const config = parseConfig(
      hubConfigSchema,
      {
        hub: { id: 'hub-release' },
        server: { host: '127.0.0.1', port: 0 },
        grpc: { host: '127.0.0.1', port: 0, insecure: true, allowAnyIdentity: true },
        database: { url: engine.url },
        auth: {
          enabled: true,
          adminRoles: ['admins'],
          tokens: [
            { token: ADMIN_TOKEN, user: 'root', roles: ['admins'] },
            { token: USER_TOKEN, user: 'dev', roles: ['dev'] },
          ],
        },
      },
      'test',
    );
    hub = await startHub(config, silentLogger());
    client = new AgentHubClient(hub.grpcAddress, credentials.createInsecure()) as unknown as HubClient;
  });

  after(async () => {
    for (const agent of agents) agent.cancel();
    client?.close();
    await hub?.close();
  });

  function agent(agentId: string): ScriptedAgent {
    const scripted = new ScriptedAgent(client, agentId);
    agents.push(scripted);
    return scripted;
  }

  async function release(name: string, query = '', token = ADMIN_TOKEN): Promise<{ status: number; body: any }> {
    const response = await fetch(`${hub.restUrl}/admin/accounts/${encodeURIComponent(name)}/release${query}`, {
      method: 'POST',
      headers: token === '' ? {} : { authorization: `Bearer ${token}` },
    });
    return { status: response.status, body: await response.json() };
  }

  async function cache(account: string): Promise<void> {
    const changes = Array.from({ length: CACHED_OBJECTS }, (_, i) => upsert(DEPLOYMENTS, 'web', `web-${i}`));
    await hub.store.applyBatch({ account, changes, progress: [] }, Date.now());
    assert.equal(await hub.store.countObjects(account), CACHED_OBJECTS);
  }

  test('an unknown name is 404 ACCOUNT_NOT_FOUND; only the admin role may release', async () => {
    const unknown = await release('never-registered');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'ACCOUNT_NOT_FOUND');
    assert.equal((await release('never-registered', '', USER_TOKEN)).body.code, 'ACCESS_DENIED');
    assert.equal((await release('never-registered', '', '')).status, 401);
  });

  test('a served account is 409 ACCOUNT_IN_USE; force tells its agent ACCOUNT_RELEASED, and the new cluster’s agent registers the name', async () => {
    const old = agent('agent-old-cluster');
    assert.equal((await old.hello('prod', 'cluster-a')).caching, true);
    await cache('prod');
    const rebuilt = agent('agent-new-cluster');
    assert.equal((await rebuilt.hello('prod', 'cluster-b')).refusalCode, 'ACCOUNT_OWNED_BY_OTHER_CLUSTER');

    const refused = await release('prod');
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'ACCOUNT_IN_USE');
    assert.match(refused.body.message, /\?force=true/);
    assert.deepEqual(
      refused.body.servedBy.map((s: { hubId: string; agentId: string }) => [s.hubId, s.agentId]),
      [['hub-release', 'agent-old-cluster']],
    );
    assert.equal(await hub.store.countObjects('prod'), CACHED_OBJECTS, 'a refused release removes nothing');

    const from = old.received.length;
    const forced = await release('prod', '?force=true');
    assert.equal(forced.status, 200, JSON.stringify(forced.body));
    assert.equal(forced.body.account, 'prod');
    assert.equal(forced.body.registration.cluster.apiServerHost, 'https://cluster-a:6443');
    assert.equal(forced.body.registration.status, 'connected');
    assert.equal(forced.body.registration.agentId, 'agent-old-cluster');
    assert.equal(forced.body.cachedObjects, CACHED_OBJECTS);
    assert.equal(forced.body.cachingAssignment.epoch, 1);
    assert.equal(forced.body.cachingAssignment.agentId, 'agent-old-cluster');
    assert.equal(forced.body.cachingAssignment.lease, 'held');
    assert.deepEqual(
      forced.body.detachedSessions.map((s: { agentId: string }) => s.agentId),
      ['agent-old-cluster'],
    );
    const told = await old.acceptance('accountUpdateReply', 'prod', from);
    assert.equal(told.accepted, false);
    assert.equal(told.refusalCode, 'ACCOUNT_RELEASED');

    assert.equal(await hub.store.getAccount('prod'), undefined);
    assert.equal(await hub.store.countObjects('prod'), 0);
    const assignment = await hub.store.getAssignment('prod');
    assert.equal(assignment?.leaseExpiresAt, 0, 'the caching assignment is released');
    assert.equal(assignment?.epoch, 1, 'with its epoch kept');
    assert.equal(hub.registry.isServed('prod'), false);

    const accepted = await rebuilt.declareAgain('prod', 'cluster-b');
    assert.equal(accepted.accepted, true, accepted.refusalMessage);
    assert.equal(accepted.caching, true);
    assert.equal((await hub.store.getAccount('prod'))?.cluster.apiServerHost, 'https://cluster-b:6443');
    assert.equal((await hub.store.getAssignment('prod'))?.epoch, 2, 'the next owner continues at the next epoch');
    // The old agent declaring it again after its backoff now meets the new owner.
    assert.equal((await old.declareAgain('prod', 'cluster-a')).refusalCode, 'ACCOUNT_OWNED_BY_OTHER_CLUSTER');
  });

  test('an account nobody serves any more is released without force', async () => {
    const gone = agent('agent-gone');
    assert.equal((await gone.hello('staging', 'cluster-c')).accepted, true);
    await cache('staging');
    gone.end();
    await waitFor(async () => (await hub.store.getAccount('staging'))?.status === 'disconnected', {
      timeoutMs: MESSAGE_TIMEOUT_MS,
      what: 'the account to be marked disconnected',
    });
    const released = await release('staging');
    assert.equal(released.status, 200, JSON.stringify(released.body));
    assert.equal(released.body.registration.status, 'disconnected');
    assert.equal(released.body.cachedObjects, CACHED_OBJECTS);
    assert.equal(released.body.cachingAssignment.lease, 'released');
    assert.deepEqual(released.body.detachedSessions, []);
    assert.equal(await hub.store.countObjects('staging'), 0);
    assert.equal((await agent('agent-rebuilt').hello('staging', 'cluster-d')).accepted, true);
  });

  test('an account whose caching lease is live at another replica is refused even with force, naming that replica', async () => {
    await hub.store.upsertAccount(
      {
        ...declaration('elsewhere', 'cluster-e'),
        namespaces: [],
        kinds: [],
        permissions: {},
        properties: {},
        agentId: 'agent-far',
        hubId: 'hub-far',
        status: 'connected',
      },
      Date.now(),
    );
    await hub.store.heartbeat({ hubId: 'hub-far', startedAt: Date.now(), restUrl: 'http://10.0.0.9:7002', grpcAddress: null }, Date.now());
    await hub.store.claimCaching('elsewhere', { hubId: 'hub-far', sessionId: 'session-far', agentId: 'agent-far' }, Date.now(), 60_000);
    for (const query of ['', '?force=true']) {
      const refused = await release('elsewhere', query);
      assert.equal(refused.status, 409, query);
      assert.equal(refused.body.code, 'ACCOUNT_IN_USE');
      assert.deepEqual(refused.body.servedBy, [{ hubId: 'hub-far', agentId: 'agent-far', sessionId: 'session-far', restUrl: 'http://10.0.0.9:7002' }]);
      assert.match(refused.body.message, /hub replica hub-far \(http:\/\/10\.0\.0\.9:7002\)/);
    }
    assert.notEqual(await hub.store.getAccount('elsewhere'), undefined);
  });
});
