import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isScaleAgentError } from '../../common/errors.ts';
import { createCertificateAuthority, issueCertificate, type CertificateAndKey } from '../../common/pki.ts';
import { parseAgentConfigText } from '../config-loader.ts';
import { adminTlsOptions } from './admin-tls.ts';

const dir = mkdtempSync(join(tmpdir(), 'scale-agent-admin-tls-'));
const file = (name: string, contents: string) => {
  const path = join(dir, name);
  writeFileSync(path, contents, { mode: 0o600 });
  return path;
};

let ca: CertificateAndKey;
let serverPair: CertificateAndKey;
let client: CertificateAndKey;
let stranger: CertificateAndKey;

before(async () => {
  ca = await createCertificateAuthority({ commonName: 'admin CA' });
  const other = await createCertificateAuthority({ commonName: 'other CA' });
  serverPair = await issueCertificate({ ca, commonName: 'agent', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
  client = await issueCertificate({ ca, commonName: 'prometheus', usage: 'client' });
  stranger = await issueCertificate({ ca: other, commonName: 'stranger', usage: 'client' });
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** `server.ssl` as an Armory configuration writes it, through the agent's configuration loader. */
function ssl(values: Record<string, unknown>) {
  return parseAgentConfigText(JSON.stringify({ server: { ssl: values } }), 'agent.yaml', {}, {}).config.server.ssl;
}

async function serve(values: Record<string, unknown>): Promise<{ port: number; close: () => Promise<void> }> {
  const tls = adminTlsOptions(ssl(values));
  assert.ok(tls);
  const server: Server = createServer(tls.options, (_req, res) => res.end('UP'));
  tls.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** GET /health over TLS trusting the admin CA, with a client certificate or none: the body, or the error's text. */
function get(port: number, identity?: CertificateAndKey): Promise<string> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/health',
        ca: ca.certPem,
        servername: 'localhost',
        agent: false,
        ...(identity ? { cert: identity.certPem, key: identity.keyPem } : {}),
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve(body));
        res.on('error', (err) => resolve(`error: ${err.message}`));
      },
    );
    req.on('error', (err) => resolve(`error: ${err.message}`));
    req.end();
  });
}

test('server.ssl is off by default; enabled needs certFile; keyPassword and caCertFile are Armory spellings', () => {
  assert.equal(adminTlsOptions(ssl({})), undefined);
  assert.throws(() => ssl({ enabled: true }), /server\.ssl\.certFile: server\.ssl\.enabled needs certFile/);
  assert.throws(() => ssl({ enabled: true, certFile: 'a', clientAuth: 'sometimes' }), /server\.ssl\.clientAuth: unknown clientAuth "sometimes"/);
  assert.equal(ssl({ clientAuth: 'NEED' }).clientAuth, 'need');
  assert.equal(ssl({ keyPassword: 'secret' }).keyFilePassword, 'secret');
  assert.equal(ssl({ caCertFile: '/ca.pem' }).cacertFile, '/ca.pem');
});

test('unreadable files stop the start naming the key', () => {
  assert.throws(
    () => adminTlsOptions(ssl({ enabled: true, certFile: join(dir, 'missing.pem') })),
    (err: unknown) => isScaleAgentError(err, 'TLS_FILES_INVALID') && /server\.ssl\.certFile: .*missing\.pem: cannot read the file \(ENOENT\)/.test(err.message),
  );
  const certOnly = file('cert-only.pem', serverPair.certPem);
  assert.throws(
    () => adminTlsOptions(ssl({ enabled: true, certFile: certOnly })),
    (err: unknown) => isScaleAgentError(err, 'TLS_FILES_INVALID') && /no keyFile: the key must be in it/.test(err.message),
  );
});

describe('the admin server over TLS', () => {
  test('with the key in the certificate file, and no client certificate asked for', async () => {
    const server = await serve({ enabled: true, certFile: file('both.pem', serverPair.certPem + serverPair.keyPem) });
    try {
      assert.equal(await get(server.port), 'UP');
    } finally {
      await server.close();
    }
  });

  test('clientAuth need: only a certificate from the CA gets in', async () => {
    const server = await serve({
      enabled: true,
      certFile: file('server.pem', serverPair.certPem),
      keyFile: file('server-key.pem', serverPair.keyPem),
      caCertFile: file('ca.pem', ca.certPem),
      clientAuth: 'need',
    });
    try {
      assert.equal(await get(server.port, client), 'UP');
      assert.match(await get(server.port), /^error: /);
      assert.match(await get(server.port, stranger), /^error: /);
    } finally {
      await server.close();
    }
  });

  test('clientAuth want: no certificate is fine, a bad one is not', async () => {
    const server = await serve({
      enabled: true,
      certFile: file('server.pem', serverPair.certPem),
      keyFile: file('server-key.pem', serverPair.keyPem),
      cacertFile: file('ca.pem', ca.certPem),
      clientAuth: 'want',
    });
    try {
      assert.equal(await get(server.port), 'UP');
      assert.equal(await get(server.port, client), 'UP');
      assert.match(await get(server.port, stranger), /^error: /);
    } finally {
      await server.close();
    }
  });

  test('clientAuth any: some certificate is required, whoever issued it', async () => {
    const server = await serve({
      enabled: true,
      certFile: file('server.pem', serverPair.certPem),
      keyFile: file('server-key.pem', serverPair.keyPem),
      clientAuth: 'any',
    });
    try {
      assert.equal(await get(server.port, stranger), 'UP');
      assert.match(await get(server.port), /^error: /);
    } finally {
      await server.close();
    }
  });
});
