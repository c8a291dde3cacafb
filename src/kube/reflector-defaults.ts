import type { BackoffOptions } from '../common/backoff.ts';

/** Items per list page (client-go's pager default, and what the Armory agent uses). */
export const DEFAULT_PAGE_SIZE = 500;

/**
 * Each watch asks the server to end it after a random time in [min, max] seconds (client-go: 5-10 min), so
 * thousands of watches do not reconnect in the same second.
 */
export const DEFAULT_WATCH_TIMEOUT_MIN_SECONDS = 300;
export const DEFAULT_WATCH_TIMEOUT_MAX_SECONDS = 600;

/**
 * A watch that delivers nothing (no event, no bookmark) for this long is presumed stalled and restarted.
 * The API server sends bookmarks about once a minute when asked, so 15 min of silence is not a quiet feed.
 */
export const DEFAULT_STALL_TIMEOUT_MS = 15 * 60 * 1000;

/**
 * client-go's reflector backoff: 800 ms doubling to 30 s, reset after 2 min without failures. Jitter is ±50%
 * (client-go adds up to +100%; ours is symmetric, and a delay near zero would defeat the backoff).
 */
export const DEFAULT_REFLECTOR_BACKOFF: BackoffOptions = {
  initialMs: 800,
  maxMs: 30_000,
  multiplier: 2,
  jitter: 0.5,
  resetAfterMs: 2 * 60 * 1000,
};

/**
 * A watch closed this soon with nothing delivered is treated as a failure (client-go's "very short watch"),
 * so a proxy that drops watches at once cannot drive a reconnect loop without backoff.
 */
export const MIN_HEALTHY_WATCH_MS = 1000;

/** A list page may take longer than an ordinary request; the API server's own limit is 60 s. */
export const LIST_PAGE_TIMEOUT_MS = 60_000;

/** Continue tokens that expire mid-list restart the list at once this many times before backing off. */
export const LIST_CONTINUE_RESTART_LIMIT = 2;

/**
 * A kind the account may not list or watch (403), or that the server no longer serves (404), is retried
 * this rarely once the first few ordinary retries have failed: permissions change by hand, not in
 * seconds, and a hot loop of refused requests only fills the API server's audit log.
 */
export const DEFAULT_FORBIDDEN_RETRY_MS = 5 * 60 * 1000;

/** Refusals retried on the ordinary backoff before the slow forbidden schedule takes over (a role binding may just be arriving). */
export const FORBIDDEN_FAST_RETRIES = 2;

/** Spread of the slow forbidden retry, as a fraction either way, so refused kinds do not all retry together. */
export const FORBIDDEN_RETRY_JITTER = 0.2;
