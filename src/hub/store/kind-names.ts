/**
 * Kubernetes kinds as Spinnaker spells them. Clouddriver addresses objects as "<kind> <name>" where the
 * kind token is its own camel-case spelling (`replicaSet`, `horizontalpodautoscaler`) for the kinds it
 * knows, the bare Kubernetes kind for other kinds of the built-in API groups, and `<Kind>.<group>` for
 * custom resources (e.g. `Certificate.cert-manager.io`). Parsing is case-insensitive and accepts
 * kubectl's short names. Per-kind facts Clouddriver keeps on its handlers (Spinnaker kind, deploy
 * priority, versioning, scope) live in the same table so there is one place to look.
 */
export type SpinnakerKind = 'serverGroupManagers' | 'serverGroups' | 'instances' | 'loadBalancers' | 'securityGroups' | 'configs' | 'unclassified';

export interface KnownKind {
  /** Spinnaker's spelling, e.g. "replicaSet". */
  readonly spinnaker: string;
  readonly group: string;
  readonly kind: string;
  readonly aliases: readonly string[];
  readonly spinnakerKind: SpinnakerKind;
  readonly namespaced: boolean;
  /** Lower deploys first (Clouddriver's DeployPriority). */
  readonly deployPriority: number;
  /** Whether deploys append -vNNN by default. */
  readonly versioned: boolean;
}

/** Clouddriver's DeployPriority values. */
export const DeployPriority = {
  NAMESPACE: 0,
  ROLE: 20,
  CRD_AND_BINDINGS: 30,
  STORAGE_AND_ACCOUNTS: 40,
  CONFIG: 50,
  NETWORK: 70,
  API_SERVICE: 80,
  POLICY: 90,
  WORKLOAD: 100,
  HPA: 110,
  CUSTOM_RESOURCE: 1000,
} as const;

function k(
  spinnaker: string,
  group: string,
  kind: string,
  spinnakerKind: SpinnakerKind,
  deployPriority: number,
  opts: { aliases?: string[]; namespaced?: boolean; versioned?: boolean } = {},
): KnownKind {
  return {
    spinnaker,
    group,
    kind,
    aliases: opts.aliases ?? [],
    spinnakerKind,
    namespaced: opts.namespaced ?? true,
    deployPriority,
    versioned: opts.versioned ?? false,
  };
}

const P = DeployPriority;

export const KNOWN_KINDS: readonly KnownKind[] = [
  k('apiService', 'apiregistration.k8s.io', 'APIService', 'unclassified', P.API_SERVICE, { namespaced: false }),
  k('clusterRole', 'rbac.authorization.k8s.io', 'ClusterRole', 'unclassified', P.ROLE, { namespaced: false }),
  k('clusterRoleBinding', 'rbac.authorization.k8s.io', 'ClusterRoleBinding', 'unclassified', P.CRD_AND_BINDINGS, { namespaced: false }),
  k('configMap', '', 'ConfigMap', 'configs', P.CONFIG, { aliases: ['cm'], versioned: true }),
  k('controllerRevision', 'apps', 'ControllerRevision', 'unclassified', P.WORKLOAD),
  k('customResourceDefinition', 'apiextensions.k8s.io', 'CustomResourceDefinition', 'unclassified', P.CRD_AND_BINDINGS, {
    aliases: ['crd', 'crds'],
    namespaced: false,
  }),
  k('cronJob', 'batch', 'CronJob', 'serverGroups', P.WORKLOAD, { aliases: ['cj'] }),
  k('daemonSet', 'apps', 'DaemonSet', 'serverGroups', P.WORKLOAD, { aliases: ['ds'] }),
  k('deployment', 'apps', 'Deployment', 'serverGroupManagers', P.WORKLOAD, { aliases: ['deploy'] }),
  k('event', '', 'Event', 'unclassified', P.WORKLOAD, { aliases: ['ev'] }),
  k('horizontalpodautoscaler', 'autoscaling', 'HorizontalPodAutoscaler', 'unclassified', P.HPA, { aliases: ['hpa'] }),
  k('ingress', 'networking.k8s.io', 'Ingress', 'loadBalancers', P.NETWORK, { aliases: ['ing'] }),
  k('job', 'batch', 'Job', 'serverGroups', P.WORKLOAD),
  k('limitRange', '', 'LimitRange', 'unclassified', P.POLICY, { aliases: ['limits'] }),
  k('mutatingWebhookConfiguration', 'admissionregistration.k8s.io', 'MutatingWebhookConfiguration', 'unclassified', P.STORAGE_AND_ACCOUNTS, {
    namespaced: false,
  }),
  k('namespace', '', 'Namespace', 'unclassified', P.NAMESPACE, { aliases: ['ns'], namespaced: false }),
  k('networkPolicy', 'networking.k8s.io', 'NetworkPolicy', 'securityGroups', P.NETWORK, { aliases: ['netpol'] }),
  k('persistentVolume', '', 'PersistentVolume', 'configs', P.STORAGE_AND_ACCOUNTS, { aliases: ['pv'], namespaced: false }),
  k('persistentVolumeClaim', '', 'PersistentVolumeClaim', 'configs', P.CONFIG, { aliases: ['pvc'] }),
  k('pod', '', 'Pod', 'instances', P.WORKLOAD, { aliases: ['po'], versioned: true }),
  k('podDisruptionBudget', 'policy', 'PodDisruptionBudget', 'unclassified', P.POLICY, { aliases: ['pdb'] }),
  k('podPreset', 'settings.k8s.io', 'PodPreset', 'unclassified', P.POLICY),
  k('podSecurityPolicy', 'policy', 'PodSecurityPolicy', 'unclassified', P.POLICY, { aliases: ['psp'], namespaced: false }),
  k('replicaSet', 'apps', 'ReplicaSet', 'serverGroups', P.WORKLOAD, { aliases: ['rs'], versioned: true }),
  k('role', 'rbac.authorization.k8s.io', 'Role', 'unclassified', P.ROLE),
  k('roleBinding', 'rbac.authorization.k8s.io', 'RoleBinding', 'unclassified', P.CRD_AND_BINDINGS),
  k('secret', '', 'Secret', 'configs', P.CONFIG, { versioned: true }),
  k('service', '', 'Service', 'loadBalancers', P.NETWORK, { aliases: ['svc'] }),
  k('serviceAccount', '', 'ServiceAccount', 'unclassified', P.STORAGE_AND_ACCOUNTS, { aliases: ['sa'] }),
  k('statefulSet', 'apps', 'StatefulSet', 'serverGroups', P.WORKLOAD, { aliases: ['sts'] }),
  k('storageClass', 'storage.k8s.io', 'StorageClass', 'unclassified', P.STORAGE_AND_ACCOUNTS, { aliases: ['sc'], namespaced: false }),
  k('validatingWebhookConfiguration', 'admissionregistration.k8s.io', 'ValidatingWebhookConfiguration', 'unclassified', P.STORAGE_AND_ACCOUNTS, {
    namespaced: false,
  }),
];

/** Groups Clouddriver treats as Kubernetes' own: their kinds are spelled without a group suffix. */
export const NATIVE_GROUPS: ReadonlySet<string> = new Set([
  '',
  'apps',
  'batch',
  'extensions',
  'autoscaling',
  'policy',
  'storage.k8s.io',
  'apiextensions.k8s.io',
  'apiregistration.k8s.io',
  'admissionregistration.k8s.io',
  'scheduling.k8s.io',
  'settings.k8s.io',
  'authorization.k8s.io',
  'authentication.k8s.io',
  'rbac.authorization.k8s.io',
  'certificates.k8s.io',
  'networking.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'events.k8s.io',
  'node.k8s.io',
  'flowcontrol.apiserver.k8s.io',
]);

const BY_LOWER_KIND = new Map<string, KnownKind>();
const BY_TOKEN = new Map<string, KnownKind>();
for (const known of KNOWN_KINDS) {
  BY_LOWER_KIND.set(known.kind.toLowerCase(), known);
  BY_TOKEN.set(known.spinnaker.toLowerCase(), known);
  for (const alias of known.aliases) BY_TOKEN.set(alias, known);
}

export interface GroupKind {
  group: string;
  kind: string;
}

export function isNativeGroup(group: string): boolean {
  return NATIVE_GROUPS.has(group);
}

/** The table entry for a Kubernetes kind, when it is one Clouddriver knows (in any of the built-in groups). */
export function knownKind(group: string, kind: string): KnownKind | undefined {
  if (!isNativeGroup(group)) return undefined;
  return BY_LOWER_KIND.get(kind.toLowerCase());
}

/** Kubernetes kind → Spinnaker's spelling: ReplicaSet → "replicaSet", Widget in example.com → "Widget.example.com". */
export function spinnakerKindName(group: string, kind: string): string {
  const known = knownKind(group, kind);
  if (known) return known.spinnaker;
  return isNativeGroup(group) ? kind : `${kind}.${group}`;
}

/** The Spinnaker kind class ("serverGroups", …) of a Kubernetes kind; custom resources are "unclassified". */
export function spinnakerKindOf(group: string, kind: string): SpinnakerKind {
  return knownKind(group, kind)?.spinnakerKind ?? 'unclassified';
}

/** "<spinnakerKind> <name>", Clouddriver's full resource name. */
export function fullResourceName(group: string, kind: string, name: string): string {
  return `${spinnakerKindName(group, kind)} ${name}`;
}

/** Splits "deployment nginx" at its single space; undefined when there is no kind or no name. */
export function splitFullResourceName(fullName: string): { kindToken: string; name: string } | undefined {
  const trimmed = fullName.trim();
  const space = trimmed.indexOf(' ');
  if (space <= 0) return undefined;
  const kindToken = trimmed.slice(0, space);
  const name = trimmed.slice(space + 1).trim();
  if (name === '' || name.includes(' ')) return undefined;
  return { kindToken, name };
}

/** What a kind token names before it is matched against an account's kinds. */
export interface ParsedKindToken {
  /** The kind as the token spells it, alias expanded (e.g. "deploy" → "Deployment"). */
  kind: string;
  /** Present when the token names a group ("Widget.example.com", "deployment.apps"). */
  group?: string;
  known?: KnownKind;
}

export function parseKindToken(token: string): ParsedKindToken {
  const trimmed = token.trim();
  const known = BY_TOKEN.get(trimmed.toLowerCase()) ?? BY_LOWER_KIND.get(trimmed.toLowerCase());
  if (known) return { kind: known.kind, known };
  const dot = trimmed.indexOf('.');
  if (dot > 0) {
    const kindPart = trimmed.slice(0, dot);
    const group = trimmed.slice(dot + 1);
    const knownInGroup = isNativeGroup(group.toLowerCase()) ? (BY_TOKEN.get(kindPart.toLowerCase()) ?? BY_LOWER_KIND.get(kindPart.toLowerCase())) : undefined;
    return knownInGroup ? { kind: knownInGroup.kind, group: group.toLowerCase(), known: knownInGroup } : { kind: kindPart, group };
  }
  return { kind: trimmed };
}

/**
 * Resolves a kind token against the kinds an account serves: case-insensitive, aliases expanded,
 * preferring the built-in groups when the token names no group, and the group Clouddriver expects for
 * a known kind (e.g. Ingress in networking.k8s.io over extensions). Without a match among `available`,
 * known kinds fall back to their usual group; unknown tokens resolve to undefined.
 */
export function resolveKind(token: string, available: readonly GroupKind[] = []): GroupKind | undefined {
  const parsed = parseKindToken(token);
  if (parsed.kind === '') return undefined;
  const lowerKind = parsed.kind.toLowerCase();
  const lowerGroup = parsed.group?.toLowerCase();
  const candidates = available.filter(
    (a) => a.kind.toLowerCase() === lowerKind && (lowerGroup === undefined ? isNativeGroup(a.group) : a.group.toLowerCase() === lowerGroup),
  );
  const preferred = parsed.known ? candidates.find((c) => c.group === parsed.known!.group) : undefined;
  const pick = preferred ?? candidates[0];
  if (pick !== undefined) return { group: pick.group, kind: pick.kind };
  if (parsed.known && (lowerGroup === undefined || isNativeGroup(lowerGroup))) return { group: lowerGroup ?? parsed.known.group, kind: parsed.known.kind };
  if (parsed.group !== undefined) return { group: parsed.group, kind: parsed.kind };
  return undefined;
}
