import type { Server as TlsServer, TLSSocket, TlsOptions } from 'node:tls';
import { readTlsMaterial, type TlsFiles } from '../../common/tls-files.ts';
import type { AdminClientAuth, ServerSslConfig } from '../server-config.ts';

/** TLS for the admin server (`server.ssl`): the options to create it with, and the checks Node cannot express as options. */
export interface AdminTls {
  /** For `https.createServer(options)` or Fastify's `https` option. */
  options: TlsOptions;
  clientAuth: AdminClientAuth;
  /**
   * Attach to the listening server: for clientAuth `any` (a certificate required, not checked) and `want`
   * (checked when one is given), closes connections that do not qualify. A no-op for the other modes.
   */
  attach(server: TlsServer): void;
  /** For the start log: the server certificate. */
  leaf?: { subject: string; notAfter: Date };
}

/**
 * Reads `server.ssl` (Armory's keys and meanings) into TLS server options; undefined when TLS is off.
 * The certificate file may hold the private key too (keyFile left out). Client certificates are checked
 * against `cacertFile`, else against the server certificate itself, as the Armory agent does. Throws
 * TLS_FILES_INVALID naming the key (server.ssl.certFile, …) on a file that cannot be read or used.
 */
export function adminTlsOptions(ssl: ServerSslConfig): AdminTls | undefined {
  if (!ssl.enabled || ssl.certFile === undefined) return undefined;
  const files: TlsFiles = {
    certFile: { path: ssl.certFile, key: 'server.ssl.certFile' },
    keyFile:
      ssl.keyFile === undefined
        ? { path: ssl.certFile, key: 'server.ssl.certFile (no keyFile: the key must be in it)' }
        : { path: ssl.keyFile, key: 'server.ssl.keyFile' },
    ...(ssl.keyFilePassword === undefined ? {} : { keyPassword: ssl.keyFilePassword }),
    ...(ssl.cacertFile === undefined ? {} : { caFile: { path: ssl.cacertFile, key: 'server.ssl.cacertFile' } }),
  };
  const material = readTlsMaterial(files);
  const options: TlsOptions = { cert: material.cert, key: material.key };
  const checksCertificates = ssl.clientAuth !== 'none';
  if (checksCertificates) {
    options.requestCert = true;
    options.rejectUnauthorized = ssl.clientAuth === 'need';
    options.ca = material.ca ?? material.cert;
  }
  return {
    options,
    clientAuth: ssl.clientAuth,
    attach: (server) => {
      if (ssl.clientAuth !== 'any' && ssl.clientAuth !== 'want') return;
      server.on('secureConnection', (socket: TLSSocket) => {
        if (!qualifies(ssl.clientAuth, socket)) socket.destroy();
      });
    },
    ...(material.leaf ? { leaf: { subject: material.leaf.subject, notAfter: material.leaf.notAfter } } : {}),
  };
}

function qualifies(mode: AdminClientAuth, socket: TLSSocket): boolean {
  const presented = Object.keys(socket.getPeerCertificate() ?? {}).length > 0;
  if (mode === 'any') return presented;
  if (mode === 'want') return !presented || socket.authorized;
  return true;
}
