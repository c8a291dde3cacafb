import { spinnakerKindOf } from '../store/kind-names.ts';
import type { StoreGroupKind } from '../store/types.ts';

/**
 * The Kubernetes kinds behind each Spinnaker kind class the application views show, with every API
 * group Kubernetes has served them from (old clusters still serve some from `extensions`). The class of
 * any kind comes from the one table in store/kind-names.ts; these lists are what the views query by.
 */
function kinds(group: string, ...names: string[]): StoreGroupKind[] {
  return names.map((kind) => ({ group, kind }));
}

/** serverGroups: what Deck draws as a column of instances. */
export const SERVER_GROUP_KINDS: readonly StoreGroupKind[] = [
  ...kinds('apps', 'ReplicaSet', 'StatefulSet', 'DaemonSet'),
  ...kinds('extensions', 'ReplicaSet', 'DaemonSet'),
  ...kinds('batch', 'Job', 'CronJob'),
];

/** serverGroupManagers: Deployments, which own ReplicaSets. */
export const SERVER_GROUP_MANAGER_KINDS: readonly StoreGroupKind[] = [...kinds('apps', 'Deployment'), ...kinds('extensions', 'Deployment')];

/** loadBalancers: Services select pods, Ingresses route to Services. */
export const SERVICE_KINDS: readonly StoreGroupKind[] = kinds('', 'Service');
export const INGRESS_KINDS: readonly StoreGroupKind[] = [...kinds('networking.k8s.io', 'Ingress'), ...kinds('extensions', 'Ingress')];
export const LOAD_BALANCER_KINDS: readonly StoreGroupKind[] = [...SERVICE_KINDS, ...INGRESS_KINDS];

/** securityGroups (Deck's "firewalls"): NetworkPolicies. */
export const SECURITY_GROUP_KINDS: readonly StoreGroupKind[] = [...kinds('networking.k8s.io', 'NetworkPolicy'), ...kinds('extensions', 'NetworkPolicy')];

/** instances */
export const POD_KIND: StoreGroupKind = { group: '', kind: 'Pod' };

/** Kinds that make a cluster (Clouddriver links clusters to server groups and their managers only). */
export const CLUSTER_KINDS: readonly StoreGroupKind[] = [...SERVER_GROUP_KINDS, ...SERVER_GROUP_MANAGER_KINDS];

/** Kinds an application is made of (Clouddriver's application relationships). */
export const APPLICATION_KINDS: readonly StoreGroupKind[] = [...CLUSTER_KINDS, ...LOAD_BALANCER_KINDS, ...SECURITY_GROUP_KINDS];

export function isIngress(group: string, kind: string): boolean {
  return kind === 'Ingress' && spinnakerKindOf(group, kind) === 'loadBalancers';
}

export function isService(group: string, kind: string): boolean {
  return kind === 'Service' && group === '';
}
