/**
 * How many bytes of batches every Sync stream of the agent together may have sent and not yet had
 * acknowledged. Each stream also keeps its own `maxUnackedBatches`; this bound is across accounts: an
 * agent with a thousand accounts would otherwise put up to 4 × 1 MiB per account in flight at once —
 * gigabytes of encoded batches queued in gRPC's buffers while the hub commits them one after another,
 * which adds latency, not throughput, and leaves the process's memory high after the initial sync.
 * Changes that cannot be sent yet stay coalescing in their feed queues.
 *
 * 4 MiB is about a tenth of a second of what one hub commits on an initial sync, which keeps it busy.
 * The encoded batches in flight are buffers outside the V8 heap; with 16 MiB they waited long enough to
 * be promoted, and every 64 MiB of them made V8 mark the whole heap (docs/performance.md, "scale").
 *
 * Streams that were refused are woken in the order they asked once room frees up, so no account waits
 * on others forever; a batch larger than the whole window goes alone when nothing else is in flight.
 */
export const DEFAULT_SEND_WINDOW_BYTES = 4 * 1024 * 1024;
/** Below this much room a stream with batches in flight waits rather than send a small batch. */
export const MIN_SEND_ROOM_BYTES = 256 * 1024;

export class SendWindow {
  private used = 0;
  /** Streams waiting for room, in the order they asked (a Set keeps insertion order). */
  private readonly waiting = new Set<() => void>();

  constructor(readonly limitBytes: number = DEFAULT_SEND_WINDOW_BYTES) {}

  get inFlightBytes(): number {
    return this.used;
  }

  /**
   * How many bytes the caller's next batch may carry: what is left of the window, up to `wanted` — or 0,
   * and `wake` is called once room frees up (the window is not empty then: something in flight will be
   * acknowledged and release its bytes). Streams that already wait are served first.
   */
  room(wanted: number, wake: () => void): number {
    if (this.used === 0) {
      this.waiting.delete(wake);
      return wanted;
    }
    const left = this.limitBytes - this.used;
    const first = this.waiting.size === 0 || this.waiting.values().next().value === wake;
    if (first && left >= Math.min(wanted, MIN_SEND_ROOM_BYTES)) {
      this.waiting.delete(wake);
      return Math.min(wanted, left);
    }
    this.waiting.add(wake);
    return 0;
  }

  acquire(bytes: number): void {
    this.used += bytes;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
    // Wake as many waiters, oldest first, as the room left could serve with a batch each; they stay in
    // line (and keep their turn) until they take their room.
    let room = this.limitBytes - this.used;
    for (const wake of this.waiting) {
      if (room < MIN_SEND_ROOM_BYTES && this.used > 0) break;
      room -= MIN_SEND_ROOM_BYTES;
      wake();
    }
  }

  /** A stream that closes stops waiting. */
  forget(wake: () => void): void {
    this.waiting.delete(wake);
  }
}

/** The window every Sync stream of this process shares unless given its own (one agent per process). */
export const processSendWindow = new SendWindow();
