import { checkServerIdentity, connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { credentials as grpcCredentials, Metadata, type ChannelCredentials, type ChannelOptions, type VerifyOptions } from '@grpc/grpc-js';
import { readTlsMaterial, type TlsFiles } from '../../common/tls-files.ts';
import type { Logger } from '../../common/logger.ts';
import type { AgentConfig } from '../config.ts';
import { createTokenSource, type TokenSource } from './token-source.ts';
import type { SecretResolver } from '../secrets/secret-resolver.ts';

export type TransportMode = 'plaintext' | 'tls' | 'mtls';

/** What a new gRPC client to the hub is built from. `digest` changes whenever a certificate, key or CA file does. */
export interface ChannelSetup {
  credentials: ChannelCredentials;
  options: ChannelOptions;
  digest: string;
}

/** Credentials for the hub connection, as HubConnection uses them. */
export interface HubTransport {
  readonly mode: TransportMode;
  /** Reads the TLS files now (they may have been rotated); throws TLS_FILES_INVALID on a bad file. */
  channel(): ChannelSetup;
  /** Metadata for a new session: the bearer token, fetched when due. */
  metadata(): Promise<Metadata>;
  /** Metadata for a call on the established connection: the latest token. */
  currentMetadata(): Metadata;
  /**
   * After a failed connection: one TLS handshake with the same files, outside gRPC, to say why (gRPC
   * reports many handshake failures only as "Failed to connect"). Undefined when it succeeds.
   */
  probe?(address: string): Promise<string | undefined>;
  close(): void;
}

/** How long the probe waits after its handshake for the hub to reject the client certificate (TLS 1.3 alerts come late). */
const PROBE_ALERT_WAIT_MS = 500;
const PROBE_TIMEOUT_MS = 5000;

/** host and port out of `host:port`, `[v6]:port` or `dns:///host:port`. */
function hostPort(address: string): { host: string; port: number } | undefined {
  const match = /^(?:dns:\/{0,3})?(?:\[([^\]]+)\]|([^:/]+)):(\d+)$/.exec(address);
  if (!match) return undefined;
  return { host: match[1] ?? match[2]!, port: Number(match[3]) };
}

/**
 * OpenSSL's words for a TLS client that got an answer which is not TLS at all: the hub speaks
 * plaintext (or something else listens on the port).
 */
const NOT_TLS = /wrong version number|packet length too long|unknown protocol|WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG/i;

/** Said once a TLS handshake met a plaintext answer: the usual mistake when coming from the Armory agent. */
export const PLAINTEXT_HUB_HINT =
  'the hub seems to speak plaintext, not TLS: set clouddriver.insecure: true on the agent if the hub runs with grpc.insecure: true (the Armory agent defaulted to plaintext, this agent defaults to TLS), or give the hub a certificate (grpc.tls)';

/** The hint for a connection error that says the hub did not answer in TLS; undefined for any other error. */
export function plaintextHint(error: string): string | undefined {
  return NOT_TLS.test(error) ? PLAINTEXT_HUB_HINT : undefined;
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

type ClouddriverConfig = AgentConfig['clouddriver'];

/** The bearer token as gRPC metadata. */
function bearer(token: string | undefined): Metadata {
  const metadata = new Metadata();
  if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

function tlsFiles(config: ClouddriverConfig): TlsFiles {
  const t = config.tls;
  return {
    ...(t.clientCertFile === undefined ? {} : { certFile: { path: t.clientCertFile, key: 'clouddriver.tls.clientCertFile' } }),
    ...(t.clientKeyFile === undefined ? {} : { keyFile: { path: t.clientKeyFile, key: 'clouddriver.tls.clientKeyFile' } }),
    ...(t.clientKeyFilePassword === undefined ? {} : { keyPassword: t.clientKeyFilePassword }),
    ...(t.cacertFile === undefined ? {} : { caFile: { path: t.cacertFile, key: 'clouddriver.tls.cacertFile' } }),
  };
}

/**
 * The agent's side of transport security (`clouddriver.insecure`, `clouddriver.tls.*`,
 * `clouddriver.auth.*`): plaintext only when asked for, TLS checking the hub's certificate against
 * `cacertFile` (or the public roots) and `serverName`, mTLS with a client certificate, and a bearer
 * token on every call. The files are read at start (a bad file stops the agent) and again before each
 * connection attempt, so rotated certificates are used from the next reconnect on.
 */
export function createHubTransport(config: ClouddriverConfig, logger: Logger, secrets?: SecretResolver): HubTransport {
  const tokens: TokenSource | undefined = createTokenSource(config.auth, logger, secrets);
  const mode: TransportMode = config.insecure ? 'plaintext' : config.tls.clientCertFile !== undefined ? 'mtls' : 'tls';
  const files = tlsFiles(config);
  // grpc-js honours grpc_proxy, https_proxy and http_proxy (and no_grpc_proxy, no_proxy) unless told not to.
  const proxyOptions: ChannelOptions = config.noProxy ? { 'grpc.enable_http_proxy': 0 } : {};
  const serverNameOptions: ChannelOptions =
    config.tls.serverName === undefined ? {} : { 'grpc.ssl_target_name_override': config.tls.serverName, 'grpc.default_authority': config.tls.serverName };
  // insecureSkipVerify: neither the chain nor the name is checked (grpc-js passes both to Node's TLS).
  const verifyOptions: VerifyOptions = config.tls.insecureSkipVerify ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {};

  const channel = (): ChannelSetup => {
    if (config.insecure) return { credentials: grpcCredentials.createInsecure(), options: proxyOptions, digest: 'plaintext' };
    const material = readTlsMaterial(files);
    return {
      credentials: grpcCredentials.createSsl(material.ca ?? null, material.key ?? null, material.cert ?? null, verifyOptions),
      options: { ...proxyOptions, ...serverNameOptions },
      digest: material.digest,
    };
  };

  // Fail at start on unreadable or mismatched files rather than at the first connection.
  const first = config.insecure ? undefined : readTlsMaterial(files);
  if (config.insecure) {
    logger.warn(
      { hub: config.grpc, transport: mode },
      'the connection to the hub is plaintext (clouddriver.insecure: true): anyone on the network path can read and change it; use TLS outside a test bench',
    );
    if (tokens !== undefined) logger.warn({ hub: config.grpc }, 'the bearer token for the hub is sent over plaintext');
  } else {
    if (config.tls.insecureSkipVerify)
      logger.warn(
        { hub: config.grpc, transport: mode },
        "the hub's certificate is not verified (clouddriver.tls.insecureSkipVerify: true): the connection is encrypted, but anyone on the network path can pose as the hub; set clouddriver.tls.cacertFile instead outside a test bench",
      );
    logger.info(
      {
        hub: config.grpc,
        transport: mode,
        verified: !config.tls.insecureSkipVerify,
        serverName: config.tls.serverName,
        trust: config.tls.cacertFile ?? 'public roots',
        clientCertificate: first?.leaf ? { subject: first.leaf.subject, notAfter: first.leaf.notAfter.toISOString() } : undefined,
        token: tokens === undefined ? undefined : config.auth.token !== undefined ? 'static' : 'command',
      },
      'hub connection security',
    );
  }

  const probe = async (address: string): Promise<string | undefined> => {
    if (config.insecure) return undefined;
    const target = hostPort(address);
    if (target === undefined) return undefined;
    let material;
    try {
      material = readTlsMaterial(files);
    } catch (err) {
      return (err as Error).message;
    }
    const servername = config.tls.serverName ?? (isIp(target.host) ? undefined : target.host);
    return new Promise((resolve) => {
      let settled = false;
      const done = (result: string | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(result);
      };
      const socket = tlsConnect({
        host: target.host,
        port: target.port,
        ...(servername === undefined ? {} : { servername }),
        ...(material.ca === undefined ? {} : { ca: material.ca }),
        ...(material.cert === undefined ? {} : { cert: material.cert, key: material.key }),
        ALPNProtocols: ['h2'],
        ...(config.tls.insecureSkipVerify ? { rejectUnauthorized: false } : {}),
        checkServerIdentity: (host, cert) =>
          config.tls.insecureSkipVerify
            ? undefined
            : config.tls.serverName === undefined
              ? checkIdentity(target.host, host, cert)
              : checkIdentity(config.tls.serverName, host, cert),
      });
      const timer = setTimeout(() => done(undefined), PROBE_TIMEOUT_MS);
      let handshakeDone = false;
      socket.on('secureConnect', () => {
        handshakeDone = true;
        setTimeout(() => done(undefined), PROBE_ALERT_WAIT_MS);
      });
      // Read, so that an alert the hub sends after the handshake (TLS 1.3 checks client certificates then) surfaces.
      socket.on('data', () => undefined);
      socket.on('error', (err) => done(tlsErrorText(err)));
      // Node's TLS server drops, without an alert, a client certificate it cannot verify.
      socket.on('close', () => done(handshakeDone ? closedAfterHandshake(material.leaf) : undefined));
    });
  };

  return {
    mode,
    channel,
    probe,
    metadata: async () => bearer(tokens === undefined ? undefined : await tokens.get()),
    currentMetadata: () => bearer(tokens?.current()),
    close: () => tokens?.close(),
  };
}

/** Node's name check against the name the agent expects (the address's host, or tls.serverName). */
function checkIdentity(expected: string, _host: string, cert: PeerCertificate): Error | undefined {
  return checkServerIdentity(expected, cert);
}

/** OpenSSL's message without its address and source-file noise: `tlsv13 alert unknown ca`, `certificate has expired`. */
function tlsErrorText(err: Error & { code?: string }): string {
  const hint = plaintextHint(`${err.code ?? ''} ${err.message}`);
  if (hint !== undefined) return `${opensslReason(err.message)}: ${hint}`;
  const alert = /((?:tlsv1[0-9]?|sslv3) alert [a-z ]+)/i.exec(err.message);
  return alert ? alert[1]!.trim() : err.message.split('\n')[0]!.trim();
}

/** `…:SSL routines:ssl3_get_record:wrong version number:../deps/…` → `wrong version number`. */
function opensslReason(message: string): string {
  const routine = /SSL routines:[^:]*:([^:]+)/.exec(message);
  return (routine ? routine[1]! : message.split('\n')[0]!).trim();
}

function closedAfterHandshake(leaf: { subject: string; notBefore: Date; notAfter: Date } | undefined): string {
  if (leaf === undefined) return 'the hub closed the connection right after the TLS handshake';
  const now = Date.now();
  if (leaf.notAfter.getTime() < now) return `the client certificate (${leaf.subject}) expired at ${leaf.notAfter.toISOString()}`;
  if (leaf.notBefore.getTime() > now) return `the client certificate (${leaf.subject}) is not valid before ${leaf.notBefore.toISOString()}`;
  return `the hub closed the connection right after the TLS handshake: it does not accept the client certificate (${leaf.subject}); is it issued by the hub's grpc.tls.clientCaFile?`;
}
