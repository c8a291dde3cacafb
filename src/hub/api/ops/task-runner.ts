import { setTimeout as sleep } from 'node:timers/promises';
import { Errors, errorMessage, isScaleAgentError, ScaleAgentError } from '../../../common/errors.ts';
import { ulid } from '../../../common/ids.ts';
import type { Logger } from '../../../common/logger.ts';
import type { OperationRouter } from '../../router/types.ts';
import type { CacheReader, TaskExpectation, TaskHistoryEntry, TaskPatch, TaskRecord, TaskState, TaskStore } from '../../store/types.ts';
import type { OpContext } from './op-handler.ts';
import { OperationFailure } from './operation-failure.ts';
import { requestIdempotent, type RequestedOp } from './parse-request.ts';
import { holdsRedactedSecrets, redactSecretValues } from './secret-redaction.ts';

/**
 * Runs the tasks of ops requests: creates the task row (readable from every replica the moment the POST
 * answers) and runs its operations one after another in the background, writing every history line and
 * result to the store as it goes. Orca polls GET /task/{id}.
 *
 * Every write is conditional on the task still being STARTED and owned by this replica, so a task that
 * Orca marked failed (PATCH /kubernetes/task/{id}) or that another replica declared dead is never
 * overwritten by a late result. While a task runs, a heartbeat keeps its `updated_at` fresh; a STARTED
 * task nobody updated for `staleAfterMs` belongs to a replica that died, and any replica fails it — as a
 * starting hub fails its own STARTED tasks at once. Such failures, and those caused by circumstances
 * (no agent, agent gone, no answer before the deadline), are retryable when every operation of the task
 * is safe to run again; Orca then resumes the task (POST /task/{id}:resume) and it runs again.
 */
export interface TaskRunnerOptions {
  /** The tasks and their operations as they are (no caller filters them), and the cache the operations read. */
  store: TaskStore & CacheReader;
  router: OperationRouter;
  hubId: string;
  logger: Logger;
  operationTimeoutMs: number;
  /** A STARTED task not updated for this long is considered orphaned (its replica died). */
  staleAfterMs?: number;
  /** `operations.redactSecretValues`: stored requests keep no Secret values (secret-redaction.ts). */
  redactSecretValues?: boolean;
  now?: () => number;
  /** Told how each run of a task ended and how long it took (the hub's metrics). */
  metrics?: TaskObserver;
}

/**
 * How one run of a task ended: its final state, or `interrupted` when the run stopped without writing
 * one (Orca marked the task failed, another replica swept it, or its writes kept failing).
 */
export type TaskRunResult = 'completed' | 'failed' | 'failed_retryable' | 'interrupted';

export interface TaskObserver {
  /** `operation`: the task's operation (deployManifest, …), or `multiple` for a task of several. */
  taskFinished(operation: string, result: TaskRunResult, seconds: number): void;
}

/** The operation label of a task of several operations (one label per combination would be unbounded). */
export const MULTIPLE_OPERATIONS = 'multiple';
const MS_PER_SECOND = 1000;

export const ORCHESTRATION = 'ORCHESTRATION';
export const DEFAULT_STALE_AFTER_MS = 120_000;
/**
 * Attempts at each write of a running task before giving up (the stale sweep then finishes it): a
 * database connection cut fails the statements under way, and the pool reconnects within these.
 */
const TASK_WRITE_ATTEMPTS = 5;
const TASK_WRITE_BACKOFF_MS = 200;
/** Tasks a sweep handles at most per round. */
const SWEEP_BATCH = 100;

/** Thrown inside a run when the task was taken from this runner (failed by Orca, swept): stop quietly. */
class TaskTaken extends Error {}

interface Exception {
  type: 'EXCEPTION';
  operation: string;
  cause: string;
  message: string;
  details: Record<string, unknown>;
  retryable: boolean;
}

function exceptionFor(err: unknown, operationClass: string, retryable: boolean): Exception {
  if (err instanceof OperationFailure) {
    return {
      type: 'EXCEPTION',
      operation: operationClass,
      cause: err.code === Errors.OPERATION_INVALID.code ? 'IllegalArgumentException' : 'KubernetesOperationException',
      message: err.message,
      details: { code: err.code, ...(err.httpStatus > 0 ? { httpStatus: err.httpStatus } : {}), ...(err.kubernetes ? { kubernetes: err.kubernetes } : {}) },
      retryable,
    };
  }
  if (isScaleAgentError(err)) {
    return { type: 'EXCEPTION', operation: operationClass, cause: 'IllegalArgumentException', message: err.message, details: { code: err.code }, retryable };
  }
  return {
    type: 'EXCEPTION',
    operation: operationClass,
    cause: err instanceof Error ? err.name : 'Error',
    message: errorMessage(err),
    details: { code: Errors.INTERNAL_ERROR.code },
    retryable,
  };
}

function lastOperationClass(task: TaskRecord): string {
  for (let i = task.history.length - 1; i >= 0; i--) {
    const match = /^Processing op: (\S+)/.exec(task.history[i]!.status);
    if (match) return match[1]!;
  }
  return ORCHESTRATION;
}

export class TaskRunner {
  private readonly running = new Map<string, Promise<void>>();
  private readonly now: () => number;
  private readonly staleAfterMs: number;
  private maintenance: NodeJS.Timeout | undefined;

  constructor(private readonly options: TaskRunnerOptions) {
    this.now = options.now ?? Date.now;
    this.staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  }

  /**
   * Creates the task row and starts running; resolves once the row is stored. `createdBy` is the REST
   * caller (RouteAuth.taskCreator), which scopes `requestId`.
   */
  async start(ops: RequestedOp[], request: unknown, requestId: string | null, createdBy: string | null = null): Promise<TaskRecord> {
    const now = this.now();
    request = this.stored(request);
    const task: TaskRecord = {
      id: ulid(now),
      requestId,
      account: ops[0]?.account.name ?? null,
      operationType: ops.map((op) => op.handler.name).join(','),
      state: 'STARTED',
      history: [{ phase: ORCHESTRATION, status: 'Initializing Orchestration Task', timestamp: now }],
      resultObjects: [],
      request,
      createdBy,
      ownerHubId: this.options.hubId,
      createdAt: now,
      updatedAt: now,
    };
    await this.options.store.createTask(task);
    this.launch(task, ops);
    return task;
  }

  /**
   * Runs a retryably failed task again, under the same id (Clouddriver's retry of a task whose failure
   * is retryable): by a repeated clientRequestId, a restart with new operations, or Orca's resume.
   * Returns undefined when the task is not (or no longer) retryable.
   */
  async retry(task: TaskRecord, ops: RequestedOp[], request: unknown, why: string): Promise<TaskRecord | undefined> {
    const now = this.now();
    request = this.stored(request);
    const history: TaskHistoryEntry[] = [
      ...task.history,
      { phase: ORCHESTRATION, status: `Re-initializing Orchestration Task (failure is retryable): ${why}`, timestamp: now },
    ];
    const patch: TaskPatch = { state: 'STARTED', history, resultObjects: [], ownerHubId: this.options.hubId, request };
    if (!(await this.options.store.updateTaskIf(task.id, { state: 'FAILED_RETRYABLE' }, patch, now))) return undefined;
    const claimed: TaskRecord = { ...task, ...patch, state: 'STARTED', history, resultObjects: [], ownerHubId: this.options.hubId, request, updatedAt: now };
    this.launch(claimed, ops);
    return claimed;
  }

  /** The request as the task keeps it: without Secret values when operations.redactSecretValues is on. */
  private stored(request: unknown): unknown {
    return this.options.redactSecretValues ? redactSecretValues(request).request : request;
  }

  /** PATCH /kubernetes/task/{id} {retry}: fails the task now, retryably or not; false when already finished. */
  async markFailed(task: TaskRecord, retryable: boolean): Promise<boolean> {
    const now = this.now();
    const state: TaskState = retryable ? 'FAILED_RETRYABLE' : 'FAILED';
    const history = [
      ...task.history,
      { phase: ORCHESTRATION, status: `Orchestration failed: marked failed on request${retryable ? ' (retryable)' : ''}`, timestamp: now },
    ];
    return this.options.store.updateTaskIf(task.id, { state: task.state }, { state, history }, now);
  }

  isRunning(taskId: string): boolean {
    return this.running.has(taskId);
  }

  /** Waits for the tasks running now (shutdown, tests). */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  /**
   * Fails this replica's STARTED tasks that no run of this process owns: after a restart they can no
   * longer complete here. Returns how many were failed.
   */
  async recover(): Promise<number> {
    const tasks = await this.options.store.findTasks({ state: 'STARTED', ownerHubId: this.options.hubId, limit: 10_000 });
    let failed = 0;
    for (const task of tasks) {
      if (this.running.has(task.id)) continue;
      const reason = `the hub ${this.options.hubId} restarted while the task was running; the outcome of its operation in progress is unknown`;
      if (await this.interrupt(task, { state: 'STARTED', ownerHubId: this.options.hubId }, reason)) failed++;
    }
    if (failed > 0) this.options.logger.warn({ failed, hubId: this.options.hubId }, 'failed the tasks that were running when this hub stopped');
    return failed;
  }

  /** Fails STARTED tasks whose replica stopped updating them (it died); returns how many. */
  async sweepStale(): Promise<number> {
    const cutoff = this.now() - this.staleAfterMs;
    const tasks = await this.options.store.findTasks({ state: 'STARTED', updatedBefore: cutoff, limit: SWEEP_BATCH });
    let failed = 0;
    for (const task of tasks) {
      if (this.running.has(task.id)) continue;
      const reason = `its hub ${task.ownerHubId} stopped updating the task ${Math.round((this.now() - task.updatedAt) / 1000)} s ago (it restarted or died); the outcome of its operation in progress is unknown`;
      if (await this.interrupt(task, { state: 'STARTED', ownerHubId: task.ownerHubId, updatedAtOrBefore: task.updatedAt }, reason)) failed++;
    }
    if (failed > 0) this.options.logger.warn({ failed }, 'failed tasks orphaned by a hub replica that stopped');
    return failed;
  }

  /** Heartbeat of running tasks and the stale sweep, every quarter of the staleness bound. */
  startMaintenance(): void {
    if (this.maintenance) return;
    const every = Math.max(250, Math.floor(this.staleAfterMs / 4));
    this.maintenance = setInterval(() => {
      void this.heartbeat()
        .then(() => this.sweepStale())
        .catch((err) => this.options.logger.warn({ err: errorMessage(err) }, 'task maintenance failed'));
    }, every);
    this.maintenance.unref();
  }

  stopMaintenance(): void {
    if (this.maintenance) clearInterval(this.maintenance);
    this.maintenance = undefined;
  }

  private async heartbeat(): Promise<void> {
    const now = this.now();
    for (const id of this.running.keys()) {
      await this.options.store.updateTaskIf(id, { state: 'STARTED', ownerHubId: this.options.hubId }, {}, now);
    }
  }

  private async interrupt(task: TaskRecord, expect: TaskExpectation, reason: string): Promise<boolean> {
    const now = this.now();
    // A stored request without its Secret values cannot be run again.
    const retryable = requestIdempotent(task.request) && !holdsRedactedSecrets(task.request);
    const operation = lastOperationClass(task);
    const exception: Exception = {
      type: 'EXCEPTION',
      operation,
      cause: 'TaskInterrupted',
      message: `Task interrupted: ${reason}`,
      details: { code: Errors.TASK_INTERRUPTED.code },
      retryable,
    };
    const history = [
      ...task.history,
      { phase: ORCHESTRATION, status: `Orchestration failed: ${operation} | TaskInterrupted: [${exception.message}]`, timestamp: now },
    ];
    const state: TaskState = retryable ? 'FAILED_RETRYABLE' : 'FAILED';
    const done = await this.options.store.updateTaskIf(task.id, expect, { state, history, resultObjects: [...task.resultObjects, exception] }, now);
    if (!done) return false;
    for (const op of await this.options.store.listOperations(1000, { taskId: task.id })) {
      if (op.status !== 'PENDING' && op.status !== 'SENT') continue;
      await this.options.store.updateOperation(op.id, { status: 'FAILED', errorCode: Errors.TASK_INTERRUPTED.code, message: reason, resultAt: now });
    }
    return true;
  }

  private launch(task: TaskRecord, ops: RequestedOp[]): void {
    const startedAt = this.now();
    const operation = ops.length === 1 ? ops[0]!.handler.name : MULTIPLE_OPERATIONS;
    const observe = (result: TaskRunResult) => this.options.metrics?.taskFinished(operation, result, (this.now() - startedAt) / MS_PER_SECOND);
    const run = this.run(task, ops)
      .then((state) => observe(state === 'COMPLETED' ? 'completed' : state === 'FAILED_RETRYABLE' ? 'failed_retryable' : 'failed'))
      .catch((err) => {
        observe('interrupted');
        if (!(err instanceof TaskTaken)) this.options.logger.error({ err, taskId: task.id }, 'task runner failed');
      })
      .finally(() => {
        if (this.running.get(task.id) === run) this.running.delete(task.id);
      });
    this.running.set(task.id, run);
  }

  /**
   * A write that holds only while the task is still this runner's; otherwise the run stops. A failing
   * store is retried: a write that committed before its answer was lost is met again by the same
   * expectation (history and results only), or, for a final state, stops the run quietly — it is written.
   */
  private async write(task: TaskRecord, patch: TaskPatch, attempts = TASK_WRITE_ATTEMPTS): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const now = this.now();
        if (!(await this.options.store.updateTaskIf(task.id, { state: 'STARTED', ownerHubId: this.options.hubId }, patch, now))) {
          this.options.logger.info({ taskId: task.id }, 'task was failed or taken over while it ran; stopping');
          throw new TaskTaken();
        }
        return;
      } catch (err) {
        if (err instanceof TaskTaken || attempt >= attempts) throw err;
        this.options.logger.warn({ taskId: task.id, attempt, err: errorMessage(err) }, 'writing the task failed; retrying');
        await sleep(TASK_WRITE_BACKOFF_MS * attempt);
      }
    }
  }

  /** Runs the task's operations in turn; resolves with the final state it wrote. */
  private async run(task: TaskRecord, ops: RequestedOp[]): Promise<TaskState> {
    const { store, router, logger } = this.options;
    const history = async (phase: string, status: string) => {
      task.history.push({ phase, status, timestamp: this.now() } satisfies TaskHistoryEntry);
      await this.write(task, { history: task.history });
    };
    const ctx: OpContext = { router, store, logger, taskId: task.id, timeoutMs: this.options.operationTimeoutMs, now: this.now, status: history };
    const allIdempotent = ops.every((op) => op.idempotent) && !holdsRedactedSecrets(task.request);
    for (const op of ops) {
      await history(ORCHESTRATION, `Processing op: ${op.handler.operationClass}`);
      let result: unknown;
      try {
        result = await op.prepared.run(ctx);
      } catch (err) {
        if (err instanceof TaskTaken) throw err;
        const retryable = err instanceof OperationFailure && err.transient && allIdempotent;
        if (!(err instanceof OperationFailure) && !isScaleAgentError(err))
          logger.error({ err, taskId: task.id, operation: op.handler.name }, 'operation failed unexpectedly');
        const exception = exceptionFor(err, op.handler.operationClass, retryable);
        task.resultObjects.push(exception);
        task.state = retryable ? 'FAILED_RETRYABLE' : 'FAILED';
        task.history.push({
          phase: ORCHESTRATION,
          status: `Orchestration failed: ${op.handler.operationClass} | ${exception.cause}: [${exception.message}]`,
          timestamp: this.now(),
        });
        await this.write(task, { state: task.state, history: task.history, resultObjects: task.resultObjects });
        return task.state;
      }
      if (result !== null && result !== undefined) task.resultObjects.push(result);
      await this.write(task, { resultObjects: task.resultObjects });
    }
    task.state = 'COMPLETED';
    task.history.push({ phase: ORCHESTRATION, status: 'Orchestration completed.', timestamp: this.now() });
    await this.write(task, { state: task.state, history: task.history });
    return task.state;
  }
}

/** A request to resume or restart a task that did not fail retryably (Clouddriver: 400). */
export function notRetryable(task: TaskRecord): ScaleAgentError {
  return new ScaleAgentError(Errors.TASK_NOT_RETRYABLE, `Task id: ${task.id} is not retryable (state ${task.state})`, { taskId: task.id, state: task.state });
}
