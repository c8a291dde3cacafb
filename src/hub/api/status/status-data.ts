import { errorMessage } from '../../../common/errors.ts';
import type { AccountFeedState, AccountRecord, OperationFilter, OperationRecord } from '../../store/types.ts';
import { CACHE_CHECK_OVERDUE_MS, cacheView, type AccountCacheView } from '../responses/credentials-view.ts';
import { replicaView } from '../routes/health-routes.ts';
import { operationHops } from '../routes/misc-routes.ts';
import type { AgentSessionView, SessionListing } from '../routes/route-context.ts';
import { STATUS_OPERATIONS_SHOWN, type StatusSnapshot } from './status-snapshot.ts';

const MS_PER_SECOND = 1000;
/** How often the page asks again (the browser follows `refreshMs`). */
export const STATUS_REFRESH_MS = 2_000;
/**
 * Past this many accounts (or feeds) on the hub the page asks less often. Decided on the hub's totals,
 * not on what the caller sees: every poll costs the hub its whole read, however little of it a caller sees.
 */
export const LARGE_STATUS_ACCOUNTS = 200;
export const LARGE_STATUS_FEEDS = 5_000;
export const LARGE_STATUS_REFRESH_MS = 10_000;

/**
 * An account's state on the page: `connected` (an agent serves it), `unreachable` (its agent is
 * connected but cannot reach the cluster), `disconnected` (no agent serves it: kept for the grace
 * period with its cache), `refused` (an agent declared it and this hub refused it; no row holds it).
 */
export type StatusAccountState = 'connected' | 'unreachable' | 'disconnected' | 'refused';
export const STATUS_ACCOUNT_STATES: readonly StatusAccountState[] = ['connected', 'unreachable', 'disconnected', 'refused'];

/** Per feed: the anti-entropy verdict (as the account's `cache` in /credentials/{account}). */
export type StatusFeedState = 'matching' | 'diverged' | 'overdue' | 'unchecked';

export interface StatusFeed {
  group: string;
  kind: string;
  /** The watch scope: "" for all namespaces (or a cluster-scoped kind). */
  namespace: string;
  /** Seconds since a committed batch last changed the feed (objects, resume point or snapshot). */
  changedAgoSeconds: number;
  /** Seconds since its digest was last compared with the hub's rows; null before the first comparison. */
  checkedAgoSeconds: number | null;
  state: StatusFeedState;
  divergedSince: string | null;
  /** Comparisons that found a difference, ever. */
  divergences: number;
}

export interface StatusAccount {
  name: string;
  state: StatusAccountState;
  /** Why it is unreachable, refused or disconnected; null when connected. */
  reason: string | null;
  /** The agent caching it and the replica holding that agent's session, as the accounts row says. */
  agentId: string | null;
  hubId: string | null;
  /** Agents with a session at this replica that declared it; `caching` for the one streaming its cache. */
  agentsHere: Array<{ agentId: string; caching: boolean }>;
  /** Seconds since the last message (a ping at least) of its caching agent here; null when served elsewhere or by nobody. */
  heartbeatAgoSeconds: number | null;
  /** When the row last changed hands or state (connected, disconnected); null for a refused name. */
  lastSeenAt: string | null;
  kubernetesVersion: string | null;
  cache: { status: AccountCacheView['status']; divergences: number; lastCheckedAt: string | null };
  feeds: StatusFeed[];
  /** Agents of this replica whose declaration of the name was refused, and why. */
  refusals: Array<{ agentId: string; code: string; message: string }>;
}

export interface StatusSession {
  sessionId: string;
  agentId: string;
  agentVersion: string;
  /** The wire protocol version the session speaks. */
  protocolVersion: number;
  /** The agent's address; absent unless auth is off or the caller is an admin. */
  peer?: string;
  zoneId: string;
  connectedAt: string;
  lastMessageAgoSeconds: number;
  accounts: string[];
  caching: string[];
  unreachable: Array<{ account: string; reason: string }>;
  refused: Array<{ account: string; code: string; message: string }>;
  pendingOperations: number;
}

export interface StatusOperation {
  id: string;
  taskId: string | null;
  account: string;
  type: string;
  status: OperationRecord['status'];
  httpStatus: number | null;
  errorCode: string | null;
  message: string | null;
  agentId: string | null;
  receivedAt: string;
  agoSeconds: number;
  hops: ReturnType<typeof operationHops>;
}

export interface StatusData {
  generatedAt: string;
  hubId: string;
  refreshMs: number;
  /**
   * Who asked. While REST authorization is on (`authEnabled`) the accounts and operations are those the
   * caller may READ; an `admin` (auth.adminRoles) also sees every session of this replica whole.
   */
  viewer: { authEnabled: boolean; user: string | null; admin: boolean };
  database: { status: 'UP' | 'DOWN'; error?: string };
  replicas: Array<ReturnType<typeof replicaView> & { heartbeatAgoSeconds: number }>;
  summary: {
    accounts: number;
    byState: Record<StatusAccountState, number>;
    feeds: number;
    divergedFeeds: number;
    sessions: number;
    replicas: number;
    liveReplicas: number;
  };
  accounts: StatusAccount[];
  sessions: StatusSession[];
  operations: StatusOperation[];
}

/**
 * Narrows the shared snapshot to what the caller may READ: the AuthorizedStore itself, so that the page
 * applies exactly the rules of every other route (src/hub/auth/authorized-store.ts).
 */
export interface StatusReadFilter {
  readableAccounts(records: readonly AccountRecord[]): Promise<AccountRecord[]>;
  readableRows<T extends { account: string }>(rows: readonly T[]): Promise<T[]>;
  /** The newest operations of `filter.accounts` the caller may read, narrowed in the store's query. */
  listOperations(limit: number, filter?: OperationFilter): Promise<OperationRecord[]>;
}

export interface StatusSources {
  /** The reads every caller shares (status-snapshot.ts), unfiltered. */
  snapshot: StatusSnapshot;
  /** Narrows the snapshot to the caller; absent when REST authorization is not installed (nothing is filtered). */
  filter?: StatusReadFilter;
  sessions?: SessionListing;
  hubId: string;
}

export interface StatusViewer {
  /** REST authorization is on: the store given answers only what the caller may READ. */
  authEnabled: boolean;
  user: string | null;
  /** Holds an admin role (as for /admin/replicas): sees this replica's sessions whole, addresses included. */
  admin: boolean;
}

const agoSeconds = (now: number, at: number): number => Math.max(0, Math.floor((now - at) / MS_PER_SECOND));
const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function feedView(feed: AccountFeedState, now: number): StatusFeed {
  const state: StatusFeedState =
    feed.divergedSince !== null
      ? 'diverged'
      : feed.dueSince !== null && now - feed.dueSince > CACHE_CHECK_OVERDUE_MS
        ? 'overdue'
        : feed.checkedAt !== null
          ? 'matching'
          : 'unchecked';
  return {
    group: feed.group,
    kind: feed.kind,
    namespace: feed.namespace,
    changedAgoSeconds: agoSeconds(now, feed.updatedAt),
    checkedAgoSeconds: feed.checkedAt === null ? null : agoSeconds(now, feed.checkedAt),
    state,
    divergedSince: iso(feed.divergedSince),
    divergences: feed.divergences,
  };
}

function accountState(record: AccountRecord): { state: StatusAccountState; reason: string | null } {
  if (record.status === 'disconnected') return { state: 'disconnected', reason: `no agent serves it since ${new Date(record.lastSeenAt).toISOString()}` };
  if (record.unreachableReason !== undefined) return { state: 'unreachable', reason: record.unreachableReason };
  return { state: 'connected', reason: null };
}

/** Per account name, what this replica's sessions say of it: indexed once, so a page of many accounts costs one pass. */
interface SessionsOfAccount {
  here: AgentSessionView[];
  caching?: AgentSessionView;
  unreachable?: AgentSessionView;
  refusals: StatusAccount['refusals'];
}

function indexSessions(sessions: readonly AgentSessionView[]): Map<string, SessionsOfAccount> {
  const index = new Map<string, SessionsOfAccount>();
  const of = (name: string): SessionsOfAccount => {
    let entry = index.get(name);
    if (entry === undefined) {
      entry = { here: [], refusals: [] };
      index.set(name, entry);
    }
    return entry;
  };
  for (const s of sessions) {
    for (const name of s.accounts) of(name).here.push(s);
    for (const name of s.caching) of(name).caching ??= s;
    for (const u of s.unreachable) of(u.account).unreachable ??= s;
    for (const r of s.refused) of(r.account).refusals.push({ agentId: s.agentId, code: r.code, message: r.message });
  }
  return index;
}

function accountView(
  record: AccountRecord | undefined,
  name: string,
  feeds: readonly AccountFeedState[],
  sessions: SessionsOfAccount | undefined,
  now: number,
): StatusAccount {
  const here = sessions?.here ?? [];
  const caching = sessions?.caching;
  const refusals = sessions?.refusals ?? [];
  const cache = cacheView(feeds, now);
  const { state, reason } =
    record !== undefined ? accountState(record) : { state: 'refused' as const, reason: refusals.map((r) => `${r.agentId}: ${r.message}`).join('; ') };
  const heartbeat = caching ?? (state === 'unreachable' ? sessions?.unreachable : undefined);
  return {
    name,
    state,
    reason,
    agentId: record?.agentId ?? null,
    hubId: record?.hubId ?? null,
    agentsHere: here.map((s) => ({ agentId: s.agentId, caching: s === caching })),
    heartbeatAgoSeconds: heartbeat === undefined ? null : agoSeconds(now, heartbeat.lastMessageAt),
    lastSeenAt: iso(record?.lastSeenAt),
    kubernetesVersion: record?.kubernetesVersion || null,
    cache: { status: cache.status, divergences: cache.divergences, lastCheckedAt: iso(cache.lastCheckedAt) },
    feeds: feeds.map((f) => feedView(f, now)),
    refusals,
  };
}

/** A session as a caller sees it: only the accounts they may read, and its address only when they see sessions whole. */
function sessionView(session: AgentSessionView, visible: (account: string) => boolean, whole: boolean, now: number): StatusSession {
  return {
    sessionId: session.sessionId,
    agentId: session.agentId,
    agentVersion: session.agentVersion,
    protocolVersion: session.protocolVersion,
    ...(whole ? { peer: session.peer } : {}),
    zoneId: session.zoneId,
    connectedAt: new Date(session.connectedAt).toISOString(),
    lastMessageAgoSeconds: agoSeconds(now, session.lastMessageAt),
    accounts: session.accounts.filter(visible),
    caching: session.caching.filter(visible),
    unreachable: session.unreachable.filter((u) => visible(u.account)),
    refused: session.refused.filter((r) => visible(r.account)),
    pendingOperations: session.pendingOperations,
  };
}

function operationView(op: OperationRecord, now: number): StatusOperation {
  return {
    id: op.id,
    taskId: op.taskId,
    account: op.account,
    type: op.type,
    status: op.status,
    httpStatus: op.httpStatus,
    errorCode: op.errorCode,
    message: op.message,
    agentId: op.agentId,
    receivedAt: new Date(op.receivedAt).toISOString(),
    agoSeconds: agoSeconds(now, op.receivedAt),
    hops: operationHops(op),
  };
}

/**
 * What the status page shows (GET /status/data): the accounts the caller may read with their state,
 * agent, replica, per-kind freshness and divergence; this replica's agent sessions; the latest
 * operations with their hops; the database and the replicas as GET /health sees them. The expensive
 * reads come from the snapshot every caller shares, narrowed here by the caller's filter; the caller's
 * operations are read for them when they may not read every account (the newest hub-wide would
 * rarely be theirs); the sessions (this replica's memory) are filtered here.
 */
export async function statusData(sources: StatusSources, viewer: StatusViewer, now: number): Promise<StatusData> {
  const { snapshot, filter } = sources;
  let database: StatusData['database'] = snapshot.database;
  const replicas: StatusData['replicas'] = snapshot.replicas.map((r) => ({ ...replicaView(r), heartbeatAgoSeconds: agoSeconds(now, r.heartbeatAt) }));
  const records = filter === undefined ? snapshot.accounts : await filter.readableAccounts(snapshot.accounts);
  const feeds = filter === undefined ? snapshot.feeds : await filter.readableRows(snapshot.feeds);
  let operations: OperationRecord[] = [];
  if (filter === undefined) operations = snapshot.operations;
  else if (records.length === snapshot.accounts.length) operations = await filter.readableRows(snapshot.operations);
  else {
    try {
      operations = await filter.listOperations(STATUS_OPERATIONS_SHOWN, { accounts: records.map((r) => r.name) });
    } catch (err) {
      database = { status: 'DOWN', error: errorMessage(err) };
    }
  }

  // Sessions live in this replica's memory, not behind the filtered store: narrowed here to what the caller may read.
  const allSessions = sources.sessions?.list() ?? [];
  const wholeSessions = !viewer.authEnabled || viewer.admin;
  const readable = new Set(records.map((r) => r.name));
  const visible = (account: string) => wholeSessions || readable.has(account);
  const sessions = allSessions
    .filter((s) => wholeSessions || [...s.accounts, ...s.unreachable.map((u) => u.account), ...s.refused.map((r) => r.account)].some(visible))
    .map((s) => sessionView(s, visible, wholeSessions, now));

  const feedsOf = new Map<string, AccountFeedState[]>();
  for (const feed of feeds) {
    const list = feedsOf.get(feed.account) ?? [];
    list.push(feed);
    feedsOf.set(feed.account, list);
  }
  const rows = new Map(records.map((r) => [r.name, r]));
  // A name refused to every agent that declared it has no row. Listed as an account only while authorization
  // is off and the rows were read: then every row is here, so a name without one truly has none (and nobody's
  // READ can be checked on it).
  const refusedOnly =
    !viewer.authEnabled && snapshot.database.status === 'UP'
      ? allSessions.flatMap((s) => s.refused.map((r) => r.account)).filter((name) => !rows.has(name))
      : [];
  const names = [...new Set([...rows.keys(), ...refusedOnly])].sort(byName);
  const sessionsOf = indexSessions(allSessions);
  const accounts = names.map((name) => accountView(rows.get(name), name, feedsOf.get(name) ?? [], sessionsOf.get(name), now));

  const byState = Object.fromEntries(STATUS_ACCOUNT_STATES.map((s) => [s, 0])) as Record<StatusAccountState, number>;
  for (const a of accounts) byState[a.state]++;
  return {
    generatedAt: new Date(now).toISOString(),
    hubId: sources.hubId,
    refreshMs: statusRefreshMs(snapshot),
    viewer: { authEnabled: viewer.authEnabled, user: viewer.user, admin: viewer.admin },
    database,
    replicas,
    summary: {
      accounts: accounts.length,
      byState,
      feeds: feeds.length,
      divergedFeeds: feeds.filter((f) => f.divergedSince !== null).length,
      sessions: sessions.length,
      replicas: replicas.length,
      liveReplicas: replicas.filter((r) => r.live).length,
    },
    accounts,
    sessions,
    operations: operations.map((op) => operationView(op, now)),
  };
}

/** The page's polling interval, from the hub's totals (what each poll costs), whatever the caller sees of them. */
export function statusRefreshMs(snapshot: Pick<StatusSnapshot, 'accounts' | 'feeds'>): number {
  const large = snapshot.accounts.length > LARGE_STATUS_ACCOUNTS || snapshot.feeds.length > LARGE_STATUS_FEEDS;
  return large ? LARGE_STATUS_REFRESH_MS : STATUS_REFRESH_MS;
}
