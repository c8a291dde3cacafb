import type { StoredObject } from './stored-object.ts';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/**
 * One change in a cluster. `previous` is the object as it was before the change (absent for ADDED), which
 * lets a list page reconstruct the collection at an older resourceVersion and lets watches with selectors
 * tell "stopped matching" from "never matched".
 */
export interface ClusterEvent {
  readonly resourceVersion: number;
  readonly type: WatchEventType;
  readonly resource: string;
  /** The new state; for DELETED the last state, carrying the deletion's resourceVersion. */
  readonly object: StoredObject;
  readonly previous: StoredObject | undefined;
  /** The watch line for this event, built once on first use and shared by every watcher. */
  line?: string;
}

/**
 * The last `limit` events of a cluster in a ring buffer. Every write takes the next resourceVersion and
 * logs exactly one event, so the log covers a contiguous range and the event for a given resourceVersion
 * is found by arithmetic.
 */
export class EventLog {
  private readonly buffer: (ClusterEvent | undefined)[];
  private start = 0;
  private count = 0;
  /** The oldest resourceVersion after which every event is still known. */
  private floor: number;

  constructor(
    private readonly limit: number,
    currentResourceVersion = 0,
  ) {
    this.buffer = new Array<ClusterEvent | undefined>(limit);
    this.floor = currentResourceVersion;
  }

  append(event: ClusterEvent): void {
    if (this.limit === 0) {
      this.floor = event.resourceVersion;
      return;
    }
    if (this.count === this.limit) {
      const dropped = this.buffer[this.start]!;
      this.floor = dropped.resourceVersion;
      this.buffer[this.start] = undefined;
      this.start = (this.start + 1) % this.limit;
      this.count--;
    }
    this.buffer[(this.start + this.count) % this.limit] = event;
    this.count++;
  }

  /** The oldest resourceVersion from which the log can replay (events strictly after it are all kept). */
  get oldestResumable(): number {
    return this.floor;
  }

  /** Whether every event after `resourceVersion` is still in the log. */
  canResumeFrom(resourceVersion: number): boolean {
    return resourceVersion >= this.floor;
  }

  /** Events with resourceVersion > `after`, oldest first. The caller checks canResumeFrom first. */
  *since(after: number): Generator<ClusterEvent> {
    if (this.count === 0) return;
    const first = this.buffer[this.start]!.resourceVersion;
    const skip = Math.max(0, after + 1 - first);
    for (let i = skip; i < this.count; i++) yield this.buffer[(this.start + i) % this.limit]!;
  }

  /** Forgets all history up to `resourceVersion` (the compaction fault): older resumes then get 410. */
  compact(resourceVersion: number): void {
    while (this.count > 0 && this.buffer[this.start]!.resourceVersion <= resourceVersion) {
      this.buffer[this.start] = undefined;
      this.start = (this.start + 1) % this.limit;
      this.count--;
    }
    this.floor = Math.max(this.floor, resourceVersion);
  }
}
