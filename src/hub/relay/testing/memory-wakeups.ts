import type { RelayEvent, RelayWakeups } from '../relay-wakeups.ts';

/** Long enough that a started relay's own poll and sweep timers never fire during a test. */
export const NEVER_MS = 3_600_000;

/**
 * LISTEN/NOTIFY in memory, for tests of several relays: every endpoint started on the bus hears every
 * event published on it, its publisher's own included, as PostgreSQL delivers them. Delivery is later
 * than the publish (a macrotask), as a notification crosses the network; `idle()` waits until every
 * event published so far has been delivered. `gap()` tells every endpoint that events may have been
 * lost, as a reconnection does.
 */
export class WakeupBus {
  readonly published: Array<{ from: string; event: RelayEvent }> = [];
  private readonly endpoints = new Set<MemoryWakeups>();
  private readonly deliveries = new Set<Promise<void>>();

  /** An endpoint for one replica (`name` only labels what it publishes). */
  endpoint(name: string, pollIntervalMs = NEVER_MS): MemoryWakeups {
    return new MemoryWakeups(this, name, pollIntervalMs);
  }

  gap(): void {
    for (const endpoint of [...this.endpoints]) endpoint.gap();
  }

  async idle(): Promise<void> {
    while (this.deliveries.size > 0) await Promise.all([...this.deliveries]);
  }

  /** @internal */
  attach(endpoint: MemoryWakeups): void {
    this.endpoints.add(endpoint);
  }

  /** @internal */
  detach(endpoint: MemoryWakeups): void {
    this.endpoints.delete(endpoint);
  }

  /** @internal */
  send(from: string, event: RelayEvent): void {
    this.published.push({ from, event });
    const delivery = new Promise<void>((resolve) =>
      setImmediate(() => {
        for (const endpoint of [...this.endpoints]) endpoint.deliver(event);
        resolve();
      }),
    );
    this.deliveries.add(delivery);
    void delivery.finally(() => this.deliveries.delete(delivery));
  }
}

export class MemoryWakeups implements RelayWakeups {
  private onEvent: ((event: RelayEvent) => void) | undefined;
  private onGap: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly bus: WakeupBus,
    readonly name: string,
    readonly pollIntervalMs: number,
  ) {}

  async start(onEvent: (event: RelayEvent) => void, onGap: () => void): Promise<void> {
    if (this.closed) return;
    this.onEvent = onEvent;
    this.onGap = onGap;
    this.bus.attach(this);
  }

  async publish(event: RelayEvent): Promise<void> {
    if (!this.closed) this.bus.send(this.name, event);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.bus.detach(this);
  }

  /** @internal */
  deliver(event: RelayEvent): void {
    if (!this.closed) this.onEvent?.(event);
  }

  /** @internal */
  gap(): void {
    if (!this.closed) this.onGap?.();
  }
}
