import type { ForwardedOperation, ForwardedOperationRunner, OperationOutcome, OperationRequest } from '../../router/types.ts';

export type Serving = 'caching' | 'standby';
/** Where a run can be held: before it checks its session and confirms its claim, or while "the agent" runs it. */
export type RunStage = 'before-send' | 'running';

/** The outcome a FakeExecutor answers for an operation it ran: a success that names the replica. */
export function ranOutcome(op: Pick<ForwardedOperation, 'id' | 'account'>, by: string): OperationOutcome {
  return {
    id: op.id,
    account: op.account,
    httpStatus: 200,
    errorCode: null,
    message: `ran at ${by}`,
    body: { ranAt: by },
    written: [],
    timings: { receivedAt: 1, routedAt: 2, sentAt: 3, startedAt: 4, finishedAt: 5, syncedAt: null, resultAt: 6 },
    cacheSynced: false,
  };
}

/**
 * A replica's agent sessions as the relay sees them (the session router's ForwardedOperationRunner role): which
 * accounts it serves, and a record of what it was asked to run and what it handed to "the agent". Like
 * the router, it answers 'no-session' when no session serves the account by the time it runs, and
 * 'claim-lost' when `beforeSend` says no. `hold(stage)` makes runs wait at that stage until
 * `release(id)`, so that a test can move the clock or other replicas while a run is in flight.
 */
export class FakeExecutor implements ForwardedOperationRunner {
  readonly serving: Map<string, Serving>;
  /** Every runClaimed call, by operation id, in order. */
  readonly calls: string[] = [];
  /** The operations handed to "the agent" (beforeSend said yes), with the request they carried. */
  readonly ran: Array<{ id: string; request: OperationRequest }> = [];
  readonly claimLost: string[] = [];
  readonly noSession: string[] = [];
  /** Called at every runClaimed call, before anything else (tests record the state of the world then). */
  onCall: (id: string) => void = () => {};
  private readonly held = new Set<RunStage>();
  private readonly waiting = new Map<string, { stage: RunStage; release: () => void }>();

  constructor(
    readonly name: string,
    serving: Record<string, Serving> = {},
  ) {
    this.serving = new Map(Object.entries(serving));
  }

  serves(account: string): Serving | undefined {
    return this.serving.get(account);
  }

  hold(stage: RunStage): void {
    this.held.add(stage);
  }

  /** Whether the run of `id` waits at `stage` now. */
  isWaiting(id: string, stage: RunStage): boolean {
    return this.waiting.get(id)?.stage === stage;
  }

  /** Lets the held run of `id` go on (later runs are still held at the stages held). */
  release(id: string): void {
    const entry = this.waiting.get(id);
    if (entry === undefined) throw new Error(`the run of ${id} is not held`);
    entry.release();
  }

  /** Holds nothing any more, and lets every held run go on. */
  releaseAll(): void {
    this.held.clear();
    for (const entry of [...this.waiting.values()]) entry.release();
  }

  ranIds(): string[] {
    return this.ran.map((r) => r.id);
  }

  async runClaimed(
    op: ForwardedOperation,
    request: OperationRequest,
    beforeSend: () => Promise<boolean>,
  ): Promise<OperationOutcome | 'no-session' | 'claim-lost'> {
    this.onCall(op.id);
    this.calls.push(op.id);
    await this.pause(op.id, 'before-send');
    if (this.serves(op.account) === undefined) {
      this.noSession.push(op.id);
      return 'no-session';
    }
    if (!(await beforeSend())) {
      this.claimLost.push(op.id);
      return 'claim-lost';
    }
    this.ran.push({ id: op.id, request });
    await this.pause(op.id, 'running');
    return ranOutcome(op, this.name);
  }

  private async pause(id: string, stage: RunStage): Promise<void> {
    if (!this.held.has(stage)) return;
    await new Promise<void>((resolve) => this.waiting.set(id, { stage, release: resolve }));
    this.waiting.delete(id);
  }
}
