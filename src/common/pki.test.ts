import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type TLSSocket } from 'node:tls';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { createCertificateAuthority, issueCertificate } from './pki.ts';

async function handshake(
  serverCert: { certPem: string; keyPem: string },
  caPem: string,
  servername = 'localhost',
): Promise<{ authorized: boolean; error?: string }> {
  const server = createServer({ cert: serverCert.certPem, key: serverCert.keyPem }, (socket) => socket.end('hello'));
  server.on('tlsClientError', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  try {
    const socket: TLSSocket = connect({ host: '127.0.0.1', port, ca: caPem, servername, rejectUnauthorized: false });
    await once(socket, 'secureConnect');
    const result = { authorized: socket.authorized, error: socket.authorizationError?.toString() };
    socket.destroy();
    return result;
  } finally {
    server.close();
  }
}

test('a server certificate issued by the CA passes a real TLS handshake', async () => {
  const ca = await createCertificateAuthority({ commonName: 'test-ca' });
  const cert = await issueCertificate({ ca, commonName: 'server', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
  assert.match(cert.keyPem, /BEGIN PRIVATE KEY/);
  const result = await handshake(cert, ca.certPem);
  assert.equal(result.authorized, true, result.error);
  const parsed = new X509Certificate(cert.certPem);
  assert.match(parsed.subjectAltName ?? '', /DNS:localhost/);
  assert.match(parsed.subjectAltName ?? '', /IP Address:127.0.0.1/);
});

test('a certificate from another CA, or an expired one, is refused', async () => {
  const ca = await createCertificateAuthority({ commonName: 'ca-one' });
  const other = await createCertificateAuthority({ commonName: 'ca-two' });
  const cert = await issueCertificate({ ca, commonName: 'server', dnsNames: ['localhost'], usage: 'both', organization: 'sim' });
  assert.equal((await handshake(cert, other.certPem)).authorized, false);
  const hour = 3600_000;
  const expired = await issueCertificate({
    ca,
    commonName: 'old',
    dnsNames: ['localhost'],
    usage: 'server',
    notBefore: new Date(Date.now() - 2 * hour),
    notAfter: new Date(Date.now() - hour),
  });
  const result = await handshake(expired, ca.certPem);
  assert.equal(result.authorized, false);
  assert.match(result.error ?? '', /CERT_HAS_EXPIRED/);
});
