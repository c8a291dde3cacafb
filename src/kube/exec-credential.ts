import { execFile } from 'node:child_process';
import { Errors, ScaleAgentError } from '../common/errors.ts';

/** The ExecCredential API versions a plugin may speak (v1alpha1 was removed from Kubernetes in 1.24). */
export const EXEC_CREDENTIAL_API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'] as const;

/** A plugin that has not answered by then is hung (waiting for a browser login nobody will do). */
export const EXEC_TIMEOUT_MS = 60_000;

/** Credentials are refreshed this long before they expire, so a request is not sent with a token about to lapse. */
export const EXEC_EXPIRY_SKEW_MS = 10_000;

/** Plugin output above this is not a credential. */
const EXEC_MAX_OUTPUT_BYTES = 1024 * 1024;

export interface ExecPluginConfig {
  command: string;
  args: string[];
  env: Record<string, string>;
  apiVersion: string;
}

/** What a plugin returned: a bearer token, or a client certificate (which needs a new TLS connection). */
export interface ExecCredentialResult {
  token?: string;
  clientCertificate?: { certPem: string; keyPem: string };
  /** Epoch ms; undefined means valid until the server rejects it. */
  expiresAt?: number;
}

/**
 * Runs a client-go credential plugin and caches its answer until `expirationTimestamp` (or until a 401
 * invalidates it). Concurrent callers share one plugin run.
 */
export class ExecCredentialSource {
  private cached: ExecCredentialResult | undefined;
  private running: Promise<ExecCredentialResult> | undefined;

  constructor(
    private readonly config: ExecPluginConfig,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<ExecCredentialResult> {
    const cached = this.cached;
    if (cached !== undefined && (cached.expiresAt === undefined || cached.expiresAt - EXEC_EXPIRY_SKEW_MS > this.now())) return cached;
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  invalidate(): void {
    this.cached = undefined;
  }

  private async run(): Promise<ExecCredentialResult> {
    const { command, args, apiVersion } = this.config;
    if (!(EXEC_CREDENTIAL_API_VERSIONS as readonly string[]).includes(apiVersion)) {
      throw new ScaleAgentError(Errors.KUBECONFIG_INVALID, `exec credential plugin ${command}: unsupported apiVersion ${apiVersion}`, { command, apiVersion });
    }
    const execInfo = JSON.stringify({ apiVersion, kind: 'ExecCredential', spec: { interactive: false } });
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        command,
        args,
        {
          env: { ...process.env, ...this.config.env, KUBERNETES_EXEC_INFO: execInfo },
          timeout: EXEC_TIMEOUT_MS,
          maxBuffer: EXEC_MAX_OUTPUT_BYTES,
          encoding: 'utf8',
        },
        (err, out, stderr) => {
          if (err) {
            const detail = stderr.trim().slice(0, 500);
            reject(
              new ScaleAgentError(Errors.KUBE_TRANSPORT_ERROR, `exec credential plugin ${command} failed: ${err.message}${detail ? `: ${detail}` : ''}`, {
                command,
                reason: 'ExecCredentialFailed',
              }),
            );
          } else resolve(out);
        },
      );
    });
    const result = parseExecCredential(stdout, apiVersion, command);
    this.cached = result;
    return result;
  }
}

/** Validates a plugin's stdout as an ExecCredential of the configured apiVersion. */
export function parseExecCredential(stdout: string, apiVersion: string, command: string): ExecCredentialResult {
  const fail = (why: string) => new ScaleAgentError(Errors.KUBECONFIG_INVALID, `exec credential plugin ${command}: ${why}`, { command });
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    throw fail('output is not JSON');
  }
  if (typeof doc !== 'object' || doc === null) throw fail('output is not an ExecCredential');
  const cred = doc as { apiVersion?: unknown; kind?: unknown; status?: Record<string, unknown> };
  if (cred.kind !== 'ExecCredential') throw fail(`output kind is ${String(cred.kind)}, not ExecCredential`);
  if (cred.apiVersion !== apiVersion) throw fail(`output apiVersion ${String(cred.apiVersion)} does not match the configured ${apiVersion}`);
  const status = cred.status;
  if (typeof status !== 'object' || status === null) throw fail('output has no status');
  const result: ExecCredentialResult = {};
  if (typeof status.token === 'string' && status.token !== '') result.token = status.token;
  const cert = status.clientCertificateData;
  const key = status.clientKeyData;
  if (typeof cert === 'string' && typeof key === 'string' && cert !== '' && key !== '') result.clientCertificate = { certPem: cert, keyPem: key };
  else if (cert !== undefined || key !== undefined) throw fail('status needs both clientCertificateData and clientKeyData');
  if (result.token === undefined && result.clientCertificate === undefined) throw fail('status has neither a token nor a client certificate');
  if (typeof status.expirationTimestamp === 'string') {
    const at = Date.parse(status.expirationTimestamp);
    if (Number.isNaN(at)) throw fail(`expirationTimestamp ${status.expirationTimestamp} is not a time`);
    result.expiresAt = at;
  }
  return result;
}
