import { Errors, ScaleAgentError } from '../common/errors.ts';

/**
 * The abort signal of one exchange: the caller's signal, plus an overall deadline and an idle timeout
 * (no bytes for this long). A timeout aborts with KUBE_TIMEOUT; the caller's abort keeps its own reason.
 */
export class RequestGuard {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private deadlineTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private timeoutError: ScaleAgentError | undefined;
  private readonly onParentAbort = () => this.controller.abort(this.parent?.reason);

  constructor(
    private readonly what: string,
    private readonly parent: AbortSignal | undefined,
    deadlineMs?: number,
  ) {
    this.signal = this.controller.signal;
    if (parent?.aborted) this.controller.abort(parent.reason);
    else parent?.addEventListener('abort', this.onParentAbort, { once: true });
    if (deadlineMs !== undefined)
      this.deadlineTimer = setTimeout(() => this.timeout(`${what}: no complete answer within ${deadlineMs} ms`, deadlineMs), deadlineMs);
  }

  /** (Re)arms the idle timeout; `touch()` then restarts it on every chunk. */
  setIdle(ms: number | undefined): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = ms === undefined ? undefined : setTimeout(() => this.timeout(`${this.what}: nothing received for ${ms} ms`, ms), ms);
  }

  touch(): void {
    this.idleTimer?.refresh();
  }

  get timedOut(): boolean {
    return this.timeoutError !== undefined;
  }

  /** The error to surface for `err`, raised while this guard was active. */
  translate(err: unknown): unknown {
    if (this.timeoutError !== undefined) return this.timeoutError;
    if (this.parent?.aborted) return this.parent.reason;
    return err;
  }

  clear(): void {
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.parent?.removeEventListener('abort', this.onParentAbort);
  }

  private timeout(message: string, ms: number): void {
    if (this.controller.signal.aborted) return;
    this.timeoutError = new ScaleAgentError(Errors.KUBE_TIMEOUT, message, { timeoutMs: ms });
    this.controller.abort(this.timeoutError);
  }
}
