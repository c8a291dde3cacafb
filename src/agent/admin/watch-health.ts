import type { ReflectorStatus } from '../../kube/reflector.ts';

const MS_PER_SECOND = 1000;

export interface StuckBounds {
  /** `health.reflectorStuckSeconds` in ms. */
  stuckMs: number;
  /** `kubernetes.reflector.stallTimeoutSeconds` in ms: how long a watch may legitimately stay silent. */
  stallTimeoutMs: number;
}

/**
 * Why a reflector counts as stuck at `now`, or undefined when it does not. Freshness is health: a
 * reflector is stuck when it should be making progress (events, bookmarks, completed lists, list pages)
 * and has not for longer than the bound.
 *
 * - queued, forbidden and stopped are never stuck: a queued list waits for others that are themselves
 *   bounded, and a kind the account may not read is reported (at /watches, /accounts), not unhealthy.
 * - failing (backoff, and every retry since) without progress for longer than the bound is stuck. The
 *   retry attempts in between (listing, watching) do not restart that clock, so a reflector whose
 *   every attempt fails does not flap between healthy and stuck.
 * - listing with no page for longer than the bound is stuck (a long list that keeps delivering pages is not).
 * - watching with no progress (event, bookmark, accepted or cleanly ended watch) for longer than the stall
 *   timeout plus the bound is stuck: a real API server sends a quiet kind no bookmark for many minutes but
 *   ends every watch at its timeoutSeconds (at most 10 min), well inside the stall timeout, so only a
 *   watch the server never ends runs into it; the reflector then restarts it and it counts as failing.
 */
export function stuckReason(status: ReflectorStatus, now: number, bounds: StuckBounds): string | undefined {
  if (status.state === 'queued' || status.state === 'forbidden' || status.state === 'stopped') return undefined;
  if (status.failingSince !== undefined && now - status.failingSince > bounds.stuckMs) {
    const cause = status.lastError ? `: ${status.lastError.message}` : '';
    return `failing for ${seconds(now - status.failingSince)} s without progress${cause}`;
  }
  if (status.state === 'listing') {
    const quietMs = now - Math.max(status.stateSince, status.lastListPageAt ?? 0);
    if (quietMs > bounds.stuckMs) return `listing with no page for ${seconds(quietMs)} s`;
  }
  if (status.state === 'watching') {
    const quietMs = now - Math.max(status.stateSince, status.lastProgressAt ?? 0);
    if (quietMs > bounds.stallTimeoutMs + bounds.stuckMs) return `watching with no event, bookmark or watch renewal for ${seconds(quietMs)} s`;
  }
  return undefined;
}

/**
 * Why the hub's copy of a feed counts as wrong at `now`, or undefined: its digest has differed from
 * what the agent sent for longer than the bound. The first mismatch triggers a resync that normally
 * heals it within one list; one that outlives the bound means the resync does not work.
 */
export function divergedReason(digest: { divergedSince?: number; divergences: number }, now: number, stuckMs: number): string | undefined {
  if (digest.divergedSince === undefined || now - digest.divergedSince <= stuckMs) return undefined;
  return `the hub's copy has differed from the agent's for ${seconds(now - digest.divergedSince)} s (${digest.divergences} digest mismatches) despite resyncs`;
}

/**
 * Why a feed counts as unverified at `now`, or undefined: no digest of it has matched the hub's copy
 * for longer than the bound since the agent (re)connected. The agent sends every feed's digest right
 * after a reconnect; a feed still listing (its own stuck rule applies), completing its record with a
 * verification list, or whose versions cannot be ordered (reported at /watches) is not held to it.
 */
export function unmatchedReason(
  digest: { unmatchedSince?: number; verifying?: boolean; unverifiable?: string },
  reflector: ReflectorStatus,
  now: number,
  stuckMs: number,
): string | undefined {
  if (digest.unmatchedSince === undefined || digest.verifying || digest.unverifiable !== undefined) return undefined;
  if (reflector.state !== 'watching') return undefined;
  if (now - digest.unmatchedSince <= stuckMs) return undefined;
  return `no digest has matched the hub's copy since the reconnect ${seconds(now - digest.unmatchedSince)} s ago`;
}

/**
 * How long the feed may have missed changes, in seconds: 0 while a watch the server accepted is open and
 * within its deadline (any change would arrive on it, whether or not one did), else the time since the
 * last sign of progress (event, bookmark, completed list, accepted or cleanly ended watch); undefined
 * before the first.
 */
export function freshnessSeconds(status: ReflectorStatus, now: number): number | undefined {
  if (status.state === 'watching' && status.watchOpenUntil !== undefined && now <= status.watchOpenUntil) return 0;
  return status.lastProgressAt === undefined ? undefined : Math.max(0, (now - status.lastProgressAt) / MS_PER_SECOND);
}

function seconds(ms: number): number {
  return Math.round(ms / MS_PER_SECOND);
}
