/**
 * A pass that never overlaps itself (a poll, a renewal round): asked for while one runs, it runs once
 * more after it — so whatever prompted the request is seen — and every caller waits for that run. A
 * burst of requests therefore costs at most one extra pass.
 */
export class SerialPass {
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly pass: () => Promise<void>,
    /** Once true, no pass starts and a running one does not repeat. */
    private readonly stopped: () => boolean,
  ) {}

  run(): Promise<void> {
    if (this.stopped()) return Promise.resolve();
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.pass();
      } while (this.again && !this.stopped());
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** The pass under way, if any (to wait for it when stopping). */
  get current(): Promise<void> | undefined {
    return this.running;
  }
}
