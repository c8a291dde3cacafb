// The hub connection as an Armory agent configuration sets it up: the hint when a TLS agent (this
// agent's default) meets a plaintext hub (the Armory agent's default), clouddriver.tls.insecureSkipVerify,
// and clouddriver.keepAliveTimeOutSeconds. Real hubs on 127.0.0.1.
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { parseConfig } from '../../src/common/config.ts';
import { waitFor } from '../../src/common/time.ts';
import { agentConfigSchema } from '../../src/agent/config.ts';
import { HubConnection } from '../../src/agent/session/hub-connection.ts';
import { createHubTransport } from '../../src/agent/session/hub-transport.ts';
import { TempDir, TestAgent, account, capturingLogger, hubCertificate, makeCa, startTestHub, type TestCa, type TestHub } from './transport-harness.ts';

const ANY = { allowAnyIdentity: true };

test('a TLS agent against a plaintext hub says the hub speaks plaintext and what to set', async () => {
  const hub = await startTestHub({ grpc: { insecure: true, ...ANY } });
  const agent = new TestAgent({ grpc: hub.address }, [account('armory-default')]).start();
  try {
    const reason = await agent.waitForFailure(/UNAVAILABLE/);
    assert.match(reason, /wrong version number|packet length too long/);
    assert.match(reason, /the hub seems to speak plaintext, not TLS: set clouddriver\.insecure: true/);
    assert.ok(
      agent.log.lines().some((l) => l.msg === 'hub session ended; reconnecting' && /set clouddriver\.insecure: true/.test(l.reason)),
      'the reconnect log says it too',
    );
    assert.equal(agent.welcomes, 0);
  } finally {
    await agent.stop();
    await hub.close();
  }
});

describe('clouddriver.tls.insecureSkipVerify', () => {
  const dir = new TempDir();
  let ca: TestCa;
  let hub: TestHub;

  before(async () => {
    ca = await makeCa(dir, 'hub');
    hub = await startTestHub({ grpc: { tls: dir.pair('hub', await hubCertificate(ca)), ...ANY } });
  });

  after(async () => {
    await hub.close();
    dir.remove();
  });

  test('connects to a hub whose certificate the agent cannot verify, and warns at start', async () => {
    // No cacertFile: the public roots, which do not hold this CA; and a name the certificate lacks.
    const agent = new TestAgent({ grpc: hub.address, tls: { insecureSkipVerify: true, serverName: 'not-the-hub.example' } }, [account('skip-verify')]).start();
    try {
      await agent.waitForWelcome();
      assert.equal(agent.acceptance('skip-verify')?.accepted, true);
      assert.ok(agent.log.lines().some((l) => l.level === 40 && /certificate is not verified \(clouddriver\.tls\.insecureSkipVerify: true\)/.test(l.msg)));
      assert.ok(agent.log.lines().some((l) => l.msg === 'hub connection security' && l.verified === false));
    } finally {
      await agent.stop();
    }
  });

  test('without it the same agent is refused', async () => {
    const agent = new TestAgent({ grpc: hub.address, tls: { serverName: 'not-the-hub.example' } }, [account('verify')]).start();
    try {
      await agent.waitForFailure(/certificate/i);
      assert.equal(agent.welcomes, 0);
    } finally {
      await agent.stop();
    }
  });
});

/** A TCP relay to the hub that can stop passing bytes without closing anything: a hub gone silent. */
class FreezableRelay {
  private readonly server: Server;
  private readonly sockets: Socket[] = [];
  address = '';

  constructor(target: { host: string; port: number }) {
    this.server = createServer((client) => {
      const upstream = connect(target.port, target.host);
      this.sockets.push(client, upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      const drop = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop);
      upstream.on('error', drop);
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.address = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    return this;
  }

  /** Nothing more reaches the agent; the connection stays open. */
  freeze(): void {
    for (const socket of this.sockets) {
      socket.unpipe();
      socket.pause();
    }
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

test('clouddriver.keepAliveTimeOutSeconds: a session silent that long (not three pings) is replaced', async () => {
  const HUB_PING_MS = 100;
  const TIMEOUT_SECONDS = 1.5;
  const hub = await startTestHub({ grpc: { insecure: true, pingIntervalMs: HUB_PING_MS, ...ANY } });
  const [host, port] = hub.address.split(':') as [string, string];
  const relay = await new FreezableRelay({ host, port: Number(port) }).listen();
  const log = capturingLogger();
  const config = parseConfig(
    agentConfigSchema,
    { clouddriver: { grpc: relay.address, insecure: true, keepAliveTimeOutSeconds: TIMEOUT_SECONDS, backoff: { initialMs: 100, maxMs: 300 } } },
    'agent.yaml',
  );
  let welcomes = 0;
  const connection = new HubConnection({
    agentId: 'silence',
    address: config.clouddriver.grpc,
    pingIntervalMs: 5000,
    silenceTimeoutMs: config.clouddriver.keepAliveTimeOutSeconds! * 1000,
    backoff: config.clouddriver.backoff,
    logger: log.logger,
    transport: createHubTransport(config.clouddriver, log.logger),
    accounts: () => [account('silence')],
    onAcceptances: (_session, _acceptances, origin) => {
      if (origin === 'welcome') welcomes++;
    },
    onOperation: async () => {
      throw new Error('no operations here');
    },
    onDisconnected: () => undefined,
  });
  connection.start();
  try {
    await waitFor(() => welcomes === 1, { timeoutMs: 10_000, what: 'the welcome' });
    // Pings flow every 100 ms: three missed ones would be 300 ms.
    const frozenAt = Date.now();
    relay.freeze();
    const replaced = await waitFor(() => log.lines().find((l) => l.msg === 'no message from the hub for too long; replacing the session'), {
      timeoutMs: 10_000,
      what: 'the silent session to be replaced',
    });
    const afterMs = (replaced.time as number) - frozenAt;
    assert.ok(afterMs >= TIMEOUT_SECONDS * 1000 - HUB_PING_MS, `replaced ${afterMs} ms after the hub went silent`);
    assert.ok(replaced.silentMs > TIMEOUT_SECONDS * 1000);
  } finally {
    await connection.stop();
    await relay.close();
    await hub.close();
  }
});

test('clouddriver.noProxy: the proxy environment variables are not used for the hub', async () => {
  const hub = await startTestHub({ grpc: { insecure: true, ...ANY } });
  // A proxy that refuses every connection: an agent that uses it never reaches the hub.
  const refusing = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
  const proxyAddress = refusing.address();
  const saved = process.env.grpc_proxy;
  process.env.grpc_proxy = `http://127.0.0.1:${typeof proxyAddress === 'object' && proxyAddress ? proxyAddress.port : 0}`;
  const direct = new TestAgent({ grpc: hub.address, insecure: true, noProxy: true }, [account('no-proxy')], 'direct').start();
  const proxied = new TestAgent({ grpc: hub.address, insecure: true }, [account('proxied')], 'proxied').start();
  try {
    await direct.waitForWelcome();
    await proxied.waitForFailure(/UNAVAILABLE/);
    assert.equal(proxied.welcomes, 0);
  } finally {
    if (saved === undefined) delete process.env.grpc_proxy;
    else process.env.grpc_proxy = saved;
    await direct.stop();
    await proxied.stop();
    await new Promise<void>((resolve) => refusing.close(() => resolve()));
    await hub.close();
  }
});
