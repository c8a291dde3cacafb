import type { ClusterEvent } from '../event-log.ts';
import { StatusError } from '../status.ts';
import type { ControllerContext, Reconciler } from './controller-context.ts';

/** Delay before retrying a reconcile that lost a race (409) or found its object mid-change. */
const RETRY_DELAY_MS = 50;

/**
 * Runs a cluster's controllers: every change is mapped to the keys each controller cares about, queued
 * without duplicates, and reconciled on a later turn of the event loop — so a write returns before any
 * controller reacts, as with a real API server.
 */
export class ControllerManager {
  private readonly pending = new Map<Reconciler, Set<string>>();
  private scheduled = false;

  constructor(
    private readonly context: ControllerContext,
    private readonly reconcilers: Reconciler[],
  ) {}

  observe(event: ClusterEvent): void {
    for (const reconciler of this.reconcilers) {
      for (const key of reconciler.keysFor(event)) this.enqueue(reconciler, key);
    }
  }

  enqueue(reconciler: Reconciler, key: string): void {
    let keys = this.pending.get(reconciler);
    if (keys === undefined) this.pending.set(reconciler, (keys = new Set()));
    keys.add(key);
    if (!this.scheduled) {
      this.scheduled = true;
      this.context.scheduler.soon(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const batch = [...this.pending];
    this.pending.clear();
    for (const [reconciler, keys] of batch) {
      for (const key of keys) {
        try {
          reconciler.reconcile(key);
        } catch (err) {
          if (err instanceof StatusError && (err.code === 409 || err.code === 404)) {
            this.context.scheduler.after(RETRY_DELAY_MS, () => this.enqueue(reconciler, key));
          } else {
            this.context.logger.error({ controller: reconciler.name, key, err: (err as Error).message }, 'reconcile failed');
          }
        }
      }
    }
  }
}
