// The agent's own ports as an Armory configuration sets them: the admin port over TLS (server.ssl) and
// the metrics on a port of their own (prometheus.*), from a real agent started in process. No hub
// answers: the ports serve whatever the session's state.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isScaleAgentError } from '../../src/common/errors.ts';
import { silentLogger } from '../../src/common/logger.ts';
import { createCertificateAuthority, issueCertificate } from '../../src/common/pki.ts';
import { startAgent, type RunningAgent } from '../../src/agent/agent.ts';
import { parseAgentConfigText } from '../../src/agent/config-loader.ts';
import { freePort } from '../support/free-port.ts';

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe("the agent's admin port over TLS and its Prometheus port, as an Armory file sets them", () => {
  const dir = mkdtempSync(join(tmpdir(), 'scale-agent-admin-ports-'));
  let agent: RunningAgent;
  let ca: string;
  let metricsPort: number;

  before(async () => {
    const authority = await createCertificateAuthority({ commonName: 'admin-ports-ca' });
    const serving = await issueCertificate({ ca: authority, commonName: 'agent', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
    ca = authority.certPem;
    writeFileSync(join(dir, 'tls.crt'), serving.certPem);
    writeFileSync(join(dir, 'tls.key'), serving.keyPem);
    metricsPort = await freePort();
    const text = [
      'server:',
      '  host: 127.0.0.1',
      '  port: 0',
      '  ssl:',
      '    enabled: true',
      `    certFile: ${join(dir, 'tls.crt')}`,
      `    keyFile: ${join(dir, 'tls.key')}`,
      'prometheus:',
      '  enabled: true',
      `  port: ${metricsPort}`,
      'clouddriver:',
      `  grpc: 127.0.0.1:${await freePort()}`,
      '  insecure: true',
      'kubernetes:',
      '  accounts: []',
      '  inClusterAccount: { mode: never }',
    ].join('\n');
    agent = await startAgent(parseAgentConfigText(text, 'armory-agent.yml', {}, {}).config, silentLogger());
  });

  after(async () => {
    await agent?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the admin port answers over TLS with the configured certificate', async () => {
    assert.match(agent.adminUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
    const live = await httpsGet(`${agent.adminUrl}/health/liveness`, ca);
    assert.equal(live.status, 200);
    const ready = await httpsGet(`${agent.adminUrl}/health/readiness`, ca);
    assert.equal(ready.status, 503, 'no hub session yet');
    assert.match(ready.body, /"hub":"(connecting|backoff)"/);
  });

  test("the Prometheus port serves the metrics at both of Armory's paths", async () => {
    for (const path of ['/metrics', '/prometheus_metrics']) {
      const response = await fetch(`http://127.0.0.1:${metricsPort}${path}`);
      assert.equal(response.status, 200, path);
      assert.match(await response.text(), /^scale_agent_config_reloads_total|scale_agent_watches/m, path);
    }
  });

  test('a busy admin port stops the start naming server.port', async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const config = parseAgentConfigText(
        `server: { host: 127.0.0.1, port: ${port} }\nclouddriver: { grpc: "127.0.0.1:1", insecure: true }\nkubernetes: { inClusterAccount: { mode: never } }\n`,
        'agent.yaml',
        {},
        {},
      ).config;
      await assert.rejects(
        startAgent(config, silentLogger()),
        (err: unknown) => isScaleAgentError(err, 'PORT_UNAVAILABLE') && /server\.port/.test(err.message),
      );
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });
});
