import { errorMessage } from '../../../common/errors.ts';
import { ulid } from '../../../common/ids.ts';
import type { Logger } from '../../../common/logger.ts';
import type { OperationRouter } from '../../router/types.ts';
import type { Store, TaskHistoryEntry, TaskRecord } from '../../store/types.ts';
import { OperationFailure } from './operation-failure.ts';
import type { RequestedOp } from './parse-request.ts';

/**
 * Creates a task for an ops request and runs its operations one after another, in the background:
 * the POST answers as soon as the task row exists, Orca polls GET /task/{id}. This replica is the only
 * writer of its tasks, so the runner keeps the record in memory and writes whole fields.
 */
export interface TaskRunnerOptions {
  store: Store;
  router: OperationRouter;
  hubId: string;
  logger: Logger;
  operationTimeoutMs: number;
  now?: () => number;
}

const ORCHESTRATION = 'ORCHESTRATION';

export class TaskRunner {
  private readonly running = new Set<Promise<void>>();
  private readonly now: () => number;

  constructor(private readonly options: TaskRunnerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Creates the task row and starts running; resolves once the row is stored. */
  async start(ops: RequestedOp[], request: unknown, requestId: string | null): Promise<TaskRecord> {
    const now = this.now();
    const task: TaskRecord = {
      id: ulid(now),
      requestId,
      account: ops[0]?.account.name ?? null,
      operationType: ops.map((op) => op.handler.name).join(','),
      state: 'STARTED',
      history: [{ phase: ORCHESTRATION, status: 'Initializing Orchestration Task', timestamp: now }],
      resultObjects: [],
      request,
      ownerHubId: this.options.hubId,
      createdAt: now,
      updatedAt: now,
    };
    await this.options.store.createTask(task);
    const run = this.run(task, ops).catch((err) => this.options.logger.error({ err, taskId: task.id }, 'task runner failed'));
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    return task;
  }

  /** Waits for the tasks running now (shutdown, tests). */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private async run(task: TaskRecord, ops: RequestedOp[]): Promise<void> {
    const { store, router, logger } = this.options;
    const history = async (phase: string, status: string) => {
      const now = this.now();
      task.history.push({ phase, status, timestamp: now } satisfies TaskHistoryEntry);
      await store.updateTask(task.id, { history: task.history }, now);
    };
    for (const op of ops) {
      await history(ORCHESTRATION, `Processing op: ${op.handler.operationClass}`);
      try {
        const result = await op.prepared.run({ router, taskId: task.id, timeoutMs: this.options.operationTimeoutMs, status: history });
        if (result !== null && result !== undefined) task.resultObjects.push(result);
        await store.updateTask(task.id, { resultObjects: task.resultObjects }, this.now());
      } catch (err) {
        const failure = err instanceof OperationFailure;
        const exceptionClass = failure ? 'KubernetesOperationException' : err instanceof Error ? err.name : 'Error';
        const message = errorMessage(err);
        if (!failure) logger.error({ err, taskId: task.id, operation: op.handler.name }, 'operation failed unexpectedly');
        task.resultObjects.push({
          type: 'EXCEPTION',
          operation: op.handler.operationClass,
          cause: exceptionClass,
          message,
          details: failure ? { code: err.code, httpStatus: err.httpStatus } : {},
          retryable: false,
        });
        task.state = 'FAILED';
        const now = this.now();
        task.history.push({ phase: ORCHESTRATION, status: `Orchestration failed: ${op.handler.operationClass} | ${exceptionClass}: [${message}]`, timestamp: now });
        await store.updateTask(task.id, { state: task.state, history: task.history, resultObjects: task.resultObjects }, now);
        return;
      }
    }
    const now = this.now();
    task.state = 'COMPLETED';
    task.history.push({ phase: ORCHESTRATION, status: 'Orchestration completed.', timestamp: now });
    await store.updateTask(task.id, { state: task.state, history: task.history }, now);
  }
}
