import type { KubeObject } from '../../common/kube-object.ts';
import { stripSecretData } from '../manifest/secrets.ts';
import { manifestStatus, type ManifestStatus } from '../manifest/stability.ts';
import { spinnakerKindOf } from '../store/kind-names.ts';
import type { Moniker } from '../store/moniker.ts';
import type { ResourceGraph } from './graph.ts';
import { healthState, instanceCounts, type HealthEntry, type HealthState, type InstanceCounts } from './health.ts';
import type { SecurityGroupRule } from './manifest-facts.ts';
import { byName, keyOf, type Resource } from './resource.ts';

/**
 * Clouddriver's Kubernetes view models as JSON (caching/view/model/Kubernetes*.java and the web layer's
 * view models). Jackson there drops null fields, so optional fields here are left out rather than null.
 * Full resource names ("replicaSet nginx-v003") are the names; bare names are displayName; the region
 * (and an instance's zone) is the namespace.
 */
export const CLOUD_PROVIDER = 'kubernetes';

export interface InstanceModel {
  /** The pod UID: Deck tells instances apart by it. */
  name: string;
  humanReadableName: string;
  displayName: string;
  account: string;
  namespace: string;
  zone: string;
  kind: string;
  apiVersion: string;
  labels: Record<string, string>;
  moniker: Moniker;
  createdTime?: number;
  cloudProvider: typeof CLOUD_PROVIDER;
  providerType: typeof CLOUD_PROVIDER;
  healthState: HealthState;
  health: HealthEntry[];
}

export interface ServerGroupManagerSummary {
  /** The bare name (Deck prefixes the kind). */
  name: string;
  location: string;
  account: string;
}

export interface BuildInfo {
  images: string[];
}

export interface Capacity {
  desired: number;
  pinned: boolean;
}

export interface ServerGroupModel {
  name: string;
  displayName: string;
  account: string;
  namespace: string;
  region: string;
  kind: string;
  apiVersion: string;
  cloudProvider: typeof CLOUD_PROVIDER;
  type: typeof CLOUD_PROVIDER;
  moniker: Moniker;
  labels: Record<string, string>;
  createdTime?: number;
  disabled: boolean;
  isDisabled: boolean;
  capacity: Capacity;
  instanceCounts: InstanceCounts;
  instances: InstanceModel[];
  loadBalancers: string[];
  serverGroupManagers: ServerGroupManagerSummary[];
  buildInfo: BuildInfo;
  imagesSummary: { summaries: Array<{ serverGroupName: string; buildInfo: BuildInfo }> };
  zones: string[];
  securityGroups: string[];
  launchConfig: Record<string, never>;
  /** Ours: the manifest's stability, as /manifests reports it. */
  status: ManifestStatus;
  /** Single server group only: the cached manifest. */
  manifest?: KubeObject;
}

/** An instance as Deck's clusters tab reads it (Clouddriver's InstanceViewModel). */
export interface InstanceSummary {
  id: string;
  name: string;
  health: Array<{ type: string; state: string }>;
  healthState: HealthState;
  availabilityZone: string;
}

/** Clouddriver's ServerGroupViewModel: the items of /applications/{app}/serverGroups. */
export interface ServerGroupSummary {
  name: string;
  account: string;
  region: string;
  cluster: string;
  type: typeof CLOUD_PROVIDER;
  cloudProvider: typeof CLOUD_PROVIDER;
  application?: string;
  isDisabled: boolean;
  disabled: boolean;
  moniker: Moniker;
  buildInfo: BuildInfo;
  createdTime?: number;
  capacity: Capacity;
  instances: InstanceSummary[];
  loadBalancers: string[];
  securityGroups: string[];
  instanceCounts: InstanceCounts;
  labels?: Record<string, string>;
  serverGroupManagers: ServerGroupManagerSummary[];
}

export interface LoadBalancerInstance {
  id: string;
  name: string;
  zone: string;
  /** Clouddriver merges the health entries into one map (the last entry's values win). */
  health: Partial<HealthEntry>;
}

export interface LoadBalancerServerGroup {
  name: string;
  account: string;
  region: string;
  isDisabled: boolean;
  detachedInstances: string[];
  instances: LoadBalancerInstance[];
  cloudProvider: typeof CLOUD_PROVIDER;
}

/** What every Kubernetes-backed model that Deck lists says about its manifest. */
export interface ManifestBackedModel {
  name: string;
  displayName: string;
  account: string;
  namespace: string;
  region: string;
  kind: string;
  apiVersion: string;
  labels: Record<string, string>;
  moniker: Moniker;
  createdTime?: number;
  cloudProvider: typeof CLOUD_PROVIDER;
}

export interface LoadBalancerModel extends ManifestBackedModel {
  type: typeof CLOUD_PROVIDER;
  serverGroups: LoadBalancerServerGroup[];
}

export interface ClusterModel {
  name: string;
  moniker: { app: string; cluster: string };
  type: typeof CLOUD_PROVIDER;
  accountName: string;
  application: string;
  serverGroups: ServerGroupModel[];
  loadBalancers: LoadBalancerModel[];
}

export interface ServerGroupSummaryRef {
  name: string;
  account: string;
  namespace: string;
  region: string;
  moniker: Moniker;
}

export interface ServerGroupManagerModel extends ManifestBackedModel {
  serverGroups: ServerGroupSummaryRef[];
  /** Ours: the Deployment's rollout stability. */
  status: ManifestStatus;
}

export interface SecurityGroupSummary {
  id: string;
  name: string;
}

/** Jackson's type id on every security group (Clouddriver's SecurityGroupMixin: `@JsonTypeInfo(use = CLASS, property = "class")`). */
export const SECURITY_GROUP_CLASS = 'com.netflix.spinnaker.clouddriver.kubernetes.caching.view.model.KubernetesSecurityGroup';

export interface SecurityGroupModel {
  class: typeof SECURITY_GROUP_CLASS;
  id: string;
  name: string;
  displayName: string;
  account: string;
  accountName: string;
  namespace: string;
  region: string;
  kind: string;
  apiVersion: string;
  labels: Record<string, string>;
  moniker: Moniker;
  application?: string;
  createdTime?: number;
  cloudProvider: typeof CLOUD_PROVIDER;
  type: typeof CLOUD_PROVIDER;
  summary: SecurityGroupSummary;
  inboundRules: readonly SecurityGroupRule[];
  outboundRules: readonly SecurityGroupRule[];
}

function withCreatedTime<T extends object>(model: T, createdTime: number | undefined): T {
  if (createdTime !== undefined) (model as { createdTime?: number }).createdTime = createdTime;
  return model;
}

/** A server group's managers from its ownerReferences; the Deployment itself need not be loaded. */
export function serverGroupManagersOf(serverGroup: Resource): ServerGroupManagerSummary[] {
  const out: ServerGroupManagerSummary[] = [];
  for (const ref of serverGroup.ownerRefs) {
    if (spinnakerKindOf(ref.group, ref.kind) === 'serverGroupManagers')
      out.push({ name: ref.name, location: serverGroup.namespace, account: serverGroup.account });
  }
  return out;
}

/**
 * Builds the view models of one request from its graph. Server groups and instances are built once
 * and shared by every list that shows them.
 */
export class ViewModels {
  private readonly instances = new Map<string, InstanceModel>();
  private readonly serverGroups = new Map<string, ServerGroupModel>();

  constructor(readonly graph: ResourceGraph) {}

  instance(pod: Resource): InstanceModel {
    const key = keyOf(pod);
    let model = this.instances.get(key);
    if (model) return model;
    const health = [...(pod.health ?? [])];
    model = withCreatedTime(
      {
        name: pod.uid !== '' ? pod.uid : pod.fullName,
        humanReadableName: pod.fullName,
        displayName: pod.name,
        account: pod.account,
        namespace: pod.namespace,
        zone: pod.namespace,
        kind: pod.kindName,
        apiVersion: pod.apiVersion,
        labels: pod.labels,
        moniker: pod.moniker,
        cloudProvider: CLOUD_PROVIDER,
        providerType: CLOUD_PROVIDER,
        healthState: healthState(health),
        health,
      } satisfies InstanceModel,
      pod.createdTime,
    );
    this.instances.set(key, model);
    return model;
  }

  serverGroup(sg: Resource): ServerGroupModel {
    const key = keyOf(sg);
    let model = this.serverGroups.get(key);
    if (model) return model;
    const instances = this.graph
      .instancesOf(sg)
      .map((pod) => this.instance(pod))
      .sort((a, b) => (a.humanReadableName < b.humanReadableName ? -1 : a.humanReadableName > b.humanReadableName ? 1 : 0));
    const traffic = this.graph.trafficOf(sg);
    const buildInfo: BuildInfo = { images: [...(sg.images ?? [])] };
    model = {
      name: sg.fullName,
      displayName: sg.name,
      account: sg.account,
      namespace: sg.namespace,
      region: sg.namespace,
      kind: sg.kindName,
      apiVersion: sg.apiVersion,
      cloudProvider: CLOUD_PROVIDER,
      type: CLOUD_PROVIDER,
      moniker: sg.moniker,
      labels: sg.labels,
      disabled: traffic.disabled,
      isDisabled: traffic.disabled,
      capacity: { desired: sg.replicas ?? 0, pinned: false },
      instanceCounts: instanceCounts(instances.map((i) => i.healthState)),
      instances,
      loadBalancers: traffic.loadBalancers,
      serverGroupManagers: serverGroupManagersOf(sg),
      buildInfo,
      imagesSummary: { summaries: [{ serverGroupName: sg.name, buildInfo }] },
      zones: [],
      securityGroups: [],
      launchConfig: {},
      status: sg.status ?? manifestStatus(sg.group, sg.kind, {}),
    };
    model = withCreatedTime(model, sg.createdTime);
    this.serverGroups.set(key, model);
    return model;
  }

  /** The single-server-group endpoints add the cached manifest. */
  serverGroupWithManifest(sg: Resource, manifest: KubeObject): ServerGroupModel {
    return { ...this.serverGroup(sg), manifest: stripSecretData(manifest) };
  }

  serverGroupSummary(sg: Resource, clusterName: string): ServerGroupSummary {
    const full = this.serverGroup(sg);
    const summary: ServerGroupSummary = {
      name: full.name,
      account: full.account,
      region: full.region,
      cluster: clusterName,
      type: CLOUD_PROVIDER,
      cloudProvider: CLOUD_PROVIDER,
      isDisabled: full.disabled,
      disabled: full.disabled,
      moniker: full.moniker,
      buildInfo: full.buildInfo,
      capacity: full.capacity,
      instances: full.instances.map((i) => ({
        id: i.name,
        name: i.humanReadableName,
        health: i.health.map((h) => ({ type: h.type, state: h.state })),
        healthState: i.healthState,
        availabilityZone: i.zone,
      })),
      loadBalancers: full.loadBalancers,
      securityGroups: [],
      instanceCounts: full.instanceCounts,
      serverGroupManagers: full.serverGroupManagers,
    };
    if (full.moniker.app !== undefined) summary.application = full.moniker.app;
    if (full.createdTime !== undefined) summary.createdTime = full.createdTime;
    if (Object.keys(full.labels).length > 0) summary.labels = full.labels;
    return summary;
  }

  /**
   * Clouddriver's `expand=true` list item: the full server group plus its cluster's coordinates (a
   * Kubernetes cluster's moniker has only app and cluster, so stack and freeFormDetail stay out).
   */
  serverGroupExpanded(sg: Resource, account: string, moniker: Moniker): Record<string, unknown> {
    const out: Record<string, unknown> = { ...this.serverGroup(sg), accountName: account, account };
    if (moniker.cluster !== undefined) out.cluster = moniker.cluster;
    if (moniker.app !== undefined) out.application = moniker.app;
    if (moniker.stack !== undefined) out.stack = moniker.stack;
    if (moniker.detail !== undefined) out.freeFormDetail = moniker.detail;
    return out;
  }

  loadBalancerServerGroup(sg: Resource): LoadBalancerServerGroup {
    const full = this.serverGroup(sg);
    return {
      name: full.name,
      account: full.account,
      region: full.region,
      isDisabled: full.disabled,
      detachedInstances: [],
      instances: full.instances.map((i) => ({
        id: i.name,
        name: i.humanReadableName,
        zone: i.zone,
        health: Object.assign({}, ...i.health) as Partial<HealthEntry>,
      })),
      cloudProvider: CLOUD_PROVIDER,
    };
  }

  /** A load balancer with the server groups behind it; `only` limits them (a cluster shows its own). */
  loadBalancer(lb: Resource, only?: (sg: Resource) => boolean): LoadBalancerModel {
    const serverGroups = this.graph
      .serverGroupsBehind(lb)
      .filter((sg) => only === undefined || only(sg))
      .map((sg) => this.loadBalancerServerGroup(sg))
      .sort(byName);
    return withCreatedTime(
      {
        name: lb.fullName,
        displayName: lb.name,
        account: lb.account,
        namespace: lb.namespace,
        region: lb.namespace,
        kind: lb.kindName,
        apiVersion: lb.apiVersion,
        labels: lb.labels,
        moniker: lb.moniker,
        cloudProvider: CLOUD_PROVIDER,
        type: CLOUD_PROVIDER,
        serverGroups,
      } satisfies LoadBalancerModel,
      lb.createdTime,
    );
  }

  /** Clouddriver's KubernetesCluster: its server groups, and the load balancers in front of them. */
  cluster(account: string, application: string, name: string, serverGroups: readonly Resource[]): ClusterModel {
    const members = new Set(serverGroups.map(keyOf));
    const loadBalancers = new Map<string, Resource>();
    for (const sg of serverGroups) for (const service of this.graph.servicesOf(sg)) loadBalancers.set(keyOf(service), service);
    return {
      name,
      moniker: { app: application, cluster: name },
      type: CLOUD_PROVIDER,
      accountName: account,
      application,
      serverGroups: serverGroups.map((sg) => this.serverGroup(sg)).sort(byName),
      loadBalancers: [...loadBalancers.values()].map((lb) => this.loadBalancer(lb, (sg) => members.has(keyOf(sg)))).sort(byName),
    };
  }

  serverGroupManager(manager: Resource): ServerGroupManagerModel {
    const serverGroups = this.graph
      .serverGroupsOf(manager)
      .map((sg) => ({ name: sg.fullName, account: sg.account, namespace: sg.namespace, region: sg.namespace, moniker: sg.moniker }))
      .sort(byName);
    return withCreatedTime(
      {
        name: manager.fullName,
        displayName: manager.name,
        account: manager.account,
        namespace: manager.namespace,
        region: manager.namespace,
        kind: manager.kindName,
        apiVersion: manager.apiVersion,
        labels: manager.labels,
        moniker: manager.moniker,
        cloudProvider: CLOUD_PROVIDER,
        serverGroups,
        status: manager.status ?? manifestStatus(manager.group, manager.kind, {}),
      } satisfies ServerGroupManagerModel,
      manager.createdTime,
    );
  }
}

export function securityGroupSummary(policy: Resource): SecurityGroupSummary {
  return { id: policy.fullName, name: policy.fullName };
}

export function securityGroupModel(policy: Resource): SecurityGroupModel {
  const model: SecurityGroupModel = {
    class: SECURITY_GROUP_CLASS,
    id: policy.fullName,
    name: policy.fullName,
    displayName: policy.name,
    account: policy.account,
    accountName: policy.account,
    namespace: policy.namespace,
    region: policy.namespace,
    kind: policy.kindName,
    apiVersion: policy.apiVersion,
    labels: policy.labels,
    moniker: policy.moniker,
    cloudProvider: CLOUD_PROVIDER,
    type: CLOUD_PROVIDER,
    summary: securityGroupSummary(policy),
    inboundRules: policy.inboundRules ?? [],
    outboundRules: policy.outboundRules ?? [],
  };
  if (policy.moniker.app !== undefined) model.application = policy.moniker.app;
  return withCreatedTime(model, policy.createdTime);
}
