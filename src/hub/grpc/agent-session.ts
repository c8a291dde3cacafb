import { create } from '@bufbuild/protobuf';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { AgentIdentity } from './identities.ts';
import { HubMessageSchema, type AgentMessage, type HubMessage, type Operation, type OperationResult } from '../../protocol/index.ts';

/** Completes an operation sent to an agent: with its result, or with the reason it cannot come. */
export interface PendingOperation {
  resolve: (result: OperationResult) => void;
  fail: (code: 'OPERATION_AGENT_GONE', message: string) => void;
}

/**
 * One connected agent process: its Session stream and the accounts it declared. Operations sent to
 * it wait here for their results; when the session ends they fail at once instead of hanging.
 */
export class AgentSession {
  readonly accounts = new Set<string>();
  lastMessageAt = Date.now();
  /** Who the agent proved to be (set when the hello is accepted); bounds the accounts it may register. */
  identity: AgentIdentity | undefined;
  private readonly pending = new Map<string, PendingOperation>();
  private closed = false;

  constructor(
    readonly id: string,
    readonly agentId: string,
    readonly agentVersion: string,
    readonly peer: string,
    private readonly call: ServerDuplexStream<AgentMessage, HubMessage>,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  send(message: HubMessage): boolean {
    if (this.closed) return false;
    this.call.write(message);
    return true;
  }

  sendOperation(operation: Operation, pending: PendingOperation): boolean {
    if (this.closed) return false;
    this.pending.set(operation.id, pending);
    return this.send(create(HubMessageSchema, { kind: { case: 'operation', value: operation } }));
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
      pending.fail('OPERATION_AGENT_GONE', `the session with agent ${this.agentId} ended before it answered: ${reason}`);
    }
    try {
      this.call.end();
    } catch {
      // Already closed by the peer.
    }
  }
}
