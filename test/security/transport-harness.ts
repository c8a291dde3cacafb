// Shared pieces of the transport tests: certificates from pki.ts in a temporary directory, a hub on
// 127.0.0.1 with an in-memory store, and an agent reduced to its hub connection (no clusters: the
// accounts it declares are made up), both logging into memory so tests can read what each side said.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { parseConfig } from '../../src/common/config.ts';
import { createLogger, type Logger } from '../../src/common/logger.ts';
import { createCertificateAuthority, issueCertificate, type CertificateAndKey, type IssueCertificateOptions } from '../../src/common/pki.ts';
import { waitFor } from '../../src/common/time.ts';
import { agentConfigSchema } from '../../src/agent/config.ts';
import { HubConnection } from '../../src/agent/session/hub-connection.ts';
import { createHubTransport } from '../../src/agent/session/hub-transport.ts';
import { hubConfigSchema } from '../../src/hub/config.ts';
import { startHub, type RunningHub } from '../../src/hub/hub.ts';
import { AccountInfoSchema, type AccountAcceptance, type AccountInfo, type Operation, type OperationResult } from '../../src/protocol/index.ts';

export const HOUR_MS = 3600_000;

/** A temporary directory for one test file's certificates and tokens. */
export class TempDir {
  readonly path = mkdtempSync(join(tmpdir(), 'scale-agent-transport-'));

  file(name: string, contents: string, mode = 0o600): string {
    const path = join(this.path, name);
    writeFileSync(path, contents, { mode });
    return path;
  }

  /** Writes a certificate and its key as `<name>.pem` and `<name>-key.pem`. */
  pair(name: string, pair: CertificateAndKey, keyPem = pair.keyPem): { certFile: string; keyFile: string } {
    return { certFile: this.file(`${name}.pem`, pair.certPem), keyFile: this.file(`${name}-key.pem`, keyPem) };
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

export interface TestCa {
  ca: CertificateAndKey;
  caFile: string;
  issue(options: Omit<IssueCertificateOptions, 'ca'>): Promise<CertificateAndKey>;
}

export async function makeCa(dir: TempDir, name: string): Promise<TestCa> {
  const ca = await createCertificateAuthority({ commonName: `${name} CA` });
  return { ca, caFile: dir.file(`${name}-ca.pem`, ca.certPem), issue: (options) => issueCertificate({ ca, ...options }) };
}

/** A hub certificate for 127.0.0.1 and localhost. */
export function hubCertificate(ca: TestCa, extra: Partial<IssueCertificateOptions> = {}): Promise<CertificateAndKey> {
  return ca.issue({ commonName: 'hub', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server', ...extra });
}

export function clientCertificate(ca: TestCa, commonName: string, extra: Partial<IssueCertificateOptions> = {}): Promise<CertificateAndKey> {
  return ca.issue({ commonName, usage: 'client', ...extra });
}

export interface CapturedLogger {
  logger: Logger;
  lines(): Array<Record<string, any>>;
  text(): string;
}

export function capturingLogger(): CapturedLogger {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const text = () => chunks.join('');
  return {
    logger: createLogger({ level: 'debug', destination }),
    text,
    lines: () =>
      text()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, any>),
  };
}

export interface TestHub {
  hub: RunningHub;
  log: CapturedLogger;
  address: string;
  close(): Promise<void>;
}

/** A hub on 127.0.0.1 (ports 0) with an in-memory store; `config` is laid over that (grpc, identities, …). */
export async function startTestHub(config: { grpc?: Record<string, unknown>; identities?: unknown[] }): Promise<TestHub> {
  const log = capturingLogger();
  const parsed = parseConfig(
    hubConfigSchema,
    {
      server: { host: '127.0.0.1', port: 0 },
      grpc: { host: '127.0.0.1', port: 0, ...config.grpc },
      database: { url: 'sqlite::memory:' },
      ...(config.identities === undefined ? {} : { identities: config.identities }),
    },
    'test hub',
  );
  const hub = await startHub(parsed, log.logger);
  return { hub, log, address: hub.grpcAddress, close: () => hub.close() };
}

/** An account as an agent declares it; `cluster` names the (made-up) API server. */
export function account(name: string, cluster = `https://${name}.example:6443`): AccountInfo {
  return create(AccountInfoSchema, {
    name,
    cluster: { apiServerHost: cluster, caFingerprint: `fp-${cluster}`, kubeSystemUid: `uid-${cluster}` },
    kubernetesVersion: 'v1.31.0',
  });
}

/**
 * The agent's connection to the hub, configured through the real `clouddriver` section of the agent's
 * configuration, declaring the given accounts.
 */
export class TestAgent {
  readonly log = capturingLogger();
  readonly connection: HubConnection;
  /** Every acceptance received, latest last. */
  readonly acceptances: AccountAcceptance[] = [];
  welcomes = 0;

  constructor(
    clouddriver: Record<string, unknown>,
    accounts: AccountInfo[] | (() => AccountInfo[]),
    agentId = 'test-agent',
    onOperation: (operation: Operation) => Promise<OperationResult> = async () => {
      throw new Error('no operations in transport tests');
    },
  ) {
    const config = parseConfig(
      agentConfigSchema,
      { agent: { id: agentId }, clouddriver: { backoff: { initialMs: 100, maxMs: 300 }, ...clouddriver } },
      'test agent',
    );
    const transport = createHubTransport(config.clouddriver, this.log.logger);
    this.connection = new HubConnection({
      agentId,
      address: config.clouddriver.grpc,
      pingIntervalMs: 5000,
      backoff: config.clouddriver.backoff,
      logger: this.log.logger,
      transport,
      accounts: typeof accounts === 'function' ? accounts : () => accounts,
      onAcceptances: (_session, acceptances, origin) => {
        if (origin === 'welcome') this.welcomes++;
        this.acceptances.push(...acceptances);
      },
      onOperation,
      onDisconnected: () => undefined,
    });
  }

  start(): this {
    this.connection.start();
    return this;
  }

  /** The latest acceptance of an account. */
  acceptance(name: string): AccountAcceptance | undefined {
    return this.acceptances.filter((a) => a.account === name).at(-1);
  }

  async waitForWelcome(count = 1, timeoutMs = 10_000): Promise<void> {
    await waitFor(() => this.welcomes >= count, { timeoutMs, what: `welcome #${count} (last error: ${this.connection.lastError ?? 'none'})` });
  }

  /** Waits until the connection has failed at least `attempts` times; returns the last reason. */
  async waitForFailure(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    return waitFor(
      () => {
        const error = this.connection.lastError;
        return error !== undefined && pattern.test(error) ? error : undefined;
      },
      { timeoutMs, what: `a connection failure matching ${pattern}` },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last error: ${this.connection.lastError ?? 'none'}`);
    });
  }

  /** Waits for the agent to log the TLS diagnosis of a failed connection (see HubTransport.probe). */
  async waitForTlsDiagnosis(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    return waitFor(() => this.log.lines().find((l) => typeof l.tls === 'string' && pattern.test(l.tls))?.tls as string | undefined, {
      timeoutMs,
      what: `a TLS diagnosis matching ${pattern} (last error: ${this.connection.lastError ?? 'none'})`,
    });
  }

  stop(): Promise<void> {
    return this.connection.stop();
  }
}

/** The live (not closed) agent sessions on a hub. */
export function liveSessions(hub: RunningHub) {
  return hub.registry.all().filter((s) => !s.isClosed);
}

/** The serial number of the certificate a TLS server on 127.0.0.1:port presents now (lowercase hex). */
export function servedCertificateSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: ['h2'], rejectUnauthorized: false }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.destroy();
      resolve(new X509Certificate(raw).serialNumber.toLowerCase());
    });
    socket.on('error', reject);
  });
}

export function serialOf(pair: CertificateAndKey): string {
  return new X509Certificate(pair.certPem).serialNumber.toLowerCase();
}
