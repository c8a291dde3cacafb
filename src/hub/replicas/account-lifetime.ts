import { errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { AccountState, AccountSweepStore, AssignmentStore } from '../store/types.ts';
import type { ReplicaStatus } from './replica-liveness.ts';

export interface AccountLifetimeOptions {
  store: AccountSweepStore & Pick<AssignmentStore, 'listAssignments'>;
  hubId: string;
  /** accounts.gracePeriodSeconds: how long a disconnected account is kept before it is removed with its cache. */
  graceMs: number;
  /** Whether a session of this replica serves the account now. */
  servedHere: (account: string) => boolean;
  /** Every replica the database knows, judged live or dead (the replica presence answers). */
  replicas: () => Promise<ReplicaStatus[]>;
  logger: Logger;
  /** When this run of the replica started: a row it marked connected before then is from a former run. */
  startedAt: number;
  clock?: () => number;
}

export interface SweepResult {
  /** Accounts found marked connected by a replica that no longer serves them, now marked disconnected. */
  disconnected: string[];
  /** Accounts gone longer than the grace period, removed with their cache. */
  removed: string[];
}

/**
 * The lifetime of accounts across replicas, as any replica's periodic sweep sees it in the database.
 * A session's end marks its account disconnected at once (grpc/session-handler.ts); what this adds is
 * what nobody was left to write: an account still marked connected by a replica that died, or by a
 * former run of this one, is marked disconnected (its grace period starting at the dead replica's last
 * heartbeat); and a disconnected account unseen for the grace period is removed with its cache. An
 * account whose caching lease is live anywhere, or that a session here serves, is left alone.
 */
export class AccountLifetime {
  private readonly clock: () => number;

  constructor(private readonly options: AccountLifetimeOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /** One pass. Never rejects: a failure is logged and the next pass tries again. */
  async sweep(): Promise<SweepResult> {
    const result: SweepResult = { disconnected: [], removed: [] };
    try {
      await this.pass(result);
    } catch (err) {
      this.options.logger.error({ err: errorMessage(err) }, 'account sweep failed');
    }
    return result;
  }

  private async pass(result: SweepResult): Promise<void> {
    const { store, servedHere, logger, graceMs } = this.options;
    // The states alone: parsing every account's kinds and permissions each pass stalled the event loop
    // (130 ms at a thousand accounts), and the sweep reads none of them.
    const accounts = (await store.listAccountStates()).filter((a) => !servedHere(a.name));
    if (accounts.length === 0) return;
    const now = this.clock();
    const leased = new Set((await store.listAssignments()).filter((a) => a.leaseExpiresAt > now).map((a) => a.account));
    let replicas: Map<string, ReplicaStatus> | undefined;
    for (const account of accounts) {
      if (leased.has(account.name)) continue;
      if (account.status === 'connected') {
        replicas ??= new Map((await this.options.replicas()).map((r) => [r.hubId, r]));
        const since = this.abandonedSince(account, replicas, now);
        if (since === undefined) continue;
        // Asked again now, after the reads above: an agent that reconnected here meanwhile (right after a
        // restart, while its account's row still names the former run) is attached before its row is
        // written, so it is seen here and its row is left to it.
        if (servedHere(account.name)) continue;
        // Only while the row still says what was read: a session that connected meanwhile stands.
        if (!(await store.markAbandoned(account.name, account.hubId, since))) continue;
        result.disconnected.push(account.name);
        logger.warn(
          { account: account.name, hubId: account.hubId, agentId: account.agentId },
          'an account was still marked connected through a hub replica that no longer serves it (it died or restarted); marked disconnected',
        );
        continue;
      }
      if (now - account.lastSeenAt < graceMs) continue;
      if (servedHere(account.name)) continue;
      // Only the row as read: an agent that came back meanwhile (at another replica) keeps its account.
      if (!(await store.deleteAccount(account.name, { status: account.status, lastSeenAt: account.lastSeenAt }))) continue;
      result.removed.push(account.name);
      logger.info({ account: account.name, goneForMs: now - account.lastSeenAt }, 'removed an account whose agent did not come back within the grace period');
    }
  }

  /**
   * When a connected row's replica stopped serving the account, if it did: this replica's own rows
   * from a former run (now), and rows of a replica that is dead (its last heartbeat) or unknown (now).
   */
  private abandonedSince(account: AccountState, replicas: ReadonlyMap<string, ReplicaStatus>, now: number): number | undefined {
    if (account.hubId === this.options.hubId) return account.lastSeenAt < this.options.startedAt ? now : undefined;
    if (account.hubId === null) return now;
    const replica = replicas.get(account.hubId);
    if (replica === undefined) return now;
    return replica.live ? undefined : Math.min(now, replica.heartbeatAt);
  }
}
