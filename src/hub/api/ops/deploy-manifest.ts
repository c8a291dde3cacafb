import type { KubeObject, ObjectMeta } from '../../../common/kube-object.ts';
import { splitApiVersion } from '../../../common/kube-object.ts';
import type { ApplyStrategy } from '../../router/types.ts';
import { DeployPriority, knownKind, spinnakerKindName } from '../../store/kind-names.ts';
import { friggaApplication, MonikerAnnotations } from '../../store/moniker.ts';
import type { AccountRecord } from '../../store/types.ts';
import { stripSecretData } from '../secrets.ts';
import { at, expectObject, invalid, isObject, optionalArray, optionalString, requiredString, type Obj } from './fields.ts';
import type { OpContext, OpHandler, ParsedOp, PreparedOp } from './op-handler.ts';
import { failureFrom, outcomeFailed } from './operation-failure.ts';
import { namespacedKind } from './scope.ts';

/**
 * deployManifest: sort by deploy priority, (version — a later step), annotate with the moniker and
 * Spinnaker's labels, then apply each manifest through the agent with the strategy its annotations ask
 * for. The result is Clouddriver's OperationResult, which Orca promotes into the stage outputs.
 */
export const StrategyAnnotations = {
  serverSideApply: 'strategy.spinnaker.io/server-side-apply',
  replace: 'strategy.spinnaker.io/replace',
  recreate: 'strategy.spinnaker.io/recreate',
} as const;

export const Labels = {
  name: 'app.kubernetes.io/name',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

const MANAGED_BY = 'spinnaker';
const DEFAULT_NAMESPACE = 'default';
const PHASE = 'DEPLOY_KUBERNETES_MANIFEST';

interface DeployMoniker {
  app?: string;
  cluster?: string;
  stack?: string;
  detail?: string;
}

interface ManifestInput {
  manifest: KubeObject;
  path: string;
}

interface DeployDescription {
  account: string;
  manifests: ManifestInput[];
  moniker: DeployMoniker;
  namespaceOverride?: string;
}

export interface PreparedManifest {
  manifest: KubeObject;
  group: string;
  kind: string;
  namespace: string;
  name: string;
  /** "deployment nginx" */
  fullName: string;
  /** "" until versioning lands; then "v003". */
  version: string;
  strategy: ApplyStrategy;
  forceConflicts: boolean;
  priority: number;
}

function parseManifest(raw: unknown, path: string, out: ManifestInput[]): void {
  const manifest = expectObject(raw, path, 'a manifest object');
  const kind = manifest.kind;
  if (typeof kind !== 'string' || kind === '') invalid(path, 'kind is required');
  if (kind === 'List') {
    const items = optionalArray(manifest, 'items', path) ?? [];
    items.forEach((item, i) => parseManifest(item, at(at(path, 'items'), i), out));
    return;
  }
  if (typeof manifest.apiVersion !== 'string' || manifest.apiVersion === '') invalid(path, 'apiVersion is required');
  const metadata = manifest.metadata;
  if (!isObject(metadata)) invalid(path, 'metadata is required');
  if (typeof metadata.name !== 'string' || metadata.name === '') invalid(path, 'metadata.name is required');
  if (metadata.namespace !== undefined && metadata.namespace !== null && typeof metadata.namespace !== 'string') invalid(at(path, 'metadata.namespace'), 'expected a string');
  out.push({ manifest: structuredClone(manifest) as KubeObject, path });
}

function parseMoniker(source: Obj, path: string): DeployMoniker {
  const raw = source.moniker;
  if (raw === undefined || raw === null) return {};
  const moniker = expectObject(raw, at(path, 'moniker'));
  const p = at(path, 'moniker');
  return { app: optionalString(moniker, 'app', p), cluster: optionalString(moniker, 'cluster', p), stack: optionalString(moniker, 'stack', p), detail: optionalString(moniker, 'detail', p) };
}

export function parseDeployDescription(raw: unknown, path: string): DeployDescription {
  const source = expectObject(raw, path);
  const account = requiredString(source, 'account', path);
  const manifests: ManifestInput[] = [];
  const list = optionalArray(source, 'manifests', path);
  if (list !== undefined) list.forEach((m, i) => parseManifest(m, at(at(path, 'manifests'), i), manifests));
  else if (source.manifest !== undefined && source.manifest !== null) parseManifest(source.manifest, at(path, 'manifest'), manifests);
  if (manifests.length === 0) invalid(at(path, 'manifests'), 'at least one manifest is required');
  return { account, manifests, moniker: parseMoniker(source, path), namespaceOverride: optionalString(source, 'namespaceOverride', path) || undefined };
}

function setIfAbsent(map: Record<string, string>, key: string, value: string | undefined): void {
  if (value !== undefined && value !== '' && map[key] === undefined) map[key] = value;
}

/** Pod templates carry the moniker too, so pods are attributed like their controller (Clouddriver does the same). */
function podTemplateMetadata(manifest: KubeObject): ObjectMeta | undefined {
  const spec = isObject(manifest.spec) ? manifest.spec : undefined;
  if (!spec) return undefined;
  const template = manifest.kind === 'CronJob' && isObject(spec.jobTemplate) && isObject(spec.jobTemplate.spec) ? spec.jobTemplate.spec.template : spec.template;
  if (!isObject(template)) return undefined;
  if (!isObject(template.metadata)) template.metadata = {};
  return template.metadata as ObjectMeta;
}

function annotate(meta: ObjectMeta, moniker: Required<Pick<DeployMoniker, 'cluster'>> & DeployMoniker): void {
  const annotations = (meta.annotations ??= {});
  const labels = (meta.labels ??= {});
  setIfAbsent(annotations, MonikerAnnotations.application, moniker.app);
  setIfAbsent(annotations, MonikerAnnotations.cluster, moniker.cluster);
  setIfAbsent(annotations, MonikerAnnotations.stack, moniker.stack);
  setIfAbsent(annotations, MonikerAnnotations.detail, moniker.detail);
  setIfAbsent(labels, Labels.name, moniker.app);
  setIfAbsent(labels, Labels.managedBy, MANAGED_BY);
}

/** Clouddriver's precedence: recreate, then replace, then server-side apply, else client-side apply. */
export function applyStrategy(annotations: Record<string, string> = {}): { strategy: ApplyStrategy; forceConflicts: boolean } {
  if (annotations[StrategyAnnotations.recreate] === 'true') return { strategy: 'recreate', forceConflicts: false };
  if (annotations[StrategyAnnotations.replace] === 'true') return { strategy: 'replace', forceConflicts: false };
  const ssa = annotations[StrategyAnnotations.serverSideApply];
  if (ssa === 'true' || ssa === 'force-conflicts') return { strategy: 'server-side', forceConflicts: ssa === 'force-conflicts' };
  return { strategy: 'client-side', forceConflicts: false };
}

function deployPriority(group: string, kind: string): number {
  return knownKind(group, kind)?.deployPriority ?? DeployPriority.CUSTOM_RESOURCE;
}

export function prepareManifests(description: DeployDescription, account: AccountRecord): PreparedManifest[] {
  const prepared = description.manifests.map(({ manifest }): PreparedManifest => {
    const { group } = splitApiVersion(manifest.apiVersion as string);
    const kind = manifest.kind as string;
    const meta = manifest.metadata as ObjectMeta;
    const name = meta.name as string;
    const namespaced = namespacedKind(account, group, kind);
    const namespace = namespaced ? (description.namespaceOverride ?? meta.namespace ?? DEFAULT_NAMESPACE) : '';
    if (namespaced) meta.namespace = namespace;
    // Versioning (-vNNN) slots in here: it may rename the object and sets `version`.
    const version = '';
    const moniker = {
      ...description.moniker,
      app: description.moniker.app ?? friggaApplication(name),
      cluster: description.moniker.cluster ?? `${spinnakerKindName(group, kind)} ${name}`,
    };
    annotate(meta, moniker);
    const template = podTemplateMetadata(manifest);
    if (template) annotate(template, moniker);
    return { manifest, group, kind, namespace, name, fullName: `${spinnakerKindName(group, kind)} ${name}`, version, ...applyStrategy(meta.annotations), priority: deployPriority(group, kind) };
  });
  // Array.prototype.sort is stable: manifests of equal priority keep the order they were given in.
  return prepared.sort((a, b) => a.priority - b.priority);
}

async function deploy(accountName: string, manifests: PreparedManifest[], ctx: OpContext): Promise<unknown> {
  await ctx.status(PHASE, `Beginning deployment of manifests in account ${accountName} ...`);
  const manifestNamesByNamespace: Record<string, string[]> = {};
  const applied: KubeObject[] = [];
  const createdArtifacts: unknown[] = [];
  for (const m of manifests) {
    await ctx.status(PHASE, `Deploying manifest ${m.fullName}${m.namespace === '' ? '' : ` in namespace ${m.namespace}`} (${m.strategy}) ...`);
    const outcome = await ctx.router.execute(accountName, { type: 'apply', manifest: m.manifest, strategy: m.strategy, ...(m.forceConflicts ? { forceConflicts: true } : {}) }, { taskId: ctx.taskId, timeoutMs: ctx.timeoutMs });
    if (outcomeFailed(outcome)) throw failureFrom(`Deploy of ${m.fullName} failed`, outcome);
    (manifestNamesByNamespace[m.namespace] ??= []).push(m.fullName);
    applied.push(stripSecretData(isObject(outcome.body) ? (outcome.body as KubeObject) : m.manifest));
    createdArtifacts.push({
      type: `kubernetes/${spinnakerKindName(m.group, m.kind)}`,
      name: m.name,
      location: m.namespace,
      version: m.version,
      reference: m.name,
      metadata: { account: accountName },
    });
  }
  await ctx.status(PHASE, `Deploy manifest task completed successfully for manifests ${manifests.map((m) => m.fullName).join(', ')} in account ${accountName}`);
  return { manifestNamesByNamespace, manifests: applied, createdArtifacts, boundArtifacts: [] };
}

export const deployManifestOp: OpHandler = {
  name: 'deployManifest',
  operationClass: 'KubernetesDeployManifestOperation',
  phase: PHASE,
  parse(raw: unknown, path: string): ParsedOp {
    const description = parseDeployDescription(raw, path);
    return {
      account: description.account,
      prepare(account: AccountRecord): PreparedOp {
        const manifests = prepareManifests(description, account);
        return { run: (ctx) => deploy(account.name, manifests, ctx) };
      },
    };
  },
};
