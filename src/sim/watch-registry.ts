import type { ClusterEvent } from './event-log.ts';

/** Something receiving a cluster's events for one resource (an open watch stream). */
export interface Watcher {
  readonly resource: string;
  deliver(event: ClusterEvent): void;
  /** Ends the stream cleanly (the drop-watches fault, a deleted kind, shutdown). */
  close(): void;
}

/**
 * The open watches of one cluster, grouped by resource so that dispatching an event costs O(watchers of
 * that resource) and not O(all watches).
 */
export class WatchRegistry {
  private readonly byResource = new Map<string, Set<Watcher>>();
  private total = 0;

  get size(): number {
    return this.total;
  }

  add(watcher: Watcher): void {
    let set = this.byResource.get(watcher.resource);
    if (set === undefined) this.byResource.set(watcher.resource, (set = new Set()));
    if (!set.has(watcher)) {
      set.add(watcher);
      this.total++;
    }
  }

  remove(watcher: Watcher): void {
    const set = this.byResource.get(watcher.resource);
    if (set?.delete(watcher)) {
      this.total--;
      if (set.size === 0) this.byResource.delete(watcher.resource);
    }
  }

  dispatch(event: ClusterEvent): void {
    const set = this.byResource.get(event.resource);
    if (set === undefined) return;
    for (const watcher of set) watcher.deliver(event);
  }

  /** Closes the watches of one resource, or all of them. */
  closeAll(resource?: string): number {
    const sets = resource === undefined ? [...this.byResource.values()] : [this.byResource.get(resource) ?? new Set<Watcher>()];
    let closed = 0;
    for (const set of sets) {
      for (const watcher of [...set]) {
        watcher.close();
        this.remove(watcher);
        closed++;
      }
    }
    return closed;
  }
}
