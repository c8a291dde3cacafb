import type { Logger } from '../../common/logger.ts';
import { Errors, errorMessage, type ErrorCode } from '../../common/errors.ts';
import { ulid } from '../../common/ids.ts';
import type { AccountReader, AccountRecord, OperationRecorder } from '../store/types.ts';
import type { SessionRegistry } from '../grpc/session-registry.ts';
import { decodeResult, encodeOperation } from './operation-codec.ts';
import type { ExecuteOptions, OperationOutcome, OperationRequest, OperationRouter } from './types.ts';

export interface SessionRouterOptions {
  /** Where every hop of an operation is recorded, and the account read to say why no agent serves it. */
  store: OperationRecorder & AccountReader;
  registry: SessionRegistry;
  logger: Logger;
  /** Default time an operation may take end to end (Armory's operationWaitMs, 30 s). */
  defaultTimeoutMs: number;
  /** This replica's id, to tell "no agent anywhere" from "the agent is on another replica". */
  hubId?: string;
}

/**
 * Routes an operation to the agent session serving its account on this hub replica, and waits for the
 * result, the deadline or the session's end — whichever comes first. Every hop is timestamped in the
 * operations table, so an operator can see where time went.
 */
export class SessionRouter implements OperationRouter {
  constructor(private readonly options: SessionRouterOptions) {}

  isConnected(account: string): boolean {
    return this.options.registry.isServed(account);
  }

  async execute(account: string, request: OperationRequest, options: ExecuteOptions = {}): Promise<OperationOutcome> {
    const { store, registry, logger } = this.options;
    const id = ulid();
    const receivedAt = Date.now();
    const timeoutMs = options.timeoutMs ?? this.options.defaultTimeoutMs;
    const deadline = receivedAt + timeoutMs;
    const timings = { receivedAt, routedAt: null as number | null, sentAt: null as number | null };
    await this.record(() =>
      store.recordOperation({
        id,
        taskId: options.taskId ?? null,
        account,
        type: request.type,
        status: 'PENDING',
        httpStatus: null,
        errorCode: null,
        message: null,
        agentId: null,
        receivedAt,
        routedAt: null,
        sentAt: null,
        executedAt: null,
        resultAt: null,
      }),
    );

    const session = registry.operationSession(account);
    if (!session) {
      return this.finish(failure(id, account, Errors.ACCOUNT_NOT_CONNECTED.code, await this.notConnected(account), timings));
    }
    timings.routedAt = Date.now();
    const operation = encodeOperation(id, account, deadline, request);
    const outcome = await new Promise<OperationOutcome>((resolve) => {
      const timer = setTimeout(
        () => {
          session.forgetOperation(id);
          resolve(failure(id, account, Errors.OPERATION_DEADLINE_EXCEEDED.code, `the agent ${session.agentId} did not answer within ${timeoutMs} ms`, timings));
        },
        Math.max(0, deadline - Date.now()),
      );
      const sent = session.sendOperation(operation, {
        resolve: (result) => {
          clearTimeout(timer);
          resolve(decodeResult(result, timings));
        },
        fail: (code, message) => {
          clearTimeout(timer);
          resolve(failure(id, account, code, message, timings));
        },
      });
      if (!sent.sent) {
        clearTimeout(timer);
        resolve(failure(id, account, sent.code, sent.message, timings));
        return;
      }
      timings.sentAt = Date.now();
      void this.record(() => store.updateOperation(id, { status: 'SENT', agentId: session.agentId, routedAt: timings.routedAt, sentAt: timings.sentAt }));
    });
    if (outcome.errorCode)
      logger.info(
        { operationId: id, account, type: request.type, code: outcome.errorCode, httpStatus: outcome.httpStatus },
        `operation failed: ${outcome.message}`,
      );
    return this.finish(outcome);
  }

  private async finish(outcome: OperationOutcome): Promise<OperationOutcome> {
    const failed = outcome.errorCode !== null || outcome.httpStatus >= 400;
    await this.record(() =>
      this.options.store.updateOperation(outcome.id, {
        status: failed ? 'FAILED' : 'SUCCEEDED',
        httpStatus: outcome.httpStatus || null,
        errorCode: outcome.errorCode,
        message: outcome.message,
        routedAt: outcome.timings.routedAt,
        sentAt: outcome.timings.sentAt,
        executedAt: outcome.timings.finishedAt,
        resultAt: outcome.timings.resultAt,
      }),
    );
    return outcome;
  }

  /** Why no agent can run an operation for the account: fails fast, and says since when. */
  private async notConnected(account: string): Promise<string> {
    let record: AccountRecord | undefined;
    try {
      record = await this.options.store.getAccount(account);
    } catch {
      record = undefined;
    }
    if (!record) return `no agent is connected for account ${account}`;
    const since = new Date(record.lastSeenAt).toISOString();
    const agent = record.agentId ? `its agent ${record.agentId}` : 'its agent';
    if (record.status === 'connected' && record.hubId !== null && record.hubId !== this.options.hubId) {
      return `no agent is connected for account ${account} on this hub replica (${agent} is connected to hub ${record.hubId})`;
    }
    return `no agent is connected for account ${account} (${agent} was last seen at ${since})`;
  }

  /** Bookkeeping must never fail the operation itself; a store problem is logged. */
  private async record(write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (err) {
      this.options.logger.error({ err: errorMessage(err) }, 'failed to record an operation hop');
    }
  }
}

function failure(
  id: string,
  account: string,
  code: ErrorCode,
  message: string,
  timings: { receivedAt: number; routedAt: number | null; sentAt: number | null },
): OperationOutcome {
  return {
    id,
    account,
    httpStatus: 0,
    errorCode: code,
    message,
    body: null,
    written: [],
    timings: { ...timings, startedAt: null, finishedAt: null, syncedAt: null, resultAt: Date.now() },
    cacheSynced: false,
  };
}
