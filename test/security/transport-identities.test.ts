// Identity → accounts: an agent's client certificate (subject, SANs) or bearer token decides which
// account names it may register; everything else is refused with a stable code, logged on both sides,
// while the allowed accounts of the same hello still register. No identity may take over a name another
// cluster holds.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { credentials, Metadata, type Client, type ClientDuplexStream } from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { isScaleAgentError } from '../../src/common/errors.ts';
import { waitFor } from '../../src/common/time.ts';
import { AgentHubClient, SyncRequestSchema, type SyncRequest, type SyncResponse } from '../../src/protocol/index.ts';
import type { SyncChannelCall } from '../../src/agent/sync/sync-stream.ts';
import {
  TempDir,
  TestAgent,
  account,
  clientCertificate,
  hubCertificate,
  liveSessions,
  makeCa,
  startTestHub,
  type TestCa,
  type TestHub,
} from './transport-harness.ts';

const TOKEN = 'static-token-0123456789abcdef';
const ENV_TOKEN = 'env-token-fedcba9876543210';
const ENV_NAME = 'SCALE_AGENT_TRANSPORT_TEST_TOKEN';

describe('identities decide which accounts an agent may register', () => {
  const dir = new TempDir();
  let ca: TestCa;
  let hub: TestHub;
  let tokenFile: string;
  const agents: TestAgent[] = [];

  before(async () => {
    ca = await makeCa(dir, 'pki');
    tokenFile = dir.file('hub-token', 'file-token-one\n');
    process.env[ENV_NAME] = ENV_TOKEN;
    hub = await startTestHub({
      grpc: { tls: { ...dir.pair('hub', await hubCertificate(ca)), clientCaFile: ca.caFile, clientAuth: 'optional' } },
      identities: [
        { name: 'eu-agents', match: { subject: 'agent-eu-*' }, accounts: ['prod-eu-*', 'staging-eu'] },
        { name: 'us-agent', match: { san: 'spiffe://acme.example/ns/spinnaker/sa/agent-us' }, accounts: ['prod-us-*'] },
        { name: 'acme-org', match: { subject: 'CN=agent-org, O=Acme' }, accounts: ['org-*'] },
        { name: 'platform', match: { subject: 'platform-agent' }, accounts: ['*'] },
        { name: 'static-token', match: { token: TOKEN }, accounts: ['tok-*'] },
        { name: 'env-token', match: { token: { env: ENV_NAME } }, accounts: ['env-*'] },
        { name: 'file-token', match: { token: { file: tokenFile } }, accounts: ['file-*'] },
      ],
    });
  });

  after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await hub.close();
    delete process.env[ENV_NAME];
    dir.remove();
  });

  async function mtlsAgent(
    commonName: string,
    accounts: ReturnType<typeof account>[],
    extra: Parameters<typeof clientCertificate>[2] = {},
    agentId = commonName,
  ): Promise<TestAgent> {
    const files = dir.pair(`client-${agentId}`, await clientCertificate(ca, commonName, extra));
    const agent = new TestAgent(
      { grpc: hub.address, tls: { cacertFile: ca.caFile, clientCertFile: files.certFile, clientKeyFile: files.keyFile } },
      accounts,
      agentId,
    ).start();
    agents.push(agent);
    return agent;
  }

  function tokenAgent(token: string | undefined, accounts: ReturnType<typeof account>[], agentId: string): TestAgent {
    const agent = new TestAgent(
      { grpc: hub.address, tls: { cacertFile: ca.caFile }, ...(token === undefined ? {} : { auth: { token } }) },
      accounts,
      agentId,
    ).start();
    agents.push(agent);
    return agent;
  }

  test('by subject CN: allowed accounts register, the others are refused with ACCOUNT_NOT_ALLOWED_FOR_IDENTITY, logged by hub and agent', async () => {
    const agent = await mtlsAgent('agent-eu-1', [account('prod-eu-1'), account('staging-eu'), account('prod-us-1')]);
    await agent.waitForWelcome();
    assert.equal(agent.acceptance('prod-eu-1')?.accepted, true);
    assert.equal(agent.acceptance('staging-eu')?.accepted, true);
    const refused = agent.acceptance('prod-us-1');
    assert.equal(refused?.accepted, false);
    assert.equal(refused?.refusalCode, 'ACCOUNT_NOT_ALLOWED_FOR_IDENTITY');
    assert.equal(refused?.refusalMessage, 'account prod-us-1 is not allowed for identity eu-agents (allowed: prod-eu-*, staging-eu)');
    assert.ok(await hub.hub.store.getAccount('prod-eu-1'));
    assert.equal(await hub.hub.store.getAccount('prod-us-1'), undefined);
    assert.ok(
      hub.log
        .lines()
        .some((l) => l.level === 40 && l.code === 'ACCOUNT_NOT_ALLOWED_FOR_IDENTITY' && l.account === 'prod-us-1' && /refusing account/.test(l.msg)),
    );
    assert.ok(agent.log.lines().some((l) => l.level === 50 && l.code === 'ACCOUNT_NOT_ALLOWED_FOR_IDENTITY' && l.account === 'prod-us-1'));
    const session = liveSessions(hub.hub).find((s) => s.agentId === 'agent-eu-1');
    assert.deepEqual(session?.identity?.names, ['eu-agents']);
  });

  test('an account update is held to the same allowance', async () => {
    const agent = await mtlsAgent('agent-eu-2', [account('prod-eu-2')]);
    await agent.waitForWelcome();
    agent.connection.connected!.sendAccountUpdate([account('prod-eu-3'), account('prod-us-9')], []);
    await waitFor(() => agent.acceptance('prod-us-9'), { timeoutMs: 5000, what: 'the update reply' });
    assert.equal(agent.acceptance('prod-eu-3')?.accepted, true);
    assert.equal(agent.acceptance('prod-us-9')?.refusalCode, 'ACCOUNT_NOT_ALLOWED_FOR_IDENTITY');
  });

  test('by URI SAN (SPIFFE id)', async () => {
    const agent = await mtlsAgent('some-workload', [account('prod-us-1'), account('prod-eu-9')], { uris: ['spiffe://acme.example/ns/spinnaker/sa/agent-us'] });
    await agent.waitForWelcome();
    assert.equal(agent.acceptance('prod-us-1')?.accepted, true);
    assert.equal(agent.acceptance('prod-eu-9')?.refusalCode, 'ACCOUNT_NOT_ALLOWED_FOR_IDENTITY');
  });

  test('by the whole subject (CN and O)', async () => {
    const agent = await mtlsAgent('agent-org', [account('org-1')], { organization: 'Acme' });
    const wrongOrg = await mtlsAgent('agent-org', [account('org-2')], { organization: 'Other' }, 'agent-org-other');
    await agent.waitForWelcome();
    assert.equal(agent.acceptance('org-1')?.accepted, true);
    await wrongOrg.waitForFailure(/AGENT_UNAUTHENTICATED/);
    assert.match(wrongOrg.connection.lastError ?? '', /client certificate \(CN=agent-org, O=Other\) match no identity, and grpc\.allowAnyIdentity is false/);
    assert.equal(await hub.hub.store.getAccount('org-2'), undefined);
  });

  test('a certificate that matches no identity is refused for the whole session', async () => {
    const agent = await mtlsAgent('stranger', [account('prod-eu-7')]);
    const reason = await agent.waitForFailure(/AGENT_UNAUTHENTICATED/);
    assert.match(reason, /the hub refused the session: AGENT_UNAUTHENTICATED: the agent's client certificate \(CN=stranger\) match no identity/);
    assert.equal(agent.welcomes, 0);
    assert.ok(agent.log.lines().some((l) => l.level === 50 && l.code === 'AGENT_UNAUTHENTICATED' && /the hub refused this agent/.test(l.msg)));
    // Refused before its hello is decoded: the hub names the peer's address, not the agent id it would claim.
    assert.ok(hub.log.lines().some((l) => l.code === 'AGENT_UNAUTHENTICATED' && typeof l.peer === 'string' && l.agentId === undefined));
  });

  test('by bearer token; a missing token and a wrong token are refused', async () => {
    const good = tokenAgent(TOKEN, [account('tok-1'), account('prod-eu-8')], 'token-good');
    const missing = tokenAgent(undefined, [account('tok-2')], 'token-missing');
    const wrong = tokenAgent('not-the-token', [account('tok-3')], 'token-wrong');
    await good.waitForWelcome();
    assert.equal(good.acceptance('tok-1')?.accepted, true);
    assert.equal(good.acceptance('prod-eu-8')?.refusalCode, 'ACCOUNT_NOT_ALLOWED_FOR_IDENTITY');
    assert.match(await missing.waitForFailure(/AGENT_UNAUTHENTICATED/), /presented neither a client certificate nor a bearer token/);
    assert.match(await wrong.waitForFailure(/AGENT_TOKEN_INVALID/), /the bearer token matches no identity on this hub/);
    assert.ok(hub.log.lines().some((l) => l.code === 'AGENT_TOKEN_INVALID' && typeof l.peer === 'string'));
    assert.equal(await hub.hub.store.getAccount('tok-2'), undefined);
    assert.equal(await hub.hub.store.getAccount('tok-3'), undefined);
    // A token is never written to a log, on either side.
    for (const text of [hub.log.text(), good.log.text(), wrong.log.text()]) {
      assert.doesNotMatch(text, new RegExp(TOKEN));
      assert.doesNotMatch(text, /not-the-token/);
    }
  });

  test('a wrong token is refused even with a valid certificate', async () => {
    const files = dir.pair('client-eu-token', await clientCertificate(ca, 'agent-eu-5'));
    const agent = new TestAgent(
      { grpc: hub.address, tls: { cacertFile: ca.caFile, clientCertFile: files.certFile, clientKeyFile: files.keyFile }, auth: { token: 'guess' } },
      [account('prod-eu-5')],
      'eu-with-bad-token',
    ).start();
    agents.push(agent);
    await agent.waitForFailure(/AGENT_TOKEN_INVALID/);
    assert.equal(await hub.hub.store.getAccount('prod-eu-5'), undefined);
  });

  test('tokens from an environment variable and from a file (re-read when it changes)', async () => {
    const byEnv = tokenAgent(ENV_TOKEN, [account('env-1')], 'token-env');
    const byFile = tokenAgent('file-token-one', [account('file-1')], 'token-file');
    await byEnv.waitForWelcome();
    await byFile.waitForWelcome();
    assert.equal(byEnv.acceptance('env-1')?.accepted, true);
    assert.equal(byFile.acceptance('file-1')?.accepted, true);
    writeFileSync(tokenFile, 'file-token-two\n');
    const stale = tokenAgent('file-token-one', [account('file-2')], 'token-file-stale');
    const fresh = tokenAgent('file-token-two', [account('file-3')], 'token-file-fresh');
    await stale.waitForFailure(/AGENT_TOKEN_INVALID/);
    await fresh.waitForWelcome();
    assert.equal(fresh.acceptance('file-3')?.accepted, true);
  });

  test('no hijack: a name held by another cluster stays refused, even for an identity allowed every account', async () => {
    const owner = await mtlsAgent('platform-agent', [account('shared-name', 'https://cluster-a.example:6443')], {}, 'platform-a');
    await owner.waitForWelcome();
    assert.equal(owner.acceptance('shared-name')?.accepted, true);
    const intruder = await mtlsAgent(
      'platform-agent',
      [account('shared-name', 'https://cluster-b.example:6443'), account('other-name', 'https://cluster-b.example:6443')],
      {},
      'platform-b',
    );
    await intruder.waitForWelcome();
    const refused = intruder.acceptance('shared-name');
    assert.equal(refused?.accepted, false);
    assert.equal(refused?.refusalCode, 'ACCOUNT_OWNED_BY_OTHER_CLUSTER');
    assert.equal(intruder.acceptance('other-name')?.accepted, true);
    assert.equal((await hub.hub.store.getAccount('shared-name'))?.cluster.apiServerHost, 'https://cluster-a.example:6443');
    assert.equal((await hub.hub.store.getAccount('shared-name'))?.agentId, 'platform-a');
    assert.ok(intruder.log.lines().some((l) => l.code === 'ACCOUNT_OWNED_BY_OTHER_CLUSTER'));
    assert.ok(hub.log.lines().some((l) => l.code === 'ACCOUNT_OWNED_BY_OTHER_CLUSTER' && l.agentId === 'platform-b'));
  });

  test('a sync stream needs credentials allowed for its account, not just a session id', async () => {
    const owner = await mtlsAgent('agent-eu-sync', [account('prod-eu-sync')]);
    await owner.waitForWelcome();
    assert.equal(owner.acceptance('prod-eu-sync')?.caching, true);
    const sessionId = owner.connection.connected!.sessionId;

    const firstReply = (call: Pick<SyncChannelCall, 'on'>) =>
      new Promise<SyncResponse>((resolve, reject) => {
        call.on('data', resolve);
        call.on('error', reject);
      });
    const open = create(SyncRequestSchema, { kind: { case: 'open', value: { sessionId, account: 'prod-eu-sync' } } });

    // The session's own connection: accepted.
    const own = owner.connection.connected!.openSync();
    own.on('error', () => undefined);
    own.write(open);
    assert.equal((await firstReply(own)).kind.case, 'ready');
    own.cancel();

    // Another identity that knows the session id: refused.
    for (const [label, creds, expected] of [
      [
        'token of another identity',
        credentials.combineChannelCredentials(
          credentials.createSsl(Buffer.from(ca.ca.certPem)),
          credentials.createFromMetadataGenerator((_p, cb) => cb(null, bearer(TOKEN))),
        ),
        'ACCOUNT_NOT_ALLOWED_FOR_IDENTITY',
      ],
      ['no credentials at all', credentials.createSsl(Buffer.from(ca.ca.certPem)), 'AGENT_UNAUTHENTICATED'],
    ] as const) {
      const client = new AgentHubClient(hub.address, creds) as unknown as Client & { Sync(): ClientDuplexStream<SyncRequest, SyncResponse> };
      const call = client.Sync();
      call.on('error', () => undefined);
      call.write(open);
      const reply = await firstReply(call);
      assert.equal(reply.kind.case, 'refusal', label);
      assert.equal(reply.kind.case === 'refusal' ? reply.kind.value.code : '', expected, label);
      call.cancel();
      client.close();
    }
  });
});

function bearer(token: string): Metadata {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

describe('grpc.allowAnyIdentity next to identities: unmatched agents are admitted for any account', () => {
  const dir = new TempDir();
  let hub: TestHub;
  let ca: TestCa;

  before(async () => {
    ca = await makeCa(dir, 'pki');
    hub = await startTestHub({
      grpc: { tls: { ...dir.pair('hub', await hubCertificate(ca)), clientCaFile: ca.caFile, clientAuth: 'optional' }, allowAnyIdentity: true },
      identities: [{ name: 'eu-agents', match: { subject: 'agent-eu-*' }, accounts: ['prod-eu-*'] }],
    });
  });

  after(async () => {
    await hub.close();
    dir.remove();
  });

  test('an anonymous agent registers anything; a matched one stays within its allowance', async () => {
    const anonymous = new TestAgent({ grpc: hub.address, tls: { cacertFile: ca.caFile } }, [account('anything-1')], 'anonymous').start();
    const files = dir.pair('eu', await clientCertificate(ca, 'agent-eu-1'));
    const eu = new TestAgent(
      { grpc: hub.address, tls: { cacertFile: ca.caFile, clientCertFile: files.certFile, clientKeyFile: files.keyFile } },
      [account('prod-eu-1'), account('anything-2')],
      'eu',
    ).start();
    try {
      await anonymous.waitForWelcome();
      await eu.waitForWelcome();
      assert.equal(anonymous.acceptance('anything-1')?.accepted, true);
      assert.equal(eu.acceptance('prod-eu-1')?.accepted, true);
      assert.equal(eu.acceptance('anything-2')?.refusalCode, 'ACCOUNT_NOT_ALLOWED_FOR_IDENTITY');
      assert.ok(hub.log.lines().some((l) => l.level === 40 && /agents matching no identity may register any account/.test(l.msg)));
    } finally {
      await anonymous.stop();
      await eu.stop();
    }
  });

  test('an identity whose token environment variable is unset stops the hub at start', async () => {
    await assert.rejects(
      startTestHub({ grpc: { insecure: true }, identities: [{ name: 'x', match: { token: { env: 'SCALE_AGENT_TEST_UNSET_VARIABLE' } }, accounts: ['*'] }] }),
      (err) =>
        isScaleAgentError(err, 'CONFIG_INVALID') &&
        /identities\[0\]\.match\.token: environment variable SCALE_AGENT_TEST_UNSET_VARIABLE is not set or empty/.test(err.message),
    );
  });
});
