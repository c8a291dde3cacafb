import { OMIT_NAMESPACES_PROPERTY, splitNamespaces } from '../../../common/account-properties.ts';
import { isNativeGroup, KNOWN_KINDS, type SpinnakerKind } from '../../store/kind-names.ts';
import { AUTHORIZATIONS, type PermissionMap } from '../../auth/roles.ts';
import type { AccountRecord, FeedDigestState } from '../../store/types.ts';

/**
 * Accounts as Clouddriver's /credentials shows them (`AccountDefinition` un-expanded, the credentials
 * bean expanded). Our own fields sit under `agent`, a key Clouddriver never uses.
 */
export interface AccountAgentView {
  id: string | null;
  hubId: string | null;
  status: AccountRecord['status'];
  lastSeen: number;
  registeredAt: number;
  kubernetesVersion: string;
}

export interface AccountView {
  name: string;
  type: 'kubernetes';
  cloudProvider: 'kubernetes';
  environment: string;
  accountType: string;
  providerVersion: 'v2';
  /** Deck picks the provider's UI by it (older Decks), like providerVersion. */
  skin: 'v2';
  requiredGroupMembership: string[];
  /** Always present, `{}` when unrestricted (clouddriverPermissions). */
  permissions: PermissionMap;
  challengeDestructiveActions: boolean;
  primaryAccount: boolean;
  /**
   * Gate sets this per user from Fiat. The hub lists only accounts the caller may READ (src/hub/auth),
   * so it answers true for every account it shows.
   */
  authorized: boolean;
  agent: AccountAgentView;
  // expanded only
  enabled?: boolean;
  cacheThreads?: number;
  namespaces?: string[];
  spinnakerKindMap?: Record<string, SpinnakerKind>;
  dockerRegistries?: unknown[];
  /** Single-account view: whether the cache matched the agent's at the last anti-entropy comparison. */
  cache?: AccountCacheView;
}

/**
 * A feed whose digest has not matched this long after its agent (re)connected makes the account's cache
 * `overdue`: the agent compares every feed right after a reconnect (a resumed feed once its quiet
 * verification list is done), so minutes without a match mean anti-entropy is not running for it.
 */
export const CACHE_CHECK_OVERDUE_MS = 15 * 60_000;

export interface AccountCacheView {
  /**
   * `matching`: every compared feed matched; `diverged`: some feed differs (being resynchronised);
   * `overdue`: some feed has not matched for CACHE_CHECK_OVERDUE_MS since its agent (re)connected;
   * `unchecked`: none compared yet.
   */
  status: 'matching' | 'diverged' | 'overdue' | 'unchecked';
  feeds: number;
  /** Absent until a comparison ran (the view carries no nulls: Deck and Orca read it typed). */
  lastCheckedAt?: number;
  /** Comparisons that found a difference, over all feeds, ever. */
  divergences: number;
  diverged: Array<{ group: string; kind: string; namespace: string; since: number; divergences: number }>;
  /** Feeds awaiting a matching comparison since their agent's (re)connect for longer than CACHE_CHECK_OVERDUE_MS. */
  overdue: Array<{ group: string; kind: string; namespace: string; since: number }>;
}

/** The account's anti-entropy state, from its feeds' rows (the same on every replica). */
export function cacheView(states: readonly FeedDigestState[], now: number): AccountCacheView {
  const checked = states.filter((s) => s.checkedAt !== null);
  const diverged = states
    .filter((s) => s.divergedSince !== null)
    .map((s) => ({ group: s.group, kind: s.kind, namespace: s.namespace, since: s.divergedSince!, divergences: s.divergences }));
  const overdue = states
    .filter((s) => s.divergedSince === null && s.dueSince !== null && now - s.dueSince > CACHE_CHECK_OVERDUE_MS)
    .map((s) => ({ group: s.group, kind: s.kind, namespace: s.namespace, since: s.dueSince! }));
  return {
    status: diverged.length > 0 ? 'diverged' : overdue.length > 0 ? 'overdue' : checked.length > 0 ? 'matching' : 'unchecked',
    feeds: states.length,
    ...(checked.length > 0 ? { lastCheckedAt: Math.max(...checked.map((s) => s.checkedAt!)) } : {}),
    divergences: states.reduce((n, s) => n + s.divergences, 0),
    diverged,
    overdue,
  };
}

/**
 * Every kind Clouddriver has a handler for, with its class: Clouddriver's map starts from these
 * (KubernetesSpinnakerKindMap.kubernetesToSpinnakerKindStringMap, keyed by KubernetesKind.toString(),
 * the lower-camel names of KubernetesKind: `replicaSet`, `horizontalpodautoscaler`), present for every account.
 */
const STANDARD_KIND_MAP: Readonly<Record<string, SpinnakerKind>> = Object.fromEntries(KNOWN_KINDS.map((k) => [k.spinnaker, k.spinnakerKind]));

/**
 * A custom resource kind's key in the map: `<kind>.<group>` in lower case, the way Clouddriver's
 * integration test finds a CRD (`spinnakerKindMap.'crontab.stable.example.com'`, DeployManifestIT
 * shouldGetDeployedCrdsCredentials; Clouddriver puts the `kubernetesKind` of the account's
 * `customResources` as configured there). Deck looks keys up case-insensitively.
 */
export function customResourceKindKey(group: string, kind: string): string {
  return `${kind}.${group}`.toLowerCase();
}

/** The kind whose objects define custom resources: the cache holds them for accounts that watch it. */
export const DEFINITION_KIND = { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' } as const;

/**
 * API groups Kubernetes itself defines (built into the API server, or the aggregated metrics APIs its
 * add-ons serve) beyond NATIVE_GROUPS. NATIVE_GROUPS is Clouddriver's list of groups whose kinds are
 * spelled without a group; these keep their group in names, but they are not custom resources either.
 * Only used for an account whose cache holds no CustomResourceDefinitions to tell them by.
 */
export const KUBERNETES_API_GROUPS: ReadonlySet<string> = new Set([
  'metrics.k8s.io',
  'custom.metrics.k8s.io',
  'external.metrics.k8s.io',
  'resource.k8s.io',
  'storagemigration.k8s.io',
  'internal.apiserver.k8s.io',
]);

/** Whether the account's agent watches CustomResourceDefinitions, so that the hub's cache holds them. */
export function cachesDefinitions(account: Pick<AccountRecord, 'kinds'>): boolean {
  return account.kinds.some((k) => k.group === DEFINITION_KIND.group && k.kind === DEFINITION_KIND.kind && k.watchable);
}

/** The name Kubernetes requires of the CustomResourceDefinition of a kind: `<plural>.<group>`. */
export function definitionName(group: string, resource: string): string {
  return `${resource}.${group}`;
}

/**
 * Clouddriver's `spinnakerKindMap`: its handlers' kinds, plus the account's custom resources,
 * `unclassified` (Clouddriver lists its configured `customResources`; ours are the kinds a
 * CustomResourceDefinition defines). `definitions`: the names of the CRDs cached for the account, when
 * it caches them (cachesDefinitions) — a kind of another group is listed only if one of them defines it,
 * so aggregated APIs (podmetrics.metrics.k8s.io) stay out. Without them, every kind outside NATIVE_GROUPS
 * and KUBERNETES_API_GROUPS counts. Other kinds of the built-in groups (Node, Lease, Endpoints…) have no
 * handler in Clouddriver and are not in its map, so they are not in ours.
 */
export function spinnakerKindMap(account: AccountRecord, definitions?: ReadonlySet<string>): Record<string, SpinnakerKind> {
  const map: Record<string, SpinnakerKind> = { ...STANDARD_KIND_MAP };
  for (const kind of account.kinds) {
    if (isNativeGroup(kind.group)) continue;
    const custom = definitions !== undefined ? definitions.has(definitionName(kind.group, kind.resource)) : !KUBERNETES_API_GROUPS.has(kind.group);
    if (!custom) continue;
    const key = customResourceKindKey(kind.group, kind.kind);
    if (!(key in map)) map[key] = 'unclassified';
  }
  return map;
}

/**
 * An account's permissions as Clouddriver serialises Fiat's `Permissions` (@JsonValue of an EnumMap):
 * in READ, WRITE, EXECUTE, CREATE order, only the authorizations that name a role, and `{}` for an
 * unrestricted account — present in the plain and the expanded list and in /credentials/{account}
 * alike (CredentialsController keeps `permissions` in the plain form; Deck's fixtures show `{}`).
 * The roles are the effective ones the authorizing store presents (overrides applied, closed accounts
 * shown closed, src/hub/auth/account-policy.ts).
 */
export function clouddriverPermissions(permissions: Readonly<Record<string, readonly string[] | undefined>>): PermissionMap {
  const out: PermissionMap = {};
  for (const authorization of AUTHORIZATIONS) {
    const roles = permissions[authorization];
    if (roles !== undefined && roles.length > 0) out[authorization] = [...roles];
  }
  return out;
}

/** The fields of Clouddriver's credentials shape that every Kubernetes account has the same way. */
export function clouddriverAccountFields(name: string, environment: string | undefined, accountType: string | undefined) {
  return {
    name,
    type: 'kubernetes' as const,
    cloudProvider: 'kubernetes' as const,
    environment: environment ?? name,
    accountType: accountType ?? name,
    providerVersion: 'v2' as const,
    skin: 'v2' as const,
    requiredGroupMembership: [] as string[],
    challengeDestructiveActions: false,
    primaryAccount: false,
    authorized: true,
  };
}

/** What the cache adds to an expanded account view. */
export interface AccountCacheFacts {
  /**
   * The Namespace objects cached for the account, listed when it watches every namespace (Clouddriver
   * lists them from the cluster; ours are already in the cache).
   */
  namespacesSeen?: readonly string[];
  /** The names of the CustomResourceDefinitions cached for it, when it caches them (spinnakerKindMap). */
  definitions?: ReadonlySet<string>;
}

/**
 * Clouddriver's getDeclaredNamespaces: the account's `namespaces`, else every namespace of the cluster;
 * either way without its `omitNamespaces` (the agent declares them, OMIT_NAMESPACES_PROPERTY). Namespace
 * objects are cluster-scoped, so the cache holds the omitted ones too.
 */
export function declaredNamespaces(account: AccountRecord, namespacesSeen: readonly string[] = []): string[] {
  const omitted = new Set(splitNamespaces(account.properties[OMIT_NAMESPACES_PROPERTY]));
  const namespaces = account.namespaces.length > 0 ? [...account.namespaces] : [...namespacesSeen].sort();
  return namespaces.filter((ns) => !omitted.has(ns));
}

export function accountView(account: AccountRecord, expand: boolean, facts: AccountCacheFacts = {}): AccountView {
  const view: AccountView = {
    ...clouddriverAccountFields(account.name, account.properties.environment, account.properties.accountType),
    permissions: clouddriverPermissions(account.permissions),
    agent: {
      id: account.agentId,
      hubId: account.hubId,
      status: account.status,
      lastSeen: account.lastSeenAt,
      registeredAt: account.registeredAt,
      kubernetesVersion: account.kubernetesVersion,
    },
  };
  if (!expand) return view;
  return {
    ...view,
    enabled: true,
    cacheThreads: 1,
    namespaces: declaredNamespaces(account, facts.namespacesSeen),
    spinnakerKindMap: spinnakerKindMap(account, facts.definitions),
    dockerRegistries: [],
  };
}
