import type { KubeObject } from '../../common/kube-object.ts';
import type { ClusterEvent } from '../event-log.ts';
import { kubeTime, templateHash } from '../names.ts';
import { StatusError } from '../status.ts';
import {
  controllerKeys, mergeConditions, ownedBy, ownerReference, splitKey, writeStatus, type ControllerContext, type Reconciler,
} from './controller-context.ts';

/**
 * The Deployment controller: one ReplicaSet per pod template (named `<deployment>-<pod-template-hash>`),
 * the current one scaled to spec.replicas, older ones scaled to zero once the new one is fully available
 * (RollingUpdate) or before it starts (Recreate); revisions in the `deployment.kubernetes.io/revision`
 * annotation; status and the Available/Progressing conditions as `kubectl rollout status` reads them.
 */
type Obj = Record<string, unknown>;

export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
const PERCENT = 100;

function revisionOf(object: KubeObject): number {
  return Number(object.metadata?.annotations?.[REVISION_ANNOTATION] ?? 0) || 0;
}

function num(value: unknown, fallback = 0): number {
  return typeof value === 'number' ? value : fallback;
}

/** maxUnavailable resolved against the replica count (percentages round down, as in Kubernetes). */
function maxUnavailable(spec: Obj, replicas: number): number {
  const rolling = ((spec.strategy as Obj | undefined)?.rollingUpdate ?? {}) as Obj;
  const value = rolling.maxUnavailable;
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.endsWith('%')) return Math.floor((Number(value.slice(0, -1)) * replicas) / PERCENT);
  return 0;
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
    const maxRevision = owned.reduce((max, rs) => Math.max(max, revisionOf(rs)), 0);
    const paused = spec.paused === true;
    const recreate = (spec.strategy as Obj | undefined)?.type === 'Recreate';

    if (current === undefined) {
      if (!paused) this.createReplicaSet(deployment, template, hash, maxRevision + 1, recreate && olds.some((rs) => num((rs.status as Obj)?.replicas) > 0) ? 0 : desired);
      return;
    }
    if (!paused) {
      const oldPods = olds.reduce((sum, rs) => sum + num((rs.status as Obj | undefined)?.replicas), 0);
      const target = recreate && oldPods > 0 ? 0 : desired;
      const revision = revisionOf(current) < maxRevision ? maxRevision + 1 : revisionOf(current);
      this.setReplicas(current, target, revision, desired);
      const currentStatus = (current.status ?? {}) as Obj;
      const newAvailable = num(currentStatus.availableReplicas) >= desired && num(currentStatus.replicas) === desired;
      for (const old of olds) {
        if (num((old.spec as Obj).replicas) !== 0 && (recreate || newAvailable)) this.setReplicas(old, 0, revisionOf(old), desired);
      }
      if (String(revision) !== deployment.metadata?.annotations?.[REVISION_ANNOTATION]) {
        const fresh = api.get(types.deployment, namespace, name);
        fresh.metadata!.annotations = { ...fresh.metadata!.annotations, [REVISION_ANNOTATION]: String(revision) };
        api.update(types.deployment, namespace, name, fresh);
      }
    }
    this.updateStatus(namespace, name, current);
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
        annotations: { [REVISION_ANNOTATION]: String(revision), [DESIRED_REPLICAS_ANNOTATION]: String(num(spec.replicas, 1)) },
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

  private setReplicas(replicaSet: KubeObject, replicas: number, revision: number, desired: number): void {
    const spec = replicaSet.spec as Obj;
    const annotations = replicaSet.metadata?.annotations ?? {};
    if (num(spec.replicas) === replicas && annotations[REVISION_ANNOTATION] === String(revision) && annotations[DESIRED_REPLICAS_ANNOTATION] === String(desired)) return;
    const { api, types } = this.context;
    const fresh = api.get(types.replicaSet, replicaSet.metadata!.namespace!, replicaSet.metadata!.name!);
    fresh.spec = { ...(fresh.spec as Obj), replicas };
    fresh.metadata!.annotations = { ...fresh.metadata!.annotations, [REVISION_ANNOTATION]: String(revision), [DESIRED_REPLICAS_ANNOTATION]: String(desired) };
    api.update(types.replicaSet, fresh.metadata!.namespace!, fresh.metadata!.name!, fresh);
  }

  private updateStatus(namespace: string, name: string, currentRs: KubeObject): void {
    const { api, types } = this.context;
    const deployment = api.get(types.deployment, namespace, name);
    const spec = deployment.spec as Obj;
    const desired = num(spec.replicas, 1);
    const owned = ownedBy(this.context, types.replicaSet, deployment.metadata!.uid!);
    const current = owned.find((rs) => rs.metadata?.uid === currentRs.metadata?.uid);
    const sum = (field: string): number => owned.reduce((total, rs) => total + num((rs.status as Obj | undefined)?.[field]), 0);
    const replicas = sum('replicas');
    const updatedReplicas = num((current?.status as Obj | undefined)?.replicas);
    const readyReplicas = sum('readyReplicas');
    const availableReplicas = sum('availableReplicas');
    const now = kubeTime();
    const minAvailable = desired - maxUnavailable(spec, desired);
    const complete = updatedReplicas === desired && replicas === desired && availableReplicas === desired;
    const rsName = current?.metadata?.name ?? '';
    const available = availableReplicas >= minAvailable
      ? { type: 'Available', status: 'True', lastUpdateTime: now, lastTransitionTime: now, reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
      : { type: 'Available', status: 'False', lastUpdateTime: now, lastTransitionTime: now, reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' };
    const progressing = spec.paused === true
      ? { type: 'Progressing', status: 'Unknown', lastUpdateTime: now, lastTransitionTime: now, reason: 'DeploymentPaused', message: 'Deployment is paused' }
      : complete
        ? { type: 'Progressing', status: 'True', lastUpdateTime: now, lastTransitionTime: now, reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rsName}" has successfully progressed.` }
        : { type: 'Progressing', status: 'True', lastUpdateTime: now, lastTransitionTime: now, reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rsName}" is progressing.` };
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
