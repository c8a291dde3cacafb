import { Errors, ScaleAgentError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { AccountRecord, AccountStore, AssignmentStore, CacheReader, CachingAssignment, ClusterIdentity } from '../store/types.ts';
import type { ReplicaStatus } from './replica-liveness.ts';

/** An agent session that serves an account, as a release names it. */
export interface ServingSession {
  hubId: string;
  agentId: string;
  sessionId?: string;
  /** Where that replica serves REST, as it announced it (to release the account there). */
  restUrl?: string;
}

/** This replica's agent sessions, as a release asks them (the session handler's side: grpc/account-sessions.ts). */
export interface AccountSessions {
  /** The live sessions of this replica that serve the account: cache it, stand by for it, or declared it unreachable. */
  serving(account: string): ServingSession[];
  /**
   * Ends their hold on the account: each is told the account is refused (ACCOUNT_RELEASED), stops
   * serving it here and gives its caching lease back. Returns the sessions it detached.
   */
  detach(account: string, reason: string): Promise<ServingSession[]>;
}

/** A caching assignment as a release reports it. */
export interface AssignmentView {
  epoch: number;
  hubId: string;
  agentId: string;
  sessionId: string;
  lease: 'held' | 'expired' | 'released';
}

/** What a release removed (the 200 body of POST /admin/accounts/{name}/release). */
export interface ReleaseOutcome {
  account: string;
  /** The registration as it was: the cluster that owned the name, and its agent's last state. */
  registration: {
    cluster: ClusterIdentity;
    status: AccountRecord['status'];
    agentId: string | null;
    hubId: string | null;
    registeredAt: string;
    lastSeenAt: string;
    unreachableReason?: string;
  };
  /** Cached objects removed with the registration (counted just before). */
  cachedObjects: number;
  /** The caching assignment as it was; it is now released (its epoch kept: see release()). Null when the account never cached. */
  cachingAssignment: AssignmentView | null;
  /** Sessions of this replica whose hold on the account `force` ended (their agents were told ACCOUNT_RELEASED). */
  detachedSessions: ServingSession[];
}

/** The account release the REST API offers operators (api/routes/admin-account-routes.ts). */
export interface AccountReleaser {
  /** Rejects with ACCOUNT_NOT_FOUND, or AccountInUseError while a session serves the account. */
  release(name: string, options: { force: boolean }): Promise<ReleaseOutcome>;
}

/** ACCOUNT_IN_USE, with the sessions or replicas that serve the account. */
export class AccountInUseError extends ScaleAgentError {
  constructor(
    message: string,
    readonly servedBy: ServingSession[],
  ) {
    super(Errors.ACCOUNT_IN_USE, message, { servedBy });
  }
}

export interface AccountReleaseOptions {
  store: Pick<AccountStore, 'getAccount' | 'deleteAccount'> & Pick<AssignmentStore, 'getAssignment' | 'releaseCaching'> & Pick<CacheReader, 'countObjects'>;
  hubId: string;
  sessions: AccountSessions;
  /** Every replica the database knows, judged live or dead (the replica presence answers). */
  replicas: () => Promise<ReplicaStatus[]>;
  logger: Logger;
  clock?: () => number;
}

function leaseState(assignment: CachingAssignment, now: number): AssignmentView['lease'] {
  return assignment.leaseExpiresAt === 0 ? 'released' : assignment.leaseExpiresAt > now ? 'held' : 'expired';
}

function describe(sessions: ServingSession[]): string {
  return sessions
    .map((s) => `agent ${s.agentId} at hub replica ${s.hubId}${s.restUrl ? ` (${s.restUrl})` : ''}${s.sessionId ? `, session ${s.sessionId}` : ''}`)
    .join('; ');
}

/**
 * Releases an account name: removes its registration and cache and gives its caching assignment up, so
 * that an agent of any cluster may register the name next (after a cluster was rebuilt, the old
 * registration would refuse the new one with ACCOUNT_OWNED_BY_OTHER_CLUSTER until the grace period).
 *
 * Refused (ACCOUNT_IN_USE) while a session serves the account: one of this replica's, or another
 * replica's (its caching lease is live, or its row says connected through a live replica). `force` ends
 * this replica's sessions' hold first; another replica's sessions cannot be reached from here (replicas
 * never call each other), so the release is refused naming that replica, to be asked there.
 *
 * The caching assignment's row stays, released, with its epoch: epochs must never be handed out twice
 * for a name (the fence that keeps a former owner's batches out), so the next owner continues at the
 * next epoch rather than starting again at 1.
 */
export class AccountRelease implements AccountReleaser {
  private readonly clock: () => number;

  constructor(private readonly options: AccountReleaseOptions) {
    this.clock = options.clock ?? Date.now;
  }

  async release(name: string, { force }: { force: boolean }): Promise<ReleaseOutcome> {
    const { store, sessions, logger, hubId } = this.options;
    const account = await store.getAccount(name);
    if (account === undefined) throw new ScaleAgentError(Errors.ACCOUNT_NOT_FOUND, `no account named ${name} is registered`, { account: name });
    const elsewhere = await this.servedElsewhere(account);
    if (elsewhere.length > 0) {
      throw new AccountInUseError(
        `account ${name} is served by ${describe(elsewhere)}; ${force ? 'force ends only the sessions of the replica that answers: ' : ''}` +
          `stop its agent, or release it at that replica${force ? '' : ' with ?force=true'}`,
        elsewhere,
      );
    }
    const before = await store.getAssignment(name);
    const now = this.clock();
    let detached: ServingSession[] = [];
    const here = sessions.serving(name);
    if (here.length > 0) {
      if (!force) {
        throw new AccountInUseError(
          `account ${name} is served by ${describe(here)}; stop its agent first, or release it with ?force=true (its agent is then told the account is released)`,
          here,
        );
      }
      detached = await sessions.detach(name, `account ${name} was released by an operator (POST /admin/accounts/${name}/release?force=true)`);
    }
    const cachedObjects = await store.countObjects(name);
    // Only the row as checked (after the detach, as the detach left it): an agent that registered the
    // name in between keeps it, and the operator is told to look again.
    const checked = detached.length > 0 ? await store.getAccount(name) : account;
    if (checked !== undefined && !(await store.deleteAccount(name, { status: checked.status, lastSeenAt: checked.lastSeenAt }))) {
      const current = await store.getAccount(name);
      throw new AccountInUseError(
        `account ${name} changed while it was being released (an agent registered it meanwhile); look again before releasing it`,
        current?.agentId ? [{ hubId: current.hubId ?? '', agentId: current.agentId }] : [],
      );
    }
    // Released as it was read (the detach may have given it back already): a claim that won meanwhile
    // keeps its lease, and is refused its batches since the account is gone.
    if (before !== undefined && before.leaseExpiresAt !== 0) await store.releaseCaching(name, before, before.epoch);
    const outcome: ReleaseOutcome = {
      account: name,
      registration: {
        cluster: account.cluster,
        status: account.status,
        agentId: account.agentId,
        hubId: account.hubId,
        registeredAt: new Date(account.registeredAt).toISOString(),
        lastSeenAt: new Date(account.lastSeenAt).toISOString(),
        ...(account.unreachableReason !== undefined ? { unreachableReason: account.unreachableReason } : {}),
      },
      cachedObjects,
      cachingAssignment:
        before === undefined
          ? null
          : { epoch: before.epoch, hubId: before.hubId, agentId: before.agentId, sessionId: before.sessionId, lease: leaseState(before, now) },
      detachedSessions: detached,
    };
    logger.warn(
      { account: name, hubId, cluster: account.cluster, cachedObjects, detachedSessions: detached.length, force },
      'an operator released the account name: its registration and cache are removed, and an agent of any cluster may register it',
    );
    return outcome;
  }

  /**
   * Another replica's sessions serving the account, as the database shows them: its caching lease live
   * there, or its row connected through a live replica. A row connected through this replica that no
   * session here serves, or through a dead or unknown replica, is a leftover (the account sweep's).
   */
  private async servedElsewhere(account: AccountRecord): Promise<ServingSession[]> {
    const { store, hubId } = this.options;
    const now = this.clock();
    const serving: ServingSession[] = [];
    const assignment = await store.getAssignment(account.name);
    if (assignment !== undefined && assignment.hubId !== hubId && leaseState(assignment, now) === 'held') {
      serving.push({ hubId: assignment.hubId, agentId: assignment.agentId, sessionId: assignment.sessionId });
    }
    // The replica the row says serves the account, when it is not this one.
    const connectedAt = account.status === 'connected' && account.hubId !== hubId ? account.hubId : null;
    if (serving.length === 0 && connectedAt === null) return serving;
    const replicas = new Map((await this.options.replicas()).map((r) => [r.hubId, r]));
    if (connectedAt !== null && replicas.get(connectedAt)?.live && !serving.some((s) => s.hubId === connectedAt)) {
      serving.push({ hubId: connectedAt, agentId: account.agentId ?? 'unknown' });
    }
    return serving.map((s) => {
      const restUrl = replicas.get(s.hubId)?.restUrl;
      return restUrl ? { ...s, restUrl } : s;
    });
  }
}
