import type { KubeObject } from '../../common/kube-object.ts';
import { resolveKind, splitFullResourceName, spinnakerKindOf, type SpinnakerKind } from '../store/kind-names.ts';
import type { AccountReader, ApplicationScope, CacheReader, CachedObject, ObjectVersion, StoreGroupKind } from '../store/types.ts';
import { ResourceGraph } from './graph.ts';
import { APPLICATION_KINDS, POD_KIND, SERVER_GROUP_KINDS, SERVICE_KINDS } from './kinds.ts';
import { parseManifest, ResourceCache, toResource, type Resource } from './resource.ts';

/**
 * Loads what a view needs with a handful of indexed queries, then relates it in memory. Lists are read
 * in two steps: the versions of the objects (no bodies), then the bodies of only the versions the
 * ResourceCache has not derived yet — so a repeated view parses nothing that did not change.
 *  1. the application's objects of the kinds the view shows (index objects_kind_application);
 *  2. the Services in the namespaces of those objects (primary-key ranges), for selectors and Ingresses;
 *  3. the pods of the server groups: the versions of the pods in those namespaces (the primary key's
 *     range), kept only where the name is one a server group could have generated ("<owner>-<suffix>",
 *     or the 58-character prefix Kubernetes cuts long generated names to), so a namespace shared with
 *     other applications costs keys, not bodies.
 * Nothing is queried per object.
 */

/** Kubernetes cuts a generateName base to 63 − 5 characters before appending the random suffix. */
const GENERATED_BASE_LENGTH = 58;

export class ViewLoader {
  constructor(
    readonly store: CacheReader & AccountReader,
    readonly cache: ResourceCache = new ResourceCache(),
  ) {}

  /** The resources of `versions`: cached ones as they are, the others read (grouped by kind and namespace) and derived. */
  async resolve(versions: readonly ObjectVersion[]): Promise<Resource[]> {
    const out: Resource[] = [];
    const missing = new Map<string, { account: string; group: string; kind: string; namespace: string; names: string[] }>();
    for (const v of versions) {
      const hit = this.cache.get(v);
      if (hit) {
        out.push(hit);
        continue;
      }
      const key = `${v.account}\u0000${v.group}\u0000${v.kind}\u0000${v.namespace}`;
      const group = missing.get(key);
      if (group) group.names.push(v.name);
      else missing.set(key, { account: v.account, group: v.group, kind: v.kind, namespace: v.namespace, names: [v.name] });
    }
    for (const m of missing.values()) {
      const objects = await this.store.listNamespacedObjects({
        account: m.account,
        kinds: [{ group: m.group, kind: m.kind }],
        namespaces: [m.namespace],
        names: m.names,
      });
      out.push(...this.cache.resources(objects));
    }
    return out;
  }

  /** The application's objects of `kinds` (every kind an application has by default). */
  async applicationObjects(application: string, kinds: readonly StoreGroupKind[] = APPLICATION_KINDS, scope: ApplicationScope = {}): Promise<Resource[]> {
    return this.resolve(await this.store.listApplicationObjectVersions(application, kinds, scope));
  }

  /** Adds every Service in the namespaces of `resources` to the graph. */
  async addNamespaceServices(graph: ResourceGraph, resources: Iterable<Resource>): Promise<void> {
    for (const [account, namespaces] of namespacesByAccount(resources)) {
      const versions = await this.store.listNamespacedObjectVersions({ account, kinds: SERVICE_KINDS, namespaces: [...namespaces] });
      for (const r of await this.resolve(versions)) graph.add(r);
    }
  }

  /**
   * Adds every server group in the namespaces of `resources` to the graph, whichever application it
   * belongs to: Clouddriver relates a Service to each ReplicaSet of its namespace its selector matches
   * (KubernetesServiceHandler.addRelationships), so a load balancer shows the server groups behind it
   * even when their moniker names another application.
   */
  async addNamespaceServerGroups(graph: ResourceGraph, resources: Iterable<Resource>): Promise<void> {
    for (const [account, namespaces] of namespacesByAccount(resources)) {
      const versions = await this.store.listNamespacedObjectVersions({ account, kinds: SERVER_GROUP_KINDS, namespaces: [...namespaces] });
      for (const r of await this.resolve(versions)) graph.add(r);
    }
  }

  /** Adds the pods of `serverGroups` to the graph (versions first, then only the candidates). */
  async addPods(graph: ResourceGraph, serverGroups: readonly Resource[]): Promise<void> {
    const owners = new Map<string, Map<string, OwnerNames>>();
    for (const sg of serverGroups) {
      if (sg.namespace === '' || sg.kind === 'CronJob') continue; // a CronJob's pods belong to its Jobs
      let byNamespace = owners.get(sg.account);
      if (!byNamespace) owners.set(sg.account, (byNamespace = new Map()));
      let names = byNamespace.get(sg.namespace);
      if (!names) byNamespace.set(sg.namespace, (names = { exact: new Set(), truncated: new Set() }));
      names.exact.add(sg.name);
      const base = `${sg.name}-`;
      if (base.length > GENERATED_BASE_LENGTH) names.truncated.add(base.slice(0, GENERATED_BASE_LENGTH));
    }
    for (const [account, byNamespace] of owners) {
      const versions = await this.store.listNamespacedObjectVersions({ account, kinds: [POD_KIND], namespaces: [...byNamespace.keys()] });
      const candidates = versions.filter((v) => {
        const names = byNamespace.get(v.namespace);
        return names !== undefined && couldBeOwnedBy(v.name, names);
      });
      for (const r of await this.resolve(candidates)) graph.add(r);
    }
  }

  /** An application's objects, related: the graph holds them plus what `selection` asks for. */
  async application(selection: ApplicationSelection): Promise<LoadedApplication> {
    const kinds = selection.kinds ?? APPLICATION_KINDS;
    const scopes: readonly ApplicationScope[] = selection.clusters ?? [{ account: selection.account, cluster: selection.cluster }];
    const own = new Set<Resource>();
    for (const scope of scopes) for (const r of await this.applicationObjects(selection.application, kinds, scope)) own.add(r);
    const graph = new ResourceGraph(own);
    if (selection.services) await this.addNamespaceServices(graph, own);
    if (selection.instances) await this.addPods(graph, graph.serverGroups);
    return { application: selection.application, graph, own: [...own] };
  }

  /** One cached object by account, namespace and full resource name, if it is of `kindClass`; with its manifest. */
  async one(
    account: string,
    namespace: string,
    fullName: string,
    kindClass: SpinnakerKind,
  ): Promise<{ resource: Resource; manifest: KubeObject; object: CachedObject } | undefined> {
    const target = await resolveFullName(this.store, account, fullName);
    if (!target || spinnakerKindOf(target.group, target.kind) !== kindClass) return undefined;
    const object = await this.store.getObject(account, target.group, target.kind, namespace, target.name);
    const manifest = object ? parseManifest(object) : undefined;
    const resource = object && manifest ? (this.cache.get(object) ?? toResource(object, manifest)) : undefined;
    if (!object || !manifest || !resource) return undefined;
    this.cache.put(object, resource);
    return { resource, manifest, object };
  }

  /** A server group with its pods and the Services of its namespace. */
  async serverGroup(
    account: string,
    namespace: string,
    fullName: string,
  ): Promise<{ graph: ResourceGraph; serverGroup: Resource; manifest: KubeObject } | undefined> {
    const found = await this.one(account, namespace, fullName, 'serverGroups');
    if (!found) return undefined;
    const graph = new ResourceGraph([found.resource]);
    await this.addNamespaceServices(graph, [found.resource]);
    await this.addPods(graph, [found.resource]);
    return { graph, serverGroup: found.resource, manifest: found.manifest };
  }

  /**
   * A load balancer with the server groups behind it, whichever application they belong to: every server
   * group and Service of its namespace is related, then the pods of the selected server groups loaded.
   */
  async loadBalancer(account: string, namespace: string, fullName: string): Promise<{ graph: ResourceGraph; loadBalancer: Resource } | undefined> {
    const found = await this.one(account, namespace, fullName, 'loadBalancers');
    if (!found) return undefined;
    const loadBalancer = found.resource;
    const graph = new ResourceGraph([loadBalancer]);
    await this.addNamespaceServices(graph, [loadBalancer]);
    await this.addNamespaceServerGroups(graph, [loadBalancer]);
    await this.addPods(graph, graph.serverGroupsBehind(loadBalancer));
    return { graph, loadBalancer };
  }
}

interface OwnerNames {
  exact: Set<string>;
  truncated: Set<string>;
}

/** Whether `podName` could have been generated for one of the owner names. */
function couldBeOwnedBy(podName: string, owners: OwnerNames): boolean {
  const dash = podName.lastIndexOf('-');
  if (dash > 0 && owners.exact.has(podName.slice(0, dash))) return true;
  return podName.length > GENERATED_BASE_LENGTH && owners.truncated.has(podName.slice(0, GENERATED_BASE_LENGTH));
}

function namespacesByAccount(resources: Iterable<Resource>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const r of resources) {
    if (r.namespace === '') continue;
    const set = out.get(r.account);
    if (set) set.add(r.namespace);
    else out.set(r.account, new Set([r.namespace]));
  }
  return out;
}

export interface ApplicationSelection {
  application: string;
  /** Kinds of the application's own objects to load (default: every kind an application has). */
  kinds?: readonly StoreGroupKind[];
  account?: string;
  /** Only the objects of one moniker cluster. */
  cluster?: string;
  /** Only the objects of these scopes (instead of account and cluster): (account, cluster) pairs, or whole accounts. */
  clusters?: readonly ApplicationScope[];
  /** Load the Services of the objects' namespaces (server groups' load balancers, Ingress backends). */
  services?: boolean;
  /** Load the pods of the server groups (instances). */
  instances?: boolean;
}

export interface LoadedApplication {
  application: string;
  graph: ResourceGraph;
  /** The application's own objects (its moniker app), as selected. */
  own: Resource[];
}

/** The application's own objects of one Spinnaker kind class. */
export function ownOf(loaded: LoadedApplication, kindClass: SpinnakerKind): Resource[] {
  return loaded.own.filter((r) => r.spinnakerKind === kindClass);
}

/** The kind a full resource name ("replicaSet nginx-v003") names for an account, or undefined. */
export async function resolveFullName(
  store: AccountReader,
  accountName: string,
  fullName: string,
): Promise<{ group: string; kind: string; name: string } | undefined> {
  const parts = splitFullResourceName(fullName);
  if (!parts) return undefined;
  const account = await store.getAccount(accountName);
  if (!account) return undefined;
  const gk = resolveKind(parts.kindToken, account.kinds);
  return gk ? { ...gk, name: parts.name } : undefined;
}
