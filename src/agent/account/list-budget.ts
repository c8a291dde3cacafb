/**
 * Changes waiting in the agent's feed queues (all accounts) above which lists pause between pages. A
 * list delivers pages as fast as the API server answers, the hub ingests at its own pace, and what is
 * listed but not yet sent is held in the queues: without a bound, an initial sync of many clusters
 * would hold most of their objects at once and leave the process's memory at that peak.
 */
export const DEFAULT_PENDING_HIGH_WATER = 50_000;
/** A list never waits longer than this for one page (the hub may be away): it then goes on regardless. */
export const MAX_PAGE_WAIT_MS = 30_000;
/** How often waiting lists look at the queues again. */
const PAGE_WAIT_POLL_MS = 20;
/** How stale the pending total may be (it is a high-water mark, not an exact count). */
const PENDING_TOTAL_MAX_AGE_MS = 100;

interface PageWaiter {
  deadline: number;
  resolve: () => void;
}

/**
 * Bounds how many initial lists run at once, in total and per account (Armory's tasks.totalBudget and
 * tasks.budgetPerAccount), so that starting hundreds of clusters does not spike memory or hammer the
 * API servers. Waiters are served in arrival order. It also paces lists page by page against what the
 * queues hold (`roomForPage`).
 */
export class ListBudget {
  private inUse = 0;
  private readonly perAccount = new Map<string, number>();
  private readonly waiting: Array<{ account: string; grant: (release: () => void) => void }> = [];
  private readonly pendingSources = new Set<() => number>();
  private readonly pageWaiters = new Set<PageWaiter>();
  private pageTimer: NodeJS.Timeout | undefined;

  readonly pendingHighWater: number;
  private readonly maxPageWaitMs: number;
  /** Measures the pending total's age (monotonic). */
  private readonly elapsedClock: () => number;
  /** Sets and checks page-wait deadlines (epoch ms). */
  private readonly deadlineClock: () => number;

  constructor(
    private readonly total: number,
    private readonly perAccountLimit: number,
    pacing: {
      pendingHighWater?: number;
      maxPageWaitMs?: number;
      /** Milliseconds, for both the pending total's age and page-wait deadlines (tests); real time otherwise. */
      clock?: () => number;
    } = {},
  ) {
    this.pendingHighWater = pacing.pendingHighWater ?? DEFAULT_PENDING_HIGH_WATER;
    this.maxPageWaitMs = pacing.maxPageWaitMs ?? MAX_PAGE_WAIT_MS;
    this.elapsedClock = pacing.clock ?? (() => performance.now());
    this.deadlineClock = pacing.clock ?? Date.now;
  }

  /** Counts `source()` (an account's pending changes) towards the high-water mark until the returned function is called. */
  trackPending(source: () => number): () => void {
    this.pendingSources.add(source);
    this.pendingTotalAt = Number.NEGATIVE_INFINITY;
    return () => {
      this.pendingSources.delete(source);
      this.pendingTotalAt = Number.NEGATIVE_INFINITY;
    };
  }

  /**
   * Changes pending in every tracked queue, at most PENDING_TOTAL_MAX_AGE_MS old: summing thousands of
   * accounts' queues before every page of every list cost the agent more than the lists themselves.
   */
  pendingTotal(): number {
    const now = this.elapsedClock();
    if (now - this.pendingTotalAt > PENDING_TOTAL_MAX_AGE_MS) {
      let total = 0;
      for (const source of this.pendingSources) total += source();
      this.pendingTotalCached = total;
      this.pendingTotalAt = now;
    }
    return this.pendingTotalCached;
  }

  private pendingTotalCached = 0;
  private pendingTotalAt = Number.NEGATIVE_INFINITY;

  /**
   * Resolves when the queues hold less than the high-water mark (at once, usually), after
   * MAX_PAGE_WAIT_MS at the latest, or rejects when `signal` aborts. Lists call it before each page.
   */
  roomForPage(signal?: AbortSignal): Promise<void> {
    if (this.pendingTotal() < this.pendingHighWater) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const waiter: PageWaiter = {
        deadline: this.deadlineClock() + this.maxPageWaitMs,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.pageWaiters.delete(waiter);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pageWaiters.add(waiter);
      this.schedulePageCheck();
    });
  }

  private schedulePageCheck(): void {
    if (this.pageTimer !== undefined) return;
    this.pageTimer = setTimeout(() => {
      this.pageTimer = undefined;
      const room = this.pendingTotal() < this.pendingHighWater;
      const now = this.deadlineClock();
      for (const waiter of this.pageWaiters) {
        if (!room && now < waiter.deadline) continue;
        this.pageWaiters.delete(waiter);
        waiter.resolve();
      }
      if (this.pageWaiters.size > 0) this.schedulePageCheck();
    }, PAGE_WAIT_POLL_MS);
  }

  /** A semaphore view for one account, as the reflector expects it. */
  forAccount(account: string): { acquire(): Promise<() => void> } {
    return { acquire: () => this.acquire(account) };
  }

  acquire(account: string): Promise<() => void> {
    return new Promise((grant) => {
      this.waiting.push({ account, grant });
      this.dispatch();
    });
  }

  get active(): number {
    return this.inUse;
  }

  get queued(): number {
    return this.waiting.length;
  }

  private dispatch(): void {
    for (let i = 0; i < this.waiting.length && this.inUse < this.total;) {
      const waiter = this.waiting[i]!; // i < length
      const used = this.perAccount.get(waiter.account) ?? 0;
      if (used >= this.perAccountLimit) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      this.inUse++;
      this.perAccount.set(waiter.account, used + 1);
      let released = false;
      waiter.grant(() => {
        if (released) return;
        released = true;
        this.inUse--;
        const left = (this.perAccount.get(waiter.account) ?? 1) - 1;
        if (left > 0) this.perAccount.set(waiter.account, left);
        else this.perAccount.delete(waiter.account);
        this.dispatch();
      });
    }
  }
}
