import { create } from '@bufbuild/protobuf';
import { Errors, errorMessage, isScaleAgentError } from '../../common/errors.ts';
import { DEFAULT_NAMESPACE } from '../../common/account-properties.ts';
import { qualifiedKind, splitApiVersion, type KubeObject } from '../../common/kube-object.ts';
import type { Logger } from '../../common/logger.ts';
import { delay } from '../../common/time.ts';
import {
  ApplyStrategy,
  OperationResultSchema,
  PatchType,
  type Operation,
  type OperationResult,
  type ResourceTarget,
  type WrittenObject,
} from '../../protocol/index.ts';
import type { KubeClient, KubeResponse } from '../../kube/client.ts';
import { resolveKind, resourcePath, type ApiResource } from '../../kube/api-resource.ts';
import { slimObject } from '../../kube/slim.ts';
import type { AccountRuntime } from '../account/account-runtime.ts';
import { PATCH_CONTENT_TYPES, planApply, type ApplyPlan } from '../../kube/apply/client-side-apply.ts';
import { secretValueRead } from '../../kube/secret-values.ts';
import type { JsonMap } from '../../kube/apply/json.ts';

/** Retries of a write that hit 409 Conflict (someone else updated the object in between). */
const CONFLICT_RETRIES = 3;
/** Pause before retrying after a conflict, growing with each attempt (ms). */
const CONFLICT_BACKOFF_MS = 50;
/** The agent gives up this share of the operation's time budget before the hub's deadline, at most the max. */
const DEADLINE_MARGIN_SHARE = 0.05;
const DEADLINE_MARGIN_MAX_MS = 1000;
/** Polling while waiting for a deleted object to disappear: starts fast, backs off to a ceiling. */
const DELETE_POLL_INITIAL_MS = 50;
const DELETE_POLL_MAX_MS = 1000;
/** Polling for a just-created CustomResourceDefinition to become Established and served. */
const DEFINITION_POLL_MS = 250;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Resolved {
  client: KubeClient;
  resource: ApiResource;
  version: string;
  namespace: string;
}

class OperationFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus = 0,
    readonly body?: Uint8Array,
  ) {
    super(message);
  }
}

export interface OperationExecutorOptions {
  account: (name: string) => AccountRuntime | undefined;
  logger: Logger;
  /** Longest wait for written objects to reach the hub's cache before answering anyway. */
  cacheSyncTimeoutMs: number;
  /** The field manager name writes are made under, unless an operation names its own. */
  fieldManager: string;
  /** `fieldValidation` of the writes a deploy makes (operations.fieldValidation): kubectl apply's default is Strict. */
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
  /** A client-side apply was planned: what it sends and where its patch metadata came from (for metrics). */
  onClientSideApply?: (account: string, action: string, patchMetadata: string) => void;
}

/**
 * Runs the hub's operations against the API server with the account's own credentials, and answers
 * with the real HTTP status, the body, the resourceVersions written and timings. A write is answered
 * once the hub's cache holds what it wrote (read-your-writes), or after `cacheSyncTimeoutMs`.
 */
/**
 * Secret values never leave the agent (slimObject drops them from everything it sends), so no patch may
 * move them where it does not look: checked here, the one place every write passes, whoever sent it.
 */
function refuseSecretValueReads(patch: Uint8Array): void {
  let operations: unknown;
  try {
    operations = JSON.parse(decoder.decode(patch));
  } catch {
    return; // Not JSON: the API server refuses it.
  }
  if (!Array.isArray(operations)) return;
  const why = secretValueRead(operations);
  if (why !== undefined) throw new OperationFailure(Errors.SECRET_VALUES_PROTECTED.code, `refused: ${why}; a Secret's values stay in its data and stringData`);
}

export class OperationExecutor {
  constructor(private readonly options: OperationExecutorOptions) {}

  async execute(operation: Operation): Promise<OperationResult> {
    const receivedAt = Date.now();
    const result = create(OperationResultSchema, { id: operation.id, account: operation.account, timings: { receivedUnixMs: BigInt(receivedAt) } });
    const deadline = Number(operation.deadlineUnixMs) || receivedAt + 30_000;
    // Stop a little before the hub's deadline, so that the hub gets this agent's account of what timed
    // out (which call, how far it got) rather than only noticing that no answer came.
    const budget = deadline - receivedAt;
    const signal = AbortSignal.timeout(Math.max(1, budget - Math.min(DEADLINE_MARGIN_MAX_MS, Math.floor(budget * DEADLINE_MARGIN_SHARE))));
    const runtime = this.options.account(operation.account);
    // From before the first write, so every version the write produces is recorded.
    const endJournal = runtime?.journal?.begin();
    try {
      if (!runtime || !runtime.client) throw new OperationFailure(Errors.ACCOUNT_NOT_FOUND.code, `this agent does not serve account ${operation.account}`);
      if (runtime.state !== 'ready')
        throw new OperationFailure(Errors.ACCOUNT_NOT_CONNECTED.code, `account ${operation.account} is not ready: ${runtime.lastError ?? 'initialising'}`);
      result.timings!.startedUnixMs = BigInt(Date.now());
      await this.run(runtime, operation, result, signal);
      result.timings!.finishedUnixMs = BigInt(Date.now());
      if (result.errorCode === '' && result.written.length > 0) {
        result.cacheSynced = await this.waitForCache(runtime, result.written, Math.min(this.options.cacheSyncTimeoutMs, Math.max(0, deadline - Date.now())));
        result.timings!.syncedUnixMs = BigInt(Date.now());
      }
    } catch (err) {
      result.timings!.finishedUnixMs = BigInt(Date.now());
      if (err instanceof OperationFailure) {
        result.errorCode = err.code;
        result.message = err.message;
        result.httpStatus = err.httpStatus;
        if (err.body) result.body = err.body;
      } else if (signal.aborted || isScaleAgentError(err, Errors.KUBE_TIMEOUT.code)) {
        result.errorCode = Errors.OPERATION_DEADLINE_EXCEEDED.code;
        result.message = `operation did not finish before its deadline: ${errorMessage(err)}`;
      } else {
        result.errorCode = isScaleAgentError(err) ? err.code : Errors.KUBE_TRANSPORT_ERROR.code;
        result.message = errorMessage(err);
      }
    } finally {
      endJournal?.();
    }
    return result;
  }

  private async run(runtime: AccountRuntime, operation: Operation, result: OperationResult, signal: AbortSignal): Promise<void> {
    const request = operation.request;
    switch (request.case) {
      case 'apply':
        return this.apply(
          runtime,
          request.value.manifest,
          request.value.strategy,
          request.value.fieldManager || this.options.fieldManager,
          request.value.forceConflicts,
          result,
          signal,
        );
      case 'delete': {
        const v = request.value;
        return this.delete(runtime, v.target, v.labelSelector, v.propagationPolicy, v.gracePeriodSeconds, v.waitForDeletion, result, signal);
      }
      case 'patch': {
        const r = this.resolve(runtime, request.value.target);
        if (request.value.type === PatchType.JSON && r.resource.group === '' && r.resource.kind === 'Secret') refuseSecretValueReads(request.value.patch);
        const contentType =
          request.value.type === PatchType.JSON
            ? 'application/json-patch+json'
            : request.value.type === PatchType.MERGE
              ? 'application/merge-patch+json'
              : 'application/strategic-merge-patch+json';
        const path = pathOf(r, request.value.target?.name);
        const response = await this.retryConflicts(r, path, signal, () =>
          r.client.request({ method: 'PATCH', path, body: Buffer.from(request.value.patch), contentType, signal }),
        );
        return this.respond(result, response, r, 'patch');
      }
      case 'get': {
        const r = this.resolve(runtime, request.value.target);
        const response = await r.client.request({ path: pathOf(r, request.value.target?.name), signal });
        this.answer(result, response, (obj) => slimObject(obj));
        return;
      }
      case 'list': {
        const r = this.resolve(runtime, request.value.target);
        const response = await r.client.request({
          path: pathOf(r),
          query: { labelSelector: request.value.labelSelector || undefined, fieldSelector: request.value.fieldSelector || undefined },
          signal,
        });
        this.answer(result, response, (list) => {
          for (const item of (list.items as KubeObject[] | undefined) ?? []) slimObject(item);
          return list;
        });
        return;
      }
      case 'scale': {
        const r = this.resolve(runtime, request.value.target);
        const response = await this.retryConflicts(r, pathOf(r, request.value.target?.name), signal, () =>
          r.client.request({
            method: 'PATCH',
            path: pathOf(r, request.value.target?.name, 'scale'),
            body: { spec: { replicas: request.value.replicas } },
            contentType: 'application/merge-patch+json',
            signal,
          }),
        );
        this.answer(result, response);
        if (response.status < 400) {
          // The Scale subresource carries the workload's name and resourceVersion: what read-your-writes waits for.
          const scale = JSON.parse(response.body.toString('utf8')) as KubeObject;
          const meta = scale.metadata ?? {};
          result.written.push(
            written(r, meta.name ?? request.value.target?.name ?? '', meta.uid ?? '', meta.resourceVersion ?? '', false, meta.namespace ?? r.namespace),
          );
        }
        return;
      }
      case 'logs': {
        const r = this.resolve(runtime, request.value.target);
        const response = await r.client.request({
          path: pathOf(r, request.value.target?.name, 'log'),
          query: { container: request.value.container || undefined, tailLines: request.value.tailLines > 0n ? Number(request.value.tailLines) : undefined },
          accept: 'text/plain',
          signal,
        });
        result.httpStatus = response.status;
        if (response.status >= 400) this.fail(result, response);
        else result.body = encoder.encode(JSON.stringify(response.body.toString('utf8')));
        return;
      }
      default:
        throw new OperationFailure(Errors.OPERATION_UNSUPPORTED.code, `operation ${operation.id} has no request this agent understands`);
    }
  }

  /**
   * resolve() for a kind a deploy may have just introduced (a CustomResourceDefinition applied a moment
   * ago, possibly by the same deployManifest): when the kind is unknown, rediscover; when a CRD defines it
   * but is not Established yet, wait for it (within the operation's deadline) and rediscover again, as
   * kubectl re-discovers after "no matches for kind". Fails at once when no CRD defines the kind.
   */
  private async resolveIntroduced(runtime: AccountRuntime, target: ResourceTarget, apiVersion: string, signal: AbortSignal): Promise<Resolved> {
    const known = (): Resolved | undefined => {
      try {
        return this.resolve(runtime, target, apiVersion);
      } catch (err) {
        if (err instanceof OperationFailure && err.code === Errors.KUBE_KIND_UNKNOWN.code) return undefined;
        throw err;
      }
    };
    const first = known();
    if (first !== undefined) return first;
    let state = 'no CustomResourceDefinition defines it';
    for (;;) {
      await runtime.rediscover(`operation: unknown kind ${qualifiedKind(target.group, target.kind)}`);
      const resolved = known();
      if (resolved !== undefined) return resolved;
      const definition = await this.definitionOf(runtime, target.group, target.kind, signal);
      if (definition === undefined) break;
      state = definition.established
        ? `CustomResourceDefinition ${definition.name} is Established but not served yet`
        : `CustomResourceDefinition ${definition.name} is not Established: ${definition.conditions}`;
      try {
        await delay(DEFINITION_POLL_MS, signal);
      } catch {
        break;
      }
    }
    throw unknownKind(runtime.name, target, apiVersion, state);
  }

  /** The CustomResourceDefinition that defines group/kind, with whether it is Established. */
  private async definitionOf(
    runtime: AccountRuntime,
    group: string,
    kind: string,
    signal: AbortSignal,
  ): Promise<{ name: string; established: boolean; conditions: string } | undefined> {
    if (group === '' || runtime.client === undefined) return undefined;
    const response = await runtime.client.request({ path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', signal });
    if (response.status >= 400) return undefined;
    const list = JSON.parse(response.body.toString('utf8')) as {
      items?: Array<{
        metadata?: { name?: string };
        spec?: { group?: string; names?: { kind?: string } };
        status?: { conditions?: Array<{ type?: string; status?: string; reason?: string }> };
      }>;
    };
    const found = (list.items ?? []).find((d) => d.spec?.group === group && d.spec?.names?.kind === kind);
    if (found === undefined) return undefined;
    const conditions = found.status?.conditions ?? [];
    return {
      name: found.metadata?.name ?? `${kind}.${group}`,
      established: conditions.some((c) => c.type === 'Established' && c.status === 'True'),
      conditions: conditions.length === 0 ? 'no conditions yet' : conditions.map((c) => `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}`).join(', '),
    };
  }

  private resolve(runtime: AccountRuntime, target: ResourceTarget | undefined, apiVersion?: string): Resolved {
    if (!target || target.kind === '') throw new OperationFailure(Errors.OPERATION_INVALID.code, 'the operation names no kind');
    let resource: ApiResource;
    try {
      resource = resolveKind(runtime.resources, { group: target.group, kind: target.kind, version: target.version || undefined });
    } catch {
      throw unknownKind(runtime.name, target, apiVersion);
    }
    const version = target.version || resource.version;
    // A namespaced object named without a namespace goes to the account's default one, as Clouddriver
    // fills it from credentials.getDefaultNamespace(); the hub places such manifests there too.
    const namespace = resource.namespaced ? target.namespace || (runtime.defaultNamespace ?? DEFAULT_NAMESPACE) : '';
    return { client: runtime.client!, resource, version, namespace };
  }

  private async apply(
    runtime: AccountRuntime,
    manifestBytes: Uint8Array,
    strategy: ApplyStrategy,
    fieldManager: string,
    force: boolean,
    result: OperationResult,
    signal: AbortSignal,
  ): Promise<void> {
    let manifest: KubeObject;
    try {
      manifest = JSON.parse(decoder.decode(manifestBytes)) as KubeObject;
    } catch (err) {
      throw new OperationFailure(Errors.MANIFEST_INVALID.code, `the manifest is not valid JSON: ${errorMessage(err)}`);
    }
    if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest))
      throw new OperationFailure(Errors.MANIFEST_INVALID.code, 'the manifest is not an object');
    if (typeof manifest.apiVersion !== 'string' || typeof manifest.kind !== 'string')
      throw new OperationFailure(Errors.MANIFEST_INVALID.code, 'the manifest needs apiVersion and kind');
    const generated =
      strategy === ApplyStrategy.CREATE &&
      typeof manifest.metadata?.generateName === 'string' &&
      manifest.metadata.generateName !== '' &&
      !manifest.metadata.name;
    const name = generated ? '' : manifest.metadata?.name;
    if (typeof name !== 'string' || (name === '' && !generated))
      throw new OperationFailure(Errors.MANIFEST_INVALID.code, `the ${manifest.kind} manifest has no metadata.name`);
    const { group, version } = splitApiVersion(manifest.apiVersion);
    const r = await this.resolveIntroduced(
      runtime,
      { $typeName: 'scaleagent.v1.ResourceTarget', group, version, kind: manifest.kind, namespace: manifest.metadata?.namespace ?? '', name },
      manifest.apiVersion,
      signal,
    );
    if (r.resource.namespaced) manifest.metadata = { ...manifest.metadata, namespace: r.namespace };
    const objectPath = pathOf(r, name || undefined);
    const collectionPath = pathOf(r);
    const fieldValidation = this.options.fieldValidation ?? 'Strict';
    // Every write of a deploy: recorded under our field manager, validated as kubectl validates.
    const writeQuery = { fieldManager, fieldValidation };

    switch (strategy) {
      case ApplyStrategy.SERVER_SIDE: {
        const response = await r.client.request({
          method: 'PATCH',
          path: objectPath,
          body: JSON.stringify(manifest),
          contentType: 'application/apply-patch+yaml',
          query: { ...writeQuery, force: force ? true : undefined },
          signal,
        });
        return this.respond(result, response, r, 'apply');
      }
      case ApplyStrategy.CREATE: {
        const response = await r.client.request({ method: 'POST', path: collectionPath, body: manifest, query: writeQuery, signal });
        return this.respond(result, response, r, 'apply');
      }
      case ApplyStrategy.RECREATE: {
        const deleted = await r.client.request({
          method: 'DELETE',
          path: objectPath,
          body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground' },
          signal,
        });
        if (deleted.status < 400) await this.waitGone(r, objectPath, uidOf(deleted), signal);
        else if (deleted.status !== 404) return this.respond(result, deleted, r, 'apply');
        const response = await r.client.request({ method: 'POST', path: collectionPath, body: manifest, query: writeQuery, signal });
        return this.respond(result, response, r, 'apply');
      }
      case ApplyStrategy.REPLACE: {
        for (let attempt = 0; ; attempt++) {
          const current = await r.client.request({ path: objectPath, signal });
          if (current.status === 404)
            return this.respond(
              result,
              await r.client.request({ method: 'POST', path: collectionPath, body: manifest, query: writeQuery, signal }),
              r,
              'apply',
            );
          if (current.status >= 400) return this.respond(result, current, r, 'apply');
          const existing = JSON.parse(current.body.toString('utf8')) as KubeObject;
          const body = { ...manifest, metadata: { ...manifest.metadata, resourceVersion: existing.metadata?.resourceVersion } };
          const response = await r.client.request({ method: 'PUT', path: objectPath, body, query: writeQuery, signal });
          if (response.status === 409 && attempt < CONFLICT_RETRIES) continue;
          return this.respond(result, response, r, 'apply');
        }
      }
      default: {
        // Client-side apply, as kubectl does it (src/kube/apply): create with the last-applied annotation,
        // or a three-way patch against the live object; retried when someone else wrote in between.
        for (let attempt = 0; ; attempt++) {
          const current = await r.client.request({ path: objectPath, signal });
          if (current.status >= 400 && current.status !== 404) return this.respond(result, current, r, 'apply');
          const live = current.status === 404 ? undefined : (JSON.parse(current.body.toString('utf8')) as JsonMap);
          // Patch metadata from the cluster's own OpenAPI, as kubectl reads it; only a patch needs it.
          const openApi = live === undefined ? undefined : await runtime.openApi?.forGroupVersion(r.resource.group, r.version);
          const target = { group: r.resource.group, version: r.version, kind: r.resource.kind, ...(openApi ? { openApi } : {}) };
          let plan: ApplyPlan;
          try {
            plan = planApply(manifest as unknown as JsonMap, live, target);
          } catch (err) {
            throw new OperationFailure(Errors.MANIFEST_INVALID.code, `cannot compute the apply patch for ${manifest.kind} ${name}: ${errorMessage(err)}`);
          }
          this.options.onClientSideApply?.(
            runtime.name,
            plan.action === 'patch' ? plan.patchType : plan.action,
            plan.action === 'patch' ? (plan.metadata ?? 'none') : 'none',
          );
          if (plan.action === 'unchanged') return this.respond(result, current, r, 'apply');
          const response =
            plan.action === 'create'
              ? await r.client.request({ method: 'POST', path: collectionPath, body: plan.body, query: writeQuery, signal })
              : await r.client.request({
                  method: 'PATCH',
                  path: objectPath,
                  body: JSON.stringify(plan.patch),
                  contentType: PATCH_CONTENT_TYPES[plan.patchType],
                  query: writeQuery,
                  signal,
                });
          if (response.status === 409 && attempt < CONFLICT_RETRIES) continue;
          return this.respond(result, response, r, 'apply');
        }
      }
    }
  }

  private async delete(
    runtime: AccountRuntime,
    target: ResourceTarget | undefined,
    labelSelector: string,
    propagationPolicy: string,
    gracePeriodSeconds: bigint | undefined,
    wait: boolean,
    result: OperationResult,
    signal: AbortSignal,
  ): Promise<void> {
    const r = this.resolve(runtime, target);
    const options: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
    if (propagationPolicy) options.propagationPolicy = propagationPolicy;
    if (gracePeriodSeconds !== undefined) options.gracePeriodSeconds = Number(gracePeriodSeconds);
    let names: string[];
    if (target?.name) {
      names = [target.name];
    } else {
      const list = await r.client.request({ path: pathOf(r), query: { labelSelector: labelSelector || undefined }, signal });
      if (list.status >= 400) return this.respond(result, list, r, 'delete');
      names = ((JSON.parse(list.body.toString('utf8')) as { items?: KubeObject[] }).items ?? []).map((o) => o.metadata?.name ?? '').filter((n) => n !== '');
    }
    const deleted: KubeObject[] = [];
    const waits: Array<Promise<void>> = [];
    let lastStatus = 200;
    for (const name of names) {
      const path = pathOf(r, name);
      const response = await r.client.request({ method: 'DELETE', path, body: options, signal });
      lastStatus = response.status;
      if (response.status === 404) continue;
      if (response.status >= 400) {
        await Promise.allSettled(waits);
        return this.respond(result, response, r, 'delete');
      }
      // Several objects (a label selector) are deleted first and waited for together, so their grace
      // periods run at the same time.
      if (wait) waits.push(this.waitGone(r, path, uidOf(response), signal));
      deleted.push({ metadata: { name, namespace: r.namespace } });
      result.written.push(written(r, name, '', '', true));
    }
    const waited = await Promise.allSettled(waits);
    const failedWait = waited.find((w): w is PromiseRejectedResult => w.status === 'rejected');
    if (failedWait) throw failedWait.reason;
    result.httpStatus = target?.name && deleted.length === 0 ? lastStatus : 200;
    result.body = encoder.encode(
      JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Success', details: { names: deleted.map((d) => d.metadata?.name) } }),
    );
    if (target?.name && deleted.length === 0) result.message = `${r.resource.kind} ${target.name} was not found`;
  }

  /**
   * Waits until the object is gone: 404, or an object of the same name with another uid (a controller —
   * a StatefulSet, a recreate — already made its successor).
   */
  private async waitGone(r: Resolved, path: string, uid: string | undefined, signal: AbortSignal): Promise<void> {
    let interval = DELETE_POLL_INITIAL_MS;
    let last: KubeObject | undefined;
    try {
      for (;;) {
        const response = await r.client.request({ path, signal });
        if (response.status === 404) return;
        if (uid !== undefined && response.status < 400 && uidOf(response) !== uid) return;
        if (response.status < 400) last = JSON.parse(response.body.toString('utf8')) as KubeObject;
        await delay(interval, signal);
        interval = Math.min(DELETE_POLL_MAX_MS, interval * 2);
      }
    } catch (err) {
      // Out of time while finalizers hold the object: say which, instead of a bare (retryable) timeout —
      // deleting again changes nothing until whoever owns them removes them.
      const finalizers = last?.metadata?.finalizers ?? [];
      if (signal.aborted && last?.metadata?.deletionTimestamp && finalizers.length > 0) {
        throw new OperationFailure(
          Errors.DELETE_BLOCKED_BY_FINALIZERS.code,
          `${r.resource.kind} ${last.metadata.name ?? ''} is being deleted (since ${last.metadata.deletionTimestamp}) but finalizers still hold it: ${finalizers.join(', ')}; it is removed once they are cleared`,
          409,
        );
      }
      throw err;
    }
  }

  /**
   * Runs a write, and after a 409 Conflict re-reads the object and runs it again, a bounded number of
   * times. Only for writes that carry no resourceVersion of their own (patches, scale): sending them
   * again is exactly what the caller asked for, applied to the object as it now is.
   */
  private async retryConflicts(r: Resolved, objectPath: string, signal: AbortSignal, write: () => Promise<KubeResponse>): Promise<KubeResponse> {
    for (let attempt = 0; ; attempt++) {
      const response = await write();
      if (response.status !== 409 || attempt >= CONFLICT_RETRIES) return response;
      this.options.logger.debug({ path: objectPath, attempt: attempt + 1 }, 'write met a conflict; re-reading and retrying');
      await delay(CONFLICT_BACKOFF_MS * (attempt + 1), signal);
      const current = await r.client.request({ path: objectPath, signal });
      if (current.status >= 400) return current.status === 404 ? current : response;
    }
  }

  /** Records an API response: success fills `written`, failure the error. */
  private respond(result: OperationResult, response: KubeResponse, r: Resolved, verb: string): void {
    result.httpStatus = response.status;
    if (response.status >= 400) {
      this.fail(result, response, verb);
      return;
    }
    const obj = JSON.parse(response.body.toString('utf8')) as KubeObject;
    slimObject(obj);
    result.body = encoder.encode(JSON.stringify(obj));
    const meta = obj.metadata ?? {};
    result.written.push(written(r, meta.name ?? '', meta.uid ?? '', meta.resourceVersion ?? '', false, meta.namespace ?? r.namespace));
  }

  private answer(result: OperationResult, response: KubeResponse, transform?: (obj: KubeObject) => KubeObject): void {
    result.httpStatus = response.status;
    if (response.status >= 400) {
      this.fail(result, response);
      return;
    }
    const obj = JSON.parse(response.body.toString('utf8')) as KubeObject;
    result.body = encoder.encode(JSON.stringify(transform ? transform(obj) : obj));
  }

  private fail(result: OperationResult, response: KubeResponse, verb?: string): void {
    result.errorCode = Errors.KUBE_API_ERROR.code;
    result.body = new Uint8Array(response.body);
    let message = response.body.toString('utf8').slice(0, 2000);
    try {
      const status = JSON.parse(response.body.toString('utf8')) as { message?: string; reason?: string };
      message = `${status.reason ? `${status.reason}: ` : ''}${status.message ?? message}`;
    } catch {
      // Not a Status: keep the raw text.
    }
    result.message = verb ? `${verb} failed with HTTP ${response.status}: ${message}` : `HTTP ${response.status}: ${message}`;
  }

  private async waitForCache(runtime: AccountRuntime, objects: WrittenObject[], timeoutMs: number): Promise<boolean> {
    if (!runtime.caching || timeoutMs <= 0) return false;
    const waits = objects.map((o) => {
      const queue = runtime.queueFor(o.group, o.kind, o.namespace);
      if (!queue) return Promise.resolve(false);
      return queue.waitForSync(o.namespace, o.name, o.deleted ? undefined : o.resourceVersion, timeoutMs);
    });
    return (await Promise.all(waits)).every(Boolean);
  }
}

/** The uid in a response body (an object, or the Status a delete may answer with), if any. */
function unknownKind(account: string, target: ResourceTarget, apiVersion: string | undefined, why?: string): OperationFailure {
  return new OperationFailure(
    Errors.KUBE_KIND_UNKNOWN.code,
    `account ${account} serves no kind ${qualifiedKind(target.group, target.kind)}${apiVersion ? ` (apiVersion ${apiVersion})` : ''}${why ? `: ${why}` : ''}`,
    404,
  );
}

function uidOf(response: KubeResponse): string | undefined {
  try {
    const body = JSON.parse(response.body.toString('utf8')) as KubeObject & { details?: { uid?: string } };
    return body.metadata?.uid ?? body.details?.uid ?? undefined;
  } catch {
    return undefined;
  }
}

/** The REST path of the resolved kind's collection, of one object, or of an object's subresource. */
function pathOf(r: Resolved, name?: string, subresource?: string): string {
  const path = resourcePath({ ...r.resource, version: r.version }, r.namespace, name || undefined);
  return name && subresource ? `${path}/${subresource}` : path;
}

function written(r: Resolved, name: string, uid: string, resourceVersion: string, deleted: boolean, namespace = r.namespace): WrittenObject {
  return { $typeName: 'scaleagent.v1.WrittenObject', group: r.resource.group, kind: r.resource.kind, namespace, name, uid, resourceVersion, deleted };
}
