/**
 * Account facts an agent declares to the hub in AccountInfo's free-form `properties` (protocol field 7)
 * rather than in a field of their own: the hub reads them where it needs them, and an agent that
 * predates one simply does not send it.
 */

/**
 * The account's `omitNamespaces`, joined by commas (a namespace name is a DNS label: it holds no comma).
 * The agent never watches those namespaces, so the hub refuses operations that would write there
 * (Clouddriver's `omittedNamespace` validation) instead of waiting for objects its cache never sees.
 */
export const OMIT_NAMESPACES_PROPERTY = 'omitNamespaces';

export function joinNamespaces(namespaces: readonly string[]): string {
  return namespaces.join(',');
}

/** The namespaces a property lists; none when it is absent or empty. */
export function splitNamespaces(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((ns) => ns.trim())
    .filter((ns) => ns !== '');
}

/**
 * The namespace the account's manifests go to when they name none: the kubeconfig context's namespace,
 * or (serviceAccount: true) the pod's ServiceAccount namespace, else `default` — Clouddriver's
 * KubernetesCredentials.getDefaultNamespace. The agent fills it into such manifests; the hub uses the
 * same value to place and check them. An agent that predates it does not send it: the hub then places
 * such manifests in DEFAULT_NAMESPACE (what that agent fills in) without checking it, as Clouddriver
 * checks no namespace it was not given.
 */
export const DEFAULT_NAMESPACE_PROPERTY = 'defaultNamespace';

/** Kubernetes' own default, where a kubeconfig context or ServiceAccount names no namespace. */
export const DEFAULT_NAMESPACE = 'default';

/** The default namespace of an account whose credentials name `namespace` (or none). */
export function accountDefaultNamespace(namespace: string | undefined): string {
  const trimmed = namespace?.trim();
  return trimmed === undefined || trimmed === '' ? DEFAULT_NAMESPACE : trimmed;
}
