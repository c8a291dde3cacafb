import { spinnakerKindOf } from '../store/kind-names.ts';
import { isIngress, isService } from './kinds.ts';
import { keyOf, resourceKey, type Resource } from './resource.ts';

/**
 * The relationships Clouddriver's caching agents compute, derived in memory from the objects one request
 * loaded (never stored twice):
 *  - ownerReferences: Pod → ReplicaSet / StatefulSet / DaemonSet / Job (instances of a server group),
 *    ReplicaSet → Deployment (server groups of a manager);
 *  - a Service selects the server groups whose pod-template labels contain all of its selector's pairs
 *    (same account and namespace), and a StatefulSet names its governing Service in spec.serviceName;
 *  - an Ingress routes to the Services its backends name, and through them to their server groups;
 *  - `traffic.spinnaker.io/load-balancers` lists the Services a server group should be attached to;
 *    listed but attached to none of them is "disabled".
 * Clouddriver selects only ReplicaSets by labels; matching every pod template (StatefulSets, DaemonSets,
 * Jobs) shows the Services in front of those too, and can only turn "disabled" into "enabled" where a
 * Service really selects the pods.
 */
const SEP = '\u0000';

interface OwnedPod {
  pod: Resource;
  ownerUid: string | undefined;
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export class ResourceGraph {
  readonly serverGroups: Resource[] = [];
  readonly managers: Resource[] = [];
  readonly services: Resource[] = [];
  readonly ingresses: Resource[] = [];
  readonly securityGroups: Resource[] = [];
  readonly pods: Resource[] = [];
  private readonly byKey = new Map<string, Resource>();

  private podsByOwner: Map<string, OwnedPod[]> | undefined;
  private serverGroupsByManager: Map<string, Resource[]> | undefined;
  private servicesByServerGroup: Map<string, Resource[]> | undefined;
  private serverGroupsByService: Map<string, Resource[]> | undefined;

  constructor(resources: Iterable<Resource> = []) {
    for (const resource of resources) this.add(resource);
  }

  /** Adds a resource once (the same object loaded twice is kept once). */
  add(resource: Resource): void {
    const key = keyOf(resource);
    if (this.byKey.has(key)) return;
    this.byKey.set(key, resource);
    const kindClass = spinnakerKindOf(resource.group, resource.kind);
    if (kindClass === 'serverGroups') this.serverGroups.push(resource);
    else if (kindClass === 'serverGroupManagers') this.managers.push(resource);
    else if (kindClass === 'securityGroups') this.securityGroups.push(resource);
    else if (kindClass === 'instances') this.pods.push(resource);
    else if (isService(resource.group, resource.kind)) this.services.push(resource);
    else if (isIngress(resource.group, resource.kind)) this.ingresses.push(resource);
    this.podsByOwner = undefined;
    this.serverGroupsByManager = undefined;
    this.servicesByServerGroup = undefined;
    this.serverGroupsByService = undefined;
  }

  get(account: string, namespace: string, group: string, kind: string, name: string): Resource | undefined {
    return this.byKey.get(resourceKey(account, namespace, group, kind, name));
  }

  /** Services and Ingresses. */
  get loadBalancers(): Resource[] {
    return [...this.services, ...this.ingresses];
  }

  /** The pods a server group owns (ownerReferences; a recorded owner UID must match). */
  instancesOf(serverGroup: Resource): Resource[] {
    this.podsByOwner ??= this.indexPods();
    const owned = this.podsByOwner.get(keyOf(serverGroup)) ?? [];
    return owned.filter((o) => o.ownerUid === undefined || serverGroup.uid === '' || o.ownerUid === serverGroup.uid).map((o) => o.pod);
  }

  /** The server groups (ReplicaSets) a manager (Deployment) owns. */
  serverGroupsOf(manager: Resource): Resource[] {
    this.serverGroupsByManager ??= this.indexManagers();
    return this.serverGroupsByManager.get(keyOf(manager)) ?? [];
  }

  /** The Services attached to a server group (by selector, or a StatefulSet's serviceName). */
  servicesOf(serverGroup: Resource): Resource[] {
    this.linkServices();
    return this.servicesByServerGroup!.get(keyOf(serverGroup)) ?? [];
  }

  /** The server groups behind a load balancer: a Service's selected ones, an Ingress's through its Services. */
  serverGroupsBehind(loadBalancer: Resource): Resource[] {
    this.linkServices();
    if (!isIngress(loadBalancer.group, loadBalancer.kind)) return this.serverGroupsByService!.get(keyOf(loadBalancer)) ?? [];
    const out = new Map<string, Resource>();
    for (const service of this.backendServicesOf(loadBalancer)) {
      for (const sg of this.serverGroupsByService!.get(keyOf(service)) ?? []) out.set(keyOf(sg), sg);
    }
    return [...out.values()];
  }

  /** The Services of the graph an Ingress routes to. */
  backendServicesOf(ingress: Resource): Resource[] {
    return (ingress.backendServices ?? [])
      .map((name) => this.get(ingress.account, ingress.namespace, '', 'Service', name))
      .filter((s): s is Resource => s !== undefined);
  }

  /**
   * A server group's `loadBalancers` (attached Services ∪ the traffic annotation) and whether it is
   * disabled (the annotation names load balancers but none is attached).
   */
  trafficOf(serverGroup: Resource): { loadBalancers: string[]; disabled: boolean } {
    const attached = this.servicesOf(serverGroup).map((s) => s.fullName);
    const explicit = serverGroup.trafficLoadBalancers ?? [];
    const all = [...new Set([...attached, ...explicit])].sort();
    return { loadBalancers: all, disabled: attached.length === 0 && explicit.length > 0 };
  }

  private indexPods(): Map<string, OwnedPod[]> {
    const index = new Map<string, OwnedPod[]>();
    for (const pod of this.pods) {
      for (const ref of pod.ownerRefs) pushTo(index, resourceKey(pod.account, pod.namespace, ref.group, ref.kind, ref.name), { pod, ownerUid: ref.uid });
    }
    return index;
  }

  private indexManagers(): Map<string, Resource[]> {
    const index = new Map<string, Resource[]>();
    for (const sg of this.serverGroups) {
      for (const ref of sg.ownerRefs) {
        if (spinnakerKindOf(ref.group, ref.kind) !== 'serverGroupManagers') continue;
        const manager = this.get(sg.account, sg.namespace, ref.group, ref.kind, ref.name);
        if (manager && (ref.uid === undefined || manager.uid === '' || ref.uid === manager.uid)) pushTo(index, keyOf(manager), sg);
      }
    }
    return index;
  }

  private linkServices(): void {
    if (this.servicesByServerGroup && this.serverGroupsByService) return;
    const bySg = new Map<string, Resource[]>();
    const byService = new Map<string, Resource[]>();
    const linked = new Set<string>();
    const link = (sg: Resource, service: Resource) => {
      const pair = keyOf(sg) + SEP + SEP + keyOf(service);
      if (linked.has(pair)) return;
      linked.add(pair);
      pushTo(bySg, keyOf(sg), service);
      pushTo(byService, keyOf(service), sg);
    };
    // Label index over pod templates: "account ns key value" → server groups carrying that label.
    const byLabel = new Map<string, Set<Resource>>();
    for (const sg of this.serverGroups) {
      const labels = sg.templateLabels;
      if (!labels) continue;
      for (const [key, value] of Object.entries(labels)) {
        const label = sg.account + SEP + sg.namespace + SEP + key + SEP + value;
        const set = byLabel.get(label);
        if (set) set.add(sg);
        else byLabel.set(label, new Set([sg]));
      }
    }
    for (const service of this.services) {
      const selector = Object.entries(service.selector ?? {});
      if (selector.length === 0) continue;
      const carriers = selector.map(([key, value]) => byLabel.get(service.account + SEP + service.namespace + SEP + key + SEP + value));
      if (carriers.some((c) => c === undefined)) continue;
      const sets = (carriers as Set<Resource>[]).sort((a, b) => a.size - b.size);
      for (const sg of sets[0] ?? []) if (sets.every((set) => set.has(sg))) link(sg, service);
    }
    for (const sg of this.serverGroups) {
      if (sg.governingService === undefined) continue;
      const service = this.get(sg.account, sg.namespace, '', 'Service', sg.governingService);
      if (service) link(sg, service);
    }
    this.servicesByServerGroup = bySg;
    this.serverGroupsByService = byService;
  }
}
