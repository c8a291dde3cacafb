import { errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { AssignmentStore, CachingAssignment, CachingClaim, CachingOwner } from '../store/types.ts';
import { SerialPass } from '../../common/serial-pass.ts';

/** A lease is renewed this many times per lease period: two renewals may fail before it runs out. */
export const RENEWALS_PER_LEASE = 3;

/** An agent session of this replica, as the leases name it. */
export interface CachingSessionRef {
  sessionId: string;
  agentId: string;
}

/** What the leases ask of this replica's sessions (the session handler answers; see grpc/session-handler.ts). */
export interface CachingHost {
  /** Per account that a live session of this replica serves while none of them caches it: the session that would. */
  standbys(): Array<{ account: string; session: CachingSessionRef }>;
  /**
   * A takeover granted the account to `session`: make it the account's caching session and tell its
   * agent. False when it can no longer take it (gone, or no longer serving the account): the lease is then given back.
   */
  takeOver(account: string, session: CachingSessionRef): boolean;
  /** This replica no longer caches the account (its lease was taken, a batch was fenced): stop the session caching it and tell its agent. */
  lose(account: string, sessionId: string, reason: string): void;
}

export interface CachingLeasesOptions {
  store: AssignmentStore;
  hubId: string;
  /** How long a lease lasts unrenewed (accounts.cachingLeaseSeconds). */
  leaseMs: number;
  logger: Logger;
  /**
   * False for a lone replica (SQLite, which refuses a second live one): its leases are claimed and fence
   * its batches, but are not renewed, which would cost the one writer a transaction per account every
   * few seconds for nothing. No other replica can claim them, and this replica's standbys only claim
   * accounts none of its sessions caches. Default true.
   */
  renew?: boolean;
  /** Milliseconds since the epoch (tests inject one). */
  clock?: () => number;
}

interface HeldLease {
  owner: CachingOwner;
  epoch: number;
}

function sameOwner(a: CachingOwner, b: CachingOwner): boolean {
  return a.hubId === b.hubId && a.sessionId === b.sessionId && a.agentId === b.agentId;
}

function describeHolder(assignment: CachingAssignment | undefined): string {
  if (assignment === undefined) return 'nobody';
  return `agent ${assignment.agentId} at hub replica ${assignment.hubId} (session ${assignment.sessionId}, epoch ${assignment.epoch})`;
}

/**
 * The caching assignments this replica holds, kept alive in the shared database: which session caches
 * which account, at which fencing epoch. The database decides who caches across replicas
 * (AssignmentStore.claimCaching is atomic); this replica renews what it holds every third of the lease,
 * drops an account whose renewal is refused (its host tells the agent to stop caching), gives leases
 * back when sessions end, and takes over, for a standby session of its own, every account whose lease
 * was released or ran out. Timers only call `tick()`, which tests call themselves with an injected clock.
 */
export class CachingLeases {
  private readonly held = new Map<string, HeldLease>();
  private readonly clock: () => number;
  private host: CachingHost | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The tick under way; ticks never overlap. */
  private stopped = false;

  constructor(private readonly options: CachingLeasesOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /** How often held leases are renewed and standbys look for accounts to take over. */
  get tickIntervalMs(): number {
    return Math.max(1, Math.floor(this.options.leaseMs / RENEWALS_PER_LEASE));
  }

  /** Who answers for this replica's sessions; set once, before the first tick. */
  setHost(host: CachingHost): void {
    this.host = host;
  }

  /** Ticks every `tickIntervalMs` until stop(). */
  start(): void {
    this.timer = setInterval(() => void this.tick(), this.tickIntervalMs);
    this.timer.unref();
  }

  /** Stops ticking and waits for the tick under way; the leases stay held (the replica's leave releases them). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.ticks.current;
  }

  /**
   * Claims the account for a session of this replica. Granted: this replica holds it at the returned
   * epoch (the same when the session already held it). Rejects when the database does.
   */
  async claim(account: string, session: CachingSessionRef): Promise<CachingClaim> {
    // Already held for this session (it declared the account again): the renewals keep it, and a lease
    // lost meanwhile is found by the next renewal or fenced batch.
    const held = this.held.get(account);
    if (held?.owner.sessionId === session.sessionId) return { granted: true, epoch: held.epoch };
    const owner = this.ownerOf(session);
    const claim = await this.options.store.claimCaching(account, owner, this.clock(), this.options.leaseMs);
    if (claim.granted) this.held.set(account, { owner, epoch: claim.epoch });
    return claim;
  }

  /** The epoch at which this replica holds the account for `sessionId`; undefined when it does not. */
  epoch(account: string, sessionId: string): number | undefined {
    const lease = this.held.get(account);
    return lease?.owner.sessionId === sessionId ? lease.epoch : undefined;
  }

  /** How many accounts this replica holds (the held-leases metric). */
  get heldCount(): number {
    return this.held.size;
  }

  /** Accounts this replica holds, with their sessions and epochs (diagnostics, tests). */
  heldAccounts(): Array<{ account: string; sessionId: string; epoch: number }> {
    return [...this.held].map(([account, lease]) => ({ account, sessionId: lease.owner.sessionId, epoch: lease.epoch }));
  }

  /** Whether another replica holds the account under a live lease (it is served there). Rejects when the database does. */
  async heldElsewhere(account: string): Promise<boolean> {
    const assignment = await this.options.store.getAssignment(account);
    return assignment !== undefined && assignment.hubId !== this.options.hubId && assignment.leaseExpiresAt > this.clock();
  }

  /**
   * Asks the database whether `sessionId` still holds the account at the epoch this replica knows; the
   * epoch when it does. When it does not, the account is lost here (as on a refused renewal). Rejects
   * when the database does.
   */
  async confirm(account: string, sessionId: string): Promise<number | undefined> {
    const lease = this.held.get(account);
    if (lease === undefined || lease.owner.sessionId !== sessionId) return undefined;
    const assignment = await this.options.store.getAssignment(account);
    if (assignment !== undefined && sameOwner(assignment, lease.owner) && assignment.epoch === lease.epoch) return lease.epoch;
    this.lost(account, sessionId, lease.epoch, `the database assigns it to ${describeHolder(assignment)}`);
    return undefined;
  }

  /**
   * The account, held for `sessionId` at `epoch`, is no longer this replica's (a renewal was refused, a
   * batch was fenced as stale): it is forgotten and the host stops the session caching it. A loss
   * reported for an epoch no longer held (the account was claimed again since) is ignored.
   */
  lost(account: string, sessionId: string, epoch: number, reason: string): void {
    const lease = this.held.get(account);
    if (lease === undefined || lease.owner.sessionId !== sessionId || lease.epoch !== epoch) return;
    this.held.delete(account);
    this.options.logger.warn({ account, sessionId, agentId: lease.owner.agentId, epoch, reason }, 'this replica lost caching of an account');
    this.host?.lose(account, sessionId, reason);
  }

  /** Gives back the account's lease if `sessionId` holds it. Never rejects: a lease not given back runs out. */
  async release(account: string, sessionId: string): Promise<void> {
    const lease = this.held.get(account);
    if (lease === undefined || lease.owner.sessionId !== sessionId) return;
    await this.giveBack(account, lease);
  }

  /** Gives back every lease `sessionId` holds (its session ended). Never rejects. */
  async releaseSession(sessionId: string): Promise<void> {
    const leases = [...this.held].filter(([, lease]) => lease.owner.sessionId === sessionId);
    await Promise.all(leases.map(([account, lease]) => this.giveBack(account, lease)));
  }

  /**
   * Renews the held leases, then takes over what standbys can. Never rejects. One at a time: asked for
   * while one runs, it runs once more after it (a session that ended during a pass is seen).
   */
  tick(): Promise<void> {
    return this.ticks.run();
  }

  private readonly ticks = new SerialPass(
    async () => {
      if (this.options.renew !== false) await this.renewAll();
      await this.takeOverReleased();
    },
    () => this.stopped,
  );

  private ownerOf(session: CachingSessionRef): CachingOwner {
    return { hubId: this.options.hubId, sessionId: session.sessionId, agentId: session.agentId };
  }

  private async giveBack(account: string, lease: HeldLease): Promise<void> {
    if (this.held.get(account) === lease) this.held.delete(account);
    try {
      await this.options.store.releaseCaching(account, lease.owner, lease.epoch);
    } catch (err) {
      this.options.logger.warn(
        { account, sessionId: lease.owner.sessionId, epoch: lease.epoch, err: errorMessage(err) },
        'cannot give a caching lease back; it runs out after accounts.cachingLeaseSeconds instead',
      );
    }
  }

  /**
   * Renews every held lease in one store call (two statements, whatever the number of accounts), then
   * drops each account the database no longer names this replica's session for, at the epoch held.
   */
  private async renewAll(): Promise<void> {
    const { store, leaseMs, logger, hubId } = this.options;
    const leases = [...this.held];
    if (leases.length === 0) return;
    const sessions = [...new Set(leases.map(([, lease]) => lease.owner.sessionId))];
    let renewed: Map<string, CachingAssignment>;
    try {
      renewed = new Map((await store.renewSessions(hubId, sessions, this.clock(), leaseMs)).map((a) => [a.account, a]));
    } catch (err) {
      // Not known to be lost: kept, and renewed at the next tick. Should another replica take them over
      // meanwhile, this replica's batches are refused by their epoch, which drops them then.
      logger.warn({ accounts: leases.length, err: errorMessage(err) }, 'cannot renew the caching leases; retrying at the next renewal');
      return;
    }
    for (const [account, lease] of leases) {
      // Claimed again or given back while the renewal ran: the newer state stands.
      if (this.held.get(account) !== lease) continue;
      const row = renewed.get(account);
      if (row !== undefined && sameOwner(row, lease.owner) && row.epoch === lease.epoch) continue;
      const holder = row ?? (await store.getAssignment(account).catch(() => undefined));
      this.lost(account, lease.owner.sessionId, lease.epoch, `its lease could not be renewed: the database assigns it to ${describeHolder(holder)}`);
    }
  }

  /** For each standby of this replica: claims the account if its lease was released or ran out, and hands it over. */
  private async takeOverReleased(): Promise<void> {
    const { store, logger } = this.options;
    const host = this.host;
    if (host === undefined || this.stopped) return;
    const standbys = host.standbys().filter((s) => !this.held.has(s.account));
    if (standbys.length === 0) return;
    let assignments: Map<string, CachingAssignment>;
    try {
      assignments = new Map((await store.listAssignments()).map((a) => [a.account, a]));
    } catch (err) {
      logger.warn({ err: errorMessage(err), standbys: standbys.length }, 'cannot read the caching assignments; standbys look again at the next tick');
      return;
    }
    for (const { account, session } of standbys) {
      if (this.stopped) return;
      const current = assignments.get(account);
      // Held by a live lease elsewhere: its holder renews it, or it runs out and a later tick claims it.
      if (current !== undefined && current.leaseExpiresAt > this.clock()) continue;
      try {
        const claim = await this.claim(account, session);
        if (!claim.granted) continue;
        logger.info(
          { account, agentId: session.agentId, sessionId: session.sessionId, epoch: claim.epoch, from: describeHolder(current) },
          'took caching of an account over: its former holder released it or stopped renewing it',
        );
        if (!host.takeOver(account, session)) await this.release(account, session.sessionId);
      } catch (err) {
        logger.warn(
          { account, agentId: session.agentId, err: errorMessage(err) },
          'cannot claim caching of an account for a standby; retrying at the next tick',
        );
      }
    }
  }
}
