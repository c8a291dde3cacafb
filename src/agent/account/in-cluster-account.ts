import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { accountSchema, type AccountConfig } from '../../common/account-config.ts';

/** The account an agent running in its target cluster registers when its configuration names none. */
export const DEFAULT_IN_CLUSTER_ACCOUNT_NAME = 'in-cluster';

export interface InClusterAccountOptions {
  /** kubernetes.accounts as configured. */
  configured: readonly AccountConfig[];
  /** kubernetes.inClusterAccount: 'auto' registers one only inside a pod with no accounts configured. */
  mode: 'auto' | 'always' | 'never';
  name: string;
  /** Where the pod's ServiceAccount credentials are mounted. */
  serviceAccountDir: string;
  env?: NodeJS.ProcessEnv;
}

/** Inside a pod: Kubernetes sets the service variables and mounts the ServiceAccount's token. */
export function runsInCluster(env: NodeJS.ProcessEnv, serviceAccountDir: string): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST) && Boolean(env.KUBERNETES_SERVICE_PORT) && existsSync(join(serviceAccountDir, 'token'));
}

/**
 * Agent mode: the agent runs inside the cluster it serves and reaches it with its own ServiceAccount,
 * so it needs no kubeconfig and no account list — it registers one account for its cluster (named
 * kubernetes.inClusterAccount.name). Explicitly configured accounts turn this off under 'auto'.
 */
export function inClusterAccount(options: InClusterAccountOptions): AccountConfig | undefined {
  if (options.mode === 'never') return undefined;
  if (options.configured.some((a) => a.name === options.name)) return undefined;
  if (options.mode === 'auto' && (options.configured.length > 0 || !runsInCluster(options.env ?? process.env, options.serviceAccountDir))) return undefined;
  return accountSchema.parse({ name: options.name, serviceAccount: true });
}
