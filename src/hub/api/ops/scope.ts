import type { KubeObject } from '../../../common/kube-object.ts';
import { splitApiVersion } from '../../../common/kube-object.ts';
import { knownKind } from '../../store/kind-names.ts';
import type { AccountRecord } from '../../store/types.ts';

/** The API group of CustomResourceDefinitions. */
const DEFINITIONS_GROUP = 'apiextensions.k8s.io';
const DEFINITION_KIND = 'CustomResourceDefinition';
/** A CRD's `spec.scope` for kinds without a namespace (the other value is `Namespaced`). */
const CLUSTER_SCOPE = 'Cluster';

/** Whether kinds defined by CustomResourceDefinitions of one request are namespaced, by `group/kind`. */
export type RequestDefinitions = ReadonlyMap<string, boolean>;

function definitionKey(group: string, kind: string): string {
  return `${group}/${kind}`;
}

function field(source: unknown, key: string): unknown {
  return typeof source === 'object' && source !== null && !Array.isArray(source) ? (source as Record<string, unknown>)[key] : undefined;
}

/**
 * The kinds the CustomResourceDefinitions among `manifests` define (spec.group, spec.names.kind) and
 * whether each is namespaced (spec.scope). A custom resource deployed with its CRD in the same request
 * is not yet known to the agent's discovery; its CRD says where it lives.
 */
export function requestDefinitions(manifests: readonly KubeObject[]): RequestDefinitions {
  const out = new Map<string, boolean>();
  for (const manifest of manifests) {
    if (manifest.kind !== DEFINITION_KIND || typeof manifest.apiVersion !== 'string') continue;
    if (splitApiVersion(manifest.apiVersion).group !== DEFINITIONS_GROUP) continue;
    const spec = field(manifest, 'spec');
    const group = field(spec, 'group');
    const kind = field(field(spec, 'names'), 'kind');
    if (typeof group !== 'string' || typeof kind !== 'string' || group === '' || kind === '') continue;
    out.set(definitionKey(group, kind), field(spec, 'scope') !== CLUSTER_SCOPE);
  }
  return out;
}

/**
 * Whether a kind is namespaced: as the account's agent discovered it, else as a CustomResourceDefinition
 * of the same request defines it, else as Kubernetes defines the built-in kinds; unknown custom kinds
 * are assumed namespaced (most are).
 */
export function namespacedKind(account: AccountRecord, group: string, kind: string, definitions?: RequestDefinitions): boolean {
  const discovered = account.kinds.find((k) => k.group === group && k.kind === kind);
  if (discovered) return discovered.namespaced;
  const defined = definitions?.get(definitionKey(group, kind));
  if (defined !== undefined) return defined;
  return knownKind(group, kind)?.namespaced ?? true;
}
