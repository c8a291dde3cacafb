import { create, toBinary } from '@bufbuild/protobuf';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { Errors, errorMessage, type ErrorCode } from '../../common/errors.ts';
import type { AgentIdentity } from './identities.ts';
import { PROTOCOL_VERSION, type ProtocolVersion } from '../../protocol/version.ts';
import {
  HubMessageSchema,
  MAX_OPERATION_MESSAGE_BYTES,
  preEncoded,
  type AccountInfo,
  type HubMessage,
  type Operation,
  type OperationResult,
} from '../../protocol/index.ts';

const BYTES_PER_MIB = 1024 * 1024;
const mebibytes = (bytes: number): string => (bytes / BYTES_PER_MIB).toFixed(1);

/** Whether an operation went to the agent, and if not, why (a failure of that operation only). */
export type SendOutcome = { sent: true } | { sent: false; code: ErrorCode; message: string };

/** Completes an operation sent to an agent: with its result, or with the reason it cannot come. */
export interface PendingOperation {
  resolve: (result: OperationResult) => void;
  fail: (code: typeof Errors.OPERATION_AGENT_GONE.code, message: string) => void;
}

/**
 * One connected agent process: its Session stream and the accounts it declared. Operations sent to
 * it wait here for their results; when the session ends they fail at once instead of hanging.
 */
export class AgentSession {
  readonly accounts = new Set<string>();
  /**
   * Accounts the agent is configured for but cannot serve (its cluster is unreachable, its credentials
   * unreadable): registered so that they are not forgotten, but never given caching or operations.
   * Each with its latest declaration, so that the account is recorded for this session again when the
   * session that served it ends.
   */
  readonly unreachable = new Map<string, AccountInfo>();
  /** Accounts this hub refused the agent (its latest declaration of each), with why: shown on the status page. */
  readonly refused = new Map<string, { code: string; message: string }>();
  readonly connectedAt = Date.now();
  lastMessageAt = Date.now();
  /** Who the agent proved to be (set when the hello is accepted); bounds the accounts it may register. */
  identity: AgentIdentity | undefined;
  /** The agent's zone, from its hello: dynamic account definitions pinned to it go to this session. */
  zoneId = '';
  /** Whether the agent takes dynamic account definitions (its hello says so); older agents are sent none. */
  dynamicAccounts = false;
  /** The wire protocol version negotiated in the hello (version.ts): 2 syncs every account on one SharedSync stream. */
  protocolVersion: ProtocolVersion = PROTOCOL_VERSION;
  private readonly pending = new Map<string, PendingOperation>();
  private closed = false;

  constructor(
    readonly id: string,
    readonly agentId: string,
    readonly agentVersion: string,
    readonly peer: string,
    private readonly call: ServerDuplexStream<unknown, HubMessage>,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  send(message: HubMessage): boolean {
    if (this.closed) return false;
    this.call.write(message);
    return true;
  }

  /**
   * Sends an operation, encoded here so that one that cannot be (a value out of its field's range) or
   * is too large for a Session message fails on its own: written as it is, gRPC would end the session,
   * and with it every account of the agent.
   */
  sendOperation(operation: Operation, pending: PendingOperation): SendOutcome {
    if (this.closed)
      return { sent: false, code: Errors.OPERATION_AGENT_GONE.code, message: `the agent ${this.agentId} went away before the operation could be sent` };
    let bytes: Uint8Array;
    try {
      bytes = toBinary(HubMessageSchema, create(HubMessageSchema, { kind: { case: 'operation', value: operation } }));
    } catch (err) {
      return { sent: false, code: Errors.OPERATION_TOO_LARGE.code, message: `the operation cannot be encoded for the agent: ${errorMessage(err)}` };
    }
    if (bytes.length > MAX_OPERATION_MESSAGE_BYTES) {
      return {
        sent: false,
        code: Errors.OPERATION_TOO_LARGE.code,
        message: `the operation is ${mebibytes(bytes.length)} MiB; one may be at most ${mebibytes(MAX_OPERATION_MESSAGE_BYTES)} MiB (and Kubernetes stores objects of at most about 1.5 MiB)`,
      };
    }
    this.pending.set(operation.id, pending);
    this.send(preEncoded(HubMessageSchema, bytes));
    return { sent: true };
  }

  /** The agent answered; returns false when nobody waits for that id (late or unknown result). */
  completeOperation(result: OperationResult): boolean {
    const pending = this.pending.get(result.id);
    if (!pending) return false;
    this.pending.delete(result.id);
    pending.resolve(result);
    return true;
  }

  forgetOperation(id: string): void {
    this.pending.delete(id);
  }

  get pendingOperations(): number {
    return this.pending.size;
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.fail(Errors.OPERATION_AGENT_GONE.code, `the session with agent ${this.agentId} ended before it answered: ${reason}`);
    }
    try {
      this.call.end();
    } catch {
      // Already closed by the peer.
    }
  }
}
