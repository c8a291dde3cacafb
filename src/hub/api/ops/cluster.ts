import { Errors } from '../../../common/errors.ts';
import type { KubeObject } from '../../../common/kube-object.ts';
import type { ObjectKey } from '../../../common/object-key.ts';
import type { ApplyStrategy, OperationOutcome, OperationRequest, PatchType, ResourceTarget } from '../../router/types.ts';
import { fullResourceName } from '../../store/kind-names.ts';
import type { AccountRecord, CachedObject } from '../../store/types.ts';
import { isObject } from './fields.ts';
import type { OpContext } from './op-handler.ts';
import { failureFrom, outcomeFailed } from './operation-failure.ts';
import { HTTP_CONFLICT, HTTP_NOT_FOUND } from '../../../common/http-status.ts';

/** Re-reads and retries of a write computed from what was read (JSON patches of enable/disable, undo). */
export const RECOMPUTE_RETRIES = 3;

/** "deployment nginx in namespace web", for history lines and errors. */
export function describeTarget(t: ObjectKey): string {
  return `${fullResourceName(t.group, t.kind, t.name)}${t.namespace === '' ? '' : ` in namespace ${t.namespace}`}`;
}

/**
 * The agent's primitives, as a composed operation uses them: every call goes through the router (one
 * hub→agent operation, recorded with its hops), and a failure becomes an OperationFailure carrying the
 * API server's status and message. Reads of kinds the account caches come from the cache, which the
 * agent keeps current by watch and which holds every write an earlier operation made (read-your-writes).
 */
export class Cluster {
  constructor(
    private readonly ctx: OpContext,
    readonly account: AccountRecord,
  ) {}

  private async call(request: OperationRequest, timeoutMs = this.ctx.timeoutMs): Promise<OperationOutcome> {
    const clean = 'target' in request ? { ...request, target: plainTarget(request.target) } : request;
    return this.ctx.router.execute(this.account.name, clean, { taskId: this.ctx.taskId, timeoutMs });
  }

  /** Whether the account's agent watches the kind, so that the cache holds its objects. */
  cached(group: string, kind: string): boolean {
    return this.account.kinds.some((k) => k.group === group && k.kind === kind && k.watchable);
  }

  /** The live object; undefined when the API server says it does not exist. */
  async get(target: ResourceTarget, what = describeTarget(target)): Promise<KubeObject | undefined> {
    const outcome = await this.call({ type: 'get', target });
    if (isMissing(outcome)) return undefined;
    if (outcomeFailed(outcome)) throw failureFrom(`Reading ${what} failed`, outcome);
    return isObject(outcome.body) ? (outcome.body as KubeObject) : undefined;
  }

  /** Live objects of a kind in a namespace ("" for all or cluster-scoped), optionally by label selector. */
  async list(target: Omit<ResourceTarget, 'name'>, labelSelector?: string): Promise<KubeObject[]> {
    const outcome = await this.call({ type: 'list', target: { ...target, name: '' }, ...(labelSelector ? { labelSelector } : {}) });
    if (outcomeFailed(outcome))
      throw failureFrom(`Listing ${fullResourceName(target.group, target.kind, '').trim()} in ${target.namespace || 'all namespaces'} failed`, outcome);
    const items = isObject(outcome.body) ? outcome.body.items : undefined;
    return Array.isArray(items) ? items.filter((i): i is KubeObject => isObject(i)) : [];
  }

  /**
   * Objects of a kind in a namespace: from the cache when the agent watches the kind, else listed live
   * (a kind the account does not cache must not look empty).
   */
  async objects(group: string, kind: string, namespace: string): Promise<KubeObject[]> {
    if (this.cached(group, kind)) {
      const rows = await this.ctx.store.listObjects({ account: this.account.name, group, kind, namespace });
      return rows.map(parseCached).filter((o): o is KubeObject => o !== undefined);
    }
    return this.list({ group, version: '', kind, namespace });
  }

  /** One object from the cache when the kind is cached, else read live; undefined when absent. */
  async object(target: ResourceTarget): Promise<KubeObject | undefined> {
    if (this.cached(target.group, target.kind)) {
      const row = await this.ctx.store.getObject(this.account.name, target.group, target.kind, target.namespace, target.name);
      return row ? parseCached(row) : undefined;
    }
    return this.get(target);
  }

  async apply(manifest: KubeObject, strategy: ApplyStrategy, forceConflicts: boolean, what: string): Promise<KubeObject> {
    const outcome = await this.call({ type: 'apply', manifest, strategy, ...(forceConflicts ? { forceConflicts: true } : {}) });
    if (outcomeFailed(outcome)) throw failureFrom(`Deploy of ${what} failed`, outcome);
    return isObject(outcome.body) ? (outcome.body as KubeObject) : manifest;
  }

  async patch(target: ResourceTarget, patchType: PatchType, patch: unknown, what = describeTarget(target)): Promise<KubeObject | undefined> {
    const outcome = await this.patchOutcome(target, patchType, patch);
    if (outcomeFailed(outcome)) throw failureFrom(`Patching ${what} failed`, outcome);
    return isObject(outcome.body) ? (outcome.body as KubeObject) : undefined;
  }

  patchOutcome(target: ResourceTarget, patchType: PatchType, patch: unknown): Promise<OperationOutcome> {
    return this.call({ type: 'patch', target, patchType, patch });
  }

  /**
   * A write computed from the object as read (a JSON patch that adds or removes labels, a rollback to a
   * template): on 409 Conflict it reads again and recomputes, a bounded number of times.
   */
  async readModifyPatch(
    target: ResourceTarget,
    compute: (current: KubeObject) => { type: PatchType; patch: unknown } | undefined,
    options: { ifMissing?: 'fail' | 'skip'; what?: string } = {},
  ): Promise<KubeObject | undefined> {
    const what = options.what ?? describeTarget(target);
    for (let attempt = 0; ; attempt++) {
      const current = await this.get(target, what);
      if (!current) {
        if (options.ifMissing === 'skip') return undefined;
        throw failureFrom(`Patching ${what} failed`, notFound(this.account.name, what));
      }
      const change = compute(current);
      if (!change) return current;
      const outcome = await this.patchOutcome(target, change.type, change.patch);
      if (outcome.httpStatus === HTTP_CONFLICT && attempt < RECOMPUTE_RETRIES) continue;
      // The object went away between the read and the patch.
      if (options.ifMissing === 'skip' && isMissing(outcome)) return undefined;
      if (outcomeFailed(outcome)) throw failureFrom(`Patching ${what} failed`, outcome);
      return isObject(outcome.body) ? (outcome.body as KubeObject) : current;
    }
  }

  async scale(target: ResourceTarget, replicas: number, what = describeTarget(target)): Promise<void> {
    const outcome = await this.call({ type: 'scale', target, replicas });
    if (outcomeFailed(outcome)) throw failureFrom(`Scaling ${what} failed`, outcome);
  }

  /**
   * Deletes one object by name (or every match of a label selector) and waits until it is gone. Returns
   * the names deleted; an object already gone is no failure (kubectl delete --ignore-not-found).
   */
  async delete(
    target: ResourceTarget,
    options: { labelSelector?: string; propagationPolicy?: 'Foreground' | 'Background' | 'Orphan'; gracePeriodSeconds?: number },
    what = describeTarget(target),
  ): Promise<string[]> {
    // Waiting until the object is gone takes the grace period asked for on top of the usual budget
    // (without one, the deadline is operations.timeoutMs, as Armory bounds it by operationWaitMs).
    const graceMs = (options.gracePeriodSeconds ?? 0) * 1000;
    const outcome = await this.call(
      {
        type: 'delete',
        target,
        waitForDeletion: true,
        ...(options.labelSelector !== undefined ? { labelSelector: options.labelSelector } : {}),
        ...(options.propagationPolicy !== undefined ? { propagationPolicy: options.propagationPolicy } : {}),
        ...(options.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: options.gracePeriodSeconds } : {}),
      },
      this.ctx.timeoutMs + graceMs,
    );
    if (outcomeFailed(outcome)) {
      if (target.name !== '' && isMissing(outcome)) return [];
      throw failureFrom(`Delete of ${what} failed`, outcome);
    }
    return outcome.written.filter((w) => w.deleted).map((w) => w.name);
  }
}

/** Only the addressing fields (a ManifestTarget carries more). */
function plainTarget(t: ResourceTarget): ResourceTarget {
  return { group: t.group, version: t.version, kind: t.kind, namespace: t.namespace, name: t.name };
}

/** The API server answered 404 for the object (not: the account serves no such kind). */
export function isMissing(outcome: OperationOutcome): boolean {
  return outcome.httpStatus === HTTP_NOT_FOUND && (outcome.errorCode === null || outcome.errorCode === Errors.KUBE_API_ERROR.code);
}

function parseCached(row: CachedObject): KubeObject | undefined {
  try {
    const parsed = JSON.parse(row.body) as unknown;
    return isObject(parsed) ? (parsed as KubeObject) : undefined;
  } catch {
    return undefined;
  }
}

function notFound(account: string, what: string): OperationOutcome {
  return {
    id: '',
    account,
    httpStatus: HTTP_NOT_FOUND,
    errorCode: Errors.KUBE_API_ERROR.code,
    message: `${what} not found`,
    body: { kind: 'Status', status: 'Failure', reason: 'NotFound', message: `${what} not found`, code: HTTP_NOT_FOUND },
    written: [],
    timings: { receivedAt: 0, routedAt: null, sentAt: null, startedAt: null, finishedAt: null, syncedAt: null, resultAt: null },
    cacheSynced: false,
  };
}
