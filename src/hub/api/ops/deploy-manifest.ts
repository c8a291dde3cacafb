import { DEFAULT_NAMESPACE, DEFAULT_NAMESPACE_PROPERTY } from '../../../common/account-properties.ts';
import type { KubeObject, ObjectMeta } from '../../../common/kube-object.ts';
import { splitApiVersion } from '../../../common/kube-object.ts';
import type { ObjectKey } from '../../../common/object-key.ts';
import type { ApplyStrategy } from '../../router/types.ts';
import { DeployPriority, fullResourceName, knownKind, resolveKind, spinnakerKindName, splitFullResourceName } from '../../store/kind-names.ts';
import { friggaApplication, MonikerAnnotations } from '../../store/moniker.ts';
import type { AccountRecord } from '../../store/types.ts';
import { stripSecretData } from '../../manifest/secrets.ts';
import { artifactSlot, bindArtifacts, describeArtifacts, parseArtifacts, unboundRequired, type Artifact } from './artifact-binding.ts';
import { Cluster } from './cluster.ts';
import { embeddedDocuments } from './embedded-artifact.ts';
import {
  at,
  accountOf,
  expectObject,
  invalid,
  isObject,
  optionalArray,
  optionalBoolean,
  optionalInteger,
  optionalObject,
  optionalString,
  optionalStringArray,
  type Obj,
} from './fields.ts';
import { parseSelectorList, selectorMatches, type SelectorList } from './label-selector.ts';
import type { OpContext, OpHandler, ParsedOp, PreparedOp } from './op-handler.ts';
import { invalidOperation } from './operation-failure.ts';
import { namespacedKind, requestDefinitions } from './scope.ts';
import { checkNamespace, supports } from './targets.ts';
import {
  ArtifactAnnotations,
  chooseVersion,
  CONTENT_HASH_ANNOTATION,
  contentHash,
  formatVersion,
  hashable,
  latestVersion,
  priorVersions,
  type PriorVersion,
} from './versioning.ts';

/**
 * deployManifest, composed as Clouddriver's KubernetesDeployManifestOperation: sort by deploy priority;
 * per manifest bind artifacts, pick a version (`-vNNN` for ReplicaSets, ConfigMaps, Secrets, Pods unless
 * `strategy.spinnaker.io/versioned: "false"`), annotate the moniker and the artifact, copy the source
 * capacity, attach the traffic services; then apply each through the agent with the strategy its
 * annotations ask for (client-side apply, server-side apply, replace, recreate; create for generateName).
 * The result is Clouddriver's OperationResult, which Orca promotes into the stage outputs.
 */
export const StrategyAnnotations = {
  serverSideApply: 'strategy.spinnaker.io/server-side-apply',
  replace: 'strategy.spinnaker.io/replace',
  recreate: 'strategy.spinnaker.io/recreate',
  versioned: 'strategy.spinnaker.io/versioned',
  useSourceCapacity: 'strategy.spinnaker.io/use-source-capacity',
  maxVersionHistory: 'strategy.spinnaker.io/max-version-history',
} as const;

export const TRAFFIC_ANNOTATION = 'traffic.spinnaker.io/load-balancers';

export const Labels = {
  name: 'app.kubernetes.io/name',
  managedBy: 'app.kubernetes.io/managed-by',
  sequence: 'moniker.spinnaker.io/sequence',
} as const;

const MANAGED_BY = 'spinnaker';
const PHASE = 'DEPLOY_KUBERNETES_MANIFEST';
/** Orca's trafficManagement strategy names, as its DeployManifestTask maps them. */
const TRAFFIC_STRATEGY_NAMES: Record<string, string> = {
  redblack: 'RED_BLACK',
  bluegreen: 'BLUE_GREEN',
  highlander: 'HIGHLANDER',
  none: 'NONE',
  red_black: 'RED_BLACK',
  blue_green: 'BLUE_GREEN',
};
/** Clouddriver's description strategies that keep older versions around for a traffic switch. */
const TRAFFIC_STRATEGIES = new Set(['RED_BLACK', 'BLUE_GREEN']);

interface DeployMoniker {
  app?: string;
  cluster?: string;
  stack?: string;
  detail?: string;
  sequence?: number;
}

interface ManifestInput {
  manifest: KubeObject;
  path: string;
}

export interface DeployDescription {
  account: string;
  manifests: ManifestInput[];
  moniker: DeployMoniker;
  namespaceOverride?: string;
  requiredArtifacts: Artifact[];
  optionalArtifacts: Artifact[];
  /** Overrides the kind's default versioning (the annotation overrides this). */
  versioned?: boolean;
  enableArtifactBinding: boolean;
  enableTraffic: boolean;
  services: string[];
  /** RED_BLACK, BLUE_GREEN, HIGHLANDER, NONE (upper case). */
  strategy?: string;
  labelSelectors?: SelectorList;
  skipSpecTemplateLabels: boolean;
  allowNothingSelected: boolean;
  /** Run Job: every manifest is recreated (a Job runs again on each deploy). */
  forceRecreate?: boolean;
  path: string;
}

/**
 * A manifest placed: its kind resolved against the account, its namespace decided; its key's name is
 * the name as given (unversioned).
 */
export interface PlacedManifest extends ObjectKey {
  manifest: KubeObject;
  namespaced: boolean;
  priority: number;
}

function parseManifest(raw: unknown, path: string, out: ManifestInput[]): void {
  // Multi-document YAML often ends with an empty document: Clouddriver skips nulls.
  if (raw === null || raw === undefined) return;
  const manifest = expectObject(raw, path, 'a manifest object');
  const kind = manifest.kind;
  if (typeof kind !== 'string' || kind === '') invalid(path, 'kind is required');
  if (kind.toLowerCase() === 'list') {
    const items = optionalArray(manifest, 'items', path) ?? [];
    items.forEach((item, i) => parseManifest(item, at(at(path, 'items'), i), out));
    return;
  }
  if (typeof manifest.apiVersion !== 'string' || manifest.apiVersion === '') invalid(path, 'apiVersion is required');
  const metadata = manifest.metadata;
  if (!isObject(metadata)) invalid(path, 'metadata is required');
  const hasName = typeof metadata.name === 'string' && metadata.name !== '';
  const hasGenerateName = typeof metadata.generateName === 'string' && metadata.generateName !== '';
  if (!hasName && !hasGenerateName) invalid(path, 'metadata.name is required');
  if (metadata.namespace !== undefined && metadata.namespace !== null && typeof metadata.namespace !== 'string')
    invalid(at(path, 'metadata.namespace'), 'expected a string');
  for (const field of ['annotations', 'labels'] as const) {
    const map = metadata[field];
    if (map === undefined || map === null) continue;
    if (!isObject(map)) invalid(at(path, `metadata.${field}`), 'expected a map of strings');
    for (const [key, value] of Object.entries(map)) {
      if (typeof value !== 'string') invalid(at(path, `metadata.${field}.${key}`), 'expected a string');
    }
  }
  out.push({ manifest: structuredClone(manifest) as KubeObject, path });
}

function parseMoniker(source: Obj, path: string): DeployMoniker {
  const raw = source.moniker;
  if (raw === undefined || raw === null) return {};
  const p = at(path, 'moniker');
  const moniker = expectObject(raw, p);
  const out: DeployMoniker = {};
  for (const key of ['app', 'cluster', 'stack', 'detail'] as const) {
    const value = optionalString(moniker, key, p);
    if (value !== undefined && value !== '') out[key] = value;
  }
  const sequence = optionalInteger(moniker, 'sequence', p);
  if (sequence !== undefined) out.sequence = sequence;
  return out;
}

export function parseDeployDescription(raw: unknown, path: string, manifestsKey: 'manifests' | 'manifest' = 'manifests'): DeployDescription {
  const source = expectObject(raw, path);
  const account = accountOf(source, path);
  const manifests: ManifestInput[] = [];
  const list = manifestsKey === 'manifests' ? optionalArray(source, 'manifests', path) : undefined;
  if (list !== undefined && list.some((m) => m !== null && m !== undefined)) list.forEach((m, i) => parseManifest(m, at(at(path, 'manifests'), i), manifests));
  else if (source.manifest !== undefined && source.manifest !== null) parseManifest(source.manifest, at(path, 'manifest'), manifests);
  else {
    const embedded = embeddedDocuments(source, 'manifestArtifact', path);
    embedded?.forEach((m, i) => parseManifest(m, at(at(path, 'manifestArtifact'), i), manifests));
  }
  if (manifests.length === 0) invalid(at(path, manifestsKey), 'at least one manifest is required');
  let strategy = optionalString(source, 'strategy', path)?.toUpperCase();
  let services = (optionalStringArray(source, 'services', path) ?? []).filter((s) => s.trim() !== '');
  let enableTraffic = optionalBoolean(source, 'enableTraffic', path);
  // Orca copies trafficManagement.options into these fields before sending; a request made without Orca
  // may carry only trafficManagement, which then counts the same way.
  const traffic = optionalObject(source, 'trafficManagement', path);
  if (traffic && source.services === undefined && optionalBoolean(traffic, 'enabled', at(path, 'trafficManagement')) === true) {
    const p = at(path, 'trafficManagement.options');
    const options = optionalObject(traffic, 'options', at(path, 'trafficManagement')) ?? {};
    services = (optionalStringArray(options, 'services', p) ?? []).filter((s) => s.trim() !== '');
    enableTraffic = optionalBoolean(options, 'enableTraffic', p) ?? enableTraffic;
    const named = optionalString(options, 'strategy', p)?.toLowerCase();
    if (named !== undefined) strategy = TRAFFIC_STRATEGY_NAMES[named] ?? named.toUpperCase();
  }
  return {
    account,
    manifests,
    moniker: parseMoniker(source, path),
    namespaceOverride: optionalString(source, 'namespaceOverride', path)?.trim() || undefined,
    requiredArtifacts: parseArtifacts(source, 'requiredArtifacts', path),
    optionalArtifacts: parseArtifacts(source, 'optionalArtifacts', path),
    versioned: optionalBoolean(source, 'versioned', path),
    enableArtifactBinding: optionalBoolean(source, 'enableArtifactBinding', path) ?? true,
    enableTraffic: enableTraffic ?? true,
    services,
    ...(strategy ? { strategy } : {}),
    labelSelectors: parseSelectorList(source.labelSelectors, at(path, 'labelSelectors')),
    skipSpecTemplateLabels: optionalBoolean(source, 'skipSpecTemplateLabels', path) ?? false,
    allowNothingSelected: optionalBoolean(source, 'allowNothingSelected', path) ?? false,
    path,
  };
}

/**
 * Resolves kinds and namespaces against the account; rejects namespaces it does not serve. A manifest
 * that names no namespace goes to the account's default one (DEFAULT_NAMESPACE_PROPERTY, which its
 * agent declares and fills in the same way), and is checked there: Clouddriver checks no namespace it
 * was not given, but a write where the agent does not watch would never reach the cache the task waits
 * on. An agent that declares no default (it predates the property) fills in `default` itself: the hub
 * places the manifest there and checks nothing, as Clouddriver.
 */
export function placeManifests(description: DeployDescription, account: AccountRecord, context = 'deployKubernetesManifest'): PlacedManifest[] {
  const definitions = requestDefinitions(description.manifests.map((m) => m.manifest));
  const declaredDefault = account.properties[DEFAULT_NAMESPACE_PROPERTY] || undefined;
  return description.manifests.map(({ manifest, path }): PlacedManifest => {
    const { group } = splitApiVersion(manifest.apiVersion as string);
    const kind = manifest.kind as string;
    const meta = manifest.metadata as ObjectMeta;
    const namespaced = namespacedKind(account, group, kind, definitions);
    let namespace = '';
    if (namespaced) {
      const explicit = description.namespaceOverride ?? (meta.namespace || undefined);
      namespace = explicit ?? declaredDefault ?? DEFAULT_NAMESPACE;
      if (explicit !== undefined || declaredDefault !== undefined) {
        checkNamespace(account, namespace, at(path, 'metadata.namespace'), context, explicit === undefined);
      }
      meta.namespace = namespace;
    } else {
      delete meta.namespace;
    }
    const priority = knownKind(group, kind)?.deployPriority ?? DeployPriority.CUSTOM_RESOURCE;
    return { manifest, group, kind, namespace, namespaced, name: meta.name ?? '', priority };
  });
}

function truthy(value: string | undefined): boolean {
  return value?.toLowerCase() === 'true';
}

/** Clouddriver's precedence: recreate, then replace, then server-side apply, else client-side apply. */
export function applyStrategy(annotations: Record<string, string> = {}): { strategy: ApplyStrategy; forceConflicts: boolean } {
  if (truthy(annotations[StrategyAnnotations.recreate])) return { strategy: 'recreate', forceConflicts: false };
  if (truthy(annotations[StrategyAnnotations.replace])) return { strategy: 'replace', forceConflicts: false };
  const ssa = annotations[StrategyAnnotations.serverSideApply];
  if (truthy(ssa) || ssa === 'force-conflicts') return { strategy: 'server-side', forceConflicts: ssa === 'force-conflicts' };
  return { strategy: 'client-side', forceConflicts: false };
}

/** The versioning annotation: true, false, or undefined for the default. */
function versionedAnnotation(annotations: Record<string, string>): boolean | undefined {
  const value = annotations[StrategyAnnotations.versioned];
  return value === undefined ? undefined : truthy(value);
}

function maxVersionHistory(annotations: Record<string, string>): number | undefined {
  const value = annotations[StrategyAnnotations.maxVersionHistory];
  return value !== undefined && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : undefined;
}

function setIfAbsent(map: Record<string, string>, key: string, value: string | undefined): void {
  if (value !== undefined && value !== '' && map[key] === undefined) map[key] = value;
}

/** The pod template's metadata of a workload (`spec.template`), created when the template has none. */
function templateMetadata(manifest: KubeObject): ObjectMeta | undefined {
  const spec = isObject(manifest.spec) ? manifest.spec : undefined;
  const template = spec && isObject(spec.template) ? spec.template : undefined;
  if (!template) return undefined;
  if (!isObject(template.metadata)) template.metadata = {};
  return template.metadata as ObjectMeta;
}

/** Clouddriver's KubernetesManifestAnnotater.storeAnnotations: only fills what is absent. */
function annotateMoniker(meta: ObjectMeta, moniker: DeployMoniker): void {
  const annotations = (meta.annotations ??= {});
  setIfAbsent(annotations, MonikerAnnotations.cluster, moniker.cluster);
  setIfAbsent(annotations, MonikerAnnotations.application, moniker.app);
  setIfAbsent(annotations, MonikerAnnotations.stack, moniker.stack);
  setIfAbsent(annotations, MonikerAnnotations.detail, moniker.detail);
  setIfAbsent(annotations, MonikerAnnotations.sequence, moniker.sequence === undefined ? undefined : String(moniker.sequence));
}

function annotateArtifact(meta: ObjectMeta, artifact: Artifact): void {
  const annotations = (meta.annotations ??= {});
  setIfAbsent(annotations, ArtifactAnnotations.type, artifact.type);
  setIfAbsent(annotations, ArtifactAnnotations.name, artifact.name);
  setIfAbsent(annotations, ArtifactAnnotations.location, artifact.location);
  setIfAbsent(annotations, ArtifactAnnotations.version, artifact.version);
}

/** Clouddriver's KubernetesManifestLabeler: the app name if absent; managed-by and the sequence always. */
function label(meta: ObjectMeta, moniker: DeployMoniker): void {
  const labels = (meta.labels ??= {});
  setIfAbsent(labels, Labels.name, moniker.app);
  labels[Labels.managedBy] = MANAGED_BY;
  if (moniker.sequence !== undefined) labels[Labels.sequence] = String(moniker.sequence);
}

function parseTrafficAnnotation(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(value) as unknown;
    return Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === 'string') : undefined;
  } catch {
    return undefined;
  }
}

/** The labels a Service's selector is merged into: the pod template's, else the object's own (a Pod). */
function trafficLabels(manifest: KubeObject): Record<string, string> {
  const template = templateMetadata(manifest);
  if (template) return (template.labels ??= {});
  const meta = (manifest.metadata ??= {});
  return (meta.labels ??= {});
}

function selectorOf(service: KubeObject): Record<string, string> {
  const spec = isObject(service.spec) ? service.spec : {};
  const selector = isObject(spec.selector) ? spec.selector : {};
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(selector)) if (typeof value === 'string') out[key] = value;
  return out;
}

/** What one deploy produced: Clouddriver's OperationResult. */
export interface DeployResult {
  manifestNamesByNamespace: Record<string, string[]>;
  manifests: KubeObject[];
  createdArtifacts: Artifact[];
  boundArtifacts: Artifact[];
}

interface Planned {
  placed: PlacedManifest;
  artifact: Artifact;
  strategy: ApplyStrategy;
  forceConflicts: boolean;
  fullName: string;
}

/** Runs a deploy of placed manifests: everything Clouddriver's operate() does, in its order. */
export async function deploy(
  description: DeployDescription,
  placed: PlacedManifest[],
  account: AccountRecord,
  ctx: OpContext,
  phase = PHASE,
): Promise<DeployResult> {
  const cluster = new Cluster(ctx, account);
  const status = (message: string) => ctx.status(phase, message);
  await status(`Beginning deployment of manifests in account ${account.name} ...`);

  // Array.prototype.sort is stable: manifests of equal priority keep the order they were given in.
  const ordered = [...placed].sort((a, b) => a.priority - b.priority);
  await status(`Deploy order is: ${ordered.map((p) => fullResourceName(p.group, p.kind, p.name)).join(', ')}`);

  const allArtifacts = new Map<string, Artifact>();
  if (description.enableArtifactBinding) {
    for (const a of [...description.requiredArtifacts, ...description.optionalArtifacts])
      if (!allArtifacts.has(artifactSlot(a))) allArtifacts.set(artifactSlot(a), a);
  }
  const bound = new Map<string, Artifact>();
  const plans: Planned[] = [];

  for (const p of ordered) {
    const { manifest, group, kind, namespace } = p;
    const meta = manifest.metadata as ObjectMeta;
    const annotations = meta.annotations ?? {};
    const unversionedFullName = fullResourceName(group, kind, p.name);

    const history = maxVersionHistory(annotations);
    if (description.strategy !== undefined && TRAFFIC_STRATEGIES.has(description.strategy) && history !== undefined && history < 2) {
      throw invalidOperation(
        `The max version history specified in your manifest conflicts with the behavior of the Red/Black rollout strategy. Please update your ${StrategyAnnotations.maxVersionHistory} annotation to a value greater than or equal to 2.`,
      );
    }

    await status(`Binding artifacts in ${unversionedFullName}...`);
    const boundHere = bindArtifacts(manifest, group, kind, [...allArtifacts.values()], namespace, account.name);
    for (const a of boundHere) bound.set(JSON.stringify(a), a);
    await status(`Bound artifacts: ${boundHere.length === 0 ? 'none' : describeArtifacts(boundHere)}...`);

    const { strategy: applyAs, forceConflicts } = applyStrategy(annotations);
    const strategy: ApplyStrategy = description.forceRecreate ? 'recreate' : applyAs;
    const versioned = p.name !== '' && (versionedAnnotation(annotations) ?? description.versioned ?? knownKind(group, kind)?.versioned ?? false);
    let prior: PriorVersion[] = [];
    let version: number | undefined;
    if (versioned) {
      prior = priorVersions(await cluster.objects(group, kind, namespace), p.name);
      const chosen = chooseVersion(prior, hashable(kind) ? contentHash(manifest) : undefined);
      version = chosen.version;
      await status(
        chosen.reused
          ? `${unversionedFullName} is already deployed as ${formatVersion(version)}; reusing that version`
          : `Versioning ${unversionedFullName} as ${formatVersion(version)}`,
      );
    }

    const moniker: DeployMoniker = { ...description.moniker };
    if (moniker.app === undefined) {
      const app = friggaApplication(p.name || (meta.generateName ?? ''));
      if (app !== undefined) moniker.app = app;
    }
    if (version !== undefined) moniker.sequence = version;
    if (moniker.cluster === undefined) moniker.cluster = unversionedFullName;

    const versionText = version === undefined ? '' : formatVersion(version);
    const reference = versionText === '' ? p.name : `${p.name}-${versionText}`;
    const artifact: Artifact = {
      type: `kubernetes/${spinnakerKindName(group, kind)}`,
      name: p.name,
      location: namespace,
      version: versionText,
      reference,
      metadata: { account: account.name },
    };
    // Artifacts this deploy creates replace any given ones of the same type, name and namespace, so that
    // later manifests (sorted after ConfigMaps and Secrets) bind to the version just made.
    allArtifacts.set(artifactSlot(artifact), artifact);

    await status(`Annotating manifest ${unversionedFullName} with artifact, relationships & moniker...`);
    annotateArtifact(meta, artifact);
    const template = templateMetadata(manifest);
    if (template) annotateArtifact(template, artifact);

    if (truthy(annotations[StrategyAnnotations.useSourceCapacity]) && supports(p, 'scale')) {
      const latest = version === undefined ? undefined : latestVersion(prior);
      const currentName = latest === undefined ? p.name : `${p.name}-${formatVersion(latest)}`;
      const current = await cluster.object({ group, version: '', kind, namespace, name: currentName });
      const replicas = current && isObject(current.spec) ? current.spec.replicas : undefined;
      if (typeof replicas === 'number' && isObject(manifest.spec)) {
        manifest.spec.replicas = replicas;
        await status(`Using the source capacity of ${fullResourceName(group, kind, currentName)}: ${replicas} replicas`);
      }
    }

    if (supports(p, 'traffic')) {
      if (description.services.length > 0) {
        const existing = parseTrafficAnnotation(meta.annotations?.[TRAFFIC_ANNOTATION]);
        if (meta.annotations?.[TRAFFIC_ANNOTATION] !== undefined && JSON.stringify(existing) !== JSON.stringify(description.services)) {
          throw invalidOperation(
            `Manifest already has ${TRAFFIC_ANNOTATION} annotation set to ${meta.annotations[TRAFFIC_ANNOTATION]}. Failed attempting to set it to ${JSON.stringify(description.services)}.`,
          );
        }
        (meta.annotations ??= {})[TRAFFIC_ANNOTATION] = JSON.stringify(description.services);
      }
      if (description.enableTraffic) {
        for (const lb of parseTrafficAnnotation(meta.annotations?.[TRAFFIC_ANNOTATION]) ?? []) {
          await attachLoadBalancer(lb, p, placed, cluster, status);
        }
      }
    }

    annotateMoniker(meta, moniker);
    if (template) annotateMoniker(template, moniker);
    label(meta, moniker);
    if (template && !description.skipSpecTemplateLabels) label(template, moniker);
    if (version !== undefined && hashable(kind)) meta.annotations![CONTENT_HASH_ANNOTATION] = contentHash(manifest);
    if (reference !== '') meta.name = reference;

    const generated = p.name === '' && typeof meta.generateName === 'string';
    plans.push({
      placed: p,
      artifact,
      strategy: generated ? 'create' : strategy,
      forceConflicts,
      fullName: fullResourceName(group, kind, reference || meta.generateName || ''),
    });
  }

  await status('Checking if all requested artifacts were bound...');
  if (description.enableArtifactBinding) {
    const missing = unboundRequired(description.requiredArtifacts, [...bound.values()]);
    if (missing.length > 0) {
      throw invalidOperation(
        `The following required artifacts could not be bound: '${describeArtifacts(missing)}'. Check that the Docker image name above matches the name used in the image field of your manifest. Failing the stage as this is likely a configuration error.`,
      );
    }
  }
  const selectors = description.labelSelectors;
  if (selectors && plans.some((plan) => plan.strategy === 'replace'))
    throw invalidOperation('label selectors not supported with replace strategy, not deploying');

  const result: DeployResult = { manifestNamesByNamespace: {}, manifests: [], createdArtifacts: [], boundArtifacts: [...bound.values()] };
  for (const plan of plans) {
    const { manifest } = plan.placed;
    if (selectors && !selectorMatches(selectors, manifest.metadata?.labels)) {
      await status(`Skipping ${plan.fullName}: its labels do not match the label selectors (${selectors.text})`);
      continue;
    }
    await status(`Submitting manifest ${plan.fullName} to kubernetes master${plan.strategy === 'client-side' ? '' : ` (${plan.strategy})`}...`);
    const applied = await cluster.apply(manifest, plan.strategy, plan.forceConflicts, plan.fullName);
    const meta = applied.metadata ?? {};
    const name = meta.name ?? manifest.metadata?.name ?? '';
    const namespace = plan.placed.namespaced ? (meta.namespace ?? plan.placed.namespace) : '';
    const fullName = fullResourceName(plan.placed.group, plan.placed.kind, name);
    const names = (result.manifestNamesByNamespace[namespace] ??= []);
    if (!names.includes(fullName)) names.push(fullName);
    result.manifests.push(stripSecretData({ ...applied }));
    result.createdArtifacts.push(plan.artifact.reference === '' ? { ...plan.artifact, name, reference: name } : plan.artifact);
    await status(`Deploy manifest task completed successfully for manifest ${fullName} in account ${account.name}`);
  }
  if (selectors && !description.allowNothingSelected && result.manifests.length === 0) {
    throw invalidOperation(`nothing deployed to account ${account.name} with label selector(s) ${selectors.text}`);
  }
  await status(`Deploy manifest task completed successfully for all manifests in account ${account.name}`);
  return result;
}

/** Clouddriver's KubernetesServiceHandler.attach: the Service's selector joins the workload's pod labels. */
async function attachLoadBalancer(
  name: string,
  target: PlacedManifest,
  placed: readonly PlacedManifest[],
  cluster: Cluster,
  status: (message: string) => Promise<void>,
): Promise<void> {
  const split = splitFullResourceName(name);
  if (!split)
    throw invalidOperation(
      `Failed to attach load balancer '${name}'. Load balancers must be specified in the form '{kind} {name}', e.g. 'service my-service'.`,
    );
  const gk = resolveKind(split.kindToken, cluster.account.kinds);
  if (!gk || knownKind(gk.group, gk.kind)?.kind !== 'Service')
    throw invalidOperation(`No support for load balancing via ${split.kindToken} exists in Spinnaker`);
  const inRequest = placed.find((p) => p.group === gk.group && p.kind === gk.kind && p.namespace === target.namespace && p.name === split.name);
  const service = inRequest?.manifest ?? (await cluster.object({ group: gk.group, version: '', kind: gk.kind, namespace: target.namespace, name: split.name }));
  if (!service) throw invalidOperation(`Load balancer ${spinnakerKindName(gk.group, gk.kind)} ${split.name} does not exist`);
  const selector = selectorOf(service);
  if (Object.keys(selector).length === 0) throw invalidOperation('Service must have a non-empty selector in order to be attached to a workload');
  const labels = trafficLabels(target.manifest);
  if (Object.keys(selector).some((key) => key in labels)) throw invalidOperation('Service selector must have no label keys in common with target workload');
  await status(`Attaching load balancer ${fullResourceName(gk.group, gk.kind, split.name)} to ${fullResourceName(target.group, target.kind, target.name)}`);
  Object.assign(labels, selector);
}

export const deployManifestOp: OpHandler = {
  name: 'deployManifest',
  operationClass: 'KubernetesDeployManifestOperation',
  phase: PHASE,
  parse(raw: unknown, path: string): ParsedOp {
    const description = parseDeployDescription(raw, path);
    return {
      account: description.account,
      // Applying the same manifests again converges (a versioned object is reused when identical, except Secrets).
      idempotent: true,
      prepare(account: AccountRecord): PreparedOp {
        const placed = placeManifests(description, account);
        return { run: (ctx) => deploy(description, placed, account, ctx) };
      },
    };
  },
};
