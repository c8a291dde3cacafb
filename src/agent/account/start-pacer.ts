/**
 * Starts accounts one at a time, at least `intervalMs` apart (`kubernetes.accountStartIntervalMs`), so an
 * agent given hundreds of accounts in one welcome does not open every watch in the same second. A newer
 * request for an account replaces its queued one; cancel() withdraws it. With an interval of 0 every
 * start runs at once.
 */
export class StartPacer {
  private readonly queue = new Map<string, () => void>();
  private timer: NodeJS.Timeout | undefined;
  private lastStartAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly intervalMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

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

  private pump(): void {
    if (this.timer !== undefined) return;
    while (this.queue.size > 0) {
      const waitMs = this.lastStartAt + this.intervalMs - this.clock();
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
      this.lastStartAt = this.clock();
      start();
    }
  }
}
