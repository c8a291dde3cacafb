import { createCertificateAuthority, issueCertificate } from '../../common/pki.ts';

/** A throwaway CA with a server certificate for 127.0.0.1/localhost and a client certificate, for tests. */
export interface TlsFixture {
  caPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  clientCertPem: string;
  clientKeyPem: string;
}

let cached: Promise<TlsFixture> | undefined;

/** Generated once per process: key generation is the slow part of TLS tests. */
export function tlsFixture(): Promise<TlsFixture> {
  cached ??= generate();
  return cached;
}

async function generate(): Promise<TlsFixture> {
  const ca = await createCertificateAuthority({ commonName: 'scale-agent kube test CA' });
  const server = await issueCertificate({ ca, commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
  const client = await issueCertificate({ ca, commonName: 'test-user', usage: 'client' });
  return { caPem: ca.certPem, serverCertPem: server.certPem, serverKeyPem: server.keyPem, clientCertPem: client.certPem, clientKeyPem: client.keyPem };
}
