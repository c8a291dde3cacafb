import { Errors, ScaleAgentError } from '../../common/errors.ts';

/** What a busy answer tells the caller to wait: fetches of manifests take a moment, not minutes. */
export const FETCH_BUSY_RETRY_AFTER_SECONDS = 1;

export interface FetchSlotLimits {
  /** Fetches running at once (artifacts.maxConcurrentFetches). */
  maxConcurrent: number;
  /** Fetches waiting for a slot (artifacts.maxQueuedFetches). */
  maxQueued: number;
  /** What the slots are for and the keys that bound them, for the busy message (the artifact fetch slots by default). */
  label?: { what: string; maxConcurrentKey: string; maxQueuedKey: string };
}

const DEFAULT_LABEL = { what: 'artifact fetches', maxConcurrentKey: 'artifacts.maxConcurrentFetches', maxQueuedKey: 'artifacts.maxQueuedFetches' };

interface Waiter {
  grant(): void;
}

/**
 * The hub's upstream fetch slots: each fetch holds its body (up to artifacts.maxBytes) until it is
 * answered, so without a bound a burst of fetches of large artifacts takes the hub's memory (24 at once
 * were +735 MiB). A fetch takes a slot or waits in a short queue, first come first served; with the
 * queue full, or after waiting `waitMs`, it is refused at once with ARTIFACT_FETCH_BUSY (503,
 * Retry-After) rather than left to pile up.
 */
export class FetchSlots {
  private active = 0;
  private readonly waiting: Waiter[] = [];

  constructor(private readonly limits: FetchSlotLimits) {}

  /** Fetches running now (tests, metrics). */
  running(): number {
    return this.active;
  }

  /** Fetches waiting now. */
  queued(): number {
    return this.waiting.length;
  }

  /**
   * A slot, as the function that gives it back (once; further calls do nothing). A caller whose own
   * deadline (`signal`) passes while it waits leaves the queue with ARTIFACT_FETCH_TIMEOUT.
   */
  acquire(waitMs: number, signal?: AbortSignal): Promise<() => void> {
    const label = this.limits.label ?? DEFAULT_LABEL;
    if (signal?.aborted === true) return Promise.reject(deadlinePassed(label.what));
    if (this.active < this.limits.maxConcurrent) {
      this.active += 1;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.limits.maxQueued) {
      return Promise.reject(
        busy(
          `${this.active} ${label.what} are running (${label.maxConcurrentKey}) and ${this.waiting.length} waiting (${label.maxQueuedKey}); try again shortly`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const leave = (err: ScaleAgentError) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', aborted);
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(err);
      };
      const aborted = () => leave(deadlinePassed(label.what));
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', aborted);
          resolve(this.releaser());
        },
      };
      const timer = setTimeout(
        () => leave(busy(`no slot for ${label.what} freed within ${waitMs} ms (${label.maxConcurrentKey}: ${this.limits.maxConcurrent}); try again shortly`)),
        waitMs,
      );
      signal?.addEventListener('abort', aborted, { once: true });
      this.waiting.push(waiter);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter: `active` stays as it is.
      if (next !== undefined) next.grant();
      else this.active -= 1;
    };
  }
}

function busy(message: string): ScaleAgentError {
  return new ScaleAgentError(Errors.ARTIFACT_FETCH_BUSY, message, { retryAfterSeconds: FETCH_BUSY_RETRY_AFTER_SECONDS });
}

function deadlinePassed(what: string): ScaleAgentError {
  return new ScaleAgentError(Errors.ARTIFACT_FETCH_TIMEOUT, `the fetch's deadline passed while it waited for a slot (${what})`, {});
}
