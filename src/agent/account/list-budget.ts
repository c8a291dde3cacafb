/**
 * Bounds how many initial lists run at once, in total and per account (Armory's tasks.totalBudget and
 * tasks.budgetPerAccount), so that starting hundreds of clusters does not spike memory or hammer the
 * API servers. Waiters are served in arrival order.
 */
export class ListBudget {
  private inUse = 0;
  private readonly perAccount = new Map<string, number>();
  private readonly waiting: Array<{ account: string; grant: (release: () => void) => void }> = [];

  constructor(private readonly total: number, private readonly perAccountLimit: number) {}

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
    for (let i = 0; i < this.waiting.length && this.inUse < this.total; ) {
      const waiter = this.waiting[i];
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
