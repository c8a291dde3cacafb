import type { KubeObject, ObjectMeta } from '../../common/kube-object.ts';
import { spinnakerKindName } from './kind-names.ts';

/**
 * Spinnaker's moniker of a Kubernetes object, the way Clouddriver's annotation namer derives it: the
 * `moniker.spinnaker.io/*` annotations win; otherwise the application comes from Frigga parsing of the
 * name (the text before the first '-', after dropping a -vNNN version) and the cluster defaults to the
 * full resource name of the unversioned object ("deployment nginx"). A ReplicaSet a Deployment owns
 * belongs to the Deployment's cluster, so Deck groups a rollout's ReplicaSets under it.
 */
export const MonikerAnnotations = {
  application: 'moniker.spinnaker.io/application',
  cluster: 'moniker.spinnaker.io/cluster',
  stack: 'moniker.spinnaker.io/stack',
  detail: 'moniker.spinnaker.io/detail',
  sequence: 'moniker.spinnaker.io/sequence',
} as const;

export interface Moniker {
  app?: string;
  cluster?: string;
  stack?: string;
  detail?: string;
  sequence?: number;
}

/** Frigga's version suffix: "-v" and at least three digits. */
const VERSION_SUFFIX = /-v(\d{3,})$/;
/** Characters Frigga accepts in an application name. */
const FRIGGA_APP = /^[a-zA-Z0-9._]+$/;
const SYSTEM_PREFIX = 'system:';

export function unversionedName(name: string): string {
  return name.replace(VERSION_SUFFIX, '');
}

/** The application Frigga reads from a name, or undefined when the name does not parse. */
export function friggaApplication(name: string): string | undefined {
  if (name.startsWith(SYSTEM_PREFIX)) return 'system';
  const base = unversionedName(name);
  const dash = base.indexOf('-');
  const app = dash < 0 ? base : base.slice(0, dash);
  return app !== '' && FRIGGA_APP.test(app) ? app : undefined;
}

function sequenceOf(meta: ObjectMeta): number | undefined {
  const annotated = meta.annotations?.[MonikerAnnotations.sequence];
  if (annotated !== undefined && /^\d+$/.test(annotated)) return Number(annotated);
  const match = VERSION_SUFFIX.exec(meta.name ?? '');
  return match ? Number(match[1]) : undefined;
}

function owningDeployment(meta: ObjectMeta): string | undefined {
  const owner = meta.ownerReferences?.find((o) => o.kind === 'Deployment' && o.controller !== false);
  return owner?.name;
}

export function deriveMoniker(group: string, kind: string, object: KubeObject): Moniker {
  const meta: ObjectMeta = object.metadata ?? {};
  const name = meta.name ?? '';
  const annotations = meta.annotations ?? {};
  const app = annotations[MonikerAnnotations.application] ?? friggaApplication(name);
  let cluster = annotations[MonikerAnnotations.cluster];
  if (cluster === undefined) {
    const deployment = kind === 'ReplicaSet' ? owningDeployment(meta) : undefined;
    cluster =
      deployment !== undefined ? `${spinnakerKindName('apps', 'Deployment')} ${deployment}` : `${spinnakerKindName(group, kind)} ${unversionedName(name)}`;
  }
  const moniker: Moniker = { app, cluster };
  const stack = annotations[MonikerAnnotations.stack];
  const detail = annotations[MonikerAnnotations.detail];
  const sequence = sequenceOf(meta);
  if (stack !== undefined) moniker.stack = stack;
  if (detail !== undefined) moniker.detail = detail;
  if (sequence !== undefined) moniker.sequence = sequence;
  if (moniker.app === undefined) delete moniker.app;
  return moniker;
}

/** The columns the store derives from a body so views can filter without parsing it. */
export interface DerivedColumns {
  application: string | null;
  cluster: string | null;
  createdAt: number | null;
}

/** `text` parsed, when it is a JSON object; undefined when it is not JSON or not an object. */
function parseObject(text: string): KubeObject | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as KubeObject) : undefined;
}

/**
 * The indexed columns of an object, from its metadata alone: `metadataJson` when the agent located it in
 * the body (parsing a third of the text instead of all of it), otherwise the parsed body. An unparseable
 * body still gets a name-derived application.
 */
export function deriveObjectColumns(group: string, kind: string, name: string, body: string, metadataJson?: string): DerivedColumns {
  const metadata = metadataJson !== undefined ? parseObject(metadataJson) : undefined;
  const object: KubeObject = metadata !== undefined ? { metadata } : (parseObject(body) ?? {});
  const meta = object.metadata ?? {};
  // The body normally names itself; copy only when it does not (hot path: no allocation per object).
  const named = typeof meta.name === 'string' ? object : { ...object, metadata: { ...meta, name } };
  const moniker = deriveMoniker(group, kind, named);
  const created = typeof meta.creationTimestamp === 'string' ? Date.parse(meta.creationTimestamp) : NaN;
  return { application: moniker.app ?? null, cluster: moniker.cluster ?? null, createdAt: Number.isFinite(created) ? created : null };
}
