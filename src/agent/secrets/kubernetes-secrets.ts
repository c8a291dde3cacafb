import { errorMessage, Errors, ScaleAgentError } from '../../common/errors.ts';
import { HTTP_FORBIDDEN, HTTP_NOT_FOUND } from '../../common/http-status.ts';
import type { KubeObject } from '../../common/kube-object.ts';
import { apiErrorStatus } from '../../kube/api-error.ts';
import { KubeClient } from '../../kube/client.ts';
import type { ClusterCredentials } from '../../kube/credentials.ts';
import { inClusterCredentials } from '../../kube/in-cluster.ts';
import type { SecretDocument } from './secret-document.ts';

export interface KubernetesSecretsOptions {
  /**
   * The cluster Secrets are read from and its default namespace. Default: the agent's own cluster and
   * namespace, through the pod's ServiceAccount (tests point it at a sim cluster).
   */
  credentials?: () => ClusterCredentials;
  requestTimeoutMs?: number;
}

export interface KubernetesSecretLocation {
  name: string;
  /** Default: the namespace of the credentials (the agent pod's). */
  namespace?: string;
}

interface SecretObject extends KubeObject {
  data?: Record<string, unknown>;
}

function unavailable(message: string, details: Record<string, unknown>): ScaleAgentError {
  return new ScaleAgentError(Errors.SECRET_UNAVAILABLE, message, details);
}

/**
 * Reads Secrets of the cluster the agent runs in, as stored: the keys of `data`, base64-decoded. Needs
 * `get` on secrets in the namespaces referenced (a Role in the agent's namespace is enough by default).
 */
export class KubernetesSecrets {
  private client: KubeClient | undefined;

  constructor(private readonly options: KubernetesSecretsOptions = {}) {}

  async read(location: KubernetesSecretLocation): Promise<SecretDocument> {
    const client = this.connect();
    const namespace = location.namespace ?? client.credentials.namespace;
    if (namespace === undefined) {
      throw new ScaleAgentError(
        Errors.SECRET_REFERENCE_INVALID,
        `k8s secret ${location.name}: no namespace given (!ns:…) and the agent's own namespace is unknown (no ServiceAccount namespace file)`,
        { secret: location.name },
      );
    }
    const where = `k8s secret ${namespace}/${location.name}`;
    const details = { namespace, secret: location.name };
    let secret: SecretObject;
    try {
      secret = await client.json<SecretObject>({ path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(location.name)}` });
    } catch (err) {
      const status = apiErrorStatus(err);
      if (status === HTTP_NOT_FOUND) throw unavailable(`${where}: not found`, { ...details, status });
      if (status === HTTP_FORBIDDEN)
        throw unavailable(`${where}: the agent may not read it (grant get on secrets): ${errorMessage(err)}`, { ...details, status });
      throw unavailable(`${where}: ${errorMessage(err)}`, details);
    }
    const values = new Map<string, string>();
    for (const [key, value] of Object.entries(secret.data ?? {})) {
      if (typeof value === 'string') values.set(key, Buffer.from(value, 'base64').toString('utf8'));
    }
    return { source: where, values };
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.close();
  }

  private connect(): KubeClient {
    if (this.client !== undefined) return this.client;
    let credentials: ClusterCredentials;
    try {
      credentials = (this.options.credentials ?? inClusterCredentials)();
    } catch (err) {
      throw unavailable(`k8s secret references read the cluster the agent runs in, which cannot be reached: ${errorMessage(err)}`, {});
    }
    this.client = new KubeClient(credentials, { requestTimeoutMs: this.options.requestTimeoutMs, userAgent: 'scale-agent' });
    return this.client;
  }
}
