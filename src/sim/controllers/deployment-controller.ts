import type { KubeObject } from '../../common/kube-object.ts';
import type { ClusterEvent } from '../event-log.ts';
import { kubeTime, templateHash } from '../names.ts';
import { StatusError } from '../status.ts';
import {
  controllerKeys,
  mergeConditions,
  ownedBy,
  ownerReference,
  splitKey,
  writeStatus,
  type ControllerContext,
  type Reconciler,
} from './controller-context.ts';

/**
 * The Deployment controller: one ReplicaSet per pod template (named `<deployment>-<pod-template-hash>`),
 * the current one scaled to spec.replicas, older ones scaled to zero once the new one is fully available
 * (RollingUpdate) or before it starts (Recreate); status and the Available/Progressing conditions as
 * `kubectl rollout status` reads them.
 *
 * Revisions follow the real controller: a new ReplicaSet gets revision max(old revisions) + 1 in
 * `deployment.kubernetes.io/revision`; when the template returns to an older ReplicaSet's (`kubectl rollout
 * undo`), that ReplicaSet is reused and takes the next revision, its previous numbers kept in
 * `deployment.kubernetes.io/revision-history`. The Deployment carries its current ReplicaSet's revision.
 * The current ReplicaSet gets the Deployment's annotations (`kubernetes.io/change-cause`, monikers, …)
 * except the controller's own and `last-applied-configuration`. Old ReplicaSets scaled to zero beyond
 * `spec.revisionHistoryLimit` are deleted, oldest revision first. A paused Deployment (`spec.paused`)
 * starts no new ReplicaSet, but replica changes still reach the ReplicaSet that runs its pods.
 */
type Obj = Record<string, unknown>;

export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';
const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';
/** Annotations of the Deployment that are not copied to its ReplicaSets (the real controller's skip list). */
const NOT_COPIED = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  'deprecated.deployment.rollback.to',
]);
const PERCENT = 100;
const DEFAULT_MAX_SURGE = '25%';

function revisionOf(object: KubeObject | undefined): number {
  return Number(object?.metadata?.annotations?.[REVISION_ANNOTATION] ?? 0) || 0;
}

function num(value: unknown, fallback = 0): number {
  return typeof value === 'number' ? value : fallback;
}

/** An IntOrString of the rolling update strategy resolved against the replica count. */
function resolveIntOrPercent(value: unknown, replicas: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.endsWith('%')) {
    const exact = (Number(value.slice(0, -1)) * replicas) / PERCENT;
    return roundUp ? Math.ceil(exact) : Math.floor(exact);
  }
  return 0;
}

function rollingUpdate(spec: Obj): Obj {
  return ((spec.strategy as Obj | undefined)?.rollingUpdate ?? {}) as Obj;
}

/** maxUnavailable resolved against the replica count (percentages round down, as in Kubernetes). */
function maxUnavailable(spec: Obj, replicas: number): number {
  return resolveIntOrPercent(rollingUpdate(spec).maxUnavailable, replicas, false);
}

/** maxSurge resolved against the replica count (percentages round up); 0 for Recreate. */
function maxSurge(spec: Obj, replicas: number): number {
  if ((spec.strategy as Obj | undefined)?.type === 'Recreate') return 0;
  return resolveIntOrPercent(rollingUpdate(spec).maxSurge ?? DEFAULT_MAX_SURGE, replicas, true);
}

/** Oldest revision first; equal revisions by creation time (the real controller's ReplicaSetsByRevision). */
function byRevision(a: KubeObject, b: KubeObject): number {
  return revisionOf(a) - revisionOf(b) || String(a.metadata?.creationTimestamp).localeCompare(String(b.metadata?.creationTimestamp));
}

export class DeploymentController implements Reconciler {
  readonly name = 'deployment';

  constructor(private readonly context: ControllerContext) {}

  keysFor(event: ClusterEvent): string[] {
    if (event.resource === 'apps/deployments') return [event.object.key];
    if (event.resource === 'apps/replicasets') return controllerKeys(event, 'Deployment');
    return [];
  }

  reconcile(key: string): void {
    const { namespace, name } = splitKey(key);
    const { api, types } = this.context;
    const deployment = api.find(types.deployment, namespace, name);
    if (deployment === undefined || deployment.metadata?.deletionTimestamp !== undefined) return;
    const spec = deployment.spec as Obj;
    const desired = num(spec.replicas, 1);
    const template = (spec.template ?? {}) as Obj;
    const hash = templateHash(template);
    const owned = ownedBy(this.context, types.replicaSet, deployment.metadata!.uid!);
    const current = owned.find((rs) => rs.metadata?.labels?.[POD_TEMPLATE_HASH_LABEL] === hash);
    const olds = owned.filter((rs) => rs !== current);
    const nextRevision = olds.reduce((max, rs) => Math.max(max, revisionOf(rs)), 0) + 1;
    const recreate = (spec.strategy as Obj | undefined)?.type === 'Recreate';

    if (spec.paused === true) {
      this.scalePaused(deployment, current, olds, desired);
      this.cleanup(deployment, olds);
      this.updateStatus(namespace, name, current);
      return;
    }
    if (current === undefined) {
      this.createReplicaSet(deployment, template, hash, nextRevision, recreate && olds.some((rs) => num((rs.status as Obj)?.replicas) > 0) ? 0 : desired);
      return;
    }
    const oldPods = olds.reduce((sum, rs) => sum + num((rs.status as Obj | undefined)?.replicas), 0);
    const target = recreate && oldPods > 0 ? 0 : desired;
    const revision = Math.max(revisionOf(current), nextRevision);
    this.syncCurrent(deployment, current, target, revision);
    const currentStatus = (current.status ?? {}) as Obj;
    const newAvailable = num(currentStatus.availableReplicas) >= desired && num(currentStatus.replicas) === desired;
    for (const old of olds) {
      if (num((old.spec as Obj).replicas) !== 0 && (recreate || newAvailable)) this.setReplicas(old, 0, deployment);
    }
    if (String(revision) !== deployment.metadata?.annotations?.[REVISION_ANNOTATION]) {
      const fresh = api.get(types.deployment, namespace, name);
      fresh.metadata!.annotations = { ...fresh.metadata!.annotations, [REVISION_ANNOTATION]: String(revision) };
      api.update(types.deployment, namespace, name, fresh);
    }
    this.cleanup(deployment, olds);
    this.updateStatus(namespace, name, current);
  }

  /**
   * Paused: no rollout, but the replica count still applies — to the only ReplicaSet running pods (or the
   * newest one when none does); with several running, the difference goes to the newest of them, and a
   * saturated current ReplicaSet lets the old ones go to zero.
   */
  private scalePaused(deployment: KubeObject, current: KubeObject | undefined, olds: KubeObject[], desired: number): void {
    const all = current === undefined ? olds : [current, ...olds];
    const active = all.filter((rs) => num((rs.spec as Obj).replicas) > 0).sort(byRevision);
    if (active.length <= 1) {
      const target = active[0] ?? current ?? [...all].sort(byRevision).pop();
      if (target !== undefined) this.setReplicas(target, desired, deployment);
      return;
    }
    const currentStatus = (current?.status ?? {}) as Obj;
    if (current !== undefined && num((current.spec as Obj).replicas) === desired && num(currentStatus.availableReplicas) === desired) {
      for (const old of olds) if (num((old.spec as Obj).replicas) !== 0) this.setReplicas(old, 0, deployment);
      return;
    }
    const total = active.reduce((sum, rs) => sum + num((rs.spec as Obj).replicas), 0);
    const allowed = desired + maxSurge(deployment.spec as Obj, desired);
    if (total === allowed) return;
    const newest = active[active.length - 1]!;
    this.setReplicas(newest, Math.max(0, num((newest.spec as Obj).replicas) + allowed - total), deployment);
  }

  /** Deletes old ReplicaSets scaled to zero beyond spec.revisionHistoryLimit, oldest revision first. */
  private cleanup(deployment: KubeObject, olds: KubeObject[]): void {
    const limit = (deployment.spec as Obj).revisionHistoryLimit;
    if (typeof limit !== 'number') return;
    const cleanable = olds.filter((rs) => {
      const status = (rs.status ?? {}) as Obj;
      return (
        num((rs.spec as Obj).replicas) === 0 &&
        num(status.replicas) === 0 &&
        status.observedGeneration === rs.metadata?.generation &&
        rs.metadata?.deletionTimestamp === undefined
      );
    });
    const excess = cleanable.length - Math.max(0, limit);
    if (excess <= 0) return;
    const { api, types } = this.context;
    for (const rs of cleanable.sort(byRevision).slice(0, excess)) {
      try {
        api.delete(types.replicaSet, rs.metadata!.namespace ?? '', rs.metadata!.name!);
      } catch (err) {
        if (!(err instanceof StatusError && err.code === 404)) throw err;
      }
    }
  }

  /** Annotations of the Deployment a ReplicaSet carries (the skip list aside). */
  private copiedAnnotations(deployment: KubeObject): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(deployment.metadata?.annotations ?? {})) if (!NOT_COPIED.has(k)) out[k] = v;
    return out;
  }

  private replicaAnnotations(deployment: KubeObject): Record<string, string> {
    const spec = deployment.spec as Obj;
    const desired = num(spec.replicas, 1);
    return { [DESIRED_REPLICAS_ANNOTATION]: String(desired), [MAX_REPLICAS_ANNOTATION]: String(desired + maxSurge(spec, desired)) };
  }

  private createReplicaSet(deployment: KubeObject, template: Obj, hash: string, revision: number, replicas: number): void {
    const { api, types } = this.context;
    const spec = deployment.spec as Obj;
    const selector = (spec.selector ?? {}) as Obj;
    const templateMeta = (template.metadata ?? {}) as Obj;
    const labels = { ...(templateMeta.labels as Record<string, string> | undefined), [POD_TEMPLATE_HASH_LABEL]: hash };
    const replicaSet: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${deployment.metadata!.name}-${hash}`,
        namespace: deployment.metadata!.namespace,
        labels,
        annotations: { ...this.copiedAnnotations(deployment), [REVISION_ANNOTATION]: String(revision), ...this.replicaAnnotations(deployment) },
        ownerReferences: [ownerReference(deployment) as never],
      },
      spec: {
        replicas,
        ...(spec.minReadySeconds !== undefined ? { minReadySeconds: spec.minReadySeconds } : {}),
        selector: { ...selector, matchLabels: { ...(selector.matchLabels as Obj | undefined), [POD_TEMPLATE_HASH_LABEL]: hash } },
        template: { ...template, metadata: { ...templateMeta, labels } },
      },
    };
    try {
      api.create(types.replicaSet, deployment.metadata!.namespace ?? '', replicaSet);
    } catch (err) {
      // A ReplicaSet of that name owned by something else: real Kubernetes bumps collisionCount; the sim waits.
      if (!(err instanceof StatusError && err.code === 409)) throw err;
    }
  }

  /** The current ReplicaSet: its replicas, the Deployment's annotations, and its revision (moving up when reused). */
  private syncCurrent(deployment: KubeObject, replicaSet: KubeObject, replicas: number, revision: number): void {
    const before = replicaSet.metadata?.annotations ?? {};
    const annotations: Record<string, string> = { ...before, ...this.copiedAnnotations(deployment), ...this.replicaAnnotations(deployment) };
    const previous = before[REVISION_ANNOTATION];
    if (previous === undefined || Number(previous) < revision) {
      annotations[REVISION_ANNOTATION] = String(revision);
      if (previous !== undefined && previous !== '') {
        const history = before[REVISION_HISTORY_ANNOTATION];
        annotations[REVISION_HISTORY_ANNOTATION] = history === undefined || history === '' ? previous : `${history},${previous}`;
      }
    }
    const spec = replicaSet.spec as Obj;
    const minReady = (deployment.spec as Obj).minReadySeconds;
    if (num(spec.replicas) === replicas && JSON.stringify(annotations) === JSON.stringify(before) && spec.minReadySeconds === minReady) return;
    const { api, types } = this.context;
    const fresh = api.get(types.replicaSet, replicaSet.metadata!.namespace!, replicaSet.metadata!.name!);
    fresh.spec = { ...(fresh.spec as Obj), replicas };
    if (minReady !== undefined) (fresh.spec as Obj).minReadySeconds = minReady;
    fresh.metadata!.annotations = annotations;
    api.update(types.replicaSet, fresh.metadata!.namespace!, fresh.metadata!.name!, fresh);
  }

  /** Scales a ReplicaSet, keeping its desired/max-replicas annotations in step with the Deployment. */
  private setReplicas(replicaSet: KubeObject, replicas: number, deployment: KubeObject): void {
    const spec = replicaSet.spec as Obj;
    const annotations = replicaSet.metadata?.annotations ?? {};
    const wanted = this.replicaAnnotations(deployment);
    if (num(spec.replicas) === replicas && Object.entries(wanted).every(([k, v]) => annotations[k] === v)) return;
    const { api, types } = this.context;
    const fresh = api.get(types.replicaSet, replicaSet.metadata!.namespace!, replicaSet.metadata!.name!);
    fresh.spec = { ...(fresh.spec as Obj), replicas };
    fresh.metadata!.annotations = { ...fresh.metadata!.annotations, ...wanted };
    api.update(types.replicaSet, fresh.metadata!.namespace!, fresh.metadata!.name!, fresh);
  }

  private updateStatus(namespace: string, name: string, currentRs: KubeObject | undefined): void {
    const { api, types } = this.context;
    const deployment = api.get(types.deployment, namespace, name);
    const spec = deployment.spec as Obj;
    const desired = num(spec.replicas, 1);
    const owned = ownedBy(this.context, types.replicaSet, deployment.metadata!.uid!);
    const current = currentRs === undefined ? undefined : owned.find((rs) => rs.metadata?.uid === currentRs.metadata?.uid);
    const sum = (field: string): number => owned.reduce((total, rs) => total + num((rs.status as Obj | undefined)?.[field]), 0);
    const replicas = sum('replicas');
    const updatedReplicas = num((current?.status as Obj | undefined)?.replicas);
    const readyReplicas = sum('readyReplicas');
    const availableReplicas = sum('availableReplicas');
    const now = kubeTime();
    const minAvailable = desired - maxUnavailable(spec, desired);
    const complete = updatedReplicas === desired && replicas === desired && availableReplicas === desired;
    const rsName = current?.metadata?.name ?? '';
    const available =
      availableReplicas >= minAvailable
        ? {
            type: 'Available',
            status: 'True',
            lastUpdateTime: now,
            lastTransitionTime: now,
            reason: 'MinimumReplicasAvailable',
            message: 'Deployment has minimum availability.',
          }
        : {
            type: 'Available',
            status: 'False',
            lastUpdateTime: now,
            lastTransitionTime: now,
            reason: 'MinimumReplicasUnavailable',
            message: 'Deployment does not have minimum availability.',
          };
    const progressing =
      spec.paused === true
        ? { type: 'Progressing', status: 'Unknown', lastUpdateTime: now, lastTransitionTime: now, reason: 'DeploymentPaused', message: 'Deployment is paused' }
        : complete
          ? {
              type: 'Progressing',
              status: 'True',
              lastUpdateTime: now,
              lastTransitionTime: now,
              reason: 'NewReplicaSetAvailable',
              message: `ReplicaSet "${rsName}" has successfully progressed.`,
            }
          : {
              type: 'Progressing',
              status: 'True',
              lastUpdateTime: now,
              lastTransitionTime: now,
              reason: 'ReplicaSetUpdated',
              message: `ReplicaSet "${rsName}" is progressing.`,
            };
    const previous = (deployment.status ?? {}) as Obj;
    const status: Obj = {
      observedGeneration: deployment.metadata?.generation ?? 1,
      replicas,
      updatedReplicas,
      readyReplicas,
      availableReplicas,
      ...(desired - availableReplicas > 0 ? { unavailableReplicas: desired - availableReplicas } : {}),
      conditions: mergeConditions(previous.conditions, [available, progressing]),
    };
    writeStatus(this.context, types.deployment, deployment, status);
  }
}
