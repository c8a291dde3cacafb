/** Armory's cacheGroupSize / cacheGroupDelayMs: accounts started in groups, with a pause between groups. */
export interface StartGroups {
  /** Accounts per group; 0 = no groups (only the interval paces). */
  size: number;
  /** Pause between the last start of a group and the first of the next. */
  delayMs: number;
}

const NO_GROUPS: StartGroups = { size: 0, delayMs: 0 };

/**
 * Starts accounts one at a time, at least `intervalMs` apart (`kubernetes.accountStartIntervalMs`), so an
 * agent given hundreds of accounts in one welcome does not open every watch in the same second. With
 * groups (`kubernetes.cacheGroupSize` / `cacheGroupDelayMs`), every `size` starts are followed by a pause
 * of `delayMs` instead of the interval, to spread the bursts of lists (CPU, memory, the hub's writes)
 * further; a pause that long since the last start, for whatever reason, begins a new group. A newer
 * request for an account replaces its queued one; cancel() withdraws it. With an interval of 0 and no
 * groups every start runs at once.
 */
export class StartPacer {
  private readonly queue = new Map<string, () => void>();
  private timer: NodeJS.Timeout | undefined;
  private lastStartAt = Number.NEGATIVE_INFINITY;
  /** Starts in the current group. */
  private startedInGroup = 0;
  private readonly groups: StartGroups;

  constructor(
    private readonly intervalMs: number,
    groups: Partial<StartGroups> = {},
    private readonly clock: () => number = Date.now,
  ) {
    this.groups = { ...NO_GROUPS, ...groups };
  }

  schedule(account: string, start: () => void): void {
    this.queue.delete(account);
    this.queue.set(account, start);
    this.pump();
  }

  cancel(account: string): void {
    this.queue.delete(account);
  }

  get queued(): number {
    return this.queue.size;
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.clear();
  }

  private grouped(): boolean {
    return this.groups.size > 0;
  }

  /** When the next start may run. */
  private nextStartAt(now: number): number {
    if (this.grouped() && now - this.lastStartAt >= this.groups.delayMs) this.startedInGroup = 0;
    const groupFull = this.grouped() && this.startedInGroup >= this.groups.size;
    return this.lastStartAt + (groupFull ? this.groups.delayMs : this.intervalMs);
  }

  private pump(): void {
    if (this.timer !== undefined) return;
    while (this.queue.size > 0) {
      const now = this.clock();
      const waitMs = this.nextStartAt(now) - now;
      if (waitMs > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, waitMs);
        this.timer.unref();
        return;
      }
      const [account, start] = this.queue.entries().next().value as [string, () => void];
      this.queue.delete(account);
      this.startedInGroup++;
      this.lastStartAt = this.clock();
      start();
    }
  }
}
