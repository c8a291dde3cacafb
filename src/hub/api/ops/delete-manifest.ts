import type { OperationRequest } from '../../router/types.ts';
import { fullResourceName, splitFullResourceName } from '../../store/kind-names.ts';
import type { AccountRecord } from '../../store/types.ts';
import { Cluster, describeTarget } from './cluster.ts';
import { at, accountOf, expectObject, invalid, optionalString, optionalStringArray, type Obj } from './fields.ts';
import { parseSelectorList, type SelectorList } from './label-selector.ts';
import type { OpContext, OpHandler, ParsedOp, PreparedOp } from './op-handler.ts';
import { invalidOperation } from './operation-failure.ts';
import { checkNamespace, resolveTarget, type ManifestTarget } from './targets.ts';

/**
 * deleteManifest: one object by `manifestName` + `location`, or every object of `kinds` matching
 * `labelSelectors` in `location` — `kubectl delete --ignore-not-found` semantics (deleting an object
 * already gone succeeds and names nothing), waiting until each object is gone. `options` is
 * Clouddriver's map of strings: `cascading` (true → background, false → orphan, or a propagation policy
 * by name), `orphanDependents`, `gracePeriodSeconds`. The result names every object deleted, under the
 * location the request gave.
 */
type PropagationPolicy = NonNullable<Extract<OperationRequest, { type: 'delete' }>['propagationPolicy']>;

const PHASE = 'DELETE_KUBERNETES_MANIFEST';
const POLICIES: Record<string, PropagationPolicy> = { foreground: 'Foreground', background: 'Background', orphan: 'Orphan' };

interface DeleteOptions {
  /** The cascade value as given, checked when the operation runs (Clouddriver fails the task, not the request). */
  cascading?: string;
  orphanDependents?: string;
  gracePeriodSeconds?: number;
}

interface DeleteDescription {
  account: string;
  manifestName?: string;
  location: string;
  kinds: string[];
  labelSelectors?: SelectorList;
  options: DeleteOptions;
  path: string;
}

/** Clouddriver reads options as strings: "true", "5"; JSON booleans and numbers are accepted the same. */
function optionText(options: Obj, key: string, path: string): string | undefined {
  const value = options[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  invalid(at(path, key), 'expected a string');
}

function parseOptions(source: Obj, path: string): DeleteOptions {
  const raw = source.options;
  if (raw === undefined || raw === null) return {};
  const p = at(path, 'options');
  const options = expectObject(raw, p);
  const out: DeleteOptions = {};
  const cascading = optionText(options, 'cascading', p);
  if (cascading !== undefined && cascading !== '') out.cascading = cascading;
  const orphan = optionText(options, 'orphanDependents', p);
  if (orphan !== undefined && orphan !== '') out.orphanDependents = orphan;
  const grace = optionText(options, 'gracePeriodSeconds', p);
  if (grace !== undefined && grace !== '') {
    if (!/^\d+$/.test(grace.trim())) invalid(at(p, 'gracePeriodSeconds'), 'expected an integer (seconds, not negative)');
    out.gracePeriodSeconds = Number(grace.trim());
  }
  return out;
}

/** Clouddriver's mapping: orphanDependents wins; cascading true/false or a policy name; else the server default. */
export function propagationPolicy(options: DeleteOptions): PropagationPolicy | undefined {
  if (options.orphanDependents !== undefined) return options.orphanDependents.toLowerCase() === 'true' ? 'Orphan' : 'Background';
  if (options.cascading === undefined) return undefined;
  const lower = options.cascading.toLowerCase();
  if (lower === 'true') return 'Background';
  if (lower === 'false') return 'Orphan';
  const policy = POLICIES[lower];
  if (!policy) throw invalidOperation(`invalid cascade value (${options.cascading}). Must be "background", "foreground", or "orphan".`);
  return policy;
}

export function parseDeleteDescription(raw: unknown, path: string): DeleteDescription {
  const source = expectObject(raw, path);
  const account = accountOf(source, path);
  const manifestName = optionalString(source, 'manifestName', path)?.trim() || undefined;
  const location = optionalString(source, 'location', path)?.trim() ?? '';
  const kinds = (optionalStringArray(source, 'kinds', path) ?? []).filter((k) => k.trim() !== '');
  const labelSelectors = parseSelectorList(source.labelSelectors, at(path, 'labelSelectors'));
  if (manifestName !== undefined) {
    if (!splitFullResourceName(manifestName)) invalid(at(path, 'manifestName'), 'expected "<kind> <name>", e.g. "deployment nginx"');
  } else if (kinds.length === 0 || labelSelectors === undefined) {
    // Deleting every object of a kind is never what a pipeline meant: a selector is required.
    invalid(path, 'manifestName, or kinds with labelSelectors, is required');
  }
  return {
    account,
    ...(manifestName ? { manifestName } : {}),
    location,
    kinds,
    ...(labelSelectors ? { labelSelectors } : {}),
    options: parseOptions(source, path),
    path,
  };
}

function resolveTargets(d: DeleteDescription, account: AccountRecord): ManifestTarget[] {
  if (d.manifestName !== undefined) {
    const { kindToken, name } = splitFullResourceName(d.manifestName)!;
    const t = resolveTarget(account, kindToken, name, d.location, at(d.path, 'manifestName'), at(d.path, 'location'));
    if (t.namespaced) checkNamespace(account, d.location, at(d.path, 'location'), 'deleteKubernetesManifest');
    return [t];
  }
  return d.kinds.map((token, i) => {
    const t = resolveTarget(account, token, '', d.location, at(at(d.path, 'kinds'), i), at(d.path, 'location'));
    if (t.namespaced) checkNamespace(account, d.location, at(d.path, 'location'), 'deleteKubernetesManifest');
    return t;
  });
}

async function runDelete(account: AccountRecord, d: DeleteDescription, targets: ManifestTarget[], ctx: OpContext): Promise<unknown> {
  const status = (message: string) => ctx.status(PHASE, message);
  await status(`Starting delete operation in account ${account.name}...`);
  const policy = propagationPolicy(d.options);
  const cluster = new Cluster(ctx, account);
  const names: string[] = [];
  for (const t of targets) {
    const kindName = fullResourceName(t.group, t.kind, '').trim();
    const what =
      t.name === '' ? `${kindName} objects${t.namespace === '' ? '' : ` in namespace ${t.namespace}`} matching ${d.labelSelectors!.text}` : describeTarget(t);
    await status(`Calling delete operation for ${what}${policy ? ` (propagation ${policy})` : ''}...`);
    const deleted = await cluster.delete(t, {
      ...(t.name === '' ? { labelSelector: d.labelSelectors!.text } : {}),
      ...(policy !== undefined ? { propagationPolicy: policy } : {}),
      ...(d.options.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: d.options.gracePeriodSeconds } : {}),
    });
    for (const name of deleted) {
      const full = fullResourceName(t.group, t.kind, name);
      if (!names.includes(full)) names.push(full);
    }
    await status(deleted.length === 0 ? `Nothing to delete for ${what}` : ` delete operation completed successfully for ${deleted.join(', ')}`);
  }
  await status(' delete operation completed successfully for all applicable resources');
  return { manifestNamesByNamespace: { [d.location]: names }, manifests: [], createdArtifacts: [], boundArtifacts: [] };
}

export const deleteManifestOp: OpHandler = {
  name: 'deleteManifest',
  operationClass: 'KubernetesDeleteManifestOperation',
  phase: PHASE,
  parse(raw: unknown, path: string): ParsedOp {
    const description = parseDeleteDescription(raw, path);
    return {
      account: description.account,
      idempotent: true,
      prepare(account: AccountRecord): PreparedOp {
        const targets = resolveTargets(description, account);
        return { run: (ctx) => runDelete(account, description, targets, ctx) };
      },
    };
  },
};
