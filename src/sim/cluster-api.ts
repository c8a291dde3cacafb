import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../common/kube-object.ts';
import type { ClusterStore } from './cluster-store.ts';
import { applyDefaults } from './defaults.ts';
import { listObjects, type ListRequest } from './list.ts';
import { fieldPathString, planApply, recordApply, type ApplyConflict } from './managed-fields.ts';
import { kubeTime, randomSuffix } from './names.ts';
import { matchesFilter, type ObjectFilter } from './object-filter.ts';
import { applyJsonPatch, parseJsonPatch } from './patch/json-patch.ts';
import { applyMergePatch, isPlainObject } from './patch/merge-patch.ts';
import { applyStrategicMergePatch } from './patch/strategic-merge-patch.ts';
import { apiVersionOf, resourceId, type ResourceType } from './resource-type.ts';
import type { Scheduler } from './scheduler.ts';
import { alreadyExists, badRequest, conflict, invalid, notFound, StatusError, type ErrorSubject, type StatusCause } from './status.ts';
import { parseStored, type StoredObject } from './stored-object.ts';
import { prepareForCreate, prepareForUpdate } from './strategies.ts';
import { validateImmutable, validateObject } from './validation.ts';
import { scaleSelector } from './scale.ts';

/**
 * The verbs of one cluster's API (get, list, create, update, patch, delete, deletecollection, and the
 * status and scale subresources) with the semantics of the real API server's generic registry: metadata
 * bookkeeping, optimistic concurrency, no-op updates that do not bump the resourceVersion, generations,
 * finalizers, graceful pod deletion and garbage collection by owner references. Both the HTTP layer and
 * the controllers write through here. Every failure is a StatusError.
 */
export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';
export type PropagationPolicy = 'Orphan' | 'Background' | 'Foreground';
export type Subresource = 'status' | undefined;

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  /** Server-side apply: take fields other managers own instead of failing with a conflict. */
  force?: boolean;
  subresource?: Subresource;
}

export interface DeleteOptions {
  propagationPolicy?: PropagationPolicy;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface DeleteResult {
  object: KubeObject;
  /** False while the object waits for finalizers or a graceful termination. */
  removed: boolean;
}

export interface ApiTiming {
  /** Upper bound on a pod's graceful termination, so that deletes in the sim finish quickly. */
  podTerminationCapMs: number;
}

type Obj = Record<string, unknown>;

const MS_PER_SECOND = 1000;
const DEFAULT_POD_GRACE_SECONDS = 30;
/** Namespaces a real cluster refuses to delete. */
const PROTECTED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);
const NAMESPACES: ErrorSubject = { group: '', resource: 'namespaces' };

function subjectOf(type: ResourceType): ErrorSubject {
  return { group: type.group, resource: type.plural };
}

function fieldError(type: ResourceType, name: string, field: string, message: string): StatusError {
  return invalid(type.group, type.kind, name, [{ reason: 'FieldValueInvalid', message, field }]);
}

/** Everything but metadata (and status when it is a subresource): what a generation counts changes of. */
function specJson(type: ResourceType, object: KubeObject): string {
  const { metadata: _m, status, ...rest } = object;
  return JSON.stringify(type.subresources.status ? rest : { ...rest, status });
}

export class ClusterApi {
  private serviceIps = 0;

  constructor(
    private readonly store: ClusterStore,
    private readonly scheduler: Scheduler,
    private readonly timing: ApiTiming,
  ) {}

  getStored(type: ResourceType, namespace: string, name: string): StoredObject {
    const stored = this.store.get(type, namespace, name);
    if (stored === undefined) throw notFound(subjectOf(type), name);
    return stored;
  }

  get(type: ResourceType, namespace: string, name: string): KubeObject {
    return parseStored(this.getStored(type, namespace, name));
  }

  find(type: ResourceType, namespace: string, name: string): KubeObject | undefined {
    const stored = this.store.get(type, namespace, name);
    return stored === undefined ? undefined : parseStored(stored);
  }

  list(type: ResourceType, request: ListRequest): ReturnType<typeof listObjects> {
    return listObjects(this.store, resourceId(type), request);
  }

  /** Checks body apiVersion/kind/namespace against the URL and fills them in when absent. */
  private checkIdentity(type: ResourceType, namespace: string, body: unknown, urlName?: string): KubeObject {
    if (!isPlainObject(body))
      throw badRequest(`the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`);
    const object = body as KubeObject;
    if (object.metadata !== undefined && !isPlainObject(object.metadata)) throw badRequest('metadata must be an object');
    const metadata: Obj = { ...(object.metadata ?? {}) };
    const causes: StatusCause[] = [];
    const expectedApiVersion = apiVersionOf(type);
    if (object.apiVersion !== undefined && object.apiVersion !== expectedApiVersion) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${String(object.apiVersion)}": must be ${expectedApiVersion}`,
        field: 'apiVersion',
      });
    }
    if (object.kind !== undefined && object.kind !== type.kind) {
      causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: "${String(object.kind)}": must be ${type.kind}`, field: 'kind' });
    }
    if (type.namespaced) {
      if (metadata.namespace !== undefined && metadata.namespace !== '' && metadata.namespace !== namespace) {
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: "${String(metadata.namespace)}": the namespace of the provided object does not match the namespace sent on the request`,
          field: 'metadata.namespace',
        });
      }
      metadata.namespace = namespace;
    } else delete metadata.namespace;
    if (urlName !== undefined) {
      if (metadata.name !== undefined && metadata.name !== '' && metadata.name !== urlName) {
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: "${String(metadata.name)}": the name of the object does not match the name on the URL (${urlName})`,
          field: 'metadata.name',
        });
      }
      metadata.name = urlName;
    }
    if (causes.length > 0) throw invalid(type.group, type.kind, String(metadata.name ?? ''), causes);
    const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = object;
    return { apiVersion: expectedApiVersion, kind: type.kind, metadata: metadata as KubeObject['metadata'], ...rest };
  }

  private requireNamespace(type: ResourceType, namespace: string): void {
    if (!type.namespaced) return;
    const nsType = this.store.registry.lookup('', 'v1', 'namespaces')!;
    const ns = this.store.get(nsType, '', namespace);
    if (ns === undefined) throw notFound(NAMESPACES, namespace);
  }

  create(type: ResourceType, namespace: string, body: unknown, options: WriteOptions = {}): KubeObject {
    const object = this.checkIdentity(type, namespace, body);
    const metadata = object.metadata!;
    if ((metadata.name === undefined || metadata.name === '') && typeof metadata.generateName === 'string' && metadata.generateName !== '') {
      metadata.name = metadata.generateName + randomSuffix();
    }
    // Defaults first, as the real server applies them while decoding: validation sees the defaulted object.
    applyDefaults(type, object);
    validateObject(type, object);
    const name = metadata.name!;
    this.requireNamespace(type, namespace);
    if (this.store.get(type, namespace, name) !== undefined) throw alreadyExists(subjectOf(type), name);
    delete metadata.resourceVersion;
    delete metadata.deletionTimestamp;
    delete metadata.deletionGracePeriodSeconds;
    delete metadata.selfLink;
    metadata.uid = randomUUID();
    metadata.creationTimestamp = kubeTime();
    if (type.tracksGeneration || type.custom) metadata.generation = 1;
    else delete metadata.generation;
    // A dry run shows the ClusterIP a Service would get without taking it.
    prepareForCreate(type, object, { allocateServiceIp: () => (options.dryRun ? this.serviceIps + 1 : ++this.serviceIps) });
    if (options.dryRun) return object;
    this.store.commit(type, object, undefined);
    return object;
  }

  update(type: ResourceType, namespace: string, name: string, body: unknown, options: WriteOptions = {}): KubeObject {
    const existing = this.getStored(type, namespace, name);
    const incoming = this.checkIdentity(type, namespace, body, name);
    const wantedVersion = incoming.metadata?.resourceVersion;
    if (wantedVersion !== undefined && wantedVersion !== '' && wantedVersion !== String(existing.resourceVersion)) {
      throw conflict(subjectOf(type), name, 'the object has been modified; please apply your changes to the latest version and try again');
    }
    const previous = parseStored(existing);
    let next: KubeObject;
    if (options.subresource === 'status') {
      next = { ...previous, status: incoming.status };
    } else {
      next = incoming;
      const keep = previous.metadata!;
      next.metadata = {
        ...incoming.metadata,
        uid: keep.uid,
        creationTimestamp: keep.creationTimestamp,
        ...(keep.deletionTimestamp !== undefined
          ? { deletionTimestamp: keep.deletionTimestamp, deletionGracePeriodSeconds: keep.deletionGracePeriodSeconds }
          : {}),
      };
      if (next.metadata.managedFields === undefined && keep.managedFields !== undefined) next.metadata.managedFields = keep.managedFields;
      if (type.subresources.status) {
        if (previous.status === undefined) delete next.status;
        else next.status = previous.status;
      }
      applyDefaults(type, next);
      validateObject(type, next);
      validateImmutable(type, previous, next);
    }
    prepareForUpdate(type, next);
    if (type.tracksGeneration || type.custom) {
      const generation = previous.metadata?.generation ?? 1;
      next.metadata!.generation = specJson(type, next) === specJson(type, previous) ? generation : generation + 1;
    }
    next.metadata!.resourceVersion = String(existing.resourceVersion);
    if (JSON.stringify(next) === existing.json) return previous;
    if (options.dryRun) return next;
    if (next.metadata!.deletionTimestamp !== undefined && (next.metadata!.finalizers ?? []).length === 0) {
      // The last finalizer is gone: the pending deletion completes now.
      return this.removeNow(type, existing, next, 'Background');
    }
    this.store.commit(type, next, existing);
    return next;
  }

  /** Applies a patch; returns the result and whether it created the object (server-side apply only). */
  patch(
    type: ResourceType,
    namespace: string,
    name: string,
    patchType: PatchType,
    patch: unknown,
    options: WriteOptions = {},
  ): { object: KubeObject; created: boolean } {
    const existing = this.store.get(type, namespace, name);
    if (patchType === 'apply') return this.apply(type, namespace, name, patch, existing, options);
    if (existing === undefined) throw notFound(subjectOf(type), name);
    const previous = parseStored(existing);
    const patched = this.applyPatch(type, previous, patchType, patch);
    if (!isPlainObject(patched)) throw badRequest('the patch did not produce an object');
    return { object: this.update(type, namespace, name, patched, options), created: false };
  }

  private applyPatch(type: ResourceType, target: KubeObject, patchType: PatchType, patch: unknown): unknown {
    switch (patchType) {
      case 'merge':
        if (!isPlainObject(patch)) throw badRequest('merge patch must be a JSON object');
        return applyMergePatch(target, patch);
      case 'json':
        return applyJsonPatch(target, parseJsonPatch(patch));
      case 'strategic':
        if (type.custom) {
          throw new StatusError(
            415,
            'UnsupportedMediaType',
            `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
          );
        }
        if (!isPlainObject(patch)) throw badRequest('strategic merge patch must be a JSON object');
        return applyStrategicMergePatch(target, patch);
      default:
        throw badRequest(`unsupported patch type ${patchType}`);
    }
  }

  /** Server-side apply, simplified: create when absent, else merge the applied configuration in. */
  private apply(
    type: ResourceType,
    namespace: string,
    name: string,
    body: unknown,
    existing: StoredObject | undefined,
    options: WriteOptions,
  ): { object: KubeObject; created: boolean } {
    const manager = options.fieldManager;
    if (manager === undefined || manager === '') {
      throw invalid('meta.k8s.io', 'PatchOptions', '', [
        { reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' },
      ]);
    }
    if (!isPlainObject(body)) throw badRequest('apply patch must be an object');
    const applied = body as KubeObject;
    if (typeof applied.apiVersion !== 'string' || typeof applied.kind !== 'string') {
      throw badRequest('invalid object type: apiVersion and kind must be set in an apply patch');
    }
    const time = kubeTime();
    if (existing === undefined) {
      const object = this.checkIdentity(type, namespace, applied, name);
      object.metadata!.managedFields = recordApply(undefined, manager, apiVersionOf(type), applied, time);
      return { object: this.create(type, namespace, object, options), created: true };
    }
    const previous = parseStored(existing);
    const ownership = planApply(previous.metadata?.managedFields, manager, apiVersionOf(type), applied, previous);
    if (ownership.conflicts.length > 0 && !options.force) throw applyConflict(ownership.conflicts);
    const { metadata: appliedMeta, ...appliedRest } = applied;
    const { resourceVersion: _rv, managedFields: _mf, ...metaPatch } = (appliedMeta ?? {}) as Obj;
    const patch = { ...appliedRest, metadata: metaPatch };
    const merged = (type.custom ? applyMergePatch(previous, patch) : applyStrategicMergePatch(previous, patch)) as KubeObject;
    ownership.prune(merged);
    merged.metadata!.managedFields = ownership.managedFields(time);
    const withoutTimes = (o: KubeObject): KubeObject => ({
      ...o,
      metadata: { ...o.metadata, managedFields: (o.metadata?.managedFields as Obj[] | undefined)?.map(({ time: _t, ...entry }) => entry) },
    });
    const before = withoutTimes(previous);
    const after = withoutTimes(merged);
    // An apply that changes neither the object nor who owns what leaves it (and its managedFields times) alone, like a no-op update.
    if (JSON.stringify(before) === JSON.stringify(after)) return { object: previous, created: false };
    return { object: this.update(type, namespace, name, merged, options), created: false };
  }

  delete(type: ResourceType, namespace: string, name: string, options: DeleteOptions = {}): DeleteResult {
    const existing = this.getStored(type, namespace, name);
    const preconditions = options.preconditions;
    if (preconditions?.uid !== undefined && preconditions.uid !== existing.uid) {
      throw conflict(subjectOf(type), name, `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${existing.uid}`);
    }
    if (preconditions?.resourceVersion !== undefined && preconditions.resourceVersion !== String(existing.resourceVersion)) {
      throw conflict(
        subjectOf(type),
        name,
        `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${existing.resourceVersion}`,
      );
    }
    const object = parseStored(existing);
    if (options.dryRun) return { object, removed: true };
    if (!type.custom && type.kind === 'Namespace') return this.deleteNamespace(type, existing, object);
    const metadata = object.metadata!;
    const policy = options.propagationPolicy ?? 'Background';

    if (metadata.deletionTimestamp !== undefined) {
      if (type.kind === 'Pod' && !type.custom && options.gracePeriodSeconds === 0 && (metadata.finalizers ?? []).length === 0) {
        return { object: this.removeNow(type, existing, object, policy), removed: true };
      }
      return { object, removed: false };
    }
    if ((metadata.finalizers ?? []).length > 0) {
      metadata.deletionTimestamp = kubeTime();
      metadata.deletionGracePeriodSeconds = 0;
      this.store.commit(type, object, existing);
      return { object, removed: false };
    }
    if (!type.custom && type.kind === 'Pod') {
      const spec = object.spec as Obj | undefined;
      const grace =
        options.gracePeriodSeconds ??
        (typeof spec?.terminationGracePeriodSeconds === 'number' ? spec.terminationGracePeriodSeconds : DEFAULT_POD_GRACE_SECONDS);
      const phase = (object.status as Obj | undefined)?.phase;
      if (grace > 0 && phase !== 'Succeeded' && phase !== 'Failed') return { object: this.terminatePod(type, existing, object, grace), removed: false };
    }
    return { object: this.removeNow(type, existing, object, policy), removed: true };
  }

  /** Graceful pod deletion: mark it terminating now, remove it when the (capped) grace period ends. */
  private terminatePod(type: ResourceType, existing: StoredObject, object: KubeObject, graceSeconds: number): KubeObject {
    const graceMs = graceSeconds * MS_PER_SECOND;
    object.metadata!.deletionTimestamp = kubeTime(Date.now() + graceMs);
    object.metadata!.deletionGracePeriodSeconds = graceSeconds;
    const stored = this.store.commit(type, object, existing);
    const uid = stored.uid;
    this.scheduler.after(Math.min(graceMs, this.timing.podTerminationCapMs), () => {
      const current = this.store.get(type, stored.namespace, stored.name);
      if (current === undefined || current.uid !== uid) return;
      const last = parseStored(current);
      if ((last.metadata?.finalizers ?? []).length > 0) return;
      this.removeNow(type, current, last, 'Background');
    });
    return object;
  }

  private removeNow(type: ResourceType, existing: StoredObject, object: KubeObject, policy: PropagationPolicy): KubeObject {
    const uid = existing.uid;
    if (policy === 'Foreground') this.collectDependents(uid, 'Foreground');
    if (policy === 'Orphan') this.orphanDependents(uid);
    const removed = this.store.remove(type, existing, object);
    if (policy === 'Background') this.scheduler.soon(() => this.collectDependents(uid, 'Background'));
    return parseStored(removed);
  }

  /** The garbage collector: deletes every object that names `ownerUid` among its owners. */
  private collectDependents(ownerUid: string, policy: PropagationPolicy): void {
    for (const ref of this.store.dependentsOf(ownerUid)) {
      const dependent = this.store.getByRef(ref);
      const type = this.typeOfResource(ref.resource);
      if (dependent === undefined || type === undefined) continue;
      try {
        this.delete(type, dependent.namespace, dependent.name, { propagationPolicy: policy });
      } catch (err) {
        if (!(err instanceof StatusError && err.code === 404)) throw err;
      }
    }
  }

  private orphanDependents(ownerUid: string): void {
    for (const ref of this.store.dependentsOf(ownerUid)) {
      const dependent = this.store.getByRef(ref);
      const type = this.typeOfResource(ref.resource);
      if (dependent === undefined || type === undefined) continue;
      const object = parseStored(dependent);
      const owners = (object.metadata!.ownerReferences ?? []).filter((o) => o.uid !== ownerUid);
      if (owners.length > 0) object.metadata!.ownerReferences = owners;
      else delete object.metadata!.ownerReferences;
      this.store.commit(type, object, dependent);
    }
  }

  typeOfResource(resource: string): ResourceType | undefined {
    const slash = resource.indexOf('/');
    const group = resource.slice(0, slash);
    const plural = resource.slice(slash + 1);
    const versions = this.store.registry.groups().get(group) ?? [];
    for (const version of versions) {
      const type = this.store.registry.lookup(group, version, plural);
      if (type !== undefined) return type;
    }
    return undefined;
  }

  /** Namespace deletion: marked Terminating, its objects deleted, then the namespace itself removed. */
  private deleteNamespace(type: ResourceType, existing: StoredObject, object: KubeObject): DeleteResult {
    if (PROTECTED_NAMESPACES.has(existing.name)) {
      throw new StatusError(403, 'Forbidden', `namespaces "${existing.name}" is forbidden: this namespace may not be deleted`, {
        name: existing.name,
        kind: 'namespaces',
      });
    }
    if (object.metadata!.deletionTimestamp !== undefined) return { object, removed: false };
    object.metadata!.deletionTimestamp = kubeTime();
    object.status = { ...(object.status as Obj | undefined), phase: 'Terminating' };
    let current = this.store.commit(type, object, existing);
    const terminating = structuredClone(object);
    const prefix = `${existing.name}/`;
    for (const resource of this.store.resources()) {
      const contentType = this.typeOfResource(resource);
      if (contentType === undefined || !contentType.namespaced) continue;
      const keys = [...this.store.collection(resource).scan(existing.name, undefined)].filter((o) => o.key.startsWith(prefix));
      for (const dependent of keys) {
        const still = this.store.getByRef({ resource, key: dependent.key });
        if (still !== undefined) this.removeNow(contentType, still, parseStored(still), 'Background');
      }
    }
    current = this.store.get(type, '', existing.name) ?? current;
    this.store.remove(type, current, parseStored(current));
    return { object: terminating, removed: false };
  }

  deleteCollection(type: ResourceType, filter: ObjectFilter, options: DeleteOptions): KubeObject[] {
    const targets = [...this.store.collection(resourceId(type)).scan(filter.namespace, undefined)].filter((o) => matchesFilter(filter, o));
    const deleted: KubeObject[] = [];
    for (const target of targets) {
      try {
        deleted.push(this.delete(type, target.namespace, target.name, options).object);
      } catch (err) {
        if (!(err instanceof StatusError && err.code === 404)) throw err;
      }
    }
    return deleted;
  }

  // ---- scale subresource (autoscaling/v1 Scale) ----

  getScale(type: ResourceType, namespace: string, name: string): KubeObject {
    return toScale(this.get(type, namespace, name));
  }

  updateScale(type: ResourceType, namespace: string, name: string, body: unknown, options: WriteOptions = {}): KubeObject {
    if (!isPlainObject(body)) throw badRequest('scale must be an object');
    const scale = body as KubeObject;
    const replicas = (scale.spec as Obj | undefined)?.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw fieldError(type, name, 'spec.replicas', `Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0`);
    }
    const existing = this.getStored(type, namespace, name);
    const wanted = scale.metadata?.resourceVersion;
    if (wanted !== undefined && wanted !== '' && wanted !== String(existing.resourceVersion)) {
      throw conflict(subjectOf(type), name, 'the object has been modified; please apply your changes to the latest version and try again');
    }
    const object = parseStored(existing);
    object.spec = { ...(object.spec as Obj), replicas };
    return toScale(this.update(type, namespace, name, object, options));
  }

  patchScale(type: ResourceType, namespace: string, name: string, patchType: PatchType, patch: unknown, options: WriteOptions = {}): KubeObject {
    const current = this.getScale(type, namespace, name);
    const patched = patchType === 'json' ? applyJsonPatch(current, parseJsonPatch(patch)) : applyMergePatch(current, patch);
    return this.updateScale(type, namespace, name, patched, options);
  }
}

/** The 409 a server-side apply gets for fields other managers own, worded as the real API server words it. */
function applyConflict(conflicts: ApplyConflict[]): StatusError {
  const causes: StatusCause[] = conflicts.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${JSON.stringify(c.manager)}`,
    field: fieldPathString(c.steps),
  }));
  let message: string;
  if (conflicts.length === 1)
    message = `Apply failed with 1 conflict: conflict with ${JSON.stringify(conflicts[0]!.manager)}: ${fieldPathString(conflicts[0]!.steps)}`;
  else {
    const managers = [...new Set(conflicts.map((c) => c.manager))].sort();
    const lines = managers.flatMap((m) => [
      `conflicts with ${JSON.stringify(m)}:`,
      ...conflicts.filter((c) => c.manager === m).map((c) => `- ${fieldPathString(c.steps)}`),
    ]);
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new StatusError(409, 'Conflict', message, { causes });
}

function toScale(object: KubeObject): KubeObject {
  const meta = object.metadata!;
  const spec = (object.spec ?? {}) as Obj;
  const status = (object.status ?? {}) as Obj;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: meta.name, namespace: meta.namespace, uid: meta.uid, resourceVersion: meta.resourceVersion, creationTimestamp: meta.creationTimestamp },
    spec: { replicas: spec.replicas ?? 0 },
    status: { replicas: status.replicas ?? 0, selector: scaleSelector(spec.selector) },
  };
}
