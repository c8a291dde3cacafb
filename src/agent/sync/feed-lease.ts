import type { PendingEntry } from './feed-queue.ts';

/** What the queue that issued a lease does when its holder settles it. */
export interface LeaseSettlement {
  acknowledge(lease: FeedLease): void;
  requeue(lease: FeedLease): void;
}

/**
 * Entries a feed queue handed to one batch, on their way to the hub, with the progress that is safe once
 * they are committed. The holder settles it exactly once: ack() when the hub acknowledged the batch,
 * requeue() when the batch was lost (its stream broke); until then the queue counts the entries as in
 * flight. What settling does, and what a repeated or late call does, is FeedQueue's to define (see take()).
 */
export class FeedLease {
  constructor(
    /** In take order; an upsert's body is the queue's, not to be changed. */
    readonly entries: readonly PendingEntry[],
    /** What the entries cost on the wire, as the batch budget counts it. */
    readonly bytes: number,
    /** The resume point the hub may record once the entries are committed; undefined when unchanged. */
    readonly progress: string | undefined,
    private readonly settlement: LeaseSettlement,
  ) {}

  /** Whether the lease carries nothing for the hub (no entries, no progress). */
  get isEmpty(): boolean {
    return this.entries.length === 0 && this.progress === undefined;
  }

  /** The hub committed the batch holding these entries. */
  ack(): void {
    this.settlement.acknowledge(this);
  }

  /** The batch holding these entries was lost: they go back to the queue, ahead of newer changes. */
  requeue(): void {
    this.settlement.requeue(this);
  }
}
