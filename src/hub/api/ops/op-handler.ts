import type { AccountRecord } from '../../store/types.ts';
import type { OperationRouter } from '../../router/types.ts';

/**
 * One Clouddriver operation (an entry of the `/kubernetes/ops` array). Handling goes in three steps so
 * that every request problem is a synchronous 400 before a task exists: parse the description (field
 * types), prepare it against the account (kinds, scopes), then run it inside the task.
 */
export interface OpContext {
  router: OperationRouter;
  taskId: string;
  timeoutMs: number;
  /** Adds a line to the task's history. */
  status(phase: string, message: string): Promise<void>;
}

export interface PreparedOp {
  /** The result object appended to the task (null: the op contributes none). Throws OperationFailure. */
  run(ctx: OpContext): Promise<unknown>;
}

export interface ParsedOp {
  account: string;
  /** Throws REQUEST_INVALID when the description does not fit the account. */
  prepare(account: AccountRecord): PreparedOp;
}

export interface OpHandler {
  /** The op's key in the request, e.g. "deployManifest". */
  readonly name: string;
  /** Clouddriver's operation class, shown in history and EXCEPTION results. */
  readonly operationClass: string;
  /** The history phase of the op's own lines. */
  readonly phase: string;
  parse(raw: unknown, path: string): ParsedOp;
}
