import type { KubeObject } from '../../src/common/kube-object.ts';
import { sampleApp } from '../../src/sim/sample-apps.ts';
import type { SimCluster } from '../../src/sim/sim-cluster.ts';

/**
 * The benchmark workload: per cluster, Spinnaker-style applications (sample-apps.ts: a Deployment with
 * moniker annotations, its Service, ConfigMap, Secret, Ingress and NetworkPolicy) spread over namespaces
 * of about 100 applications each. The objects are written with server-side apply (field manager
 * `spinnaker`) so that they carry managedFields as on a real API server; the sim's controllers then add
 * a ReplicaSet and `replicas` running Pods per application. Objects a new cluster starts with (three
 * namespaces and a node) come on top.
 */
export const FIELD_MANAGER = 'spinnaker';
/** Objects a new sim cluster has before seeding: default, kube-system, kube-public and the node. */
export const INITIAL_OBJECTS = 4;
/** Applications per namespace. */
const APPS_PER_NAMESPACE = 100;
/** sampleApp() writes six objects; the controllers add a ReplicaSet and the pods. */
const APP_OBJECTS = 6;

export interface WorkloadPlan {
  namespaces: string[];
  apps: number;
  replicas: number;
  /** Objects the cluster will hold once the controllers are done (all kinds). */
  expectedObjects: number;
}

/** How many applications (and namespaces) make about `objects` objects in one cluster. */
export function planWorkload(objects: number, replicas: number): WorkloadPlan {
  const perApp = APP_OBJECTS + 1 + replicas;
  const budget = Math.max(0, objects - INITIAL_OBJECTS);
  let namespaces = Math.max(1, Math.ceil(budget / perApp / APPS_PER_NAMESPACE));
  let apps = Math.floor((budget - namespaces) / perApp);
  if (apps <= 0) {
    apps = 0;
    namespaces = 0;
  }
  return {
    namespaces: Array.from({ length: namespaces }, (_, i) => `team-${i}`),
    apps,
    replicas,
    expectedObjects: INITIAL_OBJECTS + namespaces + apps * perApp,
  };
}

/** Writes the plan's namespaces and applications into a cluster (the controllers do the rest later). */
export function seedCluster(cluster: SimCluster, plan: WorkloadPlan): void {
  for (const namespace of plan.namespaces)
    cluster.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { 'bench.scale-agent.io/workload': 'watch' } } });
  for (let i = 0; i < plan.apps; i++) {
    for (const object of sampleApp(`app-${i}`, plan.namespaces[i % plan.namespaces.length]!, plan.replicas)) apply(cluster, object);
  }
}

function apply(cluster: SimCluster, object: KubeObject): void {
  const type = cluster.typeOf(String(object.apiVersion), String(object.kind));
  const namespace = type.namespaced ? (object.metadata?.namespace ?? 'default') : '';
  cluster.api.patch(type, namespace, object.metadata?.name ?? '', 'apply', object, { fieldManager: FIELD_MANAGER });
}

/** Kinds the restart scenarios change: no controller reacts to them, so one change is exactly one event. */
export const MUTABLE_RESOURCES = [
  { apiVersion: 'v1', kind: 'ConfigMap', group: '', resource: '/configmaps' },
  { apiVersion: 'v1', kind: 'Secret', group: '', resource: '/secrets' },
  { apiVersion: 'v1', kind: 'Service', group: '', resource: '/services' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', group: 'networking.k8s.io', resource: 'networking.k8s.io/ingresses' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', group: 'networking.k8s.io', resource: 'networking.k8s.io/networkpolicies' },
] as const;

export const MUTATION_ANNOTATION = 'bench.scale-agent.io/revision';

/** One object a mutation changed, with the resourceVersion the sim gave the change. */
export interface ChangedObject {
  cluster: string;
  group: string;
  kind: string;
  namespace: string;
  name: string;
  resourceVersion: string;
}

/** A small deterministic PRNG (mulberry32), so every run changes the same objects. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Changes `count` distinct objects of the mutable kinds in `cluster` (a merge patch of one annotation,
 * `revision` as its value), chosen at random with `random`; returns what changed.
 */
export function mutateCluster(cluster: SimCluster, count: number, revision: string, random: () => number): ChangedObject[] {
  const candidates: Array<{ apiVersion: string; kind: string; group: string; namespace: string; name: string }> = [];
  for (const r of MUTABLE_RESOURCES) {
    for (const stored of cluster.store.collection(r.resource).values()) {
      if (stored.namespace === 'kube-system') continue;
      candidates.push({ apiVersion: r.apiVersion, kind: r.kind, group: r.group, namespace: stored.namespace, name: stored.name });
    }
  }
  const n = Math.min(count, candidates.length);
  // Partial Fisher-Yates: the first n entries become a uniform sample without repetition.
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (candidates.length - i));
    [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!];
  }
  const changed: ChangedObject[] = [];
  for (const c of candidates.slice(0, n)) {
    const object = cluster.patch(c.apiVersion, c.kind, c.namespace, c.name, { metadata: { annotations: { [MUTATION_ANNOTATION]: revision } } });
    changed.push({
      cluster: cluster.name,
      group: c.group,
      kind: c.kind,
      namespace: c.namespace,
      name: c.name,
      resourceVersion: String(object.metadata?.resourceVersion ?? ''),
    });
  }
  return changed;
}
