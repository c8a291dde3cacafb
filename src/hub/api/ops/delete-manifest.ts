import type { OperationRequest, ResourceTarget } from '../../router/types.ts';
import { fullResourceName, resolveKind, splitFullResourceName } from '../../store/kind-names.ts';
import type { AccountRecord } from '../../store/types.ts';
import { at, expectObject, invalid, optionalBoolean, optionalInteger, optionalString, optionalStringArray, type Obj } from './fields.ts';
import { parseLabelSelectors } from './label-selector.ts';
import type { OpContext, OpHandler, ParsedOp, PreparedOp } from './op-handler.ts';
import { failureFrom, outcomeFailed } from './operation-failure.ts';
import { namespacedKind } from './scope.ts';

/**
 * deleteManifest: one object by `manifestName` + `location`, or every object of `kinds` matching
 * `labelSelectors` in `location` — `kubectl delete --ignore-not-found` semantics, so deleting an object
 * that is already gone succeeds with nothing deleted.
 */
type PropagationPolicy = NonNullable<Extract<OperationRequest, { type: 'delete' }>['propagationPolicy']>;

const PHASE = 'DELETE_KUBERNETES_MANIFEST';
const HTTP_NOT_FOUND = 404;
const POLICIES: Record<string, PropagationPolicy> = { foreground: 'Foreground', background: 'Background', orphan: 'Orphan' };

interface DeleteOptions {
  propagationPolicy?: PropagationPolicy;
  gracePeriodSeconds?: number;
}

interface DeleteDescription {
  account: string;
  manifestName?: string;
  location: string;
  kinds: string[];
  labelSelector?: string;
  options: DeleteOptions;
  path: string;
}

interface DeleteTarget {
  target: ResourceTarget;
  labelSelector?: string;
  /** What the history and errors call it: "deployment nginx" or "replicaSet (app=web)". */
  description: string;
  byName: boolean;
}

function parseOptions(source: Obj, path: string): DeleteOptions {
  const raw = source.options;
  if (raw === undefined || raw === null) return {};
  const p = at(path, 'options');
  const options = expectObject(raw, p);
  const out: DeleteOptions = {};
  const cascading = options.cascading;
  if (typeof cascading === 'boolean') out.propagationPolicy = cascading ? 'Background' : 'Orphan';
  else if (typeof cascading === 'string' && cascading !== '') {
    const lower = cascading.toLowerCase();
    if (lower === 'true' || lower === 'false') out.propagationPolicy = lower === 'true' ? 'Background' : 'Orphan';
    else if (POLICIES[lower]) out.propagationPolicy = POLICIES[lower];
    else invalid(at(p, 'cascading'), 'expected true, false, foreground, background or orphan');
  } else if (cascading !== undefined && cascading !== null) invalid(at(p, 'cascading'), 'expected a boolean or a propagation policy');
  if (optionalBoolean(options, 'orphanDependents', p) === true) out.propagationPolicy = 'Orphan';
  const grace = optionalInteger(options, 'gracePeriodSeconds', p);
  if (grace !== undefined) {
    if (grace < 0) invalid(at(p, 'gracePeriodSeconds'), 'must not be negative');
    out.gracePeriodSeconds = grace;
  }
  return out;
}

export function parseDeleteDescription(raw: unknown, path: string): DeleteDescription {
  const source = expectObject(raw, path);
  const account = optionalString(source, 'account', path);
  if (account === undefined || account.trim() === '') invalid(at(path, 'account'), 'is required');
  const manifestName = optionalString(source, 'manifestName', path);
  const location = optionalString(source, 'location', path) ?? '';
  const kinds = optionalStringArray(source, 'kinds', path) ?? [];
  const labelSelector = parseLabelSelectors(source.labelSelectors, at(path, 'labelSelectors'));
  if (manifestName !== undefined && manifestName.trim() !== '') {
    if (!splitFullResourceName(manifestName)) invalid(at(path, 'manifestName'), 'expected "<kind> <name>", e.g. "deployment nginx"');
  } else if (kinds.length === 0 || labelSelector === undefined) {
    invalid(path, 'manifestName, or kinds with labelSelectors, is required');
  }
  return { account, manifestName: manifestName?.trim() || undefined, location, kinds, labelSelector, options: parseOptions(source, path), path };
}

function resolveTargets(d: DeleteDescription, account: AccountRecord): DeleteTarget[] {
  const resolve = (token: string, path: string) => {
    const gk = resolveKind(token, account.kinds);
    if (!gk) invalid(path, `unknown kind "${token}" in account ${account.name}`);
    const namespaced = namespacedKind(account, gk.group, gk.kind);
    if (namespaced && d.location === '') invalid(at(d.path, 'location'), `is required for the namespaced kind ${gk.kind}`);
    return { ...gk, namespace: namespaced ? d.location : '' };
  };
  if (d.manifestName !== undefined) {
    const { kindToken, name } = splitFullResourceName(d.manifestName)!;
    const gk = resolve(kindToken, at(d.path, 'manifestName'));
    return [{ target: { group: gk.group, version: '', kind: gk.kind, namespace: gk.namespace, name }, description: fullResourceName(gk.group, gk.kind, name), byName: true }];
  }
  return d.kinds.map((token, i) => {
    const gk = resolve(token, at(at(d.path, 'kinds'), i));
    return {
      target: { group: gk.group, version: '', kind: gk.kind, namespace: gk.namespace, name: '' },
      labelSelector: d.labelSelector,
      description: `${fullResourceName(gk.group, gk.kind, '').trim()} (${d.labelSelector})`,
      byName: false,
    };
  });
}

async function runDelete(accountName: string, d: DeleteDescription, targets: DeleteTarget[], ctx: OpContext): Promise<unknown> {
  const manifestNamesByNamespace: Record<string, string[]> = {};
  const add = (namespace: string, name: string) => {
    const names = (manifestNamesByNamespace[namespace] ??= []);
    if (!names.includes(name)) names.push(name);
  };
  for (const t of targets) {
    await ctx.status(PHASE, `Deleting ${t.description}${t.target.namespace === '' ? '' : ` in namespace ${t.target.namespace}`} ...`);
    const request: OperationRequest = {
      type: 'delete',
      target: t.target,
      waitForDeletion: true,
      ...(t.labelSelector !== undefined ? { labelSelector: t.labelSelector } : {}),
      ...(d.options.propagationPolicy !== undefined ? { propagationPolicy: d.options.propagationPolicy } : {}),
      ...(d.options.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: d.options.gracePeriodSeconds } : {}),
    };
    const outcome = await ctx.router.execute(accountName, request, { taskId: ctx.taskId, timeoutMs: ctx.timeoutMs });
    if (outcomeFailed(outcome)) {
      if (t.byName && outcome.httpStatus === HTTP_NOT_FOUND) {
        await ctx.status(PHASE, `${t.description} was already gone`);
        continue;
      }
      throw failureFrom(`Delete of ${t.description} failed`, outcome);
    }
    const deleted = outcome.written.filter((w) => w.deleted);
    for (const w of deleted) add(w.namespace, fullResourceName(w.group, w.kind, w.name));
    if (deleted.length === 0 && t.byName) add(t.target.namespace, t.description);
  }
  return { manifestNamesByNamespace, manifests: [] };
}

export const deleteManifestOp: OpHandler = {
  name: 'deleteManifest',
  operationClass: 'KubernetesDeleteManifestOperation',
  phase: PHASE,
  parse(raw: unknown, path: string): ParsedOp {
    const description = parseDeleteDescription(raw, path);
    return {
      account: description.account,
      prepare(account: AccountRecord): PreparedOp {
        const targets = resolveTargets(description, account);
        return { run: (ctx) => runDelete(account.name, description, targets, ctx) };
      },
    };
  },
};
