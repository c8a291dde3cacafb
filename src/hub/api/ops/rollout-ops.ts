import type { KubeObject } from '../../../common/kube-object.ts';
import { Cluster, describeTarget } from './cluster.ts';
import { at, expectObject, invalid, isObject, optionalCount, optionalInteger, optionalObject } from './fields.ts';
import { kubeSelectorText } from './label-selector.ts';
import { manifestOp, namedResult } from './manifest-op.ts';
import type { OpHandler } from './op-handler.ts';
import { invalidOperation } from './operation-failure.ts';
import { supports, type ManifestTarget } from './targets.ts';

/**
 * The workload operations Clouddriver runs with `kubectl scale` and `kubectl rollout`, composed from the
 * agent's get, list, patch and scale: scaleManifest, resizeServerGroup, pauseRolloutManifest,
 * resumeRolloutManifest, rollingRestartManifest, undoRolloutManifest. Which kinds each accepts follows
 * Clouddriver's handlers (CanScale, CanResize, CanPauseRollout, …); others fail the task as Clouddriver
 * does ("… does not support scale").
 */
export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
const POD_TEMPLATE_HASH = 'pod-template-hash';
/** Annotations `kubectl rollout undo` keeps on the Deployment instead of copying them from the ReplicaSet. */
const ROLLBACK_SKIPPED_ANNOTATIONS = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);

function requireCapability(target: ManifestTarget, capability: Parameters<typeof supports>[1], verb: string): void {
  if (!supports(target, capability)) throw invalidOperation(`Resource with ${target.fullName} in ${target.location || 'the cluster'} does not support ${verb}`);
}

function isPaused(object: KubeObject): boolean {
  return isObject(object.spec) && object.spec.paused === true;
}

function kindResource(target: ManifestTarget): string {
  return `${target.kind.toLowerCase()}s${target.group ? `.${target.group}` : ''} "${target.name}"`;
}

/** RFC 3339 without fractions, as kubectl writes restartedAt. */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export const scaleManifestOp: OpHandler = manifestOp<{ replicas: number }>({
  name: 'scaleManifest',
  operationClass: 'KubernetesScaleManifestOperation',
  phase: 'SCALE_KUBERNETES_MANIFEST',
  validatorContext: 'scaleKubernetesManifest',
  idempotent: true,
  parse(source, path) {
    const replicas = optionalCount(source, 'replicas', path);
    if (replicas === undefined) invalid(at(path, 'replicas'), 'is required');
    return { replicas };
  },
  async run({ account, target, extra, ctx, status }) {
    await status(`Starting scale operation in account ${account.name}...`);
    requireCapability(target, 'scale', 'scale');
    await status(`Calling scale operation for ${describeTarget(target)} with replicas ${extra.replicas}...`);
    await new Cluster(ctx, account).scale(target, extra.replicas);
    await status('Scale operation completed successfully');
    return namedResult(target);
  },
});

export const resizeServerGroupOp: OpHandler = manifestOp<{ desired: number }>({
  name: 'resizeServerGroup',
  operationClass: 'KubernetesResizeServerGroupOperation',
  phase: 'RESIZE_KUBERNETES_SERVER_GROUP',
  // Clouddriver's KubernetesResizeServerGroupValidator reports under the deploy validator's context.
  validatorContext: 'deployKubernetesManifest',
  idempotent: true,
  targetField: 'serverGroupName',
  locationFields: ['region', 'location', 'namespace'],
  parse(source, path) {
    const capacity = optionalObject(source, 'capacity', path);
    if (!capacity) invalid(at(path, 'capacity'), 'is required, e.g. {"desired": 3}');
    const desired = optionalCount(capacity, 'desired', at(path, 'capacity'));
    if (desired === undefined) invalid(at(path, 'capacity.desired'), 'is required');
    return { desired };
  },
  async run({ account, target, extra, ctx, status }) {
    await status('Starting resize operation...');
    requireCapability(target, 'resize', 'resize');
    await status(`Calling resize operation for ${describeTarget(target)} to ${extra.desired} replicas...`);
    await new Cluster(ctx, account).scale(target, extra.desired);
    await status('Resize operation completed successfully');
    return namedResult(target);
  },
});

export const pauseRolloutManifestOp: OpHandler = manifestOp<Record<string, never>>({
  name: 'pauseRolloutManifest',
  operationClass: 'KubernetesPauseRolloutManifestOperation',
  phase: 'PAUSE_ROLLOUT_KUBERNETES_MANIFEST',
  validatorContext: 'pauseRolloutKubernetesManifest',
  idempotent: true,
  parse: () => ({}),
  async run({ account, target, ctx, status }) {
    await status(`Starting pause rollout operation in account ${account.name}...`);
    requireCapability(target, 'rollout', 'pause rollout');
    // kubectl pauses Deployments only; StatefulSets and DaemonSets have no paused field.
    if (!supports(target, 'pause')) throw invalidOperation(`${kindResource(target)} pausing is not supported`);
    const cluster = new Cluster(ctx, account);
    const current = await cluster.get(target);
    if (!current) throw invalidOperation(`${target.fullName} not found in ${target.location}`);
    if (isPaused(current)) await status(`${target.fullName} is already paused`);
    else await cluster.patch(target, 'merge', { spec: { paused: true } });
    await status('Pause rollout operation completed successfully');
    return namedResult(target);
  },
});

export const resumeRolloutManifestOp: OpHandler = manifestOp<Record<string, never>>({
  name: 'resumeRolloutManifest',
  operationClass: 'KubernetesResumeRolloutManifestOperation',
  phase: 'RESUME_ROLLOUT_KUBERNETES_MANIFEST',
  validatorContext: 'resumeRolloutKubernetesManifest',
  idempotent: true,
  parse: () => ({}),
  async run({ account, target, ctx, status }) {
    await status(`Starting resume rollout operation in account ${account.name}...`);
    requireCapability(target, 'rollout', 'resume rollout');
    if (!supports(target, 'pause')) throw invalidOperation(`${kindResource(target)} resuming is not supported`);
    const cluster = new Cluster(ctx, account);
    const current = await cluster.get(target);
    if (!current) throw invalidOperation(`${target.fullName} not found in ${target.location}`);
    if (!isPaused(current)) await status(`${target.fullName} is not paused`);
    else await cluster.patch(target, 'merge', { spec: { paused: false } });
    await status('Resume rollout operation completed successfully');
    return namedResult(target);
  },
});

export const rollingRestartManifestOp: OpHandler = manifestOp<Record<string, never>>({
  name: 'rollingRestartManifest',
  operationClass: 'KubernetesRollingRestartManifestOperation',
  phase: 'ROLLING_RESTART_KUBERNETES_MANIFEST',
  validatorContext: 'rollingRestartKubernetesManifest',
  // Running it again restarts the pods again: harmless, but not the same outcome.
  idempotent: false,
  parse: () => ({}),
  async run({ account, target, ctx, status }) {
    await status(`Starting rolling restart operation in account ${account.name}...`);
    requireCapability(target, 'rollout', 'rolling restart');
    const cluster = new Cluster(ctx, account);
    if (supports(target, 'pause')) {
      const current = await cluster.get(target);
      if (!current) throw invalidOperation(`${target.fullName} not found in ${target.location}`);
      if (isPaused(current)) throw invalidOperation(`can't restart paused deployment (run rollout resume first)`);
    }
    const restartedAt = rfc3339(ctx.now());
    await status(`Calling rolling restart operation for ${describeTarget(target)} (${RESTARTED_AT_ANNOTATION}=${restartedAt})...`);
    await cluster.patch(target, 'strategic', { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: restartedAt } } } } });
    await status('Rolling restart operation completed successfully');
    return namedResult(target);
  },
});

interface UndoInput {
  revision?: number;
  numRevisionsBack?: number;
}

interface Revision {
  revision: number;
  object: KubeObject;
}

function ownedBy(object: KubeObject, owner: KubeObject): boolean {
  const uid = owner.metadata?.uid;
  return (object.metadata?.ownerReferences ?? []).some((ref) => (uid ? ref.uid === uid : ref.name === owner.metadata?.name) && ref.controller !== false);
}

/** The workload's history: the ReplicaSets a Deployment owns, or a StatefulSet's/DaemonSet's ControllerRevisions. */
async function history(cluster: Cluster, target: ManifestTarget, workload: KubeObject): Promise<Revision[]> {
  const selector = kubeSelectorText(isObject(workload.spec) ? workload.spec.selector : undefined);
  const isDeployment = supports(target, 'pause');
  const kind = isDeployment ? 'ReplicaSet' : 'ControllerRevision';
  const items = await cluster.list({ group: 'apps', version: '', kind, namespace: target.namespace }, selector);
  const out: Revision[] = [];
  for (const item of items) {
    if (!ownedBy(item, workload)) continue;
    const raw = isDeployment ? item.metadata?.annotations?.[REVISION_ANNOTATION] : (item as { revision?: unknown }).revision;
    const revision = Number(raw);
    if (Number.isSafeInteger(revision) && revision > 0) out.push({ revision, object: item });
  }
  return out.sort((a, b) => a.revision - b.revision);
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, canonical(value[k])]),
  );
}

function withoutHash(template: unknown): Record<string, unknown> {
  const copy = structuredClone(isObject(template) ? template : {});
  const meta = isObject(copy.metadata) ? copy.metadata : undefined;
  const labels = meta && isObject(meta.labels) ? meta.labels : undefined;
  if (labels) delete labels[POD_TEMPLATE_HASH];
  return copy;
}

/** RFC 6901 escaping of a map key in a JSON-patch path. */
function pointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

export const undoRolloutManifestOp: OpHandler = manifestOp<UndoInput>({
  name: 'undoRolloutManifest',
  operationClass: 'KubernetesUndoRolloutManifestOperation',
  phase: 'UNDO_ROLLOUT_KUBERNETES_MANIFEST',
  validatorContext: 'undoRolloutKubernetesManifest',
  // Rolling back makes a new revision: with numRevisionsBack a second run would go further back.
  idempotent: (input) => input.revision !== undefined && input.numRevisionsBack === undefined,
  parse(source, path) {
    expectObject(source, path);
    const revision = optionalInteger(source, 'revision', path);
    const numRevisionsBack = optionalCount(source, 'numRevisionsBack', path);
    if (revision !== undefined && revision < 0) invalid(at(path, 'revision'), 'must not be negative');
    return { ...(revision !== undefined ? { revision } : {}), ...(numRevisionsBack !== undefined ? { numRevisionsBack } : {}) };
  },
  async run({ account, target, extra, ctx, status }) {
    await status(`Starting undo rollout operation in account ${account.name}...`);
    requireCapability(target, 'rollout', 'undo rollout');
    const cluster = new Cluster(ctx, account);
    const workload = await cluster.get(target);
    if (!workload) throw invalidOperation(`${target.fullName} not found in ${target.location}`);
    const isDeployment = supports(target, 'pause');
    if (isDeployment && isPaused(workload)) {
      throw invalidOperation(`you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume deployment/${target.name}' and try again`);
    }
    await status('Looking up rollout history...');
    const revisions = await history(cluster, target, workload);
    let toRevision = extra.revision ?? 0;
    if (extra.numRevisionsBack !== undefined) {
      const index = revisions.length - extra.numRevisionsBack - 1;
      if (index < 0) throw invalidOperation(`There are ${revisions.length} revision(s) in total, cannot rollback ${extra.numRevisionsBack}`);
      toRevision = revisions[index]!.revision;
      await status(`Picked revision ${toRevision}...`);
    }
    let chosen: Revision | undefined;
    if (toRevision === 0) {
      // kubectl's "previous revision": the newest one before the current.
      if (revisions.length < 2) throw invalidOperation(`no rollout history found for ${target.fullName}`);
      chosen = revisions[revisions.length - 2];
    } else {
      chosen = revisions.find((r) => r.revision === toRevision);
    }
    if (!chosen)
      throw invalidOperation(
        toRevision === 0 ? `no rollout history found for ${target.fullName}` : `unable to find specified revision ${toRevision} in history`,
      );
    await status(`Calling undo rollout operation for ${describeTarget(target)} with revision ${chosen.revision}...`);

    if (isDeployment) {
      const template = withoutHash(isObject(chosen.object.spec) ? chosen.object.spec.template : undefined);
      const current = isObject(workload.spec) ? workload.spec.template : undefined;
      if (JSON.stringify(canonical(template)) === JSON.stringify(canonical(withoutHash(current)))) {
        await status(`skipped rollback (current template already matches revision ${chosen.revision})`);
      } else {
        // kubectl's rollback: the revision's pod template, and its annotations (other than the
        // Deployment's own bookkeeping, which stays as it is).
        const ops: unknown[] = [{ op: 'replace', path: '/spec/template', value: template }];
        const wanted = Object.entries(chosen.object.metadata?.annotations ?? {}).filter(([k]) => !ROLLBACK_SKIPPED_ANNOTATIONS.has(k));
        const existing = workload.metadata?.annotations ?? {};
        if (workload.metadata?.annotations === undefined) ops.push({ op: 'add', path: '/metadata/annotations', value: {} });
        for (const key of Object.keys(existing)) {
          if (!ROLLBACK_SKIPPED_ANNOTATIONS.has(key) && !wanted.some(([k]) => k === key))
            ops.push({ op: 'remove', path: `/metadata/annotations/${pointer(key)}` });
        }
        for (const [key, value] of wanted) ops.push({ op: 'add', path: `/metadata/annotations/${pointer(key)}`, value });
        await cluster.patch(target, 'json', ops);
      }
    } else {
      // A StatefulSet's or DaemonSet's ControllerRevision holds the patch that restores its template.
      const data = (chosen.object as { data?: unknown }).data;
      if (!isObject(data)) throw invalidOperation(`revision ${chosen.revision} of ${target.fullName} holds no template`);
      await cluster.patch(target, 'strategic', data);
    }
    await status('Undo rollout operation completed successfully');
    return namedResult(target, { revision: chosen.revision });
  },
});
