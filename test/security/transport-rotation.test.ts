// Credentials change without restarts: the hub's server certificate and client CA are reloaded from
// their files for new connections, the agent's client certificate is used from its next reconnect, and
// a token command's output is refreshed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { waitFor } from '../../src/common/time.ts';
import { SyncRequestSchema, type SyncResponse } from '../../src/protocol/index.ts';
import {
  TempDir,
  TestAgent,
  account,
  clientCertificate,
  hubCertificate,
  liveSessions,
  makeCa,
  serialOf,
  servedCertificateSerial,
  startTestHub,
  type TestHub,
} from './transport-harness.ts';

/** Files are polled this often in these tests (the default is 10 s). */
const RELOAD_SECONDS = 0.1;

/** Ends every session on the hub, so that the agents reconnect. */
function dropSessions(hub: TestHub): void {
  for (const session of liveSessions(hub.hub)) session.close('test: reconnect please');
}

describe('rotation of the hub server certificate without a restart', () => {
  const dir = new TempDir();
  after(() => dir.remove());

  test('a new certificate (from a new CA) serves new connections; established ones continue; a half-written pair is not used', async () => {
    const oldCa = await makeCa(dir, 'old');
    const newCa = await makeCa(dir, 'new');
    const oldCert = await hubCertificate(oldCa);
    const newCert = await hubCertificate(newCa);
    const files = dir.pair('hub', oldCert);
    const hub = await startTestHub({ grpc: { tls: { ...files, reloadIntervalSeconds: RELOAD_SECONDS }, allowAnyIdentity: true } });
    const port = Number(hub.address.split(':').at(-1));
    const before = new TestAgent({ grpc: hub.address, tls: { cacertFile: oldCa.caFile } }, [account('rot-before')], 'before').start();
    const after = new TestAgent({ grpc: hub.address, tls: { cacertFile: newCa.caFile } }, [account('rot-after')], 'after').start();
    try {
      await before.waitForWelcome();
      assert.equal(await servedCertificateSerial(port, oldCa.ca.certPem), serialOf(oldCert));
      await after.waitForFailure(/certificate/);
      assert.equal(after.welcomes, 0);

      // The certificate first, its key later (as a careless copy would): the mismatch is refused.
      writeFileSync(files.certFile, newCert.certPem);
      await waitFor(
        () =>
          hub.log
            .lines()
            .some((l) => l.level === 50 && /cannot reload the gRPC certificate files/.test(l.msg) && /does not belong to the certificate/.test(l.err)),
        {
          timeoutMs: 5000,
          what: 'the hub to refuse the half-written pair',
        },
      );
      assert.equal(await servedCertificateSerial(port, oldCa.ca.certPem), serialOf(oldCert), 'the old certificate stays');
      writeFileSync(files.keyFile, newCert.keyPem);
      await waitFor(() => hub.log.lines().some((l) => l.msg === 'reloaded the gRPC certificate files; new connections use them'), {
        timeoutMs: 5000,
        what: 'the reload',
      });
      assert.equal(await servedCertificateSerial(port, newCa.ca.certPem), serialOf(newCert));

      // The agent trusting only the new CA gets in on its next attempt; the old session was not touched.
      await after.waitForWelcome(1, 10_000);
      assert.equal(after.acceptance('rot-after')?.accepted, true);
      assert.equal(before.connection.state, 'connected');
      assert.equal(before.welcomes, 1);
      assert.ok(liveSessions(hub.hub).some((s) => s.agentId === 'before'));
    } finally {
      await before.stop();
      await after.stop();
      await hub.close();
    }
  });

  test('a new client CA bundle admits agents of the new CA', async () => {
    const serverCa = await makeCa(dir, 'server');
    const agentsOld = await makeCa(dir, 'agents-old');
    const agentsNew = await makeCa(dir, 'agents-new');
    const clientCaFile = dir.file('client-ca-bundle.pem', agentsOld.ca.certPem);
    const hub = await startTestHub({
      grpc: {
        tls: { ...dir.pair('hub2', await hubCertificate(serverCa)), clientCaFile, clientAuth: 'require', reloadIntervalSeconds: RELOAD_SECONDS },
        allowAnyIdentity: true,
      },
    });
    const client = dir.pair('new-ca-agent', await clientCertificate(agentsNew, 'new-ca-agent'));
    const agent = new TestAgent({ grpc: hub.address, tls: { cacertFile: serverCa.caFile, clientCertFile: client.certFile, clientKeyFile: client.keyFile } }, [
      account('rot-ca'),
    ]).start();
    try {
      await agent.waitForTlsDiagnosis(/does not accept the client certificate/);
      writeFileSync(clientCaFile, agentsOld.ca.certPem + agentsNew.ca.certPem);
      await agent.waitForWelcome(1, 10_000);
      assert.equal(agent.acceptance('rot-ca')?.accepted, true);
    } finally {
      await agent.stop();
      await hub.close();
    }
  });
});

describe('rotation of the agent client certificate without a restart', () => {
  const dir = new TempDir();
  let hub: TestHub;
  let ca: Awaited<ReturnType<typeof makeCa>>;

  before(async () => {
    ca = await makeCa(dir, 'pki');
    hub = await startTestHub({
      grpc: { tls: { ...dir.pair('hub', await hubCertificate(ca)), clientCaFile: ca.caFile, clientAuth: 'require' } },
      identities: [
        { name: 'agent-v1', match: { subject: 'agent-v1' }, accounts: ['rot-*'] },
        { name: 'agent-v2', match: { subject: 'agent-v2' }, accounts: ['rot-*'] },
      ],
    });
  });

  after(async () => {
    await hub.close();
    dir.remove();
  });

  test('the next connection uses the new certificate; a half-written pair keeps the previous one', async () => {
    const v1 = await clientCertificate(ca, 'agent-v1');
    const v2 = await clientCertificate(ca, 'agent-v2', { notAfter: new Date(Date.now() + 3600_000) });
    const files = dir.pair('client', v1);
    const agent = new TestAgent({ grpc: hub.address, tls: { cacertFile: ca.caFile, clientCertFile: files.certFile, clientKeyFile: files.keyFile } }, [
      account('rot-agent'),
    ]).start();
    const identityNow = () =>
      liveSessions(hub.hub)
        .find((s) => s.agentId === 'test-agent')
        ?.identity?.names.join(',');
    try {
      await agent.waitForWelcome();
      assert.equal(identityNow(), 'agent-v1');

      // New certificate, old key: unusable, so the reconnect keeps the previous client.
      writeFileSync(files.certFile, v2.certPem);
      dropSessions(hub);
      await agent.waitForWelcome(2);
      assert.equal(identityNow(), 'agent-v1');
      assert.ok(
        agent.log.lines().some((l) => l.level === 50 && /cannot use the TLS files for the hub/.test(l.msg) && /does not belong to the certificate/.test(l.err)),
      );

      writeFileSync(files.keyFile, v2.keyPem);
      dropSessions(hub);
      await agent.waitForWelcome(3);
      assert.equal(identityNow(), 'agent-v2');
      assert.equal(liveSessions(hub.hub).find((s) => s.agentId === 'test-agent')?.identity?.certificate?.serialNumber, serialOf(v2));
      assert.ok(agent.log.lines().some((l) => l.msg === 'the TLS files for the hub changed; connecting with the new ones'));
      assert.equal(agent.acceptance('rot-agent')?.accepted, true);
    } finally {
      await agent.stop();
    }
  });
});

describe('bearer token from a command', () => {
  const dir = new TempDir();
  let hub: TestHub;
  let ca: Awaited<ReturnType<typeof makeCa>>;
  const script = [
    "const fs = require('node:fs');",
    'const [tokenFile, countFile, format] = process.argv.slice(1);',
    "fs.appendFileSync(countFile, '.');",
    "const token = fs.readFileSync(tokenFile, 'utf8').trim();",
    "process.stdout.write(format === 'json' ? JSON.stringify({ token }) : token + '\\n');",
  ].join('\n');

  before(async () => {
    ca = await makeCa(dir, 'pki');
    hub = await startTestHub({
      grpc: { tls: dir.pair('hub', await hubCertificate(ca)) },
      identities: [
        { name: 'token-a', match: { token: 'token-AAAA' }, accounts: ['cmd-*'] },
        { name: 'token-b', match: { token: 'token-BBBB' }, accounts: ['cmd-*'] },
      ],
    });
  });

  after(async () => {
    await hub.close();
    dir.remove();
  });

  function commandAgent(name: string, token: string | undefined, tokenCommand: Record<string, unknown>) {
    const tokenFile = join(dir.path, `${name}-token`);
    const countFile = join(dir.path, `${name}-count`);
    if (token !== undefined) writeFileSync(tokenFile, token);
    writeFileSync(countFile, '');
    const agent = new TestAgent(
      {
        grpc: hub.address,
        tls: { cacertFile: ca.caFile },
        auth: {
          tokenCommand: { command: process.execPath, args: ['-e', script, tokenFile, countFile, String(tokenCommand.format ?? 'raw')], ...tokenCommand },
        },
      },
      [account(`cmd-${name}`)],
      name,
    ).start();
    return { agent, tokenFile, runs: () => readFileSync(countFile, 'utf8').length };
  }

  const identityOf = (agentId: string) =>
    liveSessions(hub.hub)
      .find((s) => s.agentId === agentId)
      ?.identity?.names.join(',');

  test('refreshed in the background: new calls carry the new token', async () => {
    const { agent, tokenFile, runs } = commandAgent('refresh', 'token-AAAA', { refreshIntervalSeconds: 1 });
    try {
      await agent.waitForWelcome();
      assert.equal(identityOf('refresh'), 'token-a');
      writeFileSync(tokenFile, 'token-BBBB');
      const runsAtWrite = runs();
      await waitFor(() => runs() >= runsAtWrite + 2, { timeoutMs: 10_000, what: 'two more runs of the token command' });
      // A sync stream opened on the established session carries the new token, and is accepted (token-b may stream cmd-*).
      const sync = agent.connection.connected!.openSync();
      sync.on('error', () => undefined);
      const reply = new Promise<SyncResponse>((resolve) => sync.on('data', resolve));
      sync.write(create(SyncRequestSchema, { kind: { case: 'open', value: { sessionId: agent.connection.connected!.sessionId, account: 'cmd-refresh' } } }));
      assert.equal((await reply).kind.case, 'ready');
      sync.cancel();
      // The next session too.
      dropSessions(hub);
      await agent.waitForWelcome(2);
      assert.equal(identityOf('refresh'), 'token-b');
    } finally {
      await agent.stop();
    }
  });

  test('refreshIntervalSeconds 0 runs the command for every connection; json format', async () => {
    const { agent, runs } = commandAgent('every', 'token-BBBB', { refreshIntervalSeconds: 0, format: 'json' });
    try {
      await agent.waitForWelcome();
      assert.equal(identityOf('every'), 'token-b');
      const first = runs();
      dropSessions(hub);
      await agent.waitForWelcome(2);
      assert.equal(runs(), first + 1);
    } finally {
      await agent.stop();
    }
  });

  test('a failing command holds the connection back until it succeeds', async () => {
    const { agent, tokenFile } = commandAgent('failing', undefined, {});
    try {
      const reason = await agent.waitForFailure(/no credentials for the hub: token command .* failed/);
      assert.doesNotMatch(reason, /token-/);
      assert.ok(agent.log.lines().some((l) => l.level === 50 && l.code === 'AUTH_TOKEN_UNAVAILABLE'));
      assert.equal(agent.welcomes, 0);
      writeFileSync(tokenFile, 'token-AAAA');
      await agent.waitForWelcome(1, 10_000);
      assert.equal(identityOf('failing'), 'token-a');
    } finally {
      await agent.stop();
    }
  });
});
