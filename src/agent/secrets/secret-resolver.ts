import { Errors, ScaleAgentError, isScaleAgentError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { KubernetesSecrets, type KubernetesSecretsOptions } from './kubernetes-secrets.ts';
import type { SecretDocument } from './secret-document.ts';
import { isSecretReference, parseSecretReference, type SecretLocation, type SecretReference } from './secret-reference.ts';
import { VaultClient, type VaultClientTuning } from './vault-client.ts';
import type { VaultConfig } from '../secrets-config.ts';

export interface ResolveOptions {
  /** Read the store again instead of using what was read before (an account retrying its initialisation). */
  fresh?: boolean;
}

/** Turns secret references into their values. */
export interface SecretResolver {
  /** The value the reference names; SECRET_UNAVAILABLE when the store cannot be read or lacks the secret or key. */
  resolve(reference: SecretReference, options?: ResolveOptions): Promise<string>;
  /** Drops every value read so far (the configuration file was reloaded): the next resolve reads the store again. */
  invalidate(): void;
  close(): Promise<void>;
}

export interface SecretResolverOptions {
  /** The agent's `secrets.vault` section; Vault references are refused unless it is enabled. */
  vault?: VaultConfig;
  vaultTuning?: VaultClientTuning;
  kubernetes?: KubernetesSecretsOptions;
  logger: Logger;
}

/** Where a document is kept, as a cache key. */
function documentKey(location: SecretLocation): string {
  return location.engine === 'vault' ? `vault\u0000${location.mount}\u0000${location.path}` : `k8s\u0000${location.namespace ?? ''}\u0000${location.name}`;
}

/**
 * The agent's resolver: Vault references go to Vault (secrets.vault), k8s references to the cluster the
 * agent runs in. A document (a Vault secret, a Kubernetes Secret) read once serves every reference to
 * it — many accounts often share one, a key each — until invalidate() or a fresh read. Reads in flight
 * are shared; failed reads are not kept.
 */
export class DefaultSecretResolver implements SecretResolver {
  private readonly documents = new Map<string, Promise<SecretDocument>>();
  private readonly vault: VaultClient | undefined;
  private readonly kubernetes: KubernetesSecrets;

  constructor(options: SecretResolverOptions) {
    this.vault =
      options.vault?.enabled === true ? new VaultClient(options.vault, options.logger.child({ component: 'vault' }), options.vaultTuning) : undefined;
    this.kubernetes = new KubernetesSecrets(options.kubernetes);
  }

  async resolve(reference: SecretReference, options: ResolveOptions = {}): Promise<string> {
    const location = reference.location;
    const document = await this.document(location, reference, options.fresh === true);
    const value = document.values.get(location.key);
    if (value === undefined) {
      const keys = [...document.values.keys()].sort();
      throw new ScaleAgentError(
        Errors.SECRET_UNAVAILABLE,
        `${reference.text}: ${document.source} has no key "${location.key}" (its keys: ${keys.length > 0 ? keys.join(', ') : 'none'})`,
        { reference: reference.text },
      );
    }
    if (location.engine === 'vault' && location.base64) return Buffer.from(value, 'base64').toString('utf8');
    return value;
  }

  invalidate(): void {
    this.documents.clear();
    this.vault?.forgetMounts();
  }

  async close(): Promise<void> {
    this.documents.clear();
    this.vault?.close();
    await this.kubernetes.close();
  }

  private document(location: SecretLocation, reference: SecretReference, fresh: boolean): Promise<SecretDocument> {
    const key = documentKey(location);
    const known = this.documents.get(key);
    if (known !== undefined && !fresh) return known;
    const reading = this.read(location, reference);
    this.documents.set(key, reading);
    reading.catch(() => {
      if (this.documents.get(key) === reading) this.documents.delete(key);
    });
    return reading;
  }

  private async read(location: SecretLocation, reference: SecretReference): Promise<SecretDocument> {
    switch (location.engine) {
      case 'vault':
        if (this.vault === undefined) {
          throw new ScaleAgentError(Errors.SECRET_REFERENCE_INVALID, `${reference.text}: Vault is not enabled (secrets.vault.enabled: false)`, {
            reference: reference.text,
          });
        }
        return this.vault.read(location.mount, location.path);
      case 'k8s':
        return this.kubernetes.read(location);
    }
  }
}

/**
 * The value a reference names, for the setting `where` (named in messages, before the store's reason).
 * Without a resolver the reference fails with SECRET_REFERENCE_INVALID.
 */
export async function resolveReference(
  reference: SecretReference,
  where: string,
  secrets: SecretResolver | undefined,
  options: ResolveOptions = {},
): Promise<string> {
  if (secrets === undefined) {
    throw new ScaleAgentError(Errors.SECRET_REFERENCE_INVALID, `${where}: ${reference.text}: secret references are not available here (no secret resolver)`, {
      reference: reference.text,
    });
  }
  try {
    return await secrets.resolve(reference, options);
  } catch (err) {
    if (!isScaleAgentError(err)) throw err;
    throw new ScaleAgentError(err, `${where}: ${err.message}`, { ...err.details, reference: reference.text }, { cause: err });
  }
}

/** A setting that may be a secret reference: its value as written, or the value the reference names. */
export async function resolveSetting(value: string, where: string, secrets: SecretResolver | undefined, options: ResolveOptions = {}): Promise<string> {
  if (!isSecretReference(value)) return value;
  return resolveReference(parseSecretReference(value, where), where, secrets, options);
}
