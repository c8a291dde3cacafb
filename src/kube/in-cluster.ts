import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Errors, ScaleAgentError } from '../common/errors.ts';
import type { ClusterCredentials } from './credentials.ts';

/** Where the kubelet mounts a pod's ServiceAccount credentials. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface InClusterOptions {
  env?: NodeJS.ProcessEnv;
  /** Overrides SERVICE_ACCOUNT_DIR (tests). */
  serviceAccountDir?: string;
}

/**
 * Credentials of the pod's own ServiceAccount. The token is referenced by path, not copied, because
 * projected tokens rotate (about hourly) and the client re-reads the file.
 */
export function inClusterCredentials(options: InClusterOptions = {}): ClusterCredentials {
  const env = options.env ?? process.env;
  const dir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new ScaleAgentError(Errors.KUBECONFIG_INVALID, 'not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set', {});
  }
  const tokenPath = join(dir, 'token');
  let caPem: string;
  try {
    readFileSync(tokenPath);
    caPem = readFileSync(join(dir, 'ca.crt'), 'utf8');
  } catch (err) {
    throw new ScaleAgentError(Errors.KUBECONFIG_INVALID, `in-cluster ServiceAccount credentials unreadable in ${dir}: ${(err as Error).message}`, { dir });
  }
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const credentials: ClusterCredentials = {
    server: `https://${hostPart}:${port}`,
    caPem,
    insecureSkipTlsVerify: false,
    auth: { type: 'tokenFile', path: tokenPath },
  };
  try {
    const namespace = readFileSync(join(dir, 'namespace'), 'utf8').trim();
    if (namespace !== '') credentials.namespace = namespace;
  } catch {
    // The namespace file is optional: only a default for namespaced calls.
  }
  return credentials;
}
