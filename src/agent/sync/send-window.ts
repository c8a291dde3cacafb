/**
 * How many bytes of batches every Sync stream of the agent together may have sent and not yet had
 * acknowledged. Each stream also keeps its own `maxUnackedBatches`; this bound is across accounts: an
 * agent with a thousand accounts would otherwise put up to 4 × 1 MiB per account in flight at once —
 * gigabytes of encoded batches queued in gRPC's buffers while the hub commits them one after another,
 * which adds latency, not throughput, and leaves the process's memory high after the initial sync.
 * Changes that cannot be sent yet stay coalescing in their feed queues.
 *
 * A stream may always send one batch when it has nothing in flight, so no account ever waits on others
 * forever; beyond that, streams that were refused are woken in the order they asked once room frees up.
 */
export const DEFAULT_SEND_WINDOW_BYTES = 16 * 1024 * 1024;
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
   * How many bytes the caller's next batch may carry: all it wants when it has nothing in flight (so it
   * never depends on others), else what is left of the window — or 0, and `wake` is called once room
   * frees up. Every waiter has a batch in flight, whose acknowledgement wakes it anyway.
   */
  room(wanted: number, callerInFlight: number, wake: () => void): number {
    if (callerInFlight === 0) return wanted;
    const left = this.limitBytes - this.used;
    if (left >= Math.min(wanted, MIN_SEND_ROOM_BYTES)) {
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
    // Wake as many waiters, oldest first, as the room left could serve with a batch each.
    let room = this.limitBytes - this.used;
    for (const wake of this.waiting) {
      if (room < MIN_SEND_ROOM_BYTES) break;
      this.waiting.delete(wake);
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
