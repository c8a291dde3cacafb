// Agent ↔ hub transport: plaintext only when both sides say so, TLS with server verification, mTLS
// with client certificates (PKCS#8 and PKCS#1 keys), and every way a handshake must fail. Real gRPC
// servers on 127.0.0.1, certificates from pki.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/common/config.ts';
import { isScaleAgentError } from '../../src/common/errors.ts';
import { convertPrivateKeyPem } from '../../src/common/pki.ts';
import { silentLogger } from '../../src/common/logger.ts';
import { agentConfigSchema } from '../../src/agent/config.ts';
import { hubConfigSchema } from '../../src/hub/config.ts';
import { startHub } from '../../src/hub/hub.ts';
import {
  HOUR_MS,
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

const ANY = { allowAnyIdentity: true };

describe('plaintext only when configured explicitly, with a warning on both sides', () => {
  test('the hub refuses to start without grpc.tls or grpc.insecure, and without identities or allowAnyIdentity', async () => {
    const base = { server: { host: '127.0.0.1', port: 0 }, database: { url: 'sqlite::memory:' } };
    await assert.rejects(
      startHub(parseConfig(hubConfigSchema, { ...base, grpc: { host: '127.0.0.1', port: 0, allowAnyIdentity: true } }, 't'), silentLogger()),
      (err) => isScaleAgentError(err, 'CONFIG_INVALID') && /grpc\.tls: set grpc\.tls\.certFile/.test(err.message),
    );
    await assert.rejects(
      startHub(parseConfig(hubConfigSchema, { ...base, grpc: { host: '127.0.0.1', port: 0, insecure: true } }, 't'), silentLogger()),
      (err) => isScaleAgentError(err, 'CONFIG_INVALID') && /identities: none configured.*grpc\.allowAnyIdentity: true/.test(err.message),
    );
    assert.throws(
      () => parseConfig(hubConfigSchema, { grpc: { insecure: true, tls: { certFile: 'a', keyFile: 'b' } } }, 'hub.yaml'),
      (err) => isScaleAgentError(err, 'CONFIG_INVALID') && /grpc\.insecure: grpc\.insecure: true and grpc\.tls are exclusive/.test(err.message),
    );
    assert.throws(
      () => parseConfig(hubConfigSchema, { grpc: { tls: { certFile: 'a', keyFile: 'b', clientAuth: 'require' } } }, 'hub.yaml'),
      /grpc\.tls\.clientCaFile: clientAuth require needs clientCaFile/,
    );
    assert.throws(
      () =>
        parseConfig(
          hubConfigSchema,
          { grpc: { tls: { certFile: 'a', keyFile: 'b' } }, identities: [{ name: 'x', match: { subject: 'x' }, accounts: ['*'] }] },
          'hub.yaml',
        ),
      /identities\[0\]\.match\.subject: matches a client certificate, but the hub does not ask for one/,
    );
    // clientCaFile alone means mTLS.
    assert.equal(
      parseConfig(hubConfigSchema, { grpc: { tls: { certFile: 'a', keyFile: 'b', clientCaFile: 'c' } } }, 'hub.yaml').grpc.tls?.clientAuth,
      'require',
    );
  });

  test('the agent defaults to TLS; insecure and tls.* together are refused', () => {
    const config = parseConfig(agentConfigSchema, {}, 'agent.yaml');
    assert.equal(config.clouddriver.insecure, false);
    assert.throws(
      () => parseConfig(agentConfigSchema, { clouddriver: { insecure: true, tls: { cacertFile: '/ca.pem' } } }, 'agent.yaml'),
      /clouddriver\.tls\.cacertFile: tls\.cacertFile needs TLS, but insecure is true/,
    );
    assert.throws(
      () => parseConfig(agentConfigSchema, { clouddriver: { tls: { clientCertFile: '/c.pem' } } }, 'agent.yaml'),
      /clouddriver\.tls\.clientKeyFile: clientCertFile and clientKeyFile go together/,
    );
    assert.throws(
      () => parseConfig(agentConfigSchema, { clouddriver: { auth: { token: 't', tokenCommand: { command: 'x' } } } }, 'agent.yaml'),
      /token and tokenCommand are exclusive/,
    );
  });

  test('a plaintext hub and agent work, and each warns at start', async () => {
    const hub = await startTestHub({ grpc: { insecure: true, ...ANY } });
    const agent = new TestAgent({ grpc: hub.address, insecure: true }, [account('plain')]).start();
    try {
      await agent.waitForWelcome();
      assert.equal(agent.acceptance('plain')?.accepted, true);
      assert.ok(hub.log.lines().some((l) => l.level === 40 && /gRPC port for agents is plaintext/.test(l.msg)));
      assert.ok(hub.log.lines().some((l) => l.level === 40 && /any agent that reaches the gRPC port may register any account/.test(l.msg)));
      assert.ok(agent.log.lines().some((l) => l.level === 40 && /connection to the hub is plaintext/.test(l.msg)));
    } finally {
      await agent.stop();
      await hub.close();
    }
  });

  test('a TLS agent does not fall back to plaintext against a plaintext hub', async () => {
    const hub = await startTestHub({ grpc: { insecure: true, ...ANY } });
    const agent = new TestAgent({ grpc: hub.address }, [account('never')]).start();
    try {
      await agent.waitForFailure(/UNAVAILABLE/);
      assert.equal(agent.welcomes, 0);
      assert.equal(await hub.hub.store.getAccount('never'), undefined);
    } finally {
      await agent.stop();
      await hub.close();
    }
  });
});

test('a plaintext agent cannot talk to a TLS hub', async () => {
  const dir = new TempDir();
  const ca = await makeCa(dir, 'hub');
  const hub = await startTestHub({ grpc: { tls: dir.pair('hub', await hubCertificate(ca)), ...ANY } });
  const agent = new TestAgent({ grpc: hub.address, insecure: true }, [account('plain-to-tls')]).start();
  try {
    await agent.waitForFailure(/UNAVAILABLE|Protocol error|ended|closed/);
    assert.equal(agent.welcomes, 0);
    assert.equal(await hub.hub.store.getAccount('plain-to-tls'), undefined);
  } finally {
    await agent.stop();
    await hub.close();
    dir.remove();
  }
});

describe('TLS: the agent verifies the hub', () => {
  const dir = new TempDir();
  let ca: TestCa;
  let other: TestCa;
  let hub: TestHub;
  let expiredHub: TestHub;
  let namedHub: TestHub;

  before(async () => {
    ca = await makeCa(dir, 'hub');
    other = await makeCa(dir, 'other');
    hub = await startTestHub({ grpc: { tls: dir.pair('hub', await hubCertificate(ca)), ...ANY } });
    const expired = await hubCertificate(ca, { notBefore: new Date(Date.now() - 2 * HOUR_MS), notAfter: new Date(Date.now() - HOUR_MS) });
    expiredHub = await startTestHub({ grpc: { tls: dir.pair('hub-expired', expired), ...ANY } });
    // A certificate only for hub.internal: reaching it at 127.0.0.1 needs tls.serverName.
    namedHub = await startTestHub({
      grpc: { tls: dir.pair('hub-named', await ca.issue({ commonName: 'hub.internal', dnsNames: ['hub.internal'], usage: 'server' })), ...ANY },
    });
  });

  after(async () => {
    await Promise.all([hub.close(), expiredHub.close(), namedHub.close()]);
    dir.remove();
  });

  test('an agent trusting the hub CA connects', async () => {
    const agent = new TestAgent({ grpc: hub.address, tls: { cacertFile: ca.caFile } }, [account('tls-ok')]).start();
    try {
      await agent.waitForWelcome();
      assert.equal(agent.acceptance('tls-ok')?.accepted, true);
      assert.ok(hub.log.lines().some((l) => l.msg === 'gRPC port security' && l.transport === 'tls'));
      assert.ok(agent.log.lines().some((l) => l.msg === 'hub connection security' && l.transport === 'tls'));
    } finally {
      await agent.stop();
    }
  });

  test('an agent that does not trust the hub CA refuses the connection; nothing registers', async () => {
    const agent = new TestAgent({ grpc: hub.address, tls: { cacertFile: other.caFile } }, [account('tls-wrong-ca')]).start();
    try {
      const reason = await agent.waitForFailure(/certificate/i);
      assert.match(reason, /UNAVAILABLE/);
      await agent.waitForTlsDiagnosis(/unable to verify the first certificate|self-signed certificate|unable to get local issuer certificate/);
      assert.ok(agent.log.lines().some((l) => l.msg === 'hub session ended; reconnecting' && /certificate/i.test(l.reason)));
      assert.equal(agent.welcomes, 0);
      assert.equal(await hub.hub.store.getAccount('tls-wrong-ca'), undefined);
    } finally {
      await agent.stop();
    }
  });

  test('without cacertFile the public roots are used, which do not include a private CA', async () => {
    const agent = new TestAgent({ grpc: hub.address }, [account('tls-public-roots')]).start();
    try {
      await agent.waitForFailure(/certificate/i);
      assert.equal(agent.welcomes, 0);
    } finally {
      await agent.stop();
    }
  });

  test('an expired hub certificate is refused', async () => {
    const agent = new TestAgent({ grpc: expiredHub.address, tls: { cacertFile: ca.caFile } }, [account('tls-expired')]).start();
    try {
      await agent.waitForFailure(/certificate has expired/i);
      assert.equal(agent.welcomes, 0);
    } finally {
      await agent.stop();
    }
  });

  test('tls.serverName checks the certificate against another name than the address', async () => {
    const mismatch = new TestAgent({ grpc: namedHub.address, tls: { cacertFile: ca.caFile } }, [account('tls-name')]).start();
    try {
      await mismatch.waitForFailure(/not in the cert's altnames|does not match certificate|altnames/i);
      assert.equal(mismatch.welcomes, 0);
    } finally {
      await mismatch.stop();
    }
    const named = new TestAgent({ grpc: namedHub.address, tls: { cacertFile: ca.caFile, serverName: 'hub.internal' } }, [account('tls-name')]).start();
    try {
      await named.waitForWelcome();
      assert.equal(named.acceptance('tls-name')?.accepted, true);
    } finally {
      await named.stop();
    }
  });

  test('unreadable or mismatched TLS files stop the agent at start with TLS_FILES_INVALID', async () => {
    assert.throws(
      () => new TestAgent({ grpc: hub.address, tls: { cacertFile: `${dir.path}/missing.pem` } }, []),
      (err) => isScaleAgentError(err, 'TLS_FILES_INVALID') && /clouddriver\.tls\.cacertFile: .*missing\.pem: cannot read the file \(ENOENT\)/.test(err.message),
    );
    const a = dir.pair('client-a', await clientCertificate(ca, 'a'));
    const b = dir.pair('client-b', await clientCertificate(ca, 'b'));
    assert.throws(
      () => new TestAgent({ grpc: hub.address, tls: { cacertFile: ca.caFile, clientCertFile: a.certFile, clientKeyFile: b.keyFile } }, []),
      (err) => isScaleAgentError(err, 'TLS_FILES_INVALID') && /clouddriver\.tls\.clientKeyFile: .*does not belong to the certificate/.test(err.message),
    );
  });
});

describe('mTLS: the hub requires a client certificate from its client CA', () => {
  const dir = new TempDir();
  let ca: TestCa;
  let agentsCa: TestCa;
  let otherCa: TestCa;
  let hub: TestHub;

  before(async () => {
    ca = await makeCa(dir, 'hub');
    agentsCa = await makeCa(dir, 'agents');
    otherCa = await makeCa(dir, 'other');
    hub = await startTestHub({ grpc: { tls: { ...dir.pair('hub', await hubCertificate(ca)), clientCaFile: agentsCa.caFile, clientAuth: 'require' }, ...ANY } });
  });

  after(async () => {
    await hub.close();
    dir.remove();
  });

  const tls = (files: { certFile: string; keyFile: string }) => ({ cacertFile: ca.caFile, clientCertFile: files.certFile, clientKeyFile: files.keyFile });

  test('a client certificate with a PKCS#8 key connects', async () => {
    const pair = await clientCertificate(agentsCa, 'agent-pkcs8');
    assert.match(pair.keyPem, /BEGIN PRIVATE KEY/);
    const agent = new TestAgent({ grpc: hub.address, tls: tls(dir.pair('agent-pkcs8', pair)) }, [account('mtls-pkcs8')]).start();
    try {
      await agent.waitForWelcome();
      assert.equal(agent.acceptance('mtls-pkcs8')?.accepted, true);
      const session = liveSessions(hub.hub).find((s) => s.agentId === 'test-agent' && s.identity?.certificate?.subject === 'CN=agent-pkcs8');
      assert.ok(session, 'the hub saw the client certificate');
    } finally {
      await agent.stop();
    }
  });

  test('a client certificate with a PKCS#1 (RSA) key connects', async () => {
    const pair = await clientCertificate(agentsCa, 'agent-pkcs1', { keyAlgorithm: 'rsa-2048' });
    const pkcs1 = convertPrivateKeyPem(pair.keyPem, 'pkcs1');
    assert.match(pkcs1, /BEGIN RSA PRIVATE KEY/);
    const agent = new TestAgent({ grpc: hub.address, tls: tls(dir.pair('agent-pkcs1', pair, pkcs1)) }, [account('mtls-pkcs1')]).start();
    try {
      await agent.waitForWelcome();
      assert.equal(agent.acceptance('mtls-pkcs1')?.accepted, true);
    } finally {
      await agent.stop();
    }
  });

  test('an encrypted key opens with clientKeyFilePassword, and a SEC1 EC key works too', async () => {
    const { createPrivateKey } = await import('node:crypto');
    const pair = await clientCertificate(agentsCa, 'agent-encrypted');
    const encrypted = createPrivateKey(pair.keyPem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'open sesame' }).toString();
    const files = dir.pair('agent-encrypted', pair, encrypted);
    assert.throws(() => new TestAgent({ grpc: hub.address, tls: tls(files) }, []), /the key is encrypted: set its password/);
    const agent = new TestAgent({ grpc: hub.address, tls: { ...tls(files), clientKeyFilePassword: 'open sesame' } }, [account('mtls-encrypted')]).start();
    const sec1Pair = await clientCertificate(agentsCa, 'agent-sec1');
    const sec1 = new TestAgent(
      { grpc: hub.address, tls: tls(dir.pair('agent-sec1', sec1Pair, convertPrivateKeyPem(sec1Pair.keyPem, 'sec1'))) },
      [account('mtls-sec1')],
      'sec1-agent',
    ).start();
    try {
      await agent.waitForWelcome();
      await sec1.waitForWelcome();
      assert.equal(agent.acceptance('mtls-encrypted')?.accepted, true);
      assert.equal(sec1.acceptance('mtls-sec1')?.accepted, true);
    } finally {
      await agent.stop();
      await sec1.stop();
    }
  });

  test('no client certificate: the handshake is refused', async () => {
    const agent = new TestAgent({ grpc: hub.address, tls: { cacertFile: ca.caFile } }, [account('mtls-none')]).start();
    try {
      await agent.waitForTlsDiagnosis(/alert certificate required/);
      assert.equal(agent.welcomes, 0);
      assert.equal(await hub.hub.store.getAccount('mtls-none'), undefined);
    } finally {
      await agent.stop();
    }
  });

  test('a client certificate signed by another CA is refused', async () => {
    const pair = await clientCertificate(otherCa, 'agent-other-ca');
    const agent = new TestAgent({ grpc: hub.address, tls: tls(dir.pair('agent-other-ca', pair)) }, [account('mtls-other-ca')]).start();
    try {
      await agent.waitForTlsDiagnosis(/does not accept the client certificate \(CN=agent-other-ca\)/);
      assert.equal(agent.welcomes, 0);
      assert.equal(await hub.hub.store.getAccount('mtls-other-ca'), undefined);
    } finally {
      await agent.stop();
    }
  });

  test('an expired client certificate is refused', async () => {
    const pair = await clientCertificate(agentsCa, 'agent-expired', {
      notBefore: new Date(Date.now() - 2 * HOUR_MS),
      notAfter: new Date(Date.now() - HOUR_MS),
    });
    const agent = new TestAgent({ grpc: hub.address, tls: tls(dir.pair('agent-expired', pair)) }, [account('mtls-expired')]).start();
    try {
      await agent.waitForTlsDiagnosis(/client certificate \(CN=agent-expired\) expired at/);
      assert.equal(agent.welcomes, 0);
      assert.equal(await hub.hub.store.getAccount('mtls-expired'), undefined);
    } finally {
      await agent.stop();
    }
  });
});

describe('clientAuth optional: a certificate is verified when given, and only a verified one is an identity', () => {
  const dir = new TempDir();
  let ca: TestCa;
  let otherCa: TestCa;
  let hub: TestHub;

  before(async () => {
    ca = await makeCa(dir, 'hub');
    otherCa = await makeCa(dir, 'other');
    hub = await startTestHub({
      grpc: { tls: { ...dir.pair('hub', await hubCertificate(ca)), clientCaFile: ca.caFile, clientAuth: 'optional' } },
      identities: [
        { name: 'by-cert', match: { subject: 'agent-optional' }, accounts: ['opt-*'] },
        { name: 'by-token', match: { token: 'optional-token-value' }, accounts: ['tok-*'] },
      ],
    });
  });

  after(async () => {
    await hub.close();
    dir.remove();
  });

  test('a token without a certificate is enough', async () => {
    const agent = new TestAgent({ grpc: hub.address, tls: { cacertFile: ca.caFile }, auth: { token: 'optional-token-value' } }, [account('tok-1')]).start();
    try {
      await agent.waitForWelcome();
      assert.equal(agent.acceptance('tok-1')?.accepted, true);
    } finally {
      await agent.stop();
    }
  });

  test('a certificate from the client CA is an identity', async () => {
    const files = dir.pair('agent-optional', await clientCertificate(ca, 'agent-optional'));
    const agent = new TestAgent({ grpc: hub.address, tls: { cacertFile: ca.caFile, clientCertFile: files.certFile, clientKeyFile: files.keyFile } }, [
      account('opt-1'),
    ]).start();
    try {
      await agent.waitForWelcome();
      assert.equal(agent.acceptance('opt-1')?.accepted, true);
    } finally {
      await agent.stop();
    }
  });

  test('a certificate from another CA counts for nothing: the agent is refused', async () => {
    const files = dir.pair('agent-forged', await clientCertificate(otherCa, 'agent-optional'));
    const agent = new TestAgent({ grpc: hub.address, tls: { cacertFile: ca.caFile, clientCertFile: files.certFile, clientKeyFile: files.keyFile } }, [
      account('opt-2'),
    ]).start();
    try {
      const reason = await agent.waitForFailure(/AGENT_UNAUTHENTICATED/);
      assert.match(reason, /neither a client certificate nor a bearer token/);
      assert.equal(await hub.hub.store.getAccount('opt-2'), undefined);
      assert.ok(hub.log.lines().some((l) => l.code === 'AGENT_UNAUTHENTICATED' && /refusing agent session/.test(l.msg)));
    } finally {
      await agent.stop();
    }
  });
});
