import type { AgentSession } from './agent-session.ts';

/**
 * Who serves which account on this hub replica. Several agent replicas may declare the same account:
 * all of them can run its operations, at most one caches it (the first to connect); when that one goes
 * away, caching moves to another. Across hub replicas the database has the last word (replicas/
 * caching-leases.ts): a session the registry picks caches only once its claim is granted, and is
 * released here when the claim is refused or the lease lost, which leaves the account with standbys only.
 */
export class SessionRegistry {
  private readonly sessions = new Map<string, AgentSession>();
  /** account → sessions declaring it, oldest first. */
  private readonly byAccount = new Map<string, AgentSession[]>();
  /** account → the session caching it. */
  private readonly caching = new Map<string, AgentSession>();

  add(session: AgentSession): void {
    this.sessions.set(session.id, session);
  }

  get(id: string): AgentSession | undefined {
    return this.sessions.get(id);
  }

  all(): AgentSession[] {
    return [...this.sessions.values()];
  }

  /** Declares that a session serves an account; returns true when it should also cache it. */
  attach(session: AgentSession, account: string): boolean {
    session.accounts.add(account);
    const list = this.byAccount.get(account) ?? [];
    if (!list.includes(session)) list.push(session);
    this.byAccount.set(account, list);
    const current = this.caching.get(account);
    if (current && !current.isClosed) return current === session;
    this.caching.set(account, session);
    return true;
  }

  detach(session: AgentSession, account: string): AgentSession | undefined {
    session.accounts.delete(account);
    const list = (this.byAccount.get(account) ?? []).filter((s) => s !== session);
    if (list.length > 0) this.byAccount.set(account, list);
    else this.byAccount.delete(account);
    if (this.caching.get(account) !== session) return undefined;
    this.caching.delete(account);
    const next = list.find((s) => !s.isClosed);
    if (next) this.caching.set(account, next);
    return next;
  }

  /**
   * Removes a session; returns, per account it cached, the session that takes over caching (if any),
   * and the accounts no session serves any more.
   */
  remove(session: AgentSession): { handovers: Array<{ account: string; to: AgentSession }>; orphaned: string[] } {
    this.sessions.delete(session.id);
    const handovers: Array<{ account: string; to: AgentSession }> = [];
    const orphaned: string[] = [];
    for (const account of [...session.accounts]) {
      const next = this.detach(session, account);
      if (next) handovers.push({ account, to: next });
      if (!this.byAccount.has(account)) orphaned.push(account);
    }
    return { handovers, orphaned };
  }

  /** `session` stops caching the account here (its claim was refused, its lease lost); the account's sessions stand by. */
  release(account: string, session: AgentSession): void {
    if (this.caching.get(account) === session) this.caching.delete(account);
  }

  /** Makes `session` the account's caching session (a takeover was granted); false when it no longer serves the account. */
  assign(account: string, session: AgentSession): boolean {
    if (session.isClosed || !session.accounts.has(account) || this.sessions.get(session.id) !== session) return false;
    this.caching.set(account, session);
    return true;
  }

  /** Per account that live sessions serve while none caches it: the session that would take caching over (the oldest). */
  standbys(): Array<{ account: string; session: AgentSession }> {
    const out: Array<{ account: string; session: AgentSession }> = [];
    for (const [account, list] of this.byAccount) {
      if (this.cachingSession(account) !== undefined) continue;
      const next = list.find((s) => !s.isClosed);
      if (next !== undefined) out.push({ account, session: next });
    }
    return out;
  }

  cachingSession(account: string): AgentSession | undefined {
    const session = this.caching.get(account);
    return session && !session.isClosed ? session : undefined;
  }

  /** A session able to run an operation for the account: the caching one first (its cache barrier is exact). */
  operationSession(account: string): AgentSession | undefined {
    const caching = this.cachingSession(account);
    if (caching) return caching;
    return (this.byAccount.get(account) ?? []).find((s) => !s.isClosed);
  }

  isServed(account: string): boolean {
    return this.operationSession(account) !== undefined;
  }
}
