import { parse as parseYaml } from 'yaml';
import { yamlErrorPlace } from '../../common/yaml-error.ts';
import { Errors, ScaleAgentError, isScaleAgentError } from '../../common/errors.ts';
import type { AccountConfig } from '../../common/account-config.ts';
import type { ClusterCredentials } from '../../kube/credentials.ts';
import { inClusterCredentials, type InClusterOptions } from '../../kube/in-cluster.ts';
import { loadKubeconfig } from '../../kube/kubeconfig.ts';
import { resolveReference, type ResolveOptions, type SecretResolver } from '../secrets/secret-resolver.ts';
import { ENCRYPTED_FILE_PREFIX, isSecretReference, parseSecretReference } from '../secrets/secret-reference.ts';

/** How loadKubeconfig names text given to it in memory, replaced in messages by the reference it came from. */
const INLINE_SOURCE = 'kubeconfig <inline kubeconfig>: ';

export interface AccountCredentialsOptions extends ResolveOptions {
  /** Resolves `encrypted:` and `encryptedFile:` references; without it a reference fails with SECRET_REFERENCE_INVALID. */
  secrets?: SecretResolver;
  /** Where the pod's ServiceAccount credentials are (kubernetes.serviceAccountDir). */
  inCluster?: InClusterOptions;
}

/**
 * An account's ClusterCredentials from its configuration: `serviceAccount: true` → the pod's own
 * ServiceAccount; else `kubeconfigFile` (a path, or an `encryptedFile:` reference whose value is the
 * file's contents, or an `encrypted:` one whose value is the path) or `kubeconfigContents` (the text, or
 * a reference whose value is the text), with `context`. `insecure: true` skips verifying the API
 * server's certificate. Secret values never appear in an error: a kubeconfig read from a secret is named
 * by its reference, and its YAML errors by position only.
 */
export async function accountCredentials(config: AccountConfig, options: AccountCredentialsOptions = {}): Promise<ClusterCredentials> {
  const credentials = config.serviceAccount ? inClusterCredentials(options.inCluster) : await kubeconfigCredentials(config, options);
  return config.insecure ? { ...credentials, insecureSkipTlsVerify: true } : credentials;
}

async function kubeconfigCredentials(config: AccountConfig, options: AccountCredentialsOptions): Promise<ClusterCredentials> {
  const context = config.context;
  const resolve = async (value: string, key: string) => {
    const where = `account ${config.name}: ${key}`;
    const reference = parseSecretReference(value, where);
    return { reference, value: await resolveReference(reference, where, options.secrets, { fresh: options.fresh }) };
  };
  const file = config.kubeconfigFile;
  if (file !== undefined && isSecretReference(file)) {
    const { reference, value } = await resolve(file, 'kubeconfigFile');
    if (reference.form === 'value') return kubeconfigAtSecretPath(value, reference.text, context);
    return kubeconfigFromSecret(value, reference.text, context);
  }
  const contents = config.kubeconfigContents;
  if (contents !== undefined && isSecretReference(contents)) {
    const { reference, value } = await resolve(contents, 'kubeconfigContents');
    return kubeconfigFromSecret(value, reference.text, context);
  }
  return loadKubeconfig({ path: file, contents, context });
}

/** A line break: a secret's value with one is a kubeconfig's text, not a path. */
const LINE_BREAK = /[\r\n]/;

/**
 * Loads the kubeconfig at the path a secret's value gives (`kubeconfigFile: encrypted:…`), naming the
 * path by its reference in every message: a secret that holds the kubeconfig itself (encrypted: written
 * for encryptedFile:) would otherwise be quoted whole, token and all, as a file that cannot be opened.
 */
async function kubeconfigAtSecretPath(path: string, reference: string, context: string | undefined): Promise<ClusterCredentials> {
  const source = `kubeconfig at the path ${reference} holds`;
  if (LINE_BREAK.test(path)) {
    throw new ScaleAgentError(
      Errors.KUBECONFIG_INVALID,
      `${source}: the secret holds text with line breaks, not a path; reference a kubeconfig's contents with ${ENCRYPTED_FILE_PREFIX}`,
      { reference },
    );
  }
  try {
    return await loadKubeconfig({ path, context });
  } catch (err) {
    if (!isScaleAgentError(err)) throw err;
    throw new ScaleAgentError(Errors.KUBECONFIG_INVALID, err.message.split(path).join(`<the path ${reference} holds>`), { reference });
  }
}

/** Loads a kubeconfig whose text is a secret's value, naming it by its reference in every message. */
async function kubeconfigFromSecret(text: string, reference: string, context: string | undefined): Promise<ClusterCredentials> {
  const source = `kubeconfig from ${reference}`;
  try {
    // The YAML parser quotes the offending text in its errors: parse here first, to report the position only.
    parseYaml(text);
  } catch (err) {
    throw new ScaleAgentError(Errors.KUBECONFIG_INVALID, `${source}: is not valid YAML${yamlErrorPlace(err)}`, { reference });
  }
  try {
    return await loadKubeconfig({ contents: text, context });
  } catch (err) {
    if (!isScaleAgentError(err)) throw err;
    const message = err.message.startsWith(INLINE_SOURCE) ? err.message.slice(INLINE_SOURCE.length) : err.message;
    throw new ScaleAgentError(Errors.KUBECONFIG_INVALID, `${source}: ${message}`, { ...err.details, source: reference, reference });
  }
}
