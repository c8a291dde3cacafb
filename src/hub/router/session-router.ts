import type { Logger } from '../../common/logger.ts';
import { Errors, errorMessage, type ErrorCode } from '../../common/errors.ts';
import { ulid } from '../../common/ids.ts';
import type { AccountReader, AccountRecord, OperationRecorder } from '../store/types.ts';
import type { SessionRegistry } from '../grpc/session-registry.ts';
import type { Operation } from '../../protocol/index.ts';
import { decodeResult, encodeOperation } from './operation-codec.ts';
import type { AgentSession } from '../grpc/agent-session.ts';
import { failedOutcome } from './failed-outcome.ts';
import type {
  ExecuteOptions,
  ForwardedOperation,
  ForwardedOperationRunner,
  OperationForwarder,
  OperationObserver,
  OperationOutcome,
  OperationRequest,
  OperationRouter,
} from './types.ts';

export interface SessionRouterOptions {
  /** Where every hop of an operation is recorded, and the account read to say why no agent serves it. */
  store: OperationRecorder & AccountReader;
  registry: SessionRegistry;
  logger: Logger;
  /** Default time an operation may take end to end (Armory's operationWaitMs, 30 s). */
  defaultTimeoutMs: number;
  /** This replica's id, to tell "no agent anywhere" from "the agent is on another replica". */
  hubId?: string;
  /** Several replicas on one database: operations for accounts served at another replica go through the relay. */
  relay?: OperationForwarder;
  /** Told of every operation submitted here once its outcome is known, however it ended. */
  metrics?: OperationObserver;
}

const MS_PER_SECOND = 1000;

/**
 * Routes an operation to the agent session serving its account on this hub replica, and waits for the
 * result, the deadline or the session's end — whichever comes first. When no session here serves the
 * account but another replica's may, the operation goes through the relay (relay/operation-relay.ts),
 * and this router runs the operations other replicas relay here. Every hop is timestamped in the
 * operations table, so an operator can see where time went.
 */
export class SessionRouter implements OperationRouter, ForwardedOperationRunner {
  constructor(private readonly options: SessionRouterOptions) {}

  isConnected(account: string): boolean {
    return this.options.registry.isServed(account);
  }

  async execute(account: string, request: OperationRequest, options: ExecuteOptions = {}): Promise<OperationOutcome> {
    const { store, registry, relay } = this.options;
    const id = ulid();
    const receivedAt = Date.now();
    const timeoutMs = options.timeoutMs ?? this.options.defaultTimeoutMs;
    const deadline = receivedAt + timeoutMs;
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
    if (session) {
      const timings = { receivedAt, routedAt: Date.now(), sentAt: null };
      let operation: Operation;
      try {
        operation = encodeOperation(id, account, deadline, request);
      } catch (err) {
        return this.finish(
          request.type,
          failedOutcome(id, account, Errors.OPERATION_TOO_LARGE.code, `the operation cannot be encoded for the agent: ${errorMessage(err)}`, timings),
        );
      }
      return this.finish(request.type, await this.runOnSession(session, operation, request.type, timings));
    }
    if (relay !== undefined && (await this.servedElsewhere(account)))
      return this.finish(request.type, await relay.submit(id, account, request, deadline, receivedAt));
    const { code, message } = await this.unavailable(account);
    return this.finish(request.type, failedOutcome(id, account, code, message, { receivedAt, routedAt: null, sentAt: null }));
  }

  serves(account: string): 'caching' | 'standby' | undefined {
    const { registry } = this.options;
    if (registry.cachingSession(account) !== undefined) return 'caching';
    return registry.operationSession(account) !== undefined ? 'standby' : undefined;
  }

  /** Runs an operation another replica relayed here (relay/operation-relay.ts), on this replica's session for the account. */
  async runClaimed(
    op: ForwardedOperation,
    request: OperationRequest,
    beforeSend: () => Promise<boolean>,
  ): Promise<OperationOutcome | 'no-session' | 'claim-lost'> {
    const session = this.options.registry.operationSession(op.account);
    if (session === undefined) return 'no-session';
    const timings = { receivedAt: Date.now(), routedAt: Date.now(), sentAt: null };
    // Encoded before the claim is confirmed: a request this replica cannot send (malformed, or from a
    // newer replica) fails as such, and is known not to have been sent.
    let operation: Operation;
    try {
      operation = encodeOperation(op.id, op.account, op.deadlineAt, request);
    } catch (err) {
      return failedOutcome(
        op.id,
        op.account,
        Errors.OPERATION_INVALID.code,
        `the relayed request is not an operation this replica can send: ${errorMessage(err)}`,
        timings,
      );
    }
    if (!(await beforeSend())) return 'claim-lost';
    // The session may have ended while the claim was confirmed: then sending fails and says so.
    return this.runOnSession(session, operation, request.type, timings);
  }

  private async servedElsewhere(account: string): Promise<boolean> {
    try {
      return (await this.options.relay?.servedElsewhere(account)) ?? false;
    } catch (err) {
      this.options.logger.warn({ account, err: errorMessage(err) }, 'cannot tell whether another hub replica serves the account');
      return false;
    }
  }

  /** Sends the operation to the agent of `session` and waits for its result, the deadline or the session's end. */
  private async runOnSession(
    session: AgentSession,
    operation: Operation,
    type: OperationRequest['type'],
    timings: { receivedAt: number; routedAt: number | null; sentAt: number | null },
  ): Promise<OperationOutcome> {
    const { store, logger } = this.options;
    const { id, account } = operation;
    const deadline = Number(operation.deadlineUnixMs);
    const outcome = await new Promise<OperationOutcome>((resolve) => {
      const timer = setTimeout(
        () => {
          session.forgetOperation(id);
          resolve(
            failedOutcome(
              id,
              account,
              Errors.OPERATION_DEADLINE_EXCEEDED.code,
              `the agent ${session.agentId} did not answer within ${deadline - timings.receivedAt} ms`,
              timings,
            ),
          );
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
          resolve(failedOutcome(id, account, code, message, timings));
        },
      });
      if (!sent.sent) {
        clearTimeout(timer);
        resolve(failedOutcome(id, account, sent.code, sent.message, timings));
        return;
      }
      timings.sentAt = Date.now();
      void this.record(() => store.updateOperation(id, { status: 'SENT', agentId: session.agentId, routedAt: timings.routedAt, sentAt: timings.sentAt }));
    });
    if (outcome.errorCode)
      logger.info({ operationId: id, account, type, code: outcome.errorCode, httpStatus: outcome.httpStatus }, `operation failed: ${outcome.message}`);
    return outcome;
  }

  private async finish(type: OperationRequest['type'], outcome: OperationOutcome): Promise<OperationOutcome> {
    const failed = outcome.errorCode !== null || outcome.httpStatus >= 400;
    this.options.metrics?.operationFinished(type, outcome, (Date.now() - outcome.timings.receivedAt) / MS_PER_SECOND);
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

  /**
   * Why no agent can run an operation for the account (it fails fast): its connected agent cannot reach
   * the cluster, with the agent's reason; or no agent is connected, and since when.
   */
  private async unavailable(account: string): Promise<{ code: ErrorCode; message: string }> {
    let record: AccountRecord | undefined;
    try {
      record = await this.options.store.getAccount(account);
    } catch {
      record = undefined;
    }
    if (!record) return { code: Errors.ACCOUNT_NOT_CONNECTED.code, message: `no agent is connected for account ${account}` };
    if (record.status === 'connected' && record.unreachableReason !== undefined) {
      return {
        code: Errors.ACCOUNT_CLUSTER_UNREACHABLE.code,
        message: `the agent of account ${account} cannot reach its cluster: ${record.unreachableReason}`,
      };
    }
    const since = new Date(record.lastSeenAt).toISOString();
    const agent = record.agentId ? `its agent ${record.agentId}` : 'its agent';
    if (record.status === 'connected' && record.hubId !== null && record.hubId !== this.options.hubId) {
      return {
        code: Errors.ACCOUNT_NOT_CONNECTED.code,
        message: `no agent is connected for account ${account} on this hub replica (${agent} is connected to hub ${record.hubId})`,
      };
    }
    return { code: Errors.ACCOUNT_NOT_CONNECTED.code, message: `no agent is connected for account ${account} (${agent} was last seen at ${since})` };
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
