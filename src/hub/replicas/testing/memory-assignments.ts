import type { AssignmentStore, CachingAssignment, CachingClaim, CachingOwner, ReplicaRecord, ReplicaStore } from '../../store/types.ts';

type AssignmentCall = keyof AssignmentStore;

function sameOwner(a: CachingOwner, b: CachingOwner): boolean {
  return a.hubId === b.hubId && a.sessionId === b.sessionId && a.agentId === b.agentId;
}

/**
 * The AssignmentStore contract (store/types.ts) in memory, for tests of the leases and the session
 * handler: one instance is one shared database, so several CachingLeases over it are several replicas.
 * `failures` makes the next calls of a method reject as a broken database does.
 */
export class MemoryAssignmentStore implements AssignmentStore {
  private readonly rows = new Map<string, CachingAssignment>();
  readonly failures: Partial<Record<AssignmentCall, number>> = {};
  readonly calls: Partial<Record<AssignmentCall, number>> = {};

  private call(name: AssignmentCall): void {
    this.calls[name] = (this.calls[name] ?? 0) + 1;
    const left = this.failures[name] ?? 0;
    if (left <= 0) return;
    this.failures[name] = left - 1;
    throw new Error(`${name} failed: connection lost`);
  }

  async claimCaching(account: string, owner: CachingOwner, now: number, leaseMs: number): Promise<CachingClaim> {
    this.call('claimCaching');
    const current = this.rows.get(account);
    if (current !== undefined && sameOwner(current, owner) && current.leaseExpiresAt !== 0) {
      current.leaseExpiresAt = now + leaseMs;
      return { granted: true, epoch: current.epoch };
    }
    if (current !== undefined && now < current.leaseExpiresAt) return { granted: false, holder: { ...current } };
    const epoch = (current?.epoch ?? 0) + 1;
    this.rows.set(account, { account, ...owner, epoch, leaseExpiresAt: now + leaseMs });
    return { granted: true, epoch };
  }

  async renewSessions(hubId: string, sessionIds: readonly string[], now: number, leaseMs: number): Promise<CachingAssignment[]> {
    this.call('renewSessions');
    const held = [...this.rows.values()].filter((r) => r.hubId === hubId && sessionIds.includes(r.sessionId) && r.leaseExpiresAt !== 0);
    for (const row of held) row.leaseExpiresAt = now + leaseMs;
    return held.map((r) => ({ ...r }));
  }

  async releaseCaching(account: string, owner: CachingOwner, epoch: number): Promise<void> {
    this.call('releaseCaching');
    const current = this.rows.get(account);
    if (current !== undefined && sameOwner(current, owner) && current.epoch === epoch) current.leaseExpiresAt = 0;
  }

  async releaseReplica(hubId: string): Promise<number> {
    this.call('releaseReplica');
    let released = 0;
    for (const row of this.rows.values()) {
      if (row.hubId !== hubId || row.leaseExpiresAt === 0) continue;
      row.leaseExpiresAt = 0;
      released++;
    }
    return released;
  }

  async getAssignment(account: string): Promise<CachingAssignment | undefined> {
    this.call('getAssignment');
    const row = this.rows.get(account);
    return row === undefined ? undefined : { ...row };
  }

  async listAssignments(): Promise<CachingAssignment[]> {
    this.call('listAssignments');
    return [...this.rows.values()].map((r) => ({ ...r })).sort((a, b) => a.account.localeCompare(b.account));
  }
}

/** The ReplicaStore contract in memory. */
export class MemoryReplicaStore implements ReplicaStore {
  private readonly rows = new Map<string, ReplicaRecord>();

  async heartbeat(replica: Omit<ReplicaRecord, 'heartbeatAt'>, now: number): Promise<void> {
    this.rows.set(replica.hubId, { ...replica, heartbeatAt: now });
  }

  async listReplicas(): Promise<ReplicaRecord[]> {
    return [...this.rows.values()].map((r) => ({ ...r })).sort((a, b) => b.heartbeatAt - a.heartbeatAt);
  }

  async removeReplica(hubId: string): Promise<void> {
    this.rows.delete(hubId);
  }

  async pruneReplicas(heartbeatBefore: number): Promise<number> {
    const gone = [...this.rows.values()].filter((r) => r.heartbeatAt < heartbeatBefore);
    for (const r of gone) this.rows.delete(r.hubId);
    return gone.length;
  }
}

/** A clock tests move by hand. */
export class ManualClock {
  constructor(public nowMs = 1_000_000) {}

  readonly now = (): number => this.nowMs;

  advance(ms: number): void {
    this.nowMs += ms;
  }
}
