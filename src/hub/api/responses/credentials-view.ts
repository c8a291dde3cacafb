import { KNOWN_KINDS, spinnakerKindName, spinnakerKindOf, type SpinnakerKind } from '../../store/kind-names.ts';
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
  permissions?: Record<string, string[]>;
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

/** Every kind Clouddriver has a handler for, with its class; present for every account like Clouddriver's map. */
const STANDARD_KIND_MAP: Readonly<Record<string, SpinnakerKind>> = Object.fromEntries(KNOWN_KINDS.map((k) => [k.spinnaker, k.spinnakerKind]));

export function spinnakerKindMap(account: AccountRecord): Record<string, SpinnakerKind> {
  const map: Record<string, SpinnakerKind> = { ...STANDARD_KIND_MAP };
  for (const kind of account.kinds) {
    const name = spinnakerKindName(kind.group, kind.kind);
    if (!(name in map)) map[name] = spinnakerKindOf(kind.group, kind.kind);
  }
  return map;
}

/**
 * `namespacesSeen`: the Namespace objects cached for the account, used when the account watches all
 * namespaces (Clouddriver lists them from the cluster; ours are already in the cache).
 */
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

export function accountView(account: AccountRecord, expand: boolean, namespacesSeen: readonly string[] = []): AccountView {
  const view: AccountView = {
    ...clouddriverAccountFields(account.name, account.properties.environment, account.properties.accountType),
    agent: {
      id: account.agentId,
      hubId: account.hubId,
      status: account.status,
      lastSeen: account.lastSeenAt,
      registeredAt: account.registeredAt,
      kubernetesVersion: account.kubernetesVersion,
    },
  };
  if (Object.keys(account.permissions).length > 0) view.permissions = account.permissions;
  if (!expand) return view;
  return {
    ...view,
    enabled: true,
    cacheThreads: 1,
    namespaces: account.namespaces.length > 0 ? [...account.namespaces] : [...namespacesSeen].sort(),
    spinnakerKindMap: spinnakerKindMap(account),
    dockerRegistries: [],
  };
}
