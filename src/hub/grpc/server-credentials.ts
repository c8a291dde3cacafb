import type { SecureContextOptions } from 'node:tls';
import { ServerCredentials } from '@grpc/grpc-js';
import { errorMessage } from '../../common/errors.ts';
import { FilePoller } from '../../common/file-watch.ts';
import type { Logger } from '../../common/logger.ts';
import { readTlsMaterial, type TlsFiles, type TlsMaterial } from '../../common/tls-files.ts';
import type { HubConfig } from '../config.ts';

export type GrpcTransportMode = 'plaintext' | 'tls' | 'mtls' | 'tls+optional-client-cert';

export interface GrpcServerTransport {
  readonly credentials: ServerCredentials;
  readonly mode: GrpcTransportMode;
  /** Re-reads the files now (the poller does so every reloadIntervalSeconds); true when new material is in use. */
  reload(): boolean;
  close(): void;
}

/**
 * Secure server credentials whose certificate, key and client CA can be replaced while the server runs.
 * grpc-js lets credentials push new secure-context options to the servers bound with them (it calls
 * `setSecureContext` on its HTTP/2 server), which is what its own certificate providers use: new TLS
 * handshakes get the new context, established connections are not interrupted.
 */
class ReloadableServerCredentials extends ServerCredentials {
  constructor(requestCert: boolean, rejectUnauthorized: boolean, initial: SecureContextOptions) {
    super({ requestCert, rejectUnauthorized }, initial);
  }

  replace(options: SecureContextOptions): void {
    this.updateSecureContextOptions(options);
  }

  override _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

function contextOptions(material: TlsMaterial): SecureContextOptions {
  return { cert: material.cert, key: material.key, ...(material.ca === undefined ? {} : { ca: material.ca }) };
}

/**
 * The gRPC port's credentials from `grpc.insecure` / `grpc.tls`: plaintext (with a warning), TLS, or
 * TLS asking for client certificates (`clientAuth: optional` verifies one when given; `require` refuses
 * the handshake without a valid one). Files are read at start (a bad file stops the hub) and polled
 * every `reloadIntervalSeconds`; a changed, valid set serves every new connection, a broken one is
 * logged and the previous set stays.
 */
export function createGrpcServerTransport(grpc: HubConfig['grpc'], logger: Logger): GrpcServerTransport {
  const tls = grpc.tls;
  if (tls === undefined) {
    logger.warn(
      { grpcPort: grpc.port },
      'the gRPC port for agents is plaintext (grpc.insecure: true): anyone on the network path can read and change agent traffic; use grpc.tls outside a test bench',
    );
    return { credentials: ServerCredentials.createInsecure(), mode: 'plaintext', reload: () => false, close: () => undefined };
  }
  const files: TlsFiles = {
    certFile: { path: tls.certFile, key: 'grpc.tls.certFile' },
    keyFile: { path: tls.keyFile, key: 'grpc.tls.keyFile' },
    ...(tls.keyPassword === undefined ? {} : { keyPassword: tls.keyPassword }),
    ...(tls.clientCaFile === undefined || tls.clientAuth === 'none' ? {} : { caFile: { path: tls.clientCaFile, key: 'grpc.tls.clientCaFile' } }),
  };
  let material = readTlsMaterial(files);
  const credentials = new ReloadableServerCredentials(tls.clientAuth !== 'none', tls.clientAuth === 'require', contextOptions(material));
  const mode: GrpcTransportMode = tls.clientAuth === 'require' ? 'mtls' : tls.clientAuth === 'optional' ? 'tls+optional-client-cert' : 'tls';
  const describe = (m: TlsMaterial) => ({ subject: m.leaf?.subject, serialNumber: m.leaf?.serialNumber, notAfter: m.leaf?.notAfter.toISOString() });
  logger.info(
    { transport: mode, clientAuth: tls.clientAuth, certificate: describe(material), reloadIntervalSeconds: tls.reloadIntervalSeconds },
    'gRPC port security',
  );
  if (material.leaf && material.leaf.notAfter.getTime() < Date.now()) {
    logger.error({ certificate: describe(material) }, 'the gRPC server certificate has expired: agents will refuse the connection');
  }

  const reload = (): boolean => {
    let next: TlsMaterial;
    try {
      next = readTlsMaterial(files);
    } catch (err) {
      logger.error({ err: errorMessage(err) }, 'cannot reload the gRPC certificate files; the previous certificate stays in use');
      return false;
    }
    if (next.digest === material.digest) return false;
    material = next;
    credentials.replace(contextOptions(material));
    logger.info({ certificate: describe(material) }, 'reloaded the gRPC certificate files; new connections use them');
    return true;
  };
  const paths = [tls.certFile, tls.keyFile, ...(files.caFile ? [files.caFile.path] : [])];
  const poller = new FilePoller(paths, tls.reloadIntervalSeconds * 1000, () => void reload()).start();
  return { credentials, mode, reload, close: () => poller.stop() };
}
