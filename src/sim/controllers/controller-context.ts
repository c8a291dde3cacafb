import type { KubeObject } from '../../common/kube-object.ts';
import type { Logger } from '../../common/logger.ts';
import type { ClusterApi } from '../cluster-api.ts';
import type { ClusterStore } from '../cluster-store.ts';
import type { ClusterEvent } from '../event-log.ts';
import type { ResourceType } from '../resource-type.ts';
import type { Scheduler } from '../scheduler.ts';
import { parseStored } from '../stored-object.ts';

/** What every simulated controller works with: the cluster's API and store, its scheduler and timing. */
export interface ControllerContext {
  api: ClusterApi;
  store: ClusterStore;
  scheduler: Scheduler;
  logger: Logger;
  podStartDelayMs: number;
  types: BuiltinTypes;
}

export interface BuiltinTypes {
  pod: ResourceType;
  deployment: ResourceType;
  replicaSet: ResourceType;
  statefulSet: ResourceType;
  daemonSet: ResourceType;
  job: ResourceType;
  controllerRevision: ResourceType;
}

/**
 * A controller: which changes concern which of its objects, and how to bring one object's world in line
 * with its spec. Reconcile reads the current state, so it may run any number of times for the same key.
 */
export interface Reconciler {
  readonly name: string;
  keysFor(event: ClusterEvent): string[];
  reconcile(key: string): void;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** Objects of `type` whose controller owner reference is `ownerUid`. */
export function ownedBy(context: ControllerContext, type: ResourceType, ownerUid: string): KubeObject[] {
  const resource = `${type.group}/${type.plural}`;
  const out: KubeObject[] = [];
  for (const ref of context.store.dependentsOf(ownerUid)) {
    if (ref.resource !== resource) continue;
    const stored = context.store.getByRef(ref);
    if (stored?.controller?.uid === ownerUid) out.push(parseStored(stored));
  }
  return out;
}

/** Keys of the objects of kind `ownerKind` that control the changed object, before and after the change. */
export function controllerKeys(event: ClusterEvent, ownerKind: string): string[] {
  const keys = new Set<string>();
  for (const object of [event.object, event.previous]) {
    if (object?.controller?.kind === ownerKind) keys.add(`${object.namespace}/${object.controller.name}`);
  }
  return [...keys];
}

export function isActivePod(pod: KubeObject): boolean {
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  return pod.metadata?.deletionTimestamp === undefined && phase !== 'Succeeded' && phase !== 'Failed';
}

export function isPodReady(pod: KubeObject): boolean {
  const conditions = (pod.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [];
  return conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Writes `status` through the status subresource when it differs from what is stored. */
export function writeStatus(context: ControllerContext, type: ResourceType, object: KubeObject, status: Record<string, unknown>): void {
  if (JSON.stringify(object.status ?? {}) === JSON.stringify(status)) return;
  context.api.update(type, object.metadata!.namespace ?? '', object.metadata!.name!, { ...object, status }, { subresource: 'status' });
}

export function ownerReference(owner: KubeObject): Record<string, unknown> {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata!.name, uid: owner.metadata!.uid, controller: true, blockOwnerDeletion: true };
}

type Obj = Record<string, unknown>;

/** A pod from a workload's pod template, owned by the workload. */
export function createPod(
  context: ControllerContext,
  owner: KubeObject,
  template: Obj,
  name: string,
  extraLabels: Record<string, string> = {},
  specOverrides: Obj = {},
): void {
  const metadata = (template.metadata ?? {}) as Obj;
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: owner.metadata!.namespace,
      labels: { ...(metadata.labels as Record<string, string> | undefined), ...extraLabels },
      ...(metadata.annotations !== undefined ? { annotations: metadata.annotations as Record<string, string> } : {}),
      ownerReferences: [ownerReference(owner) as never],
    },
    spec: { ...structuredClone((template.spec ?? {}) as Obj), ...specOverrides },
  };
  context.api.create(context.types.pod, owner.metadata!.namespace ?? '', pod);
}

/** Conditions keep their transition times while their status, reason and message stay the same. */
export function mergeConditions(previous: unknown, next: Obj[]): Obj[] {
  const old = Array.isArray(previous) ? (previous as Obj[]) : [];
  return next
    .map((condition) => {
      const before = old.find((c) => c.type === condition.type);
      if (before === undefined) return condition;
      const same = before.status === condition.status && before.reason === condition.reason && before.message === condition.message;
      if (same)
        return {
          ...condition,
          lastUpdateTime: before.lastUpdateTime ?? condition.lastUpdateTime,
          lastTransitionTime: before.lastTransitionTime ?? condition.lastTransitionTime,
        };
      if (before.status === condition.status) return { ...condition, lastTransitionTime: before.lastTransitionTime ?? condition.lastTransitionTime };
      return condition;
    })
    .map((c) => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)));
}
