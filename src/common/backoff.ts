/**
 * Exponential backoff with jitter, in the manner of client-go's reflector and grpc-js's BackoffTimeout.
 * The delay grows from `initialMs` by `multiplier` up to `maxMs`; each delay is spread by ±jitter so that
 * many clients do not retry in lockstep; after `resetAfterMs` of health the next failure starts over.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  multiplier: number;
  /** Fraction of the delay, 0..1, by which it is randomised either way. */
  jitter: number;
  /** A success this long after the last failure resets the backoff. */
  resetAfterMs: number;
}

export class Backoff {
  private current: number;
  private lastFailureAt = 0;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {
    this.current = options.initialMs;
  }

  /** The delay before the next attempt, after a failure. */
  next(now: number = Date.now()): number {
    if (this.lastFailureAt > 0 && now - this.lastFailureAt > this.options.resetAfterMs) this.current = this.options.initialMs;
    this.lastFailureAt = now;
    const base = this.current;
    this.current = Math.min(this.options.maxMs, this.current * this.options.multiplier);
    const spread = base * this.options.jitter * (this.random() * 2 - 1);
    return Math.max(0, Math.round(base + spread));
  }

  reset(): void {
    this.current = this.options.initialMs;
    this.lastFailureAt = 0;
  }
}
