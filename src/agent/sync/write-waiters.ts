/**
 * Read-your-writes: operations waiting until the hub has committed a state of an object they wrote — a
 * resourceVersion, or the object's deletion. A waiter rides on the feed entry that carries that state
 * (`carrier.waiters`), moves with it as it coalesces, and is resolved when the batch holding it is
 * acknowledged (settleCarrier). Until the feed has observed that state, it waits here by object key.
 * Every waiter resolves false once its timeout passes, wherever it is; it resolves at most once.
 *
 * Which commit satisfies a waiter. A waiter boards only an entry that carries exactly its state (or, through
 * the write journal, the entry that replaced a version the feed is known to have passed). From then on
 * it follows its object through the feed: whenever its entry gives way to a newer state of the same object
 * — coalesced by a newer event, dropped at a requeue because a newer change is pending, an upsert replaced
 * by a delete or a deletion by a recreation — it moves to the entry that replaces it (handOver), and the
 * commit of that entry satisfies it. A feed delivers an object's states in order, and the hub keeps the
 * last state per object, so once the newer state is committed the hub is at least as far along the
 * object's history as the write: a read shows the write or something that came after it, never what came
 * before. That is read-your-writes. A deletion is waited for by object key (the waiter knows no uid): a
 * recreation that follows it is such a later state, as the hub holding the new object has dropped the
 * old one. Nothing else satisfies a waiter: an entry of another object, a state the feed observed
 * before the write, or a state the hub never receives — when a feed is dropped, only the waiters
 * following a deletion are satisfied (the feedDropped marker deletes the object at the hub too); the
 * others are answered false (FeedQueue.drop()).
 */

/** Someone (an operation) waiting until the hub has committed a given state of an object. */
export interface SyncWaiter {
  /** The resourceVersion the write returned; undefined when waiting for the object's deletion. */
  readonly resourceVersion: string | undefined;
  resolve: (synced: boolean) => void;
}

/** What a waiter can ride on: an entry of a feed on its way to the hub. */
export interface WaiterCarrier {
  readonly type: string;
  readonly resourceVersion?: string;
  waiters?: SyncWaiter[];
}

/** Whether `carrier` stands for the state a waiter wants: its resourceVersion, or (undefined) the object's deletion. */
export function carriesState(carrier: WaiterCarrier, resourceVersion: string | undefined): boolean {
  if (resourceVersion === undefined) return carrier.type === 'delete';
  return carrier.type !== 'delete' && carrier.resourceVersion === resourceVersion;
}

export function board(carrier: WaiterCarrier, waiter: SyncWaiter): void {
  (carrier.waiters ??= []).push(waiter);
}

/**
 * `from` gives way to `to`, a newer state of the same object (or the marker that supersedes it): its
 * waiters ride on `to` from now on.
 */
export function handOver(from: WaiterCarrier, to: WaiterCarrier): void {
  if (from.waiters === undefined || from === to) return;
  if (to.waiters === undefined) to.waiters = from.waiters;
  else to.waiters.push(...from.waiters);
  from.waiters = undefined;
}

/** The state `carrier` stands for will never reach the hub: everyone riding on it is answered "not synced" now. */
export function abandonCarrier(carrier: WaiterCarrier): void {
  if (carrier.waiters) for (const waiter of carrier.waiters) waiter.resolve(false);
  carrier.waiters = undefined;
}

/** The hub committed `carrier`: everyone riding on it is done. */
export function settleCarrier(carrier: WaiterCarrier): void {
  if (carrier.waiters) for (const waiter of carrier.waiters) waiter.resolve(true);
  carrier.waiters = undefined;
}

export class WriteWaiters {
  /** Waiters for states the feed has not observed yet, by object key. */
  private readonly unobserved = new Map<string, SyncWaiter[]>();

  /** How many waiters wait for a state not observed yet. */
  get unobservedCount(): number {
    let n = 0;
    for (const list of this.unobserved.values()) n += list.length;
    return n;
  }

  /**
   * A waiter for state `resourceVersion` of object `key` (undefined: its deletion), resolving true once
   * the hub has committed it and false after `timeoutMs`. `boardExisting` is offered the waiter first and
   * returns true when it put it on an entry already carrying that state; otherwise the waiter waits here
   * until observed() hands it to the entry that brings the state.
   */
  wait(key: string, resourceVersion: string | undefined, timeoutMs: number, boardExisting: (waiter: SyncWaiter) => boolean): Promise<boolean> {
    return new Promise((resolve) => {
      let settled = false;
      const waiter: SyncWaiter = {
        resourceVersion,
        resolve: (synced) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(synced);
        },
      };
      const timer = setTimeout(() => {
        this.remove(key, waiter);
        waiter.resolve(false);
      }, timeoutMs);
      if (boardExisting(waiter)) return;
      const list = this.unobserved.get(key) ?? [];
      list.push(waiter);
      this.unobserved.set(key, list);
    });
  }

  /**
   * The feed observed object `key` at `resourceVersion` (undefined: deleted), now carried by `carrier`:
   * the waiters for exactly that state board it.
   */
  observed(key: string, resourceVersion: string | undefined, carrier: WaiterCarrier | undefined): void {
    const list = this.unobserved.get(key);
    if (!list) return;
    const remaining: SyncWaiter[] = [];
    for (const waiter of list) {
      const satisfied = waiter.resourceVersion === undefined ? resourceVersion === undefined : waiter.resourceVersion === resourceVersion;
      if (satisfied && carrier) board(carrier, waiter);
      else remaining.push(waiter);
    }
    this.replace(key, remaining);
  }

  /**
   * Object `key` left the feed's record without an event (a relist did not return it): waiters for its
   * deletion are done at once, as the snapshot end that prunes it at the hub is already queued.
   */
  gone(key: string): void {
    const list = this.unobserved.get(key);
    if (!list) return;
    const remaining = list.filter((waiter) => {
      if (waiter.resourceVersion === undefined) {
        waiter.resolve(true);
        return false;
      }
      return true;
    });
    this.replace(key, remaining);
  }

  private remove(key: string, waiter: SyncWaiter): void {
    const list = this.unobserved.get(key);
    if (!list) return;
    this.replace(
      key,
      list.filter((w) => w !== waiter),
    );
  }

  private replace(key: string, remaining: SyncWaiter[]): void {
    if (remaining.length > 0) this.unobserved.set(key, remaining);
    else this.unobserved.delete(key);
  }
}
