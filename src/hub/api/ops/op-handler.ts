import type { Logger } from '../../../common/logger.ts';
import type { AccountRecord, CacheReader } from '../../store/types.ts';
import type { OperationRouter } from '../../router/types.ts';

/**
 * One Clouddriver operation (an entry of the `/kubernetes/ops` array). Handling goes in three steps so
 * that every problem with the request's shape is a synchronous 400 before a task exists: parse the
 * description (field types), prepare it against the account (kinds, scopes, namespaces), then run it
 * inside the task. Problems Clouddriver reports from inside the operation (an artifact that binds
 * nowhere, a kind that cannot be scaled, an object that does not exist) fail the task instead.
 */
export interface OpContext {
  router: OperationRouter;
  /** The cache: versions of earlier deploys, objects a composed operation reads. */
  store: CacheReader;
  logger: Logger;
  taskId: string;
  /** Deadline of one hub→agent operation (operations.timeoutMs). */
  timeoutMs: number;
  now(): number;
  /** Adds a line to the task's history. */
  status(phase: string, message: string): Promise<void>;
}

export interface PreparedOp {
  /** The result object appended to the task (null: the op contributes none). Throws OperationFailure. */
  run(ctx: OpContext): Promise<unknown>;
}

export interface ParsedOp {
  account: string;
  /**
   * Whether running the operation again after an interruption (agent gone, hub restarted, no answer
   * before the deadline) converges on the same result — what makes such a failure retryable.
   */
  idempotent: boolean;
  /** Throws REQUEST_INVALID when the description does not fit the account. */
  prepare(account: AccountRecord): PreparedOp;
}

export interface OpHandler {
  /** The op's key in the request, e.g. "deployManifest". */
  readonly name: string;
  /** Clouddriver's operation class, shown in history and EXCEPTION results. */
  readonly operationClass: string;
  /** The history phase of the op's own lines (Clouddriver's OP_NAME). */
  readonly phase: string;
  parse(raw: unknown, path: string): ParsedOp;
}
