import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { credentials, Metadata, Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { create, fromBinary } from '@bufbuild/protobuf';
import { createLogger } from '../../common/logger.ts';
import { waitFor } from '../../common/time.ts';
import { AgentMessageSchema, agentHubServerDefinition, HubMessageSchema, type AccountInfo, type HubMessage } from '../../protocol/index.ts';
import { HubConnection } from './hub-connection.ts';
import type { HubTransport } from './hub-transport.ts';

const WAIT = { timeoutMs: 10_000, intervalMs: 10 };
const FAST_BACKOFF = { initialMs: 10, maxMs: 50, multiplier: 2, jitter: 0 };

/** A port nothing listens on: the hub is down, every session attempt fails UNAVAILABLE. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function capturingLogger() {
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), logs };
}

function plaintextTransport(overrides: Partial<HubTransport> = {}): HubTransport {
  return {
    mode: 'plaintext',
    channel: () => ({ credentials: credentials.createInsecure(), options: {}, digest: 'plaintext' }),
    metadata: async () => new Metadata(),
    currentMetadata: () => new Metadata(),
    close: () => undefined,
    ...overrides,
  };
}

async function connectionTo(transport: HubTransport, accounts: () => AccountInfo[] = () => []) {
  const { logger, logs } = capturingLogger();
  const connection = new HubConnection({
    agentId: 'agent-1',
    address: `127.0.0.1:${await closedPort()}`,
    pingIntervalMs: 1_000,
    backoff: FAST_BACKOFF,
    logger,
    transport,
    accounts,
    onAcceptances: () => undefined,
    onOperation: async () => {
      throw new Error('no operation expected');
    },
    onDisconnected: () => undefined,
  });
  return { connection, logs };
}

test('a TLS probe that cannot even start is logged, and the agent keeps reconnecting', async () => {
  let probes = 0;
  const { connection, logs } = await connectionTo(
    plaintextTransport({
      probe: async () => {
        probes++;
        // What tls.connect throws for a client key that OpenSSL refuses (e.g. RSA 512), which readTlsMaterial accepts.
        throw new Error('error:0A00018F:SSL routines::ee key too small');
      },
    }),
  );
  connection.start();
  try {
    const logged = await waitFor(() => logs.find((l) => l.msg === 'cannot check the TLS handshake with the hub'), {
      ...WAIT,
      what: 'the failed probe to be logged',
    });
    assert.equal(logged.level, 50);
    assert.match(String(logged.err), /ee key too small/);
    await waitFor(() => probes >= 2, { ...WAIT, what: 'another attempt after the failed probe' });
  } finally {
    await connection.stop();
  }
});

test('a session that cannot be opened is logged and attempted again', async () => {
  let describes = 0;
  const { connection, logs } = await connectionTo(plaintextTransport(), () => {
    describes++;
    if (describes === 1) throw new Error('an account cannot describe itself');
    return [];
  });
  connection.start();
  try {
    const logged = await waitFor(() => logs.find((l) => l.msg === 'cannot open a session with the hub'), { ...WAIT, what: 'the failed open to be logged' });
    assert.match(String(logged.err), /cannot describe itself/);
    await waitFor(() => describes >= 2, { ...WAIT, what: 'the next attempt' });
  } finally {
    await connection.stop();
  }
});

test('every redial of a hub that is down is counted, for scale_agent_session_reconnects_total', async () => {
  const { connection } = await connectionTo(plaintextTransport());
  assert.equal(connection.reconnects, 0);
  connection.start();
  try {
    await waitFor(() => connection.reconnects >= 2, { ...WAIT, what: 'two redials' });
    assert.notEqual(connection.state, 'connected');
  } finally {
    await connection.stop();
  }
  assert.equal(connection.state, 'stopped');
});

test('against a hub that speaks only version 1 the agent falls back to it, and offers version 2 again to the next session', async (t) => {
  // A hub of the previous release: it refuses any hello but version 1, as session-handler.ts did then.
  const hellos: number[] = [];
  const server = new Server();
  server.addService(agentHubServerDefinition, {
    Session: (call: ServerDuplexStream<Buffer, HubMessage>) => {
      call.on('data', (bytes: Buffer) => {
        const message = fromBinary(AgentMessageSchema, bytes);
        if (message.kind.case !== 'hello') return;
        const offered = message.kind.value.protocolVersion;
        hellos.push(offered);
        if (offered !== 1) {
          call.write(
            create(HubMessageSchema, {
              kind: {
                case: 'refusal',
                value: { code: 'PROTOCOL_VERSION_UNSUPPORTED', message: `this hub speaks protocol version 1, the agent speaks ${offered}` },
              },
            }),
          );
          call.end();
          return;
        }
        call.write(
          create(HubMessageSchema, {
            kind: { case: 'welcome', value: { sessionId: `s-${hellos.length}`, hubId: 'old-hub', protocolVersion: 1, pingIntervalMs: 1_000 } },
          }),
        );
      });
    },
    Sync: () => undefined,
    SharedSync: () => undefined,
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  t.after(() => server.forceShutdown());
  const { logger } = capturingLogger();
  const connection = new HubConnection({
    agentId: 'agent-1',
    address: `127.0.0.1:${port}`,
    pingIntervalMs: 1_000,
    backoff: FAST_BACKOFF,
    logger,
    transport: plaintextTransport(),
    accounts: () => [],
    onAcceptances: () => undefined,
    onOperation: async () => {
      throw new Error('no operation expected');
    },
    onDisconnected: () => undefined,
  });
  t.after(() => connection.stop());
  connection.start();
  await waitFor(() => connection.connected, { ...WAIT, what: 'a session with the old hub' });
  assert.equal(connection.connected?.protocolVersion, 1);
  assert.deepEqual(hellos, [2, 1]);
  assert.deepEqual(connection.protocolSummary(), { protocolVersion: 1 });
  // The session ends (the hub restarts, maybe upgraded): the next hello offers version 2 first again.
  server.forceShutdown();
  await waitFor(() => connection.connected === undefined || undefined, { ...WAIT, what: 'the session to end' });
  await connection.stop();
  assert.equal((connection as unknown as { offeredVersion: number }).offeredVersion, 2);
});
