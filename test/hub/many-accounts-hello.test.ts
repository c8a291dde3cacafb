// An agent that serves more accounts than one hello may declare (thousands of dynamic accounts pushed
// by the hub, beside its own) still connects after a reconnect: the hello carries what the hub takes in
// one message, and the rest follows in account updates after the welcome. Before, the hub refused the
// whole session at the next hello, and every account of the agent with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { credentials, Metadata } from '@grpc/grpc-js';
import { HubConnection } from '../../src/agent/session/hub-connection.ts';
import { parseConfig } from '../../src/common/config.ts';
import { silentLogger } from '../../src/common/logger.ts';
import { waitFor } from '../../src/common/time.ts';
import { hubConfigSchema } from '../../src/hub/config.ts';
import { startHub } from '../../src/hub/hub.ts';
import { AccountInfoSchema, MAX_ACCOUNTS_PER_HELLO, type AccountAcceptance, type AccountInfo } from '../../src/protocol/index.ts';

const WAIT = { timeoutMs: 120_000, intervalMs: 50 };

function account(i: number): AccountInfo {
  const name = `acct-${i}`;
  return create(AccountInfoSchema, {
    name,
    cluster: { apiServerHost: `https://${name}.example`, caFingerprint: 'ab', kubeSystemUid: `uid-${name}` },
    kubernetesVersion: 'v1.31.0',
  });
}

test('an agent with more accounts than one hello may declare connects, and the hub registers every account', { timeout: 300_000 }, async () => {
  const config = parseConfig(
    hubConfigSchema,
    {
      hub: { id: 'hub-a' },
      server: { host: '127.0.0.1', port: 0 },
      grpc: { host: '127.0.0.1', port: 0, insecure: true, allowAnyIdentity: true },
      database: { url: 'sqlite::memory:' },
    },
    'test',
  );
  const hub = await startHub(config, silentLogger());
  const accounts = Array.from({ length: MAX_ACCOUNTS_PER_HELLO + 1 }, (_, i) => account(i));
  const accepted = new Set<string>();
  const connection = new HubConnection({
    agentId: 'agent-many',
    address: hub.grpcAddress,
    pingIntervalMs: 1_000,
    backoff: { initialMs: 10, maxMs: 50, multiplier: 2, jitter: 0 },
    logger: silentLogger(),
    transport: {
      mode: 'plaintext',
      channel: () => ({ credentials: credentials.createInsecure(), options: {}, digest: 'plaintext' }),
      metadata: async () => new Metadata(),
      currentMetadata: () => new Metadata(),
      close: () => undefined,
    },
    accounts: () => accounts,
    onAcceptances: (_session, acceptances: AccountAcceptance[]) => {
      for (const a of acceptances) if (a.accepted) accepted.add(a.account);
    },
    onOperation: async () => {
      throw new Error('no operation expected');
    },
    onDisconnected: () => undefined,
  });
  connection.start();
  try {
    await waitFor(() => accepted.size === accounts.length || (connection.lastError?.includes('refused') ? connection.lastError : undefined), {
      ...WAIT,
      what: 'every account to be accepted',
    });
    assert.equal(connection.lastError, undefined);
    assert.equal(accepted.size, accounts.length);
    assert.equal((await hub.store.listAccounts()).filter((a) => a.status === 'connected').length, accounts.length);
  } finally {
    await connection.stop();
    await hub.close();
  }
});
