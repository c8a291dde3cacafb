import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials, type Client, type ClientDuplexStream } from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { silentLogger } from '../../src/common/logger.ts';
import { parseConfig } from '../../src/common/config.ts';
import { waitFor } from '../../src/common/time.ts';
import { hubConfigSchema } from '../../src/hub/config.ts';
import { startHub, type RunningHub } from '../../src/hub/hub.ts';
import {
  AgentHubClient,
  AgentMessageSchema,
  MIN_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  SyncRequestSchema,
  type AgentMessage,
  type HubMessage,
  type SyncRequest,
  type SyncResponse,
} from '../../src/protocol/index.ts';

type HubClient = Client & {
  Session(): ClientDuplexStream<AgentMessage, HubMessage>;
  Sync(): ClientDuplexStream<SyncRequest, SyncResponse>;
};

function firstMessage<Req, Res>(call: ClientDuplexStream<Req, Res>): Promise<Res> {
  return new Promise((resolve, reject) => {
    call.once('data', resolve);
    call.once('error', reject);
  });
}

function hello(agentId: string, account: string, host: string, protocolVersion = PROTOCOL_VERSION): AgentMessage {
  return create(AgentMessageSchema, {
    kind: {
      case: 'hello',
      value: {
        agentId,
        agentVersion: 'test',
        protocolVersion,
        accounts: [{ name: account, cluster: { apiServerHost: host, caFingerprint: 'ab', kubeSystemUid: `uid-${host}` }, kubernetesVersion: 'v1.31.0' }],
      },
    },
  });
}

describe('the hub refuses bad sessions with a clear code and keeps what it accepted', () => {
  let hub: RunningHub;
  let client: HubClient;
  const calls: Array<{ cancel(): void }> = [];

  before(async () => {
    const config = parseConfig(
      hubConfigSchema,
      {
        server: { host: '127.0.0.1', port: 0 },
        grpc: { host: '127.0.0.1', port: 0, insecure: true, allowAnyIdentity: true },
        database: { url: 'sqlite::memory:' },
      },
      'test',
    );
    hub = await startHub(config, silentLogger());
    client = new AgentHubClient(hub.grpcAddress, credentials.createInsecure()) as unknown as HubClient;
  });

  after(async () => {
    for (const call of calls) call.cancel();
    client.close();
    await hub.close();
  });

  function session(): ClientDuplexStream<AgentMessage, HubMessage> {
    const call = client.Session();
    call.on('error', () => undefined);
    calls.push(call);
    return call;
  }

  test('a session that does not start with a hello is refused', async () => {
    const call = session();
    call.write(create(AgentMessageSchema, { kind: { case: 'ping', value: { nonce: 1n } } }));
    const reply = await firstMessage(call);
    assert.equal(reply.kind.case, 'refusal');
    assert.equal(reply.kind.case === 'refusal' && reply.kind.value.code, 'PROTOCOL_VIOLATION');
  });

  test("a protocol version older than the hub speaks is refused; a newer one speaks the hub's, version 1 speaks 1", async () => {
    const old = session();
    old.write(hello('a1', 'acct-v', 'https://one', MIN_PROTOCOL_VERSION - 1));
    const reply = await firstMessage(old);
    assert.equal(reply.kind.case === 'refusal' && reply.kind.value.code, 'PROTOCOL_VERSION_UNSUPPORTED');
    assert.match(reply.kind.case === 'refusal' ? reply.kind.value.message : '', /speaks protocol versions 1 to 2, the agent speaks 0/);

    for (const [offered, expected] of [
      [PROTOCOL_VERSION + 1, PROTOCOL_VERSION],
      [1, 1],
    ] as const) {
      const call = session();
      call.write(hello(`a-v${offered}`, `acct-v${offered}`, `https://v${offered}`, offered));
      const welcome = await firstMessage(call);
      assert.equal(welcome.kind.case, 'welcome', `offering version ${offered}`);
      assert.equal(welcome.kind.case === 'welcome' && welcome.kind.value.protocolVersion, expected);
      call.end();
    }
  });

  test('an account name held by another cluster is refused; the owner keeps it', async () => {
    const owner = session();
    owner.write(hello('owner', 'shared-name', 'https://cluster-a'));
    const welcome = await firstMessage(owner);
    assert.equal(welcome.kind.case, 'welcome');
    assert.equal(welcome.kind.case === 'welcome' && welcome.kind.value.accounts[0]?.accepted, true);

    const intruder = session();
    intruder.write(hello('intruder', 'shared-name', 'https://cluster-b'));
    const reply = await firstMessage(intruder);
    assert.equal(reply.kind.case, 'welcome');
    const acceptance = reply.kind.case === 'welcome' ? reply.kind.value.accounts[0] : undefined;
    assert.equal(acceptance?.accepted, false);
    assert.equal(acceptance?.refusalCode, 'ACCOUNT_OWNED_BY_OTHER_CLUSTER');
    assert.equal((await hub.store.getAccount('shared-name'))?.cluster.apiServerHost, 'https://cluster-a');
  });

  test('a sync stream for an unknown session, or before open, is refused', async () => {
    const unknown = client.Sync();
    unknown.on('error', () => undefined);
    calls.push(unknown);
    unknown.write(create(SyncRequestSchema, { kind: { case: 'open', value: { sessionId: 'nope', account: 'shared-name' } } }));
    const reply = await firstMessage(unknown);
    assert.equal(reply.kind.case === 'refusal' && reply.kind.value.code, 'SESSION_UNKNOWN');

    const noOpen = client.Sync();
    noOpen.on('error', () => undefined);
    calls.push(noOpen);
    noOpen.write(create(SyncRequestSchema, { kind: { case: 'batch', value: { seq: 1n } } }));
    const second = await firstMessage(noOpen);
    assert.equal(second.kind.case === 'refusal' && second.kind.value.code, 'PROTOCOL_VIOLATION');
  });

  test('malformed changes are skipped and the rest of the batch is committed', async () => {
    const call = session();
    call.write(hello('writer', 'batch-acct', 'https://cluster-w'));
    const welcome = await firstMessage(call);
    assert.equal(welcome.kind.case, 'welcome');
    const sessionId = welcome.kind.case === 'welcome' ? welcome.kind.value.sessionId : '';
    const sync = client.Sync();
    sync.on('error', () => undefined);
    calls.push(sync);
    const responses: SyncResponse[] = [];
    sync.on('data', (r: SyncResponse) => responses.push(r));
    sync.write(create(SyncRequestSchema, { kind: { case: 'open', value: { sessionId, account: 'batch-acct' } } }));
    const body = new TextEncoder().encode(
      JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'good', namespace: 'default', uid: 'u1', resourceVersion: '5' } }),
    );
    sync.write(
      create(SyncRequestSchema, {
        kind: {
          case: 'batch',
          value: {
            seq: 1n,
            feeds: [
              { group: '', version: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespace: '', namespaced: true },
              { group: '', version: 'v1', kind: 'Cönfig', resource: 'configs', namespace: '', namespaced: true },
            ],
            changes: [
              { feed: 7, kind: { case: 'upsert', value: { namespace: 'default', name: 'bad-feed', object: body } } },
              { feed: 0, kind: { case: 'upsert', value: { namespace: 'default', name: '', object: body } } },
              // Kubernetes keeps these ASCII, and MySQL's ASCII key columns would refuse the whole batch.
              { feed: 0, kind: { case: 'upsert', value: { namespace: 'défault', name: 'non-ascii-namespace', object: body } } },
              { feed: 1, kind: { case: 'upsert', value: { namespace: 'default', name: 'non-ascii-kind', object: body } } },
              { feed: 0, kind: { case: 'upsert', value: { namespace: 'default', name: 'good', uid: 'u1', resourceVersion: '5', object: body } } },
            ],
          },
        },
      }),
    );
    await waitFor(() => responses.some((r) => r.kind.case === 'ack'), { timeoutMs: 10_000, what: 'the batch acknowledgement' });
    assert.deepEqual(
      responses.map((r) => r.kind.case),
      ['ready', 'ack'],
    );
    const stored = await hub.store.listObjects({ account: 'batch-acct' });
    assert.deepEqual(
      stored.map((o) => o.name),
      ['good'],
    );
  });
});
