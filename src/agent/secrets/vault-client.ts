import { Errors, ScaleAgentError } from '../../common/errors.ts';
import { HTTP_FORBIDDEN, HTTP_NOT_FOUND, HTTP_OK } from '../../common/http-status.ts';
import type { Logger } from '../../common/logger.ts';
import type { SecretDocument } from './secret-document.ts';
import { vaultErrors, vaultRequest, vaultUnavailable, type VaultAnswer, type VaultCall, type VaultHttpOptions } from './vault-http.ts';
import { createVaultLogin, type VaultLoginEnvironment } from './vault-login.ts';
import type { VaultConfig } from '../secrets-config.ts';
import { VaultTokenKeeper, type VaultTokenKeeperOptions } from './vault-token-keeper.ts';

/** The versions of Vault's key/value secrets engine, which answer reads at different paths. */
export type KvVersion = 1 | 2;

export interface VaultClientTuning extends VaultLoginEnvironment, VaultTokenKeeperOptions {
  timeoutMs?: number;
  maxResponseBytes?: number;
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** A KV value as a string: strings as they are, anything else (numbers, objects) as JSON. */
function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Reads KV secrets from HashiCorp Vault over its HTTP API: v1 at `/v1/<mount>/<path>`, v2 at
 * `/v1/<mount>/data/<path>` (the value under data.data). Which one a mount is, is asked the way the
 * Vault CLI asks (`sys/internal/ui/mounts/<mount>`: options.version; a Vault too old to have that
 * endpoint answers 404 and has only v1), once per mount.
 */
export class VaultClient {
  private readonly http: VaultHttpOptions;
  private readonly tokens: VaultTokenKeeper;
  private readonly versions = new Map<string, Promise<KvVersion>>();

  constructor(options: VaultConfig, logger: Logger, tuning: VaultClientTuning = {}) {
    if (options.url === undefined) throw new ScaleAgentError(Errors.CONFIG_INVALID, 'secrets.vault.url is required when secrets.vault.enabled is true', {});
    let url: URL | undefined;
    try {
      url = new URL(options.url);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      throw new ScaleAgentError(Errors.CONFIG_INVALID, `secrets.vault.url "${options.url}" is not an http:// or https:// URL`, {});
    }
    this.http = {
      url: options.url,
      ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
      ...(tuning.timeoutMs === undefined ? {} : { timeoutMs: tuning.timeoutMs }),
      ...(tuning.maxResponseBytes === undefined ? {} : { maxResponseBytes: tuning.maxResponseBytes }),
    };
    this.tokens = new VaultTokenKeeper(createVaultLogin(options, this.http, tuning), this.http, logger, tuning);
  }

  /** The keys and values of the KV secret at `path` of the mount. */
  async read(mount: string, path: string): Promise<SecretDocument> {
    const version = await this.kvVersion(mount);
    const apiPath = version === 2 ? `${encodePath(mount)}/data/${encodePath(path)}` : `${encodePath(mount)}/${encodePath(path)}`;
    const where = `Vault secret ${mount}/${path} (KV v${version})`;
    const answer = await this.call({ method: 'GET', path: apiPath });
    if (answer.status === HTTP_NOT_FOUND) throw vaultUnavailable(`${where}: not found`, { mount, path, status: answer.status });
    if (answer.status !== HTTP_OK) throw vaultUnavailable(`${where}: ${vaultErrors(answer)}`, { mount, path, status: answer.status });
    const data = (answer.body as { data?: Record<string, unknown> } | undefined)?.data;
    const values = version === 2 ? (data as { data?: unknown } | undefined)?.data : data;
    if (typeof values !== 'object' || values === null || Array.isArray(values)) {
      throw vaultUnavailable(`${where}: the answer holds no key/value data (deleted or destroyed version?)`, { mount, path });
    }
    return { source: where, values: new Map(Object.entries(values).map(([key, value]) => [key, asText(value)])) };
  }

  /** The KV version of a mount, asked once (a failed question is asked again next time). */
  kvVersion(mount: string): Promise<KvVersion> {
    let version = this.versions.get(mount);
    if (version === undefined) {
      version = this.askVersion(mount);
      this.versions.set(mount, version);
      version.catch(() => this.versions.delete(mount));
    }
    return version;
  }

  /** Forget what is known of the mounts (a configuration reload): a mount may have been upgraded to v2. */
  forgetMounts(): void {
    this.versions.clear();
  }

  close(): void {
    this.tokens.close();
  }

  private async askVersion(mount: string): Promise<KvVersion> {
    const answer = await this.call({ method: 'GET', path: `sys/internal/ui/mounts/${encodePath(mount)}` });
    if (answer.status === HTTP_NOT_FOUND) return 1;
    if (answer.status !== HTTP_OK)
      throw vaultUnavailable(`Vault mount ${mount}: cannot learn its KV version: ${vaultErrors(answer)}`, { mount, status: answer.status });
    const options = (answer.body as { data?: { options?: { version?: unknown } | null } } | undefined)?.data?.options;
    return options?.version === '2' ? 2 : 1;
  }

  /** A call with the current token; refused (403) with a token a new login could replace, once more with a new one. */
  private async call(call: Omit<VaultCall, 'token'>): Promise<VaultAnswer> {
    const token = await this.tokens.token();
    const answer = await vaultRequest(this.http, { ...call, token });
    if (answer.status === HTTP_FORBIDDEN && this.tokens.refused(token)) return vaultRequest(this.http, { ...call, token: await this.tokens.token() });
    return answer;
  }
}
