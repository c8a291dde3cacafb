import type { AccountRecord } from './store/types.ts';

/** What the freshness of an account is computed from: its row, and what this replica heard of it. */
export interface FreshnessInputs {
  now: number;
  /** This replica's id. */
  hubId: string;
  accounts: ReadonlyArray<Pick<AccountRecord, 'name' | 'status' | 'hubId' | 'lastSeenAt'>>;
  /** When this replica last committed a batch of the account (undefined: not since it started). */
  lastCommitAt(account: string): number | undefined;
  /** When the session caching the account at this replica last sent anything (undefined: no session here caches it). */
  cachingHeartbeatAt(account: string): number | undefined;
}

const MS_PER_SECOND = 1000;

/**
 * Seconds since the hub last knew an account's cache to be current, per account this replica answers
 * for. A session here caches it: since its last committed batch or its session's last message (ping
 * included), whichever is later — a live session with nothing to send is a current cache. Nothing
 * caches it (its agent is gone, or cannot reach the cluster) and it was served here or by no replica:
 * since its last commit here or its agent was last seen, whichever is later — a number that grows until
 * an agent serves it again or the grace period removes it. An account another replica serves is that replica's
 * to report, so with several replicas every account appears at one of them (at each, while no replica
 * serves it: take `min by (account)`).
 */
export function accountFreshness(inputs: FreshnessInputs): Map<string, number> {
  const out = new Map<string, number>();
  const age = (since: number) => Math.max(0, (inputs.now - since) / MS_PER_SECOND);
  for (const account of inputs.accounts) {
    const committed = inputs.lastCommitAt(account.name);
    const heartbeat = inputs.cachingHeartbeatAt(account.name);
    if (heartbeat !== undefined) {
      out.set(account.name, age(Math.max(heartbeat, committed ?? 0)));
      continue;
    }
    const servedElsewhere = account.status === 'connected' && account.hubId !== null && account.hubId !== inputs.hubId;
    if (servedElsewhere) continue;
    out.set(account.name, age(Math.max(committed ?? 0, account.lastSeenAt)));
  }
  return out;
}
