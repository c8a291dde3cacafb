import type { KubeObject } from '../../common/kube-object.ts';

/**
 * Manifest status the way Clouddriver's kind handlers compute it (`KubernetesHandler.status`): Orca's
 * WaitForManifestStable polls `status.stable` and `status.failed`, Deck shows the messages. The rules and
 * messages follow Clouddriver's handlers; kinds without a rule are always stable.
 */
/**
 * One condition. `message` is always there, `""` when there is nothing to say: go-clouddriver sends it
 * so (internal/kubernetes/manifest/status.go, no omitempty), and readers that print
 * `status.failed.message` (Orca's WaitForManifestStableTask) then print nothing rather than "null".
 * Clouddriver itself leaves a null message out.
 */
export interface Condition {
  state: boolean;
  message: string;
}

/** A condition without a message. */
function condition(state: boolean, message: string | undefined = undefined): Condition {
  return { state, message: message ?? '' };
}

export interface ManifestStatus {
  stable: Condition;
  paused: Condition;
  available: Condition;
  failed: Condition;
}

export const UnstableReason = {
  AVAILABLE_REPLICAS: 'Waiting for all replicas to be available',
  FULLY_LABELED_REPLICAS: 'Waiting for all replicas to be fully-labeled',
  OLD_GENERATION: 'Waiting for status generation to match updated object generation',
  OLD_REPLICAS: 'Waiting for old replicas to finish termination',
  READY_REPLICAS: 'Waiting for all replicas to be ready',
  UPDATED_REPLICAS: 'Waiting for all replicas to be updated',
} as const;

/** Mutable builder mirroring Clouddriver's Manifest.Status. */
class Status {
  stable: Condition = condition(true);
  paused: Condition = condition(false);
  available: Condition = condition(true);
  failed: Condition = condition(false);

  static noneReported(): Status {
    return new Status().unstable('No status reported yet').unavailable('No availability reported');
  }

  unstable(message: string): this {
    this.stable = condition(false, message);
    return this;
  }
  stableWith(message: string): this {
    this.stable = condition(true, message);
    return this;
  }
  unavailable(message: string): this {
    this.available = condition(false, message);
    return this;
  }
  pause(message: string | undefined): this {
    this.paused = condition(true, message);
    return this;
  }
  fail(message: string | undefined): this {
    this.failed = condition(true, message);
    return this;
  }
  toJSON(): ManifestStatus {
    return { stable: this.stable, paused: this.paused, available: this.available, failed: this.failed };
  }
}

type Obj = Record<string, unknown>;

function obj(value: unknown): Obj | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Obj) : undefined;
}

/** Clouddriver's defaultToZero for Integer fields. */
function int(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function conditions(status: Obj): Obj[] {
  return Array.isArray(status.conditions) ? status.conditions.filter((c): c is Obj => obj(c) !== undefined) : [];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function eq(a: unknown, b: string): boolean {
  return typeof a === 'string' && a.toLowerCase() === b.toLowerCase();
}

/** observedGeneration present and equal to metadata.generation. */
function generationMatches(manifest: KubeObject, status: Obj): boolean {
  const observed = status.observedGeneration;
  return typeof observed === 'number' && observed === manifest.metadata?.generation;
}

function deploymentStatus(manifest: KubeObject): Status {
  const status = obj(manifest.status);
  if (!status) return Status.noneReported();
  if (!generationMatches(manifest, status)) return new Status().unstable(UnstableReason.OLD_GENERATION);
  const result = new Status();
  const conds = conditions(status);
  const paused = conds.find((c) => eq(c.reason, 'DeploymentPaused'));
  if (paused) result.pause(str(paused.message));
  const unavailable = conds.find((c) => eq(c.type, 'Available') && eq(c.status, 'False'));
  if (unavailable) {
    const message = str(unavailable.message) ?? '';
    result.unstable(message).unavailable(message);
  }
  if (conds.some((c) => eq(c.type, 'Progressing') && eq(c.reason, 'ProgressDeadlineExceeded'))) result.fail('Deployment exceeded its progress deadline');
  const desired = int(obj(manifest.spec)?.replicas);
  const updated = int(status.updatedReplicas);
  if (updated < desired) return result.unstable(UnstableReason.UPDATED_REPLICAS);
  if (int(status.replicas) > updated) return result.unstable(UnstableReason.OLD_REPLICAS);
  if (int(status.availableReplicas) < desired) return result.unstable(UnstableReason.AVAILABLE_REPLICAS);
  if (int(status.readyReplicas) < desired) return result.unstable(UnstableReason.READY_REPLICAS);
  return result;
}

function replicaSetStatus(manifest: KubeObject): Status {
  const status = obj(manifest.status);
  if (!status) return Status.noneReported();
  const desired = int(obj(manifest.spec)?.replicas);
  let reason: string | undefined;
  if (desired > int(status.fullyLabeledReplicas)) reason = UnstableReason.FULLY_LABELED_REPLICAS;
  else if (desired > int(status.readyReplicas)) reason = UnstableReason.READY_REPLICAS;
  else if (desired > int(status.availableReplicas)) reason = UnstableReason.AVAILABLE_REPLICAS;
  if (reason !== undefined) return new Status().unstable(reason).unavailable(reason);
  if (!generationMatches(manifest, status)) return new Status().unstable('Waiting for replicaset spec update to be observed');
  return new Status();
}

function statefulSetStatus(manifest: KubeObject): Status {
  const spec = obj(manifest.spec) ?? {};
  const strategy = obj(spec.updateStrategy);
  // Kubernetes defaults the update strategy to RollingUpdate.
  const updateType = str(strategy?.type) ?? 'RollingUpdate';
  if (eq(updateType, 'OnDelete')) return new Status();
  const status = obj(manifest.status);
  if (!status) return Status.noneReported();
  if (!generationMatches(manifest, status)) return new Status().unstable(UnstableReason.OLD_GENERATION);
  const desired = int(spec.replicas);
  if (desired > int(status.replicas)) return new Status().unstable('Waiting for at least the desired replica count to be met');
  if (desired > int(status.readyReplicas)) return new Status().unstable('Waiting for all updated replicas to be ready');
  const rollingUpdate = obj(strategy?.rollingUpdate);
  const updated = status.updatedReplicas;
  if (eq(updateType, 'RollingUpdate') && typeof updated === 'number' && rollingUpdate) {
    const partition = rollingUpdate.partition;
    const replicas = status.replicas;
    if (typeof replicas === 'number' && typeof partition === 'number' && updated < replicas - partition) {
      return new Status().unstable('Waiting for partitioned roll out to finish');
    }
    return new Status().stableWith('Partitioned roll out complete');
  }
  if (desired > int(status.currentReplicas)) return new Status().unstable('Waiting for all updated replicas to be scheduled');
  if (status.currentRevision !== status.updateRevision) return new Status().unstable('Waiting for the updated revision to match the current revision');
  return new Status();
}

function daemonSetStatus(manifest: KubeObject): Status {
  const status = obj(manifest.status);
  if (!status) return Status.noneReported();
  if (!generationMatches(manifest, status)) return new Status().unstable(UnstableReason.OLD_GENERATION);
  const updateType = str(obj(obj(manifest.spec)?.updateStrategy)?.type) ?? 'RollingUpdate';
  if (!eq(updateType, 'RollingUpdate')) return new Status();
  const desired = int(status.desiredNumberScheduled);
  if (desired > int(status.currentNumberScheduled)) return new Status().unstable('Waiting for all replicas to be scheduled');
  if (desired > int(status.updatedNumberScheduled)) return new Status().unstable('Waiting for all updated replicas to be scheduled');
  if (desired > int(status.numberAvailable)) return new Status().unstable(UnstableReason.AVAILABLE_REPLICAS);
  if (desired > int(status.numberReady)) return new Status().unstable(UnstableReason.READY_REPLICAS);
  return new Status();
}

function jobStatus(manifest: KubeObject): Status {
  const status = obj(manifest.status);
  if (!status) return Status.noneReported();
  const completions = obj(manifest.spec)?.completions;
  const wanted = typeof completions === 'number' ? completions : 1;
  if (int(status.succeeded) < wanted) {
    const failed = conditions(status).find((c) => eq(c.type, 'Failed') && eq(c.status, 'True'));
    return failed ? new Status().fail(str(failed.message)) : new Status().unstable('Waiting for jobs to finish');
  }
  return new Status();
}

const POD_PHASE_MESSAGES: Record<string, string | undefined> = {
  Pending: 'Pod is pending',
  Running: undefined,
  Succeeded: undefined,
  Failed: 'Pod has failed',
  Unknown: 'Pod phase is unknown',
};

function podStatus(manifest: KubeObject): Status {
  const status = obj(manifest.status);
  if (!status) return Status.noneReported();
  const phase = str(status.phase);
  const message = phase !== undefined && phase in POD_PHASE_MESSAGES ? POD_PHASE_MESSAGES[phase] : POD_PHASE_MESSAGES.Unknown;
  return message === undefined ? new Status() : new Status().unstable(message).unavailable(message);
}

function hpaStatus(manifest: KubeObject): Status {
  const status = obj(manifest.status);
  if (!status) return Status.noneReported();
  const desired = int(status.desiredReplicas);
  const current = int(status.currentReplicas);
  if (desired > current) return new Status().unstable(`Waiting for HPA to complete a scale up, current: ${current} desired: ${desired}`);
  if (desired < current) return new Status().unstable(`Waiting for HPA to complete a scale down, current: ${current} desired: ${desired}`);
  return new Status();
}

function cronJobStatus(manifest: KubeObject): Status {
  return obj(manifest.status) ? new Status() : Status.noneReported();
}

const RULES: Record<string, (manifest: KubeObject) => Status> = {
  'apps/Deployment': deploymentStatus,
  'extensions/Deployment': deploymentStatus,
  'apps/ReplicaSet': replicaSetStatus,
  'extensions/ReplicaSet': replicaSetStatus,
  'apps/StatefulSet': statefulSetStatus,
  'apps/DaemonSet': daemonSetStatus,
  'extensions/DaemonSet': daemonSetStatus,
  'batch/Job': jobStatus,
  '/Pod': podStatus,
  'autoscaling/HorizontalPodAutoscaler': hpaStatus,
  'batch/CronJob': cronJobStatus,
};

/** The status of a manifest of kind `kind` in API group `group`. */
export function manifestStatus(group: string, kind: string, manifest: KubeObject): ManifestStatus {
  const rule = RULES[`${group}/${kind}`];
  return (rule ? rule(manifest) : new Status()).toJSON();
}
