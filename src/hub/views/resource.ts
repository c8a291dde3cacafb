import { joinApiVersion, type KubeObject } from '../../common/kube-object.ts';
import type { ObjectKey } from '../../common/object-key.ts';
import { manifestStatus, type ManifestStatus } from '../manifest/stability.ts';
import { spinnakerKindName, spinnakerKindOf, type SpinnakerKind } from '../store/kind-names.ts';
import { deriveMoniker, MonikerAnnotations, type Moniker } from '../store/moniker.ts';
import type { CachedObject, ObjectVersion } from '../store/types.ts';
import { podHealth, type HealthEntry } from './health.ts';
import { isIngress, isService } from './kinds.ts';
import {
  asObject,
  desiredReplicas,
  explicitLoadBalancers,
  governingService,
  imagesOf,
  ingressBackendServices,
  ownerRefsOf,
  podTemplateLabels,
  policyRules,
  serviceSelector,
  stringMap,
  type OwnerRef,
  type SecurityGroupRule,
} from './manifest-facts.ts';

/**
 * An object version as the views use it: identity, Spinnaker naming (kind spelling, full resource name
 * "replicaSet nginx-v003", moniker) and the few facts its kind contributes to the relationships and the
 * view models, derived once from the manifest. The manifest itself is not kept (a ResourceCache holds
 * many of these); the single-object endpoints that return a manifest parse it themselves.
 */
export interface Resource extends Readonly<ObjectKey> {
  readonly account: string;
  readonly uid: string;
  readonly resourceVersion: string;
  /** "apps/v1" */
  readonly apiVersion: string;
  /** Spinnaker's spelling of the kind: "replicaSet". */
  readonly kindName: string;
  /** "replicaSet nginx-v003" */
  readonly fullName: string;
  readonly spinnakerKind: SpinnakerKind;
  readonly moniker: Moniker;
  readonly labels: Record<string, string>;
  /** metadata.creationTimestamp in epoch milliseconds. */
  readonly createdTime: number | undefined;
  readonly ownerRefs: readonly OwnerRef[];
  /** Server groups: pod-template labels, spec.replicas, images, the traffic annotation, stability. */
  readonly templateLabels?: Readonly<Record<string, string>>;
  readonly replicas?: number;
  readonly images?: readonly string[];
  readonly trafficLoadBalancers?: readonly string[];
  /** Server groups and their managers. */
  readonly status?: ManifestStatus;
  /** StatefulSets: spec.serviceName. */
  readonly governingService?: string;
  /** Services: spec.selector. */
  readonly selector?: Readonly<Record<string, string>>;
  /** Ingresses: the Services their backends name. */
  readonly backendServices?: readonly string[];
  /** Pods: health entries. */
  readonly health?: readonly HealthEntry[];
  /** NetworkPolicies: port rules. */
  readonly inboundRules?: readonly SecurityGroupRule[];
  readonly outboundRules?: readonly SecurityGroupRule[];
}

/** Deployments stamp the ReplicaSets they roll out with their revision (Clouddriver's sequence fallback). */
export const DEPLOYMENT_REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';

/**
 * The moniker the views show: the annotations, else the name (store/moniker.ts, as the ingest derived
 * it), with the stored application and cluster columns winning so that every view agrees with the
 * queries that found the object. Like Clouddriver, a ReplicaSet without a sequence annotation takes the
 * Deployment revision before the -vNNN suffix of its name.
 */
export function resourceMoniker(object: CachedObject, manifest: KubeObject): Moniker {
  const moniker = deriveMoniker(object.group, object.kind, manifest);
  if (object.application !== null) moniker.app = object.application;
  if (object.cluster !== null) moniker.cluster = object.cluster;
  const annotations = manifest.metadata?.annotations ?? {};
  if (object.kind === 'ReplicaSet' && annotations[MonikerAnnotations.sequence] === undefined) {
    const revision = annotations[DEPLOYMENT_REVISION_ANNOTATION];
    if (revision !== undefined && /^\d+$/.test(revision)) moniker.sequence = Number(revision);
  }
  return moniker;
}

function createdTimeOf(object: CachedObject, manifest: KubeObject): number | undefined {
  const stamp = manifest.metadata?.creationTimestamp;
  if (typeof stamp === 'string') {
    const ms = Date.parse(stamp);
    if (Number.isFinite(ms)) return ms;
  }
  return object.createdAt ?? undefined;
}

/** Parses a cached object's body; undefined when it is not a JSON object. */
export function parseManifest(object: CachedObject): KubeObject | undefined {
  try {
    const manifest = JSON.parse(object.body) as unknown;
    return asObject(manifest) as KubeObject | undefined;
  } catch {
    return undefined;
  }
}

/** Derives a Resource from a cached object; undefined when its body is not a JSON object (never served). */
export function toResource(object: CachedObject, parsed?: KubeObject): Resource | undefined {
  const manifest = parsed ?? parseManifest(object);
  if (!manifest) return undefined;
  const metadata = asObject(manifest.metadata) ?? {};
  const kindName = spinnakerKindName(object.group, object.kind);
  const spinnakerKind = spinnakerKindOf(object.group, object.kind);
  const resource: { -readonly [K in keyof Resource]: Resource[K] } = {
    account: object.account,
    group: object.group,
    kind: object.kind,
    namespace: object.namespace,
    name: object.name,
    uid: object.uid !== '' ? object.uid : typeof metadata.uid === 'string' ? metadata.uid : '',
    resourceVersion: object.resourceVersion,
    apiVersion: typeof manifest.apiVersion === 'string' ? manifest.apiVersion : joinApiVersion(object.group, object.version),
    kindName,
    fullName: `${kindName} ${object.name}`,
    spinnakerKind,
    moniker: resourceMoniker(object, manifest),
    labels: stringMap(metadata.labels),
    createdTime: createdTimeOf(object, manifest),
    ownerRefs: ownerRefsOf(manifest),
  };
  if (spinnakerKind === 'serverGroups') {
    resource.templateLabels = podTemplateLabels(manifest);
    resource.replicas = desiredReplicas(manifest);
    resource.images = imagesOf(manifest);
    resource.trafficLoadBalancers = explicitLoadBalancers(stringMap(metadata.annotations));
    resource.status = manifestStatus(object.group, object.kind, manifest);
    if (object.kind === 'StatefulSet') resource.governingService = governingService(manifest);
  } else if (spinnakerKind === 'serverGroupManagers') {
    resource.status = manifestStatus(object.group, object.kind, manifest);
  } else if (spinnakerKind === 'instances') {
    resource.health = podHealth(manifest);
  } else if (spinnakerKind === 'securityGroups') {
    resource.inboundRules = policyRules(manifest, 'ingress');
    resource.outboundRules = policyRules(manifest, 'egress');
  } else if (isService(object.group, object.kind)) {
    resource.selector = serviceSelector(manifest);
  } else if (isIngress(object.group, object.kind)) {
    resource.backendServices = ingressBackendServices(manifest);
  }
  return resource;
}

export function toResources(objects: readonly CachedObject[]): Resource[] {
  const out: Resource[] = [];
  for (const object of objects) {
    const resource = toResource(object);
    if (resource) out.push(resource);
  }
  return out;
}

/** A stable key of an object within the request: account, namespace, group, kind, name. */
export function resourceKey(account: string, namespace: string, group: string, kind: string, name: string): string {
  return `${account}\u0000${namespace}\u0000${group}\u0000${kind}\u0000${name}`;
}

export function keyOf(resource: Pick<Resource, 'account' | 'namespace' | 'group' | 'kind' | 'name'>): string {
  return resourceKey(resource.account, resource.namespace, resource.group, resource.kind, resource.name);
}

/** Code-unit order, like Java's String.compareTo (and cheaper than localeCompare). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorts by Spinnaker name, case-insensitively, then by name, account and namespace (Clouddriver sorts lists by name). */
export function byName<T extends { name: string; account?: string; namespace?: string }>(a: T, b: T): number {
  return (
    compareText(a.name.toLowerCase(), b.name.toLowerCase()) ||
    compareText(a.name, b.name) ||
    compareText(a.account ?? '', b.account ?? '') ||
    compareText(a.namespace ?? '', b.namespace ?? '')
  );
}

/** Entries a ResourceCache keeps by default: a few large applications' objects. */
export const DEFAULT_RESOURCE_CACHE_ENTRIES = 25_000;

/**
 * Resources by object version, least recently used first out. A version is immutable — an object's
 * resourceVersion (and UID) change with every write — so an entry is never stale: the store says which
 * versions exist now, the cache only saves parsing them again. Every hub replica keeps its own.
 */
export class ResourceCache {
  private readonly entries = new Map<string, Resource>();
  hits = 0;
  misses = 0;

  constructor(readonly capacity = DEFAULT_RESOURCE_CACHE_ENTRIES) {}

  private static key(v: Pick<ObjectVersion, 'account' | 'namespace' | 'group' | 'kind' | 'name' | 'uid' | 'resourceVersion'>): string {
    return `${keyOf(v)}\u0000${v.uid}\u0000${v.resourceVersion}`;
  }

  get size(): number {
    return this.entries.size;
  }

  get(version: ObjectVersion): Resource | undefined {
    const key = ResourceCache.key(version);
    const hit = this.entries.get(key);
    if (hit === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit;
  }

  put(version: ObjectVersion, resource: Resource): void {
    if (this.capacity <= 0) return;
    const key = ResourceCache.key(version);
    this.entries.delete(key);
    this.entries.set(key, resource);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  /** Derives (or finds) the resources of full cached objects, remembering them. */
  resources(objects: readonly CachedObject[]): Resource[] {
    const out: Resource[] = [];
    for (const object of objects) {
      let resource = this.get(object);
      if (!resource) {
        resource = toResource(object);
        if (!resource) continue;
        this.put(object, resource);
      }
      out.push(resource);
    }
    return out;
  }
}
